/*
 * Golden test of the full-RRD serialisers (wire-format.md §3.2, §3.3) against every
 * reference dump in the fixtures: engine/, engine_quirks/ and archive/.
 * Each RRD is rebuilt from its JSON dump (which carries every printed field)
 * and printed as public XML, internal XML and JSON; all three must equal the
 * reference files byte for byte.  The XML forms are independent checks; the
 * JSON form checks that parsing and re-printing is lossless.
 */
#include "export_testutil.h"

#include "export/rrd_json.h"
#include "export/rrd_xml.h"

static const char *const cases[] = {
    "engine/c01_gauge",
    "engine/c02_absolute",
    "engine/c03_derive",
    "engine/c04_gapfill",
    "engine/c05_host_default",
    "engine/c06_vm_default",
    "engine/c07_host_long",
    "engine/c08_sparse_long",
    "engine_quirks/q01_unknown_samples",
    "engine_quirks/q02_unaligned",
    "engine_quirks/q03_out_of_range",
    "engine_quirks/q04_gap_over_heartbeat",
    "engine_quirks/q05_rrdd_realistic",
    "engine_quirks/q06_plugin_chunks",
    "engine_quirks/q07_backwards_newrrd",
    "engine_quirks/q08_type_flip",
    "engine_quirks/qa1_spec_A1",
    "engine_quirks/qa2_spec_A2",
    "engine_quirks/qa3_spec_A3",
    "engine_quirks/qa4_spec_2_6_6",
    "archive/base",
    /* Loaded archives: only internal XML and JSON exist. */
    "archive/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0.loaded",
    "archive/v01_lastupdate_float.loaded",
    "archive/v02_all_0_5g_float_lastupdate.loaded",
    "archive/v03_pre2024_0_5g.intended.loaded",
    "archive/v04_legacy_0_4f.intended.loaded",
    "archive/v05_pretty_whitespace.loaded",
    "archive/v06_public_form.intended.loaded",
    "archive/v07_lowercase_special_tokens.loaded",
    "archive/v08_duplicate_ds.loaded",
    "archive/v09_negative_min.loaded",
};

static int compared;

static void check_form(const char *id, const char *suffix, const struct rrdb *r, int form)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s%s", RRDD_FIXTURES, id, suffix);
	size_t wlen;
	char *want = tu_read_file(path, &wlen);
	if (!want) {
		/* Only the public XML may be absent (loaded archives). */
		assert_int_equal(form, 0);
		return;
	}
	struct buf out = BUF_INIT;
	if (form == 2)
		exp_rrd_json(&out, r);
	else
		exp_rrd_xml(&out, r, form);
	buf_cstr(&out);
	tu_assert_same(path, out.p, out.len, want, wlen);
	compared++;
	buf_free(&out);
	free(want);
}

static void test_all_dumps(void **state)
{
	compared = 0;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s.json", RRDD_FIXTURES, cases[c]);
		char *text = tu_read_file(path, NULL);
		if (!text)
			fail_msg("missing fixture %s", path);
		struct rrdb *r = tu_rrd_from_json(text);
		free(text);
		check_form(cases[c], ".xml", r, 0);
		check_form(cases[c], ".internal.xml", r, 1);
		check_form(cases[c], ".json", r, 2);
		rrdb_free(r);
	}
	/* 21 cases with 3 forms, 10 loaded archives with 2. */
	assert_int_equal(compared, 21 * 3 + 10 * 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_dumps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
