/*
 * bench_plugins: the daemon's per-tick read of every plugin (plg_collect:
 * open, bounded pread, CRC, decode, page to chunk) for 32 plugins of 500
 * sources each (host and VM owners, float and int64, gauge/derive), pages
 * in a tmpfs directory rewritten in place before every tick (new timestamp
 * and values, so every read is a real update).  Three runs in one process:
 *
 *   ours, stable metadata   the metadata CRC is unchanged (librrdd-plugin,
 *                           rrd-client-lib, rrdd.py): a CRC and a copy
 *   ours, changing metadata the OCaml writer's metadata embeds the values,
 *                           so its CRC changes every tick: a JSON parse and
 *                           a descriptor rebuild per page
 *   ours, v3 pages          the same sources as protocol v3 pages
 *                           (xcp-metrics: OpenMetrics protobuf, families
 *                           unchanged): protobuf-c decode, mapping check
 *   peer: json-c per page   what xcp-rrdd effectively does every tick for
 *                           such a page: read the whole file, CRC the data
 *                           and the metadata, json-c parse of the metadata,
 *                           walk every source's fields
 *
 *   bench_plugins [plugins=32] [sources=500] [ticks=200] [dir=/dev/shm|/tmp]
 *
 * Prints wall and thread-CPU time per tick (p50, p99) and the ratios.
 * Not a test: nothing is judged.  Never linked into rrdd.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "openmetrics.pb-c.h"
#include "plugin/registry.h"
#include "util/buf.h"
#include "util/log.h"

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), dcmp);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static int nplug = 32, nsrc = 500;
static char dir[512];

/* Source j of plugin i: its owner, type and value type. */
static bool is_int(int j)
{
	return j % 3 == 0;
}

static void owner_of(int i, int j, char *out, size_t len)
{
	if (j % 5 == 0)
		snprintf(out, len, "host");
	else
		snprintf(out, len, "vm %08x-0000-4000-8000-%012x", (unsigned)i, (unsigned)(j % 20));
}

static double value_of(int tick, int i, int j)
{
	return (double)(tick * 7 + i * 13 + j) + 0.25;
}

/* Write plugin i's page for a tick in place.  with_values: the OCaml
 * writer's metadata, which embeds each value ("%.2f" / "%lld"). */
static void write_page(int tick, int i, bool with_values, struct buf *meta, unsigned char **page,
                       size_t *cap)
{
	buf_reset(meta);
	buf_adds(meta, "{\"datasources\":{");
	for (int j = 0; j < nsrc; j++) {
		char owner[64];
		owner_of(i, j, owner, sizeof(owner));
		buf_printf(meta,
		           "%s\"src_%d_%d\":{\"description\":\"source %d of plugin %d\","
		           "\"owner\":\"%s\",",
		           j ? "," : "", i, j, j, i, owner);
		if (with_values) {
			if (is_int(j))
				buf_printf(meta, "\"value\":\"%lld\",",
				           (long long)value_of(tick, i, j));
			else
				buf_printf(meta, "\"value\":\"%.2f\",", value_of(tick, i, j));
		}
		buf_printf(meta,
		           "\"value_type\":\"%s\",\"type\":\"%s\",\"default\":\"true\","
		           "\"units\":\"B\",\"min\":\"0.00\",\"max\":\"inf\"}",
		           is_int(j) ? "int64" : "float", j % 2 ? "gauge" : "derive");
	}
	buf_adds(meta, "}}");
	size_t m = meta->len;
	size_t total = 35 + 8 * (size_t)nsrc + m;
	size_t sz = (total + 4095) / 4096 * 4096;
	if (sz > *cap) {
		*page = realloc(*page, sz);
		*cap = sz;
	}
	unsigned char *b = *page;
	memset(b, 0, sz);
	memcpy(b, "DATASOURCES", 11);
	put_be32(b + 19, (uint32_t)nsrc);
	double ts = 1700000000.0 + 5.0 * tick + 0.125;
	uint64_t bits;
	memcpy(&bits, &ts, 8);
	put_be64(b + 23, bits);
	for (int j = 0; j < nsrc; j++) {
		double v = value_of(tick, i, j);
		if (is_int(j)) {
			bits = (uint64_t)(int64_t)v;
		} else {
			memcpy(&bits, &v, 8);
		}
		put_be64(b + 31 + 8 * (size_t)j, bits);
	}
	put_be32(b + 31 + 8 * (size_t)nsrc, (uint32_t)m);
	memcpy(b + 35 + 8 * (size_t)nsrc, meta->p, m);
	put_be32(b + 11, (uint32_t)crc32(0, b + 23, (uInt)(8 + 8 * nsrc)));
	put_be32(b + 15, (uint32_t)crc32(0, (const Bytef *)meta->p, (uInt)m));
	char path[600];
	snprintf(path, sizeof(path), "%s/bench-%02d", dir, i);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || pwrite(fd, b, sz, 0) != (ssize_t)sz) {
		perror(path);
		exit(1);
	}
	close(fd);
}

/* Plugin i's page for a tick as protocol v3 (xcp-metrics): the same
 * sources, one family each (named as the V2 source, so the v3 mapping
 * gives the same DS names), the owner as a label, gauges and counters
 * (V2 derive), packed by protobuf-c. */
static void write_page_v3(int tick, int i)
{
	Openmetrics__MetricSet set = OPENMETRICS__METRIC_SET__INIT;
	Openmetrics__MetricFamily *fam = calloc((size_t)nsrc, sizeof(*fam));
	Openmetrics__MetricFamily **famp = calloc((size_t)nsrc, sizeof(*famp));
	Openmetrics__Metric *met = calloc((size_t)nsrc, sizeof(*met));
	Openmetrics__Metric **metp = calloc((size_t)nsrc, sizeof(*metp));
	Openmetrics__Label *lab = calloc((size_t)nsrc, sizeof(*lab));
	Openmetrics__Label **labp = calloc((size_t)nsrc, sizeof(*labp));
	Openmetrics__MetricPoint *pt = calloc((size_t)nsrc, sizeof(*pt));
	Openmetrics__MetricPoint **ptp = calloc((size_t)nsrc, sizeof(*ptp));
	Openmetrics__GaugeValue *gv = calloc((size_t)nsrc, sizeof(*gv));
	Openmetrics__CounterValue *cv = calloc((size_t)nsrc, sizeof(*cv));
	char(*names)[32] = calloc((size_t)nsrc, 32);
	char(*helps)[48] = calloc((size_t)nsrc, 48);
	char(*owners)[64] = calloc((size_t)nsrc, 64);
	for (int j = 0; j < nsrc; j++) {
		openmetrics__metric_family__init(&fam[j]);
		snprintf(names[j], 32, "src_%d_%d", i, j);
		snprintf(helps[j], 48, "source %d of plugin %d", j, i);
		owner_of(i, j, owners[j], 64);
		fam[j].name = names[j];
		fam[j].help = helps[j];
		fam[j].unit = "B";
		fam[j].type =
		    j % 2 ? OPENMETRICS__METRIC_TYPE__GAUGE : OPENMETRICS__METRIC_TYPE__COUNTER;
		openmetrics__metric__init(&met[j]);
		if (strcmp(owners[j], "host")) {
			openmetrics__label__init(&lab[j]);
			lab[j].name = "owner";
			lab[j].value = owners[j];
			labp[j] = &lab[j];
			met[j].labels = &labp[j];
			met[j].n_labels = 1;
		}
		openmetrics__metric_point__init(&pt[j]);
		double v = value_of(tick, i, j);
		if (j % 2) {
			openmetrics__gauge_value__init(&gv[j]);
			if (is_int(j)) {
				gv[j].value_case = OPENMETRICS__GAUGE_VALUE__VALUE_INT_VALUE;
				gv[j].int_value = (int64_t)v;
			} else {
				gv[j].value_case = OPENMETRICS__GAUGE_VALUE__VALUE_DOUBLE_VALUE;
				gv[j].double_value = v;
			}
			pt[j].value_case = OPENMETRICS__METRIC_POINT__VALUE_GAUGE_VALUE;
			pt[j].gauge_value = &gv[j];
		} else {
			openmetrics__counter_value__init(&cv[j]);
			if (is_int(j)) {
				cv[j].total_case = OPENMETRICS__COUNTER_VALUE__TOTAL_INT_VALUE;
				cv[j].int_value = (uint64_t)v;
			} else {
				cv[j].total_case = OPENMETRICS__COUNTER_VALUE__TOTAL_DOUBLE_VALUE;
				cv[j].double_value = v;
			}
			pt[j].value_case = OPENMETRICS__METRIC_POINT__VALUE_COUNTER_VALUE;
			pt[j].counter_value = &cv[j];
		}
		ptp[j] = &pt[j];
		met[j].metric_points = &ptp[j];
		met[j].n_metric_points = 1;
		metp[j] = &met[j];
		fam[j].metrics = &metp[j];
		fam[j].n_metrics = 1;
		famp[j] = &fam[j];
	}
	set.metric_families = famp;
	set.n_metric_families = (size_t)nsrc;
	size_t pl = openmetrics__metric_set__get_packed_size(&set);
	unsigned char *b = malloc(28 + pl);
	openmetrics__metric_set__pack(&set, b + 28);
	memcpy(b, "OPENMETRICS1", 12);
	put_be64(b + 16, 1700000000u + 5u * (unsigned)tick);
	put_be32(b + 24, (uint32_t)pl);
	put_be32(b + 12, (uint32_t)crc32(0, b + 16, (uInt)(12 + pl)));
	char path[600];
	snprintf(path, sizeof(path), "%s/bench-%02d", dir, i);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || pwrite(fd, b, 28 + pl, 0) != (ssize_t)(28 + pl)) {
		perror(path);
		exit(1);
	}
	close(fd);
	free(b);
	free(fam), free(famp), free(met), free(metp), free(lab), free(labp);
	free(pt), free(ptp), free(gv), free(cv), free(names), free(helps), free(owners);
}

static bool v3_pages; /* write_all writes v3 pages */

static void write_all(int tick, bool with_values)
{
	static struct buf meta;
	static unsigned char *page;
	static size_t cap;
	for (int i = 0; i < nplug; i++)
		if (v3_pages)
			write_page_v3(tick, i);
		else
			write_page(tick, i, with_values, &meta, &page, &cap);
}

/* The peer: whole file, both CRCs, json-c parse, walk every source. */
static size_t peer_tick(unsigned char **buf, size_t *cap)
{
	size_t sources = 0;
	for (int i = 0; i < nplug; i++) {
		char path[600];
		snprintf(path, sizeof(path), "%s/bench-%02d", dir, i);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			exit(1);
		if ((size_t)st.st_size > *cap) {
			*cap = (size_t)st.st_size;
			*buf = realloc(*buf, *cap);
		}
		ssize_t r = pread(fd, *buf, (size_t)st.st_size, 0);
		close(fd);
		unsigned char *b = *buf;
		if (r < 35)
			exit(1);
		uint32_t n =
		    (uint32_t)b[19] << 24 | (uint32_t)b[20] << 16 | (uint32_t)b[21] << 8 | b[22];
		size_t mo = 31 + 8 * (size_t)n;
		uint32_t m = (uint32_t)b[mo] << 24 | (uint32_t)b[mo + 1] << 16 |
		             (uint32_t)b[mo + 2] << 8 | b[mo + 3];
		volatile uint32_t c1 = (uint32_t)crc32(0, b + 23, (uInt)(8 + 8 * n));
		volatile uint32_t c2 = (uint32_t)crc32(0, b + mo + 4, m);
		(void)c1, (void)c2;
		json_tokener *tok = json_tokener_new();
		json_object *root = json_tokener_parse_ex(tok, (const char *)b + mo + 4, (int)m);
		json_tokener_free(tok);
		json_object *dss;
		if (!root || !json_object_object_get_ex(root, "datasources", &dss))
			exit(1);
		json_object_object_foreach(dss, key, val)
		{
			(void)key;
			json_object_object_foreach(val, k2, v2)
			{
				(void)k2;
				volatile const char *s = json_object_get_string(v2);
				(void)s;
			}
			sources++;
		}
		json_object_put(root);
	}
	return sources;
}

struct result {
	double wall50, wall99, cpu50, cpu99;
	double bytes_per_ds; /* the registry's heap in the steady state, per source */
};

/* Bytes of heap in use, mmap'ed blocks included (glibc). */
static double heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();
	return (double)m.uordblks + (double)m.hblkhd;
}

static struct result run(const char *what, int ticks, bool with_values, bool peer)
{
	double *w = calloc((size_t)ticks, sizeof(double));
	double *c = calloc((size_t)ticks, sizeof(double));
	double heap0 = heap_in_use(), heap1 = heap0;
	struct plg_registry_opts o = {.dir = dir};
	struct plg_registry *reg = plg_registry_new(&o);
	unsigned char *pbuf = NULL;
	size_t pcap = 0;
	size_t checked = 0;
	for (int t = -3; t < ticks; t++) { /* 3 warm-up ticks */
		write_all(t + 10, with_values);
		double w0 = now_mono(), c0 = now_cpu();
		size_t got = 0;
		if (peer) {
			got = peer_tick(&pbuf, &pcap);
		} else {
			struct mon_chunk **ch;
			size_t n;
			plg_collect(reg, NAN, NAN, &ch, &n);
			for (size_t k = 0; k < n; k++)
				for (uint32_t q = 0; q < ch[k]->nowner; q++)
					got += ch[k]->owner[q].nds;
		}
		double c1 = now_cpu(), w1 = now_mono();
		if (got != (size_t)nplug * (size_t)nsrc) {
			fprintf(stderr, "%s: tick %d read %zu sources, expected %d\n", what, t, got,
			        nplug * nsrc);
			exit(1);
		}
		checked += got;
		if (t >= 0) {
			w[t] = w1 - w0;
			c[t] = c1 - c0;
		}
		if (t == ticks - 1)
			heap1 = heap_in_use();
	}
	plg_registry_free(reg);
	free(pbuf);
	struct result r = {pct(w, (size_t)ticks, 0.5) * 1e3, pct(w, (size_t)ticks, 0.99) * 1e3,
	                   pct(c, (size_t)ticks, 0.5) * 1e3, pct(c, (size_t)ticks, 0.99) * 1e3,
	                   (heap1 - heap0) / ((double)nplug * nsrc)};
	printf("%-28s wall p50 %8.3f ms  p99 %8.3f ms   cpu p50 %8.3f ms  p99 %8.3f ms", what,
	       r.wall50, r.wall99, r.cpu50, r.cpu99);
	if (!peer)
		printf("   %.0f B/source", r.bytes_per_ds);
	printf("\n");
	free(w);
	free(c);
	return r;
}

int main(int argc, char **argv)
{
	int ticks = 200;
	if (argc > 1)
		nplug = atoi(argv[1]);
	if (argc > 2)
		nsrc = atoi(argv[2]);
	if (argc > 3)
		ticks = atoi(argv[3]);
	const char *base = argc > 4 ? argv[4] : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	if (nplug < 1 || nsrc < 1 || ticks < 1 || nplug > 99) {
		fprintf(stderr,
		        "usage: bench_plugins [plugins=32] [sources=500] [ticks=200] [dir]\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/rrdd-bench-plugins-XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	log_init("bench_plugins", LOG_TO_STDERR, LOG_WARNING);
	write_all(0, false);
	char path[600];
	snprintf(path, sizeof(path), "%s/bench-00", dir);
	struct stat st;
	stat(path, &st);
	printf("%d plugins x %d sources, pages of %lld bytes (stable metadata), %d ticks, in %s\n",
	       nplug, nsrc, (long long)st.st_size, ticks, base);
	struct result a = run("ours, stable metadata", ticks, false, false);
	struct result b = run("ours, changing metadata", ticks, true, false);
	struct result p = run("peer: json-c per page", ticks, true, true);
	v3_pages = true;
	write_all(0, false);
	stat(path, &st);
	printf("v3 pages of %lld bytes (the same sources, protobuf)\n", (long long)st.st_size);
	struct result v3 = run("ours, v3 pages", ticks, false, false);
	v3_pages = false;
	printf("peer / ours (stable metadata):   wall %.1fx, cpu %.1fx\n", p.wall50 / a.wall50,
	       p.cpu50 / a.cpu50);
	printf("peer / ours (changing metadata): wall %.1fx, cpu %.1fx\n", p.wall50 / b.wall50,
	       p.cpu50 / b.cpu50);
	printf("v3 / V2 (stable metadata, same data): wall %.1fx, cpu %.1fx\n",
	       v3.wall50 / a.wall50, v3.cpu50 / a.cpu50);
	printf("memory per source, the plugin registry's steady state (pages, readers, "
	       "chunks): V2 %.0f B, v3 %.0f B: %.1fx\n",
	       a.bytes_per_ds, v3.bytes_per_ds, v3.bytes_per_ds / a.bytes_per_ds);
	for (int i = 0; i < nplug; i++) {
		snprintf(path, sizeof(path), "%s/bench-%02d", dir, i);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}
