/*
 * The daemon's clock, behind one ops table: the real one (CLOCK_MONOTONIC
 * for deadlines, CLOCK_REALTIME for the stamps of samples), a simulated
 * one, where sleeping jumps straight to the deadline, so a simulated day of
 * 5 s ticks runs in seconds and every run is reproducible, and a paced one
 * (real deadlines, wall time from a chosen epoch).  Every reading of time
 * goes through this header: the daemon's time through a struct clk, and
 * the few readings that are not the daemon's time (durations for logs,
 * names of files moved aside, real-time waits) through the functions at
 * the end.
 *
 * Times are seconds as doubles.  Monotonic time has an arbitrary origin;
 * wall time is seconds since the epoch.  The clock does not log, and holds
 * no lock: the tick loop moves it; other threads may read it.
 */
#ifndef RRDD_CLOCK_CLOCK_H
#define RRDD_CLOCK_CLOCK_H

#include <pthread.h>

struct clk;

struct clk_ops {
	const char *name; /* "real", "sim" */
	double (*mono)(struct clk *c);
	double (*wall)(struct clk *c);
	/* Wait until mono() >= deadline.  Returns 0, or -EINTR when a signal
	 * interrupted the wait (the caller checks its flags and waits again). */
	int (*sleep_until)(struct clk *c, double deadline);
};

struct clk {
	const struct clk_ops *ops;
	double sim_mono;  /* simulated: the current monotonic time */
	double sim_epoch; /* simulated: wall time at mono 0 */
};

extern const struct clk_ops clk_real_ops;
extern const struct clk_ops clk_sim_ops;
extern const struct clk_ops clk_paced_ops;

/* Default origin of simulated wall time (2023-11-14T22:13:20Z). */
#define CLK_SIM_DEFAULT_EPOCH 1700000000.0

/* A real clock. */
void clk_init_real(struct clk *c);

/* A simulated clock at monotonic time 0, wall time epoch. */
void clk_init_sim(struct clk *c, double epoch);

/* A paced clock: real monotonic time, wall time epoch now. */
void clk_init_paced(struct clk *c, double epoch);

/* Simulated only: let time pass as if work took dt seconds (tests of late
 * ticks).  No-op on a real clock. */
void clk_sim_advance(struct clk *c, double dt);

/* Simulated only: set monotonic time (a run resumed after recovery). */
void clk_sim_set(struct clk *c, double mono);

static inline double clk_mono(struct clk *c)
{
	return c->ops->mono(c);
}

static inline double clk_wall(struct clk *c)
{
	return c->ops->wall(c);
}

static inline int clk_sleep_until(struct clk *c, double deadline)
{
	return c->ops->sleep_until(c, deadline);
}

/* ---- the system's clocks, for what is not the daemon's time ---- */

/* How long work takes (logs, statistics, benchmarks), never what the
 * daemon does: a monotonic reading, and the calling thread's CPU time, in
 * seconds. */
double clk_elapsed(void);
double clk_thread_cpu(void);

/* The system's wall time, for naming files aside and for client tools. */
double clk_system_wall(void);

/* Wait on cv (mu held) for at most seconds of real time: threads that pace
 * themselves in real time whatever the daemon's clock (the rrdcached
 * forwarder).  0, or ETIMEDOUT. */
int clk_cond_wait_for(pthread_cond_t *cv, pthread_mutex_t *mu, double seconds);

/*
 * The deadline schedule of a periodic loop (pure).  After a tick that was
 * due at *deadline and finished at now, the next deadline is the first
 * point of the grid deadline + k*period strictly after now: a late tick
 * re-aligns to the grid (no drift) and skipped slots are dropped (no burst
 * of catch-up ticks).  Returns the number of slots skipped (0 when on time).
 */
unsigned clk_next_deadline(double *deadline, double period, double now);

#endif
