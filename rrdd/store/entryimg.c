/*
 * Entry images (entryimg.h).
 */
#include "store/entryimg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/rrdbin.h"
#include "util/xalloc.h"

void store_entry_encode(const struct mon_entry *e, struct buf *out)
{
	bio_u8(out, (uint8_t)e->kind);
	bio_str(out, e->uuid);
	bio_u8(out, e->have_domid);
	bio_u32(out, e->domid);
	bio_u32(out, e->nlive);
	for (uint32_t i = 0; i < e->nlive; i++) {
		const struct mon_dsdesc *d = mon_entry_live(e, i);
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

int store_entry_decode(struct bio_rd *rd, struct mon_entry **out)
{
	*out = NULL;
	struct mon_entry *e = xcalloc(1, sizeof(*e));
	uint8_t kind = bio_get_u8(rd);
	bio_get_str_into(rd, e->uuid, sizeof(e->uuid));
	e->have_domid = bio_get_u8(rd) != 0;
	e->domid = bio_get_u32(rd);
	uint32_t nlive = bio_get_u32(rd);
	if (rd->bad || kind > MON_SR || (kind != MON_HOST && !e->uuid[0]) ||
	    (uint64_t)nlive * 34 > bio_left(rd)) {
		free(e);
		return rd->bad = true, -EINVAL;
	}
	e->kind = (enum mon_owner_kind)kind;
	struct mon_dsdesc *lv = xcalloc(nlive ? nlive : 1, sizeof(*lv));
	e->live = lv;
	e->live_stride = sizeof(*lv);
	for (uint32_t i = 0; i < nlive; i++) {
		struct mon_dsdesc *l = &lv[i];
		l->name = get_str(rd);
		l->description = get_str(rd);
		l->units = get_str(rd);
		e->nlive = i + 1; /* owned from here on */
		uint8_t t = bio_get_u8(rd), vt = bio_get_u8(rd);
		l->min = bio_get_f64(rd);
		l->max = bio_get_f64(rd);
		l->dflt = bio_get_u8(rd) != 0;
		uint8_t tr = bio_get_u8(rd);
		if (t > DS_DERIVE || vt > VAL_FLOAT || tr > TR_INVERSE || !l->name[0])
			rd->bad = true;
		l->type = (enum ds_type)(t <= DS_DERIVE ? t : 0);
		l->value_type = (enum val_type)(vt <= VAL_FLOAT ? vt : 0);
		l->transform = (enum ds_transform)(tr <= TR_INVERSE ? tr : 0);
	}
	int rc = 0;
	if (!rd->bad && bio_get_u8(rd))
		rc = store_rrdb_decode(rd, &e->rrd);
	if (rd->bad || rc) {
		mon_entry_free_owned(e);
		return rd->bad = true, -EINVAL;
	}
	*out = e;
	return 0;
}

static int encode_cb(void *ctx, const struct mon_entry *e)
{
	store_entry_encode(e, ctx);
	return 0;
}

int store_entry_save(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                     struct buf *out)
{
	return mon_entry_visit(reg, kind, uuid, encode_cb, out);
}

size_t store_save_all(struct mon_registry *reg, struct buf *out)
{
	struct mon_owner_ref *o;
	size_t n = mon_list_entries(reg, &o), k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t off = out->len;
		bio_u32(out, 0);
		if (store_entry_save(reg, o[i].kind, o[i].uuid, out) == 0) {
			bio_put_u32_at(out, off, (uint32_t)(out->len - off - 4));
			k++;
		} else {
			out->len = off;
		}
	}
	free(o);
	return k;
}
