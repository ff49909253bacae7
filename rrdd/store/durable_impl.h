/*
 * Internals of the durable store shared by its files: durable.c (the
 * registry's log: records, archives of what leaves, the public calls),
 * durable_replay.c (recovery: the checkpoint and the journal replayed
 * through mon_commit) and durable_ckpt.c (checkpoints, foreground and
 * background, and the archive passes that follow them).  Not for use
 * outside rrdd/store.  The state is guarded by d->mu, archive writes and
 * their bookkeeping by d->amu (taken after d->mu when both are held).
 */
#ifndef RRDD_STORE_DURABLE_IMPL_H
#define RRDD_STORE_DURABLE_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "monitor/change.h"
#include "store/durable.h"
#include "store/journal.h"
#include "util/buf.h"

struct ckjob;

#define RETRY_SECONDS 60.0

struct pending {
	enum mon_owner_kind kind;
	char uuid[MON_UUID_LEN + 1];
	struct rrdb *rrd;
};

struct failed_key {
	char key[MON_UUID_LEN + 1];
};

struct store_dur {
	struct store_dur_options opt;
	char state_dir[1024], archive_dir[1024], jdir[1100], host_uuid[MON_UUID_LEN + 1];
	bool journaling; /* a journal directory is in use */
	bool jopen;      /* jnl is open and healthy */
	struct store_jnl jnl;
	struct mon_registry *reg;
	pthread_mutex_t mu;
	double last_t;       /* last cycle applied */
	double last_ckpt_t;  /* cycle time of the last checkpoint attempt */
	double last_retry_t; /* of pending archives */
	bool replaying;
	bool in_commit; /* d->mu is held from a change's record to its applied */
	struct pending *pend;
	size_t npend, cap_pend;
	struct failed_key *failed; /* owners whose last archive write failed */
	size_t nfailed, cap_failed;
	bool jerr_logged, ckerr_logged;
	struct store_dur_stats st;
	struct buf enc, z; /* scratch of the tick encoder */
	z_stream zs;       /* its deflater, kept from cycle to cycle */
	bool zs_ready;
	struct store_tickenc *tenc; /* the current segment's cycle stream */
	uint32_t stream_len;        /* cycles recorded in the current stream */
	uint64_t ckpt_segno;        /* the first segment of the current checkpoint (0: none); the
	                               segments from it on are kept when the next one is
	                               written, for a recovery from the previous checkpoint */
	uint32_t stream_k;          /* streams started in the current segment */
	struct store_tickdec *tdec; /* during replay */
	struct mon_owner_ref *aq;   /* archives due after a periodic checkpoint (no RRDs held) */
	size_t naq, iaq;
	/* the checkpoint being written in the background (store_dur_ckpt_start) */
	bool ck_busy;         /* a checkpoint is being written... */
	bool ck_snap;         /* ...and is still reading the registry: cycles wait */
	int nthreads;         /* checkpoint threads alive (detached) */
	struct ckjob *ck_job; /* while its entries are being claimed (ckpt_help) */
	pthread_cond_t ck_cv;
	pthread_mutex_t amu;          /* archive writes and their bookkeeping (failed, counters) */
	_Atomic unsigned ar_gen;      /* bumped to stop a checkpoint thread's archives early */
	struct mon_owner_ref ar_last; /* (amu) the last one archived by a pass cut short */
	bool ar_resume;               /* (amu) the next pass starts after ar_last */
};

static inline bool store_dur_has(const char *s)
{
	return s && *s;
}

/* ---- durable.c ---- */

/* Monotonic wall time in seconds. */
double store_dur_wall(void);

/* Write the archive of an owner from r, logging a failure once per owner;
 * _amu with d->amu held, the other takes it.  0 or -errno. */
int store_dur_write_archive_amu(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                                const struct rrdb *r);
int store_dur_write_archive(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                            const struct rrdb *r);

/* Retry the archives of departed RRDs whose write failed (d->mu held).
 * Returns the number still failing. */
int store_dur_retry_pending(struct store_dur *d);

/* The RRD kept for an owner whose archive could not be written (taken),
 * or NULL (d->mu held). */
struct rrdb *store_dur_pending_take(struct store_dur *d, enum mon_owner_kind kind,
                                    const char *uuid);
void store_dur_pending_add(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                           struct rrdb *r);

/* Record types (docs/durability.md). */
enum {
	REC_TICK = 1,    /* a cycle, first format (replayed only) */
	REC_LOAD = 2,    /* an archive loaded: kind, uuid, the file's bytes */
	REC_PUTIMG = 3,  /* an RRD installed: kind, uuid, its exact image */
	REC_SET = 4,     /* an entry's image after an RPC (replayed only) */
	REC_DEL = 5,     /* an owner released */
	REC_TICK2 = 6,   /* a cycle (tickrec.h) */
	REC_ENABLE = 7,  /* add_*_ds: kind, uuid, name, time */
	REC_FORGET = 8,  /* forget_*_ds: kind, uuid, name */
	REC_RELEASE = 9, /* an owner released: kind, uuid, archived or not */
	REC_MINMAX = 10, /* update_use_min_max: u8 (the checkpoint holds the setting at its cut) */
};

/* ---- durable_replay.c ---- */

/* Recovery at open (d->mu not held): the checkpoint, then every journal
 * record after it, each through mon_commit (MON_COMMIT_REPLAY); files that
 * cannot be used are moved aside.  Fills r. */
void store_dur_recover(struct store_dur *d, struct store_dur_recovery *r);

/* ---- durable_ckpt.c ---- */

/* A checkpoint now, synchronously, d->mu held (see durable_ckpt.c). 0 or
 * -errno (logged once). */
int store_dur_ckpt_sync(struct store_dur *d, double now);

/* Start a background checkpoint, d->mu held; archives: write every
 * archive after it.  0 (or one is already running) or -errno. */
int store_dur_ckpt_start(struct store_dur *d, double now, bool archives);

/* Wait (d->mu held) until no background checkpoint is being written;
 * with all, until every checkpoint thread has ended too. */
void store_dur_ckpt_wait_idle(struct store_dur *d, bool all);

/* A cycle about to wait for a background checkpoint's snapshot takes
 * entries itself (d->mu held). */
void store_dur_ckpt_help(struct store_dur *d);

/* Archives spread over the cycles (without background checkpoints):
 * queue every owner; write the next few (d->mu held). */
void store_dur_queue_archives(struct store_dur *d);
void store_dur_archive_some(struct store_dur *d);

/* Write every archive now (d->mu held).  Returns the number of failures. */
int store_dur_archive_all_locked(struct store_dur *d);

#endif
