/*
 * The registry of RRDs (rrdd/monitor/): wire-format.md §7 applied to hand-built
 * chunks.  A fresh RRD holds only the default DSs of its first chunk (whose
 * values are not applied); a non-default DS is known but not recorded until
 * enabled; DSs not reported in a cycle get Unknown; VM owners count only
 * while resident; a domid change restarts counters (for every chunk of the
 * cycle) without a spike; SR owners need no residency; a changed range
 * takes effect; a loaded RRD gets no duplicate DSs; forget drops a DS.
 * Expected values are worked out from the rate definitions by hand.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rrd_testutil.h"

#include "monitor/change.h"
#include "monitor/registry.h"
#include "util/log.h"

#define T0   1000000.0 /* a multiple of 5 */
#define HOST "aaaaaaaa-0000-4000-8000-000000000001"
#define VM1  "bbbbbbbb-0000-4000-8000-000000000001"
#define SR1  "cccccccc-0000-4000-8000-000000000001"

static struct mon_registry *reg_new(bool enable_all)
{
	struct mon_config cfg = {.host_uuid = HOST, .use_min_max = false, .enable_all = enable_all};
	return mon_registry_new(&cfg);
}

static void add(struct mon_chunk_owner *o, const char *name, enum ds_type type, bool dflt,
                struct dsval v)
{
	struct mon_sample *s = mon_owner_add_sample(o);
	s->d.name = name;
	s->d.description = "test";
	s->d.units = "u";
	s->d.type = type;
	s->d.value_type = v.type;
	s->d.min = type == DS_DERIVE ? 0 : -INFINITY;
	s->d.max = INFINITY;
	s->d.dflt = dflt;
	s->d.transform = TR_IDENTITY;
	s->v = v;
}

/* One cycle through mon_commit (the registry has no log here). */
static void apply_n(struct mon_registry *reg, const struct mon_chunk *const *cs, size_t n, double t,
                    const struct mon_resident *res, size_t nres, struct mon_apply_stats *st)
{
	struct mon_change c = {
	    .kind = MON_CH_CYCLE,
	    .cycle = {.now = t, .chunks = cs, .nchunks = n, .res = res, .nres = nres}};
	struct mon_result r;
	mon_commit(reg, &c, 0, &r);
	if (st)
		*st = r.stats;
}

static void apply1(struct mon_registry *reg, struct mon_chunk *c, double t,
                   const struct mon_resident *res, size_t nres, struct mon_apply_stats *st)
{
	const struct mon_chunk *cs[1] = {c};
	c->t = t;
	apply_n(reg, cs, 1, t, res, nres, st);
}

static int mon_enable_ds(struct mon_registry *reg, enum mon_owner_kind k, const char *uuid,
                         const char *name, double t)
{
	struct mon_change c = {
	    .kind = MON_CH_ENABLE_DS, .owner = k, .uuid = uuid, .ds_name = name, .t = t};
	return mon_commit(reg, &c, 0, NULL);
}

/* forget: 0 when forgotten, -ENOENT when there was no such DS or RRD */
static int mon_forget_ds(struct mon_registry *reg, enum mon_owner_kind k, const char *uuid,
                         const char *name)
{
	if (!mon_has(reg, k, uuid))
		return -ENOENT;
	struct mon_dsinfo *info;
	int n = mon_possible_dss(reg, k, uuid, &info), found = 0;
	for (int i = 0; i < n; i++)
		found |= info[i].enabled && !strcmp(info[i].d.name, name);
	mon_dsinfo_free(info, n > 0 ? (size_t)n : 0);
	struct mon_change c = {.kind = MON_CH_FORGET_DS, .owner = k, .uuid = uuid, .ds_name = name};
	int rc = mon_commit(reg, &c, 0, NULL);
	return rc ? rc : found ? 0 : -ENOENT;
}

static struct rrdb *mon_take(struct mon_registry *reg, enum mon_owner_kind k, const char *uuid)
{
	struct mon_change c = {.kind = MON_CH_RELEASE, .owner = k, .uuid = uuid};
	struct mon_result r;
	mon_commit(reg, &c, 0, &r);
	return r.rrd;
}

static int mon_put(struct mon_registry *reg, enum mon_owner_kind k, const char *uuid,
                   struct rrdb *rrd)
{
	struct mon_change c = {.kind = MON_CH_INSTALL, .owner = k, .uuid = uuid, .rrd = rrd};
	return mon_commit(reg, &c, 0, NULL);
}

static double latest(struct mon_registry *reg, enum mon_owner_kind k, const char *uuid,
                     const char *name)
{
	double v = -12345;
	if (mon_latest(reg, k, uuid, name, &v))
		return -12345;
	return v;
}

/* One host chunk with a (default gauge), b (non-default), c (default). */
static void host_chunk(struct mon_chunk *c, double a, double b, double cv, bool with_c)
{
	mon_chunk_reset(c);
	snprintf(c->uid, sizeof(c->uid), "test");
	struct mon_chunk_owner *o = mon_chunk_add_owner(c, MON_HOST, NULL);
	add(o, "c_gauge", DS_GAUGE, true, DSVAL_FLT(cv));
	if (!with_c)
		o->nds = 0;
	add(o, "a_gauge", DS_GAUGE, true, DSVAL_FLT(a));
	add(o, "b_hidden", DS_GAUGE, false, DSVAL_FLT(b));
}

static void test_fresh_rrd_only_defaults(void **state)
{
	(void)state;
	struct mon_registry *reg = reg_new(false);
	struct mon_chunk c = {0};
	struct mon_apply_stats st;
	host_chunk(&c, 10, 99, 7, true);
	apply1(reg, &c, T0, NULL, 0, &st);
	assert_int_equal(st.created, 1);

	mon_rdlock(reg);
	const struct rrdb *r = mon_get_locked(reg, MON_HOST, NULL);
	assert_non_null(r);
	assert_int_equal(r->nds, 2);
	/* DSs in name order; the non-default one is not recorded */
	assert_string_equal(r->ds[0].name, "a_gauge");
	assert_string_equal(r->ds[1].name, "c_gauge");
	assert_int_equal(r->nrra, 10); /* the host always has MIN/MAX */
	/* the creating chunk's values are not applied */
	assert_true(isnan(rrdb_query_latest(r, 0)));
	mon_unlock(reg);

	/* but the non-default DS is known, disabled */
	struct mon_dsinfo *info;
	int n = mon_possible_dss(reg, MON_HOST, NULL, &info);
	assert_int_equal(n, 3);
	int hidden = -1;
	for (int i = 0; i < n; i++)
		if (strcmp(info[i].d.name, "b_hidden") == 0)
			hidden = i;
	assert_true(hidden >= 0);
	assert_false(info[hidden].enabled);
	assert_string_equal(info[hidden].d.units, "u");
	for (int i = 0; i < n; i++)
		if (i != hidden)
			assert_true(info[i].enabled);
	mon_dsinfo_free(info, (size_t)n);

	/* the next cycle records the default values */
	host_chunk(&c, 20, 98, 8, true);
	apply1(reg, &c, T0 + 5, NULL, 0, &st);
	assert_int_equal(st.created, 0);
	assert_true(latest(reg, MON_HOST, NULL, "a_gauge") == 20);
	assert_true(latest(reg, MON_HOST, NULL, "c_gauge") == 8);
	assert_true(latest(reg, MON_HOST, NULL, "b_hidden") == -12345);

	/* enabling it: recorded from the cycle after */
	assert_int_equal(mon_enable_ds(reg, MON_HOST, NULL, "b_hidden", T0 + 5), 0);
	assert_int_equal(mon_enable_ds(reg, MON_HOST, NULL, "nope", T0 + 5), -ENOENT);
	host_chunk(&c, 30, 97, 9, true);
	apply1(reg, &c, T0 + 10, NULL, 0, &st);
	assert_true(latest(reg, MON_HOST, NULL, "b_hidden") == 97);
	assert_true(latest(reg, MON_HOST, NULL, "a_gauge") == 30);

	mon_chunk_clear(&c);
	mon_registry_free(reg);
}

static void test_missing_get_unknown(void **state)
{
	(void)state;
	struct mon_registry *reg = reg_new(false);
	struct mon_chunk c = {0};
	struct mon_apply_stats st;
	host_chunk(&c, 1, 1, 1, true);
	apply1(reg, &c, T0, NULL, 0, &st);
	host_chunk(&c, 2, 2, 2, true);
	apply1(reg, &c, T0 + 5, NULL, 0, &st);
	assert_true(latest(reg, MON_HOST, NULL, "c_gauge") == 2);
	/* c not reported: Unknown at the cycle time, a still recorded */
	host_chunk(&c, 3, 3, 3, false);
	apply1(reg, &c, T0 + 10, NULL, 0, &st);
	assert_int_equal(st.missing, 1);
	assert_true(isnan(latest(reg, MON_HOST, NULL, "c_gauge")));
	assert_true(latest(reg, MON_HOST, NULL, "a_gauge") == 3);
	/* no chunk at all: everything Unknown */
	apply1(reg, &c, T0 + 15, NULL, 0, &st);
	const struct mon_chunk *none[1];
	apply_n(reg, none, 0, T0 + 20, NULL, 0, &st);
	assert_int_equal(st.missing, 2);
	assert_true(isnan(latest(reg, MON_HOST, NULL, "a_gauge")));
	mon_chunk_clear(&c);
	mon_registry_free(reg);
}

static void vm_chunk(struct mon_chunk *c, const char *uid, const char *name, int64_t counter)
{
	mon_chunk_reset(c);
	snprintf(c->uid, sizeof(c->uid), "%s", uid);
	struct mon_chunk_owner *o = mon_chunk_add_owner(c, MON_VM, VM1);
	add(o, name, DS_DERIVE, true, DSVAL_INT(counter));
}

static void test_not_resident_ignored(void **state)
{
	(void)state;
	struct mon_registry *reg = reg_new(false);
	struct mon_chunk c = {0};
	struct mon_apply_stats st;
	vm_chunk(&c, "p", "bytes", 100);
	struct mon_resident other = {.uuid = "dddddddd-0000-4000-8000-000000000001", .domid = 3};
	apply1(reg, &c, T0, &other, 1, &st);
	assert_int_equal(st.not_resident, 1);
	assert_int_equal(st.created, 0);
	assert_false(mon_has(reg, MON_VM, VM1));
	mon_chunk_clear(&c);
	mon_registry_free(reg);
}

/* DERIVE counters: 100 B/s, then the domain reboots (new domid) and its
 * counter restarts from 0: the first rate is counter/5 s, never negative
 * or a spike; the same for a second producer's DS in that cycle. */
static void test_domid_change_restarts_counters(void **state)
{
	(void)state;
	struct mon_registry *reg = reg_new(false);
	struct mon_chunk a = {0}, b = {0};
	struct mon_apply_stats st;
	struct mon_resident res = {.uuid = VM1, .domid = 1};
	const struct mon_chunk *both[2] = {&b, &a}; /* applied in uid order */
	int64_t ctr = 1000;
	for (int i = 0; i < 4; i++, ctr += 500) {
		vm_chunk(&a, "a-src", "net", ctr);
		vm_chunk(&b, "b-plugin", "disk", 2 * ctr);
		a.t = b.t = T0 + 5 * i;
		apply_n(reg, both, 2, T0 + 5 * i, &res, 1, &st);
	}
	assert_true(latest(reg, MON_VM, VM1, "net") == 100);
	assert_true(latest(reg, MON_VM, VM1, "disk") == 200);

	res.domid = 2; /* reboot: counters from zero */
	vm_chunk(&a, "a-src", "net", 250);
	vm_chunk(&b, "b-plugin", "disk", 750);
	a.t = b.t = T0 + 20;
	apply_n(reg, both, 2, T0 + 20, &res, 1, &st);
	assert_int_equal(st.restarted, 1);
	assert_true(latest(reg, MON_VM, VM1, "net") == 50);
	assert_true(latest(reg, MON_VM, VM1, "disk") == 150);

	/* next cycle, same domid: plain differences again */
	vm_chunk(&a, "a-src", "net", 750);
	vm_chunk(&b, "b-plugin", "disk", 1250);
	a.t = b.t = T0 + 25;
	apply_n(reg, both, 2, T0 + 25, &res, 1, &st);
	assert_int_equal(st.restarted, 0);
	assert_true(latest(reg, MON_VM, VM1, "net") == 100);
	assert_true(latest(reg, MON_VM, VM1, "disk") == 100);
	mon_chunk_clear(&a);
	mon_chunk_clear(&b);
	mon_registry_free(reg);
}

static void test_sr_owner(void **state)
{
	(void)state;
	struct mon_registry *reg = reg_new(false);
	struct mon_chunk c = {0};
	struct mon_apply_stats st;
	for (int i = 0; i < 2; i++) {
		mon_chunk_reset(&c);
		struct mon_chunk_owner *o = mon_chunk_add_owner(&c, MON_SR, SR1);
		add(o, "physical_utilisation", DS_GAUGE, true, DSVAL_INT(4096 * (i + 1)));
		apply1(reg, &c, T0 + 5 * i, NULL, 0, &st);
	}
	char(*uuids)[MON_UUID_LEN + 1];
	size_t n = mon_list(reg, MON_SR, &uuids);
	assert_int_equal(n, 1);
	assert_string_equal(uuids[0], SR1);
	free(uuids);
	assert_true(latest(reg, MON_SR, SR1, "physical_utilisation") == 8192);
	struct rrdb *copy = mon_dup(reg, MON_SR, SR1);
	assert_non_null(copy);
	assert_int_equal(copy->nrra, 4); /* use_min_max off */
	rrdb_free(copy);
	mon_chunk_clear(&c);
	mon_registry_free(reg);
}

static void test_range_change(void **state)
{
	(void)state;
	struct mon_registry *reg = reg_new(false);
	struct mon_chunk c = {0};
	struct mon_apply_stats st;
	double maxes[3] = {10, 10, 100};
	for (int i = 0; i < 3; i++) {
		mon_chunk_reset(&c);
		struct mon_chunk_owner *o = mon_chunk_add_owner(&c, MON_HOST, NULL);
		add(o, "g", DS_GAUGE, true, DSVAL_FLT(20));
		o->ds[0].d.max = maxes[i];
		apply1(reg, &c, T0 + 5 * i, NULL, 0, &st);
		if (i == 1)
			assert_true(isnan(latest(reg, MON_HOST, NULL, "g"))); /* 20 > max 10 */
	}
	assert_true(latest(reg, MON_HOST, NULL, "g") == 20);
	mon_chunk_clear(&c);
	mon_registry_free(reg);
}

/* The OpenMetrics identity of a DS (mon_dsdesc.om) follows the producer's
 * descriptor: given later to a DS that had none (one restored from the
 * journal, which does not keep it), changed, taken away. */
static const char *om_of(struct mon_registry *reg, const char *name, char *out, size_t cap)
{
	struct mon_dsinfo *info = NULL;
	int n = mon_possible_dss(reg, MON_HOST, NULL, &info);
	const char *r = "missing";
	for (int i = 0; i < n; i++)
		if (!strcmp(info[i].d.name, name))
			r = info[i].d.om ? info[i].d.om : "(none)";
	snprintf(out, cap, "%s", r);
	mon_dsinfo_free(info, n > 0 ? (size_t)n : 0);
	return out;
}

static void test_om_identity_follows(void **state)
{
	(void)state;
	struct mon_registry *reg = reg_new(false);
	struct mon_chunk c = {0};
	const char *oms[4] = {NULL, "temp{sensor=\"a\"}", "temp{sensor=\"b\"}", NULL};
	const char *want[4] = {"(none)", "temp{sensor=\"a\"}", "temp{sensor=\"b\"}", "(none)"};
	char got[128];
	for (int i = 0; i < 4; i++) {
		mon_chunk_reset(&c);
		struct mon_chunk_owner *o = mon_chunk_add_owner(&c, MON_HOST, NULL);
		add(o, "temp_a", DS_GAUGE, true, DSVAL_FLT(20 + i));
		o->ds[0].d.om = oms[i];
		apply1(reg, &c, T0 + 5 * i, NULL, 0, NULL);
		assert_string_equal(om_of(reg, "temp_a", got, sizeof(got)), want[i]);
	}
	assert_true(latest(reg, MON_HOST, NULL, "temp_a") == 23);
	mon_chunk_clear(&c);
	mon_registry_free(reg);
}

static void test_put_take_no_duplicates(void **state)
{
	(void)state;
	struct mon_registry *reg = reg_new(false);
	struct mon_chunk c = {0};
	struct mon_apply_stats st;
	host_chunk(&c, 1, 1, 1, true);
	apply1(reg, &c, T0, NULL, 0, &st);
	host_chunk(&c, 2, 2, 2, true);
	apply1(reg, &c, T0 + 5, NULL, 0, &st);
	struct rrdb *r = mon_take(reg, MON_HOST, NULL);
	assert_non_null(r);
	assert_false(mon_has(reg, MON_HOST, NULL));
	assert_int_equal(mon_put(reg, MON_HOST, NULL, r), 0);
	/* the DSs of the loaded RRD are matched by name, not appended again */
	host_chunk(&c, 3, 3, 3, true);
	apply1(reg, &c, T0 + 10, NULL, 0, &st);
	assert_int_equal(st.created, 0);
	assert_int_equal(st.ds_added, 0);
	mon_rdlock(reg);
	assert_int_equal(mon_get_locked(reg, MON_HOST, NULL)->nds, 2);
	mon_unlock(reg);
	assert_true(latest(reg, MON_HOST, NULL, "a_gauge") == 3);
	/* forget drops the DS; a default one comes back with the next chunk */
	assert_int_equal(mon_forget_ds(reg, MON_HOST, NULL, "a_gauge"), 0);
	assert_int_equal(mon_forget_ds(reg, MON_HOST, NULL, "a_gauge"), -ENOENT);
	assert_true(latest(reg, MON_HOST, NULL, "a_gauge") == -12345);
	assert_true(latest(reg, MON_HOST, NULL, "c_gauge") == 3);
	host_chunk(&c, 4, 4, 4, true);
	apply1(reg, &c, T0 + 15, NULL, 0, &st);
	assert_int_equal(st.ds_added, 1);
	assert_true(latest(reg, MON_HOST, NULL, "c_gauge") == 4);
	mon_chunk_clear(&c);
	mon_registry_free(reg);
}

static void test_enable_all(void **state)
{
	(void)state;
	struct mon_registry *reg = reg_new(true);
	struct mon_chunk c = {0};
	host_chunk(&c, 1, 1, 1, true);
	apply1(reg, &c, T0, NULL, 0, NULL);
	host_chunk(&c, 2, 5, 2, true);
	apply1(reg, &c, T0 + 5, NULL, 0, NULL);
	assert_true(latest(reg, MON_HOST, NULL, "b_hidden") == 5);
	mon_chunk_clear(&c);
	mon_registry_free(reg);
}

/* Two RRDs hold the same DSs in the same order with the same rings. */
static void assert_same_rrd(struct mon_registry *a, struct mon_registry *b)
{
	mon_rdlock(a);
	mon_rdlock(b);
	const struct rrdb *x = mon_get_locked(a, MON_HOST, NULL);
	const struct rrdb *y = mon_get_locked(b, MON_HOST, NULL);
	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(x->nds, y->nds);
	for (uint32_t i = 0; i < x->nds; i++) {
		assert_string_equal(x->ds[i].name, y->ds[i].name);
		assert_same_rings(x, i, y, i);
		assert_memory_equal(&x->ds[i].value, &y->ds[i].value, sizeof(double));
	}
	mon_unlock(b);
	mon_unlock(a);
}

/* Chunks carrying a layout token (the mapping cache) give exactly the RRDs
 * that the same chunks without a token give, through a DS enabled, a DS
 * forgotten, and the producer changing its layout. */
static void test_layout_token_same_result(void **state)
{
	(void)state;
	struct mon_registry *fast = reg_new(false), *slow = reg_new(false);
	struct mon_chunk c = {0};
	struct mon_apply_stats st;
	for (int tick = 0; tick < 40; tick++) {
		double t = T0 + 5 * tick;
		host_chunk(&c, tick * 1.5, tick * 2.5, 100 - tick, true);
		uint64_t layout = 77;
		if (tick >= 30) { /* the producer reorders its DSs: a new token */
			struct mon_sample tmp = c.owner[0].ds[0];
			c.owner[0].ds[0] = c.owner[0].ds[2];
			c.owner[0].ds[2] = tmp;
			layout = 78;
		}
		c.owner[0].layout = 0;
		apply1(slow, &c, t, NULL, 0, &st);
		c.owner[0].layout = layout;
		apply1(fast, &c, t, NULL, 0, &st);
		if (tick == 10) {
			assert_int_equal(mon_enable_ds(slow, MON_HOST, NULL, "b_hidden", t + 1), 0);
			assert_int_equal(mon_enable_ds(fast, MON_HOST, NULL, "b_hidden", t + 1), 0);
		}
		if (tick == 20) {
			assert_int_equal(mon_forget_ds(slow, MON_HOST, NULL, "a_gauge"), 0);
			assert_int_equal(mon_forget_ds(fast, MON_HOST, NULL, "a_gauge"), 0);
		}
		assert_same_rrd(fast, slow);
	}
	/* the enabled DS was fed through the cached mapping (a gauge: its last
	 * reading), and a_gauge came back (a default DS) at the end */
	assert_true(latest(fast, MON_HOST, NULL, "b_hidden") == 39 * 2.5);
	assert_true(latest(fast, MON_HOST, NULL, "c_gauge") == 100 - 39);
	assert_true(latest(fast, MON_HOST, NULL, "a_gauge") == 39 * 1.5);
	mon_chunk_clear(&c);
	mon_registry_free(fast);
	mon_registry_free(slow);
}

int main(void)
{
	log_init("test", LOG_TO_STDERR, LOG_WARNING);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fresh_rrd_only_defaults),
	    cmocka_unit_test(test_missing_get_unknown),
	    cmocka_unit_test(test_not_resident_ignored),
	    cmocka_unit_test(test_domid_change_restarts_counters),
	    cmocka_unit_test(test_sr_owner),
	    cmocka_unit_test(test_range_change),
	    cmocka_unit_test(test_put_take_no_duplicates),
	    cmocka_unit_test(test_om_identity_follows),
	    cmocka_unit_test(test_enable_all),
	    cmocka_unit_test(test_layout_token_same_result),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
