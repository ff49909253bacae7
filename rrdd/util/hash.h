/*
 * The string hash of the in-memory tables (name slots, uuid caches,
 * interned strings): 32-bit FNV-1a.  Not for anything that must resist a
 * chosen input; tables keep probing to a match whatever the spread.
 */
#ifndef RRDD_UTIL_HASH_H
#define RRDD_UTIL_HASH_H

#include <stdint.h>

/* FNV-1a of the NUL-terminated s. */
static inline uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

#endif
