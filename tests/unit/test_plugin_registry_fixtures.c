/*
 * The reference plugin fixtures (the .bin files of RRDD_FIXTURES/plugins) read through
 * the registry: each file is copied into a temporary plugin directory under
 * its own uid and one plg_collect turns the good ones into chunks.  Each
 * chunk is compared with its sidecar's "expected" decoding (read with
 * json-c, independently of the code under test): owners grouped in order of
 * first appearance with the right kind and uuid, every sample's name, value
 * bits, value type, DS type, default flag, min/max, units, description and
 * transform, and the page timestamp as the chunk time.  Files whose sidecar
 * expects an error give no chunk and count as bad.
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

#include "plugin/registry.h"
#include "test_plugin_registry_util.h"

#define PLUGINS_DIR RRDD_FIXTURES "/plugins"

static json_object *get(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("sidecar lacks \"%s\"", key);
	return v;
}

static uint64_t dbits(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof(b));
	return b;
}

static void check_float(const char *what, json_object *exp, double got)
{
	if (json_object_is_type(exp, json_type_string)) {
		const char *s = json_object_get_string(exp);
		bool ok = (!strcmp(s, "NaN") && isnan(got)) ||
		          (!strcmp(s, "Infinity") && isinf(got) && got > 0) ||
		          (!strcmp(s, "-Infinity") && isinf(got) && got < 0);
		if (!ok)
			fail_msg("%s: expected %s, got %.17g", what, s, got);
		return;
	}
	if (json_object_get_double(exp) != got)
		fail_msg("%s: expected %.17g, got %.17g", what, json_object_get_double(exp), got);
}

/* The owner string of the sidecar as (kind, uuid). */
static void parse_owner(const char *s, enum mon_owner_kind *k, char uuid[MON_UUID_LEN + 1])
{
	uuid[0] = 0;
	if (!strcmp(s, "host")) {
		*k = MON_HOST;
	} else if (!strncmp(s, "vm ", 3)) {
		*k = MON_VM;
		snprintf(uuid, MON_UUID_LEN + 1, "%s", s + 3);
	} else if (!strncmp(s, "sr ", 3)) {
		*k = MON_SR;
		snprintf(uuid, MON_UUID_LEN + 1, "%s", s + 3);
	} else {
		fail_msg("sidecar owner \"%s\"", s);
	}
}

static void check_chunk(const char *file, json_object *exp, const struct mon_chunk *c)
{
	check_float("timestamp", get(exp, "timestamp"), c->t);
	json_object *dss = get(exp, "datasources");
	size_t n = json_object_array_length(dss);
	/* Expected grouping: owners in order of first appearance. */
	uint32_t *cursor = calloc(c->nowner + 1, sizeof(*cursor));
	size_t total = 0;
	for (uint32_t i = 0; i < c->nowner; i++)
		total += c->owner[i].nds;
	if (total != n)
		fail_msg("%s: chunk has %zu samples, sidecar %zu", file, total, n);
	uint32_t nown = 0;
	enum mon_owner_kind kinds[600];
	char uuids[600][MON_UUID_LEN + 1];
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(dss, i);
		enum mon_owner_kind k;
		char uuid[MON_UUID_LEN + 1];
		parse_owner(json_object_get_string(get(e, "owner")), &k, uuid);
		uint32_t oi = 0;
		while (oi < nown && !(kinds[oi] == k && !strcmp(uuids[oi], uuid)))
			oi++;
		if (oi == nown) {
			assert_true(nown < 600);
			kinds[nown] = k;
			strcpy(uuids[nown], uuid);
			nown++;
		}
		if (oi >= c->nowner)
			fail_msg("%s: ds %zu: owner %u missing from the chunk", file, i, oi);
		const struct mon_chunk_owner *o = &c->owner[oi];
		if (o->kind != k || strcmp(o->uuid, uuid) != 0)
			fail_msg("%s: owner %u is %d %s, expected %d %s", file, oi, o->kind,
			         o->uuid, k, uuid);
		assert_true(cursor[oi] < o->nds);
		const struct mon_sample *s = &o->ds[cursor[oi]++];
		const char *name = json_object_get_string(get(e, "name"));
		if (strcmp(s->d.name, name) != 0)
			fail_msg("%s: ds %zu: name %s, expected %s", file, i, s->d.name, name);
		uint64_t want = strtoull(json_object_get_string(get(e, "value_bits")), NULL, 16);
		const char *vt = json_object_get_string(get(e, "value_type"));
		uint64_t got;
		if (!strcmp(vt, "int64")) {
			assert_int_equal(s->d.value_type, VAL_INT64);
			assert_int_equal(s->v.type, VAL_INT64);
			got = (uint64_t)s->v.i;
		} else {
			assert_int_equal(s->d.value_type, VAL_FLOAT);
			assert_int_equal(s->v.type, VAL_FLOAT);
			got = dbits(s->v.f);
		}
		if (got != want)
			fail_msg("%s: %s value bits %016" PRIx64 ", expected %016" PRIx64, file,
			         name, got, want);
		const char *ty = json_object_get_string(get(e, "type"));
		enum ds_type wt = !strcmp(ty, "gauge")      ? DS_GAUGE
		                  : !strcmp(ty, "absolute") ? DS_ABSOLUTE
		                                            : DS_DERIVE;
		assert_string_equal(ty, wt == DS_DERIVE ? "derive" : ty);
		if (s->d.type != wt)
			fail_msg("%s: %s type %d, expected %s", file, name, s->d.type, ty);
		if (s->d.dflt != json_object_get_boolean(get(e, "default")))
			fail_msg("%s: %s default %d", file, name, s->d.dflt);
		check_float("min", get(e, "min"), s->d.min);
		check_float("max", get(e, "max"), s->d.max);
		assert_string_equal(s->d.units, json_object_get_string(get(e, "units")));
		assert_string_equal(s->d.description,
		                    json_object_get_string(get(e, "description")));
		bool inv = !strcmp(json_object_get_string(get(e, "transform")), "inverse");
		assert_int_equal(s->d.transform, inv ? TR_INVERSE : TR_IDENTITY);
	}
	if (nown != c->nowner)
		fail_msg("%s: %u owners, expected %u", file, c->nowner, nown);
	free(cursor);
}

static void copy_file(const char *from, const char *to)
{
	FILE *f = fopen(from, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc((size_t)n + 1);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	t_write_file(to, b, (size_t)n);
	free(b);
}

static void test_fixtures(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	DIR *d = opendir(PLUGINS_DIR);
	assert_non_null(d);
	char names[64][128];
	size_t nf = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".bin") != 0)
			continue;
		assert_true(nf < 64);
		snprintf(names[nf], sizeof(names[nf]), "%.127s", de->d_name);
		char from[600], to[600];
		snprintf(from, sizeof(from), "%s/%s", PLUGINS_DIR, de->d_name);
		snprintf(to, sizeof(to), "%s/%s", dir, de->d_name);
		copy_file(from, to);
		nf++;
	}
	closedir(d);
	assert_true(nf >= 30);
	struct plg_registry_opts o = {.dir = dir};
	struct plg_registry *r = plg_registry_new(&o);
	assert_int_equal(plg_count(r), nf);
	struct mon_chunk **c;
	size_t n;
	assert_int_equal(plg_collect(r, NAN, NAN, &c, &n), 0);
	size_t ok = 0, bad = 0;
	for (size_t i = 0; i < nf; i++) {
		char side[600];
		snprintf(side, sizeof(side), "%s/%s.json", PLUGINS_DIR, names[i]);
		json_object *root = json_object_from_file(side);
		if (!root)
			fail_msg("cannot read %s", side);
		json_object *exp = get(root, "expected");
		const char *res = json_object_get_string(get(exp, "result"));
		const struct mon_chunk *k = NULL;
		for (size_t j = 0; j < n; j++)
			if (!strcmp(c[j]->uid, names[i]))
				k = c[j];
		if (!strcmp(res, "ok")) {
			if (!k)
				fail_msg("%s: expected a chunk", names[i]);
			check_chunk(names[i], exp, k);
			ok++;
		} else {
			if (k)
				fail_msg("%s: expected %s, got a chunk", names[i],
				         json_object_get_string(get(exp, "error")));
			bad++;
		}
		json_object_put(root);
	}
	assert_int_equal(ok + bad, nf);
	assert_int_equal(n, ok);
	struct plg_stats st;
	plg_get_stats(r, &st);
	assert_int_equal(st.reads, ok);
	assert_int_equal(st.bad, bad);
	/* each bad file logged exactly once however often it is read */
	assert_int_equal(st.logged, bad);
	for (int t = 0; t < 3; t++)
		plg_collect(r, NAN, NAN, &c, &n);
	plg_get_stats(r, &st);
	assert_int_equal(st.logged, bad);
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixtures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
