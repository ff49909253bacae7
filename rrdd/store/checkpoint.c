/*
 * Checkpoint files (checkpoint.h): framing, compression and checks.  The
 * payload is assembled by durable.c.
 */
#include "store/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
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
#define CKPT_MAX_RAW  (16ull << 30)

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

int store_ckpt_write(const char *dir, const struct store_ckpt_info *ci, const void *payload,
                     size_t n, uint64_t *bytes, char *err, size_t errlen)
{
	char path[1100];
	if (store_ckpt_path(dir, path, sizeof(path))) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	uLongf zn = compressBound((uLong)n);
	struct buf f = BUF_INIT;
	buf_reserve(&f, CKPT_HDR + zn + 4);
	f.len = CKPT_HDR;
	if (compress2((Bytef *)f.p + CKPT_HDR, &zn, payload, (uLong)n, 1) != Z_OK) {
		buf_free(&f);
		snprintf(err, errlen, "%s: compression failed", path);
		return -ENOMEM;
	}
	buf_commit(&f, zn);
	uint32_t pc = (uint32_t)crc32_z(0, (const Bytef *)f.p + CKPT_HDR, zn);
	bio_u32(&f, pc);
	struct buf h = BUF_INIT;
	buf_add(&h, CKPT_MAGIC, 8);
	bio_u32(&h, CKPT_VERSION);
	bio_u32(&h, CKPT_DEFLATED);
	bio_u64(&h, ci->next_segno);
	bio_u64(&h, ci->last_seq);
	bio_f64(&h, ci->last_t);
	bio_u32(&h, ci->nentries);
	bio_u32(&h, ci->npending);
	bio_u32(&h, (uint32_t)(n >> 32));
	bio_u32(&h, (uint32_t)n);
	bio_u32(&h, (uint32_t)zn);
	bio_u32(&h, (uint32_t)ci->host_hash);
	bio_u32(&h, (uint32_t)crc32_z(0, (const Bytef *)h.p, h.len));
	memcpy(f.p, h.p, CKPT_HDR);
	buf_free(&h);
	const char *what;
	int rc = store_write_file_atomic(dir, path, f.p, f.len, 0600, &what);
	if (rc)
		snprintf(err, errlen, "%s: %s failed: %s", path, what, strerror(-rc));
	else if (bytes)
		*bytes = f.len;
	buf_free(&f);
	return rc;
}

int store_ckpt_read(const char *dir, struct store_ckpt_info *ci, struct buf *out, char *err,
                    size_t errlen)
{
	char path[1100];
	memset(ci, 0, sizeof(*ci));
	if (store_ckpt_path(dir, path, sizeof(path)))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = -errno;
		if (e != -ENOENT)
			snprintf(err, errlen, "%s: %s", path, strerror(-e));
		return e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < CKPT_HDR + 4) {
		close(fd);
		snprintf(err, errlen, "%s: too short to be a checkpoint", path);
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
	int rc = -EINVAL;
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
		goto out;
	}
	ci->host_hash = hh;
	if (ver != CKPT_VERSION || (flags & ~CKPT_DEFLATED) || raw > CKPT_MAX_RAW ||
	    raw > (uint64_t)zn * 1032 + 64 || (uint64_t)zn + CKPT_HDR + 4 != len) {
		snprintf(err, errlen, "%s: unsupported version or inconsistent sizes", path);
		goto out;
	}
	struct bio_rd t = bio_reader(p + len - 4, 4);
	if (bio_get_u32(&t) != (uint32_t)crc32_z(0, p + CKPT_HDR, zn)) {
		snprintf(err, errlen, "%s: payload checksum mismatch", path);
		goto out;
	}
	if (flags & CKPT_DEFLATED) {
		uLongf dn = (uLongf)raw;
		char *dst = buf_reserve(out, raw ? raw : 1);
		if (uncompress((Bytef *)dst, &dn, p + CKPT_HDR, zn) != Z_OK || dn != raw) {
			snprintf(err, errlen, "%s: payload does not decompress", path);
			goto out;
		}
		buf_commit(out, dn);
	} else {
		if (raw != zn) {
			snprintf(err, errlen, "%s: inconsistent sizes", path);
			goto out;
		}
		buf_add(out, p + CKPT_HDR, zn);
	}
	rc = 0;
out:
	free(p);
	return rc;
}
