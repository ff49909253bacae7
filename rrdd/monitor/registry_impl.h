/*
 * Internal to the registry (registry.c: tables, accessors, DS calls;
 * registry_apply.c: wire-format.md §7; registry_state.c: whole entries;
 * commit.c: mon_commit).  Not for other modules: the appliers declared
 * here change RRDs, and only mon_commit may call them.
 */
#ifndef RRDD_MONITOR_REGISTRY_IMPL_H
#define RRDD_MONITOR_REGISTRY_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "monitor/change.h"
#include "monitor/registry.h"
#include "util/buf.h"
#include "util/nameidx.h"

/* A live DS descriptor of one RRD (its strings interned, util/intern.h:
 * one reference each). */
struct mon_live {
	struct mon_dsdesc d;
	int rrd_idx; /* index in the RRD, -1 when not recorded */
};

/* The mapping of one producer's chunk owner layout (chunk.h) onto this
 * RRD: sample position -> RRD DS index (-1: not recorded).  Valid while the
 * entry's epoch is unchanged. */
struct mon_fast {
	char uid[MON_UID_LEN];
	uint64_t layout;
	uint64_t epoch;
	uint32_t n, cap;
	int32_t *idx;
};

#define MON_FAST_MAX 4

/* One RRD and what the registry knows about it. */
struct mon_rrd {
	enum mon_owner_kind kind;
	char uuid[MON_UUID_LEN + 1];
	bool have_domid;
	bool ds_full; /* a DS was refused (max_ds): logged once */
	uint32_t domid;
	uint64_t restart_cycle; /* the cycle in which the domid last changed */
	struct rrdb *rrd;       /* NULL until the first chunk creates it */
	uint32_t nlive, cap_live;
	struct mon_live *live;
	struct name_index live_names; /* name -> live index */
	uint64_t *seen;               /* per RRD DS: the cycle it was last reported in */
	double *latest;               /* per RRD DS: rrdb_query_latest, refreshed on update */
	uint32_t cap_seen;
	uint32_t hint;     /* live index expected for the next sample */
	struct buf keys;   /* per RRD DS: its name as a JSON key, '"n": ' */
	uint32_t *key_off; /* nds + 1 offsets into keys */
	uint32_t cap_key_off;
	uint64_t epoch; /* bumped whenever live or the RRD's DS list changes */
	uint32_t nfast, fast_next;
	struct mon_fast fast[MON_FAST_MAX];
	struct name_index ds_names; /* name -> the RRD's DS index (when DSs come and go) */
};

struct mon_table {
	uint32_t n, cap;
	struct mon_rrd **v; /* sorted by uuid */
	uint64_t *key;      /* per v[i]: its uuid's first 8 bytes, big-endian
	                       (searched without touching the entries) */
};

struct mon_registry {
	pthread_rwlock_t lock;
	char host_uuid[MON_UUID_LEN + 1];
	bool use_min_max, enable_all;
	uint64_t cycle;
	_Atomic uint64_t generation; /* bumped as every writer unlocks (mon_generation) */
	bool writing;                /* the write lock is held */
	struct mon_rrd *host;
	struct mon_table vms, srs;
	uint32_t max_rrds;        /* 0: no bound (mon_config) */
	uint32_t max_ds;          /* 0: no bound (mon_config) */
	bool full;                /* refusing new owners (logged when it starts and ends) */
	uint64_t refused;         /* new owners refused */
	struct rrdb_upd *scratch; /* update buffer of reg_apply, write lock held */
	uint32_t scratch_cap;
	pthread_mutex_t commit_mu; /* serialises mon_commit (record, apply, applied) */
	const struct mon_log_ops *log;
	void *log_ctx;
};

void mon_wrlock(struct mon_registry *reg);

/* Whether a new VM or SR owner would pass max_rrds (a lock held). */
bool reg_full(const struct mon_registry *reg);

/* ---- the appliers: mon_commit only (each takes the write lock) ---- */

/* A cycle's chunks, with the Unknowns of the DSs no chunk reported
 * (registry_apply.c).  Differences from xcp-rrdd, on purpose: a domid
 * change restarts counters for every chunk of that VM in the cycle, not
 * only the first; a DS whose min or max changed is updated in place. */
void reg_apply(struct mon_registry *reg, const struct mon_cycle *c, struct mon_apply_stats *stats);

/* Install rrd (taken) as the RRD of an owner, replacing any, with no live
 * descriptors (wire-format.md §9: a loaded RRD's DSs are not live until
 * producers report) and no domid (its next cycle is not a restart).
 * 0 or -EINVAL. */
int reg_install(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                struct rrdb *rrd);

/* Unlink an owner's entry and hand out its RRD (NULL if it had none). */
struct rrdb *reg_release(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid);

/* Start recording live DS name as of t: 0 (also when recorded already),
 * -ENOENT (no RRD, or the DS is not live). */
int reg_enable_ds(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                  const char *name, double t);

/* Drop a DS and its history: 0, or -ENOENT (no RRD or no such DS). */
int reg_forget_ds(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                  const char *name);

/* Replace an owner's entry by e exactly (taken): 0 or -EINVAL. */
int reg_restore(struct mon_registry *reg, struct mon_entry *e);

/* Find an entry (NULL if absent), or find-or-create one. */
struct mon_rrd *reg_find(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid);
struct mon_rrd *reg_get(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid);

/* Live descriptor lookup / registration (copies the strings). */
int reg_live_find(struct mon_rrd *e, const char *name);
int reg_live_add(struct mon_rrd *e, const struct mon_dsdesc *d);

/* Give back the live array's room beyond its descriptors (after a batch of
 * reg_live_add: most RRDs never get another; moves e->live). */
void reg_live_fit(struct mon_rrd *e);

/* Recompute every live rrd_idx after the RRD's DS list changed (an RRD
 * installed, a DS removed), size the seen array, rebuild the dump keys.
 * O(DSs + live descriptors). */
void reg_reindex(struct mon_rrd *e);

/* Add the live descriptor li's DS to the RRD as of t (it has none) and
 * update the indices for that one DS: O(1) amortised, so n DSs appearing
 * cost O(n), not O(n^2).  0, or -EINVAL. */
int reg_record_live(struct mon_registry *reg, struct mon_rrd *e, int li, double t);

/* The RRD's DS called name, or -1 (O(1): the name index). */
int reg_rrd_find(const struct mon_rrd *e, const char *name);

/* Refresh the latest-value cache of RRD DS i (just updated: cache-warm). */
static inline void reg_touch(struct mon_rrd *e, uint32_t i)
{
	e->latest[i] = rrdb_query_latest(e->rrd, i);
}

/* Engine definition of a descriptor (name borrowed). */
void reg_ds_def(const struct mon_dsdesc *d, struct rrdb_ds_def *out);

#endif
