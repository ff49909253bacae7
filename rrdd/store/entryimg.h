/*
 * The bytes of one registry entry (monitor/change.h struct mon_entry): what
 * checkpoints hold and what journals of older versions recorded after an
 * RPC (REC_SET).  Image: u8 kind, str uuid, u8 have_domid, u32 domid, u32
 * nlive, per live DS its descriptor (name, description, units, u8 type, u8
 * value type, f64 min, f64 max, u8 default, u8 transform), u8 has_rrd,
 * then the RRD's exact image (rrdbin.h).  docs/durability.md.
 *
 * Pure: no I/O, no locks.  Decoding untrusted bytes is bounded by their
 * length.
 */
#ifndef RRDD_STORE_ENTRYIMG_H
#define RRDD_STORE_ENTRYIMG_H

#include <stddef.h>

#include "monitor/change.h"
#include "store/binio.h"

/* Append the image of e to out. */
void store_entry_encode(const struct mon_entry *e, struct buf *out);

/* Read one image from rd into a new entry (*out, owned: free with
 * mon_entry_free_owned).  0, or -EINVAL (malformed; rd->bad set). */
int store_entry_decode(struct bio_rd *rd, struct mon_entry **out);

/* Append the image of the entry of an owner: 0, or -ENOENT. */
int store_entry_save(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                     struct buf *out);

/* Append the images of every entry (host, VMs, SRs by uuid), each preceded
 * by its length (u32), for comparing registries.  Returns the count. */
size_t store_save_all(struct mon_registry *reg, struct buf *out);

#endif
