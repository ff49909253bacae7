/*
 * Strict JSON parser producing a flat tape of nodes (see json_parse.h).
 *
 * Recursive descent; the recursion depth is bounded by the nesting limit, so
 * the stack use is bounded.  Every read is checked against the end of the
 * input; the input need not be NUL-terminated.  No I/O, no globals, no
 * logging: errors are returned with a message naming the byte offset.
 */
#include "util/json_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/utf8.h"

#define JP_DEFAULT_DEPTH  64u
#define JP_DEFAULT_NODES  (4u << 20)
#define JP_DEFAULT_INPUT  ((size_t)64 << 20)
#define JP_HARD_MAX_INPUT ((size_t)1 << 30) /* keeps pool offsets in 32 bits */

struct parser {
	const unsigned char *start, *p, *end;
	struct jp_doc *d;
	uint32_t max_depth, max_nodes;
	unsigned flags;
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, int rc, const char *fmt, ...)
{
	if (ps->errlen > 0) {
		int k =
		    snprintf(ps->err, ps->errlen, "JSON offset %zu: ", (size_t)(ps->p - ps->start));
		if (k >= 0 && (size_t)k < ps->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(ps->err + k, ps->errlen - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return rc;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

/* Append a node; returns its index or a negative error. */
static int64_t new_node(struct parser *ps, enum jp_type type)
{
	struct jp_doc *d = ps->d;
	if (d->nnodes >= ps->max_nodes)
		return fail(ps, -E2BIG, "more than %u JSON values", ps->max_nodes);
	if (d->nnodes == d->cap_nodes) {
		uint32_t cap = d->cap_nodes ? d->cap_nodes * 2 : 64;
		if (cap > ps->max_nodes)
			cap = ps->max_nodes;
		d->nodes = xrealloc(d->nodes, (size_t)cap * sizeof(*d->nodes));
		d->cap_nodes = cap;
	}
	struct jp_node *n = &d->nodes[d->nnodes];
	memset(n, 0, sizeof(*n));
	n->type = (uint8_t)type;
	n->end = d->nnodes + 1;
	return d->nnodes++;
}

static void pool_reserve(struct jp_doc *d, size_t more)
{
	if (d->pool_cap - d->pool_len >= more)
		return;
	size_t cap = d->pool_cap ? d->pool_cap : 256;
	while (cap - d->pool_len < more)
		cap *= 2;
	d->pool = xrealloc(d->pool, cap);
	d->pool_cap = cap;
}

static void pool_put(struct jp_doc *d, const void *p, size_t n)
{
	if (n == 0)
		return;
	pool_reserve(d, n);
	memcpy(d->pool + d->pool_len, p, n);
	d->pool_len += n;
}

static int hex4(struct parser *ps, unsigned *out)
{
	if (ps->end - ps->p < 4)
		return fail(ps, -EINVAL, "truncated \\u escape");
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = ps->p[i], x;
		if (c >= '0' && c <= '9')
			x = c - '0';
		else if (c >= 'a' && c <= 'f')
			x = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			x = c - 'A' + 10;
		else
			return fail(ps, -EINVAL, "bad hex digit in \\u escape");
		v = v * 16 + x;
	}
	ps->p += 4;
	*out = v;
	return 0;
}

static void put_utf8(struct jp_doc *d, unsigned cp)
{
	unsigned char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	pool_put(d, b, n);
}

/* Parse a string (ps->p at the opening quote) into a new STRING node. */
static int parse_string(struct parser *ps)
{
	int64_t idx = new_node(ps, JP_STRING);
	if (idx < 0)
		return (int)idx;
	struct jp_doc *d = ps->d;
	size_t off = d->pool_len;
	ps->p++; /* opening quote */
	for (;;) {
		const unsigned char *run = ps->p;
		while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && *ps->p >= 0x20 &&
		       *ps->p < 0x80)
			ps->p++;
		pool_put(d, run, (size_t)(ps->p - run));
		if (ps->p >= ps->end)
			return fail(ps, -EINVAL, "unterminated string");
		unsigned c = *ps->p;
		if (c == '"') {
			ps->p++;
			break;
		}
		if (c < 0x20)
			return fail(ps, -EINVAL, "control character 0x%02x in string", c);
		if (c >= 0x80) {
			size_t n = utf8_seq_len(ps->p, (size_t)(ps->end - ps->p));
			if (n == 0) {
				if (!(ps->flags & JP_F_ALLOW_BAD_UTF8))
					return fail(ps, -EINVAL, "invalid UTF-8 in string");
				n = 1;
			}
			pool_put(d, ps->p, n);
			ps->p += n;
			continue;
		}
		/* backslash escape */
		ps->p++;
		if (ps->p >= ps->end)
			return fail(ps, -EINVAL, "unterminated escape");
		char e = (char)*ps->p++;
		char lit;
		switch (e) {
		case '"':
			lit = '"';
			break;
		case '\\':
			lit = '\\';
			break;
		case '/':
			lit = '/';
			break;
		case 'b':
			lit = '\b';
			break;
		case 'f':
			lit = '\f';
			break;
		case 'n':
			lit = '\n';
			break;
		case 'r':
			lit = '\r';
			break;
		case 't':
			lit = '\t';
			break;
		case 'u': {
			unsigned cp;
			int rc = hex4(ps, &cp);
			if (rc < 0)
				return rc;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return fail(ps, -EINVAL, "lone low surrogate \\u%04X", cp);
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				unsigned lo;
				if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
					return fail(ps, -EINVAL, "high surrogate without low one");
				ps->p += 2;
				rc = hex4(ps, &lo);
				if (rc < 0)
					return rc;
				if (lo < 0xDC00 || lo > 0xDFFF)
					return fail(ps, -EINVAL, "high surrogate without low one");
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			put_utf8(d, cp);
			continue;
		}
		default:
			ps->p--;
			return fail(ps, -EINVAL, "invalid escape '\\%c'", e);
		}
		pool_put(d, &lit, 1);
	}
	struct jp_node *n = &d->nodes[idx];
	n->str = (uint32_t)off;
	n->len = (uint32_t)(d->pool_len - off);
	pool_put(d, "", 1);
	return 0;
}

static bool is_digit(const struct parser *ps)
{
	return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

static int parse_number(struct parser *ps)
{
	const unsigned char *s = ps->p;
	bool is_int = true;
	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (!is_digit(ps))
		return fail(ps, -EINVAL, "invalid number");
	if (*ps->p == '0') {
		ps->p++;
	} else {
		while (is_digit(ps))
			ps->p++;
	}
	if (ps->p < ps->end && *ps->p == '.') {
		is_int = false;
		ps->p++;
		if (!is_digit(ps))
			return fail(ps, -EINVAL, "digit expected after '.'");
		while (is_digit(ps))
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		is_int = false;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (!is_digit(ps))
			return fail(ps, -EINVAL, "digit expected in exponent");
		while (is_digit(ps))
			ps->p++;
	}
	int64_t idx = new_node(ps, JP_NUMBER);
	if (idx < 0)
		return (int)idx;
	struct jp_doc *d = ps->d;
	size_t off = d->pool_len, n = (size_t)(ps->p - s);
	pool_put(d, s, n);
	pool_put(d, "", 1);
	struct jp_node *node = &d->nodes[idx];
	node->str = (uint32_t)off;
	node->len = (uint32_t)n;
	node->is_int = is_int;
	node->num = strtod(d->pool + off, NULL);
	return 0;
}

static int parse_literal(struct parser *ps, const char *word, enum jp_type type)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, -EINVAL, "invalid literal");
	ps->p += n;
	int64_t idx = new_node(ps, type);
	return idx < 0 ? (int)idx : 0;
}

static int parse_value(struct parser *ps, uint32_t depth);

static int parse_container(struct parser *ps, uint32_t depth, bool is_obj)
{
	if (depth >= ps->max_depth)
		return fail(ps, -E2BIG, "nesting deeper than %u", ps->max_depth);
	int64_t idx = new_node(ps, is_obj ? JP_OBJECT : JP_ARRAY);
	if (idx < 0)
		return (int)idx;
	char close = is_obj ? '}' : ']';
	uint32_t count = 0;
	int rc;
	ps->p++; /* opening bracket */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
	} else {
		for (;;) {
			skip_ws(ps);
			if (is_obj) {
				if (ps->p >= ps->end || *ps->p != '"')
					return fail(ps, -EINVAL, "object key expected");
				if ((rc = parse_string(ps)) < 0)
					return rc;
				skip_ws(ps);
				if (ps->p >= ps->end || *ps->p != ':')
					return fail(ps, -EINVAL, "':' expected");
				ps->p++;
			}
			if ((rc = parse_value(ps, depth + 1)) < 0)
				return rc;
			count++;
			skip_ws(ps);
			if (ps->p >= ps->end)
				return fail(ps, -EINVAL, "unterminated %s",
				            is_obj ? "object" : "array");
			if (*ps->p == ',') {
				ps->p++;
				continue;
			}
			if (*ps->p == close) {
				ps->p++;
				break;
			}
			return fail(ps, -EINVAL, "',' or '%c' expected", close);
		}
	}
	struct jp_node *n = &ps->d->nodes[idx];
	n->len = count;
	n->end = ps->d->nnodes;
	return 0;
}

static int parse_value(struct parser *ps, uint32_t depth)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, -EINVAL, "value expected");
	switch (*ps->p) {
	case '{':
		return parse_container(ps, depth, true);
	case '[':
		return parse_container(ps, depth, false);
	case '"':
		return parse_string(ps);
	case 't':
		return parse_literal(ps, "true", JP_TRUE);
	case 'f':
		return parse_literal(ps, "false", JP_FALSE);
	case 'n':
		return parse_literal(ps, "null", JP_NULL);
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return parse_number(ps);
		return fail(ps, -EINVAL, "unexpected character 0x%02x", *ps->p);
	}
}

int jp_parse(const char *text, size_t len, const struct jp_limits *lim, struct jp_doc **out,
             char *err, size_t errlen)
{
	struct jp_limits l = lim ? *lim : (struct jp_limits){0};
	struct parser ps = {
	    .start = (const unsigned char *)text,
	    .p = (const unsigned char *)text,
	    .end = (const unsigned char *)text + len,
	    .max_depth = l.max_depth ? l.max_depth : JP_DEFAULT_DEPTH,
	    .max_nodes = l.max_nodes ? l.max_nodes : JP_DEFAULT_NODES,
	    .flags = l.flags,
	    .err = err,
	    .errlen = errlen,
	};
	size_t max_input = l.max_input ? l.max_input : JP_DEFAULT_INPUT;
	if (max_input > JP_HARD_MAX_INPUT)
		max_input = JP_HARD_MAX_INPUT;
	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (len > max_input)
		return fail(&ps, -E2BIG, "input of %zu bytes exceeds %zu", len, max_input);
	ps.d = xcalloc(1, sizeof(*ps.d));
	int rc = parse_value(&ps, 0);
	if (rc == 0) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			rc = fail(&ps, -EINVAL, "trailing characters after the JSON value");
	}
	if (rc < 0) {
		jp_free(ps.d);
		return rc;
	}
	*out = ps.d;
	return 0;
}

void jp_free(struct jp_doc *d)
{
	if (!d)
		return;
	free(d->nodes);
	free(d->pool);
	free(d);
}

const struct jp_node *jp_root(const struct jp_doc *d)
{
	return &d->nodes[0];
}

const char *jp_str(const struct jp_doc *d, const struct jp_node *n)
{
	if (n->type != JP_STRING && n->type != JP_NUMBER)
		return "";
	return d->pool + n->str;
}

bool jp_str_eq(const struct jp_doc *d, const struct jp_node *n, const char *s)
{
	size_t sl = strlen(s);
	return n->type == JP_STRING && n->len == sl && memcmp(d->pool + n->str, s, sl) == 0;
}

void jp_iter_init(struct jp_iter *it, const struct jp_doc *d, const struct jp_node *c)
{
	it->d = d;
	it->pos = (uint32_t)(c - d->nodes) + 1;
	it->left = (c->type == JP_ARRAY || c->type == JP_OBJECT) ? c->len : 0;
}

bool jp_next_member(struct jp_iter *it, const struct jp_node **key, const struct jp_node **val)
{
	if (it->left == 0)
		return false;
	const struct jp_node *k = &it->d->nodes[it->pos];
	const struct jp_node *v = &it->d->nodes[it->pos + 1];
	*key = k;
	*val = v;
	it->pos = v->end;
	it->left--;
	return true;
}

bool jp_next_item(struct jp_iter *it, const struct jp_node **val)
{
	if (it->left == 0)
		return false;
	const struct jp_node *v = &it->d->nodes[it->pos];
	*val = v;
	it->pos = v->end;
	it->left--;
	return true;
}

const struct jp_node *jp_get(const struct jp_doc *d, const struct jp_node *obj, const char *key)
{
	if (obj->type != JP_OBJECT)
		return NULL;
	struct jp_iter it;
	const struct jp_node *k, *v;
	jp_iter_init(&it, d, obj);
	while (jp_next_member(&it, &k, &v))
		if (jp_str_eq(d, k, key))
			return v;
	return NULL;
}

int jp_int64(const struct jp_doc *d, const struct jp_node *n, int64_t *out)
{
	if (n->type != JP_NUMBER || !n->is_int)
		return -EINVAL;
	const char *s = d->pool + n->str;
	bool neg = *s == '-';
	if (neg)
		s++;
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
	for (; *s; s++) {
		unsigned dig = (unsigned)(*s - '0');
		if (v > (limit - dig) / 10)
			return -ERANGE;
		v = v * 10 + dig;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}
