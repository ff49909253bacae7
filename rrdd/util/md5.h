/*
 * MD5 (RFC 1321), only for the V1 plugin protocol's payload checksum.  Not
 * for anything security-related.  Pure: no I/O, no allocation.
 */
#ifndef RRDD_MD5_H
#define RRDD_MD5_H

#include <stddef.h>
#include <stdint.h>

struct md5_ctx {
	uint32_t h[4];
	uint64_t nbytes;
	unsigned char block[64];
	size_t fill;
};

/* Start a new digest. */
void md5_init(struct md5_ctx *c);
/* Feed n bytes. */
void md5_update(struct md5_ctx *c, const void *p, size_t n);
/* Finish and write the 16-byte digest; the context must be re-initialised
 * before reuse. */
void md5_final(struct md5_ctx *c, unsigned char out[16]);
/* One-shot digest of p[0..n). */
void md5_sum(const void *p, size_t n, unsigned char out[16]);

#endif
