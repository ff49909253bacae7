/*
 * Durability of the registry of RRDs: the write-ahead journal
 * (journal.h), checkpoints (checkpoint.h) and the xcp-rrdd archives
 * (archive.h).  Design and formats: docs/durability.md.
 *
 * The store is the registry's log (monitor/change.h): store_dur_open
 * replays what it holds into the registry through mon_commit and then
 * wires itself in with mon_set_log, so from then on every change to an RRD
 * (a cycle, an RRD installed, a DS enabled or forgotten, an owner
 * released) is recorded in the journal before it is applied, and what
 * leaves the registry (departed VMs, released owners) is archived here.
 * The store itself never changes an RRD: it reads files and writes bytes.
 * A checkpoint (every checkpoint_interval, when the journal grows past
 * journal_max_bytes, at stop) writes the registry's exact state, starts a
 * new journal segment, deletes the old ones and writes every archive.
 *
 * Failures never stop a change: a journal write error is logged once and
 * journaling resumes with the next successful checkpoint (retried every
 * minute); an archive write error keeps the RRD (and checkpoints it) until
 * a retry succeeds, logged once per owner.  Thread-safe.  With
 * background_checkpoints a checkpoint is written by a thread of its own
 * (one at a time); a change waits only while that thread reads the
 * registry.  Locks: docs/threads-and-locks.md.
 */
#ifndef RRDD_STORE_DURABLE_H
#define RRDD_STORE_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/change.h"
#include "util/buf.h"

struct store_dur;

#define STORE_DUR_DEFAULT_FSYNC       5.0
#define STORE_DUR_DEFAULT_CHECKPOINT  3600.0
#define STORE_DUR_DEFAULT_MAX_JOURNAL (256ull << 20)

struct store_dur_options {
	const char *state_dir;      /* journal in <state_dir>/journal; NULL/"": none */
	const char *archive_dir;    /* NULL/"": no archives loaded or written */
	const char *host_uuid;      /* checkpoints of another host are refused */
	double fsync_interval;      /* seconds of cycle time between fsyncs; 0 = each record */
	double checkpoint_interval; /* seconds; 0 = only at start and stop */
	uint64_t journal_max_bytes; /* checkpoint early past this; 0 = default */
	/* Write periodic checkpoints and the one after recovery in a thread of
	 * their own (the daemon): store_dur_open returns once the state is
	 * recovered, a change waits only while the thread still reads the
	 * registry.  Off: every checkpoint is taken synchronously (tests that
	 * count file operations). */
	bool background_checkpoints;
	/* A cycle record that starts a new stream (decodable alone) every this
	 * many cycles: a damaged record loses at most the cycles up to the next
	 * one (0 = 12, one minute of cycles). */
	uint32_t stream_every;
};

/* What recovery found and did. */
struct store_dur_recovery {
	bool had_state;                 /* a checkpoint or journal segment existed */
	double last_t;                  /* time of the last cycle recovered; NaN if none */
	uint64_t records;               /* journal records replayed */
	uint64_t ticks;                 /* of which cycles */
	uint64_t bytes;                 /* journal bytes read */
	uint32_t moved_aside;           /* damaged or foreign files moved aside */
	uint64_t lost;                  /* journal records skipped: damaged, or depending on one */
	uint64_t lost_first, lost_last; /* their sequence numbers (when lost) */
	bool fell_back;                 /* the checkpoint was damaged: the previous one was used */
	double seconds;                 /* wall time recovery took */
};

struct store_dur_stats {
	uint64_t loaded, archived, archive_errors;
	uint64_t records, journal_bytes, journal_errors; /* appended since start */
	uint64_t tick_records;                           /* of which cycles */
	uint64_t tick_bytes;                             /* their bytes, record headers included */
	double tick_cpu_seconds; /* thread CPU spent encoding and appending them */
	uint64_t checkpoints, checkpoint_errors;
	double last_checkpoint_seconds;
	double checkpoint_wait_seconds; /* changes spent waiting for background checkpoints */
	uint64_t last_checkpoint_bytes; /* the checkpoint file */
	uint64_t segment_bytes;         /* current journal segment */
	uint32_t pending;               /* RRDs waiting for their archive */
};

/* Open the store over a registry (which must be empty and have no log):
 * create the journal directory, load the checkpoint, replay the journal
 * (through mon_commit), then become the registry's log and take a
 * checkpoint (queueing the archives too if records were replayed) so the
 * journal starts afresh; with background_checkpoints it is written by a
 * thread after this returns (the replayed segments are kept until it is
 * durable), unless recovery moved a file aside.  Damaged or foreign files
 * are moved aside with a warning.  Without a state dir, or if the journal
 * cannot be created, the store works without journal (warned), still as
 * the registry's log (archives).  Returns 0 and *out; rec may be NULL. */
int store_dur_open(const struct store_dur_options *opt, struct mon_registry *reg,
                   struct store_dur **out, struct store_dur_recovery *rec);

/* Stop being the registry's log, wait for a background checkpoint to
 * finish, flush and free (no new checkpoint: call store_dur_checkpoint
 * first for a clean stop).  NULL is a no-op. */
void store_dur_close(struct store_dur *d);

/* The archive of an owner for loading into the registry (the owner first
 * reports, push_rrd_local, Deprecated.load_rrd): the RRD kept because its
 * archive could not be written, if there is one (taken from the store;
 * bytes left empty), else <archive_dir>/<uuid>.gz (*rrd, and the file's
 * bytes in bytes, to give to a MON_CH_INSTALL).  Returns 0, -ENOENT (none),
 * or another negative errno; a damaged archive is moved aside (a warning
 * names it). */
int store_dur_read(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                   struct rrdb **rrd, struct buf *bytes);

/* store_dur_read, then the RRD installed with mon_commit (MON_CH_INSTALL,
 * recording the archive's bytes; with sync, fsynced first: a client waits
 * for the answer).  0 (loaded), -ENOENT (none) or another negative errno. */
int store_dur_load(struct store_dur *d, enum mon_owner_kind kind, const char *uuid, bool sync);

/* Write the archive <uuid>.gz from r now (PUT /rrd?archive, which may
 * archive another host's RRD, and archive_sr_rrd), in turn with the
 * store's own archive writes; uuid NULL or "" is this host.  A failure is
 * logged once per key.  0, or -errno with a message in err (-ENOTSUP:
 * archives are disabled). */
int store_dur_write(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                    const struct rrdb *r, char *err, size_t errlen);

/* Delete <archive_dir>/<uuid> and <uuid>.gz (remove_rrd).  0 or -errno. */
int store_dur_remove(struct store_dur *d, const char *uuid);

/* Take a checkpoint now, synchronously (after any background one has
 * finished): state file, new journal segment; and, if archives, write
 * every archive.  now stamps the fsync clock.  Returns the number of
 * failures (each logged once per owner). */
int store_dur_checkpoint(struct store_dur *d, double now, bool archives);

/* Write every archive (copies of the registry's RRDs, and the pending
 * ones), for the RPC backup calls.  Returns the number of failures. */
int store_dur_archive_all(struct store_dur *d);

/* Counters. */
void store_dur_get_stats(struct store_dur *d, struct store_dur_stats *out);

/* The archive directory in use, or NULL. */
const char *store_dur_archive_dir(const struct store_dur *d);

#endif
