/*
 * Decoding and validation of a call's params into the typed arguments of a
 * method (rpc_args_decode), and rpc_call, which runs decode → backend →
 * result.  The rules are those of ocaml-rpc's Idl server and Rpcmarshal
 * (see methods.h for where we are stricter).  Untrusted input: every
 * mismatch becomes a message naming the parameter; nothing here may crash,
 * and memory is bounded by the already-limited params value.
 */
#include "rpc/methods.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

static int afail(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int afail(char *msg, size_t msglen, const char *fmt, ...)
{
	if (msglen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, msglen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A short description of v for messages: its type, and a string's start. */
static void describe(const struct rpc_value *v, char *out, size_t outlen)
{
	if (v->type == RPC_STRING)
		snprintf(out, outlen, "string \"%.40s%s\"", v->u.s.p, v->u.s.len > 40 ? "..." : "");
	else
		snprintf(out, outlen, "%s", rpc_type_name(v->type));
}

static bool parse_f64(const char *s, double *out)
{
	if (!*s)
		return false;
	char *end;
	double d = strtod(s, &end);
	if (*end)
		return false;
	*out = d;
	return true;
}

/* Float as Rpc.float_of_rpc: double, int or numeric string. */
static bool to_float(const struct rpc_value *v, double *out)
{
	switch (v->type) {
	case RPC_DOUBLE:
		*out = v->u.d;
		return true;
	case RPC_INT:
		*out = (double)v->u.i;
		return true;
	case RPC_STRING:
		return parse_f64(v->u.s.p, out);
	default:
		return false;
	}
}

/* The member of st named name or alt; -EINVAL if one is given twice. */
static int lookup(const struct rpc_value *st, const char *name, const char *alt,
                  const struct rpc_value **out)
{
	*out = NULL;
	for (uint32_t i = 0; i < st->u.st.n; i++) {
		const char *k = st->u.st.m[i].name;
		if (strcmp(k, name) == 0 || (alt && strcmp(k, alt) == 0)) {
			if (*out)
				return -EINVAL;
			*out = &st->u.st.m[i].v;
		}
	}
	return 0;
}

/* HA statefile latencies: [{id: string, latency?: float}], keys matched
 * case-insensitively and unknown keys ignored as Rpcmarshal does for
 * records; an unusable optional latency is "absent", as there. */
static int decode_lats(const struct rpc_method *m, const char *pname, const struct rpc_value *v,
                       struct rpc_args *args, union rpc_arg *out, char *msg, size_t msglen)
{
	char got[80];
	if (v->type != RPC_ARRAY) {
		describe(v, got, sizeof(got));
		return afail(msg, msglen, "parameter '%s' of %s: expected array, got %s", pname,
		             m->name, got);
	}
	size_t n = v->u.a.n;
	args->lats_storage = n ? xcalloc(n, sizeof(*args->lats_storage)) : NULL;
	for (size_t i = 0; i < n; i++) {
		const struct rpc_value *e = &v->u.a.items[i];
		struct rpc_statefile_latency *l = &args->lats_storage[i];
		if (e->type != RPC_STRUCT) {
			describe(e, got, sizeof(got));
			return afail(msg, msglen,
			             "parameter '%s' of %s: item %zu: expected struct, got %s",
			             pname, m->name, i, got);
		}
		for (uint32_t k = 0; k < e->u.st.n; k++) {
			const struct rpc_member *mem = &e->u.st.m[k];
			if (!strcasecmp(mem->name, "id") && !l->id) {
				if (mem->v.type != RPC_STRING) {
					describe(&mem->v, got, sizeof(got));
					return afail(msg, msglen,
					             "parameter '%s' of %s: item %zu: 'id' "
					             "expected string, got %s",
					             pname, m->name, i, got);
				}
				l->id = mem->v.u.s.p;
			} else if (!strcasecmp(mem->name, "latency") && !l->has_latency) {
				l->has_latency = to_float(&mem->v, &l->latency);
			}
		}
		if (!l->id)
			return afail(msg, msglen, "parameter '%s' of %s: item %zu has no 'id'",
			             pname, m->name, i);
	}
	out->lats.v = args->lats_storage;
	out->lats.n = n;
	return 0;
}

static int decode_one(const struct rpc_method *m, const struct rpc_param_spec *p,
                      const struct rpc_value *v, struct rpc_args *args, union rpc_arg *out,
                      char *msg, size_t msglen)
{
	char got[80];
	if (!v) {
		if (p->type == RPC_P_STRING_OPT) {
			out->s = NULL;
			return 0;
		}
		return afail(msg, msglen, "missing parameter '%s' of %s", p->name, m->name);
	}
	describe(v, got, sizeof(got));
	const char *want = "?";
	switch (p->type) {
	case RPC_P_STRING_OPT:
		if (v->type == RPC_NIL) {
			out->s = NULL;
			return 0;
		}
		/* fall through */
	case RPC_P_STRING:
		want = "string";
		if (v->type == RPC_STRING) {
			out->s = v->u.s.p;
			return 0;
		}
		break;
	case RPC_P_INT:
		want = "int";
		if (v->type == RPC_INT) {
			out->i = v->u.i;
			return 0;
		}
		if (v->type == RPC_STRING && rpc_parse_i64(v->u.s.p, &out->i))
			return 0;
		break;
	case RPC_P_FLOAT:
		want = "double";
		if (to_float(v, &out->d))
			return 0;
		break;
	case RPC_P_BOOL:
		want = "boolean";
		if (v->type == RPC_BOOL) {
			out->b = v->u.b;
			return 0;
		}
		break;
	case RPC_P_FREQUENCY:
		want = "Five_Seconds";
		if (v->type == RPC_STRING && !strcasecmp(v->u.s.p, "Five_Seconds")) {
			out->e = RPC_FREQ_FIVE_SECONDS;
			return 0;
		}
		break;
	case RPC_P_PROTOCOL:
		want = "V1 or V2";
		if (v->type == RPC_STRING && !strcasecmp(v->u.s.p, "V1")) {
			out->e = RPC_PROTOCOL_V1;
			return 0;
		}
		if (v->type == RPC_STRING && !strcasecmp(v->u.s.p, "V2")) {
			out->e = RPC_PROTOCOL_V2;
			return 0;
		}
		break;
	case RPC_P_STATEFILE_LATENCIES:
		return decode_lats(m, p->name, v, args, out, msg, msglen);
	default:
		break;
	}
	return afail(msg, msglen, "parameter '%s' of %s: expected %s, got %s", p->name, m->name,
	             want, got);
}

int rpc_args_decode(const struct rpc_method *m, const struct rpc_value *params,
                    struct rpc_args *args, char *msg, size_t msglen)
{
	memset(args, 0, sizeof(*args));
	if (params->type != RPC_ARRAY)
		return afail(msg, msglen, "%s: params are not a list", m->name);
	const struct rpc_value *items = params->u.a.items;
	uint32_t n = params->u.a.n, pos = 0;
	const struct rpc_value *dict = NULL;
	bool has_named = false;
	for (unsigned i = 0; i < m->nparams; i++)
		has_named |= m->params[i].name != NULL;
	if (has_named) {
		if (n == 0 || items[0].type != RPC_STRUCT) {
			char got[80] = "nothing";
			if (n)
				describe(&items[0], got, sizeof(got));
			return afail(
			    msg, msglen,
			    "%s: expected a struct of named parameters as the first param, got %s",
			    m->name, got);
		}
		dict = &items[0];
		pos = 1;
	}
	for (unsigned i = 0; i < m->nparams; i++) {
		const struct rpc_param_spec *p = &m->params[i];
		if (p->type == RPC_P_UNIT) {
			/* Absent is accepted; present must be nil (or, for a call
			 * without named parameters, an empty struct: JSON-RPC 2.0
			 * clients send "params":{}). */
			if (pos < n) {
				const struct rpc_value *v = &items[pos++];
				if (v->type != RPC_NIL &&
				    !(!has_named && v->type == RPC_STRUCT && v->u.st.n == 0)) {
					char got[80];
					describe(v, got, sizeof(got));
					return afail(msg, msglen,
					             "%s: param %u must be nil, got %s", m->name,
					             pos, got);
				}
			}
			continue;
		}
		const struct rpc_value *v;
		if (lookup(dict, p->name, p->alt_name, &v) != 0)
			return afail(msg, msglen, "parameter '%s' of %s is given more than once",
			             p->name, m->name);
		int rc = decode_one(m, p, v, args, &args->a[i], msg, msglen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void rpc_args_free(struct rpc_args *args)
{
	free(args->lats_storage);
	args->lats_storage = NULL;
}

int rpc_call(const struct rpc_backend *be, const char *name, const struct rpc_value *params,
             struct rpc_value *result, struct rpc_err *err)
{
	*result = rpc_nil();
	const struct rpc_method *m = rpc_method_find(name);
	if (!m) {
		rpc_err_set(err, RPC_ERR_INTERNAL, "unknown method '%.200s'", name);
		return RPC_CALL_UNKNOWN;
	}
	struct rpc_args args;
	char msg[400];
	if (rpc_args_decode(m, params, &args, msg, sizeof(msg)) != 0) {
		rpc_args_free(&args);
		rpc_err_set(err, RPC_ERR_INTERNAL, "%s", msg);
		return RPC_CALL_BAD_PARAMS;
	}
	int rc = m->invoke(be, &args, result, err);
	rpc_args_free(&args);
	if (rc != 0 || err->kind != RPC_ERR_NONE) {
		rpc_err_set(err, RPC_ERR_INTERNAL, "%s failed (%d)", m->name, rc);
		rpc_value_free(result);
		return RPC_CALL_FAILED;
	}
	return RPC_CALL_OK;
}
