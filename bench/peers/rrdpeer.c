/*
 * Peer driver of the benchmark suite (bench/suite.py builds it with gcc
 * against the build's librrdd_core.a; it is not a CMake target and not part
 * of ctest).  It feeds the same values, VM by VM and tick by tick, to
 *   - our RRD engine (rrdb_update on in-memory RRDs, xcp-rrdd VM RRAs),
 *   - librrd in-process (rrd_update_r, one .rrd file per VM in a tmpfs dir),
 *   - rrdcached over a Unix socket (librrd's client, rrdc_update per file per
 *     tick, then rrdc_flush of every file), whose CPU it reads from /proc/<pid>/stat,
 * and prints one JSON object with the CPU and wall time of each.  Files are
 * created outside the timed parts.  It must not judge the figures (the suite
 * does) and never deletes anything outside the directory it is given.
 *
 * usage: rrdpeer VMS DS TICKS DIR [RRDCACHED_SOCKET RRDCACHED_PID [LIBRRD_VMS [noflush]]]
 * (noflush: leave the updates in rrdcached's cache and journal, for the
 * suite's kill -9 recovery measurement)
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>
#include <rrd_client.h>

#include "rrd/rrd.h"

#define STEP 5
#define T0   1700000000.0

static int is_derive(int i)
{
	return i % 5 < 2; /* 40 % counters (vCPU, VIF, VBD), 60 % gauges */
}

/* Deterministic value of (vm, ds) at a tick: the same for every consumer. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static struct dsval value_at(int tick, int vm, int ds)
{
	uint64_t h = mix(((uint64_t)vm << 40) ^ ((uint64_t)ds << 24) ^ (uint64_t)tick);
	if (is_derive(ds)) /* a counter growing by up to 1 MiB per tick */
		return DSVAL_INT((int64_t)tick * 524288 + (int64_t)(h & 0xfffff));
	return DSVAL_FLT((double)(h >> 40) * (1.0 / 16777216.0));
}

static double tick_time(int tick)
{
	return T0 + STEP * (double)tick + 0.25;
}

static double cpu_self(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* utime + stime of another process, seconds (-1 if unreadable). */
static double cpu_of(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	unsigned long ut = 0, st = 0;
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int lib_create(const char *path, int nds)
{
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nrra = rrdb_default_rras(0, rras);
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

/* "t:v:v:..." as a librrd user would format it. */
static void lib_line(char *buf, size_t cap, int tick, int vm, int nds)
{
	size_t off = (size_t)snprintf(buf, cap, "%.3f", tick_time(tick));
	for (int i = 0; i < nds && off < cap; i++) {
		struct dsval v = value_at(tick, vm, i);
		if (v.type == VAL_INT64)
			off += (size_t)snprintf(buf + off, cap - off, ":%" PRId64, v.i);
		else
			off += (size_t)snprintf(buf + off, cap - off, ":%.9g", v.f);
	}
}

struct res {
	double cpu, wall, peer_cpu, flush_wall, flush_peer_cpu;
	uint64_t values;
};

static struct res run_engine(int nvm, int nds, int ticks)
{
	struct res r = {0};
	char(*names)[16] = malloc(sizeof(*names) * (size_t)nds);
	struct rrdb_ds_def *defs = malloc(sizeof(*defs) * (size_t)nds);
	for (int i = 0; i < nds; i++) {
		snprintf(names[i], sizeof names[i], "ds%d", i);
		defs[i] = (struct rrdb_ds_def){.name = names[i],
		                               .type = is_derive(i) ? DS_DERIVE : DS_GAUGE,
		                               .min = 0,
		                               .max = INFINITY,
		                               .mrhb = 300,
		                               .initial_last = DSVAL_UNKNOWN};
	}
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nrra = rrdb_default_rras(0, rras);
	struct rrdb **rr = malloc(sizeof(*rr) * (size_t)nvm);
	for (int v = 0; v < nvm; v++)
		rr[v] = rrdb_new(STEP, T0, rras, nrra, defs, (size_t)nds);
	struct rrdb_upd *u = malloc(sizeof(*u) * (size_t)nvm * (size_t)nds);
	for (int t = 1; t <= ticks; t++) {
		for (int v = 0; v < nvm; v++)
			for (int i = 0; i < nds; i++)
				u[(size_t)v * nds + i] =
				    (struct rrdb_upd){(uint32_t)i, value_at(t, v, i)};
		double c0 = cpu_self(), w0 = wall();
		for (int v = 0; v < nvm; v++)
			rrdb_update(rr[v], tick_time(t), u + (size_t)v * nds, (size_t)nds, 0);
		r.cpu += cpu_self() - c0;
		r.wall += wall() - w0;
	}
	r.values = (uint64_t)ticks * (uint64_t)nvm * (uint64_t)nds;
	for (int v = 0; v < nvm; v++)
		rrdb_free(rr[v]);
	free(rr);
	free(u);
	free(defs);
	free(names);
	return r;
}

/* librrd in-process (daemon == NULL) or through rrdcached. */
static int run_files(const char *dir, int nvm, int nds, int ticks, const char *daemon, long pid,
                     int flush, struct res *r)
{
	memset(r, 0, sizeof(*r));
	char(*paths)[512] = malloc(sizeof(*paths) * (size_t)nvm);
	for (int v = 0; v < nvm; v++) {
		snprintf(paths[v], sizeof paths[v], "%s/%s%d.rrd", dir, daemon ? "c" : "l", v);
		if (lib_create(paths[v], nds) != 0)
			return -1;
	}
	if (daemon && rrdc_connect(daemon) != 0) {
		fprintf(stderr, "rrdc_connect %s: %s\n", daemon, rrd_get_error());
		return -1;
	}
	size_t cap = (size_t)nds * 32 + 64;
	char *line = malloc(cap);
	double p0 = daemon ? cpu_of(pid) : 0;
	double c0 = cpu_self(), w0 = wall();
	for (int t = 1; t <= ticks; t++) {
		for (int v = 0; v < nvm; v++) {
			lib_line(line, cap, t, v, nds);
			const char *argv[1] = {line};
			rrd_clear_error();
			int rc = daemon ? rrdc_update(paths[v], 1, argv)
			                : rrd_update_r(paths[v], NULL, 1, argv);
			if (rc != 0) {
				fprintf(stderr, "update %s: %s\n", paths[v], rrd_get_error());
				return -1;
			}
		}
	}
	r->cpu = cpu_self() - c0;
	r->wall = wall() - w0;
	r->values = (uint64_t)ticks * (uint64_t)nvm * (uint64_t)nds;
	double p1 = daemon ? cpu_of(pid) : 0;
	r->peer_cpu = p1 - p0;
	if (daemon && flush) {
		double f0 = wall();
		/* FLUSH per file waits until the file is written (FLUSHALL only
		 * queues the work, and librrd 1.7.2 has no client call for it) */
		for (int v = 0; v < nvm; v++)
			if (rrdc_flush(paths[v]) != 0)
				fprintf(stderr, "rrdc_flush %s: %s\n", paths[v], rrd_get_error());
		r->flush_wall = wall() - f0;
		r->flush_peer_cpu = cpu_of(pid) - p1;
	}
	if (daemon)
		rrdc_disconnect();
	free(line);
	free(paths);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr,
		        "usage: rrdpeer VMS DS TICKS DIR [SOCKET PID [LIBRRD_VMS [noflush]]]\n");
		return 2;
	}
	int nvm = atoi(argv[1]), nds = atoi(argv[2]), ticks = atoi(argv[3]);
	const char *dir = argv[4];
	const char *sock = argc > 6 ? argv[5] : NULL;
	long pid = argc > 6 ? atol(argv[6]) : 0;
	int lib_vms = argc > 7 ? atoi(argv[7]) : nvm;
	int flush = !(argc > 8 && strcmp(argv[8], "noflush") == 0);
	if (nvm <= 0 || nds <= 0 || ticks <= 0 || lib_vms < 0 || lib_vms > nvm) {
		fprintf(stderr, "rrdpeer: bad arguments\n");
		return 2;
	}
	struct res e = run_engine(nvm, nds, ticks), l = {0}, c = {0};
	if (lib_vms > 0 && run_files(dir, lib_vms, nds, ticks, NULL, 0, 1, &l) != 0)
		return 1;
	char daemon[600];
	if (sock) {
		snprintf(daemon, sizeof(daemon), "unix:%s", sock);
		if (run_files(dir, nvm, nds, ticks, daemon, pid, flush, &c) != 0)
			return 1;
	}
	printf("{\"vms\":%d,\"ds\":%d,\"ticks\":%d,\"values\":%" PRIu64 ","
	       "\"engine\":{\"cpu\":%.6f,\"wall\":%.6f},"
	       "\"librrd\":{\"vms\":%d,\"values\":%" PRIu64 ",\"cpu\":%.6f,\"wall\":%.6f},"
	       "\"rrdcached\":{\"values\":%" PRIu64 ",\"client_cpu\":%.6f,\"wall\":%.6f,"
	       "\"daemon_cpu\":%.6f,\"flush_wall\":%.6f,\"flush_daemon_cpu\":%.6f}}\n",
	       nvm, nds, ticks, e.values, e.cpu, e.wall, lib_vms, l.values, l.cpu, l.wall, c.values,
	       c.cpu, c.wall, c.peer_cpu, c.flush_wall, c.flush_peer_cpu);
	return 0;
}
