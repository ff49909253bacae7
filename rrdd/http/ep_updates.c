/*
 * GET /rrd_updates (spec 3.4, 3.5, 4.3): the selection of RRDs from the
 * query, the export plan and a copy of the exported values made under the
 * registry's read lock, then the document formatted outside the lock
 * (head and tail by export/updates.h, rows here from the copied values, in
 * the same byte format).  Small answers go out whole with Content-Length;
 * large ones are produced row block by row block while the client reads.
 *
 * Client mistakes that xcp-rrdd answers with 500 get 400 (missing or bad
 * start/interval, a cf some selected RRD lacks) or 404 (nothing selected).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/numfmt.h"
#include "export/updates.h"
#include "http/internal.h"
#include "monitor/registry.h"
#include "util/xalloc.h"

/* Values copied per request at most (rows x columns): 32 Mi = 128 MiB. */
#define MAX_VALUES (32u << 20)
/* Answers up to this many values are formatted whole (Content-Length). */
#define WHOLE_VALUES (256u << 10)
#define ROW_BLOCK    16u

/* OCaml Int64.of_string: optional sign, decimal (or 0x/0o/0b), '_' allowed
 * between digits.  We accept the decimal forms only. */
static int parse_int64(const char *s, int64_t *out)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || errno || end == s || s[0] == ' ' || s[0] == '\t' || s[0] == '+')
		return -EINVAL;
	*out = v;
	return 0;
}

struct sel {
	struct exp_updates_src *src;
	char **prefix;
	size_t n, cap;
};

static void sel_add(struct sel *s, const char *prefix, const struct rrdb *r)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->src = xrealloc(s->src, sizeof(*s->src) * s->cap);
		s->prefix = xrealloc(s->prefix, sizeof(*s->prefix) * s->cap);
	}
	size_t len = strlen(prefix);
	char *p = xmalloc(len + 1);
	memcpy(p, prefix, len + 1);
	s->prefix[s->n] = p;
	s->src[s->n].prefix = p;
	s->src[s->n].rrd = r;
	s->n++;
}

static void sel_free(struct sel *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->prefix[i]);
	free(s->prefix);
	free(s->src);
	memset(s, 0, sizeof(*s));
}

struct add_all_ctx {
	struct sel *s;
	const char *kind;
};

static int add_all(const char *uuid, const struct rrdb *r, void *vctx)
{
	struct add_all_ctx *a = vctx;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%s:%s:", a->kind, uuid);
	sel_add(a->s, prefix, r);
	return 0;
}

/* Whether key=val appears among the query values of key before index i. */
static bool seen_before(const struct http_req *req, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(req->query[j].k, req->query[i].k) &&
		    !strcmp(req->query[j].v, req->query[i].v))
			return true;
	return false;
}

/* VMs or SRs: the listed uuids in query order (each once), "all" for every
 * RRD of the kind (uuid order), "none" for none; absent: every VM, no SR. */
static void select_kind(struct http_ctx *c, const struct http_req *req, const char *key,
                        enum mon_owner_kind kind, const char *kname, bool dflt_all, struct sel *s)
{
	bool any = false, all = false;
	for (size_t i = 0; i < req->nquery; i++)
		if (!strcmp(req->query[i].k, key)) {
			any = true;
			if (!strcmp(req->query[i].v, "all"))
				all = true;
		}
	if (!any)
		all = dflt_all;
	if (all) {
		struct add_all_ctx a = {s, kname};
		mon_foreach_locked(c->reg, kind, add_all, &a);
		return;
	}
	for (size_t i = 0; i < req->nquery; i++) {
		if (strcmp(req->query[i].k, key) || seen_before(req, i))
			continue;
		const char *u = req->query[i].v;
		if (!strcmp(u, "none"))
			continue;
		const struct rrdb *r = mon_get_locked(c->reg, kind, u);
		if (r) {
			char prefix[128];
			snprintf(prefix, sizeof(prefix), "%s:%.64s:", kname, u);
			sel_add(s, prefix, r);
		}
	}
}

/* The values of the export, copied under the lock: vals[i * ncols + c]. */
struct updates_doc {
	struct http_gen gen;
	struct exp_updates_plan plan; /* cols must not be used after the lock */
	float *vals;
	bool json;
	uint32_t next_row;
	int stage; /* 0 head, 1 rows, 2 tail, 3 done */
};

static int64_t row_time(const struct exp_updates_plan *p, uint32_t i)
{
	return (int64_t)((uint64_t)p->end - (uint64_t)i * (uint64_t)p->step);
}

static void write_rows(struct buf *out, const struct updates_doc *d, uint32_t first, uint32_t count)
{
	const struct exp_updates_plan *p = &d->plan;
	for (uint32_t i = first; i < first + count && i < p->rows; i++) {
		const float *v = d->vals + (size_t)i * p->ncols;
		size_t need = 48 + NUMFMT_MAX + (size_t)p->ncols * (8 + NUMFMT_MAX);
		char *p0 = buf_reserve(out, need), *q = p0;
		if (d->json) {
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
				q += numfmt_float(q, v[c]);
				*q++ = '"';
			}
			memcpy(q, "]}", 2);
			q += 2;
		} else {
			memcpy(q, "<row><t>", 8);
			q += 8;
			q += numfmt_int64(q, row_time(p, i));
			memcpy(q, "</t>", 4);
			q += 4;
			for (uint32_t c = 0; c < p->ncols; c++) {
				memcpy(q, "<v>", 3);
				q += 3;
				q += numfmt_float(q, v[c]);
				memcpy(q, "</v>", 4);
				q += 4;
			}
			memcpy(q, "</row>", 6);
			q += 6;
		}
		buf_commit(out, (size_t)(q - p0));
	}
}

static int doc_next(struct http_gen *g, struct buf *out)
{
	struct updates_doc *d = (struct updates_doc *)g;
	switch (d->stage) {
	case 0:
		if (d->json)
			exp_updates_json_head(out, &d->plan);
		else
			exp_updates_xml_head(out, &d->plan);
		d->stage = 1;
		return 1;
	case 1:
		if (d->next_row < d->plan.rows) {
			write_rows(out, d, d->next_row, ROW_BLOCK);
			d->next_row += ROW_BLOCK;
			return 1;
		}
		d->stage = 2;
		/* fall through */
	case 2:
		if (d->json)
			exp_updates_json_tail(out, &d->plan);
		else
			exp_updates_xml_tail(out, &d->plan);
		d->stage = 3;
		return 1;
	default:
		return 0;
	}
}

static void doc_free(struct http_gen *g)
{
	struct updates_doc *d = (struct updates_doc *)g;
	exp_updates_plan_free(&d->plan);
	free(d->vals);
	free(d);
}

static const char *cf_arg(const char *s, enum cf_type *cf)
{
	if (!s)
		return NULL;
	static const char *const names[] = {"AVERAGE", "MIN", "MAX", "LAST"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*cf = (enum cf_type)i;
			return names[i];
		}
	return NULL; /* xcp-rrdd: an unparseable cf means every CF */
}

void ep_updates(struct http_ctx *c, const struct http_req *req, struct http_resp *resp)
{
	int64_t start, interval = 0;
	const char *s = http_q(req, "start");
	if (!s) {
		http_resp_error(resp, 400, "rrd_updates: the start parameter is required");
		return;
	}
	if (parse_int64(s, &start)) {
		http_resp_error(resp, 400, "rrd_updates: start '%.64s' is not an integer", s);
		return;
	}
	const char *iv = http_q(req, "interval");
	if (iv && parse_int64(iv, &interval)) {
		http_resp_error(resp, 400, "rrd_updates: interval '%.64s' is not an integer", iv);
		return;
	}
	enum cf_type cfv = CF_AVERAGE;
	const char *cfname = cf_arg(http_q(req, "cf"), &cfv);
	const char *host = http_q(req, "host");
	bool want_host = host && !strcmp(host, "true");
	bool json = http_prefers_json(req->accept, http_q_has(req, "json"));

	struct sel sel = {0};
	struct updates_doc *d = xcalloc(1, sizeof(*d));
	d->json = json;
	d->gen.next = doc_next;
	d->gen.free = doc_free;
	int rc;
	uint64_t nvals = 0;
	mon_rdlock(c->reg);
	if (want_host) {
		const struct rrdb *h = mon_get_locked(c->reg, MON_HOST, NULL);
		if (h) {
			char prefix[128];
			snprintf(prefix, sizeof(prefix), "host:%s:", c->host_uuid);
			sel_add(&sel, prefix, h);
		}
	}
	select_kind(c, req, "vm_uuid", MON_VM, "vm", true, &sel);
	select_kind(c, req, "sr_uuid", MON_SR, "sr", false, &sel);
	rc = sel.n
	         ? exp_updates_plan(&d->plan, sel.src, sel.n, start, interval, cfname ? &cfv : NULL)
	         : -ENOENT;
	if (rc == 0) {
		nvals = (uint64_t)d->plan.rows * d->plan.ncols;
		if (nvals > MAX_VALUES) {
			rc = -E2BIG;
		} else {
			const struct exp_updates_plan *p = &d->plan;
			d->vals = xmalloc(sizeof(float) * (nvals ? nvals : 1));
			for (uint32_t col = 0; col < p->ncols; col++) {
				const struct exp_updates_col *cl = &p->cols[col];
				for (uint32_t i = 0; i < p->rows; i++)
					d->vals[(size_t)i * p->ncols + col] =
					    i < cl->lag ? NAN
					                : (float)rrdb_peek(cl->rrd, cl->ds, cl->rra,
					                                   (uint32_t)(i - cl->lag));
			}
		}
	}
	mon_unlock(c->reg);
	size_t nsel = sel.n;
	sel_free(&sel);
	/* d->plan.cols point into the registry: not used from here on. */
	if (rc) {
		doc_free(&d->gen);
		if (rc == -E2BIG)
			http_resp_error(resp, 400,
			                "rrd_updates: %llu values requested, more than %u: use a "
			                "later start or a larger interval",
			                (unsigned long long)nvals, MAX_VALUES);
		else if (nsel == 0)
			http_resp_error(resp, 404, "rrd_updates: no RRD matches the query");
		else if (rc == -ENOENT)
			http_resp_error(resp, 400,
			                "rrd_updates: No_RRA_Available: a selected RRD has no "
			                "archive%s%s for this query",
			                cfname ? " with cf=" : "", cfname ? cfname : "");
		else
			http_resp_error(resp, 400, "rrd_updates: invalid archive layout");
		return;
	}
	resp->status = 200;
	resp->ctype = json ? "application/json" : "text/xml";
	resp->cors = resp->cors_headers = true;
	resp->no_cache = true;
	if (nvals <= WHOLE_VALUES) {
		resp->framing = HF_LENGTH;
		while (doc_next(&d->gen, &resp->body))
			;
		doc_free(&d->gen);
	} else {
		resp->framing = HF_CLOSE;
		resp->gen = &d->gen;
	}
}
