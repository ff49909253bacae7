/*
 * rrdp-demo-owners: shows sources owned by VMs and SRs (and the host) with
 * librrdd-plugin.  For every --vm UUID it publishes, owned by "vm <uuid>":
 *   demo_load      gauge float 0..1, a slow sine wave per VM
 *   demo_requests  derive int64 "requests/s", a counter growing by 10*(i+1)
 *                  per sample (so the daemon shows 2*(i+1) requests/s)
 * for every --sr UUID, owned by "sr <uuid>":
 *   demo_used      gauge int64 "B", min 0 (1 GiB * (i+1) + tick MiB)
 *   demo_iops      absolute float "requests/s" (50 * (i+1) per sample)
 * and for the host: demo_owners (gauge int64, the number of owners).
 *
 * Options: --vm UUID and --sr UUID (repeatable), --dir, --uid (default
 * rrdp-demo-owners), --socket PATH / --no-rpc, --interval SEC, --once
 * (publish one page, leave it, exit; no RPC), --ticks N (publish N pages
 * with the regular timing, then close).  SIGTERM/SIGINT deregister and
 * unlink the page.  The values are a pure function of the sample number,
 * so tests can predict them.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rrdd/plugin.h"

#define MAX_OWNERS 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct owner {
	const char *uuid;
	struct rrdp_source *a, *b;
};

static int declare(struct rrdp_plugin *p, enum rrdp_owner kind, const char *uuid, const char *name,
                   const char *desc, const char *units, enum rrdp_type type,
                   enum rrdp_value_type vt, double min, double max, struct rrdp_source **out)
{
	struct rrdp_source_def d = RRDP_SOURCE_DEF_INIT;
	d.name = name;
	d.owner = kind;
	d.owner_uuid = uuid;
	d.description = desc;
	d.units = units;
	d.type = type;
	d.value_type = vt;
	d.min = min;
	d.max = max;
	d.is_default = true;
	int rc = rrdp_source_add(p, &d, out);
	if (rc < 0)
		fprintf(stderr, "rrdp-demo-owners: %s: %s\n", name, rrdp_error_message());
	return rc;
}

int main(int argc, char **argv)
{
	struct rrdp_options o = {0};
	const char *uid = "rrdp-demo-owners";
	struct owner vms[MAX_OWNERS], srs[MAX_OWNERS];
	size_t nvm = 0, nsr = 0;
	bool once = false;
	long ticks = -1;
	static const struct option lopts[] = {{"vm", required_argument, NULL, 'v'},
	                                      {"sr", required_argument, NULL, 'r'},
	                                      {"dir", required_argument, NULL, 'd'},
	                                      {"uid", required_argument, NULL, 'u'},
	                                      {"socket", required_argument, NULL, 's'},
	                                      {"no-rpc", no_argument, NULL, 'n'},
	                                      {"interval", required_argument, NULL, 'i'},
	                                      {"once", no_argument, NULL, '1'},
	                                      {"ticks", required_argument, NULL, 't'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "v:r:d:u:s:ni:1t:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'v':
		case 'r': {
			size_t *n = c == 'v' ? &nvm : &nsr;
			if (*n == MAX_OWNERS) {
				fprintf(stderr, "rrdp-demo-owners: at most %d of each\n",
				        MAX_OWNERS);
				return 2;
			}
			(c == 'v' ? vms : srs)[(*n)++] = (struct owner){.uuid = optarg};
			break;
		}
		case 'd':
			o.dir = optarg;
			break;
		case 'u':
			uid = optarg;
			break;
		case 's':
			o.socket_path = optarg;
			break;
		case 'n':
			o.socket_path = "";
			break;
		case 'i':
			o.period = atof(optarg);
			break;
		case '1':
			once = true;
			break;
		case 't':
			ticks = atol(optarg);
			break;
		case 'h':
		default:
			fprintf(
			    c == 'h' ? stdout : stderr,
			    "usage: rrdp-demo-owners [--vm UUID]... [--sr UUID]... [--dir DIR] "
			    "[--uid UID]\n"
			    "       [--socket PATH | --no-rpc] [--interval SEC] [--once | --ticks "
			    "N]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (once)
		o.socket_path = "";

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	struct rrdp_plugin *p;
	if (rrdp_plugin_new(&p, uid, &o) < 0) {
		fprintf(stderr, "rrdp-demo-owners: %s\n", rrdp_error_message());
		return 1;
	}
	struct rrdp_source *howners;
	int rc = declare(p, RRDP_OWNER_HOST, NULL, "demo_owners", "VMs and SRs in this demo",
	                 "count", RRDP_GAUGE, RRDP_INT64, 0, INFINITY, &howners);
	for (size_t i = 0; i < nvm && rc == 0; i++) {
		rc = declare(p, RRDP_OWNER_VM, vms[i].uuid, "demo_load", "synthetic load (sine)",
		             "(fraction)", RRDP_GAUGE, RRDP_FLOAT, 0, 1, &vms[i].a);
		if (rc == 0)
			rc = declare(p, RRDP_OWNER_VM, vms[i].uuid, "demo_requests",
			             "synthetic request counter", "requests/s", RRDP_DERIVE,
			             RRDP_INT64, 0, INFINITY, &vms[i].b);
	}
	for (size_t i = 0; i < nsr && rc == 0; i++) {
		rc = declare(p, RRDP_OWNER_SR, srs[i].uuid, "demo_used", "synthetic space used",
		             "B", RRDP_GAUGE, RRDP_INT64, 0, INFINITY, &srs[i].a);
		if (rc == 0)
			rc = declare(p, RRDP_OWNER_SR, srs[i].uuid, "demo_iops",
			             "synthetic I/O operations", "requests/s", RRDP_ABSOLUTE,
			             RRDP_FLOAT, 0, INFINITY, &srs[i].b);
	}
	if (rc < 0) {
		rrdp_plugin_close(p);
		return 1;
	}
	rrdp_source_set_int64(howners, (int64_t)(nvm + nsr));

	int status = 0;
	for (long tick = 0; !stop && (ticks < 0 || tick < ticks); tick++) {
		if (!once) {
			rrdp_wait_next(p, NULL); /* errors: no daemon, keep our period */
			if (stop)
				break;
		}
		for (size_t i = 0; i < nvm; i++) {
			double phase = (double)tick / 12.0 + (double)i;
			rrdp_source_set_double(vms[i].a, 0.5 + 0.5 * sin(phase));
			rrdp_source_set_int64(vms[i].b, (int64_t)(10 * (i + 1)) * tick);
		}
		for (size_t i = 0; i < nsr; i++) {
			rrdp_source_set_int64(srs[i].a,
			                      (int64_t)(i + 1) * (1LL << 30) + tick * (1LL << 20));
			rrdp_source_set_double(srs[i].b, 50.0 * (double)(i + 1));
		}
		if (rrdp_publish(p) < 0) {
			fprintf(stderr, "rrdp-demo-owners: %s\n", rrdp_error_message());
			status = 1;
		}
		if (once)
			break;
	}
	if (once) {
		rrdp_plugin_free(p);
		return status;
	}
	if (rrdp_plugin_close(p) < 0)
		fprintf(stderr, "rrdp-demo-owners: on close: %s\n", rrdp_error_message());
	return status;
}
