/*
 * A bump allocator with a ceiling, for decoders of untrusted input
 * (protobuf-c's unpack of v3 plugin pages, CBOR messages of the v4 socket):
 * every allocation of one decode comes from a few large blocks, forgotten
 * together by arena_reset, and the total is capped, so a hostile message
 * that would expand into gigabytes of structures fails instead.  A reset
 * keeps one block as large as the last decode needed: a steady decode
 * allocates nothing.
 *
 * Not thread-safe: one arena per decoding thread.
 */
#ifndef RRDD_UTIL_ARENA_H
#define RRDD_UTIL_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head; /* the block allocations come from */
	size_t used;              /* bytes handed out since the last reset */
	size_t cap;               /* most bytes handed out between resets */
	bool exceeded;            /* an allocation was refused since the last reset */
};

/* An empty arena that hands out at most cap bytes between resets. */
void arena_init(struct arena *a, size_t cap);

/* n bytes aligned for any type, or NULL when that would pass the cap
 * (then a->exceeded is set).  Allocation failure of the system aborts. */
void *arena_alloc(struct arena *a, size_t n);

/* Forget every allocation, keeping one block as large as this decode
 * needed.  Sets a new cap (0: keep the current one). */
void arena_reset(struct arena *a, size_t cap);

/* Free every block. */
void arena_free(struct arena *a);

#endif
