/*
 * The registry's exact state, one entry (owner) at a time, as bytes: what
 * the durability layer (store/durable.h) needs so that a restored registry
 * folds the next chunks exactly as the original would.  An entry image
 * holds the owner (kind, uuid), the VM's domid, the live DS descriptors in
 * their order (with their ranges and default flags) and the exact RRD
 * (store/rrdbin.h), which the xcp-rrdd archive XML cannot carry.
 *
 * Per-cycle bookkeeping (which DSs were seen this cycle, the cycle of the
 * last domid change) is not kept: it only matters within a cycle, and
 * images are taken between cycles.  Functions take the registry lock
 * themselves.  No file I/O, no logging.
 */
#ifndef RRDD_MONITOR_REGISTRY_STATE_H
#define RRDD_MONITOR_REGISTRY_STATE_H

#include <stddef.h>

#include "monitor/registry.h"
#include "store/binio.h"

/* Append the image of one owner's entry to out.  Returns 0, or -ENOENT
 * when the registry has no such owner. */
int mon_entry_save(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid,
                   struct buf *out);

/* Append the images of every entry (host, VMs, SRs in uuid order) to out,
 * each preceded by its length (u32), under one read lock, so they form a
 * consistent snapshot.  Returns the number of entries. */
size_t mon_save_all(struct mon_registry *reg, struct buf *out);

/* Install one entry from its image (read from rd), replacing any entry of
 * the same owner.  Returns 0, or -EINVAL (malformed image; the registry is
 * unchanged). */
int mon_entry_restore(struct mon_registry *reg, struct bio_rd *rd);

/* Drop an owner and its RRD (no archive).  Returns 0 or -ENOENT. */
int mon_entry_drop(struct mon_registry *reg, enum mon_owner_kind kind, const char *uuid);

#endif
