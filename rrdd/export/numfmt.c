/* Number text as xcp-rrdd prints it (see numfmt.h).  Pure.
 * Placeholder implementation over snprintf; a fast one replaces it. */
#include "export/numfmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

size_t numfmt_double(char *out, double v)
{
	if (isnan(v))
		return (size_t)(strcpy(out, "NaN"), 3);
	if (isinf(v))
		return v > 0 ? (strcpy(out, "Infinity"), 8) : (strcpy(out, "-Infinity"), 9);
	if (v == 0)
		return (size_t)(strcpy(out, "0.0"), 3);
	return (size_t)snprintf(out, NUMFMT_MAX, "%.15g", v);
}

size_t numfmt_float(char *out, float f)
{
	return numfmt_double(out, (double)f);
}

size_t numfmt_int64(char *out, int64_t v)
{
	return (size_t)snprintf(out, 21, "%lld", (long long)v);
}
