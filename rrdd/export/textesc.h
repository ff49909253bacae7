/*
 * Text escaping for the serialisers, byte-identical to what xcp-rrdd's
 * libraries emit: Xmlm 1.4 for XML character data, Yojson 2.0 for JSON
 * strings.  Pure: appends to a caller-owned struct buf, no I/O, no allocation
 * beyond the buffer's growth.  Input is treated as bytes (UTF-8 passes
 * through unchanged); nothing here validates or normalises encodings.
 */
#ifndef RRDD_EXPORT_TEXTESC_H
#define RRDD_EXPORT_TEXTESC_H

#include <stddef.h>

#include "util/buf.h"

/* Append s[0..n) as XML character data, as Xmlm writes a Data signal: '<',
 * '>', '&' and '"' become entities; control bytes other than TAB, LF and CR
 * (illegal in XML 1.0) become U+FFFD; every other byte is copied. */
void exp_xml_text(struct buf *out, const char *s, size_t n);

/* Append s[0..n) as a JSON string literal including the quotes, as Yojson
 * writes it: \" \\ \b \f \n \r \t, other bytes below 0x20 and 0x7F as
 * \u00xx (lowercase hex); every other byte is copied. */
void exp_json_str(struct buf *out, const char *s, size_t n);

#endif
