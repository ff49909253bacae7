/*
 * The bump allocator of arena.h: a chain of blocks, newest first.  A reset
 * keeps one block, as large as the last decode needed.
 */
#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>

#include "util/xalloc.h"

#define BLOCK_MIN (64u * 1024)
#define ALIGN     16u

struct arena_block {
	struct arena_block *next; /* older block */
	size_t size, off;
	_Alignas(16) unsigned char data[];
};

void arena_init(struct arena *a, size_t cap)
{
	a->head = NULL;
	a->used = 0;
	a->cap = cap;
	a->exceeded = false;
}

void *arena_alloc(struct arena *a, size_t n)
{
	size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (need < n || need > a->cap - a->used || a->used > a->cap) {
		a->exceeded = true;
		return NULL;
	}
	struct arena_block *b = a->head;
	if (!b || b->size - b->off < need) {
		size_t size = need > BLOCK_MIN ? need : BLOCK_MIN;
		if (b && b->size * 2 > size && b->size * 2 <= a->cap)
			size = b->size * 2; /* grow geometrically: few blocks per decode */
		b = xmalloc(sizeof(*b) + size);
		b->size = size;
		b->off = 0;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->off;
	b->off += need;
	a->used += need;
	return p;
}

void arena_reset(struct arena *a, size_t cap)
{
	struct arena_block *b = a->head;
	if (b && b->next) {
		/* several blocks: the next decode of this size gets one block */
		size_t want = a->used > BLOCK_MIN ? a->used : BLOCK_MIN;
		arena_free(a);
		b = xmalloc(sizeof(*b) + want);
		b->size = want;
		b->next = NULL;
		a->head = b;
	}
	if (b)
		b->off = 0;
	a->used = 0;
	a->exceeded = false;
	if (cap)
		a->cap = cap;
}

void arena_free(struct arena *a)
{
	struct arena_block *b = a->head;
	while (b) {
		struct arena_block *older = b->next;
		free(b);
		b = older;
	}
	a->head = NULL;
	a->used = 0;
}
