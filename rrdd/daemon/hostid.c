/*
 * Host uuid resolution (hostid.h).  The generated uuid is a version 4 uuid
 * from getrandom(2), written to <state-dir>/host-uuid through a temporary
 * file and rename so a crash never leaves half a uuid; a malformed state
 * file is an error, never silently replaced (that would change the host's
 * identity).
 */
#include "daemon/hostid.h"
#include "util/fsutil.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

bool hostid_uuid_ok(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

static void lower36(char out[37], const char *s)
{
	for (int i = 0; i < 36; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[36] = 0;
}

/* Read a small file into buf (NUL-terminated); 0 or -errno. */
static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = 0;
	return 0;
}

int hostid_from_inventory(const char *path, char out[37])
{
	return hostid_inventory_uuid(path, "INSTALLATION_UUID", out);
}

int hostid_inventory_uuid(const char *path, const char *key, char out[37])
{
	char buf[16384], *save = NULL;
	size_t klen = strlen(key);
	int rc = read_small(path, buf, sizeof(buf));
	if (rc)
		return rc == -ENOENT ? -ENOENT : rc;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (strncmp(line, key, klen) || line[klen] != '=')
			continue;
		char *v = line + klen + 1;
		size_t n = strlen(v);
		while (n && (v[n - 1] == '\r' || v[n - 1] == ' '))
			v[--n] = 0;
		if (n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n - 1] == v[0]) {
			v[n - 1] = 0;
			v++;
		}
		if (!hostid_uuid_ok(v))
			return -EINVAL;
		lower36(out, v);
		return 0;
	}
	return -ENOENT;
}

static int generate(char out[37])
{
	uint8_t b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
	return 0;
}

static int write_state(const char *path, const char *uuid)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char line[40];
	int n = snprintf(line, sizeof(line), "%s\n", uuid);
	int rc = 0;
	if (write(fd, line, (size_t)n) != n)
		rc = errno ? -errno : -EIO;
	if (!rc && fchmod(fd, 0644) < 0)
		rc = -errno;
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int hostid_resolve(const char *explicit, const char *inventory, const char *state_dir, char out[37],
                   const char **origin, char *err, size_t errlen)
{
	const char *dummy;
	if (!origin)
		origin = &dummy;
	if (explicit && *explicit) {
		if (!hostid_uuid_ok(explicit)) {
			snprintf(err, errlen, "--host-uuid %s: not a uuid", explicit);
			return -EINVAL;
		}
		lower36(out, explicit);
		*origin = "option";
		return 0;
	}
	if (inventory && *inventory) {
		int rc = hostid_from_inventory(inventory, out);
		if (rc == 0) {
			*origin = "inventory";
			return 0;
		}
		if (rc != -ENOENT) {
			snprintf(err, errlen, "%s: INSTALLATION_UUID unreadable or not a uuid",
			         inventory);
			return rc;
		}
	}
	char path[4096 + 16];
	snprintf(path, sizeof(path), "%s/host-uuid", state_dir);
	char buf[128];
	int rc = read_small(path, buf, sizeof(buf));
	if (rc == 0) {
		size_t n = strlen(buf);
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
			buf[--n] = 0;
		if (!hostid_uuid_ok(buf)) {
			snprintf(err, errlen, "%s: not a uuid (fix or remove it)", path);
			return -EINVAL;
		}
		lower36(out, buf);
		*origin = "state";
		return 0;
	}
	if (rc != -ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = fs_mkdirs(state_dir, 0755);
	if (!rc)
		rc = generate(out);
	if (!rc)
		rc = write_state(path, out);
	if (rc) {
		snprintf(err, errlen, "%s: cannot keep a generated host uuid: %s", path,
		         strerror(-rc));
		return rc;
	}
	*origin = "generated";
	return 0;
}
