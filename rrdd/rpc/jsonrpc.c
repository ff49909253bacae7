/*
 * JSON-RPC decoding and encoding (see jsonrpc.h).  Decoding converts the
 * strict parser's tape (util/json_parse.h) into rpc_value trees under the
 * RPC limits, then checks the request envelope the way ocaml-rpc's
 * Jsonrpc.version_id_and_call_of_string does.  Encoding writes compact JSON
 * as Yojson does.  Knows nothing about rrd methods; pure, no I/O.
 */
#include "rpc/jsonrpc.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_parse.h"
#include "util/xalloc.h"
#include "util/utf8.h"

struct conv {
	const struct jp_doc *d;
	struct rpc_limits lim;
	size_t total;
	char *err;
	size_t errlen;
};

static int cfail(struct conv *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cfail(struct conv *c, int rc, const char *fmt, ...)
{
	if (c->errlen) {
		char msg[200];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(c->err, c->errlen, "JSON-RPC: %s", msg);
	}
	return rc;
}

static int conv_string(struct conv *c, const struct jp_node *n, const char *what)
{
	if (n->len > c->lim.max_string)
		return cfail(c, -E2BIG, "a %s is longer than %zu bytes", what, c->lim.max_string);
	if (memchr(jp_str(c->d, n), '\0', n->len))
		return cfail(c, -EINVAL, "a %s contains a NUL character", what);
	c->total += n->len;
	if (c->total > c->lim.max_total)
		return cfail(c, -E2BIG, "more than %zu bytes of strings", c->lim.max_total);
	return 0;
}

static int conv(struct conv *c, const struct jp_node *n, struct rpc_value *out)
{
	int rc;
	struct jp_iter it;
	*out = rpc_nil();
	switch (n->type) {
	case JP_NULL:
		return 0;
	case JP_FALSE:
	case JP_TRUE:
		*out = rpc_bool(n->type == JP_TRUE);
		return 0;
	case JP_NUMBER:
		if (n->is_int) {
			int64_t i;
			if (jp_int64(c->d, n, &i) != 0)
				return cfail(c, -EINVAL, "integer %.40s out of range",
				             jp_str(c->d, n));
			*out = rpc_int(i);
		} else {
			*out = rpc_double(n->num);
		}
		return 0;
	case JP_STRING:
		if ((rc = conv_string(c, n, "string")) != 0)
			return rc;
		*out = rpc_string_n(jp_str(c->d, n), n->len);
		return 0;
	case JP_ARRAY: {
		if (n->len > c->lim.max_members)
			return cfail(c, -E2BIG, "more than %" PRIu32 " items in an array",
			             c->lim.max_members);
		const struct jp_node *item;
		*out = rpc_array();
		jp_iter_init(&it, c->d, n);
		while (jp_next_item(&it, &item)) {
			struct rpc_value *slot = rpc_array_push(out, rpc_nil());
			if ((rc = conv(c, item, slot)) != 0)
				return rc;
		}
		return 0;
	}
	case JP_OBJECT: {
		if (n->len > c->lim.max_members)
			return cfail(c, -E2BIG, "more than %" PRIu32 " members in an object",
			             c->lim.max_members);
		const struct jp_node *key, *val;
		*out = rpc_struct();
		jp_iter_init(&it, c->d, n);
		while (jp_next_member(&it, &key, &val)) {
			if ((rc = conv_string(c, key, "member name")) != 0)
				return rc;
			struct rpc_value *slot = rpc_struct_add(out, jp_str(c->d, key), rpc_nil());
			if ((rc = conv(c, val, slot)) != 0)
				return rc;
		}
		return 0;
	}
	}
	return cfail(c, -EINVAL, "bad node");
}

/* Parse text and convert the root; extra_depth allows for the envelope. */
static int parse_tree(const char *text, size_t len, const struct rpc_limits *lim,
                      uint32_t extra_depth, struct rpc_value *out, char *err, size_t errlen)
{
	struct conv c = {.lim = rpc_limits_resolve(lim), .err = err, .errlen = errlen};
	*out = rpc_nil();
	if (errlen)
		err[0] = '\0';
	struct jp_limits jl = {
	    .max_depth = c.lim.max_depth + extra_depth,
	    /* Object keys are nodes of their own in the tape. */
	    .max_nodes =
	        c.lim.max_nodes > UINT32_MAX / 2 - 8 ? UINT32_MAX : c.lim.max_nodes * 2 + 8,
	    .max_input = c.lim.max_input,
	};
	struct jp_doc *d = NULL;
	char jerr[160];
	int rc = jp_parse(text, len, &jl, &d, jerr, sizeof(jerr));
	if (rc != 0)
		return cfail(&c, rc, "%s", jerr);
	c.d = d;
	rc = conv(&c, jp_root(d), out);
	jp_free(d);
	if (rc != 0)
		rpc_value_free(out);
	return rc;
}

int rpc_json_parse_value(const char *text, size_t len, const struct rpc_limits *lim,
                         struct rpc_value *out, char *err, size_t errlen)
{
	return parse_tree(text, len, lim, 0, out, err, errlen);
}

void rpc_json_call_free(struct rpc_json_call *c)
{
	free(c->method);
	c->method = NULL;
	rpc_value_free(&c->params);
	rpc_value_free(&c->id);
}

static int efail(char *err, size_t errlen, int rc, const char *msg)
{
	if (errlen)
		snprintf(err, errlen, "JSON-RPC: %s", msg);
	return rc;
}

int rpc_json_parse_call(const char *text, size_t len, const struct rpc_limits *lim,
                        struct rpc_json_call *out, char *err, size_t errlen)
{
	*out = (struct rpc_json_call){.version = RPC_JSON_V1, .params = rpc_array()};
	struct rpc_value root;
	/* Two levels for the envelope: the request object and its params. */
	int rc = parse_tree(text, len, lim, 2, &root, err, errlen);
	if (rc != 0)
		return rc;
	if (root.type != RPC_STRUCT) {
		rpc_value_free(&root);
		return efail(err, errlen, -EPROTO, "the request is not a JSON object");
	}
	const struct rpc_value *method = NULL, *params = NULL, *id = NULL, *ver = NULL;
	bool has_params = false;
	for (uint32_t i = 0; i < root.u.st.n; i++) {
		const struct rpc_member *m = &root.u.st.m[i];
		const struct rpc_value **slot = !strcmp(m->name, "method")    ? &method
		                                : !strcmp(m->name, "params")  ? &params
		                                : !strcmp(m->name, "id")      ? &id
		                                : !strcmp(m->name, "jsonrpc") ? &ver
		                                                              : NULL;
		if (!slot)
			continue; /* unknown members are ignored, as ocaml-rpc does */
		if (*slot) {
			char msg[80];
			snprintf(msg, sizeof(msg), "duplicate member \"%s\"", m->name);
			rpc_value_free(&root);
			return efail(err, errlen, -EPROTO, msg);
		}
		*slot = &m->v;
		has_params |= slot == &params;
	}
	const char *bad = NULL;
	if (ver) {
		if (ver->type == RPC_STRING && !strcmp(ver->u.s.p, "2.0"))
			out->version = RPC_JSON_V2;
		else
			bad = "invalid field 'jsonrpc' (want \"2.0\")";
	}
	if (id && id->type != RPC_NIL) {
		if (id->type == RPC_INT || id->type == RPC_STRING)
			out->id = rpc_value_copy(id);
		else if (!bad)
			bad = "invalid field 'id' (want an integer or a string)";
	}
	if (!bad) {
		if (!method)
			bad = "required field 'method' is missing";
		else if (method->type != RPC_STRING)
			bad = "invalid field 'method' (want a string)";
	}
	if (!bad) {
		if (params && params->type == RPC_ARRAY) {
			out->params = rpc_value_copy(params);
		} else if (out->version == RPC_JSON_V2 && params && params->type == RPC_STRUCT) {
			rpc_array_push(&out->params, rpc_value_copy(params));
		} else if (out->version == RPC_JSON_V2 && (!params || params->type == RPC_NIL)) {
			/* no params */
		} else {
			bad = !has_params ? "required field 'params' is missing"
			                  : "invalid field 'params' (want an array)";
		}
	}
	if (!bad)
		out->method = xstrndup(method->u.s.p, method->u.s.len);
	rpc_value_free(&root);
	return bad ? efail(err, errlen, -EPROTO, bad) : 0;
}

/* ---- encoding ---- */

void rpc_json_write_string(struct buf *b, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	buf_addc(b, '"');
	size_t run = 0, i = 0;
	while (i < len) {
		unsigned c = u[i];
		size_t adv = 1;
		char esc[8];
		const char *rep = NULL;
		if (c == '"')
			rep = "\\\"";
		else if (c == '\\')
			rep = "\\\\";
		else if (c == '\n')
			rep = "\\n";
		else if (c == '\r')
			rep = "\\r";
		else if (c == '\t')
			rep = "\\t";
		else if (c == '\b')
			rep = "\\b";
		else if (c == '\f')
			rep = "\\f";
		else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			rep = esc;
		} else if (c >= 0x80) {
			adv = utf8_seq_len(u + i, len - i);
			if (!adv) {
				rep = "\xef\xbf\xbd";
				adv = 1;
			}
		}
		if (rep) {
			buf_add(b, s + run, i - run);
			buf_adds(b, rep);
			run = i + adv;
		}
		i += adv;
	}
	buf_add(b, s + run, len - run);
	buf_addc(b, '"');
}

static void write_double(struct buf *b, double d)
{
	if (!isfinite(d)) {
		buf_adds(b, isnan(d) ? "\"nan\"" : d < 0 ? "\"-inf\"" : "\"inf\"");
		return;
	}
	char tmp[40];
	int n = snprintf(tmp, sizeof(tmp), "%.16g", d);
	if (strtod(tmp, NULL) != d)
		n = snprintf(tmp, sizeof(tmp), "%.17g", d);
	buf_add(b, tmp, (size_t)n);
	/* Yojson marks integral values as floats with ".0". */
	if (strspn(tmp, "-0123456789") == (size_t)n)
		buf_adds(b, ".0");
}

void rpc_json_write_value(struct buf *b, const struct rpc_value *v)
{
	switch (v->type) {
	case RPC_NIL:
		buf_adds(b, "null");
		return;
	case RPC_BOOL:
		buf_adds(b, v->u.b ? "true" : "false");
		return;
	case RPC_INT:
		buf_printf(b, "%" PRId64, v->u.i);
		return;
	case RPC_DOUBLE:
		write_double(b, v->u.d);
		return;
	case RPC_STRING:
		rpc_json_write_string(b, v->u.s.p, v->u.s.len);
		return;
	case RPC_ARRAY:
		buf_addc(b, '[');
		for (uint32_t i = 0; i < v->u.a.n; i++) {
			if (i)
				buf_addc(b, ',');
			rpc_json_write_value(b, &v->u.a.items[i]);
		}
		buf_addc(b, ']');
		return;
	case RPC_STRUCT:
		buf_addc(b, '{');
		for (uint32_t i = 0; i < v->u.st.n; i++) {
			if (i)
				buf_addc(b, ',');
			rpc_json_write_string(b, v->u.st.m[i].name, strlen(v->u.st.m[i].name));
			buf_addc(b, ':');
			rpc_json_write_value(b, &v->u.st.m[i].v);
		}
		buf_addc(b, '}');
		return;
	}
}

static void write_id(struct buf *b, const struct rpc_value *id)
{
	buf_adds(b, ",\"id\":");
	if (id)
		rpc_json_write_value(b, id);
	else
		buf_adds(b, "null");
	buf_addc(b, '}');
}

void rpc_json_write_call(struct buf *b, enum rpc_json_version ver, const char *method,
                         const struct rpc_value *params, const struct rpc_value *id)
{
	buf_adds(b, ver == RPC_JSON_V2 ? "{\"jsonrpc\":\"2.0\",\"method\":" : "{\"method\":");
	rpc_json_write_string(b, method, strlen(method));
	buf_adds(b, ",\"params\":");
	if (params)
		rpc_json_write_value(b, params);
	else
		buf_adds(b, "[]");
	if (id) {
		buf_adds(b, ",\"id\":");
		rpc_json_write_value(b, id);
	}
	buf_addc(b, '}');
}

void rpc_json_write_success(struct buf *b, enum rpc_json_version ver, const struct rpc_value *id,
                            const struct rpc_value *result)
{
	buf_adds(b, ver == RPC_JSON_V2 ? "{\"jsonrpc\":\"2.0\",\"result\":" : "{\"result\":");
	rpc_json_write_value(b, result);
	if (ver != RPC_JSON_V2)
		buf_adds(b, ",\"error\":null");
	write_id(b, id);
}

void rpc_json_write_failure(struct buf *b, enum rpc_json_version ver, const struct rpc_value *id,
                            int code, const char *message, const struct rpc_value *err)
{
	if (ver == RPC_JSON_V2) {
		buf_printf(b, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":", code);
		rpc_json_write_string(b, message, strlen(message));
		if (err) {
			buf_adds(b, ",\"data\":");
			rpc_json_write_value(b, err);
		}
		buf_addc(b, '}');
	} else {
		buf_adds(b, "{\"result\":null,\"error\":");
		if (err)
			rpc_json_write_value(b, err);
		else
			rpc_json_write_string(b, message, strlen(message));
	}
	write_id(b, id);
}
