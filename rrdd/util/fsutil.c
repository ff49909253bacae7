/* Small filesystem helpers (see fsutil.h). */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"

int fs_mkdirs(const char *path, mode_t leaf_mode)
{
	char p[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(p))
		return n ? -ENAMETOOLONG : -EINVAL;
	memcpy(p, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		char c = p[i];
		p[i] = 0;
		if (mkdir(p, c ? 0755 : leaf_mode) < 0 && errno != EEXIST)
			return -errno;
		p[i] = c;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int fs_read_file(const char *path, size_t max, struct buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	size_t chunk =
	    st.st_size > 0 && (uint64_t)st.st_size < max ? (size_t)st.st_size + 1 : 1 << 16;
	int rc = 0;
	for (;;) {
		char *p = buf_reserve(b, chunk);
		ssize_t n = read(fd, p, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		buf_commit(b, (size_t)n);
		if (b->len > max) {
			rc = -E2BIG;
			break;
		}
		chunk = 1 << 16;
	}
	close(fd);
	return rc;
}

int fs_path_within(const char *path, const char *roots)
{
	if (!path || path[0] != '/' || !roots)
		return -EACCES;
	const char *slash = strrchr(path, '/');
	const char *base = slash + 1;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return -EACCES;
	char dir[PATH_MAX], real[PATH_MAX];
	size_t dl = (size_t)(slash - path);
	if (dl >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, dl);
	dir[dl ? dl : 1] = 0;
	if (!dl)
		dir[0] = '/';
	if (!realpath(dir, real))
		return -errno;
	size_t rl = strlen(real);
	for (const char *r = roots; *r;) {
		size_t n = strcspn(r, ":");
		char root[PATH_MAX], rreal[PATH_MAX];
		if (n && n < sizeof(root)) {
			memcpy(root, r, n);
			root[n] = 0;
			if (realpath(root, rreal)) {
				size_t l = strlen(rreal);
				if (l == 1 || (rl >= l && !memcmp(real, rreal, l) &&
				               (real[l] == 0 || real[l] == '/')))
					return 0;
			}
		}
		r += n;
		if (*r == ':')
			r++;
	}
	return -EACCES;
}
