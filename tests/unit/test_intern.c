/*
 * Unit tests of the interned strings (rrdd/util/intern.h): equal texts share
 * one copy, the copy lives exactly as long as its references, NULL is "",
 * the table grows past its first size with every text still found, and two
 * threads taking and dropping the same texts leave nothing behind.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/intern.h"

static void test_shared_copy(void **state)
{
	(void)state;
	unsigned long base = intern_count();
	char a[] = "CPU usage of vCPU 0", b[] = "CPU usage of vCPU 0";
	const char *x = intern_get(a), *y = intern_get(b), *z = intern_get("cpu0");
	assert_ptr_equal(x, y);
	assert_ptr_not_equal(x, a);
	assert_string_equal(x, "CPU usage of vCPU 0");
	assert_ptr_not_equal(x, z);
	assert_int_equal(intern_count(), base + 2);
	a[0] = 'X'; /* the copy does not follow the argument */
	assert_string_equal(x, "CPU usage of vCPU 0");
	intern_put(x);
	assert_int_equal(intern_count(), base + 2); /* y still holds it */
	assert_string_equal(y, "CPU usage of vCPU 0");
	intern_put(y);
	intern_put(z);
	assert_int_equal(intern_count(), base);
	intern_put(NULL);
}

static void test_null_is_empty(void **state)
{
	(void)state;
	const char *e = intern_get(NULL), *f = intern_get("");
	assert_string_equal(e, "");
	assert_ptr_equal(e, f);
	intern_put(e);
	intern_put(f);
}

static void test_growth(void **state)
{
	(void)state;
	unsigned long base = intern_count();
	enum { N = 5000 };
	static const char *p[N];
	char s[32];
	for (int i = 0; i < N; i++) {
		snprintf(s, sizeof(s), "vbd_xvd%d_read", i);
		p[i] = intern_get(s);
	}
	assert_int_equal(intern_count(), base + N);
	for (int i = 0; i < N; i++) {
		snprintf(s, sizeof(s), "vbd_xvd%d_read", i);
		const char *q = intern_get(s);
		assert_ptr_equal(q, p[i]);
		intern_put(q);
	}
	for (int i = 0; i < N; i += 2)
		intern_put(p[i]);
	assert_int_equal(intern_count(), base + N / 2);
	for (int i = 1; i < N; i += 2) {
		snprintf(s, sizeof(s), "vbd_xvd%d_read", i);
		assert_string_equal(p[i], s);
		intern_put(p[i]);
	}
	assert_int_equal(intern_count(), base);
}

static void *churn(void *arg)
{
	(void)arg;
	char s[32];
	for (int r = 0; r < 200; r++)
		for (int i = 0; i < 50; i++) {
			snprintf(s, sizeof(s), "vif_%d_rx", i);
			const char *q = intern_get(s);
			if (strcmp(q, s) != 0)
				return (void *)1;
			intern_put(q);
		}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	unsigned long base = intern_count();
	pthread_t t[2];
	void *rv[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, NULL), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], &rv[i]), 0);
		assert_null(rv[i]);
	}
	assert_int_equal(intern_count(), base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shared_copy),
	    cmocka_unit_test(test_null_is_empty),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
