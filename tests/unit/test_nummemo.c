/*
 * Unit tests for export/nummemo: every text it returns equals glibc's
 * snprintf("%.15g") (with xcp-rrdd's spellings of 0 and the specials, as
 * numfmt documents), whether the slot was a hit, a miss, or the document's
 * layout changed between builds; the memo grows with the document and
 * rewinds.  Values are float32 widened to double, as the dumps print them,
 * with about half repeated from one build to the next.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "export/nummemo.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The oracle: glibc's %.15g with numfmt's spellings of the exceptions. */
static void oracle(char *out, double v)
{
	if (v == 0)
		strcpy(out, "0.0");
	else
		snprintf(out, NUMFMT_MAX, "%.15g", v);
}

static double random_value(void)
{
	uint32_t b = (uint32_t)next();
	float f;
	memcpy(&f, &b, sizeof(f));
	if (!isfinite(f))
		f = (float)(next() % 1000) / 7.0f;
	return (double)f;
}

static void check(struct num_memo *m, double v)
{
	char got[NUMFMT_MAX], want[NUMFMT_MAX];
	size_t n = num_memo_format(m, got, v);
	oracle(want, v);
	assert_string_equal(got, want);
	assert_int_equal(n, strlen(want));
}

static void test_builds_with_repeats(void **state)
{
	(void)state;
	enum { N = 5000, BUILDS = 40 };
	static double doc[N];
	struct num_memo m = NUM_MEMO_INIT;
	for (size_t i = 0; i < N; i++)
		doc[i] = random_value();
	for (int b = 0; b < BUILDS; b++) {
		num_memo_rewind(&m);
		for (size_t i = 0; i < N; i++) {
			if (next() % 2)
				doc[i] = random_value(); /* about half change */
			check(&m, doc[i]);
		}
		assert_int_equal(m.n, N);
		assert_int_equal(m.pos, N);
	}
	num_memo_free(&m);
	assert_null(m.v);
}

static void test_layout_changes(void **state)
{
	(void)state;
	/* the same values at shifted positions, documents that shrink and
	 * grow: a slot only ever serves the very same bits */
	struct num_memo m = NUM_MEMO_INIT;
	double vals[7] = {0.0, 1.0, 0.1f, -2.5, 1e-5f, 123456789.0f, -0.0};
	for (int shift = 0; shift < 20; shift++) {
		num_memo_rewind(&m);
		size_t len = 3 + (size_t)(shift * 7) % 11;
		for (size_t i = 0; i < len; i++)
			check(&m, vals[(i + (size_t)shift) % 7]);
		assert_int_equal(m.pos, len);
	}
	num_memo_free(&m);
}

static void test_null_memo_and_long_texts(void **state)
{
	(void)state;
	check(NULL, 0.25);
	struct num_memo m = NUM_MEMO_INIT;
	/* doubles whose text does not fit a slot are still right, twice */
	double longs[3] = {-1.23456789012345e-300, 1.7976931348623157e308, -4.9e-324};
	for (int b = 0; b < 2; b++) {
		num_memo_rewind(&m);
		for (int i = 0; i < 3; i++)
			check(&m, longs[i]);
	}
	num_memo_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builds_with_repeats),
	    cmocka_unit_test(test_layout_changes),
	    cmocka_unit_test(test_null_memo_and_long_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
