/*
 * bench_journal: what the write-ahead journal costs per cycle on the
 * simulated host the daemon generates (`rrdd --source sim --sim-domains N`):
 * the daemon's cycle (dmn_tick) run with a store journaling into a
 * temporary state directory, then the same number of cycles without a
 * journal, then recovery (the journal replayed into a fresh registry).
 *
 *   bench_journal [vms=1024] [cycles=120] [dir=/tmp] [stream_every=12]
 *
 * Prints the journal bytes per cycle and per hour (720 cycles), the thread
 * CPU spent encoding, deflating and appending each cycle's record
 * (store_dur_stats.tick_cpu_seconds) against the whole cycle's CPU, and the
 * replay time per cycle; it also checks that the replayed registry is the
 * same as the live one (entry images compared byte for byte) and says so.
 * fsync as the daemon's default (every 5 s of cycle time, i.e. every cycle).
 * Not a test: nothing here is judged.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock/clock.h"
#include "daemon/daemon.h"
#include "monitor/registry.h"
#include "store/entryimg.h"
#include "source/source.h"
#include "store/durable.h"
#include "util/buf.h"
#include "util/log.h"

#define HOST_UUID "0f0f0f0f-0000-4000-8000-000000000000"

/* store_dur_options.stream_every of the journaled run (0: the default) */
static uint32_t stream_every;

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run cycles of the daemon over a fresh registry; with state_dir, through
 * a journaling store left open in *dur_out (registry in *reg_out).
 * Returns the CPU seconds of all cycles. */
static double run(unsigned vms, unsigned cycles, const char *state_dir, struct store_dur **dur_out,
                  struct mon_registry **reg_out)
{
	struct src_config sc = {.sim_domains = vms, .sim_seed = 1};
	struct src *src;
	if (src_open(&src_sim_ops, &sc, &src)) {
		fprintf(stderr, "cannot open the simulated host\n");
		exit(1);
	}
	struct clk clk;
	clk_init_sim(&clk, 1700000000);
	struct mon_config mc = {.host_uuid = HOST_UUID};
	struct mon_registry *reg = mon_registry_new(&mc);
	struct store_dur *dur = NULL;
	if (state_dir) {
		struct store_dur_options so = {.state_dir = state_dir,
		                               .host_uuid = HOST_UUID,
		                               .fsync_interval = STORE_DUR_DEFAULT_FSYNC,
		                               .checkpoint_interval = 0,
		                               .stream_every = stream_every};
		store_dur_open(&so, reg, &dur, NULL);
	}
	struct dmn_options opt = {.uid = "bench", .dur = dur};
	struct dmn d;
	dmn_init(&d, &opt, &clk, src, reg);
	double cpu = 0;
	for (unsigned i = 0; i < cycles; i++) {
		double c0 = cpu_now();
		dmn_tick(&d, clk_wall(&clk), NULL, 0);
		cpu += cpu_now() - c0;
		clk_sleep_until(&clk, clk_mono(&clk) + DMN_PERIOD);
	}
	dmn_fini(&d);
	src_close(src);
	*dur_out = dur;
	*reg_out = reg;
	return cpu;
}

static void rm_state(const char *dir)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	stream_every = argc > 4 ? (uint32_t)atoi(argv[4]) : 0;
	unsigned vms = argc > 1 ? (unsigned)atoi(argv[1]) : 1024;
	unsigned cycles = argc > 2 ? (unsigned)atoi(argv[2]) : 120;
	const char *base = argc > 3 ? argv[3] : "/tmp";
	if (cycles < 2)
		cycles = 2;
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/bench_journal.XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	log_init("bench_journal", LOG_TO_STDERR, LOG_WARNING);

	struct store_dur *dur;
	struct mon_registry *reg;
	double cpu_j = run(vms, cycles, dir, &dur, &reg);
	struct store_dur_stats st;
	store_dur_get_stats(dur, &st);
	store_dur_close(dur); /* no checkpoint: the next open replays everything */

	struct store_dur *none;
	struct mon_registry *reg0;
	double cpu_0 = run(vms, cycles, NULL, &none, &reg0);
	mon_registry_free(reg0);

	struct mon_config mc = {.host_uuid = HOST_UUID};
	struct mon_registry *reg2 = mon_registry_new(&mc);
	struct store_dur_options so = {.state_dir = dir, .host_uuid = HOST_UUID};
	struct store_dur_recovery rec;
	double w0 = wall_now(), c0 = cpu_now();
	store_dur_open(&so, reg2, &dur, &rec);
	double replay = wall_now() - w0, replay_cpu = cpu_now() - c0;
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t na = store_save_all(reg, &a), nb = store_save_all(reg2, &b);
	bool same = na == nb && a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
	store_dur_close(dur);

	double per = (double)st.tick_bytes / (double)st.tick_records;
	printf("bench_journal: %u VMs (rrdd --source sim --sim-domains %u), %u cycles, state in "
	       "%s\n",
	       vms, vms, cycles, base);
	printf("journal: %llu cycle records, %.1f KB per cycle, %.1f MB per hour (720 cycles)\n",
	       (unsigned long long)st.tick_records, per / 1e3, per * 720 / 1e6);
	printf("journaling CPU per cycle: %.3f ms (encode + deflate + append + fsync call); "
	       "whole cycle %.3f ms with the journal, %.3f ms without\n",
	       st.tick_cpu_seconds / (double)st.tick_records * 1e3, cpu_j / cycles * 1e3,
	       cpu_0 / cycles * 1e3);
	printf("recovery: %llu records, %.1f MB, %.3f s wall, %.3f s CPU (%.2f ms CPU per cycle); "
	       "replayed registry %s the live one (%zu entries, %zu bytes of images)\n",
	       (unsigned long long)rec.records, (double)rec.bytes / 1e6, replay, replay_cpu,
	       replay_cpu / (double)(rec.ticks ? rec.ticks : 1) * 1e3,
	       same ? "identical to" : "DIFFERS from", na, a.len);
	buf_free(&a);
	buf_free(&b);
	mon_registry_free(reg);
	mon_registry_free(reg2);
	rm_state(dir);
	return same ? 0 : 1;
}
