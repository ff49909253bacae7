/*
 * Loading one plugin page from disk (registry_impl.h plg_page_load): the
 * only place that opens plugin files.  The file is opened afresh on every
 * read with O_NOFOLLOW (a symlink is refused), O_NONBLOCK (a FIFO cannot
 * block the tick) and O_CLOEXEC, must be a regular file, and is read with
 * pread into the plugin's private buffer, which the parser then validates:
 * the writer cannot change bytes between check and use.
 *
 * Only the bytes the page declares are read: for V2 35 + 8n + M (n and M
 * from the header), or only 35 + 8n when the header's metadata CRC is the
 * one the plugin's descriptor cache was built from (the parser then uses its
 * cached metadata and never looks further), for V1 54 + L (+ the writer's
 * newline), for v3 28 + L; a declared page
 * larger than the cap is refused before anything is allocated.  Files may
 * be larger than their page (writers size them in 4 KiB pages, rrdp-cpu to
 * ~21 MB) without costing anything.  Does not parse, log or lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/registry_impl.h"
#include "rrdd/proto.h"
#include "util/xalloc.h"

#define FIRST_READ_MIN 4096u

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int fail(int kind, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int kind, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -(1 + kind);
}

/* How many bytes the page in b[0..len) needs in total, as far as the bytes
 * tell; len itself when they tell nothing more (garbage, a short page). */
static uint64_t page_need(const unsigned char *b, size_t len, uint64_t size)
{
	if (len >= RRDD_V1_OFF_PAYLOAD && memcmp(b, RRDD_V1_HEADER, RRDD_V1_HEADER_LEN) == 0 &&
	    b[20] == '\n') {
		uint64_t l = 0;
		for (int i = 0; i < RRDD_V1_LENGTH_LEN; i++) {
			unsigned char c = b[RRDD_V1_OFF_LENGTH + i];
			int h = c >= '0' && c <= '9'   ? c - '0'
			        : c >= 'a' && c <= 'f' ? c - 'a' + 10
			        : c >= 'A' && c <= 'F' ? c - 'A' + 10
			                               : -1;
			if (h < 0)
				return len;
			l = l * 16 + (uint64_t)h;
		}
		uint64_t need = RRDD_V1_OFF_PAYLOAD + l;
		if (need < size)
			need++; /* the writer's trailing newline, if the file has it */
		return need;
	}
	if (len >= RRDD_V3_OFF_PAYLOAD && memcmp(b, RRDD_V3_MAGIC, RRDD_V3_MAGIC_LEN) == 0)
		return RRDD_V3_OFF_PAYLOAD + (uint64_t)be32(b + RRDD_V3_OFF_LENGTH);
	if (len >= RRDD_V2_OFF_VALUES && memcmp(b, RRDD_PROTO_MAGIC, RRDD_PROTO_MAGIC_LEN) == 0) {
		uint64_t n = be32(b + RRDD_V2_OFF_COUNT);
		uint64_t moff = RRDD_V2_OFF_META_LEN(n);
		if (moff + 4 > len)
			return moff + 4; /* read up to M first */
		return RRDD_V2_TOTAL(n, (uint64_t)be32(b + moff));
	}
	return len;
}

/* pread [off, want) into e->buf, growing it; returns the new length (short
 * at end of file) or a negative errno. */
static ssize_t read_to(int fd, struct plg_entry *e, size_t off, size_t want)
{
	if (want > e->buf_cap) {
		size_t cap = e->buf_cap ? e->buf_cap : FIRST_READ_MIN;
		while (cap < want)
			cap *= 2;
		e->buf = xrealloc(e->buf, cap);
		e->buf_cap = cap;
	}
	size_t got = off;
	while (got < want) {
		ssize_t r = pread(fd, e->buf + got, want - got, (off_t)got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int plg_page_load(const char *dir, struct plg_entry *e, size_t max_bytes, size_t *len, char *err,
                  size_t errlen)
{
	*len = 0;
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->uid) >= sizeof(path))
		return fail(PLG_K_OPEN, err, errlen, "path too long");
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int en = errno;
		if (en == ENOENT)
			return fail(PLG_K_NO_FILE, err, errlen, "%s: no such file", path);
		if (en == ELOOP)
			return fail(PLG_K_NOT_REGULAR, err, errlen,
			            "%s is a symbolic link: refused", path);
		return fail(PLG_K_OPEN, err, errlen, "%s: %s", path, strerror(en));
	}
	int rc = 0;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = fail(PLG_K_OPEN, err, errlen, "%s: fstat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc =
		    fail(PLG_K_NOT_REGULAR, err, errlen, "%s is not a regular file: refused", path);
		goto out;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (size == 0) {
		rc = fail(PLG_K_EMPTY, err, errlen, "%s is empty", path);
		goto out;
	}
	/* First read: with unchanged metadata (the descriptor cache knows its
	 * CRC) the header and the values only; otherwise what the last page
	 * needed (one pread in the steady state), at least a page, never past
	 * the cap or the file. */
	bool known = e->desc.valid && e->desc.proto == PLG_PROTO_V2;
	uint64_t want = known                          ? RRDD_V2_OFF_META(e->desc.n)
	                : e->last_len > FIRST_READ_MIN ? e->last_len
	                                               : FIRST_READ_MIN;
	if (want > max_bytes)
		want = max_bytes;
	if (want > size)
		want = size;
	ssize_t got = read_to(fd, e, 0, (size_t)want);
	if (known && got >= RRDD_V2_OFF_VALUES &&
	    memcmp(e->buf, RRDD_PROTO_MAGIC, RRDD_PROTO_MAGIC_LEN) == 0 &&
	    plg_desc_covers(e, be32(e->buf + RRDD_V2_OFF_META_CRC),
	                    be32(e->buf + RRDD_V2_OFF_COUNT)) &&
	    (uint64_t)got >= RRDD_V2_OFF_META_LEN(e->desc.n)) {
		*len = (size_t)got; /* header and values: the metadata is cached */
		goto out;
	}
	/* At most two more reads: V2 needs n, then M. */
	for (int round = 0; got > 0 && round < 3; round++) {
		uint64_t need = page_need(e->buf, (size_t)got, size);
		if (need <= (uint64_t)got)
			break;
		if (need > max_bytes) {
			rc = fail(PLG_K_TOO_BIG, err, errlen,
			          "%s: page of %llu bytes exceeds the %zu-byte cap: refused", path,
			          (unsigned long long)need, max_bytes);
			goto out;
		}
		if (need > size)
			break; /* the parser says what is missing */
		got = read_to(fd, e, (size_t)got, (size_t)need);
	}
	if (got < 0) {
		rc = fail(PLG_K_READ, err, errlen, "%s: read: %s", path, strerror((int)-got));
		goto out;
	}
	if (got == 0) {
		rc = fail(PLG_K_EMPTY, err, errlen, "%s is empty", path);
		goto out;
	}
	*len = (size_t)got;
	e->last_len = (size_t)got;
out:
	close(fd);
	return rc;
}
