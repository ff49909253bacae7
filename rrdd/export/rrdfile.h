/*
 * Export of an RRD as an rrdtool `.rrd` file, so `rrdtool fetch/graph/info`
 * work on rrdd's data: the same step, DSs (type, heartbeat, min/max) and
 * RRAs (CF, rows, PDPs per row, xff) and every archived row, written by
 * generating rrdtool's own `dump` XML and handing it to librrd's
 * rrd_restore (which stores the rows verbatim).  DS names are mapped to
 * rrdtool's [a-zA-Z0-9_]{1,19} deterministically (exp_rrdfile_names).
 *
 * Row times follow rrd_updates: the newest row of an RRA of row step S is
 * at trunc(last_updated) rounded down to S; a DS that was last updated
 * earlier than the RRD has NaN rows in the rows it lags.  The in-progress
 * PDP and CDPs are not carried over (they start unknown, as rrd_create
 * leaves them).  xcp-rrdd allows xff = 1, rrdtool only xff < 1: such an
 * RRA gets the largest double below 1 (nextafter(1, 0)), which gives the
 * same decision for any pdp_cnt below 2^52.
 *
 * librrd is not thread-safe as a whole (global option parsing state in
 * some versions, locale changes in graphing): every librrd call of rrdd
 * goes through exp_rrdfile_lock.  Never call these with the registry lock
 * held: work on a copy (mon_dup).
 */
#ifndef RRDD_EXPORT_RRDFILE_H
#define RRDD_EXPORT_RRDFILE_H

#include <stddef.h>

#include "rrd/rrd.h"
#include "util/buf.h"

#define EXP_RRDFILE_NAME_MAX 19

typedef char exp_rrdfile_name[EXP_RRDFILE_NAME_MAX + 1];

/* rrdtool names of the DSs of r into out[0..r->nds): a valid name is kept;
 * any other gets its invalid characters replaced by '_', and if that is
 * longer than 19 characters or taken, becomes the first 12 characters, '_'
 * and 6 hex digits of a hash of the full name (re-hashed with a counter
 * until unique).  Depends only on the DS names and their order. */
void exp_rrdfile_names(const struct rrdb *r, exp_rrdfile_name *out);

/* Whether name is a valid rrdtool DS name. */
int exp_rrdfile_name_ok(const char *name);

/* rrdtool's dump XML of r with the DS names given (from exp_rrdfile_names)
 * appended to out: what `rrdtool restore` reads.  Pure. */
void exp_rrdfile_dump_xml(struct buf *out, const struct rrdb *r, const exp_rrdfile_name *names);

/* The name mapping as text, one "rrdtool-name<TAB>full-name" line per DS
 * (json = 0), or as a JSON array of {"ds": full, "rrdtool": short}
 * (json = 1), appended to out. */
void exp_rrdfile_mapping(struct buf *out, const struct rrdb *r, const exp_rrdfile_name *names,
                         int json);

/* Write r as the rrdtool file path (replaced if it exists), through a dump
 * XML in a private temporary directory and rrd_restore.  0, or a negative
 * errno with a message in err: -ENOSYS when librrd cannot be loaded
 * (export/librrd.h). */
int exp_rrdfile_write(const struct rrdb *r, const char *path, char *err, size_t errlen);

/* A private (0700) temporary directory under $TMPDIR or /tmp, its path in
 * out (n >= 64).  0 or a negative errno. */
int exp_rrdfile_tmpdir(char *out, size_t n);

/* Remove a directory made by exp_rrdfile_tmpdir and the plain files in it. */
void exp_rrdfile_rmtree(const char *dir);

/* Serialize librrd calls (see above). */
void exp_rrdfile_lock(void);
void exp_rrdfile_unlock(void);

#endif
