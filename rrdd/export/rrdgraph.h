/*
 * Graphs of an RRD drawn by librrd (rrd_graph_v): the parameters of
 * GET /graph and `rrdd-tool graph` (docs/graphs.md), parsed and checked,
 * and the rendering of chosen DSs of one RRD over a time window to PNG or
 * SVG bytes.  The RRD is written as a temporary rrdtool file (rrdfile.h) in
 * a private directory that is removed afterwards.
 *
 * Expensive (tens of milliseconds): callers bound how many run at once and
 * never hold the registry lock (render a copy).  No logging.
 */
#ifndef RRDD_EXPORT_RRDGRAPH_H
#define RRDD_EXPORT_RRDGRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "rrd/rrd.h"
#include "util/buf.h"

#define EXP_GRAPH_MAX_LINES    24  /* DSs drawn in one graph */
#define EXP_GRAPH_MAX_PATTERNS 32  /* ds= parameters */
#define EXP_GRAPH_MAX_TEXT     200 /* title, one pattern */

struct exp_graph_kv {
	const char *k, *v;
};

struct exp_graph_req {
	const char *patterns[EXP_GRAPH_MAX_PATTERNS]; /* borrowed; none = every DS */
	size_t npat;
	int64_t start, end;     /* seconds: absolute, or relative to the RRD's last update */
	int start_rel, end_rel; /* 1 when relative */
	unsigned width, height; /* whole image, pixels */
	int svg;                /* else PNG */
	const char *title;      /* borrowed; NULL = a default from the subject */
	enum cf_type cf;        /* consolidation read from the archives */
};

/* Parse key=value parameters (ds, start, end, width, height, format,
 * title, cf; see docs/graphs.md) into g with defaults for absent keys.
 * Keys listed in ignore (NULL-terminated, may be NULL) are skipped; any
 * other unknown key, a repeated single-valued key or a bad value is an
 * error: -EINVAL with a one-line reason in err.  Strings stay borrowed. */
int exp_graph_parse(struct exp_graph_req *g, const struct exp_graph_kv *kv, size_t n,
                    const char *const *ignore, char *err, size_t errlen);

/* Render DSs of r chosen by g into img (PNG or SVG bytes appended).
 * subject names the RRD in the default title ("host <uuid>"); units, if
 * not NULL, has r->nds entries (each NULL or a unit for the legend).
 * Returns 0; -EINVAL when g does not fit r (no DS matches, too many, no
 * archive of the CF, empty window), -ENOSYS when librrd cannot be loaded
 * (export/librrd.h), or -EIO when librrd fails; err gets a one-line
 * reason. */
int exp_graph_render(const struct rrdb *r, const struct exp_graph_req *g, const char *subject,
                     const char *const *units, struct buf *img, char *err, size_t errlen);

#endif
