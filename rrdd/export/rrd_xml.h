/*
 * Full RRD as XML, byte-identical to xcp-rrdd's Rrd.xml_to_output (wire-format.md
 * §3.2): what GET /host_rrd, /vm_rrd, /sr_rrd and /rrd_unarchive serve
 * (internal = 0) and what archives and PUT /rrd transfers carry (internal =
 * 1).  Pure: formats into a caller-owned buffer; no I/O, no locks (the
 * caller passes a stable RRD, e.g. an rrdb_dup snapshot).
 */
#ifndef RRDD_EXPORT_RRD_XML_H
#define RRDD_EXPORT_RRD_XML_H

#include "rrd/rrd.h"
#include "util/buf.h"

/* Append the XML document for r to out: the declaration line, '\n', then the
 * <rrd> element on one line, no trailing newline.  With internal != 0 every
 * <ds> also carries <last_updated>.  DS names are XML-escaped. */
void exp_rrd_xml(struct buf *out, const struct rrdb *r, int internal);

/* Part part (0, 1, ...) of the same document appended to out: the header
 * and the DSs, then one RRA per part, the last one closing the document.
 * Returns 1 while parts follow, 0 after the last (a caller streaming a big
 * RRD holds one RRA's text at a time). */
int exp_rrd_xml_part(struct buf *out, const struct rrdb *r, int internal, uint32_t part);

/* The same document handed to emit in consecutive pieces of about piece
 * bytes (one DS or one row may take a piece over), in order, never empty:
 * the whole text is never held at once. */
void exp_rrd_xml_pieces(const struct rrdb *r, int internal, size_t piece,
                        void (*emit)(void *ctx, const char *p, size_t n), void *ctx);

#endif
