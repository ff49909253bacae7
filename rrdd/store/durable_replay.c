/*
 * Recovery of the durable store (durable_impl.h): the checkpoint's entries
 * and the journal's records after it, decoded from their bytes and given
 * to mon_commit with MON_COMMIT_REPLAY, the same function that made the
 * changes, so the recovered registry equals the one that was lost, bit for
 * bit.  Damaged or foreign files are moved aside.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "store/archive.h"
#include "store/binio.h"
#include "store/checkpoint.h"
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

/* ---- TICK records ---- */

static const char *get_s0(struct bio_rd *r)
{
	uint32_t n = bio_get_u32(r);
	const unsigned char *p = bio_take(r, (size_t)n + 1);
	if (!p || p[n] != 0 || memchr(p, 0, n)) {
		r->bad = true;
		return "";
	}
	return (const char *)p;
}

/* Inflate a u32 raw length + zlib stream payload into a new buffer. */
static unsigned char *unpack(const unsigned char *p, size_t n, uint32_t *rawlen)
{
	struct bio_rd r = bio_reader(p, n);
	uint32_t raw = bio_get_u32(&r);
	if (r.bad || raw > STORE_JNL_MAX_RECORD || (uint64_t)raw > (uint64_t)(n - 4) * 1032 + 64)
		return NULL;
	unsigned char *u = xmalloc(raw ? raw : 1);
	uLongf un = raw;
	if (uncompress(u, &un, p + 4, (uLong)(n - 4)) != Z_OK || un != raw) {
		free(u);
		return NULL;
	}
	*rawlen = raw;
	return u;
}

static void replay_cycle(struct store_dur *d, const struct mon_cycle *t)
{
	struct mon_change c = {.kind = MON_CH_CYCLE, .cycle = *t};
	mon_commit(d->reg, &c, MON_COMMIT_REPLAY, NULL);
}

static int replay_tick2(struct store_dur *d, const unsigned char *p, size_t n)
{
	uint32_t raw;
	unsigned char *u = unpack(p, n, &raw);
	if (!u)
		return -EINVAL;
	if (!d->tdec)
		d->tdec = store_tickdec_new();
	struct mon_cycle t;
	int rc = store_tickdec_decode(d->tdec, u, raw, &t);
	if (!rc)
		replay_cycle(d, &t);
	free(u);
	return rc;
}

/* One sample of a cycle record of the first format. */
static void get_sample(struct bio_rd *b, struct mon_sample *s)
{
	s->d.name = get_s0(b);
	s->d.description = get_s0(b);
	s->d.units = get_s0(b);
	uint8_t ty = bio_get_u8(b), vt = bio_get_u8(b);
	s->d.min = bio_get_f64(b);
	s->d.max = bio_get_f64(b);
	s->d.dflt = bio_get_u8(b) != 0;
	uint8_t tr = bio_get_u8(b), v = bio_get_u8(b);
	if (ty > DS_DERIVE || vt > VAL_FLOAT || tr > TR_INVERSE || v > VAL_FLOAT)
		b->bad = true;
	s->d.type = (enum ds_type)(ty <= DS_DERIVE ? ty : 0);
	s->d.value_type = (enum val_type)(vt <= VAL_FLOAT ? vt : 0);
	s->d.transform = (enum ds_transform)(tr <= TR_INVERSE ? tr : 0);
	s->v.type = (enum val_type)(v <= VAL_FLOAT ? v : 0);
	if (s->v.type == VAL_FLOAT)
		s->v.f = bio_get_f64(b);
	else
		s->v.i = (int64_t)bio_get_u64(b);
	if (s->v.type == VAL_UNKNOWN)
		s->v.i = 0;
}

/* A cycle record of the first format (docs/durability.md). */
static int replay_tick(struct store_dur *d, const unsigned char *p, size_t n)
{
	uint32_t raw;
	unsigned char *u = unpack(p, n, &raw);
	if (!u)
		return -EINVAL;
	struct bio_rd b = bio_reader(u, raw);
	struct mon_cycle t;
	memset(&t, 0, sizeof(t));
	t.now = bio_get_f64(&b);
	uint32_t nres = bio_get_u32(&b);
	struct mon_resident *res = NULL;
	struct mon_chunk *chunks = NULL;
	const struct mon_chunk **cp = NULL;
	char(*gone)[MON_UUID_LEN + 1] = NULL;
	uint32_t nch = 0, ngone = 0;
	int rc = -EINVAL;
	if (b.bad || (uint64_t)nres * 9 > bio_left(&b))
		goto out;
	res = xcalloc(nres ? nres : 1, sizeof(*res));
	for (uint32_t i = 0; i < nres; i++) {
		mon_uuid_copy(res[i].uuid, get_s0(&b));
		res[i].domid = bio_get_u32(&b);
	}
	nch = bio_get_u32(&b);
	if (b.bad || (uint64_t)nch * 17 > bio_left(&b))
		goto out;
	chunks = xcalloc(nch ? nch : 1, sizeof(*chunks));
	cp = xcalloc(nch ? nch : 1, sizeof(*cp));
	for (uint32_t i = 0; i < nch && !b.bad; i++) {
		struct mon_chunk *c = &chunks[i];
		cp[i] = c;
		snprintf(c->uid, sizeof(c->uid), "%s", get_s0(&b));
		c->t = bio_get_f64(&b);
		uint32_t no = bio_get_u32(&b);
		if ((uint64_t)no * 10 > bio_left(&b)) {
			b.bad = true;
			break;
		}
		for (uint32_t j = 0; j < no && !b.bad; j++) {
			uint8_t kind = bio_get_u8(&b);
			const char *uuid = get_s0(&b);
			if (kind > MON_SR) {
				b.bad = true;
				break;
			}
			struct mon_chunk_owner *o =
			    mon_chunk_add_owner(c, (enum mon_owner_kind)kind, uuid);
			uint32_t nds = bio_get_u32(&b);
			if ((uint64_t)nds * 40 > bio_left(&b)) {
				b.bad = true;
				break;
			}
			for (uint32_t k = 0; k < nds && !b.bad; k++)
				get_sample(&b, mon_owner_add_sample(o));
		}
	}
	ngone = bio_get_u32(&b);
	if (b.bad || (uint64_t)ngone * 5 > bio_left(&b))
		goto out;
	gone = xcalloc(ngone ? ngone : 1, sizeof(*gone));
	for (uint32_t i = 0; i < ngone; i++)
		mon_uuid_copy(gone[i], get_s0(&b));
	if (b.bad || bio_left(&b) || !isfinite(t.now))
		goto out;
	t.chunks = (const struct mon_chunk *const *)cp;
	t.nchunks = nch;
	t.res = res;
	t.nres = nres;
	t.gone = (const char(*)[MON_UUID_LEN + 1]) gone;
	t.ngone = ngone;
	replay_cycle(d, &t);
	rc = 0;
out:
	for (uint32_t i = 0; chunks && i < nch; i++)
		mon_chunk_clear(&chunks[i]);
	free(chunks);
	free(cp);
	free(res);
	free(gone);
	free(u);
	return rc;
}

/* ---- the other records ---- */

struct replay_ctx {
	struct store_dur *d;
	uint64_t ticks;
	bool broken; /* a record was lost: cycle records until a stream start depend on it */
};

static int get_owner(struct bio_rd *r, enum mon_owner_kind *kind, char uuid[MON_UUID_LEN + 1])
{
	uint8_t k = bio_get_u8(r);
	bio_get_str_into(r, uuid, MON_UUID_LEN + 1);
	if (r->bad || k > MON_SR || (k != MON_HOST && !uuid[0]))
		return -EINVAL;
	*kind = (enum mon_owner_kind)k;
	return 0;
}

static int replay_change(struct store_dur *d, struct mon_change *c)
{
	int rc = mon_commit(d->reg, c, MON_COMMIT_REPLAY, NULL);
	return rc == -EINVAL ? rc : 0; /* a change that found nothing to do did nothing then too */
}

static int replay_one(void *ctx, uint64_t seq, uint32_t type, const void *payload, size_t n)
{
	(void)seq;
	struct replay_ctx *rc = ctx;
	struct store_dur *d = rc->d;
	struct bio_rd r = bio_reader(payload, n);
	struct mon_change c = {.kind = MON_CH_RELEASE};
	char uuid[MON_UUID_LEN + 1], name[1024];
	if (type == STORE_JNL_LOST) {
		/* the cycle records of this stream that follow it cannot be decoded
		 * until the next stream start (store/tickrec.h) */
		store_tickdec_free(d->tdec);
		d->tdec = NULL;
		rc->broken = true;
		return 0;
	}
	if (type == REC_TICK || type == REC_TICK2) {
		if ((type == REC_TICK ? replay_tick : replay_tick2)(d, payload, n))
			return rc->broken && type == REC_TICK2 ? 1 : -EINVAL;
		rc->broken = false;
		rc->ticks++;
		return 0;
	}
	if (type == REC_SET) {
		c.kind = MON_CH_RESTORE;
		if (store_entry_decode(&r, &c.entry))
			return -EINVAL;
		return replay_change(d, &c);
	}
	if (type == REC_MINMAX) {
		c.kind = MON_CH_MIN_MAX;
		c.use_min_max = bio_get_u8(&r) != 0;
		return r.bad ? -EINVAL : replay_change(d, &c);
	}
	if (type < REC_LOAD || type > REC_RELEASE || get_owner(&r, &c.owner, uuid))
		return -EINVAL;
	c.uuid = uuid;
	char err[512] = "";
	switch (type) {
	case REC_LOAD:
		c.kind = MON_CH_INSTALL;
		c.bytes = bio_get_bytes(&r, &c.nbytes);
		if (r.bad || store_parse_rrd_bytes(c.bytes, c.nbytes, &c.rrd, err, sizeof(err)))
			return -EINVAL;
		break;
	case REC_PUTIMG:
		c.kind = MON_CH_INSTALL;
		if (store_rrdb_decode(&r, &c.rrd))
			return -EINVAL;
		break;
	case REC_ENABLE:
	case REC_FORGET:
		c.kind = type == REC_ENABLE ? MON_CH_ENABLE_DS : MON_CH_FORGET_DS;
		bio_get_str_into(&r, name, sizeof(name));
		c.ds_name = name;
		if (type == REC_ENABLE)
			c.t = bio_get_f64(&r);
		if (r.bad)
			return -EINVAL;
		break;
	case REC_RELEASE:
		c.archive = bio_get_u8(&r) != 0;
		break;
	default: /* REC_DEL */
		break;
	}
	return replay_change(d, &c);
}

/* ---- the checkpoint ---- */

/* Drop every entry restored so far and the pending archives: what follows
 * a lost checkpoint cannot be used. */
static void drop_all(struct store_dur *d)
{
	struct mon_owner_ref *o;
	size_t n = mon_list_entries(d->reg, &o);
	for (size_t i = 0; i < n; i++) {
		struct mon_change c = {
		    .kind = MON_CH_RELEASE, .owner = o[i].kind, .uuid = o[i].uuid};
		mon_commit(d->reg, &c, MON_COMMIT_REPLAY, NULL);
	}
	free(o);
	while (d->npend)
		rrdb_free(d->pend[--d->npend].rrd);
}

/* Load the checkpoint (prev: the previous one) into the registry, one
 * entry image at a time (the payload is inflated piece by piece).  0,
 * -ENOENT (none), or -EINVAL (moved aside; the registry is left empty). */
static int load_checkpoint(struct store_dur *d, bool prev, struct store_ckpt_info *ci,
                           uint32_t *moved)
{
	char err[1300] = "";
	struct store_ckpt_reader *rd = NULL;
	int rc =
	    (prev ? store_ckpt_open_prev : store_ckpt_open)(d->jdir, ci, &rd, err, sizeof(err));
	if (rc == -ENOENT)
		return rc;
	if (!rc && ci->host_hash != store_ckpt_hash(d->host_uuid)) {
		snprintf(err, sizeof(err), "%s/checkpoint: written for another host", d->jdir);
		rc = -EINVAL;
	}
	for (uint32_t i = 0; !rc && i < ci->nentries; i++) {
		const void *p = store_ckpt_pull(rd, 4);
		struct bio_rd lr = bio_reader(p, p ? 4 : 0);
		uint32_t n = bio_get_u32(&lr);
		const void *e = p ? store_ckpt_pull(rd, n) : NULL;
		struct bio_rd er = bio_reader(e, n);
		struct mon_change c = {.kind = MON_CH_RESTORE};
		if (!e || store_entry_decode(&er, &c.entry) || bio_left(&er) ||
		    mon_commit(d->reg, &c, MON_COMMIT_REPLAY, NULL)) {
			mon_entry_free_owned(c.entry);
			snprintf(err, sizeof(err), "%s/checkpoint: entry %u is damaged", d->jdir,
			         i);
			rc = -EINVAL;
		}
	}
	if (!rc && ci->npending) { /* rare, and last: the rest of the payload at once */
		uint64_t left = store_ckpt_left(rd);
		const void *p = store_ckpt_pull(rd, (size_t)left);
		struct bio_rd r = bio_reader(p, p ? (size_t)left : 0);
		for (uint32_t i = 0; !rc && i < ci->npending; i++) {
			enum mon_owner_kind kind;
			char uuid[MON_UUID_LEN + 1];
			struct rrdb *x;
			if (!p || get_owner(&r, &kind, uuid) || store_rrdb_decode(&r, &x)) {
				snprintf(err, sizeof(err),
				         "%s/checkpoint: pending archive %u is damaged", d->jdir,
				         i);
				rc = -EINVAL;
			} else {
				store_dur_pending_add(d, kind, uuid, x);
			}
		}
		if (!rc && bio_left(&r)) {
			snprintf(err, sizeof(err), "%s/checkpoint: trailing bytes", d->jdir);
			rc = -EINVAL;
		}
	}
	if (rd && store_ckpt_close(rd) && !rc) {
		snprintf(err, sizeof(err), "%s/checkpoint: payload does not decompress exactly",
		         d->jdir);
		rc = -EINVAL;
	}
	if (!rc)
		return 0;
	drop_all(d);
	char path[1200], aside[1300];
	(prev ? store_ckpt_prev_path : store_ckpt_path)(d->jdir, path, sizeof(path));
	int mv = store_move_aside(path, aside, sizeof(aside));
	log_warn("%s; %s %s", err, mv ? "could not move it aside:" : "moved aside to",
	         mv ? strerror(-mv) : aside);
	(*moved)++;
	return -EINVAL;
}

/* Move every journal segment aside (they belong to a lost checkpoint). */
static void move_segments_aside(struct store_dur *d, uint32_t *moved)
{
	DIR *dir = opendir(d->jdir);
	if (!dir)
		return;
	struct dirent *e;
	char names[64][64];
	int n = 0;
	while ((e = readdir(dir)) && n < 64)
		if (!strncmp(e->d_name, "seg-", 4) && strlen(e->d_name) < 64 &&
		    !strstr(e->d_name, ".corrupt-"))
			strcpy(names[n++], e->d_name);
	closedir(dir);
	for (int i = 0; i < n; i++) {
		char path[1200], aside[1300];
		if (snprintf(path, sizeof(path), "%s/%.63s", d->jdir, names[i]) >=
		    (int)sizeof(path))
			continue;
		if (store_move_aside(path, aside, sizeof(aside)) == 0) {
			log_warn("journal %s: its checkpoint is lost; moved aside to %s", path,
			         aside);
			(*moved)++;
		}
	}
}

/* Remove temporaries a crash left behind (<name>.tmp-<pid>). */
static void clean_temporaries(const char *dir)
{
	DIR *dd = opendir(dir);
	if (!dd)
		return;
	struct dirent *e;
	while ((e = readdir(dd))) {
		const char *t = strstr(e->d_name, ".tmp-");
		if (!t || strspn(t + 5, "0123456789") != strlen(t + 5) || !t[5])
			continue;
		char path[2200];
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path) &&
		    unlink(path) == 0)
			log_info("%s: temporary file of an interrupted write removed", path);
	}
	closedir(dd);
}

/* ---- recovery ---- */

static void replay_journal(struct store_dur *d, struct store_dur_recovery *r)
{
	clean_temporaries(d->jdir);
	struct store_ckpt_info ci;
	int rc = load_checkpoint(d, false, &ci, &r->moved_aside);
	if (rc) {
		/* damaged, or missing (a crash between the renames of a new one):
		 * the previous checkpoint and the segments kept with it hold the
		 * same state */
		int prc = load_checkpoint(d, true, &ci, &r->moved_aside);
		if (prc == 0) {
			r->fell_back = rc != -ENOENT;
			log_msg(
			    rc == -ENOENT ? LOG_INFO : LOG_WARNING,
			    "%s: recovering from the previous checkpoint (cycle at %.3f) and every "
			    "journal record after it",
			    d->jdir, ci.last_t);
			rc = 0;
		} else if (rc == -ENOENT) {
			rc = prc;
		}
		if (rc == -EINVAL)
			log_warn("%s: no checkpoint can be used; starting from the archives",
			         d->jdir);
	}
	uint64_t from_seg = 1, after_seq = 0;
	if (rc == 0) {
		d->ckpt_segno = ci.next_segno;
		r->had_state = true;
		from_seg = ci.next_segno;
		after_seq = ci.last_seq;
		d->last_t = ci.last_t;
		if (ci.min_max) { /* RRDs made in replay get the archives they had */
			struct mon_change mm = {.kind = MON_CH_MIN_MAX,
			                        .use_min_max = ci.min_max == 2};
			replay_change(d, &mm);
		}
	} else if (rc != -ENOENT) {
		move_segments_aside(d, &r->moved_aside);
	}
	struct replay_ctx rc_ = {d, 0, false};
	struct store_jnl_scan sc;
	store_jnl_replay(d->jdir, from_seg, after_seq, replay_one, &rc_, &sc);
	store_tickdec_free(d->tdec);
	d->tdec = NULL;
	r->records = sc.records;
	r->ticks = rc_.ticks;
	r->bytes = sc.bytes;
	r->moved_aside += sc.moved;
	r->lost = sc.lost;
	r->lost_first = sc.lost_first;
	r->lost_last = sc.lost_last;
	if (sc.lost)
		log_warn(
		    "journal %s: %llu record(s) lost (records %llu to %llu: damaged, or cycles "
		    "that depended on a damaged one); every other record was replayed",
		    d->jdir, (unsigned long long)sc.lost, (unsigned long long)sc.lost_first,
		    (unsigned long long)sc.lost_last);
	if (sc.bytes)
		r->had_state = true;
	d->jnl.segno = sc.last_seg;
	d->jnl.next_seq = sc.last_seq + 1;
	r->last_t = d->last_t;
}

void store_dur_recover(struct store_dur *d, struct store_dur_recovery *out)
{
	double t0 = store_dur_wall();
	struct store_dur_recovery r;
	memset(&r, 0, sizeof(r));
	r.last_t = NAN;
	if (store_dur_has(d->archive_dir))
		clean_temporaries(d->archive_dir);
	if (store_dur_has(d->opt.state_dir)) {
		snprintf(d->state_dir, sizeof(d->state_dir), "%s", d->opt.state_dir);
		snprintf(d->jdir, sizeof(d->jdir), "%s/journal", d->opt.state_dir);
		int rc = fs_mkdirs(d->jdir, 0700);
		if (rc)
			log_warn(
			    "journal directory %s: %s; running without a journal (a crash loses "
			    "what was not archived)",
			    d->jdir, strerror(-rc));
		else
			d->journaling = true;
	}
	if (d->journaling) {
		d->replaying = true;
		replay_journal(d, &r);
		d->replaying = false;
		double now = isfinite(d->last_t) ? d->last_t : 0;
		pthread_mutex_lock(&d->mu);
		if (d->opt.background_checkpoints && r.moved_aside == 0 && r.lost == 0) {
			/* serve now: the checkpoint is written in the background; the
			 * replayed segments stay until it is durable (a crash before
			 * that recovers from them again) */
			store_dur_ckpt_start(d, now, r.records > 0);
		} else if (store_dur_ckpt_sync(d, now) == 0 && r.records &&
		           store_dur_has(d->archive_dir)) {
			/* a file was moved aside (the segments no longer form a chain
			 * a second recovery could follow): checkpoint before serving */
			store_dur_queue_archives(d); /* written over the next cycles */
		}
		d->last_ckpt_t = NAN; /* the interval starts at the first cycle */
		pthread_mutex_unlock(&d->mu);
		if (r.had_state)
			log_info(
			    "recovered %s: checkpoint and %llu journal records (%llu cycles, %llu "
			    "bytes) replayed in %.3f s, last cycle at %.3f",
			    d->jdir, (unsigned long long)r.records, (unsigned long long)r.ticks,
			    (unsigned long long)r.bytes, store_dur_wall() - t0, r.last_t);
		if (r.had_state && store_dur_has(d->archive_dir))
			log_info(
			    "the RRDs recovered from %s win over the archives in %s (an archive "
			    "is read only for an owner they do not hold); to start from archives "
			    "edited while rrdd was stopped, stop rrdd cleanly, edit, remove %s, "
			    "start",
			    d->jdir, d->archive_dir, d->jdir);
	}
	r.seconds = store_dur_wall() - t0;
	*out = r;
}
