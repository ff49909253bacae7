/*
 * Replay of engine traces in the JSON format of the reference fixtures
 * (tests/fixtures/README.md, "Engine traces: input format"): a definition
 * (step, created, datasources, rras) and a list of updates.
 */
#ifndef RRDD_TOOL_TRACE_H
#define RRDD_TOOL_TRACE_H

#include <stddef.h>

#include "rrd/rrd.h"

/* Build the RRD a trace defines and apply every update in order.  text is
 * the whole trace (NUL-terminated).  On error returns a negative errno and
 * writes a one-line reason naming the offending part into err. */
int trace_replay(const char *text, struct rrdb **out, char *err, size_t errlen);

#endif
