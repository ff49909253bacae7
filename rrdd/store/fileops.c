/*
 * The store's file operations (fileops.h): the system table, the crash and
 * sync-log test hooks, and the helpers every store writer shares.
 */
#include "store/fileops.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int sys_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags | O_CLOEXEC, mode);
}

static ssize_t sys_write(int fd, const void *p, size_t n)
{
	return write(fd, p, n);
}

static int sys_fsync(int fd)
{
	return fsync(fd);
}

static int sys_close(int fd)
{
	return close(fd);
}

static int sys_rename(const char *from, const char *to)
{
	return rename(from, to);
}

static int sys_unlink(const char *path)
{
	return unlink(path);
}

static int sys_ftruncate(int fd, off_t len)
{
	return ftruncate(fd, len);
}

const struct store_fileops store_fops_system = {sys_open,   sys_write,  sys_fsync,    sys_close,
                                                sys_rename, sys_unlink, sys_ftruncate};

const struct store_fileops *store_fops = &store_fops_system;

/* ---- the crash hook: SIGKILL at the Nth operation ---- */

static long crash_at;            /* 0 = off; set before any other thread starts */
static _Atomic long crash_count; /* counted from every thread that writes */
static char sync_log[1024];

static void crash_point(void)
{
	if (crash_at && atomic_fetch_add(&crash_count, 1) + 1 >= crash_at) {
		kill(getpid(), SIGKILL);
		for (;;)
			pause();
	}
}

static int crash_open(const char *path, int flags, mode_t mode)
{
	crash_point();
	return sys_open(path, flags, mode);
}

static ssize_t crash_write(int fd, const void *p, size_t n)
{
	if (crash_at && atomic_load(&crash_count) + 1 >= crash_at && n > 1) {
		/* cut the write in the middle: the torn-write case */
		(void)!write(fd, p, n / 2);
		crash_point();
	}
	crash_point();
	return sys_write(fd, p, n);
}

static int crash_fsync(int fd)
{
	crash_point();
	return sys_fsync(fd);
}

static int crash_close(int fd)
{
	crash_point();
	return sys_close(fd);
}

static int crash_rename(const char *from, const char *to)
{
	crash_point();
	return sys_rename(from, to);
}

static int crash_unlink(const char *path)
{
	crash_point();
	return sys_unlink(path);
}

static int crash_ftruncate(int fd, off_t len)
{
	crash_point();
	return sys_ftruncate(fd, len);
}

static const struct store_fileops crash_fops = {
    crash_open, crash_write, crash_fsync, crash_close, crash_rename, crash_unlink, crash_ftruncate};

void store_fops_from_env(void)
{
	const char *s = getenv("RRDD_TEST_CRASH_OPS");
	if (s && *s) {
		char *end;
		long n = strtol(s, &end, 10);
		if (*end == 0 && n > 0) {
			crash_at = n;
			atomic_store(&crash_count, 0);
			store_fops = &crash_fops;
		}
	}
	s = getenv("RRDD_TEST_SYNC_LOG");
	if (s && *s && strlen(s) < sizeof(sync_log))
		strcpy(sync_log, s);
}

void store_note_synced(const char *path, long long off)
{
	if (!sync_log[0])
		return;
	int fd = open(sync_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char line[1200];
	int n = snprintf(line, sizeof(line), "%s %lld\n", path, off);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)!write(fd, line, (size_t)n);
	close(fd);
}

/* ---- helpers ---- */

int store_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = store_fops->write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int store_fsync_dir(const char *dir)
{
	int fd = store_fops->open(dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return -errno;
	int rc = store_fops->fsync(fd) < 0 ? -errno : 0;
	store_fops->close(fd);
	return rc;
}

int store_write_file_atomic(const char *dir, const char *path, const void *p, size_t n, mode_t mode,
                            const char **what)
{
	static const char *none = "";
	const char *dummy;
	if (!what)
		what = &dummy;
	*what = none;
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		*what = "name";
		return -ENAMETOOLONG;
	}
	int fd = store_fops->open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0) {
		*what = "create";
		return -errno;
	}
	int rc = store_write_all(fd, p, n);
	if (rc)
		*what = "write";
	if (!rc && fchmod(fd, mode) < 0)
		rc = -errno, *what = "chmod";
	if (!rc && store_fops->fsync(fd) < 0)
		rc = -errno, *what = "fsync";
	if (store_fops->close(fd) < 0 && !rc)
		rc = -errno, *what = "close";
	if (!rc && store_fops->rename(tmp, path) < 0)
		rc = -errno, *what = "rename";
	if (rc) {
		store_fops->unlink(tmp);
		return rc;
	}
	rc = store_fsync_dir(dir);
	if (rc)
		*what = "directory fsync";
	return rc;
}

int store_move_aside(const char *path, char *aside, size_t len)
{
	time_t now = time(NULL);
	for (int k = 0; k < 100; k++) {
		int n = k ? snprintf(aside, len, "%s.corrupt-%lld.%d", path, (long long)now, k)
		          : snprintf(aside, len, "%s.corrupt-%lld", path, (long long)now);
		if (n < 0 || (size_t)n >= len)
			return -ENAMETOOLONG;
		if (access(aside, F_OK) == 0)
			continue;
		return rename(path, aside) < 0 ? -errno : 0;
	}
	return -EEXIST;
}
