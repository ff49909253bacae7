/*
 * The registry of RRDs (registry.h): the host, VM and SR tables, the live
 * descriptor maps, the lock wrappers and the accessors the HTTP and RPC
 * layers use.  The wire-format.md §7 update rules are in registry_apply.c.
 *
 * Tables are arrays of pointers sorted by uuid (binary search; wire-format.md §7
 * iterates owners in uuid order).  Each RRD's live descriptors have a small
 * open-addressing name index plus a "next expected" hint, because producers
 * report the same DSs in the same order every 5 s.  No file I/O here.
 */
#include "monitor/registry_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export/numfmt.h"
#include "export/nummemo.h"
#include "export/textesc.h"
#include "util/intern.h"
#include "util/log.h"
#include "util/hash.h"
#include "util/xalloc.h"

/* Dump keys ("\"name\": ") up to this long are copied with one fixed-size
 * copy (inlined), longer ones with a plain memcpy. */
#define KEY_COPY 32

/* ---- lock ---- */

void mon_rdlock(struct mon_registry *reg)
{
	pthread_rwlock_rdlock(&reg->lock);
}

void mon_wrlock(struct mon_registry *reg)
{
	pthread_rwlock_wrlock(&reg->lock);
	reg->writing = true;
}

uint64_t mon_generation(struct mon_registry *reg)
{
	return atomic_load_explicit(&reg->generation, memory_order_acquire);
}

void mon_unlock(struct mon_registry *reg)
{
	/* Only a writer can see writing set: while a reader holds the lock no
	 * writer does, and the last writer cleared it before releasing. */
	if (reg->writing) {
		reg->writing = false;
		/* every writer may have changed what readers see */
		atomic_fetch_add_explicit(&reg->generation, 1, memory_order_release);
	}
	pthread_rwlock_unlock(&reg->lock);
}

/* ---- entries ---- */

static struct mon_table *table_of(struct mon_registry *reg, enum mon_owner_kind kind)
{
	return kind == MON_VM ? &reg->vms : kind == MON_SR ? &reg->srs : NULL;
}

/* The first 8 bytes of s (NUL-padded) as a big-endian number: keys compare
 * as strcmp compares the strings' first 8 bytes. */
static uint64_t uuid_key(const char *s)
{
	uint64_t k = 0;
	int i = 0;
	for (; i < 8 && s[i]; i++)
		k = k << 8 | (uint8_t)s[i];
	return i == 0 ? 0 : k << (8 * (8 - i));
}

/* Index of uuid in t, or -(insertion point) - 1. */
static long table_search(const struct mon_table *t, const char *uuid)
{
	long lo = 0, hi = (long)t->n - 1;
	uint64_t key = uuid_key(uuid);
	while (lo <= hi) {
		long mid = (lo + hi) / 2;
		int c = t->key[mid] < key   ? -1
		        : t->key[mid] > key ? 1
		                            : strcmp(t->v[mid]->uuid, uuid);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

static struct mon_rrd *entry_new(enum mon_owner_kind kind, const char *uuid)
{
	struct mon_rrd *e = xcalloc(1, sizeof(*e));
	e->kind = kind;
	if (uuid)
		mon_uuid_copy(e->uuid, uuid);
	return e;
}

static void live_free(struct mon_live *l)
{
	intern_put(l->d.name);
	intern_put(l->d.description);
	intern_put(l->d.units);
	if (l->d.om)
		intern_put(l->d.om);
}

static void entry_drop_live(struct mon_rrd *e)
{
	for (uint32_t i = 0; i < e->nlive; i++)
		live_free(&e->live[i]);
	free(e->live);
	nidx_free(&e->live_names);
	e->epoch++;
	e->live = NULL;
	e->nlive = e->cap_live = e->hint = 0;
}

static const char *live_name(const void *ctx, uint32_t i)
{
	return ((const struct mon_rrd *)ctx)->live[i].d.name;
}

static const char *ds_name(const void *ctx, uint32_t i)
{
	return ((const struct mon_rrd *)ctx)->rrd->ds[i].name;
}

int reg_rrd_find(const struct mon_rrd *e, const char *name)
{
	return e->rrd ? nidx_find(&e->ds_names, name, e->rrd->nds, ds_name, e) : -1;
}

static void entry_free(struct mon_rrd *e)
{
	if (!e)
		return;
	entry_drop_live(e);
	rrdb_free(e->rrd);
	for (uint32_t i = 0; i < e->nfast; i++)
		free(e->fast[i].idx);
	free(e->seen);
	free(e->latest);
	free(e->key_off);
	nidx_free(&e->ds_names);
	buf_free(&e->keys);
	free(e);
}

struct mon_rrd *reg_find(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid)
{
	if (kind == MON_HOST)
		return reg->host;
	struct mon_table *t = table_of(reg, kind);
	if (!t || !uuid)
		return NULL;
	long i = table_search(t, uuid);
	return i >= 0 ? t->v[i] : NULL;
}

bool reg_full(const struct mon_registry *reg)
{
	return reg->max_rrds && reg->vms.n + reg->srs.n >= reg->max_rrds;
}

struct mon_rrd *reg_get(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid)
{
	if (kind == MON_HOST) {
		if (!reg->host)
			reg->host = entry_new(MON_HOST, reg->host_uuid);
		return reg->host;
	}
	struct mon_table *t = table_of(reg, kind);
	if (!t || !uuid || !*uuid)
		return NULL;
	long i = table_search(t, uuid);
	if (i >= 0)
		return t->v[i];
	if (reg_full(reg)) {
		reg->refused++;
		if (!reg->full) {
			reg->full = true;
			log_warn(
			    "registry: %u VM and SR RRDs, the most kept (--max-rrds): new owners "
			    "are refused (first: %s %s)",
			    reg->max_rrds, mon_owner_kind_name(kind), uuid);
		}
		return NULL;
	}
	size_t at = (size_t)(-i - 1);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xrealloc(t->v, sizeof(*t->v) * t->cap);
		t->key = xrealloc(t->key, sizeof(*t->key) * t->cap);
	}
	memmove(t->v + at + 1, t->v + at, sizeof(*t->v) * (t->n - at));
	memmove(t->key + at + 1, t->key + at, sizeof(*t->key) * (t->n - at));
	t->v[at] = entry_new(kind, uuid);
	t->key[at] = uuid_key(t->v[at]->uuid);
	t->n++;
	return t->v[at];
}

/* Unlink an entry from its table (or the host slot) and return it. */
static struct mon_rrd *reg_unlink(struct mon_registry *reg, enum mon_owner_kind kind,
                                  const char *uuid)
{
	if (kind == MON_HOST) {
		struct mon_rrd *e = reg->host;
		reg->host = NULL;
		return e;
	}
	struct mon_table *t = table_of(reg, kind);
	if (!t || !uuid)
		return NULL;
	long i = table_search(t, uuid);
	if (i < 0)
		return NULL;
	struct mon_rrd *e = t->v[i];
	memmove(t->v + i, t->v + i + 1, sizeof(*t->v) * (t->n - (size_t)i - 1));
	memmove(t->key + i, t->key + i + 1, sizeof(*t->key) * (t->n - (size_t)i - 1));
	t->n--;
	if (reg->full && !reg_full(reg)) {
		reg->full = false;
		log_info("registry: below %u VM and SR RRDs again (%llu new owners were refused)",
		         reg->max_rrds, (unsigned long long)reg->refused);
	}
	return e;
}

/* ---- live descriptors ---- */

int reg_live_find(struct mon_rrd *e, const char *name)
{
	if (e->hint < e->nlive && strcmp(e->live[e->hint].d.name, name) == 0)
		return (int)e->hint++;
	int idx = nidx_find(&e->live_names, name, e->nlive, live_name, e);
	if (idx >= 0)
		e->hint = (uint32_t)idx + 1;
	return idx;
}

int reg_live_add(struct mon_rrd *e, const struct mon_dsdesc *d)
{
	if (e->nlive == e->cap_live) {
		e->cap_live = e->cap_live ? e->cap_live * 2 : 16;
		e->live = xrealloc(e->live, sizeof(*e->live) * e->cap_live);
	}
	uint32_t idx = e->nlive++;
	struct mon_live *l = &e->live[idx];
	e->epoch++;
	l->d = *d;
	/* the same texts repeat in every VM's RRD: one shared copy of each */
	l->d.name = intern_get(d->name);
	l->d.description = intern_get(d->description);
	l->d.units = intern_get(d->units);
	l->d.om = d->om ? intern_get(d->om) : NULL;
	l->rrd_idx = reg_rrd_find(e, l->d.name);
	nidx_append(&e->live_names, e->nlive, live_name, e);
	e->hint = idx + 1;
	return (int)idx;
}

void reg_live_fit(struct mon_rrd *e)
{
	if (e->cap_live > e->nlive + e->nlive / 4 + 4) {
		e->live = xrealloc(e->live, sizeof(*e->live) * (e->nlive ? e->nlive : 1));
		e->cap_live = e->nlive;
	}
}

/* Room for nds entries in seen, latest and the key offsets. */
static void fit_per_ds(struct mon_rrd *e, uint32_t nds)
{
	if (nds > e->cap_seen) {
		uint32_t cap = e->cap_seen + e->cap_seen / 2;
		if (cap < nds)
			cap = nds;
		e->seen = xrealloc(e->seen, sizeof(*e->seen) * cap);
		memset(e->seen + e->cap_seen, 0, sizeof(*e->seen) * (cap - e->cap_seen));
		e->latest = xrealloc(e->latest, sizeof(*e->latest) * cap);
		e->cap_seen = cap;
	}
	if (nds + 1 > e->cap_key_off) {
		uint32_t cap = e->cap_key_off + e->cap_key_off / 2;
		if (cap < nds + 1)
			cap = nds + 1;
		e->key_off = xrealloc(e->key_off, sizeof(*e->key_off) * cap);
		e->cap_key_off = cap;
	}
}

/* The latest value and the dump key of RRD DS i (the keys of 0..i-1 are
 * in place). */
static void index_ds(struct mon_rrd *e, uint32_t i)
{
	reg_touch(e, i);
	e->key_off[i] = (uint32_t)e->keys.len;
	exp_json_str(&e->keys, e->rrd->ds[i].name, strlen(e->rrd->ds[i].name));
	buf_add(&e->keys, ": ", 2);
	e->key_off[i + 1] = (uint32_t)e->keys.len;
	buf_reserve(&e->keys, KEY_COPY); /* readable slack for fixed-size copies */
}

void reg_reindex(struct mon_rrd *e)
{
	e->epoch++;
	nidx_rebuild(&e->ds_names, e->rrd ? e->rrd->nds : 0, ds_name, e);
	for (uint32_t i = 0; i < e->nlive; i++)
		e->live[i].rrd_idx = reg_rrd_find(e, e->live[i].d.name);
	uint32_t nds = e->rrd ? e->rrd->nds : 0;
	fit_per_ds(e, nds);
	/* the latest values and the JSON keys of the dumps */
	buf_reset(&e->keys);
	e->key_off[0] = 0;
	for (uint32_t i = 0; i < nds; i++)
		index_ds(e, i);
	buf_reserve(&e->keys, KEY_COPY);
}

int reg_record_live(struct mon_registry *reg, struct mon_rrd *e, int li, double t)
{
	if (reg->max_ds && e->rrd->nds >= reg->max_ds) {
		if (!e->ds_full)
			log_warn("%s %s: %u data sources, the most one RRD records (--max-dss): %s "
			         "and later ones are not recorded",
			         mon_owner_kind_name(e->kind), e->uuid, reg->max_ds,
			         e->live[li].d.name);
		e->ds_full = true;
		return -ENOSPC;
	}
	struct rrdb_ds_def def;
	reg_ds_def(&e->live[li].d, &def);
	int idx = rrdb_append_ds(e->rrd, t, &def);
	if (idx < 0)
		return idx;
	e->epoch++;
	e->live[li].rrd_idx = idx;
	nidx_append(&e->ds_names, e->rrd->nds, ds_name, e);
	fit_per_ds(e, e->rrd->nds);
	e->seen[idx] = 0;
	index_ds(e, (uint32_t)idx);
	return 0;
}

/* The dump object of entry e (NULL: "{}"). */
static void entry_json(const struct mon_rrd *e, struct buf *out, struct num_memo *memo)
{
	uint32_t nds = e && e->rrd ? e->rrd->nds : 0;
	/* one reservation for the whole object: '{', per DS ", " + key + a
	 * value of at most NUMFMT_MAX bytes, '}' */
	size_t room = 2 + (nds ? e->keys.len : 0) + (size_t)nds * (2 + NUMFMT_MAX);
	char *const p0 = buf_reserve(out, room);
	char *p = p0;
	*p++ = '{';
	for (uint32_t i = 0; i < nds; i++) {
		if (i) {
			p[0] = ',';
			p[1] = ' ';
			p += 2;
		}
		uint32_t kl = e->key_off[i + 1] - e->key_off[i];
		if (kl <= KEY_COPY) /* keys has KEY_COPY bytes of slack; out has
		                       NUMFMT_MAX >= KEY_COPY after the key */
			memcpy(p, e->keys.p + e->key_off[i], KEY_COPY);
		else
			memcpy(p, e->keys.p + e->key_off[i], kl);
		p += kl;
		double v = e->latest[i];
		if (isnan(v)) {
			memcpy(p, "\"NaN\"", 5);
			p += 5;
		} else if (isinf(v)) {
			const char *s = v > 0 ? "\"infinity\"" : "\"-infinity\"";
			size_t n = strlen(s);
			memcpy(p, s, n);
			p += n;
		} else {
			p += num_memo_format(memo, p, v);
		}
	}
	*p++ = '}';
	buf_commit(out, (size_t)(p - p0));
}

void mon_latest_json_locked(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                            struct buf *out, struct num_memo *memo)
{
	entry_json(reg_find(reg, kind, uuid), out, memo);
}

int mon_vms_json_locked(struct mon_registry *reg, struct buf *out, struct num_memo *memo,
                        size_t piece, int (*flush)(void *ctx, struct buf *out), void *ctx)
{
	buf_addc(out, '{');
	int n = 0, rc;
	for (uint32_t i = 0; i < reg->vms.n; i++) {
		const struct mon_rrd *e = reg->vms.v[i];
		if (!e->rrd)
			continue;
		if (n++)
			buf_add(out, ", ", 2);
		exp_json_str(out, e->uuid, strlen(e->uuid));
		buf_add(out, ": ", 2);
		entry_json(e, out, memo);
		if (flush && out->len >= piece && (rc = flush(ctx, out)) != 0)
			return rc;
	}
	buf_addc(out, '}');
	return 0;
}

void reg_ds_def(const struct mon_dsdesc *d, struct rrdb_ds_def *out)
{
	memset(out, 0, sizeof(*out));
	out->name = d->name;
	out->type = d->type;
	out->min = d->min;
	out->max = d->max;
	out->mrhb = 300;
	out->transform = d->transform;
	out->initial_last = DSVAL_UNKNOWN;
}

/* ---- lifecycle of the registry ---- */

struct mon_registry *mon_registry_new(const struct mon_config *cfg)
{
	struct mon_registry *reg = xcalloc(1, sizeof(*reg));
	/* Writer preference: with many HTTP readers polling, a reader-preferring
	 * lock (glibc's default) could keep the tick's writer waiting forever. */
	pthread_rwlockattr_t la;
	pthread_rwlockattr_init(&la);
	pthread_rwlockattr_setkind_np(&la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&reg->lock, &la);
	pthread_rwlockattr_destroy(&la);
	pthread_mutex_init(&reg->commit_mu, NULL);
	if (cfg->host_uuid)
		mon_uuid_copy(reg->host_uuid, cfg->host_uuid);
	reg->use_min_max = cfg->use_min_max;
	reg->enable_all = cfg->enable_all;
	reg->max_rrds = cfg->max_rrds;
	reg->max_ds = cfg->max_ds;
	return reg;
}

static void table_free(struct mon_table *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		entry_free(t->v[i]);
	free(t->v);
	free(t->key);
	memset(t, 0, sizeof(*t));
}

void mon_registry_free(struct mon_registry *reg)
{
	if (!reg)
		return;
	entry_free(reg->host);
	table_free(&reg->vms);
	table_free(&reg->srs);
	free(reg->scratch);
	pthread_rwlock_destroy(&reg->lock);
	pthread_mutex_destroy(&reg->commit_mu);
	free(reg);
}

const char *mon_host_uuid(const struct mon_registry *reg)
{
	return reg->host_uuid;
}

/* ---- readers ---- */

const struct rrdb *mon_get_locked(struct mon_registry *reg, enum mon_owner_kind kind,
                                  const char *uuid)
{
	struct mon_rrd *e = reg_find(reg, kind, uuid);
	return e ? e->rrd : NULL;
}

int mon_foreach_locked(struct mon_registry *reg, enum mon_owner_kind kind,
                       int (*fn)(const char *uuid, const struct rrdb *rrd, void *ctx), void *ctx)
{
	if (kind == MON_HOST)
		return reg->host && reg->host->rrd ? fn(reg->host_uuid, reg->host->rrd, ctx) : 0;
	struct mon_table *t = table_of(reg, kind);
	for (uint32_t i = 0; t && i < t->n; i++) {
		if (!t->v[i]->rrd)
			continue;
		int rc = fn(t->v[i]->uuid, t->v[i]->rrd, ctx);
		if (rc)
			return rc;
	}
	return 0;
}

struct rrdb *mon_dup(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid)
{
	mon_rdlock(reg);
	const struct rrdb *r = mon_get_locked(reg, kind, uuid);
	struct rrdb *c = r ? rrdb_dup(r) : NULL;
	mon_unlock(reg);
	return c;
}

bool mon_use_min_max(struct mon_registry *reg)
{
	mon_rdlock(reg);
	bool v = reg->use_min_max;
	mon_unlock(reg);
	return v;
}

bool mon_has(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid)
{
	mon_rdlock(reg);
	bool has = mon_get_locked(reg, kind, uuid) != NULL;
	mon_unlock(reg);
	return has;
}

size_t mon_list(struct mon_registry *reg, enum mon_owner_kind kind, char (**out)[MON_UUID_LEN + 1])
{
	mon_rdlock(reg);
	size_t n = 0;
	char(*v)[MON_UUID_LEN + 1] = NULL;
	if (kind == MON_HOST) {
		if (reg->host && reg->host->rrd) {
			v = xmalloc(sizeof(*v));
			memcpy(v[0], reg->host_uuid, sizeof(v[0]));
			n = 1;
		}
	} else {
		struct mon_table *t = table_of(reg, kind);
		v = xmalloc(sizeof(*v) * (t->n ? t->n : 1));
		for (uint32_t i = 0; i < t->n; i++)
			if (t->v[i]->rrd)
				memcpy(v[n++], t->v[i]->uuid, sizeof(v[0]));
	}
	mon_unlock(reg);
	*out = v;
	return n;
}

int mon_latest(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
               const char *name, double *out)
{
	int rc = -ENOENT;
	mon_rdlock(reg);
	const struct mon_rrd *e = reg_find(reg, kind, uuid);
	int i = e ? reg_rrd_find(e, name) : -1;
	if (i >= 0) {
		*out = rrdb_query_latest(e->rrd, (uint32_t)i);
		rc = 0;
	}
	mon_unlock(reg);
	return rc;
}

/* ---- writers ---- */

int reg_install(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                struct rrdb *rrd)
{
	if (!rrd || (kind != MON_HOST && (!uuid || !*uuid)))
		return -EINVAL;
	mon_wrlock(reg);
	struct mon_rrd *e = reg_get(reg, kind, uuid);
	if (!e) {
		mon_unlock(reg);
		rrdb_free(rrd);
		return -ENOSPC; /* over max_rrds (refused by the precheck first) */
	}
	rrdb_free(e->rrd);
	entry_drop_live(e);
	e->rrd = rrd;
	e->have_domid = false;
	reg_reindex(e);
	for (uint32_t i = 0; i < rrd->nds; i++)
		e->seen[i] = 0;
	mon_unlock(reg);
	return 0;
}

struct rrdb *reg_release(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid)
{
	mon_wrlock(reg);
	struct mon_rrd *e = reg_unlink(reg, kind, uuid);
	mon_unlock(reg);
	if (!e)
		return NULL;
	struct rrdb *r = e->rrd;
	e->rrd = NULL;
	entry_free(e);
	return r;
}

static void copy_one(struct mon_copy **v, size_t *n, size_t *cap, const struct mon_rrd *e)
{
	if (!e || !e->rrd)
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xrealloc(*v, sizeof(**v) * *cap);
	}
	struct mon_copy *c = &(*v)[(*n)++];
	c->kind = e->kind;
	memcpy(c->uuid, e->uuid, sizeof(c->uuid));
	c->rrd = rrdb_dup(e->rrd);
}

size_t mon_copy_all(struct mon_registry *reg, struct mon_copy **out)
{
	struct mon_copy *v = NULL;
	size_t n = 0, cap = 0;
	mon_rdlock(reg);
	copy_one(&v, &n, &cap, reg->host);
	for (uint32_t i = 0; i < reg->vms.n; i++)
		copy_one(&v, &n, &cap, reg->vms.v[i]);
	for (uint32_t i = 0; i < reg->srs.n; i++)
		copy_one(&v, &n, &cap, reg->srs.v[i]);
	mon_unlock(reg);
	*out = v;
	return n;
}

void mon_copies_free(struct mon_copy *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rrdb_free(c[i].rrd);
	free(c);
}

/* ---- data source calls ---- */

static char *dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

static void info_fill(struct mon_dsinfo *o, const struct mon_dsdesc *d, bool enabled)
{
	o->d = *d;
	o->d.name = dup_or_empty(d->name);
	o->d.description = dup_or_empty(d->description);
	o->d.units = dup_or_empty(d->units);
	o->d.om = d->om ? xstrdup(d->om) : NULL;
	o->enabled = enabled;
}

int mon_possible_dss(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                     struct mon_dsinfo **out)
{
	mon_rdlock(reg);
	struct mon_rrd *e = reg_find(reg, kind, uuid);
	if (!e || (!e->rrd && !e->nlive)) {
		mon_unlock(reg);
		*out = NULL;
		return -ENOENT;
	}
	uint32_t nds = e->rrd ? e->rrd->nds : 0;
	struct mon_dsinfo *v = xcalloc((size_t)e->nlive + nds + 1, sizeof(*v));
	size_t n = 0;
	for (uint32_t i = 0; i < e->nlive; i++)
		info_fill(&v[n++], &e->live[i].d, e->live[i].rrd_idx >= 0);
	for (uint32_t i = 0; i < nds; i++) {
		const struct rrdb_ds *ds = &e->rrd->ds[i];
		bool live = false;
		for (uint32_t j = 0; j < e->nlive && !live; j++)
			live = e->live[j].rrd_idx == (int)i;
		if (live)
			continue;
		/* archived only (no source reports it): wire-format.md §5, as xcp-rrdd
		 * lists it, not enabled and not standard */
		struct mon_dsdesc d = {.name = ds->name,
		                       .description = "description not available",
		                       .units = "unknown",
		                       .type = ds->type,
		                       .value_type = VAL_FLOAT,
		                       .min = ds->min,
		                       .max = ds->max,
		                       .transform = ds->transform};
		info_fill(&v[n++], &d, false);
	}
	mon_unlock(reg);
	*out = v;
	return (int)n;
}

void mon_dsinfo_free(struct mon_dsinfo *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free((char *)v[i].d.name);
		free((char *)v[i].d.description);
		free((char *)v[i].d.units);
		free((char *)v[i].d.om);
	}
	free(v);
}

int reg_enable_ds(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                  const char *name, double t)
{
	int rc = -ENOENT;
	mon_wrlock(reg);
	struct mon_rrd *e = reg_find(reg, kind, uuid);
	int li = e && e->rrd ? reg_live_find(e, name) : -1;
	if (li >= 0) {
		rc = 0;
		if (e->live[li].rrd_idx < 0)
			rc = reg_record_live(reg, e, li, t);
	}
	mon_unlock(reg);
	return rc;
}

int reg_forget_ds(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                  const char *name)
{
	int rc = -ENOENT;
	mon_wrlock(reg);
	struct mon_rrd *e = reg_find(reg, kind, uuid);
	if (e && e->rrd) {
		int idx = reg_rrd_find(e, name);
		if (idx >= 0) {
			/* keep the seen marks of the DSs that move down */
			memmove(e->seen + idx, e->seen + idx + 1,
			        sizeof(*e->seen) * (e->rrd->nds - (uint32_t)idx - 1));
			rc = rrdb_remove_ds(e->rrd, name);
			reg_reindex(e);
		}
	}
	mon_unlock(reg);
	return rc;
}

void mon_footprint(struct mon_registry *reg, size_t *nrrd, size_t *ring_bytes)
{
	size_t n = 0, bytes = 0;
	mon_rdlock(reg);
	const struct mon_rrd *h = reg->host;
	if (h && h->rrd) {
		n++;
		bytes += (size_t)h->rrd->nds * h->rrd->rows_total * sizeof(float);
	}
	const struct mon_table *ts[2] = {&reg->vms, &reg->srs};
	for (int k = 0; k < 2; k++)
		for (uint32_t i = 0; i < ts[k]->n; i++) {
			const struct rrdb *r = ts[k]->v[i]->rrd;
			if (r) {
				n++;
				bytes += (size_t)r->nds * r->rows_total * sizeof(float);
			}
		}
	mon_unlock(reg);
	*nrrd = n;
	*ring_bytes = bytes;
}
