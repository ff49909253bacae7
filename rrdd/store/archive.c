/*
 * Archive files (archive.h): gzip of the internal XML, written through a
 * temporary file in the same directory and renamed over the old archive,
 * with fsync of the file and of the directory so a crash leaves either the
 * old or the new archive, never a torn one.  Every file operation goes
 * through store_fops (fileops.h) so tests can inject faults.  Loading goes through the
 * streaming parser (xml_parse.h).  No locks, no logging.
 */
#include "store/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "export/rrd_xml.h"
#include "store/fileops.h"
#include "store/xml_parse.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

bool store_archive_key_ok(const char *s)
{
	size_t n = 0;
	if (!s || !*s || *s == '.')
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= 64)
			return false;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

int store_archive_path(const char *dir, const char *key, char *buf, size_t len)
{
	if (!store_archive_key_ok(key))
		return -EINVAL;
	int n = snprintf(buf, len, "%s/%s.gz", dir, key);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* gzip of r's internal XML into out, the XML made and deflated piece by
 * piece (a big RRD's text is never held whole). */
struct gz_ctx {
	z_stream z;
	struct buf *out;
	int rc;
};

static void gz_deflate(struct gz_ctx *g, int flush)
{
	do {
		size_t room = 1 << 16;
		g->z.next_out = (Bytef *)buf_reserve(g->out, room);
		g->z.avail_out = (uInt)room;
		int rc = deflate(&g->z, flush);
		buf_commit(g->out, room - g->z.avail_out);
		if (rc == Z_STREAM_ERROR || (flush == Z_FINISH && rc == Z_BUF_ERROR))
			g->rc = -EIO;
		if (flush == Z_FINISH && rc == Z_STREAM_END)
			return;
		if (g->rc)
			return;
	} while (g->z.avail_out == 0 || flush == Z_FINISH);
}

static void gz_emit(void *ctx, const char *p, size_t n)
{
	struct gz_ctx *g = ctx;
	g->z.next_in = (Bytef *)(uintptr_t)p;
	g->z.avail_in = (uInt)n; /* pieces are far below 4 GiB */
	gz_deflate(g, Z_NO_FLUSH);
}

static int gzip_rrd_xml(const struct rrdb *r, struct buf *out)
{
	struct gz_ctx g;
	memset(&g, 0, sizeof(g));
	g.out = out;
	if (deflateInit2(&g.z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	exp_rrd_xml_pieces(r, 1, 1 << 16, gz_emit, &g);
	g.z.avail_in = 0;
	if (!g.rc)
		gz_deflate(&g, Z_FINISH);
	deflateEnd(&g.z);
	return g.rc;
}

int store_archive_write(const char *dir, const char *key, const struct rrdb *r, char *err,
                        size_t errlen)
{
	char path[4096];
	int rc = store_archive_path(dir, key, path, sizeof(path));
	if (rc) {
		snprintf(err, errlen, "%s/%s: bad archive name", dir, key ? key : "");
		return rc;
	}
	struct buf gz = BUF_INIT;
	rc = gzip_rrd_xml(r, &gz);
	if (rc) {
		snprintf(err, errlen, "%s: gzip failed", path);
		buf_free(&gz);
		return rc;
	}
	const char *what;
	rc = store_write_file_atomic(dir, path, gz.p, gz.len, 0644, &what);
	buf_free(&gz);
	if (rc) {
		if (strcmp(what, "directory fsync") == 0)
			snprintf(err, errlen, "%s: fsync of the directory failed: %s", dir,
			         strerror(-rc));
		else
			snprintf(err, errlen, "%s: %s failed: %s; previous archive kept", path,
			         what, strerror(-rc));
		return rc;
	}
	/* xcp-rrdd removes a stray uncompressed archive of the same key */
	char plain[4096 + 8];
	snprintf(plain, sizeof(plain), "%s/%s", dir, key);
	if (access(plain, F_OK) == 0)
		store_fops->unlink(plain);
	if (errlen)
		err[0] = 0;
	return 0;
}

int store_archive_load(const char *dir, const char *key, struct rrdb **out, char *err,
                       size_t errlen)
{
	char path[4096];
	*out = NULL;
	if (errlen)
		err[0] = 0;
	int rc = store_archive_path(dir, key, path, sizeof(path));
	if (rc) {
		snprintf(err, errlen, "%s/%s: bad archive name", dir, key ? key : "");
		return rc;
	}
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return -ENOENT;
	rc = store_load_xml_file(path, out, err, errlen);
	if (rc == -ENOENT && errlen)
		err[0] = 0;
	return rc;
}

int store_parse_rrd_bytes(const void *data, size_t n, struct rrdb **out, char *err, size_t errlen)
{
	const unsigned char *p = data;
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

int store_read_rrd_file(const char *path, struct rrdb **out, struct buf *bytes, char *err,
                        size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = 0;
	buf_reset(bytes);
	int rc = fs_read_file(path, XMLP_DEFAULT_MAX_BYTES, bytes);
	if (rc) {
		snprintf(err, errlen, "%s",
		         rc == -E2BIG    ? "larger than an archive can be"
		         : rc == -EINVAL ? "not a regular file"
		                         : strerror(-rc));
		buf_reset(bytes);
		return rc;
	}
	rc = store_parse_rrd_bytes(bytes->p, bytes->len, out, err, errlen);
	if (rc)
		buf_reset(bytes);
	return rc;
}

int store_load_xml_file(const char *path, struct rrdb **out, char *err, size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = 0;
	gzFile gz = gzopen(path, "rb");
	if (!gz) {
		int e = errno ? errno : ENOMEM;
		if (errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	gzbuffer(gz, 64u << 10);
	struct xmlp *p = xmlp_new(NULL);
	char *chunk = xmalloc(64u << 10);
	int rc = 0;
	for (;;) {
		int n = gzread(gz, chunk, 64u << 10);
		if (n < 0) {
			int zerr;
			const char *m = gzerror(gz, &zerr);
			rc = zerr == Z_ERRNO ? -errno : -EINVAL;
			if (rc == 0)
				rc = -EIO;
			if (errlen)
				snprintf(err, errlen, "%s", m); /* zlib prefixes the path */
			break;
		}
		if (n == 0) {
			int zerr;
			const char *m = gzerror(gz, &zerr);
			if (zerr != Z_OK && zerr != Z_STREAM_END) { /* e.g. truncated gzip */
				rc = -EINVAL;
				if (errlen)
					snprintf(err, errlen, "%s", m); /* zlib prefixes the path */
			}
			break;
		}
		rc = xmlp_feed(p, chunk, (size_t)n);
		if (rc < 0)
			break;
	}
	if (rc == 0)
		rc = xmlp_finish(p, out);
	if (rc < 0 && errlen && !err[0])
		snprintf(err, errlen, "%s: %s", path, xmlp_error(p));
	free(chunk);
	xmlp_free(p);
	gzclose(gz);
	return rc;
}
