/*
 * The cache of rendered rrd_updates bodies (rrdd/http/body_cache.c): one
 * render per key and generation, waiters get the renderer's body, aliases,
 * older generations dropped on sight of a newer one, failed renders not
 * kept, the byte and entry caps (least recently used first), the render
 * permits, and shared blobs outliving the cache entries that held them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/internal.h"

static struct http_blob *blob_of(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_addc(&b, s[i % strlen(s)]);
	return http_blob_take(&b);
}

/* Render key at gen as the only renderer and publish text. */
static void put(struct ucache *c, const char *key, uint64_t gen, const char *text, size_t n)
{
	bool mine = false;
	struct ucache_slot *s = ucache_claim(c, key, gen, &mine);
	assert_true(mine);
	ucache_publish(c, s, blob_of(text, n));
}

/* The body cached for key at gen, as a string ("" when absent). */
static char *get(struct ucache *c, const char *key, uint64_t gen)
{
	struct ucache_slot *s = ucache_find(c, key, gen);
	if (!s)
		return strdup("");
	struct http_blob *b = ucache_wait(c, s);
	if (!b)
		return strdup("(null)");
	char *r = strndup(b->p, b->len);
	http_blob_unref(b);
	return r;
}

static void expect(struct ucache *c, const char *key, uint64_t gen, const char *want)
{
	char *got = get(c, key, gen);
	assert_string_equal(got, want);
	free(got);
}

static void test_one_render_per_key(void **state)
{
	(void)state;
	struct ucache *c = ucache_new(8, 1 << 20, 2);
	bool mine = false;
	struct ucache_slot *s = ucache_claim(c, "k", 1, &mine);
	assert_true(mine);
	/* a second request for the same key finds the render in flight */
	bool mine2 = true;
	struct ucache_slot *s2 = ucache_claim(c, "k", 1, &mine2);
	assert_false(mine2);
	assert_ptr_equal(s, s2);
	ucache_publish(c, s, blob_of("body", 4));
	struct http_blob *b = ucache_wait(c, s2);
	assert_non_null(b);
	assert_int_equal(b->len, 4);
	assert_memory_equal(b->p, "body", 4);
	http_blob_unref(b);
	expect(c, "k", 1, "body");
	expect(c, "other", 1, "");
	/* the same key at another generation is another answer */
	expect(c, "k", 0, "");
	struct ucache_stats st;
	ucache_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.bytes, 4);
	assert_int_equal(st.hits, 2);
	ucache_free(c);
}

static void test_alias(void **state)
{
	(void)state;
	struct ucache *c = ucache_new(8, 1 << 20, 2);
	bool mine;
	struct ucache_slot *s = ucache_claim(c, "resolved", 3, &mine);
	assert_true(mine);
	ucache_alias(c, "start=-10", 3, s);
	ucache_publish(c, s, blob_of("rows", 4));
	expect(c, "start=-10", 3, "rows");
	expect(c, "resolved", 3, "rows");
	struct ucache_stats st;
	ucache_stats(c, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.bytes, 4); /* one body, counted once */
	ucache_free(c);
}

static void test_newer_generation_drops_older(void **state)
{
	(void)state;
	struct ucache *c = ucache_new(8, 1 << 20, 2);
	put(c, "a", 5, "old", 3);
	put(c, "b", 5, "old", 3);
	expect(c, "a", 5, "old");
	/* a reader at generation 6 makes generation 5 unreachable */
	expect(c, "a", 6, "");
	expect(c, "a", 5, "");
	expect(c, "b", 5, "");
	struct ucache_stats st;
	ucache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	/* a render claimed at an older generation still serves its waiters,
	 * but is not kept */
	bool mine;
	struct ucache_slot *s = ucache_claim(c, "late", 4, &mine);
	assert_true(mine);
	ucache_publish(c, s, blob_of("late", 4));
	expect(c, "late", 4, "");
	ucache_free(c);
}

static void test_failed_render_not_kept(void **state)
{
	(void)state;
	struct ucache *c = ucache_new(8, 1 << 20, 2);
	bool mine;
	struct ucache_slot *s = ucache_claim(c, "k", 1, &mine);
	struct ucache_slot *w = ucache_claim(c, "k", 1, &mine);
	assert_false(mine);
	ucache_publish(c, s, NULL);
	assert_null(ucache_wait(c, w)); /* the waiter renders on its own */
	expect(c, "k", 1, "");
	ucache_free(c);
}

static void test_byte_cap(void **state)
{
	(void)state;
	struct ucache *c = ucache_new(16, 1000, 2);
	/* larger than half the cap: served, not kept */
	bool mine;
	struct ucache_slot *s = ucache_claim(c, "big", 1, &mine);
	struct ucache_slot *w = ucache_claim(c, "big", 1, &mine);
	ucache_publish(c, s, blob_of("x", 600));
	struct http_blob *b = ucache_wait(c, w);
	assert_non_null(b);
	assert_int_equal(b->len, 600);
	http_blob_unref(b);
	expect(c, "big", 1, "");
	/* four bodies of 300 bytes: the least recently used goes */
	put(c, "a", 1, "a", 300);
	put(c, "b", 1, "b", 300);
	put(c, "c", 1, "c", 300);
	char *x = get(c, "a", 1); /* a is now more recent than b */
	assert_int_equal(strlen(x), 300);
	free(x);
	put(c, "d", 1, "d", 300);
	struct ucache_stats st;
	ucache_stats(c, &st);
	assert_true(st.bytes <= 1000);
	assert_int_equal(st.entries, 3);
	expect(c, "b", 1, "");
	x = get(c, "a", 1);
	assert_int_equal(strlen(x), 300);
	free(x);
	ucache_free(c);
}

static void test_entry_cap(void **state)
{
	(void)state;
	struct ucache *c = ucache_new(2, 1 << 20, 2);
	put(c, "a", 1, "A", 1);
	put(c, "b", 1, "B", 1);
	expect(c, "a", 1, "A"); /* b is the least recently used */
	put(c, "c", 1, "C", 1);
	expect(c, "b", 1, "");
	expect(c, "a", 1, "A");
	expect(c, "c", 1, "C");
	ucache_free(c);
}

static void test_blob_outlives_entry(void **state)
{
	(void)state;
	struct ucache *c = ucache_new(8, 1 << 20, 2);
	put(c, "k", 1, "kept", 4);
	struct ucache_slot *s = ucache_find(c, "k", 1);
	struct http_blob *b = ucache_wait(c, s);
	expect(c, "k", 2, ""); /* drops the entry */
	ucache_free(c);
	/* a response still being sent keeps its reference */
	assert_memory_equal(b->p, "kept", 4);
	http_blob_unref(b);
}

/* ---- threads ---- */

struct herd {
	struct ucache *c;
	pthread_mutex_t mu;
	int renderers, running, max_running;
	struct http_blob *got[16];
};

struct herd_arg {
	struct herd *h;
	int i;
};

static void sleep_ms(int ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

static void *herd_main(void *v)
{
	struct herd_arg *a = v;
	struct herd *h = a->h;
	bool mine;
	struct ucache_slot *s = ucache_claim(h->c, "poll", 7, &mine);
	if (mine) {
		pthread_mutex_lock(&h->mu);
		h->renderers++;
		pthread_mutex_unlock(&h->mu);
		sleep_ms(50); /* everyone else arrives meanwhile */
		ucache_publish(h->c, s, blob_of("rendered once", 13));
		s = ucache_find(h->c, "poll", 7);
	}
	h->got[a->i] = ucache_wait(h->c, s);
	return NULL;
}

static void test_concurrent_requests_wait_for_one_render(void **state)
{
	(void)state;
	struct herd h = {.c = ucache_new(8, 1 << 20, 2)};
	pthread_mutex_init(&h.mu, NULL);
	pthread_t t[16];
	struct herd_arg a[16];
	for (int i = 0; i < 16; i++) {
		a[i] = (struct herd_arg){&h, i};
		assert_int_equal(pthread_create(&t[i], NULL, herd_main, &a[i]), 0);
	}
	for (int i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(h.renderers, 1);
	for (int i = 0; i < 16; i++) {
		assert_non_null(h.got[i]);
		assert_ptr_equal(h.got[i], h.got[0]); /* one shared body, no copies */
		http_blob_unref(h.got[i]);
	}
	ucache_free(h.c);
	pthread_mutex_destroy(&h.mu);
}

static void *permit_main(void *v)
{
	struct herd *h = v;
	ucache_render_begin(h->c);
	pthread_mutex_lock(&h->mu);
	if (++h->running > h->max_running)
		h->max_running = h->running;
	pthread_mutex_unlock(&h->mu);
	sleep_ms(20);
	pthread_mutex_lock(&h->mu);
	h->running--;
	pthread_mutex_unlock(&h->mu);
	ucache_render_end(h->c);
	return NULL;
}

static void test_render_permits(void **state)
{
	(void)state;
	struct herd h = {.c = ucache_new(8, 1 << 20, 2)};
	pthread_mutex_init(&h.mu, NULL);
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, permit_main, &h), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	assert_true(h.max_running >= 1 && h.max_running <= 2);
	struct ucache_stats st;
	ucache_stats(h.c, &st);
	assert_int_equal(st.renders, 8);
	ucache_free(h.c);
	pthread_mutex_destroy(&h.mu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_render_per_key),
	    cmocka_unit_test(test_alias),
	    cmocka_unit_test(test_newer_generation_drops_older),
	    cmocka_unit_test(test_failed_render_not_kept),
	    cmocka_unit_test(test_byte_cap),
	    cmocka_unit_test(test_entry_cap),
	    cmocka_unit_test(test_blob_outlives_entry),
	    cmocka_unit_test(test_concurrent_requests_wait_for_one_render),
	    cmocka_unit_test(test_render_permits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
