/*
 * The OpenMetrics exposition of the daemon's RRDs (GET /metrics, the v4
 * socket's FetchMetrics): the latest value of every recorded DS of every
 * RRD (the value query_*_ds returns), with units and descriptions from the
 * live descriptors where producers gave them, formatted by
 * export/openmetrics.h.  Values and names are copied under the registry's
 * read lock; formatting happens outside it.
 */
#ifndef RRDD_DAEMON_OMEXPO_H
#define RRDD_DAEMON_OMEXPO_H

#include "monitor/registry.h"
#include "util/buf.h"

/* Append the OpenMetrics text of every RRD of reg to out. */
void om_expo_text(struct mon_registry *reg, struct buf *out);

#endif
