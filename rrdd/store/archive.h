/*
 * RRD archives on disk, as xcp-rrdd keeps them (wire-format.md §9): <dir>/<uuid>.gz,
 * a gzip stream of the internal-form XML (exp_rrd_xml internal = 1).
 * Writing is atomic and durable: a temporary file in the same directory,
 * fsync, rename over the old archive, fsync of the directory; mode 0644.
 * A failure leaves the previous archive untouched.
 *
 * All the write path is store_archive_write(), so a journal or fault
 * injection can wrap that one function.  No locks: callers pass an RRD
 * nobody else mutates (a copy, or one taken out of the registry).  No
 * logging: errors come back as a negative errno plus a one-line message.
 */
#ifndef RRDD_STORE_ARCHIVE_H
#define RRDD_STORE_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

struct rrdb;
struct buf;

/* Whether s is a safe archive key: 1..64 chars of [0-9A-Za-z-_.], not
 * starting with '.' (uuids are; it keeps paths inside the directory). */
bool store_archive_key_ok(const char *s);

/* Write "<dir>/<key>.gz" into buf (len bytes).  0, or -EINVAL (bad key) /
 * -ENAMETOOLONG. */
int store_archive_path(const char *dir, const char *key, char *buf, size_t len);

/* Archive r as <dir>/<key>.gz atomically; also removes a stray
 * uncompressed <dir>/<key> as xcp-rrdd does.  Returns 0, or a negative
 * errno with a one-line message in err naming the path. */
int store_archive_write(const char *dir, const char *key, const struct rrdb *r, char *err,
                        size_t errlen);

/* Load <dir>/<key>.gz.  Returns 0 and *out, -ENOENT when there is no
 * archive (err empty), or another negative errno with a message. */
int store_archive_load(const char *dir, const char *key, struct rrdb **out, char *err,
                       size_t errlen);

/* Load an RRD from a file, plain XML or gzip (detected by zlib), reading
 * it in chunks with default limits.  Returns 0 and *out, or a negative errno
 * with a one-line message in err (errlen bytes, may be 0). */
int store_load_xml_file(const char *path, struct rrdb **out, char *err, size_t errlen);

/* Parse archive bytes (gzip or plain XML) into an RRD.  0, or -errno with
 * a one-line message in err. */
int store_parse_rrd_bytes(const void *p, size_t n, struct rrdb **out, char *err, size_t errlen);

/* Read the file at path (at most XMLP_DEFAULT_MAX_BYTES; gzip or plain
 * XML) into bytes and parse it into *out.  0, or -errno (-ENOENT: no such
 * file, -E2BIG, -EINVAL: not an RRD) with the reason in err (not the path). */
int store_read_rrd_file(const char *path, struct rrdb **out, struct buf *bytes, char *err,
                        size_t errlen);

#endif
