/*
 * The families and metrics one v4 connection has set (v4srv.h), and the v3
 * page that gives them to the registry at each tick.  A metric is keyed by
 * its family and its uuid, as in xcp-metrics' hub; an UpdateMetric
 * replaces its labels and value.  Pure: no I/O, no locks (the server
 * serialises access).
 */
#ifndef RRDD_PLUGIN_V4STATE_H
#define RRDD_PLUGIN_V4STATE_H

#include <stddef.h>
#include <stdint.h>

#include "plugin/v4msg.h"
#include "util/arena.h"
#include "util/buf.h"

struct v4state;

/* An empty state allowing max_families families and max_metrics metrics. */
struct v4state *v4state_new(size_t max_families, size_t max_metrics);

/* Free a state; NULL is a no-op. */
void v4state_free(struct v4state *st);

/* Apply a CreateFamily, RemoveFamily, UpdateMetric or RemoveMetric; room is
 * how many new metrics the server still allows overall.  Returns 0 with
 * *delta the change in the number of metrics, or -1 with a reason in err
 * (nothing changed). */
int v4state_apply(struct v4state *st, const struct v4_msg *m, size_t room, long *delta, char *err,
                  size_t errlen);

/* The number of metrics. */
size_t v4state_metrics(const struct v4state *st);

/* Append the v3 page of every family and metric, stamped ts, to out; the
 * message structures come from a (reset by the caller).  Returns 0, or -1
 * when a's ceiling is reached. */
int v4state_page(const struct v4state *st, uint64_t ts, struct arena *a, struct buf *out);

#endif
