/*
 * Metadata JSON of a V2 page: {"datasources":{name:{...},...}} in source
 * order (the order of the values), with the keys in the order xcp-rrdd's
 * OCaml writer uses (description if non-empty, owner, transform if inverse,
 * value_type, type, default, units, min, max) and every value a JSON string,
 * as the reader requires (wire-format.md §6.4).
 *
 * The values themselves are deliberately not included ("value" is ignored in
 * V2), so that the metadata and its CRC only change when the set of sources
 * changes.  Numbers are printed in the C locale whatever the host process
 * set, as the shortest text that reads back to the same double.  No I/O.
 */
#include "internal.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* A JSON string literal: quotes, backslashes and control characters (and
 * DEL) escaped; UTF-8 (validated on input) passes through unchanged. */
static void sb_json_string(struct sbuf *b, const char *s)
{
	sb_add(b, "\"", 1);
	const char *run = s;
	for (const char *q = s; *q; q++) {
		unsigned char c = (unsigned char)*q;
		const char *esc = NULL;
		char ubuf[8];
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(ubuf, sizeof(ubuf), "\\u%04x", c);
				esc = ubuf;
			}
		}
		if (esc) {
			sb_add(b, run, (size_t)(q - run));
			sb_str(b, esc);
			run = q + 1;
		}
	}
	sb_str(b, run);
	sb_add(b, "\"", 1);
}

/* Shortest decimal text that strtod reads back as exactly v; "inf"/"-inf"
 * for infinities.  Needs the C locale to be current (see below). */
static void fmt_double(char *out, size_t outlen, double v)
{
	if (isinf(v)) {
		snprintf(out, outlen, "%s", v < 0 ? "-inf" : "inf");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, outlen, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

static void sb_kv(struct sbuf *b, const char *key, const char *val, bool first)
{
	if (!first)
		sb_add(b, ",", 1);
	sb_json_string(b, key);
	sb_add(b, ":", 1);
	sb_json_string(b, val);
}

static const char *type_name(enum rrdp_type t)
{
	switch (t) {
	case RRDP_ABSOLUTE:
		return "absolute";
	case RRDP_DERIVE:
		return "derive";
	default:
		return "gauge";
	}
}

int rrdp_i_meta_json(struct rrdp_source *const *src, size_t n, char **out, size_t *outlen)
{
	/* Numbers must not pick up the host's LC_NUMERIC (a decimal comma
	 * would make min/max unreadable): switch this thread to "C". */
	locale_t c_loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c_loc == (locale_t)0)
		return rrdp_i_fail(-ENOMEM, "cannot create the C locale for number formatting");
	locale_t old = uselocale(c_loc);

	struct sbuf b = {0};
	sb_str(&b, "{\"datasources\":{");
	for (size_t i = 0; i < n; i++) {
		const struct rrdp_source *s = src[i];
		if (i)
			sb_add(&b, ",", 1);
		sb_json_string(&b, s->name);
		sb_add(&b, ":{", 2);
		bool first = true;
		if (s->description[0]) {
			sb_kv(&b, "description", s->description, first);
			first = false;
		}
		char owner[64];
		if (s->owner == RRDP_OWNER_VM)
			snprintf(owner, sizeof(owner), "vm %s", s->uuid);
		else if (s->owner == RRDP_OWNER_SR)
			snprintf(owner, sizeof(owner), "sr %s", s->uuid);
		else
			snprintf(owner, sizeof(owner), "host");
		sb_kv(&b, "owner", owner, first);
		if (s->transform == RRDP_INVERSE)
			sb_kv(&b, "transform", "inverse", false);
		sb_kv(&b, "value_type", s->value_type == RRDP_INT64 ? "int64" : "float", false);
		sb_kv(&b, "type", type_name(s->type), false);
		sb_kv(&b, "default", s->is_default ? "true" : "false", false);
		sb_kv(&b, "units", s->units, false);
		char num[40];
		fmt_double(num, sizeof(num), s->min);
		sb_kv(&b, "min", num, false);
		fmt_double(num, sizeof(num), s->max);
		sb_kv(&b, "max", num, false);
		sb_add(&b, "}", 1);
	}
	sb_str(&b, "}}");

	uselocale(old);
	freelocale(c_loc);
	if (b.oom) {
		free(b.p);
		return rrdp_i_fail(-ENOMEM, "out of memory building the metadata");
	}
	*out = b.p;
	*outlen = b.len;
	return 0;
}
