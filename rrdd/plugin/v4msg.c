/*
 * Decoding of v4 socket messages (v4msg.h): libcbor's streaming decoder
 * feeds a flat pre-order tree (a node records where its subtree ends), then
 * the enum shapes of xcp-metrics' protocol are read from it by key.
 */
#include "plugin/v4msg.h"

#include <cbor.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

enum ntype { N_UINT, N_NEG, N_FLOAT, N_STR, N_BYTES, N_ARRAY, N_MAP, N_BOOL, N_NULL };

struct node {
	uint8_t type;
	uint32_t n;   /* ARRAY: items; MAP: pairs */
	uint32_t end; /* index of the first node after this subtree */
	union {
		uint64_t u; /* UINT; NEG: the value is -1 - u */
		double d;
		bool b;
		struct {
			const char *p;
			size_t len;
		} s;
	};
};

struct open {
	uint32_t idx;
	uint64_t left; /* items still to come */
};

struct tree {
	struct node *v;
	uint32_t n, cap;
	struct open stack[V4_MAX_DEPTH];
	unsigned depth;
	const char *error; /* first error, or NULL */
};

static void t_fail(struct tree *t, const char *why)
{
	if (!t->error)
		t->error = why;
}

/* A child item ended: close every container it completes. */
static void item_done(struct tree *t)
{
	while (t->depth) {
		struct open *o = &t->stack[t->depth - 1];
		if (--o->left)
			return;
		t->v[o->idx].end = t->n;
		t->depth--;
	}
}

static struct node *t_add(struct tree *t, enum ntype type)
{
	if (t->error)
		return NULL;
	if (t->n >= V4_MAX_NODES) {
		t_fail(t, "more than 65536 CBOR items");
		return NULL;
	}
	if (t->n && !t->depth) {
		t_fail(t, "more than one CBOR item");
		return NULL;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->v = xrealloc(t->v, sizeof(*t->v) * t->cap);
	}
	struct node *nd = &t->v[t->n++];
	memset(nd, 0, sizeof(*nd));
	nd->type = (uint8_t)type;
	nd->end = t->n;
	return nd;
}

static void leaf_u(void *c, uint64_t v)
{
	struct node *nd = t_add(c, N_UINT);
	if (nd) {
		nd->u = v;
		item_done(c);
	}
}
static void leaf_n(void *c, uint64_t v)
{
	struct node *nd = t_add(c, N_NEG);
	if (nd) {
		nd->u = v;
		item_done(c);
	}
}
static void cb_u8(void *c, uint8_t v)
{
	leaf_u(c, v);
}
static void cb_u16(void *c, uint16_t v)
{
	leaf_u(c, v);
}
static void cb_u32(void *c, uint32_t v)
{
	leaf_u(c, v);
}
static void cb_u64(void *c, uint64_t v)
{
	leaf_u(c, v);
}
static void cb_n8(void *c, uint8_t v)
{
	leaf_n(c, v);
}
static void cb_n16(void *c, uint16_t v)
{
	leaf_n(c, v);
}
static void cb_n32(void *c, uint32_t v)
{
	leaf_n(c, v);
}
static void cb_n64(void *c, uint64_t v)
{
	leaf_n(c, v);
}

static void leaf_s(void *c, enum ntype type, cbor_data p, size_t len)
{
	struct node *nd = t_add(c, type);
	if (nd) {
		nd->s.p = (const char *)p;
		nd->s.len = len;
		item_done(c);
	}
}
static void cb_str(void *c, cbor_data p, size_t len)
{
	leaf_s(c, N_STR, p, len);
}
static void cb_bytes(void *c, cbor_data p, size_t len)
{
	leaf_s(c, N_BYTES, p, len);
}

static void container(void *c, enum ntype type, size_t n)
{
	struct tree *t = c;
	struct node *nd = t_add(t, type);
	if (!nd)
		return;
	uint64_t items = type == N_MAP ? 2 * (uint64_t)n : (uint64_t)n;
	nd->n = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
	if (n > V4_MAX_NODES) {
		t_fail(t, "a CBOR container larger than 65536 items");
		return;
	}
	if (!items) {
		item_done(t);
		return;
	}
	if (t->depth == V4_MAX_DEPTH) {
		t_fail(t, "CBOR nested deeper than 16 levels");
		return;
	}
	t->stack[t->depth++] = (struct open){t->n - 1, items};
}
static void cb_array(void *c, size_t n)
{
	container(c, N_ARRAY, n);
}
static void cb_map(void *c, size_t n)
{
	container(c, N_MAP, n);
}

static void leaf_f(void *c, double d)
{
	struct node *nd = t_add(c, N_FLOAT);
	if (nd) {
		nd->d = d;
		item_done(c);
	}
}
static void cb_f2(void *c, float f)
{
	leaf_f(c, f);
}
static void cb_f4(void *c, float f)
{
	leaf_f(c, f);
}
static void cb_f8(void *c, double d)
{
	leaf_f(c, d);
}
static void cb_bool(void *c, bool b)
{
	struct node *nd = t_add(c, N_BOOL);
	if (nd) {
		nd->b = b;
		item_done(c);
	}
}
static void cb_null(void *c)
{
	if (t_add(c, N_NULL))
		item_done(c);
}
static void cb_tag(void *c, uint64_t v)
{
	(void)c;
	(void)v; /* a semantic tag: the item that follows is what counts */
}
static void cb_indef(void *c)
{
	t_fail(c, "indefinite-length CBOR items are not accepted");
}

static const struct cbor_callbacks callbacks = {
    .uint8 = cb_u8,
    .uint16 = cb_u16,
    .uint32 = cb_u32,
    .uint64 = cb_u64,
    .negint8 = cb_n8,
    .negint16 = cb_n16,
    .negint32 = cb_n32,
    .negint64 = cb_n64,
    .byte_string_start = cb_indef,
    .byte_string = cb_bytes,
    .string = cb_str,
    .string_start = cb_indef,
    .indef_array_start = cb_indef,
    .array_start = cb_array,
    .indef_map_start = cb_indef,
    .map_start = cb_map,
    .tag = cb_tag,
    .float2 = cb_f2,
    .float4 = cb_f4,
    .float8 = cb_f8,
    .undefined = cb_null,
    .null = cb_null,
    .boolean = cb_bool,
    .indef_break = cb_indef,
};

/* ---- reading the tree ---- */

struct rd {
	const struct tree *t;
	char *err;
	size_t errlen;
};

static int rfail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int rfail(struct rd *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static bool key_is(const struct node *k, const char *s)
{
	size_t l = strlen(s);
	return k->type == N_STR && k->s.len == l && !memcmp(k->s.p, s, l);
}

/* The value under key in map m, or -1. */
static long map_get(const struct tree *t, long m, const char *key)
{
	if (m < 0 || t->v[m].type != N_MAP)
		return -1;
	uint32_t k = (uint32_t)m + 1;
	for (uint32_t i = 0; i < t->v[m].n; i++) {
		uint32_t v = t->v[k].end;
		if (key_is(&t->v[k], key))
			return v;
		k = t->v[v].end;
	}
	return -1;
}

/* A one-entry map {tag: value} (serde's externally tagged variant): the
 * tag node and the value, or a text string (a unit variant): the tag and
 * -1. */
static int variant(const struct tree *t, long n, long *tag, long *val)
{
	if (n >= 0 && t->v[n].type == N_STR) {
		*tag = n;
		*val = -1;
		return 0;
	}
	if (n < 0 || t->v[n].type != N_MAP || t->v[n].n != 1)
		return -1;
	*tag = n + 1;
	*val = t->v[n + 1].end;
	return t->v[*tag].type == N_STR ? 0 : -1;
}

static int get_str(struct rd *r, long n, const char *what, struct v4_str *out)
{
	const struct tree *t = r->t;
	if (n < 0 || t->v[n].type != N_STR)
		return rfail(r, "%s: a text string is expected", what);
	if (t->v[n].s.len > V4_MAX_STRING)
		return rfail(r, "%s: longer than %u bytes", what, V4_MAX_STRING);
	if (memchr(t->v[n].s.p, 0, t->v[n].s.len))
		return rfail(r, "%s: contains a NUL byte", what);
	out->p = t->v[n].s.p;
	out->len = t->v[n].s.len;
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

static int get_uuid(struct rd *r, long n, uint8_t out[16])
{
	const struct tree *t = r->t;
	if (n < 0)
		return rfail(r, "uuid: missing");
	const struct node *nd = &t->v[n];
	if (nd->type == N_BYTES && nd->s.len == 16) {
		memcpy(out, nd->s.p, 16);
		return 0;
	}
	if (nd->type == N_STR && nd->s.len == 36) {
		size_t j = 0;
		for (size_t i = 0; i < 36;) {
			if (i == 8 || i == 13 || i == 18 || i == 23) {
				if (nd->s.p[i++] != '-')
					return rfail(r, "uuid: not a uuid text");
				continue;
			}
			int h = hexval(nd->s.p[i]), l = hexval(nd->s.p[i + 1]);
			if (h < 0 || l < 0)
				return rfail(r, "uuid: not a uuid text");
			out[j++] = (uint8_t)(h << 4 | l);
			i += 2;
		}
		return 0;
	}
	if (nd->type == N_ARRAY && nd->n == 16) {
		for (uint32_t i = 0; i < 16; i++) {
			const struct node *b = &t->v[n + 1 + i];
			if (b->type != N_UINT || b->u > 255)
				return rfail(r, "uuid: an array of 16 bytes is expected");
			out[i] = (uint8_t)b->u;
		}
		return 0;
	}
	return rfail(r, "uuid: 16 bytes, a uuid text or 16 integers are expected");
}

/* NumberValue: {"Double": f} | {"Int64": i} | "Undefined". */
static int get_number(struct rd *r, long n, struct dsval *out)
{
	const struct tree *t = r->t;
	long tag, val;
	if (variant(t, n, &tag, &val) < 0)
		return rfail(r, "number: Double, Int64 or Undefined is expected");
	if (key_is(&t->v[tag], "Undefined") && val < 0) {
		*out = DSVAL_FLT(NAN);
		return 0;
	}
	if (val < 0)
		return rfail(r, "number: Double, Int64 or Undefined is expected");
	const struct node *v = &t->v[val];
	if (key_is(&t->v[tag], "Double")) {
		if (v->type == N_FLOAT)
			*out = DSVAL_FLT(v->d);
		else if (v->type == N_UINT)
			*out = DSVAL_FLT((double)v->u);
		else if (v->type == N_NEG)
			*out = DSVAL_FLT(-1.0 - (double)v->u);
		else
			return rfail(r, "number: Double holds no number");
		return 0;
	}
	if (key_is(&t->v[tag], "Int64")) {
		if (v->type == N_UINT && v->u <= INT64_MAX)
			*out = DSVAL_INT((int64_t)v->u);
		else if (v->type == N_NEG && v->u <= INT64_MAX)
			*out = DSVAL_INT(-1 - (int64_t)v->u);
		else
			return rfail(r, "number: Int64 holds no 64-bit integer");
		return 0;
	}
	return rfail(r, "number: Double, Int64 or Undefined is expected");
}

static int get_labels(struct rd *r, long n, struct v4_msg *m)
{
	const struct tree *t = r->t;
	if (n < 0 || t->v[n].type != N_ARRAY)
		return rfail(r, "labels: an array is expected");
	if (t->v[n].n > V3MAP_MAX_LABELS)
		return rfail(r, "labels: %u, at most %d", t->v[n].n, V3MAP_MAX_LABELS);
	long c = n + 1;
	for (uint32_t i = 0; i < t->v[n].n; i++) {
		if (get_str(r, map_get(t, c, "name"), "label name", &m->lname[i]) < 0 ||
		    get_str(r, map_get(t, c, "value"), "label value", &m->lvalue[i]) < 0)
			return -1;
		c = t->v[c].end;
	}
	m->nlabels = t->v[n].n;
	return 0;
}

static const char *const type_names[] = {"Unknown", "Gauge",     "Counter",        "StateSet",
                                         "Info",    "Histogram", "GaugeHistogram", "Summary"};

static int read_msg(struct rd *r, struct v4_msg *m)
{
	const struct tree *t = r->t;
	long tag, body;
	if (variant(t, 0, &tag, &body) < 0)
		return rfail(r, "not a protocol message (a one-entry map is expected)");
	const struct node *k = &t->v[tag];
	if (key_is(k, "CreateFamily")) {
		m->kind = V4_CREATE_FAMILY;
		struct v4_str ty;
		if (get_str(r, map_get(t, body, "name"), "name", &m->name) < 0 ||
		    get_str(r, map_get(t, body, "metric_type"), "metric_type", &ty) < 0 ||
		    get_str(r, map_get(t, body, "unit"), "unit", &m->unit) < 0 ||
		    get_str(r, map_get(t, body, "help"), "help", &m->help) < 0)
			return -1;
		m->metric_type = -1;
		for (int i = 0; i < 8; i++)
			if (strlen(type_names[i]) == ty.len && !memcmp(type_names[i], ty.p, ty.len))
				m->metric_type = i;
		if (m->metric_type < 0)
			return rfail(r, "metric_type \"%.*s\" is not an OpenMetrics type",
			             (int)(ty.len > 64 ? 64 : ty.len), ty.p);
		return 0;
	}
	if (key_is(k, "RemoveFamily")) {
		m->kind = V4_REMOVE_FAMILY;
		return get_str(r, map_get(t, body, "name"), "name", &m->name);
	}
	if (key_is(k, "UpdateMetric")) {
		m->kind = V4_UPDATE_METRIC;
		long metric = map_get(t, body, "metric");
		if (get_str(r, map_get(t, body, "family_name"), "family_name", &m->name) < 0 ||
		    get_uuid(r, map_get(t, body, "uuid"), m->uuid) < 0 ||
		    get_labels(r, map_get(t, metric, "labels"), m) < 0)
			return -1;
		long vtag, vval;
		if (variant(t, map_get(t, metric, "value"), &vtag, &vval) < 0 || vval < 0)
			return rfail(r, "metric value: a MetricValue variant is expected");
		const struct node *vk = &t->v[vtag];
		m->value = DSVAL_FLT(NAN);
		if (key_is(vk, "Gauge")) {
			m->vkind = V4_V_GAUGE;
			return get_number(r, vval, &m->value);
		}
		if (key_is(vk, "Unknown")) {
			m->vkind = V4_V_UNKNOWN;
			return get_number(r, vval, &m->value);
		}
		if (key_is(vk, "Counter")) {
			m->vkind = V4_V_COUNTER;
			return get_number(r, map_get(t, vval, "total"), &m->value);
		}
		m->vkind = V4_V_OTHER; /* Histogram, StateSet, Info, Summary: kept out */
		return 0;
	}
	if (key_is(k, "RemoveMetric")) {
		m->kind = V4_REMOVE_METRIC;
		if (get_str(r, map_get(t, body, "family_name"), "family_name", &m->name) < 0)
			return -1;
		return get_uuid(r, map_get(t, body, "uuid"), m->uuid);
	}
	if (key_is(k, "FetchMetrics")) {
		m->kind = V4_FETCH_METRICS;
		long ft, fv;
		if (variant(t, body, &ft, &fv) < 0 || fv >= 0)
			return rfail(
			    r, "FetchMetrics: OpenMetrics1 or OpenMetrics1Binary is expected");
		if (key_is(&t->v[ft], "OpenMetrics1"))
			m->binary = false;
		else if (key_is(&t->v[ft], "OpenMetrics1Binary"))
			m->binary = true;
		else
			return rfail(
			    r, "FetchMetrics: OpenMetrics1 or OpenMetrics1Binary is expected");
		return 0;
	}
	return rfail(r, "unknown message \"%.*s\"",
	             (int)(k->type == N_STR ? (k->s.len > 64 ? 64 : k->s.len) : 0),
	             k->type == N_STR ? k->s.p : "");
}

int v4_msg_decode(const unsigned char *buf, size_t len, struct v4_msg *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	struct tree t = {0};
	size_t off = 0;
	while (off < len && !t.error) {
		struct cbor_decoder_result res =
		    cbor_stream_decode(buf + off, len - off, &callbacks, &t);
		if (res.status != CBOR_DECODER_FINISHED || res.read == 0) {
			t_fail(&t, res.status == CBOR_DECODER_NEDATA ? "the CBOR item is cut short"
			                                             : "malformed CBOR");
			break;
		}
		off += res.read;
	}
	if (!t.error && (t.n == 0 || t.depth))
		t_fail(&t, "the CBOR item is cut short");
	int rc;
	if (t.error) {
		snprintf(err, errlen, "%s", t.error);
		rc = -1;
	} else {
		struct rd r = {&t, err, errlen};
		rc = read_msg(&r, m);
	}
	free(t.v);
	return rc;
}
