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

/* The forms of the exposition. */
enum om_form {
	OM_FORM_TEXT,       /* OpenMetrics text 1.0.0 */
	OM_FORM_PROMETHEUS, /* Prometheus' text format 0.0.4 */
	OM_FORM_PROTOBUF,   /* OpenMetrics protobuf MetricSet */
};

/* The Content-Type of a form. */
const char *om_form_ctype(enum om_form form);

/* The form a client asks for with this Accept header (NULL: none), as
 * exporters choose: openmetrics-protobuf, else openmetrics-text, else
 * Prometheus' text format. */
enum om_form om_form_of_accept(const char *accept);

/* Append the exposition of every RRD of reg, and the info family of the
 * VMs named in names (NULL: none), to out, in form. */
void om_expo(struct mon_registry *reg, struct vmnames *names, enum om_form form, struct buf *out);

#endif
