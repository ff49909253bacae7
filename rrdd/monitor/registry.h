/*
 * The registry of RRDs: the host RRD, the VM RRDs keyed by uuid (with the
 * domid that last fed them) and the SR RRDs keyed by uuid, and per RRD the
 * live data source descriptors (the union of everything producers reported,
 * including non-default sources that are known but not recorded) that the
 * query_possible_* / add_*_ds / forget_*_ds calls work on.
 *
 * This header is the reading side.  Every change goes through mon_commit
 * (monitor/change.h), which records it in the registry's log before it is
 * applied; a cycle's chunks are folded in as wire-format.md §7 says
 * (registry_apply.c).
 *
 * Locking: one reader-writer lock guards the RRDs; writers are serialised
 * by a commit mutex (docs/threads-and-locks.md).  Functions named *_locked
 * require the caller to hold the read lock (mon_rdlock); every other
 * function takes it itself and must be called without it.  Readers that
 * format large documents copy under the lock (mon_dup) and format outside
 * it; rrd_updates may format under mon_rdlock from mon_get_locked().  The
 * registry does no file I/O.  It logs only rare events (creation, domid
 * change).
 */
#ifndef RRDD_MONITOR_REGISTRY_H
#define RRDD_MONITOR_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/chunk.h"
#include "rrd/rrd.h"

struct mon_registry;

struct mon_config {
	const char *host_uuid; /* copied */
	bool use_min_max;      /* MIN/MAX RRAs for new VM and SR RRDs (the host always has them) */
	bool enable_all;       /* xcp-rrdd's plugin-default: record every DS, not only defaults */
	uint32_t max_ds;       /* DSs recorded in one RRD at most (0: no bound); more are
	                          not recorded (one log line per owner) */
	uint32_t max_rrds;     /* VM and SR owners kept at most (0: no bound); beyond it
	                          a cycle's new owners are ignored and an install or
	                          restore of a new one is refused (-ENOSPC) */
};

/* A resident domain: VM owners of chunks are applied only if their uuid is
 * in the resident table (wire-format.md §7 item 3), and a domid different from the one
 * stored for the VM restarts its counters. */
struct mon_resident {
	char uuid[MON_UUID_LEN + 1];
	uint32_t domid;
};

/* What one cycle did (mon_result.stats of a MON_CH_CYCLE), for logs and tests. */
struct mon_apply_stats {
	uint32_t created;      /* RRDs created fresh */
	uint32_t ds_added;     /* DSs appended to existing RRDs */
	uint32_t not_resident; /* VM owners ignored */
	uint32_t restarted;    /* VMs whose domid changed */
	uint32_t ignored;      /* samples the engine refused (not newer) */
	uint32_t missing;      /* DSs given Unknown for not being reported */
	bool clock_backwards;  /* the host RRD is newer than now */
};

/* A descriptor and whether it is recorded, as query_possible_*_dss needs
 * it.  Owns its strings (free with mon_dsinfo_free). */
struct mon_dsinfo {
	struct mon_dsdesc d;
	bool enabled;
};

/* Create / destroy a registry; free releases every RRD (without archiving). */
struct mon_registry *mon_registry_new(const struct mon_config *cfg);
void mon_registry_free(struct mon_registry *reg);

/* The host uuid the registry was created with. */
const char *mon_host_uuid(const struct mon_registry *reg);

/* The read lock, for readers that format under it (mon_get_locked). */
void mon_rdlock(struct mon_registry *reg);
void mon_unlock(struct mon_registry *reg);

/* A counter bumped every time a writer releases the lock (every tick,
 * every mutating RPC or PUT), so readers can key caches of rendered answers
 * on it.  Under a read lock it is stable and names the data the reader
 * sees.  Without the lock it names the data as of the last completed write:
 * a body rendered at that generation may be served without taking the lock
 * (a write in progress has not bumped it yet). */
uint64_t mon_generation(struct mon_registry *reg);

/* The RRD of an owner (uuid ignored for MON_HOST), or NULL.  Lock held;
 * the pointer is valid until the lock is released. */
const struct rrdb *mon_get_locked(struct mon_registry *reg, enum mon_owner_kind kind,
                                  const char *uuid);

/* Call fn for every RRD of a kind (in uuid order; for MON_HOST once, with
 * the host uuid), lock held.  Stops early when fn returns non-zero and
 * returns that value, else 0. */
int mon_foreach_locked(struct mon_registry *reg, enum mon_owner_kind kind,
                       int (*fn)(const char *uuid, const struct rrdb *rrd, void *ctx), void *ctx);

/* A copy of the RRD of an owner (free with rrdb_free), or NULL. */
struct rrdb *mon_dup(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid);

/* Whether VM and SR RRDs created now get MIN/MAX archives (the
 * configuration, then MON_CH_MIN_MAX changes). */
bool mon_use_min_max(struct mon_registry *reg);

/* Whether the owner has an RRD. */
bool mon_has(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid);

/* The uuids of a kind that have RRDs, sorted, as a malloc'ed array of
 * 37-byte strings in *out (free it); returns the count. */
size_t mon_list(struct mon_registry *reg, enum mon_owner_kind kind, char (**out)[MON_UUID_LEN + 1]);

/* Copies of every RRD with their uuid (for archiving everything at
 * shutdown), as arrays of n; free with mon_copies_free. */
struct mon_copy {
	enum mon_owner_kind kind;
	char uuid[MON_UUID_LEN + 1];
	struct rrdb *rrd;
};
size_t mon_copy_all(struct mon_registry *reg, struct mon_copy **out);
void mon_copies_free(struct mon_copy *c, size_t n);

/* The latest value of a DS (rrdb_query_latest): 0, or -ENOENT (no such
 * owner or DS). */
int mon_latest(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
               const char *name, double *out);

/* query_possible_*_dss: every known DS of an owner (live descriptors, then
 * recorded DSs without one) with its enabled flag; a recorded DS without a
 * live descriptor is listed as wire-format.md §5 says (description "description not
 * available", units "unknown", neither enabled nor standard).  *out malloc'ed, free
 * with mon_dsinfo_free.  Returns the count, or -ENOENT (no such owner). */
int mon_possible_dss(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                     struct mon_dsinfo **out);
void mon_dsinfo_free(struct mon_dsinfo *v, size_t n);

/* Append the wire-format.md §3.6 dump object of one RRD to out: {"<ds>": <latest>,
 * ...} in DS order, the latest value being rrdb_query_latest (kept in a
 * cache refreshed as DSs are updated), NaN and infinities as the strings
 * "NaN", "infinity", "-infinity".  "{}" if there is no such RRD.  Lock
 * held (a read lock is enough).  memo (may be NULL) remembers the number
 * texts of the previous document built with it (nummemo.h). */
struct buf;
struct num_memo;
void mon_latest_json_locked(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                            struct buf *out, struct num_memo *memo);

/* Append the wire-format.md §3.6 vm-metrics object to out: {"<vm-uuid>": <the object
 * of mon_latest_json_locked>, ...} over every VM RRD in uuid order, in one
 * pass.  Lock held (a read lock is enough); memo as above.  With flush not
 * NULL, flush(ctx, out) is called whenever out holds piece bytes or more
 * after a VM's object (it takes the text and empties out), so the document
 * needs no buffer of its whole size; a nonzero return from flush stops the
 * document there and is returned.  0 otherwise. */
int mon_vms_json_locked(struct mon_registry *reg, struct buf *out, struct num_memo *memo,
                        size_t piece, int (*flush)(void *ctx, struct buf *out), void *ctx);

/* Number of RRDs and the bytes their rings take (sum of DSs x rows x 4),
 * for the benchmark and logs. */
void mon_footprint(struct mon_registry *reg, size_t *nrrd, size_t *ring_bytes);

#endif
