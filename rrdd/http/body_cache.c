/*
 * Shared rendered bodies (struct http_blob) and the cache of rendered
 * rrd_updates answers (struct ucache), see internal.h.
 *
 * A blob is an immutable byte string with an atomic reference count: the
 * cache holds one reference, every response being sent holds one, so a
 * body rendered once is sent to any number of clients without a copy and
 * freed when the last of them is done.
 *
 * The cache maps keys (a normalized query, built by ep_updates.c) at one
 * registry generation to a slot: a body being rendered by one thread, or a
 * rendered one.  Requests that find a slot in flight wait for it instead
 * of rendering the same answer again.  Entries of older generations can
 * never be asked for again (readers always see the current generation) and
 * are dropped as soon as a newer one shows up; the rest is bounded by an
 * entry count and a byte cap (least recently used first).  A semaphore
 * bounds how many renders run at once, which bounds the memory and CPU
 * that concurrent distinct long windows can take.
 *
 * Must not: take the registry lock (callers hold it around find/claim and
 * never while waiting here), or do I/O.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "util/xalloc.h"

/* ---- blobs ---- */

static atomic_size_t live_bytes;

size_t http_live_bytes(void)
{
	return atomic_load_explicit(&live_bytes, memory_order_relaxed);
}

bool http_live_reserve(size_t n)
{
	size_t cur = atomic_load_explicit(&live_bytes, memory_order_relaxed);
	do {
		if (cur + n > HTTP_MAX_LIVE_BYTES)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(
	    &live_bytes, &cur, cur + n, memory_order_relaxed, memory_order_relaxed));
	return true;
}

void http_live_sub(size_t n)
{
	atomic_fetch_sub_explicit(&live_bytes, n, memory_order_relaxed);
}

struct http_blob *http_blob_take(struct buf *b)
{
	struct http_blob *o = xmalloc(sizeof(*o));
	atomic_init(&o->ref, 1);
	atomic_fetch_add_explicit(&live_bytes, b->len, memory_order_relaxed);
	o->len = b->len;
	o->p = b->p;
	*b = BUF_INIT;
	return o;
}

struct http_blob *http_blob_ref(struct http_blob *b)
{
	atomic_fetch_add_explicit(&b->ref, 1, memory_order_relaxed);
	return b;
}

void http_blob_unref(struct http_blob *b)
{
	if (b && atomic_fetch_sub_explicit(&b->ref, 1, memory_order_acq_rel) == 1) {
		atomic_fetch_sub_explicit(&live_bytes, b->len, memory_order_relaxed);
		free(b->p);
		free(b);
	}
}

/* ---- the cache ---- */

struct ucache_slot {
	unsigned refs; /* entries and threads holding it (cache mutex) */
	bool done;
	struct http_blob *body; /* when done: the body, or NULL (not cacheable) */
};

struct ucache_ent {
	char *key;
	uint64_t gen;
	uint64_t used; /* LRU clock */
	struct ucache_slot *slot;
};

struct ucache {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned max_entries;
	size_t max_bytes;
	unsigned max_renders, renders;
	uint64_t newest_gen, clock;
	struct ucache_ent *ent;
	unsigned n;
	struct ucache_stats st;
};

struct ucache *ucache_new(unsigned max_entries, size_t max_bytes, unsigned max_renders)
{
	struct ucache *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->max_entries = max_entries ? max_entries : 1;
	c->max_bytes = max_bytes;
	c->max_renders = max_renders ? max_renders : 1;
	c->ent = xcalloc(c->max_entries, sizeof(*c->ent));
	return c;
}

static void slot_unref_locked(struct ucache_slot *s)
{
	if (--s->refs == 0) {
		http_blob_unref(s->body);
		free(s);
	}
}

static void ent_drop_locked(struct ucache *c, unsigned i)
{
	free(c->ent[i].key);
	slot_unref_locked(c->ent[i].slot);
	c->ent[i] = c->ent[--c->n];
	c->st.evictions++;
}

void ucache_free(struct ucache *c)
{
	if (!c)
		return;
	while (c->n)
		ent_drop_locked(c, c->n - 1);
	free(c->ent);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* Bytes of the distinct published bodies the entries hold. */
static size_t bytes_locked(const struct ucache *c)
{
	size_t sum = 0;
	for (unsigned i = 0; i < c->n; i++) {
		const struct ucache_slot *s = c->ent[i].slot;
		if (!s->body)
			continue;
		bool first = true;
		for (unsigned j = 0; j < i && first; j++)
			first = c->ent[j].slot != s;
		if (first)
			sum += s->body->len;
	}
	return sum;
}

/* A newer generation makes every older entry unreachable. */
static void see_gen_locked(struct ucache *c, uint64_t gen)
{
	if (gen <= c->newest_gen)
		return;
	c->newest_gen = gen;
	for (unsigned i = c->n; i-- > 0;)
		if (c->ent[i].gen < gen)
			ent_drop_locked(c, i);
}

static long lookup_locked(struct ucache *c, const char *key, uint64_t gen)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->ent[i].gen == gen && !strcmp(c->ent[i].key, key))
			return i;
	return -1;
}

/* Drop the least recently used entry, preferring finished ones (an entry
 * in flight only loses its key: its renderer and waiters keep the slot). */
static void evict_one_locked(struct ucache *c, const struct ucache_slot *keep)
{
	long best = -1;
	for (int pass = 0; pass < 2 && best < 0; pass++)
		for (unsigned i = 0; i < c->n; i++) {
			const struct ucache_slot *s = c->ent[i].slot;
			if (s == keep || (pass == 0 && !s->done))
				continue;
			if (best < 0 || c->ent[i].used < c->ent[best].used)
				best = i;
		}
	if (best >= 0)
		ent_drop_locked(c, (unsigned)best);
}

static void insert_locked(struct ucache *c, const char *key, uint64_t gen, struct ucache_slot *s)
{
	if (gen < c->newest_gen)
		return; /* stale: nobody can ask for it */
	if (c->n == c->max_entries)
		evict_one_locked(c, s);
	if (c->n == c->max_entries)
		return;
	struct ucache_ent *e = &c->ent[c->n++];
	e->key = xstrdup(key);
	e->gen = gen;
	e->used = ++c->clock;
	e->slot = s;
	s->refs++;
}

struct ucache_slot *ucache_find(struct ucache *c, const char *key, uint64_t gen)
{
	pthread_mutex_lock(&c->mu);
	see_gen_locked(c, gen);
	long i = lookup_locked(c, key, gen);
	struct ucache_slot *s = NULL;
	if (i >= 0) {
		s = c->ent[i].slot;
		s->refs++;
		c->ent[i].used = ++c->clock;
	}
	pthread_mutex_unlock(&c->mu);
	return s;
}

struct ucache_slot *ucache_claim(struct ucache *c, const char *key, uint64_t gen, bool *mine)
{
	pthread_mutex_lock(&c->mu);
	see_gen_locked(c, gen);
	long i = lookup_locked(c, key, gen);
	struct ucache_slot *s;
	if (i >= 0) {
		s = c->ent[i].slot;
		c->ent[i].used = ++c->clock;
		*mine = false;
	} else {
		s = xcalloc(1, sizeof(*s));
		insert_locked(c, key, gen, s);
		*mine = true;
	}
	s->refs++;
	pthread_mutex_unlock(&c->mu);
	return s;
}

void ucache_alias(struct ucache *c, const char *key, uint64_t gen, struct ucache_slot *s)
{
	pthread_mutex_lock(&c->mu);
	see_gen_locked(c, gen);
	if (lookup_locked(c, key, gen) < 0)
		insert_locked(c, key, gen, s);
	pthread_mutex_unlock(&c->mu);
}

void ucache_publish(struct ucache *c, struct ucache_slot *s, struct http_blob *body)
{
	pthread_mutex_lock(&c->mu);
	s->done = true;
	s->body = body;
	if (!body || body->len > c->max_bytes / 2) {
		/* not kept: only the requests already waiting get it */
		for (unsigned i = c->n; i-- > 0;)
			if (c->ent[i].slot == s)
				ent_drop_locked(c, i);
	} else {
		c->st.rendered_bytes += body->len;
		while (bytes_locked(c) > c->max_bytes && c->n > 1) {
			unsigned before = c->n;
			evict_one_locked(c, s);
			if (c->n == before)
				break;
		}
	}
	slot_unref_locked(s);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

struct http_blob *ucache_wait(struct ucache *c, struct ucache_slot *s)
{
	pthread_mutex_lock(&c->mu);
	if (!s->done)
		c->st.waits++;
	else
		c->st.hits++;
	while (!s->done)
		pthread_cond_wait(&c->cv, &c->mu);
	struct http_blob *b = s->body ? http_blob_ref(s->body) : NULL;
	slot_unref_locked(s);
	pthread_mutex_unlock(&c->mu);
	return b;
}

void ucache_render_begin(struct ucache *c)
{
	pthread_mutex_lock(&c->mu);
	while (c->renders >= c->max_renders)
		pthread_cond_wait(&c->cv, &c->mu);
	c->renders++;
	c->st.renders++;
	pthread_mutex_unlock(&c->mu);
}

void ucache_render_end(struct ucache *c)
{
	pthread_mutex_lock(&c->mu);
	c->renders--;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

void ucache_stats(struct ucache *c, struct ucache_stats *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->st;
	out->entries = c->n;
	out->bytes = bytes_locked(c);
	pthread_mutex_unlock(&c->mu);
}
