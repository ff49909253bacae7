/*
 * Internal to the cycle records (tickrec.c: the dictionaries and the
 * encoder; tickrec_dec.c: the decoder): the value tags and the state of
 * one stream that both sides keep alike.
 */
#ifndef RRDD_STORE_TICKREC_IMPL_H
#define RRDD_STORE_TICKREC_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "store/tickrec.h"
#include "util/xalloc.h"

#define NONE UINT32_MAX

/* Value tags. */
#define TAG_UNKNOWN 0u
#define TAG_INT     1u    /* + varint zigzag difference */
#define TAG_SMALL   2u    /* TAG_SMALL + z: integer, zigzag difference z */
#define TAG_SMALL_N 62u   /* z < TAG_SMALL_N */
#define TAG_FLOAT   0x80u /* | tz << 4 | nb: + nb bytes of the XOR >> 8 tz */

/* ---- shared state: dictionaries of one stream ---- */

struct tdesc {
	struct mon_dsdesc d; /* strings owned */
};

struct tlayout {
	uint32_t off, n; /* descriptor indices in lpool[off .. off+n) */
	uint64_t token;  /* decoder: the registry layout token given to it */
};

struct towner {
	uint8_t kind;
	char uuid[MON_UUID_LEN + 1];
	uint32_t stream; /* first of its value streams + 1, 0 = none */
};

struct tstream {
	uint32_t uid, next; /* next: another stream of the same owner + 1 */
	uint32_t n;
	uint64_t *prev;
};

struct ttok {
	uint32_t uid, layout;
	uint64_t token;
};

/* Open addressing of indices (stored + 1) with their hashes. */
struct ihash {
	uint32_t *slot;
	uint64_t *hv;
	size_t cap, n;
};

struct tstate {
	uint64_t stream;
	bool started;
	struct tdesc *desc;
	uint32_t ndesc, cdesc;
	uint32_t *lpool;
	uint32_t nlpool, clpool;
	struct tlayout *lay;
	uint32_t nlay, clay;
	struct towner *own;
	uint32_t nown, cown;
	struct tstream *str;
	uint32_t nstr, cstr;
	char (*uid)[MON_UID_LEN + 1];
	uint32_t nuid, cuid;
	struct ttok *tok;
	uint32_t ntok, ctok;
	struct ihash hdesc, hlay, hown, htok;
	struct mon_resident *res; /* the previous record's residents */
	uint32_t nres, cres;
	bool have_res;
};

#define GROW(arr, n, cap)                                                                          \
	do {                                                                                       \
		if ((n) == (cap)) {                                                                \
			(cap) = (cap) ? (cap)*2 : 16;                                              \
			(arr) = xrealloc((arr), sizeof(*(arr)) * (cap));                           \
		}                                                                                  \
	} while (0)

/* Forget the dictionaries of a stream. */
void tick_state_clear(struct tstate *s);

/* Define a layout (descriptor indices) / an owner; return its index. */
uint32_t tick_layout_add(struct tstate *s, const uint32_t *idx, uint32_t n);
uint32_t tick_owner_add(struct tstate *s, uint8_t kind, const char *uuid);

/* The value stream of (producer uid, owner), made on first use. */
struct tstream *tick_stream_of(struct tstate *s, uint32_t uid, uint32_t owner);

/* Make room for n previous values in a stream. */
void tick_stream_fit(struct tstream *t, uint32_t n);

#endif
