/*
 * Unit tests for the piecewise RRD writers: exp_rrd_xml_part and
 * exp_rrd_json_part (what GET /host_rrd streams) concatenate to exactly
 * exp_rrd_xml's and exp_rrd_json's documents, the last part saying so;
 * and export/rrd_xml's push writer: for an RRD with the
 * default host RRAs, DSs of every type and several hours of updates, the
 * pieces concatenated equal exp_rrd_xml's document byte for byte at piece
 * sizes from 1 byte to more than the whole, no piece is empty, and pieces
 * stay near the requested size (one DS or one row may go over).  Also the
 * RRD without DSs (<cdp_prep/><database/>).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export/rrd_json.h"
#include "export/rrd_xml.h"

struct collect {
	struct buf all;
	size_t pieces, largest;
	int empty;
};

static void emit(void *ctx, const char *p, size_t n)
{
	struct collect *c = ctx;
	if (n == 0)
		c->empty++;
	buf_add(&c->all, p, n);
	c->pieces++;
	if (n > c->largest)
		c->largest = n;
}

static struct rrdb *sample_rrd(size_t nds)
{
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nrra = rrdb_default_rras(1, rras);
	struct rrdb_ds_def *ds = calloc(nds ? nds : 1, sizeof(*ds));
	char(*names)[32] = calloc(nds ? nds : 1, sizeof(*names));
	for (size_t i = 0; i < nds; i++) {
		snprintf(names[i], sizeof(names[i]), "ds<%zu>&", i);
		ds[i] = (struct rrdb_ds_def){names[i],    (enum ds_type)(i % 3), 0, INFINITY, 300,
		                             TR_IDENTITY, DSVAL_UNKNOWN};
	}
	struct rrdb *r = rrdb_new(5, 1700000000, rras, nrra, ds, nds);
	assert_non_null(r);
	struct rrdb_upd *u = calloc(nds ? nds : 1, sizeof(*u));
	for (int t = 1; t <= 3 * 720; t++) {
		for (size_t i = 0; i < nds; i++)
			u[i] = (struct rrdb_upd){
			    (uint32_t)i, i % 3 == 0 ? DSVAL_FLT(0.25 * (double)(t % 7))
			                            : DSVAL_INT((int64_t)t * (int64_t)(i + 1))};
		rrdb_update(r, 1700000000 + 5.0 * t, u, nds, 0);
	}
	free(u);
	free(ds);
	free(names);
	return r;
}

static void check_pieces(const struct rrdb *r, int internal)
{
	struct buf whole = BUF_INIT;
	exp_rrd_xml(&whole, r, internal);
	const size_t sizes[] = {1, 7, 100, 4096, 65536, whole.len + 1};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct collect c = {BUF_INIT, 0, 0, 0};
		exp_rrd_xml_pieces(r, internal, sizes[k], emit, &c);
		assert_int_equal(c.all.len, whole.len);
		assert_memory_equal(c.all.p, whole.p, whole.len);
		assert_int_equal(c.empty, 0);
		if (sizes[k] >= 4096 && sizes[k] < whole.len) {
			assert_true(c.pieces > 1);
			assert_true(c.largest < sizes[k] + 16384); /* a row or a DS over */
		}
		buf_free(&c.all);
	}
	buf_free(&whole);
}

/* Parts until the writer says the last one came (xml 0: JSON). */
static void check_parts(const struct rrdb *r, int xml, int internal)
{
	struct buf whole = BUF_INIT, cat = BUF_INIT;
	if (xml)
		exp_rrd_xml(&whole, r, internal);
	else
		exp_rrd_json(&whole, r);
	uint32_t part = 0;
	int more;
	do {
		size_t before = cat.len;
		more = xml ? exp_rrd_xml_part(&cat, r, internal, part)
		           : exp_rrd_json_part(&cat, r, part);
		assert_true(cat.len > before);
		part++;
		assert_true(part <= r->nrra + 1);
	} while (more);
	assert_int_equal(part, r->nrra ? r->nrra + 1 : 1);
	assert_int_equal(cat.len, whole.len);
	assert_memory_equal(cat.p, whole.p, whole.len);
	buf_free(&whole);
	buf_free(&cat);
}

static void test_parts_equal_document(void **state)
{
	(void)state;
	for (size_t nds = 0; nds <= 12; nds += 12) {
		struct rrdb *r = sample_rrd(nds);
		check_parts(r, 1, 0);
		check_parts(r, 1, 1);
		check_parts(r, 0, 0);
		rrdb_free(r);
	}
	/* no RRA at all: one part */
	struct rrdb_ds_def d = {"x", DS_GAUGE, 0, 1, 300, TR_IDENTITY, DSVAL_UNKNOWN};
	struct rrdb *r = rrdb_new(5, 1700000000, NULL, 0, &d, 1);
	assert_non_null(r);
	check_parts(r, 1, 1);
	check_parts(r, 0, 0);
	rrdb_free(r);
}

static void test_pieces_equal_document(void **state)
{
	(void)state;
	struct rrdb *r = sample_rrd(12);
	check_pieces(r, 0);
	check_pieces(r, 1);
	rrdb_free(r);
}

static void test_no_ds(void **state)
{
	(void)state;
	struct rrdb *r = sample_rrd(0);
	check_pieces(r, 1);
	rrdb_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parts_equal_document),
	    cmocka_unit_test(test_pieces_equal_document),
	    cmocka_unit_test(test_no_ds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
