/*
 * Full RRD as JSON, byte-identical to xcp-rrdd's Rrd.json_to_string (wire-format.md
 * §3.3): compact JSON where every scalar is a string.  Pure: formats into a
 * caller-owned buffer; no I/O, no locks.
 */
#ifndef RRDD_EXPORT_RRD_JSON_H
#define RRDD_EXPORT_RRD_JSON_H

#include "rrd/rrd.h"
#include "util/buf.h"

/* Append the JSON document for r to out (no trailing newline).  lastupdate
 * and each DS's last_updated keep their fractions; database rows are oldest
 * first; DS names are JSON-escaped. */
void exp_rrd_json(struct buf *out, const struct rrdb *r);

/* Part part (0, 1, ...) of the same document appended to out: the header
 * and the DSs, then one RRA per part, the last one closing the document.
 * Returns 1 while parts follow, 0 after the last. */
int exp_rrd_json_part(struct buf *out, const struct rrdb *r, uint32_t part);

#endif
