/*
 * The checkpoint file, <state-dir>/journal/checkpoint: the exact state of
 * every RRD of the registry (registry_state.h entry images) plus the RRDs
 * waiting to be archived, and the journal position they correspond to (the
 * first segment and the last sequence number they include, the time of the
 * last tick).  Recovery loads it and replays the journal after it.
 *
 * Format: a 68-byte header (magic "RRDDCKP1", version, flags, next
 * segment, last sequence number, last tick time, entry and pending counts,
 * raw and stored payload lengths, host uuid hash, CRC32 of the header)
 * then the payload, deflated (zlib) when flags bit 0 is set, then the
 * CRC32 of the stored payload.  Written atomically (fileops.h).  No
 * logging, no locks.
 */
#ifndef RRDD_STORE_CHECKPOINT_H
#define RRDD_STORE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct store_ckpt_info {
	uint64_t next_segno; /* the journal continues in this segment */
	uint64_t last_seq;   /* the last record included */
	double last_t;       /* time of the last tick included, NaN if none */
	uint32_t nentries;   /* entry images in the payload, then... */
	uint32_t npending;   /* ...pending archives (u8 kind, str uuid, RRD image) */
	uint64_t host_hash;  /* of the host uuid, to refuse another host's file */
};

/* A stable 32-bit hash of a string (folded FNV-1a), for host_hash. */
uint64_t store_ckpt_hash(const char *s);

/* Write <dir>/checkpoint atomically from the payload.  Returns 0 and the
 * bytes written in *bytes, or -errno with a message in err; the previous
 * checkpoint is then untouched. */
int store_ckpt_write(const char *dir, const struct store_ckpt_info *ci, const void *payload,
                     size_t n, uint64_t *bytes, char *err, size_t errlen);

/* Read and check <dir>/checkpoint: 0 with *ci and the payload appended to
 * out; -ENOENT when there is none; -EINVAL (damaged or foreign, message in
 * err) or another -errno. */
int store_ckpt_read(const char *dir, struct store_ckpt_info *ci, struct buf *out, char *err,
                    size_t errlen);

/* Path of the checkpoint file of dir.  0 or -ENAMETOOLONG. */
int store_ckpt_path(const char *dir, char *buf, size_t len);

#endif
