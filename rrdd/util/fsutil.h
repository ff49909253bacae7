/*
 * Small filesystem helpers shared by the daemon's modules.
 */
#ifndef RRDD_FSUTIL_H
#define RRDD_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

struct buf;

/* mkdir -p: create path and its missing parents (parents 0755, path itself
 * leaf_mode; existing directories keep their mode).  0 when path is a
 * directory afterwards, else a negative errno (-ENOTDIR, -ENAMETOOLONG...). */
int fs_mkdirs(const char *path, mode_t leaf_mode);

/* Append the whole regular file at path (at most max bytes) to b: opened
 * without blocking (a FIFO or device never stalls the caller), without
 * following a symbolic link as its last component (-ELOOP), and refused
 * unless regular.  0, or -errno (-EINVAL: not a regular file, -E2BIG: past
 * max; b then holds what was read). */
int fs_read_file(const char *path, size_t max, struct buf *b);

/* Whether the absolute path names an entry of one of the directories in
 * roots (':'-separated) or of a directory below one: its directory part is
 * resolved (links followed) before the comparison, its last component must
 * be a plain name.  0, or -EACCES (outside, or not absolute), -errno (the
 * directory cannot be resolved). */
int fs_path_within(const char *path, const char *roots);

#endif
