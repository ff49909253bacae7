/*
 * Durability of the registry of RRDs: the write-ahead journal
 * (journal.h), checkpoints (checkpoint.h) and the xcp-rrdd archives
 * (archive.h), behind one object the daemon and the RPC layer share.
 * Design and formats: docs/durability.md.
 *
 * What is journaled, before it is applied: each cycle's inputs (the time,
 * every chunk, the resident table, the departed VMs), every archive loaded
 * into the registry (the file's bytes), and after each RPC mutation the
 * resulting state of the owner (or its removal).  Recovery loads the last
 * checkpoint and re-applies the records after it through the same code as
 * the live path (store_dur_tick etc.), so the recovered registry equals
 * the one that was lost, bit for bit.  A checkpoint (every
 * checkpoint_interval, when the journal grows past journal_max_bytes, at
 * stop) writes the registry's exact state, starts a new journal segment,
 * deletes the old ones and writes every xcp-rrdd archive.
 *
 * Failures never stop a cycle: a journal write error is logged once and
 * journaling resumes with the next successful checkpoint (retried every
 * minute); an archive write error keeps the previous archive, is logged
 * once per owner, and the RRD is kept (and checkpointed) until a retry
 * succeeds.  Thread-safe: one internal mutex orders journal records with
 * the registry changes they describe; RPC threads may call store_dur_load
 * and store_dur_note while the tick thread runs.  With
 * background_checkpoints a checkpoint is written by a thread of its own
 * (one at a time); a cycle waits only while that thread reads the
 * registry.
 */
#ifndef RRDD_STORE_DURABLE_H
#define RRDD_STORE_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/chunk.h"
#include "monitor/registry.h"

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
	 * recovered, a cycle waits only while the thread still reads the
	 * registry.  Off: every checkpoint is taken synchronously (tests that
	 * count file operations). */
	bool background_checkpoints;
};

/* What recovery found and did. */
struct store_dur_recovery {
	bool had_state;       /* a checkpoint or journal segment existed */
	double last_t;        /* time of the last cycle recovered; NaN if none */
	uint64_t records;     /* journal records replayed */
	uint64_t ticks;       /* of which cycles */
	uint64_t bytes;       /* journal bytes read */
	uint32_t moved_aside; /* damaged or foreign files moved aside */
	double seconds;       /* wall time recovery took */
};

struct store_dur_stats {
	uint64_t loaded, archived, archive_errors;
	uint64_t records, journal_bytes, journal_errors; /* appended since start */
	uint64_t tick_records;                           /* of which cycles */
	uint64_t tick_bytes;                             /* their bytes, record headers included */
	double tick_cpu_seconds; /* thread CPU spent encoding and appending them */
	uint64_t checkpoints, checkpoint_errors;
	double last_checkpoint_seconds;
	double checkpoint_wait_seconds; /* cycles spent waiting for background checkpoints */
	uint64_t last_checkpoint_bytes; /* the checkpoint file */
	uint64_t segment_bytes;         /* current journal segment */
	uint32_t pending;               /* RRDs waiting for their archive */
};

/* One cycle's inputs, as dmn_tick gives them. */
struct store_tick {
	double now;
	const struct mon_chunk *const *chunks;
	size_t nchunks;
	const struct mon_resident *res;
	size_t nres;
	const char (*gone)[MON_UUID_LEN + 1]; /* VMs that disappeared: archived and released */
	size_t ngone;
};

/* Open the store over a registry (which must be empty): create the
 * journal directory, load the checkpoint, replay the journal, then take a
 * checkpoint (queueing the archives too if records were replayed) so the
 * journal starts afresh; with background_checkpoints it is written by a
 * thread after this returns (the replayed segments are kept until it is
 * durable), unless recovery moved a file aside.  Damaged or foreign files
 * are moved aside with a warning.  Without a state dir, or if the journal cannot be created, the
 * store works without journal (warned).  Returns 0 and *out; rec may be
 * NULL. */
int store_dur_open(const struct store_dur_options *opt, struct mon_registry *reg,
                   struct store_dur **out, struct store_dur_recovery *rec);

/* Wait for a background checkpoint to finish, flush and free (no new
 * checkpoint: call store_dur_checkpoint first for a clean stop).  NULL is
 * a no-op. */
void store_dur_close(struct store_dur *d);

/* Journal and apply one cycle: mon_apply, then the departed VMs are taken
 * out of the registry and archived.  Then a checkpoint if one is due.
 * stats may be NULL.  Returns the number of archive failures. */
int store_dur_tick(struct store_dur *d, const struct store_tick *t, struct mon_apply_stats *stats);

/* Load the archive of an owner into the registry (the owner first
 * reports): from the RRDs waiting for their archive if it is one, else
 * <archive_dir>/<uuid>.gz.  Journaled.  A damaged archive is moved aside
 * (warning naming it).  Returns 0 (loaded), -ENOENT (none) or another
 * negative errno. */
int store_dur_load(struct store_dur *d, enum mon_owner_kind kind, const char *uuid);

/* After an RPC changed an owner's RRD or DS set (add/forget DS, push_rrd,
 * PUT /rrd, remove_rrd, archive_rrd): journal the owner's resulting state
 * (or its removal) and fsync.  Returns 0 or -errno (logged). */
int store_dur_note(struct store_dur *d, enum mon_owner_kind kind, const char *uuid);

/* store_dur_note on the store the daemon opened (see store_dur_set_global);
 * a no-op returning 0 when there is none.  For the RPC layer. */
int store_dur_note_changed(enum mon_owner_kind kind, const char *uuid);
void store_dur_set_global(struct store_dur *d);

/* For archive writers outside the store (the RPC layer, PUT /rrd?archive):
 * serialise with the store's own archive writes by taking its archive
 * mutex before copying the RRD to write and releasing it after the write,
 * so two writers never share an archive's temporary file and archives of
 * one owner land in the order their copies were taken.  Returns the store
 * locked (pass it to unlock), or NULL when there is none.  Never hold the
 * registry lock while taking it. */
struct store_dur *store_dur_archive_lock(void);
void store_dur_archive_unlock(struct store_dur *d);

/* Take a checkpoint now, synchronously (after any background one has
 * finished): state file, new journal segment; and, if archives, write
 * every archive.  now stamps the fsync clock.  Returns the
 * number of failures (each logged once per owner). */
int store_dur_checkpoint(struct store_dur *d, double now, bool archives);

/* Write every archive (copies of the registry's RRDs, and the pending
 * ones), for the RPC backup calls.  Returns the number of failures. */
int store_dur_archive_all(struct store_dur *d);

/* Counters. */
void store_dur_get_stats(struct store_dur *d, struct store_dur_stats *out);

/* The archive directory in use, or NULL. */
const char *store_dur_archive_dir(const struct store_dur *d);

#endif
