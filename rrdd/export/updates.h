/*
 * rrd_updates: the rrdtool-"xport"-like export of recent rows of several RRDs
 * (wire-format.md §3.4, §3.5), byte-identical to xcp-rrdd's Rrd_updates.export.
 *
 * Two steps, so that HTTP can stream large answers:
 *   1. exp_updates_plan() chooses the archives (create_multi/find_best_rras),
 *      the time window, the row count, the columns and the legend;
 *   2. the writers emit XML or JSON from the plan into a caller-owned buffer,
 *      either whole or head / row ranges / tail.
 * The plan points into the RRDs it was built from (it copies only the legend
 * text): they must stay alive and unchanged until the plan is freed (plan
 * and write from one snapshot, e.g. rrdb_dup copies, outside the registry
 * lock).  Pure: no I/O, no clock, no locks.
 */
#ifndef RRDD_EXPORT_UPDATES_H
#define RRDD_EXPORT_UPDATES_H

#include <stdint.h>

#include "rrd/rrd.h"
#include "util/buf.h"

/* One RRD of the export and the legend prefix of its columns
 * ("host:<uuid>:", "vm:<uuid>:", "sr:<uuid>:").  The first one supplies the
 * timestep and last_updated of the export. */
struct exp_updates_src {
	const char *prefix;
	const struct rrdb *rrd;
};

/* One output column: DS ds of RRD rrd in archive rra.  Row i of the export
 * shows ring row i - lag (NaN when i < lag): lag is how many export rows
 * this DS's ring is behind the export's end (DSs advance independently). */
struct exp_updates_col {
	const struct rrdb *rrd;
	uint32_t ds;
	uint32_t rra;
	uint64_t lag;
};

struct exp_updates_plan {
	int64_t start; /* <meta><start>: first CDP time after the requested start */
	int64_t step;  /* seconds per row of the chosen archives */
	int64_t end;   /* time of row 0 (the newest) */
	uint32_t rows; /* rows to write, newest first: row i is at end - i*step */
	uint32_t ncols;
	struct exp_updates_col *cols; /* ncols, in legend order */
	char *legend;                 /* ncols NUL-terminated entries, back to back */
	uint32_t *legend_off;         /* ncols + 1 offsets into legend */
};

/* Build the plan for the RRDs srcs[0..n) with xcp-rrdd's create_multi rules:
 * start < 0 is relative to each RRD's last update, interval (seconds, 0 =
 * finest) sets the minimum archive resolution, cf (NULL = every CF) restricts
 * the archives.  RRDs whose step differs from the first's are left out.
 * Returns 0, -ENOENT for No_RRA_Available (no RRD, an RRD lacking the CF or
 * any RRA, or no archive fine enough), or -EINVAL for an archive whose row
 * step does not fit in int64.  On error *p is zeroed. */
int exp_updates_plan(struct exp_updates_plan *p, const struct exp_updates_src *srcs, size_t n,
                     int64_t start, int64_t interval, const enum cf_type *cf);

/* Release what the plan owns (not the RRDs); the plan is zeroed.  Safe on a
 * zeroed plan. */
void exp_updates_plan_free(struct exp_updates_plan *p);

/* Legend entry col ("CF:prefixdsname") as a NUL-terminated string. */
const char *exp_updates_legend(const struct exp_updates_plan *p, uint32_t col);

/* Copy export rows [i0, i0 + n) of column c (row 0 the newest) to out[0..n),
 * the values the row writers print: NaN for rows before the column's first
 * (its lag), then consecutive ring rows read as a block.  Needs
 * i0 + n <= the archive's row count (true for any rows of a plan).  Reads
 * the RRD: call it while the RRD cannot change (e.g. under the registry
 * lock), to copy a plan's values out and format them later. */
void exp_updates_gather(const struct exp_updates_col *c, uint32_t i0, uint32_t n, float *out);

/* XML in pieces: head (declaration, <meta>, and the opening of <data>), rows
 * [first, first + count) (clamped to p->rows), then tail.  The concatenation
 * of head, every row once in order, and tail is the whole document. */
void exp_updates_xml_head(struct buf *out, const struct exp_updates_plan *p);
void exp_updates_xml_rows(struct buf *out, const struct exp_updates_plan *p, uint32_t first,
                          uint32_t count);
void exp_updates_xml_tail(struct buf *out, const struct exp_updates_plan *p);

/* JSON in pieces, with the same contract as the XML ones (the rows writer
 * puts the separating comma before every row but row 0). */
void exp_updates_json_head(struct buf *out, const struct exp_updates_plan *p);
void exp_updates_json_rows(struct buf *out, const struct exp_updates_plan *p, uint32_t first,
                           uint32_t count);
void exp_updates_json_tail(struct buf *out, const struct exp_updates_plan *p);

/* The whole document for a plan: XML (wire-format.md §3.4) or JSON (§3.5, current
 * form: data beside meta, every scalar a string). */
/* Row i of the answer (XML <row>, or the JSON row object preceded by a comma
 * unless i is 0) from values already copied out of the rings: column c's
 * value is vals[c * stride].  For writers that gather rows under a lock and
 * format outside it. */
void exp_updates_xml_row(struct buf *out, const struct exp_updates_plan *p, uint32_t i,
                         const float *vals, size_t stride);
void exp_updates_json_row(struct buf *out, const struct exp_updates_plan *p, uint32_t i,
                          const float *vals, size_t stride);

void exp_updates_xml(struct buf *out, const struct exp_updates_plan *p);
void exp_updates_json(struct buf *out, const struct exp_updates_plan *p);

/* Plan and write in one call (json != 0 for JSON).  Returns what
 * exp_updates_plan returns; nothing is appended on error. */
int exp_updates(struct buf *out, const struct exp_updates_src *srcs, size_t n, int64_t start,
                int64_t interval, const enum cf_type *cf, int json);

#endif
