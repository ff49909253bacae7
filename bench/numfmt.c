/*
 * bench_numfmt: speed of numfmt_float / numfmt_double / numfmt_int64 against
 * snprintf ("%.15g" with xcp-rrdd's 0.0 / NaN / Infinity mapping, "%lld") in
 * the same run, on metric-like values and on random bit patterns; every
 * output is also compared byte for byte with snprintf's.
 *
 *   bench_numfmt [N] [seed]        N values per data set (default 1000000)
 *   bench_numfmt --exhaustive [T]  check every float32 bit pattern (T threads)
 *
 * Exit status 1 if any output differs.  Not a test: timings are printed, not
 * judged.  Must not be linked into the daemon.
 */
#include "export/numfmt.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPEATS 5

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

/* The reference: what the snprintf-based formatter printed. */
static size_t ref_double(char *out, double v)
{
	if (isnan(v))
		return (size_t)snprintf(out, NUMFMT_MAX, "NaN");
	if (isinf(v))
		return (size_t)snprintf(out, NUMFMT_MAX, v > 0 ? "Infinity" : "-Infinity");
	if (v == 0)
		return (size_t)snprintf(out, NUMFMT_MAX, "0.0");
	return (size_t)snprintf(out, NUMFMT_MAX, "%.15g", v);
}

static size_t ref_float(char *out, float f)
{
	return ref_double(out, (double)f);
}

static size_t ref_int64(char *out, int64_t v)
{
	return (size_t)snprintf(out, 21, "%lld", (long long)v);
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Format all values into one text (space separated), as an export does. */
#define RUN(name, fn, type)                                                                        \
	static size_t name(char *text, const void *vv, size_t n)                                   \
	{                                                                                          \
		const type *v = vv;                                                                \
		char *p = text;                                                                    \
		for (size_t i = 0; i < n; i++) {                                                   \
			p += fn(p, v[i]);                                                          \
			*p++ = ' ';                                                                \
		}                                                                                  \
		return (size_t)(p - text);                                                         \
	}
RUN(run_float, numfmt_float, float)
RUN(run_float_ref, ref_float, float)
RUN(run_double, numfmt_double, double)
RUN(run_double_ref, ref_double, double)
RUN(run_int64, numfmt_int64, int64_t)
RUN(run_int64_ref, ref_int64, int64_t)

typedef size_t (*run_fn)(char *, const void *, size_t);

/* Best-of-REPEATS ns/value of fn and of ref; compares the two texts. */
static int compare(const char *label, run_fn fn, run_fn ref, const void *v, size_t n)
{
	char *a = malloc(n * (NUMFMT_MAX + 1)), *b = malloc(n * (NUMFMT_MAX + 1));
	if (!a || !b) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	double best_fn = 1e300, best_ref = 1e300;
	size_t la = 0, lb = 0;
	for (int r = 0; r < REPEATS; r++) {
		double t0 = now_ns();
		la = fn(a, v, n);
		double t1 = now_ns();
		lb = ref(b, v, n);
		double t2 = now_ns();
		if (t1 - t0 < best_fn)
			best_fn = t1 - t0;
		if (t2 - t1 < best_ref)
			best_ref = t2 - t1;
	}
	int same = la == lb && memcmp(a, b, la) == 0;
	printf("%-28s numfmt %7.1f ns/value   snprintf %7.1f ns/value   ratio %5.1fx   %s\n", label,
	       best_fn / (double)n, best_ref / (double)n, best_ref / best_fn,
	       same ? "identical" : "OUTPUT DIFFERS");
	free(a);
	free(b);
	return same ? 0 : 1;
}

/* Metric-like float32 values: CPU fractions, byte counts, KiB, NaN. */
static void fill_metrics(float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned kind = (unsigned)(rng_next() % 100);
		if (kind < 40)
			v[i] = (float)rng_unit(); /* CPU fraction in [0,1] */
		else if (kind < 65)
			v[i] = (float)(rng_next() >> 24); /* bytes, up to 2^40 */
		else if (kind < 90)
			v[i] = (float)(rng_next() >> 38); /* KiB, up to 64 GiB */
		else
			v[i] = NAN;
	}
}

static void fill_bits(float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t u = (uint32_t)rng_next();
		memcpy(&v[i], &u, sizeof u);
	}
}

/* The metric mix before float32 rounding, plus rates (derived values). */
static void fill_metrics_double(double *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned kind = (unsigned)(rng_next() % 100);
		if (kind < 40)
			v[i] = rng_unit();
		else if (kind < 65)
			v[i] = (double)(rng_next() >> 24);
		else if (kind < 80)
			v[i] = (double)(rng_next() >> 38);
		else if (kind < 90)
			v[i] = (double)(rng_next() >> 30) / 5.0; /* a rate */
		else
			v[i] = NAN;
	}
}

static void fill_int64(int64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (int64_t)(rng_next() >> (rng_next() % 64));
}

/* --exhaustive: every positive pattern against snprintf, every negative one
 * against "-" + the positive output (NaN: both "NaN"). */
struct slice {
	uint32_t lo, hi; /* positive patterns [lo, hi) */
	uint64_t bad;
};

static void *check_slice(void *arg)
{
	struct slice *s = arg;
	char a[NUMFMT_MAX], b[NUMFMT_MAX], c[NUMFMT_MAX + 1];
	for (uint32_t u = s->lo; u != s->hi; u++) {
		float f, g;
		uint32_t w = u | 0x80000000u;
		memcpy(&f, &u, sizeof f);
		memcpy(&g, &w, sizeof g);
		size_t la = numfmt_float(a, f);
		size_t lb = ref_float(b, f);
		numfmt_float(c, g);
		int neg_ok = isnan(f) ? strcmp(c, "NaN") == 0
		             : f == 0 ? strcmp(c, "0.0") == 0
		                      : c[0] == '-' && strcmp(c + 1, a) == 0;
		if (la != lb || memcmp(a, b, la) != 0 || !neg_ok) {
			if (s->bad++ < 10)
				fprintf(stderr,
				        "mismatch 0x%08" PRIx32 ": %s vs %s (negative: %s)\n", u, a,
				        b, c);
		}
	}
	return NULL;
}

static int exhaustive(int threads)
{
	if (threads < 1 || threads > 64)
		threads = 2;
	struct slice s[64];
	pthread_t t[64];
	uint64_t total = 0x80000000ULL, bad = 0;
	double t0 = now_ns();
	for (int i = 0; i < threads; i++) {
		s[i].lo = (uint32_t)(total * (uint64_t)i / (uint64_t)threads);
		s[i].hi = (uint32_t)(total * (uint64_t)(i + 1) / (uint64_t)threads);
		s[i].bad = 0;
		if (pthread_create(&t[i], NULL, check_slice, &s[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		bad += s[i].bad;
	}
	printf("exhaustive: all 2^32 float32 patterns, %" PRIu64 " mismatches, %.0f s\n", bad,
	       (now_ns() - t0) / 1e9);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--exhaustive") == 0)
		return exhaustive(argc > 2 ? atoi(argv[2]) : 2);
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x5eed;
	if (n == 0)
		n = 1000000;
	rng_state = seed;
	printf("bench_numfmt: N=%zu seed=0x%" PRIx64 ", best of %d runs\n", n, seed, REPEATS);

	float *f = malloc(n * sizeof *f);
	double *d = malloc(n * sizeof *d);
	int64_t *l = malloc(n * sizeof *l);
	if (!f || !d || !l)
		return 2;
	int rc = 0;
	fill_metrics(f, n);
	rc |= compare("float32 metrics", run_float, run_float_ref, f, n);
	fill_bits(f, n);
	rc |= compare("float32 random bits", run_float, run_float_ref, f, n);
	fill_metrics_double(d, n);
	rc |= compare("double metrics", run_double, run_double_ref, d, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t u = rng_next();
		memcpy(&d[i], &u, sizeof u);
	}
	rc |= compare("double random bits", run_double, run_double_ref, d, n);
	fill_int64(l, n);
	rc |= compare("int64", run_int64, run_int64_ref, l, n);
	free(f);
	free(d);
	free(l);
	return rc;
}
