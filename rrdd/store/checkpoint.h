/*
 * The checkpoint file, <state-dir>/journal/checkpoint: the exact state of
 * every RRD of the registry (registry_state.h entry images) plus the RRDs
 * waiting to be archived, and the journal position they correspond to (the
 * first segment and the last sequence number they include, the time of the
 * last tick).  Recovery loads it and replays the journal after it.
 *
 * Format: a 68-byte header (magic "RRDDCKP1", version, flags (bit 0:
 * deflated; bit 1: use_min_max recorded, bit 2 its value), next
 * segment, last sequence number, last tick time, entry and pending counts,
 * raw and stored payload lengths, host uuid hash, CRC32 of the header)
 * then the payload, deflated (zlib) when flags bit 0 is set, then the
 * CRC32 of the stored payload.
 *
 * Both directions stream: the writer deflates the payload as it is given
 * (a 64 KiB output window, written to a temporary file as it fills; the
 * header, which holds the totals, is written last at offset 0, then fsync,
 * rename, directory fsync), or takes pieces other threads deflated apart
 * and splices them into the one zlib stream; the reader inflates it piece
 * by piece, so neither ever holds the whole uncompressed payload.  File writes go
 * through store_fops.  No logging, no locks.
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
	/* the registry's use_min_max at the cut (header flags): 0 not
	 * recorded (older files), 1 off, 2 on */
	uint8_t min_max;
};

/* A stable 32-bit hash of a string (folded FNV-1a), for host_hash. */
uint64_t store_ckpt_hash(const char *s);

struct store_ckpt_writer;

/* Start writing <dir>/checkpoint: a temporary file in dir is created.
 * Returns 0 and *out, or -errno with a message in err (nothing left
 * behind). */
int store_ckpt_begin(const char *dir, struct store_ckpt_writer **out, char *err, size_t errlen);

/* Append n payload bytes (deflated into the temporary file as the output
 * window fills).  0 or -errno; after a failure later calls fail too and
 * store_ckpt_finish reports it. */
int store_ckpt_add(struct store_ckpt_writer *w, const void *p, size_t n);

/* A piece of payload compressed apart (store_ckpt_compress), by any
 * thread, to be spliced in order into the stream (store_ckpt_add_piece):
 * several threads can deflate one checkpoint.  z: the deflated bytes, raw:
 * the payload length, adler: its Adler-32. */
struct store_ckpt_piece {
	struct buf z;
	uint64_t raw;
	uint32_t adler;
};

/* One compressor per thread (zlib state, ~300 KiB). */
struct store_ckpt_zpiece;
struct store_ckpt_zpiece *store_ckpt_zpiece_new(void);
void store_ckpt_zpiece_free(struct store_ckpt_zpiece *c);

/* Deflate n payload bytes into out (its buffer reused) as a piece that
 * refers to nothing before it.  0 or -ENOMEM. */
int store_ckpt_compress(struct store_ckpt_zpiece *c, const void *p, size_t n,
                        struct store_ckpt_piece *out);

/* Append a piece to the payload (after whatever was added before it). 0
 * or -errno as store_ckpt_add. */
int store_ckpt_add_piece(struct store_ckpt_writer *w, const struct store_ckpt_piece *pc);

/* Finish: flush the stream, write the trailer and the header (from ci and
 * the totals), fsync, rename over <dir>/checkpoint, fsync dir.  Frees w
 * in every case.  0 and the file's size in *bytes (may be NULL), or
 * -errno with a message in err; the temporary is then removed and the
 * previous checkpoint is untouched. */
int store_ckpt_finish(struct store_ckpt_writer *w, const struct store_ckpt_info *ci,
                      uint64_t *bytes, char *err, size_t errlen);

/* Give up: remove the temporary and free w.  NULL is a no-op. */
void store_ckpt_abort(struct store_ckpt_writer *w);

/* Write <dir>/checkpoint from a payload in memory (begin, add, finish). */
int store_ckpt_write(const char *dir, const struct store_ckpt_info *ci, const void *payload,
                     size_t n, uint64_t *bytes, char *err, size_t errlen);

struct store_ckpt_reader;

/* Open and check <dir>/checkpoint (header, sizes, payload CRC): 0 with *ci
 * and *out; -ENOENT when there is none; -EINVAL (damaged or foreign,
 * message in err) or another -errno. */
int store_ckpt_open(const char *dir, struct store_ckpt_info *ci, struct store_ckpt_reader **out,
                    char *err, size_t errlen);

/* The same for <dir>/checkpoint.prev, the checkpoint before the current
 * one (store_ckpt_finish keeps it: its journal segments are kept too). */
int store_ckpt_open_prev(const char *dir, struct store_ckpt_info *ci,
                         struct store_ckpt_reader **out, char *err, size_t errlen);

/* The next n bytes of the payload (valid until the next call), or NULL
 * when the payload has fewer left or does not decompress (the reader is
 * then failed).  n is at most 1 GiB. */
const void *store_ckpt_pull(struct store_ckpt_reader *r, size_t n);

/* Payload bytes not yet pulled (by the header's count). */
uint64_t store_ckpt_left(const struct store_ckpt_reader *r);

/* Close: 0 when every payload byte was pulled and the stream ended exactly
 * there, else -EINVAL.  NULL is a no-op returning 0. */
int store_ckpt_close(struct store_ckpt_reader *r);

/* Read and check <dir>/checkpoint whole: 0 with *ci and the payload
 * appended to out; -ENOENT when there is none; -EINVAL (damaged or
 * foreign, message in err) or another -errno. */
int store_ckpt_read(const char *dir, struct store_ckpt_info *ci, struct buf *out, char *err,
                    size_t errlen);

/* Path of the checkpoint file of dir (prev: the previous one).  0 or
 * -ENAMETOOLONG. */
int store_ckpt_path(const char *dir, char *buf, size_t len);
int store_ckpt_prev_path(const char *dir, char *buf, size_t len);

#endif
