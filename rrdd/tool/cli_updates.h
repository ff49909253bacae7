/*
 * rrd_updates as rrdd-tool's daemon commands use it: build the query, fetch
 * it as JSON over the socket and parse it (util/json_parse.h, strict) into
 * a table of legend entries and rows.  Also the legend entry grammar
 * CF:OWNER:UUID:NAME shared with the rrd2csv selectors.  No printing.
 */
#ifndef RRDD_TOOL_CLI_UPDATES_H
#define RRDD_TOOL_CLI_UPDATES_H

#include <stddef.h>

#include "tool/cli_http.h"

/* One legend entry split into its fields (cf "" when the text is not one of
 * AVERAGE/MIN/MAX/LAST, owner "" when not host/vm/sr). */
struct cli_legend {
	char *text; /* the entry as the daemon wrote it */
	char *cf;   /* pointers into one allocation owned by text's block */
	char *owner;
	char *uuid;
	char *name;
	char *block; /* storage for the split fields */
};

/* Split "CF:OWNER:UUID:NAME" (the name keeps any further ':').  Returns 0,
 * or -EINVAL when there are fewer than four fields (l is then empty).  The
 * fields are copies; release with cli_legend_free. */
int cli_legend_parse(const char *text, struct cli_legend *l);
void cli_legend_free(struct cli_legend *l);

/* A parsed rrd_updates answer. */
struct cli_xport {
	long long start, step, end;
	size_t ncols, nrows;
	struct cli_legend *legend; /* ncols entries */
	long long *t;              /* nrows timestamps, newest first as served */
	double *v;                 /* nrows * ncols values, row-major */
};

/* What to ask for. */
struct cli_updates_query {
	long long start;     /* negative: relative to the last update */
	long long interval;  /* 0: the daemon's default */
	const char *cf;      /* NULL: every CF */
	int host;            /* include the host RRD */
	const char *vm_uuid; /* NULL: every VM */
	const char *sr_uuid; /* NULL: no SR */
};

/* Fetch and parse.  Returns 0, a cli_http error, -EPROTO (HTTP error status
 * or malformed answer) with a message in err. */
int cli_updates_fetch(const struct cli_conn *c, const struct cli_updates_query *q,
                      struct cli_xport *x, char *err, size_t errlen);

/* Parse an rrd_updates JSON document (text[0..len)).  Returns 0 or -EPROTO. */
int cli_xport_parse(const char *text, size_t len, struct cli_xport *x, char *err, size_t errlen);

void cli_xport_free(struct cli_xport *x);

#endif
