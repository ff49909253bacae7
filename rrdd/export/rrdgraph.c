/*
 * Graphs through librrd (see rrdgraph.h): parameter parsing with one-line
 * reasons, DS selection by fnmatch patterns, and rrd_graph_v over a
 * temporary rrdtool file written from the RRD given (a copy the caller
 * owns).  Holds exp_rrdfile_lock around librrd and restores the process
 * locale afterwards (rrd_graph sets LC_TIME and LC_CTYPE from the
 * environment).  Must not touch the registry or log.
 */
#include "export/rrdgraph.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/librrd.h"
#include "export/rrdfile.h"

#define DEFAULT_WIDTH  800
#define DEFAULT_HEIGHT 300
#define MIN_WIDTH      200
#define MAX_WIDTH      4000
#define MIN_HEIGHT     120
#define MAX_HEIGHT     3000
#define MAX_WINDOW     (20LL * 366 * 86400) /* 20 years */

static const char *const palette[] = {
    "1f77b4", "d62728", "2ca02c", "ff7f0e", "9467bd", "8c564b", "e377c2", "7f7f7f",
    "bcbd22", "17becf", "000080", "800000", "008000", "808000", "800080", "008080",
};

/* A time: "now"/"last" (relative 0), "-N[smhdw]" (relative to the RRD's
 * last update), or an absolute epoch in seconds. */
static int parse_time(const char *s, int64_t *out, int *rel)
{
	if (!strcmp(s, "now") || !strcmp(s, "last")) {
		*out = 0;
		*rel = 1;
		return 0;
	}
	int neg = s[0] == '-';
	const char *p = s + neg;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	int64_t v = 0;
	while (*p >= '0' && *p <= '9') {
		if (v > 100000000000LL)
			return -EINVAL;
		v = v * 10 + (*p++ - '0');
	}
	int64_t mul = 1;
	if (*p && neg) {
		switch (*p++) {
		case 's':
			mul = 1;
			break;
		case 'm':
			mul = 60;
			break;
		case 'h':
			mul = 3600;
			break;
		case 'd':
			mul = 86400;
			break;
		case 'w':
			mul = 7 * 86400;
			break;
		default:
			return -EINVAL;
		}
	}
	if (*p)
		return -EINVAL;
	if (v > MAX_WINDOW * 4 / mul)
		return -EINVAL;
	*out = neg ? -v * mul : v;
	*rel = neg;
	return 0;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *e;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	unsigned long v = strtoul(s, &e, 10);
	if (*e || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int exp_graph_parse(struct exp_graph_req *g, const struct exp_graph_kv *kv, size_t n,
                    const char *const *ignore, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	g->start = -3600;
	g->start_rel = 1;
	g->end = 0;
	g->end_rel = 1;
	g->width = DEFAULT_WIDTH;
	g->height = DEFAULT_HEIGHT;
	g->cf = CF_AVERAGE;
	unsigned seen = 0;
	static const char *const single[] = {"start",  "end",   "width", "height",
	                                     "format", "title", "cf"};
	for (size_t i = 0; i < n; i++) {
		const char *k = kv[i].k, *v = kv[i].v ? kv[i].v : "";
		int skip = 0;
		for (size_t j = 0; ignore && ignore[j]; j++)
			if (!strcmp(k, ignore[j]))
				skip = 1;
		if (skip)
			continue;
		if (!strcmp(k, "ds")) {
			if (g->npat == EXP_GRAPH_MAX_PATTERNS) {
				snprintf(err, errlen, "at most %d ds parameters",
				         EXP_GRAPH_MAX_PATTERNS);
				return -EINVAL;
			}
			if (!*v || strlen(v) > EXP_GRAPH_MAX_TEXT || !printable(v)) {
				snprintf(err, errlen, "ds: a name or pattern of 1 to %d characters",
				         EXP_GRAPH_MAX_TEXT);
				return -EINVAL;
			}
			g->patterns[g->npat++] = v;
			continue;
		}
		int idx = -1;
		for (int j = 0; j < (int)(sizeof(single) / sizeof(single[0])); j++)
			if (!strcmp(k, single[j]))
				idx = j;
		if (idx < 0) {
			snprintf(err, errlen, "unknown parameter '%.40s'", k);
			return -EINVAL;
		}
		if (seen & (1u << idx)) {
			snprintf(err, errlen, "parameter '%s' given twice", k);
			return -EINVAL;
		}
		seen |= 1u << idx;
		int rc = 0;
		switch (idx) {
		case 0:
			rc = parse_time(v, &g->start, &g->start_rel);
			break;
		case 1:
			rc = parse_time(v, &g->end, &g->end_rel);
			break;
		case 2:
			rc = parse_uint(v, MIN_WIDTH, MAX_WIDTH, &g->width);
			break;
		case 3:
			rc = parse_uint(v, MIN_HEIGHT, MAX_HEIGHT, &g->height);
			break;
		case 4:
			if (!strcmp(v, "png"))
				g->svg = 0;
			else if (!strcmp(v, "svg"))
				g->svg = 1;
			else
				rc = -EINVAL;
			break;
		case 5:
			if (strlen(v) > EXP_GRAPH_MAX_TEXT || !printable(v))
				rc = -EINVAL;
			g->title = v;
			break;
		case 6:
			rc = rrdb_cf_parse(v, &g->cf);
			break;
		}
		if (rc) {
			static const char *const why[] = {
			    "start: an epoch time, 'now', or -N[smhdw] (before the last update)",
			    "end: an epoch time, 'now', or -N[smhdw] (before the last update)",
			    "width: an integer from 200 to 4000",
			    "height: an integer from 120 to 3000",
			    "format: png or svg",
			    "title: at most 200 printable characters",
			    "cf: AVERAGE, MIN, MAX or LAST"};
			snprintf(err, errlen, "%s", why[idx]);
			return -EINVAL;
		}
	}
	return 0;
}

/* Append s to out with rrdtool's escaping for a legend or a DEF path:
 * ':' becomes "\:", a backslash becomes '/' (rrdtool reads \n, \l ...). */
static void put_escaped(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == ':')
			buf_adds(out, "\\:");
		else if (*s == '\\')
			buf_addc(out, '/');
		else
			buf_addc(out, *s);
	}
}

static int matches(const struct exp_graph_req *g, const char *name)
{
	if (g->npat == 0)
		return 1;
	for (size_t i = 0; i < g->npat; i++)
		if (fnmatch(g->patterns[i], name, 0) == 0)
			return 1;
	return 0;
}

/* argv storage: every argument is its own malloc'ed string */
struct args {
	char **v;
	int n, cap;
};

static void arg_add(struct args *a, struct buf *b)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = realloc(a->v, sizeof(*a->v) * (size_t)a->cap);
		if (!a->v)
			abort();
	}
	a->v[a->n++] = strdup(buf_cstr(b));
	if (!a->v[a->n - 1])
		abort();
	a->v[a->n] = NULL;
	buf_reset(b);
}

static void arg_addf(struct args *a, struct buf *b, const char *s)
{
	buf_adds(b, s);
	arg_add(a, b);
}

static void args_free(struct args *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

int exp_graph_render(const struct rrdb *r, const struct exp_graph_req *g, const char *subject,
                     const char *const *units, struct buf *img, char *err, size_t errlen)
{
	uint32_t chosen[EXP_GRAPH_MAX_LINES];
	uint32_t nchosen = 0, nmatch = 0;
	for (uint32_t d = 0; d < r->nds; d++)
		if (matches(g, r->ds[d].name)) {
			if (nchosen < EXP_GRAPH_MAX_LINES)
				chosen[nchosen++] = d;
			nmatch++;
		}
	if (nmatch == 0) {
		snprintf(err, errlen, "no data source matches%s",
		         g->npat ? " the ds parameters" : "");
		return -EINVAL;
	}
	if (nmatch > EXP_GRAPH_MAX_LINES) {
		snprintf(err, errlen, "%u data sources match; at most %d can be drawn (use ds=)",
		         nmatch, EXP_GRAPH_MAX_LINES);
		return -EINVAL;
	}
	int have_cf = 0;
	for (uint32_t k = 0; k < r->nrra; k++)
		if (r->rra[k].cf == g->cf)
			have_cf = 1;
	if (!have_cf) {
		snprintf(err, errlen, "the RRD has no %s archive", rrdb_cf_name(g->cf));
		return -EINVAL;
	}
	const struct lrd_api *lrd = lrd_get(err, errlen);
	if (!lrd)
		return -ENOSYS;
	int64_t last = isfinite(r->last_updated) ? (int64_t)r->last_updated : 0;
	int64_t start = g->start_rel ? last + g->start : g->start;
	int64_t end = g->end_rel ? last + g->end : g->end;
	if (start >= end || end - start > MAX_WINDOW) {
		snprintf(err, errlen,
		         "the window must have start < end and span at most 20 years "
		         "(start %" PRId64 ", end %" PRId64 ")",
		         start, end);
		return -EINVAL;
	}

	char dir[4096], path[4200];
	int rc = exp_rrdfile_tmpdir(dir, sizeof(dir));
	if (rc) {
		snprintf(err, errlen, "temporary directory: %s", strerror(-rc));
		return -EIO;
	}
	snprintf(path, sizeof(path), "%s/g.rrd", dir);
	rc = exp_rrdfile_write(r, path, err, errlen);
	if (rc) {
		exp_rrdfile_rmtree(dir);
		return -EIO;
	}
	exp_rrdfile_name *names = calloc(r->nds, sizeof(*names));
	if (!names)
		abort();
	exp_rrdfile_names(r, names);

	struct args a = {0};
	struct buf b = BUF_INIT;
	arg_addf(&a, &b, "graph");
	arg_addf(&a, &b, "-");
	arg_addf(&a, &b, "--imgformat");
	arg_addf(&a, &b, g->svg ? "SVG" : "PNG");
	arg_addf(&a, &b, "--full-size-mode");
	buf_printf(&b, "--start=%" PRId64, start);
	arg_add(&a, &b);
	buf_printf(&b, "--end=%" PRId64, end);
	arg_add(&a, &b);
	buf_printf(&b, "--width=%u", g->width);
	arg_add(&a, &b);
	buf_printf(&b, "--height=%u", g->height);
	arg_add(&a, &b);
	arg_addf(&a, &b, "--title");
	if (g->title)
		buf_adds(&b, g->title);
	else
		buf_printf(&b, "%s (%s)", subject ? subject : "rrd", rrdb_cf_name(g->cf));
	arg_add(&a, &b);
	for (uint32_t i = 0; i < nchosen; i++) {
		uint32_t d = chosen[i];
		buf_printf(&b, "DEF:v%u=", i);
		put_escaped(&b, path);
		buf_printf(&b, ":%s:%s", names[d], rrdb_cf_name(g->cf));
		arg_add(&a, &b);
		buf_printf(&b, "LINE2:v%u#%s:", i,
		           palette[i % (sizeof(palette) / sizeof(palette[0]))]);
		put_escaped(&b, r->ds[d].name);
		if (units && units[d] && *units[d]) {
			int paren = units[d][0] == '(';
			buf_adds(&b, paren ? " " : " (");
			put_escaped(&b, units[d]);
			buf_adds(&b, paren ? "" : ")");
		}
		arg_add(&a, &b);
		buf_printf(&b, "GPRINT:v%u:LAST:last %%.4lg", i);
		arg_add(&a, &b);
	}
	buf_free(&b);
	free(names);

	exp_rrdfile_lock();
	char *loc = setlocale(LC_ALL, NULL);
	char *saved = loc ? strdup(loc) : NULL;
	lrd->clear_error();
	rrd_info_t *info = lrd->graph_v(a.n, a.v);
	rc = 0;
	const rrd_blob_t *blob = NULL;
	for (rrd_info_t *p = info; p; p = p->next)
		if (p->type == RD_I_BLO && !strcmp(p->key, "image"))
			blob = &p->value.u_blo;
	if (!info || !blob || !blob->size) {
		const char *e = lrd->get_error();
		snprintf(err, errlen, "rrd_graph: %s", e && *e ? e : "no image");
		rc = -EIO;
	} else {
		buf_add(img, blob->ptr, blob->size);
	}
	if (info)
		lrd->info_free(info);
	lrd->clear_error();
	if (saved) {
		setlocale(LC_ALL, saved);
		free(saved);
	}
	exp_rrdfile_unlock();
	args_free(&a);
	exp_rrdfile_rmtree(dir);
	return rc;
}
