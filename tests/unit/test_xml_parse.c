/*
 * Unit tests for store/xml_parse: the streaming loader of full RRD XML.
 *
 * Oracles: the reference loader's results in fixtures/archive (every
 * vNN_*.loaded.json / .intended.loaded.json and the gzip archive's
 * .loaded.json, compared byte-exactly as strings printed with numfmt, and
 * the .loaded.internal.xml files compared byte-exactly against our XML
 * writer's output of what we loaded); chunking invariance; every truncation;
 * hand-written hostile documents with the error they must give.  Must not
 * time anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "export/numfmt.h"
#include "export/rrd_xml.h"
#include "rrd/rrd.h"
#include "store/archive.h"
#include "store/xml_parse.h"
#include "util/buf.h"

#define ARCH    RRDD_FIXTURES "/archive/"
#define GZ_UUID "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"

/* ---- helpers ------------------------------------------------------------ */

/* Whole file, decompressed if gzip; NUL-terminated. */
static char *slurp(const char *path, size_t *len)
{
	gzFile gz = gzopen(path, "rb");
	assert_non_null(gz);
	size_t cap = 1 << 16, n = 0;
	char *p = malloc(cap + 1);
	for (;;) {
		if (n == cap)
			p = realloc(p, (cap *= 2) + 1);
		int k = gzread(gz, p + n, (unsigned)(cap - n));
		assert_true(k >= 0);
		if (k == 0)
			break;
		n += (size_t)k;
	}
	gzclose(gz);
	p[n] = 0;
	*len = n;
	return p;
}

/* Parse mem in chunks of 'chunk' bytes (0 = all at once). */
static int parse_mem(const char *mem, size_t len, size_t chunk, const struct xmlp_limits *lim,
                     struct rrdb **out, char *err, size_t errlen)
{
	struct xmlp *p = xmlp_new(lim);
	int rc = 0;
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len && rc == 0; off += chunk)
		rc = xmlp_feed(p, mem + off, len - off < chunk ? len - off : chunk);
	if (rc == 0)
		rc = xmlp_finish(p, out);
	else
		*out = NULL;
	snprintf(err, errlen, "%s", xmlp_error(p));
	if (rc < 0) {
		assert_null(*out);
		assert_true(xmlp_error(p)[0] != 0); /* every failure says why */
	} else {
		assert_string_equal(xmlp_error(p), "");
	}
	xmlp_free(p);
	return rc;
}

static struct rrdb *parse_ok(const char *mem, size_t len)
{
	struct rrdb *r;
	char err[400];
	int rc = parse_mem(mem, len, 0, NULL, &r, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse failed (%d): %s", rc, err);
	return r;
}

/* A canonical text of every field of r, for equality checks. */
static void dump(struct buf *b, const struct rrdb *r)
{
	char n[NUMFMT_MAX];
	numfmt_double(n, r->last_updated);
	buf_printf(b, "step %u last %s nds %u nrra %u\n", r->step, n, r->nds, r->nrra);
	for (uint32_t i = 0; i < r->nds; i++) {
		const struct rrdb_ds *d = &r->ds[i];
		char a[NUMFMT_MAX], c[NUMFMT_MAX], e[NUMFMT_MAX], f[NUMFMT_MAX], g[NUMFMT_MAX],
		    h[NUMFMT_MAX];
		numfmt_double(a, d->min), numfmt_double(c, d->max), numfmt_double(e, d->mrhb);
		numfmt_double(f, d->value), numfmt_double(g, d->unknown_sec);
		numfmt_double(h, d->last_updated);
		buf_printf(b, "ds %s %d %s %s %s %s %s %s last %d\n", d->name, (int)d->type, a, c,
		           e, f, g, h, (int)d->last.type);
	}
	for (uint32_t k = 0; k < r->nrra; k++) {
		const struct rrdb_rra *a = &r->rra[k];
		numfmt_double(n, a->xff);
		buf_printf(b, "rra %d %u %u %s\n", (int)a->cf, a->rows, a->pdp_cnt, n);
		for (uint32_t i = 0; i < r->nds; i++) {
			numfmt_double(n, r->ds[i].cdp[k].value);
			buf_printf(b, " cdp %s %u:", n, r->ds[i].cdp[k].unknown_pdps);
			for (uint32_t row = 0; row < a->rows; row++) {
				numfmt_double(n, rrdb_peek(r, i, k, a->rows - 1 - row));
				buf_printf(b, " %s", n);
			}
			buf_adds(b, "\n");
		}
	}
}

static char *dump_str(const struct rrdb *r)
{
	struct buf b = BUF_INIT;
	dump(&b, r);
	char *s = strdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

/* Equal texts, or a failure showing the first difference. */
static void same_text(const char *what, const char *a, const char *b)
{
	size_t i = 0;
	while (a[i] && a[i] == b[i])
		i++;
	if (a[i] != b[i]) {
		size_t s = i > 40 ? i - 40 : 0;
		fail_msg("%s: differ at byte %zu: \"%.80s\" vs \"%.80s\"", what, i, a + s, b + s);
	}
}

/* ---- comparison with the reference loader's JSON ------------------------- */

static unsigned long scalars_checked;

static void check(const char *where, const char *want, const char *got)
{
	scalars_checked++;
	if (strcmp(want, got) != 0)
		fail_msg("%s: reference \"%s\", ours \"%s\"", where, want, got);
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("reference JSON lacks \"%s\"", key);
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("reference JSON lacks \"%s\"", key);
	return v;
}

static const char *dbl(char *b, double v)
{
	numfmt_double(b, v);
	return b;
}

static const char *u32s(char *b, uint32_t v)
{
	snprintf(b, NUMFMT_MAX, "%u", v);
	return b;
}

static const char *const type_name[] = {"GAUGE", "ABSOLUTE", "DERIVE"};
static const char *const cf_name[] = {"AVERAGE", "MIN", "MAX", "LAST"};

static void compare_json(const struct rrdb *r, const char *json_path)
{
	json_object *root = json_object_from_file(json_path);
	if (!root)
		fail_msg("cannot read %s", json_path);
	char b[NUMFMT_MAX], w[160];
	check("step", jstr(root, "step"), u32s(b, r->step));
	check("lastupdate", jstr(root, "lastupdate"), dbl(b, r->last_updated));
	json_object *dss = jget(root, "ds");
	assert_int_equal(json_object_array_length(dss), r->nds);
	for (uint32_t i = 0; i < r->nds; i++) {
		json_object *o = json_object_array_get_idx(dss, i);
		const struct rrdb_ds *d = &r->ds[i];
#define DSCHK(key, got)                                                                            \
	do {                                                                                       \
		snprintf(w, sizeof(w), "%s ds[%u].%s", json_path, i, key);                         \
		check(w, jstr(o, key), got);                                                       \
	} while (0)
		DSCHK("name", d->name);
		DSCHK("type", type_name[d->type]);
		DSCHK("minimal_heartbeat", dbl(b, d->mrhb));
		DSCHK("min", dbl(b, d->min));
		DSCHK("max", dbl(b, d->max));
		/* ds_value_to_string of VT_Unknown is "0.0": last must be unknown */
		assert_int_equal(d->last.type, VAL_UNKNOWN);
		DSCHK("last_ds", "0.0");
		DSCHK("value", dbl(b, d->value));
		DSCHK("unknown_sec", dbl(b, d->unknown_sec));
		DSCHK("last_updated", dbl(b, d->last_updated));
#undef DSCHK
	}
	json_object *rras = jget(root, "rra");
	assert_int_equal(json_object_array_length(rras), r->nrra);
	for (uint32_t k = 0; k < r->nrra; k++) {
		json_object *o = json_object_array_get_idx(rras, k);
		const struct rrdb_rra *a = &r->rra[k];
		snprintf(w, sizeof(w), "%s rra[%u]", json_path, k);
		check(w, jstr(o, "cf"), cf_name[a->cf]);
		check(w, jstr(o, "pdp_per_row"), u32s(b, a->pdp_cnt));
		check(w, jstr(jget(o, "params"), "xff"), dbl(b, a->xff));
		json_object *cdps = jget(jget(o, "cdp_prep"), "ds");
		assert_int_equal(json_object_array_length(cdps), r->nds);
		for (uint32_t i = 0; i < r->nds; i++) {
			json_object *c = json_object_array_get_idx(cdps, i);
			snprintf(w, sizeof(w), "%s rra[%u].cdp[%u]", json_path, k, i);
			check(w, jstr(c, "value"), dbl(b, r->ds[i].cdp[k].value));
			check(w, jstr(c, "unknown_datapoints"),
			      u32s(b, r->ds[i].cdp[k].unknown_pdps));
		}
		json_object *db = jget(o, "database");
		assert_int_equal(json_object_array_length(db), a->rows);
		for (uint32_t row = 0; row < a->rows; row++) {
			json_object *jr = json_object_array_get_idx(db, row);
			assert_int_equal(json_object_array_length(jr), r->nds);
			for (uint32_t i = 0; i < r->nds; i++) {
				json_object *v = json_object_array_get_idx(jr, i);
				snprintf(w, sizeof(w), "%s rra[%u] row %u col %u", json_path, k,
				         row, i);
				check(w, json_object_get_string(v),
				      dbl(b, rrdb_peek(r, i, k, a->rows - 1 - row)));
			}
		}
	}
	json_object_put(root);
}

/* Our writer's internal=true XML of r must equal the reference's output. */
static void compare_xml(const struct rrdb *r, const char *xml_path)
{
	size_t len;
	char *want = slurp(xml_path, &len);
	struct buf b = BUF_INIT;
	exp_rrd_xml(&b, r, 1);
	if (b.len != len || memcmp(b.p, want, len) != 0) {
		size_t i = 0;
		while (i < len && i < b.len && want[i] == b.p[i])
			i++;
		fail_msg("%s: differs at byte %zu: reference \"%.60s\", ours \"%.60s\"", xml_path,
		         i, want + i, b.p + i);
	}
	buf_free(&b);
	free(want);
}

/* ---- fixtures ------------------------------------------------------------ */

struct variant {
	const char *id;
	const char *loaded; /* prefix of the .loaded.json / .loaded.internal.xml */
};

static const struct variant variants[] = {
    {"v01_lastupdate_float", "v01_lastupdate_float.loaded"},
    {"v02_all_0_5g_float_lastupdate", "v02_all_0_5g_float_lastupdate.loaded"},
    {"v03_pre2024_0_5g", "v03_pre2024_0_5g.intended.loaded"},
    {"v04_legacy_0_4f", "v04_legacy_0_4f.intended.loaded"},
    {"v05_pretty_whitespace", "v05_pretty_whitespace.loaded"},
    {"v06_public_form", "v06_public_form.intended.loaded"},
    {"v07_lowercase_special_tokens", "v07_lowercase_special_tokens.loaded"},
    {"v08_duplicate_ds", "v08_duplicate_ds.loaded"},
    {"v09_negative_min", "v09_negative_min.loaded"},
};
#define NVAR (sizeof(variants) / sizeof(variants[0]))

static void test_variants_match_reference(void **state)
{
	(void)state;
	char path[512], json[512], xml[512], err[400];
	for (size_t v = 0; v < NVAR; v++) {
		snprintf(path, sizeof(path), ARCH "%s.xml", variants[v].id);
		snprintf(json, sizeof(json), ARCH "%s.json", variants[v].loaded);
		snprintf(xml, sizeof(xml), ARCH "%s.internal.xml", variants[v].loaded);
		struct rrdb *r;
		int rc = store_load_xml_file(path, &r, err, sizeof(err));
		if (rc != 0)
			fail_msg("%s: %d %s", path, rc, err);
		compare_json(r, json);
		compare_xml(r, xml);
		rrdb_free(r);
	}
	print_message("compared %lu scalars with the reference loader's JSON\n", scalars_checked);
}

static void test_gzip_archive(void **state)
{
	(void)state;
	char err[400];
	struct rrdb *r;
	int rc = store_load_xml_file(ARCH GZ_UUID ".gz", &r, err, sizeof(err));
	if (rc != 0)
		fail_msg("%d %s", rc, err);
	assert_int_equal(r->nds, 2);
	assert_int_equal(r->nrra, 4);
	compare_json(r, ARCH GZ_UUID ".loaded.json");
	compare_xml(r, ARCH GZ_UUID ".loaded.internal.xml");
	rrdb_free(r);
}

static void test_reference_errors(void **state)
{
	(void)state;
	char err[400];
	struct rrdb *r = (struct rrdb *)1;
	int rc = store_load_xml_file(ARCH "v10_truncated.xml", &r, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_null(r);
	assert_non_null(strstr(err, "v10_truncated.xml"));
	print_message("v10: %s\n", err);

	rc = store_load_xml_file(ARCH "v11_element_order_swapped.xml", &r, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_null(r);
	assert_non_null(strstr(err, "expected <step>, found <lastupdate>"));
	assert_non_null(strstr(err, "line 2"));
	print_message("v11: %s\n", err);

	rc = store_load_xml_file(ARCH "no_such_file.gz", &r, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_null(r);
}

/* A gzip file cut short must not load (zlib reports the missing tail). */
static void test_truncated_gzip(void **state)
{
	(void)state;
	FILE *f = fopen(ARCH GZ_UUID ".gz", "rb");
	assert_non_null(f);
	char gzb[1 << 16];
	size_t n = fread(gzb, 1, sizeof(gzb), f);
	fclose(f);
	assert_true(n > 100 && n < sizeof(gzb));
	char tmp[] = "/tmp/test_xml_parse_XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	size_t cuts[] = {n - 1, n - 9, n / 2, 11};
	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(pwrite(fd, gzb, cuts[c], 0), (ssize_t)cuts[c]);
		char err[400];
		struct rrdb *r;
		int rc = store_load_xml_file(tmp, &r, err, sizeof(err));
		if (rc == 0)
			fail_msg("gzip cut at %zu of %zu loaded", cuts[c], n);
		assert_null(r);
		assert_true(err[0] != 0);
	}
	close(fd);
	unlink(tmp);
}

static void test_chunking_invariance(void **state)
{
	(void)state;
	static const size_t chunks[] = {1, 7, 4096};
	char path[512], err[400];
	for (size_t v = 0; v <= NVAR; v++) {
		if (v < NVAR)
			snprintf(path, sizeof(path), ARCH "%s.xml", variants[v].id);
		else
			snprintf(path, sizeof(path), ARCH GZ_UUID ".gz");
		size_t len;
		char *doc = slurp(path, &len);
		struct rrdb *r = parse_ok(doc, len);
		char *whole = dump_str(r);
		rrdb_free(r);
		for (size_t c = 0; c < 3; c++) {
			int rc = parse_mem(doc, len, chunks[c], NULL, &r, err, sizeof(err));
			if (rc != 0)
				fail_msg("%s in chunks of %zu: %s", path, chunks[c], err);
			char *part = dump_str(r);
			same_text(path, whole, part);
			free(part);
			rrdb_free(r);
		}
		free(whole);
		free(doc);
	}
}

/* Every strict prefix of a document fails; prefixes reaching </rrd> load. */
static void truncations_of(const char *path, size_t stride)
{
	size_t len;
	char *doc = slurp(path, &len);
	const char *endtag = strstr(doc, "</rrd>");
	assert_non_null(endtag);
	size_t end = (size_t)(endtag - doc) + 6;
	char err[400];
	unsigned failures = 0;
	for (size_t cut = 0; cut <= len; cut += (cut + stride < end || cut >= end) ? stride : 1) {
		struct rrdb *r;
		int rc = parse_mem(doc, cut, cut % 50 ? 0 : 5, NULL, &r, err, sizeof(err));
		if (cut < end) {
			if (rc != -EINVAL)
				fail_msg("%s cut at %zu of %zu: rc %d", path, cut, len, rc);
			failures++;
		} else {
			if (rc != 0)
				fail_msg("%s cut at %zu (after </rrd>): %s", path, cut, err);
			rrdb_free(r);
		}
	}
	print_message("%s: %u truncations rejected\n", strrchr(path, '/') + 1, failures);
	free(doc);
}

static void test_every_truncation(void **state)
{
	(void)state;
	truncations_of(ARCH "base.internal.xml", 1);
	truncations_of(ARCH "v05_pretty_whitespace.xml", 1);
	truncations_of(ARCH GZ_UUID ".gz", 13);
}

/* ---- hand-written documents --------------------------------------------- */

#define DS_A                                                                                       \
	"<ds><name>a</name><type>GAUGE</type><minimal_heartbeat>300</minimal_heartbeat>"           \
	"<min>0.0</min><max>100</max><last_ds>5</last_ds><value>1.5</value>"                       \
	"<unknown_sec>0</unknown_sec></ds>"
#define DS_B                                                                                       \
	"<ds><name>b</name><type>DERIVE</type><minimal_heartbeat>300</minimal_heartbeat>"          \
	"<min>-Infinity</min><max>Infinity</max><last_ds>7</last_ds><value>2</value>"              \
	"<unknown_sec>3</unknown_sec><last_updated>99.5</last_updated></ds>"
#define CDP(v, u)                                                                                  \
	"<ds><primary_value>0.0</primary_value><secondary_value>0.0</secondary_value>"             \
	"<value>" v "</value><unknown_datapoints>" u "</unknown_datapoints></ds>"
#define SMALL                                                                                      \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                             \
	"<rrd><version>0003</version><step>5</step><lastupdate>100</lastupdate>" DS_A DS_B         \
	"<rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><params><xff>0.5</xff></params>"         \
	"<cdp_prep>" CDP("0.25", "0") CDP(                                                         \
	    "NaN",                                                                                 \
	    "1") "</cdp_prep>"                                                                     \
	         "<database><row><v>1</v><v>-2</v></row><row><v>150</v><v>4</v></row>"             \
	         "<row><v>3</v><v>5</v></row></database></rra>"                                    \
	         "<rra><cf>MAX</cf><pdp_per_row>12</pdp_per_row><params><xff>1</xff></params>"     \
	         "<cdp_prep>" CDP("-Infinity", "4") CDP(                                           \
	             "7", "11") "</cdp_prep>"                                                      \
	                        "<database><row><v>NaN</v><v>6</v></row></database></rra></rrd>"

/* SMALL with the first occurrence of 'from' replaced by 'to'. */
static char *edit(const char *doc, const char *from, const char *to)
{
	const char *at = strstr(doc, from);
	if (!at)
		fail_msg("test bug: \"%s\" not in the document", from);
	size_t a = (size_t)(at - doc), fl = strlen(from), tl = strlen(to), dl = strlen(doc);
	char *s = malloc(dl - fl + tl + 1);
	memcpy(s, doc, a);
	memcpy(s + a, to, tl);
	memcpy(s + a + tl, at + fl, dl - a - fl + 1);
	return s;
}

static void test_small_document_semantics(void **state)
{
	(void)state;
	struct rrdb *r = parse_ok(SMALL, strlen(SMALL));
	char b[NUMFMT_MAX];
	assert_int_equal(r->step, 5);
	assert_string_equal(dbl(b, r->last_updated), "100");
	assert_int_equal(r->nds, 2);
	assert_string_equal(r->ds[0].name, "a");
	assert_int_equal(r->ds[0].type, DS_GAUGE);
	assert_int_equal(r->ds[1].type, DS_DERIVE);
	/* missing last_updated = lastupdate; present one kept with its fraction */
	assert_string_equal(dbl(b, r->ds[0].last_updated), "100");
	assert_string_equal(dbl(b, r->ds[1].last_updated), "99.5");
	assert_string_equal(dbl(b, r->ds[1].min), "0.0"); /* clamped */
	assert_string_equal(dbl(b, r->ds[1].max), "Infinity");
	assert_string_equal(dbl(b, r->ds[0].value), "1.5");
	assert_string_equal(dbl(b, r->ds[1].unknown_sec), "3");
	assert_int_equal(r->ds[0].last.type, VAL_UNKNOWN);
	assert_int_equal(r->ds[1].last.type, VAL_UNKNOWN);
	rrdb_free(r);
	/* names are trimmed and inner white space collapsed, as Xmlm's strip does */
	char *doc = edit(SMALL, "<name>a</name>", "<name>\r\n a \t\r\n b  c </name>");
	r = parse_ok(doc, strlen(doc));
	free(doc);
	assert_string_equal(r->ds[0].name, "a b c");
	assert_int_equal(r->nrra, 2);
	assert_int_equal(r->rra[0].rows, 3);
	assert_int_equal(r->rra[1].rows, 1);
	assert_int_equal(r->rra[1].cf, CF_MAX);
	assert_int_equal(r->rra[1].pdp_cnt, 12);
	assert_string_equal(dbl(b, r->ds[0].cdp[0].value), "0.25");
	assert_string_equal(dbl(b, r->ds[1].cdp[0].value), "NaN");
	assert_int_equal(r->ds[1].cdp[0].unknown_pdps, 1);
	assert_string_equal(dbl(b, r->ds[0].cdp[1].value), "-Infinity");
	assert_int_equal(r->ds[1].cdp[1].unknown_pdps, 11);
	/* rows oldest first; 150 > max 100 and -2 < clamped min 0 become NaN */
	assert_string_equal(dbl(b, rrdb_peek(r, 0, 0, 2)), "1");
	assert_string_equal(dbl(b, rrdb_peek(r, 0, 0, 1)), "NaN");
	assert_string_equal(dbl(b, rrdb_peek(r, 0, 0, 0)), "3");
	assert_string_equal(dbl(b, rrdb_peek(r, 1, 0, 2)), "NaN");
	assert_string_equal(dbl(b, rrdb_peek(r, 1, 0, 1)), "4");
	assert_string_equal(dbl(b, rrdb_peek(r, 1, 0, 0)), "5");
	assert_string_equal(dbl(b, rrdb_peek(r, 1, 1, 0)), "6");
	rrdb_free(r);
}

struct tolerant {
	const char *from, *to;
	int ds, rra, row; /* which ring value to check (-1: check a DS field) */
	const char *want;
};

/* Inputs the loader must accept, and what they mean. */
static void test_tolerated_forms(void **state)
{
	(void)state;
	static const struct tolerant cases[] = {
	    {"<v>3</v>", "<v> +3.0e0 </v>", 0, 0, 2, "3"},
	    {"<v>3</v>", "<v>.5</v>", 0, 0, 2, "0.5"},
	    {"<v>3</v>", "<v>5.</v>", 0, 0, 2, "5"},
	    {"<v>3</v>", "<v>1E1</v>", 0, 0, 2, "10"},
	    {"<v>3</v>", "<v><![CDATA[7]]></v>", 0, 0, 2, "7"},
	    {"<v>3</v>", "<v>\r\n\t7 </v>", 0, 0, 2, "7"},
	    {"<v>3</v>", "<v>7<!-- c --></v>", 0, 0, 2, "7"},
	    {"<v>3</v>", "<v>1<!-- split -->2</v>", 0, 0, 2, "12"},
	    {"<v>3</v>", "<v>&#x37;</v>", 0, 0, 2, "7"},
	    {"<v>3</v>", "<v>nan</v>", 0, 0, 2, "NaN"},
	    {"<v>3</v>", "<v>-NaN</v>", 0, 0, 2, "NaN"},
	    {"<v>3</v>", "<v>1e999</v>", 0, 0, 2, "NaN"},      /* inf > max 100 */
	    {"<v>5</v>", "<v>1e999</v>", 1, 0, 2, "Infinity"}, /* max Infinity */
	    {"<v>5</v>", "<v>INF</v>", 1, 0, 2, "Infinity"},
	    {"<v>5</v>", "<v>infinity</v>", 1, 0, 2, "Infinity"},
	    {"<v>5</v>", "<v>1e-320</v>", 1, 0, 2, "0.0"},      /* float32 underflow */
	    {"<v>3</v>", "<v>100.0000001</v>", 0, 0, 2, "NaN"}, /* bound on the double */
	    {"<v>3</v>", "<v>100</v>", 0, 0, 2, "100"},
	    {"<rrd>", "<rrd xmlns=\"x\" a='1'>", 0, 0, 2, "3"}, /* attributes ignored */
	    {"<ds><name>a", "<?pi x?><!--c--> <ds><name>a", 0, 0, 2, "3"},
	    {"</rrd>", "</rrd>\n<!-- trailing comment -->\n\n", 0, 0, 2, "3"},
	    {"<lastupdate>100</lastupdate>", "<lastupdate>100.75</lastupdate>", -1, 0, 0, "100.75"},
	    {"<lastupdate>100</lastupdate>", "<lastupdate>1.0075e2</lastupdate>", -1, 0, 0,
	     "100.75"},
	};
	char b[NUMFMT_MAX];
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char *doc = edit(SMALL, cases[c].from, cases[c].to);
		char err[400];
		struct rrdb *r;
		int rc = parse_mem(doc, strlen(doc), 3, NULL, &r, err, sizeof(err));
		if (rc != 0)
			fail_msg("case %zu (%s): %s", c, cases[c].to, err);
		if (cases[c].ds < 0) {
			/* lastupdate and the default of the missing last_updated */
			check(cases[c].to, cases[c].want, dbl(b, r->last_updated));
			check(cases[c].to, cases[c].want, dbl(b, r->ds[0].last_updated));
		} else {
			uint32_t rows = r->rra[cases[c].rra].rows;
			double v = rrdb_peek(r, (uint32_t)cases[c].ds, (uint32_t)cases[c].rra,
			                     rows - 1 - (uint32_t)cases[c].row);
			check(cases[c].to, cases[c].want, dbl(b, v));
		}
		rrdb_free(r);
		free(doc);
	}
}

static void test_duplicates_keep_last(void **state)
{
	(void)state;
	/* three DSs named a: only the last (settings and column) survives */
	char *d1 = edit(SMALL, "<name>b</name>", "<name>a</name>");
	char *d2 = edit(d1, DS_A, DS_A DS_A);
	char *d3 = edit(d2, "<cdp_prep>", "<cdp_prep>" CDP("8", "0"));
	char *d4 = edit(d3, "<cdp_prep>" CDP("-Infinity", "4"),
	                "<cdp_prep>" CDP("-Infinity", "4") CDP("9", "3"));
	char *d5 = edit(d4, "<row><v>1</v>", "<row><v>11</v><v>1</v>");
	char *d6 = edit(d5, "<row><v>150</v>", "<row><v>12</v><v>150</v>");
	char *d7 = edit(d6, "<row><v>3</v>", "<row><v>13</v><v>3</v>");
	char *doc = edit(d7, "<row><v>NaN</v>", "<row><v>14</v><v>NaN</v>");
	struct rrdb *r = parse_ok(doc, strlen(doc));
	char b[NUMFMT_MAX];
	assert_int_equal(r->nds, 1);
	assert_string_equal(r->ds[0].name, "a");
	assert_int_equal(r->ds[0].type, DS_DERIVE); /* the former b */
	assert_string_equal(dbl(b, r->ds[0].last_updated), "99.5");
	assert_string_equal(dbl(b, r->ds[0].cdp[1].value), "7");
	assert_string_equal(dbl(b, rrdb_peek(r, 0, 0, 1)), "4");
	assert_string_equal(dbl(b, rrdb_peek(r, 0, 1, 0)), "6");
	rrdb_free(r);
	free(doc), free(d1), free(d2), free(d3), free(d4), free(d5), free(d6), free(d7);
}

struct bad {
	const char *from, *to;
	int rc;
	const char *msg; /* must appear in the error */
};

static void test_invalid_documents(void **state)
{
	(void)state;
	static const struct bad cases[] = {
	    {"<step>5</step>", "<step>0</step>", -EINVAL, "<step>"},
	    {"<step>5</step>", "<step>5.5</step>", -EINVAL, "<step>"},
	    {"<step>5</step>", "<step>-5</step>", -EINVAL, "<step>"},
	    {"<step>5</step>", "<step>99999999999</step>", -EINVAL, "<step>"},
	    {"<step>5</step>", "<step></step>", -EINVAL, "<step>"},
	    {"<pdp_per_row>1</pdp_per_row>", "<pdp_per_row>0</pdp_per_row>", -EINVAL,
	     "pdp_per_row"},
	    {"<cf>AVERAGE</cf>", "<cf>average</cf>", -EINVAL, "consolidation function"},
	    {"<cf>AVERAGE</cf>", "<cf>AVG</cf>", -EINVAL, "\"AVG\""},
	    {"<type>GAUGE</type>", "<type>COUNTER</type>", -EINVAL, "data source type"},
	    {"<v>1</v>", "<v>1x</v>", -EINVAL, "bad number \"1x\""},
	    {"<v>1</v>", "<v></v>", -EINVAL, "bad number"},
	    {"<v>1</v>", "<v>0x10</v>", -EINVAL, "bad number"},
	    {"<v>1</v>", "<v>1 2</v>", -EINVAL, "bad number"},
	    {"<v>1</v>", "<v>nan(1)</v>", -EINVAL, "bad number"},
	    {"<v>1</v>", "<v>1e</v>", -EINVAL, "(rra 1, row 1, column 1)"},
	    {"<value>1.5</value>", "<value>1.2.3</value>", -EINVAL, "(ds 1)"},
	    {"<value>0.25</value>", "<value>x</value>", -EINVAL, "(rra 1, cdp_prep ds 1)"},
	    {"<unknown_datapoints>0</unknown_datapoints>",
	     "<unknown_datapoints>-1</unknown_datapoints>", -EINVAL, "bad count"},
	    {"<row><v>1</v><v>-2</v></row>", "<row><v>1</v></row>", -EINVAL, "1 <v>, expected 2"},
	    {"<row><v>1</v><v>-2</v></row>", "<row><v>1</v><v>1</v><v>1</v></row>", -EINVAL,
	     "more than 2 <v>"},
	    {"<row><v>1</v><v>-2</v></row><row><v>150</v><v>4</v></row><row><v>3</v><v>5</v></row>",
	     "", -EINVAL, "no rows"},
	    {CDP("0.25", "0") CDP("NaN", "1"), CDP("0.25", "0"), -EINVAL, "1 <ds>, expected"},
	    {CDP("0.25", "0"), CDP("0.25", "0") CDP("1", "1"), -EINVAL, "more <ds> than"},
	    {"<unknown_sec>0</unknown_sec>", "", -EINVAL, "missing <unknown_sec>"},
	    {"<version>0003</version>", "", -EINVAL, "expected <version>, found <step>"},
	    {"<params><xff>0.5</xff></params>", "<params></params>", -EINVAL, "missing <xff>"},
	    {"<params><xff>0.5</xff></params>", "", -EINVAL, "expected <params>"},
	    {"<value>1.5</value>", "<value>1.5</value><foo/>", -EINVAL, "found <foo>"},
	    {"<step>5</step><lastupdate>100</lastupdate>",
	     "<lastupdate>100</lastupdate><step>5</step>", -EINVAL,
	     "expected <step>, found <lastupdate>"},
	    {"</rra></rrd>", "</rra>" DS_A "</rrd>", -EINVAL, "expected <rra>, found <ds>"},
	    {"</rrd>", "</rrd><x/>", -EINVAL, "junk after document element"},
	    {"</rrd>", "</rrd>junk", -EINVAL, "malformed XML"},
	    {"<rrd>", "<rrd>junk", -EINVAL, "<rrd>: unexpected text"},
	    {"<name>a</name>", "<name>a<b/></name>", -EINVAL, "inside a value"},
	    {"<rrd>", "<rrdx>", -EINVAL, "expected <rrd>"},
	    {"<xff>0.5</xff>", "<xff>2</xff>", -EINVAL, "xff outside"},
	    {"<xff>0.5</xff>", "<xff>NaN</xff>", -EINVAL, "xff outside"},
	    {"<minimal_heartbeat>300", "<minimal_heartbeat>0", -EINVAL, "heartbeat"},
	    {"<min>0.0</min>", "<min>nan</min>", -EINVAL, "min is NaN"},
	    {"<max>100</max>", "<max>-1</max>", -EINVAL, "max below min"},
	    {"<name>a</name>", "<name> </name>", -EINVAL, "empty data source name"},
	    {"<lastupdate>100</lastupdate>", "<lastupdate>inf</lastupdate>", -EINVAL, "finite"},
	    {"<lastupdate>100</lastupdate>", "<lastupdate>-1</lastupdate>", -EINVAL,
	     "out of range"},
	    {"<lastupdate>100</lastupdate>", "<lastupdate>1e300</lastupdate>", -EINVAL,
	     "out of range"},
	    {"<last_updated>99.5</last_updated>", "<last_updated>2e12</last_updated>", -EINVAL,
	     "(ds 2): time out of range"},
	    {"<unknown_datapoints>11</unknown_datapoints>",
	     "<unknown_datapoints>13</unknown_datapoints>", -EINVAL,
	     "more unknown PDPs than pdp_per_row"},
	    {"<unknown_sec>3</unknown_sec>", "<unknown_sec>NaN</unknown_sec>", -EINVAL, "finite"},
	    {"<unknown_sec>3</unknown_sec>", "<unknown_sec>1e30</unknown_sec>", -EINVAL,
	     "out of range"},
	    {"<unknown_sec>3</unknown_sec>", "<unknown_sec>-1</unknown_sec>", -EINVAL,
	     "out of range"},
	    {"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
	     "<?xml version=\"1.0\"?><!DOCTYPE rrd [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
	     "\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>",
	     -EINVAL, "DOCTYPE"},
	    {"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
	     "<!DOCTYPE rrd SYSTEM \"/etc/passwd\">", -EINVAL, "DOCTYPE"},
	    {"<name>a</name>", "<name>&foo;</name>", -EINVAL, "undefined entity"},
	    {"<name>a</name>", "<name>a&#0;</name>", -EINVAL, "malformed XML"},
	    {"</ds>", "</dx>", -EINVAL, "mismatched tag"},
	    {"<v>1</v>", "<v>\xff</v>", -EINVAL, "malformed XML"},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char *doc = edit(SMALL, cases[c].from, cases[c].to);
		static const size_t chunks[] = {0, 1};
		for (size_t k = 0; k < 2; k++) {
			char err[400];
			struct rrdb *r;
			int rc = parse_mem(doc, strlen(doc), chunks[k], NULL, &r, err, sizeof(err));
			if (rc != cases[c].rc || !strstr(err, cases[c].msg))
				fail_msg("case %zu (%s): rc %d, error \"%s\"; wanted %d and \"%s\"",
				         c, cases[c].to, rc, err, cases[c].rc, cases[c].msg);
		}
		free(doc);
	}
	print_message("%zu invalid documents rejected with the expected message\n",
	              sizeof(cases) / sizeof(cases[0]));
}

static void expect_limit(const struct xmlp_limits *lim, const char *doc, const char *msg)
{
	char err[400];
	struct rrdb *r;
	int rc = parse_mem(doc, strlen(doc), 0, lim, &r, err, sizeof(err));
	if (rc != -E2BIG || !strstr(err, msg))
		fail_msg("rc %d \"%s\", wanted -E2BIG and \"%s\"", rc, err, msg);
}

static void test_limits(void **state)
{
	(void)state;
	struct rrdb *r;
	char err[400];
	expect_limit(&(struct xmlp_limits){.max_ds = 1}, SMALL, "more than 1 data sources");
	expect_limit(&(struct xmlp_limits){.max_rra = 1}, SMALL, "more than 1 RRAs");
	expect_limit(&(struct xmlp_limits){.max_rows = 2}, SMALL, "more than 2 rows");
	expect_limit(&(struct xmlp_limits){.max_floats = 7}, SMALL, "more than 7 values");
	expect_limit(&(struct xmlp_limits){.max_text = 3}, SMALL, "text longer than 3 bytes");
	expect_limit(&(struct xmlp_limits){.max_bytes = 100}, SMALL, "longer than 100 bytes");
	/* exactly at the limits is fine */
	struct xmlp_limits at = {.max_ds = 2, .max_rra = 2, .max_rows = 3, .max_floats = 8};
	assert_int_equal(parse_mem(SMALL, strlen(SMALL), 0, &at, &r, err, sizeof(err)), 0);
	rrdb_free(r);
	/* a name over the default text limit */
	char *longname = malloc(3000);
	memset(longname, 'n', 2999);
	longname[2999] = 0;
	char *to = malloc(3100);
	snprintf(to, 3100, "<name>%s</name>", longname);
	char *doc = edit(SMALL, "<name>a</name>", to);
	expect_limit(NULL, doc, "text longer than 1024 bytes");
	free(doc), free(to), free(longname);
}

/* ---- streamed hostile input with bounded memory -------------------------- */

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* Feed prefix, then 'total' bytes made of 'unit' repeated, then suffix, in
 * 64 KiB chunks.  Returns the first error and the peak heap growth. */
static int stream(const char *prefix, const char *unit, size_t total, const char *suffix,
                  size_t *peak, size_t *fed_at_error, char *err, size_t errlen, struct rrdb **out)
{
	size_t base = heap_in_use();
	*peak = 0;
	struct xmlp *p = xmlp_new(NULL);
	int rc = xmlp_feed(p, prefix, strlen(prefix));
	size_t ul = strlen(unit), cl = (64u << 10) / ul * ul;
	char *chunk = malloc(cl);
	for (size_t i = 0; i < cl; i += ul)
		memcpy(chunk + i, unit, ul);
	size_t fed = 0;
	while (rc == 0 && fed < total) {
		size_t k = total - fed < cl ? total - fed : cl;
		rc = xmlp_feed(p, chunk, k);
		fed += k;
		size_t now = heap_in_use();
		if (now > base + cl && now - base - cl > *peak)
			*peak = now - base - cl;
	}
	*fed_at_error = fed;
	if (rc == 0)
		rc = xmlp_feed(p, suffix, strlen(suffix));
	*out = NULL;
	if (rc == 0)
		rc = xmlp_finish(p, out);
	snprintf(err, errlen, "%s", xmlp_error(p));
	xmlp_free(p);
	free(chunk);
	return rc;
}

#define HUNDRED_MB (100u << 20)

static void test_streamed_hostile(void **state)
{
	(void)state;
	char err[400];
	size_t peak, fed;
	struct rrdb *r;
	const char *db = strstr(SMALL, "<database>") + strlen("<database>");
	char *head = strndup(SMALL, (size_t)(db - SMALL));
	const char *tail = db;

	/* 10^6-deep nesting, as the root and inside <rrd> */
	int rc = stream("", "<a>", 3000000, "", &peak, &fed, err, sizeof(err), &r);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "expected <rrd>"));
	assert_true(fed <= (64u << 10)); /* stopped at the first chunk */
	rc = stream("<rrd><version>1</version><step>5</step><lastupdate>1</lastupdate>", "<rrd>",
	            5000000, "", &peak, &fed, err, sizeof(err), &r);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "found <rrd>"));

	/* a 100 MB text node in a value: refused once past max_text */
	rc = stream("<rrd><version>", "x", HUNDRED_MB, "</version>", &peak, &fed, err, sizeof(err),
	            &r);
	assert_int_equal(rc, -E2BIG);
	assert_true(fed <= (64u << 10));
	print_message("100 MB text node: \"%s\"\n", err);

	/* 100 MB of whitespace between rows: legal, streamed in bounded memory */
	rc = stream(head, " \r\n\t", HUNDRED_MB, tail, &peak, &fed, err, sizeof(err), &r);
	if (rc != 0)
		fail_msg("%s", err);
	assert_int_equal(r->rra[0].rows, 3);
	rrdb_free(r);
	print_message("100 MB of whitespace: peak heap growth %zu bytes\n", peak);
	assert_true(peak < (4u << 20));

	/* 100 MB of rows: the total-floats limit stops it before memory grows */
	struct xmlp_limits lim = {.max_floats = 1000};
	struct xmlp *p = xmlp_new(&lim);
	rc = xmlp_feed(p, head, strlen(head));
	for (int i = 0; rc == 0 && i < 100000; i++)
		rc = xmlp_feed(p, "<row><v>1</v><v>2</v></row>", 27);
	assert_int_equal(rc, -E2BIG);
	assert_non_null(strstr(xmlp_error(p), "more than 1000 values"));
	xmlp_free(p);

	/* an endless comment, attribute or tag: the token limit */
	rc = stream("<rrd><!--", "-x", HUNDRED_MB, "-->", &peak, &fed, err, sizeof(err), &r);
	assert_int_equal(rc, -E2BIG);
	assert_non_null(strstr(err, "markup longer than"));
	assert_true(fed < (1u << 20));
	assert_true(peak < (4u << 20));
	rc = stream("<rrd a=\"", "y", HUNDRED_MB, "\">", &peak, &fed, err, sizeof(err), &r);
	assert_int_equal(rc, -E2BIG);
	assert_true(fed < (1u << 20));
	rc = stream("<rrd", " ", HUNDRED_MB, ">", &peak, &fed, err, sizeof(err), &r);
	assert_int_equal(rc, -E2BIG);
	assert_true(fed < (1u << 20));
	rc = stream("<", "r", HUNDRED_MB, ">", &peak, &fed, err, sizeof(err), &r);
	assert_int_equal(rc, -E2BIG);
	assert_true(fed < (1u << 20));

	/* billion laughs, streamed: refused at the DOCTYPE */
	rc = stream("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">",
	            "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">",
	            1 << 20, "]><lolz>&lol1;</lolz>", &peak, &fed, err, sizeof(err), &r);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "DOCTYPE"));
	free(head);
}

/* ---- misuse of the API -------------------------------------------------- */

static void test_api_misuse(void **state)
{
	(void)state;
	struct rrdb *r;
	struct xmlp *p = xmlp_new(NULL);
	assert_int_equal(xmlp_feed(p, SMALL, strlen(SMALL)), 0);
	assert_int_equal(xmlp_feed(p, NULL, 0), 0);
	assert_int_equal(xmlp_finish(p, &r), 0);
	rrdb_free(r);
	assert_int_equal(xmlp_feed(p, "x", 1), -EINVAL);
	assert_int_equal(xmlp_finish(p, &r), -EINVAL);
	assert_null(r);
	xmlp_free(p);
	xmlp_free(NULL);

	/* empty input */
	p = xmlp_new(NULL);
	assert_int_equal(xmlp_finish(p, &r), -EINVAL);
	assert_non_null(strstr(xmlp_error(p), "no element found"));
	xmlp_free(p);

	/* after an error, feeding keeps failing and nothing leaks */
	p = xmlp_new(NULL);
	assert_int_equal(xmlp_feed(p, "<rrd><x>", 8), -EINVAL);
	assert_int_equal(xmlp_feed(p, SMALL, strlen(SMALL)), -EINVAL);
	assert_int_equal(xmlp_finish(p, &r), -EINVAL);
	xmlp_free(p);

	/* an error in the middle of a <ds> frees its name */
	p = xmlp_new(NULL);
	const char *half = "<rrd><version>1</version><step>5</step><lastupdate>1</lastupdate>"
	                   "<ds><name>abc</name><type>X</type>";
	assert_int_equal(xmlp_feed(p, half, strlen(half)), -EINVAL);
	xmlp_free(p);
}

/* Whatever we load, our writer writes, and loading that gives it back. */
static void test_round_trip(void **state)
{
	(void)state;
	char path[512];
	for (size_t v = 0; v <= NVAR; v++) {
		if (v < NVAR)
			snprintf(path, sizeof(path), ARCH "%s.xml", variants[v].id);
		else
			snprintf(path, sizeof(path), ARCH GZ_UUID ".gz");
		size_t len;
		char *doc = slurp(path, &len);
		struct rrdb *r = parse_ok(doc, len);
		struct buf b = BUF_INIT;
		exp_rrd_xml(&b, r, 1);
		struct rrdb *r2 = parse_ok(b.p, b.len);
		/* <lastupdate> is written as an integer (CA-407322): that is lost */
		r->last_updated = trunc(r->last_updated);
		char *d1 = dump_str(r), *d2 = dump_str(r2);
		same_text(path, d1, d2);
		free(d1), free(d2);
		buf_free(&b);
		rrdb_free(r), rrdb_free(r2);
		free(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_variants_match_reference),
	    cmocka_unit_test(test_gzip_archive),
	    cmocka_unit_test(test_reference_errors),
	    cmocka_unit_test(test_truncated_gzip),
	    cmocka_unit_test(test_chunking_invariance),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_small_document_semantics),
	    cmocka_unit_test(test_tolerated_forms),
	    cmocka_unit_test(test_duplicates_keep_last),
	    cmocka_unit_test(test_invalid_documents),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_streamed_hostile),
	    cmocka_unit_test(test_api_misuse),
	    cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
