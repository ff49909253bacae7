/*
 * A helper for the tests that compare RRDs (included by test_rrd.c,
 * test_rrd_props.c, test_monitor_registry.c; not a test itself).  Include
 * after <cmocka.h>.
 */
#ifndef RRDD_TESTS_RRD_TESTUTIL_H
#define RRDD_TESTS_RRD_TESTUTIL_H

#include "rrd/rrd.h"

/* Rows i (0 = newest) of the rings of (a, da) and (b, db) hold the same
 * bits in every RRA (the slots where the rings start may differ). */
static inline void assert_same_rings(const struct rrdb *a, uint32_t da, const struct rrdb *b,
                                     uint32_t db)
{
	assert_int_equal(a->nrra, b->nrra);
	for (uint32_t k = 0; k < a->nrra; k++) {
		uint32_t rows = a->rra[k].rows, ha = a->ds[da].cdp[k].head,
		         hb = b->ds[db].cdp[k].head;
		assert_int_equal(rows, b->rra[k].rows);
		for (uint32_t i = 0; i < rows; i++) {
			const float *x = rrdb_cell(a, da, k, (ha + rows - i) % rows);
			const float *y = rrdb_cell(b, db, k, (hb + rows - i) % rows);
			assert_memory_equal(x, y, sizeof(float));
		}
	}
}

#endif
