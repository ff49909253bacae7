/*
 * Plugin metadata: the JSON {"datasources": {name: {...}}} of a V2 page (and
 * the whole JSON payload of a V1 page) turned into datasource descriptors
 * with the defaults and rules of wire-format.md §6.4 (xcp-rrdd's uninitialised_ds_of_rpc
 * for V2, ds_of_rpc for V1).
 *
 * The datasources object is read as an ordered multimap (duplicate names are
 * kept, in order); inside one datasource the first occurrence of a key wins
 * (OCaml List.assoc).  Known keys must hold JSON strings ("value" in V1 may
 * also be a number); unknown keys, and "value" in V2, are ignored.
 *
 * Pure: no I/O, no logging; errors come back as PLG_E_PAYLOAD plus a message.
 */
#include "plugin/proto.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/json_parse.h"
#include "util/xalloc.h"

/* Metadata is at most a few hundred KiB in practice; the limits only bound
 * the work on hostile input (the page itself bounds the size). */
#define META_MAX_DEPTH 16u

struct mctx {
	const struct jp_doc *d;
	bool v1;
	struct buf pool; /* strings, NUL-separated; offsets fixed up at the end */
	char *err;
	size_t errlen;
	const char *dsname; /* for messages */
};

/* Offsets into the pool are stored in the pointer fields until the end. */
#define OFF2PTR(off) ((const char *)(uintptr_t)(off))
#define PTR2OFF(p)   ((size_t)(uintptr_t)(p))

static int perr(struct mctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(struct mctx *c, const char *fmt, ...)
{
	if (c->errlen == 0)
		return PLG_E_PAYLOAD;
	size_t k = 0;
	if (c->dsname) {
		/* Quote the name with non-printable bytes replaced. */
		char safe[48];
		size_t i;
		for (i = 0; c->dsname[i] && i < sizeof(safe) - 1; i++) {
			unsigned char ch = (unsigned char)c->dsname[i];
			safe[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
		}
		safe[i] = '\0';
		int w = snprintf(c->err, c->errlen, "datasource \"%s%s\": ", safe,
		                 c->dsname[i] ? "..." : "");
		if (w > 0)
			k = (size_t)w < c->errlen ? (size_t)w : c->errlen - 1;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err + k, c->errlen - k, fmt, ap);
	va_end(ap);
	return PLG_E_PAYLOAD;
}

static size_t pool_add(struct mctx *c, const char *s, size_t n)
{
	size_t off = c->pool.len;
	buf_add(&c->pool, s, n);
	buf_addc(&c->pool, '\0');
	return off;
}

static char ascii_lower(char ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static bool ascii_case_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	return *a == *b;
}

/* OCaml float_of_string, approximately: the whole text must be a strtod
 * number (decimal, hex, inf, infinity, nan), no surrounding space. */
static bool float_of_text(const char *s, size_t len, double *out)
{
	if (len == 0 || strlen(s) != len || s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
		return false;
	char *end;
	double v = strtod(s, &end);
	if (end != s + len)
		return false;
	*out = v;
	return true;
}

/* OCaml Int64.of_string, approximately: optional sign, decimal digits or
 * 0x-prefixed hex digits (hex may use all 64 bits), no overflow. */
static bool int64_of_text(const char *s, size_t len, int64_t *out)
{
	if (len == 0 || strlen(s) != len)
		return false;
	bool neg = false;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	uint64_t v = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		if (!*s)
			return false;
		for (; *s; s++) {
			unsigned dig;
			if (*s >= '0' && *s <= '9')
				dig = (unsigned)(*s - '0');
			else if (*s >= 'a' && *s <= 'f')
				dig = (unsigned)(*s - 'a' + 10);
			else if (*s >= 'A' && *s <= 'F')
				dig = (unsigned)(*s - 'A' + 10);
			else
				return false;
			if (v >> 60)
				return false;
			v = v * 16 + dig;
		}
		*out = (int64_t)(neg ? 0 - v : v);
		return true;
	}
	if (!*s)
		return false;
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned dig = (unsigned)(*s - '0');
		if (v > (limit - dig) / 10)
			return false;
		v = v * 10 + dig;
	}
	*out = (int64_t)(neg ? 0 - v : v);
	return true;
}

/* The first member called key of the DS object: a string, or def if absent.
 * Returns 0, or PLG_E_PAYLOAD if present but not a JSON string. */
static int get_str(struct mctx *c, const struct jp_node *obj, const char *key, const char *def,
                   const char **s, size_t *len)
{
	const struct jp_node *v = jp_get(c->d, obj, key);
	if (!v) {
		*s = def;
		*len = strlen(def);
		return 0;
	}
	if (v->type != JP_STRING)
		return perr(c, "\"%s\" is not a JSON string", key);
	*s = jp_str(c->d, v);
	*len = v->len;
	return 0;
}

static int parse_owner(struct mctx *c, const char *s, size_t len, struct plg_ds *ds)
{
	char tmp[256];
	if (len >= sizeof(tmp) || strlen(s) != len)
		return perr(c, "owner is too long or contains NUL");
	for (size_t i = 0; i <= len; i++)
		tmp[i] = ascii_lower(s[i]);
	if (strcmp(tmp, "host") == 0) {
		ds->owner = MON_HOST;
		ds->uuid = OFF2PTR(pool_add(c, "", 0));
		return 0;
	}
	const char *uuid = NULL;
	if (strncmp(tmp, "vm ", 3) == 0) {
		ds->owner = MON_VM;
		uuid = tmp + 3;
	} else if (strncmp(tmp, "sr ", 3) == 0) {
		ds->owner = MON_SR;
		uuid = tmp + 3;
	}
	/* xcp-rrdd splits on single spaces: exactly two non-empty words. */
	if (!uuid || !*uuid || strchr(uuid, ' '))
		return perr(c, "owner \"%.64s\" is not host, \"vm <uuid>\" or \"sr <uuid>\"", tmp);
	ds->uuid = OFF2PTR(pool_add(c, uuid, strlen(uuid)));
	return 0;
}

static int parse_value_v1(struct mctx *c, const struct jp_node *v, struct plg_ds *ds)
{
	if (!v)
		return perr(c, "\"value\" is missing");
	if (ds->value_type == VAL_FLOAT) {
		double f;
		if (v->type == JP_NUMBER)
			f = v->num;
		else if (v->type != JP_STRING || !float_of_text(jp_str(c->d, v), v->len, &f))
			return perr(c, "\"value\" is not a float");
		ds->value = DSVAL_FLT(f);
		return 0;
	}
	int64_t i;
	if (v->type == JP_NUMBER) {
		if (jp_int64(c->d, v, &i) < 0)
			return perr(c, "\"value\" is not an int64");
	} else if (v->type != JP_STRING || !int64_of_text(jp_str(c->d, v), v->len, &i)) {
		return perr(c, "\"value\" is not an int64");
	}
	ds->value = DSVAL_INT(i);
	return 0;
}

static int parse_ds(struct mctx *c, const struct jp_node *key, const struct jp_node *obj,
                    struct plg_ds *ds)
{
	const char *name = jp_str(c->d, key), *s;
	size_t len;
	int rc;

	c->dsname = name;
	if (key->len == 0 || strlen(name) != key->len)
		return perr(c, "datasource name is empty or contains NUL");
	if (obj->type != JP_OBJECT)
		return perr(c, "not a JSON object");
	memset(ds, 0, sizeof(*ds));
	ds->name = OFF2PTR(pool_add(c, name, key->len));

	if ((rc = get_str(c, obj, "description", "", &s, &len)) < 0)
		return rc;
	if (strlen(s) != len)
		return perr(c, "description contains NUL");
	ds->description = OFF2PTR(pool_add(c, s, len));

	if ((rc = get_str(c, obj, "units", "", &s, &len)) < 0)
		return rc;
	if (strlen(s) != len)
		return perr(c, "units contain NUL");
	ds->units = OFF2PTR(pool_add(c, s, len));

	if ((rc = get_str(c, obj, "type", "absolute", &s, &len)) < 0)
		return rc;
	if (ascii_case_eq(s, "gauge"))
		ds->type = DS_GAUGE;
	else if (ascii_case_eq(s, "absolute"))
		ds->type = DS_ABSOLUTE;
	else if (ascii_case_eq(s, "derive"))
		ds->type = DS_DERIVE;
	else
		return perr(c, "type \"%.32s\" is not gauge, absolute or derive", s);
	if (strlen(s) != len)
		return perr(c, "type contains NUL");

	if (c->v1) {
		/* V1: optional, case-insensitive, default float. */
		if ((rc = get_str(c, obj, "value_type", "float", &s, &len)) < 0)
			return rc;
		if (strlen(s) == len && ascii_case_eq(s, "float"))
			ds->value_type = VAL_FLOAT;
		else if (strlen(s) == len && ascii_case_eq(s, "int64"))
			ds->value_type = VAL_INT64;
		else
			return perr(c, "value_type \"%.32s\" is not float or int64", s);
	} else {
		/* V2: required, exact. */
		const struct jp_node *vt = jp_get(c->d, obj, "value_type");
		if (!vt)
			return perr(c, "\"value_type\" is missing");
		if (vt->type != JP_STRING)
			return perr(c, "\"value_type\" is not a JSON string");
		if (jp_str_eq(c->d, vt, "float"))
			ds->value_type = VAL_FLOAT;
		else if (jp_str_eq(c->d, vt, "int64"))
			ds->value_type = VAL_INT64;
		else
			return perr(c,
			            "value_type \"%.32s\" is not float or int64 (case-sensitive)",
			            jp_str(c->d, vt));
	}

	if ((rc = get_str(c, obj, "min", "-infinity", &s, &len)) < 0)
		return rc;
	if (!float_of_text(s, len, &ds->min))
		return perr(c, "min \"%.32s\" is not a float", s);
	if ((rc = get_str(c, obj, "max", "infinity", &s, &len)) < 0)
		return rc;
	if (!float_of_text(s, len, &ds->max))
		return perr(c, "max \"%.32s\" is not a float", s);

	if ((rc = get_str(c, obj, "owner", "host", &s, &len)) < 0)
		return rc;
	if ((rc = parse_owner(c, s, len, ds)) < 0)
		return rc;

	if ((rc = get_str(c, obj, "default", "false", &s, &len)) < 0)
		return rc;
	if (strcmp(s, "true") == 0 && len == 4)
		ds->is_default = true;
	else if (strcmp(s, "false") == 0 && len == 5)
		ds->is_default = false;
	else
		return perr(c, "default \"%.32s\" is not true or false", s);

	ds->transform = TR_IDENTITY;
	if (c->v1) {
		/* xcp-rrdd's V1 reader ignores "transform". */
		return parse_value_v1(c, jp_get(c->d, obj, "value"), ds);
	}
	if ((rc = get_str(c, obj, "transform", "identity", &s, &len)) < 0)
		return rc;
	if (strcmp(s, "inverse") == 0 && len == 7)
		ds->transform = TR_INVERSE;
	else if (!(strcmp(s, "identity") == 0 && len == 8))
		return perr(c, "transform \"%.32s\" is not identity or inverse", s);
	ds->value = ds->value_type == VAL_INT64 ? DSVAL_INT(0) : DSVAL_FLT(0.0);
	return 0;
}

/* Fill m from the "datasources" object of the document root. */
static int parse_datasources(struct mctx *c, const struct jp_node *root, struct plg_meta *m)
{
	if (root->type != JP_OBJECT)
		return perr(c, "metadata is not a JSON object");
	const struct jp_node *dss = jp_get(c->d, root, "datasources");
	if (!dss)
		return perr(c, "\"datasources\" is missing");
	if (dss->type != JP_OBJECT)
		return perr(c, "\"datasources\" is not a JSON object");

	struct plg_ds *ds = dss->len ? xcalloc(dss->len, sizeof(*ds)) : NULL;
	struct jp_iter it;
	const struct jp_node *k, *v;
	size_t i = 0;
	jp_iter_init(&it, c->d, dss);
	while (jp_next_member(&it, &k, &v)) {
		int rc = parse_ds(c, k, v, &ds[i]);
		if (rc < 0) {
			free(ds);
			return rc;
		}
		i++;
	}
	c->dsname = NULL;
	/* Fix up the string offsets now that the pool no longer moves. */
	const char *base = buf_cstr(&c->pool);
	for (size_t j = 0; j < i; j++) {
		ds[j].name = base + PTR2OFF(ds[j].name);
		ds[j].uuid = base + PTR2OFF(ds[j].uuid);
		ds[j].units = base + PTR2OFF(ds[j].units);
		ds[j].description = base + PTR2OFF(ds[j].description);
	}
	m->n = i;
	m->ds = ds;
	m->pool = c->pool.p;
	c->pool = BUF_INIT;
	return 0;
}

static int parse_doc(const char *json, size_t len, struct mctx *c, struct jp_doc **doc)
{
	char jerr[160];
	struct jp_limits lim = {.max_depth = META_MAX_DEPTH};
	int rc = jp_parse(json, len, &lim, doc, jerr, sizeof(jerr));
	if (rc < 0)
		return perr(c, "%s", jerr);
	c->d = *doc;
	return 0;
}

int plg_meta_parse_v2(const char *json, size_t len, struct plg_meta *m, char *err, size_t errlen)
{
	struct mctx c = {.v1 = false, .err = err, .errlen = errlen, .pool = BUF_INIT};
	struct jp_doc *doc = NULL;
	memset(m, 0, sizeof(*m));
	if (errlen)
		err[0] = '\0';
	int rc = parse_doc(json, len, &c, &doc);
	if (rc == 0)
		rc = parse_datasources(&c, jp_root(doc), m);
	jp_free(doc);
	buf_free(&c.pool);
	return rc;
}

int plg_meta_parse_v1(const char *json, size_t len, struct plg_meta *m, double *timestamp,
                      char *err, size_t errlen)
{
	struct mctx c = {.v1 = true, .err = err, .errlen = errlen, .pool = BUF_INIT};
	struct jp_doc *doc = NULL;
	memset(m, 0, sizeof(*m));
	if (errlen)
		err[0] = '\0';
	int rc = parse_doc(json, len, &c, &doc);
	if (rc == 0) {
		const struct jp_node *root = jp_root(doc);
		const struct jp_node *ts = jp_get(doc, root, "timestamp");
		if (root->type != JP_OBJECT)
			rc = perr(&c, "payload is not a JSON object");
		else if (!ts)
			rc = perr(&c, "\"timestamp\" is missing");
		else if (ts->type == JP_NUMBER)
			*timestamp = ts->num;
		else if (ts->type != JP_STRING ||
		         !float_of_text(jp_str(doc, ts), ts->len, timestamp))
			rc = perr(&c, "\"timestamp\" is not a number");
		if (rc == 0)
			rc = parse_datasources(&c, root, m);
	}
	jp_free(doc);
	buf_free(&c.pool);
	return rc;
}

void plg_meta_clear(struct plg_meta *m)
{
	free(m->ds);
	free(m->pool);
	memset(m, 0, sizeof(*m));
}

const char *plg_owner_str(const struct plg_ds *ds, char *out, size_t outlen)
{
	switch (ds->owner) {
	case MON_VM:
		snprintf(out, outlen, "vm %s", ds->uuid);
		break;
	case MON_SR:
		snprintf(out, outlen, "sr %s", ds->uuid);
		break;
	default:
		snprintf(out, outlen, "host");
		break;
	}
	return out;
}
