/*
 * Streaming parser for full RRD XML documents (xcp-rrdd's `from_xml`
 * format, wire-format.md §3.2): the gzip archives in /var/lib/xcp/blobs/rrds and the
 * bodies of PUT /rrd.  Bytes are pushed in any chunking; values go straight
 * into compact per-RRA float buffers and the whole document text is never
 * held.  The result is a struct rrdb built with rrdb_alloc/rrdb_ring_load.
 *
 * Loading follows the reference loader: fixed element order, last_ds ignored
 * (DS last becomes unknown), missing last_updated defaults to lastupdate,
 * duplicate DS names keep the last occurrence, min clamped to >= 0 and ring
 * values outside [min, max] become NaN (CA-408126).  Untrusted input gets a
 * one-line error and bounded memory (struct xmlp_limits), never a crash.
 * This module does no network I/O and takes no locks; it must not print.
 */
#ifndef RRDD_STORE_XML_PARSE_H
#define RRDD_STORE_XML_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rrdb;
struct xmlp;

/* Resource limits; a zero field means "use the default". */
struct xmlp_limits {
	uint32_t max_ds;     /* <ds> elements under <rrd> (default 4096) */
	uint32_t max_rra;    /* <rra> elements (default 64, the engine's cap) */
	uint32_t max_rows;   /* rows of one RRA (default 1000000) */
	uint64_t max_floats; /* sum over RRAs of rows * DSs (default 32M) */
	uint32_t max_text;   /* bytes of one text node, e.g. a name (default 1024) */
	uint32_t max_token;  /* bytes of one markup token: tag, comment (default 64 KiB) */
	uint64_t max_bytes;  /* bytes of the whole document (default 2 GiB) */
	/* Refuse, instead of loading as the reference loader does, a DS name
	 * that repeats (the reference keeps the last) or that holds ':' or a
	 * control character (a legend is CF:owner:uuid:name): for RRDs sent
	 * by clients (PUT /rrd), not archives. */
	bool strict_names;
};

#define XMLP_DEFAULT_MAX_DS     4096u
#define XMLP_DEFAULT_MAX_RRA    64u
#define XMLP_DEFAULT_MAX_ROWS   1000000u
#define XMLP_DEFAULT_MAX_FLOATS (32ull << 20)
#define XMLP_DEFAULT_MAX_TEXT   1024u
#define XMLP_DEFAULT_MAX_TOKEN  (64u << 10)
#define XMLP_DEFAULT_MAX_BYTES  (2ull << 30)

/* Create a parser; lim may be NULL (all defaults).  Never returns NULL
 * (allocation failure aborts). */
struct xmlp *xmlp_new(const struct xmlp_limits *lim);

/* Push the next n bytes of the document (any chunking, n may be 0).
 * Returns 0, or -EINVAL (malformed or invalid document) / -E2BIG (a limit
 * was exceeded) / -ENOMEM; after an error every later call returns it too. */
int xmlp_feed(struct xmlp *p, const void *bytes, size_t n);

/* Signal the end of the document and build the RRD.  On success returns 0
 * and stores a new RRD (caller frees with rrdb_free) in *out; otherwise a
 * negative errno as for xmlp_feed (truncated input is -EINVAL) and *out is
 * NULL.  Call at most once. */
int xmlp_finish(struct xmlp *p, struct rrdb **out);

/* One-line description of the first error ("line 3: <ds>: expected <type>,
 * found <min>"), or "" if none.  Valid until xmlp_free. */
const char *xmlp_error(const struct xmlp *p);

/* Free the parser and everything it holds; NULL is a no-op. */
void xmlp_free(struct xmlp *p);

#endif
