/*
 * Small shared helpers of librrdd-plugin: the per-thread error message that
 * rrdp_error_message() returns, the zlib-compatible CRC32 the V2 page needs
 * (computed here so that the library does not depend on zlib), UTF-8 text
 * validation for the strings that go into the metadata, and the version.
 *
 * No I/O, no allocation, no global mutable state except the thread-local
 * message buffer and the CRC table built once under pthread_once.
 */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static __thread char errbuf[512];

int rrdp_i_fail(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return rc;
}

void rrdp_i_clear_error(void)
{
	errbuf[0] = '\0';
}

const char *rrdp_error_message(void)
{
	return errbuf;
}

const char *rrdp_version(void)
{
#ifdef RRDP_VERSION_STRING
	return RRDP_VERSION_STRING;
#else
	return "1.0.0";
#endif
}

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t rrdp_i_crc32(const void *data, size_t len)
{
	pthread_once(&crc_once, crc_init);
	const unsigned char *p = data;
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < len; i++)
		c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

/* Length of the UTF-8 sequence at s (well-formed, shortest form, no
 * surrogates, <= U+10FFFF), or 0 if it is not valid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xF4 && s[1] >= 0x90)
			return 0; /* > U+10FFFF */
		return 4;
	}
	return 0;
}

int rrdp_i_check_text(const char *s, size_t max, const char *what)
{
	/* Control characters are allowed (they are escaped in the JSON) except
	 * in names, which the caller checks separately. */
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	if (n > max)
		return rrdp_i_fail(-EINVAL, "%s is %zu bytes long, the limit is %zu", what, n, max);
	for (size_t i = 0; i < n;) {
		/* The NUL terminator stops any sequence early: utf8_len reads at
		 * most up to it because continuation bytes are never 0. */
		size_t k = utf8_len(p + i);
		if (k == 0)
			return rrdp_i_fail(-EINVAL, "%s is not valid UTF-8 (byte %zu)", what, i);
		i += k;
	}
	return 0;
}
