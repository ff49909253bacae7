/*
 * The file operations of the store (archives, journal, checkpoints), behind
 * one ops table so that tests can inject failures: ENOSPC, EIO, short
 * writes, a failing fsync or rename, at any step.  Every store write goes
 * through store_fops; nothing in rrdd/store calls open/write/fsync/rename/
 * close/unlink/ftruncate directly.
 *
 * Two hidden test hooks are read from the environment by
 * store_fops_from_env() (main calls it once): RRDD_TEST_CRASH_OPS=N makes
 * the process SIGKILL itself at its Nth store file operation (a write is
 * cut in the middle first), so a crash test can stop the daemon at any
 * point of a tick, a checkpoint or an archive write, reproducibly;
 * RRDD_TEST_SYNC_LOG=PATH appends "<journal file> <offset>\n" to PATH after
 * each successful journal fsync, so a power-loss test knows what the disk
 * held.  Neither is documented for users.  No logging here.
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

/* Read the test hooks from the environment (see above). */
void store_fops_from_env(void);

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

/* Test hook: record a journal fsync position (no-op unless
 * RRDD_TEST_SYNC_LOG is set). */
void store_note_synced(const char *path, long long off);

#endif
