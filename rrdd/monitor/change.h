/*
 * Changes to the registry of RRDs, and the one function that makes them.
 *
 * Every change to an RRD is a struct mon_change given to mon_commit: a
 * cycle's samples, an RRD installed (an archive loaded, PUT /rrd, push_*,
 * a migration in), a DS enabled or forgotten, an owner released (archived,
 * migrated out, departed), an entry restored from a checkpoint.  mon_commit
 * hands the change to the registry's log (the store's journal, wired once
 * with mon_set_log) *before* applying it, then applies it under the write
 * lock, then tells the log what it did (what left the registry goes to the
 * archives there).  Recovery replays the log's records through the same
 * function (MON_COMMIT_REPLAY: not recorded again).  The functions that
 * apply are private to rrdd/monitor, so no caller can change an RRD without
 * the change being recorded.
 *
 * Commits are serialised by the registry's commit mutex (held across
 * record, apply and the log's applied hook, so the log sees changes in the
 * order they are applied).  Lock order: docs/threads-and-locks.md.
 */
#ifndef RRDD_MONITOR_CHANGE_H
#define RRDD_MONITOR_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/registry.h"

enum mon_change_kind {
	MON_CH_CYCLE,     /* a cycle: chunks folded in, departed VMs released */
	MON_CH_INSTALL,   /* an RRD installed for an owner (replacing any) */
	MON_CH_ENABLE_DS, /* add_*_ds: start recording a live DS at time t */
	MON_CH_FORGET_DS, /* forget_*_ds: drop a DS and its history */
	MON_CH_RELEASE,   /* the owner leaves the registry; its RRD is handed out */
	MON_CH_RESTORE,   /* an entry restored exactly (checkpoints, old journals) */
	MON_CH_MIN_MAX,   /* update_use_min_max: MIN/MAX RRAs for VM/SR RRDs made from now */
};

/* One cycle's inputs, as the daemon gives them. */
struct mon_cycle {
	double now;
	const struct mon_chunk *const *chunks;
	size_t nchunks;
	const struct mon_resident *res;
	size_t nres;
	const char (*gone)[MON_UUID_LEN + 1]; /* VMs that disappeared: released and archived */
	size_t ngone;
};

/* An owner and its whole entry: the live descriptors (with their strings)
 * and the RRD.  In a RESTORE change it is owned by the change (mon_commit
 * takes it); from mon_entry_visit it is borrowed from the registry. */
struct mon_entry {
	enum mon_owner_kind kind;
	char uuid[MON_UUID_LEN + 1];
	bool have_domid;
	uint32_t domid;
	uint32_t nlive;
	const struct mon_dsdesc *live; /* live[i] at (char *)live + i * live_stride */
	size_t live_stride;
	struct rrdb *rrd; /* NULL: known descriptors only */
};

static inline const struct mon_dsdesc *mon_entry_live(const struct mon_entry *e, uint32_t i)
{
	return (const struct mon_dsdesc *)(const void *)((const char *)e->live +
	                                                 (size_t)i * e->live_stride);
}

/* Release what a RESTORE entry owns (strings, descriptors, RRD). */
void mon_entry_free_owned(struct mon_entry *e);

struct mon_change {
	enum mon_change_kind kind;
	enum mon_owner_kind owner; /* all but CYCLE and RESTORE */
	const char *uuid;          /* NULL or "" for the host */
	struct mon_cycle cycle;    /* CYCLE */
	/* INSTALL: the RRD (taken by mon_commit, freed if refused); bytes: the
	 * archive file it was read from, recorded instead of the RRD's image
	 * (NULL: the image is recorded). */
	struct rrdb *rrd;
	const void *bytes;
	size_t nbytes;
	const char *ds_name; /* ENABLE_DS, FORGET_DS */
	double t;            /* ENABLE_DS: the time recording starts */
	/* RELEASE: the log archives the RRD (as it does for departed VMs)
	 * instead of handing it to the caller. */
	bool archive;
	/* The caller answers a client once mon_commit returns: the log makes
	 * the record durable first (fsync) rather than at its usual pace. */
	bool sync;
	struct mon_entry *entry; /* RESTORE (taken) */
	bool use_min_max;        /* MIN_MAX: the new setting */
};

/* A departed or released owner's RRD, for the log's archives. */
struct mon_released {
	enum mon_owner_kind kind;
	char uuid[MON_UUID_LEN + 1];
	struct rrdb *rrd;
};

struct mon_result {
	int rc;                       /* 0, or -ENOENT (no such owner / DS), -EINVAL */
	struct mon_apply_stats stats; /* CYCLE */
	/* RELEASE without archive: the owner's RRD, for the caller (free it);
	 * NULL if the owner had none. */
	struct rrdb *rrd;
	/* What left the registry and is to be archived (departed VMs, a
	 * RELEASE with archive): the log's applied hook takes each rrd it
	 * keeps (setting it NULL); mon_commit frees the rest. */
	struct mon_released *released;
	size_t nreleased;
	int archive_failures; /* set by the log: archives that could not be written */
};

/* The registry's log (the store). */
struct mon_log_ops {
	/* Record c before it is applied.  Called with the commit mutex held,
	 * never with the registry lock.  May wait (for a checkpoint that is
	 * reading the registry).  A failure is the log's to report; the
	 * change is applied anyway. */
	void (*record)(void *ctx, const struct mon_change *c);
	/* After c was applied (commit mutex still held, registry lock not):
	 * archive what was released, and the log's periodic work (checkpoints
	 * after a cycle).  Also called in replay. */
	void (*applied)(void *ctx, const struct mon_change *c, struct mon_result *r);
};

/* Wire the log in (once, before the first commit; NULL ops: no log). */
void mon_set_log(struct mon_registry *reg, const struct mon_log_ops *ops, void *ctx);

#define MON_COMMIT_REPLAY 1u /* recovery: apply without recording */

/* Make a change: record it in the log (unless replaying), apply it, let
 * the log see the result.  res may be NULL (then a RELEASE's RRD is freed).
 * Returns res->rc: 0, -ENOENT when the owner (or the live DS of ENABLE_DS)
 * does not exist (nothing is recorded then), -EINVAL for a malformed
 * change.  Thread-safe; call without holding the registry lock. */
int mon_commit(struct mon_registry *reg, struct mon_change *c, unsigned flags,
               struct mon_result *res);

/* Visit the entry of an owner under the read lock: fn gets a borrowed view
 * (valid during the call only) and its result is returned; -ENOENT when
 * there is no such entry. */
int mon_entry_visit(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                    int (*fn)(void *ctx, const struct mon_entry *e), void *ctx);

/* An owner, for lists of entries. */
struct mon_owner_ref {
	enum mon_owner_kind kind;
	char uuid[MON_UUID_LEN + 1];
};

/* Every entry (with or without an RRD): host, VMs, SRs, each by uuid;
 * *out is malloc'ed.  Returns the count. */
size_t mon_list_entries(struct mon_registry *reg, struct mon_owner_ref **out);

#endif
