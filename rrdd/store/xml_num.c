/*
 * The number and space rules of the archive reader (xml_num.h).
 */
#include "store/xml_num.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* A float as OCaml's float_of_string reads the formats xcp-rrdd ever wrote:
 * decimal with optional exponent, or nan / inf / infinity in any case, each
 * with an optional sign.  s is already trimmed. */
int xmlnum_double(const char *s, double *out)
{
	const char *q = s;
	int neg = 0;
	if (*q == '+' || *q == '-')
		neg = *q++ == '-';
	if ((*q | 0x20) == 'n' || (*q | 0x20) == 'i') {
		if (strcasecmp(q, "nan") == 0)
			*out = NAN;
		else if (strcasecmp(q, "inf") == 0 || strcasecmp(q, "infinity") == 0)
			*out = neg ? -INFINITY : INFINITY;
		else
			return -EINVAL;
		return 0;
	}
	int digits = 0;
	while (*q >= '0' && *q <= '9')
		q++, digits++;
	if (*q == '.') {
		q++;
		while (*q >= '0' && *q <= '9')
			q++, digits++;
	}
	if (!digits)
		return -EINVAL;
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!(*q >= '0' && *q <= '9'))
			return -EINVAL;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q)
		return -EINVAL;
	pthread_once(&c_locale_once, c_locale_init);
	char *end;
	*out = c_locale ? strtod_l(s, &end, c_locale) : strtod(s, &end);
	return *end ? -EINVAL : 0; /* overflow gives +-inf, as OCaml does */
}

/* A decimal unsigned integer that fits in 32 bits. */
int xmlnum_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

int xmlnum_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Replace every run of white space by one space, in place. */
void xmlnum_collapse_space(char *s)
{
	char *w = s;
	for (const char *q = s; *q; q++) {
		if (xmlnum_is_space(*q)) {
			if (w == s || w[-1] != ' ')
				*w++ = ' ';
		} else {
			*w++ = *q;
		}
	}
	*w = 0;
}
