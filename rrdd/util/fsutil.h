/*
 * Small filesystem helpers shared by the daemon's modules.
 */
#ifndef RRDD_FSUTIL_H
#define RRDD_FSUTIL_H

#include <sys/types.h>

/* mkdir -p: create path and its missing parents (parents 0755, path itself
 * leaf_mode; existing directories keep their mode).  0 when path is a
 * directory afterwards, else a negative errno (-ENOTDIR, -ENAMETOOLONG...). */
int fs_mkdirs(const char *path, mode_t leaf_mode);

#endif
