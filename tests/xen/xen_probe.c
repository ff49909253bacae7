/*
 * xen_probe: drives rrdd's Xen source (src_xen_ops) against whatever
 * hypervisor it runs on, and prints what the source saw, for the Xen tier's
 * checks (tests/xen/checks.sh) to compare with xl's view of the same host.
 *
 * Modes:
 *   xen_probe [--dom0-uuid U] [--samples N] [--interval S]
 *       Takes N samples S seconds apart and prints, as "key value" lines:
 *       every snapshot (snap.<i>.host.*, snap.<i>.dom.<domid>.*), the named
 *       samples of the last catalogue mapping (ds.host.<name>,
 *       ds.vm.<uuid>.<name>), and the per-second rate an RRD would store
 *       between the last two samples (rate.host.<name>, rate.vm.<uuid>.<name>:
 *       DERIVE difference over time with the DS transform applied, GAUGE as
 *       is, ABSOLUTE over time).
 *       snap.<i>.took is how long the sample took (seconds): every read of
 *       that snapshot lies within that long after snap.<i>.t.
 *       With --until FILE, each later sample waits for FILE to exist instead
 *       (at most --interval seconds), so a test can act between samples.
 *   xen_probe --loop SECONDS [--until FILE] [--dom0-uuid U]
 *       Samples back to back for SECONDS (with --until: until FILE has
 *       existed for 3 samples, SECONDS being the bound) and prints one
 *       summary line per sample (rc, domids present, domids flagged failed)
 *       and totals; used
 *       while a domain is destroyed to show a vanishing domain costs at most
 *       that domain its sample.
 *
 *   xen_probe --td3-feed DOMID DEVID --loop SECONDS [--until FILE]
 *       Plays a tapdisk3 serving VBD DEVID of DOMID: creates
 *       /dev/shm/td3-<its pid>/vbd-DOMID-DEVID (a 4096-byte page, blktap's
 *       struct stats at its start, little endian, written here byte by byte)
 *       and every 0.5 s completes 50 reads of 8 sectors waiting 100 us each
 *       and 10 writes of 8 sectors waiting 300 us each, with 10 reads in
 *       flight throughout and the low-memory flag set; until FILE exists or
 *       SECONDS have passed.
 *
 * It is a test driver, not part of rrdd: it links rrdd_core and uses only
 * the source's public contract (source.h, catalogue.h).  It judges nothing;
 * the checks do.  Exit status: 0, or 2 when the source cannot be opened or a
 * whole sample fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "export/numfmt.h"
#include "source/catalogue.h"
#include "source/source.h"

#define MAX_SAMPLES 16

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = {.tv_sec = (time_t)s,
	                      .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Wait until path exists, at most secs seconds. */
static void wait_for(const char *path, double secs)
{
	double end = now_s() + secs;
	while (access(path, F_OK) != 0 && now_s() < end)
		sleep_s(0.05);
}

static const char *fmt_d(char *buf, double v)
{
	numfmt_double(buf, v);
	return buf;
}

static void print_i64(const char *key, int64_t v)
{
	if (v == SRC_NO_VALUE)
		printf("%s none\n", key);
	else
		printf("%s %" PRId64 "\n", key, v);
}

static void print_snapshot(int i, const struct src_snapshot *s)
{
	char b[64], k[160];
	printf("snap.%d.t %s\n", i, fmt_d(b, s->t));
	const struct src_host *h = &s->host;
	printf("snap.%d.host.nr_cpus %" PRIu32 "\n", i, h->nr_cpus);
	for (uint32_t c = 0; c < h->nr_cpus; c++)
		printf("snap.%d.host.idle_ns.%" PRIu32 " %" PRIu64 "\n", i, c, h->idle_ns[c]);
	printf("snap.%d.host.total_kib %" PRId64 "\n", i, h->total_kib);
	printf("snap.%d.host.free_kib %" PRId64 "\n", i, h->free_kib);
	printf("snap.%d.host.loadavg %s\n", i, fmt_d(b, h->loadavg));
	for (uint32_t n = 0; n < h->nnet; n++)
		printf("snap.%d.host.net.%s.rx_bytes %" PRIu64
		       "\nsnap.%d.host.net.%s.tx_bytes %" PRIu64 "\n",
		       i, h->net[n].name, h->net[n].rx_bytes, i, h->net[n].name,
		       h->net[n].tx_bytes);
	printf("snap.%d.ndom %" PRIu32 "\n", i, s->ndom);
	for (uint32_t j = 0; j < s->ndom; j++) {
		const struct src_domain *d = &s->dom[j];
		char p[48];
		snprintf(p, sizeof(p), "snap.%d.dom.%" PRIu32, i, d->domid);
		printf("%s.uuid %s\n%s.raw_uuid %s\n%s.flags %u\n%s.failed %d\n%s.err %d\n", p,
		       d->uuid, p, d->raw_uuid, p, d->flags, p, (d->flags & SRC_DOM_FAILED) ? 1 : 0,
		       p, d->err);
		if (d->flags & SRC_DOM_FAILED)
			continue;
		printf("%s.cpu_time_ns %" PRIu64 "\n%s.nr_online_vcpus %" PRIu32
		       "\n%s.nvcpu %" PRIu32 "\n%s.memory_bytes %" PRIu64 "\n",
		       p, d->cpu_time_ns, p, d->nr_online_vcpus, p, d->nvcpu, p, d->memory_bytes);
		snprintf(k, sizeof(k), "%s.target_kib", p);
		print_i64(k, d->target_kib);
		snprintf(k, sizeof(k), "%s.free_kib", p);
		print_i64(k, d->free_kib);
		for (uint32_t v = 0; v < d->nvcpu; v++)
			printf("%s.vcpu.%" PRIu32 ".cpu_time_ns %" PRIu64 "\n%s.vcpu.%" PRIu32
			       ".online %d\n",
			       p, v, d->vcpu[v].cpu_time_ns, p, v, d->vcpu[v].online ? 1 : 0);
		printf("%s.nvif %" PRIu32 "\n", p, d->nvif);
		for (uint32_t v = 0; v < d->nvif; v++) {
			const struct src_vif *f = &d->vif[v];
			printf("%s.vif.%" PRIu32 ".rx_bytes %" PRIu64 "\n%s.vif.%" PRIu32
			       ".tx_bytes %" PRIu64 "\n",
			       p, f->devid, f->rx_bytes, p, f->devid, f->tx_bytes);
		}
		printf("%s.nvbd %" PRIu32 "\n", p, d->nvbd);
		for (uint32_t v = 0; v < d->nvbd; v++) {
			const struct src_vbd *bd = &d->vbd[v];
			printf("%s.vbd.%s.devid %" PRIu32 "\n%s.vbd.%s.rd_reqs %" PRIu64
			       "\n%s.vbd.%s.wr_reqs %" PRIu64 "\n%s.vbd.%s.rd_sectors %" PRIu64
			       "\n%s.vbd.%s.wr_sectors %" PRIu64 "\n%s.vbd.%s.error %d\n",
			       p, bd->name, bd->devid, p, bd->name, bd->rd_reqs, p, bd->name,
			       bd->wr_reqs, p, bd->name, bd->rd_sectors, p, bd->name,
			       bd->wr_sectors, p, bd->name, bd->error ? 1 : 0);
		}
	}
}

static int dsval_num(struct dsval v, double *out)
{
	if (v.type == VAL_INT64)
		*out = (double)v.i;
	else if (v.type == VAL_FLOAT)
		*out = v.f;
	else
		return -1;
	return 0;
}

static void owner_prefix(const struct src_owner *o, char *buf, size_t len)
{
	if (o->kind == MON_HOST)
		snprintf(buf, len, "host");
	else
		snprintf(buf, len, "vm.%s", o->uuid);
}

/* The value an RRD fed with prev then cur would record for this DS. */
static void print_rate(const char *pfx, const struct src_ds *ds, const struct src_ds *pds,
                       double dt)
{
	char b[64];
	double v, pv, r;
	if (dsval_num(ds->v, &v) < 0) {
		printf("rate.%s.%s unknown\n", pfx, ds->name);
		return;
	}
	switch (ds->def->d.type) {
	case DS_GAUGE:
		r = v;
		break;
	case DS_ABSOLUTE:
		r = dt > 0 ? v / dt : NAN;
		break;
	case DS_DERIVE:
	default:
		if (!pds || dsval_num(pds->v, &pv) < 0 || dt <= 0) {
			printf("rate.%s.%s unknown\n", pfx, ds->name);
			return;
		}
		r = (v - pv) / dt;
		break;
	}
	if (ds->def->d.transform == TR_INVERSE)
		r = 1.0 - r;
	printf("rate.%s.%s %s\n", pfx, ds->name, fmt_d(b, r));
}

static void print_samples(const struct src_samples *cur, const struct src_samples *prev)
{
	char b[64], pfx[64];
	double dt = prev ? cur->t - prev->t : 0;
	printf("rate.dt %s\n", fmt_d(b, dt));
	for (uint32_t i = 0; i < cur->nowner; i++) {
		const struct src_owner *o = &cur->owner[i];
		owner_prefix(o, pfx, sizeof(pfx));
		if (o->kind == MON_VM)
			printf("owner.%s.domid %" PRIu32 "\nowner.%s.restarted %d\n", o->uuid,
			       o->domid, o->uuid, o->restarted ? 1 : 0);
		const struct src_owner *po =
		    prev ? src_samples_owner(prev, o->kind == MON_HOST ? NULL : o->uuid) : NULL;
		for (uint32_t k = 0; k < o->nds; k++) {
			const struct src_ds *ds = &o->ds[k];
			double v;
			if (dsval_num(ds->v, &v) < 0)
				printf("ds.%s.%s unknown\n", pfx, ds->name);
			else if (ds->v.type == VAL_INT64)
				printf("ds.%s.%s %" PRId64 "\n", pfx, ds->name, ds->v.i);
			else
				printf("ds.%s.%s %s\n", pfx, ds->name, fmt_d(b, v));
			if (prev)
				print_rate(pfx, ds, po ? src_owner_ds(po, ds->name) : NULL, dt);
		}
	}
}

/* Back-to-back samples for at most secs seconds; with until, stop once that
 * file has existed for LOOP_AFTER samples. */
#define LOOP_AFTER 3
static int run_loop(struct src *s, double secs, const char *until)
{
	int after = 0;
	struct src_snapshot snap;
	memset(&snap, 0, sizeof(snap));
	double end = now_s() + secs;
	unsigned long n = 0, bad = 0, flagged = 0;
	while (now_s() < end && after < LOOP_AFTER) {
		int seen = until && access(until, F_OK) == 0;
		int rc = src_sample(s, now_s(), &snap);
		after += seen;
		n++;
		if (rc < 0) {
			bad++;
			printf("loop.%lu rc %d\n", n, rc);
			continue;
		}
		/* one line per sample: the domids present, failed ones marked '!' */
		printf("loop.%lu rc 0 doms", n);
		for (uint32_t j = 0; j < snap.ndom; j++) {
			const struct src_domain *d = &snap.dom[j];
			int f = (d->flags & SRC_DOM_FAILED) != 0;
			flagged += (unsigned long)f;
			printf(" %" PRIu32 "%s%s", d->domid, f ? "!" : "",
			       (d->flags & SRC_DOM_DYING) ? "d" : "");
		}
		printf("\n");
		fflush(stdout);
		sleep_s(0.002);
	}
	src_snapshot_clear(&snap);
	printf("loop.samples %lu\nloop.failed_samples %lu\nloop.flagged_domains %lu\n", n, bad,
	       flagged);
	return bad ? 2 : 0;
}

/* ---- a stand-in tapdisk3 ---- */

static void put_le(unsigned char *b, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static int td3_feed(uint32_t domid, uint32_t devid, double secs, const char *until)
{
	char dir[64], path[128];
	snprintf(dir, sizeof(dir), "/dev/shm/td3-%ld", (long)getpid());
	snprintf(path, sizeof(path), "%s/vbd-%" PRIu32 "-%" PRIu32, dir, domid, devid);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "xen_probe: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	unsigned char page[4096] = {0};
	if (fd < 0 || write(fd, page, sizeof(page)) != (ssize_t)sizeof(page)) {
		fprintf(stderr, "xen_probe: %s: %s\n", path, strerror(errno));
		return 2;
	}
	/* oo, rd_sub, rd_comp, rd_sect, rd_ticks, wr_sub, wr_comp, wr_sect,
	 * wr_ticks, io_errors, flags */
	uint64_t f[11] = {0, 1010, 1000, 8000, 100000, 200, 200, 1600, 60000, 0, 1};
	double end = now_s() + secs;
	printf("td3.page %s\n", path);
	fflush(stdout);
	for (unsigned long n = 0; now_s() < end && !(until && access(until, F_OK) == 0); n++) {
		put_le(page, 1, 4);
		for (int k = 0; k < 11; k++)
			put_le(page + 8 + 8 * k, f[k], 8);
		if (pwrite(fd, page, 96, 0) != 96)
			return 2;
		f[1] += 50, f[2] += 50, f[3] += 400, f[4] += 5000;
		f[5] += 10, f[6] += 10, f[7] += 80, f[8] += 3000;
		sleep_s(0.5);
	}
	close(fd);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: xen_probe [--dom0-uuid U] [--samples N] [--interval S] [--until FILE]\n"
	        "       xen_probe [--dom0-uuid U] --loop SECONDS [--until FILE]\n"
	        "       xen_probe --td3-feed DOMID DEVID --loop SECONDS [--until FILE]\n");
	exit(64);
}

int main(int argc, char **argv)
{
	struct src_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	int nsamples = 2;
	double interval = 3.0, loop = 0;
	const char *until = NULL;
	long feed_dom = -1, feed_dev = -1;
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--td3-feed") == 0 && i + 2 < argc) {
			feed_dom = atol(argv[++i]);
			feed_dev = atol(argv[++i]);
		} else if (strcmp(argv[i], "--dom0-uuid") == 0)
			cfg.dom0_uuid = argv[++i];
		else if (strcmp(argv[i], "--samples") == 0)
			nsamples = atoi(argv[++i]);
		else if (strcmp(argv[i], "--interval") == 0)
			interval = atof(argv[++i]);
		else if (strcmp(argv[i], "--until") == 0)
			until = argv[++i];
		else if (strcmp(argv[i], "--loop") == 0)
			loop = atof(argv[++i]);
		else
			usage();
	}
	if (nsamples < 1 || nsamples > MAX_SAMPLES || !(interval >= 0))
		usage();
	if (feed_dom >= 0 && feed_dev >= 0 && loop > 0)
		return td3_feed((uint32_t)feed_dom, (uint32_t)feed_dev, loop, until);

	struct src *s = NULL;
	int rc = src_open(&src_xen_ops, &cfg, &s);
	if (rc < 0) {
		printf("open.rc %d\n", rc);
		fprintf(stderr, "xen_probe: cannot open the xen source: %s\n", strerror(-rc));
		return 2;
	}
	printf("open.rc 0\n");
	if (loop > 0) {
		rc = run_loop(s, loop, until);
		src_close(s);
		return rc;
	}

	struct src_snapshot snap[2];
	struct src_samples smp[2];
	memset(snap, 0, sizeof(snap));
	memset(smp, 0, sizeof(smp));
	int status = 0;
	for (int i = 0; i < nsamples; i++) {
		if (i > 0 && until)
			wait_for(until, interval);
		else if (i > 0)
			sleep_s(interval);
		struct src_snapshot *cur = &snap[i & 1], *prev = i ? &snap[(i - 1) & 1] : NULL;
		char tb[64];
		double t0 = now_s();
		rc = src_sample(s, t0, cur);
		printf("snap.%d.rc %d\nsnap.%d.took %s\n", i, rc, i, fmt_d(tb, now_s() - t0));
		fflush(stdout);
		if (rc < 0) {
			status = 2;
			break;
		}
		print_snapshot(i, cur);
		src_map(prev, cur, &smp[i & 1]);
		if (i == nsamples - 1)
			print_samples(&smp[i & 1], i ? &smp[(i - 1) & 1] : NULL);
	}
	for (int i = 0; i < 2; i++) {
		src_samples_clear(&smp[i]);
		src_snapshot_clear(&snap[i]);
	}
	src_close(s);
	printf("probe.status %d\n", status);
	return status;
}
