/*
 * The mapping from hypervisor snapshots to named samples of the
 * datasource catalogue (catalogue_table.c, wire-format.md §8.2-8.5).
 *
 * Pure: no I/O, no clock, no locks.  Differences from the plugins, on
 * purpose: cpu_usage is reported even where Xen has no runstate V2 (upstream
 * loses it there); an unreadable loadavg, or cpu_usage with no online vCPU,
 * is reported unknown instead of failing the whole group; per-interval VBD
 * figures are unknown on the first tick of a domain instead of being the
 * counters since boot.
 */
#include "source/catalogue.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/xalloc.h"

#include "source/catalogue_impl.h"

/* ---- names, built once per owner and device ----
 *
 * Expanding "{}" with snprintf for 41,000 names and descriptions per tick
 * cost more than everything else in the mapping, so every owner (the host,
 * each VM uuid) keeps the names it produced last time, in production order.
 * A map walks that list with a cursor: when the next put is the family and
 * parameter found at the cursor (the normal case), the name is reused; on a
 * mismatch the list is searched, missing names are built, and at the end of
 * the owner the list is rebuilt to this map's order and gets a new layout
 * token.  Owners that no map produced are dropped at the end of src_map. */

/* One DS name of an owner. */
struct cname {
	uint16_t id; /* enum cat_id; UINT16_MAX while being rebuilt */
	bool num;    /* numeric parameter u (vCPU number, VIF devid) */
	uint32_t u;
	const char *param; /* string parameter (device name), in block */
	/* a short parameter again, here: compared without touching the block
	 * (a cache miss per DS otherwise); "" when long or absent */
	char pshort[16];
	const char *name; /* in block, or the catalogue's own string */
	const char *desc; /* likewise */
	char *block;      /* owned: "name\0desc\0param\0" as needed, or NULL */
};

struct ocache {
	char uuid[SRC_UUID_LEN + 1];
	uint32_t hash;
	uint64_t gen;    /* the last map that used this cache */
	uint64_t layout; /* token of the current name list */
	uint32_t n, cap;
	struct cname *v;
	uint32_t cursor; /* during a map: expected position of the next put */
	bool changed;    /* during a map: a put missed its expected position */
};

struct src_name_cache {
	uint64_t gen;
	struct ocache *host;
	uint32_t n, cap;
	struct ocache **v; /* VM caches */
	uint32_t nslot;    /* power of two >= 2 * n, or 0 */
	uint32_t *slot;    /* index in v + 1, 0 = empty */
	uint32_t nprev;    /* previous snapshot index: power of two or 0 */
	uint32_t *prev;    /* domain index + 1 of the first domain of a uuid */
	uint32_t nseq, cap_seq;
	uint32_t *seq;      /* during an owner: positions used, in order */
	struct cat_srs srs; /* SR aggregates (catalogue_io.c) */
};

/* What the put functions write to. */
struct mctx {
	struct src_owner *o;
	struct ocache *c;
	struct src_name_cache *nc;
};

static uint64_t layout_new(void)
{
	static uint64_t counter;
	return __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
}

static void ocache_free(struct ocache *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n; i++)
		free(c->v[i].block);
	free(c->v);
	free(c);
}

static void cache_free(struct src_name_cache *nc)
{
	if (!nc)
		return;
	ocache_free(nc->host);
	for (uint32_t i = 0; i < nc->n; i++)
		ocache_free(nc->v[i]);
	free(nc->v);
	free(nc->slot);
	free(nc->prev);
	free(nc->seq);
	free(nc->srs.v);
	free(nc);
}

static void slots_rebuild(struct src_name_cache *nc)
{
	uint32_t want = 16;
	while (want < 2 * nc->n)
		want *= 2;
	if (want != nc->nslot) {
		free(nc->slot);
		nc->slot = xmalloc(sizeof(*nc->slot) * want);
		nc->nslot = want;
	}
	memset(nc->slot, 0, sizeof(*nc->slot) * want);
	for (uint32_t i = 0; i < nc->n; i++) {
		uint32_t h = nc->v[i]->hash & (want - 1);
		while (nc->slot[h])
			h = (h + 1) & (want - 1);
		nc->slot[h] = i + 1;
	}
}

/* The cache of a VM uuid not yet used by this map (a second domain with
 * the same uuid gets a cache of its own), created if needed. */
static struct ocache *vm_cache(struct src_name_cache *nc, const char *uuid)
{
	uint32_t hash = str_hash(uuid);
	if (nc->nslot) {
		uint32_t mask = nc->nslot - 1;
		for (uint32_t h = hash & mask; nc->slot[h]; h = (h + 1) & mask) {
			struct ocache *c = nc->v[nc->slot[h] - 1];
			if (c->hash == hash && c->gen != nc->gen && strcmp(c->uuid, uuid) == 0)
				return c;
		}
	}
	struct ocache *c = xcalloc(1, sizeof(*c));
	snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
	c->hash = hash;
	if (nc->n == nc->cap) {
		nc->cap = nc->cap ? nc->cap * 2 : 64;
		nc->v = xrealloc(nc->v, sizeof(*nc->v) * nc->cap);
	}
	nc->v[nc->n++] = c;
	if (2 * nc->n > nc->nslot) {
		slots_rebuild(nc);
	} else {
		uint32_t mask = nc->nslot - 1, h = hash & mask;
		while (nc->slot[h])
			h = (h + 1) & mask;
		nc->slot[h] = nc->n;
	}
	return c;
}

/* Drop the caches of owners this map did not produce. */
static void cache_evict(struct src_name_cache *nc)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < nc->n; i++) {
		if (nc->v[i]->gen == nc->gen)
			nc->v[k++] = nc->v[i];
		else
			ocache_free(nc->v[i]);
	}
	if (k != nc->n) {
		nc->n = k;
		slots_rebuild(nc);
	}
}

/* Index the previous snapshot's domains by uuid (the first domain of a
 * uuid, as a linear search finds it). */
static void prev_index(struct src_name_cache *nc, const struct src_snapshot *prev)
{
	uint32_t want = 16;
	while (want < 2 * prev->ndom)
		want *= 2;
	if (want != nc->nprev) {
		free(nc->prev);
		nc->prev = xmalloc(sizeof(*nc->prev) * want);
		nc->nprev = want;
	}
	memset(nc->prev, 0, sizeof(*nc->prev) * want);
	for (uint32_t i = 0; i < prev->ndom; i++) {
		const char *u = prev->dom[i].uuid;
		uint32_t h = str_hash(u) & (want - 1);
		for (; nc->prev[h]; h = (h + 1) & (want - 1))
			if (strcmp(prev->dom[nc->prev[h] - 1].uuid, u) == 0)
				break;
		if (!nc->prev[h])
			nc->prev[h] = i + 1;
	}
}

static const struct src_domain *prev_by_uuid(const struct src_name_cache *nc,
                                             const struct src_snapshot *prev, const char *uuid)
{
	uint32_t mask = nc->nprev - 1;
	for (uint32_t h = str_hash(uuid) & mask; nc->prev[h]; h = (h + 1) & mask) {
		const struct src_domain *d = &prev->dom[nc->prev[h] - 1];
		if (strcmp(d->uuid, uuid) == 0)
			return d;
	}
	return NULL;
}

static bool cname_is(const struct cname *e, enum cat_id id, const char *sarg, bool num, uint32_t u)
{
	if (e->id != id || e->num != num)
		return false;
	if (num)
		return e->u == u;
	if (!sarg || !e->param)
		return !sarg && !e->param;
	if (e->pshort[0])
		return strcmp(e->pshort, sarg) == 0;
	return strcmp(e->param, sarg) == 0;
}

/* Substitute arg for "{}" in pat, writing at out (room enough); returns
 * the byte after the NUL. */
static char *expand(const char *pat, const char *arg, char *out)
{
	const char *br = strstr(pat, "{}");
	size_t pre = (size_t)(br - pat), al = strlen(arg), post = strlen(br + 2);
	memcpy(out, pat, pre);
	memcpy(out + pre, arg, al);
	memcpy(out + pre + al, br + 2, post + 1);
	return out + pre + al + post + 1;
}

static void cname_build(struct cname *e, enum cat_id id, const char *sarg, bool num, uint32_t u)
{
	char nb[16];
	const char *arg = sarg;
	memset(e, 0, sizeof(*e));
	e->id = (uint16_t)id;
	e->num = num;
	e->u = u;
	if (num) {
		snprintf(nb, sizeof(nb), "%u", u);
		arg = nb;
	}
	const char *pn = src_cat_table[id].d.name, *pd = src_cat_table[id].d.description;
	bool xn = arg && strstr(pn, "{}"), xd = arg && strstr(pd, "{}");
	size_t al = arg ? strlen(arg) : 0;
	size_t need =
	    (xn ? strlen(pn) + al + 1 : 0) + (xd ? strlen(pd) + al + 1 : 0) + (sarg ? al + 1 : 0);
	e->name = pn;
	e->desc = pd;
	if (!need)
		return;
	char *p = e->block = xmalloc(need);
	if (xn) {
		e->name = p;
		p = expand(pn, arg, p);
	}
	if (xd) {
		e->desc = p;
		p = expand(pd, arg, p);
	}
	if (sarg) {
		memcpy(p, sarg, al + 1);
		e->param = p;
		if (al < sizeof(e->pshort))
			memcpy(e->pshort, sarg, al + 1);
	}
}

/* The name entry for (id, parameter) of the current owner. */
static const struct cname *name_of(struct mctx *m, enum cat_id id, const char *sarg, bool num,
                                   uint32_t u)
{
	struct ocache *c = m->c;
	struct src_name_cache *nc = m->nc;
	uint32_t k = c->cursor;
	if (!(k < c->n && cname_is(&c->v[k], id, sarg, num, u))) {
		c->changed = true;
		for (k = 0; k < c->n; k++)
			if (cname_is(&c->v[k], id, sarg, num, u))
				break;
		if (k == c->n) {
			if (c->n == c->cap) {
				c->cap = c->cap ? c->cap * 2 : 16;
				c->v = xrealloc(c->v, sizeof(*c->v) * c->cap);
			}
			cname_build(&c->v[c->n++], id, sarg, num, u);
		}
	}
	if (nc->nseq == nc->cap_seq) {
		nc->cap_seq = nc->cap_seq ? nc->cap_seq * 2 : 64;
		nc->seq = xrealloc(nc->seq, sizeof(*nc->seq) * nc->cap_seq);
	}
	nc->seq[nc->nseq++] = k;
	c->cursor = k + 1;
	return &c->v[k];
}

/* Start mapping an owner with cache c. */
static void owner_begin(struct mctx *m, struct src_owner *o, struct ocache *c)
{
	m->o = o;
	m->c = c;
	c->gen = m->nc->gen;
	c->cursor = 0;
	c->changed = false;
	m->nc->nseq = 0;
}

/* Finish an owner: keep exactly the names it used, in this map's order
 * (the names stay where they are: the samples point at them). */
static void owner_end(struct mctx *m)
{
	struct ocache *c = m->c;
	struct src_name_cache *nc = m->nc;
	if (!c->changed && nc->nseq == c->n && c->layout) {
		m->o->layout = c->layout;
		return;
	}
	struct cname *v = xmalloc(sizeof(*v) * (nc->nseq ? nc->nseq : 1));
	uint32_t n = 0;
	for (uint32_t i = 0; i < nc->nseq; i++) {
		struct cname *e = &c->v[nc->seq[i]];
		if (e->id == UINT16_MAX)
			continue; /* the same name twice: kept once */
		v[n++] = *e;
		e->id = UINT16_MAX;
		e->block = NULL;
	}
	for (uint32_t i = 0; i < c->n; i++)
		free(c->v[i].block); /* the names this map did not use */
	free(c->v);
	c->v = v;
	c->n = c->cap = n;
	c->layout = layout_new();
	m->o->layout = c->layout;
	struct src_owner *o = m->o; /* a new layout is most often the last one */
	if (o->cap_ds > o->nds + o->nds / 4 + 4) {
		o->ds = xrealloc(o->ds, sizeof(*o->ds) * (o->nds ? o->nds : 1));
		o->cap_ds = o->nds ? o->nds : 1;
	}
}

/* ---- output building ---- */

static struct src_owner *add_owner(struct src_samples *s, enum mon_owner_kind kind)
{
	if (s->nowner == s->cap_owner) {
		uint32_t cap = s->cap_owner ? s->cap_owner * 2 : 16;
		s->owner = xrealloc(s->owner, sizeof(*s->owner) * cap);
		memset(s->owner + s->cap_owner, 0, sizeof(*s->owner) * (cap - s->cap_owner));
		s->cap_owner = cap;
	}
	struct src_owner *o = &s->owner[s->nowner++];
	struct src_ds *ds = o->ds;
	uint32_t cap_ds = o->cap_ds;
	memset(o, 0, sizeof(*o));
	o->ds = ds; /* reused */
	o->cap_ds = cap_ds;
	o->kind = kind;
	return o;
}

static void put_named(struct mctx *m, enum cat_id id, const char *sarg, bool num, uint32_t u,
                      struct dsval v)
{
	struct src_owner *o = m->o;
	if (o->nds == o->cap_ds) {
		o->cap_ds = o->cap_ds ? o->cap_ds * 2 : 32;
		o->ds = xrealloc(o->ds, sizeof(*o->ds) * o->cap_ds);
	}
	const struct cname *e = name_of(m, id, sarg, num, u);
	struct src_ds *d = &o->ds[o->nds++];
	d->def = &src_cat_table[id];
	d->name = e->name;
	d->description = e->desc;
	d->v = v;
}

static void put(struct mctx *m, enum cat_id id, const char *arg, struct dsval v)
{
	put_named(m, id, arg, false, 0, v);
}

static void put_u(struct mctx *m, enum cat_id id, unsigned n, struct dsval v)
{
	put_named(m, id, NULL, true, n, v);
}

/* A uint64 counter as the plugins report it: an Int64, modulo 2^64 (a
 * counter in the upper half reads negative; its differences stay right). */
static struct dsval i64(uint64_t v)
{
	return DSVAL_INT((int64_t)v);
}

static struct dsval secs(uint64_t ns)
{
	return DSVAL_FLT((double)ns / 1e9);
}

/* ---- host ---- */

static void map_host(const struct src_snapshot *cur, struct mctx *o)
{
	const struct src_host *h = &cur->host;

	/* rrdp-cpu */
	if (h->nr_cpus > 0) {
		double sum = 0;
		for (uint32_t i = 0; i < h->nr_cpus; i++) {
			put_u(o, H_CPU, i, secs(h->idle_ns[i]));
			sum += (double)h->idle_ns[i];
		}
		put(o, H_CPU_AVG, NULL, DSVAL_FLT(sum / h->nr_cpus / 1e9));
	}
	put(o, H_LOADAVG, NULL, isnan(h->loadavg) ? DSVAL_UNKNOWN : DSVAL_FLT(h->loadavg));
	int64_t running_vcpus = 0, running_domains = 0;
	for (uint32_t i = 0; i < cur->ndom; i++) {
		const struct src_domain *d = &cur->dom[i];
		if (!(d->flags & SRC_DOM_PAUSED))
			running_domains++;
		for (uint32_t v = 0; v < d->nvcpu; v++)
			if (d->vcpu[v].online && !d->vcpu[v].blocked)
				running_vcpus++;
	}
	if (h->nr_cpus > 0)
		put(o, H_HOSTLOAD, NULL, DSVAL_FLT((double)running_vcpus / h->nr_cpus));
	put(o, H_RUNNING_VCPUS, NULL, DSVAL_INT(running_vcpus));
	put(o, H_RUNNING_DOMAINS, NULL, DSVAL_INT(running_domains));

	/* rrdp-squeezed: sums over domains whose target is known */
	int64_t reclaimed = 0, reclaimable = 0;
	for (uint32_t i = 0; i < cur->ndom; i++) {
		const struct src_domain *d = &cur->dom[i];
		if ((d->flags & SRC_DOM_FAILED) || d->target_kib == SRC_NO_VALUE)
			continue;
		if (d->dynamic_max_kib != SRC_NO_VALUE)
			reclaimed += d->dynamic_max_kib - d->target_kib;
		if (d->dynamic_min_kib != SRC_NO_VALUE)
			reclaimable += d->target_kib - d->dynamic_min_kib;
	}
	put(o, H_MEM_RECLAIMED, NULL, DSVAL_INT(reclaimed * 1024));
	put(o, H_MEM_RECLAIMED_MAX, NULL, DSVAL_INT(reclaimable * 1024));
	put(o, H_MEM_TOTAL, NULL, DSVAL_INT(h->total_kib));
	put(o, H_MEM_FREE, NULL, DSVAL_INT(h->free_kib));

	/* rrdp-netdev */
	uint64_t aggr_rx = 0, aggr_tx = 0;
	for (uint32_t i = 0; i < h->nnet; i++) {
		const struct src_netdev *n = &h->net[i];
		if (!n->pif)
			continue;
		put(o, H_PIF_RX, n->name, i64(n->rx_bytes));
		put(o, H_PIF_TX, n->name, i64(n->tx_bytes));
		put(o, H_PIF_RX_ERR, n->name, i64(n->rx_errors));
		put(o, H_PIF_TX_ERR, n->name, i64(n->tx_errors));
		aggr_rx += n->rx_bytes;
		aggr_tx += n->tx_bytes;
	}
	put(o, H_PIF_AGGR_RX, NULL, i64(aggr_rx));
	put(o, H_PIF_AGGR_TX, NULL, i64(aggr_tx));
}

/* ---- VMs ---- */

static void map_runstate(const struct src_domain *d, struct mctx *o)
{
	const uint64_t *t = d->runstate.time_ns;
	put(o, V_RS_FULLRUN, NULL, secs(t[0]));
	put(o, V_RS_FULL_CONTENTION, NULL, secs(t[1]));
	put(o, V_RS_CONCURRENCY_HAZARD, NULL, secs(t[2]));
	put(o, V_RS_BLOCKED, NULL, secs(t[3]));
	put(o, V_RS_PARTIAL_RUN, NULL, secs(t[4]));
	put(o, V_RS_PARTIAL_CONTENTION, NULL, secs(t[5]));
	put(o, V_RUNNABLE_ANY, NULL, secs(t[1] + t[2] + t[5]));
	if (d->runstate.runnable_ns != 0)
		put(o, V_RUNNABLE_VCPUS, NULL, secs(d->runstate.runnable_ns));
}

static const struct src_vbd *prev_vbd(const struct src_domain *pd, uint32_t devid)
{
	for (uint32_t i = 0; pd && i < pd->nvbd; i++)
		if (pd->vbd[i].devid == devid)
			return &pd->vbd[i];
	return NULL;
}

static void map_vbd(const struct src_vbd *b, const struct src_vbd *pb, double dt, struct mctx *o)
{
	const char *n = b->name;
	struct cat_vbd_fig f;
	cat_vbd_figures(b, pb, dt, &f);
	put(o, V_VBD_READ, n, f.counters ? i64(f.rd_bytes) : DSVAL_UNKNOWN);
	put(o, V_VBD_WRITE, n, f.counters ? i64(f.wr_bytes) : DSVAL_UNKNOWN);
	bool r = f.rates;
	put(o, V_VBD_TPUT_READ, n, r ? DSVAL_FLT(f.mr) : DSVAL_UNKNOWN);
	put(o, V_VBD_TPUT_WRITE, n, r ? DSVAL_FLT(f.mw) : DSVAL_UNKNOWN);
	put(o, V_VBD_TPUT_TOTAL, n, r ? DSVAL_FLT(f.mr + f.mw) : DSVAL_UNKNOWN);
	put(o, V_VBD_IOPS_READ, n, r ? i64(f.dr) : DSVAL_UNKNOWN);
	put(o, V_VBD_IOPS_WRITE, n, r ? i64(f.dw) : DSVAL_UNKNOWN);
	put(o, V_VBD_IOPS_TOTAL, n, r ? i64(f.dr + f.dw) : DSVAL_UNKNOWN);
	if (!f.ticks)
		return; /* libxenstat has no wait times: these DSs do not exist */
	put(o, V_VBD_READ_LATENCY, n, r ? i64(f.rlat) : DSVAL_UNKNOWN);
	put(o, V_VBD_WRITE_LATENCY, n, r ? i64(f.wlat) : DSVAL_UNKNOWN);
	put(o, V_VBD_IOWAIT, n, r ? DSVAL_FLT(f.wait) : DSVAL_UNKNOWN);
	put(o, V_VBD_INFLIGHT, n, i64(f.inflight));
	put(o, V_VBD_LATENCY, n, r ? DSVAL_FLT(f.lat) : DSVAL_UNKNOWN);
	put(o, V_VBD_AVGQU_SZ, n, r && !isnan(f.qu) ? DSVAL_FLT(f.qu) : DSVAL_UNKNOWN);
}

/* The previous sample of domain d, NULL when there is none to take
 * differences from (new, failed, or its uuid now under another domid). */
static const struct src_domain *prev_domain(const struct src_name_cache *nc,
                                            const struct src_snapshot *prev,
                                            const struct src_domain *d)
{
	const struct src_domain *pd = prev ? prev_by_uuid(nc, prev, d->uuid) : NULL;
	if (pd && (pd->domid != d->domid || (pd->flags & SRC_DOM_FAILED)))
		pd = NULL;
	return pd;
}

/* rrdp-iostat's SR aggregates: every VBD whose SR is known, into nc->srs */
static void sum_srs(struct src_name_cache *nc, const struct src_snapshot *prev,
                    const struct src_snapshot *cur)
{
	double dt = prev ? cur->t - prev->t : 0;
	for (uint32_t i = 0; i < cur->ndom; i++) {
		const struct src_domain *d = &cur->dom[i];
		if (d->flags & SRC_DOM_FAILED)
			continue;
		const struct src_domain *pd = NULL;
		bool looked = false;
		for (uint32_t k = 0; k < d->nvbd; k++) {
			const struct src_vbd *b = &d->vbd[k];
			if (!b->sr[0])
				continue;
			if (!looked) {
				pd = prev_domain(nc, prev, d);
				looked = true;
			}
			struct cat_sr *a = cat_sr_get(&nc->srs, b->sr, nc->gen);
			if (!a)
				continue;
			struct cat_vbd_fig f;
			cat_vbd_figures(b, prev_vbd(pd, b->devid), dt, &f);
			cat_sr_add(a, &f);
		}
	}
	cat_srs_evict(&nc->srs, nc->gen);
}

static void map_srs(const struct src_snapshot *cur, struct mctx *o)
{
	const struct cat_srs *s = &o->nc->srs;
	for (uint32_t i = 0; i < s->n; i++) {
		const struct cat_sr *a = &s->v[i];
		const char *n = a->key;
		bool r = a->rates;
		put(o, H_SR_READ, n, i64(a->rd_bytes));
		put(o, H_SR_WRITE, n, i64(a->wr_bytes));
		put(o, H_SR_READ_LATENCY, n, r ? i64(a->rlat) : DSVAL_UNKNOWN);
		put(o, H_SR_WRITE_LATENCY, n, r ? i64(a->wlat) : DSVAL_UNKNOWN);
		put(o, H_SR_TPUT_READ, n, r ? DSVAL_FLT(a->mr) : DSVAL_UNKNOWN);
		put(o, H_SR_TPUT_WRITE, n, r ? DSVAL_FLT(a->mw) : DSVAL_UNKNOWN);
		put(o, H_SR_TPUT_TOTAL, n, r ? DSVAL_FLT(a->mr + a->mw) : DSVAL_UNKNOWN);
		put(o, H_SR_IOPS_READ, n, r ? i64(a->dr) : DSVAL_UNKNOWN);
		put(o, H_SR_IOPS_WRITE, n, r ? i64(a->dw) : DSVAL_UNKNOWN);
		put(o, H_SR_IOPS_TOTAL, n, r ? i64(a->dr + a->dw) : DSVAL_UNKNOWN);
		put(o, H_SR_IOWAIT, n, r ? DSVAL_FLT(a->wait) : DSVAL_UNKNOWN);
		put(o, H_SR_INFLIGHT, n, i64(a->inflight));
		put(o, H_SR_LATENCY, n, r ? DSVAL_FLT(a->lat) : DSVAL_UNKNOWN);
		put(o, H_SR_AVGQU_SZ, n, r && a->ticks ? DSVAL_FLT(a->qu) : DSVAL_UNKNOWN);
	}
	if (cur->host.have_td3)
		put(o, H_TD3_LOW_MEM, NULL, DSVAL_INT(cur->host.td3_low_mem));
}

static void map_domain(const struct src_snapshot *prev, const struct src_snapshot *cur,
                       const struct src_domain *d, struct mctx *o)
{
	const struct src_domain *pd = prev ? prev_by_uuid(o->nc, prev, d->uuid) : NULL;
	memcpy(o->o->uuid, d->uuid, sizeof(o->o->uuid));
	o->o->domid = d->domid;
	if (pd && pd->domid != d->domid)
		o->o->restarted = true;
	pd = prev_domain(o->nc, prev, d);

	/* rrdp-cpu */
	for (uint32_t v = 0; v < d->nvcpu; v++)
		put_u(o, V_CPU, v, secs(d->vcpu[v].cpu_time_ns));
	put(o, V_CPU_USAGE, NULL,
	    d->nr_online_vcpus ? DSVAL_FLT((double)d->cpu_time_ns / (1e9 * d->nr_online_vcpus))
	                       : DSVAL_UNKNOWN);
	if (d->flags & SRC_DOM_RUNSTATE)
		map_runstate(d, o);

	/* rrdp-squeezed: nothing for paused domains (CA-34383) */
	if (!(d->flags & SRC_DOM_PAUSED)) {
		if (d->target_kib != SRC_NO_VALUE)
			put(o, V_MEMORY_TARGET, NULL, DSVAL_INT(d->target_kib * 1024));
		if (d->free_kib != SRC_NO_VALUE)
			put(o, V_MEMORY_INTERNAL_FREE, NULL, DSVAL_INT(d->free_kib));
		put(o, V_MEMORY, NULL, i64(d->memory_bytes));
	}

	/* rrdp-netdev: the guest's point of view, so backend rx is guest tx */
	for (uint32_t i = 0; i < d->nvif; i++) {
		const struct src_vif *f = &d->vif[i];
		put_u(o, V_VIF_RX, f->devid, i64(f->tx_bytes));
		put_u(o, V_VIF_TX, f->devid, i64(f->rx_bytes));
		put_u(o, V_VIF_RX_ERR, f->devid, i64(f->tx_errors));
		put_u(o, V_VIF_TX_ERR, f->devid, i64(f->rx_errors));
	}

	/* rrdp-iostat */
	double dt = prev ? cur->t - prev->t : 0;
	for (uint32_t i = 0; i < d->nvbd; i++)
		map_vbd(&d->vbd[i], prev_vbd(pd, d->vbd[i].devid), dt, o);
}

int src_map(const struct src_snapshot *prev, const struct src_snapshot *cur,
            struct src_samples *out)
{
	if (!out->cache)
		out->cache = xcalloc(1, sizeof(*out->cache));
	struct src_name_cache *nc = out->cache;
	struct mctx m = {.nc = nc};
	nc->gen++;
	out->nowner = 0;
	out->t = cur->t;
	if (prev)
		prev_index(nc, prev);
	if (!nc->host)
		nc->host = xcalloc(1, sizeof(*nc->host));
	sum_srs(nc, prev, cur);
	owner_begin(&m, add_owner(out, MON_HOST), nc->host);
	map_host(cur, &m);
	map_srs(cur, &m);
	owner_end(&m);
	for (uint32_t i = 0; i < cur->ndom; i++) {
		const struct src_domain *d = &cur->dom[i];
		if (d->flags & SRC_DOM_FAILED)
			continue;
		owner_begin(&m, add_owner(out, MON_VM), vm_cache(nc, d->uuid));
		map_domain(prev, cur, d, &m);
		owner_end(&m);
	}
	cache_evict(nc);
	return 0;
}

bool src_catalogue_plugin(const char *uid)
{
	size_t n;
	const struct src_catdef *c = src_catalogue(&n);
	for (size_t i = 0; i < n; i++)
		if (c[i].plugin && !strcmp(c[i].plugin, uid))
			return true;
	return false;
}

size_t src_samples_drop_plugins(struct src_samples *s, const char *const *uids, size_t n)
{
	size_t dropped = 0;
	for (uint32_t o = 0; o < s->nowner; o++) {
		struct src_owner *ow = &s->owner[o];
		uint32_t keep = 0;
		for (uint32_t i = 0; i < ow->nds; i++) {
			bool drop = false;
			for (size_t u = 0; u < n && !drop; u++)
				drop = ow->ds[i].def && ow->ds[i].def->plugin &&
				       !strcmp(ow->ds[i].def->plugin, uids[u]);
			if (!drop)
				ow->ds[keep++] = ow->ds[i];
		}
		if (keep != ow->nds) {
			dropped += ow->nds - keep;
			ow->nds = keep;
			ow->layout = 0;
		}
	}
	return dropped;
}

void src_samples_clear(struct src_samples *s)
{
	for (uint32_t i = 0; i < s->cap_owner; i++)
		free(s->owner[i].ds);
	free(s->owner);
	cache_free(s->cache);
	memset(s, 0, sizeof(*s));
}

const struct src_owner *src_samples_owner(const struct src_samples *s, const char *uuid)
{
	for (uint32_t i = 0; i < s->nowner; i++) {
		const struct src_owner *o = &s->owner[i];
		if (uuid ? (o->kind == MON_VM && strcmp(o->uuid, uuid) == 0) : o->kind == MON_HOST)
			return o;
	}
	return NULL;
}

const struct src_ds *src_owner_ds(const struct src_owner *o, const char *name)
{
	for (uint32_t i = 0; o && i < o->nds; i++)
		if (strcmp(o->ds[i].name, name) == 0)
			return &o->ds[i];
	return NULL;
}

void src_ds_def(const struct src_ds *ds, struct rrdb_ds_def *out)
{
	memset(out, 0, sizeof(*out));
	out->name = ds->name;
	out->type = ds->def->d.type;
	out->min = ds->def->d.min;
	out->max = ds->def->d.max;
	out->mrhb = 300;
	out->transform = ds->def->d.transform;
	out->initial_last = DSVAL_UNKNOWN;
}
