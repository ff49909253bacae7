/*
 * Property tests of the RRD engine (rrd/rrd.h) on its own: invariants that
 * must hold for any input, checked over seeded random traces.
 *
 *  - every stored row is NaN or inside [min, max] (any type, transform, trace);
 *  - a constant input consolidates to itself in every CF and RRA;
 *  - the result does not depend on how a time span is chopped into updates
 *    (GAUGE constant per PDP, ABSOLUTE and DERIVE linear per PDP, fed at 1 s,
 *    5 s and random granularities);
 *  - adding and removing DSs at run time leaves the other columns' history
 *    and state byte-identical;
 *  - a DERIVE counter switching between int64 and float is converted.
 *
 * The seed is printed; RRDD_PROPS_SEED=<n> replays a run.  No timing, no I/O.
 */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rrd_testutil.h"

#include "rrd/rrd.h"

#define STEP 5

static uint64_t rng_state, the_seed;

static uint64_t rng_next(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_unit(void)
{
	return (double)(rng_next() >> 11) * 0x1p-53;
}

static double rng_range(double lo, double hi)
{
	return lo + (hi - lo) * rng_unit();
}

/* A small RRA set with every CF and several pdp_cnt/xff, plus the defaults. */
static size_t test_rras(struct rrdb_rra_def *out)
{
	size_t n = 0;
	for (int cf = 0; cf < 4; cf++) {
		out[n++] = (struct rrdb_rra_def){(enum cf_type)cf, 50, 1, 0.5};
		out[n++] = (struct rrdb_rra_def){(enum cf_type)cf, 40, 3, 0.0};
		out[n++] = (struct rrdb_rra_def){(enum cf_type)cf, 30, 12, 0.99};
		out[n++] = (struct rrdb_rra_def){(enum cf_type)cf, 20, 7, 1.0};
	}
	return n;
}

static int same_float(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	/* rows are float32; accept one float ulp of rounding (2^-23 relative) */
	return (float)a == (float)b || fabs(a - b) <= 0x1p-23 * fabs(b);
}

/* ---- values always in [min, max] or NaN ---- */

/* Check every row of every ring; returns the number of known rows. */
static size_t check_ranges(const struct rrdb *r, const struct rrdb_ds_def *defs, size_t nds)
{
	size_t known = 0;
	for (uint32_t ds = 0; ds < nds; ds++)
		for (uint32_t k = 0; k < r->nrra; k++)
			for (uint32_t i = 0; i < r->rra[k].rows; i++) {
				double v = rrdb_peek(r, ds, k, i);
				if (isnan(v))
					continue;
				known++;
				if (!(v >= (float)defs[ds].min && v <= (float)defs[ds].max))
					fail_msg("seed %" PRIu64 ": DS %s RRA %u row %u = %.17g "
					         "outside [%g, %g]",
					         the_seed, defs[ds].name, k, i, v, defs[ds].min,
					         defs[ds].max);
			}
	return known;
}

static void test_values_in_range(void **state)
{
	(void)state;
	rng_state = the_seed;
	struct rrdb_rra_def rras[32];
	size_t nrra = test_rras(rras);
	struct rrdb_ds_def defs[] = {
	    {.name = "g", .type = DS_GAUGE, .min = -5, .max = 50, .mrhb = 30},
	    {.name = "gi",
	     .type = DS_GAUGE,
	     .min = 0,
	     .max = 1,
	     .mrhb = 30,
	     .transform = TR_INVERSE},
	    {.name = "a", .type = DS_ABSOLUTE, .min = 0, .max = 100, .mrhb = 30},
	    {.name = "d", .type = DS_DERIVE, .min = 0, .max = 1000, .mrhb = 30},
	    {.name = "di",
	     .type = DS_DERIVE,
	     .min = 0,
	     .max = 1,
	     .mrhb = 30,
	     .transform = TR_INVERSE},
	    {.name = "dn", .type = DS_DERIVE, .min = -200, .max = 200, .mrhb = 30},
	};
	const size_t nds = sizeof defs / sizeof defs[0];
	struct rrdb *r = rrdb_new(STEP, 1000.5, rras, nrra, defs, nds);
	assert_non_null(r);
	double t = 1000.5;
	int64_t cnt[6] = {0};
	size_t known = 0;
	for (int k = 0; k < 20000; k++) {
		t += rng_unit() < 0.03 ? rng_range(20, 200) : rng_range(0.1, 12);
		struct rrdb_upd u[6];
		for (size_t ds = 0; ds < nds; ds++) {
			u[ds].ds = (uint32_t)ds;
			double x = rng_range(-100, 1200);
			if (rng_unit() < 0.05)
				u[ds].v = DSVAL_UNKNOWN;
			else if (defs[ds].type == DS_DERIVE) {
				cnt[ds] += (int64_t)rng_range(-200, 6000);
				u[ds].v = rng_unit() < 0.1 ? DSVAL_FLT((double)cnt[ds])
				                           : DSVAL_INT(cnt[ds]);
			} else if (defs[ds].transform == TR_INVERSE)
				u[ds].v = DSVAL_FLT(rng_range(-0.5, 1.5));
			else
				u[ds].v = DSVAL_FLT(x);
		}
		assert_int_equal(rrdb_update(r, t, u, nds, 0), 0);
		if (k % 250 == 0 || k == 19999)
			known += check_ranges(r, defs, nds);
	}
	printf("[ props ] range: %zu known cells checked\n", known);
	assert_true(known > 10000);
	rrdb_free(r);
}

/* ---- a constant input consolidates to itself ---- */

static void test_constant_consolidates_to_itself(void **state)
{
	(void)state;
	rng_state = the_seed + 1;
	struct rrdb_rra_def rras[32];
	size_t nrra = test_rras(rras);
	const double c = 37.0; /* integer rate: DERIVE deltas c*dt are exact */
	struct rrdb_ds_def defs[] = {
	    {.name = "g", .type = DS_GAUGE, .min = 0, .max = 100, .mrhb = 60},
	    {.name = "a", .type = DS_ABSOLUTE, .min = 0, .max = 100, .mrhb = 60},
	    {.name = "d", .type = DS_DERIVE, .min = 0, .max = 100, .mrhb = 60},
	    {.name = "gf", .type = DS_GAUGE, .min = 0, .max = 1, .mrhb = 60},
	};
	const double cf = 0.3;
	struct rrdb *r = rrdb_new(STEP, 999, rras, nrra, defs, 4);
	assert_non_null(r);
	int64_t t = 1000, counter = 5;
	struct rrdb_upd u0[] = {{2, DSVAL_INT(counter)}};
	assert_int_equal(rrdb_update(r, (double)t, u0, 1, 0), 0);
	for (int k = 0; k < 5000; k++) {
		int64_t dt = 1 + (int64_t)(rng_next() % 17);
		t += dt;
		counter += (int64_t)c * dt;
		struct rrdb_upd u[] = {{0, DSVAL_FLT(c)},
		                       {1, DSVAL_FLT(c * (double)dt)},
		                       {2, DSVAL_INT(counter)},
		                       {3, DSVAL_FLT(cf)}};
		assert_int_equal(rrdb_update(r, (double)t, u, 4, 0), 0);
	}
	for (uint32_t ds = 0; ds < 4; ds++) {
		double want = ds == 3 ? cf : c;
		for (uint32_t k = 0; k < r->nrra; k++) {
			uint32_t known = 0;
			/* the oldest rows may predate the first sample */
			uint32_t rows = r->rra[k].rows < 10 ? r->rra[k].rows : r->rra[k].rows - 2;
			for (uint32_t i = 0; i < rows; i++) {
				double v = rrdb_peek(r, ds, k, i);
				if (isnan(v))
					continue;
				known++;
				if (!same_float(v, want))
					fail_msg(
					    "seed %" PRIu64 ": DS %s RRA %s/%u row %u = %.17g, "
					    "want %g",
					    the_seed, defs[ds].name, rrdb_cf_name(r->rra[k].cf),
					    r->rra[k].pdp_cnt, i, v, want);
			}
			/* no unknowns in the input: every complete row is known */
			assert_int_equal(known, rows);
		}
	}
	rrdb_free(r);
}

/* ---- independent of how time is chopped into updates ---- */

/* Feed [start, start + npdp*STEP] with per-PDP values: GAUGE reads gv[p] all
 * through PDP p, ABSOLUTE counts av[p] per second, DERIVE grows dv[p] per
 * second.  Sample times: every PDP boundary, plus chop points chosen by mode
 * (0: every 1 s, 1: boundaries only, 2: random). */
static struct rrdb *feed_chopped(int mode, uint64_t seed, int npdp, const double *gv,
                                 const int64_t *av, const int64_t *dv)
{
	struct rrdb_rra_def rras[32];
	size_t nrra = test_rras(rras);
	struct rrdb_ds_def defs[] = {
	    {.name = "g", .type = DS_GAUGE, .min = 0, .max = 1000, .mrhb = 60},
	    {.name = "a", .type = DS_ABSOLUTE, .min = 0, .max = 1000, .mrhb = 60},
	    {.name = "d", .type = DS_DERIVE, .min = 0, .max = 1000, .mrhb = 60},
	};
	int64_t start = 100000;
	struct rrdb *r = rrdb_new(STEP, (double)(start - 1), rras, nrra, defs, 3);
	assert_non_null(r);
	rng_state = seed;
	int64_t counter = 1000;
	struct rrdb_upd u0[] = {{0, DSVAL_UNKNOWN}, {1, DSVAL_UNKNOWN}, {2, DSVAL_INT(counter)}};
	assert_int_equal(rrdb_update(r, (double)start, u0, 3, 0), 0);
	int64_t last = start;
	for (int p = 0; p < npdp; p++) {
		int64_t b = start + (int64_t)p * STEP;
		for (int s = 1; s <= STEP; s++) {
			int take = s == STEP || mode == 0 || (mode == 2 && rng_next() % 3 == 0);
			if (!take)
				continue;
			int64_t t = b + s, dt = t - last;
			counter += dv[p] * dt;
			struct rrdb_upd u[] = {{0, DSVAL_FLT(gv[p])},
			                       {1, DSVAL_FLT((double)(av[p] * dt))},
			                       {2, DSVAL_INT(counter)}};
			assert_int_equal(rrdb_update(r, (double)t, u, 3, 0), 0);
			last = t;
		}
	}
	return r;
}

static void test_chopping_independent(void **state)
{
	(void)state;
	enum { NPDP = 600 };
	static double gv[NPDP];
	static int64_t av[NPDP], dv[NPDP];
	rng_state = the_seed + 2;
	for (int p = 0; p < NPDP; p++) {
		gv[p] = rng_range(0, 1000);
		av[p] = (int64_t)(rng_next() % 1000);
		dv[p] = (int64_t)(rng_next() % 1000);
	}
	struct rrdb *ref = feed_chopped(1, the_seed, NPDP, gv, av, dv);
	struct rrdb *fine = feed_chopped(0, the_seed, NPDP, gv, av, dv);
	struct rrdb *rnd = feed_chopped(2, the_seed + 3, NPDP, gv, av, dv);
	size_t cells = 0;
	for (uint32_t ds = 0; ds < 3; ds++)
		for (uint32_t k = 0; k < ref->nrra; k++)
			for (uint32_t i = 0; i < ref->rra[k].rows; i++) {
				double a = rrdb_peek(ref, ds, k, i), b = rrdb_peek(fine, ds, k, i),
				       c = rrdb_peek(rnd, ds, k, i);
				if (!isnan(a))
					cells++;
				if (!same_float(b, a) || !same_float(c, a))
					fail_msg("seed %" PRIu64
					         ": DS %s RRA %s/%u row %u: 5 s %.17g, "
					         "1 s %.17g, random %.17g",
					         the_seed, ref->ds[ds].name,
					         rrdb_cf_name(ref->rra[k].cf), ref->rra[k].pdp_cnt,
					         i, a, b, c);
			}
	/* the PDP values themselves: row i of the 1-PDP AVERAGE is PDP NPDP-1-i */
	for (uint32_t i = 0; i < 40; i++) {
		int p = NPDP - 1 - (int)i;
		assert_true(same_float(rrdb_peek(ref, 0, 0, i), gv[p]));
		assert_true(same_float(rrdb_peek(ref, 1, 0, i), (double)av[p]));
		assert_true(same_float(rrdb_peek(ref, 2, 0, i), (double)dv[p]));
	}
	printf("[ props ] chopping: %zu known cells equal at 1 s, 5 s and random chops\n", cells);
	assert_true(cells > 1000);
	rrdb_free(ref);
	rrdb_free(fine);
	rrdb_free(rnd);
}

/* ---- adding and removing DSs keeps the other columns ---- */

static void assert_columns_identical(const struct rrdb *a, uint32_t da, const struct rrdb *b,
                                     uint32_t db)
{
	const struct rrdb_ds *x = &a->ds[da], *y = &b->ds[db];
	assert_string_equal(x->name, y->name);
	assert_same_rings(a, da, b, db);
	for (uint32_t k = 0; k < a->nrra; k++) {
		assert_memory_equal(&x->cdp[k].value, &y->cdp[k].value, sizeof(double));
		assert_int_equal(x->cdp[k].unknown_pdps, y->cdp[k].unknown_pdps);
	}
	assert_memory_equal(&x->value, &y->value, sizeof(double));
	assert_memory_equal(&x->unknown_sec, &y->unknown_sec, sizeof(double));
	assert_memory_equal(&x->last_updated, &y->last_updated, sizeof(double));
}

static void test_add_remove_keeps_columns(void **state)
{
	(void)state;
	rng_state = the_seed + 4;
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nrra = rrdb_default_rras(1, rras);
	struct rrdb_ds_def defs[] = {
	    {.name = "cpu0",
	     .type = DS_DERIVE,
	     .min = 0,
	     .max = 1,
	     .mrhb = 300,
	     .transform = TR_INVERSE},
	    {.name = "mem", .type = DS_GAUGE, .min = 0, .max = INFINITY, .mrhb = 300},
	    {.name = "rx", .type = DS_DERIVE, .min = 0, .max = INFINITY, .mrhb = 300},
	};
	struct rrdb_ds_def extra = {
	    .name = "tx", .type = DS_ABSOLUTE, .min = 0, .max = INFINITY, .mrhb = 300};
	struct rrdb *plain = rrdb_new(STEP, 5000.25, rras, nrra, defs, 3);
	struct rrdb *churn = rrdb_new(STEP, 5000.25, rras, nrra, defs, 3);
	assert_non_null(plain);
	assert_non_null(churn);
	double t = 5000.25, cpu = 0;
	int64_t rx = 0;
	for (int k = 0; k < 30000; k++) {
		t += rng_range(4.5, 5.5);
		cpu += rng_range(0, 4);
		rx += (int64_t)(rng_next() % 100000);
		struct rrdb_upd u[] = {{0, DSVAL_FLT(cpu)},
		                       {1, DSVAL_INT((int64_t)(rng_next() % 1000000))},
		                       {2, DSVAL_INT(rx)}};
		assert_int_equal(rrdb_update(plain, t, u, 3, 0), 0);
		if (k == 1000)
			assert_int_equal(rrdb_add_ds(churn, t - 1, &extra), 3);
		if (k == 20000) /* remove a column in the middle */
			assert_int_equal(rrdb_remove_ds(churn, "mem"), 0);
		if (k == 25000) /* and bring it back: a fresh column at the end */
			assert_int_equal(rrdb_add_ds(churn, t - 1, &defs[1]), 3);
		if (k < 20000) {
			struct rrdb_upd w[] = {
			    u[0], u[1], u[2], {3, DSVAL_INT((int64_t)(rng_next() % 5000))}};
			assert_int_equal(rrdb_update(churn, t, w, k > 1000 ? 4 : 3, 0), 0);
		} else {
			/* indices after the removal: cpu0 0, rx 1, tx 2, mem 3 */
			struct rrdb_upd w[] = {u[0], {1, u[2].v}, {2, DSVAL_INT(7)}, {3, u[1].v}};
			assert_int_equal(rrdb_update(churn, t, w, k > 25000 ? 4 : 3, 0), 0);
		}
	}
	assert_int_equal(churn->nds, 4);
	assert_columns_identical(plain, 0, churn, (uint32_t)rrdb_find_ds(churn, "cpu0"));
	assert_columns_identical(plain, 2, churn, (uint32_t)rrdb_find_ds(churn, "rx"));
	/* the re-added column starts empty: in the hourly AVERAGE archive (RRA 4)
	 * only the hours since its return (~7 h ago) are known */
	int mem = rrdb_find_ds(churn, "mem");
	assert_int_equal(mem, 3);
	assert_int_equal(churn->rra[4].pdp_cnt, 720);
	assert_false(isnan(rrdb_peek(churn, 3, 4, 1)));
	assert_true(isnan(rrdb_peek(churn, 3, 4, 10)));
	assert_false(isnan(rrdb_peek(plain, 1, 4, 10)));
	rrdb_free(plain);
	rrdb_free(churn);
}

/* ---- int64 / float switch of a DERIVE counter ---- */

static void test_derive_type_switch(void **state)
{
	(void)state;
	struct rrdb_rra_def rra = {CF_AVERAGE, 20, 1, 0.5};
	struct rrdb_ds_def def = {
	    .name = "c", .type = DS_DERIVE, .min = 0, .max = INFINITY, .mrhb = 300};
	struct rrdb *r = rrdb_new(STEP, 1000, &rra, 1, &def, 1);
	assert_non_null(r);
	/* 10 per second throughout, the representation flipping each time */
	struct dsval vals[] = {DSVAL_INT(1000),   DSVAL_INT(1050), DSVAL_FLT(1100.0),
	                       DSVAL_FLT(1150.0), DSVAL_INT(1200), DSVAL_FLT(1250.0),
	                       DSVAL_INT(1300)};
	for (int k = 0; k < 7; k++) {
		struct rrdb_upd u = {0, vals[k]};
		assert_int_equal(rrdb_update(r, 1005.0 + 5 * k, &u, 1, 0), 0);
	}
	/* PDPs ending 1015 .. 1035 are each covered by one converted sample */
	for (uint32_t i = 0; i < 5; i++)
		assert_true(rrdb_peek(r, 0, 0, i) == 10.0);
	rrdb_free(r);
}

int main(void)
{
	const char *env = getenv("RRDD_PROPS_SEED");
	the_seed = env && *env ? strtoull(env, NULL, 0)
	                       : (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	printf("[ props ] seed=%" PRIu64 " (RRDD_PROPS_SEED=%" PRIu64 " replays this run)\n",
	       the_seed, the_seed);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values_in_range),
	    cmocka_unit_test(test_constant_consolidates_to_itself),
	    cmocka_unit_test(test_chopping_independent),
	    cmocka_unit_test(test_add_remove_keeps_columns),
	    cmocka_unit_test(test_derive_type_switch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
