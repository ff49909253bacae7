/*
 * bench_v4: the v4 plugin socket (plugin/v4srv.c) under a stream of
 * UpdateMetric messages, in one process: the server's event thread takes
 * messages from C clients (messages encoded once with libcbor's builder,
 * then resent with new values patched in), while this thread runs the
 * registry's per-tick read (plg_collect, which makes every connection's v3
 * page and decodes it) every 0.5 s, as the daemon's tick does every 5 s.
 *
 *   bench_v4 [clients=4] [metrics per client=1000] [seconds=10]
 *
 * Prints updates per second taken by the server (its event thread is one
 * core) and the ratio to the 100,000/s of issue 16; the per-tick read's
 * time with the stream running against the same read with the clients
 * idle (same state), as a ratio; memory per metric.  Not a test: nothing
 * is judged.  Never linked into rrdd.
 */
#include <cbor.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "monitor/chunk.h"
#include "plugin/registry.h"
#include "plugin/v4srv.h"
#include "util/log.h"

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static cbor_item_t *pair_map(const char *k, cbor_item_t *v)
{
	cbor_item_t *m = cbor_new_definite_map(1);
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string(k)), cbor_move(v)});
	return m;
}

/* One UpdateMetric frame (length prefix included) for metric i of family
 * "bench", value 0.0 (a float8 whose 8 bytes are patched later). */
static unsigned char *frame_of(int client, int i, size_t *len, size_t *value_off)
{
	cbor_item_t *num = pair_map("Double", cbor_build_float8(0.0));
	cbor_item_t *val = pair_map("Gauge", num);
	cbor_item_t *lab = cbor_new_definite_map(2);
	char v[32];
	snprintf(v, sizeof(v), "%d", i);
	cbor_map_add(lab, (struct cbor_pair){cbor_move(cbor_build_string("name")),
	                                     cbor_move(cbor_build_string("i"))});
	cbor_map_add(lab, (struct cbor_pair){cbor_move(cbor_build_string("value")),
	                                     cbor_move(cbor_build_string(v))});
	cbor_item_t *labels = cbor_new_definite_array(1);
	cbor_array_push(labels, cbor_move(lab));
	cbor_item_t *metric = cbor_new_definite_map(2);
	cbor_map_add(metric,
	             (struct cbor_pair){cbor_move(cbor_build_string("labels")), cbor_move(labels)});
	cbor_map_add(metric,
	             (struct cbor_pair){cbor_move(cbor_build_string("value")), cbor_move(val)});
	unsigned char uuid[16] = {0};
	uuid[0] = (unsigned char)client;
	uuid[12] = (unsigned char)(i >> 24);
	uuid[13] = (unsigned char)(i >> 16);
	uuid[14] = (unsigned char)(i >> 8);
	uuid[15] = (unsigned char)i;
	cbor_item_t *body = cbor_new_definite_map(3);
	cbor_map_add(body, (struct cbor_pair){cbor_move(cbor_build_string("family_name")),
	                                      cbor_move(cbor_build_string("bench"))});
	cbor_map_add(body,
	             (struct cbor_pair){cbor_move(cbor_build_string("metric")), cbor_move(metric)});
	cbor_map_add(body, (struct cbor_pair){cbor_move(cbor_build_string("uuid")),
	                                      cbor_move(cbor_build_bytestring(uuid, 16))});
	cbor_item_t *msg = pair_map("UpdateMetric", body);
	unsigned char *raw = NULL;
	size_t cap = 0, n = cbor_serialize_alloc(msg, &raw, &cap);
	cbor_decref(&msg);
	unsigned char *f = malloc(4 + n);
	f[0] = (unsigned char)(n >> 24), f[1] = (unsigned char)(n >> 16);
	f[2] = (unsigned char)(n >> 8), f[3] = (unsigned char)n;
	memcpy(f + 4, raw, n);
	free(raw);
	/* the float8: 0xfb followed by 8 bytes of 0.0 */
	*value_off = 0;
	for (size_t k = 4; k + 9 <= n + 4; k++)
		if (f[k] == 0xfb && !memcmp(f + k + 1, "\0\0\0\0\0\0\0\0", 8))
			*value_off = k + 1;
	*len = 4 + n;
	return f;
}

static unsigned char *create_family(size_t *len)
{
	cbor_item_t *body = cbor_new_definite_map(4);
	const char *kv[][2] = {
	    {"name", "bench"}, {"metric_type", "Gauge"}, {"unit", ""}, {"help", ""}};
	for (int k = 0; k < 4; k++)
		cbor_map_add(body, (struct cbor_pair){cbor_move(cbor_build_string(kv[k][0])),
		                                      cbor_move(cbor_build_string(kv[k][1]))});
	cbor_item_t *msg = pair_map("CreateFamily", body);
	unsigned char *raw = NULL;
	size_t cap = 0, n = cbor_serialize_alloc(msg, &raw, &cap);
	cbor_decref(&msg);
	unsigned char *f = malloc(4 + n);
	f[0] = (unsigned char)(n >> 24), f[1] = (unsigned char)(n >> 16);
	f[2] = (unsigned char)(n >> 8), f[3] = (unsigned char)n;
	memcpy(f + 4, raw, n);
	free(raw);
	*len = 4 + n;
	return f;
}

static int nclients = 4, nmetrics = 1000;
static char sockpath[108];
static atomic_bool stop_clients, pause_clients;
static atomic_ullong sent;

static void send_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			exit(1);
		p += w;
		n -= (size_t)w;
	}
}

/* A connection to the server's socket (exits on failure). */
static int connect_server(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sockpath);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static void *client(void *arg)
{
	int id = (int)(intptr_t)arg;
	int fd = connect_server();
	size_t cl;
	unsigned char *cf = create_family(&cl);
	send_all(fd, cf, cl);
	free(cf);
	unsigned char *batch = NULL;
	size_t *off = malloc(sizeof(size_t) * (size_t)nmetrics);
	size_t total = 0;
	for (int i = 0; i < nmetrics; i++) {
		size_t l, vo;
		unsigned char *f = frame_of(id, i, &l, &vo);
		batch = realloc(batch, total + l);
		memcpy(batch + total, f, l);
		off[i] = total + vo;
		total += l;
		free(f);
	}
	for (uint64_t round = 1; !stop_clients; round++) {
		if (pause_clients) {
			usleep(1000);
			continue;
		}
		for (int i = 0; i < nmetrics; i++) {
			double v = (double)round + i;
			uint64_t bits;
			memcpy(&bits, &v, 8);
			for (int k = 0; k < 8; k++)
				batch[off[i] + (size_t)k] = (unsigned char)(bits >> (56 - 8 * k));
		}
		send_all(fd, batch, total);
		sent += (unsigned long long)nmetrics;
	}
	close(fd);
	free(batch);
	free(off);
	return NULL;
}

static double collect_once(struct plg_registry *reg, size_t *nds)
{
	struct mon_chunk **ch;
	size_t n;
	static double tick_time = 1700000000.0; /* 5 s per read, as the daemon's ticks */
	tick_time += 5;
	double t0 = now_mono();
	plg_collect(reg, tick_time, tick_time, &ch, &n);
	double t = now_mono() - t0;
	*nds = 0;
	for (size_t k = 0; k < n; k++)
		for (uint32_t q = 0; q < ch[k]->nowner; q++)
			*nds += ch[k]->owner[q].nds;
	return t;
}

/* Bytes of heap in use, mmap'ed blocks included (glibc). */
static double heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();
	return (double)m.uordblks + (double)m.hblkhd;
}

/* The daemon side's heap per v4 metric in the steady state: one connection
 * from this thread creates n metrics (frames built and freed one by one),
 * two reads make and decode its page; the heap grown since before the
 * connection, per metric (the connection's fixed 512 KiB receive buffer
 * included, amortized), then the connection closes. */
static double bytes_per_metric(struct plg_registry *reg, struct v4srv *srv, int n)
{
	size_t nds;
	collect_once(reg, &nds);
	double h0 = heap_in_use();
	int fd = connect_server();
	size_t l, vo;
	unsigned char *f = create_family(&l);
	send_all(fd, f, l);
	free(f);
	for (int i = 0; i < n; i++) {
		f = frame_of(99, i, &l, &vo);
		send_all(fd, f, l);
		free(f);
	}
	struct v4srv_stats st;
	do {
		usleep(10000);
		v4srv_get_stats(srv, &st);
	} while (st.metrics < (uint64_t)n);
	collect_once(reg, &nds);
	collect_once(reg, &nds);
	double h1 = heap_in_use();
	close(fd);
	do {
		usleep(10000);
		v4srv_get_stats(srv, &st);
	} while (st.metrics > 0);
	collect_once(reg, &nds);
	return (h1 - h0) / n;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	double seconds = 10;
	if (argc > 1)
		nclients = atoi(argv[1]);
	if (argc > 2)
		nmetrics = atoi(argv[2]);
	if (argc > 3)
		seconds = atof(argv[3]);
	if (nclients < 1 || nclients > 60 || nmetrics < 1 || seconds <= 0) {
		fprintf(stderr, "usage: bench_v4 [clients=4] [metrics=1000] [seconds=10]\n");
		return 2;
	}
	log_init("bench_v4", LOG_TO_STDERR, LOG_WARNING);
	char dir[] = "/tmp/rrdd-bench-v4-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	snprintf(sockpath, sizeof(sockpath), "%s/xcp-metrics", dir);
	struct plg_registry_opts po = {.dir = dir, .no_discovery = true};
	struct plg_registry *reg = plg_registry_new(&po);
	struct v4srv_config vc = {.path = sockpath, .reg = reg};
	struct v4srv *srv;
	char err[256];
	if (v4srv_start(&vc, &srv, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	double per_metric = bytes_per_metric(reg, srv, 20000);
	struct rusage ru0;
	getrusage(RUSAGE_SELF, &ru0);
	pthread_t *th = calloc((size_t)nclients, sizeof(*th));
	for (int i = 0; i < nclients; i++)
		pthread_create(&th[i], NULL, client, (void *)(intptr_t)i);
	/* wait until every metric exists */
	struct v4srv_stats st;
	do {
		usleep(10000);
		v4srv_get_stats(srv, &st);
	} while (st.metrics < (uint64_t)nclients * (uint64_t)nmetrics);
	size_t nds;
	collect_once(reg, &nds); /* first tick: descriptors built */
	size_t nt = (size_t)(seconds / 0.5) + 1;
	double *busy = calloc(nt, sizeof(double)), *idle = calloc(nt, sizeof(double));
	v4srv_get_stats(srv, &st);
	uint64_t m0 = st.messages;
	double t0 = now_mono();
	for (size_t k = 0; k < nt; k++) {
		usleep(500000);
		busy[k] = collect_once(reg, &nds);
	}
	double dt = now_mono() - t0;
	v4srv_get_stats(srv, &st);
	uint64_t m1 = st.messages;
	pause_clients = true;
	usleep(300000);
	for (size_t k = 0; k < nt; k++)
		idle[k] = collect_once(reg, &nds);
	struct rusage ru1;
	getrusage(RUSAGE_SELF, &ru1);
	stop_clients = true;
	v4srv_stop(srv);
	for (int i = 0; i < nclients; i++)
		pthread_join(th[i], NULL);
	qsort(busy, nt, sizeof(double), dcmp);
	qsort(idle, nt, sizeof(double), dcmp);
	double rate = (double)(m1 - m0) / dt;
	printf("%d clients x %d metrics, %.1f s, %zu data sources per tick, %llu messages "
	       "refused\n",
	       nclients, nmetrics, dt, nds, (unsigned long long)st.bad_messages);
	printf("updates taken by the server: %.0f/s (%.2fx the 100,000/s of issue 16)\n", rate,
	       rate / 100000.0);
	printf("per-tick read: p50 %.3f ms while streaming, %.3f ms idle: %.2fx\n",
	       busy[nt / 2] * 1e3, idle[nt / 2] * 1e3, busy[nt / 2] / idle[nt / 2]);
	printf("per-tick read p99-ish (max of %zu): %.3f ms streaming, %.3f ms idle\n", nt,
	       busy[nt - 1] * 1e3, idle[nt - 1] * 1e3);
	printf("peak RSS %ld KiB for %d metrics\n", ru1.ru_maxrss, nclients * nmetrics);
	printf("heap per v4 metric (20,000 on one connection: its state, page and decoded "
	       "chunk): %.0f B\n",
	       per_metric);
	plg_registry_free(reg);
	free(busy), free(idle), free(th);
	rmdir(dir);
	return 0;
}
