/*
 * bench_tick: one whole daemon cycle (dmn_tick: sample the simulated
 * hypervisor, map to data sources, apply under the registry lock, write the
 * wire-format.md §3.6 dumps) for a host of 1024 VMs with 4 vCPUs, 2 VIFs and 2 VBDs
 * each plus dom0 and the host, on the simulated clock.
 *
 *   bench_tick [vms=1024] [ticks=720] [dumps_dir=/dev/shm or /tmp]
 *
 * Prints the CPU time per tick (CLOCK_THREAD_CPUTIME_ID) at p50/p99/max
 * against the 5 ms p99 target, a per-phase breakdown measured the same way
 * by calling the phases one by one (sample, map, apply, dumps), and the
 * process RSS against the RRD ring floor (sum of DSs x rows x 4 bytes; the
 * target is RSS <= 1.2 x floor + 32 MiB).  The first 3 ticks, which create
 * the RRDs, are reported apart.  Not a test: nothing here is judged.
 *
 * Instruction and cache-miss counts (this VM has no hardware counters):
 *   valgrind --tool=callgrind --instr-atstart=no --cache-sim=yes \
 *     bench_tick 1024 5
 * instruments only the phase loop (min(ticks, 100) ticks).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock/clock.h"
#include "daemon/daemon.h"
#include "daemon/dumps.h"
#include "monitor/change.h"
#include "monitor/registry.h"
#include "source/catalogue.h"
#include "source/source.h"
#include "util/buf.h"
#include "util/log.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
	size_t i = (size_t)ceil(p * (double)n) - 1;
	return v[i < n ? i : n - 1];
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static int count_ds(const char *uuid, const struct rrdb *r, void *ctx)
{
	(void)uuid;
	*(size_t *)ctx += r->nds;
	return 0;
}

static char *scenario(unsigned vms)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "seed 3\nepoch 1700000000\nhost cpus=%u memory_mib=%u\n",
	           vms * 4 * 15 / 100 + 8, vms * 2048 + 8192);
	buf_adds(&b, "nic eth0 rx=1e7 tx=5e6\nnic eth1 rx=2e6 tx=1e6\n");
	buf_adds(&b, "vm dom0 uuid=00000000-1111-4000-8000-00000000d000 vcpus=4 memory_mib=4096 "
	             "free_mib=1024 dom0\nload dom0 * 0.05\n");
	for (unsigned i = 0; i < vms; i++) {
		buf_printf(&b,
		           "vm v%u uuid=%08x-2222-4333-8444-%012x vcpus=4 memory_mib=2048 "
		           "free_mib=512\n",
		           i, 0x10000000u + i, i);
		buf_printf(&b, "load v%u * sine:0.1:0.05:%u\n", i, 300 + i % 97);
		for (unsigned k = 0; k < 2; k++) {
			buf_printf(&b, "vif v%u %u rx=%u tx=%u\n", i, k, 1000 + i, 2000 + k);
			buf_printf(&b, "vbd v%u xvd%c read=%u write=4096\n", i, 'a' + k, 8192 + i);
		}
	}
	return (char *)buf_cstr(&b);
}

int main(int argc, char **argv)
{
	unsigned vms = argc > 1 ? (unsigned)atoi(argv[1]) : 1024;
	unsigned ticks = argc > 2 ? (unsigned)atoi(argv[2]) : 720;
	const char *dumps =
	    argc > 3 ? argv[3] : (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	char ddir[512];
	snprintf(ddir, sizeof(ddir), "%s/bench_tick.XXXXXX", dumps);
	if (!mkdtemp(ddir)) {
		perror(ddir);
		return 1;
	}
	log_init("bench_tick", LOG_TO_STDERR, LOG_WARNING);
	char *text = scenario(vms);
	struct src_config sc = {.scenario_text = text};
	struct src *src;
	if (src_open(&src_sim_ops, &sc, &src)) {
		fprintf(stderr, "cannot open the simulated host\n");
		return 1;
	}
	free(text); /* parsed: the daemon keeps no scenario text either */
	struct clk clk;
	clk_init_sim(&clk, 1700000000);
	struct mon_config mc = {.host_uuid = "0f0f0f0f-0000-4000-8000-000000000000"};
	struct mon_registry *reg = mon_registry_new(&mc);
	struct dmn_options opt = {.metrics_dir = ddir, .uid = "bench"};
	struct dmn d;
	dmn_init(&d, &opt, &clk, src, reg);

	long rss0 = rss_kib();
	double warm[3];
	double *t = malloc(sizeof(double) * ticks);
	double *tmin = malloc(sizeof(double) * ticks); /* ticks closing a 1-min row */
	unsigned nmin = 0;
	for (unsigned i = 0; i < 3 + ticks; i++) {
		double now = clk_wall(&clk), c0 = cpu_now();
		dmn_tick(&d, now, NULL, 0);
		double c1 = cpu_now();
		if (i < 3)
			warm[i] = c1 - c0;
		else
			t[i - 3] = c1 - c0;
		if (i >= 3 && (long long)now % 60 < DMN_PERIOD)
			tmin[nmin++] = c1 - c0;
		clk_sleep_until(&clk, clk_mono(&clk) + DMN_PERIOD);
	}
	size_t nrrd, floor_bytes;
	mon_footprint(reg, &nrrd, &floor_bytes);
	long rss = rss_kib();

	/* phase breakdown, the same calls dmn_tick makes */
	enum { PH = 4 };
	const char *names[PH] = {"sample (sim)", "map (catalogue)", "apply (registry)",
	                         "dumps (build+write)"};
	unsigned nph = ticks < 100 ? ticks : 100;
	double *ph[PH];
	for (int k = 0; k < PH; k++)
		ph[k] = malloc(sizeof(double) * nph);
	struct src_snapshot prev = {0}, cur = {0};
	struct src_samples smp = {0};
	struct mon_chunk ch = {0};
	struct dump_state dst = {BUF_INIT, NUM_MEMO_INIT};
	struct mon_resident *res = malloc(sizeof(*res) * (vms + 2));
	src_sample(src, clk_wall(&clk), &prev);
	/* under valgrind --tool=callgrind --instr-atstart=no, only the phase
	 * loop is counted: inclusive costs of src_sample, src_map,
	 * mon_chunk_from_samples, mon_commit (the cycle) and dump_metrics / nph = per tick */
	for (unsigned i = 0; i <= nph; i++) { /* i = 0 warms smp and ch up */
		if (i == 1)
			CALLGRIND_START_INSTRUMENTATION;
		clk_sleep_until(&clk, clk_mono(&clk) + DMN_PERIOD);
		double now = clk_wall(&clk), c[PH + 1];
		c[0] = cpu_now();
		src_snapshot_clear(&cur);
		src_sample(src, now, &cur);
		c[1] = cpu_now();
		src_map(&prev, &cur, &smp);
		mon_chunk_from_samples(&smp, "bench", &ch);
		c[2] = cpu_now();
		size_t nres = 0;
		for (uint32_t j = 0; j < cur.ndom && nres < vms + 2; j++) {
			memcpy(res[nres].uuid, cur.dom[j].uuid, sizeof(res[nres].uuid));
			res[nres++].domid = cur.dom[j].domid;
		}
		const struct mon_chunk *cs[1] = {&ch};
		struct mon_change chg = {
		    .kind = MON_CH_CYCLE,
		    .cycle = {.now = now, .chunks = cs, .nchunks = 1, .res = res, .nres = nres}};
		mon_commit(reg, &chg, 0, NULL);
		c[3] = cpu_now();
		char err[256]; /* as dmn_tick: dump state kept across ticks */
		dump_metrics(reg, ddir, &dst, err, sizeof(err));
		c[4] = cpu_now();
		for (int k = 0; i && k < PH; k++)
			ph[k][i - 1] = c[k + 1] - c[k];
		struct src_snapshot tmp = prev;
		prev = cur;
		cur = tmp;
	}
	CALLGRIND_STOP_INSTRUMENTATION;

	qsort(t, ticks, sizeof(double), dcmp);
	printf("bench_tick: %u VMs x (4 vCPUs, 2 VIFs, 2 VBDs) + dom0 + host, %u ticks "
	       "(%.1f simulated hours)\n",
	       vms, ticks, ticks * DMN_PERIOD / 3600);
	size_t nds = 0;
	mon_rdlock(reg);
	mon_foreach_locked(reg, MON_HOST, count_ds, &nds);
	mon_foreach_locked(reg, MON_VM, count_ds, &nds);
	mon_unlock(reg);
	printf("RRDs %zu holding %zu DSs (each updated every tick)\n", nrrd, nds);
	printf("first ticks (RRD creation): %.2f ms, %.2f ms, %.2f ms\n", warm[0] * 1e3,
	       warm[1] * 1e3, warm[2] * 1e3);
	printf("CPU per tick: p50 %.3f ms  p99 %.3f ms  max %.3f ms   (target p99 <= 5 ms: %s)\n",
	       pct(t, ticks, 0.5) * 1e3, pct(t, ticks, 0.99) * 1e3, t[ticks - 1] * 1e3,
	       pct(t, ticks, 0.99) <= 0.005 ? "met" : "NOT met");
	qsort(tmin, nmin, sizeof(double), dcmp);
	if (nmin)
		printf("  of which the %u ticks that close a 1-minute row: p50 %.3f ms\n", nmin,
		       pct(tmin, nmin, 0.5) * 1e3);
	printf("phases (p50 over %u ticks):", nph);
	for (int k = 0; k < PH; k++) {
		qsort(ph[k], nph, sizeof(double), dcmp);
		printf("  %s %.3f ms", names[k], pct(ph[k], nph, 0.5) * 1e3);
	}
	printf("\n");
	double floor_mib = (double)floor_bytes / 1048576.0, rss_mib = (double)rss / 1024.0;
	printf("memory: RSS %.1f MiB (%.1f MiB before the first tick), ring floor %.1f MiB, "
	       "target <= %.1f MiB: %s (RSS = %.3f x floor)\n",
	       rss_mib, (double)rss0 / 1024.0, floor_mib, 1.2 * floor_mib + 32,
	       rss_mib <= 1.2 * floor_mib + 32 ? "met" : "NOT met", rss_mib / floor_mib);

	for (int k = 0; k < PH; k++)
		free(ph[k]);
	free(res);
	src_snapshot_clear(&prev);
	src_snapshot_clear(&cur);
	src_samples_clear(&smp);
	mon_chunk_clear(&ch);
	dump_state_free(&dst);
	free(t);
	free(tmin);
	dmn_fini(&d);
	mon_registry_free(reg);
	src_close(src);
	char path[600];
	snprintf(path, sizeof(path), "%s/host-metrics.json", ddir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/vm-metrics.json", ddir);
	unlink(path);
	rmdir(ddir);
	return 0;
}
