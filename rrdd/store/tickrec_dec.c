/*
 * The decoder of cycle records (tickrec.h): a record's bytes back into a
 * struct mon_cycle, with the dictionaries of its stream (tickrec_impl.h).
 * Untrusted input: every count and index is checked against what the
 * record and the stream can hold.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/tickrec_impl.h"

/* ---- decoder ---- */

struct store_tickdec {
	struct tstate s;
	struct mon_chunk *chunks;
	const struct mon_chunk **cp;
	uint32_t cchunks;
	struct mon_resident *res; /* this record's residents */
	uint32_t cres;
	char (*gone)[MON_UUID_LEN + 1];
	uint32_t cgone;
};

struct rd {
	const unsigned char *p, *end;
	bool bad;
};

static uint64_t get_v(struct rd *r)
{
	uint64_t v = 0;
	for (int sh = 0; sh < 64; sh += 7) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		unsigned char c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static uint8_t get_u8(struct rd *r)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

static double get_f64(struct rd *r)
{
	if (r->end - r->p < 8) {
		r->bad = true;
		return 0;
	}
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	double d;
	memcpy(&d, &u, 8);
	return d;
}

/* A string of at most max bytes without NUL, copied (NUL-terminated). */
static char *get_str(struct rd *r, size_t max)
{
	uint64_t n = get_v(r);
	if (r->bad || n > max || n > (uint64_t)(r->end - r->p) || memchr(r->p, 0, (size_t)n)) {
		r->bad = true;
		return NULL;
	}
	char *s = xmalloc((size_t)n + 1);
	memcpy(s, r->p, (size_t)n);
	s[n] = 0;
	r->p += n;
	return s;
}

/* A count of items each taking at least min bytes: bounded by the input. */
static uint32_t get_count(struct rd *r, size_t min)
{
	uint64_t n = get_v(r);
	if (r->bad || n > UINT32_MAX || n * min > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		return 0;
	}
	return (uint32_t)n;
}

struct store_tickdec *store_tickdec_new(void)
{
	return xcalloc(1, sizeof(struct store_tickdec));
}

void store_tickdec_free(struct store_tickdec *d)
{
	if (!d)
		return;
	tick_state_clear(&d->s);
	for (uint32_t i = 0; i < d->cchunks; i++)
		mon_chunk_clear(&d->chunks[i]);
	free(d->chunks);
	free(d->cp);
	free(d->res);
	free(d->gone);
	free(d);
}

static uint32_t get_owner(struct store_tickdec *d, struct rd *r)
{
	struct tstate *s = &d->s;
	uint64_t i = get_v(r);
	if (r->bad || i > s->nown) {
		r->bad = true;
		return NONE;
	}
	if (i < s->nown)
		return (uint32_t)i;
	uint8_t kind = get_u8(r);
	char *uuid = get_str(r, MON_UUID_LEN);
	if (r->bad || kind > MON_SR) {
		free(uuid);
		r->bad = true;
		return NONE;
	}
	uint32_t o = tick_owner_add(s, kind, uuid);
	free(uuid);
	return o;
}

static uint32_t get_desc(struct store_tickdec *d, struct rd *r)
{
	struct tstate *s = &d->s;
	uint64_t i = get_v(r);
	if (r->bad || i > s->ndesc) {
		r->bad = true;
		return NONE;
	}
	if (i < s->ndesc)
		return (uint32_t)i;
	struct mon_dsdesc x;
	memset(&x, 0, sizeof(x));
	char *name = get_str(r, SIZE_MAX), *desc = get_str(r, SIZE_MAX),
	     *units = get_str(r, SIZE_MAX);
	uint8_t ty = get_u8(r), vt = get_u8(r);
	x.min = get_f64(r);
	x.max = get_f64(r);
	uint8_t df = get_u8(r), tr = get_u8(r);
	if (r->bad || ty > DS_DERIVE || vt > VAL_FLOAT || df > 1 || tr > TR_INVERSE) {
		free(name);
		free(desc);
		free(units);
		r->bad = true;
		return NONE;
	}
	x.type = (enum ds_type)ty;
	x.value_type = (enum val_type)vt;
	x.dflt = df != 0;
	x.transform = (enum ds_transform)tr;
	GROW(s->desc, s->ndesc, s->cdesc);
	x.name = name;
	x.description = desc;
	x.units = units;
	s->desc[s->ndesc].d = x;
	return s->ndesc++;
}

static uint64_t layout_token_new(void)
{
	static uint64_t counter;
	return (1ull << 63) | __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
}

static uint32_t get_layout(struct store_tickdec *d, struct rd *r)
{
	struct tstate *s = &d->s;
	uint64_t i = get_v(r);
	if (r->bad || i > s->nlay) {
		r->bad = true;
		return NONE;
	}
	if (i < s->nlay)
		return (uint32_t)i;
	uint32_t n = get_count(r, 1);
	if (r->bad)
		return NONE;
	uint32_t *idx = xmalloc(sizeof(*idx) * (n ? n : 1));
	for (uint32_t k = 0; k < n && !r->bad; k++)
		idx[k] = get_desc(d, r);
	uint32_t L = NONE;
	if (!r->bad) {
		L = tick_layout_add(s, idx, n);
		s->lay[L].token = layout_token_new();
	}
	free(idx);
	return L;
}

static int get_values(struct rd *r, struct mon_chunk_owner *o, const struct tstate *s,
                      const struct tlayout *l, uint64_t *prev)
{
	if ((size_t)(r->end - r->p) < l->n)
		return -EINVAL;
	const unsigned char *tag = r->p;
	r->p += l->n;
	for (uint32_t i = 0; i < l->n; i++) {
		struct mon_sample *x = mon_owner_add_sample(o);
		x->d = s->desc[s->lpool[l->off + i]].d;
		unsigned t = tag[i];
		if (t == TAG_UNKNOWN) {
			x->v.type = VAL_UNKNOWN;
			x->v.i = 0;
		} else if (t == TAG_INT || (t >= TAG_SMALL && t < TAG_SMALL + TAG_SMALL_N)) {
			uint64_t z = t == TAG_INT ? get_v(r) : t - TAG_SMALL;
			if (r->bad || (t == TAG_INT && z < TAG_SMALL_N))
				return -EINVAL;
			prev[i] += (z >> 1) ^ (0 - (z & 1));
			x->v.type = VAL_INT64;
			x->v.i = (int64_t)prev[i];
		} else if (t & TAG_FLOAT) {
			unsigned nb = t & 15, tz = (t >> 4) & 7;
			if (nb > 8 - tz || (nb == 0 && tz) || (size_t)(r->end - r->p) < nb)
				return -EINVAL;
			uint64_t x64 = 0;
			for (unsigned k = 0; k < nb; k++)
				x64 |= (uint64_t)r->p[k] << (8 * k);
			r->p += nb;
			/* canonical: the lowest and highest bytes are not zero */
			if (nb && (!(x64 & 0xff) || !(x64 >> (8 * (nb - 1)))))
				return -EINVAL;
			prev[i] ^= x64 << (8 * tz);
			x->v.type = VAL_FLOAT;
			memcpy(&x->v.f, &prev[i], 8);
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

int store_tickdec_decode(struct store_tickdec *d, const void *p, size_t n, struct mon_cycle *out)
{
	struct tstate *s = &d->s;
	struct rd r = {p, (const unsigned char *)p + n, false};
	memset(out, 0, sizeof(*out));
	uint64_t stream = get_v(&r);
	uint8_t flags = get_u8(&r);
	if (r.bad || flags > 1)
		return -EINVAL;
	if (flags & 1) {
		tick_state_clear(s);
		s->stream = stream;
		s->started = true;
	} else if (!s->started || s->stream != stream) {
		return -EINVAL;
	}
	out->now = get_f64(&r);
	uint8_t same = get_u8(&r);
	if (r.bad || same > 1 || (same && !s->have_res))
		return -EINVAL;
	if (!same) {
		uint32_t nres = get_count(&r, 2);
		if (r.bad)
			return -EINVAL;
		if (s->cres < nres) {
			s->cres = nres;
			s->res = xrealloc(s->res, sizeof(*s->res) * s->cres);
		}
		for (uint32_t i = 0; i < nres; i++) {
			uint32_t oi = get_owner(d, &r);
			uint64_t dom = get_v(&r);
			if (r.bad || dom > UINT32_MAX)
				return -EINVAL;
			memset(&s->res[i], 0, sizeof(s->res[i]));
			memcpy(s->res[i].uuid, s->own[oi].uuid, sizeof(s->res[i].uuid));
			s->res[i].domid = (uint32_t)dom;
		}
		s->nres = nres;
		s->have_res = true;
	}
	if (d->cres < s->nres) {
		d->cres = s->nres;
		d->res = xrealloc(d->res, sizeof(*d->res) * d->cres);
	}
	if (s->nres)
		memcpy(d->res, s->res, sizeof(*s->res) * s->nres);
	uint32_t nch = get_count(&r, 10);
	if (r.bad)
		return -EINVAL;
	if (d->cchunks < nch) {
		d->chunks = xrealloc(d->chunks, sizeof(*d->chunks) * nch);
		memset(d->chunks + d->cchunks, 0, sizeof(*d->chunks) * (nch - d->cchunks));
		d->cp = xrealloc(d->cp, sizeof(*d->cp) * nch);
		d->cchunks = nch;
	}
	for (uint32_t ci = 0; ci < nch; ci++) {
		struct mon_chunk *c = &d->chunks[ci];
		mon_chunk_reset(c);
		d->cp[ci] = c;
		uint64_t ui = get_v(&r);
		if (r.bad || ui > s->nuid)
			return -EINVAL;
		if (ui == s->nuid) {
			char *u = get_str(&r, MON_UID_LEN);
			if (r.bad)
				return -EINVAL;
			GROW(s->uid, s->nuid, s->cuid);
			strcpy(s->uid[s->nuid++], u);
			free(u);
		}
		memset(c->uid, 0, sizeof(c->uid));
		memcpy(c->uid, s->uid[ui], strlen(s->uid[ui]));
		c->t = get_f64(&r);
		uint32_t no = get_count(&r, 2);
		if (r.bad)
			return -EINVAL;
		for (uint32_t j = 0; j < no; j++) {
			uint32_t oi = get_owner(d, &r);
			uint32_t L = r.bad ? NONE : get_layout(d, &r);
			if (r.bad || oi == NONE || L == NONE)
				return -EINVAL;
			const struct tlayout *l = &s->lay[L];
			if (l->n > (size_t)(r.end - r.p)) /* a value takes a byte at least */
				return -EINVAL;
			struct towner *ow = &s->own[oi];
			struct mon_chunk_owner *o =
			    mon_chunk_add_owner(c, (enum mon_owner_kind)ow->kind, ow->uuid);
			o->layout = l->token;
			struct tstream *st = tick_stream_of(s, (uint32_t)ui, oi);
			tick_stream_fit(st, l->n);
			if (get_values(&r, o, s, l, st->prev))
				return -EINVAL;
		}
	}
	uint32_t ng = get_count(&r, 1);
	if (r.bad)
		return -EINVAL;
	if (d->cgone < ng) {
		d->cgone = ng;
		d->gone = xrealloc(d->gone, sizeof(*d->gone) * ng);
	}
	for (uint32_t i = 0; i < ng; i++) {
		uint32_t oi = get_owner(d, &r);
		if (r.bad)
			return -EINVAL;
		memcpy(d->gone[i], s->own[oi].uuid, sizeof(d->gone[i]));
	}
	if (r.p != r.end || !isfinite(out->now))
		return -EINVAL;
	out->chunks = (const struct mon_chunk *const *)d->cp;
	out->nchunks = nch;
	out->res = d->res;
	out->nres = s->nres;
	out->gone = (const char(*)[MON_UUID_LEN + 1]) d->gone;
	out->ngone = ng;
	return 0;
}
