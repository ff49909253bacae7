/*
 * Entry images of the registry (registry_state.h).  Reads the registry's
 * internals (registry_impl.h) under its lock; restores through the same
 * helpers the registry uses (reg_get, reg_live_add, reg_reindex), so the
 * caches it keeps (name slots, latest values, JSON keys) are rebuilt, not
 * copied.  Image: u8 kind, str uuid, u8 have_domid, u32 domid, u32 nlive,
 * per live DS its descriptor, u8 has_rrd, then the RRD image.
 */
#include "monitor/registry_state.h"

#include <errno.h>
#include <stdlib.h>

#include "monitor/registry_impl.h"
#include "store/rrdbin.h"
#include "util/xalloc.h"

static void save_entry(const struct mon_rrd *e, struct buf *out)
{
	bio_u8(out, (uint8_t)e->kind);
	bio_str(out, e->uuid);
	bio_u8(out, e->have_domid);
	bio_u32(out, e->domid);
	bio_u32(out, e->nlive);
	for (uint32_t i = 0; i < e->nlive; i++) {
		const struct mon_dsdesc *d = &e->live[i].d;
		bio_str(out, d->name);
		bio_str(out, d->description);
		bio_str(out, d->units);
		bio_u8(out, (uint8_t)d->type);
		bio_u8(out, (uint8_t)d->value_type);
		bio_f64(out, d->min);
		bio_f64(out, d->max);
		bio_u8(out, d->dflt);
		bio_u8(out, (uint8_t)d->transform);
	}
	bio_u8(out, e->rrd != NULL);
	if (e->rrd)
		store_rrdb_encode(e->rrd, out);
}

int mon_entry_save(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                   struct buf *out)
{
	mon_rdlock(reg);
	struct mon_rrd *e = reg_find(reg, kind, uuid);
	if (e)
		save_entry(e, out);
	mon_unlock(reg);
	return e ? 0 : -ENOENT;
}

static void save_framed(const struct mon_rrd *e, struct buf *out, size_t *n)
{
	if (!e)
		return;
	size_t off = out->len;
	bio_u32(out, 0);
	save_entry(e, out);
	bio_put_u32_at(out, off, (uint32_t)(out->len - off - 4));
	(*n)++;
}

size_t mon_save_all(struct mon_registry *reg, struct buf *out)
{
	size_t n = 0;
	mon_rdlock(reg);
	save_framed(reg->host, out, &n);
	for (uint32_t i = 0; i < reg->vms.n; i++)
		save_framed(reg->vms.v[i], out, &n);
	for (uint32_t i = 0; i < reg->srs.n; i++)
		save_framed(reg->srs.v[i], out, &n);
	mon_unlock(reg);
	return n;
}

struct live_img {
	char *name, *description, *units;
	struct mon_dsdesc d;
};

static char *get_str(struct bio_rd *rd)
{
	size_t n;
	const char *s = bio_get_bytes(rd, &n);
	if (!s || memchr(s, 0, n)) {
		rd->bad = true;
		return xstrdup("");
	}
	char *c = xmalloc(n + 1);
	memcpy(c, s, n);
	c[n] = 0;
	return c;
}

int mon_entry_restore(struct mon_registry *reg, struct bio_rd *rd)
{
	uint8_t kind = bio_get_u8(rd);
	char uuid[MON_UUID_LEN + 1];
	bio_get_str_into(rd, uuid, sizeof(uuid));
	bool have_domid = bio_get_u8(rd) != 0;
	uint32_t domid = bio_get_u32(rd);
	uint32_t nlive = bio_get_u32(rd);
	if (rd->bad || kind > MON_SR || (kind != MON_HOST && !uuid[0]) ||
	    (uint64_t)nlive * 34 > bio_left(rd))
		return rd->bad = true, -EINVAL;
	struct live_img *lv = xcalloc(nlive ? nlive : 1, sizeof(*lv));
	for (uint32_t i = 0; i < nlive; i++) {
		struct live_img *l = &lv[i];
		l->name = get_str(rd);
		l->description = get_str(rd);
		l->units = get_str(rd);
		uint8_t t = bio_get_u8(rd), vt = bio_get_u8(rd);
		l->d.min = bio_get_f64(rd);
		l->d.max = bio_get_f64(rd);
		l->d.dflt = bio_get_u8(rd) != 0;
		uint8_t tr = bio_get_u8(rd);
		if (t > DS_DERIVE || vt > VAL_FLOAT || tr > TR_INVERSE || !l->name[0])
			rd->bad = true;
		l->d.type = (enum ds_type)(t <= DS_DERIVE ? t : 0);
		l->d.value_type = (enum val_type)(vt <= VAL_FLOAT ? vt : 0);
		l->d.transform = (enum ds_transform)(tr <= TR_INVERSE ? tr : 0);
		l->d.name = l->name;
		l->d.description = l->description;
		l->d.units = l->units;
	}
	struct rrdb *r = NULL;
	int rc = 0;
	if (!rd->bad && bio_get_u8(rd))
		rc = store_rrdb_decode(rd, &r);
	if (rd->bad || rc) {
		rc = -EINVAL;
		rrdb_free(r);
	} else {
		mon_wrlock(reg);
		struct mon_rrd *old = reg_find(reg, (enum mon_owner_kind)kind, uuid);
		mon_unlock(reg);
		if (old) /* start from a clean entry: no stale live descriptors */
			rrdb_free(mon_take(reg, (enum mon_owner_kind)kind, uuid));
		mon_wrlock(reg);
		struct mon_rrd *e = reg_get(reg, (enum mon_owner_kind)kind, uuid);
		if (e) {
			for (uint32_t i = 0; i < nlive; i++)
				reg_live_add(e, &lv[i].d);
			reg_live_fit(e);
			e->rrd = r;
			e->have_domid = have_domid;
			e->domid = domid;
			e->restart_cycle = 0;
			reg_reindex(e);
			uint32_t nds = r ? r->nds : 0;
			for (uint32_t i = 0; i < nds; i++)
				e->seen[i] = 0;
		} else {
			rrdb_free(r);
			rc = -EINVAL;
		}
		mon_unlock(reg);
	}
	for (uint32_t i = 0; i < nlive; i++) {
		free(lv[i].name);
		free(lv[i].description);
		free(lv[i].units);
	}
	free(lv);
	return rc;
}

int mon_entry_drop(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid)
{
	mon_rdlock(reg);
	bool has = reg_find(reg, kind, uuid) != NULL;
	mon_unlock(reg);
	if (!has)
		return -ENOENT;
	rrdb_free(mon_take(reg, kind, uuid));
	return 0;
}
