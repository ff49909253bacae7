/*
 * Exact binary RRD images (rrdbin.h).  The layout goes first so a decoder
 * can check the sizes against the input before allocating; the state is
 * then copied field by field, little-endian, doubles and floats as their
 * IEEE bits (NaN payloads included).
 */
#include "store/rrdbin.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "rrd/rrd.h"
#include "util/xalloc.h"

#define RRDBIN_MAGIC 0x31424452u /* "RDB1" */

void store_rrdb_encode(const struct rrdb *r, struct buf *out)
{
	bio_u32(out, RRDBIN_MAGIC);
	bio_u32(out, r->step);
	bio_f64(out, r->last_updated);
	bio_u32(out, r->nrra);
	for (uint32_t k = 0; k < r->nrra; k++) {
		bio_u8(out, (uint8_t)r->rra[k].cf);
		bio_u32(out, r->rra[k].rows);
		bio_u32(out, r->rra[k].pdp_cnt);
		bio_f64(out, r->rra[k].xff);
	}
	bio_u32(out, r->nds);
	for (uint32_t i = 0; i < r->nds; i++) {
		const struct rrdb_ds *d = &r->ds[i];
		bio_str(out, d->name);
		bio_u8(out, (uint8_t)d->type);
		bio_u8(out, (uint8_t)d->transform);
		bio_f64(out, d->min);
		bio_f64(out, d->max);
		bio_f64(out, d->mrhb);
		bio_u8(out, (uint8_t)d->last.type);
		if (d->last.type == VAL_FLOAT)
			bio_f64(out, d->last.f);
		else
			bio_u64(out, d->last.type == VAL_INT64 ? (uint64_t)d->last.i : 0);
		bio_f64(out, d->value);
		bio_f64(out, d->unknown_sec);
		bio_f64(out, d->last_updated);
		for (uint32_t k = 0; k < r->nrra; k++) {
			bio_f64(out, d->cdp[k].value);
			bio_u32(out, d->cdp[k].unknown_pdps);
			bio_u32(out, d->cdp[k].head);
		}
		char *p = buf_reserve(out, sizeof(float) * r->rows_total);
		const float *col = rrdb_cell(r, i, 0, 0); /* slot j of every ring in turn */
		for (uint32_t j = 0; j < r->rows_total; j++) {
			uint32_t u;
			memcpy(&u, &col[(size_t)j * r->cap_blk], 4);
			p[4 * j] = (char)u;
			p[4 * j + 1] = (char)(u >> 8);
			p[4 * j + 2] = (char)(u >> 16);
			p[4 * j + 3] = (char)(u >> 24);
		}
		buf_commit(out, sizeof(float) * r->rows_total);
	}
}

struct ds_head {
	char *name;
	struct rrdb_ds_def def;
};

int store_rrdb_decode(struct bio_rd *rd, struct rrdb **out)
{
	*out = NULL;
	if (bio_get_u32(rd) != RRDBIN_MAGIC)
		goto bad;
	uint32_t step = bio_get_u32(rd);
	double last_updated = bio_get_f64(rd);
	uint32_t nrra = bio_get_u32(rd);
	if (rd->bad || nrra > 64 || bio_left(rd) < (size_t)nrra * 17)
		goto bad;
	struct rrdb_rra_def rras[64];
	uint64_t rows_total = 0;
	for (uint32_t k = 0; k < nrra; k++) {
		uint8_t cf = bio_get_u8(rd);
		rras[k].cf = cf <= CF_LAST ? (enum cf_type)cf : CF_AVERAGE;
		rras[k].rows = bio_get_u32(rd);
		rras[k].pdp_cnt = bio_get_u32(rd);
		rras[k].xff = bio_get_f64(rd);
		if (cf > CF_LAST || rras[k].rows == 0)
			goto bad;
		rows_total += rras[k].rows;
	}
	uint32_t nds = bio_get_u32(rd);
	/* every DS takes at least 5 + 2 + 24 + 9 + 24 + 16*nrra + 4*rows bytes */
	uint64_t per_ds = 64 + 16ull * nrra + 4 * rows_total;
	if (rd->bad || rows_total > (1u << 28) || (uint64_t)nds * per_ds > bio_left(rd))
		goto bad;
	/* first pass: names and definitions, to allocate through rrdb_alloc */
	struct bio_rd save = *rd;
	struct ds_head *h = xcalloc(nds ? nds : 1, sizeof(*h));
	int rc = -EINVAL;
	for (uint32_t i = 0; i < nds; i++) {
		size_t n;
		const char *s = bio_get_bytes(rd, &n);
		if (!s || n == 0 || memchr(s, 0, n))
			goto out;
		h[i].name = xmalloc(n + 1);
		memcpy(h[i].name, s, n);
		h[i].name[n] = 0;
		h[i].def.name = h[i].name;
		uint8_t t = bio_get_u8(rd), tr = bio_get_u8(rd);
		if (t > DS_DERIVE || tr > TR_INVERSE)
			goto out;
		h[i].def.type = (enum ds_type)t;
		h[i].def.transform = (enum ds_transform)tr;
		h[i].def.min = bio_get_f64(rd);
		h[i].def.max = bio_get_f64(rd);
		h[i].def.mrhb = bio_get_f64(rd);
		h[i].def.initial_last = DSVAL_UNKNOWN;
		bio_take(rd, 9 + 24 + 16ull * nrra + 4 * rows_total);
		if (rd->bad)
			goto out;
	}
	struct rrdb_ds_def *defs = xmalloc(sizeof(*defs) * (nds ? nds : 1));
	for (uint32_t i = 0; i < nds; i++)
		defs[i] = h[i].def;
	struct rrdb *r = rrdb_alloc(step, rras, nrra, defs, nds);
	free(defs);
	if (!r)
		goto out;
	r->last_updated = last_updated;
	*rd = save;
	for (uint32_t i = 0; i < nds; i++) {
		struct rrdb_ds *d = &r->ds[i];
		size_t n;
		bio_get_bytes(rd, &n);
		bio_get_u8(rd);
		bio_get_u8(rd);
		d->min = bio_get_f64(rd);
		d->max = bio_get_f64(rd);
		d->mrhb = bio_get_f64(rd);
		uint8_t lt = bio_get_u8(rd);
		if (lt > VAL_FLOAT) {
			rrdb_free(r);
			goto out;
		}
		d->last.type = (enum val_type)lt;
		if (lt == VAL_FLOAT)
			d->last.f = bio_get_f64(rd);
		else
			d->last.i = (int64_t)bio_get_u64(rd);
		if (lt == VAL_UNKNOWN)
			d->last.i = 0;
		d->value = bio_get_f64(rd);
		d->unknown_sec = bio_get_f64(rd);
		d->last_updated = bio_get_f64(rd);
		for (uint32_t k = 0; k < nrra; k++) {
			d->cdp[k].value = bio_get_f64(rd);
			d->cdp[k].unknown_pdps = bio_get_u32(rd);
			d->cdp[k].head = bio_get_u32(rd);
			if (d->cdp[k].head >= rras[k].rows)
				rd->bad = true;
		}
		float *col = rrdb_cell(r, i, 0, 0);
		for (uint32_t j = 0; j < rows_total; j++)
			col[(size_t)j * r->cap_blk] = bio_get_f32(rd);
	}
	if (rd->bad) {
		rrdb_free(r);
		goto out;
	}
	*out = r;
	rc = 0;
out:
	for (uint32_t i = 0; i < nds; i++)
		free(h[i].name);
	free(h);
	if (rc)
		rd->bad = true;
	return rc;
bad:
	rd->bad = true;
	return -EINVAL;
}
