/*
 * The simulated clock (chrony's clknetsim idea): time advances only when
 * the loop sleeps, straight to the deadline, or when a test says work took
 * time (clk_sim_advance).  Wall time = epoch + monotonic time, so a run is
 * reproducible to the bit.  No system clock is read.
 */
#include "clock/clock.h"

static double sim_mono(struct clk *c)
{
	return c->sim_mono;
}

static double sim_wall(struct clk *c)
{
	return c->sim_epoch + c->sim_mono;
}

static int sim_sleep_until(struct clk *c, double deadline)
{
	if (deadline > c->sim_mono)
		c->sim_mono = deadline;
	return 0;
}

const struct clk_ops clk_sim_ops = {
    .name = "sim",
    .mono = sim_mono,
    .wall = sim_wall,
    .sleep_until = sim_sleep_until,
};

void clk_init_sim(struct clk *c, double epoch)
{
	c->ops = &clk_sim_ops;
	c->sim_mono = 0;
	c->sim_epoch = epoch;
}

void clk_sim_advance(struct clk *c, double dt)
{
	if (c->ops == &clk_sim_ops && dt > 0)
		c->sim_mono += dt;
}
