/*
 * Internal to the simulated hypervisor (sim_scenario.c parses, source_sim.c
 * runs): the scenario model and workload patterns.  Not for other modules;
 * they use source.h and source_sim.h.
 */
#ifndef RRDD_SOURCE_SIM_H
#define RRDD_SOURCE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source/source.h"

#define SIM_MAX_VMS    4096
#define SIM_MAX_VCPUS  128
#define SIM_MAX_DEVS   16
#define SIM_MAX_NICS   32
#define SIM_MAX_EVENTS 100000

enum sim_pat_kind { PAT_CONST, PAT_SINE, PAT_BURSTY };

/* A rate as a function of simulated time s (seconds since the epoch):
 * const a; sine a + b*sin(2*pi*(s/c + d)); bursty: each slot of d seconds is
 * "on" (a) with probability c, else b, drawn from (seed, key, slot). */
struct sim_pat {
	enum sim_pat_kind kind;
	double a, b, c, d;
	uint64_t key;
};

double sim_pat_at(const struct sim_pat *p, uint64_t seed, double s);
double sim_pat_integral(const struct sim_pat *p, uint64_t seed, double s0, double s1);
double sim_pat_max(const struct sim_pat *p);
double sim_pat_min(const struct sim_pat *p);
uint64_t sim_hash(uint64_t x);

struct sim_vif_spec {
	uint32_t devid;
	struct sim_pat rx, tx; /* guest's point of view, B/s */
};

struct sim_vbd_spec {
	char name[SRC_NAME_LEN];
	uint32_t devid;
	struct sim_pat rd, wr; /* B/s */
	double req_bytes;      /* bytes per request */
	double latency_us;     /* wait time per request */
	uint64_t inflight;
};

struct sim_vm {
	char name[32];
	uint8_t handle[16];
	char uuid[SRC_UUID_LEN + 1];
	bool dom0, hvm, runstate, halted;
	uint32_t vcpus, max_vcpus;
	struct sim_pat *load; /* max_vcpus entries, owned: fraction of one vCPU */
	int64_t memory_kib, target_kib, free_kib, dyn_min_kib, dyn_max_kib; /* SRC_NO_VALUE */
	uint32_t nvif, nvbd;
	struct sim_vif_spec *vif; /* nvif (<= SIM_MAX_DEVS) entries, owned */
	struct sim_vbd_spec *vbd; /* nvbd (<= SIM_MAX_DEVS) entries, owned */
};

struct sim_nic {
	char name[SRC_NAME_LEN];
	struct sim_pat rx, tx;
};

enum sim_ev_kind {
	EV_START,
	EV_SHUTDOWN,
	EV_REBOOT,
	EV_PAUSE,
	EV_UNPAUSE,
	EV_VANISH,
	EV_MIGRATE_OUT,
	EV_MIGRATE_IN,
	EV_VCPUS,
	EV_TARGET,
	EV_MEMINFO,
	EV_WRAP,
	/* internal: second halves of migrations */
	EV_MIGRATE_OUT_END,
	EV_MIGRATE_IN_END,
};

struct sim_event {
	double s;
	enum sim_ev_kind kind;
	uint32_t vm;   /* index into scenario vms */
	int64_t arg;   /* vcpus, KiB (SRC_NO_VALUE = off), devid */
	double dur;    /* migrations */
	uint32_t bits; /* wrap width */
};

struct sim_scenario {
	uint64_t seed;
	bool have_epoch;
	double epoch;
	uint32_t cpus;
	int64_t memory_kib;
	uint32_t nvm, nnic, nev;
	struct sim_vm *vm;
	struct sim_nic nic[SIM_MAX_NICS];
	struct sim_event *ev; /* sorted by time, stable */
};

/* Parse scenario text; on error return -EINVAL and a message "line N: ..."
 * in err. */
int sim_scenario_parse(const char *text, struct sim_scenario *sc, char *err, size_t errlen);

/* A scenario of dom0 plus n domUs with workloads drawn from seed. */
void sim_scenario_generate(uint32_t n, uint64_t seed, struct sim_scenario *sc);

void sim_scenario_free(struct sim_scenario *sc);

/* Check the host can carry the worst-case load; 0 or -EINVAL with err. */
int sim_scenario_check(const struct sim_scenario *sc, char *err, size_t errlen);

#endif
