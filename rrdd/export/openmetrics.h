/*
 * The latest values of every RRD in the OpenMetrics text format (GET
 * /metrics): one gauge family per data source kind, named
 * xen_<host|vm|sr>_<name>, with the per-index parts of xcp-rrdd's DS names
 * turned into labels (cpu3 -> cpu="3", vif_0_rx -> vif="0", vbd_xvda_read
 * -> vbd="xvda", pif_eth0_rx -> pif="eth0", cpu1-C2 -> cpu="1",state="C2",
 * iops_total_e6616eb6 -> sr="e6616eb6", memory_numa_node_1 -> node="1"),
 * the owner as vm_uuid= / sr_uuid=, "# TYPE", "# UNIT" (only where the
 * name carries the unit, as OpenMetrics requires), "# HELP" and "# EOF".
 * Families are grouped (every sample of a family together) and sorted;
 * the VMs' names come last as the family xen_vm_info.
 * A DERIVE data source whose last raw reading is known (a running total,
 * e.g. bytes received) is also a counter family, its gauge family's base
 * name plus what it counts: "B/s" -> _bytes, "b/s" -> _bits, "(fraction)"
 * -> _seconds (CPU time), "bytes"/"seconds" -> themselves, any other
 * "X/s" -> _X, anything else -> _cumulative; its sample is <family>_total.
 * A counter whose family name a gauge family already has is left out.
 * A plugin's metric keeps the family and labels the plugin gave it (see
 * exp_om_sample.om).
 * Pure: formats into a caller-owned buffer; no I/O, no locks.
 */
#ifndef RRDD_EXPORT_OPENMETRICS_H
#define RRDD_EXPORT_OPENMETRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

#include "monitor/owner.h"

/* One value; strings borrowed for the duration of the call. */
struct exp_om_sample {
	enum mon_owner_kind owner;
	const char *uuid;        /* VM/SR uuid; ignored for the host */
	const char *ds;          /* xcp-rrdd DS name */
	const char *units;       /* descriptor units or NULL */
	const char *description; /* descriptor text or NULL */
	double value;            /* the latest value (a rate for DERIVE) */
	bool derive;             /* a DERIVE data source: value is a rate */
	bool has_total;          /* total is its last raw reading */
	double total;
	/* A plugin's own OpenMetrics identity (protocol v3/v4, mon_dsdesc.om:
	 * family{labels}), or NULL.  With it the sample is exposed in the
	 * plugin's family (plus "_<unit>" as xcp-metrics names it) with its
	 * labels after the owner's, a DERIVE one as the counter alone. */
	const char *om;
};

/* A running VM's identity for the family xen_vm_info (a gauge of 1, as
 * Prometheus' *_info metrics: xen_vm_info{vm_uuid="…",name="…"} 1);
 * strings borrowed. */
struct exp_om_info {
	const char *uuid;
	const char *name;
};

/* Append the exposition of n samples (any order) and of xen_vm_info for
 * ninfo VMs (sorted by uuid; none: no family) to out, ending with
 * "# EOF\n".  Two samples that map to the same family and labels keep the
 * first. */
void exp_openmetrics(struct buf *out, const struct exp_om_sample *s, size_t n,
                     const struct exp_om_info *info, size_t ninfo);

/* The same exposition in Prometheus' text format 0.0.4 (what exporters
 * answer a scraper that does not ask for OpenMetrics): the same families,
 * labels and values, a counter family named by its sample (# TYPE
 * <family>_total counter), no UNIT lines, no "# EOF". */
void exp_prometheus_text(struct buf *out, const struct exp_om_sample *s, size_t n,
                         const struct exp_om_info *info, size_t ninfo);

/* The same exposition as an OpenMetrics protobuf MetricSet (the data
 * model's wire format, Content-Type application/openmetrics-protobuf;
 * version=1.0.0), appended to out: the same families (GAUGE or COUNTER,
 * unit, help), label pairs and values.  Returns 0. */
int exp_openmetrics_pb(struct buf *out, const struct exp_om_sample *s, size_t n,
                       const struct exp_om_info *info, size_t ninfo);

#endif
