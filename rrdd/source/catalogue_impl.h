/*
 * Internal to the catalogue (catalogue_table.c: the families;
 * catalogue.c: the mapping): the family identifiers and the table.
 */
#ifndef RRDD_SOURCE_CATALOGUE_IMPL_H
#define RRDD_SOURCE_CATALOGUE_IMPL_H

#include "source/catalogue.h"

enum cat_id {
	/* host, rrdp-cpu */
	H_CPU,
	H_CPU_AVG,
	H_LOADAVG,
	H_HOSTLOAD,
	H_RUNNING_VCPUS,
	H_RUNNING_DOMAINS,
	/* host, rrdp-squeezed */
	H_MEM_RECLAIMED,
	H_MEM_RECLAIMED_MAX,
	H_MEM_TOTAL,
	H_MEM_FREE,
	/* host, rrdp-netdev */
	H_PIF_RX,
	H_PIF_TX,
	H_PIF_RX_ERR,
	H_PIF_TX_ERR,
	H_PIF_AGGR_RX,
	H_PIF_AGGR_TX,
	/* VM, rrdp-cpu */
	V_CPU,
	V_CPU_USAGE,
	V_RS_FULLRUN,
	V_RS_FULL_CONTENTION,
	V_RS_CONCURRENCY_HAZARD,
	V_RS_BLOCKED,
	V_RS_PARTIAL_RUN,
	V_RS_PARTIAL_CONTENTION,
	V_RUNNABLE_ANY,
	V_RUNNABLE_VCPUS,
	/* VM, rrdp-squeezed */
	V_MEMORY,
	V_MEMORY_TARGET,
	V_MEMORY_INTERNAL_FREE,
	/* VM, rrdp-netdev */
	V_VIF_RX,
	V_VIF_TX,
	V_VIF_RX_ERR,
	V_VIF_TX_ERR,
	/* VM, rrdp-iostat */
	V_VBD_READ,
	V_VBD_WRITE,
	V_VBD_READ_LATENCY,
	V_VBD_WRITE_LATENCY,
	V_VBD_TPUT_READ,
	V_VBD_TPUT_WRITE,
	V_VBD_TPUT_TOTAL,
	V_VBD_IOPS_READ,
	V_VBD_IOPS_WRITE,
	V_VBD_IOPS_TOTAL,
	V_VBD_IOWAIT,
	V_VBD_INFLIGHT,
	V_VBD_LATENCY,
	V_VBD_AVGQU_SZ,
	CAT_COUNT
};

/* The families, by identifier. */
extern const struct src_catdef src_cat_table[CAT_COUNT];

#endif
