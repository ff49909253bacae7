/*
 * The durable store as the registry's log (durable.h): each change's
 * journal record (record), the archives of what leaves the registry and
 * the periodic work after a cycle (applied), archive failures logged once
 * per owner and retried, and the public calls.  Recovery is in
 * durable_replay.c, checkpoints in durable_ckpt.c (shared state:
 * durable_impl.h).
 *
 * Records (docs/durability.md): TICK2 = u32 raw length + deflate of the
 * cycle's encoding (tickrec.h); LOAD = kind, uuid, the archive file's
 * bytes; PUTIMG = kind, uuid, exact RRD image; ENABLE = kind, uuid, name,
 * f64 time; FORGET = kind, uuid, name; RELEASE = kind, uuid, u8 archived.
 * d->mu is taken in record and released in applied, so a checkpoint never
 * falls between a change's record and its application.
 */
#include "store/durable.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "clock/clock.h"
#include "store/archive.h"
#include "store/binio.h"
#include "store/durable_impl.h"
#include "store/entryimg.h"
#include "store/fileops.h"
#include "store/journal.h"
#include "store/rrdbin.h"
#include "store/tickrec.h"
#include "store/xml_parse.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

double store_dur_wall(void)
{
	return clk_elapsed();
}

static double cpu_seconds(void)
{
	return clk_thread_cpu();
}

/* ---- archive failures: logged once per owner ---- */

static long failed_find(struct store_dur *d, const char *key)
{
	for (size_t i = 0; i < d->nfailed; i++)
		if (!strcmp(d->failed[i].key, key))
			return (long)i;
	return -1;
}

static void note_archive_result(struct store_dur *d, enum mon_owner_kind kind, const char *key,
                                int rc, const char *err)
{
	long i = failed_find(d, key);
	if (rc) {
		d->st.archive_errors++;
		if (i < 0) {
			log_err("%s %s: archiving failed (retried later, not logged again): %s",
			        mon_owner_kind_name(kind), key, err);
			if (d->nfailed == d->cap_failed) {
				d->cap_failed = d->cap_failed ? d->cap_failed * 2 : 8;
				d->failed = xrealloc(d->failed, sizeof(*d->failed) * d->cap_failed);
			}
			mon_uuid_copy(d->failed[d->nfailed++].key, key);
		}
	} else {
		d->st.archived++;
		if (i >= 0) {
			log_info("%s %s: archive written after earlier failures",
			         mon_owner_kind_name(kind), key);
			d->failed[i] = d->failed[--d->nfailed];
		}
	}
}

/* Every archive write holds d->amu (after d->mu when both are taken):
 * writes of one key never overlap (they share a temporary name) and land
 * in the order their copies were taken. */
static int write_archive_amu(struct store_dur *d, enum mon_owner_kind kind, const char *key,
                             const struct rrdb *r, char *err, size_t errlen)
{
	int rc = store_archive_write(d->archive_dir, key, r, err, errlen);
	note_archive_result(d, kind, key, rc, err);
	return rc;
}

int store_dur_write_archive_amu(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                                const struct rrdb *r)
{
	char err[512];
	return write_archive_amu(d, kind, kind == MON_HOST ? d->host_uuid : uuid, r, err,
	                         sizeof(err));
}

int store_dur_write_archive(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                            const struct rrdb *r)
{
	pthread_mutex_lock(&d->amu);
	int rc = store_dur_write_archive_amu(d, kind, uuid, r);
	pthread_mutex_unlock(&d->amu);
	return rc;
}

static long pending_find(struct store_dur *d, enum mon_owner_kind kind, const char *uuid)
{
	for (size_t i = 0; i < d->npend; i++)
		if (d->pend[i].kind == kind && !strcmp(d->pend[i].uuid, uuid ? uuid : ""))
			return (long)i;
	return -1;
}

void store_dur_pending_add(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                           struct rrdb *r)
{
	long i = pending_find(d, kind, uuid);
	if (i >= 0) {
		rrdb_free(d->pend[i].rrd);
		d->pend[i].rrd = r;
		return;
	}
	if (d->npend == d->cap_pend) {
		d->cap_pend = d->cap_pend ? d->cap_pend * 2 : 8;
		d->pend = xrealloc(d->pend, sizeof(*d->pend) * d->cap_pend);
	}
	struct pending *p = &d->pend[d->npend++];
	p->kind = kind;
	mon_uuid_copy(p->uuid, uuid);
	p->rrd = r;
}

struct rrdb *store_dur_pending_take(struct store_dur *d, enum mon_owner_kind kind, const char *uuid)
{
	long i = pending_find(d, kind, uuid);
	if (i < 0)
		return NULL;
	struct rrdb *r = d->pend[i].rrd;
	d->pend[i] = d->pend[--d->npend];
	return r;
}

/* A released owner's RRD (taken): archive it, or keep it for a retry.
 * Returns 1 if it was kept. */
static int archive_or_keep(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                           struct rrdb *r)
{
	if (!store_dur_has(d->archive_dir)) {
		log_info("%s %s: gone, RRD released", mon_owner_kind_name(kind), uuid);
		rrdb_free(r);
		return 0;
	}
	if (store_dur_write_archive(d, kind, uuid, r)) {
		store_dur_pending_add(d, kind, uuid, r);
		return 1;
	}
	if (!d->replaying)
		log_info("%s %s: gone, RRD archived", mon_owner_kind_name(kind), uuid);
	rrdb_free(r);
	return 0;
}

int store_dur_retry_pending(struct store_dur *d)
{
	int fails = 0;
	for (size_t i = 0; i < d->npend;) {
		struct pending *p = &d->pend[i];
		if (store_dur_write_archive(d, p->kind, p->uuid, p->rrd) == 0) {
			rrdb_free(p->rrd);
			*p = d->pend[--d->npend];
		} else {
			fails++;
			i++;
		}
	}
	return fails;
}

/* ---- the journal ---- */

static void journal_failed(struct store_dur *d, const char *what, int rc)
{
	d->st.journal_errors++;
	if (d->jopen) {
		store_jnl_close(&d->jnl);
		d->jopen = false;
	}
	if (!d->jerr_logged) {
		log_err("journal %s: %s failed: %s; updates are not journaled until the next "
		        "checkpoint succeeds (retried every %.0f s)",
		        d->jnl.path, what, strerror(-rc), RETRY_SECONDS);
		d->jerr_logged = true;
	}
}

static void append(struct store_dur *d, uint32_t type, const void *p, size_t n, double now,
                   bool sync)
{
	if (!d->jopen || d->replaying)
		return;
	int rc = store_jnl_append(&d->jnl, type, p, n, now, d->opt.fsync_interval, sync);
	if (rc) {
		journal_failed(d, "append", rc);
		return;
	}
	d->st.records++;
	d->st.journal_bytes += n + STORE_JNL_REC;
}

/* Deflate b into z as u32 raw length + zlib stream, with d's deflater:
 * level 1, Huffman coding only.  A cycle's record is mostly tags and value
 * bytes that do not repeat at a distance, so string matching costs CPU for
 * little: bench_journal at 1024 VMs, journaling CPU per cycle 1.84 -> 1.12
 * ms for 84.6 -> 96.1 KB per cycle.  Any inflate reads it (replay is the
 * same).  Returns 0 or -ENOMEM. */
static int pack(struct store_dur *d, const struct buf *b, struct buf *z)
{
	if (!d->zs_ready) {
		memset(&d->zs, 0, sizeof(d->zs));
		if (deflateInit2(&d->zs, 1, Z_DEFLATED, 15, 8, Z_HUFFMAN_ONLY) != Z_OK)
			return -ENOMEM;
		d->zs_ready = true;
	} else if (deflateReset(&d->zs) != Z_OK) {
		return -ENOMEM;
	}
	buf_reset(z);
	uLong zn = deflateBound(&d->zs, (uLong)b->len);
	bio_u32(z, (uint32_t)b->len);
	char *dst = buf_reserve(z, zn);
	d->zs.next_in = (Bytef *)(uintptr_t)b->p;
	d->zs.avail_in = (uInt)b->len;
	d->zs.next_out = (Bytef *)dst;
	d->zs.avail_out = (uInt)zn;
	if (deflate(&d->zs, Z_FINISH) != Z_STREAM_END)
		return -ENOMEM;
	buf_commit(z, (size_t)(zn - d->zs.avail_out));
	return 0;
}

static void record_cycle(struct store_dur *d, const struct mon_cycle *t)
{
	double c0 = cpu_seconds();
	uint64_t b0 = d->st.journal_bytes;
	buf_reset(&d->enc);
	uint32_t every = d->opt.stream_every ? d->opt.stream_every : 12;
	if (d->stream_len >= every) {
		/* a new stream, so a damaged record costs at most this many cycles;
		 * ids unique within the segment (the first one is its number) */
		store_tickenc_reset(d->tenc, (d->jnl.segno << 20) | (++d->stream_k & 0xfffff));
		d->stream_len = 0;
	}
	d->stream_len++;
	store_tickenc_encode(d->tenc, t, &d->enc);
	if (pack(d, &d->enc, &d->z) == 0)
		append(d, REC_TICK2, d->z.p, d->z.len, t->now, false);
	else
		journal_failed(d, "compression", -ENOMEM);
	d->st.tick_records++;
	d->st.tick_bytes += d->st.journal_bytes - b0;
	d->st.tick_cpu_seconds += cpu_seconds() - c0;
}

/* The journal record of a change other than a cycle. */
static void record_other(struct store_dur *d, const struct mon_change *c)
{
	struct buf b = BUF_INIT;
	uint32_t type;
	if (c->kind == MON_CH_RESTORE) {
		type = REC_SET;
		store_entry_encode(c->entry, &b);
	} else if (c->kind == MON_CH_MIN_MAX) {
		type = REC_MINMAX;
		bio_u8(&b, c->use_min_max);
	} else {
		bio_u8(&b, (uint8_t)c->owner);
		bio_str(&b, c->owner == MON_HOST || !c->uuid ? "" : c->uuid);
		switch (c->kind) {
		case MON_CH_INSTALL:
			if (c->bytes) {
				type = REC_LOAD;
				bio_bytes(&b, c->bytes, c->nbytes);
			} else {
				type = REC_PUTIMG;
				store_rrdb_encode(c->rrd, &b);
			}
			break;
		case MON_CH_ENABLE_DS:
			type = REC_ENABLE;
			bio_str(&b, c->ds_name);
			bio_f64(&b, c->t);
			break;
		case MON_CH_FORGET_DS:
			type = REC_FORGET;
			bio_str(&b, c->ds_name);
			break;
		default:
			type = REC_RELEASE;
			bio_u8(&b, c->archive);
			break;
		}
	}
	append(d, type, b.p, b.len, d->last_t, c->sync);
	buf_free(&b);
}

/* mon_log_ops.record: d->mu is taken here and kept until applied. */
static void dur_record(void *ctx, const struct mon_change *c)
{
	struct store_dur *d = ctx;
	pthread_mutex_lock(&d->mu);
	d->in_commit = true;
	if (d->ck_snap) { /* a background checkpoint still reads the registry */
		double w0 = store_dur_wall();
		while (d->ck_snap) {
			store_dur_ckpt_help(d); /* take entries rather than only wait */
			if (d->ck_snap)
				pthread_cond_wait(&d->ck_cv, &d->mu);
		}
		d->st.checkpoint_wait_seconds += store_dur_wall() - w0;
	}
	if (!d->jopen)
		return;
	if (c->kind == MON_CH_CYCLE)
		record_cycle(d, &c->cycle);
	else
		record_other(d, c);
}

/* After a cycle (d->mu held): retries, checkpoint when due, archives. */
static void after_cycle(struct store_dur *d, double now)
{
	if (d->npend && !(now - d->last_retry_t < RETRY_SECONDS)) {
		d->last_retry_t = now;
		store_dur_retry_pending(d);
	}
	if (d->journaling) {
		bool due =
		    !(now - d->last_ckpt_t <
		      (d->opt.checkpoint_interval > 0 ? d->opt.checkpoint_interval : INFINITY));
		if (isnan(d->last_ckpt_t)) {
			d->last_ckpt_t = now;
			due = false;
		}
		bool big = d->jopen && d->jnl.size > d->opt.journal_max_bytes;
		bool broken = !d->jopen && !(now - d->last_ckpt_t < RETRY_SECONDS);
		if (broken || ((due || big) && !(d->opt.background_checkpoints && d->jopen))) {
			if (store_dur_ckpt_sync(d, now) == 0 && due &&
			    store_dur_has(d->archive_dir) && d->iaq >= d->naq)
				store_dur_queue_archives(d);
		} else if (due || big) {
			store_dur_ckpt_start(d, now, due); /* archives queued when done */
		}
	}
	store_dur_archive_some(d);
}

/* mon_log_ops.applied (also in replay, where record was not called). */
static void dur_applied(void *ctx, const struct mon_change *c, struct mon_result *r)
{
	struct store_dur *d = ctx;
	if (!d->in_commit)
		pthread_mutex_lock(&d->mu);
	d->in_commit = false;
	for (size_t i = 0; i < r->nreleased; i++) {
		struct mon_released *x = &r->released[i];
		r->archive_failures += archive_or_keep(d, x->kind, x->uuid, x->rrd);
		x->rrd = NULL;
	}
	if (c->kind == MON_CH_INSTALL && r->rc == 0) {
		/* a newer state than the one waiting for its archive */
		rrdb_free(store_dur_pending_take(d, c->owner, c->uuid));
		if (c->bytes)
			d->st.loaded++;
	} else if (c->kind == MON_CH_CYCLE) {
		d->last_t = c->cycle.now;
		if (!d->replaying)
			after_cycle(d, c->cycle.now);
	}
	pthread_mutex_unlock(&d->mu);
}

static const struct mon_log_ops dur_log_ops = {dur_record, dur_applied};

/* ---- the public calls ---- */

int store_dur_open(const struct store_dur_options *opt, struct mon_registry *reg,
                   struct store_dur **out, struct store_dur_recovery *rec)
{
	struct store_dur *d = xcalloc(1, sizeof(*d));
	d->opt = *opt;
	d->reg = reg;
	d->jnl.fd = -1;
	d->last_t = NAN;
	d->last_ckpt_t = NAN;
	d->last_retry_t = NAN;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->ck_cv, NULL);
	pthread_mutex_init(&d->amu, NULL);
	d->tenc = store_tickenc_new();
	if (store_dur_has(opt->archive_dir))
		snprintf(d->archive_dir, sizeof(d->archive_dir), "%s", opt->archive_dir);
	mon_uuid_copy(d->host_uuid, opt->host_uuid ? opt->host_uuid : mon_host_uuid(reg));
	if (d->opt.journal_max_bytes == 0)
		d->opt.journal_max_bytes = STORE_DUR_DEFAULT_MAX_JOURNAL;
	/* the log from the start: replayed changes reach applied (archives of
	 * departed VMs) and are not recorded again (MON_COMMIT_REPLAY) */
	mon_set_log(reg, &dur_log_ops, d);
	struct store_dur_recovery r;
	store_dur_recover(d, &r);
	if (rec)
		*rec = r;
	*out = d;
	return 0;
}

void store_dur_close(struct store_dur *d)
{
	if (!d)
		return;
	mon_set_log(d->reg, NULL, NULL);
	pthread_mutex_lock(&d->mu);
	store_dur_ckpt_wait_idle(d, true);
	pthread_mutex_unlock(&d->mu);
	if (d->jopen) {
		store_jnl_sync(&d->jnl, d->last_t);
		store_jnl_close(&d->jnl);
	}
	for (size_t i = 0; i < d->npend; i++)
		rrdb_free(d->pend[i].rrd);
	free(d->pend);
	free(d->failed);
	buf_free(&d->enc);
	buf_free(&d->z);
	if (d->zs_ready)
		deflateEnd(&d->zs);
	store_tickenc_free(d->tenc);
	store_tickdec_free(d->tdec);
	free(d->aq);
	pthread_cond_destroy(&d->ck_cv);
	pthread_mutex_destroy(&d->amu);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

int store_dur_read(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                   struct rrdb **rrd, struct buf *bytes)
{
	const char *key = kind == MON_HOST ? d->host_uuid : uuid;
	*rrd = NULL;
	pthread_mutex_lock(&d->mu);
	*rrd = store_dur_pending_take(d, kind, uuid);
	pthread_mutex_unlock(&d->mu);
	if (*rrd) /* its archive was never written: the newest state is here */
		return 0;
	if (!store_dur_has(d->archive_dir))
		return -ENOENT;
	char path[2200];
	int rc = store_archive_path(d->archive_dir, key, path, sizeof(path));
	if (rc)
		return rc;
	char err[2400];
	rc = store_read_rrd_file(path, rrd, bytes, err, sizeof(err));
	if (rc == -EINVAL || rc == -E2BIG) {
		char aside[2400];
		int mv = store_move_aside(path, aside, sizeof(aside));
		log_warn("%s %s: archive %s is damaged or not an RRD (%s); %s%s; starting afresh",
		         mon_owner_kind_name(kind), key, path, err,
		         mv ? "could not move it aside: " : "moved aside to ",
		         mv ? strerror(-mv) : aside);
	} else if (rc && rc != -ENOENT) {
		log_warn("%s %s: archive %s not loaded: %s", mon_owner_kind_name(kind), key, path,
		         err);
	}
	return rc;
}

int store_dur_load(struct store_dur *d, enum mon_owner_kind kind, const char *uuid, bool sync)
{
	struct buf b = BUF_INIT;
	struct mon_change c = {.kind = MON_CH_INSTALL, .owner = kind, .uuid = uuid, .sync = sync};
	int rc = store_dur_read(d, kind, uuid, &c.rrd, &b);
	if (!rc) {
		c.bytes = b.len ? b.p : NULL;
		c.nbytes = b.len;
		rc = mon_commit(d->reg, &c, 0, NULL);
	}
	buf_free(&b);
	return rc;
}

int store_dur_write(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                    const struct rrdb *r, char *err, size_t errlen)
{
	if (!store_dur_has(d->archive_dir)) {
		snprintf(err, errlen, "archives are disabled on this host");
		return -ENOTSUP;
	}
	pthread_mutex_lock(&d->amu);
	int rc = write_archive_amu(d, kind, uuid && *uuid ? uuid : d->host_uuid, r, err, errlen);
	pthread_mutex_unlock(&d->amu);
	return rc;
}

int store_dur_remove(struct store_dur *d, const char *uuid)
{
	if (!store_dur_has(d->archive_dir))
		return 0;
	char path[2200];
	int rc = store_archive_path(d->archive_dir, uuid, path, sizeof(path));
	if (rc)
		return rc;
	pthread_mutex_lock(&d->amu);
	rc = 0;
	if (store_fops->unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	path[strlen(path) - 3] = 0; /* the uncompressed <uuid> */
	if (store_fops->unlink(path) < 0 && errno != ENOENT && !rc)
		rc = -errno;
	pthread_mutex_unlock(&d->amu);
	return rc;
}

void store_dur_get_stats(struct store_dur *d, struct store_dur_stats *out)
{
	pthread_mutex_lock(&d->mu);
	pthread_mutex_lock(&d->amu);
	*out = d->st;
	pthread_mutex_unlock(&d->amu);
	out->segment_bytes = d->jopen ? d->jnl.size : 0;
	out->pending = (uint32_t)d->npend;
	pthread_mutex_unlock(&d->mu);
}

const char *store_dur_archive_dir(const struct store_dur *d)
{
	return store_dur_has(d->archive_dir) ? d->archive_dir : NULL;
}
