/*
 * Number text exactly as xcp-rrdd prints it (rrd_utils.ml f_to_s):
 * "%.15g" for finite non-zero values, "0.0" for zero (either sign), "NaN",
 * "Infinity", "-Infinity".  Pure.  Much faster than snprintf, byte-identical.
 */
#ifndef RRDD_NUMFMT_H
#define RRDD_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

/* Longest output of numfmt_double() plus a NUL. */
#define NUMFMT_MAX 32

/* Write v as xcp-rrdd's f_to_s into out (at least NUMFMT_MAX bytes), NUL
 * terminated.  Returns the length. */
size_t numfmt_double(char *out, double v);

/* The same for a value stored as float32 (the ring rows): equal to
 * numfmt_double((double)f), faster. */
size_t numfmt_float(char *out, float f);

/* "%lld" of v into out (at least 21 bytes); returns the length. */
size_t numfmt_int64(char *out, int64_t v);

#endif
