/*
 * The datasource catalogue (catalogue.h, wire-format.md §8.2-8.5): names,
 * units, types, ranges, default flags and descriptions as xcp-rrdd's
 * rrdp-cpu, rrdp-netdev, rrdp-squeezed and rrdp-iostat define them, so
 * archives and clients see the same DSs; and the lookups over them.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "source/catalogue_impl.h"

#define INF INFINITY

#define CPU "xcp-rrdd-cpu"
#define NET "xcp-rrdd-netdev"
#define MEM "xcp-rrdd-squeezed"
#define IO  "xcp-rrdd-iostat"
#define H   MON_HOST
#define V   MON_VM
#define D   DS_DERIVE
#define G   DS_GAUGE
#define A   DS_ABSOLUTE
#define I64 VAL_INT64
#define FLT VAL_FLOAT
#define ID  TR_IDENTITY, NULL /* the transform, and no OpenMetrics identity */
#define INV TR_INVERSE, NULL

const struct src_catdef src_cat_table[CAT_COUNT] = {
    [H_CPU] = {{"cpu{}", "Physical cpu usage for cpu {}", "(fraction)", D, FLT, 0, 1, true, INV},
               H,
               CPU},
    [H_CPU_AVG] = {{"cpu_avg", "Average physical cpu usage", "(fraction)", D, FLT, 0, 1, true, INV},
                   H,
                   CPU},
    [H_LOADAVG] = {{"loadavg", "Domain0 loadavg", "(fraction)", G, FLT, -INF, INF, true, ID},
                   H,
                   CPU},
    [H_HOSTLOAD] = {{"hostload",
                     "Host load per physical cpu, where load refers to the number of vCPU(s) in "
                     "running or runnable status.",
                     "(fraction)", G, FLT, 0, INF, true, ID},
                    H,
                    CPU},
    [H_RUNNING_VCPUS] = {{"running_vcpus", "The total number of running vCPUs per host", "count", G,
                          I64, 0, INF, true, ID},
                         H,
                         CPU},
    [H_RUNNING_DOMAINS] = {{"running_domains", "The total number of running domains per host",
                            "count", G, I64, 0, INF, true, ID},
                           H,
                           CPU},
    [H_MEM_RECLAIMED] = {{"memory_reclaimed", "Host memory reclaimed by squeezed", "B", G, I64,
                          -INF, INF, true, ID},
                         H,
                         MEM},
    [H_MEM_RECLAIMED_MAX] = {{"memory_reclaimed_max",
                              "Host memory that could be reclaimed by squeezed", "B", G, I64, -INF,
                              INF, true, ID},
                             H,
                             MEM},
    [H_MEM_TOTAL] = {{"memory_total_kib", "Total amount of memory in the host", "KiB", G, I64, 0,
                      INF, true, ID},
                     H,
                     MEM},
    [H_MEM_FREE] = {{"memory_free_kib", "Total amount of free memory", "KiB", G, I64, 0, INF, true,
                     ID},
                    H,
                    MEM},
    [H_PIF_RX] = {{"pif_{}_rx", "Bytes per second received on physical interface {}", "B/s", D, I64,
                   0, INF, true, ID},
                  H,
                  NET},
    [H_PIF_TX] = {{"pif_{}_tx", "Bytes per second sent on physical interface {}", "B/s", D, I64, 0,
                   INF, true, ID},
                  H,
                  NET},
    [H_PIF_RX_ERR] = {{"pif_{}_rx_errors", "Receive errors per second on physical interface {}",
                       "err/s", D, I64, 0, INF, false, ID},
                      H,
                      NET},
    [H_PIF_TX_ERR] = {{"pif_{}_tx_errors", "Transmit errors per second on physical interface {}",
                       "err/s", D, I64, 0, INF, false, ID},
                      H,
                      NET},
    [H_PIF_AGGR_RX] = {{"pif_aggr_rx", "Bytes per second received on all physical interfaces",
                        "B/s", D, I64, 0, INF, true, ID},
                       H,
                       NET},
    [H_PIF_AGGR_TX] = {{"pif_aggr_tx", "Bytes per second sent on all physical interfaces", "B/s", D,
                        I64, 0, INF, true, ID},
                       H,
                       NET},
    /* rrdp-iostat's SR aggregates: "{}" is the first 8 characters of the SR uuid */
    [H_SR_READ] = {{"read_{}", "Reads from device SR, in B/s", "B/s", D, I64, 0, INF, true, ID},
                   H,
                   IO},
    [H_SR_WRITE] = {{"write_{}", "Writes from device SR, in B/s", "B/s", D, I64, 0, INF, true, ID},
                    H,
                    IO},
    [H_SR_READ_LATENCY] = {{"read_latency_{}", "Read latency from device SR, in microseconds",
                            "\u03bcs", G, I64, 0, INF, true, ID},
                           H,
                           IO},
    [H_SR_WRITE_LATENCY] = {{"write_latency_{}", "Write latency from device SR, in microseconds",
                             "\u03bcs", G, I64, 0, INF, true, ID},
                            H,
                            IO},
    [H_SR_TPUT_READ] = {{"io_throughput_read_{}", "Data read from the SR, in MiB/s", "MiB/s", A,
                         FLT, 0, INF, true, ID},
                        H,
                        IO},
    [H_SR_TPUT_WRITE] = {{"io_throughput_write_{}", "Data written to the SR, in MiB/s", "MiB/s", A,
                          FLT, 0, INF, true, ID},
                         H,
                         IO},
    [H_SR_TPUT_TOTAL] = {{"io_throughput_total_{}", "All SR I/O, in MiB/s", "MiB/s", A, FLT, 0, INF,
                          true, ID},
                         H,
                         IO},
    [H_SR_IOPS_READ] = {{"iops_read_{}", "Read requests per second", "requests/s", A, I64, 0, INF,
                         true, ID},
                        H,
                        IO},
    [H_SR_IOPS_WRITE] = {{"iops_write_{}", "Write requests per second", "requests/s", A, I64, 0,
                          INF, true, ID},
                         H,
                         IO},
    [H_SR_IOPS_TOTAL] = {{"iops_total_{}", "I/O Requests per second", "requests/s", A, I64, 0, INF,
                          true, ID},
                         H,
                         IO},
    [H_SR_IOWAIT] = {{"iowait_{}", "Total I/O wait time (all requests) per second", "s/s", A, FLT,
                      0, INF, true, ID},
                     H,
                     IO},
    [H_SR_INFLIGHT] = {{"inflight_{}", "Number of I/O requests currently in flight", "requests", G,
                        I64, 0, INF, true, ID},
                       H,
                       IO},
    [H_SR_LATENCY] = {{"latency_{}", "Average I/O latency", "\u03bcs", G, FLT, 0, INF, true, ID},
                      H,
                      IO},
    [H_SR_AVGQU_SZ] =
        {{"avgqu_sz_{}", "Average I/O queue size", "requests", G, FLT, 0, INF, true, ID}, H, IO},
    [H_TD3_LOW_MEM] = {{"Tapdisks_in_low_memory_mode", "Number of tapdisks in low memory mode",
                        "count", A, I64, 0, INF, true, ID},
                       H,
                       IO},
    [V_CPU] = {{"cpu{}", "CPU{} usage", "(fraction)", D, FLT, 0, 1, true, ID}, V, CPU},
    [V_CPU_USAGE] = {{"cpu_usage", "Domain CPU usage", "(fraction)", D, FLT, 0, 1, true, ID},
                     V,
                     CPU},
    [V_RS_FULLRUN] = {{"runstate_fullrun", "Fraction of time that all vCPUs are running",
                       "(fraction)", D, FLT, 0, 1, false, ID},
                      V,
                      CPU},
    [V_RS_FULL_CONTENTION] =
        {{"runstate_full_contention",
          "Fraction of time that all vCPUs are runnable (i.e., waiting for CPU)", "(fraction)", D,
          FLT, 0, 1, false, ID},
         V,
         CPU},
    [V_RS_CONCURRENCY_HAZARD] =
        {{"runstate_concurrency_hazard",
          "Fraction of time that some vCPUs are running and some are runnable", "(fraction)", D,
          FLT, 0, 1, false, ID},
         V,
         CPU},
    [V_RS_BLOCKED] = {{"runstate_blocked", "Fraction of time that all vCPUs are blocked or offline",
                       "(fraction)", D, FLT, 0, 1, false, ID},
                      V,
                      CPU},
    [V_RS_PARTIAL_RUN] = {{"runstate_partial_run",
                           "Fraction of time that some vCPUs are running and some are blocked",
                           "(fraction)", D, FLT, 0, 1, false, ID},
                          V,
                          CPU},
    [V_RS_PARTIAL_CONTENTION] =
        {{"runstate_partial_contention",
          "Fraction of time that some vCPUs are runnable and some are blocked", "(fraction)", D,
          FLT, 0, 1, false, ID},
         V,
         CPU},
    [V_RUNNABLE_ANY] = {{"runnable_any",
                         "Fraction of time that at least one vCPU is runnable in the domain",
                         "(fraction)", D, FLT, 0, 1, false, ID},
                        V,
                        CPU},
    [V_RUNNABLE_VCPUS] = {{"runnable_vcpus",
                           "Fraction of time that vCPUs of the domain are runnable", "(fraction)",
                           D, FLT, 0, 1, false, ID},
                          V,
                          CPU},
    [V_MEMORY] = {{"memory", "Memory currently allocated to VM", "B", G, I64, 0, INF, true, ID},
                  V,
                  MEM},
    [V_MEMORY_TARGET] =
        {{"memory_target", "Target of VM balloon driver", "B", G, I64, 0, INF, true, ID}, V, MEM},
    [V_MEMORY_INTERNAL_FREE] = {{"memory_internal_free",
                                 "Memory used as reported by the guest agent", "KiB", G, I64, 0,
                                 INF, true, ID},
                                V,
                                MEM},
    [V_VIF_RX] = {{"vif_{}_rx", "Bytes per second received on virtual interface number '{}'", "B/s",
                   D, I64, 0, INF, true, ID},
                  V,
                  NET},
    [V_VIF_TX] = {{"vif_{}_tx", "Bytes per second transmitted on virtual interface number '{}'",
                   "B/s", D, I64, 0, INF, true, ID},
                  V,
                  NET},
    [V_VIF_RX_ERR] = {{"vif_{}_rx_errors",
                       "Receive errors per second on virtual interface number '{}'", "err/s", D,
                       I64, 0, INF, false, ID},
                      V,
                      NET},
    [V_VIF_TX_ERR] = {{"vif_{}_tx_errors",
                       "Transmit errors per second on virtual interface number '{}'", "err/s", D,
                       I64, 0, INF, false, ID},
                      V,
                      NET},
    [V_VBD_READ] =
        {{"vbd_{}_read", "Reads from device VDI, in B/s", "B/s", D, I64, 0, INF, true, ID}, V, IO},
    [V_VBD_WRITE] = {{"vbd_{}_write", "Writes from device VDI, in B/s", "B/s", D, I64, 0, INF, true,
                      ID},
                     V,
                     IO},
    [V_VBD_READ_LATENCY] = {{"vbd_{}_read_latency", "Read latency from device VDI, in microseconds",
                             "\u03bcs", G, I64, 0, INF, true, ID},
                            V,
                            IO},
    [V_VBD_WRITE_LATENCY] = {{"vbd_{}_write_latency",
                              "Write latency from device VDI, in microseconds", "\u03bcs", G, I64,
                              0, INF, true, ID},
                             V,
                             IO},
    [V_VBD_TPUT_READ] = {{"vbd_{}_io_throughput_read", "Data read from the VDI, in MiB/s", "MiB/s",
                          A, FLT, 0, INF, true, ID},
                         V,
                         IO},
    [V_VBD_TPUT_WRITE] = {{"vbd_{}_io_throughput_write", "Data written to the VDI, in MiB/s",
                           "MiB/s", A, FLT, 0, INF, true, ID},
                          V,
                          IO},
    [V_VBD_TPUT_TOTAL] = {{"vbd_{}_io_throughput_total", "All VDI I/O, in MiB/s", "MiB/s", A, FLT,
                           0, INF, true, ID},
                          V,
                          IO},
    [V_VBD_IOPS_READ] = {{"vbd_{}_iops_read", "Read requests per second", "requests/s", A, I64, 0,
                          INF, true, ID},
                         V,
                         IO},
    [V_VBD_IOPS_WRITE] = {{"vbd_{}_iops_write", "Write requests per second", "requests/s", A, I64,
                           0, INF, true, ID},
                          V,
                          IO},
    [V_VBD_IOPS_TOTAL] = {{"vbd_{}_iops_total", "I/O Requests per second", "requests/s", A, I64, 0,
                           INF, true, ID},
                          V,
                          IO},
    [V_VBD_IOWAIT] = {{"vbd_{}_iowait", "Total I/O wait time (all requests) per second", "s/s", A,
                       FLT, 0, INF, true, ID},
                      V,
                      IO},
    [V_VBD_INFLIGHT] = {{"vbd_{}_inflight", "Number of I/O requests currently in flight",
                         "requests", G, I64, 0, INF, true, ID},
                        V,
                        IO},
    [V_VBD_LATENCY] =
        {{"vbd_{}_latency", "Average I/O latency", "\u03bcs", G, FLT, 0, INF, true, ID}, V, IO},
    [V_VBD_AVGQU_SZ] = {{"vbd_{}_avgqu_sz", "Average I/O queue size", "requests", G, FLT, 0, INF,
                         true, ID},
                        V,
                        IO},
};

const struct src_catdef *src_catalogue(size_t *n)
{
	*n = CAT_COUNT;
	return src_cat_table;
}

/* Does name match pattern, where "{}" matches one or more characters? */
static bool pattern_match(const char *pat, const char *name)
{
	const char *br = strstr(pat, "{}");
	if (!br)
		return strcmp(pat, name) == 0;
	size_t pre = (size_t)(br - pat), post = strlen(br + 2), n = strlen(name);
	return n > pre + post && strncmp(pat, name, pre) == 0 &&
	       strcmp(name + n - post, br + 2) == 0;
}

const struct src_catdef *src_catalogue_match(enum mon_owner_kind owner, const char *name)
{
	/* Several families can match ("vbd_xvda_io_throughput_write" fits both
	 * "vbd_{}_write" and "vbd_{}_io_throughput_write"; "cpu_avg" fits
	 * "cpu{}"): the one with the most literal characters wins, a family
	 * without parameter above all. */
	const struct src_catdef *best = NULL;
	size_t best_len = 0;
	for (int i = 0; i < CAT_COUNT; i++) {
		if (src_cat_table[i].owner != owner ||
		    !pattern_match(src_cat_table[i].d.name, name))
			continue;
		size_t len = strstr(src_cat_table[i].d.name, "{}")
		                 ? strlen(src_cat_table[i].d.name) - 2
		                 : SIZE_MAX;
		if (!best || len > best_len) {
			best = &src_cat_table[i];
			best_len = len;
		}
	}
	return best;
}

bool src_is_pif(const char *name)
{
	return (strncmp(name, "eth", 3) == 0 || strncmp(name, "bond", 4) == 0) &&
	       strchr(name, '.') == NULL;
}
