/*
 * The wire-format.md §3.6 metrics dumps (dumps.h): the registry writes the JSON
 * (mon_latest_json_locked, mon_vms_json_locked: escaped keys, xcp-rrdd's
 * number text); this file takes the lock around it and replaces the files,
 * writing each piece as soon as it is built (while it is still in the
 * cache).  Must not: leave a partly written file under the final name.
 */
#include "daemon/dumps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/registry.h"

/* A file being replaced: written under a temporary name, renamed at the
 * end.  rc is the first error (a negative errno). */
struct dump_file {
	int fd, rc;
	char path[4096], tmp[4200];
};

static void df_open(struct dump_file *f, const char *dir, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", dir, name);
	snprintf(f->tmp, sizeof(f->tmp), "%s.tmp.XXXXXX", f->path);
	f->rc = 0;
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0)
		f->rc = -errno;
}

/* Write out b's text (if nothing failed so far) and empty b. */
static int df_flush(void *ctx, struct buf *b)
{
	struct dump_file *f = ctx;
	const char *p = b->p;
	size_t n = b->len;
	while (n && !f->rc) {
		ssize_t w = write(f->fd, p, n);
		if (w < 0 && errno != EINTR)
			f->rc = -errno;
		else if (w > 0)
			p += w, n -= (size_t)w;
	}
	buf_reset(b);
	return f->rc;
}

/* Finish: the file gets its final name, or the temporary one is removed.
 * Returns f->rc, with a message in err when it is an error. */
static int df_close(struct dump_file *f, char *err, size_t errlen)
{
	if (f->fd < 0) {
		snprintf(err, errlen, "%s: cannot create a temporary file: %s", f->path,
		         strerror(-f->rc));
		return f->rc;
	}
	if (!f->rc && fchmod(f->fd, 0644) < 0)
		f->rc = -errno;
	if (close(f->fd) < 0 && !f->rc)
		f->rc = -errno;
	if (!f->rc && rename(f->tmp, f->path) < 0)
		f->rc = -errno;
	if (f->rc) {
		unlink(f->tmp);
		snprintf(err, errlen, "%s: %s", f->path, strerror(-f->rc));
	}
	return f->rc;
}

int dump_metrics(struct mon_registry *reg, const char *dir, struct dump_state *st, char *err,
                 size_t errlen)
{
	struct dump_file h, v;
	df_open(&h, dir, "host-metrics.json");
	df_open(&v, dir, "vm-metrics.json");
	struct buf *b = &st->piece;
	buf_reset(b);
	num_memo_rewind(&st->memo);
	mon_rdlock(reg);
	mon_latest_json_locked(reg, MON_HOST, NULL, b, &st->memo);
	buf_addc(b, '\n');
	df_flush(&h, b);
	if (mon_vms_json_locked(reg, b, &st->memo, DUMP_PIECE, df_flush, &v) == 0) {
		buf_addc(b, '\n');
		df_flush(&v, b);
	}
	mon_unlock(reg);
	buf_reset(b);
	int rc = df_close(&h, err, errlen);
	int rc2 = df_close(&v, rc ? NULL : err, rc ? 0 : errlen);
	return rc ? rc : rc2;
}

void dump_state_free(struct dump_state *st)
{
	buf_free(&st->piece);
	num_memo_free(&st->memo);
}
