/*
 * Whole entries of the registry (change.h): a borrowed view of one entry
 * for the store's checkpoints and journal, the list of every entry, and
 * the exact restore of one (MON_CH_RESTORE).  A restore goes through the
 * helpers the registry itself uses (reg_get, reg_live_add, reg_reindex),
 * so the caches it keeps (name slots, latest values, JSON keys) are
 * rebuilt, not copied.  The bytes of an entry image are the store's
 * business (store/entryimg.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/change.h"
#include "monitor/registry_impl.h"
#include "util/xalloc.h"

void mon_entry_free_owned(struct mon_entry *e)
{
	if (!e)
		return;
	for (uint32_t i = 0; i < e->nlive; i++) {
		const struct mon_dsdesc *d = mon_entry_live(e, i);
		free((char *)d->name);
		free((char *)d->description);
		free((char *)d->units);
		free((char *)d->om);
	}
	free((void *)e->live);
	rrdb_free(e->rrd);
	free(e);
}

static void view_of(const struct mon_rrd *e, struct mon_entry *v)
{
	memset(v, 0, sizeof(*v));
	v->kind = e->kind;
	memcpy(v->uuid, e->uuid, sizeof(v->uuid));
	v->have_domid = e->have_domid;
	v->domid = e->domid;
	v->nlive = e->nlive;
	v->live = e->nlive ? &e->live[0].d : NULL;
	v->live_stride = sizeof(struct mon_live);
	v->rrd = e->rrd;
}

int mon_entry_visit(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                    int (*fn)(void *ctx, const struct mon_entry *e), void *ctx)
{
	mon_rdlock(reg);
	struct mon_rrd *e = reg_find(reg, kind, uuid);
	int rc = -ENOENT;
	if (e) {
		struct mon_entry v;
		view_of(e, &v);
		rc = fn(ctx, &v);
	}
	mon_unlock(reg);
	return rc;
}

size_t mon_list_entries(struct mon_registry *reg, struct mon_owner_ref **out)
{
	mon_rdlock(reg);
	size_t n = (reg->host ? 1 : 0) + reg->vms.n + reg->srs.n, k = 0;
	struct mon_owner_ref *v = xmalloc(sizeof(*v) * (n ? n : 1));
	if (reg->host) {
		v[k].kind = MON_HOST;
		mon_uuid_copy(v[k++].uuid, reg->host->uuid);
	}
	for (uint32_t i = 0; i < reg->vms.n; i++) {
		v[k].kind = MON_VM;
		mon_uuid_copy(v[k++].uuid, reg->vms.v[i]->uuid);
	}
	for (uint32_t i = 0; i < reg->srs.n; i++) {
		v[k].kind = MON_SR;
		mon_uuid_copy(v[k++].uuid, reg->srs.v[i]->uuid);
	}
	mon_unlock(reg);
	*out = v;
	return k;
}

int reg_restore(struct mon_registry *reg, struct mon_entry *x)
{
	if (x->kind > MON_SR || (x->kind != MON_HOST && !x->uuid[0])) {
		mon_entry_free_owned(x);
		return -EINVAL;
	}
	/* start from a clean entry: no stale live descriptors */
	rrdb_free(reg_release(reg, x->kind, x->uuid));
	mon_wrlock(reg);
	struct mon_rrd *e = reg_get(reg, x->kind, x->uuid);
	int rc = 0;
	if (e) {
		for (uint32_t i = 0; i < x->nlive; i++)
			reg_live_add(e, mon_entry_live(x, i));
		reg_live_fit(e);
		e->rrd = x->rrd;
		x->rrd = NULL;
		e->have_domid = x->have_domid;
		e->domid = x->domid;
		e->restart_cycle = 0;
		reg_reindex(e);
		uint32_t nds = e->rrd ? e->rrd->nds : 0;
		for (uint32_t i = 0; i < nds; i++)
			e->seen[i] = 0;
	} else {
		rc = reg_full(reg) ? -ENOSPC : -EINVAL;
	}
	mon_unlock(reg);
	mon_entry_free_owned(x);
	return rc;
}
