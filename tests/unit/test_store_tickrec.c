/*
 * The compact cycle records of the journal (rrdd/store/tickrec.h):
 *  - round trip: a stream of generated cycles (several producers, owners
 *    appearing and leaving, layouts with and without tokens, descriptors
 *    with NULL strings and odd bounds, integers with any difference
 *    including wrap-around, floats including NaN, -0, infinities and
 *    denormals, unknowns, residents changing or not) decodes to exactly
 *    the input, field by field and bit by bit, across stream resets;
 *  - the dictionary: a descriptor's strings are in the first record of a
 *    stream that uses them, not in the later ones, and again after a reset;
 *  - a decoder refuses a record of a stream it did not see start, and every
 *    truncation or byte flip of a record is refused or decoded without a
 *    crash (never reads outside the record).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/chunk.h"
#include "monitor/registry.h"
#include "store/durable.h"
#include "store/tickrec.h"
#include "util/buf.h"

/* deterministic generator */
static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

#define NDESC 12
static struct mon_dsdesc descs[NDESC];

static void make_descs(void)
{
	static const char *names[NDESC] = {"cpu0",         "cpu1",        "memory",
	                                   "vif_0_rx",     "vif_0_tx",    "vbd_xvda_read",
	                                   "runstate_odd", "sr_size",     "plugin_gauge",
	                                   "uniquename42", "vbd_latency", "cpu_usage"};
	for (int i = 0; i < NDESC; i++) {
		struct mon_dsdesc *d = &descs[i];
		d->name = names[i];
		d->description = i % 3 == 0 ? NULL : (i % 3 == 1 ? "" : "A description, with µ");
		d->units = i % 4 == 0 ? NULL : "B/s";
		d->type = (enum ds_type)(i % 3);
		d->value_type = (enum val_type)(i % 3);
		d->min = i == 5 ? -0.0 : (i % 2 ? -INFINITY : 0.0);
		d->max = i == 6 ? NAN : (i % 2 ? INFINITY : 100.5);
		d->dflt = i % 2 == 0;
		d->transform = (enum ds_transform)(i % 2);
	}
}

static const double odd_floats[] = {0.0, -0.0, INFINITY, -INFINITY, 1e-310, 1.5, 3.141592653589793};

static struct dsval gen_value(int pos, int cycle)
{
	uint64_t r = rnd();
	switch (r % 7) {
	case 0:
		return DSVAL_UNKNOWN;
	case 1:
		return DSVAL_INT((int64_t)(rnd())); /* any difference, wraps */
	case 2:
		return DSVAL_INT(1000 * cycle + pos); /* small differences */
	case 3: {
		union {
			uint64_t u;
			double d;
		} x = {.u = rnd()}; /* any bits, NaNs included */
		return DSVAL_FLT(x.d);
	}
	case 4:
		return DSVAL_FLT(odd_floats[rnd() % 7]);
	case 5:
		return DSVAL_FLT(cycle * 0.1 + pos);
	default:
		return DSVAL_INT(INT64_MIN + (int64_t)(r % 3));
	}
}

struct gen {
	struct mon_chunk ch[3];
	const struct mon_chunk *cp[3];
	struct mon_resident res[8];
	char gone[3][MON_UUID_LEN + 1];
	struct mon_cycle t;
};

static void uuid_of(char *out, int k)
{
	snprintf(out, MON_UUID_LEN + 1, "%08x-2222-4333-8444-%012x", 0x10000000 + k, k);
}

/* Cycle c: chunk 0 (tokens) for the host and VMs, chunk 1 (no tokens) for
 * an SR and some VMs, chunk 2 sometimes, residents changing every 4
 * cycles, a departed VM every 5. */
static void gen_tick(struct gen *g, int c)
{
	memset(&g->t, 0, sizeof(g->t));
	const char *uids[3] = {"rrdd-source", "plugin-a",
	                       "a-producer-uid-of-exactly-sixty-four-chars-0123456789abcdefghij"};
	size_t nch = c % 3 == 2 ? 3 : 2;
	for (size_t i = 0; i < nch; i++) {
		struct mon_chunk *ch = &g->ch[i];
		mon_chunk_reset(ch);
		memset(ch->uid, 0, sizeof(ch->uid));
		memcpy(ch->uid, uids[i],
		       strlen(uids[i]) < MON_UID_LEN ? strlen(uids[i]) : MON_UID_LEN);
		ch->t = 1700000000.0 + 5 * c + (double)i / 3;
		int nown = i == 0 ? 5 : 2 + (c % 2);
		for (int j = 0; j < nown; j++) {
			char u[MON_UUID_LEN + 1];
			uuid_of(u, (j + c / 6) % 9);
			enum mon_owner_kind kind = j == 0 ? (i == 1 ? MON_SR : MON_HOST) : MON_VM;
			struct mon_chunk_owner *o =
			    mon_chunk_add_owner(ch, kind, kind == MON_HOST ? NULL : u);
			/* token layouts (chunk 0): two shapes, each always the same */
			int shape = i == 0 ? j % 2 : (int)(rnd() % 3);
			if (i == 0)
				o->layout = 100 + (uint64_t)shape;
			int nds = 3 + shape * 2 + (i == 0 ? 0 : c % 2);
			for (int k = 0; k < nds; k++) {
				struct mon_sample *s = mon_owner_add_sample(o);
				s->d = descs[(k * (shape + 1) + (i == 0 ? 0 : c)) % NDESC];
				s->v = gen_value(k, c);
				if (s->v.type == VAL_UNKNOWN)
					s->v.i = 0; /* what replay gives back */
			}
		}
		g->cp[i] = ch;
	}
	g->t.now = 1700000000.0 + 5 * c;
	g->t.chunks = g->cp;
	g->t.nchunks = nch;
	size_t nres = 2 + (size_t)(c / 4) % 5;
	for (size_t i = 0; i < nres; i++) {
		memset(&g->res[i], 0, sizeof(g->res[i]));
		uuid_of(g->res[i].uuid, (int)i + c / 4);
		g->res[i].domid = (uint32_t)(i + c / 4);
	}
	g->t.res = g->res;
	g->t.nres = nres;
	g->t.ngone = c % 5 == 4 ? 2 : 0;
	for (size_t i = 0; i < g->t.ngone; i++)
		uuid_of(g->gone[i], c + (int)i);
	g->t.gone = (const char(*)[MON_UUID_LEN + 1]) g->gone;
}

static void same_str(const char *want, const char *got)
{
	assert_non_null(got);
	assert_string_equal(want ? want : "", got);
}

static void assert_same_tick(const struct mon_cycle *a, const struct mon_cycle *b)
{
	assert_memory_equal(&a->now, &b->now, 8);
	assert_int_equal(a->nres, b->nres);
	for (size_t i = 0; i < a->nres; i++) {
		assert_string_equal(a->res[i].uuid, b->res[i].uuid);
		assert_int_equal(a->res[i].domid, b->res[i].domid);
	}
	assert_int_equal(a->ngone, b->ngone);
	for (size_t i = 0; i < a->ngone; i++)
		assert_string_equal(a->gone[i], b->gone[i]);
	assert_int_equal(a->nchunks, b->nchunks);
	for (size_t i = 0; i < a->nchunks; i++) {
		const struct mon_chunk *x = a->chunks[i], *y = b->chunks[i];
		assert_memory_equal(x->uid, y->uid, MON_UID_LEN);
		assert_memory_equal(&x->t, &y->t, 8);
		assert_int_equal(x->nowner, y->nowner);
		for (uint32_t j = 0; j < x->nowner; j++) {
			const struct mon_chunk_owner *p = &x->owner[j], *q = &y->owner[j];
			assert_int_equal(p->kind, q->kind);
			assert_string_equal(p->uuid, q->uuid);
			assert_int_equal(p->nds, q->nds);
			for (uint32_t k = 0; k < p->nds; k++) {
				const struct mon_sample *s = &p->ds[k], *r = &q->ds[k];
				same_str(s->d.name, r->d.name);
				same_str(s->d.description, r->d.description);
				same_str(s->d.units, r->d.units);
				assert_int_equal(s->d.type, r->d.type);
				assert_int_equal(s->d.value_type, r->d.value_type);
				assert_memory_equal(&s->d.min, &r->d.min, 8);
				assert_memory_equal(&s->d.max, &r->d.max, 8);
				assert_int_equal(s->d.dflt, r->d.dflt);
				assert_int_equal(s->d.transform, r->d.transform);
				assert_int_equal(s->v.type, r->v.type);
				assert_memory_equal(&s->v.i, &r->v.i, 8);
			}
		}
	}
}

static void free_gen(struct gen *g)
{
	for (int i = 0; i < 3; i++)
		mon_chunk_clear(&g->ch[i]);
}

static void test_round_trip(void **state)
{
	(void)state;
	make_descs();
	struct gen g;
	memset(&g, 0, sizeof(g));
	struct store_tickenc *e = store_tickenc_new();
	struct store_tickdec *d = store_tickdec_new();
	struct buf b = BUF_INIT;
	int resets = 0;
	for (int c = 0; c < 60; c++) {
		if (c % 25 == 0) {
			store_tickenc_reset(e, (uint64_t)c + 1);
			resets++;
		}
		gen_tick(&g, c);
		buf_reset(&b);
		store_tickenc_encode(e, &g.t, &b);
		struct mon_cycle out;
		assert_int_equal(store_tickdec_decode(d, b.p, b.len, &out), 0);
		assert_same_tick(&g.t, &out);
	}
	assert_int_equal(resets, 3);
	buf_free(&b);
	store_tickenc_free(e);
	store_tickdec_free(d);
	free_gen(&g);
}

static bool contains(const struct buf *b, const char *s)
{
	return memmem(b->p, b->len, s, strlen(s)) != NULL;
}

static void test_dictionary(void **state)
{
	(void)state;
	make_descs();
	struct gen g;
	memset(&g, 0, sizeof(g));
	struct store_tickenc *e = store_tickenc_new();
	struct buf b1 = BUF_INIT, b2 = BUF_INIT, b3 = BUF_INIT;
	store_tickenc_reset(e, 7);
	gen_tick(&g, 1);
	store_tickenc_encode(e, &g.t, &b1);
	store_tickenc_encode(e, &g.t, &b2); /* the same cycle again */
	store_tickenc_reset(e, 8);
	store_tickenc_encode(e, &g.t, &b3);
	const char *probe[] = {"cpu0", "A description, with µ", "B/s", "rrdd-source",
	                       "10000001-2222-4333-8444-000000000001"};
	for (size_t i = 0; i < sizeof(probe) / sizeof(*probe); i++) {
		assert_true(contains(&b1, probe[i]));
		assert_false(contains(&b2, probe[i]));
		assert_true(contains(&b3, probe[i]));
	}
	/* the repeat holds values and references only: a few bytes per sample */
	size_t samples = 0;
	for (size_t i = 0; i < g.t.nchunks; i++)
		for (uint32_t j = 0; j < g.t.chunks[i]->nowner; j++)
			samples += g.t.chunks[i]->owner[j].nds;
	assert_true(b2.len < b1.len / 2);
	assert_true(b2.len <= 64 + samples * 2); /* every value unchanged: tags only */
	assert_int_equal(b1.len, b3.len);
	/* a decoder that missed the stream's start refuses the later records */
	struct store_tickdec *d = store_tickdec_new();
	struct mon_cycle out;
	assert_int_equal(store_tickdec_decode(d, b2.p, b2.len, &out), -EINVAL);
	assert_int_equal(store_tickdec_decode(d, b1.p, b1.len, &out), 0);
	assert_int_equal(store_tickdec_decode(d, b2.p, b2.len, &out), 0);
	assert_same_tick(&g.t, &out);
	/* a record of stream 8 without its start: refused */
	struct buf b4 = BUF_INIT;
	store_tickenc_encode(e, &g.t, &b4);
	assert_int_equal(store_tickdec_decode(d, b4.p, b4.len, &out), -EINVAL);
	assert_int_equal(store_tickdec_decode(d, b3.p, b3.len, &out), 0);
	assert_int_equal(store_tickdec_decode(d, b4.p, b4.len, &out), 0);
	assert_same_tick(&g.t, &out);
	buf_free(&b1);
	buf_free(&b2);
	buf_free(&b3);
	buf_free(&b4);
	store_tickenc_free(e);
	store_tickdec_free(d);
	free_gen(&g);
}

static void test_damaged(void **state)
{
	(void)state;
	make_descs();
	struct gen g;
	memset(&g, 0, sizeof(g));
	struct store_tickenc *e = store_tickenc_new();
	struct buf b = BUF_INIT;
	store_tickenc_reset(e, 3);
	gen_tick(&g, 2);
	store_tickenc_encode(e, &g.t, &b);
	struct mon_cycle out;
	/* every truncation: refused (copied to an exact-size allocation so a
	 * read past the end would be caught by the sanitizers) */
	for (size_t n = 0; n < b.len; n++) {
		struct store_tickdec *d = store_tickdec_new();
		unsigned char *p = malloc(n ? n : 1);
		memcpy(p, b.p, n);
		assert_int_equal(store_tickdec_decode(d, p, n, &out), -EINVAL);
		free(p);
		store_tickdec_free(d);
	}
	/* byte flips: refused or decoded, never a crash; trailing garbage refused */
	int refused = 0, decoded = 0;
	for (size_t i = 0; i < b.len; i++) {
		struct store_tickdec *d = store_tickdec_new();
		unsigned char *p = malloc(b.len);
		memcpy(p, b.p, b.len);
		p[i] ^= (unsigned char)(1u << (rnd() % 8));
		if (store_tickdec_decode(d, p, b.len, &out) == 0)
			decoded++;
		else
			refused++;
		free(p);
		store_tickdec_free(d);
	}
	assert_true(refused > 0);
	assert_int_equal(refused + decoded, (int)b.len);
	struct store_tickdec *d = store_tickdec_new();
	buf_addc(&b, 0);
	assert_int_equal(store_tickdec_decode(d, b.p, b.len, &out), -EINVAL);
	store_tickdec_free(d);
	buf_free(&b);
	store_tickenc_free(e);
	free_gen(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_dictionary),
	    cmocka_unit_test(test_damaged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
