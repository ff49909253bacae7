/*
 * Interned strings (intern.h): a chained hash set of reference-counted
 * entries, the text stored inside its entry.  Must not: hand out a pointer
 * whose text differs from the argument, or free an entry still referenced.
 */
#include "util/intern.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/xalloc.h"

struct istr {
	struct istr *next;
	uint32_t hash;
	uint32_t refs;
	char s[];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct istr **bucket;
static size_t nbucket, count;

static void grow(void)
{
	size_t n = nbucket ? nbucket * 2 : 256;
	struct istr **b = xcalloc(n, sizeof(*b));
	for (size_t i = 0; i < nbucket; i++)
		for (struct istr *e = bucket[i], *nx; e; e = nx) {
			nx = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(bucket);
	bucket = b;
	nbucket = n;
}

const char *intern_get(const char *s)
{
	if (!s)
		s = "";
	uint32_t h = str_hash(s);
	pthread_mutex_lock(&mu);
	struct istr *e = NULL;
	if (nbucket)
		for (e = bucket[h & (nbucket - 1)]; e; e = e->next)
			if (e->hash == h && strcmp(e->s, s) == 0)
				break;
	if (e && e->refs < UINT32_MAX) {
		e->refs++;
	} else {
		/* new text (or, never in practice, a count about to wrap: then
		 * a second copy, freed on its own) */
		if (count >= nbucket)
			grow();
		size_t len = strlen(s);
		e = xmalloc(offsetof(struct istr, s) + len + 1);
		memcpy(e->s, s, len + 1);
		e->hash = h;
		e->refs = 1;
		e->next = bucket[h & (nbucket - 1)];
		bucket[h & (nbucket - 1)] = e;
		count++;
	}
	pthread_mutex_unlock(&mu);
	return e->s;
}

void intern_put(const char *s)
{
	if (!s)
		return;
	struct istr *e = (struct istr *)(void *)((char *)s - offsetof(struct istr, s));
	pthread_mutex_lock(&mu);
	if (--e->refs == 0) {
		struct istr **pp = &bucket[e->hash & (nbucket - 1)];
		while (*pp != e)
			pp = &(*pp)->next;
		*pp = e->next;
		free(e);
		count--;
	}
	pthread_mutex_unlock(&mu);
}

unsigned long intern_count(void)
{
	pthread_mutex_lock(&mu);
	unsigned long n = (unsigned long)count;
	pthread_mutex_unlock(&mu);
	return n;
}
