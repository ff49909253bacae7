/*
 * The file operations of the store (archives, journal, checkpoints), behind
 * one ops table so that tests can inject failures: ENOSPC, EIO, short
 * writes, a failing fsync or rename, at any step.  Every store write goes
 * through store_fops; nothing in rrdd/store calls open/write/fsync/rename/
 * close/unlink/ftruncate directly.  Tests replace the table (fault and
 * crash injection: tests/hooks/crash_hooks.h, built into the test binaries
 * only, never into the installed daemon).  No logging here.
 */
#ifndef RRDD_STORE_FILEOPS_H
#define RRDD_STORE_FILEOPS_H

#include <stddef.h>
#include <sys/types.h>

/* Each returns like the system call (-1 and errno on failure). */
struct store_fileops {
	int (*open)(const char *path, int flags, mode_t mode);
	ssize_t (*write)(int fd, const void *p, size_t n);
	int (*fsync)(int fd);
	int (*close)(int fd);
	int (*rename)(const char *from, const char *to);
	int (*unlink)(const char *path);
	int (*ftruncate)(int fd, off_t len);
};

/* The table in use (the system calls by default); tests may replace it. */
extern const struct store_fileops *store_fops;
extern const struct store_fileops store_fops_system;

/* Write all n bytes (retrying short writes and EINTR).  0 or -errno; a
 * write returning 0 counts as -EIO. */
int store_write_all(int fd, const void *p, size_t n);

/* fsync a directory (through store_fops).  0 or -errno. */
int store_fsync_dir(const char *dir);

/* Write a whole file atomically and durably: path.tmp-<pid>, write, fsync,
 * close, rename over path, fsync of dir.  On failure the temporary is
 * removed and path is untouched.  0 or -errno, with the failing step's name
 * in *what. */
int store_write_file_atomic(const char *dir, const char *path, const void *p, size_t n, mode_t mode,
                            const char **what);

/* Move a bad file aside as "<path>.corrupt-<unix time>" (not through the
 * fault table: it is start-up repair).  Returns 0 and the new name in
 * aside, or -errno. */
int store_move_aside(const char *path, char *aside, size_t len);

/* Called after each successful journal fsync with the file and the offset
 * now on disk, when set (a power-loss test records what the disk held).
 * NULL in the daemon. */
extern void (*store_synced_hook)(const char *path, long long off);

#endif
