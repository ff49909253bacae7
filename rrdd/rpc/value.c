/*
 * The RPC value model (see value.h): constructors, lookup, copy, equality and
 * release.  No parsing or printing here, and no limits: the decoders check
 * those before they build anything.
 */
#include "rpc/value.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct rpc_limits rpc_limits_resolve(const struct rpc_limits *lim)
{
	struct rpc_limits r = lim ? *lim : (struct rpc_limits){0};
	if (!r.max_input)
		r.max_input = 1u << 20;
	if (!r.max_depth)
		r.max_depth = 32;
	if (!r.max_nodes)
		r.max_nodes = 65536;
	if (!r.max_members)
		r.max_members = 16384;
	if (!r.max_string)
		r.max_string = 64u << 10;
	if (!r.max_total)
		r.max_total = 4u << 20;
	return r;
}

const char *rpc_type_name(enum rpc_type t)
{
	switch (t) {
	case RPC_NIL:
		return "nil";
	case RPC_BOOL:
		return "boolean";
	case RPC_INT:
		return "int";
	case RPC_DOUBLE:
		return "double";
	case RPC_STRING:
		return "string";
	case RPC_ARRAY:
		return "array";
	case RPC_STRUCT:
		return "struct";
	}
	return "?";
}

struct rpc_value rpc_nil(void)
{
	return (struct rpc_value){.type = RPC_NIL};
}

struct rpc_value rpc_bool(bool b)
{
	return (struct rpc_value){.type = RPC_BOOL, .u.b = b};
}

struct rpc_value rpc_int(int64_t i)
{
	return (struct rpc_value){.type = RPC_INT, .u.i = i};
}

struct rpc_value rpc_double(double d)
{
	return (struct rpc_value){.type = RPC_DOUBLE, .u.d = d};
}

struct rpc_value rpc_string_n(const char *s, size_t len)
{
	struct rpc_value v = {.type = RPC_STRING};
	v.u.s.p = xmalloc(len + 1);
	if (len)
		memcpy(v.u.s.p, s, len);
	v.u.s.p[len] = '\0';
	v.u.s.len = len;
	return v;
}

struct rpc_value rpc_string(const char *s)
{
	return rpc_string_n(s, strlen(s));
}

struct rpc_value rpc_array(void)
{
	return (struct rpc_value){.type = RPC_ARRAY};
}

struct rpc_value rpc_struct(void)
{
	return (struct rpc_value){.type = RPC_STRUCT};
}

struct rpc_value *rpc_array_push(struct rpc_value *arr, struct rpc_value v)
{
	if (arr->u.a.n == arr->u.a.cap) {
		uint32_t cap = arr->u.a.cap ? arr->u.a.cap * 2 : 4;
		arr->u.a.items = xrealloc(arr->u.a.items, (size_t)cap * sizeof(*arr->u.a.items));
		arr->u.a.cap = cap;
	}
	arr->u.a.items[arr->u.a.n] = v;
	return &arr->u.a.items[arr->u.a.n++];
}

struct rpc_value *rpc_struct_add(struct rpc_value *st, const char *name, struct rpc_value v)
{
	if (st->u.st.n == st->u.st.cap) {
		uint32_t cap = st->u.st.cap ? st->u.st.cap * 2 : 4;
		st->u.st.m = xrealloc(st->u.st.m, (size_t)cap * sizeof(*st->u.st.m));
		st->u.st.cap = cap;
	}
	struct rpc_member *m = &st->u.st.m[st->u.st.n++];
	m->name = xstrdup(name);
	m->v = v;
	return &m->v;
}

const struct rpc_value *rpc_struct_get(const struct rpc_value *st, const char *name)
{
	if (!st || st->type != RPC_STRUCT)
		return NULL;
	for (uint32_t i = 0; i < st->u.st.n; i++)
		if (strcmp(st->u.st.m[i].name, name) == 0)
			return &st->u.st.m[i].v;
	return NULL;
}

void rpc_value_free(struct rpc_value *v)
{
	switch (v->type) {
	case RPC_STRING:
		free(v->u.s.p);
		break;
	case RPC_ARRAY:
		for (uint32_t i = 0; i < v->u.a.n; i++)
			rpc_value_free(&v->u.a.items[i]);
		free(v->u.a.items);
		break;
	case RPC_STRUCT:
		for (uint32_t i = 0; i < v->u.st.n; i++) {
			free(v->u.st.m[i].name);
			rpc_value_free(&v->u.st.m[i].v);
		}
		free(v->u.st.m);
		break;
	default:
		break;
	}
	*v = rpc_nil();
}

bool rpc_value_equal(const struct rpc_value *a, const struct rpc_value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case RPC_NIL:
		return true;
	case RPC_BOOL:
		return a->u.b == b->u.b;
	case RPC_INT:
		return a->u.i == b->u.i;
	case RPC_DOUBLE:
		if (isnan(a->u.d) || isnan(b->u.d))
			return isnan(a->u.d) && isnan(b->u.d);
		return a->u.d == b->u.d && signbit(a->u.d) == signbit(b->u.d);
	case RPC_STRING:
		return a->u.s.len == b->u.s.len && memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
	case RPC_ARRAY:
		if (a->u.a.n != b->u.a.n)
			return false;
		for (uint32_t i = 0; i < a->u.a.n; i++)
			if (!rpc_value_equal(&a->u.a.items[i], &b->u.a.items[i]))
				return false;
		return true;
	case RPC_STRUCT:
		if (a->u.st.n != b->u.st.n)
			return false;
		for (uint32_t i = 0; i < a->u.st.n; i++)
			if (strcmp(a->u.st.m[i].name, b->u.st.m[i].name) != 0 ||
			    !rpc_value_equal(&a->u.st.m[i].v, &b->u.st.m[i].v))
				return false;
		return true;
	}
	return false;
}

struct rpc_value rpc_value_copy(const struct rpc_value *v)
{
	struct rpc_value r;
	switch (v->type) {
	case RPC_STRING:
		return rpc_string_n(v->u.s.p, v->u.s.len);
	case RPC_ARRAY:
		r = rpc_array();
		for (uint32_t i = 0; i < v->u.a.n; i++)
			rpc_array_push(&r, rpc_value_copy(&v->u.a.items[i]));
		return r;
	case RPC_STRUCT:
		r = rpc_struct();
		for (uint32_t i = 0; i < v->u.st.n; i++)
			rpc_struct_add(&r, v->u.st.m[i].name, rpc_value_copy(&v->u.st.m[i].v));
		return r;
	default:
		return *v;
	}
}

bool rpc_parse_i64(const char *s, int64_t *out)
{
	const char *q = s;
	bool neg = false;
	if (*q == '-' || *q == '+')
		neg = *q++ == '-';
	if (!*q)
		return false;
	uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *q; q++) {
		if (*q < '0' || *q > '9')
			return false;
		unsigned d = (unsigned)(*q - '0');
		if (acc > (lim - d) / 10)
			return false;
		acc = acc * 10 + d;
	}
	*out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return true;
}
