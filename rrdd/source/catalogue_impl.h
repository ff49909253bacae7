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
	/* host, rrdp-iostat: each SR's VBDs together, "<key>_<sr[0..7]>" */
	H_SR_READ,
	H_SR_WRITE,
	H_SR_READ_LATENCY,
	H_SR_WRITE_LATENCY,
	H_SR_TPUT_READ,
	H_SR_TPUT_WRITE,
	H_SR_TPUT_TOTAL,
	H_SR_IOPS_READ,
	H_SR_IOPS_WRITE,
	H_SR_IOPS_TOTAL,
	H_SR_IOWAIT,
	H_SR_INFLIGHT,
	H_SR_LATENCY,
	H_SR_AVGQU_SZ,
	H_TD3_LOW_MEM,
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

/* ---- VBD figures (catalogue_io.c) ---- */

/* What xcp-rrdd's iostat collector derives for one VBD from its sample b
 * and the previous sample pb of the same device (NULL: none). */
struct cat_vbd_fig {
	bool counters; /* rd_bytes, wr_bytes known */
	bool rates;    /* the per-interval figures known (a usable pb) */
	bool ticks;    /* wait-time figures exist (tapdisk3, the simulator) */
	uint64_t rd_bytes, wr_bytes;
	uint64_t d_rd_bytes, d_wr_bytes; /* this interval */
	double mr, mw;                   /* MiB this interval */
	uint64_t dr, dw;                 /* requests completed this interval */
	uint64_t rlat, wlat;             /* microseconds per request (integer division) */
	double wait, lat, qu;            /* s waited, us per request, mean queue (NaN: dt <= 0) */
	uint64_t inflight;
};

void cat_vbd_figures(const struct src_vbd *b, const struct src_vbd *pb, double dt,
                     struct cat_vbd_fig *f);

#define CAT_MAX_SRS 256 /* SRs given aggregates; more are left out */

/* One SR's aggregates: sums (maxima for latency and queue size) over its
 * VBDs' figures of this map; the byte counters run on across maps. */
struct cat_sr {
	char key[9]; /* the first 8 characters of the SR uuid */
	uint64_t gen;
	uint64_t rd_bytes, wr_bytes; /* running: the sum of the VBDs' increments */
	bool rates, ticks;
	double mr, mw, wait, lat, qu;
	uint64_t dr, dw, rlat, wlat, inflight;
};

struct cat_srs {
	uint32_t n, cap;
	struct cat_sr *v;
};

/* The aggregates of the SR (uuid) for map gen, their per-map figures reset
 * on its first use in gen; NULL when CAT_MAX_SRS others are kept. */
struct cat_sr *cat_sr_get(struct cat_srs *s, const char *sr, uint64_t gen);

/* Add one VBD's figures. */
void cat_sr_add(struct cat_sr *a, const struct cat_vbd_fig *f);

/* Forget the SRs no map since gen - 1 used. */
void cat_srs_evict(struct cat_srs *s, uint64_t gen);

#endif
