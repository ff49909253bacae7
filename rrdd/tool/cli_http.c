/*
 * HTTP/1.1 client over AF_UNIX for rrdd-tool's daemon commands (see
 * cli_http.h).  Reads the whole answer until the daemon closes (we always
 * send "Connection: close"), then parses the status line and headers and
 * decodes the body (Content-Length, chunked, or to EOF).  Everything the
 * daemon sends is treated as untrusted: sizes are capped, malformed answers
 * give an error, never a crash.  Does not print.
 */
#include "tool/cli_http.h"

#include "clock/clock.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"
#include "util/sockio.h"

#define MAX_HEADER_BYTES (64u << 10)

static long long now_ms(void)
{
	return (long long)(clk_elapsed() * 1000);
}

int cli_http_unreachable(int rc)
{
	return rc == -ENOENT || rc == -ECONNREFUSED || rc == -EACCES || rc == -EPERM ||
	       rc == -ENOTDIR || rc == -ENAMETOOLONG;
}

/* The message for a failed connect(), with a hint for permission errors. */
static void connect_error(const char *path, int e, char *err, size_t errlen)
{
	if (e == ENOENT || e == ENOTDIR) {
		snprintf(err, errlen, "rrdd is not running (no socket at %s)", path);
		return;
	}
	if (e == ECONNREFUSED) {
		snprintf(err, errlen,
		         "rrdd is not running (no socket at %s: nothing listens there)", path);
		return;
	}
	if (e == EACCES || e == EPERM) {
		struct stat st;
		if (stat(path, &st) == 0) {
			struct passwd *pw = getpwuid(st.st_uid);
			struct group *gr = getgrgid(st.st_gid);
			char gname[64];
			if (gr)
				snprintf(gname, sizeof(gname), "%s", gr->gr_name);
			else
				snprintf(gname, sizeof(gname), "%u", (unsigned)st.st_gid);
			snprintf(
			    err, errlen,
			    "cannot use the rrdd socket %s: permission denied (owner %s, group "
			    "%s, mode %03o); run as root or as a member of group %s",
			    path, pw ? pw->pw_name : "?", gname, (unsigned)(st.st_mode & 0777),
			    gname);
		} else {
			snprintf(
			    err, errlen,
			    "cannot use the rrdd socket %s: permission denied (its directory is "
			    "not accessible); run as root",
			    path);
		}
		return;
	}
	snprintf(err, errlen, "cannot connect to rrdd at %s: %s", path, strerror(e));
}

static int open_socket(const struct cli_conn *c, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(c->socket) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", c->socket);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, c->socket);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	struct timeval tv = {.tv_sec = c->timeout_ms / 1000,
	                     .tv_usec = (c->timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == EAGAIN || e == EINPROGRESS) {
			snprintf(err, errlen, "rrdd at %s does not accept connections (busy)",
			         c->socket);
			return -ETIMEDOUT;
		}
		connect_error(c->socket, e, err, errlen);
		return -e;
	}
	return fd;
}

/* Find "\r\n\r\n"; returns the offset after it or 0. */
static size_t header_end(const char *p, size_t n)
{
	for (size_t i = 0; i + 3 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
			return i + 4;
	return 0;
}

/* Decode a chunked body in[0..n) into out.  Returns 0 or -EPROTO. */
static int dechunk(const char *in, size_t n, size_t cap, struct buf *out)
{
	size_t i = 0;
	for (;;) {
		size_t line_end = i;
		while (line_end + 1 < n && !(in[line_end] == '\r' && in[line_end + 1] == '\n'))
			line_end++;
		if (line_end + 1 >= n)
			return -EPROTO;
		unsigned long long len = 0;
		size_t k = i;
		int digits = 0;
		for (; k < line_end; k++) {
			char ch = in[k];
			int v = ch >= '0' && ch <= '9'   ? ch - '0'
			        : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
			        : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
			                                 : -1;
			if (v < 0)
				break; /* chunk extension or white space */
			if (++digits > 15)
				return -EPROTO;
			len = len * 16 + (unsigned)v;
		}
		if (!digits)
			return -EPROTO;
		i = line_end + 2;
		if (len == 0)
			return 0; /* trailers ignored */
		if (len > n - i || n - i - len < 2 || out->len + len > cap)
			return -EPROTO;
		buf_add(out, in + i, (size_t)len);
		i += (size_t)len;
		if (in[i] != '\r' || in[i + 1] != '\n')
			return -EPROTO;
		i += 2;
	}
}

/* The value of header name in the header block h (NUL-terminated, lines
 * separated by CRLF), copied into val; returns 1 if found. */
static int get_header(const char *h, const char *name, char *val, size_t vlen)
{
	size_t nl = strlen(name);
	const char *p = strstr(h, "\r\n");
	while (p && p[2]) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			const char *e = strstr(v, "\r\n");
			size_t l = e ? (size_t)(e - v) : strlen(v);
			while (l && (v[l - 1] == ' ' || v[l - 1] == '\t'))
				l--;
			if (l >= vlen)
				l = vlen - 1;
			memcpy(val, v, l);
			val[l] = 0;
			return 1;
		}
		p = strstr(p, "\r\n");
	}
	return 0;
}

static int parse_answer(const struct buf *raw, struct cli_http_resp *out, size_t max_body,
                        char *err, size_t errlen)
{
	size_t he = header_end(raw->p, raw->len);
	if (!he) {
		snprintf(err, errlen, "rrdd closed the connection without a complete answer");
		return -EPROTO;
	}
	char *h = xstrndup(raw->p, he);
	int rc = 0;
	int major, minor, status;
	char te[64] = "", cl[32] = "";
	if (sscanf(h, "HTTP/%d.%d %3d", &major, &minor, &status) != 3 || status < 100 ||
	    status > 599) {
		snprintf(err, errlen, "not an HTTP answer from rrdd");
		rc = -EPROTO;
		goto out;
	}
	out->status = status;
	get_header(h, "Content-Type", out->ctype, sizeof(out->ctype));
	get_header(h, "Transfer-Encoding", te, sizeof(te));
	const char *body = raw->p + he;
	size_t blen = raw->len - he;
	if (strcasecmp(te, "chunked") == 0) {
		if (dechunk(body, blen, max_body, &out->body)) {
			snprintf(err, errlen, "malformed or truncated chunked answer from rrdd");
			rc = -EPROTO;
		}
	} else if (get_header(h, "Content-Length", cl, sizeof(cl))) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(cl, &end, 10);
		if (errno || end == cl || *end || cl[0] == '-') {
			snprintf(err, errlen, "bad Content-Length from rrdd: '%s'", cl);
			rc = -EPROTO;
		} else if (n > blen) {
			snprintf(err, errlen, "truncated answer from rrdd (%zu of %llu bytes)",
			         blen, n);
			rc = -EPROTO;
		} else {
			buf_add(&out->body, body, (size_t)n);
		}
	} else {
		buf_add(&out->body, body, blen);
	}
out:
	free(h);
	return rc;
}

int cli_http(const struct cli_conn *c, const char *method, const char *path, const char *accept,
             const char *body, size_t body_len, const char *body_type, struct cli_http_resp *out,
             char *err, size_t errlen)
{
	*out = (struct cli_http_resp){.body = BUF_INIT};
	int fd = open_socket(c, err, errlen);
	if (fd < 0)
		return fd;
	struct buf req = BUF_INIT;
	buf_printf(&req, "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: rrdd-tool\r\n", method,
	           path);
	buf_adds(&req, "Connection: close\r\n");
	if (accept)
		buf_printf(&req, "Accept: %s\r\n", accept);
	if (body) {
		buf_printf(&req, "Content-Type: %s\r\nContent-Length: %zu\r\n",
		           body_type ? body_type : "text/xml", body_len);
	}
	buf_adds(&req, "\r\n");
	if (body)
		buf_add(&req, body, body_len);
	int rc = sock_send_all(fd, req.p, req.len);
	buf_free(&req);
	if (rc) {
		snprintf(err, errlen, "sending to rrdd at %s: %s", c->socket, strerror(-rc));
		close(fd);
		return rc;
	}
	struct buf raw = BUF_INIT;
	long long deadline = now_ms() + c->timeout_ms;
	size_t cap = c->max_body + MAX_HEADER_BYTES;
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			rc = pr < 0 ? -errno : -ETIMEDOUT;
			break;
		}
		char *p = buf_reserve(&raw, 65536);
		ssize_t n = recv(fd, p, 65536, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		buf_commit(&raw, (size_t)n);
		if (raw.len > cap) {
			rc = -E2BIG;
			break;
		}
	}
	close(fd);
	if (rc == -ETIMEDOUT)
		snprintf(err, errlen, "rrdd at %s did not answer within %d ms", c->socket,
		         c->timeout_ms);
	else if (rc == -E2BIG)
		snprintf(err, errlen, "answer from rrdd larger than %zu bytes", c->max_body);
	else if (rc == -ECONNRESET && raw.len == 0)
		snprintf(err, errlen, "rrdd at %s closed the connection", c->socket);
	else if (rc < 0 && rc != -ECONNRESET)
		snprintf(err, errlen, "reading from rrdd at %s: %s", c->socket, strerror(-rc));
	if (rc == 0 || (rc == -ECONNRESET && raw.len > 0))
		rc = parse_answer(&raw, out, c->max_body, err, errlen);
	buf_free(&raw);
	if (rc)
		buf_free(&out->body);
	return rc;
}
