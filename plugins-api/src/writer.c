/*
 * Putting a page image on disk.
 *
 * Default (rename-over): the whole page is written to a new temporary file
 * ".<uid>.<pid>.<n>.tmp" in the same directory (discovery ignores "*.tmp")
 * and renamed over <uid>.  rename() is atomic, so a reader that opens the
 * path sees either the old complete page or the new complete page, never a
 * mix; the daemon notices the new inode by re-stat'ing the path (wire-format.md §6.7).
 *
 * In-place mode (for the reference OCaml xcp-rrdd, which maps the file once
 * and would keep reading the old inode after a rename): the file is created
 * once by rename, then rewritten in place with the data CRC written last, as
 * the OCaml Reporter does; the file never shrinks (a mapped reader would
 * fault), and when the page outgrows it the file is unlinked and re-created
 * so that the daemon's inotify deregisters and re-registers it.
 *
 * A page unlinked by someone else is re-created at the next publish (in-place
 * mode checks the link count), and a directory that was removed and created
 * again is re-opened by path once.
 *
 * No locking here: the caller holds the handle lock.  Files are opened with
 * O_NOFOLLOW and O_EXCL, relative to the directory fd opened at creation.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const unsigned char *p = buf;
	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

/* Write the whole image into a fresh temporary file; returns its fd (open
 * read-write) and name, or a negative errno. */
static int write_temp(struct rrdp_plugin *p, char *name, size_t namelen)
{
	int fd = -1;
	bool reopened = false;
	for (int attempt = 0; attempt < 100; attempt++) {
		snprintf(name, namelen, ".%s.%ld.%llu.tmp", p->uid, (long)getpid(),
		         (unsigned long long)p->tmp_counter++);
		fd = openat(p->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		            0600);
		if (fd >= 0)
			break;
		if (errno == ENOENT && !reopened) {
			/* The directory was removed, perhaps re-created (tmpfiles,
			 * daemon restart): open it again by path, once. */
			reopened = true;
			int dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0) {
				errno = ENOENT;
				break;
			}
			close(p->dirfd);
			p->dirfd = dfd;
			if (p->fd >= 0) { /* in-place: the old file went with the directory */
				close(p->fd);
				p->fd = -1;
			}
			continue;
		}
		if (errno != EEXIST)
			break;
	}
	if (fd < 0) {
		int e = errno;
		return rrdp_i_fail(-e, "cannot create a temporary page in \"%s\": %s", p->dir,
		                   strerror(e));
	}
	int rc = pwrite_all(fd, p->page, p->page_size, 0);
	if (rc < 0) {
		close(fd);
		unlinkat(p->dirfd, name, 0);
		return rrdp_i_fail(rc, "cannot write the temporary page in \"%s\": %s", p->dir,
		                   strerror(-rc));
	}
	return fd;
}

static int rename_into_place(struct rrdp_plugin *p, const char *tmpname)
{
	if (renameat(p->dirfd, tmpname, p->dirfd, p->uid) < 0) {
		int e = errno;
		unlinkat(p->dirfd, tmpname, 0);
		return rrdp_i_fail(-e, "cannot rename the page to \"%s\": %s", p->path,
		                   strerror(e));
	}
	p->published = true;
	return 0;
}

static int write_renamed(struct rrdp_plugin *p)
{
	char name[RRDP_MAX_UID + 64];
	int fd = write_temp(p, name, sizeof(name));
	if (fd < 0)
		return fd;
	if (close(fd) < 0) {
		int e = errno;
		unlinkat(p->dirfd, name, 0);
		return rrdp_i_fail(-e, "cannot write the temporary page: %s", strerror(e));
	}
	return rename_into_place(p, name);
}

static int write_in_place(struct rrdp_plugin *p, bool meta_changed)
{
	size_t n = p->nsrc;
	struct stat st;
	if (p->fd >= 0 && fstat(p->fd, &st) == 0 && st.st_nlink == 0) {
		/* Someone unlinked the page: writing on would reach nobody. */
		close(p->fd);
		p->fd = -1;
	}
	if (p->fd < 0 || p->page_size > p->file_size) {
		/* (Re)create: a new inode the daemon registers afresh. */
		char name[RRDP_MAX_UID + 64];
		int fd = write_temp(p, name, sizeof(name));
		if (fd < 0)
			return fd;
		if (p->fd >= 0) {
			close(p->fd);
			p->fd = -1;
			unlinkat(p->dirfd, p->uid, 0);
		}
		int rc = rename_into_place(p, name);
		if (rc < 0) {
			close(fd);
			return rc;
		}
		p->fd = fd;
		p->file_size = p->page_size;
		return 0;
	}
	int rc;
	if (meta_changed) {
		/* Everything but the data CRC, then zeros over the stale tail
		 * (the file never shrinks), then the data CRC. */
		rc = pwrite_all(p->fd, p->page, 11, 0);
		if (rc == 0)
			rc = pwrite_all(p->fd, p->page + 15, p->page_size - 15, 15);
		for (size_t off = p->page_size; rc == 0 && off < p->file_size;) {
			static const unsigned char zeros[4096];
			size_t k =
			    p->file_size - off < sizeof(zeros) ? p->file_size - off : sizeof(zeros);
			rc = pwrite_all(p->fd, zeros, k, (off_t)off);
			off += k;
		}
	} else {
		rc = pwrite_all(p->fd, p->page + 23, 8 + 8 * n, 23);
	}
	if (rc == 0)
		rc = pwrite_all(p->fd, p->page + 11, 4, 11);
	if (rc < 0)
		return rrdp_i_fail(rc, "cannot write the page \"%s\": %s", p->path, strerror(-rc));
	return 0;
}

int rrdp_i_write_page(struct rrdp_plugin *p, bool meta_changed)
{
	return p->in_place && p->protocol != 3 ? write_in_place(p, meta_changed) : write_renamed(p);
}

int rrdp_i_unlink_page(struct rrdp_plugin *p)
{
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	if (!p->published)
		return 0;
	p->published = false;
	if (unlinkat(p->dirfd, p->uid, 0) < 0 && errno != ENOENT) {
		int e = errno;
		return rrdp_i_fail(-e, "cannot unlink \"%s\": %s", p->path, strerror(e));
	}
	return 0;
}
