/*
 * The paced clock (--clock paced): real time for deadlines and sleeping,
 * wall time starting at a chosen epoch when the clock is made, so a test
 * can keep the daemon running in real time while its samples stay older
 * than RRDs it PUTs (which then stay unchanged).
 */
#include "clock/clock.h"

static double paced_mono(struct clk *c)
{
	return clk_real_ops.mono(c);
}

static double paced_wall(struct clk *c)
{
	return c->sim_epoch + (clk_real_ops.mono(c) - c->sim_mono);
}

static int paced_sleep(struct clk *c, double deadline)
{
	return clk_real_ops.sleep_until(c, deadline);
}

const struct clk_ops clk_paced_ops = {"paced", paced_mono, paced_wall, paced_sleep};

void clk_init_paced(struct clk *c, double epoch)
{
	c->ops = &clk_paced_ops;
	c->sim_mono = clk_real_ops.mono(c); /* real monotonic time at the epoch */
	c->sim_epoch = epoch;
}
