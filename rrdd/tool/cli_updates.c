/*
 * rrd_updates fetching and parsing for rrdd-tool (cli_updates.h).  The
 * answer comes from a daemon but is still checked like any input: every
 * field is type-checked, every row must have one value per legend entry,
 * numbers must parse completely.  No printing.
 */
#include "tool/cli_updates.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/json_parse.h"
#include "util/xalloc.h"

int cli_legend_parse(const char *text, struct cli_legend *l)
{
	memset(l, 0, sizeof(*l));
	const char *c1 = strchr(text, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	const char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
	if (!c3)
		return -EINVAL;
	size_t n = strlen(text);
	l->text = xstrdup(text);
	l->block = xmalloc(n + 1);
	memcpy(l->block, text, n + 1);
	l->cf = l->block;
	l->owner = l->block + (c1 - text) + 1;
	l->uuid = l->block + (c2 - text) + 1;
	l->name = l->block + (c3 - text) + 1;
	l->block[c1 - text] = 0;
	l->block[c2 - text] = 0;
	l->block[c3 - text] = 0;
	return 0;
}

void cli_legend_free(struct cli_legend *l)
{
	free(l->text);
	free(l->block);
	memset(l, 0, sizeof(*l));
}

void cli_xport_free(struct cli_xport *x)
{
	for (size_t i = 0; i < x->ncols && x->legend; i++)
		cli_legend_free(&x->legend[i]);
	free(x->legend);
	free(x->t);
	free(x->v);
	memset(x, 0, sizeof(*x));
}

/* A number written as a JSON number or as a string ("NaN", "Infinity",
 * "1.5", as xcp-rrdd writes them). */
static int num_of(const struct jp_doc *d, const struct jp_node *n, double *out)
{
	if (n->type == JP_NUMBER) {
		*out = n->num;
		return 0;
	}
	if (n->type != JP_STRING || n->len == 0)
		return -EINVAL;
	const char *s = jp_str(d, n);
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || (size_t)(end - s) != n->len)
		return -EINVAL;
	*out = v;
	return 0;
}

static int int_of(const struct jp_doc *d, const struct jp_node *n, long long *out)
{
	double v;
	if (num_of(d, n, &v) || v != v || v < -9.2e18 || v > 9.2e18 || v != (double)(long long)v)
		return -EINVAL;
	*out = (long long)v;
	return 0;
}

int cli_xport_parse(const char *text, size_t len, struct cli_xport *x, char *err, size_t errlen)
{
	memset(x, 0, sizeof(*x));
	struct jp_doc *d = NULL;
	char perr[200];
	if (jp_parse(text, len, NULL, &d, perr, sizeof(perr))) {
		snprintf(err, errlen, "rrd_updates answer is not JSON: %s", perr);
		return -EPROTO;
	}
	const char *what = NULL;
	const struct jp_node *root = jp_root(d);
	const struct jp_node *meta = jp_get(d, root, "meta");
	const struct jp_node *data = jp_get(d, root, "data");
	const struct jp_node *legend = meta ? jp_get(d, meta, "legend") : NULL;
	if (!meta || meta->type != JP_OBJECT || !data || data->type != JP_ARRAY || !legend ||
	    legend->type != JP_ARRAY) {
		what = "no meta, legend or data";
		goto bad;
	}
	const struct jp_node *f;
	if (!(f = jp_get(d, meta, "start")) || int_of(d, f, &x->start) ||
	    !(f = jp_get(d, meta, "step")) || int_of(d, f, &x->step) ||
	    !(f = jp_get(d, meta, "end")) || int_of(d, f, &x->end)) {
		what = "bad start, step or end";
		goto bad;
	}
	x->legend = xcalloc(legend->len ? legend->len : 1, sizeof(*x->legend));
	struct jp_iter it;
	const struct jp_node *v;
	jp_iter_init(&it, d, legend);
	while (jp_next_item(&it, &v)) {
		if (v->type != JP_STRING || strlen(jp_str(d, v)) != v->len ||
		    cli_legend_parse(jp_str(d, v), &x->legend[x->ncols])) {
			what = "a legend entry is not CF:OWNER:UUID:NAME";
			goto bad;
		}
		x->ncols++;
	}
	x->t = xcalloc(data->len ? data->len : 1, sizeof(*x->t));
	x->v = xcalloc(data->len && x->ncols ? (size_t)data->len * x->ncols : 1, sizeof(*x->v));
	jp_iter_init(&it, d, data);
	while (jp_next_item(&it, &v)) {
		const struct jp_node *t = jp_get(d, v, "t");
		const struct jp_node *vals = jp_get(d, v, "values");
		if (!t || int_of(d, t, &x->t[x->nrows]) || !vals || vals->type != JP_ARRAY ||
		    vals->len != x->ncols) {
			what = "a row without t or with the wrong number of values";
			goto bad;
		}
		struct jp_iter it2;
		const struct jp_node *cell;
		size_t col = 0;
		jp_iter_init(&it2, d, vals);
		while (jp_next_item(&it2, &cell)) {
			if (num_of(d, cell, &x->v[x->nrows * x->ncols + col])) {
				what = "a value is not a number";
				goto bad;
			}
			col++;
		}
		x->nrows++;
	}
	jp_free(d);
	return 0;
bad:
	snprintf(err, errlen, "malformed rrd_updates answer: %s", what);
	jp_free(d);
	cli_xport_free(x);
	return -EPROTO;
}

/* Append a query parameter value (uuids and CF names need no escaping, but
 * anything else is percent-encoded). */
static void add_param(struct buf *b, const char *k, const char *v)
{
	buf_printf(b, "&%s=", k);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '_' || *p == '.')
			buf_addc(b, (char)*p);
		else
			buf_printf(b, "%%%02X", *p);
	}
}

int cli_updates_fetch(const struct cli_conn *c, const struct cli_updates_query *q,
                      struct cli_xport *x, char *err, size_t errlen)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "/rrd_updates?start=%lld", q->start);
	if (q->interval)
		buf_printf(&path, "&interval=%lld", q->interval);
	if (q->cf)
		add_param(&path, "cf", q->cf);
	if (q->host)
		buf_adds(&path, "&host=true");
	if (q->vm_uuid)
		add_param(&path, "vm_uuid", q->vm_uuid);
	if (q->sr_uuid)
		add_param(&path, "sr_uuid", q->sr_uuid);
	buf_adds(&path, "&json=true");
	struct cli_http_resp resp;
	int rc = cli_http(c, "GET", buf_cstr(&path), "application/json", NULL, 0, NULL, &resp, err,
	                  errlen);
	buf_free(&path);
	if (rc)
		return rc;
	if (resp.status != 200) {
		snprintf(err, errlen, "rrd_updates: rrdd answered HTTP %d%s", resp.status,
		         resp.status == 500 ? " (no RRD yet, or no archive answers the query)"
		                            : "");
		buf_free(&resp.body);
		return -EPROTO;
	}
	rc = cli_xport_parse(resp.body.p ? resp.body.p : "", resp.body.len, x, err, errlen);
	buf_free(&resp.body);
	return rc;
}
