/*
 * The round-robin database engine: data sources (DSs), round-robin archives
 * (RRAs), updates and consolidation, with xcp-rrdd's data model and rrdtool's
 * arithmetic where xcp-rrdd has verified bugs (see docs/differences.md).
 *
 * Pure: no I/O, no clock, no locks, no logging.  Time is always a parameter
 * (seconds since the epoch, as a double).  Allocation failure aborts (xalloc).
 *
 * Storage follows xcp-rrdd: every (DS, RRA) pair owns a ring of float32 rows
 * with its own head, so DSs fed by different plugins at different timestamps
 * advance independently; CDP and PDP accumulators are doubles.
 * Ring direction (exporters may read rings directly, through rrdb_cell): the
 * newest row of (DS d, RRA r) is at slot cdp[r].head of that ring, the next
 * older one at head - 1, wrapping from 0 to rows - 1.
 *
 * Memory: one block per RRD holds the CDP states of all DSs (DS i's nrra
 * entries at cdp_area + i * nrra, so updating the DSs in order walks them
 * linearly) followed by the rings.  The rings of one RRA are a matrix of
 * rows x cap_blk floats, slot s of every DS's ring side by side in one
 * matrix row (DS i in column i): DSs updated together have the same heads,
 * so an update writes one contiguous row per RRA instead of one cache line
 * per DS.  ds->cdp and r->rings point into the block; adding or removing a
 * DS may move the block and re-point them (never keep those pointers, or
 * cell addresses, across rrdb_add_ds / rrdb_remove_ds).
 */
#ifndef RRDD_RRD_H
#define RRDD_RRD_H

#include <stddef.h>
#include <stdint.h>

enum ds_type { DS_GAUGE, DS_ABSOLUTE, DS_DERIVE };
enum cf_type { CF_AVERAGE, CF_MIN, CF_MAX, CF_LAST };
enum ds_transform { TR_IDENTITY, TR_INVERSE };
enum val_type { VAL_UNKNOWN, VAL_INT64, VAL_FLOAT };

/* A raw sample as a plugin or the hypervisor reports it. */
struct dsval {
	enum val_type type;
	union {
		int64_t i;
		double f;
	};
};

#define DSVAL_UNKNOWN ((struct dsval){.type = VAL_UNKNOWN})
#define DSVAL_INT(x)  ((struct dsval){.type = VAL_INT64, .i = (x)})
#define DSVAL_FLT(x)  ((struct dsval){.type = VAL_FLOAT, .f = (x)})

/* Definition of a DS, as given to rrdb_new()/rrdb_add_ds(). */
struct rrdb_ds_def {
	const char *name;
	enum ds_type type;
	double min, max; /* -INFINITY / INFINITY when unbounded */
	double mrhb;     /* minimal heartbeat, seconds (xcp-rrdd uses 300) */
	enum ds_transform transform;
	struct dsval initial_last; /* DS 'last' at creation; rrdd uses unknown */
};

struct rrdb_rra_def {
	enum cf_type cf;
	uint32_t rows;
	uint32_t pdp_cnt;
	double xff;
};

/* Consolidation state and ring head of one (DS, RRA) pair. */
struct rrdb_cdp {
	double value;          /* xcp-rrdd's cdp_value: AVERAGE holds sum(pdp*n/P) */
	uint32_t unknown_pdps; /* unknown PDPs in the current CDP */
	uint32_t head;         /* index in the ring of the newest row */
};

struct rrdb_ds {
	char *name; /* owned */
	enum ds_type type;
	enum ds_transform transform;
	double min, max, mrhb;
	struct dsval last;    /* last raw value (DERIVE differences against it) */
	double value;         /* PDP accumulator, xcp-rrdd's meaning: the current
	                         rate for GAUGE/ABSOLUTE, the integral so far for
	                         DERIVE */
	double unknown_sec;   /* unknown seconds in the current PDP */
	double last_updated;  /* time of this DS's last update */
	struct rrdb_cdp *cdp; /* one per RRA, in the RRD's block */
};

struct rrdb_rra {
	enum cf_type cf;
	uint32_t rows;
	uint32_t pdp_cnt;
	double xff;
	size_t ring_off; /* offset of this RRA's ring matrix in rrdb.rings, floats */
};

struct rrdb {
	uint32_t step;       /* seconds per PDP */
	double last_updated; /* newest update time over all DSs */
	uint32_t nds, cap_ds;
	struct rrdb_ds *ds;
	uint32_t nrra;
	struct rrdb_rra *rra;
	uint32_t rows_total; /* sum of rra[].rows: floats per DS */
	/* the block of CDP states and rings, room for cap_blk DSs (private:
	 * use ds[].cdp and rrdb_cell) */
	uint32_t cap_blk; /* also the floats in one row of a ring matrix */
	void *blk;
	float *rings; /* the ring matrices, in the block */
};

/* The address of slot pos (< rows) of the ring of (DS ds, RRA rra). */
static inline float *rrdb_cell(const struct rrdb *r, uint32_t ds, uint32_t rra, uint32_t pos)
{
	return r->rings + r->rra[rra].ring_off + (size_t)pos * r->cap_blk + ds;
}

/* Flags for rrdb_update(). */
enum {
	/* Counters restarted (a VM got a new domid): a DERIVE sample is taken
	 * as the difference from zero, as xcp-rrdd's new_rrd does. */
	RRDB_COUNTERS_RESTARTED = 1u << 0,
};

/* One value of an update: DS index and raw sample. */
struct rrdb_upd {
	uint32_t ds;
	struct dsval v;
};

/* Name strings for the enums (as xcp-rrdd writes them) and their parsers.
 * The parsers return 0 or -EINVAL; cf and type names are case-sensitive. */
const char *rrdb_cf_name(enum cf_type cf);
const char *rrdb_type_name(enum ds_type t);
int rrdb_cf_parse(const char *s, enum cf_type *out);
int rrdb_type_parse(const char *s, enum ds_type *out);

/* Create an RRD of nds DSs and nrra RRAs, as of time 'created': the part of
 * the current PDP and CDPs before 'created' counts as unknown, rings are NaN.
 * Definitions are copied.  Returns NULL if a definition is invalid (step 0,
 * rows or pdp_cnt 0, duplicate or empty DS name, xff outside [0,1]). */
struct rrdb *rrdb_new(uint32_t step, double created, const struct rrdb_rra_def *rras, size_t nrra,
                      const struct rrdb_ds_def *dss, size_t nds);

/* Allocate an RRD with the given layout and zeroed state and NaN rings,
 * without the creation step; for loaders that then fill in every field. */
struct rrdb *rrdb_alloc(uint32_t step, const struct rrdb_rra_def *rras, size_t nrra,
                        const struct rrdb_ds_def *dss, size_t nds);

/* Free an RRD; NULL is a no-op. */
void rrdb_free(struct rrdb *r);

/* Deep copy (for exports from a snapshot outside a lock). */
struct rrdb *rrdb_dup(const struct rrdb *r);

/* Index of the DS called name, or -1. */
int rrdb_find_ds(const struct rrdb *r, const char *name);

/* Append a DS as of time t (its rings NaN, its current CDPs counting the
 * PDPs before t as unknown).  Other columns keep their history.  Returns the
 * new index, or the existing index if a DS of that name exists, or -EINVAL. */
int rrdb_add_ds(struct rrdb *r, double t, const struct rrdb_ds_def *def);

/* rrdb_add_ds for a caller that knows no DS of that name exists (it keeps
 * an index of the names): no search, so adding n DSs costs O(n).  Returns
 * the new index or -EINVAL. */
int rrdb_append_ds(struct rrdb *r, double t, const struct rrdb_ds_def *def);

/* Remove the DS called name and its history.  Returns 0, or -ENOENT. */
int rrdb_remove_ds(struct rrdb *r, const char *name);

/* Apply n samples taken at time t.  Any subset of DSs, in any order; each DS
 * advances from its own last_updated.  A sample not newer than its DS's
 * last_updated is ignored (rrdtool refuses it; xcp-rrdd pretends 5 s passed).
 * Returns the number of samples ignored (0 normally). */
int rrdb_update(struct rrdb *r, double t, const struct rrdb_upd *u, size_t n, unsigned flags);

/* Row i (0 = newest) of the ring of DS ds in RRA rra, widened to double. */
double rrdb_peek(const struct rrdb *r, uint32_t ds, uint32_t rra, uint32_t i);

/* Store row values oldest first into the ring of (ds, rra): n <= rows values;
 * rows older than those are NaN.  For loaders. */
void rrdb_ring_load(struct rrdb *r, uint32_t ds, uint32_t rra, const float *oldest_first,
                    uint32_t n);

/* The default RRA sets of xcp-rrdd (wire-format.md §2.3): 10 RRAs for the host (and for
 * VMs/SRs with use_min_max), 4 AVERAGE RRAs otherwise.  Returns the count
 * written to out (which must hold RRDB_MAX_DEFAULT_RRAS). */
#define RRDB_MAX_DEFAULT_RRAS 10
size_t rrdb_default_rras(int use_min_max, struct rrdb_rra_def out[RRDB_MAX_DEFAULT_RRAS]);

/* A hint that r is about to be updated: starts fetching its DS states and
 * CDPs into the cache (no effect on any value). */
void rrdb_prefetch(const struct rrdb *r);

/* The value xcp-rrdd's query_*_ds returns: the newest row of the first
 * AVERAGE RRA (NaN if none). */
double rrdb_query_latest(const struct rrdb *r, uint32_t ds);

#endif
