/*
 * Golden tests of the plugin page parsers against EVERY file of the
 * reference fixtures (RRDD_FIXTURES/plugins): each *.bin is decoded by a
 * fresh reader and compared field by field with its sidecar's "expected"
 * (value and timestamp bits exactly), or its error class is checked; each
 * *.sequence.json is replayed through one reader.  Sidecars are read with
 * json-c, independently of the parser under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plugin/proto.h"

#define PLUGINS_DIR RRDD_FIXTURES "/plugins"

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	struct stat st;
	if (fstat(fileno(f), &st) != 0)
		fail_msg("cannot stat %s", path);
	unsigned char *p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	size_t n = fread(p, 1, (size_t)st.st_size, f);
	fclose(f);
	if (n != (size_t)st.st_size)
		fail_msg("short read on %s", path);
	*len = n;
	return p;
}

static uint64_t hex64(const char *s)
{
	assert_int_equal(strlen(s), 16);
	char *end;
	uint64_t v = strtoull(s, &end, 16);
	assert_true(*end == '\0');
	return v;
}

static uint64_t dbits(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof(b));
	return b;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("sidecar lacks \"%s\"", key);
	return v;
}

static const char *gets(json_object *o, const char *key)
{
	return json_object_get_string(get(o, key));
}

/* A sidecar float: a JSON number or "NaN" / "Infinity" / "-Infinity". */
static void check_float(const char *what, json_object *exp, double got)
{
	if (json_object_is_type(exp, json_type_string)) {
		const char *s = json_object_get_string(exp);
		if (strcmp(s, "NaN") == 0) {
			if (!isnan(got))
				fail_msg("%s: expected NaN, got %.17g", what, got);
		} else if (strcmp(s, "Infinity") == 0) {
			if (!(isinf(got) && got > 0))
				fail_msg("%s: expected Infinity, got %.17g", what, got);
		} else if (strcmp(s, "-Infinity") == 0) {
			if (!(isinf(got) && got < 0))
				fail_msg("%s: expected -Infinity, got %.17g", what, got);
		} else {
			fail_msg("%s: unknown float token %s", what, s);
		}
		return;
	}
	double want = json_object_get_double(exp);
	if (want != got)
		fail_msg("%s: expected %.17g, got %.17g", what, want, got);
}

static void check_str(const char *what, const char *want, const char *got)
{
	if (strcmp(want, got) != 0)
		fail_msg("%s: expected \"%s\", got \"%s\"", what, want, got);
}

static int status_of_error(const char *err)
{
	if (strncmp(err, "datasource count mismatch", 25) == 0)
		return PLG_E_COUNT;
	static const int all[] = {PLG_E_HEADER,  PLG_E_LENGTH,    PLG_E_CHECKSUM,
	                          PLG_E_PAYLOAD, PLG_E_NO_UPDATE, PLG_E_COUNT};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(plg_status_name(all[i]), err) == 0)
			return all[i];
	fail_msg("unknown expected error \"%s\"", err);
	return 0;
}

static void check_ds(const char *file, size_t i, json_object *e, const struct plg_ds *ds)
{
	char what[256], owner[160];
	snprintf(what, sizeof(what), "%s ds[%zu] name", file, i);
	check_str(what, gets(e, "name"), ds->name);
	snprintf(what, sizeof(what), "%s ds[%zu] (%s) owner", file, i, ds->name);
	check_str(what, gets(e, "owner"), plg_owner_str(ds, owner, sizeof(owner)));

	const char *vt = gets(e, "value_type");
	uint64_t want_bits = hex64(gets(e, "value_bits")), got_bits;
	if (strcmp(vt, "int64") == 0) {
		assert_int_equal(ds->value_type, VAL_INT64);
		assert_int_equal(ds->value.type, VAL_INT64);
		got_bits = (uint64_t)ds->value.i;
		assert_true(ds->value.i == json_object_get_int64(get(e, "value")));
	} else {
		check_str("value_type", "float", vt);
		assert_int_equal(ds->value_type, VAL_FLOAT);
		assert_int_equal(ds->value.type, VAL_FLOAT);
		got_bits = dbits(ds->value.f);
		snprintf(what, sizeof(what), "%s ds %s value", file, ds->name);
		check_float(what, get(e, "value"), ds->value.f);
	}
	if (want_bits != got_bits)
		fail_msg("%s ds %s: value bits %016" PRIx64 ", expected %016" PRIx64, file,
		         ds->name, got_bits, want_bits);

	const char *type = gets(e, "type");
	enum ds_type want_type = strcmp(type, "gauge") == 0      ? DS_GAUGE
	                         : strcmp(type, "absolute") == 0 ? DS_ABSOLUTE
	                         : strcmp(type, "derive") == 0   ? DS_DERIVE
	                                                         : (enum ds_type) - 1;
	if (ds->type != want_type)
		fail_msg("%s ds %s: type %d, expected %s", file, ds->name, ds->type, type);
	if (ds->is_default != json_object_get_boolean(get(e, "default")))
		fail_msg("%s ds %s: default %d", file, ds->name, ds->is_default);
	snprintf(what, sizeof(what), "%s ds %s min", file, ds->name);
	check_float(what, get(e, "min"), ds->min);
	snprintf(what, sizeof(what), "%s ds %s max", file, ds->name);
	check_float(what, get(e, "max"), ds->max);
	snprintf(what, sizeof(what), "%s ds %s units", file, ds->name);
	check_str(what, gets(e, "units"), ds->units);
	snprintf(what, sizeof(what), "%s ds %s description", file, ds->name);
	check_str(what, gets(e, "description"), ds->description);
	const char *tr = gets(e, "transform");
	enum ds_transform want_tr = strcmp(tr, "inverse") == 0 ? TR_INVERSE : TR_IDENTITY;
	if (strcmp(tr, "inverse") != 0)
		check_str("transform", "identity", tr);
	if (ds->transform != want_tr)
		fail_msg("%s ds %s: transform %d, expected %s", file, ds->name, ds->transform, tr);
}

/* Compare one read's outcome with an "expected" object. */
static void check_outcome(const char *file, const char *protocol, json_object *exp, int rc,
                          const struct plg_page *pg, const struct plg_reader *r)
{
	const char *result = gets(exp, "result");
	if (strcmp(result, "error") == 0) {
		const char *err = gets(exp, "error");
		int want = status_of_error(err);
		if (rc != want)
			fail_msg("%s: expected %s (%s), got %s (%s)", file, plg_status_name(want),
			         err, plg_status_name(rc), plg_reader_error(r));
		assert_null(pg);
		/* Every failure names what is wrong. */
		assert_true(strlen(plg_reader_error(r)) > 0);
		if (want == PLG_E_COUNT)
			check_str("count mismatch message", err, plg_reader_error(r));
		return;
	}
	check_str("result", "ok", result);
	if (rc != PLG_OK)
		fail_msg("%s: expected ok, got %s: %s", file, plg_status_name(rc),
		         plg_reader_error(r));
	assert_non_null(pg);
	assert_int_equal(pg->proto, strcmp(protocol, "v1") == 0 ? PLG_PROTO_V1 : PLG_PROTO_V2);

	uint64_t tb = hex64(gets(exp, "timestamp_bits"));
	if (dbits(pg->timestamp) != tb)
		fail_msg("%s: timestamp bits %016" PRIx64 ", expected %016" PRIx64, file,
		         dbits(pg->timestamp), tb);
	check_float("timestamp", get(exp, "timestamp"), pg->timestamp);
	json_object *enc;
	bool legacy = json_object_object_get_ex(exp, "timestamp_encoding", &enc) &&
	              strstr(json_object_get_string(enc), "legacy int64") != NULL;
	assert_int_equal(pg->legacy_timestamp, legacy);

	json_object *dss = get(exp, "datasources");
	size_t n = json_object_array_length(dss);
	if (pg->n != n)
		fail_msg("%s: %zu datasources, expected %zu", file, pg->n, n);
	for (size_t i = 0; i < n; i++)
		check_ds(file, i, json_object_array_get_idx(dss, i), &pg->ds[i]);
}

static void test_single(void **state)
{
	const char *sidecar = *state;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", PLUGINS_DIR, sidecar);
	json_object *sc = json_object_from_file(path);
	if (!sc)
		fail_msg("cannot parse %s", path);
	const char *file = gets(sc, "file");
	snprintf(path, sizeof(path), "%s/%s", PLUGINS_DIR, file);
	size_t len;
	unsigned char *buf = slurp(path, &len);
	assert_int_equal(len, json_object_get_int64(get(sc, "size_bytes")));

	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	int rc = plg_read(r, buf, len, &pg);
	check_outcome(file, gets(sc, "protocol"), get(sc, "expected"), rc, pg, r);

	/* Where the reference differs, "expected" is what we asserted; make
	 * sure the sidecar really says so (no silent reuse of "reference"). */
	if (!json_object_get_boolean(get(sc, "reference_matches_expected")))
		assert_false(json_object_equal(get(sc, "expected"), get(sc, "reference")));

	/* A second read of the same bytes: No_update after a success or a
	 * verified-checksum failure; the same error before that point. */
	rc = plg_read(r, buf, len, &pg);
	const char *res = gets(get(sc, "expected"), "result");
	if (strcmp(res, "ok") == 0)
		assert_int_equal(rc, PLG_E_NO_UPDATE);
	else
		assert_true(rc < 0);

	plg_reader_free(r);
	free(buf);
	json_object_put(sc);
}

static void test_sequence(void **state)
{
	const char *name = *state;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", PLUGINS_DIR, name);
	json_object *sc = json_object_from_file(path);
	if (!sc)
		fail_msg("cannot parse %s", path);
	json_object *reads = get(sc, "reads");
	size_t n = json_object_array_length(reads);
	assert_true(n >= 2);
	struct plg_reader *r = plg_reader_new();
	for (size_t i = 0; i < n; i++) {
		json_object *rd = json_object_array_get_idx(reads, i);
		const char *file = gets(rd, "file");
		snprintf(path, sizeof(path), "%s/%s", PLUGINS_DIR, file);
		size_t len;
		unsigned char *buf = slurp(path, &len);
		const struct plg_page *pg;
		int rc = plg_read(r, buf, len, &pg);
		char label[512];
		snprintf(label, sizeof(label), "%s read %zu (%s)", name, i, file);
		check_outcome(label, gets(sc, "protocol"), get(rd, "expected"), rc, pg, r);
		free(buf);
	}
	plg_reader_free(r);
	json_object_put(sc);
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	DIR *dir = opendir(PLUGINS_DIR);
	if (!dir) {
		fprintf(stderr, "cannot open %s\n", PLUGINS_DIR);
		return 1;
	}
	char *names[256];
	size_t nn = 0, nbin = 0, nside = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (ends_with(de->d_name, ".bin"))
			nbin++;
		if ((ends_with(de->d_name, ".bin.json") ||
		     ends_with(de->d_name, ".sequence.json")) &&
		    nn < 256) {
			names[nn++] = strdup(de->d_name);
			nside += ends_with(de->d_name, ".bin.json");
		}
	}
	closedir(dir);
	qsort(names, nn, sizeof(names[0]), cmp_str);
	/* Every page has its sidecar, and there are pages at all. */
	if (nbin == 0 || nbin != nside) {
		fprintf(stderr, "%zu .bin files but %zu sidecars\n", nbin, nside);
		return 1;
	}
	struct CMUnitTest *tests = calloc(nn, sizeof(*tests));
	for (size_t i = 0; i < nn; i++) {
		tests[i].name = names[i];
		tests[i].test_func =
		    ends_with(names[i], ".sequence.json") ? test_sequence : test_single;
		tests[i].initial_state = names[i];
	}
	int rc = _cmocka_run_group_tests("plugin fixtures", tests, nn, NULL, NULL);
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(tests);
	return rc;
}
