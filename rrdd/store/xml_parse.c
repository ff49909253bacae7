/*
 * Streaming loader of full RRD XML (wire-format.md §3.2, 2.7, 9): an expat push parser
 * driving a strict state machine over the fixed element order of xcp-rrdd's
 * from_xml.  Ring values are parsed as they arrive into one compact float
 * buffer per RRA (rows x DSs, grown geometrically up to the limits); the
 * engine's struct rrdb is built only at the end.
 *
 * Must not: hold the document text, trust any count in the input, let a
 * DOCTYPE, entity, deep nesting or endless token grow memory, print, or use
 * engine internals beyond rrd.h (rrdb_alloc, rrdb_ring_load, public fields).
 */
#include "store/xml_parse.h"

#include <errno.h>
#include <expat.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rrd/rrd.h"
#include "store/xml_num.h"
#include "util/xalloc.h"

/* Bytes handed to expat per call: bounds what expat may buffer beyond the
 * token limit when a caller pushes one huge chunk. */
#define SLICE     (16u << 10)
#define STACK_MAX 8
/* Times (and unknown seconds) beyond this (year 36812) are refused: the
 * engine and the writer convert them to int64. */
#define MAX_TIME 1099511627776.0

enum ctx { X_DOC, X_RRD, X_DS, X_RRA, X_PARAMS, X_CDP_PREP, X_CDP_DS, X_DATABASE, X_ROW, X_LEAF };

enum field {
	F_NONE,
	F_VERSION,
	F_STEP,
	F_LASTUPDATE,
	F_NAME,
	F_TYPE,
	F_MRHB,
	F_MIN,
	F_MAX,
	F_LAST_DS,
	F_VALUE,
	F_UNKNOWN_SEC,
	F_LAST_UPDATED,
	F_CF,
	F_PDP_PER_ROW,
	F_XFF,
	F_PRIMARY,
	F_SECONDARY,
	F_CDP_VALUE,
	F_UNKNOWN_DP,
	F_V,
};

/* One expected child: its name, and what it opens. */
struct child {
	const char *name;
	enum ctx ctx;
	enum field field;
};

static const struct child rrd_head[] = {
    {"version", X_LEAF, F_VERSION},
    {"step", X_LEAF, F_STEP},
    {"lastupdate", X_LEAF, F_LASTUPDATE},
};
/* The last one (last_updated) is optional. */
static const struct child ds_seq[] = {
    {"name", X_LEAF, F_NAME},
    {"type", X_LEAF, F_TYPE},
    {"minimal_heartbeat", X_LEAF, F_MRHB},
    {"min", X_LEAF, F_MIN},
    {"max", X_LEAF, F_MAX},
    {"last_ds", X_LEAF, F_LAST_DS},
    {"value", X_LEAF, F_VALUE},
    {"unknown_sec", X_LEAF, F_UNKNOWN_SEC},
    {"last_updated", X_LEAF, F_LAST_UPDATED},
};
static const struct child rra_seq[] = {
    {"cf", X_LEAF, F_CF},
    {"pdp_per_row", X_LEAF, F_PDP_PER_ROW},
    {"params", X_PARAMS, F_NONE},
    {"cdp_prep", X_CDP_PREP, F_NONE},
    {"database", X_DATABASE, F_NONE},
};
static const struct child params_seq[] = {{"xff", X_LEAF, F_XFF}};
static const struct child cdp_seq[] = {
    {"primary_value", X_LEAF, F_PRIMARY},
    {"secondary_value", X_LEAF, F_SECONDARY},
    {"value", X_LEAF, F_CDP_VALUE},
    {"unknown_datapoints", X_LEAF, F_UNKNOWN_DP},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct frame {
	enum ctx ctx;
	enum field field; /* X_LEAF only */
	uint32_t pos;     /* children seen (sequence position or count) */
	const char *name; /* static element name, for messages */
};

/* A DS as read, before duplicates are dropped. */
struct pds {
	char *name;
	enum ds_type type;
	double mrhb, min, max, value, unknown_sec, last_updated;
	int has_last_updated;
};

/* An RRA as read: CDP state per DS column and the rows, row-major. */
struct prra {
	enum cf_type cf;
	uint32_t pdp_cnt;
	double xff;
	double *cdp_value;     /* nds */
	uint32_t *cdp_unknown; /* nds */
	uint32_t ncdp;
	float *data; /* rows * nds, oldest row first */
	size_t cap;  /* floats allocated */
	uint32_t rows;
};

struct xmlp {
	XML_Parser xp;
	struct xmlp_limits lim;
	int rc; /* first error, sticky */
	int finished;
	char err[320];

	struct frame stack[STACK_MAX];
	int depth;

	char *text; /* current leaf's text, lim.max_text + 1 bytes */
	size_t text_len;

	uint64_t fed;        /* bytes given to expat */
	uint64_t last_event; /* byte index of the latest expat event */

	/* document */
	uint32_t step;
	double lastupdate;
	struct pds *ds;
	uint32_t nds, cap_ds;
	int ds_open; /* ds[nds] is being read */
	struct prra *rra;
	uint32_t nrra, cap_rra;
	uint32_t col;         /* <v> seen in the current row */
	uint64_t floats_used; /* over all RRAs */
};

/* ---- errors ---------------------------------------------------------- */

/* Copy untrusted text into a message: at most 40 bytes, printable ASCII. */
static const char *clean(char *dst, size_t dstlen, const char *s)
{
	size_t i = 0;
	for (; s[i] && i + 4 < dstlen && i < 40; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (s[i] && i + 4 < dstlen) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = 0;
	return dst;
}

static void fail(struct xmlp *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct xmlp *p, int rc, const char *fmt, ...)
{
	if (p->rc)
		return;
	p->rc = rc;
	int n = snprintf(p->err, sizeof(p->err),
	                 "line %lu: ", (unsigned long)XML_GetCurrentLineNumber(p->xp));
	if (n < 0 || (size_t)n >= sizeof(p->err))
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err + n, sizeof(p->err) - (size_t)n, fmt, ap);
	va_end(ap);
	XML_StopParser(p->xp, XML_FALSE);
}

/* Where we are, for value errors: " (ds 2)", " (rra 1, row 5, column 3)". */
static const char *where(const struct xmlp *p, char *buf, size_t len)
{
	buf[0] = 0;
	for (int i = p->depth; i > 0; i--) {
		switch (p->stack[i].ctx) {
		case X_DS:
			snprintf(buf, len, " (ds %u)", p->nds + 1);
			return buf;
		case X_ROW:
			snprintf(buf, len, " (rra %u, row %u, column %u)", p->nrra,
			         p->rra[p->nrra - 1].rows, p->col);
			return buf;
		case X_CDP_DS:
			snprintf(buf, len, " (rra %u, cdp_prep ds %u)", p->nrra,
			         p->rra[p->nrra - 1].ncdp + 1);
			return buf;
		case X_RRA:
			snprintf(buf, len, " (rra %u)", p->nrra);
			return buf;
		default:
			break;
		}
	}
	return buf;
}

/* ---- element handlers ------------------------------------------------ */

static void push(struct xmlp *p, enum ctx c, enum field f, const char *name)
{
	/* The grammar is at most 6 deep; reaching STACK_MAX is impossible since
	 * every element is checked before it is pushed. */
	if (p->depth + 1 >= STACK_MAX) {
		fail(p, -EINVAL, "elements nested too deeply");
		return;
	}
	struct frame *f2 = &p->stack[++p->depth];
	f2->ctx = c;
	f2->field = f;
	f2->pos = 0;
	f2->name = name;
	p->text_len = 0;
}

static void unexpected(struct xmlp *p, const char *parent, const char *want, const char *got)
{
	char g[64];
	clean(g, sizeof(g), got);
	if (want)
		fail(p, -EINVAL, "<%s>: expected <%s>, found <%s>", parent, want, g);
	else
		fail(p, -EINVAL, "<%s>: unexpected element <%s>", parent, g);
}

/* Match name against seq[pos] and open it. */
static void seq_child(struct xmlp *p, struct frame *t, const struct child *seq, size_t n,
                      const char *name)
{
	if (t->pos >= n) {
		unexpected(p, t->name, NULL, name);
		return;
	}
	const struct child *c = &seq[t->pos];
	if (strcmp(name, c->name) != 0) {
		unexpected(p, t->name, c->name, name);
		return;
	}
	t->pos++;
	push(p, c->ctx, c->field, c->name);
}

static void begin_rra(struct xmlp *p)
{
	if (p->nds == 0) {
		fail(p, -EINVAL, "<rra>: an RRA needs at least one <ds> before it");
		return;
	}
	if (p->nrra >= p->lim.max_rra) {
		fail(p, -E2BIG, "<rra>: more than %u RRAs", p->lim.max_rra);
		return;
	}
	if (p->nrra == p->cap_rra) {
		p->cap_rra = p->cap_rra ? p->cap_rra * 2 : 8;
		p->rra = xrealloc(p->rra, sizeof(*p->rra) * p->cap_rra);
	}
	struct prra *a = &p->rra[p->nrra++];
	memset(a, 0, sizeof(*a));
	a->cdp_value = xcalloc(p->nds, sizeof(double));
	a->cdp_unknown = xcalloc(p->nds, sizeof(uint32_t));
	push(p, X_RRA, F_NONE, "rra");
}

static void begin_ds(struct xmlp *p)
{
	if (p->nds >= p->lim.max_ds) {
		fail(p, -E2BIG, "<ds>: more than %u data sources", p->lim.max_ds);
		return;
	}
	if (p->nds == p->cap_ds) {
		p->cap_ds = p->cap_ds ? p->cap_ds * 2 : 16;
		p->ds = xrealloc(p->ds, sizeof(*p->ds) * p->cap_ds);
	}
	memset(&p->ds[p->nds], 0, sizeof(p->ds[p->nds]));
	p->ds_open = 1;
	push(p, X_DS, F_NONE, "ds");
}

static void begin_row(struct xmlp *p)
{
	struct prra *a = &p->rra[p->nrra - 1];
	if (a->rows >= p->lim.max_rows) {
		fail(p, -E2BIG, "<database> (rra %u): more than %u rows", p->nrra, p->lim.max_rows);
		return;
	}
	if (p->floats_used + p->nds > p->lim.max_floats) {
		fail(p, -E2BIG, "<database> (rra %u): more than %llu values in all", p->nrra,
		     (unsigned long long)p->lim.max_floats);
		return;
	}
	size_t need = ((size_t)a->rows + 1) * p->nds;
	if (need > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : (size_t)p->nds * 16;
		size_t most = (size_t)p->lim.max_rows * p->nds;
		if (cap > most)
			cap = most;
		if (cap < need)
			cap = need;
		float *d = realloc(a->data, cap * sizeof(float));
		if (!d) {
			fail(p, -ENOMEM, "<database> (rra %u): out of memory for %zu values",
			     p->nrra, cap);
			return;
		}
		a->data = d;
		a->cap = cap;
	}
	a->rows++;
	p->floats_used += p->nds;
	p->col = 0;
	push(p, X_ROW, F_NONE, "row");
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct xmlp *p = ud;
	(void)attrs; /* ignored, like whitespace */
	p->last_event = (uint64_t)XML_GetCurrentByteIndex(p->xp);
	if (p->rc)
		return;
	struct frame *t = &p->stack[p->depth];
	switch (t->ctx) {
	case X_DOC:
		if (strcmp(name, "rrd") != 0) {
			char g[64];
			fail(p, -EINVAL, "document element is <%s>, expected <rrd>",
			     clean(g, sizeof(g), name));
			return;
		}
		push(p, X_RRD, F_NONE, "rrd");
		return;
	case X_RRD:
		if (t->pos < NELEM(rrd_head)) {
			seq_child(p, t, rrd_head, NELEM(rrd_head), name);
		} else if (t->pos == NELEM(rrd_head) && strcmp(name, "ds") == 0) {
			begin_ds(p);
		} else if (strcmp(name, "rra") == 0) {
			t->pos = NELEM(rrd_head) + 1; /* no <ds> after the first <rra> */
			begin_rra(p);
		} else {
			unexpected(p, "rrd", t->pos == NELEM(rrd_head) ? "ds> or <rra" : "rra",
			           name);
		}
		return;
	case X_DS:
		seq_child(p, t, ds_seq, NELEM(ds_seq), name);
		return;
	case X_RRA:
		seq_child(p, t, rra_seq, NELEM(rra_seq), name);
		return;
	case X_PARAMS:
		seq_child(p, t, params_seq, NELEM(params_seq), name);
		return;
	case X_CDP_PREP:
		if (strcmp(name, "ds") != 0) {
			unexpected(p, "cdp_prep", "ds", name);
		} else if (p->rra[p->nrra - 1].ncdp >= p->nds) {
			fail(p, -EINVAL, "<cdp_prep> (rra %u): more <ds> than the %u data sources",
			     p->nrra, p->nds);
		} else {
			t->pos++;
			push(p, X_CDP_DS, F_NONE, "ds");
		}
		return;
	case X_CDP_DS:
		seq_child(p, t, cdp_seq, NELEM(cdp_seq), name);
		return;
	case X_DATABASE:
		if (strcmp(name, "row") != 0)
			unexpected(p, "database", "row", name);
		else
			begin_row(p);
		return;
	case X_ROW:
		if (strcmp(name, "v") != 0) {
			unexpected(p, "row", "v", name);
		} else if (p->col >= p->nds) {
			fail(p, -EINVAL, "<row> (rra %u, row %u): more than %u <v>", p->nrra,
			     p->rra[p->nrra - 1].rows, p->nds);
		} else {
			p->col++;
			push(p, X_LEAF, F_V, "v");
		}
		return;
	case X_LEAF: {
		char g[64];
		fail(p, -EINVAL, "<%s>: unexpected element <%s> inside a value", t->name,
		     clean(g, sizeof(g), name));
		return;
	}
	}
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct xmlp *p = ud;
	p->last_event = (uint64_t)XML_GetCurrentByteIndex(p->xp);
	if (p->rc)
		return;
	struct frame *t = &p->stack[p->depth];
	if (t->ctx != X_LEAF) {
		for (int i = 0; i < len; i++)
			if (!xmlnum_is_space(s[i])) {
				fail(p, -EINVAL, "<%s>: unexpected text", t->name);
				return;
			}
		return;
	}
	if (len < 0 || (size_t)len > p->lim.max_text - p->text_len) {
		fail(p, -E2BIG, "<%s>: text longer than %u bytes", t->name, p->lim.max_text);
		return;
	}
	memcpy(p->text + p->text_len, s, (size_t)len);
	p->text_len += (size_t)len;
}

static void bad_value(struct xmlp *p, const char *el, const char *what, const char *s)
{
	char w[96], v[64];
	fail(p, -EINVAL, "<%s>%s: %s \"%s\"", el, where(p, w, sizeof(w)), what,
	     clean(v, sizeof(v), s));
}

/* Parse a double field with a validity check; 0 or an error already set. */
static int num(struct xmlp *p, const char *el, const char *s, double *out, int need_finite)
{
	if (xmlnum_double(s, out) < 0) {
		bad_value(p, el, "bad number", s);
		return -1;
	}
	if (need_finite && !isfinite(*out)) {
		bad_value(p, el, "number must be finite", s);
		return -1;
	}
	return 0;
}

static void leaf_value(struct xmlp *p, enum field f, const char *el, char *s)
{
	struct pds *d = p->ds_open ? &p->ds[p->nds] : NULL; /* inside <ds> only */
	struct prra *a = p->nrra ? &p->rra[p->nrra - 1] : NULL;
	double x = 0;
	uint32_t u = 0;

	switch (f) {
	case F_NONE:
	case F_VERSION: /* not checked by the reference either */
	case F_LAST_DS: /* ignored: DS last comes back unknown */
	case F_PRIMARY:
	case F_SECONDARY:
		return;
	case F_STEP:
		if (xmlnum_u32(s, &u) < 0 || u == 0)
			bad_value(p, el, "step must be a positive integer, got", s);
		p->step = u;
		return;
	case F_LASTUPDATE:
		if (num(p, el, s, &x, 1) == 0 && !(x >= 0 && x <= MAX_TIME))
			bad_value(p, el, "time out of range", s);
		p->lastupdate = x;
		return;
	case F_NAME:
		if (!*s) {
			bad_value(p, el, "empty data source name", s);
			return;
		}
		if (p->lim.strict_names) {
			for (const char *c = s; *c; c++)
				if (*c == ':' || (unsigned char)*c < 0x20 || *c == 0x7f) {
					bad_value(p, el,
					          *c == ':'
					              ? "':' in a data source name"
					              : "control character in a data source name",
					          s);
					return;
				}
		}
		/* Xmlm's strip (as rrd_of_fd reads) collapses inner white space */
		d->name = xstrdup(s);
		xmlnum_collapse_space(d->name);
		return;
	case F_TYPE:
		if (rrdb_type_parse(s, &d->type) < 0)
			bad_value(p, el, "unknown data source type", s);
		return;
	case F_MRHB:
		if (num(p, el, s, &x, 0) == 0 && !(x > 0))
			bad_value(p, el, "heartbeat must be > 0, got", s);
		d->mrhb = x;
		return;
	case F_MIN:
		if (num(p, el, s, &x, 0) == 0 && isnan(x))
			bad_value(p, el, "min is NaN", s);
		d->min = x > 0 ? x : 0.0; /* CA-408126: clamp to >= 0 */
		return;
	case F_MAX:
		if (num(p, el, s, &x, 0) == 0 && isnan(x))
			bad_value(p, el, "max is NaN", s);
		else if (x < d->min)
			bad_value(p, el, "max below min (min is clamped to >= 0)", s);
		d->max = x;
		return;
	case F_VALUE:
		num(p, el, s, &d->value, 0);
		return;
	case F_UNKNOWN_SEC:
		if (num(p, el, s, &x, 1) == 0 && !(x >= 0 && x <= MAX_TIME))
			bad_value(p, el, "unknown seconds out of range", s);
		d->unknown_sec = x;
		return;
	case F_LAST_UPDATED:
		if (num(p, el, s, &x, 1) == 0 && !(x >= 0 && x <= MAX_TIME))
			bad_value(p, el, "time out of range", s);
		d->last_updated = x;
		d->has_last_updated = 1;
		return;
	case F_CF:
		if (rrdb_cf_parse(s, &a->cf) < 0)
			bad_value(p, el, "unknown consolidation function", s);
		return;
	case F_PDP_PER_ROW:
		if (xmlnum_u32(s, &u) < 0 || u == 0)
			bad_value(p, el, "pdp_per_row must be a positive integer, got", s);
		a->pdp_cnt = u;
		return;
	case F_XFF:
		if (num(p, el, s, &x, 0) == 0 && !(x >= 0 && x <= 1))
			bad_value(p, el, "xff outside [0, 1]", s);
		a->xff = x;
		return;
	case F_CDP_VALUE:
		num(p, el, s, &a->cdp_value[a->ncdp], 0);
		return;
	case F_UNKNOWN_DP:
		if (xmlnum_u32(s, &u) < 0)
			bad_value(p, el, "bad count", s);
		else if (u > a->pdp_cnt)
			bad_value(p, el, "more unknown PDPs than pdp_per_row", s);
		a->cdp_unknown[a->ncdp] = u;
		return;
	case F_V: {
		if (num(p, el, s, &x, 0) < 0)
			return;
		/* The ring bounds every value by its DS's [min, max] (Fring.push),
		 * comparing the double before float32 rounding. */
		const struct pds *c = &p->ds[p->col - 1];
		if (x < c->min || x > c->max)
			x = NAN;
		a->data[(size_t)(a->rows - 1) * p->nds + p->col - 1] = (float)x;
		return;
	}
	}
}

static void missing(struct xmlp *p, const struct frame *t, const struct child *seq)
{
	fail(p, -EINVAL, "<%s>: missing <%s> before </%s>", t->name, seq[t->pos].name, t->name);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct xmlp *p = ud;
	(void)name; /* expat guarantees it matches the open element */
	p->last_event = (uint64_t)XML_GetCurrentByteIndex(p->xp);
	if (p->rc)
		return;
	struct frame *t = &p->stack[p->depth];
	struct prra *a = p->nrra ? &p->rra[p->nrra - 1] : NULL;
	switch (t->ctx) {
	case X_DOC:
		return;
	case X_LEAF: {
		size_t b = 0, e = p->text_len;
		while (b < e && xmlnum_is_space(p->text[b]))
			b++;
		while (e > b && xmlnum_is_space(p->text[e - 1]))
			e--;
		p->text[e] = 0;
		if (memchr(p->text + b, 0, e - b)) {
			fail(p, -EINVAL, "<%s>: NUL character in text", t->name);
			return;
		}
		leaf_value(p, t->field, t->name, p->text + b);
		break;
	}
	case X_RRD:
		if (t->pos < NELEM(rrd_head)) {
			missing(p, t, rrd_head);
			return;
		}
		break;
	case X_DS:
		if (t->pos < NELEM(ds_seq) - 1) {
			missing(p, t, ds_seq);
			return;
		}
		if (!p->ds[p->nds].has_last_updated)
			p->ds[p->nds].last_updated = p->lastupdate;
		p->nds++;
		p->ds_open = 0;
		break;
	case X_RRA:
		if (t->pos < NELEM(rra_seq)) {
			missing(p, t, rra_seq);
			return;
		}
		break;
	case X_PARAMS:
		if (t->pos < NELEM(params_seq)) {
			missing(p, t, params_seq);
			return;
		}
		break;
	case X_CDP_PREP:
		if (a->ncdp != p->nds) {
			fail(p, -EINVAL,
			     "<cdp_prep> (rra %u): %u <ds>, expected one per data source (%u)",
			     p->nrra, a->ncdp, p->nds);
			return;
		}
		break;
	case X_CDP_DS:
		if (t->pos < NELEM(cdp_seq)) {
			missing(p, t, cdp_seq);
			return;
		}
		a->ncdp++;
		break;
	case X_DATABASE:
		if (a->rows == 0) {
			fail(p, -EINVAL, "<database> (rra %u): no rows", p->nrra);
			return;
		}
		break;
	case X_ROW:
		if (p->col != p->nds) {
			fail(p, -EINVAL, "<row> (rra %u, row %u): %u <v>, expected %u", p->nrra,
			     a->rows, p->col, p->nds);
			return;
		}
		break;
	}
	p->depth--;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
	struct xmlp *p = ud;
	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	fail(p, -EINVAL, "DOCTYPE declarations are not allowed");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
	struct xmlp *p = ud;
	(void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid;
	(void)pubid, (void)notation;
	fail(p, -EINVAL, "entity declarations are not allowed");
}

/* Comments, processing instructions, the XML declaration, whitespace
 * outside the root: accepted, only their position is noted. */
static void XMLCALL on_other(void *ud, const XML_Char *s, int len)
{
	struct xmlp *p = ud;
	(void)s, (void)len;
	p->last_event = (uint64_t)XML_GetCurrentByteIndex(p->xp);
}

/* ---- public API ---------------------------------------------------------- */

struct xmlp *xmlp_new(const struct xmlp_limits *lim)
{
	struct xmlp *p = xcalloc(1, sizeof(*p));
	if (lim)
		p->lim = *lim;
	if (!p->lim.max_ds)
		p->lim.max_ds = XMLP_DEFAULT_MAX_DS;
	if (!p->lim.max_rra)
		p->lim.max_rra = XMLP_DEFAULT_MAX_RRA;
	if (!p->lim.max_rows)
		p->lim.max_rows = XMLP_DEFAULT_MAX_ROWS;
	if (!p->lim.max_floats)
		p->lim.max_floats = XMLP_DEFAULT_MAX_FLOATS;
	if (!p->lim.max_text)
		p->lim.max_text = XMLP_DEFAULT_MAX_TEXT;
	if (!p->lim.max_token)
		p->lim.max_token = XMLP_DEFAULT_MAX_TOKEN;
	if (!p->lim.max_bytes)
		p->lim.max_bytes = XMLP_DEFAULT_MAX_BYTES;
	p->text = xmalloc((size_t)p->lim.max_text + 1);
	p->xp = XML_ParserCreate(NULL);
	if (!p->xp) {
		p->rc = -ENOMEM;
		snprintf(p->err, sizeof(p->err), "out of memory creating the XML parser");
		return p;
	}
	XML_SetUserData(p->xp, p);
	XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);
	XML_SetElementHandler(p->xp, on_start, on_end);
	XML_SetCharacterDataHandler(p->xp, on_text);
	XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
	XML_SetEntityDeclHandler(p->xp, on_entity_decl);
	XML_SetDefaultHandlerExpand(p->xp, on_other);
	p->stack[0].ctx = X_DOC;
	p->stack[0].name = "";
	return p;
}

static void expat_error(struct xmlp *p, const char *what)
{
	if (p->rc)
		return;
	enum XML_Error e = XML_GetErrorCode(p->xp);
	p->rc = e == XML_ERROR_NO_MEMORY ? -ENOMEM : -EINVAL;
	snprintf(p->err, sizeof(p->err), "line %lu, column %lu: %s%s",
	         (unsigned long)XML_GetCurrentLineNumber(p->xp),
	         (unsigned long)XML_GetCurrentColumnNumber(p->xp), what, XML_ErrorString(e));
}

int xmlp_feed(struct xmlp *p, const void *bytes, size_t n)
{
	const char *b = bytes;
	if (p->rc)
		return p->rc;
	if (p->finished) {
		p->rc = -EINVAL;
		snprintf(p->err, sizeof(p->err), "data after the end of the document");
		return p->rc;
	}
	while (n > 0) {
		if (p->fed - p->last_event > p->lim.max_token) {
			p->rc = -E2BIG;
			snprintf(p->err, sizeof(p->err),
			         "line %lu: markup longer than %u bytes (unterminated tag, "
			         "comment or attribute?)",
			         (unsigned long)XML_GetCurrentLineNumber(p->xp), p->lim.max_token);
			return p->rc;
		}
		size_t k = n < SLICE ? n : SLICE;
		if (p->fed + k > p->lim.max_bytes) {
			p->rc = -E2BIG;
			snprintf(p->err, sizeof(p->err), "document longer than %llu bytes",
			         (unsigned long long)p->lim.max_bytes);
			return p->rc;
		}
		p->fed += k;
		if (XML_Parse(p->xp, b, (int)k, 0) != XML_STATUS_OK) {
			expat_error(p, "malformed XML: ");
			return p->rc;
		}
		b += k;
		n -= k;
	}
	return 0;
}

/* Mark which DSs survive: for a repeated name only the last occurrence. */
static int cmp_name_idx(const void *x, const void *y, void *ud)
{
	const struct pds *ds = ud;
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
	int c = strcmp(ds[i].name, ds[j].name);
	return c ? c : (i > j) - (i < j);
}

static uint32_t dedupe(const struct xmlp *p, uint32_t *keep_idx)
{
	uint32_t *ord = xmalloc(sizeof(uint32_t) * (p->nds ? p->nds : 1));
	unsigned char *keep = xcalloc(p->nds ? p->nds : 1, 1);
	for (uint32_t i = 0; i < p->nds; i++)
		ord[i] = i;
	qsort_r(ord, p->nds, sizeof(*ord), cmp_name_idx, p->ds);
	for (uint32_t k = 0; k < p->nds; k++)
		if (k + 1 == p->nds || strcmp(p->ds[ord[k]].name, p->ds[ord[k + 1]].name) != 0)
			keep[ord[k]] = 1;
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->nds; i++)
		if (keep[i])
			keep_idx[n++] = i;
	free(keep);
	free(ord);
	return n;
}

static int build(struct xmlp *p, struct rrdb **out)
{
	uint32_t *kept = xmalloc(sizeof(uint32_t) * (p->nds ? p->nds : 1));
	uint32_t nk = dedupe(p, kept);
	if (p->lim.strict_names && nk < p->nds) {
		free(kept);
		fail(p, -EINVAL, "<ds>: %u data source name(s) repeated", p->nds - nk);
		return -EINVAL;
	}
	struct rrdb_ds_def *dd = xcalloc(nk ? nk : 1, sizeof(*dd));
	struct rrdb_rra_def *rd = xcalloc(p->nrra ? p->nrra : 1, sizeof(*rd));
	for (uint32_t k = 0; k < nk; k++) {
		const struct pds *s = &p->ds[kept[k]];
		dd[k] = (struct rrdb_ds_def){.name = s->name,
		                             .type = s->type,
		                             .min = s->min,
		                             .max = s->max,
		                             .mrhb = s->mrhb,
		                             .transform = TR_IDENTITY,
		                             .initial_last = DSVAL_UNKNOWN};
	}
	uint32_t maxrows = 1;
	for (uint32_t a = 0; a < p->nrra; a++) {
		rd[a] = (struct rrdb_rra_def){.cf = p->rra[a].cf,
		                              .rows = p->rra[a].rows,
		                              .pdp_cnt = p->rra[a].pdp_cnt,
		                              .xff = p->rra[a].xff};
		if (p->rra[a].rows > maxrows)
			maxrows = p->rra[a].rows;
	}
	struct rrdb *r = rrdb_alloc(p->step, rd, p->nrra, dd, nk);
	free(dd);
	free(rd);
	if (!r) {
		free(kept);
		p->rc = -EINVAL;
		snprintf(p->err, sizeof(p->err), "the RRD engine rejected the layout");
		return p->rc;
	}
	r->last_updated = p->lastupdate;
	float *col = xmalloc(sizeof(float) * maxrows);
	for (uint32_t k = 0; k < nk; k++) {
		uint32_t i = kept[k];
		const struct pds *s = &p->ds[i];
		struct rrdb_ds *d = &r->ds[k];
		d->last = DSVAL_UNKNOWN;
		d->value = s->value;
		d->unknown_sec = s->unknown_sec;
		d->last_updated = s->last_updated;
		for (uint32_t a = 0; a < p->nrra; a++) {
			const struct prra *pr = &p->rra[a];
			d->cdp[a].value = pr->cdp_value[i];
			d->cdp[a].unknown_pdps = pr->cdp_unknown[i];
			for (uint32_t row = 0; row < pr->rows; row++)
				col[row] = pr->data[(size_t)row * p->nds + i];
			rrdb_ring_load(r, k, a, col, pr->rows);
		}
	}
	free(col);
	free(kept);
	*out = r;
	return 0;
}

int xmlp_finish(struct xmlp *p, struct rrdb **out)
{
	*out = NULL;
	if (p->rc)
		return p->rc;
	if (p->finished) {
		p->rc = -EINVAL;
		snprintf(p->err, sizeof(p->err), "xmlp_finish called twice");
		return p->rc;
	}
	p->finished = 1;
	if (XML_Parse(p->xp, "", 0, 1) != XML_STATUS_OK) {
		expat_error(p, "truncated or malformed XML: ");
		return p->rc;
	}
	if (p->depth != 0 || p->stack[0].ctx != X_DOC) { /* cannot happen after expat's check */
		p->rc = -EINVAL;
		snprintf(p->err, sizeof(p->err), "truncated document");
		return p->rc;
	}
	return build(p, out);
}

const char *xmlp_error(const struct xmlp *p)
{
	return p->err;
}

void xmlp_free(struct xmlp *p)
{
	if (!p)
		return;
	if (p->xp)
		XML_ParserFree(p->xp);
	for (uint32_t i = 0; i < p->nds; i++)
		free(p->ds[i].name);
	if (p->ds_open)
		free(p->ds[p->nds].name); /* a <ds> cut short by an error */
	free(p->ds);
	for (uint32_t a = 0; a < p->nrra; a++) {
		free(p->rra[a].cdp_value);
		free(p->rra[a].cdp_unknown);
		free(p->rra[a].data);
	}
	free(p->rra);
	free(p->text);
	free(p);
}
