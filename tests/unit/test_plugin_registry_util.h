/*
 * Helpers for the plugin registry tests: a temporary plugin directory and a
 * hand-rolled V2 / V1 page writer that follows the byte layout of wire-format.md §6.3
 * / 6.2 directly (zlib CRC32, our own JSON text), independent of the
 * plugins-api library and of the parser under test.
 */
#ifndef TEST_PLUGIN_REGISTRY_UTIL_H
#define TEST_PLUGIN_REGISTRY_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/md5.h"

struct tds {
	const char *name;
	const char *owner; /* "host", "vm <uuid>", "sr <uuid>" */
	const char *type;  /* "gauge", "absolute", "derive" */
	int dflt;          /* 1: "default":"true" */
	int is_int;        /* value_type int64 */
	int64_t i;
	double f;
};

static inline void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline void put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* The V2 metadata JSON for ds[0..n). */
static inline size_t t_meta(char *out, size_t cap, const struct tds *ds, size_t n)
{
	size_t o = (size_t)snprintf(out, cap, "{\"datasources\":{");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, cap - o,
		                      "%s\"%s\":{\"description\":\"d %s\",\"owner\":\"%s\","
		                      "\"value_type\":\"%s\",\"type\":\"%s\",\"default\":\"%s\","
		                      "\"units\":\"u\",\"min\":\"-inf\",\"max\":\"inf\"}",
		                      i ? "," : "", ds[i].name, ds[i].name, ds[i].owner,
		                      ds[i].is_int ? "int64" : "float", ds[i].type,
		                      ds[i].dflt ? "true" : "false");
	o += (size_t)snprintf(out + o, cap - o, "}}");
	return o;
}

/* Build a V2 page into a malloc'ed buffer of *len bytes (padded to pad). */
static inline unsigned char *t_page_v2(double ts, const struct tds *ds, size_t n, size_t pad,
                                       size_t *len)
{
	size_t mcap = 256 + n * 256;
	char *meta = malloc(mcap);
	size_t m = t_meta(meta, mcap, ds, n);
	size_t total = 35 + 8 * n + m;
	size_t sz = total > pad ? total : pad;
	unsigned char *b = calloc(1, sz);
	memcpy(b, "DATASOURCES", 11);
	put_be32(b + 19, (uint32_t)n);
	uint64_t tb;
	memcpy(&tb, &ts, 8);
	put_be64(b + 23, tb);
	for (size_t i = 0; i < n; i++) {
		uint64_t v;
		if (ds[i].is_int)
			v = (uint64_t)ds[i].i;
		else
			memcpy(&v, &ds[i].f, 8);
		put_be64(b + 31 + 8 * i, v);
	}
	put_be32(b + 31 + 8 * n, (uint32_t)m);
	memcpy(b + 35 + 8 * n, meta, m);
	put_be32(b + 11, (uint32_t)crc32(0, b + 23, (uInt)(8 + 8 * n)));
	put_be32(b + 15, (uint32_t)crc32(0, (const Bytef *)meta, (uInt)m));
	free(meta);
	*len = sz;
	return b;
}

static inline void t_write_file(const char *path, const void *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		abort();
	}
	if (write(fd, b, len) != (ssize_t)len)
		abort();
	close(fd);
}

/* Write in place (no truncation, no rename), as the OCaml writer does. */
static inline void t_write_in_place(const char *path, const void *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || pwrite(fd, b, len, 0) != (ssize_t)len)
		abort();
	close(fd);
}

static inline void t_write_v2(const char *dir, const char *uid, double ts, const struct tds *ds,
                              size_t n)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, uid);
	size_t len;
	unsigned char *b = t_page_v2(ts, ds, n, 4096, &len);
	t_write_file(path, b, len);
	free(b);
}

/* A V1 page: header, length, MD5, JSON, newline. */
static inline void t_write_v1(const char *dir, const char *uid, double ts, const struct tds *ds,
                              size_t n)
{
	char json[8192];
	size_t o =
	    (size_t)snprintf(json, sizeof(json), "{\"timestamp\":%.3f,\"datasources\":{", ts);
	for (size_t i = 0; i < n; i++) {
		char val[64];
		if (ds[i].is_int)
			snprintf(val, sizeof(val), "%lld", (long long)ds[i].i);
		else
			snprintf(val, sizeof(val), "%.17g", ds[i].f);
		o += (size_t)snprintf(json + o, sizeof(json) - o,
		                      "%s\"%s\":{\"owner\":\"%s\",\"value\":\"%s\",\"value_type\":"
		                      "\"%s\",\"type\":\"%s\",\"default\":\"%s\"}",
		                      i ? "," : "", ds[i].name, ds[i].owner, val,
		                      ds[i].is_int ? "int64" : "float", ds[i].type,
		                      ds[i].dflt ? "true" : "false");
	}
	o += (size_t)snprintf(json + o, sizeof(json) - o, "}}");
	unsigned char md5[16];
	md5_sum(json, o, md5);
	char page[9000];
	size_t p = (size_t)snprintf(page, sizeof(page), "DATASOURCES\n%08zx\n", o);
	for (int i = 0; i < 16; i++)
		p += (size_t)snprintf(page + p, sizeof(page) - p, "%02x", md5[i]);
	p += (size_t)snprintf(page + p, sizeof(page) - p, "\n%s\n", json);
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, uid);
	t_write_file(path, page, p);
}

static int t_rm_cb(const char *p, const struct stat *s, int f, struct FTW *w)
{
	(void)s, (void)f, (void)w;
	return remove(p);
}

static inline void t_rmrf(const char *dir)
{
	nftw(dir, t_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *t_tmpdir(void)
{
	char tmpl[] = "/tmp/rrdd-plgreg-XXXXXX";
	char *d = mkdtemp(tmpl);
	if (!d)
		abort();
	return strdup(d);
}

#endif
