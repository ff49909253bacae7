/*
 * The real clock: CLOCK_MONOTONIC for the loop's deadlines (immune to wall
 * clock steps), CLOCK_REALTIME for the stamps of samples.  Sleeps with
 * clock_nanosleep(TIMER_ABSTIME) so a late wake-up does not accumulate.
 */
#include "clock/clock.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <time.h>

static double ts_sec(const struct timespec *ts)
{
	return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

static double real_mono(struct clk *c)
{
	(void)c;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts_sec(&ts);
}

static double real_wall(struct clk *c)
{
	(void)c;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts_sec(&ts);
}

static int real_sleep_until(struct clk *c, double deadline)
{
	(void)c;
	if (!(deadline > 0))
		return 0;
	struct timespec ts;
	ts.tv_sec = (time_t)floor(deadline);
	ts.tv_nsec = (long)((deadline - floor(deadline)) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	return rc == EINTR ? -EINTR : 0;
}

const struct clk_ops clk_real_ops = {
    .name = "real",
    .mono = real_mono,
    .wall = real_wall,
    .sleep_until = real_sleep_until,
};

void clk_init_real(struct clk *c)
{
	c->ops = &clk_real_ops;
	c->sim_mono = 0;
	c->sim_epoch = 0;
}

unsigned clk_next_deadline(double *deadline, double period, double now)
{
	double next = *deadline + period;
	if (next > now) {
		*deadline = next;
		return 0;
	}
	/* Late: the first grid point strictly after now. */
	double k = floor((now - *deadline) / period) + 1;
	next = *deadline + k * period;
	if (next <= now) /* rounding */
		next += period, k += 1;
	*deadline = next;
	return (unsigned)(k - 1);
}

/* ---- readings that are not the daemon's time ---- */

double clk_elapsed(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts_sec(&ts);
}

double clk_thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts_sec(&ts);
}

double clk_system_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts_sec(&ts);
}

int clk_cond_wait_for(pthread_cond_t *cv, pthread_mutex_t *mu, double seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts); /* the condition variable's clock */
	double at = ts_sec(&ts) + (seconds > 0 ? seconds : 0);
	ts.tv_sec = (time_t)at;
	ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	return pthread_cond_timedwait(cv, mu, &ts);
}
