/*
 * The daemon proper: one 5-second cycle (dmn_tick) and the deadline loop
 * that runs it (dmn_run), with the domain lifecycle in between.
 *
 * A cycle: sample the hypervisor (no lock), load the archive of every VM
 * that just appeared, map the snapshot to a chunk (catalogue.h), apply that
 * chunk and any extra chunks (plugins, later) under the registry lock,
 * archive and release the VMs that disappeared, write the wire-format.md §3.6 dumps.
 * The loop keeps a monotonic deadline grid: a late tick is logged and the
 * loop re-aligns without drift and without catch-up bursts.
 *
 * The daemon owns none of the clock, source and registry it is given.  One
 * thread (the caller's) runs the loop; the registry may be read by others.
 */
#ifndef RRDD_DAEMON_DAEMON_H
#define RRDD_DAEMON_DAEMON_H

#include "daemon/families.h"
#include "daemon/hastats.h"
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/dumps.h"
#include "monitor/chunk.h"
#include "monitor/registry.h"
#include "source/catalogue.h"
#include "source/source.h"
#include "util/buf.h"

#define DMN_PERIOD 5.0

struct clk;
struct plg_registry;
struct store_dur;

struct vmnames;

struct dmn_options {
	const char *archive_dir; /* NULL or "": no archives loaded or written */
	const char *metrics_dir; /* NULL or "": no dumps */
	const char *uid;         /* producer uid of the built-in source's chunks */
	double run_for;          /* dmn_run: seconds of clock time, 0 = until stopped */
	bool notify;             /* dmn_run: sd_notify READY/WATCHDOG/STOPPING */
	/* dmn_run: plugins read every tick (plg_collect) and applied with the
	 * source's chunk; NULL = none.  Not owned. */
	struct plg_registry *plugins;
	/* Journal, checkpoints and archives (store/durable.h), opened over the
	 * same registry; NULL: dmn_init opens one without a journal over
	 * archive_dir.  Not owned. */
	struct store_dur *dur;
	/* Families that xcp-rrdd's plugins report too (daemon/families.h). */
	enum dmn_fam_mode plugin_families;
	/* HA and cache SR host data sources (daemon/hastats.h), reported
	 * every cycle by dmn_run; NULL: none.  Not owned. */
	struct hastats *hastats;
	/* The running VMs' names for the exposition (daemon/vmnames.h),
	 * updated every cycle; NULL: none.  Not owned. */
	struct vmnames *vmnames;
};

struct dmn_stats {
	uint64_t ticks;
	uint64_t late;          /* ticks that started after their deadline had passed a slot */
	uint64_t skipped;       /* deadline slots dropped by re-alignment */
	uint64_t sample_errors; /* whole samples lost (host-wide Xen call failed) */
	uint64_t failed_doms;   /* per-domain samples lost */
	uint64_t loaded, archived, archive_errors;
};

struct dmn {
	struct dmn_options opt;
	struct clk *clk;
	struct src *src;
	struct mon_registry *reg;
	struct src_snapshot prev, cur;
	bool have_prev;
	struct src_samples samples;
	struct mon_chunk chunk;
	struct mon_resident *res;
	size_t nres, cap_res;
	uint32_t *order_prev, *order_cur; /* domain indices sorted by uuid */
	uint32_t cap_order_prev, cap_order_cur;
	struct dump_state dumps; /* piece buffer and number texts of the dumps */
	bool dump_failing;       /* the last dump failed (logged once per change) */
	struct dmn_stats st;
	struct mon_apply_stats last_apply;
	struct store_dur *own_dur;      /* opened by dmn_init when opt.dur is NULL */
	struct dmn_fam fam;             /* built-in families against xcp-rrdd's plugins */
	struct mon_chunk ha_chunk;      /* dmn_run: the HA and cache SR data sources */
	const struct mon_chunk **extra; /* dmn_run: this cycle's plugin chunks and ha_chunk */
	size_t cap_extra;
};

/* Signals dmn_run polls (set them from signal handlers). */
extern volatile sig_atomic_t dmn_stop_requested;
extern volatile sig_atomic_t dmn_reopen_requested;

/* Prepare a daemon over an opened source and a registry.  Loads the host
 * archive (<archive_dir>/<host uuid>.gz) if there is one.  Returns 0. */
int dmn_init(struct dmn *d, const struct dmn_options *opt, struct clk *clk, struct src *src,
             struct mon_registry *reg);

/* Release what dmn_init and the ticks allocated (not the clock, source or
 * registry). */
void dmn_fini(struct dmn *d);

/* Run one cycle stamped with wall time now, applying the built-in source's
 * chunk and n extra chunks (may be 0).  Returns 0, or the source's negative
 * errno when the whole sample failed (extra chunks are still applied and
 * every DS gets its Unknown). */
int dmn_tick(struct dmn *d, double now, const struct mon_chunk *const *extra, size_t n);

/* Archive every RRD of the registry (copies; the registry keeps them).
 * Returns the number of failures (each logged). */
int dmn_archive_all(struct dmn *d);

/* Resume a simulated run after recovery (the simulated source and clock
 * only): sample the source at every cycle time first_t, first_t + period,
 * ... up to last_t (the last recovered cycle), so its world is exactly
 * where the interrupted run left it, and keep the last sample as the
 * previous one of the next cycle.  Returns 0 or the source's error. */
int dmn_resume(struct dmn *d, double first_t, double last_t, double period);

/* The deadline loop: tick now, then every DMN_PERIOD seconds of the clock,
 * until dmn_stop_requested or opt.run_for has elapsed; then archive
 * everything.  Returns 0, or 1 if archiving at exit failed. */
int dmn_run(struct dmn *d);

#endif
