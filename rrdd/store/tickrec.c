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

#include "util/xalloc.h"

#define NONE UINT32_MAX

/* Value tags. */
#define TAG_UNKNOWN 0u
#define TAG_INT     1u    /* + varint zigzag difference */
#define TAG_SMALL   2u    /* TAG_SMALL + z: integer, zigzag difference z */
#define TAG_SMALL_N 62u   /* z < TAG_SMALL_N */
#define TAG_FLOAT   0x80u /* | tz << 4 | nb: + nb bytes of the XOR >> 8 tz */

/* ---- shared state: dictionaries of one stream ---- */

struct tdesc {
	struct mon_dsdesc d; /* strings owned */
};

struct tlayout {
	uint32_t off, n; /* descriptor indices in lpool[off .. off+n) */
	uint64_t token;  /* decoder: the registry layout token given to it */
};

struct towner {
	uint8_t kind;
	char uuid[MON_UUID_LEN + 1];
	uint32_t stream; /* first of its value streams + 1, 0 = none */
};

struct tstream {
	uint32_t uid, next; /* next: another stream of the same owner + 1 */
	uint32_t n;
	uint64_t *prev;
};

struct ttok {
	uint32_t uid, layout;
	uint64_t token;
};

/* Open addressing of indices (stored + 1) with their hashes. */
struct ihash {
	uint32_t *slot;
	uint64_t *hv;
	size_t cap, n;
};

struct tstate {
	uint64_t stream;
	bool started;
	struct tdesc *desc;
	uint32_t ndesc, cdesc;
	uint32_t *lpool;
	uint32_t nlpool, clpool;
	struct tlayout *lay;
	uint32_t nlay, clay;
	struct towner *own;
	uint32_t nown, cown;
	struct tstream *str;
	uint32_t nstr, cstr;
	char (*uid)[MON_UID_LEN + 1];
	uint32_t nuid, cuid;
	struct ttok *tok;
	uint32_t ntok, ctok;
	struct ihash hdesc, hlay, hown, htok;
	struct mon_resident *res; /* the previous record's residents */
	uint32_t nres, cres;
	bool have_res;
};

#define GROW(arr, n, cap)                                                                          \
	do {                                                                                       \
		if ((n) == (cap)) {                                                                \
			(cap) = (cap) ? (cap)*2 : 16;                                              \
			(arr) = xrealloc((arr), sizeof(*(arr)) * (cap));                           \
		}                                                                                  \
	} while (0)

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

static void state_clear(struct tstate *s)
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

static uint32_t layout_add(struct tstate *s, const uint32_t *idx, uint32_t n)
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

static uint32_t owner_add(struct tstate *s, uint8_t kind, const char *uuid)
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
static struct tstream *stream_of(struct tstate *s, uint32_t uid, uint32_t owner)
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

static void stream_fit(struct tstream *t, uint32_t n)
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
	state_clear(&e->s);
	e->s.stream = stream;
	e->s.started = true;
	e->fresh = true;
}

void store_tickenc_free(struct store_tickenc *e)
{
	if (!e)
		return;
	state_clear(&e->s);
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
		i = owner_add(s, kind, k.uuid);
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
		L = layout_add(s, e->scratch, o->nds);
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
			struct tstream *st = stream_of(s, uid, oi);
			stream_fit(st, o->nds);
			put_values(b, o, o->nds, st->prev);
		}
	}
	put_v(b, t->ngone);
	for (size_t i = 0; i < t->ngone; i++) {
		uint32_t oi;
		put_owner(e, b, MON_VM, t->gone[i], &oi);
	}
}

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
	state_clear(&d->s);
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
	uint32_t o = owner_add(s, kind, uuid);
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
		L = layout_add(s, idx, n);
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
		state_clear(s);
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
			struct tstream *st = stream_of(s, (uint32_t)ui, oi);
			stream_fit(st, l->n);
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
