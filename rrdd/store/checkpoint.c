/*
 * Checkpoint files (checkpoint.h): framing, streaming compression and
 * checks.  The payload is produced and consumed by durable.c, one RRD
 * image at a time: the writer never holds more than its 64 KiB output
 * window, the reader holds the stored (compressed) file, whose CRC is
 * checked before anything is inflated, and a window of the inflated
 * payload as large as the biggest piece pulled.
 */
#include "store/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "store/binio.h"
#include "store/fileops.h"
#include "util/xalloc.h"

#define CKPT_MAGIC    "RRDDCKP1"
#define CKPT_VERSION  1u
#define CKPT_HDR      68u
#define CKPT_DEFLATED 1u
#define CKPT_MINMAX   2u /* use_min_max recorded... */
#define CKPT_MINMAX_1 4u /* ...and on */
#define CKPT_MAX_RAW  (16ull << 30)
#define CKPT_WINDOW   (64u << 10)
#define CKPT_MAX_PULL (1u << 30)

uint64_t store_ckpt_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (uint32_t)h ^ (uint32_t)(h >> 32);
}

int store_ckpt_path(const char *dir, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/checkpoint", dir);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int store_ckpt_prev_path(const char *dir, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/checkpoint.prev", dir);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ---- writer ---- */

/* The stored payload is one zlib stream: a 2-byte header, raw deflate
 * data, the Adler-32 of the payload.  The raw data is the writer's own
 * stream (store_ckpt_add) and pieces compressed apart (store_ckpt_compress,
 * any thread), each a run of blocks ending on a byte boundary with an
 * empty stored block (a sync flush) and no reference before its start, so
 * they splice in order into one valid stream; the Adler-32s combine. */
#define ZLIB_HDR0 0x78 /* deflate, 32 KiB window */
#define ZLIB_HDR1 0x01 /* fastest level, no dictionary; 0x7801 % 31 == 0 */

struct store_ckpt_writer {
	char dir[1024], path[1100], tmp[1200];
	int fd;
	z_stream z;      /* raw deflate */
	bool zdirty;     /* z has input not yet flushed */
	uint64_t raw;    /* payload bytes given */
	uint64_t stored; /* deflated bytes written */
	uint32_t crc;    /* of the deflated bytes */
	uint32_t adler;  /* of the payload */
	int rc;          /* first failure */
	const char *what;
	unsigned char out[CKPT_WINDOW];
};

static void w_fail(struct store_ckpt_writer *w, int rc, const char *what)
{
	if (!w->rc) {
		w->rc = rc;
		w->what = what;
	}
}

/* Write stored bytes (accounted in the CRC and the stored length). */
static void w_put(struct store_ckpt_writer *w, const void *p, size_t n)
{
	if (!n || w->rc)
		return;
	int rc = store_write_all(w->fd, p, n);
	if (rc)
		w_fail(w, rc, "write");
	w->crc = (uint32_t)crc32_z(w->crc, p, n);
	w->stored += n;
}

/* Write what the window holds and empty it. */
static void w_drain(struct store_ckpt_writer *w)
{
	w_put(w, w->out, CKPT_WINDOW - w->z.avail_out);
	w->z.next_out = w->out;
	w->z.avail_out = CKPT_WINDOW;
}

int store_ckpt_begin(const char *dir, struct store_ckpt_writer **out, char *err, size_t errlen)
{
	*out = NULL;
	struct store_ckpt_writer *w = xcalloc(1, sizeof(*w));
	w->fd = -1;
	if (snprintf(w->dir, sizeof(w->dir), "%s", dir) >= (int)sizeof(w->dir) ||
	    store_ckpt_path(dir, w->path, sizeof(w->path)) ||
	    snprintf(w->tmp, sizeof(w->tmp), "%s.tmp-%ld", w->path, (long)getpid()) >=
	        (int)sizeof(w->tmp)) {
		snprintf(err, errlen, "%s: path too long", dir);
		free(w);
		return -ENAMETOOLONG;
	}
	w->fd = store_fops->open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		int rc = -errno;
		snprintf(err, errlen, "%s: create failed: %s", w->tmp, strerror(-rc));
		free(w);
		return rc;
	}
	unsigned char zero[CKPT_HDR] = {0}; /* the header, rewritten at the end */
	int rc = store_write_all(w->fd, zero, CKPT_HDR);
	if (!rc && deflateInit2(&w->z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		rc = -ENOMEM;
	if (rc) {
		snprintf(err, errlen, "%s: write failed: %s", w->tmp, strerror(-rc));
		store_fops->close(w->fd);
		store_fops->unlink(w->tmp);
		free(w);
		return rc;
	}
	w->z.next_out = w->out;
	w->z.avail_out = CKPT_WINDOW;
	w->adler = 1;
	static const unsigned char zh[2] = {ZLIB_HDR0, ZLIB_HDR1};
	w_put(w, zh, 2);
	*out = w;
	return 0;
}

int store_ckpt_add(struct store_ckpt_writer *w, const void *p, size_t n)
{
	if (w->rc || n == 0) /* (adler32 of a NULL buffer is its initial value) */
		return w->rc;
	w->raw += n;
	w->adler = (uint32_t)adler32_z(w->adler, p, n);
	w->z.next_in = (Bytef *)(uintptr_t)p;
	while (n && !w->rc) {
		uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
		w->z.avail_in = chunk;
		w->zdirty = true;
		while (w->z.avail_in && !w->rc) {
			if (deflate(&w->z, Z_NO_FLUSH) == Z_STREAM_ERROR)
				w_fail(w, -ENOMEM, "compression");
			if (w->z.avail_out == 0)
				w_drain(w);
		}
		n -= chunk;
	}
	return w->rc;
}

/* Bring the own stream to a byte boundary with nothing pending, and start
 * it afresh (what follows must not refer back across a piece). */
static void w_sync(struct store_ckpt_writer *w)
{
	if (!w->zdirty || w->rc)
		return;
	w->z.next_in = NULL;
	w->z.avail_in = 0;
	for (;;) {
		int zr = deflate(&w->z, Z_SYNC_FLUSH);
		if (zr == Z_STREAM_ERROR) {
			w_fail(w, -ENOMEM, "compression");
			return;
		}
		bool full = w->z.avail_out == 0;
		w_drain(w);
		if (!full)
			break;
	}
	deflateReset(&w->z);
	w->zdirty = false;
}

struct store_ckpt_zpiece {
	z_stream z; /* zlib-wrapped: deflate keeps the Adler-32; the header is dropped */
};

struct store_ckpt_zpiece *store_ckpt_zpiece_new(void)
{
	struct store_ckpt_zpiece *c = xcalloc(1, sizeof(*c));
	if (deflateInit(&c->z, 1) != Z_OK)
		abort(); /* out of memory, as xmalloc */
	return c;
}

void store_ckpt_zpiece_free(struct store_ckpt_zpiece *c)
{
	if (!c)
		return;
	deflateEnd(&c->z);
	free(c);
}

int store_ckpt_compress(struct store_ckpt_zpiece *c, const void *p, size_t n,
                        struct store_ckpt_piece *out)
{
	buf_reset(&out->z);
	out->raw = n;
	deflateReset(&c->z);
	c->z.next_in = (Bytef *)(uintptr_t)p;
	size_t left = n;
	int zr = Z_OK;
	do {
		uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
		c->z.avail_in = chunk;
		left -= chunk;
		int flush = left ? Z_NO_FLUSH : Z_SYNC_FLUSH;
		do {
			size_t room = (size_t)deflateBound(&c->z, c->z.avail_in) + 16;
			if (room > (1u << 30))
				room = 1u << 30;
			c->z.next_out = (Bytef *)buf_reserve(&out->z, room);
			c->z.avail_out = (uInt)room;
			zr = deflate(&c->z, flush);
			buf_commit(&out->z, room - c->z.avail_out);
		} while (zr == Z_OK && (c->z.avail_in || c->z.avail_out == 0));
	} while (left && zr == Z_OK);
	if (zr != Z_OK && zr != Z_BUF_ERROR)
		return -ENOMEM;
	out->adler = (uint32_t)c->z.adler;
	/* drop the 2-byte zlib header deflateReset made it write */
	if (out->z.len < 2)
		return -ENOMEM;
	memmove(out->z.p, out->z.p + 2, out->z.len - 2);
	out->z.len -= 2;
	return 0;
}

int store_ckpt_add_piece(struct store_ckpt_writer *w, const struct store_ckpt_piece *pc)
{
	if (w->rc)
		return w->rc;
	w_sync(w);
	/* through the window, like the own stream's output: one write per 64 KiB */
	const unsigned char *q = (const unsigned char *)pc->z.p;
	size_t n = pc->z.len;
	while (n && !w->rc) {
		size_t k = n < w->z.avail_out ? n : w->z.avail_out;
		memcpy(w->z.next_out, q, k);
		w->z.next_out += k;
		w->z.avail_out -= (uInt)k;
		q += k;
		n -= k;
		if (w->z.avail_out == 0)
			w_drain(w);
	}
	w->adler = (uint32_t)adler32_combine(w->adler, pc->adler, (z_off_t)pc->raw);
	w->raw += pc->raw;
	return w->rc;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

void store_ckpt_abort(struct store_ckpt_writer *w)
{
	if (!w)
		return;
	deflateEnd(&w->z);
	if (w->fd >= 0)
		store_fops->close(w->fd);
	store_fops->unlink(w->tmp);
	free(w);
}

int store_ckpt_finish(struct store_ckpt_writer *w, const struct store_ckpt_info *ci,
                      uint64_t *bytes, char *err, size_t errlen)
{
	int zr = Z_OK;
	w->z.next_in = NULL;
	w->z.avail_in = 0;
	while (!w->rc && (zr = deflate(&w->z, Z_FINISH)) != Z_STREAM_END) {
		if (zr == Z_STREAM_ERROR)
			w_fail(w, -ENOMEM, "compression");
		w_drain(w);
	}
	if (!w->rc)
		w_drain(w);
	unsigned char ad[4] = {(unsigned char)(w->adler >> 24), (unsigned char)(w->adler >> 16),
	                       (unsigned char)(w->adler >> 8), (unsigned char)w->adler};
	w_put(w, ad, 4); /* zlib's trailer: big-endian */
	if (!w->rc && (w->stored > UINT32_MAX || w->raw > CKPT_MAX_RAW))
		w_fail(w, -E2BIG, "size check");
	unsigned char t[4];
	put_u32(t, w->crc);
	if (!w->rc) {
		int rc = store_write_all(w->fd, t, 4);
		if (rc)
			w_fail(w, rc, "write");
	}
	if (!w->rc) {
		struct buf h = BUF_INIT;
		buf_add(&h, CKPT_MAGIC, 8);
		bio_u32(&h, CKPT_VERSION);
		bio_u32(&h, CKPT_DEFLATED | (ci->min_max ? CKPT_MINMAX : 0) |
		                (ci->min_max == 2 ? CKPT_MINMAX_1 : 0));
		bio_u64(&h, ci->next_segno);
		bio_u64(&h, ci->last_seq);
		bio_f64(&h, ci->last_t);
		bio_u32(&h, ci->nentries);
		bio_u32(&h, ci->npending);
		bio_u32(&h, (uint32_t)(w->raw >> 32));
		bio_u32(&h, (uint32_t)w->raw);
		bio_u32(&h, (uint32_t)w->stored);
		bio_u32(&h, (uint32_t)ci->host_hash);
		bio_u32(&h, (uint32_t)crc32_z(0, (const Bytef *)h.p, h.len));
		if (lseek(w->fd, 0, SEEK_SET) != 0)
			w_fail(w, -errno, "seek");
		else {
			int rc = store_write_all(w->fd, h.p, CKPT_HDR);
			if (rc)
				w_fail(w, rc, "write");
		}
		buf_free(&h);
	}
	if (!w->rc && store_fops->fsync(w->fd) < 0)
		w_fail(w, -errno, "fsync");
	int fd = w->fd;
	w->fd = -1;
	if (store_fops->close(fd) < 0)
		w_fail(w, -errno, "close");
	/* keep the current one as the previous (a recovery falls back to it
	 * when the new one is damaged); a crash between the renames leaves
	 * only the previous one, which the kept segments continue */
	char prev[1200];
	if (!w->rc && snprintf(prev, sizeof(prev), "%s.prev", w->path) < (int)sizeof(prev) &&
	    store_fops->rename(w->path, prev) < 0 && errno != ENOENT)
		w_fail(w, -errno, "rename of the previous checkpoint");
	if (!w->rc && store_fops->rename(w->tmp, w->path) < 0)
		w_fail(w, -errno, "rename");
	int rc = w->rc;
	if (rc) {
		snprintf(err, errlen, "%s: %s failed: %s", w->path, w->what, strerror(-rc));
		store_ckpt_abort(w);
		return rc;
	}
	rc = store_fsync_dir(w->dir);
	if (rc)
		snprintf(err, errlen, "%s: directory fsync failed: %s", w->path, strerror(-rc));
	else if (bytes)
		*bytes = CKPT_HDR + w->stored + 4;
	deflateEnd(&w->z);
	free(w);
	return rc;
}

int store_ckpt_write(const char *dir, const struct store_ckpt_info *ci, const void *payload,
                     size_t n, uint64_t *bytes, char *err, size_t errlen)
{
	struct store_ckpt_writer *w;
	int rc = store_ckpt_begin(dir, &w, err, errlen);
	if (rc)
		return rc;
	store_ckpt_add(w, payload, n);
	return store_ckpt_finish(w, ci, bytes, err, errlen);
}

/* ---- reader ---- */

struct store_ckpt_reader {
	unsigned char *file; /* the whole stored file */
	size_t flen;
	bool deflated, failed, ended;
	z_stream z;
	uint64_t raw, pulled; /* payload bytes: total, handed out */
	struct buf win;       /* inflated, not yet handed out from pos on */
	size_t pos;
};

static int open_file(const char *dir, bool prev, struct store_ckpt_info *ci,
                     struct store_ckpt_reader **out, char *err, size_t errlen);

int store_ckpt_open(const char *dir, struct store_ckpt_info *ci, struct store_ckpt_reader **out,
                    char *err, size_t errlen)
{
	return open_file(dir, false, ci, out, err, errlen);
}

int store_ckpt_open_prev(const char *dir, struct store_ckpt_info *ci,
                         struct store_ckpt_reader **out, char *err, size_t errlen)
{
	return open_file(dir, true, ci, out, err, errlen);
}

static int open_file(const char *dir, bool prev, struct store_ckpt_info *ci,
                     struct store_ckpt_reader **out, char *err, size_t errlen)
{
	char path[1100];
	*out = NULL;
	memset(ci, 0, sizeof(*ci));
	if ((prev ? store_ckpt_prev_path : store_ckpt_path)(dir, path, sizeof(path)))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = -errno;
		if (e != -ENOENT)
			snprintf(err, errlen, "%s: %s", path, strerror(-e));
		return e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < CKPT_HDR + 4 ||
	    (uint64_t)st.st_size > (uint64_t)UINT32_MAX + CKPT_HDR + 4) {
		close(fd);
		snprintf(err, errlen, "%s: too short or too long to be a checkpoint", path);
		return -EINVAL;
	}
	size_t len = (size_t)st.st_size;
	unsigned char *p = xmalloc(len);
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, p + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	struct bio_rd h = bio_reader(p, got);
	const unsigned char *magic = bio_take(&h, 8);
	uint32_t ver = bio_get_u32(&h), flags = bio_get_u32(&h);
	ci->next_segno = bio_get_u64(&h);
	ci->last_seq = bio_get_u64(&h);
	ci->last_t = bio_get_f64(&h);
	ci->nentries = bio_get_u32(&h);
	ci->npending = bio_get_u32(&h);
	uint64_t raw = (uint64_t)bio_get_u32(&h) << 32;
	raw |= bio_get_u32(&h);
	uint32_t zn = bio_get_u32(&h);
	uint32_t hh = bio_get_u32(&h);
	uint32_t hc = bio_get_u32(&h);
	if (got != len || h.bad || memcmp(magic, CKPT_MAGIC, 8) ||
	    hc != (uint32_t)crc32_z(0, p, CKPT_HDR - 4)) {
		snprintf(err, errlen, "%s: not a checkpoint, or a damaged header", path);
		goto bad;
	}
	ci->host_hash = hh;
	ci->min_max = flags & CKPT_MINMAX ? (flags & CKPT_MINMAX_1 ? 2 : 1) : 0;
	if (ver != CKPT_VERSION || (flags & ~(CKPT_DEFLATED | CKPT_MINMAX | CKPT_MINMAX_1)) ||
	    ((flags & CKPT_MINMAX_1) && !(flags & CKPT_MINMAX)) || raw > CKPT_MAX_RAW ||
	    raw > (uint64_t)zn * 1032 + 64 || (uint64_t)zn + CKPT_HDR + 4 != len ||
	    (!(flags & CKPT_DEFLATED) && raw != zn)) {
		snprintf(err, errlen, "%s: unsupported version or inconsistent sizes", path);
		goto bad;
	}
	struct bio_rd t = bio_reader(p + len - 4, 4);
	if (bio_get_u32(&t) != (uint32_t)crc32_z(0, p + CKPT_HDR, zn)) {
		snprintf(err, errlen, "%s: payload checksum mismatch", path);
		goto bad;
	}
	struct store_ckpt_reader *r = xcalloc(1, sizeof(*r));
	r->file = p;
	r->flen = len;
	r->raw = raw;
	r->deflated = flags & CKPT_DEFLATED;
	if (r->deflated) {
		if (inflateInit(&r->z) != Z_OK) {
			free(r);
			snprintf(err, errlen, "%s: out of memory", path);
			free(p);
			return -ENOMEM;
		}
		r->z.next_in = p + CKPT_HDR;
		r->z.avail_in = zn;
	}
	*out = r;
	return 0;
bad:
	free(p);
	return -EINVAL;
}

uint64_t store_ckpt_left(const struct store_ckpt_reader *r)
{
	return r->raw - r->pulled;
}

const void *store_ckpt_pull(struct store_ckpt_reader *r, size_t n)
{
	if (r->failed || n > CKPT_MAX_PULL || n > r->raw - r->pulled) {
		r->failed = true;
		return NULL;
	}
	if (!r->deflated) {
		const void *q = r->file + CKPT_HDR + r->pulled;
		r->pulled += n;
		return q;
	}
	size_t have = r->win.len - r->pos;
	if (have < n) {
		/* keep what is left of the window at its start, then inflate more */
		if (r->pos) {
			memmove(r->win.p, r->win.p + r->pos, have);
			r->win.len = have;
			r->pos = 0;
		}
		while (r->win.len < n) {
			if (r->ended) {
				r->failed = true;
				return NULL;
			}
			size_t want = n - r->win.len;
			size_t room = want > CKPT_WINDOW ? want : CKPT_WINDOW;
			if (room > r->raw - r->pulled - r->win.len)
				room = (size_t)(r->raw - r->pulled - r->win.len);
			if (room < want)
				room = want;
			char *dst = buf_reserve(&r->win, room);
			r->z.next_out = (Bytef *)dst;
			r->z.avail_out = (uInt)room;
			int zr = inflate(&r->z, Z_NO_FLUSH);
			size_t got = room - r->z.avail_out;
			buf_commit(&r->win, got);
			if (zr == Z_STREAM_END)
				r->ended = true;
			else if (zr != Z_OK || got == 0) {
				r->failed = true;
				return NULL;
			}
		}
	}
	static const char empty[1];
	const void *q = r->win.p ? (const void *)(r->win.p + r->pos) : empty;
	r->pos += n;
	r->pulled += n;
	return q;
}

int store_ckpt_close(struct store_ckpt_reader *r)
{
	if (!r)
		return 0;
	int rc = 0;
	if (r->failed || r->pulled != r->raw)
		rc = -EINVAL;
	else if (r->deflated) {
		/* the stream must end exactly with the payload */
		if (!r->ended) {
			unsigned char x;
			r->z.next_out = &x;
			r->z.avail_out = 1;
			int zr = inflate(&r->z, Z_NO_FLUSH);
			if (zr != Z_STREAM_END || r->z.avail_out != 1)
				rc = -EINVAL;
		}
		if (r->win.len != r->pos)
			rc = -EINVAL;
	}
	if (r->deflated)
		inflateEnd(&r->z);
	buf_free(&r->win);
	free(r->file);
	free(r);
	return rc;
}

int store_ckpt_read(const char *dir, struct store_ckpt_info *ci, struct buf *out, char *err,
                    size_t errlen)
{
	struct store_ckpt_reader *r;
	int rc = store_ckpt_open(dir, ci, &r, err, errlen);
	if (rc)
		return rc;
	while (store_ckpt_left(r)) {
		uint64_t left = store_ckpt_left(r);
		size_t n = left > CKPT_MAX_PULL ? CKPT_MAX_PULL : (size_t)left;
		const void *p = store_ckpt_pull(r, n);
		if (!p)
			break;
		buf_add(out, p, n);
	}
	rc = store_ckpt_close(r);
	if (rc) {
		char path[1100];
		store_ckpt_path(dir, path, sizeof(path));
		snprintf(err, errlen, "%s: payload does not decompress", path);
	}
	return rc;
}
