/* Growable byte buffer (see buf.h). */
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void buf_free(struct buf *b)
{
	free(b->p);
	*b = BUF_INIT;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

char *buf_reserve(struct buf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	return b->p + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->p[b->len] = '\0';
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	memcpy(buf_reserve(b, n), p, n);
	buf_commit(b, n);
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addc(struct buf *b, char c)
{
	*buf_reserve(b, 1) = c;
	buf_commit(b, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n <= 0)
		return;
	char *p = buf_reserve(b, (size_t)n);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	buf_commit(b, (size_t)n);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

const char *buf_cstr(struct buf *b)
{
	if (!b->p)
		buf_reserve(b, 0), b->p[0] = '\0';
	return b->p;
}
