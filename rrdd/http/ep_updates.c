/*
 * GET /rrd_updates (wire-format.md §3.4, 3.5, 4.3): the selection of RRDs from the
 * query, the export plan and a copy of the exported values (block reads of
 * the chosen ring rows into a compact float matrix) made under the
 * registry's read lock, then the document formatted outside the lock
 * (head and tail by export/updates.h, rows here from the copied values, in
 * the same byte format).
 *
 * Rendered bodies are shared: identical requests within one registry
 * generation (nothing written since) get the same bytes, so the answer is
 * cached (body_cache.c) under the normalized query and again under the
 * resolved window (start resolved against the data's last update, as the
 * planner does, so "start=-10" and an absolute start landing on the same
 * rows share one body), and concurrent identical requests wait for one
 * render.  Answers go out whole with Content-Length (as xcp-rrdd sends
 * them), except huge ones, which are produced row block by row block while
 * the client reads, from the copy.
 *
 * Client mistakes that xcp-rrdd answers with 500 get 400 (missing or bad
 * start/interval, a cf some selected RRD lacks) or 404 (nothing selected).
 * Never formats under the lock; never holds the lock while waiting.
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
#include "util/buf.h"
#include "util/xalloc.h"

/* Values copied per request at most (rows x columns): 32 Mi = 128 MiB. */
#define MAX_VALUES (32u << 20)
/* Answers up to this many values are formatted whole (Content-Length) and
 * cached; larger ones are streamed. */
#define WHOLE_VALUES (6u << 20)
/* Rows per block of the copied matrix (and per streamed piece). */
#define ROW_BLOCK 8u

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

/* The values of the export, copied under the lock: in blocks of ROW_BLOCK
 * rows, each block column by column (so the copy writes and reads
 * sequentially), value (row i, column c) at blk_base(i) + c * ROW_BLOCK +
 * i % ROW_BLOCK. */
struct updates_doc {
	struct http_gen gen;
	struct exp_updates_plan plan; /* cols must not be used after the lock */
	float *vals;
	size_t vals_bytes; /* counted in http_live_bytes */
	bool json;
	uint32_t next_row;
	int stage; /* 0 head, 1 rows, 2 tail, 3 done */
};

static size_t blk_base(const struct exp_updates_plan *p, uint32_t i)
{
	return (size_t)(i / ROW_BLOCK) * ROW_BLOCK * p->ncols;
}

/* Lock held: copy every value of the plan into d->vals. */
static void copy_values(struct updates_doc *d)
{
	const struct exp_updates_plan *p = &d->plan;
	/* the last block is padded to ROW_BLOCK rows */
	size_t cap = (size_t)((p->rows + ROW_BLOCK - 1) / ROW_BLOCK) * ROW_BLOCK * p->ncols;
	d->vals = xmalloc(sizeof(float) * (cap ? cap : 1));
	for (uint32_t b = 0; b < p->rows; b += ROW_BLOCK) {
		uint32_t nb = p->rows - b < ROW_BLOCK ? p->rows - b : ROW_BLOCK;
		float *m = d->vals + blk_base(p, b);
		for (uint32_t c = 0; c < p->ncols; c++)
			exp_updates_gather(&p->cols[c], b, nb, m + (size_t)c * ROW_BLOCK);
	}
}

/* Count the copy a streamed answer keeps (its values and legend) in the
 * live answers' bound: false when it does not fit. */
static bool reserve_copy(struct updates_doc *d)
{
	const struct exp_updates_plan *p = &d->plan;
	size_t cap = (size_t)((p->rows + ROW_BLOCK - 1) / ROW_BLOCK) * ROW_BLOCK * p->ncols;
	size_t n = sizeof(float) * (cap ? cap : 1) + (size_t)p->legend_off[p->ncols] +
	           (size_t)p->ncols * 16;
	if (!http_live_reserve(n))
		return false;
	d->vals_bytes = n;
	return true;
}

static void write_rows(struct buf *out, const struct updates_doc *d, uint32_t first, uint32_t count)
{
	const struct exp_updates_plan *p = &d->plan;
	for (uint32_t i = first; i < first + count && i < p->rows; i++) {
		const float *v = d->vals + blk_base(p, i) + i % ROW_BLOCK;
		if (d->json)
			exp_updates_json_row(out, p, i, v, ROW_BLOCK);
		else
			exp_updates_xml_row(out, p, i, v, ROW_BLOCK);
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
	http_live_sub(d->vals_bytes);
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

/* The parsed query. */
struct uquery {
	int64_t start, interval;
	enum cf_type cfv;
	const char *cfname; /* NULL: every CF */
	bool want_host, json;
};

/* A length-prefixed string, so that no uuid can forge another key. */
static void key_str(struct buf *k, const char *s)
{
	buf_printf(k, "%zu:", strlen(s));
	buf_adds(k, s);
}

/* The selection of one kind as select_kind makes it: '*' for every RRD of
 * the kind, else the listed uuids (each once, "none" left out). */
static void key_kind(struct buf *k, const struct http_req *req, const char *key, bool dflt_all)
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
	buf_adds(k, key);
	if (all) {
		buf_adds(k, "=*");
		return;
	}
	buf_addc(k, '=');
	for (size_t i = 0; i < req->nquery; i++) {
		if (strcmp(req->query[i].k, key) || seen_before(req, i) ||
		    !strcmp(req->query[i].v, "none"))
			continue;
		key_str(k, req->query[i].v);
	}
}

/* Everything but the start that decides the answer. */
static void key_base(struct buf *k, const struct http_req *req, const struct uquery *q)
{
	buf_printf(k, "%c%c|i=%lld|cf=%s|", q->json ? 'J' : 'X', q->want_host ? 'H' : '-',
	           (long long)q->interval, q->cfname ? q->cfname : "*");
	key_kind(k, req, "vm_uuid", true);
	buf_addc(k, '|');
	key_kind(k, req, "sr_uuid", false);
}

/* The resolved window and archive choice of a plan: with the same base key
 * in the same generation, equal resolved keys mean equal documents. */
static void key_resolved(struct buf *k, const char *base, const struct exp_updates_plan *p)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a over the archive of every column */
	for (uint32_t c = 0; c < p->ncols; c++) {
		h ^= p->cols[c].rra;
		h *= 0x100000001b3ULL;
	}
	buf_adds(k, base);
	buf_printf(k, "|S=%lld|E=%lld|T=%lld|R=%u|C=%u|A=%016llx", (long long)p->start,
	           (long long)p->end, (long long)p->step, p->rows, p->ncols, (unsigned long long)h);
}

static void ok_headers(struct http_resp *resp, bool json)
{
	resp->status = 200;
	resp->ctype = json ? "application/json" : "text/xml";
	resp->cors = resp->cors_headers = true;
	resp->no_cache = true;
}

static void serve_blob(struct http_resp *resp, bool json, struct http_blob *b)
{
	ok_headers(resp, json);
	resp->framing = HF_LENGTH;
	resp->blob = b;
}

/* Lock held: selection and plan into d.  0, or a negative errno with
 * *nsel and *nvals set for the message. */
static int plan_locked(struct http_ctx *c, const struct http_req *req, const struct uquery *q,
                       struct updates_doc *d, size_t *nsel, uint64_t *nvals)
{
	struct sel sel = {0};
	if (q->want_host) {
		const struct rrdb *h = mon_get_locked(c->reg, MON_HOST, NULL);
		if (h) {
			char prefix[128];
			snprintf(prefix, sizeof(prefix), "host:%s:", c->host_uuid);
			sel_add(&sel, prefix, h);
		}
	}
	select_kind(c, req, "vm_uuid", MON_VM, "vm", true, &sel);
	select_kind(c, req, "sr_uuid", MON_SR, "sr", false, &sel);
	int rc = sel.n ? exp_updates_plan(&d->plan, sel.src, sel.n, q->start, q->interval,
	                                  q->cfname ? &q->cfv : NULL)
	               : -ENOENT;
	*nsel = sel.n;
	sel_free(&sel);
	if (rc == 0) {
		*nvals = (uint64_t)d->plan.rows * d->plan.ncols;
		if (*nvals > MAX_VALUES)
			rc = -E2BIG;
	}
	return rc;
}

static void plan_error(struct http_resp *resp, int rc, size_t nsel, uint64_t nvals,
                       const struct uquery *q)
{
	if (rc == -E2BIG)
		http_resp_error(resp, 500,
		                "rrd_updates: %llu values requested, more than %u: use a "
		                "later start or a larger interval",
		                (unsigned long long)nvals, MAX_VALUES);
	else if (nsel == 0)
		http_resp_error(resp, 500, "rrd_updates: no RRD matches the query");
	else if (rc == -ENOENT)
		http_resp_error(resp, 500,
		                "rrd_updates: No_RRA_Available: a selected RRD has no "
		                "archive%s%s for this query",
		                q->cfname ? " with cf=" : "", q->cfname ? q->cfname : "");
	else
		http_resp_error(resp, 500, "rrd_updates: invalid archive layout");
}

/* Serve key at the generation of the last completed write if it is cached
 * or in flight: true when resp is set.  Called without the lock. */
static bool try_cached(struct http_ctx *c, const char *key, bool json, struct http_resp *resp)
{
	/* no lock: a tick in progress does not hold up answers already rendered */
	struct ucache_slot *s = ucache_find(c->ucache, key, mon_generation(c->reg));
	if (!s)
		return false;
	struct http_blob *b = ucache_wait(c->ucache, s);
	if (!b)
		return false;
	serve_blob(resp, json, b);
	return true;
}

/* Render the answer (caching it when use_cache).  Holds a render permit
 * throughout. */
static void render(struct http_ctx *c, const struct http_req *req, const struct uquery *q,
                   const char *key0, const char *kbase, bool use_cache, struct http_resp *resp)
{
	struct updates_doc *d = xcalloc(1, sizeof(*d));
	d->json = q->json;
	d->gen.next = doc_next;
	d->gen.free = doc_free;
	size_t nsel = 0;
	uint64_t nvals = 0;
	struct ucache_slot *slot = NULL;
	struct http_blob *b;
	bool mine = false;

	ucache_render_begin(c->ucache);
	mon_rdlock(c->reg);
	uint64_t gen = mon_generation(c->reg);
	if (use_cache) {
		/* rendered while this request waited for its permit? */
		slot = ucache_find(c->ucache, key0, gen);
		if (slot)
			goto wait;
	}
	int rc = plan_locked(c, req, q, d, &nsel, &nvals);
	if (rc) {
		mon_unlock(c->reg);
		ucache_render_end(c->ucache);
		doc_free(&d->gen);
		plan_error(resp, rc, nsel, nvals, q);
		return;
	}
	bool whole = nvals <= WHOLE_VALUES;
	if (!whole && !reserve_copy(d)) {
		mon_unlock(c->reg);
		ucache_render_end(c->ucache);
		doc_free(&d->gen);
		http_resp_error(
		    resp, 503,
		    "rrd_updates: too many large answers are being sent; try again later");
		return;
	}
	if (use_cache && whole) {
		struct buf k1 = BUF_INIT;
		key_resolved(&k1, kbase, &d->plan);
		slot = ucache_claim(c->ucache, buf_cstr(&k1), gen, &mine);
		buf_free(&k1);
		ucache_alias(c->ucache, key0, gen, slot);
		if (!mine)
			goto wait;
	}
	copy_values(d);
	mon_unlock(c->reg);
	/* d->plan.cols point into the registry: not used from here on. */
	if (!whole) {
		ucache_render_end(c->ucache);
		ok_headers(resp, q->json);
		resp->framing = HF_CLOSE;
		resp->gen = &d->gen;
		return;
	}
	struct buf out = BUF_INIT;
	/* one allocation in the common case: legend text plus quoting, and
	 * rows of short numbers (a longer body still grows as needed) */
	const struct exp_updates_plan *p = &d->plan;
	buf_reserve(&out, 256 + (size_t)p->legend_off[p->ncols] + (size_t)p->ncols * 16 +
	                      (size_t)p->rows * (64 + (size_t)p->ncols * 12) +
	                      /* the row writer reserves for its worst case */
	                      (size_t)p->ncols * (8 + NUMFMT_MAX));
	while (doc_next(&d->gen, &out))
		;
	doc_free(&d->gen);
	b = http_blob_take(&out);
	if (slot)
		ucache_publish(c->ucache, slot, http_blob_ref(b));
	ucache_render_end(c->ucache);
	serve_blob(resp, q->json, b);
	return;

wait:
	mon_unlock(c->reg);
	ucache_render_end(c->ucache);
	doc_free(&d->gen);
	b = ucache_wait(c->ucache, slot);
	if (b) {
		serve_blob(resp, q->json, b);
		return;
	}
	/* the render found an error: produce it (or the answer) ourselves */
	render(c, req, q, key0, kbase, false, resp);
}

void ep_updates(struct http_ctx *c, const struct http_req *req, struct http_resp *resp)
{
	struct uquery q = {.cfv = CF_AVERAGE};
	const char *s = http_q(req, "start");
	if (!s) {
		http_resp_error(resp, 500, "rrd_updates: the start parameter is required");
		return;
	}
	if (parse_int64(s, &q.start)) {
		http_resp_error(resp, 500, "rrd_updates: start '%.64s' is not an integer", s);
		return;
	}
	const char *iv = http_q(req, "interval");
	if (iv && parse_int64(iv, &q.interval))
		q.interval = 0; /* as xcp-rrdd: an interval that is not a number is none */
	q.cfname = cf_arg(http_q(req, "cf"), &q.cfv);
	const char *host = http_q(req, "host");
	q.want_host = host && !strcmp(host, "true");
	q.json = http_prefers_json(req->accept, http_q_has(req, "json"));

	struct buf kb = BUF_INIT, k0 = BUF_INIT;
	key_base(&kb, req, &q);
	buf_adds(&k0, buf_cstr(&kb));
	buf_printf(&k0, "|s=%lld", (long long)q.start);
	if (!try_cached(c, buf_cstr(&k0), q.json, resp))
		render(c, req, &q, buf_cstr(&k0), buf_cstr(&kb), true, resp);
	buf_free(&kb);
	buf_free(&k0);
}
