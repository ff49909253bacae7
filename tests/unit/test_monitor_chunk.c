/*
 * Unit tests for monitor/chunk's conversion of the catalogue's samples:
 * a chunk reused every tick copies only the values of an owner whose
 * layout token did not change, and every descriptor again when the token,
 * the count, or the absence of a token says the list may differ.  The
 * descriptors of each converted chunk are compared field by field with
 * the samples they came from.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/chunk.h"
#include "source/catalogue.h"

static const struct src_catdef defs[3] = {
    {{"alpha", "first", "B", DS_GAUGE, VAL_FLOAT, 0, 1, true, TR_IDENTITY, NULL}, MON_VM, NULL},
    {{"beta", "second", "s", DS_DERIVE, VAL_INT64, 0, INFINITY, false, TR_IDENTITY, NULL},
     MON_VM,
     NULL},
    {{"gamma", "third", "%", DS_GAUGE, VAL_FLOAT, -1, 1, true, TR_INVERSE, NULL}, MON_VM, NULL},
};

/* One VM owner with the DSs defs[idx[0..n-1]], values base + position. */
static void fill(struct src_samples *s, struct src_ds *ds, const int *idx, uint32_t n,
                 uint64_t layout, double base)
{
	static struct src_owner o;
	memset(&o, 0, sizeof(o));
	o.kind = MON_VM;
	strcpy(o.uuid, "01234567-89ab-4def-8123-456789abcdef");
	o.layout = layout;
	o.nds = n;
	o.ds = ds;
	for (uint32_t i = 0; i < n; i++)
		ds[i] = (struct src_ds){&defs[idx[i]], defs[idx[i]].d.name,
		                        defs[idx[i]].d.description, DSVAL_FLT(base + i)};
	memset(s, 0, sizeof(*s));
	s->t = 100;
	s->nowner = 1;
	s->owner = &o;
}

static void expect_same(const struct src_samples *s, const struct mon_chunk *c)
{
	assert_int_equal(c->nowner, 1);
	const struct src_owner *so = &s->owner[0];
	const struct mon_chunk_owner *o = &c->owner[0];
	assert_int_equal(o->nds, so->nds);
	assert_true(o->layout == so->layout);
	for (uint32_t j = 0; j < so->nds; j++) {
		const struct mon_dsdesc *d = &o->ds[j].d;
		assert_string_equal(d->name, so->ds[j].name);
		assert_string_equal(d->description, so->ds[j].description);
		assert_string_equal(d->units, so->ds[j].def->d.units);
		assert_int_equal(d->type, so->ds[j].def->d.type);
		assert_int_equal(d->value_type, so->ds[j].def->d.value_type);
		assert_int_equal(d->dflt, so->ds[j].def->d.dflt);
		assert_int_equal(d->transform, so->ds[j].def->d.transform);
		assert_true(d->min == so->ds[j].def->d.min && d->max == so->ds[j].def->d.max);
		struct dsval v = mon_owner_value(o, j);
		assert_int_equal(v.type, VAL_FLOAT);
		assert_true(v.f == so->ds[j].v.f);
	}
}

static void test_reuse_by_layout(void **state)
{
	(void)state;
	struct mon_chunk c = {0};
	struct src_samples s;
	struct src_ds ds[3];
	const int ab[2] = {0, 1}, ga[2] = {2, 0}, abg[3] = {0, 1, 2};

	fill(&s, ds, ab, 2, 7001, 10);
	mon_chunk_from_samples(&s, "t", &c);
	expect_same(&s, &c);
	/* same token: new values, same descriptors */
	fill(&s, ds, ab, 2, 7001, 20);
	mon_chunk_from_samples(&s, "t", &c);
	expect_same(&s, &c);
	/* another token, same count: every descriptor again */
	fill(&s, ds, ga, 2, 7002, 30);
	mon_chunk_from_samples(&s, "t", &c);
	expect_same(&s, &c);
	/* a grown list */
	fill(&s, ds, abg, 3, 7003, 40);
	mon_chunk_from_samples(&s, "t", &c);
	expect_same(&s, &c);
	/* no token (0): never trusted, even when the previous one was 0 */
	fill(&s, ds, ab, 2, 0, 50);
	mon_chunk_from_samples(&s, "t", &c);
	expect_same(&s, &c);
	fill(&s, ds, ga, 2, 0, 60);
	mon_chunk_from_samples(&s, "t", &c);
	expect_same(&s, &c);
	mon_chunk_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reuse_by_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
