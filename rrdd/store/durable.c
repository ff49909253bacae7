/*
 * The durability orchestrator (durable.h): journal records of cycles,
 * loads and RPC mutations, their replay through the same apply functions,
 * recovery, archives with once-per-owner error logging and retries.
 * Checkpoints and the archive passes after them are in durable_ckpt.c
 * (shared state: durable_impl.h).
 *
 * Records (types below): TICK = u32 raw length + deflate of { f64 now;
 * residents; chunks with every sample's descriptor and value; departed
 * uuids }; LOAD = kind, uuid, the archive file's bytes; PUTIMG = kind,
 * uuid, exact RRD image; SET = registry entry image; DEL = kind, uuid.
 * Strings inside a TICK are length-prefixed and NUL-terminated so replay
 * points into the decoded buffer instead of copying.
 */
#include "store/durable.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "monitor/registry_state.h"
#include "store/archive.h"
#include "store/binio.h"
#include "store/checkpoint.h"
#include "store/fileops.h"
#include "store/journal.h"
#include "store/rrdbin.h"
#include "store/tickrec.h"
#include "store/durable_impl.h"
#include "store/xml_parse.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

/* REC_TICK: the first format of cycle records (every descriptor in full),
 * still replayed; cycles are written as REC_TICK2 (tickrec.h). */
enum { REC_TICK = 1, REC_LOAD = 2, REC_PUTIMG = 3, REC_SET = 4, REC_DEL = 5, REC_TICK2 = 6 };

static struct store_dur *global_dur;

double store_dur_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- strings inside TICK payloads ---- */

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

/* ---- archive failures: logged once per owner ---- */

static long failed_find(struct store_dur *d, const char *key)
{
	for (size_t i = 0; i < d->nfailed; i++)
		if (!strcmp(d->failed[i].key, key))
			return (long)i;
	return -1;
}

static void note_archive_result(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                                int rc, const char *err)
{
	const char *key = kind == MON_HOST ? d->host_uuid : uuid;
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
int store_dur_write_archive_amu(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                                const struct rrdb *r)
{
	char err[512];
	const char *key = kind == MON_HOST ? d->host_uuid : uuid;
	int rc = store_archive_write(d->archive_dir, key, r, err, sizeof(err));
	note_archive_result(d, kind, uuid, rc, err);
	return rc;
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

static void pending_add(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
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

static struct rrdb *pending_take(struct store_dur *d, enum mon_owner_kind kind, const char *uuid)
{
	long i = pending_find(d, kind, uuid);
	if (i < 0)
		return NULL;
	struct rrdb *r = d->pend[i].rrd;
	d->pend[i] = d->pend[--d->npend];
	return r;
}

/* A departed owner's RRD (taken): archive it, or keep it for a retry. */
static int archive_or_keep(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                           struct rrdb *r)
{
	if (!store_dur_has(d->archive_dir)) {
		log_info("%s %s: gone, RRD released", mon_owner_kind_name(kind), uuid);
		rrdb_free(r);
		return 0;
	}
	int rc = store_dur_write_archive(d, kind, uuid, r);
	if (rc) {
		pending_add(d, kind, uuid, r);
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

/* ---- apply (live and replay) ---- */

static int apply_tick(struct store_dur *d, const struct store_tick *t,
                      struct mon_apply_stats *stats)
{
	mon_apply(d->reg, t->chunks, t->nchunks, t->now, t->res, t->nres, stats);
	int fails = 0;
	for (size_t i = 0; i < t->ngone; i++) {
		struct rrdb *r = mon_take(d->reg, MON_VM, t->gone[i]);
		if (r)
			fails += archive_or_keep(d, MON_VM, t->gone[i], r);
	}
	d->last_t = t->now;
	return fails;
}

/* Parse archive bytes (gzip or plain XML) into an RRD. */
static int parse_archive(const unsigned char *p, size_t n, struct rrdb **out, char *err,
                         size_t errlen)
{
	*out = NULL;
	struct xmlp *x = xmlp_new(NULL);
	int rc = 0;
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
		z_stream z;
		memset(&z, 0, sizeof(z));
		if (inflateInit2(&z, 15 + 32) != Z_OK) {
			xmlp_free(x);
			return -ENOMEM;
		}
		z.next_in = (Bytef *)(uintptr_t)p;
		z.avail_in = (uInt)n;
		unsigned char out_buf[65536];
		for (;;) {
			z.next_out = out_buf;
			z.avail_out = sizeof(out_buf);
			int zr = inflate(&z, Z_NO_FLUSH);
			size_t got = sizeof(out_buf) - z.avail_out;
			if (got && (rc = xmlp_feed(x, out_buf, got)) != 0)
				break;
			if (zr == Z_STREAM_END) {
				if (z.avail_in == 0)
					break;
				inflateReset(&z); /* concatenated gzip members */
				continue;
			}
			if (zr != Z_OK || (z.avail_in == 0 && got == 0)) {
				snprintf(err, errlen, "not a complete gzip stream");
				rc = -EINVAL;
				break;
			}
		}
		inflateEnd(&z);
	} else {
		rc = xmlp_feed(x, p, n);
	}
	if (!rc)
		rc = xmlp_finish(x, out);
	if (rc && !err[0])
		snprintf(err, errlen, "%s", xmlp_error(x)[0] ? xmlp_error(x) : strerror(-rc));
	xmlp_free(x);
	return rc;
}

static int apply_load(struct store_dur *d, enum mon_owner_kind kind, const char *uuid,
                      const unsigned char *p, size_t n)
{
	struct rrdb *r;
	char err[512] = "";
	if (parse_archive(p, n, &r, err, sizeof(err)))
		return -EINVAL;
	rrdb_free(pending_take(d, kind, uuid));
	if (mon_put(d->reg, kind, uuid, r)) {
		rrdb_free(r);
		return -EINVAL;
	}
	return 0;
}

/* ---- TICK records ---- */

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

static int replay_tick2(struct store_dur *d, const unsigned char *p, size_t n)
{
	uint32_t raw;
	unsigned char *u = unpack(p, n, &raw);
	if (!u)
		return -EINVAL;
	if (!d->tdec)
		d->tdec = store_tickdec_new();
	struct store_tick t;
	int rc = store_tickdec_decode(d->tdec, u, raw, &t);
	if (!rc)
		apply_tick(d, &t, NULL);
	free(u);
	return rc;
}

/* A cycle record of the first format (docs/durability.md). */
static int replay_tick(struct store_dur *d, const unsigned char *p, size_t n)
{
	uint32_t raw;
	unsigned char *u = unpack(p, n, &raw);
	if (!u)
		return -EINVAL;
	struct bio_rd b = bio_reader(u, raw);
	struct store_tick t;
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
		const char *uid = get_s0(&b);
		snprintf(c->uid, sizeof(c->uid), "%s", uid);
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
			for (uint32_t k = 0; k < nds && !b.bad; k++) {
				struct mon_sample *s = mon_owner_add_sample(o);
				s->d.name = get_s0(&b);
				s->d.description = get_s0(&b);
				s->d.units = get_s0(&b);
				uint8_t ty = bio_get_u8(&b), vt = bio_get_u8(&b);
				s->d.min = bio_get_f64(&b);
				s->d.max = bio_get_f64(&b);
				s->d.dflt = bio_get_u8(&b) != 0;
				uint8_t tr = bio_get_u8(&b), v = bio_get_u8(&b);
				if (ty > DS_DERIVE || vt > VAL_FLOAT || tr > TR_INVERSE ||
				    v > VAL_FLOAT)
					b.bad = true;
				s->d.type = (enum ds_type)(ty <= DS_DERIVE ? ty : 0);
				s->d.value_type = (enum val_type)(vt <= VAL_FLOAT ? vt : 0);
				s->d.transform = (enum ds_transform)(tr <= TR_INVERSE ? tr : 0);
				s->v.type = (enum val_type)(v <= VAL_FLOAT ? v : 0);
				if (s->v.type == VAL_FLOAT)
					s->v.f = bio_get_f64(&b);
				else
					s->v.i = (int64_t)bio_get_u64(&b);
				if (s->v.type == VAL_UNKNOWN)
					s->v.i = 0;
			}
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
	apply_tick(d, &t, NULL);
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

/* ---- replay ---- */

struct replay_ctx {
	struct store_dur *d;
	uint64_t ticks;
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

static int replay_one(void *ctx, uint64_t seq, uint32_t type, const void *payload, size_t n)
{
	(void)seq;
	struct replay_ctx *rc = ctx;
	struct store_dur *d = rc->d;
	struct bio_rd r = bio_reader(payload, n);
	enum mon_owner_kind kind;
	char uuid[MON_UUID_LEN + 1];
	switch (type) {
	case REC_TICK:
	case REC_TICK2:
		if ((type == REC_TICK ? replay_tick : replay_tick2)(d, payload, n))
			return -EINVAL;
		rc->ticks++;
		return 0;
	case REC_LOAD: {
		if (get_owner(&r, &kind, uuid))
			return -EINVAL;
		size_t len;
		const char *bytes = bio_get_bytes(&r, &len);
		if (r.bad)
			return -EINVAL;
		return apply_load(d, kind, uuid, (const unsigned char *)bytes, len);
	}
	case REC_PUTIMG: {
		struct rrdb *x;
		if (get_owner(&r, &kind, uuid) || store_rrdb_decode(&r, &x))
			return -EINVAL;
		rrdb_free(pending_take(d, kind, uuid));
		if (mon_put(d->reg, kind, uuid, x)) {
			rrdb_free(x);
			return -EINVAL;
		}
		return 0;
	}
	case REC_SET:
		return mon_entry_restore(d->reg, &r);
	case REC_DEL:
		if (get_owner(&r, &kind, uuid))
			return -EINVAL;
		mon_entry_drop(d->reg, kind, uuid);
		return 0;
	default:
		return -EINVAL;
	}
}

/* Load the checkpoint into the registry, one entry image at a time (the
 * payload is inflated piece by piece).  0, -ENOENT (none), or -EINVAL
 * (moved aside; the registry is left empty). */
static int load_checkpoint(struct store_dur *d, struct store_ckpt_info *ci, uint32_t *moved)
{
	char err[1300] = "";
	struct store_ckpt_reader *rd = NULL;
	int rc = store_ckpt_open(d->jdir, ci, &rd, err, sizeof(err));
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
		if (!e || mon_entry_restore(d->reg, &er) || bio_left(&er)) {
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
				pending_add(d, kind, uuid, x);
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
	/* drop whatever was restored: the journal after it cannot be used */
	struct owner_ref *o;
	size_t n = store_dur_list_entries(d->reg, &o);
	for (size_t i = 0; i < n; i++)
		mon_entry_drop(d->reg, o[i].kind, o[i].uuid);
	free(o);
	while (d->npend)
		rrdb_free(d->pend[--d->npend].rrd);
	char path[1200], aside[1300];
	store_ckpt_path(d->jdir, path, sizeof(path));
	int mv = store_move_aside(path, aside, sizeof(aside));
	log_warn("%s; %s %s; starting from the archives", err,
	         mv ? "could not move it aside:" : "moved aside to", mv ? strerror(-mv) : aside);
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

/* ---- the public calls ---- */

int store_dur_open(const struct store_dur_options *opt, struct mon_registry *reg,
                   struct store_dur **out, struct store_dur_recovery *rec)
{
	double t0 = store_dur_wall();
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
	struct store_dur_recovery r;
	memset(&r, 0, sizeof(r));
	r.last_t = NAN;
	if (store_dur_has(d->archive_dir))
		clean_temporaries(d->archive_dir);
	if (store_dur_has(opt->state_dir)) {
		snprintf(d->state_dir, sizeof(d->state_dir), "%s", opt->state_dir);
		snprintf(d->jdir, sizeof(d->jdir), "%s/journal", opt->state_dir);
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
		clean_temporaries(d->jdir);
		struct store_ckpt_info ci;
		int rc = load_checkpoint(d, &ci, &r.moved_aside);
		uint64_t from_seg = 1, after_seq = 0;
		if (rc == 0) {
			r.had_state = true;
			from_seg = ci.next_segno;
			after_seq = ci.last_seq;
			d->last_t = ci.last_t;
		} else if (rc != -ENOENT) {
			move_segments_aside(d, &r.moved_aside);
		}
		struct replay_ctx rc_ = {d, 0};
		struct store_jnl_scan sc;
		d->replaying = true;
		store_jnl_replay(d->jdir, from_seg, after_seq, replay_one, &rc_, &sc);
		d->replaying = false;
		store_tickdec_free(d->tdec);
		d->tdec = NULL;
		r.records = sc.records;
		r.ticks = rc_.ticks;
		r.bytes = sc.bytes;
		r.moved_aside += sc.moved;
		if (sc.bytes)
			r.had_state = true;
		d->jnl.segno = sc.last_seg;
		d->jnl.next_seq = sc.last_seq + 1;
		r.last_t = d->last_t;
		double now = isfinite(d->last_t) ? d->last_t : 0;
		pthread_mutex_lock(&d->mu);
		if (d->opt.background_checkpoints && r.moved_aside == 0) {
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
	if (rec)
		*rec = r;
	*out = d;
	return 0;
}

void store_dur_close(struct store_dur *d)
{
	if (!d)
		return;
	if (global_dur == d)
		global_dur = NULL;
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

int store_dur_tick(struct store_dur *d, const struct store_tick *t, struct mon_apply_stats *stats)
{
	pthread_mutex_lock(&d->mu);
	if (d->ck_snap) { /* a background checkpoint still reads the registry */
		double w0 = store_dur_wall();
		while (d->ck_snap) {
			store_dur_ckpt_help(d); /* take entries rather than only wait */
			if (d->ck_snap)
				pthread_cond_wait(&d->ck_cv, &d->mu);
		}
		d->st.checkpoint_wait_seconds += store_dur_wall() - w0;
	}
	if (d->jopen) {
		double c0 = cpu_seconds();
		uint64_t b0 = d->st.journal_bytes;
		buf_reset(&d->enc);
		store_tickenc_encode(d->tenc, t, &d->enc);
		if (pack(d, &d->enc, &d->z) == 0)
			append(d, REC_TICK2, d->z.p, d->z.len, t->now, false);
		else
			journal_failed(d, "compression", -ENOMEM);
		d->st.tick_records++;
		d->st.tick_bytes += d->st.journal_bytes - b0;
		d->st.tick_cpu_seconds += cpu_seconds() - c0;
	}
	int fails = apply_tick(d, t, stats);
	if (d->npend && !(t->now - d->last_retry_t < RETRY_SECONDS)) {
		d->last_retry_t = t->now;
		store_dur_retry_pending(d);
	}
	if (d->journaling) {
		bool due =
		    !(t->now - d->last_ckpt_t <
		      (d->opt.checkpoint_interval > 0 ? d->opt.checkpoint_interval : INFINITY));
		if (isnan(d->last_ckpt_t)) {
			d->last_ckpt_t = t->now;
			due = false;
		}
		bool big = d->jopen && d->jnl.size > d->opt.journal_max_bytes;
		bool broken = !d->jopen && !(t->now - d->last_ckpt_t < RETRY_SECONDS);
		if (broken || ((due || big) && !(d->opt.background_checkpoints && d->jopen))) {
			if (store_dur_ckpt_sync(d, t->now) == 0 && due &&
			    store_dur_has(d->archive_dir) && d->iaq >= d->naq)
				store_dur_queue_archives(d);
		} else if (due || big) {
			store_dur_ckpt_start(d, t->now, due); /* archives queued when done */
		}
	}
	store_dur_archive_some(d);
	pthread_mutex_unlock(&d->mu);
	return fails;
}

int store_dur_load(struct store_dur *d, enum mon_owner_kind kind, const char *uuid)
{
	const char *key = kind == MON_HOST ? d->host_uuid : uuid;
	pthread_mutex_lock(&d->mu);
	struct rrdb *r = pending_take(d, kind, uuid);
	if (r) { /* its archive was never written: the newest state is here */
		struct buf b = BUF_INIT;
		bio_u8(&b, (uint8_t)kind);
		bio_str(&b, uuid);
		store_rrdb_encode(r, &b);
		append(d, REC_PUTIMG, b.p, b.len, d->last_t, false);
		buf_free(&b);
		mon_put(d->reg, kind, uuid, r);
		d->st.loaded++;
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	if (!store_dur_has(d->archive_dir)) {
		pthread_mutex_unlock(&d->mu);
		return -ENOENT;
	}
	char path[2200];
	int rc = store_archive_path(d->archive_dir, key, path, sizeof(path));
	if (rc) {
		pthread_mutex_unlock(&d->mu);
		return rc;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		pthread_mutex_unlock(&d->mu);
		if (rc != -ENOENT)
			log_warn("%s %s: archive %s not loaded: %s", mon_owner_kind_name(kind), key,
			         path, strerror(-rc));
		return rc;
	}
	struct buf b = BUF_INIT;
	bio_u8(&b, (uint8_t)kind);
	size_t off = b.len;
	bio_str(&b, uuid);
	(void)off;
	size_t len_off = b.len;
	bio_u32(&b, 0);
	size_t start = b.len;
	for (;;) {
		char *p = buf_reserve(&b, 1 << 16);
		ssize_t n = read(fd, p, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		buf_commit(&b, (size_t)n);
		if (b.len - start > XMLP_DEFAULT_MAX_BYTES) {
			rc = -E2BIG;
			break;
		}
	}
	close(fd);
	struct rrdb *x = NULL;
	char err[512] = "";
	if (!rc)
		rc = parse_archive((const unsigned char *)b.p + start, b.len - start, &x, err,
		                   sizeof(err));
	if (rc) {
		pthread_mutex_unlock(&d->mu);
		buf_free(&b);
		char aside[2400];
		if (rc == -EINVAL || rc == -E2BIG) {
			int mv = store_move_aside(path, aside, sizeof(aside));
			log_warn("%s %s: archive %s is damaged or not an RRD (%s); %s%s; starting "
			         "afresh",
			         mon_owner_kind_name(kind), key, path, err[0] ? err : strerror(-rc),
			         mv ? "could not move it aside: " : "moved aside to ",
			         mv ? strerror(-mv) : aside);
		} else {
			log_warn("%s %s: archive %s not loaded: %s", mon_owner_kind_name(kind), key,
			         path, strerror(-rc));
		}
		return rc;
	}
	bio_put_u32_at(&b, len_off, (uint32_t)(b.len - start));
	append(d, REC_LOAD, b.p, b.len, d->last_t, false);
	buf_free(&b);
	if (mon_put(d->reg, kind, uuid, x)) {
		rrdb_free(x);
		pthread_mutex_unlock(&d->mu);
		return -EINVAL;
	}
	d->st.loaded++;
	pthread_mutex_unlock(&d->mu);
	return 0;
}

int store_dur_note(struct store_dur *d, enum mon_owner_kind kind, const char *uuid)
{
	pthread_mutex_lock(&d->mu);
	if (d->jopen) {
		struct buf b = BUF_INIT;
		if (mon_entry_save(d->reg, kind, uuid, &b) == 0) {
			append(d, REC_SET, b.p, b.len, d->last_t, true);
		} else {
			buf_reset(&b);
			bio_u8(&b, (uint8_t)kind);
			bio_str(&b, kind == MON_HOST ? "" : uuid);
			append(d, REC_DEL, b.p, b.len, d->last_t, true);
		}
		buf_free(&b);
	}
	int rc = d->jopen || !d->journaling ? 0 : -EIO;
	pthread_mutex_unlock(&d->mu);
	return rc;
}

void store_dur_set_global(struct store_dur *d)
{
	global_dur = d;
}

struct store_dur *store_dur_archive_lock(void)
{
	struct store_dur *d = global_dur;
	if (d)
		pthread_mutex_lock(&d->amu);
	return d;
}

void store_dur_archive_unlock(struct store_dur *d)
{
	if (d)
		pthread_mutex_unlock(&d->amu);
}

int store_dur_note_changed(enum mon_owner_kind kind, const char *uuid)
{
	struct store_dur *d = global_dur;
	return d ? store_dur_note(d, kind, uuid) : 0;
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
