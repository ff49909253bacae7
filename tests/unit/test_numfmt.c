/*
 * Unit tests for export/numfmt: byte-identical to xcp-rrdd's f_to_s
 * ("%.15g", "0.0", "NaN", "Infinity", "-Infinity") and to "%lld".
 *
 * Oracles: literal strings of wire-format.md §3.1 and the C standard
 * (%g rules), an independent exact-integer oracle for half-to-even ties, and
 * glibc's snprintf("%.15g") for bulk random comparisons (10 million float32
 * bit patterns, several million doubles).  The random seed is printed and can
 * be fixed with RRDD_TEST_SEED.  Must not time anything.
 */
#include <float.h>
#include <inttypes.h>
#include <locale.h>
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

#include "export/numfmt.h"

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static float bits_to_float(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static double bits_to_double(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

/* The reference: snprintf with f_to_s's special-value mapping. */
static void ref_double(char *out, double v)
{
	if (isnan(v))
		strcpy(out, "NaN");
	else if (isinf(v))
		strcpy(out, v > 0 ? "Infinity" : "-Infinity");
	else if (v == 0)
		strcpy(out, "0.0");
	else
		snprintf(out, NUMFMT_MAX, "%.15g", v);
}

/* Format v both ways; on a difference print it and return 1. */
static int check_double(double v)
{
	char a[NUMFMT_MAX + 8], b[NUMFMT_MAX + 8];
	memset(a, 'X', sizeof a);
	size_t n = numfmt_double(a, v);
	ref_double(b, v);
	if (n != strlen(a) || n >= NUMFMT_MAX || strcmp(a, b) != 0) {
		uint64_t u;
		memcpy(&u, &v, sizeof u);
		print_error("double 0x%016" PRIx64 ": numfmt \"%s\" (len %zu), snprintf \"%s\"\n",
		            u, a, n, b);
		return 1;
	}
	return 0;
}

/* numfmt_float(f) must equal snprintf of (double)f and numfmt_double. */
static int check_float(float f)
{
	char a[NUMFMT_MAX + 8], b[NUMFMT_MAX + 8], c[NUMFMT_MAX + 8];
	memset(a, 'X', sizeof a);
	size_t n = numfmt_float(a, f);
	ref_double(b, (double)f);
	numfmt_double(c, (double)f);
	if (n != strlen(a) || n >= NUMFMT_MAX || strcmp(a, b) != 0 || strcmp(a, c) != 0) {
		uint32_t u;
		memcpy(&u, &f, sizeof u);
		print_error("float 0x%08" PRIx32
		            ": numfmt_float \"%s\" (len %zu), snprintf \"%s\", "
		            "numfmt_double \"%s\"\n",
		            u, a, n, b, c);
		return 1;
	}
	return 0;
}

static void expect_double(double v, const char *want)
{
	char a[NUMFMT_MAX];
	size_t n = numfmt_double(a, v);
	assert_string_equal(a, want);
	assert_int_equal(n, strlen(want));
}

static void expect_float(float f, const char *want)
{
	char a[NUMFMT_MAX];
	size_t n = numfmt_float(a, f);
	assert_string_equal(a, want);
	assert_int_equal(n, strlen(want));
	expect_double((double)f, want);
}

static void test_special_values(void **state)
{
	(void)state;
	expect_float(NAN, "NaN");
	expect_float(-NAN, "NaN");
	expect_float(bits_to_float(0x7f800001u), "NaN"); /* signalling payload */
	expect_float(bits_to_float(0xffffffffu), "NaN");
	expect_float(INFINITY, "Infinity");
	expect_float(-INFINITY, "-Infinity");
	expect_float(0.0f, "0.0");
	expect_float(-0.0f, "0.0");
	expect_double(bits_to_double(0x7ff0000000000001ULL), "NaN");
	expect_double(bits_to_double(0xfff8000000000000ULL), "NaN");
	expect_double(-0.0, "0.0");
}

/* Examples of wire-format.md §2.1 and §3.2 (float32 rounding visible). */
static void test_spec_examples(void **state)
{
	(void)state;
	expect_float(0.1f, "0.100000001490116");
	expect_float(1073741830.0f, "1073741824");
	expect_float(300.0f, "300");
	expect_float(1.0f, "1");
	expect_float(33554432.0f, "33554432");
	expect_float((float)(25.0 / 3.0), "8.33333301544189");
	expect_float((float)(55.0 / 6.0), "9.16666698455811");
	expect_double(0.2, "0.2");
	expect_double(1016.0, "1016");
}

/* %g: exponent X, fixed if -4 <= X < 15, trailing zeros stripped, exponent
 * with a sign and at least two digits. */
static void test_notation(void **state)
{
	(void)state;
	expect_double(0.5, "0.5");
	expect_double(-2.5, "-2.5");
	expect_double(0.0001, "0.0001");
	expect_double(0.00012345, "0.00012345");
	expect_double(1e-5, "1e-05");
	expect_double(-1.5e-5, "-1.5e-05");
	expect_double(1e14, "100000000000000");
	expect_double(123456789012345.0, "123456789012345");
	expect_double(1e15, "1e+15");
	expect_double(1e20, "1e+20");
	expect_double(1e100, "1e+100");
	expect_double(1e-100, "1e-100");
	expect_double(123456789012345678.0, "1.23456789012346e+17");
	expect_double(0.1, "0.1");
	expect_double(1.0 / 3.0, "0.333333333333333");
	expect_double(2.0 / 3.0, "0.666666666666667");
	expect_double(99999999999999.99, "100000000000000");
	expect_double(9.999999999999999e-5, "0.0001");
	expect_double(9.9999999999999e-5, "9.9999999999999e-05");
	expect_float(1099511627776.0f, "1099511627776"); /* 2^40 */
	expect_float(16777217.0f, "16777216");           /* 2^24 + 1 rounds */
}

/* Every power of ten in range and its neighbours, as double and float32. */
static void test_powers_of_ten(void **state)
{
	(void)state;
	int bad = 0;
	for (int i = -330; i <= 310; i++) {
		char s[16];
		snprintf(s, sizeof s, "1e%d", i);
		double d = strtod(s, NULL);
		float f = strtof(s, NULL);
		double dn[] = {d, nextafter(d, 0), nextafter(d, INFINITY), -d};
		float fn[] = {f, nextafterf(f, 0), nextafterf(f, INFINITY), -f};
		for (int j = 0; j < 4; j++) {
			bad += check_double(dn[j]);
			bad += check_float(fn[j]);
		}
		/* Just below the power: 9.99..95e(i-1) and neighbours. */
		for (int nines = 13; nines <= 17; nines++) {
			char t[48];
			snprintf(t, sizeof t, "9.%.*s5e%d", nines, "999999999999999999", i - 1);
			double u = strtod(t, NULL);
			bad += check_double(u);
			bad += check_double(nextafter(u, 0));
			bad += check_double(nextafter(u, INFINITY));
		}
	}
	assert_int_equal(bad, 0);
}

static void test_extremes(void **state)
{
	(void)state;
	expect_float(FLT_TRUE_MIN, "1.40129846432482e-45");
	expect_float(-FLT_TRUE_MIN, "-1.40129846432482e-45");
	expect_float(FLT_MIN, "1.17549435082229e-38");
	expect_float(FLT_MAX, "3.40282346638529e+38");
	expect_float(-FLT_MAX, "-3.40282346638529e+38");
	expect_double(DBL_TRUE_MIN, "4.94065645841247e-324");
	expect_double(DBL_MIN, "2.2250738585072e-308");
	expect_double(DBL_MAX, "1.79769313486232e+308");
	expect_double(-DBL_MAX, "-1.79769313486232e+308");
	expect_double(9007199254740993.0, "9.00719925474099e+15");

	int bad = 0;
	/* Every 7th float32 subnormal, and the binades around the ends. */
	for (uint32_t u = 1; u < 0x800000u; u += 7)
		bad += check_float(bits_to_float(u));
	for (uint32_t u = 0x7f000000u; u < 0x7f800000u; u += 101)
		bad += check_float(bits_to_float(u));
	for (uint32_t u = 0x00800000u; u < 0x01000000u; u += 101)
		bad += check_float(bits_to_float(u));
	/* Double subnormals and the top binade. */
	for (int i = 0; i < 200000; i++) {
		uint64_t m = rng_next() >> (12 + rng_next() % 52);
		bad += check_double(bits_to_double(m ? m : 1));
		bad += check_double(bits_to_double(0x7fe0000000000000ULL | (rng_next() >> 12)));
	}
	assert_int_equal(bad, 0);
}

/* Exact ties at the 16th significant digit round half-to-even. */
static void test_round_half_even(void **state)
{
	(void)state;
	/* 16-digit odd integers below 2^53 are exact doubles. */
	expect_double(1000000000000005.0, "1e+15");
	expect_double(1000000000000015.0, "1.00000000000002e+15");
	expect_double(1000000000000025.0, "1.00000000000002e+15");
	expect_double(1000000000000035.0, "1.00000000000004e+15");
	expect_double(999999999999999.5, "1e+15");
	expect_double(999999999999998.5, "999999999999998");
	expect_double(123456.0009765625, "123456.000976562");
	expect_double(nextafter(123456.0009765625, INFINITY), "123456.000976563");
	expect_double(nextafter(1000000000000025.0, INFINITY), "1.00000000000003e+15");
	/* float32: 1000 + j/4096 has 16 significant digits ending in 5. */
	expect_float(1000.000244140625f, "1000.00024414062");
	expect_float(1000.000732421875f, "1000.00073242188");

	/* Independent oracle: I + j/4096 (I in [1000, 4096), j odd) is a
	 * float32 whose exact decimal is D = (4096 I + j) * 5^12 * 10^-12,
	 * 16 digits ending in 5; %.15g keeps D/10 rounded to even. */
	int bad = 0;
	for (uint32_t i = 1000; i < 4096; i += 37) {
		for (uint32_t j = 1; j < 4096; j += 2) {
			float f = (float)i + (float)j / 4096.0f;
			uint64_t dd = ((uint64_t)i * 4096 + j) * 244140625ULL;
			uint64_t q = dd / 10;
			if (q & 1)
				q++;
			/* q has 15 digits: 4 integer, 11 fraction. */
			char want[32];
			int len = snprintf(want, sizeof want, "%llu.%011llu",
			                   (unsigned long long)(q / 100000000000ULL),
			                   (unsigned long long)(q % 100000000000ULL));
			while (want[len - 1] == '0')
				want[--len] = '\0';
			if (want[len - 1] == '.')
				want[--len] = '\0';
			char got[NUMFMT_MAX];
			numfmt_float(got, f);
			if (strcmp(got, want) != 0) {
				if (bad++ < 10)
					print_error("tie %u + %u/4096: \"%s\", want \"%s\"\n", i, j,
					            got, want);
			}
			bad += check_float(f);
			bad += check_float(nextafterf(f, 0));
		}
	}
	/* Short decimals land on and near ties of the 15th digit. */
	for (int i = 0; i < 500000; i++) {
		int64_t n = (int64_t)(rng_next() >> (rng_next() % 64));
		double d = (double)n / pow(10, (double)(rng_next() % 40)) *
		           pow(10, (double)(rng_next() % 10));
		bad += check_double(d);
		bad += check_float((float)d);
	}
	assert_int_equal(bad, 0);
}

/* 10 million random float32 bit patterns against snprintf. */
static void test_random_float32(void **state)
{
	(void)state;
	int bad = 0;
	for (long i = 0; i < 10000000 && bad < 20; i++)
		bad += check_float(bits_to_float((uint32_t)rng_next()));
	assert_int_equal(bad, 0);
}

/* Doubles: random bit patterns (mostly the snprintf fallback), random
 * values in the exact integer range, and metric-like values. */
static void test_random_double(void **state)
{
	(void)state;
	int bad = 0;
	for (long i = 0; i < 2000000 && bad < 20; i++)
		bad += check_double(bits_to_double(rng_next()));
	for (long i = 0; i < 2000000 && bad < 20; i++) {
		/* |v| in about [1e-45, 1e45] */
		uint64_t e = 1023 - 150 + rng_next() % 300;
		uint64_t u = (rng_next() >> 12) | (e << 52) | (rng_next() & (1ULL << 63));
		bad += check_double(bits_to_double(u));
	}
	for (long i = 0; i < 1000000 && bad < 20; i++) {
		uint64_t r = rng_next();
		double d = (double)(r >> 40) / (double)((rng_next() >> 44) + 1);
		bad += check_double(d);
		bad += check_double((double)(r >> (r % 64)));
	}
	assert_int_equal(bad, 0);
}

static void expect_int64(int64_t v)
{
	char a[32], b[32];
	memset(a, 'X', sizeof a);
	size_t n = numfmt_int64(a, v);
	snprintf(b, sizeof b, "%lld", (long long)v);
	assert_string_equal(a, b);
	assert_int_equal(n, strlen(b));
}

static void test_int64(void **state)
{
	(void)state;
	char a[32];
	assert_int_equal(numfmt_int64(a, INT64_MIN), 20);
	assert_string_equal(a, "-9223372036854775808");
	assert_int_equal(numfmt_int64(a, INT64_MAX), 19);
	assert_string_equal(a, "9223372036854775807");
	assert_int_equal(numfmt_int64(a, 0), 1);
	assert_string_equal(a, "0");
	numfmt_int64(a, -7);
	assert_string_equal(a, "-7");
	int64_t p = 1;
	for (int i = 0; i < 19; i++) {
		if (i > 0)
			p *= 10; /* up to 10^18 */
		expect_int64(p);
		expect_int64(p - 1);
		expect_int64(p + 1);
		expect_int64(-p);
		expect_int64(1 - p);
	}
	for (int i = 0; i < 1000000; i++)
		expect_int64((int64_t)rng_next() >> (rng_next() % 64));
}

int main(void)
{
	setlocale(LC_ALL, "C");
	const char *env = getenv("RRDD_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0)
	                    : (uint64_t)time(NULL) * 0x100000001b3ULL ^ (uint64_t)getpid();
	rng_state = seed;
	printf("test_numfmt: seed 0x%" PRIx64 " (set RRDD_TEST_SEED to repeat)\n", seed);
	fflush(stdout);

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_special_values), cmocka_unit_test(test_spec_examples),
	    cmocka_unit_test(test_notation),       cmocka_unit_test(test_powers_of_ten),
	    cmocka_unit_test(test_extremes),       cmocka_unit_test(test_round_half_even),
	    cmocka_unit_test(test_random_float32), cmocka_unit_test(test_random_double),
	    cmocka_unit_test(test_int64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
