/*
 * A growable byte buffer: the caller-owned output of every serialiser.
 * Pure (no I/O).  Growth aborts on allocation failure (xalloc).
 */
#ifndef RRDD_BUF_H
#define RRDD_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *p;    /* NUL-terminated when len > 0 or after buf_cstr() */
	size_t len; /* bytes used, excluding the terminating NUL */
	size_t cap; /* bytes allocated */
};

#define BUF_INIT ((struct buf){0})

/* Release the storage; the buffer is BUF_INIT afterwards. */
void buf_free(struct buf *b);
/* Forget the contents, keep the storage. */
void buf_reset(struct buf *b);
/* Make room for n more bytes (plus a NUL) and return a pointer to them;
 * commit them with buf_commit(). */
char *buf_reserve(struct buf *b, size_t n);
/* Account for n bytes written into the space from buf_reserve(). */
void buf_commit(struct buf *b, size_t n);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* The contents as a NUL-terminated string (never NULL). */
const char *buf_cstr(struct buf *b);

#endif
