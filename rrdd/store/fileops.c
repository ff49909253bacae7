/*
 * The store's file operations (fileops.h): the system table and the
 * helpers every store writer shares.
 */
#include "store/fileops.h"

#include "clock/clock.h"

#include <errno.h>
#include <fcntl.h>
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

void (*store_synced_hook)(const char *path, long long off);

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
	long long now = (long long)clk_system_wall();
	for (int k = 0; k < 100; k++) {
		int n = k ? snprintf(aside, len, "%s.corrupt-%lld.%d", path, now, k)
		          : snprintf(aside, len, "%s.corrupt-%lld", path, now);
		if (n < 0 || (size_t)n >= len)
			return -ENAMETOOLONG;
		if (access(aside, F_OK) == 0)
			continue;
		return rename(path, aside) < 0 ? -errno : 0;
	}
	return -EEXIST;
}
