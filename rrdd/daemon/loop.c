/*
 * The deadline loop (dmn_run in daemon.h): ticks on a fixed monotonic grid
 * of DMN_PERIOD seconds, stamps each with wall time, re-aligns after a late
 * tick (logged) instead of catching up, pings systemd's watchdog every tick
 * and reports readiness after the first one.  Polls the signal flags; the
 * signal handlers themselves live in main.c.
 */
#include <errno.h>
#include <math.h>
#include <systemd/sd-daemon.h>

#include "clock/clock.h"
#include "daemon/daemon.h"
#include "plugin/registry.h"
#include "util/log.h"
#include "util/xalloc.h"

volatile sig_atomic_t dmn_stop_requested;
volatile sig_atomic_t dmn_reopen_requested;

static void maybe_reopen(void)
{
	if (dmn_reopen_requested) {
		dmn_reopen_requested = 0;
		log_reopen();
		log_info("log reopened");
	}
}

int dmn_run(struct dmn *d)
{
	double start = clk_mono(d->clk);
	double deadline = start;
	double end = d->opt.run_for > 0 ? start + d->opt.run_for : INFINITY;
	bool ready = false;
	while (!dmn_stop_requested) {
		maybe_reopen();
		double began = clk_mono(d->clk);
		double wall = clk_wall(d->clk);
		struct mon_chunk **pc = NULL;
		size_t npc = 0;
		if (d->opt.plugins) { /* future pages are refused against real time only */
			plg_collect(d->opt.plugins, d->clk->ops == &clk_real_ops ? wall : NAN,
			            wall - (began - deadline), &pc, &npc);
			/* read: a page written from now on is the next tick's, however
			 * long this one takes (next_reading must not say "overdue") */
			plg_set_next_tick(d->opt.plugins, deadline + DMN_PERIOD);
		}
		if (d->opt.hastats) { /* the plugins' chunks, and the HA and cache SR figures */
			if (npc + 1 > d->cap_extra) {
				d->cap_extra = npc + 1;
				d->extra = xrealloc(d->extra, d->cap_extra * sizeof(*d->extra));
			}
			for (size_t i = 0; i < npc; i++)
				d->extra[i] = pc[i];
			size_t ne = npc;
			if (hastats_chunk(d->opt.hastats, wall, &d->ha_chunk))
				d->extra[ne++] = &d->ha_chunk;
			dmn_tick(d, wall, d->extra, ne);
		} else {
			dmn_tick(d, wall, (const struct mon_chunk *const *)pc, npc);
		}
		if (d->opt.notify) {
			if (!ready) {
				sd_notify(0, "READY=1\nSTATUS=sampling every 5 s");
				ready = true;
			}
			sd_notify(0, "WATCHDOG=1");
		}
		double now = clk_mono(d->clk);
		unsigned skipped = clk_next_deadline(&deadline, DMN_PERIOD, now);
		if (skipped) {
			d->st.late++;
			d->st.skipped += skipped;
			log_warn("tick took %.3f s: %u tick(s) skipped, re-aligned to the 5 s grid",
			         now - began, skipped);
		}
		if (deadline > end + 1e-9)
			break;
		if (d->opt.plugins)
			plg_set_next_tick(d->opt.plugins, deadline);
		while (!dmn_stop_requested && clk_sleep_until(d->clk, deadline) == -EINTR)
			maybe_reopen();
	}
	if (d->opt.notify)
		sd_notify(0, "STOPPING=1");
	log_info("stopping after %llu ticks (%llu late, %llu skipped); archiving",
	         (unsigned long long)d->st.ticks, (unsigned long long)d->st.late,
	         (unsigned long long)d->st.skipped);
	return dmn_archive_all(d) ? 1 : 0;
}
