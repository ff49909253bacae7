/*
 * XML-RPC decoding with expat (see xmlrpc.h): a SAX state machine that builds
 * the rpc_value tree of a methodCall or methodResponse while checking the
 * structure, the scalar syntax and the limits.  It must never trust the
 * input: DOCTYPE (and with it every entity declaration) is refused, element
 * nesting, node counts and string sizes are bounded before anything grows,
 * and every error stops the parser and is reported once.  No knowledge of
 * rrd methods or their parameters lives here.
 */
#include "rpc/xmlrpc.h"

#include <errno.h>
#include <expat.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

enum fr_kind {
	F_DOC,    /* before the root element */
	F_CALL,   /* <methodCall> */
	F_RESP,   /* <methodResponse> */
	F_MNAME,  /* <methodName> */
	F_PARAMS, /* <params> */
	F_PARAM,  /* <param> */
	F_FAULT,  /* <fault> */
	F_VALUE,  /* <value> */
	F_SCALAR, /* <int> <i4> <i8> <boolean> <double> <string> */
	F_NIL,    /* <nil> */
	F_STRUCT, /* <struct> */
	F_MEMBER, /* <member> */
	F_NAME,   /* <name> */
	F_ARRAY,  /* <array> */
	F_DATA,   /* <data> */
};

struct frame {
	uint8_t kind;        /* enum fr_kind */
	uint8_t scalar;      /* F_SCALAR: enum rpc_type */
	uint8_t nchildren;   /* element children seen (saturating) */
	bool has_name;       /* F_MEMBER: <name> seen */
	struct rpc_value *v; /* F_VALUE: the slot to fill; F_STRUCT/F_ARRAY/F_DATA:
	                        the container; F_MEMBER: the struct */
};

struct rpc_xml_parser {
	XML_Parser xp;
	struct rpc_limits lim;
	struct frame *st;
	uint32_t depth, cap; /* element stack */
	uint32_t nest;       /* open struct/array elements */
	uint32_t nodes;      /* values created */
	size_t total;        /* string bytes retained */
	size_t fed;          /* input bytes seen */
	struct buf text;     /* text of the innermost text-collecting element */
	char *member_name;   /* pending <name> of the open <member> */
	struct rpc_xml_msg msg;
	bool root_done;
	int rc; /* first error, 0 if none */
	char err[256];
};

static void fail(struct rpc_xml_parser *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct rpc_xml_parser *p, int rc, const char *fmt, ...)
{
	if (p->rc)
		return;
	p->rc = rc;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, sizeof(p->err), "XML-RPC: %s (line %lu, column %lu)", msg,
	         (unsigned long)XML_GetCurrentLineNumber(p->xp),
	         (unsigned long)XML_GetCurrentColumnNumber(p->xp) + 1);
	XML_StopParser(p->xp, XML_FALSE);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool all_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_space(s[i]))
			return false;
	return true;
}

static const char *kind_name(uint8_t k)
{
	static const char *const names[] = {
	    "document", "methodCall", "methodResponse", "methodName", "params",
	    "param",    "fault",      "value",          "scalar",     "nil",
	    "struct",   "member",     "name",           "array",      "data"};
	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static struct frame *top(struct rpc_xml_parser *p)
{
	return &p->st[p->depth - 1];
}

/* Account for a new value and check the node limit. */
static bool count_node(struct rpc_xml_parser *p)
{
	if (++p->nodes > p->lim.max_nodes) {
		fail(p, -E2BIG, "more than %" PRIu32 " values", p->lim.max_nodes);
		return false;
	}
	return true;
}

static bool count_item(struct rpc_xml_parser *p, uint32_t n)
{
	if (n >= p->lim.max_members) {
		fail(p, -E2BIG, "more than %" PRIu32 " items in one array, struct or params",
		     p->lim.max_members);
		return false;
	}
	return true;
}

static bool retain(struct rpc_xml_parser *p, size_t n)
{
	p->total += n;
	if (p->total > p->lim.max_total) {
		fail(p, -E2BIG, "more than %zu bytes of strings", p->lim.max_total);
		return false;
	}
	return true;
}

static bool push(struct rpc_xml_parser *p, uint8_t kind, struct rpc_value *v)
{
	/* Element nesting is bounded by the value nesting: at most 8 levels of
	 * envelope plus 3 elements (value, struct/array, member/data) a level. */
	if (p->depth >= 8 + 3 * (p->lim.max_depth + 1)) {
		fail(p, -E2BIG, "elements nested too deeply");
		return false;
	}
	if (p->depth == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->st = xrealloc(p->st, (size_t)p->cap * sizeof(*p->st));
	}
	p->st[p->depth++] = (struct frame){.kind = kind, .v = v};
	buf_reset(&p->text);
	return true;
}

/* Where a new <value> under the current frame goes, or NULL after an error. */
static struct rpc_value *value_slot(struct rpc_xml_parser *p, struct frame *f)
{
	switch (f->kind) {
	case F_PARAM:
		if (f->nchildren > 1) {
			fail(p, -EINVAL, "more than one <value> in <param>");
			return NULL;
		}
		if (p->msg.kind == RPC_XML_RESPONSE && p->msg.params.u.a.n > 0) {
			fail(p, -EINVAL, "more than one <param> in a methodResponse");
			return NULL;
		}
		if (!count_item(p, p->msg.params.u.a.n))
			return NULL;
		return rpc_array_push(&p->msg.params, rpc_nil());
	case F_FAULT:
		if (f->nchildren > 1) {
			fail(p, -EINVAL, "more than one <value> in <fault>");
			return NULL;
		}
		return &p->msg.params;
	case F_DATA:
		if (!count_item(p, f->v->u.a.n))
			return NULL;
		return rpc_array_push(f->v, rpc_nil());
	case F_MEMBER:
		if (!f->has_name || f->nchildren > 2) {
			fail(p, -EINVAL, "<member> needs one <name> followed by one <value>");
			return NULL;
		}
		if (!count_item(p, f->v->u.st.n))
			return NULL;
		{
			struct rpc_value *slot = rpc_struct_add(f->v, p->member_name, rpc_nil());
			free(p->member_name);
			p->member_name = NULL;
			return slot;
		}
	default:
		fail(p, -EINVAL, "<value> not allowed in <%s>", kind_name(f->kind));
		return NULL;
	}
}

static int scalar_type(const char *name)
{
	if (!strcmp(name, "int") || !strcmp(name, "i4") || !strcmp(name, "i8"))
		return RPC_INT;
	if (!strcmp(name, "boolean"))
		return RPC_BOOL;
	if (!strcmp(name, "double"))
		return RPC_DOUBLE;
	if (!strcmp(name, "string"))
		return RPC_STRING;
	return -1;
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct rpc_xml_parser *p = ud;
	(void)atts; /* ocaml-rpc (xmlm) ignores attributes, so do we */
	if (p->rc)
		return;
	struct frame *f = top(p);
	if (f->nchildren < 255)
		f->nchildren++;

	switch (f->kind) {
	case F_DOC:
		if (p->root_done) {
			fail(p, -EINVAL, "more than one root element");
		} else if (!strcmp(name, "methodCall")) {
			p->msg.kind = RPC_XML_CALL;
			push(p, F_CALL, NULL);
		} else if (!strcmp(name, "methodResponse")) {
			p->msg.kind = RPC_XML_RESPONSE;
			push(p, F_RESP, NULL);
		} else {
			fail(p, -EINVAL, "root element <%s> is not methodCall or methodResponse",
			     name);
		}
		return;
	case F_CALL:
		if (!strcmp(name, "methodName") && f->nchildren == 1)
			push(p, F_MNAME, NULL);
		else if (!strcmp(name, "params") && f->nchildren == 2)
			push(p, F_PARAMS, NULL);
		else
			fail(p, -EINVAL, "unexpected <%s> in <methodCall>", name);
		return;
	case F_RESP:
		if (f->nchildren != 1) {
			fail(p, -EINVAL, "unexpected <%s> in <methodResponse>", name);
		} else if (!strcmp(name, "params")) {
			push(p, F_PARAMS, NULL);
		} else if (!strcmp(name, "fault")) {
			p->msg.kind = RPC_XML_FAULT;
			push(p, F_FAULT, NULL);
		} else {
			fail(p, -EINVAL, "unexpected <%s> in <methodResponse>", name);
		}
		return;
	case F_PARAMS:
		if (!strcmp(name, "param"))
			push(p, F_PARAM, NULL);
		else
			fail(p, -EINVAL, "unexpected <%s> in <params>", name);
		return;
	case F_PARAM:
	case F_FAULT:
	case F_DATA:
	case F_MEMBER:
		if (f->kind == F_MEMBER && !strcmp(name, "name")) {
			if (f->has_name || f->nchildren != 1) {
				fail(p, -EINVAL,
				     "<member> needs one <name> followed by one <value>");
				return;
			}
			f->has_name = true;
			push(p, F_NAME, NULL);
			return;
		}
		if (strcmp(name, "value") != 0) {
			fail(p, -EINVAL, "unexpected <%s> in <%s>", name, kind_name(f->kind));
			return;
		}
		{
			struct rpc_value *slot = value_slot(p, f);
			if (slot && count_node(p))
				push(p, F_VALUE, slot);
		}
		return;
	case F_VALUE: {
		if (f->nchildren > 1) {
			fail(p, -EINVAL, "more than one element in <value>");
			return;
		}
		if (!all_space(p->text.p, p->text.len)) {
			fail(p, -EINVAL, "text mixed with <%s> in <value>", name);
			return;
		}
		struct rpc_value *slot = f->v;
		int t = scalar_type(name);
		if (t >= 0) {
			if (push(p, F_SCALAR, slot))
				top(p)->scalar = (uint8_t)t;
		} else if (!strcmp(name, "nil")) {
			push(p, F_NIL, slot);
		} else if (!strcmp(name, "struct") || !strcmp(name, "array")) {
			if (p->nest >= p->lim.max_depth) {
				fail(p, -E2BIG, "arrays/structs nested deeper than %" PRIu32,
				     p->lim.max_depth);
				return;
			}
			p->nest++;
			bool is_struct = name[0] == 's';
			*slot = is_struct ? rpc_struct() : rpc_array();
			push(p, is_struct ? F_STRUCT : F_ARRAY, slot);
		} else {
			fail(p, -EINVAL, "unsupported value type <%s>", name);
		}
		return;
	}
	case F_STRUCT:
		if (!strcmp(name, "member"))
			push(p, F_MEMBER, f->v);
		else
			fail(p, -EINVAL, "unexpected <%s> in <struct>", name);
		return;
	case F_ARRAY:
		if (!strcmp(name, "data") && f->nchildren == 1)
			push(p, F_DATA, f->v);
		else
			fail(p, -EINVAL, "unexpected <%s> in <array>", name);
		return;
	default:
		fail(p, -EINVAL, "unexpected <%s> in <%s>", name, kind_name(f->kind));
		return;
	}
}

static bool parse_double(const char *s, double *out)
{
	if (!*s)
		return false;
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (*end || end == s)
		return false;
	/* Overflow gives +-HUGE_VAL, as OCaml's float_of_string does; underflow
	 * keeps the tiny or zero result. */
	*out = d;
	return true;
}

/* The text of the element being closed, trimmed of white space. */
static char *trimmed(struct rpc_xml_parser *p)
{
	char *s = (char *)buf_cstr(&p->text);
	size_t n = p->text.len;
	while (n && is_space(s[n - 1]))
		s[--n] = '\0';
	while (*s && is_space(*s))
		s++;
	return s;
}

static void end_scalar(struct rpc_xml_parser *p, struct frame *f)
{
	if (f->scalar == RPC_STRING) {
		if (retain(p, p->text.len))
			*f->v = rpc_string_n(p->text.p ? p->text.p : "", p->text.len);
		return;
	}
	char *s = trimmed(p);
	switch (f->scalar) {
	case RPC_INT: {
		int64_t i;
		if (rpc_parse_i64(s, &i))
			*f->v = rpc_int(i);
		else
			fail(p, -EINVAL, "bad <int> '%.40s'", s);
		return;
	}
	case RPC_BOOL:
		if (!strcmp(s, "1") || !strcmp(s, "0"))
			*f->v = rpc_bool(s[0] == '1');
		else
			fail(p, -EINVAL, "bad <boolean> '%.40s' (want 0 or 1)", s);
		return;
	case RPC_DOUBLE: {
		double d;
		if (parse_double(s, &d))
			*f->v = rpc_double(d);
		else
			fail(p, -EINVAL, "bad <double> '%.40s'", s);
		return;
	}
	default:
		return;
	}
}

static void on_end(void *ud, const XML_Char *name)
{
	struct rpc_xml_parser *p = ud;
	(void)name; /* expat guarantees it matches the start tag */
	if (p->rc)
		return;
	struct frame *f = top(p);
	switch (f->kind) {
	case F_CALL:
		if (!p->msg.method)
			fail(p, -EINVAL, "<methodCall> without <methodName>");
		break;
	case F_RESP:
		if (f->nchildren == 0)
			fail(p, -EINVAL, "empty <methodResponse>");
		else if (p->msg.kind == RPC_XML_RESPONSE && p->msg.params.u.a.n != 1)
			fail(p, -EINVAL, "a methodResponse needs exactly one <param>");
		break;
	case F_MNAME:
		if (retain(p, p->text.len))
			p->msg.method = xstrndup(p->text.p ? p->text.p : "", p->text.len);
		break;
	case F_PARAM:
		if (f->nchildren != 1)
			fail(p, -EINVAL, "<param> needs exactly one <value>");
		break;
	case F_FAULT:
		if (f->nchildren != 1)
			fail(p, -EINVAL, "<fault> needs exactly one <value>");
		break;
	case F_VALUE:
		/* Text only (or nothing): a string, exactly as written. */
		if (f->nchildren == 0 && retain(p, p->text.len))
			*f->v = rpc_string_n(p->text.p ? p->text.p : "", p->text.len);
		break;
	case F_SCALAR:
		end_scalar(p, f);
		break;
	case F_STRUCT:
	case F_ARRAY:
		p->nest--;
		break;
	case F_MEMBER:
		if (f->nchildren != 2)
			fail(p, -EINVAL, "<member> needs one <name> followed by one <value>");
		break;
	case F_NAME:
		if (retain(p, p->text.len)) {
			free(p->member_name);
			p->member_name = xstrndup(p->text.p ? p->text.p : "", p->text.len);
		}
		break;
	default:
		break;
	}
	if (p->rc)
		return;
	p->depth--;
	buf_reset(&p->text);
	if (p->depth == 1)
		p->root_done = true;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	struct rpc_xml_parser *p = ud;
	if (p->rc || len <= 0)
		return;
	struct frame *f = top(p);
	switch (f->kind) {
	case F_VALUE:
		if (f->nchildren) {
			if (!all_space(s, (size_t)len))
				fail(p, -EINVAL, "text after the typed value in <value>");
			return;
		}
		/* fall through */
	case F_SCALAR:
	case F_MNAME:
	case F_NAME:
		if (p->text.len + (size_t)len > p->lim.max_string) {
			fail(p, -E2BIG, "a string is longer than %zu bytes", p->lim.max_string);
			return;
		}
		buf_add(&p->text, s, (size_t)len);
		return;
	default:
		if (!all_space(s, (size_t)len))
			fail(p, -EINVAL, "unexpected text in <%s>", kind_name(f->kind));
		return;
	}
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal_subset)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	fail(ud, -EINVAL, "DOCTYPE is not allowed");
}

static void on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                      int value_length, const XML_Char *base, const XML_Char *sysid,
                      const XML_Char *pubid, const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_length, (void)base, (void)sysid,
	    (void)pubid, (void)notation;
	fail(ud, -EINVAL, "entity declarations are not allowed");
}

struct rpc_xml_parser *rpc_xml_parser_new(const struct rpc_limits *lim)
{
	struct rpc_xml_parser *p = xcalloc(1, sizeof(*p));
	p->lim = rpc_limits_resolve(lim);
	p->xp = XML_ParserCreate(NULL);
	if (!p->xp) {
		fprintf(stderr, "rrdd: out of memory (expat)\n");
		abort();
	}
	XML_SetUserData(p->xp, p);
	XML_SetElementHandler(p->xp, on_start, on_end);
	XML_SetCharacterDataHandler(p->xp, on_text);
	XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
	XML_SetEntityDeclHandler(p->xp, on_entity);
	XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);
	p->msg.params = rpc_array();
	push(p, F_DOC, NULL);
	return p;
}

static int xml_error(struct rpc_xml_parser *p)
{
	if (!p->rc) {
		p->rc = -EINVAL;
		snprintf(p->err, sizeof(p->err), "XML-RPC: %s (line %lu, column %lu)",
		         XML_ErrorString(XML_GetErrorCode(p->xp)),
		         (unsigned long)XML_GetCurrentLineNumber(p->xp),
		         (unsigned long)XML_GetCurrentColumnNumber(p->xp) + 1);
	}
	return p->rc;
}

int rpc_xml_parser_feed(struct rpc_xml_parser *p, const char *data, size_t len)
{
	if (p->rc)
		return p->rc;
	if (len > p->lim.max_input - p->fed) {
		p->rc = -E2BIG;
		snprintf(p->err, sizeof(p->err), "XML-RPC: request larger than %zu bytes",
		         p->lim.max_input);
		return p->rc;
	}
	p->fed += len;
	while (len) {
		int n = len > (1u << 30) ? 1 << 30 : (int)len;
		if (XML_Parse(p->xp, data, n, XML_FALSE) != XML_STATUS_OK)
			return xml_error(p);
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int rpc_xml_parser_finish(struct rpc_xml_parser *p, struct rpc_xml_msg *out)
{
	if (!p->rc && XML_Parse(p->xp, NULL, 0, XML_TRUE) != XML_STATUS_OK)
		xml_error(p);
	if (!p->rc && !p->root_done) {
		p->rc = -EINVAL;
		snprintf(p->err, sizeof(p->err), "XML-RPC: no document");
	}
	if (p->rc)
		return p->rc;
	*out = p->msg;
	p->msg = (struct rpc_xml_msg){.params = rpc_array()};
	return 0;
}

const char *rpc_xml_parser_error(const struct rpc_xml_parser *p)
{
	return p->err;
}

void rpc_xml_parser_free(struct rpc_xml_parser *p)
{
	if (!p)
		return;
	XML_ParserFree(p->xp);
	rpc_xml_msg_free(&p->msg);
	free(p->member_name);
	free(p->st);
	buf_free(&p->text);
	free(p);
}

void rpc_xml_msg_free(struct rpc_xml_msg *m)
{
	free(m->method);
	m->method = NULL;
	rpc_value_free(&m->params);
}

int rpc_xml_parse(const char *text, size_t len, const struct rpc_limits *lim,
                  struct rpc_xml_msg *out, char *err, size_t errlen)
{
	struct rpc_xml_parser *p = rpc_xml_parser_new(lim);
	int rc = rpc_xml_parser_feed(p, text, len);
	if (!rc)
		rc = rpc_xml_parser_finish(p, out);
	if (rc && errlen)
		snprintf(err, errlen, "%s", p->err);
	rpc_xml_parser_free(p);
	return rc;
}
