/*
 * bench_export: throughput of the rrd_updates writers (XML and JSON) on a
 * large pool: 1024 VM RRDs of 25 DSs (default VM RRA set) plus a 200-DS host
 * RRD (default host RRA set), every ring full of metric-like values.  Two
 * requests: start=-600 (5-s archive, 120 rows) and start=-600000 (1-h
 * archive, 167 rows, host AVERAGE/MIN/MAX).  The peer, run in the same
 * process on the same plan, is a straightforward writer that formats every
 * number with snprintf("%.15g") and appends it with buf_printf; its output
 * must be byte-identical to ours (exit status 1 otherwise).
 *
 *   bench_export [vms] [repeats]     defaults 1024 and 3
 *
 * Not a test: timings are printed, not judged.  Never linked into rrdd.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export/updates.h"
#include "rrd/rrd.h"
#include "util/buf.h"

#define VM_DS   25
#define HOST_DS 200
/* Not a multiple of 5: as with real (jittered) timestamps, start=-600 then
 * falls inside the 5-s archive (fixtures README addendum D). */
#define LAST 1700000002.37

static uint64_t rng_state = 42;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_unit(void)
{
	return (double)(rng_next() >> 11) * 0x1p-53;
}

/* What metrics look like: CPU fractions, memory sizes in KiB, byte rates
 * with fractions, and a few unknowns. */
static float metric(uint32_t ds)
{
	if (rng_next() % 50 == 0)
		return NAN;
	switch (ds % 4) {
	case 0:
		return (float)rng_unit();
	case 1:
		return (float)(uint32_t)(rng_next() % 16777216);
	case 2:
		return (float)(rng_unit() * 1e7);
	default:
		return rng_next() % 3 ? 0.0f : (float)(rng_unit() * 100);
	}
}

static struct rrdb *make_rrd(int host, uint32_t nds)
{
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nrra = rrdb_default_rras(host, rras);
	struct rrdb_ds_def *defs = calloc(nds, sizeof(*defs));
	char(*names)[32] = calloc(nds, 32);
	for (uint32_t i = 0; i < nds; i++) {
		snprintf(names[i], 32, "%s_metric_%u", host ? "host" : "vm", i);
		defs[i] = (struct rrdb_ds_def){.name = names[i],
		                               .type = DS_GAUGE,
		                               .min = -INFINITY,
		                               .max = INFINITY,
		                               .mrhb = 300,
		                               .initial_last = DSVAL_UNKNOWN};
	}
	struct rrdb *r = rrdb_alloc(5, rras, nrra, defs, nds);
	if (!r)
		abort();
	r->last_updated = LAST;
	float *v = malloc(sizeof(float) * 17280);
	for (uint32_t d = 0; d < nds; d++) {
		r->ds[d].last_updated = LAST;
		for (uint32_t k = 0; k < r->nrra; k++) {
			for (uint32_t i = 0; i < r->rra[k].rows; i++)
				v[i] = metric(d);
			rrdb_ring_load(r, d, k, v, r->rra[k].rows);
		}
	}
	free(v);
	free(defs);
	free(names);
	return r;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The peer: the same document, every number through snprintf. */
static void peer_num(struct buf *b, double v)
{
	if (isnan(v))
		buf_adds(b, "NaN");
	else if (isinf(v))
		buf_adds(b, v > 0 ? "Infinity" : "-Infinity");
	else if (v == 0)
		buf_adds(b, "0.0");
	else
		buf_printf(b, "%.15g", v);
}

static void peer_rows(struct buf *b, const struct exp_updates_plan *p, int json)
{
	for (uint32_t i = 0; i < p->rows; i++) {
		int64_t t = p->end - (int64_t)i * p->step;
		if (json)
			buf_printf(b, "%s{\"t\":\"%" PRId64 "\",\"values\":[", i ? "," : "", t);
		else
			buf_printf(b, "<row><t>%" PRId64 "</t>", t);
		for (uint32_t c = 0; c < p->ncols; c++) {
			const struct exp_updates_col *col = &p->cols[c];
			double v = i < col->lag ? NAN
			                        : rrdb_peek(col->rrd, col->ds, col->rra,
			                                    (uint32_t)(i - col->lag));
			if (json) {
				buf_adds(b, c ? ",\"" : "\"");
				peer_num(b, v);
				buf_addc(b, '"');
			} else {
				buf_adds(b, "<v>");
				peer_num(b, v);
				buf_adds(b, "</v>");
			}
		}
		buf_adds(b, json ? "]}" : "</row>");
	}
}

static int run(const char *label, const struct exp_updates_src *src, size_t n, int64_t start,
               int repeats)
{
	struct exp_updates_plan p;
	double t0 = now();
	int err = exp_updates_plan(&p, src, n, start, 0, NULL);
	double tplan = now() - t0;
	if (err) {
		fprintf(stderr, "plan failed: %d\n", err);
		return 1;
	}
	double values = (double)p.rows * p.ncols;
	printf("%s: step %" PRId64 " s, %u rows x %u columns = %.0f values, plan %.1f ms\n", label,
	       p.step, p.rows, p.ncols, values, tplan * 1e3);
	int bad = 0;
	for (int json = 0; json < 2; json++) {
		struct buf ours = BUF_INIT, peer = BUF_INIT;
		double best = INFINITY, best_peer = INFINITY;
		for (int r = 0; r < repeats; r++) {
			buf_reset(&ours);
			t0 = now();
			if (json)
				exp_updates_json(&ours, &p);
			else
				exp_updates_xml(&ours, &p);
			double t = now() - t0;
			best = t < best ? t : best;

			buf_reset(&peer);
			t0 = now();
			if (json)
				exp_updates_json_head(&peer, &p);
			else
				exp_updates_xml_head(&peer, &p);
			peer_rows(&peer, &p, json);
			if (json)
				exp_updates_json_tail(&peer, &p);
			else
				exp_updates_xml_tail(&peer, &p);
			t = now() - t0;
			best_peer = t < best_peer ? t : best_peer;
		}
		int same = ours.len == peer.len && memcmp(ours.p, peer.p, ours.len) == 0;
		bad |= !same;
		printf("  %-4s %7.1f MB  ours %6.1f M values/s %6.0f MB/s | snprintf peer %6.1f M "
		       "values/s %5.0f MB/s | ratio %.2fx%s\n",
		       json ? "JSON" : "XML", (double)ours.len / 1e6, values / best / 1e6,
		       (double)ours.len / best / 1e6, values / best_peer / 1e6,
		       (double)peer.len / best_peer / 1e6, best_peer / best,
		       same ? "" : "  OUTPUT DIFFERS");
		buf_free(&ours);
		buf_free(&peer);
	}
	exp_updates_plan_free(&p);
	return bad;
}

int main(int argc, char **argv)
{
	int nvm = argc > 1 ? atoi(argv[1]) : 1024;
	int repeats = argc > 2 ? atoi(argv[2]) : 3;
	if (nvm < 0 || repeats < 1) {
		fprintf(stderr, "usage: bench_export [vms] [repeats]\n");
		return 2;
	}
	double t0 = now();
	size_t n = (size_t)nvm + 1;
	struct exp_updates_src *src = calloc(n, sizeof(*src));
	char(*prefix)[64] = calloc(n, 64);
	snprintf(prefix[0], 64, "host:7d3c1a52-8e44-4f0b-a6d2-3b9e5c71f0aa:");
	src[0] = (struct exp_updates_src){prefix[0], make_rrd(1, HOST_DS)};
	for (size_t i = 1; i < n; i++) {
		snprintf(prefix[i], 64, "vm:%08zx-4f50-6172-8394-a5b6c7d8e9f0:", i);
		src[i] = (struct exp_updates_src){prefix[i], make_rrd(0, VM_DS)};
	}
	printf("pool: host (%d DSs, 10 RRAs) + %d VMs x %d DSs (4 RRAs), built in %.1f s\n",
	       HOST_DS, nvm, VM_DS, now() - t0);
	int bad = run("start=-600", src, n, -600, repeats);
	bad |= run("start=-600000", src, n, -600000, repeats);
	for (size_t i = 0; i < n; i++)
		rrdb_free((struct rrdb *)src[i].rrd);
	free(src);
	free(prefix);
	return bad;
}
