/*
 * The VBD figures of xcp-rrdd's iostat collector (rrdp_iostat.ml,
 * Stats_value and Iostats_value), per VBD and per SR (catalogue_impl.h).
 *
 * Pure.  Differences, on purpose: per-interval figures are unknown when
 * there is no previous sample of the device (iostat reports the counters
 * since the tapdisk started); the SR byte counters are the running sum of
 * the VBDs' increments (iostat sums the VBDs' own counters, so a VBD that
 * appears reads as a burst of its whole history); inflight is what the page
 * shows in flight now (iostat subtracts the previous sample's completions).
 */
#include <math.h>
#include <string.h>

#include "source/catalogue_impl.h"
#include "util/xalloc.h"

void cat_vbd_figures(const struct src_vbd *b, const struct src_vbd *pb, double dt,
                     struct cat_vbd_fig *f)
{
	memset(f, 0, sizeof(*f));
	f->qu = NAN;
	f->ticks = b->have_ticks;
	f->inflight = b->inflight;
	if (b->error)
		return;
	f->counters = true;
	f->rd_bytes = b->rd_sectors * 512;
	f->wr_bytes = b->wr_sectors * 512;
	/* per-interval figures need a previous sample of the same device with
	 * counters that did not go backwards */
	if (!pb || pb->error || b->rd_reqs < pb->rd_reqs || b->wr_reqs < pb->wr_reqs ||
	    b->rd_sectors < pb->rd_sectors || b->wr_sectors < pb->wr_sectors)
		return;
	if (b->have_ticks && (!pb->have_ticks || b->rd_ticks_us < pb->rd_ticks_us ||
	                      b->wr_ticks_us < pb->wr_ticks_us))
		return;
	f->rates = true;
	f->d_rd_bytes = (b->rd_sectors - pb->rd_sectors) * 512;
	f->d_wr_bytes = (b->wr_sectors - pb->wr_sectors) * 512;
	f->mr = (double)f->d_rd_bytes / 1048576.0;
	f->mw = (double)f->d_wr_bytes / 1048576.0;
	f->dr = b->rd_reqs - pb->rd_reqs;
	f->dw = b->wr_reqs - pb->wr_reqs;
	if (!b->have_ticks)
		return;
	uint64_t tkr = b->rd_ticks_us - pb->rd_ticks_us;
	uint64_t tkw = b->wr_ticks_us - pb->wr_ticks_us;
	f->rlat = f->dr ? tkr / f->dr : 0;
	f->wlat = f->dw ? tkw / f->dw : 0;
	f->wait = (double)(tkr + tkw) / 1e6;
	f->lat = f->dr + f->dw ? (double)(tkr + tkw) / (double)(f->dr + f->dw) : 0.0;
	if (dt > 0)
		f->qu = (double)(tkr + tkw) / 1e6 / dt;
}

struct cat_sr *cat_sr_get(struct cat_srs *s, const char *sr, uint64_t gen)
{
	char key[9];
	memcpy(key, sr, 8);
	key[8] = '\0';
	struct cat_sr *a = NULL;
	for (uint32_t i = 0; i < s->n && !a; i++)
		if (memcmp(s->v[i].key, key, 9) == 0)
			a = &s->v[i];
	if (!a) {
		if (s->n >= CAT_MAX_SRS)
			return NULL;
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 8;
			s->v = xrealloc(s->v, sizeof(*s->v) * s->cap);
		}
		a = &s->v[s->n++];
		memset(a, 0, sizeof(*a));
		memcpy(a->key, key, 9);
	}
	if (a->gen != gen) {
		uint64_t rd = a->rd_bytes, wr = a->wr_bytes;
		memset(a, 0, sizeof(*a));
		memcpy(a->key, key, 9);
		a->rd_bytes = rd;
		a->wr_bytes = wr;
		a->gen = gen;
	}
	return a;
}

void cat_sr_add(struct cat_sr *a, const struct cat_vbd_fig *f)
{
	a->ticks |= f->ticks;
	a->inflight += f->inflight;
	if (!f->rates)
		return;
	a->rates = true;
	a->rd_bytes += f->d_rd_bytes;
	a->wr_bytes += f->d_wr_bytes;
	a->mr += f->mr;
	a->mw += f->mw;
	a->dr += f->dr;
	a->dw += f->dw;
	a->rlat += f->rlat;
	a->wlat += f->wlat;
	a->wait += f->wait;
	if (f->lat > a->lat)
		a->lat = f->lat;
	if (!isnan(f->qu) && f->qu > a->qu)
		a->qu = f->qu;
}

void cat_srs_evict(struct cat_srs *s, uint64_t gen)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->v[i].gen == gen)
			s->v[k++] = s->v[i];
	s->n = k;
}
