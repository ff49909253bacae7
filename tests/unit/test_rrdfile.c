/*
 * Unit tests of the rrdtool file export (export/rrdfile.h): DS name
 * mapping (valid, unique, deterministic, 19 characters), and files written
 * through rrd_restore read back with librrd's own rrd_fetch_r and
 * rrd_info_r: every row of every RRA equal to the ring row of the engine
 * (exactly, as doubles, NaN for NaN, lagging DSs shifted as rrd_updates
 * shifts them), and the definitions (step, types, heartbeat, min/max, CF,
 * rows, PDPs per row, xff) as given.
 */
#include <errno.h>
#include <math.h>
#include <rrd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "export/rrdfile.h"
#include "rrd/rrd.h"

#define U DSVAL_UNKNOWN

static struct rrdb *make_rrd(const char *const *names, size_t n)
{
	struct rrdb_ds_def *ds = calloc(n, sizeof(*ds));
	for (size_t i = 0; i < n; i++)
		ds[i] = (struct rrdb_ds_def){names[i], DS_GAUGE,    -INFINITY, INFINITY,
		                             300,      TR_IDENTITY, U};
	struct rrdb_rra_def rra = {CF_AVERAGE, 10, 1, 0.5};
	struct rrdb *r = rrdb_new(5, 1000, &rra, 1, ds, n);
	free(ds);
	return r;
}

static void test_names(void **state)
{
	(void)state;
	const char *names[] = {
	    "cpu0",
	    "memory_internal_free",        /* 20 chars: too long */
	    "CPU0-avg-freq",               /* hyphens */
	    "io_throughput_read_b5a9cf6a", /* long */
	    "io_throughput_read_c0ffee00", /* same 12-char prefix */
	    "io_throughput_write_b5a9cf6a",
	    "CPU0_avg_freq", /* what CPU0-avg-freq sanitizes to */
	    "a b:c",
	    "x",
	    "\xc3\xa9t\xc3\xa9", /* UTF-8 */
	};
	size_t n = sizeof(names) / sizeof(names[0]);
	struct rrdb *r = make_rrd(names, n);
	assert_non_null(r);
	exp_rrdfile_name out[16], again[16];
	exp_rrdfile_names(r, out);
	exp_rrdfile_names(r, again);
	for (size_t i = 0; i < n; i++) {
		assert_true(exp_rrdfile_name_ok(out[i]));
		assert_string_equal(out[i], again[i]);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(out[i], out[j]))
				fail_msg("'%s' and '%s' both map to '%s'", names[i], names[j],
				         out[i]);
	}
	/* valid names are kept */
	assert_string_equal(out[0], "cpu0");
	assert_string_equal(out[6], "CPU0_avg_freq");
	assert_string_equal(out[8], "x");
	/* the sanitized form of CPU0-avg-freq is taken: it gets a hash */
	assert_int_equal(strncmp(out[2], "CPU0_avg_fre_", 13), 0);
	assert_int_equal(strlen(out[2]), 19);
	assert_int_equal(strncmp(out[1], "memory_inter_", 13), 0);
	assert_string_equal(out[7], "a_b_c");
	/* the mapping lists every DS */
	struct buf b = BUF_INIT;
	exp_rrdfile_mapping(&b, r, out, 0);
	const char *text = buf_cstr(&b);
	assert_non_null(strstr(text, "io_throughput_read_b5a9cf6a\n"));
	assert_non_null(strstr(text, "cpu0\tcpu0\n"));
	buf_reset(&b);
	exp_rrdfile_mapping(&b, r, out, 1);
	assert_non_null(strstr(buf_cstr(&b), "{\"ds\":\"cpu0\",\"rrdtool\":\"cpu0\"}"));
	buf_free(&b);
	rrdb_free(r);
}

static double info_val(rrd_info_t *info, const char *key, int *found)
{
	for (rrd_info_t *p = info; p; p = p->next)
		if (!strcmp(p->key, key)) {
			*found = 1;
			switch (p->type) {
			case RD_I_VAL:
				return p->value.u_val;
			case RD_I_CNT:
				return (double)p->value.u_cnt;
			case RD_I_INT:
				return (double)p->value.u_int;
			default:
				return NAN;
			}
		}
	*found = 0;
	return NAN;
}

static const char *info_str(rrd_info_t *info, const char *key)
{
	for (rrd_info_t *p = info; p; p = p->next)
		if (!strcmp(p->key, key) && p->type == RD_I_STR)
			return p->value.u_str;
	return NULL;
}

static void check_info(const struct rrdb *r, const char *path, exp_rrdfile_name *names)
{
	rrd_info_t *info = rrd_info_r(path);
	assert_non_null(info);
	int f;
	assert_true(info_val(info, "step", &f) == r->step && f);
	char key[128];
	for (uint32_t d = 0; d < r->nds; d++) {
		snprintf(key, sizeof(key), "ds[%s].type", names[d]);
		const char *t = info_str(info, key);
		assert_non_null(t);
		assert_string_equal(t, rrdb_type_name(r->ds[d].type));
		snprintf(key, sizeof(key), "ds[%s].minimal_heartbeat", names[d]);
		assert_true(info_val(info, key, &f) == ceil(r->ds[d].mrhb) && f);
		snprintf(key, sizeof(key), "ds[%s].min", names[d]);
		double mn = info_val(info, key, &f);
		assert_true(f);
		if (isinf(r->ds[d].min))
			assert_true(isnan(mn));
		else
			assert_true(mn == r->ds[d].min);
	}
	for (uint32_t k = 0; k < r->nrra; k++) {
		snprintf(key, sizeof(key), "rra[%u].cf", k);
		const char *cf = info_str(info, key);
		assert_non_null(cf);
		assert_string_equal(cf, rrdb_cf_name(r->rra[k].cf));
		snprintf(key, sizeof(key), "rra[%u].rows", k);
		assert_true(info_val(info, key, &f) == r->rra[k].rows && f);
		snprintf(key, sizeof(key), "rra[%u].pdp_per_row", k);
		assert_true(info_val(info, key, &f) == r->rra[k].pdp_cnt && f);
		snprintf(key, sizeof(key), "rra[%u].xff", k);
		double xff = info_val(info, key, &f);
		assert_true(f);
		if (r->rra[k].xff >= 1)
			assert_true(xff < 1 && xff > 0.999999);
		else
			assert_true(xff == r->rra[k].xff);
	}
	rrd_info_free(info);
}

/* Every row rrd_fetch_r returns for RRA k equals our ring row. */
static void check_fetch(const struct rrdb *r, const char *path, exp_rrdfile_name *names, uint32_t k,
                        uint32_t *nchecked, uint32_t *nknown)
{
	const struct rrdb_rra *a = &r->rra[k];
	int64_t rstep = (int64_t)r->step * a->pdp_cnt;
	int64_t last = (int64_t)r->last_updated;
	int64_t end = last / rstep * rstep;
	time_t start = (time_t)(end - (int64_t)a->rows * rstep), fend = (time_t)end;
	unsigned long step = (unsigned long)rstep, nds = 0;
	char **dsn = NULL;
	rrd_value_t *data = NULL;
	rrd_clear_error();
	int rc = rrd_fetch_r(path, rrdb_cf_name(a->cf), &start, &fend, &step, &nds, &dsn, &data);
	if (rc)
		fail_msg("rrd_fetch_r rra %u: %s", k, rrd_get_error());
	assert_int_equal(step, (unsigned long)rstep);
	assert_int_equal(nds, r->nds);
	for (uint32_t d = 0; d < nds; d++)
		assert_string_equal(dsn[d], names[d]);
	size_t nrows = (size_t)((fend - start) / (time_t)step);
	for (size_t j = 0; j < nrows; j++) {
		int64_t t = (int64_t)start + (int64_t)(j + 1) * rstep;
		for (uint32_t d = 0; d < nds; d++) {
			double got = data[j * nds + d];
			double want = NAN;
			int64_t ds_end = (int64_t)r->ds[d].last_updated / rstep * rstep;
			int64_t lag = (end - ds_end) / rstep;
			int64_t i = (end - t) / rstep;
			if (t <= end && i >= lag && i - lag < a->rows)
				want = rrdb_peek(r, d, k, (uint32_t)(i - lag));
			if (isnan(want) != isnan(got) || (!isnan(want) && want != got))
				fail_msg("rra %u ds %s t %lld: want %.17g got %.17g", k, names[d],
				         (long long)t, want, got);
			(*nchecked)++;
			if (!isnan(want))
				(*nknown)++;
		}
	}
	for (uint32_t d = 0; d < nds; d++)
		free(dsn[d]);
	free(dsn);
	free(data);
}

static void test_file_roundtrip(void **state)
{
	(void)state;
	struct rrdb_ds_def ds[] = {
	    {"cpu0", DS_GAUGE, 0, 1, 300, TR_IDENTITY, U},
	    {"io_throughput_read_b5a9cf6a", DS_DERIVE, 0, INFINITY, 300, TR_IDENTITY, U},
	    {"abs-late", DS_ABSOLUTE, -INFINITY, INFINITY, 30.5, TR_IDENTITY, U},
	    {"memory_internal_free", DS_GAUGE, -INFINITY, INFINITY, 300, TR_IDENTITY, U},
	};
	struct rrdb_rra_def rras[] = {
	    {CF_AVERAGE, 40, 1, 0.5}, {CF_AVERAGE, 12, 6, 0.5}, {CF_MIN, 12, 6, 1.0},
	    {CF_MAX, 12, 6, 0.0},     {CF_LAST, 30, 2, 0.5},
	};
	double t0 = 1700000003;
	struct rrdb *r = rrdb_new(5, t0, rras, 5, ds, 4);
	assert_non_null(r);
	int64_t ctr = 1000;
	for (int s = 1; s <= 150; s++) {
		double t = t0 + 5.0 * s + (s % 3) * 0.25;
		ctr += 17 * (s % 7) + 3;
		struct rrdb_upd u[4] = {
		    {0, s % 11 == 0 ? U : DSVAL_FLT(0.1 + 0.8 * sin(s * 0.3) * sin(s * 0.3))},
		    {1, DSVAL_INT(ctr)},
		    {2, DSVAL_INT(s * 5)},
		    {3, DSVAL_FLT(1e6 + 12345.678 * s)},
		};
		/* abs-late stops being updated 4 steps before the end */
		rrdb_update(r, t, u, s > 146 ? 2 : 4, 0);
		if (s > 146) {
			struct rrdb_upd u3 = u[3];
			rrdb_update(r, t, &u3, 1, 0);
		}
	}
	char dir[4096], path[4200];
	assert_int_equal(exp_rrdfile_tmpdir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/out.rrd", dir);
	char err[512] = "";
	int rc = exp_rrdfile_write(r, path, err, sizeof(err));
	if (rc)
		fail_msg("exp_rrdfile_write: %s", err);
	exp_rrdfile_name names[4];
	exp_rrdfile_names(r, names);
	check_info(r, path, names);
	uint32_t nchecked = 0, nknown = 0;
	for (uint32_t k = 0; k < r->nrra; k++)
		check_fetch(r, path, names, k, &nchecked, &nknown);
	print_message("rows checked: %u values, %u known\n", nchecked, nknown);
	assert_true(nknown > 200);
	/* the lagging DS really lags (so the shift was exercised) */
	assert_true((int64_t)r->ds[2].last_updated / 5 < (int64_t)r->last_updated / 5);
	/* rrdtool last update */
	assert_int_equal((long long)rrd_last_r(path), (long long)(int64_t)r->last_updated);
	exp_rrdfile_rmtree(dir);
	assert_int_equal(access(dir, F_OK), -1);
	rrdb_free(r);
}

static void test_refusals(void **state)
{
	(void)state;
	struct rrdb_rra_def rra = {CF_AVERAGE, 10, 1, 0.5};
	struct rrdb *r = rrdb_new(5, 1000, &rra, 1, NULL, 0);
	char err[256] = "";
	assert_int_equal(exp_rrdfile_write(r, "/tmp/never-written.rrd", err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) > 0);
	rrdb_free(r);
	const char *n1[] = {"a"};
	r = make_rrd(n1, 1);
	err[0] = '\0';
	assert_true(exp_rrdfile_write(r, "/nonexistent-dir/x.rrd", err, sizeof(err)) < 0);
	assert_true(strlen(err) > 0);
	rrdb_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_file_roundtrip),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
