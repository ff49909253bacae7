/*
 * tapdisk3's statistics pages (tapdisk3.h).
 */
#include "source/tapdisk3.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TD3_ATTEMPTS 3

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int td3_parse(const void *buf, size_t len, struct td3_stats *out, char *why, size_t wl)
{
	const unsigned char *b = buf;
	if (len < TD3_STATS_BYTES) {
		snprintf(why, wl, "short page: %zu bytes of %d", len, TD3_STATS_BYTES);
		return -EPROTO;
	}
	memset(out, 0, sizeof(*out));
	out->version =
	    (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	if (out->version != TD3_VERSION) {
		snprintf(why, wl, "page version %" PRIu32 ", not %d", out->version, TD3_VERSION);
		return -EPROTO;
	}
	uint64_t *f[] = {&out->oo_reqs,      &out->rd_submitted, &out->rd_completed,
	                 &out->rd_sectors,   &out->rd_ticks_us,  &out->wr_submitted,
	                 &out->wr_completed, &out->wr_sectors,   &out->wr_ticks_us,
	                 &out->io_errors,    &out->flags};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		*f[i] = le64(b + 8 + 8 * i);
	if (out->rd_completed > out->rd_submitted || out->wr_completed > out->wr_submitted) {
		snprintf(why, wl,
		         "more requests completed than submitted (read %" PRIu64 "/%" PRIu64
		         ", write %" PRIu64 "/%" PRIu64 ")",
		         out->rd_completed, out->rd_submitted, out->wr_completed,
		         out->wr_submitted);
		return -EPROTO;
	}
	return 0;
}

int td3_page_open(struct td3_page *p, const char *dir, int64_t pid, uint32_t domid, uint32_t devid,
                  char *why, size_t wl)
{
	char path[512];
	td3_page_close(p);
	if (pid <= 0) {
		snprintf(why, wl, "no tapdisk pid");
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/td3-%" PRId64, dir ? dir : "/dev/shm", pid);
	int d = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0) {
		int e = errno;
		snprintf(why, wl, "%s: %s", path, strerror(e));
		return -e;
	}
	char name[64];
	snprintf(name, sizeof(name), "vbd-%" PRIu32 "-%" PRIu32, domid, devid);
	int fd = openat(d, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int e = errno;
	close(d);
	if (fd < 0) {
		snprintf(why, wl, "%s/%s: %s", path, name, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		snprintf(why, wl, "%s/%s: not a regular file owned by root", path, name);
		close(fd);
		return -EPERM;
	}
	p->fd = fd;
	return 0;
}

int td3_page_read(struct td3_page *p, struct td3_stats *out, char *why, size_t wl)
{
	unsigned char buf[TD3_STATS_BYTES];
	int rc = -EBADF;
	if (p->fd < 0) {
		snprintf(why, wl, "page not open");
		return rc;
	}
	for (int i = 0; i < TD3_ATTEMPTS; i++) {
		ssize_t n = pread(p->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			int e = errno;
			snprintf(why, wl, "read: %s", strerror(e));
			return -e;
		}
		rc = td3_parse(buf, (size_t)n, out, why, wl);
		if (rc == 0 || (size_t)n < sizeof(buf) || out->version != TD3_VERSION)
			return rc; /* only a page caught mid-update is worth reading again */
	}
	return rc;
}

void td3_page_close(struct td3_page *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}
