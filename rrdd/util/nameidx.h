/*
 * An index by name over an array the caller keeps (live descriptors, an
 * RRD's DSs): open addressing of item indices, so a name is found in O(1)
 * and n items appearing one by one cost O(n).  The caller says how to read
 * item i's name.  Not thread-safe (the owner's lock).
 */
#ifndef RRDD_UTIL_NAMEIDX_H
#define RRDD_UTIL_NAMEIDX_H

#include <stdint.h>

struct name_index {
	uint32_t *slot; /* item index + 1, 0 = empty */
	uint32_t n;     /* power of two, or 0 */
};

/* The name of item i of ctx's array. */
typedef const char *(*nidx_name_fn)(const void *ctx, uint32_t i);

/* Index items 0..count-1 afresh (room for at least twice as many). */
void nidx_rebuild(struct name_index *x, uint32_t count, nidx_name_fn name, const void *ctx);

/* Item count-1 was appended: index it (rebuilding when the room is short). */
void nidx_append(struct name_index *x, uint32_t count, nidx_name_fn name, const void *ctx);

/* The index of the item called s among items 0..count-1, or -1. */
int nidx_find(const struct name_index *x, const char *s, uint32_t count, nidx_name_fn name,
              const void *ctx);

/* Release the slots (x is empty afterwards). */
void nidx_free(struct name_index *x);

#endif
