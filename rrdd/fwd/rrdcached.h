/*
 * Forwarding to an rrdcached (--rrdcached ADDR): every new row of every
 * RRD's first archive (AVERAGE, one PDP per row: the value of each 5 s
 * step) is sent as an UPDATE of <dir>/<uuid>.rrd on the rrdcached, through
 * librrd's client (rrd_client_*), so many hosts can feed one archive
 * server.  Remote files are created with CREATE (rrdtool DS names as
 * exp_rrdfile_names maps them, every DS a GAUGE since the values are
 * already rates, our RRAs) when rrdcached has none, and re-created when an
 * RRD's DSs or archives change.
 *
 * Never stalls the tick: one thread of its own wakes every interval (or
 * when kicked), copies the new rows of every RRD under the registry's read
 * lock (a memory copy, no I/O), and talks to rrdcached without any lock.
 * The queue is bounded (max_queue rows per pass; older rows of a lagging
 * pass are dropped); when rrdcached is unreachable or slow, rows are
 * dropped and counted, the first drop of an outage logged once, and the
 * connection retried every few seconds.
 */
#ifndef RRDD_FWD_RRDCACHED_H
#define RRDD_FWD_RRDCACHED_H

#include <stddef.h>
#include <stdint.h>

struct mon_registry;
struct rcd;

struct rcd_options {
	const char *address; /* "unix:/path" or "host[:port]" (port 42217 by default) */
	const char *dir;     /* remote names <dir>/<uuid>.rrd; NULL or "" = <uuid>.rrd */
	double interval;     /* seconds between passes (0 = 1 s) */
	uint32_t max_queue;  /* most rows copied per pass over all RRDs (0 = 100000) */
};

struct rcd_stats {
	uint64_t rows_sent;    /* rows rrdcached accepted */
	uint64_t rows_dropped; /* rows lost: unreachable, refused, or over the queue bound */
	uint64_t errors;       /* failed commands */
	uint64_t created;      /* files created (or re-created) on the rrdcached */
	uint64_t connects;     /* successful connections */
};

/* Start the forwarder over a registry (which must outlive it).  The
 * address is checked for form only; connecting happens in the thread.
 * 0, or -EINVAL with a message, or -ENOSYS when librrd (its client) cannot
 * be loaded (export/librrd.h). */
int rcd_start(struct mon_registry *reg, const struct rcd_options *o, struct rcd **out, char *err,
              size_t errlen);

/* Wake the thread for a pass now (e.g. after a tick).  Never blocks. */
void rcd_kick(struct rcd *f);

/* A last pass for rows not yet sent, then stop, disconnect and free.
 * NULL is a no-op. */
void rcd_stop(struct rcd *f);

void rcd_get_stats(struct rcd *f, struct rcd_stats *out);

/* Whether text is a valid --rrdcached address. */
int rcd_address_ok(const char *text);

#endif
