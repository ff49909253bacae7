/*
 * XML and JSON text escaping (see textesc.h).  Pure; the fast path copies
 * runs of bytes that need no escaping with a single memcpy.
 */
#include "export/textesc.h"

#include <string.h>

/* The replacement text for c, or NULL when c is copied as is. */
static const char *xml_repl(unsigned char c)
{
	switch (c) {
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '&':
		return "&amp;";
	case '"':
		return "&quot;";
	case '\t':
	case '\n':
	case '\r':
		return NULL;
	default:
		return c < 0x20 ? "\xEF\xBF\xBD" : NULL;
	}
}

void exp_xml_text(struct buf *out, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *r = xml_repl((unsigned char)s[i]);
		if (!r)
			continue;
		buf_add(out, s + start, i - start);
		buf_adds(out, r);
		start = i + 1;
	}
	buf_add(out, s + start, n - start);
}

void exp_json_str(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0;
	buf_addc(out, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *r;
		char u[7];
		switch (c) {
		case '"':
			r = "\\\"";
			break;
		case '\\':
			r = "\\\\";
			break;
		case '\b':
			r = "\\b";
			break;
		case '\f':
			r = "\\f";
			break;
		case '\n':
			r = "\\n";
			break;
		case '\r':
			r = "\\r";
			break;
		case '\t':
			r = "\\t";
			break;
		default:
			if (c >= 0x20 && c != 0x7f)
				continue;
			memcpy(u, "\\u00", 4);
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
			u[6] = '\0';
			r = u;
			break;
		}
		buf_add(out, s + start, i - start);
		buf_adds(out, r);
		start = i + 1;
	}
	buf_add(out, s + start, n - start);
	buf_addc(out, '"');
}
