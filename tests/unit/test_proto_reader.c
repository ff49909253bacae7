/*
 * Unit tests of the plugin page reader beyond the golden fixtures: bounds
 * (every fixture truncated at every length is a clean error, never a crash,
 * until its payload is complete), reader-state semantics (No_update, cached
 * metadata not re-read, rejected metadata remembered, count mismatch through
 * the cache), legacy timestamps, V1/V2 auto-detection, metadata rules and
 * defaults, and MD5 test vectors.  Pages are built here from the byte layout
 * of wire-format.md §6.3 with zlib's crc32, independently of the parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "plugin/proto.h"
#include "util/md5.h"

#define PLUGINS_DIR RRDD_FIXTURES "/plugins"

/* ---- page builders (wire-format.md §6.3 layout) ---- */

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint64_t dbits(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof(b));
	return b;
}

/* A V2 page: header count n, n values, metadata meta; *len set. */
static unsigned char *v2_page(const char *meta, uint32_t n, const uint64_t *vals, uint64_t ts_bits,
                              size_t *len)
{
	size_t m = strlen(meta), total = 35 + 8 * (size_t)n + m;
	unsigned char *p = calloc(1, total);
	memcpy(p, "DATASOURCES", 11);
	put32(p + 15, (uint32_t)crc32(0, (const unsigned char *)meta, (uInt)m));
	put32(p + 19, n);
	put64(p + 23, ts_bits);
	for (uint32_t i = 0; i < n; i++)
		put64(p + 31 + 8 * i, vals[i]);
	put32(p + 31 + 8 * n, (uint32_t)m);
	memcpy(p + 35 + 8 * n, meta, m);
	put32(p + 11, (uint32_t)crc32(0, p + 23, 8 + 8 * n));
	*len = total;
	return p;
}

static unsigned char *v1_page(const char *json, size_t *len)
{
	size_t l = strlen(json);
	unsigned char *p = malloc(54 + l + 1), md5[16];
	md5_sum(json, l, md5);
	int k = snprintf((char *)p, 55, "DATASOURCES\n%08zx\n", l);
	for (int i = 0; i < 16; i++)
		k += snprintf((char *)p + k, 3, "%02x", md5[i]);
	p[53] = '\n';
	memcpy(p + 54, json, l);
	p[54 + l] = '\n';
	*len = 54 + l + 1;
	return p;
}

static int read1(struct plg_reader *r, const unsigned char *p, size_t len,
                 const struct plg_page **pg)
{
	/* Copy to an exact-size block so that sanitizers see over-reads. */
	unsigned char *copy = malloc(len ? len : 1);
	memcpy(copy, p, len);
	int rc = plg_read(r, copy, len, pg);
	free(copy);
	return rc;
}

/* ---- bounds: every fixture truncated at every length ---- */

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	struct stat st;
	assert_int_equal(fstat(fileno(f), &st), 0);
	unsigned char *p = malloc((size_t)st.st_size + 1);
	*len = fread(p, 1, (size_t)st.st_size, f);
	fclose(f);
	assert_int_equal(*len, (size_t)st.st_size);
	return p;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Minimal length a valid page needs (from its header), or 0 if unknown. */
static size_t payload_end(const unsigned char *b, size_t len)
{
	if (len >= 54 && memcmp(b, "DATASOURCES\n", 12) == 0 && b[20] == '\n') {
		char hex[9];
		memcpy(hex, b + 12, 8);
		hex[8] = 0;
		return 54 + strtoul(hex, NULL, 16);
	}
	if (len < 23)
		return 0;
	uint64_t n = get32(b + 19);
	if (35 + 8 * n > len)
		return 0;
	return 35 + 8 * n + get32(b + 31 + 8 * n);
}

static void test_truncation_every_length(void **state)
{
	DIR *dir = opendir(PLUGINS_DIR);
	assert_non_null(dir);
	struct dirent *de;
	int nfiles = 0, nok = 0;
	while ((de = readdir(dir))) {
		size_t nl = strlen(de->d_name);
		if (nl < 5 || strcmp(de->d_name + nl - 4, ".bin") != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", PLUGINS_DIR, de->d_name);
		size_t len;
		unsigned char *b = slurp(path, &len);
		nfiles++;
		struct plg_reader *r = plg_reader_new();
		const struct plg_page *pg;
		int full = read1(r, b, len, &pg);
		size_t full_n = full == 0 ? pg->n : 0;
		double full_ts = full == 0 ? pg->timestamp : 0;
		uint64_t first_bits = full == 0 && full_n ? (uint64_t)pg->ds[0].value.i : 0;
		plg_reader_free(r);
		size_t end = payload_end(b, len);
		if (full == 0) {
			nok++;
			assert_true(end > 0 && end <= len);
		}
		size_t stop = full == 0 ? end : len;
		for (size_t l = 0; l < stop; l++) {
			r = plg_reader_new();
			int rc = read1(r, b, l, &pg);
			assert_true(rc < 0);
			assert_null(pg);
			assert_true(plg_reader_error(r)[0] != '\0');
			/* A truncated valid page is a header or length error. */
			if (full == 0 && !(rc == PLG_E_HEADER || rc == PLG_E_LENGTH))
				fail_msg("%s at %zu bytes: %s (%s)", de->d_name, l,
				         plg_status_name(rc), plg_reader_error(r));
			plg_reader_free(r);
		}
		if (full == 0) {
			/* Complete from the payload end on, whatever follows. */
			size_t lens[] = {end, end + 1, len};
			for (int i = 0; i < 3; i++) {
				if (lens[i] > len)
					continue;
				r = plg_reader_new();
				int rc = read1(r, b, lens[i], &pg);
				if (rc != 0)
					fail_msg("%s at %zu bytes: %s (%s)", de->d_name, lens[i],
					         plg_status_name(rc), plg_reader_error(r));
				assert_int_equal(pg->n, full_n);
				assert_true(pg->timestamp == full_ts);
				if (full_n)
					assert_true((uint64_t)pg->ds[0].value.i == first_bits);
				plg_reader_free(r);
			}
		}
		free(b);
	}
	closedir(dir);
	assert_true(nfiles >= 30);
	assert_true(nok >= 15);
}

static void test_garbage(void **state)
{
	uint64_t x = 88172645463325252ull;
	unsigned char buf[600];
	for (int iter = 0; iter < 4000; iter++) {
		size_t len = (size_t)(iter % 600);
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (unsigned char)x;
		}
		/* Half of them look like pages. */
		if (iter & 1 && len >= 12)
			memcpy(buf, (iter & 2) ? "DATASOURCES\n" : "DATASOURCES",
			       (iter & 2) ? 12 : 11);
		if (iter & 4 && len > 22)
			put32(buf + 19, (uint32_t)(x % 8));
		struct plg_reader *r = plg_reader_new();
		const struct plg_page *pg;
		int rc = read1(r, buf, len, &pg);
		assert_true(rc < 0);
		assert_true(rc >= PLG_E_COUNT && rc <= PLG_E_HEADER);
		plg_reader_free(r);
	}
}

/* ---- reader state ---- */

static const char *META2 = "{\"datasources\":{\"a\":{\"value_type\":\"int64\",\"type\":\"gauge\"},"
                           "\"b\":{\"value_type\":\"float\",\"owner\":\"vm AbC\"}}}";

static void test_no_update_and_cache(void **state)
{
	uint64_t v[2] = {7, dbits(2.5)};
	size_t len;
	unsigned char *p = v2_page(META2, 2, v, dbits(1700000000.5), &len);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	assert_int_equal(read1(r, p, len, &pg), PLG_OK);
	assert_int_equal(pg->n, 2);
	assert_true(pg->ds[0].value.i == 7);
	assert_true(pg->ds[1].value.f == 2.5);
	assert_string_equal(pg->ds[1].uuid, "abc");
	assert_int_equal(read1(r, p, len, &pg), PLG_E_NO_UPDATE);
	assert_null(pg);
	assert_non_null(strstr(plg_reader_error(r), "unchanged"));

	/* New values, same metadata CRC field, metadata bytes destroyed: the
	 * cached metadata is used, the bytes are not looked at (xcp-rrdd). */
	uint64_t v2[2] = {8, dbits(-1.0)};
	free(p);
	p = v2_page(META2, 2, v2, dbits(1700000005.5), &len);
	memset(p + 35 + 16, 'x', strlen(META2));
	assert_int_equal(read1(r, p, len, &pg), PLG_OK);
	assert_true(pg->ds[0].value.i == 8);
	assert_true(pg->ds[1].value.f == -1.0);
	assert_true(pg->timestamp == 1700000005.5);
	assert_string_equal(pg->ds[0].name, "a");

	/* A fresh reader must verify those bytes. */
	struct plg_reader *r2 = plg_reader_new();
	assert_int_equal(read1(r2, p, len, &pg), PLG_E_CHECKSUM);
	assert_non_null(strstr(plg_reader_error(r2), "metadata CRC32"));
	plg_reader_free(r2);

	/* Header count 3 against the cached 2 entries. */
	uint64_t v3[3] = {1, 2, 3};
	free(p);
	p = v2_page(META2, 3, v3, dbits(1700000010.0), &len);
	assert_int_equal(read1(r, p, len, &pg), PLG_E_COUNT);
	assert_string_equal(plg_reader_error(r),
	                    "datasource count mismatch (header n=3, metadata has 2 entries)");
	free(p);
	plg_reader_free(r);
}

static void test_bad_metadata_remembered(void **state)
{
	const char *bad = "{\"datasources\":{\"a\":{\"value_type\":\"INT64\"}}}";
	uint64_t v = 1;
	size_t len;
	unsigned char *p = v2_page(bad, 1, &v, dbits(1.7e9), &len);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	assert_int_equal(read1(r, p, len, &pg), PLG_E_PAYLOAD);
	char first[300];
	snprintf(first, sizeof(first), "%s", plg_reader_error(r));
	assert_non_null(strstr(first, "value_type"));
	assert_non_null(strstr(first, "INT64"));
	/* Same page: its data CRC was verified, so No_update (as xcp-rrdd). */
	assert_int_equal(read1(r, p, len, &pg), PLG_E_NO_UPDATE);
	/* New data, same bad metadata: same error, same message. */
	v = 2;
	free(p);
	p = v2_page(bad, 1, &v, dbits(1.7e9 + 5), &len);
	assert_int_equal(read1(r, p, len, &pg), PLG_E_PAYLOAD);
	assert_string_equal(plg_reader_error(r), first);
	/* Fixed metadata: accepted. */
	free(p);
	p = v2_page("{\"datasources\":{\"a\":{\"value_type\":\"int64\"}}}", 1, &v,
	            dbits(1.7e9 + 10), &len);
	assert_int_equal(read1(r, p, len, &pg), PLG_OK);
	assert_true(pg->ds[0].value.i == 2);
	free(p);
	plg_reader_free(r);
}

static void test_zero_data_crc_is_no_update(void **state)
{
	/* xcp-rrdd starts with last data CRC 0 and compares before verifying. */
	uint64_t v = 1;
	size_t len;
	unsigned char *p = v2_page(META2, 1, &v, dbits(1.7e9), &len);
	put32(p + 11, 0);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	assert_int_equal(read1(r, p, len, &pg), PLG_E_NO_UPDATE);
	plg_reader_free(r);
	free(p);
}

static void test_count_mismatch_fewer_entries(void **state)
{
	uint64_t v[3] = {1, 2, 3};
	size_t len;
	unsigned char *p = v2_page(META2, 3, v, dbits(1.7e9), &len);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	assert_int_equal(read1(r, p, len, &pg), PLG_E_COUNT);
	free(p);
	/* n = 0 with no metadata entries is a valid empty page. */
	p = v2_page("{\"datasources\":{}}", 0, NULL, dbits(1.7e9), &len);
	assert_int_equal(read1(r, p, len, &pg), PLG_OK);
	assert_int_equal(pg->n, 0);
	free(p);
	plg_reader_free(r);
}

static void test_huge_count_is_bounds_error(void **state)
{
	uint64_t v = 1;
	size_t len;
	unsigned char *p = v2_page(META2, 1, &v, dbits(1.7e9), &len);
	put32(p + 19, 0xffffffffu);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	assert_int_equal(read1(r, p, len, &pg), PLG_E_LENGTH);
	/* Metadata length past the end. */
	free(p);
	p = v2_page(META2, 1, &v, dbits(1.7e9), &len);
	put32(p + 39, 0xfffffff0u);
	assert_int_equal(read1(r, p, len, &pg), PLG_E_LENGTH);
	free(p);
	plg_reader_free(r);
}

/* ---- timestamps and detection ---- */

static double ts_of(uint64_t bits, bool *legacy)
{
	uint64_t v = 5;
	size_t len;
	unsigned char *p =
	    v2_page("{\"datasources\":{\"a\":{\"value_type\":\"int64\"}}}", 1, &v, bits, &len);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	assert_int_equal(read1(r, p, len, &pg), PLG_OK);
	double t = pg->timestamp;
	*legacy = pg->legacy_timestamp;
	plg_reader_free(r);
	free(p);
	return t;
}

static void test_timestamps(void **state)
{
	bool legacy;
	assert_true(ts_of(1700000000u, &legacy) == 1700000000.0);
	assert_true(legacy);
	assert_true(ts_of(1, &legacy) == 1.0);
	assert_true(legacy);
	assert_true(ts_of(dbits(1700000000.25), &legacy) == 1700000000.25);
	assert_false(legacy);
	assert_true(ts_of(0, &legacy) == 0.0);
	assert_false(legacy);
	assert_true(ts_of(dbits(-5.0), &legacy) == -5.0);
	assert_false(legacy);
	/* The smallest normal double is taken as a double. */
	assert_true(ts_of(0x0010000000000000ull, &legacy) == 0x1p-1022);
	assert_false(legacy);
}

static void test_v2_with_newline_crc_is_v2(void **state)
{
	/* 1 V2 page in 256 has '\n' as first data CRC byte, making it start
	 * "DATASOURCES\n": it must still be read as V2. */
	int found = 0;
	for (uint64_t t = 0; t < 100000 && found < 3; t++) {
		uint64_t v = 9;
		size_t len;
		unsigned char *p = v2_page("{\"datasources\":{\"a\":{\"value_type\":\"int64\"}}}",
		                           1, &v, dbits(1.7e9 + (double)t), &len);
		if (p[11] == '\n') {
			found++;
			struct plg_reader *r = plg_reader_new();
			const struct plg_page *pg;
			int rc = read1(r, p, len, &pg);
			if (rc != 0)
				fail_msg("%s", plg_reader_error(r));
			assert_int_equal(pg->proto, PLG_PROTO_V2);
			assert_true(pg->ds[0].value.i == 9);
			plg_reader_free(r);
		}
		free(p);
	}
	assert_int_equal(found, 3);
}

static void test_v1_sequence(void **state)
{
	size_t len;
	unsigned char *p = v1_page("{\"timestamp\":\"1700000000.25\",\"datasources\":{\"x\":"
	                           "{\"value\":\"0x10\",\"value_type\":\"Int64\","
	                           "\"transform\":\"bogus\"}}}",
	                           &len);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	assert_int_equal(read1(r, p, len, &pg), PLG_OK);
	assert_int_equal(pg->proto, PLG_PROTO_V1);
	assert_true(pg->timestamp == 1700000000.25);
	assert_true(pg->ds[0].value.i == 16);
	assert_int_equal(pg->ds[0].transform, TR_IDENTITY);
	assert_int_equal(read1(r, p, len, &pg), PLG_E_NO_UPDATE);
	/* Upper-case hex MD5: xcp-rrdd compares the lower-case text. */
	for (int i = 21; i < 53; i++)
		if (p[i] >= 'a' && p[i] <= 'f')
			p[i] = (unsigned char)(p[i] - 'a' + 'A');
	struct plg_reader *r2 = plg_reader_new();
	assert_int_equal(read1(r2, p, len, &pg), PLG_E_CHECKSUM);
	plg_reader_free(r2);
	free(p);
	/* A V1 payload error after a good MD5. */
	p = v1_page("{\"timestamp\":1,\"datasources\":{\"x\":{\"value\":1.5,\"value_type\":"
	            "\"int64\"}}}",
	            &len);
	assert_int_equal(read1(r, p, len, &pg), PLG_E_PAYLOAD);
	assert_non_null(strstr(plg_reader_error(r), "int64"));
	free(p);
	plg_reader_free(r);
}

/* ---- metadata rules ---- */

static int meta2(const char *json, struct plg_meta *m)
{
	char err[256];
	int rc = plg_meta_parse_v2(json, strlen(json), m, err, sizeof(err));
	if (rc < 0) {
		assert_int_equal(rc, PLG_E_PAYLOAD);
		assert_true(err[0] != '\0');
		assert_int_equal(m->n, 0);
	}
	return rc;
}

static void bad2(const char *dsbody)
{
	char json[512];
	struct plg_meta m;
	snprintf(json, sizeof(json), "{\"datasources\":{\"d\":{%s}}}", dsbody);
	if (meta2(json, &m) == 0)
		fail_msg("accepted: %s", json);
}

static struct plg_ds one2(const char *dsbody, struct plg_meta *m)
{
	char json[512];
	snprintf(json, sizeof(json), "{\"datasources\":{\"d\":{%s}}}", dsbody);
	if (meta2(json, m) != 0)
		fail_msg("rejected: %s", json);
	assert_int_equal(m->n, 1);
	return m->ds[0];
}

static void test_meta_rules(void **state)
{
	struct plg_meta m;
	struct plg_ds d = one2("\"value_type\":\"float\"", &m);
	assert_string_equal(d.name, "d");
	assert_int_equal(d.owner, MON_HOST);
	assert_string_equal(d.uuid, "");
	assert_int_equal(d.type, DS_ABSOLUTE);
	assert_false(d.is_default);
	assert_true(isinf(d.min) && d.min < 0);
	assert_true(isinf(d.max) && d.max > 0);
	assert_string_equal(d.units, "");
	assert_string_equal(d.description, "");
	assert_int_equal(d.transform, TR_IDENTITY);
	assert_int_equal(d.value_type, VAL_FLOAT);
	plg_meta_clear(&m);

	d = one2("\"value_type\":\"int64\",\"owner\":\"SR E6616EB6-X\",\"type\":\"Derive\","
	         "\"default\":\"true\",\"min\":\"1e9\",\"max\":\"nan\",\"transform\":\"inverse\","
	         "\"value\":42,\"x\":[1,{}],\"type\":\"gauge\",\"units\":\"\\u00b5s\"",
	         &m);
	assert_int_equal(d.owner, MON_SR);
	assert_string_equal(d.uuid, "e6616eb6-x");
	assert_int_equal(d.type, DS_DERIVE); /* first "type" wins */
	assert_true(d.is_default);
	assert_true(d.min == 1e9);
	assert_true(isnan(d.max));
	assert_int_equal(d.transform, TR_INVERSE);
	assert_string_equal(d.units, "\xc2\xb5s");
	plg_meta_clear(&m);

	d = one2("\"value_type\":\"float\",\"owner\":\"Host\",\"min\":\"-inf\",\"max\":\"0x10\"",
	         &m);
	assert_int_equal(d.owner, MON_HOST);
	assert_true(d.max == 16.0);
	plg_meta_clear(&m);

	bad2("\"type\":\"gauge\"");                           /* value_type required */
	bad2("\"value_type\":\"Float\"");                     /* exact in V2 */
	bad2("\"value_type\":\"float\",\"owner\":\"vm\"");    /* no uuid */
	bad2("\"value_type\":\"float\",\"owner\":\"vm \"");   /* empty uuid */
	bad2("\"value_type\":\"float\",\"owner\":\"vm  x\""); /* two spaces */
	bad2("\"value_type\":\"float\",\"owner\":\"vm x y\"");
	bad2("\"value_type\":\"float\",\"owner\":\"host \"");
	bad2("\"value_type\":\"float\",\"owner\":\"dom0\"");
	bad2("\"value_type\":\"float\",\"default\":\"True\"");
	bad2("\"value_type\":\"float\",\"default\":true");
	bad2("\"value_type\":\"float\",\"transform\":\"Inverse\"");
	bad2("\"value_type\":\"float\",\"type\":\"rate\"");
	bad2("\"value_type\":\"float\",\"min\":\"abc\"");
	bad2("\"value_type\":\"float\",\"min\":\" 1\"");
	bad2("\"value_type\":\"float\",\"min\":\"\"");
	bad2("\"value_type\":\"float\",\"max\":1");
	bad2("\"value_type\":\"float\",\"min\":-Infinity");
	bad2("\"value_type\":\"float\",\"units\":null");
	bad2("\"value_type\":\"float\",\"description\":\"a\\u0000b\"");

	assert_int_equal(meta2("[]", &m), PLG_E_PAYLOAD);
	assert_int_equal(meta2("{}", &m), PLG_E_PAYLOAD);
	assert_int_equal(meta2("{\"datasources\":[]}", &m), PLG_E_PAYLOAD);
	assert_int_equal(meta2("{\"datasources\":{\"a\":\"x\"}}", &m), PLG_E_PAYLOAD);
	assert_int_equal(meta2("{\"datasources\":{\"\":{\"value_type\":\"float\"}}}", &m),
	                 PLG_E_PAYLOAD);
	assert_int_equal(meta2("{\"datasources\":{}} x", &m), PLG_E_PAYLOAD);
	assert_int_equal(meta2("{\"datasources\":{}}", &m), 0);
	assert_int_equal(m.n, 0);
	plg_meta_clear(&m);
	/* First top-level "datasources" wins. */
	assert_int_equal(meta2("{\"datasources\":{\"a\":{\"value_type\":\"float\"}},"
	                       "\"datasources\":5}",
	                       &m),
	                 0);
	assert_int_equal(m.n, 1);
	plg_meta_clear(&m);
}

static void test_meta_v1(void **state)
{
	struct plg_meta m;
	double ts;
	char err[256];
	const char *ok =
	    "{\"timestamp\":5,\"datasources\":{\"a\":{\"value\":\"-9223372036854775808\","
	    "\"value_type\":\"INT64\"},\"b\":{\"value\":3},\"c\":{\"value\":\"nan\"}}}";
	assert_int_equal(plg_meta_parse_v1(ok, strlen(ok), &m, &ts, err, sizeof(err)), 0);
	assert_true(ts == 5.0);
	assert_int_equal(m.n, 3);
	assert_true(m.ds[0].value.i == INT64_MIN);
	assert_int_equal(m.ds[1].value.type, VAL_FLOAT);
	assert_true(m.ds[1].value.f == 3.0);
	assert_true(isnan(m.ds[2].value.f));
	plg_meta_clear(&m);
	const char *bad[] = {
	    "{\"datasources\":{}}",
	    "{\"timestamp\":null,\"datasources\":{}}",
	    "{\"timestamp\":\"x\",\"datasources\":{}}",
	    "{\"timestamp\":1,\"datasources\":{\"a\":{}}}",
	    "{\"timestamp\":1,\"datasources\":{\"a\":{\"value\":true}}}",
	    "{\"timestamp\":1,\"datasources\":{\"a\":{\"value\":\"9223372036854775808\","
	    "\"value_type\":\"int64\"}}}",
	    "{\"timestamp\":1,\"datasources\":{\"a\":{\"value\":1,\"value_type\":\"double\"}}}",
	    "{\"timestamp\":1,\"datasources\":{\"a\":{\"value\":1,\"min\":0}}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (plg_meta_parse_v1(bad[i], strlen(bad[i]), &m, &ts, err, sizeof(err)) !=
		    PLG_E_PAYLOAD)
			fail_msg("accepted: %s", bad[i]);
}

/* ---- MD5 (RFC 1321 appendix A.5) ---- */

static void md5_hex(const char *s, char out[33])
{
	unsigned char d[16];
	md5_sum(s, strlen(s), d);
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_md5(void **state)
{
	static const char *v[][2] = {
	    {"", "d41d8cd98f00b204e9800998ecf8427e"},
	    {"a", "0cc175b9c0f1b6a831c399e269772661"},
	    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
	    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
	    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
	    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	     "d174ab98d277d9f5a5611c2c9f419d9f"},
	    {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
	     "57edf4a22be3c955ac49da2e2107b67a"},
	};
	char hex[33];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		md5_hex(v[i][0], hex);
		assert_string_equal(hex, v[i][1]);
	}
	/* Streaming in odd chunks gives the one-shot digest. */
	char big[1000];
	for (int i = 0; i < 1000; i++)
		big[i] = (char)(i * 7);
	unsigned char a[16], b[16];
	md5_sum(big, sizeof(big), a);
	struct md5_ctx c;
	md5_init(&c);
	for (size_t off = 0, k = 1; off < sizeof(big); off += k, k = k * 3 % 67 + 1)
		md5_update(&c, big + off, off + k > sizeof(big) ? sizeof(big) - off : k);
	md5_final(&c, b);
	assert_memory_equal(a, b, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_truncation_every_length),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_no_update_and_cache),
	    cmocka_unit_test(test_bad_metadata_remembered),
	    cmocka_unit_test(test_zero_data_crc_is_no_update),
	    cmocka_unit_test(test_count_mismatch_fewer_entries),
	    cmocka_unit_test(test_huge_count_is_bounds_error),
	    cmocka_unit_test(test_timestamps),
	    cmocka_unit_test(test_v2_with_newline_crc_is_v2),
	    cmocka_unit_test(test_v1_sequence),
	    cmocka_unit_test(test_meta_rules),
	    cmocka_unit_test(test_meta_v1),
	    cmocka_unit_test(test_md5),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
