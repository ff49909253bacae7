/*
 * libFuzzer target for the journal's compact cycle records
 * (store/tickrec.h): the input is one or two records (the first byte, if
 * below 0x80, says where the second starts), decoded in order by one
 * decoder.  Checks, beyond ASan/UBSan: no crash or read outside the
 * record, and every record that decodes re-encodes (fresh stream) into one
 * that decodes to the same cycle, bit for bit.
 * Build with -DRRDD_FUZZ=ON and CC=clang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/tickrec.h"
#include "util/buf.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static int same_str(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static void same_tick(const struct mon_cycle *a, const struct mon_cycle *b)
{
	CHECK(!memcmp(&a->now, &b->now, 8));
	CHECK(a->nres == b->nres && a->nchunks == b->nchunks && a->ngone == b->ngone);
	for (size_t i = 0; i < a->nres; i++)
		CHECK(!strcmp(a->res[i].uuid, b->res[i].uuid) &&
		      a->res[i].domid == b->res[i].domid);
	for (size_t i = 0; i < a->ngone; i++)
		CHECK(!strcmp(a->gone[i], b->gone[i]));
	for (size_t i = 0; i < a->nchunks; i++) {
		const struct mon_chunk *x = a->chunks[i], *y = b->chunks[i];
		CHECK(!memcmp(x->uid, y->uid, MON_UID_LEN) && !memcmp(&x->t, &y->t, 8));
		CHECK(x->nowner == y->nowner);
		for (uint32_t j = 0; j < x->nowner; j++) {
			const struct mon_chunk_owner *p = &x->owner[j], *q = &y->owner[j];
			CHECK(p->kind == q->kind && !strcmp(p->uuid, q->uuid) && p->nds == q->nds);
			for (uint32_t k = 0; k < p->nds; k++) {
				const struct mon_sample *s = &p->ds[k], *r = &q->ds[k];
				CHECK(same_str(s->d.name, r->d.name) &&
				      same_str(s->d.description, r->d.description) &&
				      same_str(s->d.units, r->d.units));
				CHECK(s->d.type == r->d.type &&
				      s->d.value_type == r->d.value_type &&
				      s->d.dflt == r->d.dflt && s->d.transform == r->d.transform);
				CHECK(!memcmp(&s->d.min, &r->d.min, 8) &&
				      !memcmp(&s->d.max, &r->d.max, 8));
				CHECK(s->v.type == r->v.type && !memcmp(&s->v.i, &r->v.i, 8));
			}
		}
	}
}

static void roundtrip(const struct mon_cycle *t)
{
	struct store_tickenc *e = store_tickenc_new();
	struct store_tickdec *d = store_tickdec_new();
	struct buf b = BUF_INIT;
	store_tickenc_reset(e, 1);
	store_tickenc_encode(e, t, &b);
	struct mon_cycle u;
	CHECK(store_tickdec_decode(d, b.p, b.len, &u) == 0);
	same_tick(t, &u);
	buf_free(&b);
	store_tickenc_free(e);
	store_tickdec_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t split = size;
	if (size && data[0] < 0x80) {
		split = 1 + (size_t)data[0] * 8;
		if (split > size)
			split = size;
		data++, size--, split--;
	}
	struct store_tickdec *d = store_tickdec_new();
	const uint8_t *part[2] = {data, data + split};
	size_t len[2] = {split, size - split};
	for (int i = 0; i < 2; i++) {
		if (i && !len[i])
			break;
		/* an exact-size copy: a read past the end is caught by ASan */
		uint8_t *p = malloc(len[i] ? len[i] : 1);
		memcpy(p, part[i], len[i]);
		struct mon_cycle t;
		if (store_tickdec_decode(d, p, len[i], &t) == 0)
			roundtrip(&t);
		free(p);
	}
	store_tickdec_free(d);
	return 0;
}
