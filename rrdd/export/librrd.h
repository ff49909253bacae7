/*
 * librrd, loaded only when needed.  rrdd does not link librrd: it pulls
 * cairo, pango and their fonts into dom0 for the few features that use it
 * (`/graph`, `/rrd_file`, `rrdd-tool rrd-export`, `--rrdcached`).  The
 * first of those to run dlopens librrd (the sonames of Debian's librrd8
 * and of rrdtool 1.4/1.7 builds, in turn) and resolves the functions
 * below; a host without librrd runs every other feature and those four
 * report the loader's reason.
 *
 * Loading is attempted once per process; the answer (the table or the
 * reason) is kept.  Thread-safe.  Callers still serialize librrd calls
 * with exp_rrdfile_lock (rrdfile.h).
 */
#ifndef RRDD_EXPORT_LIBRRD_H
#define RRDD_EXPORT_LIBRRD_H

#include <rrd.h>
#include <stddef.h>
#include <time.h>

/* The librrd functions rrdd calls, with their librrd names minus the
 * "rrd_"/"rrdc_" prefix. */
struct lrd_api {
	int (*restore)(int, char **);
	rrd_info_t *(*graph_v)(int, char **);
	void (*info_free)(rrd_info_t *);
	char *(*get_error)(void);
	void (*clear_error)(void);
	int (*c_connect)(const char *);
	int (*c_is_connected)(const char *);
	int (*c_disconnect)(void);
	time_t (*c_last)(const char *);
	int (*c_update)(const char *, int, const char *const *);
	int (*c_create_r2)(const char *, unsigned long, time_t, int, const char **, const char *,
	                   int, const char **);
};

/* The table, loading librrd on the first call; NULL when librrd or one of
 * the functions cannot be found, with the reason ("librrd cannot
 * be loaded (...): ...") in err.  err may be NULL. */
const struct lrd_api *lrd_get(char *err, size_t errlen);

#endif
