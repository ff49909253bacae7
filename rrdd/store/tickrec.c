/*
 * Compact cycle records (tickrec.h): per-segment dictionaries and value
 * differences.  Layout of one record (v = unsigned LEB128 varint, str = v
 * length + bytes, f64 = 8 bytes little-endian):
 *
 *   v stream | u8 flags (1 = stream starts here) | f64 now
 *   u8 same residents as the previous record (1) or 0 + v n + n x (owner, v domid)
 *   v nchunks x (uid, f64 t, v nowners x (owner, layout, values))
 *   v ngone x owner
 *
 * A reference (owner, uid, layout, descriptor) is v index; an index equal
 * to the number defined so far defines the next one inline: owner = u8
 * kind + str uuid; uid = str; layout = v n + n descriptor references;
 * descriptor = str name, str description, str units, u8 type, u8 value
 * type, f64 min, f64 max, u8 default, u8 transform.  Values, one per
 * position of the layout, against the stream (producer, owner)'s value at
 * that position in its previous record (0 at first): first the owner's n
 * tags, then their payloads.  Tag 0 = unknown; 1 + v zigzag(value -
 * previous) = integer; 2 + z (z < 62) = integer whose zigzag difference is
 * z; 0x80 | tz << 4 | nb + nb bytes = float whose bits XOR the previous
 * are those nb bytes shifted left by tz bytes.  An unknown leaves the
 * previous value in place.
 */
#include "store/tickrec.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/tickrec_impl.h"
#include "util/xalloc.h"

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint64_t hbytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t hstr(uint64_t h, const char *s)
{
	s = s ? s : "";
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull; /* terminator: "ab","c" != "a","bc" */
}

static void ih_free(struct ihash *h)
{
	free(h->slot);
	free(h->hv);
	memset(h, 0, sizeof(*h));
}

static void ih_put_raw(struct ihash *h, uint64_t hv, uint32_t idx)
{
	size_t m = h->cap - 1, i = (size_t)hv & m;
	while (h->slot[i])
		i = (i + 1) & m;
	h->slot[i] = idx + 1;
	h->hv[i] = hv;
}

static void ih_insert(struct ihash *h, uint64_t hv, uint32_t idx)
{
	if ((h->n + 1) * 2 > h->cap) {
		struct ihash o = *h;
		h->cap = o.cap ? o.cap * 2 : 64;
		h->slot = xcalloc(h->cap, sizeof(*h->slot));
		h->hv = xcalloc(h->cap, sizeof(*h->hv));
		for (size_t i = 0; i < o.cap; i++)
			if (o.slot[i])
				ih_put_raw(h, o.hv[i], o.slot[i] - 1);
		free(o.slot);
		free(o.hv);
	}
	ih_put_raw(h, hv, idx);
	h->n++;
}

typedef bool (*ih_eq)(const struct tstate *s, uint32_t idx, const void *key);

static uint32_t ih_find(const struct ihash *h, uint64_t hv, ih_eq eq, const struct tstate *s,
                        const void *key)
{
	if (!h->cap)
		return NONE;
	size_t m = h->cap - 1;
	for (size_t i = (size_t)hv & m; h->slot[i]; i = (i + 1) & m)
		if (h->hv[i] == hv && eq(s, h->slot[i] - 1, key))
			return h->slot[i] - 1;
	return NONE;
}

void tick_state_clear(struct tstate *s)
{
	for (uint32_t i = 0; i < s->ndesc; i++) {
		free((char *)s->desc[i].d.name);
		free((char *)s->desc[i].d.description);
		free((char *)s->desc[i].d.units);
	}
	for (uint32_t i = 0; i < s->nstr; i++)
		free(s->str[i].prev);
	free(s->desc);
	free(s->lpool);
	free(s->lay);
	free(s->own);
	free(s->str);
	free(s->uid);
	free(s->tok);
	free(s->res);
	ih_free(&s->hdesc);
	ih_free(&s->hlay);
	ih_free(&s->hown);
	ih_free(&s->htok);
	memset(s, 0, sizeof(*s));
}

static uint64_t desc_hash(const struct mon_dsdesc *d)
{
	uint64_t h = 0xcbf29ce484222325ull;
	h = hstr(h, d->name);
	h = hstr(h, d->description);
	h = hstr(h, d->units);
	unsigned char f[4] = {(unsigned char)d->type, (unsigned char)d->value_type,
	                      (unsigned char)d->dflt, (unsigned char)d->transform};
	h = hbytes(h, f, 4);
	h = hbytes(h, &d->min, 8);
	h = hbytes(h, &d->max, 8);
	return mix(h);
}

static bool streq0(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static bool desc_eq(const struct tstate *s, uint32_t idx, const void *key)
{
	const struct mon_dsdesc *a = &s->desc[idx].d, *b = key;
	return a->type == b->type && a->value_type == b->value_type && a->dflt == b->dflt &&
	       a->transform == b->transform && !memcmp(&a->min, &b->min, 8) &&
	       !memcmp(&a->max, &b->max, 8) && streq0(a->name, b->name) &&
	       streq0(a->description, b->description) && streq0(a->units, b->units);
}

static uint32_t desc_add(struct tstate *s, const struct mon_dsdesc *d)
{
	GROW(s->desc, s->ndesc, s->cdesc);
	struct tdesc *t = &s->desc[s->ndesc];
	t->d = *d;
	t->d.name = xstrdup(d->name ? d->name : "");
	t->d.description = xstrdup(d->description ? d->description : "");
	t->d.units = xstrdup(d->units ? d->units : "");
	t->d.om = NULL; /* not journaled */
	return s->ndesc++;
}

struct lkey {
	const uint32_t *idx;
	uint32_t n;
};

static uint64_t layout_hash(const uint32_t *idx, uint32_t n)
{
	return mix(hbytes(0xcbf29ce484222325ull ^ n, idx, sizeof(*idx) * n));
}

static bool layout_eq(const struct tstate *s, uint32_t i, const void *key)
{
	const struct lkey *k = key;
	const struct tlayout *l = &s->lay[i];
	return l->n == k->n &&
	       (!k->n || !memcmp(s->lpool + l->off, k->idx, sizeof(*k->idx) * k->n));
}

uint32_t tick_layout_add(struct tstate *s, const uint32_t *idx, uint32_t n)
{
	while (s->clpool - s->nlpool < n) {
		s->clpool = s->clpool ? s->clpool * 2 : 256;
		s->lpool = xrealloc(s->lpool, sizeof(*s->lpool) * s->clpool);
	}
	if (n)
		memcpy(s->lpool + s->nlpool, idx, sizeof(*idx) * n);
	GROW(s->lay, s->nlay, s->clay);
	struct tlayout *l = &s->lay[s->nlay];
	l->off = s->nlpool;
	l->n = n;
	l->token = 0;
	s->nlpool += n;
	return s->nlay++;
}

struct okey {
	uint8_t kind;
	const char *uuid;
};

static uint64_t owner_hash(uint8_t kind, const char *uuid)
{
	return mix(hstr(0xcbf29ce484222325ull ^ kind, uuid));
}

static bool owner_eq(const struct tstate *s, uint32_t i, const void *key)
{
	const struct okey *k = key;
	return s->own[i].kind == k->kind && streq0(s->own[i].uuid, k->uuid);
}

uint32_t tick_owner_add(struct tstate *s, uint8_t kind, const char *uuid)
{
	GROW(s->own, s->nown, s->cown);
	struct towner *o = &s->own[s->nown];
	o->kind = kind;
	mon_uuid_copy(o->uuid, uuid);
	o->stream = 0;
	return s->nown++;
}

static bool tok_eq(const struct tstate *s, uint32_t i, const void *key)
{
	const struct ttok *k = key;
	return s->tok[i].uid == k->uid && s->tok[i].token == k->token;
}

/* The value stream of (uid, owner), created empty. */
struct tstream *tick_stream_of(struct tstate *s, uint32_t uid, uint32_t owner)
{
	struct towner *o = &s->own[owner];
	for (uint32_t i = o->stream; i; i = s->str[i - 1].next)
		if (s->str[i - 1].uid == uid)
			return &s->str[i - 1];
	GROW(s->str, s->nstr, s->cstr);
	struct tstream *t = &s->str[s->nstr];
	t->uid = uid;
	t->next = o->stream;
	t->n = 0;
	t->prev = NULL;
	o->stream = ++s->nstr;
	return t;
}

void tick_stream_fit(struct tstream *t, uint32_t n)
{
	if (t->n >= n)
		return;
	t->prev = xrealloc(t->prev, sizeof(*t->prev) * n);
	memset(t->prev + t->n, 0, sizeof(*t->prev) * (n - t->n));
	t->n = n;
}

/* ---- encoder ---- */

struct store_tickenc {
	struct tstate s;
	bool fresh;
	uint32_t *scratch; /* descriptor indices of an owner */
	uint32_t cscratch;
};

static void put_v(struct buf *b, uint64_t v)
{
	unsigned char t[10];
	int n = 0;
	while (v >= 0x80) {
		t[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	t[n++] = (unsigned char)v;
	buf_add(b, t, (size_t)n);
}

static void put_u8(struct buf *b, uint8_t v)
{
	buf_add(b, &v, 1);
}

static void put_f64(struct buf *b, double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	unsigned char t[8];
	for (int i = 0; i < 8; i++)
		t[i] = (unsigned char)(u >> (8 * i));
	buf_add(b, t, 8);
}

static void put_str(struct buf *b, const char *s, size_t n)
{
	put_v(b, n);
	buf_add(b, s, n);
}

struct store_tickenc *store_tickenc_new(void)
{
	return xcalloc(1, sizeof(struct store_tickenc));
}

void store_tickenc_reset(struct store_tickenc *e, uint64_t stream)
{
	tick_state_clear(&e->s);
	e->s.stream = stream;
	e->s.started = true;
	e->fresh = true;
}

void store_tickenc_free(struct store_tickenc *e)
{
	if (!e)
		return;
	tick_state_clear(&e->s);
	free(e->scratch);
	free(e);
}

static void put_owner(struct store_tickenc *e, struct buf *b, uint8_t kind, const char *uuid,
                      uint32_t *out)
{
	struct tstate *s = &e->s;
	struct okey k = {kind, uuid ? uuid : ""};
	uint64_t h = owner_hash(kind, k.uuid);
	uint32_t i = ih_find(&s->hown, h, owner_eq, s, &k);
	if (i == NONE) {
		i = tick_owner_add(s, kind, k.uuid);
		ih_insert(&s->hown, h, i);
		put_v(b, i);
		put_u8(b, kind);
		put_str(b, s->own[i].uuid, strlen(s->own[i].uuid));
	} else {
		put_v(b, i);
	}
	*out = i;
}

static uint32_t put_uid(struct store_tickenc *e, struct buf *b, const char uid[MON_UID_LEN])
{
	struct tstate *s = &e->s;
	size_t n = strnlen(uid, MON_UID_LEN);
	for (uint32_t i = 0; i < s->nuid; i++)
		if (strlen(s->uid[i]) == n && !memcmp(s->uid[i], uid, n)) {
			put_v(b, i);
			return i;
		}
	GROW(s->uid, s->nuid, s->cuid);
	memcpy(s->uid[s->nuid], uid, n);
	s->uid[s->nuid][n] = 0;
	put_v(b, s->nuid);
	put_str(b, uid, n);
	return s->nuid++;
}

static void put_desc_def(struct buf *b, const struct mon_dsdesc *d)
{
	put_str(b, d->name, strlen(d->name));
	put_str(b, d->description, strlen(d->description));
	put_str(b, d->units, strlen(d->units));
	put_u8(b, (uint8_t)d->type);
	put_u8(b, (uint8_t)d->value_type);
	put_f64(b, d->min);
	put_f64(b, d->max);
	put_u8(b, d->dflt ? 1 : 0);
	put_u8(b, (uint8_t)d->transform);
}

/* The layout of owner o of producer uid: found by token, else by content
 * (new descriptors and a new layout are defined inline). */
static uint32_t put_layout(struct store_tickenc *e, struct buf *b, uint32_t uid,
                           const struct mon_chunk_owner *o)
{
	struct tstate *s = &e->s;
	struct ttok tk = {uid, 0, o->layout};
	uint64_t th = mix(o->layout ^ ((uint64_t)uid << 48) ^ 0x9e3779b97f4a7c15ull);
	uint32_t t = o->layout ? ih_find(&s->htok, th, tok_eq, s, &tk) : NONE;
	if (t != NONE && s->lay[s->tok[t].layout].n == o->nds) {
		put_v(b, s->tok[t].layout);
		return s->tok[t].layout;
	}
	if (e->cscratch < o->nds) {
		e->cscratch = o->nds;
		e->scratch = xrealloc(e->scratch, sizeof(*e->scratch) * e->cscratch);
	}
	uint32_t first_new = s->ndesc;
	for (uint32_t i = 0; i < o->nds; i++) {
		const struct mon_dsdesc *d = &o->ds[i].d;
		uint64_t h = desc_hash(d);
		uint32_t k = ih_find(&s->hdesc, h, desc_eq, s, d);
		if (k == NONE) {
			k = desc_add(s, d);
			ih_insert(&s->hdesc, h, k);
		}
		e->scratch[i] = k;
	}
	struct lkey lk = {e->scratch, o->nds};
	uint64_t lh = layout_hash(e->scratch, o->nds);
	uint32_t L = ih_find(&s->hlay, lh, layout_eq, s, &lk);
	if (L == NONE) {
		L = tick_layout_add(s, e->scratch, o->nds);
		ih_insert(&s->hlay, lh, L);
		put_v(b, L);
		put_v(b, o->nds);
		uint32_t defined = first_new;
		for (uint32_t i = 0; i < o->nds; i++) {
			uint32_t k = e->scratch[i];
			put_v(b, k);
			if (k == defined) { /* first use: defined here */
				put_desc_def(b, &s->desc[k].d);
				defined++;
			}
		}
	} else {
		put_v(b, L);
	}
	if (t != NONE) {
		s->tok[t].layout = L;
	} else if (o->layout) {
		GROW(s->tok, s->ntok, s->ctok);
		s->tok[s->ntok] = (struct ttok){uid, L, o->layout};
		ih_insert(&s->htok, th, s->ntok++);
	}
	return L;
}

/* Values of n samples against prev: n tags, then their payloads (tags
 * first so the tag sequences, alike from one owner to the next, deflate
 * well). */
static void put_values(struct buf *b, const struct mon_chunk_owner *o, uint32_t n, uint64_t *prev)
{
	unsigned char *tag = (unsigned char *)buf_reserve(b, (size_t)n * 12);
	unsigned char *p = tag + n;
	for (uint32_t i = 0; i < n; i++) {
		const struct dsval vv = mon_owner_value(o, i), *v = &vv;
		if (v->type == VAL_INT64) {
			uint64_t u = (uint64_t)v->i, d = u - prev[i];
			uint64_t z = (d << 1) ^ (uint64_t)((int64_t)d >> 63);
			prev[i] = u;
			if (z < TAG_SMALL_N) {
				tag[i] = (unsigned char)(TAG_SMALL + z);
				continue;
			}
			tag[i] = TAG_INT;
			while (z >= 0x80) {
				*p++ = (unsigned char)(z | 0x80);
				z >>= 7;
			}
			*p++ = (unsigned char)z;
		} else if (v->type == VAL_FLOAT) {
			uint64_t u;
			memcpy(&u, &v->f, 8);
			uint64_t x = u ^ prev[i];
			prev[i] = u;
			if (!x) {
				tag[i] = TAG_FLOAT;
				continue;
			}
			unsigned tz = (unsigned)__builtin_ctzll(x) / 8;
			unsigned lz = (unsigned)__builtin_clzll(x) / 8;
			unsigned nb = 8 - tz - lz;
			tag[i] = (unsigned char)(TAG_FLOAT | tz << 4 | nb);
			x >>= 8 * tz;
			for (unsigned k = 0; k < nb; k++, x >>= 8)
				*p++ = (unsigned char)x;
		} else {
			tag[i] = TAG_UNKNOWN;
		}
	}
	buf_commit(b, (size_t)(p - tag));
}

void store_tickenc_encode(struct store_tickenc *e, const struct mon_cycle *t, struct buf *b)
{
	struct tstate *s = &e->s;
	put_v(b, s->stream);
	put_u8(b, e->fresh ? 1 : 0);
	e->fresh = false;
	put_f64(b, t->now);
	bool same = s->have_res && s->nres == t->nres;
	for (size_t i = 0; same && i < t->nres; i++)
		same = s->res[i].domid == t->res[i].domid &&
		       !strncmp(s->res[i].uuid, t->res[i].uuid, MON_UUID_LEN);
	if (same) {
		put_u8(b, 1);
	} else {
		put_u8(b, 0);
		put_v(b, t->nres);
		for (size_t i = 0; i < t->nres; i++) {
			uint32_t oi;
			put_owner(e, b, MON_VM, t->res[i].uuid, &oi);
			put_v(b, t->res[i].domid);
		}
		if (s->cres < t->nres) {
			s->cres = (uint32_t)t->nres;
			s->res = xrealloc(s->res, sizeof(*s->res) * s->cres);
		}
		for (size_t i = 0; i < t->nres; i++) {
			memset(&s->res[i], 0, sizeof(s->res[i]));
			mon_uuid_copy(s->res[i].uuid, t->res[i].uuid);
			s->res[i].domid = t->res[i].domid;
		}
		s->nres = (uint32_t)t->nres;
		s->have_res = true;
	}
	put_v(b, t->nchunks);
	for (size_t ci = 0; ci < t->nchunks; ci++) {
		const struct mon_chunk *c = t->chunks[ci];
		uint32_t uid = put_uid(e, b, c->uid);
		put_f64(b, c->t);
		put_v(b, c->nowner);
		for (uint32_t j = 0; j < c->nowner; j++) {
			const struct mon_chunk_owner *o = &c->owner[j];
			uint32_t oi;
			put_owner(e, b, (uint8_t)o->kind, o->uuid, &oi);
			put_layout(e, b, uid, o);
			struct tstream *st = tick_stream_of(s, uid, oi);
			tick_stream_fit(st, o->nds);
			put_values(b, o, o->nds, st->prev);
		}
	}
	put_v(b, t->ngone);
	for (size_t i = 0; i < t->ngone; i++) {
		uint32_t oi;
		put_owner(e, b, MON_VM, t->gone[i], &oi);
	}
}
