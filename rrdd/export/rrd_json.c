/*
 * Full RRD JSON serialiser (see rrd_json.h).  Reproduces Yojson.to_string of
 * rrd.ml's Json.rrd: compact, every scalar a string, keys in fixed order.
 * Pure: no I/O, never modifies the RRD, uses numfmt for every number.
 */
#include "export/rrd_json.h"

#include <string.h>

#include "export/expnum.h"
#include "export/textesc.h"

#define ADDL(out, lit) buf_add((out), (lit), sizeof(lit) - 1)

/* A JSON string holding f_to_s(v). */
static void put_fstr(struct buf *out, double v)
{
	buf_addc(out, '"');
	exp_put_double(out, v);
	buf_addc(out, '"');
}

static void put_istr(struct buf *out, int64_t v)
{
	buf_addc(out, '"');
	exp_put_int64(out, v);
	buf_addc(out, '"');
}

static void put_ds(struct buf *out, const struct rrdb_ds *ds)
{
	ADDL(out, "{\"name\":");
	exp_json_str(out, ds->name, strlen(ds->name));
	ADDL(out, ",\"type\":\"");
	buf_adds(out, rrdb_type_name(ds->type));
	ADDL(out, "\",\"minimal_heartbeat\":");
	put_fstr(out, ds->mrhb);
	ADDL(out, ",\"min\":");
	put_fstr(out, ds->min);
	ADDL(out, ",\"max\":");
	put_fstr(out, ds->max);
	ADDL(out, ",\"last_ds\":");
	switch (ds->last.type) {
	case VAL_INT64:
		put_istr(out, ds->last.i);
		break;
	case VAL_FLOAT:
		put_fstr(out, ds->last.f);
		break;
	default:
		ADDL(out, "\"0.0\"");
		break;
	}
	ADDL(out, ",\"value\":");
	put_fstr(out, ds->value);
	ADDL(out, ",\"unknown_sec\":");
	put_fstr(out, ds->unknown_sec);
	ADDL(out, ",\"last_updated\":");
	put_fstr(out, ds->last_updated);
	buf_addc(out, '}');
}

static void put_row(struct buf *out, const struct rrdb *r, uint32_t rra, uint32_t i)
{
	/* [ + nds * ("number",) + ] */
	size_t need = 2 + (size_t)r->nds * (3 + NUMFMT_MAX);
	char *p0 = buf_reserve(out, need), *p = p0;
	*p++ = '[';
	for (uint32_t d = 0; d < r->nds; d++) {
		if (d)
			*p++ = ',';
		*p++ = '"';
		p += numfmt_float(p, (float)rrdb_peek(r, d, rra, i));
		*p++ = '"';
	}
	*p++ = ']';
	buf_commit(out, (size_t)(p - p0));
}

static void put_rra(struct buf *out, const struct rrdb *r, uint32_t k)
{
	const struct rrdb_rra *a = &r->rra[k];
	ADDL(out, "{\"cf\":\"");
	buf_adds(out, rrdb_cf_name(a->cf));
	ADDL(out, "\",\"pdp_per_row\":");
	put_istr(out, a->pdp_cnt);
	ADDL(out, ",\"params\":{\"xff\":");
	put_fstr(out, a->xff);
	ADDL(out, "},\"cdp_prep\":{\"ds\":[");
	for (uint32_t d = 0; d < r->nds; d++) {
		const struct rrdb_cdp *c = &r->ds[d].cdp[k];
		if (d)
			buf_addc(out, ',');
		ADDL(out, "{\"primary_value\":\"0.0\",\"secondary_value\":\"0.0\",\"value\":");
		put_fstr(out, c->value);
		ADDL(out, ",\"unknown_datapoints\":");
		put_istr(out, c->unknown_pdps);
		buf_addc(out, '}');
	}
	ADDL(out, "]},\"database\":[");
	/* rrd.ml prints an RRA without DS columns as an empty database. */
	if (r->nds > 0) {
		for (uint32_t row = 0; row < a->rows; row++) {
			if (row)
				buf_addc(out, ',');
			put_row(out, r, k, a->rows - 1 - row);
		}
	}
	ADDL(out, "]}");
}

static void put_head(struct buf *out, const struct rrdb *r)
{
	ADDL(out, "{\"version\":\"0003\",\"step\":");
	put_istr(out, r->step);
	ADDL(out, ",\"lastupdate\":");
	put_fstr(out, r->last_updated);
	ADDL(out, ",\"ds\":[");
	for (uint32_t d = 0; d < r->nds; d++) {
		if (d)
			buf_addc(out, ',');
		put_ds(out, &r->ds[d]);
	}
	ADDL(out, "],\"rra\":[");
}

void exp_rrd_json(struct buf *out, const struct rrdb *r)
{
	put_head(out, r);
	for (uint32_t k = 0; k < r->nrra; k++) {
		if (k)
			buf_addc(out, ',');
		put_rra(out, r, k);
	}
	ADDL(out, "]}");
}

int exp_rrd_json_part(struct buf *out, const struct rrdb *r, uint32_t part)
{
	if (part == 0) {
		put_head(out, r);
	} else if (part <= r->nrra) {
		if (part > 1)
			buf_addc(out, ',');
		put_rra(out, r, part - 1);
	}
	if (part >= r->nrra) {
		ADDL(out, "]}");
		return 0;
	}
	return 1;
}
