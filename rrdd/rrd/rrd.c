/*
 * The RRD engine: creation, DS add/remove, updates and consolidation.
 *
 * Pure: no I/O, no clock, no locks, no logging.
 *
 * The arithmetic follows xcp-rrdd's rrd.ml operation by operation where its
 * behaviour is sound (so exports of clean data are byte-identical), and
 * rrdtool's rrd_update.c where xcp-rrdd has verified bugs (docs/differences.md
 * lists each one with the test that shows it):
 *  - an unknown PDP stays unknown (NaN) in every archive, whatever the xff;
 *  - MIN/MAX/AVERAGE CDPs are never rescaled: AVERAGE divides the sum of the
 *    known PDPs by their count when the row is written;
 *  - the PDP that closes a row is not carried into the next row;
 *  - a DERIVE PDP is the integral over the known part of the PDP-aligned span
 *    divided by that part, and 'last' is refreshed even when the sample is
 *    unusable, so no spike follows a missed sample or a long gap;
 *  - an ABSOLUTE PDP is the time-weighted mean rate of the samples inside the
 *    PDP (xcp-rrdd keeps only the last sample's rate, losing the counts of the
 *    others); a PDP covered by one sample is that sample's rate exactly;
 *  - a GAUGE PDP is the last known reading in it, as xcp-rrdd does since
 *    CA-404597 (rrdtool would time-weight): a gauge reads as a reading;
 *  - a DS's rate is checked against [min, max] per sample, as rrdtool does;
 *  - an int64/float switch of a DERIVE counter is converted, never an error;
 *  - a PDP more than half unknown (before the closing sample) is unknown;
 *  - an update that closes several PDPs, the first of them already open,
 *    closes that first PDP on its own and gives the following ones the
 *    sample's rate (rrdtool >= 1.5); xcp-rrdd smears one mean over all of
 *    them, so a fully unknown PDP could get a value from its neighbour.
 */
#include "rrd/rrd.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define MAX_RRAS 64

/* Timing of one update interval, shared by every DS with the same
 * last_updated (all DSs of one plugin, typically). */
struct plan {
	double last, t;
	double interval;
	int64_t proc_pdp_st; /* start of the PDP holding 'last' */
	int64_t elapsed;     /* PDP boundaries crossed */
	double pre_int, post_int;
	double span; /* occu_pdp_st - proc_pdp_st */
	struct {
		uint64_t n1;    /* PDPs added to the current CDP */
		uint64_t steps; /* rows written */
		uint64_t n2;    /* PDPs added to the next CDP */
		/* the same as doubles, and the RRA's pdp_cnt: converted once per
		 * plan instead of once per DS (the arithmetic is the same) */
		double n1d, n2d, cnt;
	} rra[MAX_RRAS];
};

static const char *const cf_names[] = {"AVERAGE", "MIN", "MAX", "LAST"};
static const char *const type_names[] = {"GAUGE", "ABSOLUTE", "DERIVE"};

const char *rrdb_cf_name(enum cf_type cf)
{
	return (unsigned)cf < 4 ? cf_names[cf] : "?";
}

const char *rrdb_type_name(enum ds_type t)
{
	return (unsigned)t < 3 ? type_names[t] : "?";
}

int rrdb_cf_parse(const char *s, enum cf_type *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, cf_names[i]) == 0)
			return *out = (enum cf_type)i, 0;
	return -EINVAL;
}

int rrdb_type_parse(const char *s, enum ds_type *out)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, type_names[i]) == 0)
			return *out = (enum ds_type)i, 0;
	return -EINVAL;
}

/* xcp-rrdd's cf_init_value: the CF's neutral value clamped into [min, max]
 * (AVERAGE starts from 0 whatever the range: it holds a sum). */
static double cf_init(enum cf_type cf, const struct rrdb_ds *d)
{
	double v;
	switch (cf) {
	case CF_AVERAGE:
		return 0.0;
	case CF_MIN:
		v = INFINITY;
		break;
	case CF_MAX:
		v = -INFINITY;
		break;
	default:
		return NAN;
	}
	if (v < d->min)
		v = d->min;
	if (v > d->max)
		v = d->max;
	return v;
}

static int64_t pdp_start(double t, uint32_t step)
{
	return (int64_t)floor(t / step) * step;
}

static double apply_transform(enum ds_transform tr, double x)
{
	return tr == TR_INVERSE ? 1.0 - x : x;
}

static int valid_def(const struct rrdb_ds_def *d)
{
	return d->name && d->name[0] && (unsigned)d->type <= DS_DERIVE &&
	       (unsigned)d->transform <= TR_INVERSE && !isnan(d->mrhb) && d->mrhb > 0 &&
	       !(d->min > d->max);
}

/* The block layout for cap DSs: CDP area, then the rings area (aligned to
 * a cache line): per RRA a matrix of rows x cap floats (rrd.h). */
static size_t blk_cdp_bytes(const struct rrdb *r, uint32_t cap)
{
	size_t b = sizeof(struct rrdb_cdp) * r->nrra * cap;
	return (b + 63) & ~(size_t)63;
}

static size_t blk_bytes(const struct rrdb *r, uint32_t cap)
{
	return blk_cdp_bytes(r, cap) + sizeof(float) * r->rows_total * (size_t)cap;
}

static struct rrdb_cdp *blk_cdp(const struct rrdb *r, void *blk, uint32_t i)
{
	return (struct rrdb_cdp *)blk + (size_t)i * r->nrra;
}

static float *blk_rings(const struct rrdb *r, void *blk, uint32_t cap)
{
	return (float *)(void *)((char *)blk + blk_cdp_bytes(r, cap));
}

static void *blk_alloc(const struct rrdb *r, uint32_t cap)
{
	void *b = NULL;
	size_t n = blk_bytes(r, cap ? cap : 1);
	if (posix_memalign(&b, 64, n) != 0 || !b)
		b = xmalloc(n); /* aborts: out of memory */
	return b;
}

/* Point every DS at its CDPs, and the RRD at its ring matrices. */
static void blk_point(struct rrdb *r)
{
	for (uint32_t i = 0; i < r->nds; i++)
		r->ds[i].cdp = blk_cdp(r, r->blk, i);
	r->rings = blk_rings(r, r->blk, r->cap_blk);
	size_t off = 0;
	for (uint32_t k = 0; k < r->nrra; k++) {
		r->rra[k].ring_off = off;
		off += (size_t)r->rra[k].rows * r->cap_blk;
	}
}

/* Copy the CDPs and ring columns of the first n DSs of block src (room for
 * scap DSs) into block dst (room for dcap >= n). */
static void blk_copy(const struct rrdb *r, void *dst, uint32_t dcap, void *src, uint32_t scap,
                     uint32_t n)
{
	memcpy(dst, src, sizeof(struct rrdb_cdp) * r->nrra * n);
	float *d = blk_rings(r, dst, dcap), *s = blk_rings(r, src, scap);
	for (uint32_t i = 0; i < r->rows_total; i++)
		memcpy(d + (size_t)i * dcap, s + (size_t)i * scap, sizeof(float) * n);
}

/* Make room in the block for n DSs (moving it if needed). */
static void blk_reserve(struct rrdb *r, uint32_t n)
{
	if (n <= r->cap_blk && r->blk)
		return;
	uint32_t cap = n + n / 8 + 1;
	void *nb = blk_alloc(r, cap);
	if (r->blk) {
		blk_copy(r, nb, cap, r->blk, r->cap_blk, r->nds);
		free(r->blk);
	}
	r->blk = nb;
	r->cap_blk = cap;
	blk_point(r);
}

/* Initialise DS slot i (its block slot must exist). */
static void ds_init(struct rrdb *r, uint32_t i, const struct rrdb_ds_def *def)
{
	struct rrdb_ds *d = &r->ds[i];
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(def->name);
	d->type = def->type;
	d->transform = def->transform;
	d->min = isnan(def->min) ? -INFINITY : def->min;
	d->max = isnan(def->max) ? INFINITY : def->max;
	d->mrhb = def->mrhb;
	d->last = def->initial_last;
	d->cdp = blk_cdp(r, r->blk, i);
	float *col = blk_rings(r, r->blk, r->cap_blk) + i; /* every matrix row in turn */
	for (uint32_t k = 0; k < r->rows_total; k++)
		col[(size_t)k * r->cap_blk] = NAN;
	for (uint32_t k = 0; k < r->nrra; k++) {
		d->cdp[k].value = cf_init(r->rra[k].cf, d);
		d->cdp[k].unknown_pdps = 0;
		d->cdp[k].head = r->rra[k].rows - 1;
	}
}

/* State of a DS that starts at time t: what came before t is unknown. */
static void ds_start_at(struct rrdb *r, struct rrdb_ds *d, double t)
{
	int64_t st = pdp_start(t, r->step);
	d->last_updated = t;
	d->value = 0.0;
	d->unknown_sec = t - (double)st;
	for (uint32_t k = 0; k < r->nrra; k++)
		d->cdp[k].unknown_pdps = (uint32_t)((st / r->step) % r->rra[k].pdp_cnt);
}

static void ds_release(struct rrdb_ds *d)
{
	free(d->name);
}

struct rrdb *rrdb_alloc(uint32_t step, const struct rrdb_rra_def *rras, size_t nrra,
                        const struct rrdb_ds_def *dss, size_t nds)
{
	if (step == 0 || nrra > MAX_RRAS)
		return NULL;
	for (size_t k = 0; k < nrra; k++)
		if (rras[k].rows == 0 || rras[k].pdp_cnt == 0 || (unsigned)rras[k].cf > CF_LAST ||
		    !(rras[k].xff >= 0 && rras[k].xff <= 1))
			return NULL;
	for (size_t i = 0; i < nds; i++) {
		if (!valid_def(&dss[i]))
			return NULL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(dss[i].name, dss[j].name) == 0)
				return NULL;
	}
	struct rrdb *r = xcalloc(1, sizeof(*r));
	r->step = step;
	r->nrra = (uint32_t)nrra;
	r->rra = xcalloc(nrra ? nrra : 1, sizeof(*r->rra));
	for (size_t k = 0; k < nrra; k++) {
		r->rra[k].cf = rras[k].cf;
		r->rra[k].rows = rras[k].rows;
		r->rra[k].pdp_cnt = rras[k].pdp_cnt;
		r->rra[k].xff = rras[k].xff;
		r->rows_total += rras[k].rows;
	}
	r->cap_ds = nds ? (uint32_t)nds : 4;
	r->ds = xcalloc(r->cap_ds, sizeof(*r->ds));
	r->cap_blk = (uint32_t)nds;
	r->blk = blk_alloc(r, r->cap_blk);
	blk_point(r);
	for (size_t i = 0; i < nds; i++)
		ds_init(r, (uint32_t)i, &dss[i]);
	r->nds = (uint32_t)nds;
	return r;
}

struct rrdb *rrdb_new(uint32_t step, double created, const struct rrdb_rra_def *rras, size_t nrra,
                      const struct rrdb_ds_def *dss, size_t nds)
{
	if (!isfinite(created))
		return NULL;
	struct rrdb *r = rrdb_alloc(step, rras, nrra, dss, nds);
	if (!r)
		return NULL;
	r->last_updated = created;
	for (uint32_t i = 0; i < r->nds; i++)
		ds_start_at(r, &r->ds[i], created);
	return r;
}

void rrdb_free(struct rrdb *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < r->nds; i++)
		ds_release(&r->ds[i]);
	free(r->ds);
	free(r->blk);
	free(r->rra);
	free(r);
}

struct rrdb *rrdb_dup(const struct rrdb *r)
{
	struct rrdb *c = xmalloc(sizeof(*c));
	*c = *r;
	c->rra = xmalloc(sizeof(*c->rra) * (r->nrra ? r->nrra : 1));
	memcpy(c->rra, r->rra, sizeof(*c->rra) * r->nrra);
	c->ds = xmalloc(sizeof(*c->ds) * r->cap_ds);
	memcpy(c->ds, r->ds, sizeof(*c->ds) * r->nds);
	for (uint32_t i = 0; i < r->nds; i++)
		c->ds[i].name = xstrdup(r->ds[i].name);
	c->cap_blk = r->nds; /* a copy is for reading: no room to grow */
	c->blk = blk_alloc(c, c->cap_blk);
	blk_copy(r, c->blk, c->cap_blk, r->blk, r->cap_blk, r->nds);
	blk_point(c);
	return c;
}

int rrdb_find_ds(const struct rrdb *r, const char *name)
{
	for (uint32_t i = 0; i < r->nds; i++)
		if (strcmp(r->ds[i].name, name) == 0)
			return (int)i;
	return -1;
}

int rrdb_add_ds(struct rrdb *r, double t, const struct rrdb_ds_def *def)
{
	if (!valid_def(def) || !isfinite(t))
		return -EINVAL;
	int i = rrdb_find_ds(r, def->name);
	if (i >= 0)
		return i;
	return rrdb_append_ds(r, t, def);
}

int rrdb_append_ds(struct rrdb *r, double t, const struct rrdb_ds_def *def)
{
	if (!valid_def(def) || !isfinite(t))
		return -EINVAL;
	if (r->nds == r->cap_ds) {
		r->cap_ds *= 2;
		r->ds = xrealloc(r->ds, sizeof(*r->ds) * r->cap_ds);
		blk_point(r);
	}
	blk_reserve(r, r->nds + 1);
	ds_init(r, r->nds, def);
	/* its rings are all NaN, so any slot can be its head: take the first
	 * DS's, so that updates of both keep writing one matrix row */
	for (uint32_t k = 0; r->nds && k < r->nrra; k++)
		r->ds[r->nds].cdp[k].head = r->ds[0].cdp[k].head;
	ds_start_at(r, &r->ds[r->nds], t);
	return (int)r->nds++;
}

int rrdb_remove_ds(struct rrdb *r, const char *name)
{
	int i = rrdb_find_ds(r, name);
	if (i < 0)
		return -ENOENT;
	uint32_t after = r->nds - (uint32_t)i - 1;
	ds_release(&r->ds[i]);
	memmove(&r->ds[i], &r->ds[i + 1], sizeof(*r->ds) * after);
	memmove(blk_cdp(r, r->blk, (uint32_t)i), blk_cdp(r, r->blk, (uint32_t)i + 1),
	        sizeof(struct rrdb_cdp) * r->nrra * after);
	for (uint32_t k = 0; k < r->rows_total; k++) {
		float *row = r->rings + (size_t)k * r->cap_blk;
		memmove(row + i, row + i + 1, sizeof(float) * after);
	}
	r->nds--;
	blk_point(r);
	return 0;
}

double rrdb_peek(const struct rrdb *r, uint32_t ds, uint32_t rra, uint32_t i)
{
	const struct rrdb_rra *a = &r->rra[rra];
	uint32_t head = r->ds[ds].cdp[rra].head, back = i < a->rows ? i : i % a->rows;
	uint32_t pos = head >= back ? head - back : head + a->rows - back;
	return *rrdb_cell(r, ds, rra, pos);
}

void rrdb_ring_load(struct rrdb *r, uint32_t ds, uint32_t rra, const float *oldest_first,
                    uint32_t n)
{
	const struct rrdb_rra *a = &r->rra[rra];
	if (n > a->rows) {
		oldest_first += n - a->rows;
		n = a->rows;
	}
	/* newest at slot rows-1, oldest loaded row at rows-n */
	float *cell = rrdb_cell(r, ds, rra, 0);
	for (uint32_t i = 0; i < a->rows; i++)
		cell[(size_t)i * r->cap_blk] =
		    i < a->rows - n ? NAN : oldest_first[i - (a->rows - n)];
	r->ds[ds].cdp[rra].head = a->rows - 1;
}

/* Write v as the next row of the ring of DS di (d) in RRA a (c its CDP). */
static void ring_push(const struct rrdb *r, uint32_t di, const struct rrdb_ds *d,
                      const struct rrdb_rra *a, struct rrdb_cdp *c, double v)
{
	/* Values outside [min, max] can only come from rounding here: every
	 * contribution was range-checked. */
	if (v < d->min)
		v = d->min;
	else if (v > d->max)
		v = d->max;
	c->head = c->head + 1 == a->rows ? 0 : c->head + 1;
	r->rings[a->ring_off + (size_t)c->head * r->cap_blk + di] = (float)v;
}

/* Add n PDPs of value pdp to a CDP (xcp-rrdd's do_cfs without the rescaling
 * of known values and without consuming n = 0). */
static inline __attribute__((always_inline)) void
cdp_add(const struct rrdb_rra *a, struct rrdb_cdp *c, double pdp, uint64_t n, double nd, double cnt)
{
	if (n == 0)
		return;
	if (isnan(pdp)) {
		c->unknown_pdps += (uint32_t)n;
		if (a->cf == CF_LAST)
			c->value = NAN; /* rrdtool: LAST is the last PDP, known or not */
		return;
	}
	switch (a->cf) {
	case CF_AVERAGE:
		c->value = c->value + pdp * nd / cnt; /* pdp * n / pdp_cnt */
		break;
	case CF_MIN:
		if (pdp < c->value)
			c->value = pdp;
		break;
	case CF_MAX:
		if (pdp > c->value)
			c->value = pdp;
		break;
	case CF_LAST:
		c->value = pdp;
		break;
	}
}

static double cdp_primary(const struct rrdb_rra *a, const struct rrdb_cdp *c)
{
	uint32_t p = a->pdp_cnt;
	if (c->unknown_pdps >= p || (double)c->unknown_pdps > a->xff * p)
		return NAN;
	if (a->cf == CF_AVERAGE && c->unknown_pdps > 0)
		return c->value * p / (double)(p - c->unknown_pdps);
	return c->value;
}

static void make_plan(const struct rrdb *r, struct plan *pl, double last, double t)
{
	pl->last = last;
	pl->t = t;
	pl->interval = t - last;
	pl->proc_pdp_st = pdp_start(last, r->step);
	int64_t occu = pdp_start(t, r->step);
	double occu_age = t - (double)occu;
	pl->elapsed = (occu - pl->proc_pdp_st) / r->step;
	pl->span = (double)(occu - pl->proc_pdp_st);
	if (pl->elapsed > 0) {
		pl->pre_int = pl->interval - occu_age;
		pl->post_int = occu_age;
	} else {
		pl->pre_int = pl->interval;
		pl->post_int = 0.0;
	}
	if (pl->elapsed <= 0)
		return;
	uint64_t elapsed = (uint64_t)pl->elapsed;
	uint64_t proc_pdps = (uint64_t)(pl->proc_pdp_st / r->step);
	for (uint32_t k = 0; k < r->nrra; k++) {
		uint64_t p = r->rra[k].pdp_cnt;
		uint64_t start_off = p - proc_pdps % p;
		pl->rra[k].n1 = start_off < elapsed ? start_off : elapsed;
		pl->rra[k].n1d = (double)pl->rra[k].n1;
		pl->rra[k].cnt = (double)p;
		if (elapsed < start_off) {
			pl->rra[k].steps = 0;
			pl->rra[k].n2 = 0;
		} else {
			pl->rra[k].steps = (elapsed - start_off) / p + 1;
			pl->rra[k].n2 = (elapsed - start_off) % p;
		}
		pl->rra[k].n2d = (double)pl->rra[k].n2;
	}
}

static double to_double(struct dsval v)
{
	switch (v.type) {
	case VAL_INT64:
		return (double)v.i;
	case VAL_FLOAT:
		return v.f;
	default:
		return NAN;
	}
}

/* The change of a counter from a to b; int64 differences wrap as OCaml's
 * Int64.sub does; a value-type switch is converted. */
static double counter_delta(struct dsval a, struct dsval b)
{
	if (a.type == VAL_UNKNOWN || b.type == VAL_UNKNOWN)
		return NAN;
	if (a.type == VAL_INT64 && b.type == VAL_INT64)
		return (double)(int64_t)((uint64_t)b.i - (uint64_t)a.i);
	if (a.type == VAL_FLOAT && b.type == VAL_FLOAT)
		return b.f - a.f;
	return to_double(b) - to_double(a);
}

/* The sample's contribution: for GAUGE/ABSOLUTE the rate, for DERIVE the
 * counter change over the interval (xcp-rrdd's representation).  NaN if
 * unknown or out of range. */
static double sample_amount(struct rrdb_ds *d, const struct plan *pl, struct dsval v,
                            unsigned flags)
{
	double raw = to_double(v), rate, amount;
	struct dsval prev = d->last;
	d->last = v;
	if (pl->interval > d->mrhb || isnan(raw))
		return NAN;
	switch (d->type) {
	case DS_GAUGE:
		rate = amount = raw;
		break;
	case DS_ABSOLUTE:
		rate = amount = raw / pl->interval;
		break;
	default:
		amount = (flags & RRDB_COUNTERS_RESTARTED) ? raw : counter_delta(prev, v);
		rate = amount / pl->interval;
		break;
	}
	if (isnan(rate))
		return NAN;
	double tr = apply_transform(d->transform, rate);
	if (d->type == DS_DERIVE && tr > d->max && tr < 1.05 * d->max) {
		/* CA-411679: jitter just above max is capped, not dropped */
		rate = apply_transform(d->transform, d->max);
		amount = rate * pl->interval;
		tr = d->max;
	}
	if (!(tr >= d->min && tr <= d->max))
		return NAN;
	return amount;
}

static void ds_accumulate(struct rrdb *r, struct rrdb_ds *d, const struct plan *pl, double amount)
{
	double prior_unknown = d->unknown_sec;
	int derive = d->type == DS_DERIVE;
	uint32_t di = (uint32_t)(d - r->ds);

	/* accumulate the part of the interval up to the last PDP boundary */
	if (isnan(amount)) {
		d->unknown_sec += pl->pre_int;
	} else if (derive) {
		d->value = d->value + pl->pre_int * amount / pl->interval;
	} else if (d->type == DS_GAUGE) {
		d->value = amount;
	} else {
		double known = (pl->last - (double)pl->proc_pdp_st) - prior_unknown;
		if (known <= 0)
			d->value = amount;
		else
			d->value += (amount - d->value) * (pl->pre_int / (known + pl->pre_int));
	}
	d->last_updated = pl->t;
	if (pl->elapsed <= 0)
		return;

	/* one or more PDPs completed */
	double known = pl->span - d->unknown_sec, pdp;
	if (pl->interval > d->mrhb || prior_unknown > r->step / 2.0 || !(known > 0))
		pdp = NAN;
	else
		pdp = derive ? d->value / known : d->value;
	if (!isnan(pdp)) {
		pdp = apply_transform(d->transform, pdp);
		if (pdp < d->min)
			pdp = d->min;
		else if (pdp > d->max)
			pdp = d->max;
	}
	for (uint32_t k = 0; k < r->nrra; k++) {
		const struct rrdb_rra *a = &r->rra[k];
		struct rrdb_cdp *c = &d->cdp[k];
		cdp_add(a, c, pdp, pl->rra[k].n1, pl->rra[k].n1d, pl->rra[k].cnt);
		uint64_t steps = pl->rra[k].steps;
		if (steps == 0)
			continue;
		ring_push(r, di, d, a, c, cdp_primary(a, c));
		uint64_t fill = steps - 1 < a->rows ? steps - 1 : a->rows;
		for (uint64_t s = 0; s < fill; s++)
			ring_push(r, di, d, a, c, pdp);
		c->value = cf_init(a->cf, d);
		c->unknown_pdps = 0;
		cdp_add(a, c, pdp, pl->rra[k].n2, pl->rra[k].n2d, pl->rra[k].cnt);
	}

	/* the rest of the interval starts the next PDP */
	if (isnan(amount)) {
		d->value = 0.0;
		d->unknown_sec = pl->post_int;
	} else {
		d->value = derive ? pl->post_int * amount / pl->interval : amount;
		d->unknown_sec = 0.0;
	}
}

/* rrdtool >= 1.5 (rrd_update.c process_arg): when an update closes more than
 * one PDP and the first of them was already open, that first PDP is closed
 * on its own with the sample's share of the interval up to its end, and the
 * following PDPs get the sample's rate alone (not a mean smeared over the
 * whole span).  The sample's validity (heartbeat, range) is judged on the
 * whole interval. */
static void ds_apply(struct rrdb *r, struct rrdb_ds *d, const struct plan *pl, struct dsval v,
                     unsigned flags)
{
	double amount = sample_amount(d, pl, v, flags);
	double t1 = (double)(pl->proc_pdp_st + r->step);
	if (pl->elapsed <= 1 || !(pl->last > (double)pl->proc_pdp_st)) {
		ds_accumulate(r, d, pl, amount);
		return;
	}
	struct plan p1, p2;
	make_plan(r, &p1, pl->last, t1);
	make_plan(r, &p2, t1, pl->t);
	double a1 = amount, a2 = amount;
	if (d->type == DS_DERIVE) { /* a counter change: split it in proportion */
		a1 = amount * p1.interval / pl->interval;
		a2 = amount - a1;
	}
	ds_accumulate(r, d, &p1, a1);
	ds_accumulate(r, d, &p2, a2);
}

/* How many updates ahead rrdb_update prefetches a DS's state. */
enum { PF_AHEAD = 6 };

/* Prefetch the state of DS i: its struct and its CDPs (addresses that need
 * no load). */
static inline void prefetch_state(const struct rrdb *r, uint32_t i)
{
	if (i >= r->nds)
		return;
	__builtin_prefetch(&r->ds[i].last_updated, 1);
	__builtin_prefetch((const struct rrdb_cdp *)r->blk + (size_t)i * r->nrra, 1);
}

int rrdb_update(struct rrdb *r, double t, const struct rrdb_upd *u, size_t n, unsigned flags)
{
	struct plan pl;
	int have_plan = 0, ignored = 0;
	if (!isfinite(t))
		return (int)n;
	for (size_t j = 0; j < n && j < PF_AHEAD; j++)
		prefetch_state(r, u[j].ds);
	for (size_t j = 0; j < n; j++) {
		if (j + PF_AHEAD < n)
			prefetch_state(r, u[j + PF_AHEAD].ds);
		if (u[j].ds >= r->nds) {
			ignored++;
			continue;
		}
		struct rrdb_ds *d = &r->ds[u[j].ds];
		if (!(t > d->last_updated)) {
			ignored++;
			continue;
		}
		if (!have_plan || pl.last != d->last_updated) {
			make_plan(r, &pl, d->last_updated, t);
			have_plan = 1;
		}
		ds_apply(r, d, &pl, u[j].v, flags);
	}
	if (t > r->last_updated && (size_t)ignored < n)
		r->last_updated = t;
	return ignored;
}

size_t rrdb_default_rras(int use_min_max, struct rrdb_rra_def out[RRDB_MAX_DEFAULT_RRAS])
{
	static const uint32_t scales[4][2] = {{120, 1}, {120, 12}, {168, 720}, {366, 17280}};
	size_t n = 0;
	out[n++] = (struct rrdb_rra_def){CF_AVERAGE, scales[0][0], scales[0][1], 0.5};
	for (int s = 1; s < 4; s++) {
		if (!use_min_max) {
			out[n++] =
			    (struct rrdb_rra_def){CF_AVERAGE, scales[s][0], scales[s][1], 0.5};
			continue;
		}
		out[n++] = (struct rrdb_rra_def){CF_AVERAGE, scales[s][0], scales[s][1], 1.0};
		out[n++] = (struct rrdb_rra_def){CF_MIN, scales[s][0], scales[s][1], 1.0};
		out[n++] = (struct rrdb_rra_def){CF_MAX, scales[s][0], scales[s][1], 1.0};
	}
	return n;
}

void rrdb_prefetch(const struct rrdb *r)
{
	const char *d = (const char *)r->ds, *de = d + sizeof(*r->ds) * r->nds;
	for (; d < de; d += 64)
		__builtin_prefetch(d, 1);
	const char *c = r->blk, *ce = c + sizeof(struct rrdb_cdp) * r->nrra * r->nds;
	for (; c < ce; c += 64)
		__builtin_prefetch(c, 1);
}

double rrdb_query_latest(const struct rrdb *r, uint32_t ds)
{
	if (ds >= r->nds)
		return NAN;
	for (uint32_t k = 0; k < r->nrra; k++)
		if (r->rra[k].cf == CF_AVERAGE) /* the newest row is at the head */
			return *rrdb_cell(r, ds, k, r->ds[ds].cdp[k].head);
	return NAN;
}
