/*
 * Helpers for the export tests (included by tests/unit/test_export_*.c and
 * test_updates_golden.c; not a test itself): reading fixture files,
 * comparing byte-exact outputs with a useful message, and building an RRD
 * from a full-RRD JSON fixture (Rrd.json_to_string output), which carries
 * every field the serialisers print.  Test code only: aborts via cmocka on
 * malformed fixtures.
 */
#ifndef RRDD_TESTS_EXPORT_TESTUTIL_H
#define RRDD_TESTS_EXPORT_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "rrd/rrd.h"
#include "util/buf.h"

/* The whole file as a NUL-terminated string, or NULL if it cannot be read. */
static __attribute__((unused)) char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b = BUF_INIT;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	if (len)
		*len = b.len;
	buf_cstr(&b);
	return b.p;
}

/* Fail with the first differing offset and some context on both sides. */
static __attribute__((unused)) void tu_assert_same(const char *what, const char *got, size_t glen,
                                                   const char *want, size_t wlen)
{
	if (glen == wlen && memcmp(got, want, glen) == 0)
		return;
	size_t i = 0;
	while (i < glen && i < wlen && got[i] == want[i])
		i++;
	size_t from = i > 60 ? i - 60 : 0;
	print_error("%s: output differs at byte %zu (got %zu bytes, want %zu)\n"
	            "  got:  ...%.*s\n  want: ...%.*s\n",
	            what, i, glen, wlen, (int)((glen - from) < 160 ? glen - from : 160), got + from,
	            (int)((wlen - from) < 160 ? wlen - from : 160), want + from);
	fail();
}

static double tu_num(struct json_object *o)
{
	const char *s = json_object_get_string(o);
	assert_non_null(s);
	char *end;
	double v = strtod(s, &end);
	assert_true(end != s && *end == '\0');
	return v;
}

static struct json_object *tu_get(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("fixture: missing key %s", key);
	return v;
}

/* Build an RRD from the text of a full-RRD JSON document.  Every field is
 * taken from the document; ring rows are given oldest first.  last_ds is an
 * int64 when its text is an integer, otherwise a float (the two print the
 * same way). */
static __attribute__((unused)) struct rrdb *tu_rrd_from_json(const char *text)
{
	struct json_object *root = json_tokener_parse(text);
	assert_non_null(root);
	struct json_object *jds = tu_get(root, "ds"), *jrra = tu_get(root, "rra");
	size_t nds = json_object_array_length(jds), nrra = json_object_array_length(jrra);
	struct rrdb_ds_def *defs = calloc(nds ? nds : 1, sizeof(*defs));
	struct rrdb_rra_def *rdefs = calloc(nrra ? nrra : 1, sizeof(*rdefs));
	for (size_t i = 0; i < nds; i++) {
		struct json_object *d = json_object_array_get_idx(jds, i);
		defs[i].name = json_object_get_string(tu_get(d, "name"));
		assert_int_equal(
		    rrdb_type_parse(json_object_get_string(tu_get(d, "type")), &defs[i].type), 0);
		defs[i].min = tu_num(tu_get(d, "min"));
		defs[i].max = tu_num(tu_get(d, "max"));
		defs[i].mrhb = tu_num(tu_get(d, "minimal_heartbeat"));
		defs[i].transform = TR_IDENTITY;
		defs[i].initial_last = DSVAL_UNKNOWN;
	}
	for (size_t k = 0; k < nrra; k++) {
		struct json_object *a = json_object_array_get_idx(jrra, k);
		assert_int_equal(
		    rrdb_cf_parse(json_object_get_string(tu_get(a, "cf")), &rdefs[k].cf), 0);
		rdefs[k].pdp_cnt = (uint32_t)tu_num(tu_get(a, "pdp_per_row"));
		rdefs[k].xff = tu_num(tu_get(tu_get(a, "params"), "xff"));
		rdefs[k].rows = (uint32_t)json_object_array_length(tu_get(a, "database"));
	}
	struct rrdb *r = rrdb_alloc((uint32_t)tu_num(tu_get(root, "step")), rdefs, nrra, defs, nds);
	assert_non_null(r);
	r->last_updated = tu_num(tu_get(root, "lastupdate"));
	for (size_t i = 0; i < nds; i++) {
		struct json_object *d = json_object_array_get_idx(jds, i);
		struct rrdb_ds *ds = &r->ds[i];
		const char *last = json_object_get_string(tu_get(d, "last_ds"));
		const char *p = last + (last[0] == '-');
		if (*p && strspn(p, "0123456789") == strlen(p))
			ds->last = DSVAL_INT(strtoll(last, NULL, 10));
		else
			ds->last = DSVAL_FLT(strtod(last, NULL));
		ds->value = tu_num(tu_get(d, "value"));
		ds->unknown_sec = tu_num(tu_get(d, "unknown_sec"));
		ds->last_updated = tu_num(tu_get(d, "last_updated"));
	}
	for (size_t k = 0; k < nrra; k++) {
		struct json_object *a = json_object_array_get_idx(jrra, k);
		struct json_object *cdps = tu_get(tu_get(a, "cdp_prep"), "ds");
		struct json_object *db = tu_get(a, "database");
		uint32_t rows = rdefs[k].rows;
		float *col = calloc(rows ? rows : 1, sizeof(float));
		assert_int_equal(json_object_array_length(cdps), nds);
		for (size_t i = 0; i < nds; i++) {
			struct json_object *c = json_object_array_get_idx(cdps, i);
			r->ds[i].cdp[k].value = tu_num(tu_get(c, "value"));
			r->ds[i].cdp[k].unknown_pdps =
			    (uint32_t)tu_num(tu_get(c, "unknown_datapoints"));
			for (uint32_t row = 0; row < rows; row++) {
				struct json_object *jr = json_object_array_get_idx(db, row);
				assert_int_equal(json_object_array_length(jr), nds);
				col[row] = (float)tu_num(json_object_array_get_idx(jr, i));
			}
			rrdb_ring_load(r, (uint32_t)i, (uint32_t)k, col, rows);
		}
		free(col);
	}
	json_object_put(root);
	free(defs);
	free(rdefs);
	return r;
}

#endif
