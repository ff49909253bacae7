/*
 * rrdp-proc: a dom0 metrics plugin built on librrdd-plugin.  Publishes, as
 * host-owned sources of plugin "rrdp-proc" (page /dev/shm/metrics/rrdp-proc):
 *   dom0_loadavg1/5/15        gauge float, /proc/loadavg
 *   dom0_procs_running/total  gauge int64, /proc/loadavg
 *   dom0_mem_<field>_kib      gauge int64 KiB, /proc/meminfo (MemTotal,
 *                             MemFree, MemAvailable, Buffers, Cached,
 *                             SwapTotal, SwapFree)
 *   dom0_net_<dev>_rx / _tx   derive int64 B/s, /proc/net/dev byte counters
 *                             (devices come and go with the sources)
 * Names carry a "dom0_" prefix so they never collide with the sources of
 * xcp-rrdd's own plugins (loadavg, memory_total_kib, pif_*).
 *
 * Options: --dir DIR, --uid UID, --socket PATH (--no-rpc), --interval SEC
 * (period used without a daemon), --proc DIR (read DIR/loadavg etc., for
 * tests), --once (publish one page, leave it, exit; no RPC).  SIGTERM and
 * SIGINT deregister and unlink the page.  Never sleeps while holding state
 * the signal handler needs: the handler only sets a flag.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rrdd/plugin.h"

#define MAX_DEVS 256

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct mem_field {
	const char *key;  /* /proc/meminfo key */
	const char *name; /* source name */
	const char *desc;
	struct rrdp_source *src;
};

static struct mem_field mem_fields[] = {
    {"MemTotal", "dom0_mem_total_kib", "dom0 total usable memory", NULL},
    {"MemFree", "dom0_mem_free_kib", "dom0 free memory", NULL},
    {"MemAvailable", "dom0_mem_available_kib", "dom0 memory available without swapping", NULL},
    {"Buffers", "dom0_mem_buffers_kib", "dom0 memory in block device buffers", NULL},
    {"Cached", "dom0_mem_cached_kib", "dom0 page cache", NULL},
    {"SwapTotal", "dom0_swap_total_kib", "dom0 total swap", NULL},
    {"SwapFree", "dom0_swap_free_kib", "dom0 free swap", NULL},
};
#define NMEM (sizeof(mem_fields) / sizeof(mem_fields[0]))

struct netdev {
	char name[64];
	struct rrdp_source *rx, *tx;
	bool seen;
};

struct state {
	struct rrdp_plugin *p;
	const char *proc;
	struct rrdp_source *load[3], *running, *total;
	struct netdev devs[MAX_DEVS];
	size_t ndev;
	bool warned_load, warned_mem, warned_net;
};

static int add(struct rrdp_plugin *p, const char *name, const char *desc, const char *units,
               enum rrdp_type type, enum rrdp_value_type vt, double min, bool dflt,
               struct rrdp_source **out)
{
	struct rrdp_source_def d = RRDP_SOURCE_DEF_INIT;
	d.name = name;
	d.description = desc;
	d.units = units;
	d.type = type;
	d.value_type = vt;
	d.min = min;
	d.is_default = dflt;
	int rc = rrdp_source_add(p, &d, out);
	if (rc < 0)
		fprintf(stderr, "rrdp-proc: cannot declare %s: %s\n", name, rrdp_error_message());
	return rc;
}

static FILE *open_proc(struct state *st, const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", st->proc, rel);
	return fopen(path, "re");
}

static void sample_loadavg(struct state *st)
{
	FILE *f = open_proc(st, "loadavg");
	double l[3];
	long long run, tot;
	int k = f ? fscanf(f, "%lf %lf %lf %lld/%lld", &l[0], &l[1], &l[2], &run, &tot) : 0;
	if (f)
		fclose(f);
	if (k != 5) {
		if (!st->warned_load)
			fprintf(stderr, "rrdp-proc: cannot read %s/loadavg\n", st->proc);
		st->warned_load = true;
		for (int i = 0; i < 3; i++)
			rrdp_source_set_unknown(st->load[i]);
		rrdp_source_set_unknown(st->running);
		rrdp_source_set_unknown(st->total);
		return;
	}
	for (int i = 0; i < 3; i++)
		rrdp_source_set_double(st->load[i], l[i]);
	rrdp_source_set_int64(st->running, run);
	rrdp_source_set_int64(st->total, tot);
}

static void sample_meminfo(struct state *st)
{
	bool found[NMEM] = {false};
	FILE *f = open_proc(st, "meminfo");
	if (f) {
		char line[256];
		while (fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':');
			if (!colon)
				continue;
			*colon = '\0';
			for (size_t i = 0; i < NMEM; i++) {
				if (strcmp(line, mem_fields[i].key) != 0)
					continue;
				char *end;
				errno = 0;
				long long v = strtoll(colon + 1, &end, 10);
				if (end != colon + 1 && errno == 0) {
					rrdp_source_set_int64(mem_fields[i].src, v);
					found[i] = true;
				}
			}
		}
		fclose(f);
	} else if (!st->warned_mem) {
		fprintf(stderr, "rrdp-proc: cannot read %s/meminfo\n", st->proc);
		st->warned_mem = true;
	}
	for (size_t i = 0; i < NMEM; i++)
		if (!found[i])
			rrdp_source_set_unknown(mem_fields[i].src);
}

static struct netdev *find_dev(struct state *st, const char *name)
{
	for (size_t i = 0; i < st->ndev; i++)
		if (strcmp(st->devs[i].name, name) == 0)
			return &st->devs[i];
	if (st->ndev == MAX_DEVS)
		return NULL;
	struct netdev *d = &st->devs[st->ndev];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	char n[128], desc[160];
	snprintf(n, sizeof(n), "dom0_net_%s_rx", name);
	snprintf(desc, sizeof(desc), "bytes received by dom0 device %s", name);
	if (add(st->p, n, desc, "B/s", RRDP_DERIVE, RRDP_INT64, 0, false, &d->rx) < 0)
		return NULL;
	snprintf(n, sizeof(n), "dom0_net_%s_tx", name);
	snprintf(desc, sizeof(desc), "bytes sent by dom0 device %s", name);
	if (add(st->p, n, desc, "B/s", RRDP_DERIVE, RRDP_INT64, 0, false, &d->tx) < 0) {
		rrdp_source_remove(st->p, d->rx);
		return NULL;
	}
	st->ndev++;
	return d;
}

static void sample_netdev(struct state *st)
{
	for (size_t i = 0; i < st->ndev; i++)
		st->devs[i].seen = false;
	FILE *f = open_proc(st, "net/dev");
	if (!f) {
		if (!st->warned_net)
			fprintf(stderr, "rrdp-proc: cannot read %s/net/dev\n", st->proc);
		st->warned_net = true;
	}
	char line[512];
	for (int ln = 0; f && fgets(line, sizeof(line), f); ln++) {
		char *colon = strchr(line, ':');
		if (ln < 2 || !colon)
			continue; /* two header lines */
		*colon = '\0';
		char *name = line;
		while (*name == ' ')
			name++;
		if (!*name || strcmp(name, "lo") == 0 || strlen(name) >= 64)
			continue;
		unsigned long long v[9];
		char *q = colon + 1;
		int k;
		for (k = 0; k < 9; k++) {
			char *end;
			v[k] = strtoull(q, &end, 10);
			if (end == q)
				break;
			q = end;
		}
		if (k < 9)
			continue;
		struct netdev *d = find_dev(st, name);
		if (!d)
			continue;
		d->seen = true;
		rrdp_source_set_int64(d->rx, (int64_t)(v[0] & INT64_MAX));
		rrdp_source_set_int64(d->tx, (int64_t)(v[8] & INT64_MAX));
	}
	if (f)
		fclose(f);
	/* Devices that went away take their sources with them. */
	for (size_t i = 0; i < st->ndev;) {
		if (st->devs[i].seen) {
			i++;
			continue;
		}
		rrdp_source_remove(st->p, st->devs[i].rx);
		rrdp_source_remove(st->p, st->devs[i].tx);
		st->devs[i] = st->devs[--st->ndev];
	}
}

static void usage(FILE *out)
{
	fprintf(out, "usage: rrdp-proc [--dir DIR] [--uid UID] [--socket PATH | --no-rpc]\n"
	             "                 [--interval SEC] [--proc DIR] [--once]\n");
}

int main(int argc, char **argv)
{
	struct rrdp_options o = {0};
	const char *uid = "rrdp-proc";
	struct state st = {.proc = "/proc"};
	bool once = false;
	static const struct option lopts[] = {{"dir", required_argument, NULL, 'd'},
	                                      {"uid", required_argument, NULL, 'u'},
	                                      {"socket", required_argument, NULL, 's'},
	                                      {"no-rpc", no_argument, NULL, 'n'},
	                                      {"interval", required_argument, NULL, 'i'},
	                                      {"proc", required_argument, NULL, 'p'},
	                                      {"once", no_argument, NULL, '1'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "d:u:s:ni:p:1h", lopts, NULL)) != -1) {
		switch (c) {
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
			if (!(o.period > 0)) {
				fprintf(stderr, "rrdp-proc: bad --interval %s\n", optarg);
				return 2;
			}
			break;
		case 'p':
			st.proc = optarg;
			break;
		case '1':
			once = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (once)
		o.socket_path = "";

	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: wake the sleep */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int rc = rrdp_plugin_new(&st.p, uid, &o);
	if (rc < 0) {
		fprintf(stderr, "rrdp-proc: %s\n", rrdp_error_message());
		return 1;
	}
	static const char *ln[3] = {"dom0_loadavg1", "dom0_loadavg5", "dom0_loadavg15"};
	static const char *ld[3] = {"dom0 load average over 1 minute",
	                            "dom0 load average over 5 minutes",
	                            "dom0 load average over 15 minutes"};
	for (int i = 0; i < 3 && rc == 0; i++)
		rc = add(st.p, ln[i], ld[i], "", RRDP_GAUGE, RRDP_FLOAT, 0, i == 0, &st.load[i]);
	if (rc == 0)
		rc = add(st.p, "dom0_procs_running", "dom0 runnable processes", "count", RRDP_GAUGE,
		         RRDP_INT64, 0, false, &st.running);
	if (rc == 0)
		rc = add(st.p, "dom0_procs_total", "dom0 processes and threads", "count",
		         RRDP_GAUGE, RRDP_INT64, 0, false, &st.total);
	for (size_t i = 0; i < NMEM && rc == 0; i++)
		rc = add(st.p, mem_fields[i].name, mem_fields[i].desc, "KiB", RRDP_GAUGE,
		         RRDP_INT64, 0, true, &mem_fields[i].src);
	if (rc < 0) {
		rrdp_plugin_close(st.p);
		return 1;
	}

	int status = 0;
	while (!stop) {
		if (!once) {
			rc = rrdp_wait_next(st.p, NULL);
			if (stop)
				break;
			/* Without a daemon the plugin still publishes on its
			 * own period; the error is informational. */
			(void)rc;
		}
		sample_loadavg(&st);
		sample_meminfo(&st);
		sample_netdev(&st);
		rc = rrdp_publish(st.p);
		if (rc < 0) {
			fprintf(stderr, "rrdp-proc: %s\n", rrdp_error_message());
			if (once)
				status = 1;
		}
		if (once)
			break;
	}
	if (once) {
		rrdp_plugin_free(st.p); /* leave the page for the reader */
		return status;
	}
	if (rrdp_plugin_close(st.p) < 0)
		fprintf(stderr, "rrdp-proc: on close: %s\n", rrdp_error_message());
	return status;
}
