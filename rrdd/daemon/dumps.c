/*
 * The spec 3.6 metrics dumps (dumps.h): the registry writes the JSON
 * (mon_latest_json_locked, mon_vms_json_locked: escaped keys, xcp-rrdd's
 * number text); this file takes the lock around it and replaces the files.
 */
#include "daemon/dumps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/nummemo.h"
#include "monitor/registry.h"

void dump_build(struct mon_registry *reg, struct buf *host, struct buf *vms, struct num_memo *memo)
{
	buf_reset(host);
	buf_reset(vms);
	num_memo_rewind(memo);
	mon_rdlock(reg);
	mon_latest_json_locked(reg, MON_HOST, NULL, host, memo);
	mon_vms_json_locked(reg, vms, memo);
	mon_unlock(reg);
	buf_addc(host, '\n');
	buf_addc(vms, '\n');
}

int dump_write_file(const char *dir, const char *name, const char *data, size_t n, char *err,
                    size_t errlen)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(e));
		return -e;
	}
	int rc = 0;
	while (n && !rc) {
		ssize_t w = write(fd, data, n);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			data += w, n -= (size_t)w;
	}
	if (!rc && fchmod(fd, 0644) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	}
	return rc;
}

int dump_metrics(struct mon_registry *reg, const char *dir, char *err, size_t errlen)
{
	struct buf h = BUF_INIT, v = BUF_INIT;
	dump_build(reg, &h, &v, NULL);
	int rc = dump_write_file(dir, "host-metrics.json", h.p, h.len, err, errlen);
	int rc2 =
	    dump_write_file(dir, "vm-metrics.json", v.p, v.len, rc ? NULL : err, rc ? 0 : errlen);
	buf_free(&h);
	buf_free(&v);
	return rc ? rc : rc2;
}
