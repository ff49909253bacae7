/*
 * rrdp-om-demo: the same three metrics through xcp-metrics' protocols with
 * librrdd-plugin, as a plugin written for xcp-metrics would send them:
 *   <prefix>load   gauge float, 0.75                  (host)
 *   <prefix>bytes  counter int64, +5000 per sample    (host; rate 1000/s at 5 s)
 *   <prefix>mem    gauge int64 "B", 2048 MiB          (each --vm UUID)
 *
 *   rrdp-om-demo --protocol 3 [--dir DIR] [--socket PATH] [--uid UID] ...
 *       a v3 page (OpenMetrics protobuf) in DIR/UID, registered with
 *       Plugin.Metrics.register, published before each of the daemon's
 *       readings
 *   rrdp-om-demo --protocol 4 [--metrics-socket PATH] ...
 *       the v4 socket: CreateFamily, then UpdateMetric every --interval
 *       seconds (default 5); the metrics go when the program exits
 *
 * Common options: --prefix P (default "om_demo_"), --vm UUID (repeatable),
 * --ticks N (stop after N samples; default: until SIGTERM/SIGINT).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rrdd/plugin.h"

#define MAX_VMS 16

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int fail(const char *what)
{
	fprintf(stderr, "rrdp-om-demo: %s: %s\n", what, rrdp_error_message());
	return 1;
}

static int run_v3(const char *dir, const char *sock, const char *uid, const char *prefix,
                  const char **vms, int nvm, long ticks)
{
	struct rrdp_options o = {.dir = dir, .socket_path = sock};
	struct rrdp_plugin *p;
	if (rrdp_plugin_new(&p, uid, &o) < 0 || rrdp_plugin_set_protocol(p, 3) < 0)
		return fail("plugin");
	char n_load[128], n_bytes[128], n_mem[128];
	snprintf(n_load, sizeof(n_load), "%sload", prefix);
	snprintf(n_bytes, sizeof(n_bytes), "%sbytes", prefix);
	snprintf(n_mem, sizeof(n_mem), "%smem", prefix);
	struct rrdp_source *load, *bytes, *mem[MAX_VMS];
	struct rrdp_source_def d = RRDP_SOURCE_DEF_INIT;
	d.name = n_load;
	d.type = RRDP_GAUGE;
	d.value_type = RRDP_FLOAT;
	d.description = "demo load";
	d.is_default = true;
	if (rrdp_source_add(p, &d, &load) < 0)
		return fail("source");
	d.name = n_bytes;
	d.type = RRDP_DERIVE;
	d.value_type = RRDP_INT64;
	d.description = NULL;
	d.units = "B";
	d.min = 0;
	if (rrdp_source_add(p, &d, &bytes) < 0)
		return fail("source");
	d.name = n_mem;
	d.type = RRDP_GAUGE;
	d.owner = RRDP_OWNER_VM;
	d.min = -INFINITY;
	for (int i = 0; i < nvm; i++) {
		d.owner_uuid = vms[i];
		if (rrdp_source_add(p, &d, &mem[i]) < 0)
			return fail("source");
	}
	if (sock == NULL || *sock)
		if (rrdp_register(p, NULL) < 0)
			fprintf(stderr, "rrdp-om-demo: register: %s (publishing anyway)\n",
			        rrdp_error_message());
	for (long k = 0; !stop && (ticks <= 0 || k < ticks); k++) {
		rrdp_source_set_double(load, 0.75);
		rrdp_source_set_int64(bytes, 5000 * k);
		for (int i = 0; i < nvm; i++)
			rrdp_source_set_int64(mem[i], 2048LL << 20);
		if (rrdp_publish(p) < 0)
			return fail("publish");
		if (ticks <= 0 || k + 1 < ticks)
			rrdp_wait_next(p, NULL);
	}
	rrdp_plugin_close(p);
	return 0;
}

static int run_v4(const char *sock, const char *prefix, const char **vms, int nvm, long ticks,
                  double interval)
{
	struct rrdp_v4 *c;
	if (rrdp_v4_connect(&c, sock) < 0)
		return fail("connect");
	char n_load[128], n_bytes[128], n_mem[128];
	snprintf(n_load, sizeof(n_load), "%sload", prefix);
	snprintf(n_bytes, sizeof(n_bytes), "%sbytes", prefix);
	snprintf(n_mem, sizeof(n_mem), "%smem", prefix);
	if (rrdp_v4_create_family(c, n_load, RRDP_V4_GAUGE, "", "demo load") < 0 ||
	    rrdp_v4_create_family(c, n_bytes, RRDP_V4_COUNTER, "B", "") < 0 ||
	    rrdp_v4_create_family(c, n_mem, RRDP_V4_GAUGE, "B", "") < 0)
		return fail("family");
	unsigned char id[16] = {0};
	for (long k = 0; !stop && (ticks <= 0 || k < ticks); k++) {
		id[15] = 1;
		if (rrdp_v4_update_double(c, n_load, id, NULL, NULL, 0, 0.75) < 0)
			return fail("update");
		id[15] = 2;
		if (rrdp_v4_update_int64(c, n_bytes, id, NULL, NULL, 0, 5000 * k) < 0)
			return fail("update");
		for (int i = 0; i < nvm; i++) {
			char owner[64];
			snprintf(owner, sizeof(owner), "vm %s", vms[i]);
			const char *names[] = {"owner"}, *values[] = {owner};
			id[15] = (unsigned char)(3 + i);
			if (rrdp_v4_update_int64(c, n_mem, id, names, values, 1, 2048LL << 20) < 0)
				return fail("update");
		}
		if (ticks <= 0 || k + 1 < ticks) {
			struct timespec ts = {(time_t)interval,
			                      (long)((interval - (double)(time_t)interval) * 1e9)};
			nanosleep(&ts, NULL);
		}
	}
	rrdp_v4_close(c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"protocol", required_argument, 0, 'p'}, {"dir", required_argument, 0, 'd'},
	    {"socket", required_argument, 0, 's'},   {"metrics-socket", required_argument, 0, 'm'},
	    {"uid", required_argument, 0, 'u'},      {"prefix", required_argument, 0, 'x'},
	    {"vm", required_argument, 0, 'v'},       {"ticks", required_argument, 0, 't'},
	    {"interval", required_argument, 0, 'i'}, {0, 0, 0, 0}};
	int protocol = 3, nvm = 0, ch;
	const char *dir = NULL, *sock = NULL, *msock = NULL, *uid = "rrdp-om-demo";
	const char *prefix = "om_demo_", *vms[MAX_VMS];
	long ticks = 0;
	double interval = 5;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			protocol = atoi(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'm':
			msock = optarg;
			break;
		case 'u':
			uid = optarg;
			break;
		case 'x':
			prefix = optarg;
			break;
		case 'v':
			if (nvm < MAX_VMS)
				vms[nvm++] = optarg;
			break;
		case 't':
			ticks = atol(optarg);
			break;
		case 'i':
			interval = atof(optarg);
			break;
		default:
			return 2;
		}
	}
	if (protocol != 3 && protocol != 4) {
		fprintf(stderr, "usage: rrdp-om-demo --protocol 3|4 [options]\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	return protocol == 3 ? run_v3(dir, sock, uid, prefix, vms, nvm, ticks)
	                     : run_v4(msock, prefix, vms, nvm, ticks, interval);
}
