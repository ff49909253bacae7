/*
 * Checkpoints of the durable store (durable_impl.h): the synchronous one
 * (at stop, after a journal failure, in tests) and the background one
 * (the daemon: periodic, journal-size trigger, after recovery), whose
 * thread then writes every archive; docs/durability.md, "Checkpoints".
 *
 * A checkpoint serialises every registry entry, one image at a time under
 * the registry's read lock for that entry only, deflated as an independent
 * piece (checkpoint.h) by the checkpoint thread or by a cycle that would
 * otherwise wait (store_dur_ckpt_help), written in order through a 64 KiB
 * window: memory is one RRD image per worker, not the whole registry.
 * Must not be called without the locks the prototypes name.
 */
#include "store/durable_impl.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/entryimg.h"
#include "rrd/rrd.h"
#include "store/binio.h"
#include "store/checkpoint.h"
#include "store/fileops.h"
#include "store/journal.h"
#include "store/rrdbin.h"
#include "store/tickrec.h"
#include "util/log.h"
#include "util/xalloc.h"

/* ---- owners ---- */

/* The order of mon_list_entries: host, VMs, SRs, each by uuid. */
static int owner_cmp(const struct mon_owner_ref *a, const struct mon_owner_ref *b)
{
	static const int rank[] = {[MON_HOST] = 0, [MON_VM] = 1, [MON_SR] = 2};
	if (a->kind != b->kind)
		return rank[a->kind] - rank[b->kind];
	return strcmp(a->uuid, b->uuid);
}

/* The periodic archive of an owner from the checkpoint thread (d->mu not
 * held): the copy is taken under d->amu, so when the owner leaves at the
 * same time the archive of its final state, written by the cycle under
 * d->amu too, lands after this one.  Returns whether it was a big RRD. */
static bool archive_owner_bg(struct store_dur *d, enum mon_owner_kind kind, const char *uuid)
{
	pthread_mutex_lock(&d->amu);
	struct rrdb *r = mon_dup(d->reg, kind, uuid);
	bool big = r && r->nds > 256;
	if (r) /* gone since: it was archived when it went */
		store_dur_write_archive_amu(d, kind, uuid, r);
	pthread_mutex_unlock(&d->amu);
	rrdb_free(r);
	return big;
}

/* ---- checkpoints ---- */

/* One checkpoint: the journal position it names and the owners whose
 * entries it holds (listed at the cut; one absent by the time it is read
 * was removed by an RPC call whose record follows the cut). */
struct ckjob {
	struct store_dur *d;
	struct store_ckpt_info ci;
	struct mon_owner_ref *own;
	size_t nown;
	uint64_t old_bytes; /* of the segment the checkpoint replaces */
	bool archives;      /* queue every archive when it succeeds */
	bool locked;        /* d->mu is held throughout (synchronous) */
	double t0;
	uint64_t bytes; /* of the file written */
	char err[1400];
	/* the entries, claimed one at a time by the checkpoint thread and by a
	 * cycle that would otherwise wait (ck_help), deflated apart, written in
	 * order by the checkpoint thread */
	pthread_mutex_t jm;
	pthread_cond_t jcv;
	size_t claim; /* next entry to claim */
	bool failed;  /* the file failed: the rest is skipped */
	struct ckpiece *pcs;
};

enum { PC_TODO, PC_PRESENT, PC_ABSENT };

struct ckpiece {
	struct store_ckpt_piece pc;
	int state;
};

/* A thread's scratch for entries. */
struct ckworker {
	struct buf img;
	struct store_ckpt_zpiece *z;
};

/* Claim, encode (the registry's read lock for that entry only) and deflate
 * entries until none is left.  The checkpoint thread (writer != NULL) also
 * writes the finished prefix after each of its own. */
static void ck_work(struct ckjob *j, struct ckworker *wk, struct store_ckpt_writer *w)
{
	for (;;) {
		pthread_mutex_lock(&j->jm);
		size_t i = j->claim < j->nown ? j->claim++ : j->nown;
		bool skip = j->failed;
		pthread_mutex_unlock(&j->jm);
		if (i >= j->nown)
			break;
		struct ckpiece *p = &j->pcs[i];
		int st = PC_ABSENT;
		if (!skip) {
			buf_reset(&wk->img);
			bio_u32(&wk->img, 0);
			/* an owner removed since the cut: its DEL record follows the cut */
			if (store_entry_save(j->d->reg, j->own[i].kind, j->own[i].uuid, &wk->img) ==
			    0) {
				bio_put_u32_at(&wk->img, 0, (uint32_t)(wk->img.len - 4));
				if (!wk->z)
					wk->z = store_ckpt_zpiece_new();
				if (store_ckpt_compress(wk->z, wk->img.p, wk->img.len, &p->pc) == 0)
					st = PC_PRESENT;
				else
					skip = true;
			}
		}
		pthread_mutex_lock(&j->jm);
		p->state = st;
		if (skip)
			j->failed = true;
		pthread_cond_broadcast(&j->jcv);
		pthread_mutex_unlock(&j->jm);
		if (w)
			break; /* the writer goes back to write what is ready */
	}
}

/* Write the finished prefix of the entries (all of them if wait). */
static void ck_flush(struct ckjob *j, struct store_ckpt_writer *w, size_t *wpos, uint32_t *nent,
                     int *rc, bool wait)
{
	for (; *wpos < j->nown; (*wpos)++) {
		struct ckpiece *p = &j->pcs[*wpos];
		pthread_mutex_lock(&j->jm);
		while (wait && p->state == PC_TODO)
			pthread_cond_wait(&j->jcv, &j->jm);
		int st = p->state;
		pthread_mutex_unlock(&j->jm);
		if (st == PC_TODO)
			return;
		if (st == PC_PRESENT && !*rc) {
			*rc = store_ckpt_add_piece(w, &p->pc);
			(*nent)++;
			if (*rc) {
				pthread_mutex_lock(&j->jm);
				j->failed = true;
				pthread_mutex_unlock(&j->jm);
			}
		}
		buf_free(&p->pc.z);
	}
}

/* A cycle arriving while a background checkpoint still reads the
 * registry takes entries too instead of only waiting (d->mu held: the job
 * cannot end meanwhile). */
void store_dur_ckpt_help(struct store_dur *d)
{
	if (!d->ck_job)
		return;
	struct ckworker wk = {BUF_INIT, NULL};
	ck_work(d->ck_job, &wk, NULL);
	buf_free(&wk.img);
	store_ckpt_zpiece_free(wk.z);
}

static void ck_snap_done(struct store_dur *d)
{
	d->ck_snap = false;
	pthread_cond_broadcast(&d->ck_cv);
}

/* Serialise the registry into a new checkpoint file, one entry image at a
 * time (encoded under the registry's read lock, deflated without it, by
 * this thread and a cycle that would otherwise wait, written in order),
 * then the pending archives (under d->mu).  Cycles wait for the registry
 * reads only (ck_snap).  Returns 0 or -errno (message in err). */
static int ck_write(struct ckjob *j)
{
	struct store_dur *d = j->d;
	struct store_ckpt_writer *w = NULL;
	int rc = store_ckpt_begin(d->jdir, &w, j->err, sizeof(j->err));
	pthread_mutex_init(&j->jm, NULL);
	pthread_cond_init(&j->jcv, NULL);
	j->pcs = xcalloc(j->nown ? j->nown : 1, sizeof(*j->pcs));
	j->failed = rc != 0;
	if (!j->locked) { /* from here on a waiting cycle may help */
		pthread_mutex_lock(&d->mu);
		d->ck_job = j;
		pthread_cond_broadcast(&d->ck_cv); /* a cycle already waiting helps */
		pthread_mutex_unlock(&d->mu);
	}
	struct ckworker wk = {BUF_INIT, NULL};
	size_t wpos = 0;
	uint32_t nent = 0;
	int wrc = 0;
	for (;;) {
		pthread_mutex_lock(&j->jm);
		bool more = j->claim < j->nown;
		pthread_mutex_unlock(&j->jm);
		if (!more)
			break;
		ck_work(j, &wk, w);
		if (w)
			ck_flush(j, w, &wpos, &nent, &wrc, false);
	}
	buf_free(&wk.img);
	store_ckpt_zpiece_free(wk.z);
	struct buf b = BUF_INIT;
	if (!j->locked)
		pthread_mutex_lock(&d->mu);
	d->ck_job = NULL; /* every entry is claimed: nobody else starts one */
	for (size_t i = 0; i < d->npend; i++) {
		bio_u8(&b, (uint8_t)d->pend[i].kind);
		bio_str(&b, d->pend[i].uuid);
		store_rrdb_encode(d->pend[i].rrd, &b);
	}
	j->ci.npending = (uint32_t)d->npend;
	/* a helper, if any, is the cycle holding d->mu: it has finished its
	 * entry (it returns only when none is left to claim) */
	ck_snap_done(d);
	if (!j->locked)
		pthread_mutex_unlock(&d->mu);
	if (w)
		ck_flush(j, w, &wpos, &nent, &wrc, true);
	else
		for (size_t i = 0; i < j->nown; i++)
			buf_free(&j->pcs[i].pc.z);
	if (!rc)
		rc = wrc;
	if (!rc && j->failed)
		rc = -ENOMEM; /* a compression failure */
	if (!rc)
		rc = store_ckpt_add(w, b.p, b.len);
	buf_free(&b);
	free(j->pcs);
	j->pcs = NULL;
	pthread_cond_destroy(&j->jcv);
	pthread_mutex_destroy(&j->jm);
	j->ci.nentries = nent;
	if (rc && w) {
		store_ckpt_abort(w);
		snprintf(j->err, sizeof(j->err), "%s/checkpoint: write failed: %s", d->jdir,
		         strerror(-rc));
	} else if (!rc) {
		rc = store_ckpt_finish(w, &j->ci, &j->bytes, j->err, sizeof(j->err));
	}
	return rc;
}

static void ck_failed(struct store_dur *d, const char *err)
{
	d->st.checkpoint_errors++;
	if (!d->ckerr_logged) {
		log_err("checkpoint failed (retried every %.0f s, not logged again): %s",
		        RETRY_SECONDS, err);
		d->ckerr_logged = true;
	}
}

static void ck_done_log(struct store_dur *d, const struct ckjob *j)
{
	if (d->ckerr_logged || d->jerr_logged)
		log_info("checkpoint written; journaling resumed");
	d->ckerr_logged = d->jerr_logged = false;
	d->st.checkpoints++;
	d->st.last_checkpoint_bytes = j->bytes;
	d->st.last_checkpoint_seconds = store_dur_wall() - j->t0;
	log_info("checkpoint: %u RRDs, %llu bytes, %.3f s; journal segment of %llu bytes "
	         "replaced by segment %llu",
	         j->ci.nentries, (unsigned long long)d->st.last_checkpoint_bytes,
	         d->st.last_checkpoint_seconds, (unsigned long long)j->old_bytes,
	         (unsigned long long)j->ci.next_segno);
}

static void ck_job_init(struct store_dur *d, struct ckjob *j, uint64_t segno, uint64_t next_seq)
{
	memset(j, 0, sizeof(*j));
	j->d = d;
	j->t0 = store_dur_wall();
	j->ci.next_segno = segno;
	j->ci.last_seq = next_seq - 1;
	j->ci.last_t = d->last_t;
	j->ci.host_hash = store_ckpt_hash(d->host_uuid);
	j->old_bytes = d->jopen ? d->jnl.size : 0;
	j->nown = mon_list_entries(d->reg, &j->own);
	j->ci.min_max = mon_use_min_max(d->reg) ? 2 : 1;
}

/* Wait (d->mu held) until no background checkpoint is being written; with
 * all, also until every checkpoint thread has ended (one may still write
 * the archives that follow a periodic checkpoint: the rest of them is
 * dropped, the caller takes another checkpoint or writes every archive). */
void store_dur_ckpt_wait_idle(struct store_dur *d, bool all)
{
	while (d->ck_busy)
		pthread_cond_wait(&d->ck_cv, &d->mu);
	if (all) {
		d->ar_gen++;
		while (d->nthreads)
			pthread_cond_wait(&d->ck_cv, &d->mu);
	}
}

/* Appends go to the new segment nj from now on (d->mu held); its cycle
 * records are a stream of their own. */
static void switch_segment(struct store_dur *d, struct store_jnl *nj)
{
	if (d->jopen)
		store_jnl_close(&d->jnl);
	d->jnl = *nj;
	d->jopen = true;
	store_tickenc_reset(d->tenc, d->jnl.segno);
	d->stream_len = 0;
	d->stream_k = 0;
}

/* A checkpoint starting at segment segno is durable: the one it replaced
 * (if any) is now checkpoint.prev, so keep the segments from that one's
 * first on (a recovery from it replays them) and delete the older ones. */
static void ck_prune(struct store_dur *d, uint64_t segno)
{
	store_jnl_prune(d->jdir, d->ckpt_segno ? d->ckpt_segno : segno);
	d->ckpt_segno = segno;
}

/* The synchronous checkpoint, d->mu held throughout: segment N+1 is
 * created first, appends switch to it only once the checkpoint naming it
 * is durable; on failure it is removed and appends go on in N. */
int store_dur_ckpt_sync(struct store_dur *d, double now)
{
	if (!d->journaling)
		return 0;
	store_dur_ckpt_wait_idle(d, true);
	d->last_ckpt_t = now;
	if (d->jopen)
		store_jnl_sync(&d->jnl, now);
	uint64_t segno = d->jnl.segno + 1;
	struct ckjob j;
	ck_job_init(d, &j, segno, d->jnl.next_seq);
	j.locked = true;
	d->ck_snap = true;
	struct store_jnl nj;
	int rc = store_jnl_create(&nj, d->jdir, segno, d->jnl.next_seq, j.err, sizeof(j.err));
	if (!rc) {
		rc = ck_write(&j);
		if (rc) {
			store_jnl_close(&nj);
			store_fops->unlink(nj.path);
		}
	}
	ck_snap_done(d);
	free(j.own);
	if (rc) {
		ck_failed(d, j.err);
		return rc;
	}
	switch_segment(d, &nj);
	ck_prune(d, segno);
	ck_done_log(d, &j);
	return 0;
}

static void *ck_main(void *arg)
{
	struct ckjob *j = arg;
	struct store_dur *d = j->d;
	int rc = ck_write(j);
	free(j->own);
	j->own = NULL;
	malloc_trim(0); /* give the encoder's and zlib's pages back */
	pthread_mutex_lock(&d->mu);
	if (rc) {
		/* segment N+1 stays: the old checkpoint and segments up to N+1
		 * still describe the state, nothing was pruned */
		ck_failed(d, j->err);
	} else {
		ck_prune(d, j->ci.next_segno);
		ck_done_log(d, j);
	}
	bool archives = !rc && j->archives && store_dur_has(d->archive_dir);
	struct mon_owner_ref *o = NULL;
	size_t n = archives ? mon_list_entries(d->reg, &o) : 0;
	unsigned gen = ++d->ar_gen; /* an older thread still archiving stops */
	d->ck_busy = false;
	pthread_cond_broadcast(&d->ck_cv);
	pthread_mutex_unlock(&d->mu);
	free(j);
	/* then every archive, here rather than in the cycles (the host's alone
	 * takes ~0.2-0.4 s at 1024 VMs); stopped early by the next checkpoint,
	 * a stop or close (ar_gen), in which case the next pass goes on after
	 * the last one written, so every owner gets its turn */
	pthread_mutex_lock(&d->amu);
	size_t start = 0;
	while (d->ar_resume && start < n && owner_cmp(&o[start], &d->ar_last) <= 0)
		start++;
	pthread_mutex_unlock(&d->amu);
	size_t k = 0;
	for (; k < n && d->ar_gen == gen; k++) {
		struct mon_owner_ref *c = &o[(start + k) % n];
		bool big = archive_owner_bg(d, c->kind, c->uuid);
		pthread_mutex_lock(&d->amu);
		d->ar_last = *c;
		d->ar_resume = k + 1 < n;
		pthread_mutex_unlock(&d->amu);
		if (big)
			malloc_trim(0);
	}
	free(o);
	if (n)
		malloc_trim(0);
	pthread_mutex_lock(&d->mu);
	d->nthreads--;
	pthread_cond_broadcast(&d->ck_cv);
	pthread_mutex_unlock(&d->mu); /* d is not touched after this */
	return NULL;
}

/* Start a checkpoint in the background (d->mu held): fsync segment N,
 * create N+1 and switch appends to it at once (records after this point
 * follow the cut), then a thread writes the checkpoint naming N+1 and only
 * when it is durable deletes the segments before N+1.  If the process dies
 * first, the previous checkpoint and every segment up to N+1 are still
 * there and recover the same state.  Cycles (store_dur_tick) wait until
 * the thread has read every entry (ck_snap); readers of the registry never
 * wait.  Only with a healthy journal (or right after a clean replay): after
 * a journal failure there is a gap, and checkpoint_locked is used.  0 (or
 * already running), or -errno (N+1 could not be created; N goes on). */
int store_dur_ckpt_start(struct store_dur *d, double now, bool archives)
{
	if (!d->journaling || d->ck_busy)
		return 0;
	d->last_ckpt_t = now;
	if (d->jopen)
		store_jnl_sync(&d->jnl, now);
	uint64_t segno = d->jnl.segno + 1;
	struct ckjob *j = xmalloc(sizeof(*j));
	ck_job_init(d, j, segno, d->jnl.next_seq);
	j->archives = archives;
	struct store_jnl nj;
	int rc = store_jnl_create(&nj, d->jdir, segno, d->jnl.next_seq, j->err, sizeof(j->err));
	if (rc) {
		ck_failed(d, j->err);
		free(j->own);
		free(j);
		return rc;
	}
	switch_segment(d, &nj);
	d->ar_gen++; /* the archives of the previous one (if still going) stop */
	d->ck_busy = d->ck_snap = true;
	d->nthreads++;
	pthread_attr_t at;
	pthread_t tid;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int cr = pthread_create(&tid, &at, ck_main, j);
	pthread_attr_destroy(&at);
	if (cr == 0)
		return 0;
	/* no thread: write it here (ck_main takes d->mu itself) */
	pthread_mutex_unlock(&d->mu);
	ck_main(j);
	pthread_mutex_lock(&d->mu);
	return 0;
}

/* Write the archive of every entry, one copy at a time. */
int store_dur_archive_all_locked(struct store_dur *d)
{
	if (!store_dur_has(d->archive_dir))
		return 0;
	double t0 = store_dur_wall();
	struct mon_owner_ref *o;
	size_t n = mon_list_entries(d->reg, &o), written = 0;
	int fails = 0;
	for (size_t i = 0; i < n; i++) {
		struct rrdb *r = mon_dup(d->reg, o[i].kind, o[i].uuid);
		if (!r)
			continue; /* an entry without an RRD */
		if (store_dur_write_archive(d, o[i].kind, o[i].uuid, r))
			fails++;
		else
			written++;
		rrdb_free(r);
	}
	free(o);
	fails += store_dur_retry_pending(d);
	log_info("archives: %zu written to %s in %.3f s (%d failures)", written, d->archive_dir,
	         store_dur_wall() - t0, fails);
	return fails;
}

/* Periodic archives are spread over the cycles (ARCHIVES_PER_CYCLE at a
 * time, copies taken one by one) so no cycle waits for a thousand fsyncs:
 * recovery needs only the checkpoint, the archives are for xcp-rrdd. */
#define ARCHIVES_PER_CYCLE 16

void store_dur_queue_archives(struct store_dur *d)
{
	free(d->aq);
	d->naq = d->iaq = 0;
	d->aq = NULL;
	d->naq = mon_list_entries(d->reg, &d->aq); /* owners only: copies are taken one by one */
}

void store_dur_archive_some(struct store_dur *d)
{
	int done = 0;
	while (done < ARCHIVES_PER_CYCLE && d->iaq < d->naq) {
		struct mon_owner_ref *c = &d->aq[d->iaq++];
		struct rrdb *r = mon_dup(d->reg, c->kind, c->uuid);
		if (!r) /* gone since: it was archived when it went */
			continue;
		bool big = r->nds > 256;
		store_dur_write_archive(d, c->kind, c->uuid, r);
		rrdb_free(r);
		done += big ? ARCHIVES_PER_CYCLE : 1; /* a big one (the host) takes a cycle */
	}
	if (done) /* the XML, gzip and copy buffers go back to the system */
		malloc_trim(0);
	if (d->naq && d->iaq >= d->naq) {
		free(d->aq);
		d->aq = NULL;
		d->naq = d->iaq = 0;
	}
}

int store_dur_checkpoint(struct store_dur *d, double now, bool archives)
{
	pthread_mutex_lock(&d->mu);
	store_dur_ckpt_wait_idle(d, true);
	double t0 = store_dur_wall();
	int fails = store_dur_ckpt_sync(d, now) ? 1 : 0;
	if (archives) {
		fails += store_dur_archive_all_locked(d);
		d->st.last_checkpoint_seconds = store_dur_wall() - t0;
	}
	pthread_mutex_unlock(&d->mu);
	malloc_trim(0);
	return fails;
}

int store_dur_archive_all(struct store_dur *d)
{
	pthread_mutex_lock(&d->mu);
	int fails = store_dur_archive_all_locked(d);
	pthread_mutex_unlock(&d->mu);
	return fails;
}
