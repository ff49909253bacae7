/*
 * dom0 /proc parsers for the Xen backend: /proc/net/dev (host network
 * devices), /proc/loadavg, /proc/meminfo.  Input is untrusted text: bounded
 * reads, strict number parsing, malformed lines skipped.  No policy about
 * which devices count as PIFs (that is catalogue.c's).
 */
#include "source/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/catalogue.h"
#include "util/xalloc.h"

int src_read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* read up to max + 1 bytes: one more than allowed means too long */
	size_t cap = max < 4096 ? max + 1 : 4096, n = 0;
	char *b = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap > max)
				break;
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			b = xrealloc(b, cap + 1);
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			free(b);
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(b);
		close(fd);
		return -EFBIG;
	}
	close(fd);
	b[n] = '\0';
	*out = b;
	if (len)
		*len = n;
	return 0;
}

/* Parse an unsigned decimal at *p (leading blanks allowed); advance *p. */
static int take_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	uint64_t x = 0;
	while (*s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
		s++;
	}
	*v = x;
	*p = s;
	return 0;
}

int src_parse_net_dev(const char *text, struct src_host *h)
{
	int added = 0;
	const char *line = text;
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *colon = memchr(line, ':', (size_t)(end - line));
		if (colon) {
			const char *a = line;
			while (a < colon && (*a == ' ' || *a == '\t'))
				a++;
			size_t nl = (size_t)(colon - a);
			uint64_t v[16];
			const char *p = colon + 1;
			int ok = nl > 0 && nl < SRC_NAME_LEN;
			for (int i = 0; ok && i < 16; i++)
				ok = take_u64(&p, &v[i]) == 0 && p <= end;
			if (ok && !(nl == 2 && memcmp(a, "lo", 2) == 0)) {
				struct src_netdev *d = src_host_add_netdev(h);
				memcpy(d->name, a, nl);
				d->name[nl] = '\0';
				d->pif = src_is_pif(d->name);
				d->rx_bytes = v[0];
				d->rx_packets = v[1];
				d->rx_errors = v[2];
				d->tx_bytes = v[8];
				d->tx_packets = v[9];
				d->tx_errors = v[10];
				added++;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return added;
}

int src_parse_loadavg(const char *text, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (end == text || errno || !(v >= 0) || (*end != ' ' && *end != '\n' && *end))
		return -EINVAL;
	*out = v;
	return 0;
}

int src_parse_meminfo_available(const char *text, int64_t *kib)
{
	static const char key[] = "MemAvailable:";
	const char *p = text;
	while (p) {
		if (strncmp(p, key, sizeof(key) - 1) == 0) {
			const char *q = p + sizeof(key) - 1;
			uint64_t v;
			if (take_u64(&q, &v) < 0 || v > INT64_MAX)
				return -EINVAL;
			while (*q == ' ')
				q++;
			if (strncmp(q, "kB", 2) != 0)
				return -EINVAL;
			*kib = (int64_t)v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}
