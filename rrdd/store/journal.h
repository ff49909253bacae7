/*
 * The write-ahead journal: append-only segment files of framed records in
 * one directory (<state-dir>/journal), "seg-<16 hex digits>.log".  A
 * segment starts with a 32-byte header (magic "RRDDJNL1", version, segment
 * number, first sequence number, CRC32); each record is a 20-byte header
 * (payload length, CRC32 of everything else in the record, 64-bit sequence
 * number, type) and its payload.  Sequence numbers run on across segments
 * without gaps, so a replay can tell a lost record from a torn tail.
 *
 * This module knows frames, not meanings: durable.c decides what records
 * hold.  Appends are one write() each; fsync follows a configurable
 * interval.  Reading (store_jnl_replay) checks every frame; a torn last
 * record is cut off silently (info); a damaged record whose successor is
 * intact (found by its sequence number and CRC, even when the damage hit
 * the length) is skipped with a warning naming it and replay goes on; any
 * other damage moves the segment aside with a warning and replay stops
 * there.  File operations go through
 * store_fops.  Logs only during replay; not thread-safe (durable.c locks).
 */
#ifndef RRDD_STORE_JOURNAL_H
#define RRDD_STORE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_JNL_HDR        32u /* segment header bytes */
#define STORE_JNL_REC        20u /* record header bytes */
#define STORE_JNL_MAX_RECORD (1u << 30)

struct store_jnl {
	char dir[1024];
	char path[1100];
	int fd;
	uint64_t segno;
	uint64_t next_seq; /* sequence number of the next record */
	uint64_t size;     /* bytes in the segment */
	uint64_t synced;   /* bytes known to be on disk */
	double last_sync_t;
};

/* Path of segment segno in dir, into buf.  0 or -ENAMETOOLONG. */
int store_jnl_seg_path(const char *dir, uint64_t segno, char *buf, size_t len);

/* Create segment segno (replacing a leftover of that name) whose first
 * record will be first_seq; header written and fsynced, directory
 * fsynced.  0 or -errno with a message in err. */
int store_jnl_create(struct store_jnl *j, const char *dir, uint64_t segno, uint64_t first_seq,
                     char *err, size_t errlen);

/* Append one record.  It is fsynced (with the records before it) if sync
 * is set or fsync_interval seconds of 'now' have passed since the last
 * fsync.  On a failure the segment is cut back to its previous size (best
 * effort) and -errno is returned; the caller must stop appending to this
 * segment until it starts a new one. */
int store_jnl_append(struct store_jnl *j, uint32_t type, const void *payload, size_t n, double now,
                     double fsync_interval, bool sync);

/* fsync the segment now.  0 or -errno. */
int store_jnl_sync(struct store_jnl *j, double now);

/* Close the segment (no fsync); safe twice. */
void store_jnl_close(struct store_jnl *j);

/* The type given to store_jnl_fn for a record that was damaged and
 * skipped (payload NULL): what follows may depend on it. */
#define STORE_JNL_LOST 0xffffffffu

/* Called for each record in order: 0 (applied), > 0 (not applied: it
 * depends on a lost record; counted lost, replay goes on), < 0 (cannot be
 * applied: replay stops, the segment is moved aside). */
typedef int (*store_jnl_fn)(void *ctx, uint64_t seq, uint32_t type, const void *payload, size_t n);

struct store_jnl_scan {
	uint64_t records;               /* records passed to fn */
	uint64_t bytes;                 /* bytes read */
	uint64_t last_seq;              /* last good sequence number (after_seq if none) */
	uint64_t last_seg;              /* highest segment number seen (from_segno - 1 if none) */
	bool torn;                      /* a torn tail was cut off */
	uint32_t moved;                 /* files moved aside */
	uint64_t lost;                  /* records skipped: damaged, or depending on one */
	uint64_t lost_first, lost_last; /* their sequence numbers (when lost) */
};

/* Replay the records after after_seq from segment from_segno on, in
 * order.  Segments numbered below from_segno are left alone (they belong
 * to the previous checkpoint).  Always returns 0: problems are logged and
 * repaired (torn tail truncated, a damaged record skipped when its
 * successor is intact, else the damaged file moved aside and replay
 * stopped there). */
int store_jnl_replay(const char *dir, uint64_t from_segno, uint64_t after_seq, store_jnl_fn fn,
                     void *ctx, struct store_jnl_scan *out);

/* Delete the segments numbered below segno.  Returns the number deleted. */
int store_jnl_prune(const char *dir, uint64_t segno);

#endif
