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

#include "daemon/vmnames.h"
#include "monitor/registry.h"
#include "util/buf.h"

#define OM_TEXT_TYPE     "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define OM_PROTOBUF_TYPE "application/openmetrics-protobuf; version=1.0.0"

/* Append the OpenMetrics text of every RRD of reg, and the info family of
 * the VMs named in names (NULL: none), to out. */
void om_expo_text(struct mon_registry *reg, struct vmnames *names, struct buf *out);

/* The same as an OpenMetrics protobuf MetricSet. */
void om_expo_protobuf(struct mon_registry *reg, struct vmnames *names, struct buf *out);

#endif
