/*
 * Golden test of rrd_updates (wire-format.md §3.4, §3.5) against every case of
 * fixtures/rrd_updates/queries.json: the RRDs are loaded from the reference
 * states rrds/<id>.internal.xml with the archive loader, exported with the
 * case's (prefix, RRD) order, start, interval and cf, and the XML and JSON
 * outputs must equal uNN.xml / uNN.json byte for byte; cases whose reference
 * raised No_RRA_Available must fail with -ENOENT.
 */
#include "export_testutil.h"

#include <errno.h>

#include "export/updates.h"
#include "store/archive.h"
#include "store/xml_parse.h"

#define DIR RRDD_FIXTURES "/rrd_updates"

struct loaded {
	char id[32];
	struct rrdb *r;
};

static struct loaded cache[16];
static size_t ncache;

static struct rrdb *load(const char *id)
{
	for (size_t i = 0; i < ncache; i++)
		if (strcmp(cache[i].id, id) == 0)
			return cache[i].r;
	assert_true(ncache < 16);
	char path[512], err[256];
	snprintf(path, sizeof(path), DIR "/rrds/%s.internal.xml", id);
	struct rrdb *r = NULL;
	int rc = store_load_xml_file(path, &r, err, sizeof(err));
	if (rc)
		fail_msg("loading %s: %s", path, err);
	snprintf(cache[ncache].id, sizeof(cache[ncache].id), "%s", id);
	cache[ncache++].r = r;
	return r;
}

static void check_output(const char *file, const struct exp_updates_plan *p, int json)
{
	char path[512];
	snprintf(path, sizeof(path), DIR "/%s", file);
	size_t wlen;
	char *want = tu_read_file(path, &wlen);
	if (!want)
		fail_msg("missing %s", path);
	struct buf b = BUF_INIT;
	if (json)
		exp_updates_json(&b, p);
	else
		exp_updates_xml(&b, p);
	buf_cstr(&b);
	tu_assert_same(path, b.p, b.len, want, wlen);

	/* Streamed in uneven row ranges, the document is the same. */
	struct buf s = BUF_INIT;
	(json ? exp_updates_json_head : exp_updates_xml_head)(&s, p);
	for (uint32_t i = 0, n = 1; i < p->rows; i += n, n = n * 2 + 1)
		(json ? exp_updates_json_rows : exp_updates_xml_rows)(&s, p, i, n);
	(json ? exp_updates_json_tail : exp_updates_xml_tail)(&s, p);
	buf_cstr(&s);
	tu_assert_same("streamed", s.p, s.len, want, wlen);
	buf_free(&s);
	buf_free(&b);
	free(want);
}

static void test_queries(void **state)
{
	char *text = tu_read_file(DIR "/queries.json", NULL);
	assert_non_null(text);
	struct json_object *root = json_tokener_parse(text);
	free(text);
	assert_non_null(root);
	struct json_object *rrds = tu_get(root, "rrds"), *cases = tu_get(root, "cases");
	int ok = 0, errors = 0;
	json_object_object_foreach(cases, name, c)
	{
		struct json_object *args = tu_get(c, "export_args");
		struct json_object *order = tu_get(c, "rrd_order");
		struct json_object *jcf = tu_get(args, "cf");
		size_t n = json_object_array_length(order);
		struct exp_updates_src src[8];
		assert_true(n <= 8);
		for (size_t i = 0; i < n; i++) {
			const char *id =
			    json_object_get_string(json_object_array_get_idx(order, i));
			src[i].rrd = load(id);
			src[i].prefix =
			    json_object_get_string(tu_get(tu_get(rrds, id), "legend_prefix"));
		}
		enum cf_type cf;
		if (jcf && !json_object_is_type(jcf, json_type_null))
			assert_int_equal(rrdb_cf_parse(json_object_get_string(jcf), &cf), 0);
		int64_t start = json_object_get_int64(tu_get(args, "start"));
		int64_t interval = json_object_get_int64(tu_get(args, "interval"));
		struct exp_updates_plan p;
		int rc =
		    exp_updates_plan(&p, src, n, start, interval,
		                     jcf && !json_object_is_type(jcf, json_type_null) ? &cf : NULL);
		struct json_object *experr = tu_get(c, "expected_error");
		if (!json_object_is_type(experr, json_type_null)) {
			assert_string_equal(json_object_get_string(experr), "No_RRA_Available");
			if (rc != -ENOENT)
				fail_msg("%s: expected -ENOENT, got %d", name, rc);
			errors++;
			continue;
		}
		if (rc)
			fail_msg("%s: plan failed: %d", name, rc);
		struct json_object *outs = tu_get(c, "outputs");
		check_output(json_object_get_string(tu_get(outs, "xml")), &p, 0);
		check_output(json_object_get_string(tu_get(outs, "json")), &p, 1);
		exp_updates_plan_free(&p);
		ok++;
	}
	json_object_put(root);
	print_message(
	    "rrd_updates golden: %d cases byte-exact (XML and JSON), %d expected errors\n", ok,
	    errors);
	assert_int_equal(ok, 22);
	assert_int_equal(errors, 3);
	for (size_t i = 0; i < ncache; i++)
		rrdb_free(cache[i].r);
	ncache = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
