/*
 * Differential test of the RRD engine (rrd/rrd.h) against rrdtool's librrd
 * (1.7.2, <rrd.h>): the same seeded random trace is fed to rrdb_update() and to
 * rrd_update_r(), and every archived row is compared, value by value, with
 * what rrd_fetch_r() returns for the same time.
 *
 * The trace has irregular integer timestamps (1..17 s apart), unknown samples,
 * gaps longer than the heartbeats, values outside [min, max] (both sides),
 * values exactly on the bounds, and DERIVE counter resets.  It covers GAUGE,
 * ABSOLUTE and DERIVE (one DS each, > 10,000 updates) in every CF (AVERAGE,
 * MIN, MAX, LAST), with RRAs of pdp_cnt 1, 3 and 12 and xff 0, 0.5 and 0.99.
 *
 * The one intended difference is excluded by construction: our DERIVE stores a
 * rate in (max, 1.05*max] as max (xcp-rrdd's CA-411679 cap), rrdtool drops it;
 * the generator redraws any DERIVE sample whose rate would fall in that band
 * and prints how many it redrew.  Everything else must agree.
 *
 * The seed is printed on every run; RRDD_DIFF_SEED=<n> replays a run.  This
 * test must not time anything or depend on the clock beyond the default seed.
 */
#include <errno.h>
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

#include <rrd.h>

#include "rrd/rrd.h"

#define STEP       5
#define NDS        3
#define NUPDATES   12000
#define NPDP_CNTS  3
#define NXFFS      3
#define NCFS       4
#define MAX_REPORT 8

static const uint32_t pdp_cnts[NPDP_CNTS] = {1, 3, 12};
static const double xffs[NXFFS] = {0.0, 0.5, 0.99};
static const char *const lib_cf[NCFS] = {"AVERAGE", "MIN", "MAX", "LAST"};

/* The three DSs.  GAUGE and ABSOLUTE rates stay positive and DERIVE has min
 * 0, so every PDP and CDP is a sum of positive terms: no cancellation, and the
 * two implementations' different (but equivalent) operation orders can only
 * differ by a few double ulps. */
static const struct rrdb_ds_def ds_defs[NDS] = {
    {.name = "g", .type = DS_GAUGE, .min = 10, .max = 90, .mrhb = 20},
    {.name = "a", .type = DS_ABSOLUTE, .min = 2, .max = 150, .mrhb = 40},
    {.name = "d", .type = DS_DERIVE, .min = 0, .max = 1000, .mrhb = 60},
};

static uint64_t rng_state;

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

static int rng_chance(double p)
{
	return rng_unit() < p;
}

/* One sample of one DS: unknown, or a float (GAUGE/ABSOLUTE) or an int64
 * counter (DERIVE). */
struct sample {
	int known;
	double f;
	int64_t i;
};

struct trace {
	uint64_t seed;
	int aligned; /* timestamps on PDP boundaries */
	int64_t created;
	size_t n;
	int64_t *t;
	struct sample (*s)[NDS];
	size_t derive_redrawn; /* samples redrawn out of the 5% cap band */
};

static double gauge_value(void)
{
	double u = rng_unit();
	if (u < 0.01)
		return ds_defs[0].min; /* exactly on the bounds */
	if (u < 0.02)
		return ds_defs[0].max;
	if (u < 0.05)
		return rng_range(1, 10); /* below min */
	if (u < 0.08)
		return rng_range(90, 120); /* above max */
	return rng_range(10, 90);
}

static double absolute_value(int64_t interval)
{
	double u = rng_unit(), rate;
	if (u < 0.04)
		rate = rng_range(0.1, 2); /* below min */
	else if (u < 0.08)
		rate = rng_range(150, 300); /* above max */
	else
		rate = rng_range(2, 150);
	if (rng_chance(0.5)) /* integer counts too */
		return floor(rate * (double)interval);
	return rate * (double)interval;
}

/* The next DERIVE counter value.  The rate our engine will compute is
 * delta / interval exactly as rrdb_update does it; a rate in the cap band
 * (max, 1.05*max] is redrawn so the band never occurs. */
static int64_t derive_next(struct trace *tr, int64_t prev, int64_t interval)
{
	const double max = ds_defs[2].max;
	for (;;) {
		double u = rng_unit(), rate;
		if (u < 0.03) /* counter reset: negative rate, below min 0 */
			return (int64_t)rng_range(0, 1000);
		if (u < 0.07)
			rate = rng_range(1.05 * max, 3 * max); /* above max */
		else
			rate = rng_range(0, max * 1.0001);
		int64_t next = prev + (int64_t)llround(rate * (double)interval);
		double r = (double)(next - prev) / (double)interval;
		if (r > max && r <= 1.05 * max) {
			tr->derive_redrawn++;
			continue;
		}
		return next;
	}
}

static void trace_make(struct trace *tr, uint64_t seed, size_t n, int aligned)
{
	rng_state = seed;
	memset(tr, 0, sizeof(*tr));
	tr->seed = seed;
	tr->aligned = aligned;
	tr->n = n;
	tr->t = malloc(sizeof(*tr->t) * n);
	tr->s = malloc(sizeof(*tr->s) * n);
	assert_non_null(tr->t);
	assert_non_null(tr->s);
	tr->created = 1700000000 + (aligned ? 0 : (int64_t)(rng_next() % 10));
	int64_t t = tr->created, counter = (int64_t)(rng_next() % 100000);
	for (size_t k = 0; k < n; k++) {
		int64_t dt;
		if (rng_chance(0.02))
			dt = 18 + (int64_t)(rng_next() % 300); /* beyond some heartbeats */
		else if (aligned)
			dt = 5 + 5 * (int64_t)(rng_next() % 3);
		else
			dt = 1 + (int64_t)(rng_next() % 17);
		if (aligned)
			dt = (dt + 4) / 5 * 5;
		t += dt;
		tr->t[k] = t;
		struct sample *s = tr->s[k];
		s[0].known = !rng_chance(0.05);
		s[0].f = gauge_value();
		s[1].known = !rng_chance(0.05);
		s[1].f = absolute_value(dt);
		/* the counter advances even when the sample is lost */
		counter = derive_next(tr, counter, dt);
		s[2].known = !rng_chance(0.05);
		s[2].i = counter;
	}
}

static void trace_free(struct trace *tr)
{
	free(tr->t);
	free(tr->s);
}

/* Seed from RRDD_DIFF_SEED, else from the clock; printed either way. */
static uint64_t pick_seed(void)
{
	const char *env = getenv("RRDD_DIFF_SEED");
	uint64_t seed;
	if (env && *env)
		seed = strtoull(env, NULL, 0);
	else
		seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	printf("[ diff ] seed=%" PRIu64 " (RRDD_DIFF_SEED=%" PRIu64 " replays this run)\n", seed,
	       seed);
	fflush(stdout);
	return seed;
}

/* RRA index in our engine of (cf, xff variant, pdp_cnt). */
static uint32_t rra_index(int cf, int xv, int p)
{
	return (uint32_t)((cf * NXFFS + xv) * NPDP_CNTS + p);
}

struct counts {
	size_t compared, known, nan, ulp1, mismatches, excluded;
};

/* Equality rule.  Our rows are float32, librrd's are doubles.  Both compute
 * the same mathematical value with different but equivalent operation orders
 * (e.g. our GAUGE PDP is a running time-weighted mean, rrdtool's is
 * sum(v*dt)/known; our AVERAGE CDP accumulates pdp*n/P, rrdtool's sum(pdp*n)
 * then divides), so the two doubles can differ by a few double ulps (all terms
 * are positive: no cancellation).  Rounding to float32 then gives the same
 * float except when the doubles straddle a float rounding boundary, where the
 * floats are one float ulp apart.  Hence: (float)lib == ours, or
 * |ours - lib| <= 2^-23 * |lib|, which admits exactly that one-ulp case (one
 * float ulp is at most 2^-23 relative) and nothing larger.  The one-ulp cases
 * are counted and printed; NaN must match NaN. */
static int same_value(double lib, double ours, struct counts *c)
{
	if (isnan(lib) || isnan(ours))
		return isnan(lib) && isnan(ours);
	if ((float)lib == (float)ours)
		return 1;
	if (fabs(ours - lib) <= 0x1p-23 * fabs(lib)) {
		c->ulp1++;
		return 1;
	}
	return 0;
}

static void print_context(const struct trace *tr, int64_t from, int64_t to, int ds)
{
	for (size_t k = 0; k < tr->n; k++) {
		if (tr->t[k] < from || tr->t[k] > to)
			continue;
		const struct sample *s = &tr->s[k][ds];
		int64_t dt = tr->t[k] - (k ? tr->t[k - 1] : tr->created);
		if (!s->known)
			printf("    t=%" PRId64 " (+%" PRId64 ") U\n", tr->t[k], dt);
		else if (ds == 2)
			printf("    t=%" PRId64 " (+%" PRId64 ") %" PRId64 "\n", tr->t[k], dt,
			       s->i);
		else
			printf("    t=%" PRId64 " (+%" PRId64 ") %.17g\n", tr->t[k], dt, s->f);
	}
}

static char *fmt_sample(const struct sample *s, int ds)
{
	static char buf[NDS][64];
	if (!s->known)
		snprintf(buf[ds], sizeof buf[ds], "U");
	else if (ds == 2)
		snprintf(buf[ds], sizeof buf[ds], "%" PRId64, s->i);
	else
		snprintf(buf[ds], sizeof buf[ds], "%.17g", s->f);
	return buf[ds];
}

/* Create and fill the librrd file for one (CF, xff) with RRAs of each
 * pdp_cnt, rows enough to hold the whole trace. */
static void lib_build(const char *path, const struct trace *tr, int cf, int xv,
                      const uint32_t rows[NPDP_CNTS], char **args)
{
	char defs[NDS + NPDP_CNTS][96];
	const char *argv[NDS + NPDP_CNTS];
	for (int k = 0; k < NDS; k++) {
		snprintf(defs[k], sizeof defs[k], "DS:%s:%s:%.0f:%.17g:%.17g", ds_defs[k].name,
		         rrdb_type_name(ds_defs[k].type), ds_defs[k].mrhb, ds_defs[k].min,
		         ds_defs[k].max);
		argv[k] = defs[k];
	}
	for (int p = 0; p < NPDP_CNTS; p++) {
		snprintf(defs[NDS + p], sizeof defs[NDS + p], "RRA:%s:%.2f:%u:%u", lib_cf[cf],
		         xffs[xv], pdp_cnts[p], rows[p]);
		argv[NDS + p] = defs[NDS + p];
	}
	rrd_clear_error();
	int rc = rrd_create_r(path, STEP, (time_t)tr->created, NDS + NPDP_CNTS, argv);
	if (rc != 0)
		fail_msg("rrd_create_r(%s): %s", path, rrd_get_error());
	rc = rrd_update_r(path, NULL, (int)tr->n, (const char **)args);
	if (rc != 0)
		fail_msg("rrd_update_r(%s): %s", path, rrd_get_error());
}

static int reported; /* mismatches printed so far in this run */

/* Compare one (CF, xff) file with our engine's rings, every pdp_cnt. */
static void compare_file(const char *path, const struct trace *tr, const struct rrdb *r, int cf,
                         int xv, const uint32_t rows[NPDP_CNTS], unsigned cmp_mask,
                         struct counts *c)
{
	int64_t last = tr->t[tr->n - 1];
	for (int p = 0; p < NPDP_CNTS; p++) {
		uint32_t P = pdp_cnts[p];
		unsigned long step = STEP * P, ds_cnt = 0;
		time_t start = (time_t)tr->created, end = (time_t)last;
		char **names = NULL;
		rrd_value_t *data = NULL;
		rrd_clear_error();
		if (rrd_fetch_r(path, lib_cf[cf], &start, &end, &step, &ds_cnt, &names, &data) != 0)
			fail_msg("rrd_fetch_r(%s): %s", path, rrd_get_error());
		assert_int_equal(step, STEP * P); /* the RRA we asked for */
		assert_int_equal(ds_cnt, NDS);
		int64_t cdp = (int64_t)STEP * P;
		int64_t newest = last - last % cdp; /* end time of our row 0 */
		size_t nrows = (size_t)((end - start) / (time_t)step);
		uint32_t k = rra_index(cf, xv, p);
		for (size_t j = 0; j < nrows; j++) {
			int64_t ts = (int64_t)start + (int64_t)(j + 1) * cdp;
			if (ts > newest || (newest - ts) / cdp >= rows[p])
				continue;
			uint32_t i = (uint32_t)((newest - ts) / cdp);
			for (int ds = 0; ds < NDS; ds++) {
				if (!(cmp_mask & (1u << ds))) {
					c->excluded++;
					continue;
				}
				double lib = data[j * ds_cnt + (size_t)ds];
				double ours = rrdb_peek(r, (uint32_t)ds, k, i);
				c->compared++;
				if (isnan(lib))
					c->nan++;
				else
					c->known++;
				if (same_value(lib, ours, c))
					continue;
				c->mismatches++;
				if (reported++ >= MAX_REPORT)
					continue;
				printf("MISMATCH seed=%" PRIu64 " DS %s (%s) RRA %s pdp_cnt=%u "
				       "xff=%.2f row ending t=%" PRId64 ": librrd %.17g, ours "
				       "%.17g\n",
				       tr->seed, ds_defs[ds].name, rrdb_type_name(ds_defs[ds].type),
				       lib_cf[cf], P, xffs[xv], ts, lib, ours);
				printf("  samples in [%" PRId64 ", %" PRId64 "]:\n",
				       ts - cdp - 2 * STEP, ts + 17);
				print_context(tr, ts - cdp - 2 * STEP, ts + 17, ds);
			}
		}
		for (unsigned long d = 0; d < ds_cnt; d++)
			free(names[d]);
		free(names);
		free(data);
	}
}

static void run_diff(uint64_t seed, size_t nupdates, int aligned, unsigned cmp_mask)
{
	struct trace tr;
	reported = 0;
	trace_make(&tr, seed, nupdates, aligned);
	int64_t last = tr.t[tr.n - 1];

	uint32_t rows[NPDP_CNTS];
	for (int p = 0; p < NPDP_CNTS; p++)
		rows[p] = (uint32_t)((last - tr.created) / (STEP * pdp_cnts[p]) + 4);

	/* our engine: one RRD holding every (CF, xff, pdp_cnt) RRA */
	struct rrdb_rra_def rras[NCFS * NXFFS * NPDP_CNTS];
	for (int cf = 0; cf < NCFS; cf++)
		for (int xv = 0; xv < NXFFS; xv++)
			for (int p = 0; p < NPDP_CNTS; p++)
				rras[rra_index(cf, xv, p)] = (struct rrdb_rra_def){
				    (enum cf_type)cf, rows[p], pdp_cnts[p], xffs[xv]};
	struct rrdb *r =
	    rrdb_new(STEP, (double)tr.created, rras, NCFS * NXFFS * NPDP_CNTS, ds_defs, NDS);
	assert_non_null(r);

	char **args = malloc(sizeof(*args) * tr.n);
	assert_non_null(args);
	for (size_t k = 0; k < tr.n; k++) {
		struct rrdb_upd u[NDS];
		for (int ds = 0; ds < NDS; ds++) {
			const struct sample *s = &tr.s[k][ds];
			u[ds].ds = (uint32_t)ds;
			if (!s->known)
				u[ds].v = DSVAL_UNKNOWN;
			else if (ds == 2)
				u[ds].v = DSVAL_INT(s->i);
			else
				u[ds].v = DSVAL_FLT(s->f);
		}
		assert_int_equal(rrdb_update(r, (double)tr.t[k], u, NDS, 0), 0);
		char line[256];
		snprintf(line, sizeof line, "%" PRId64 ":%s:%s:%s", tr.t[k],
		         fmt_sample(&tr.s[k][0], 0), fmt_sample(&tr.s[k][1], 1),
		         fmt_sample(&tr.s[k][2], 2));
		args[k] = strdup(line);
		assert_non_null(args[k]);
	}

	char dir[] = "/tmp/rrdd-diff-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct counts total = {0};
	for (int cf = 0; cf < NCFS; cf++) {
		for (int xv = 0; xv < NXFFS; xv++) {
			char path[128];
			snprintf(path, sizeof path, "%s/%s-%d.rrd", dir, lib_cf[cf], xv);
			lib_build(path, &tr, cf, xv, rows, args);
			struct counts c = {0};
			compare_file(path, &tr, r, cf, xv, rows, cmp_mask, &c);
			printf(
			    "[ diff ] %-7s xff=%.2f: %zu cells (%zu known, %zu NaN), %zu one-ulp, "
			    "%zu mismatches\n",
			    lib_cf[cf], xffs[xv], c.compared, c.known, c.nan, c.ulp1, c.mismatches);
			total.compared += c.compared;
			total.known += c.known;
			total.nan += c.nan;
			total.ulp1 += c.ulp1;
			total.mismatches += c.mismatches;
			total.excluded += c.excluded;
			unlink(path);
		}
	}
	rmdir(dir);
	printf("[ diff ] %s trace, seed=%" PRIu64 ": %zu updates x %d DSs over %" PRId64
	       " s; %zu cells compared (%zu known, %zu NaN), %zu one-float-ulp, %zu mismatches\n",
	       aligned ? "aligned" : "irregular", seed, tr.n, NDS, last - tr.created,
	       total.compared, total.known, total.nan, total.ulp1, total.mismatches);
	if (total.excluded)
		printf(
		    "[ diff ] excluded: %zu GAUGE cells: our GAUGE PDP is the last reading in the "
		    "PDP (xcp-rrdd CA-404597), rrdtool time-weights the readings; GAUGE is "
		    "compared on the aligned trace, where each PDP holds one reading\n",
		    total.excluded);
	printf("[ diff ] excluded: %zu DERIVE samples redrawn because their rate fell in "
	       "(max, 1.05*max], where our engine caps to max (xcp-rrdd CA-411679) and "
	       "rrdtool drops the sample\n",
	       tr.derive_redrawn);
	fflush(stdout);

	for (size_t k = 0; k < tr.n; k++)
		free(args[k]);
	free(args);
	rrdb_free(r);
	trace_free(&tr);

	assert_int_equal(total.mismatches, 0);
	/* the comparison must have had substance on both sides */
	assert_true(total.known > total.compared / 2);
	assert_true(total.nan > 100);
}

static uint64_t the_seed;

/* Timestamps on PDP boundaries, 5..85 s apart, plus gaps: every PDP is
 * covered by one sample, so every DS type and CF must agree with rrdtool. */
static void test_diff_aligned(void **state)
{
	(void)state;
	run_diff(the_seed, NUPDATES, 1, 7u);
}

/* Timestamps 1..17 s apart off the PDP grid, plus gaps: ABSOLUTE and DERIVE
 * compared (GAUGE excluded, see the message it prints). */
static void test_diff_irregular(void **state)
{
	(void)state;
	run_diff(the_seed ^ 0x5bd1e995u, NUPDATES, 0, 6u);
}

/* A tiny hand-checked case so a broken comparison harness (e.g. misaligned
 * rows) cannot pass silently: a constant GAUGE of 42 must appear in both. */
static void test_diff_harness_constant(void **state)
{
	(void)state;
	char dir[] = "/tmp/rrdd-diffc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/c.rrd", dir);
	const char *argv[] = {"DS:g:GAUGE:20:0:100", "RRA:AVERAGE:0.5:1:50"};
	assert_int_equal(rrd_create_r(path, STEP, 1000, 2, argv), 0);
	const char *upd[] = {"1005:42", "1010:42", "1015:42", "1020:42"};
	assert_int_equal(rrd_update_r(path, NULL, 4, upd), 0);
	time_t start = 1000, end = 1020;
	unsigned long step = STEP, ds_cnt;
	char **names;
	rrd_value_t *data;
	assert_int_equal(rrd_fetch_r(path, "AVERAGE", &start, &end, &step, &ds_cnt, &names, &data),
	                 0);
	/* row j ends at start + (j+1)*step: 1005..1020 hold 42 */
	for (int j = 0; j < 4; j++)
		assert_true(data[j] == 42.0);
	free(names[0]);
	free(names);
	free(data);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_diff_harness_constant),
	    cmocka_unit_test(test_diff_aligned),
	    cmocka_unit_test(test_diff_irregular),
	};
	the_seed = pick_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
