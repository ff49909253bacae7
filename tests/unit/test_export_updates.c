/*
 * rrd_updates planning rules (wire-format.md §3.4, fixtures README addendum D) on
 * hand-built RRDs: strict archive boundaries, fallback to the coarsest
 * archive, No_RRA_Available cases, RRDs of another step left out, relative
 * start as a minimum over RRDs, shape filtering, the first non-empty choice,
 * per-DS lag alignment, and row-range clamping of the streaming writers.
 * Ring row i of DS d in RRA k holds k*1000 + d*100 + i, so every printed
 * value names the ring cell it came from.
 */
#include "export_testutil.h"

#include <errno.h>
#include <math.h>

#include "export/numfmt.h"
#include "export/updates.h"

#define L 1700000100 /* a multiple of 5 and of 60 (not of 3600) */

static struct rrdb *mk(uint32_t step, double last, const struct rrdb_rra_def *rras, size_t nrra,
                       size_t nds)
{
	static const char *const names[] = {"a", "b", "c"};
	struct rrdb_ds_def defs[3];
	assert_true(nds <= 3);
	for (size_t i = 0; i < nds; i++)
		defs[i] = (struct rrdb_ds_def){.name = names[i],
		                               .type = DS_GAUGE,
		                               .min = -INFINITY,
		                               .max = INFINITY,
		                               .mrhb = 300,
		                               .initial_last = DSVAL_UNKNOWN};
	struct rrdb *r = rrdb_alloc(step, rras, nrra, defs, nds);
	assert_non_null(r);
	r->last_updated = last;
	for (uint32_t d = 0; d < nds; d++) {
		r->ds[d].last_updated = last;
		for (uint32_t k = 0; k < nrra; k++) {
			uint32_t rows = rras[k].rows;
			float *v = malloc(sizeof(float) * rows);
			for (uint32_t i = 0; i < rows; i++)
				v[rows - 1 - i] = (float)(k * 1000 + d * 100 + i);
			rrdb_ring_load(r, d, k, v, rows);
			free(v);
		}
	}
	return r;
}

static struct rrdb *mk_default(int min_max, double last, size_t nds)
{
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t n = rrdb_default_rras(min_max, rras);
	return mk(5, last, rras, n, nds);
}

static int plan1(struct exp_updates_plan *p, struct rrdb *r, int64_t start, int64_t interval,
                 const enum cf_type *cf)
{
	struct exp_updates_src s = {"host:h:", r};
	return exp_updates_plan(p, &s, 1, start, interval, cf);
}

static void test_boundaries(void **state)
{
	struct rrdb *h = mk_default(1, L + 0.25, 1);
	struct exp_updates_plan p;
	enum cf_type max = CF_MAX;

	/* start == last_pdp - 600 is not inside the 5-s archive. */
	assert_int_equal(plan1(&p, h, L - 600, 0, NULL), 0);
	assert_int_equal(p.step, 60);
	assert_int_equal(p.ncols, 3); /* AVERAGE, MIN, MAX of the 1-min shape */
	assert_int_equal(p.rows, 11); /* L, L-60, ..., L-600 */
	assert_int_equal(p.start, L - 540);
	exp_updates_plan_free(&p);
	/* Relative -600 is the same request. */
	assert_int_equal(plan1(&p, h, -600, 0, NULL), 0);
	assert_int_equal(p.step, 60);
	exp_updates_plan_free(&p);

	assert_int_equal(plan1(&p, h, L - 595, 0, NULL), 0);
	assert_int_equal(p.step, 5);
	assert_int_equal(p.ncols, 1);
	assert_int_equal(p.rows, 120);
	assert_int_equal(p.end, L);
	assert_int_equal(p.start, L - 590);
	exp_updates_plan_free(&p);

	assert_int_equal(plan1(&p, h, L - 7200, 0, &max), 0);
	assert_int_equal(p.step, 3600);
	assert_string_equal(exp_updates_legend(&p, 0), "MAX:host:h:a");
	exp_updates_plan_free(&p);
	assert_int_equal(plan1(&p, h, L - 7195, 0, &max), 0);
	assert_int_equal(p.step, 60);
	assert_int_equal(p.rows, 120);
	exp_updates_plan_free(&p);

	/* interval: the first archive with pdp_cnt >= interval/step. */
	assert_int_equal(plan1(&p, h, L - 10, 3600, NULL), 0);
	assert_int_equal(p.step, 3600);
	assert_int_equal(p.rows, 0); /* end = L rounded down to the hour < start */
	assert_true(p.start > p.end);
	exp_updates_plan_free(&p);
	rrdb_free(h);
}

static void test_fallback_and_errors(void **state)
{
	struct rrdb *h = mk_default(1, L, 2), *v = mk_default(0, L, 1);
	struct exp_updates_plan p;
	enum cf_type max = CF_MAX, last = CF_LAST;

	/* Nothing covers start 0: the coarsest archive (all its CFs), rows
	 * capped at its row count, meta start still from the request. */
	assert_int_equal(plan1(&p, h, 0, 0, NULL), 0);
	assert_int_equal(p.step, 86400);
	assert_int_equal(p.rows, 366);
	assert_int_equal(p.ncols, 6);
	assert_int_equal(p.start, 86400);
	assert_string_equal(exp_updates_legend(&p, 5), "MAX:host:h:b");
	exp_updates_plan_free(&p);

	/* No archive coarse enough for the interval. */
	assert_int_equal(plan1(&p, h, 0, 10 * 86400, NULL), -ENOENT);
	assert_int_equal(p.ncols, 0);
	assert_null(p.cols);

	/* No RRD; a CF that one RRD lacks; a CF none has. */
	assert_int_equal(exp_updates_plan(&p, NULL, 0, -600, 0, NULL), -ENOENT);
	struct exp_updates_src hv[] = {{"host:h:", h}, {"vm:v:", v}};
	assert_int_equal(exp_updates_plan(&p, hv, 2, -3600, 0, &max), -ENOENT);
	assert_int_equal(exp_updates_plan(&p, hv, 1, -3600, 0, &max), 0);
	exp_updates_plan_free(&p);
	assert_int_equal(exp_updates_plan(&p, hv, 1, -600, 0, &last), -ENOENT);

	/* The one-call form appends nothing on error. */
	struct buf b = BUF_INIT;
	assert_int_equal(exp_updates(&b, hv, 2, -3600, 0, &max, 0), -ENOENT);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	rrdb_free(h);
	rrdb_free(v);
}

static void test_multi_rrd_rules(void **state)
{
	struct rrdb_rra_def fine120 = {CF_AVERAGE, 120, 1, 0.5};
	struct rrdb_rra_def fine60 = {CF_AVERAGE, 60, 1, 0.5};
	struct rrdb_rra_def minute = {CF_AVERAGE, 120, 12, 0.5};
	struct exp_updates_plan p;

	/* An RRD of another step is left out, also from the relative start. */
	struct rrdb *a = mk(5, L, &fine120, 1, 1), *b10 = mk(10, L - 1000, &fine120, 1, 1);
	struct exp_updates_src s1[] = {{"host:h:", a}, {"vm:x:", b10}};
	assert_int_equal(exp_updates_plan(&p, s1, 2, -100, 0, NULL), 0);
	assert_int_equal(p.ncols, 1);
	assert_int_equal(p.rows, 21);
	exp_updates_plan_free(&p);

	/* Relative start: the minimum over the RRDs. */
	struct rrdb *older = mk(5, L - 50, &fine120, 1, 1);
	struct exp_updates_src s2[] = {{"host:h:", a}, {"vm:x:", older}};
	assert_int_equal(exp_updates_plan(&p, s2, 2, -100, 0, NULL), 0);
	assert_int_equal(p.rows, 31);
	assert_int_equal(p.end, L);
	assert_int_equal(p.start, L - 145);
	exp_updates_plan_free(&p);

	/* Archives shaped unlike the first chosen one lose their columns. */
	struct rrdb *other = mk(5, L, &fine60, 1, 2);
	struct exp_updates_src s3[] = {{"host:h:", a}, {"vm:x:", other}};
	assert_int_equal(exp_updates_plan(&p, s3, 2, L - 100, 0, NULL), 0);
	assert_int_equal(p.ncols, 1);
	assert_string_equal(exp_updates_legend(&p, 0), "AVERAGE:host:h:a");
	exp_updates_plan_free(&p);

	/* The first RRD has nothing fine enough: the shape comes from the
	 * next RRD with a choice; the end still from the first RRD. */
	struct rrdb *two = mk(5, L, (struct rrdb_rra_def[]){fine120, minute}, 2, 1);
	struct exp_updates_src s4[] = {{"host:h:", a}, {"vm:x:", two}};
	assert_int_equal(exp_updates_plan(&p, s4, 2, L - 300, 60, NULL), 0);
	assert_int_equal(p.step, 60);
	assert_int_equal(p.ncols, 1);
	assert_string_equal(exp_updates_legend(&p, 0), "AVERAGE:vm:x:a");
	assert_int_equal(p.cols[0].rra, 1);
	assert_int_equal(p.rows, 6);
	exp_updates_plan_free(&p);

	rrdb_free(a);
	rrdb_free(b10);
	rrdb_free(older);
	rrdb_free(other);
	rrdb_free(two);
}

/* A DS whose ring is behind the export's end is shifted down: the rows it
 * does not have are NaN.  A DS ahead of the end is not shifted. */
static void test_lag(void **state)
{
	struct rrdb_rra_def rras[] = {{CF_AVERAGE, 120, 1, 0.5}, {CF_AVERAGE, 120, 12, 0.5}};
	struct rrdb *r = mk(5, L, rras, 2, 3);
	r->ds[1].last_updated = L - 5;  /* one 5-s row, and one 1-min row, behind */
	r->ds[2].last_updated = L + 10; /* newer than the RRD's last update */
	struct exp_updates_src s = {"host:h:", r};
	struct buf b = BUF_INIT;

	assert_int_equal(exp_updates(&b, &s, 1, L - 10, 0, NULL, 1), 0);
	assert_non_null(strstr(
	    buf_cstr(&b), "\"data\":[{\"t\":\"1700000100\",\"values\":[\"0.0\",\"NaN\",\"200\"]},"
	                  "{\"t\":\"1700000095\",\"values\":[\"1\",\"100\",\"201\"]},"
	                  "{\"t\":\"1700000090\",\"values\":[\"2\",\"101\",\"202\"]}]}"));
	buf_reset(&b);
	assert_int_equal(exp_updates(&b, &s, 1, L - 120, 60, NULL, 0), 0);
	assert_non_null(strstr(buf_cstr(&b),
	                       "<data><row><t>1700000100</t><v>1000</v><v>NaN</v><v>1200</v></row>"
	                       "<row><t>1700000040</t><v>1001</v><v>1100</v><v>1201</v></row>"
	                       "<row><t>1699999980</t><v>1002</v><v>1101</v><v>1202</v></row>"
	                       "</data></xport>"));
	/* A column lagging by more than the archive holds is all NaN. */
	r->ds[1].last_updated = 0;
	buf_reset(&b);
	assert_int_equal(exp_updates(&b, &s, 1, L - 10, 0, NULL, 1), 0);
	assert_non_null(strstr(buf_cstr(&b), "{\"t\":\"1700000090\",\"values\":[\"2\",\"NaN\","));
	buf_free(&b);
	rrdb_free(r);
}

static void test_row_ranges(void **state)
{
	struct rrdb_rra_def fine = {CF_AVERAGE, 120, 1, 0.5};
	struct rrdb *r = mk(5, L, &fine, 1, 1);
	struct exp_updates_plan p;
	assert_int_equal(plan1(&p, r, L - 20, 0, NULL), 0);
	assert_int_equal(p.rows, 5);
	struct buf b = BUF_INIT;
	exp_updates_xml_rows(&b, &p, 5, 10);
	exp_updates_json_rows(&b, &p, 7, 1);
	assert_int_equal(b.len, 0);
	exp_updates_xml_rows(&b, &p, 3, 100);
	assert_string_equal(buf_cstr(&b), "<row><t>1700000085</t><v>3</v></row>"
	                                  "<row><t>1700000080</t><v>4</v></row>");
	buf_reset(&b);
	exp_updates_json_rows(&b, &p, 0, 1);
	exp_updates_json_rows(&b, &p, 4, 1);
	assert_string_equal(buf_cstr(&b), "{\"t\":\"1700000100\",\"values\":[\"0.0\"]}"
	                                  ",{\"t\":\"1700000080\",\"values\":[\"4\"]}");
	buf_free(&b);
	exp_updates_plan_free(&p);
	exp_updates_plan_free(&p); /* safe on a zeroed plan */
	rrdb_free(r);
}

/* Rings that have wrapped (written by the engine, not loaded): every value
 * the writers print is the one rrdb_peek returns for that cell, including a
 * lagging column. */
static void test_wrapped_rings_match_peek(void **state)
{
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nrra = rrdb_default_rras(1, rras);
	struct rrdb_ds_def defs[2] = {
	    {.name = "g", .type = DS_GAUGE, .min = -INFINITY, .max = INFINITY, .mrhb = 300},
	    {.name = "h", .type = DS_GAUGE, .min = -INFINITY, .max = INFINITY, .mrhb = 300}};
	struct rrdb *r = rrdb_new(5, 1700000000, rras, nrra, defs, 2);
	assert_non_null(r);
	for (int k = 1; k <= 1000; k++) {
		struct rrdb_upd u[2] = {{0, DSVAL_FLT(k * 0.37)}, {1, DSVAL_INT(k * 1000 + 7)}};
		/* DS h misses the last 9 updates: 9 rows behind in the 5-s archive,
		 * one in the 1-min archive (last at ...4955 vs end ...4960). */
		assert_int_equal(rrdb_update(r, 1700000000 + 5.0 * k, u, k <= 991 ? 2 : 1, 0), 0);
	}
	struct exp_updates_src s = {"host:h:", r};
	for (int json = 0; json < 2; json++) {
		for (int64_t start = -595; start >= -3600; start -= 3005) {
			struct exp_updates_plan p;
			assert_int_equal(exp_updates_plan(&p, &s, 1, start, 0, NULL), 0);
			assert_true(p.rows >= 50);
			struct buf got = BUF_INIT, want = BUF_INIT;
			(json ? exp_updates_json : exp_updates_xml)(&got, &p);
			(json ? exp_updates_json_head : exp_updates_xml_head)(&want, &p);
			for (uint32_t i = 0; i < p.rows; i++) {
				char num[NUMFMT_MAX];
				int64_t t = p.end - (int64_t)i * p.step;
				if (json)
					buf_printf(&want, "%s{\"t\":\"%lld\",\"values\":[",
					           i ? "," : "", (long long)t);
				else
					buf_printf(&want, "<row><t>%lld</t>", (long long)t);
				for (uint32_t c = 0; c < p.ncols; c++) {
					const struct exp_updates_col *col = &p.cols[c];
					double v = i < col->lag
					               ? NAN
					               : rrdb_peek(r, col->ds, col->rra,
					                           (uint32_t)(i - col->lag));
					numfmt_double(num, v);
					if (json)
						buf_printf(&want, "%s\"%s\"", c ? "," : "", num);
					else
						buf_printf(&want, "<v>%s</v>", num);
				}
				buf_adds(&want, json ? "]}" : "</row>");
			}
			(json ? exp_updates_json_tail : exp_updates_xml_tail)(&want, &p);
			buf_cstr(&got);
			buf_cstr(&want);
			tu_assert_same("wrapped", got.p, got.len, want.p, want.len);
			if (start == -595) {
				assert_int_equal(p.step, 5);
				assert_int_equal(p.cols[1].lag, 9);
			} else {
				assert_int_equal(p.step, 60);
				assert_int_equal(p.cols[1].lag, 1);
			}
			buf_free(&got);
			buf_free(&want);
			exp_updates_plan_free(&p);
		}
	}
	rrdb_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_boundaries),      cmocka_unit_test(test_fallback_and_errors),
	    cmocka_unit_test(test_multi_rrd_rules), cmocka_unit_test(test_lag),
	    cmocka_unit_test(test_row_ranges),      cmocka_unit_test(test_wrapped_rings_match_peek),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
