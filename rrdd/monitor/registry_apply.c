/*
 * wire-format.md §7: folding one cycle's chunks into the RRDs, under the registry's
 * write lock.  In order: chunks by producer uid; per owner, a fresh RRD is
 * created from the first chunk with only the default DSs (or all, with
 * enable_all) and that chunk's values are not applied, as xcp-rrdd does;
 * later chunks append new default DSs and update by name; a non-default DS
 * is remembered (query_possible_*) but recorded only once enabled; VM owners
 * count only while resident; finally every recorded DS that no chunk
 * reported gets an Unknown at the cycle time (CA-391651).
 *
 * Deliberate differences from xcp-rrdd: a domid change flags the counter
 * restart for every chunk of that VM in the cycle, not only the first; a DS
 * whose min/max changed takes the new range instead of being stuck with the
 * old one (CA-408126); a value-type change (int64 <-> float) is converted,
 * not fatal.  No file I/O; logs only creation, restarts and clock jumps.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/registry_impl.h"
#include "util/intern.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MON_STEP 5

struct apply_ctx {
	struct mon_registry *reg;
	uint64_t cycle;
	const struct mon_resident *res;
	size_t n_res;
	struct mon_apply_stats *st;
};

static int res_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mon_resident *)a)->uuid,
	              ((const struct mon_resident *)b)->uuid);
}

struct chunk_ref {
	const struct mon_chunk *c;
	size_t i;
};

static int chunk_cmp(const void *a, const void *b)
{
	const struct chunk_ref *x = a, *y = b;
	int c = strcmp(x->c->uid, y->c->uid);
	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static struct rrdb_upd *scratch(struct mon_registry *reg, uint32_t n)
{
	if (n > reg->scratch_cap) {
		uint32_t cap = reg->scratch_cap ? reg->scratch_cap : 64;
		while (cap < n)
			cap *= 2;
		reg->scratch = xrealloc(reg->scratch, sizeof(*reg->scratch) * cap);
		reg->scratch_cap = cap;
	}
	return reg->scratch;
}

static bool recordable(const struct mon_registry *reg, const struct mon_live *l)
{
	return l->d.dflt || reg->enable_all;
}

/* The live index of a sample's DS, registering it if new and taking a
 * changed range into account. */
static int live_of(struct mon_rrd *e, const struct mon_sample *s)
{
	int li = reg_live_find(e, s->d.name);
	if (li < 0)
		return reg_live_add(e, &s->d);
	struct mon_live *l = &e->live[li];
	l->d.dflt = s->d.dflt;
	l->d.value_type = s->d.value_type;
	/* a DS restored from the journal has no OpenMetrics identity yet */
	if ((s->d.om || l->d.om) && (!s->d.om || !l->d.om || strcmp(s->d.om, l->d.om))) {
		const char *old = l->d.om;
		l->d.om = s->d.om ? intern_get(s->d.om) : NULL;
		if (old)
			intern_put(old);
	}
	if (l->d.min != s->d.min || l->d.max != s->d.max) {
		log_info("%s %s: DS %s range changed to [%g, %g]", mon_owner_kind_name(e->kind),
		         e->uuid, l->d.name, s->d.min, s->d.max);
		l->d.min = s->d.min;
		l->d.max = s->d.max;
		if (e->rrd && l->rrd_idx >= 0) {
			e->rrd->ds[l->rrd_idx].min = s->d.min;
			e->rrd->ds[l->rrd_idx].max = s->d.max;
		}
	}
	return li;
}

struct def_ref {
	const char *name;
	uint32_t li;
};

static int def_cmp(const void *a, const void *b)
{
	return strcmp(((const struct def_ref *)a)->name, ((const struct def_ref *)b)->name);
}

/* The first chunk of an owner without an RRD: create it, its values not
 * applied (wire-format.md §7 item 2). */
static void create_fresh(struct apply_ctx *ax, struct mon_rrd *e, const struct mon_chunk *c,
                         const struct mon_chunk_owner *o)
{
	struct mon_registry *reg = ax->reg;
	for (uint32_t i = 0; i < o->nds; i++)
		if (o->ds[i].d.name && o->ds[i].d.name[0])
			live_of(e, &o->ds[i]);
	struct def_ref *refs = xmalloc(sizeof(*refs) * (e->nlive + 1));
	uint32_t n = 0;
	for (uint32_t i = 0; i < e->nlive; i++)
		if (recordable(reg, &e->live[i]))
			refs[n++] = (struct def_ref){e->live[i].d.name, i};
	qsort(refs, n, sizeof(*refs), def_cmp);
	if (reg->max_ds && n > reg->max_ds) {
		log_warn("%s %s: %u data sources, more than one RRD records (--max-dss %u): the "
		         "first %u by name are",
		         mon_owner_kind_name(e->kind), e->uuid, n, reg->max_ds, reg->max_ds);
		e->ds_full = true;
		n = reg->max_ds;
	}
	struct rrdb_ds_def *defs = xmalloc(sizeof(*defs) * (n + 1));
	for (uint32_t i = 0; i < n; i++)
		reg_ds_def(&e->live[refs[i].li].d, &defs[i]);
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nrra = rrdb_default_rras(e->kind == MON_HOST ? 1 : reg->use_min_max, rras);
	e->rrd = rrdb_new(MON_STEP, c->t, rras, nrra, defs, n);
	free(defs);
	free(refs);
	if (!e->rrd) {
		log_err("%s %s: cannot create an RRD from %s's chunk at %.3f",
		        mon_owner_kind_name(e->kind), e->uuid, c->uid, c->t);
		return;
	}
	reg_live_fit(e);
	reg_reindex(e);
	for (uint32_t i = 0; i < e->nlive; i++)
		if (e->live[i].rrd_idx >= 0)
			e->seen[e->live[i].rrd_idx] = ax->cycle;
	ax->st->created++;
	log_info("%s %s: new RRD with %u of %u reported DSs (from %s)",
	         mon_owner_kind_name(e->kind), e->uuid[0] ? e->uuid : "-", e->rrd->nds, e->nlive,
	         c->uid);
}

/* The mapping cache of producer uid in e, or NULL. */
static struct mon_fast *fast_find(struct mon_rrd *e, const char *uid)
{
	for (uint32_t i = 0; i < e->nfast; i++)
		if (strcmp(e->fast[i].uid, uid) == 0)
			return &e->fast[i];
	return NULL;
}

/* A mapping cache for uid in e, reusing the oldest slot when all are taken. */
static struct mon_fast *fast_slot(struct mon_rrd *e, const char *uid)
{
	struct mon_fast *f = fast_find(e, uid);
	if (!f) {
		if (e->nfast < MON_FAST_MAX) {
			f = &e->fast[e->nfast++];
		} else {
			f = &e->fast[e->fast_next];
			e->fast_next = (e->fast_next + 1) % MON_FAST_MAX;
		}
		snprintf(f->uid, sizeof(f->uid), "%s", uid);
		f->layout = 0;
	}
	return f;
}

/* Apply one owner's samples; e is its entry when already looked up (NULL:
 * found or created here). */
static void apply_owner(struct apply_ctx *ax, const struct mon_chunk *c,
                        const struct mon_chunk_owner *o, struct mon_rrd *e)
{
	struct mon_registry *reg = ax->reg;
	const struct mon_resident *r = NULL;
	if (o->kind == MON_VM) {
		struct mon_resident key;
		memset(&key, 0, sizeof(key));
		mon_uuid_copy(key.uuid, o->uuid);
		r = ax->n_res ? bsearch(&key, ax->res, ax->n_res, sizeof(key), res_cmp) : NULL;
		if (!r) {
			ax->st->not_resident++;
			log_debug("vm %s: not resident, %s's samples ignored", o->uuid, c->uid);
			return;
		}
	}
	if (!e)
		e = reg_get(reg, o->kind, o->uuid);
	if (!e)
		return; /* an SR or VM owner without a uuid */
	if (r) {
		if (e->have_domid && e->domid != r->domid && e->restart_cycle != ax->cycle) {
			e->restart_cycle = ax->cycle;
			ax->st->restarted++;
			log_info("vm %s: domid %u -> %u, counters restart", e->uuid, e->domid,
			         r->domid);
		}
		e->domid = r->domid;
		e->have_domid = true;
	}
	if (!e->rrd) {
		create_fresh(ax, e, c, o);
		return;
	}
	unsigned flags =
	    (o->kind == MON_VM && e->restart_cycle == ax->cycle) ? RRDB_COUNTERS_RESTARTED : 0;
	struct rrdb_upd *u = scratch(reg, o->nds);
	uint32_t n = 0;
	struct mon_fast *f = o->layout ? fast_find(e, c->uid) : NULL;
	if (f && f->layout == o->layout && f->epoch == e->epoch && f->n == o->nds) {
		/* the same descriptors as when the mapping was made: no lookups */
		for (uint32_t i = 0; i < o->nds; i++) {
			int32_t k = f->idx[i];
			if (k < 0)
				continue;
			u[n].ds = (uint32_t)k;
			u[n].v = mon_owner_value(o, i);
			n++;
			e->seen[k] = ax->cycle;
		}
		goto update;
	}
	if (o->layout) {
		f = fast_slot(e, c->uid);
		if (f->cap < o->nds) {
			f->cap = o->nds;
			f->idx = xrealloc(f->idx, sizeof(*f->idx) * f->cap);
		}
	}
	for (uint32_t i = 0; i < o->nds; i++) {
		const struct mon_sample *s = &o->ds[i];
		if (f)
			f->idx[i] = -1;
		if (!s->d.name || !s->d.name[0])
			continue;
		int li = live_of(e, s);
		struct mon_live *l = &e->live[li];
		if (l->rrd_idx < 0 && recordable(reg, l) &&
		    reg_record_live(reg, e, li, c->t) == 0) {
			l = &e->live[li];
			ax->st->ds_added++;
		}
		if (l->rrd_idx < 0)
			continue;
		u[n].ds = (uint32_t)l->rrd_idx;
		u[n].v = mon_owner_value(o, i);
		n++;
		e->seen[l->rrd_idx] = ax->cycle;
	}
	if (f) {
		/* indices are final now (an added DS reindexed the earlier ones) */
		for (uint32_t i = 0; i < o->nds; i++) {
			const struct mon_sample *s = &o->ds[i];
			if (!s->d.name || !s->d.name[0])
				continue;
			int li = reg_live_find(e, s->d.name);
			f->idx[i] = li >= 0 ? e->live[li].rrd_idx : -1;
		}
		f->layout = o->layout;
		f->epoch = e->epoch;
		f->n = o->nds;
	}
update:
	if (n) {
		ax->st->ignored += (uint32_t)rrdb_update(e->rrd, c->t, u, n, flags);
		for (uint32_t k = 0; k < n; k++)
			reg_touch(e, u[k].ds);
	}
}

/* wire-format.md §7 item 5: Unknown for every recorded DS not reported this cycle. */
static void fill_missing(struct apply_ctx *ax, struct mon_rrd *e, double now)
{
	if (!e || !e->rrd)
		return;
	struct rrdb_upd *u = scratch(ax->reg, e->rrd->nds);
	uint32_t n = 0;
	for (uint32_t i = 0; i < e->rrd->nds; i++)
		if (e->seen[i] != ax->cycle) {
			u[n].ds = i;
			u[n].v = DSVAL_UNKNOWN;
			n++;
		}
	if (n) {
		rrdb_update(e->rrd, now, u, n, 0);
		for (uint32_t k = 0; k < n; k++)
			reg_touch(e, u[k].ds);
		ax->st->missing += n;
	}
}

void reg_apply(struct mon_registry *reg, const struct mon_cycle *cy, struct mon_apply_stats *stats)
{
	const struct mon_chunk *const *chunks = cy->chunks;
	size_t n = cy->nchunks, n_res = cy->nres;
	const struct mon_resident *res = cy->res;
	double now = cy->now;
	struct mon_apply_stats local;
	memset(&local, 0, sizeof(local));
	struct chunk_ref *order = xmalloc(sizeof(*order) * (n + 1));
	for (size_t i = 0; i < n; i++)
		order[i] = (struct chunk_ref){chunks[i], i};
	qsort(order, n, sizeof(*order), chunk_cmp);
	/* the residents, sorted by uuid for bsearch (the daemon passes them
	 * sorted already: then they are used as they are) */
	struct mon_resident *sorted = NULL;
	const struct mon_resident *rs = res;
	size_t k = 1;
	while (k < n_res && res_cmp(&res[k - 1], &res[k]) <= 0)
		k++;
	if (k < n_res) {
		sorted = xmalloc(sizeof(*sorted) * n_res);
		memcpy(sorted, res, sizeof(*sorted) * n_res);
		qsort(sorted, n_res, sizeof(*sorted), res_cmp);
		rs = sorted;
	}

	mon_wrlock(reg);
	struct apply_ctx ax = {reg, ++reg->cycle, rs, n_res, &local};
	for (size_t i = 0; i < n; i++) {
		const struct mon_chunk *c = order[i].c;
		struct mon_rrd *cur = NULL; /* owner j's entry, found at j - 1 */
		for (uint32_t j = 0; j < c->nowner; j++) {
			struct mon_rrd *ne = NULL;
			if (j + 1 < c->nowner) { /* its state loads while this one runs */
				const struct mon_chunk_owner *nx = &c->owner[j + 1];
				ne = reg_find(reg, nx->kind, nx->uuid);
				if (ne && ne->rrd)
					rrdb_prefetch(ne->rrd);
			}
			apply_owner(&ax, c, &c->owner[j], cur);
			cur = ne;
		}
	}
	fill_missing(&ax, reg->host, now);
	for (uint32_t i = 0; i < reg->vms.n; i++)
		fill_missing(&ax, reg->vms.v[i], now);
	for (uint32_t i = 0; i < reg->srs.n; i++)
		fill_missing(&ax, reg->srs.v[i], now);
	if (reg->host && reg->host->rrd && reg->host->rrd->last_updated > now) {
		local.clock_backwards = true;
		log_warn("Clock just went backwards: host RRD updated at %.3f, now %.3f",
		         reg->host->rrd->last_updated, now);
	}
	mon_unlock(reg);

	free(sorted);
	free(order);
	if (stats)
		*stats = local;
}
