/*
 * Journal segments (journal.h): creation, appends with the fsync interval,
 * and the checking replay.  A segment is read whole into memory (segments
 * are bounded by the checkpoint size trigger).
 */
#include "store/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "store/binio.h"
#include "store/fileops.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

#define JNL_MAGIC   "RRDDJNL1"
#define JNL_VERSION 1u

static uint32_t crc(const void *p, size_t n, uint32_t init)
{
	return (uint32_t)crc32_z(init, p, n);
}

int store_jnl_seg_path(const char *dir, uint64_t segno, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/seg-%016" PRIx64 ".log", dir, segno);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int store_jnl_create(struct store_jnl *j, const char *dir, uint64_t segno, uint64_t first_seq,
                     char *err, size_t errlen)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	if (strlen(dir) >= sizeof(j->dir) ||
	    store_jnl_seg_path(dir, segno, j->path, sizeof(j->path))) {
		snprintf(err, errlen, "%s: journal path too long", dir);
		return -ENAMETOOLONG;
	}
	strcpy(j->dir, dir);
	j->segno = segno;
	j->next_seq = first_seq;
	struct buf h = BUF_INIT;
	buf_add(&h, JNL_MAGIC, 8);
	bio_u32(&h, JNL_VERSION);
	bio_u64(&h, segno);
	bio_u64(&h, first_seq);
	bio_u32(&h, crc(h.p, h.len, 0));
	const char *what = "create";
	int rc = 0;
	int fd = store_fops->open(j->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		rc = -errno;
	if (!rc && (what = "write", rc = store_write_all(fd, h.p, h.len)) == 0 &&
	    store_fops->fsync(fd) < 0)
		rc = -errno, what = "fsync";
	if (!rc && (rc = store_fsync_dir(dir)) != 0)
		what = "directory fsync";
	buf_free(&h);
	if (rc) {
		if (fd >= 0) {
			store_fops->close(fd);
			store_fops->unlink(j->path);
		}
		snprintf(err, errlen, "%s: %s failed: %s", j->path, what, strerror(-rc));
		return rc;
	}
	j->fd = fd;
	j->size = j->synced = STORE_JNL_HDR;
	if (store_synced_hook)
		store_synced_hook(j->path, (long long)j->synced);
	return 0;
}

int store_jnl_sync(struct store_jnl *j, double now)
{
	if (j->fd < 0)
		return -EBADF;
	if (j->synced == j->size)
		return 0;
	if (store_fops->fsync(j->fd) < 0)
		return -errno;
	j->synced = j->size;
	j->last_sync_t = now;
	if (store_synced_hook)
		store_synced_hook(j->path, (long long)j->synced);
	return 0;
}

int store_jnl_append(struct store_jnl *j, uint32_t type, const void *payload, size_t n, double now,
                     double fsync_interval, bool sync)
{
	if (j->fd < 0)
		return -EBADF;
	if (n > STORE_JNL_MAX_RECORD)
		return -E2BIG;
	struct buf r = BUF_INIT;
	bio_u32(&r, (uint32_t)n);
	bio_u32(&r, 0); /* crc, below */
	bio_u64(&r, j->next_seq);
	bio_u32(&r, type);
	buf_add(&r, payload, n);
	uint32_t c = crc(r.p, 4, 0);
	c = crc(r.p + 8, r.len - 8, c);
	bio_put_u32_at(&r, 4, c);
	int rc = store_write_all(j->fd, r.p, r.len);
	if (rc) {
		/* cut back a partial record so the segment ends on a frame */
		if (store_fops->ftruncate(j->fd, (off_t)j->size) == 0)
			lseek(j->fd, (off_t)j->size, SEEK_SET);
		buf_free(&r);
		return rc;
	}
	j->size += r.len;
	j->next_seq++;
	buf_free(&r);
	if (sync || fsync_interval <= 0 || !(now - j->last_sync_t < fsync_interval))
		return store_jnl_sync(j, now);
	return 0;
}

void store_jnl_close(struct store_jnl *j)
{
	if (j->fd >= 0)
		store_fops->close(j->fd);
	j->fd = -1;
}

/* ---- reading ---- */

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Segment numbers present in dir, sorted; *n of them (malloc'ed). */
static uint64_t *list_segments(const char *dir, size_t *n)
{
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	uint64_t *v = NULL;
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		uint64_t s;
		char tail[8];
		if (strlen(e->d_name) != 4 + 16 + 4 || strncmp(e->d_name, "seg-", 4))
			continue;
		if (sscanf(e->d_name, "seg-%16" SCNx64 "%7s", &s, tail) != 2 ||
		    strcmp(tail, ".log"))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, sizeof(*v) * cap);
		}
		v[(*n)++] = s;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), u64_cmp);
	return v;
}

int store_jnl_prune(const char *dir, uint64_t segno)
{
	size_t n;
	uint64_t *v = list_segments(dir, &n);
	int deleted = 0;
	for (size_t i = 0; i < n && v[i] < segno; i++) {
		char p[1100];
		if (store_jnl_seg_path(dir, v[i], p, sizeof(p)) == 0 && store_fops->unlink(p) == 0)
			deleted++;
	}
	free(v);
	if (deleted)
		store_fsync_dir(dir);
	return deleted;
}

static void move_aside(const char *path, const char *why, struct store_jnl_scan *s)
{
	char aside[1200];
	int rc = store_move_aside(path, aside, sizeof(aside));
	if (rc)
		log_err("journal %s: %s; could not move it aside: %s", path, why, strerror(-rc));
	else
		log_warn("journal %s: %s; moved aside to %s", path, why, aside);
	s->moved++;
}

/* Cut a torn tail off the last segment. */
static void truncate_tail(const char *path, size_t good, size_t len, struct store_jnl_scan *s)
{
	int fd = store_fops->open(path, O_WRONLY, 0);
	if (fd >= 0) {
		if (store_fops->ftruncate(fd, (off_t)good) == 0)
			store_fops->fsync(fd);
		store_fops->close(fd);
	}
	s->torn = true;
	log_info("journal %s: torn last record (%zu bytes at offset %zu) cut off", path, len - good,
	         good);
}

/* The offset of the intact record numbered want after the damaged one at
 * off (guess: where its length says it ends, or 0), or 0 if none. */
static size_t find_next(const unsigned char *p, size_t len, size_t off, size_t guess, uint64_t want)
{
	for (size_t o = guess ? guess : off + 1; o + STORE_JNL_REC <= len; o++) {
		struct bio_rd r = bio_reader(p + o, len - o);
		uint32_t n = bio_get_u32(&r);
		uint32_t c = bio_get_u32(&r);
		uint64_t seq = bio_get_u64(&r);
		if (seq == want && n <= STORE_JNL_MAX_RECORD && len - o - STORE_JNL_REC >= n &&
		    c == crc(p + o + 8, STORE_JNL_REC - 8 + n, crc(p + o, 4, 0)))
			return o;
		if (guess && o == guess) {
			o = off; /* the length was wrong: scan from the damaged record */
			guess = 0;
		}
	}
	return 0;
}

static void note_lost(struct store_jnl_scan *s, uint64_t seq)
{
	if (!s->lost)
		s->lost_first = seq;
	s->lost_last = seq;
	s->lost++;
}

int store_jnl_replay(const char *dir, uint64_t from_segno, uint64_t after_seq, store_jnl_fn fn,
                     void *ctx, struct store_jnl_scan *out)
{
	memset(out, 0, sizeof(*out));
	out->last_seq = after_seq;
	out->last_seg = from_segno ? from_segno - 1 : 0;
	size_t nseg;
	uint64_t *seg = list_segments(dir, &nseg);
	bool stop = false;
	uint64_t expect_seg = from_segno;
	for (size_t si = 0; si < nseg; si++) {
		char path[1100];
		if (seg[si] < from_segno)
			continue; /* the previous checkpoint's */
		store_jnl_seg_path(dir, seg[si], path, sizeof(path));
		if (stop) {
			move_aside(path, "follows a damaged or missing part of the journal", out);
			continue;
		}
		if (seg[si] != expect_seg) {
			move_aside(path, "a segment before it is missing", out);
			stop = true;
			continue;
		}
		expect_seg++;
		struct buf seg_bytes = BUF_INIT;
		int rc = fs_read_file(path, SIZE_MAX, &seg_bytes);
		unsigned char *p = (unsigned char *)seg_bytes.p; /* owned: freed below */
		size_t len = seg_bytes.len;
		if (rc) {
			free(p);
			log_err("journal %s: cannot read: %s", path, strerror(-rc));
			move_aside(path, "unreadable", out);
			stop = true;
			continue;
		}
		bool last = si + 1 == nseg;
		struct bio_rd h = bio_reader(p, len);
		const unsigned char *magic = bio_take(&h, 8);
		uint32_t ver = bio_get_u32(&h);
		uint64_t sno = bio_get_u64(&h), first = bio_get_u64(&h);
		uint32_t hc = bio_get_u32(&h);
		if (h.bad && last && len < STORE_JNL_HDR && (len < 8 || !memcmp(p, JNL_MAGIC, 8))) {
			/* a crash while the segment was being created */
			log_info("journal %s: incomplete segment header, removed", path);
			store_fops->unlink(path);
			out->torn = true;
			free(p);
			break;
		}
		if (h.bad || memcmp(magic, JNL_MAGIC, 8) || ver != JNL_VERSION || sno != seg[si] ||
		    hc != crc(p, STORE_JNL_HDR - 4, 0) || first > out->last_seq + 1) {
			move_aside(
			    path, "not a journal segment of this daemon, or a damaged header", out);
			free(p);
			stop = true;
			continue;
		}
		out->last_seg = seg[si];
		size_t off = STORE_JNL_HDR;
		while (off < len) {
			struct bio_rd r = bio_reader(p + off, len - off);
			uint32_t n = bio_get_u32(&r);
			uint32_t c = bio_get_u32(&r);
			uint64_t seq = bio_get_u64(&r);
			uint32_t type = bio_get_u32(&r);
			bool whole = !r.bad && n <= STORE_JNL_MAX_RECORD && bio_left(&r) >= n;
			bool ok = whole &&
			          c == crc(p + off + 8, STORE_JNL_REC - 8 + n, crc(p + off, 4, 0));
			if (!ok) {
				size_t end = whole ? off + STORE_JNL_REC + n : len;
				uint64_t bad = out->last_seq + 1;
				size_t next = end < len || !whole
				                  ? find_next(p, len, off, whole ? end : 0, bad + 1)
				                  : 0;
				if (next || (!last && (end == len || !whole))) {
					/* the next record is intact (here, or the first of
					 * the next segment): skip this one */
					log_warn("journal %s: record %" PRIu64
					         " at offset %zu is damaged (%zu bytes up to %s): "
					         "skipped, the change it held is lost",
					         path, bad, off, (next ? next : len) - off,
					         next ? "the next record" : "the segment's end");
					note_lost(out, bad);
					out->last_seq = bad;
					if (fn(ctx, bad, STORE_JNL_LOST, NULL, 0) < 0) {
						move_aside(path, "damaged", out);
						stop = true;
						break;
					}
					if (!next)
						break;
					off = next;
					continue;
				}
				if (last && end >= len) {
					truncate_tail(path, off, len, out);
				} else {
					log_warn("journal %s: damaged record at offset %zu", path,
					         off);
					move_aside(path, "damaged", out);
				}
				stop = true;
				break;
			}
			if (seq <= out->last_seq) { /* already in the checkpoint */
				off += STORE_JNL_REC + n;
				continue;
			}
			if (seq != out->last_seq + 1) {
				log_warn("journal %s: record %" PRIu64
				         " at offset %zu, expected %" PRIu64,
				         path, seq, off, out->last_seq + 1);
				move_aside(path, "records are missing", out);
				stop = true;
				break;
			}
			int fr = fn(ctx, seq, type, p + off + STORE_JNL_REC, n);
			if (fr > 0) { /* depends on a lost record */
				note_lost(out, seq);
				out->last_seq = seq;
				off += STORE_JNL_REC + n;
				continue;
			}
			if (fr) {
				log_warn("journal %s: record %" PRIu64
				         " (type %u) at offset %zu cannot "
				         "be applied",
				         path, seq, type, off);
				move_aside(path, "holds a record that cannot be applied", out);
				stop = true;
				break;
			}
			out->records++;
			out->last_seq = seq;
			off += STORE_JNL_REC + n;
		}
		out->bytes += len;
		free(p);
	}
	free(seg);
	return 0;
}
