/*
 * Full RRD XML serialiser (see rrd_xml.h).  Reproduces Xmlm's output of
 * rrd.ml's element tree: one line, no whitespace, empty elements written as
 * <x/>.  Pure: no I/O, never modifies the RRD, uses numfmt for every number.
 */
#include "export/rrd_xml.h"

#include <string.h>

#include "export/expnum.h"
#include "export/textesc.h"

#define ADDL(out, lit) buf_add((out), (lit), sizeof(lit) - 1)

static void put_dsval(struct buf *out, const struct dsval *v)
{
	switch (v->type) {
	case VAL_INT64:
		exp_put_int64(out, v->i);
		break;
	case VAL_FLOAT:
		exp_put_double(out, v->f);
		break;
	default:
		ADDL(out, "0.0");
		break;
	}
}

static void put_ds(struct buf *out, const struct rrdb_ds *ds, int internal)
{
	ADDL(out, "<ds><name>");
	exp_xml_text(out, ds->name, strlen(ds->name));
	ADDL(out, "</name><type>");
	buf_adds(out, rrdb_type_name(ds->type));
	ADDL(out, "</type><minimal_heartbeat>");
	exp_put_double(out, ds->mrhb);
	ADDL(out, "</minimal_heartbeat><min>");
	exp_put_double(out, ds->min);
	ADDL(out, "</min><max>");
	exp_put_double(out, ds->max);
	ADDL(out, "</max><last_ds>");
	put_dsval(out, &ds->last);
	ADDL(out, "</last_ds><value>");
	exp_put_double(out, ds->value);
	ADDL(out, "</value><unknown_sec>");
	exp_put_int64(out, exp_int_of_float(ds->unknown_sec));
	ADDL(out, "</unknown_sec>");
	if (internal) {
		ADDL(out, "<last_updated>");
		exp_put_double(out, ds->last_updated);
		ADDL(out, "</last_updated>");
	}
	ADDL(out, "</ds>");
}

static void put_cdp(struct buf *out, const struct rrdb_cdp *c)
{
	ADDL(out, "<ds><primary_value>0.0</primary_value><secondary_value>0.0</secondary_value>"
	          "<value>");
	exp_put_double(out, c->value);
	ADDL(out, "</value><unknown_datapoints>");
	exp_put_int64(out, c->unknown_pdps);
	ADDL(out, "</unknown_datapoints></ds>");
}

/* One <row>: the value of every DS at ring index i (0 = newest). */
static void put_row(struct buf *out, const struct rrdb *r, uint32_t rra, uint32_t i)
{
	/* <row> + nds * (<v> + number + </v>) + </row> */
	size_t need = 11 + (size_t)r->nds * (7 + NUMFMT_MAX);
	char *p0 = buf_reserve(out, need), *p = p0;
	memcpy(p, "<row>", 5);
	p += 5;
	for (uint32_t d = 0; d < r->nds; d++) {
		memcpy(p, "<v>", 3);
		p += 3;
		p += numfmt_float(p, (float)rrdb_peek(r, d, rra, i));
		memcpy(p, "</v>", 4);
		p += 4;
	}
	memcpy(p, "</row>", 6);
	p += 6;
	buf_commit(out, (size_t)(p - p0));
}

/* Where the text goes: out, handed to emit whenever it holds at least
 * piece bytes (emit NULL: everything stays in out). */
struct sink {
	struct buf *out;
	size_t piece;
	void (*emit)(void *ctx, const char *p, size_t n);
	void *ctx;
};

static void sink_check(struct sink *s)
{
	if (s->emit && s->out->len >= s->piece) {
		s->emit(s->ctx, s->out->p, s->out->len);
		buf_reset(s->out);
	}
}

static void put_rra(struct sink *s, const struct rrdb *r, uint32_t k)
{
	struct buf *out = s->out;
	const struct rrdb_rra *a = &r->rra[k];
	ADDL(out, "<rra><cf>");
	buf_adds(out, rrdb_cf_name(a->cf));
	ADDL(out, "</cf><pdp_per_row>");
	exp_put_int64(out, a->pdp_cnt);
	ADDL(out, "</pdp_per_row><params><xff>");
	exp_put_double(out, a->xff);
	ADDL(out, "</xff></params>");
	if (r->nds == 0) {
		/* Xmlm writes childless elements as <x/>. */
		ADDL(out, "<cdp_prep/><database/></rra>");
		return;
	}
	ADDL(out, "<cdp_prep>");
	for (uint32_t d = 0; d < r->nds; d++) {
		put_cdp(out, &r->ds[d].cdp[k]);
		sink_check(s);
	}
	ADDL(out, "</cdp_prep><database>");
	for (uint32_t row = 0; row < a->rows; row++) {
		put_row(out, r, k, a->rows - 1 - row);
		sink_check(s);
	}
	ADDL(out, "</database></rra>");
}

static void put_head(struct sink *s, const struct rrdb *r, int internal)
{
	struct buf *out = s->out;
	ADDL(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rrd><version>0003</version><step>");
	exp_put_int64(out, r->step);
	ADDL(out, "</step><lastupdate>");
	exp_put_int64(out, exp_int64_of_float(r->last_updated));
	ADDL(out, "</lastupdate>");
	for (uint32_t d = 0; d < r->nds; d++) {
		put_ds(out, &r->ds[d], internal);
		sink_check(s);
	}
}

static void put_rrd(struct sink *s, const struct rrdb *r, int internal)
{
	put_head(s, r, internal);
	for (uint32_t k = 0; k < r->nrra; k++)
		put_rra(s, r, k);
	ADDL(s->out, "</rrd>");
}

int exp_rrd_xml_part(struct buf *out, const struct rrdb *r, int internal, uint32_t part)
{
	struct sink s = {out, 0, NULL, NULL};
	if (part == 0)
		put_head(&s, r, internal);
	else if (part <= r->nrra)
		put_rra(&s, r, part - 1);
	if (part >= r->nrra) {
		ADDL(out, "</rrd>");
		return 0;
	}
	return 1;
}

void exp_rrd_xml(struct buf *out, const struct rrdb *r, int internal)
{
	struct sink s = {out, 0, NULL, NULL};
	put_rrd(&s, r, internal);
}

void exp_rrd_xml_pieces(const struct rrdb *r, int internal, size_t piece,
                        void (*emit)(void *ctx, const char *p, size_t n), void *ctx)
{
	struct buf b = BUF_INIT;
	struct sink s = {&b, piece, emit, ctx};
	put_rrd(&s, r, internal);
	if (b.len)
		emit(ctx, b.p, b.len);
	buf_free(&b);
}
