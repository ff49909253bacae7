/*
 * How the archive reader (xml_parse.c) reads numbers and white space in
 * the texts of an RRD document: every number format xcp-rrdd ever wrote
 * (wire-format.md §3.2), independent of the process locale.  Pure.
 */
#ifndef RRDD_STORE_XML_NUM_H
#define RRDD_STORE_XML_NUM_H

#include <stdint.h>

/* A float as OCaml's float_of_string reads the formats xcp-rrdd ever
 * wrote: decimal with optional exponent, or nan / inf / infinity in any
 * case, each with an optional sign.  s is already trimmed.  0 or -EINVAL. */
int xmlnum_double(const char *s, double *out);

/* A decimal unsigned integer that fits in 32 bits: 0, -EINVAL or -ERANGE. */
int xmlnum_u32(const char *s, uint32_t *out);

/* Whether c is XML white space (space, tab, CR, LF). */
int xmlnum_is_space(char c);

/* Replace every run of white space by one space, in place. */
void xmlnum_collapse_space(char *s);

#endif
