/*
 * Unit tests of the RRD engine on small hand-worked vectors: the
 * wire-format.md Appendix A traces with the values rrdd intends (docs/differences.md), DS
 * add/remove, value-type switches, refused samples, creation state.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "rrd_testutil.h"

#include "rrd/rrd.h"

#define U DSVAL_UNKNOWN

static void assert_ring(const struct rrdb *r, uint32_t ds, uint32_t rra, const double *oldest,
                        uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		double got = rrdb_peek(r, ds, rra, n - 1 - i);
		double want = oldest[i];
		if (isnan(want)) {
			if (!isnan(got))
				fail_msg("ds %u rra %u row %u: want NaN, got %.17g", ds, rra, i,
				         got);
		} else if (got != (double)(float)want) {
			fail_msg("ds %u rra %u row %u: want %.9g, got %.9g", ds, rra, i, want, got);
		}
	}
}

/* Appendix A.1: gauge g and derive d, one unknown sample, an unaligned last
 * update.  rrdd: unknowns stay NaN, MAX is not rescaled, no DERIVE bias. */
static void test_appendix_a1(void **state)
{
	struct rrdb_ds_def ds[] = {
	    {"g", DS_GAUGE, 0, INFINITY, 300, TR_IDENTITY, U},
	    {"d", DS_DERIVE, 0, INFINITY, 300, TR_IDENTITY, U},
	};
	struct rrdb_rra_def rra[] = {
	    {CF_AVERAGE, 6, 1, 0.5}, {CF_AVERAGE, 3, 2, 0.5}, {CF_MAX, 3, 2, 1.0}};
	struct rrdb *r = rrdb_new(5, 1000, rra, 3, ds, 2);
	assert_non_null(r);
	struct {
		double t;
		struct dsval g, d;
	} ups[] = {{1005, DSVAL_FLT(10), DSVAL_INT(100)},
	           {1010, DSVAL_FLT(20), DSVAL_INT(150)},
	           {1015, U, U},
	           {1020, DSVAL_FLT(40), DSVAL_INT(250)},
	           {1025, DSVAL_FLT(50), DSVAL_INT(300)},
	           {1031, DSVAL_FLT(60), DSVAL_INT(360)}};
	for (size_t i = 0; i < 6; i++) {
		struct rrdb_upd u[] = {{0, ups[i].g}, {1, ups[i].d}};
		assert_int_equal(rrdb_update(r, ups[i].t, u, 2, 0), 0);
	}
	assert_ring(r, 0, 0, (double[]){10, 20, NAN, 40, 50, 60}, 6);
	assert_ring(r, 1, 0, (double[]){NAN, 10, NAN, NAN, 10, 10}, 6);
	assert_ring(r, 0, 1, (double[]){15, 40, 55}, 3);
	assert_ring(r, 1, 1, (double[]){10, NAN, 10}, 3);
	assert_ring(r, 0, 2, (double[]){20, 40, 60}, 3);
	assert_ring(r, 1, 2, (double[]){10, NAN, 10}, 3);
	/* the 1 s after the last boundary is carried as DERIVE integral 60/6 */
	assert_true(fabs(r->ds[1].value - 10.0) < 1e-12);
	assert_true(r->last_updated == 1031);
	rrdb_free(r);
}

/* Appendix A.3: ABSOLUTE and an inverse DERIVE (CPU from idle time). */
static void test_appendix_a3(void **state)
{
	struct rrdb_ds_def ds[] = {
	    {"a", DS_ABSOLUTE, 0, INFINITY, 300, TR_IDENTITY, U},
	    {"cpu", DS_DERIVE, 0, 1, 300, TR_INVERSE, U},
	};
	struct rrdb_rra_def rra[] = {{CF_AVERAGE, 6, 1, 0.5}, {CF_AVERAGE, 3, 2, 0.5}};
	struct rrdb *r = rrdb_new(5, 1000, rra, 2, ds, 2);
	double idle[] = {100.0, 104.0, 108.5, 113.5, 113.6, 118.8};
	int64_t a[] = {50, 50, 50, 100, 50, 50};
	for (int i = 0; i < 6; i++) {
		struct rrdb_upd u[] = {{0, DSVAL_INT(a[i])}, {1, DSVAL_FLT(idle[i])}};
		rrdb_update(r, 1005 + 5 * i, u, 2, 0);
	}
	assert_ring(r, 0, 0, (double[]){10, 10, 10, 20, 10, 10}, 6);
	/* first sample unknown (no previous counter), last one out of range */
	assert_ring(r, 1, 0, (double[]){NAN, 0.2, 0.1, 0.0, 0.98, NAN}, 6);
	assert_ring(r, 0, 1, (double[]){10, 15, 10}, 3);
	assert_ring(r, 1, 1, (double[]){0.2, 0.05, 0.98}, 3);
	rrdb_free(r);
}

/* §2.6-6: constant 20 % CPU, one missed sample, unaligned timestamps: no
 * 100 % spike, the missed PDP unknown. */
static void test_no_spike_after_missed_sample(void **state)
{
	struct rrdb_ds_def ds[] = {{"cpu", DS_DERIVE, 0, 1, 300, TR_INVERSE, U}};
	struct rrdb_rra_def rra[] = {{CF_AVERAGE, 8, 1, 0.5}};
	struct rrdb *r = rrdb_new(5, 1000.3, rra, 1, ds, 1);
	double t = 1000.3, idle = 50;
	for (int i = 0; i < 8; i++) {
		t += 5;
		idle += 4.0; /* 0.8 idle per second: 20 % busy */
		struct rrdb_upd u = {0, i == 3 ? U : DSVAL_FLT(idle)};
		rrdb_update(r, t, &u, 1, 0);
	}
	for (uint32_t i = 0; i < 8; i++) {
		double v = rrdb_peek(r, 0, 0, i);
		assert_true(isnan(v) || fabs(v - 0.2) < 1e-6);
		assert_false(v > 0.21);
	}
	rrdb_free(r);
}

/* A DERIVE counter switching int64 <-> float is converted, not refused. */
static void test_type_switch_converted(void **state)
{
	struct rrdb_ds_def ds[] = {{"d", DS_DERIVE, 0, INFINITY, 300, TR_IDENTITY, DSVAL_INT(100)}};
	struct rrdb_rra_def rra[] = {{CF_AVERAGE, 4, 1, 0.5}};
	struct rrdb *r = rrdb_new(5, 1000, rra, 1, ds, 1);
	struct dsval v[] = {DSVAL_INT(150), DSVAL_FLT(200.0), DSVAL_INT(250), DSVAL_FLT(300.0)};
	for (int i = 0; i < 4; i++) {
		struct rrdb_upd u = {0, v[i]};
		assert_int_equal(rrdb_update(r, 1005 + 5 * i, &u, 1, 0), 0);
	}
	assert_ring(r, 0, 0, (double[]){10, 10, 10, 10}, 4);
	rrdb_free(r);
}

/* Samples not newer than the DS's last update are refused and change
 * nothing. */
static void test_old_samples_refused(void **state)
{
	struct rrdb_ds_def ds[] = {{"g", DS_GAUGE, 0, INFINITY, 300, TR_IDENTITY, U}};
	struct rrdb_rra_def rra[] = {{CF_AVERAGE, 4, 1, 0.5}};
	struct rrdb *r = rrdb_new(5, 1000, rra, 1, ds, 1);
	struct rrdb_upd u = {0, DSVAL_FLT(1)};
	assert_int_equal(rrdb_update(r, 1005, &u, 1, 0), 0);
	assert_int_equal(rrdb_update(r, 1005, &u, 1, 0), 1);
	assert_int_equal(rrdb_update(r, 1002, &u, 1, 0), 1);
	u.ds = 7; /* no such DS */
	assert_int_equal(rrdb_update(r, 1010, &u, 1, 0), 1);
	assert_true(r->last_updated == 1005);
	rrdb_free(r);
}

/* Adding and removing DSs keeps the other columns' history. */
static void test_add_remove_keeps_history(void **state)
{
	struct rrdb_ds_def ds[] = {{"a", DS_GAUGE, 0, INFINITY, 300, TR_IDENTITY, U},
	                           {"b", DS_GAUGE, 0, INFINITY, 300, TR_IDENTITY, U}};
	struct rrdb_rra_def rra[] = {{CF_AVERAGE, 6, 1, 0.5}, {CF_MAX, 3, 2, 0.5}};
	struct rrdb *r = rrdb_new(5, 1000, rra, 2, ds, 2);
	for (int i = 1; i <= 4; i++) {
		struct rrdb_upd u[] = {{0, DSVAL_FLT(i)}, {1, DSVAL_FLT(10 * i)}};
		rrdb_update(r, 1000 + 5 * i, u, 2, 0);
	}
	struct rrdb_ds_def c = {"c", DS_GAUGE, 0, INFINITY, 300, TR_IDENTITY, U};
	assert_int_equal(rrdb_add_ds(r, 1020, &c), 2);
	assert_int_equal(rrdb_add_ds(r, 1020, &c), 2); /* exists: same index */
	assert_int_equal(rrdb_remove_ds(r, "a"), 0);
	assert_int_equal(rrdb_remove_ds(r, "a"), -ENOENT);
	assert_int_equal(rrdb_find_ds(r, "b"), 0);
	assert_int_equal(rrdb_find_ds(r, "c"), 1);
	struct rrdb_upd u[] = {{0, DSVAL_FLT(50)}, {1, DSVAL_FLT(7)}};
	rrdb_update(r, 1025, u, 2, 0);
	assert_ring(r, 0, 0, (double[]){NAN, 10, 20, 30, 40, 50}, 6);
	assert_ring(r, 1, 0, (double[]){NAN, NAN, NAN, NAN, NAN, 7}, 6);
	assert_ring(r, 0, 1, (double[]){NAN, 20, 40}, 3);
	rrdb_free(r);
}

/* Creation: the part of the current PDP and CDPs before 'created' is
 * unknown, as in rrdtool and xcp-rrdd. */
static void test_creation_state(void **state)
{
	struct rrdb_ds_def ds[] = {{"g", DS_GAUGE, 0, 1, 300, TR_IDENTITY, U}};
	struct rrdb_rra_def rra[RRDB_MAX_DEFAULT_RRAS];
	size_t n = rrdb_default_rras(1, rra);
	assert_int_equal(n, 10);
	struct rrdb *r = rrdb_new(5, 1700000000.25 + 3 * 5, rra, n, ds, 1);
	assert_true(fabs(r->ds[0].unknown_sec - 0.25) < 1e-9);
	/* 1700000015 is PDP 340000003, the 8th (index 7) of its 1-min CDP */
	assert_int_equal(r->ds[0].cdp[1].unknown_pdps, 7);
	assert_true(isnan(rrdb_peek(r, 0, 0, 0)));
	assert_true(r->ds[0].cdp[2].value == 1.0); /* MIN starts at max */
	assert_true(r->ds[0].cdp[3].value == 0.0); /* MAX starts at min */
	assert_int_equal(rrdb_default_rras(0, rra), 4);
	assert_true(rra[3].pdp_cnt == 17280 && rra[3].rows == 366 && rra[3].xff == 0.5);
	rrdb_free(r);
}

static void test_invalid_definitions(void **state)
{
	struct rrdb_ds_def ds[] = {{"a", DS_GAUGE, 0, 1, 300, TR_IDENTITY, U},
	                           {"a", DS_GAUGE, 0, 1, 300, TR_IDENTITY, U}};
	struct rrdb_rra_def rra[] = {{CF_AVERAGE, 4, 1, 0.5}};
	assert_null(rrdb_new(5, 1000, rra, 1, ds, 2)); /* duplicate */
	assert_null(rrdb_new(0, 1000, rra, 1, ds, 1)); /* step 0 */
	struct rrdb_rra_def bad[] = {{CF_AVERAGE, 0, 1, 0.5}};
	assert_null(rrdb_new(5, 1000, bad, 1, ds, 1));
	struct rrdb_rra_def badxff[] = {{CF_AVERAGE, 4, 1, 1.5}};
	assert_null(rrdb_new(5, 1000, badxff, 1, ds, 1));
	struct rrdb_ds_def inv = {"x", DS_GAUGE, 2, 1, 300, TR_IDENTITY, U}; /* min > max */
	assert_null(rrdb_new(5, 1000, rra, 1, &inv, 1));
	assert_null(rrdb_new(5, NAN, rra, 1, ds, 1));
	enum cf_type cf;
	assert_int_equal(rrdb_cf_parse("average", &cf), -EINVAL); /* case-sensitive */
	assert_int_equal(rrdb_cf_parse("MAX", &cf), 0);
	assert_int_equal(cf, CF_MAX);
}

/* A deep copy is independent of the original. */
static void test_dup(void **state)
{
	struct rrdb_ds_def ds[] = {{"g", DS_GAUGE, 0, INFINITY, 300, TR_IDENTITY, U}};
	struct rrdb_rra_def rra[] = {{CF_AVERAGE, 4, 1, 0.5}};
	struct rrdb *r = rrdb_new(5, 1000, rra, 1, ds, 1);
	struct rrdb_upd u = {0, DSVAL_FLT(3)};
	rrdb_update(r, 1005, &u, 1, 0);
	struct rrdb *c = rrdb_dup(r);
	u.v = DSVAL_FLT(4);
	rrdb_update(r, 1010, &u, 1, 0);
	assert_true(rrdb_peek(c, 0, 0, 0) == 3);
	assert_true(rrdb_peek(r, 0, 0, 0) == 4);
	assert_string_equal(c->ds[0].name, "g");
	rrdb_free(c);
	rrdb_free(r);
	rrdb_free(NULL);
}

/* Every column of a many-DS RRD whose DSs were added one at a time (the
 * per-RRD block moving each time it grows), some removed, then copied, holds
 * exactly what a one-DS RRD fed the same samples holds. */
static void assert_same_column(const struct rrdb *a, uint32_t da, const struct rrdb *b, uint32_t db)
{
	const struct rrdb_ds *x = &a->ds[da], *y = &b->ds[db];
	assert_string_equal(x->name, y->name);
	assert_int_equal(a->rows_total, b->rows_total);
	assert_same_rings(a, da, b, db);
	for (uint32_t k = 0; k < a->nrra; k++) {
		assert_memory_equal(&x->cdp[k].value, &y->cdp[k].value, sizeof(double));
		assert_int_equal(x->cdp[k].unknown_pdps, y->cdp[k].unknown_pdps);
	}
}

static void test_block_growth_and_copies(void **state)
{
	(void)state;
	enum { N = 40 };
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nrra = rrdb_default_rras(0, rras);
	char names[N][8];
	struct rrdb_ds_def defs[N];
	struct rrdb *one[N];
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d", i);
		defs[i] = (struct rrdb_ds_def){.name = names[i],
		                               .type = i % 3 ? DS_GAUGE : DS_DERIVE,
		                               .min = 0,
		                               .max = INFINITY,
		                               .mrhb = 300};
	}
	double t = 1000.5;
	struct rrdb *all = rrdb_new(5, t, rras, nrra, defs, 1);
	assert_non_null(all);
	one[0] = rrdb_new(5, t, rras, nrra, defs, 1);
	int alive[N] = {1};
	for (int tick = 1; tick <= 400; tick++) {
		t += 5;
		if (tick < N) { /* a DS more every tick, as of just before t */
			int before = (int)all->nds;
			assert_int_equal(rrdb_add_ds(all, t - 1, &defs[tick]), before);
			one[tick] = rrdb_new(5, t - 1, rras, nrra, &defs[tick], 1);
			alive[tick] = 1;
		}
		if (tick == 100 || tick == 101 || tick == 250) { /* first, middle, last */
			int victim = tick == 100 ? 0 : tick == 101 ? 20 : N - 1;
			assert_int_equal(rrdb_remove_ds(all, names[victim]), 0);
			alive[victim] = 0;
		}
		struct rrdb_upd u[N];
		size_t n = 0;
		for (int i = 0; i < N; i++) {
			if (!alive[i])
				continue;
			struct dsval v = DSVAL_INT((int64_t)(tick * (i + 1) * 37 % 1000));
			struct rrdb_upd w = {0, v};
			assert_int_equal(rrdb_update(one[i], t, &w, 1, 0), 0);
			u[n].ds = (uint32_t)rrdb_find_ds(all, names[i]);
			u[n].v = v;
			n++;
		}
		assert_int_equal(rrdb_update(all, t, u, n, 0), 0);
	}
	struct rrdb *copy = rrdb_dup(all);
	for (int i = 0; i < N; i++) {
		int k = rrdb_find_ds(all, names[i]);
		assert_int_equal(k >= 0, alive[i]);
		if (k < 0)
			continue;
		assert_same_column(one[i], 0, all, (uint32_t)k);
		assert_same_column(one[i], 0, copy, (uint32_t)k);
	}
	/* the copy grows on its own; the original does not change */
	int before = (int)copy->nds;
	assert_int_equal(rrdb_add_ds(copy, t + 1, &defs[0]), before);
	struct rrdb_upd w = {copy->nds - 1, DSVAL_INT(5)};
	assert_int_equal(rrdb_update(copy, t + 5, &w, 1, 0), 0);
	assert_int_equal(rrdb_find_ds(all, names[0]), -1);
	for (int i = 0; i < N; i++) {
		int k = rrdb_find_ds(all, names[i]);
		if (k >= 0)
			assert_same_column(one[i], 0, copy, (uint32_t)rrdb_find_ds(copy, names[i]));
		rrdb_free(one[i]);
	}
	rrdb_free(copy);
	rrdb_free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_appendix_a1),
	    cmocka_unit_test(test_appendix_a3),
	    cmocka_unit_test(test_no_spike_after_missed_sample),
	    cmocka_unit_test(test_type_switch_converted),
	    cmocka_unit_test(test_old_samples_refused),
	    cmocka_unit_test(test_add_remove_keeps_history),
	    cmocka_unit_test(test_creation_state),
	    cmocka_unit_test(test_invalid_definitions),
	    cmocka_unit_test(test_dup),
	    cmocka_unit_test(test_block_growth_and_copies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
