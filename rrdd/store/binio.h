/*
 * Little-endian binary encoding helpers for the durability files (journal
 * records, checkpoints, RRD snapshots): appenders onto a struct buf and a
 * bounds-checked reader that never reads past its end (a short or hostile
 * input sets the reader's error flag and yields zeros).  Header-only, no
 * I/O, no allocation besides the caller's buf; must not log.
 */
#ifndef RRDD_STORE_BINIO_H
#define RRDD_STORE_BINIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/buf.h"

static inline void bio_u8(struct buf *b, uint8_t v)
{
	buf_add(b, &v, 1);
}

static inline void bio_u32(struct buf *b, uint32_t v)
{
	unsigned char p[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
	                      (unsigned char)(v >> 24)};
	buf_add(b, p, 4);
}

static inline void bio_u64(struct buf *b, uint64_t v)
{
	bio_u32(b, (uint32_t)v);
	bio_u32(b, (uint32_t)(v >> 32));
}

static inline void bio_f64(struct buf *b, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	bio_u64(b, u);
}

static inline void bio_f32(struct buf *b, float v)
{
	uint32_t u;
	memcpy(&u, &v, 4);
	bio_u32(b, u);
}

/* A string: u32 length then the bytes (NULL is written as ""). */
static inline void bio_str(struct buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	bio_u32(b, (uint32_t)n);
	buf_add(b, s ? s : "", n);
}

static inline void bio_bytes(struct buf *b, const void *p, size_t n)
{
	bio_u32(b, (uint32_t)n);
	buf_add(b, p, n);
}

/* Patch a u32 at offset off of b (for lengths known afterwards). */
static inline void bio_put_u32_at(struct buf *b, size_t off, uint32_t v)
{
	unsigned char *p = (unsigned char *)b->p + off;
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

struct bio_rd {
	const unsigned char *p, *end;
	bool bad; /* set by any read past the end or malformed field */
};

static inline struct bio_rd bio_reader(const void *p, size_t n)
{
	return (struct bio_rd){(const unsigned char *)p, (const unsigned char *)p + n, false};
}

static inline size_t bio_left(const struct bio_rd *r)
{
	return (size_t)(r->end - r->p);
}

static inline const unsigned char *bio_take(struct bio_rd *r, size_t n)
{
	if (r->bad || bio_left(r) < n) {
		r->bad = true;
		return NULL;
	}
	const unsigned char *q = r->p;
	r->p += n;
	return q;
}

static inline uint8_t bio_get_u8(struct bio_rd *r)
{
	const unsigned char *q = bio_take(r, 1);
	return q ? q[0] : 0;
}

static inline uint32_t bio_get_u32(struct bio_rd *r)
{
	const unsigned char *q = bio_take(r, 4);
	return q ? (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
	               (uint32_t)q[3] << 24
	         : 0;
}

static inline uint64_t bio_get_u64(struct bio_rd *r)
{
	uint64_t lo = bio_get_u32(r);
	return lo | (uint64_t)bio_get_u32(r) << 32;
}

static inline double bio_get_f64(struct bio_rd *r)
{
	uint64_t u = bio_get_u64(r);
	double v;
	memcpy(&v, &u, 8);
	return v;
}

static inline float bio_get_f32(struct bio_rd *r)
{
	uint32_t u = bio_get_u32(r);
	float v;
	memcpy(&v, &u, 4);
	return v;
}

/* A byte string: pointer into the input (not NUL-terminated) and length. */
static inline const char *bio_get_bytes(struct bio_rd *r, size_t *n)
{
	uint32_t len = bio_get_u32(r);
	const unsigned char *q = bio_take(r, len);
	*n = q ? len : 0;
	return (const char *)q;
}

/* A string copied into dst (cap bytes, NUL-terminated); longer is an error. */
static inline void bio_get_str_into(struct bio_rd *r, char *dst, size_t cap)
{
	size_t n;
	const char *s = bio_get_bytes(r, &n);
	if (!s || n >= cap || memchr(s, 0, n)) {
		if (s && (n >= cap || memchr(s, 0, n)))
			r->bad = true;
		if (cap)
			dst[0] = 0;
		return;
	}
	memcpy(dst, s, n);
	dst[n] = 0;
}

#endif
