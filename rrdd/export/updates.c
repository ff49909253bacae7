/*
 * rrd_updates planning and writing (see updates.h).  The archive choice
 * follows xcp-rrdd's Rrd_updates.create_multi and Rrd.find_best_rras exactly,
 * including the strict containment test (fixtures README addendum D) and the
 * fallback to the coarsest archive.  Integer arithmetic that OCaml does in
 * wrapping int64 is done here without overflow (128-bit where a product of
 * RRD parameters could exceed 64 bits).  Pure: no I/O, no clock, no locks;
 * never modifies an RRD.
 */
#include "export/updates.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export/expnum.h"
#include "export/textesc.h"
#include "util/xalloc.h"

#define ADDL(out, lit) buf_add((out), (lit), sizeof(lit) - 1)

typedef __int128 i128;

/* rrd.ml get_times: step * (trunc(t) / step), with OCaml's truncating
 * division.  Never overflows for step > 0. */
static int64_t cdp_start(int64_t t, int64_t step)
{
	return (t / step) * step;
}

static int64_t wrap_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* find_best_rras's containment test: the archive is fine enough and its
 * span (strictly) contains t. */
static int contains(const struct rrdb *r, const struct rrdb_rra *a, i128 t, int64_t last_pdp,
                    int64_t pdp_interval)
{
	i128 span = (i128)r->step * a->rows * a->pdp_cnt;
	return (int64_t)a->pdp_cnt >= pdp_interval && t > (i128)last_pdp - span;
}

/* Rrd.find_best_rras: write the chosen RRA indices of r (array order) to out
 * (room for r->nrra) and return how many, or -ENOENT when r has no archive
 * of the requested CF. */
static int find_best_rras(const struct rrdb *r, int64_t pdp_interval, const enum cf_type *cf,
                          int64_t start, uint32_t *out)
{
	uint32_t *cand = xmalloc(sizeof(*cand) * (r->nrra ? r->nrra : 1));
	uint32_t nc = 0;
	int n = 0;

	for (uint32_t k = 0; k < r->nrra; k++)
		if (!cf || r->rra[k].cf == *cf)
			cand[nc++] = k;
	if (nc == 0) {
		free(cand);
		return -ENOENT;
	}
	int64_t last_pdp = cdp_start(exp_int64_of_float(r->last_updated), r->step);
	const struct rrdb_rra *first = NULL;
	for (uint32_t c = 0; c < nc && !first; c++)
		if (contains(r, &r->rra[cand[c]], start, last_pdp, pdp_interval))
			first = &r->rra[cand[c]];
	if (first) {
		for (uint32_t c = 0; c < nc; c++) {
			const struct rrdb_rra *a = &r->rra[cand[c]];
			if (a->rows == first->rows && a->pdp_cnt == first->pdp_cnt)
				out[n++] = cand[c];
		}
	} else {
		/* Nothing covers start: retry as if start were just inside the
		 * coarsest (last) candidate. */
		const struct rrdb_rra *a = &r->rra[cand[nc - 1]];
		i128 t = 1 + (i128)last_pdp - (i128)r->step * a->rows * a->pdp_cnt;
		for (uint32_t c = 0; c < nc; c++)
			if (contains(r, &r->rra[cand[c]], t, last_pdp, pdp_interval))
				out[n++] = cand[c];
	}
	free(cand);
	return n;
}

void exp_updates_plan_free(struct exp_updates_plan *p)
{
	free(p->cols);
	free(p->legend);
	free(p->legend_off);
	memset(p, 0, sizeof(*p));
}

const char *exp_updates_legend(const struct exp_updates_plan *p, uint32_t col)
{
	return p->legend + p->legend_off[col];
}

/* Rows behind 'end' of the newest row of DS d in an archive of row step
 * rra_step, capped at cap (a column lagging cap rows or more is all NaN). */
static uint64_t ds_lag(const struct rrdb_ds *d, int64_t end, int64_t rra_step, uint32_t cap)
{
	int64_t ds_end = cdp_start(exp_int64_of_float(d->last_updated), rra_step);
	if (ds_end >= end)
		return 0;
	i128 lag = ((i128)end - ds_end) / rra_step;
	return lag > cap ? cap : (uint64_t)lag;
}

int exp_updates_plan(struct exp_updates_plan *p, const struct exp_updates_src *srcs, size_t n,
                     int64_t start, int64_t interval, const enum cf_type *cf)
{
	memset(p, 0, sizeof(*p));
	if (n == 0)
		return -ENOENT;
	const struct rrdb *r0 = srcs[0].rrd;
	if (r0->step == 0)
		return -EINVAL; /* OCaml raises Division_by_zero here */
	int64_t step = r0->step;
	int64_t pdp_interval = interval / step;

	/* Treat negative start values as relative to each RRD's last update. */
	if (start < 0) {
		int64_t s = INT64_MAX;
		for (size_t i = 0; i < n; i++) {
			if (srcs[i].rrd->step != r0->step)
				continue;
			int64_t t = wrap_add(start, exp_int64_of_float(srcs[i].rrd->last_updated));
			if (t < s)
				s = t;
		}
		start = s;
	}

	/* chosen[i] lists the RRAs of srcs[i] (count nchosen[i], -1 = left
	 * out because of its step). */
	uint32_t **chosen = xcalloc(n, sizeof(*chosen));
	int *nchosen = xcalloc(n, sizeof(*nchosen));
	int err = 0;
	const struct rrdb_rra *first = NULL;
	for (size_t i = 0; i < n && !err; i++) {
		const struct rrdb *r = srcs[i].rrd;
		nchosen[i] = -1;
		if (r->step != r0->step)
			continue;
		chosen[i] = xmalloc(sizeof(uint32_t) * (r->nrra ? r->nrra : 1));
		nchosen[i] = find_best_rras(r, pdp_interval, cf, start, chosen[i]);
		if (nchosen[i] < 0)
			err = nchosen[i];
		else if (!first && nchosen[i] > 0)
			first = &r->rra[chosen[i][0]];
	}
	if (!err && !first)
		err = -ENOENT;
	uint64_t rra_step_u = first ? (uint64_t)r0->step * first->pdp_cnt : 0;
	if (!err && rra_step_u > INT64_MAX)
		err = -EINVAL;
	if (err)
		goto out;

	int64_t rra_step = (int64_t)rra_step_u;
	p->step = rra_step;
	p->end = cdp_start(exp_int64_of_float(r0->last_updated), rra_step);
	p->start = wrap_add(cdp_start(exp_int64_of_float((double)start), rra_step), rra_step);
	if (p->end >= start) {
		i128 rows = ((i128)p->end - start) / rra_step + 1;
		p->rows = rows > first->rows ? first->rows : (uint32_t)rows;
	}

	/* Keep only archives shaped like the first chosen one; columns are
	 * RRD x RRA x DS. */
	size_t ncols = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rrdb *r = srcs[i].rrd;
		int m = 0;
		for (int c = 0; c < nchosen[i]; c++) {
			const struct rrdb_rra *a = &r->rra[chosen[i][c]];
			if (a->pdp_cnt == first->pdp_cnt && a->rows == first->rows)
				chosen[i][m++] = chosen[i][c];
		}
		if (nchosen[i] > 0)
			nchosen[i] = m;
		if (nchosen[i] > 0)
			ncols += (size_t)nchosen[i] * r->nds;
	}
	if (ncols > UINT32_MAX - 1) {
		err = -EINVAL;
		goto out;
	}
	p->ncols = (uint32_t)ncols;
	p->cols = xcalloc(ncols ? ncols : 1, sizeof(*p->cols));
	p->legend_off = xcalloc(ncols + 1, sizeof(*p->legend_off));
	struct buf leg = BUF_INIT;
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rrdb *r = srcs[i].rrd;
		for (int c = 0; c < nchosen[i]; c++) {
			uint32_t k = chosen[i][c];
			const char *cfname = rrdb_cf_name(r->rra[k].cf);
			for (uint32_t d = 0; d < r->nds; d++, col++) {
				p->cols[col] = (struct exp_updates_col){
				    .rrd = r,
				    .ds = d,
				    .rra = k,
				    .lag = ds_lag(&r->ds[d], p->end, rra_step, r->rra[k].rows),
				};
				p->legend_off[col] = (uint32_t)leg.len;
				buf_adds(&leg, cfname);
				buf_addc(&leg, ':');
				buf_adds(&leg, srcs[i].prefix);
				buf_adds(&leg, r->ds[d].name);
				buf_add(&leg, "", 1);
			}
		}
	}
	if (leg.len > UINT32_MAX) {
		buf_free(&leg);
		err = -EINVAL;
		goto out;
	}
	p->legend_off[col] = (uint32_t)leg.len;
	buf_cstr(&leg);
	p->legend = leg.p;
out:
	for (size_t i = 0; i < n; i++)
		free(chosen[i]);
	free(chosen);
	free(nchosen);
	if (err)
		exp_updates_plan_free(p);
	return err;
}

/* Rows are written in blocks: for each column, BLOCK consecutive ring rows
 * are copied at once (sequential reads in one ring, no division per value),
 * then the block is formatted row by row. */
#define BLOCK 8

/* Copy export rows [i0, i0 + n) of column c (newest first) to out: ring row
 * i - lag, as rrdb_peek returns it (slot s of the ring of (ds, rra) is
 * rrdb_cell(rrd, ds, rra, s), its newest row at cdp[rra].head, older rows at
 * lower slots, wrapping), or NaN for rows before the column's first.
 * Needs i0 + n <= the archive's row count (true for any i < plan rows). */
static void gather(const struct exp_updates_col *c, uint32_t i0, uint32_t n, float *out)
{
	const struct rrdb_rra *a = &c->rrd->rra[c->rra];
	const struct rrdb_ds *d = &c->rrd->ds[c->ds];
	const float *ring = rrdb_cell(c->rrd, c->ds, c->rra, 0);
	size_t stride = c->rrd->cap_blk;
	uint32_t r = 0;
	for (; r < n && i0 + r < c->lag; r++)
		out[r] = NAN;
	if (r == n)
		return;
	uint32_t j = (uint32_t)(i0 + r - c->lag); /* ring row, 0 = newest; j < rows */
	uint32_t head = d->cdp[c->rra].head;
	uint32_t pos = head >= j ? head - j : head + a->rows - j;
	for (; r < n; r++) {
		out[r] = ring[pos * stride];
		pos = pos ? pos - 1 : a->rows - 1;
	}
}

static int64_t row_time(const struct exp_updates_plan *p, uint32_t i)
{
	return (int64_t)((uint64_t)p->end - (uint64_t)i * (uint64_t)p->step);
}

static uint32_t clamp_count(const struct exp_updates_plan *p, uint32_t first, uint32_t count)
{
	if (first >= p->rows)
		return 0;
	return count > p->rows - first ? p->rows - first : count;
}

static void put_legend_len(const struct exp_updates_plan *p, uint32_t c, const char **s,
                           size_t *len)
{
	*s = p->legend + p->legend_off[c];
	*len = p->legend_off[c + 1] - p->legend_off[c] - 1;
}

void exp_updates_xml_head(struct buf *out, const struct exp_updates_plan *p)
{
	ADDL(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xport><meta><start>");
	exp_put_int64(out, p->start);
	ADDL(out, "</start><step>");
	exp_put_int64(out, p->step);
	ADDL(out, "</step><end>");
	exp_put_int64(out, p->end);
	ADDL(out, "</end><rows>");
	exp_put_int64(out, p->rows);
	ADDL(out, "</rows><columns>");
	exp_put_int64(out, p->ncols);
	ADDL(out, "</columns>");
	if (p->ncols == 0) {
		ADDL(out, "<legend/>");
	} else {
		ADDL(out, "<legend>");
		for (uint32_t c = 0; c < p->ncols; c++) {
			const char *s;
			size_t len;
			put_legend_len(p, c, &s, &len);
			ADDL(out, "<entry>");
			exp_xml_text(out, s, len);
			ADDL(out, "</entry>");
		}
		ADDL(out, "</legend>");
	}
	ADDL(out, "</meta>");
	if (p->rows == 0)
		ADDL(out, "<data/>");
	else
		ADDL(out, "<data>");
}

/* One XML row: vals[c * stride] is column c's value. */
void exp_updates_xml_row(struct buf *out, const struct exp_updates_plan *p, uint32_t i,
                         const float *vals, size_t stride)
{
	/* <row><t>T</t> ... </row> plus ncols * (<v>number</v>) */
	size_t need = 32 + NUMFMT_MAX + (size_t)p->ncols * (7 + NUMFMT_MAX);
	char *p0 = buf_reserve(out, need), *q = p0;
	memcpy(q, "<row><t>", 8);
	q += 8;
	q += numfmt_int64(q, row_time(p, i));
	memcpy(q, "</t>", 4);
	q += 4;
	for (uint32_t c = 0; c < p->ncols; c++) {
		memcpy(q, "<v>", 3);
		q += 3;
		q += numfmt_float(q, vals[c * stride]);
		memcpy(q, "</v>", 4);
		q += 4;
	}
	memcpy(q, "</row>", 6);
	q += 6;
	buf_commit(out, (size_t)(q - p0));
}

/* One JSON row object, preceded by a comma unless it is row 0. */
void exp_updates_json_row(struct buf *out, const struct exp_updates_plan *p, uint32_t i,
                          const float *vals, size_t stride)
{
	/* ,{"t":"T","values":[ ... ]} plus ncols * ("number",) */
	size_t need = 32 + NUMFMT_MAX + (size_t)p->ncols * (3 + NUMFMT_MAX);
	char *p0 = buf_reserve(out, need), *q = p0;
	if (i)
		*q++ = ',';
	memcpy(q, "{\"t\":\"", 6);
	q += 6;
	q += numfmt_int64(q, row_time(p, i));
	memcpy(q, "\",\"values\":[", 12);
	q += 12;
	for (uint32_t c = 0; c < p->ncols; c++) {
		if (c)
			*q++ = ',';
		*q++ = '"';
		q += numfmt_float(q, vals[c * stride]);
		*q++ = '"';
	}
	memcpy(q, "]}", 2);
	q += 2;
	buf_commit(out, (size_t)(q - p0));
}

static void write_rows(struct buf *out, const struct exp_updates_plan *p, uint32_t first,
                       uint32_t count, int json)
{
	count = clamp_count(p, first, count);
	if (count == 0)
		return;
	uint32_t blk = count < BLOCK ? count : BLOCK;
	float *tmp = xmalloc(sizeof(float) * blk * (p->ncols ? p->ncols : 1));
	for (uint32_t b = first; b < first + count; b += blk) {
		uint32_t nb = first + count - b < blk ? first + count - b : blk;
		for (uint32_t c = 0; c < p->ncols; c++)
			gather(&p->cols[c], b, nb, tmp + (size_t)c * blk);
		for (uint32_t r = 0; r < nb; r++) {
			if (json)
				exp_updates_json_row(out, p, b + r, tmp + r, blk);
			else
				exp_updates_xml_row(out, p, b + r, tmp + r, blk);
		}
	}
	free(tmp);
}

void exp_updates_xml_rows(struct buf *out, const struct exp_updates_plan *p, uint32_t first,
                          uint32_t count)
{
	write_rows(out, p, first, count, 0);
}

void exp_updates_xml_tail(struct buf *out, const struct exp_updates_plan *p)
{
	if (p->rows == 0)
		ADDL(out, "</xport>");
	else
		ADDL(out, "</data></xport>");
}

static void put_istr(struct buf *out, int64_t v)
{
	buf_addc(out, '"');
	exp_put_int64(out, v);
	buf_addc(out, '"');
}

void exp_updates_json_head(struct buf *out, const struct exp_updates_plan *p)
{
	ADDL(out, "{\"meta\":{\"start\":");
	put_istr(out, p->start);
	ADDL(out, ",\"step\":");
	put_istr(out, p->step);
	ADDL(out, ",\"end\":");
	put_istr(out, p->end);
	ADDL(out, ",\"rows\":");
	put_istr(out, p->rows);
	ADDL(out, ",\"columns\":");
	put_istr(out, p->ncols);
	ADDL(out, ",\"legend\":[");
	for (uint32_t c = 0; c < p->ncols; c++) {
		const char *s;
		size_t len;
		put_legend_len(p, c, &s, &len);
		if (c)
			buf_addc(out, ',');
		exp_json_str(out, s, len);
	}
	ADDL(out, "]},\"data\":[");
}

void exp_updates_json_rows(struct buf *out, const struct exp_updates_plan *p, uint32_t first,
                           uint32_t count)
{
	write_rows(out, p, first, count, 1);
}

void exp_updates_json_tail(struct buf *out, const struct exp_updates_plan *p)
{
	ADDL(out, "]}");
}

void exp_updates_xml(struct buf *out, const struct exp_updates_plan *p)
{
	exp_updates_xml_head(out, p);
	exp_updates_xml_rows(out, p, 0, p->rows);
	exp_updates_xml_tail(out, p);
}

void exp_updates_json(struct buf *out, const struct exp_updates_plan *p)
{
	exp_updates_json_head(out, p);
	exp_updates_json_rows(out, p, 0, p->rows);
	exp_updates_json_tail(out, p);
}

int exp_updates(struct buf *out, const struct exp_updates_src *srcs, size_t n, int64_t start,
                int64_t interval, const enum cf_type *cf, int json)
{
	struct exp_updates_plan p;
	int err = exp_updates_plan(&p, srcs, n, start, interval, cf);
	if (err)
		return err;
	if (json)
		exp_updates_json(out, &p);
	else
		exp_updates_xml(out, &p);
	exp_updates_plan_free(&p);
	return 0;
}

void exp_updates_gather(const struct exp_updates_col *c, uint32_t i0, uint32_t n, float *out)
{
	gather(c, i0, n, out);
}
