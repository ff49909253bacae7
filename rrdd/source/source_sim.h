/*
 * The simulated hypervisor's extra interface, for tests and --sim: the
 * "known truth" a scenario drives (the exact load of each vCPU, the traffic
 * of each device) computed from the workload definition, independently of
 * the counters the sim reports.  Opened like any source with src_sim_ops
 * (source.h); these functions take that struct src.  Scenario format:
 * docs/sim-scenario.md and the comment at the top of sim_scenario.c.
 */
#ifndef RRDD_SOURCE_SOURCE_SIM_H
#define RRDD_SOURCE_SOURCE_SIM_H

#include <stdint.h>

#include "source/source.h"

/* The message of the last scenario error of src_sim_ops.open in this thread
 * ("line 3: unknown vm 'web'"), or "". */
const char *src_sim_last_error(void);

/* The uuid of the scenario VM called name, or NULL (s is not a sim, or no
 * such VM). */
const char *src_sim_uuid(const struct src *s, const char *name);

/* The sim time origin: absolute time of scenario time 0 (known after the
 * first sample unless the scenario sets "epoch"); NaN before. */
double src_sim_epoch(const struct src *s);

/* Mean fraction of one vCPU that vCPU vcpu of VM name was driven at over
 * [t0, t1] (absolute times), from its workload pattern, while it ran (the
 * caller picks an interval without lifecycle events).  0 or -ENOENT. */
int src_sim_truth_vcpu(const struct src *s, const char *name, uint32_t vcpu, double t0, double t1,
                       double *fraction);

/* Mean traffic of a VIF over [t0, t1], in B/s, from the guest's point of
 * view (what xcp-rrdd's vif_<devid>_rx/_tx should show).  0 or -ENOENT. */
int src_sim_truth_vif(const struct src *s, const char *name, uint32_t devid, double t0, double t1,
                      double *rx_bps, double *tx_bps);

/* Mean read and write rate of a VBD over [t0, t1], in B/s.  0 or -ENOENT. */
int src_sim_truth_vbd(const struct src *s, const char *name, const char *dev, double t0, double t1,
                      double *rd_bps, double *wr_bps);

/* Mean rate of a host NIC over [t0, t1], in B/s.  0 or -ENOENT. */
int src_sim_truth_nic(const struct src *s, const char *nic, double t0, double t1, double *rx_bps,
                      double *tx_bps);

#endif
