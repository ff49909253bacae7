/*
 * Small inline helpers shared by the serialisers: appending numbers to a
 * struct buf through numfmt, and OCaml's float-to-integer conversions (what
 * xcp-rrdd does when it prints a float field as an integer).  Pure; internal
 * to rrdd/export (not a public contract).
 */
#ifndef RRDD_EXPORT_EXPNUM_H
#define RRDD_EXPORT_EXPNUM_H

#include <stdint.h>

#include "export/numfmt.h"
#include "util/buf.h"

/* OCaml Int64.of_float on amd64 (cvttsd2si): truncation toward zero, and
 * INT64_MIN for NaN or values outside the int64 range. */
static inline int64_t exp_int64_of_float(double v)
{
	if (!(v > -9223372036854775808.0 && v < 9223372036854775808.0))
		return INT64_MIN;
	return (int64_t)v;
}

/* OCaml int_of_float (63-bit native int): as above, then wrapped to 63 bits
 * (so NaN gives 0). */
static inline int64_t exp_int_of_float(double v)
{
	uint64_t u = (uint64_t)exp_int64_of_float(v) << 1;
	return (int64_t)u >> 1;
}

static inline void exp_put_double(struct buf *out, double v)
{
	char *p = buf_reserve(out, NUMFMT_MAX);
	buf_commit(out, numfmt_double(p, v));
}

static inline void exp_put_int64(struct buf *out, int64_t v)
{
	char *p = buf_reserve(out, NUMFMT_MAX);
	buf_commit(out, numfmt_int64(p, v));
}

#endif
