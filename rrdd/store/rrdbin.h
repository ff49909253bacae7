/*
 * An exact binary image of one RRD (struct rrdb): layout, every DS's
 * consolidation state (last raw value, PDP accumulator, unknown seconds,
 * CDPs, ring heads) and the rings, bit for bit.  The checkpoint and the
 * journal use it where the xcp-rrdd archive XML would lose state (the
 * reference loader ignores last_ds and clamps ranges), so that an RRD
 * restored from it updates exactly as the original would.
 *
 * Pure: no I/O, no locks, no logging.  Decoding untrusted bytes is bounded
 * by their length (nothing is allocated beyond what the input can fill).
 */
#ifndef RRDD_STORE_RRDBIN_H
#define RRDD_STORE_RRDBIN_H

#include "store/binio.h"

struct rrdb;

/* Append the image of r to out. */
void store_rrdb_encode(const struct rrdb *r, struct buf *out);

/* Read one image from rd into a new RRD (*out, free with rrdb_free).
 * Returns 0, or -EINVAL on malformed or truncated input (rd->bad set). */
int store_rrdb_decode(struct bio_rd *rd, struct rrdb **out);

#endif
