/*
 * The literal serialisation vectors of wire-format.md §3.2-§3.5 (Appendix A.4),
 * reproduced byte for byte from RRDs built by hand with the state that
 * section describes.  The expected texts are spelled out here in full (the
 * doc elides repeated parts) with the same values, as the A.4 scenario
 * (constant rates) implies.  Also: escaping of names and
 * childless elements of an RRD without DSs.
 */
#include "export_testutil.h"

#include <math.h>

#include "export/rrd_json.h"
#include "export/rrd_xml.h"
#include "export/textesc.h"
#include "export/updates.h"

#define HOST "2a8f5e3c-0d3e-4b7a-9c11-5e2f7d9a1b00"
#define VM   "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"

static struct rrdb_ds_def ds_def(const char *name, enum ds_type t, double min, double max)
{
	return (struct rrdb_ds_def){.name = name,
	                            .type = t,
	                            .min = min,
	                            .max = max,
	                            .mrhb = 300,
	                            .transform = TR_IDENTITY,
	                            .initial_last = DSVAL_UNKNOWN};
}

/* Fill every ring row of (ds, rra) with v. */
static void fill(struct rrdb *r, uint32_t ds, uint32_t rra, float v)
{
	uint32_t n = r->rra[rra].rows;
	float *a = malloc(sizeof(float) * n);
	for (uint32_t i = 0; i < n; i++)
		a[i] = v;
	rrdb_ring_load(r, ds, rra, a, n);
	free(a);
}

/* The §3.2 RRD: cpu0 + memory_total_kib, AVERAGE 3x1 and MAX 2x12. */
static struct rrdb *spec_small_rrd(void)
{
	struct rrdb_rra_def rras[] = {{CF_AVERAGE, 3, 1, 0.5}, {CF_MAX, 2, 12, 1.0}};
	struct rrdb_ds_def dss[] = {ds_def("cpu0", DS_DERIVE, 0, 1),
	                            ds_def("memory_total_kib", DS_GAUGE, 0, INFINITY)};
	struct rrdb *r = rrdb_alloc(5, rras, 2, dss, 2);
	assert_non_null(r);
	r->last_updated = 1700000020.25;
	r->ds[0].last = DSVAL_FLT(1016.0);
	r->ds[0].value = 0.2;
	r->ds[1].last = DSVAL_INT(33554432);
	r->ds[1].value = 33554432;
	for (int i = 0; i < 2; i++) {
		r->ds[i].unknown_sec = 0;
		r->ds[i].last_updated = 1700000020.25;
		r->ds[i].cdp[0].value = 0.0;
		r->ds[i].cdp[0].unknown_pdps = 0;
		r->ds[i].cdp[1].unknown_pdps = 4;
		rrdb_ring_load(r, (uint32_t)i, 1, (float[1]){0}, 0); /* all NaN */
	}
	r->ds[0].cdp[1].value = 1;
	r->ds[1].cdp[1].value = 33554432;
	fill(r, 0, 0, 0.2f);
	fill(r, 1, 0, 33554432.0f);
	return r;
}

#define CDP_AVG                                                                                    \
	"<ds><primary_value>0.0</primary_value><secondary_value>0.0</secondary_value><value>0.0</" \
	"value><unknown_datapoints>0</unknown_datapoints></ds>"
#define XML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static const char *xml_rrd(int internal)
{
	static char s[4096];
	const char *lu = internal ? "<last_updated>1700000020.25</last_updated>" : "";
	snprintf(s, sizeof(s),
	         XML_HEAD
	         "<rrd><version>0003</version><step>5</step><lastupdate>1700000020</lastupdate>"
	         "<ds><name>cpu0</name><type>DERIVE</type><minimal_heartbeat>300</"
	         "minimal_heartbeat><min>0.0</min><max>1</max><last_ds>1016</last_ds><value>0.2</"
	         "value><unknown_sec>0</unknown_sec>%s</ds>"
	         "<ds><name>memory_total_kib</name><type>GAUGE</type><minimal_heartbeat>300</"
	         "minimal_heartbeat><min>0.0</min><max>Infinity</max><last_ds>33554432</"
	         "last_ds><value>33554432</value><unknown_sec>0</unknown_sec>%s</ds>"
	         "<rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><params><xff>0.5</xff></"
	         "params><cdp_prep>" CDP_AVG CDP_AVG "</cdp_prep>"
	         "<database><row><v>0.200000002980232</v><v>33554432</v></row><row><v>0."
	         "200000002980232</v><v>33554432</v></row><row><v>0.200000002980232</"
	         "v><v>33554432</v></row></database></rra>"
	         "<rra><cf>MAX</cf><pdp_per_row>12</pdp_per_row><params><xff>1</xff></"
	         "params><cdp_prep><ds><primary_value>0.0</primary_value><secondary_value>0.0</"
	         "secondary_value><value>1</value><unknown_datapoints>4</unknown_datapoints></"
	         "ds><ds><primary_value>0.0</primary_value><secondary_value>0.0</"
	         "secondary_value><value>33554432</value><unknown_datapoints>4</"
	         "unknown_datapoints></ds></cdp_prep>"
	         "<database><row><v>NaN</v><v>NaN</v></row><row><v>NaN</v><v>NaN</v></row></"
	         "database></rra></rrd>",
	         lu, lu);
	return s;
}

static void assert_buf(const char *what, struct buf *b, const char *want)
{
	buf_cstr(b);
	tu_assert_same(what, b->p, b->len, want, strlen(want));
}

static void test_full_xml(void **state)
{
	struct rrdb *r = spec_small_rrd();
	struct buf b = BUF_INIT;
	exp_rrd_xml(&b, r, 0);
	assert_buf("public xml", &b, xml_rrd(0));
	buf_reset(&b);
	exp_rrd_xml(&b, r, 1);
	assert_buf("internal xml", &b, xml_rrd(1));
	buf_free(&b);
	rrdb_free(r);
}

static void test_full_json(void **state)
{
	static const char want[] =
	    "{\"version\":\"0003\",\"step\":\"5\",\"lastupdate\":\"1700000020.25\",\"ds\":[{"
	    "\"name\":"
	    "\"cpu0\",\"type\":\"DERIVE\",\"minimal_heartbeat\":\"300\",\"min\":\"0.0\",\"max\":"
	    "\"1\",\"last_ds\":\"1016\",\"value\":\"0.2\",\"unknown_sec\":\"0.0\",\"last_updated\":"
	    "\"1700000020.25\"},{\"name\":\"memory_total_kib\",\"type\":\"GAUGE\",\"minimal_"
	    "heartbeat\":\"300\",\"min\":\"0.0\",\"max\":\"Infinity\",\"last_ds\":\"33554432\","
	    "\"value\":\"33554432\",\"unknown_sec\":\"0.0\",\"last_updated\":\"1700000020.25\"}],"
	    "\"rra\":[{\"cf\":\"AVERAGE\",\"pdp_per_row\":\"1\",\"params\":{\"xff\":\"0.5\"},\"cdp_"
	    "prep\":{\"ds\":[{\"primary_value\":\"0.0\",\"secondary_value\":\"0.0\",\"value\":\"0."
	    "0\",\"unknown_datapoints\":\"0\"},{\"primary_value\":\"0.0\",\"secondary_value\":\"0."
	    "0\",\"value\":\"0.0\",\"unknown_datapoints\":\"0\"}]},\"database\":[[\"0."
	    "200000002980232\",\"33554432\"],[\"0.200000002980232\",\"33554432\"],[\"0."
	    "200000002980232\",\"33554432\"]]},{\"cf\":\"MAX\",\"pdp_per_row\":\"12\",\"params\":{"
	    "\"xff\":\"1\"},\"cdp_prep\":{\"ds\":[{\"primary_value\":\"0.0\",\"secondary_value\":"
	    "\"0.0\",\"value\":\"1\",\"unknown_datapoints\":\"4\"},{\"primary_value\":\"0.0\","
	    "\"secondary_value\":\"0.0\",\"value\":\"33554432\",\"unknown_datapoints\":\"4\"}]},"
	    "\"database\":[[\"NaN\",\"NaN\"],[\"NaN\",\"NaN\"]]}]}";
	struct rrdb *r = spec_small_rrd();
	struct buf b = BUF_INIT;
	exp_rrd_json(&b, r);
	assert_buf("json", &b, want);
	buf_free(&b);
	rrdb_free(r);
}

/* The A.4 export state: host (default 10 RRAs: cpu0, memory_total_kib) and
 * VM (default 4 RRAs: memory), 30 updates every 5 s from 1700000000.25. */
static struct rrdb *spec_export_rrd(int host)
{
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nrra = rrdb_default_rras(host, rras);
	struct rrdb_ds_def hds[] = {ds_def("cpu0", DS_DERIVE, 0, 1),
	                            ds_def("memory_total_kib", DS_GAUGE, 0, INFINITY)};
	struct rrdb_ds_def vds[] = {ds_def("memory", DS_GAUGE, 0, INFINITY)};
	struct rrdb *r =
	    host ? rrdb_alloc(5, rras, nrra, hds, 2) : rrdb_alloc(5, rras, nrra, vds, 1);
	assert_non_null(r);
	r->last_updated = 1700000150.25;
	for (uint32_t d = 0; d < r->nds; d++) {
		r->ds[d].last_updated = 1700000150.25;
		float v = !host ? 1073741824.0f : d == 0 ? 0.1f : 33554432.0f;
		for (uint32_t k = 0; k < r->nrra; k++)
			fill(r, d, k, v);
	}
	return r;
}

#define ROW(t)  "<row><t>" t "</t><v>0.100000001490116</v><v>33554432</v><v>1073741824</v></row>"
#define JROW(t) "{\"t\":\"" t "\",\"values\":[\"0.100000001490116\",\"33554432\",\"1073741824\"]}"
#define LEG3                                                                                       \
	"AVERAGE:host:" HOST ":cpu0", "AVERAGE:host:" HOST ":memory_total_kib",                    \
	    "AVERAGE:vm:" VM ":memory"

static void test_updates_xml_json(void **state)
{
	struct rrdb *h = spec_export_rrd(1), *v = spec_export_rrd(0);
	struct exp_updates_src src[] = {{"host:" HOST ":", h}, {"vm:" VM ":", v}};
	struct buf b = BUF_INIT;
	assert_int_equal(exp_updates(&b, src, 2, 1700000135, 0, NULL, 0), 0);
	assert_buf("updates xml", &b,
	           XML_HEAD
	           "<xport><meta><start>1700000140</start><step>5</step><end>1700000150</"
	           "end><rows>4</rows><columns>3</columns><legend><entry>AVERAGE:host:" HOST
	           ":cpu0</entry><entry>AVERAGE:host:" HOST
	           ":memory_total_kib</entry><entry>AVERAGE:vm:" VM
	           ":memory</entry></legend></meta><data>" ROW("1700000150") ROW("1700000145")
	               ROW("1700000140") ROW("1700000135") "</data></xport>");
	buf_reset(&b);
	assert_int_equal(exp_updates(&b, src, 2, 1700000135, 0, NULL, 1), 0);
	assert_buf("updates json", &b,
	           "{\"meta\":{\"start\":\"1700000140\",\"step\":\"5\",\"end\":\"1700000150\","
	           "\"rows\":\"4\",\"columns\":\"3\",\"legend\":[\"AVERAGE:host:" HOST
	           ":cpu0\",\"AVERAGE:host:" HOST ":memory_total_kib\",\"AVERAGE:vm:" VM
	           ":memory\"]},\"data\":[" JROW("1700000150") "," JROW("1700000145") "," JROW(
	               "1700000140") "," JROW("1700000135") "]}");
	buf_free(&b);
	rrdb_free(h);
	rrdb_free(v);
}

/* §3.4: interval=60 and a start older than 2 h: the hour archive, host
 * AVERAGE, MIN, MAX columns then the VM's AVERAGE. */
static void test_updates_hour_columns(void **state)
{
	struct rrdb *h = spec_export_rrd(1), *v = spec_export_rrd(0);
	struct exp_updates_src src[] = {{"host:" HOST ":", h}, {"vm:" VM ":", v}};
	struct exp_updates_plan p;
	assert_int_equal(exp_updates_plan(&p, src, 2, 1700000150 - 7200 - 1000, 60, NULL), 0);
	static const char *const want[] = {
	    "AVERAGE:host:" HOST ":cpu0", "AVERAGE:host:" HOST ":memory_total_kib",
	    "MIN:host:" HOST ":cpu0",     "MIN:host:" HOST ":memory_total_kib",
	    "MAX:host:" HOST ":cpu0",     "MAX:host:" HOST ":memory_total_kib",
	    "AVERAGE:vm:" VM ":memory"};
	assert_int_equal(p.ncols, 7);
	for (uint32_t c = 0; c < 7; c++)
		assert_string_equal(exp_updates_legend(&p, c), want[c]);
	assert_int_equal(p.step, 3600);
	/* end = 3600*floor(1700000150/3600) = 1699999200; start 1699991950:
	 * meta start = 3600*floor(start/3600) + 3600 = 1699992000; rows at
	 * end - i*3600 >= start: i = 0, 1, 2. */
	assert_int_equal(p.end, 1699999200);
	assert_int_equal(p.start, 1699992000);
	assert_int_equal(p.rows, 3);
	exp_updates_plan_free(&p);
	rrdb_free(h);
	rrdb_free(v);
}

/* §3.4 table: start=-20&interval=30 => 1-min archive, rows=0,
 * meta.start (…160) > meta.end (…100). */
static void test_updates_zero_rows(void **state)
{
	struct rrdb *h = spec_export_rrd(1);
	struct exp_updates_src src[] = {{"host:" HOST ":", h}};
	struct buf b = BUF_INIT;
	assert_int_equal(exp_updates(&b, src, 1, -20, 30, NULL, 0), 0);
	assert_buf(
	    "zero rows xml", &b,
	    XML_HEAD
	    "<xport><meta><start>1700000160</start><step>60</step><end>1700000100</"
	    "end><rows>0</rows><columns>6</columns><legend><entry>AVERAGE:host:" HOST
	    ":cpu0</entry><entry>AVERAGE:host:" HOST
	    ":memory_total_kib</entry><entry>MIN:host:" HOST ":cpu0</entry><entry>MIN:host:" HOST
	    ":memory_total_kib</entry><entry>MAX:host:" HOST ":cpu0</entry><entry>MAX:host:" HOST
	    ":memory_total_kib</entry></legend></meta><data/></xport>");
	buf_reset(&b);
	assert_int_equal(exp_updates(&b, src, 1, -20, 30, NULL, 1), 0);
	assert_non_null(strstr(buf_cstr(&b), "\"rows\":\"0\",\"columns\":\"6\""));
	assert_non_null(strstr(buf_cstr(&b), "]},\"data\":[]}"));
	buf_free(&b);
	rrdb_free(h);
}

static void test_escaping(void **state)
{
	struct buf b = BUF_INIT;
	exp_xml_text(&b, "a<b>&\"c'\t\n\r\x01\x1f\x7f\xc3\xa9", 16);
	assert_buf("xml text", &b,
	           "a&lt;b&gt;&amp;&quot;c'\t\n\r\xEF\xBF\xBD\xEF\xBF\xBD\x7f\xc3\xa9");
	buf_reset(&b);
	exp_json_str(&b, "a\"b\\c/\b\f\n\r\t\x01\x1f\x7f\xc3\xa9<", 17);
	assert_buf("json str", &b, "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\xc3\xa9<\"");
	buf_reset(&b);
	exp_xml_text(&b, "", 0);
	exp_json_str(&b, "", 0);
	assert_buf("empty", &b, "\"\"");

	/* Names in the full dumps and in the legend are escaped. */
	struct rrdb_rra_def rra = {CF_AVERAGE, 1, 1, 0.5};
	struct rrdb_ds_def d = ds_def("a<&>\"\x02", DS_GAUGE, -INFINITY, INFINITY);
	struct rrdb *r = rrdb_alloc(5, &rra, 1, &d, 1);
	assert_non_null(r);
	buf_reset(&b);
	exp_rrd_xml(&b, r, 0);
	assert_non_null(strstr(buf_cstr(&b), "<name>a&lt;&amp;&gt;&quot;\xEF\xBF\xBD</name>"));
	buf_reset(&b);
	exp_rrd_json(&b, r);
	assert_non_null(strstr(buf_cstr(&b), "{\"name\":\"a<&>\\\"\\u0002\",\"type\":\"GAUGE\""));
	struct exp_updates_src src = {"vm:x&y:", r};
	buf_reset(&b);
	assert_int_equal(exp_updates(&b, &src, 1, 0, 0, NULL, 0), 0);
	assert_non_null(strstr(
	    buf_cstr(&b), "<entry>AVERAGE:vm:x&amp;y:a&lt;&amp;&gt;&quot;\xEF\xBF\xBD</entry>"));
	buf_reset(&b);
	assert_int_equal(exp_updates(&b, &src, 1, 0, 0, NULL, 1), 0);
	assert_non_null(strstr(buf_cstr(&b), "\"legend\":[\"AVERAGE:vm:x&y:a<&>\\\"\\u0002\"]"));
	rrdb_free(r);
	buf_free(&b);
}

/* An RRD without DSs: Xmlm writes childless elements as <x/>. */
static void test_no_ds(void **state)
{
	struct rrdb_rra_def rra = {CF_AVERAGE, 2, 1, 0.5};
	struct rrdb *r = rrdb_alloc(5, &rra, 1, NULL, 0);
	assert_non_null(r);
	r->last_updated = 100;
	struct buf b = BUF_INIT;
	exp_rrd_xml(&b, r, 1);
	assert_buf("no-ds xml", &b,
	           XML_HEAD
	           "<rrd><version>0003</version><step>5</step><lastupdate>100</lastupdate>"
	           "<rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><params><xff>0.5</xff></"
	           "params><cdp_prep/><database/></rra></rrd>");
	buf_reset(&b);
	exp_rrd_json(&b, r);
	assert_buf(
	    "no-ds json", &b,
	    "{\"version\":\"0003\",\"step\":\"5\",\"lastupdate\":\"100\",\"ds\":[],\"rra\":[{"
	    "\"cf\":\"AVERAGE\",\"pdp_per_row\":\"1\",\"params\":{\"xff\":\"0.5\"},\"cdp_prep\":"
	    "{\"ds\":[]},\"database\":[]}]}");
	struct exp_updates_src src = {"host:h:", r};
	buf_reset(&b);
	assert_int_equal(exp_updates(&b, &src, 1, 95, 0, NULL, 0), 0);
	assert_buf("no-ds updates", &b,
	           XML_HEAD "<xport><meta><start>100</start><step>5</step><end>100</end><rows>2</"
	                    "rows><columns>0</columns><legend/></meta><data><row><t>100</t></"
	                    "row><row><t>95</t></row></data></xport>");
	buf_reset(&b);
	assert_int_equal(exp_updates(&b, &src, 1, 95, 0, NULL, 1), 0);
	assert_buf(
	    "no-ds updates json", &b,
	    "{\"meta\":{\"start\":\"100\",\"step\":\"5\",\"end\":\"100\",\"rows\":\"2\","
	    "\"columns\":\"0\",\"legend\":[]},\"data\":[{\"t\":\"100\",\"values\":[]},{\"t\":"
	    "\"95\",\"values\":[]}]}");
	buf_free(&b);
	rrdb_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_xml),
	    cmocka_unit_test(test_full_json),
	    cmocka_unit_test(test_updates_xml_json),
	    cmocka_unit_test(test_updates_hour_columns),
	    cmocka_unit_test(test_updates_zero_rows),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_no_ds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
