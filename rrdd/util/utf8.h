/*
 * UTF-8 validation shared by the JSON parser and the XML-RPC / JSON-RPC
 * writers: well-formed sequences as RFC 3629 defines them (no overlong
 * forms, no UTF-16 surrogates, nothing above U+10FFFF).  Pure.
 */
#ifndef RRDD_UTIL_UTF8_H
#define RRDD_UTIL_UTF8_H

#include <stddef.h>

/* Length (2..4) of the well-formed sequence that starts p[0..n) with a
 * lead byte >= 0x80, or 0 when it is not one (or is cut short). */
size_t utf8_seq_len(const unsigned char *p, size_t n);

#endif
