/*
 * bench_engine: speed and memory of the RRD engine (rrd/rrd.h) on a host-sized
 * workload, next to the same workload through rrdtool's librrd in the same run.
 *
 * Workload: 1024 VM RRDs of 25 DSs (rrdb_default_rras(0): 4 AVERAGE RRAs) and
 * one host RRD of 200 DSs (rrdb_default_rras(1): 10 RRAs), one update per RRD
 * every 5 s (unaligned, jittered timestamps as gettimeofday gives), for a few
 * simulated hours.  DS mix per RRD: 40 % DERIVE int64 counters, 60 % GAUGE
 * floats, as a VM's vif/vbd counters and memory/cpu gauges.
 *
 * librrd gets the same workload as one .rrd file per VM (xcp-rrdd's RRA layout)
 * plus the host file, in a tmpfs directory when /dev/shm exists, updated with
 * rrd_update_r; by default only a subset of the VMs runs through librrd (it is
 * ~100x slower) and the figure is per DS update, which scales linearly.
 *
 *   bench_engine [hours] [librrd_vms]     defaults: 3 hours, 64 VMs
 *
 * Memory: heap bytes allocated for all RRDs (mallinfo2 before/after) against
 * the float32 ring floor (774 rows x 4 B per VM DS, 2082 x 4 B per host DS).
 * Not a test: timings are printed with the targets, never judged by ctest.
 */
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include "rrd/rrd.h"

#define NVM        1024
#define VM_DS      25
#define HOST_DS    200
#define STEP       5
#define T0         1700000000.0
#define VM_FLOOR   (774 * 4)
#define HOST_FLOOR (2082 * 4)

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static inline uint64_t rng_next(void)
{
	/* xorshift64: cheap enough not to dominate the engine's own cost */
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* Thread CPU time (user + system): the machine may be shared, and time spent
 * descheduled is not the engine's.  The wall-clock total is printed too. */
static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int is_derive(int ds)
{
	return ds % 5 < 2; /* 40 % */
}

static void make_defs(struct rrdb_ds_def *defs, char (*names)[16], int n)
{
	for (int i = 0; i < n; i++) {
		snprintf(names[i], sizeof names[i], "ds%d", i);
		defs[i] = (struct rrdb_ds_def){
		    .name = names[i],
		    .type = is_derive(i) ? DS_DERIVE : DS_GAUGE,
		    .min = 0,
		    .max = INFINITY,
		    .mrhb = 300,
		    .initial_last = DSVAL_UNKNOWN,
		};
	}
}

/* The tick timestamp of RRD j: 5 s apart, off the grid, a little jitter. */
static double tick_time(int tick, int j)
{
	return T0 + STEP * tick + 0.25 + 0.001 * (double)(j % 97) +
	       0.0001 * (double)(rng_next() % 100);
}

/* Fill n samples: counters advance, gauges wander. */
static void fill_samples(struct rrdb_upd *u, int64_t *counters, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t x = rng_next();
		u[i].ds = (uint32_t)i;
		if (is_derive(i)) {
			counters[i] += (int64_t)(x & 0xfffff);
			u[i].v = DSVAL_INT(counters[i]);
		} else {
			u[i].v = DSVAL_FLT((double)(x >> 40) * (1.0 / 16777216.0));
		}
	}
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

struct engine_result {
	double sec;
	uint64_t updates;
	size_t bytes;
};

static struct engine_result run_engine(int ticks)
{
	struct engine_result res = {0};
	static char vm_names[VM_DS][16], host_names[HOST_DS][16];
	struct rrdb_ds_def vm_defs[VM_DS], host_defs[HOST_DS];
	make_defs(vm_defs, vm_names, VM_DS);
	make_defs(host_defs, host_names, HOST_DS);
	struct rrdb_rra_def vm_rras[RRDB_MAX_DEFAULT_RRAS], host_rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nvm_rra = rrdb_default_rras(0, vm_rras);
	size_t nhost_rra = rrdb_default_rras(1, host_rras);

	size_t before = heap_used();
	struct rrdb **vms = malloc(sizeof(*vms) * NVM);
	size_t ptrs = heap_used() - before;
	for (int v = 0; v < NVM; v++)
		vms[v] = rrdb_new(STEP, T0, vm_rras, nvm_rra, vm_defs, VM_DS);
	struct rrdb *host = rrdb_new(STEP, T0, host_rras, nhost_rra, host_defs, HOST_DS);
	res.bytes = heap_used() - before - ptrs;

	static int64_t vm_ctr[NVM][VM_DS], host_ctr[HOST_DS];
	static struct rrdb_upd vu[NVM][VM_DS], hu[HOST_DS];
	static double vt[NVM + 1];
	uint64_t ignored = 0;
	for (int tick = 1; tick <= ticks; tick++) {
		/* the samples and times of this tick are made outside the timing */
		for (int v = 0; v < NVM; v++) {
			fill_samples(vu[v], vm_ctr[v], VM_DS);
			vt[v] = tick_time(tick, v);
		}
		fill_samples(hu, host_ctr, HOST_DS);
		vt[NVM] = tick_time(tick, NVM);
		double t0 = now_sec();
		for (int v = 0; v < NVM; v++)
			ignored += (uint64_t)rrdb_update(vms[v], vt[v], vu[v], VM_DS, 0);
		ignored += (uint64_t)rrdb_update(host, vt[NVM], hu, HOST_DS, 0);
		res.sec += now_sec() - t0;
	}
	res.updates = (uint64_t)ticks * (NVM * VM_DS + HOST_DS);
	if (ignored)
		fprintf(stderr, "warning: %" PRIu64 " samples ignored\n", ignored);
	/* touch the result so nothing is optimised away */
	double sink = 0;
	for (int v = 0; v < NVM; v++)
		sink += rrdb_query_latest(vms[v], 0) > 0;
	sink += rrdb_query_latest(host, 0) > 0;
	if (sink < 0)
		puts("");
	for (int v = 0; v < NVM; v++)
		rrdb_free(vms[v]);
	rrdb_free(host);
	free(vms);
	return res;
}

/* librrd: create one file with the xcp-rrdd layout. */
static int lib_create(const char *path, int nds, int use_min_max)
{
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nrra = rrdb_default_rras(use_min_max, rras);
	char(*defs)[80] = malloc(sizeof(*defs) * ((size_t)nds + nrra));
	const char **argv = malloc(sizeof(*argv) * ((size_t)nds + nrra));
	int argc = 0;
	for (int i = 0; i < nds; i++) {
		snprintf(defs[argc], sizeof defs[argc], "DS:ds%d:%s:300:0:U", i,
		         is_derive(i) ? "DERIVE" : "GAUGE");
		argv[argc] = defs[argc];
		argc++;
	}
	for (size_t k = 0; k < nrra; k++) {
		/* rrdtool rejects xff 1.0: 0.99 is the nearest it accepts */
		snprintf(defs[argc], sizeof defs[argc], "RRA:%s:%.2f:%u:%u",
		         rrdb_cf_name(rras[k].cf), rras[k].xff >= 1 ? 0.99 : rras[k].xff,
		         rras[k].pdp_cnt, rras[k].rows);
		argv[argc] = defs[argc];
		argc++;
	}
	rrd_clear_error();
	int rc = rrd_create_r(path, STEP, (time_t)T0, argc, argv);
	if (rc != 0)
		fprintf(stderr, "rrd_create_r %s: %s\n", path, rrd_get_error());
	free(defs);
	free(argv);
	return rc;
}

/* Format "t:v:v:..." as a librrd user would. */
static void lib_line(char *buf, size_t cap, double t, const struct rrdb_upd *u, int n)
{
	size_t off = (size_t)snprintf(buf, cap, "%.3f", t);
	for (int i = 0; i < n && off < cap; i++) {
		if (u[i].v.type == VAL_INT64)
			off += (size_t)snprintf(buf + off, cap - off, ":%" PRId64, u[i].v.i);
		else
			off += (size_t)snprintf(buf + off, cap - off, ":%.9g", u[i].v.f);
	}
}

struct lib_result {
	double sec;
	uint64_t updates;
	int ok;
};

static struct lib_result run_librrd(int ticks, int nvm)
{
	struct lib_result res = {0};
	char dir[64];
	struct stat st;
	snprintf(dir, sizeof dir, "%s/rrdd-bench-XXXXXX",
	         stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return res;
	}
	printf("librrd files in %s\n", dir);
	char(*paths)[96] = malloc(sizeof(*paths) * ((size_t)nvm + 1));
	for (int v = 0; v <= nvm; v++) {
		snprintf(paths[v], sizeof paths[v], "%s/%s%d.rrd", dir, v < nvm ? "vm" : "host", v);
		if (lib_create(paths[v], v < nvm ? VM_DS : HOST_DS, v == nvm) != 0)
			goto out;
	}
	static int64_t vm_ctr[NVM][VM_DS], host_ctr[HOST_DS];
	static struct rrdb_upd u[HOST_DS];
	static char line[HOST_DS * 24 + 64];
	const char *argv[1] = {line};
	for (int tick = 1; tick <= ticks; tick++) {
		for (int v = 0; v <= nvm; v++) {
			int n = v < nvm ? VM_DS : HOST_DS;
			fill_samples(u, v < nvm ? vm_ctr[v] : host_ctr, n);
			double t = tick_time(tick, v < nvm ? v : NVM);
			/* timed: formatting the update line is part of using librrd */
			double t0 = now_sec();
			lib_line(line, sizeof line, t, u, n);
			int rc = rrd_update_r(paths[v], NULL, 1, argv);
			res.sec += now_sec() - t0;
			if (rc != 0) {
				fprintf(stderr, "rrd_update_r %s: %s\n", paths[v], rrd_get_error());
				goto out;
			}
		}
	}
	res.updates = (uint64_t)ticks * ((uint64_t)nvm * VM_DS + HOST_DS);
	res.ok = 1;
out:
	for (int v = 0; v <= nvm; v++)
		unlink(paths[v]);
	rmdir(dir);
	free(paths);
	return res;
}

int main(int argc, char **argv)
{
	double hours = argc > 1 ? atof(argv[1]) : 3.0;
	int lib_vms = argc > 2 ? atoi(argv[2]) : 64;
	if (hours <= 0 || lib_vms < 0 || lib_vms > NVM) {
		fprintf(stderr, "usage: bench_engine [hours] [librrd_vms (0..%d)]\n", NVM);
		return 2;
	}
	int ticks = (int)(hours * 3600 / STEP);
	printf("workload: %d VMs x %d DSs + host %d DSs, %d ticks of %d s (%.2f h)\n", NVM, VM_DS,
	       HOST_DS, ticks, STEP, hours);

	double w0 = wall_sec();
	struct engine_result e = run_engine(ticks);
	double e_wall = wall_sec() - w0;
	double e_ns = e.sec * 1e9 / (double)e.updates;
	double floor = (double)NVM * VM_DS * VM_FLOOR + (double)HOST_DS * HOST_FLOOR;
	double nds = (double)NVM * VM_DS + HOST_DS;
	printf("engine: %" PRIu64 " DS updates in %.3f s CPU: %.2f ns per DS update "
	       "(%.1f M/s)  [target <= 25 ns]  (whole engine run incl. setup: %.2f s wall)\n",
	       e.updates, e.sec, e_ns, (double)e.updates / e.sec / 1e6, e_wall);
	printf("memory: %zu bytes for %.0f DSs = %.1f B/DS; float32 ring floor %.1f B/DS; "
	       "ratio %.3f  [target <= 1.1]\n",
	       e.bytes, nds, (double)e.bytes / nds, floor / nds, (double)e.bytes / floor);

	if (lib_vms == 0)
		return 0;
	w0 = wall_sec();
	struct lib_result l = run_librrd(ticks, lib_vms);
	double l_wall = wall_sec() - w0;
	if (!l.ok)
		return 1;
	double l_ns = l.sec * 1e9 / (double)l.updates;
	printf("librrd: %d of %d VMs + host (%s): %" PRIu64
	       " DS updates in %.3f s CPU: %.1f ns per "
	       "DS update%s (%.2f s wall)\n",
	       lib_vms, NVM, lib_vms < NVM ? "subset, scaled per DS update" : "all", l.updates,
	       l.sec, l_ns,
	       lib_vms < NVM ? " (per-update cost does not depend on the VM count)" : "", l_wall);
	printf("ratio: engine is %.1fx faster than librrd per DS update  [target >= 20x]\n",
	       l_ns / e_ns);
	return 0;
}
