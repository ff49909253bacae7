/*
 * Crash and sync-log hooks for the store's tests (crash_hooks.h): built into
 * the unit tests and the rrdd-test daemon, never into the installed rrdd.
 */
#include "crash_hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/fileops.h"

static int sys_open(const char *path, int flags, mode_t mode)
{
	return store_fops_system.open(path, flags, mode);
}

static ssize_t sys_write(int fd, const void *p, size_t n)
{
	return store_fops_system.write(fd, p, n);
}

static int sys_fsync(int fd)
{
	return store_fops_system.fsync(fd);
}

static int sys_close(int fd)
{
	return store_fops_system.close(fd);
}

static int sys_rename(const char *from, const char *to)
{
	return store_fops_system.rename(from, to);
}

static int sys_unlink(const char *path)
{
	return store_fops_system.unlink(path);
}

static int sys_ftruncate(int fd, off_t len)
{
	return store_fops_system.ftruncate(fd, len);
}

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

static void note_synced(const char *path, long long off)
{
	int fd = open(sync_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char line[1200];
	int n = snprintf(line, sizeof(line), "%s %lld\n", path, off);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)!write(fd, line, (size_t)n);
	close(fd);
}

void test_hooks_from_env(void)
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
	if (s && *s && strlen(s) < sizeof(sync_log)) {
		strcpy(sync_log, s);
		store_synced_hook = note_synced;
	}
}
