/*
 * The simulated clock (chrony's clknetsim idea): time advances only when
 * the loop sleeps, straight to the deadline, or when a test says work took
 * time (clk_sim_advance).  Wall time = epoch + monotonic time, so a run is
 * reproducible to the bit.  No system clock is read.  Only the loop moves
 * time; other threads (RPC stamps) read it atomically.
 */
#include "clock/clock.h"

static double load(struct clk *c)
{
	double v;
	__atomic_load(&c->sim_mono, &v, __ATOMIC_RELAXED);
	return v;
}

static void store(struct clk *c, double v)
{
	__atomic_store(&c->sim_mono, &v, __ATOMIC_RELAXED);
}

static double sim_mono(struct clk *c)
{
	return load(c);
}

static double sim_wall(struct clk *c)
{
	return c->sim_epoch + load(c);
}

static int sim_sleep_until(struct clk *c, double deadline)
{
	if (deadline > load(c))
		store(c, deadline);
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
		store(c, load(c) + dt);
}

void clk_sim_set(struct clk *c, double mono)
{
	if (c->ops == &clk_sim_ops)
		store(c, mono);
}
