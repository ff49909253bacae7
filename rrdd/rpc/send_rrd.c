/*
 * The sending side of PUT /rrd (wire-format.md §4.4): migrate_rrd, push_rrd_remote,
 * archive_rrd / backup_rrds to a remote address and send_host_rrd_to_master
 * send the internal XML of an RRD to another host.  xcp-rrdd sends it to
 * xapi on https://<addr>:443 with the pool secret; we speak plain HTTP to
 * an rrdd listener: "host[:port]" / "[v6]:port" over TCP (port 80 by
 * default; use rrdd --listen on the receiver), or a Unix socket path
 * starting with '/'.  We send the query xapi would append (is_host, domid)
 * and a Content-Length, and wait for the status line, with timeouts.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "export/rrd_xml.h"
#include "rpc/send_rrd.h"
#include "util/sockio.h"

#define SEND_TIMEOUT_S 30

static int connect_to(const char *address, char *err, size_t errlen)
{
	int fd;
	if (address[0] == '/') {
		struct sockaddr_un sa;
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		if (strlen(address) >= sizeof(sa.sun_path)) {
			snprintf(err, errlen, "%s: path too long", address);
			return -ENAMETOOLONG;
		}
		strcpy(sa.sun_path, address);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			snprintf(err, errlen, "connect %s: %s", address, strerror(e));
			return -e;
		}
		return fd;
	}
	char host[256];
	const char *port = "80";
	if (address[0] == '[') {
		const char *rb = strchr(address, ']');
		if (!rb || (size_t)(rb - address) >= sizeof(host)) {
			snprintf(err, errlen, "bad address '%.64s'", address);
			return -EINVAL;
		}
		memcpy(host, address + 1, (size_t)(rb - address - 1));
		host[rb - address - 1] = 0;
		if (rb[1] == ':')
			port = rb + 2;
	} else {
		const char *colon = strrchr(address, ':');
		size_t n = colon ? (size_t)(colon - address) : strlen(address);
		if (n >= sizeof(host)) {
			snprintf(err, errlen, "bad address '%.64s'", address);
			return -EINVAL;
		}
		memcpy(host, address, n);
		host[n] = 0;
		if (colon)
			port = colon + 1;
	}
	struct addrinfo hints, *ai = NULL, *a;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	int g = getaddrinfo(host, port, &hints, &ai);
	if (g) {
		snprintf(err, errlen, "%s: %s", address, gai_strerror(g));
		return -EHOSTUNREACH;
	}
	int e = ECONNREFUSED;
	fd = -1;
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		struct timeval tv = {.tv_sec = SEND_TIMEOUT_S};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(err, errlen, "connect %s: %s", address, strerror(e));
		return -e;
	}
	return fd;
}

static void urlenc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			buf_addc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

int rpc_send_rrd(const char *address, const char *uuid, bool is_host, bool archive,
                 const char *session_id, const struct rrdb *r, char *err, size_t errlen)
{
	if (!address || !*address) {
		snprintf(err, errlen, "no remote address");
		return -EINVAL;
	}
	int fd = connect_to(address, err, errlen);
	if (fd < 0)
		return fd;
	struct buf body = BUF_INIT, head = BUF_INIT;
	exp_rrd_xml(&body, r, 1);
	buf_adds(&head, "PUT /rrd?");
	if (session_id && *session_id) {
		buf_adds(&head, "session_id=");
		urlenc(&head, session_id);
		buf_addc(&head, '&');
	}
	if (archive)
		buf_adds(&head, "archive=true&");
	buf_adds(&head, "uuid=");
	urlenc(&head, uuid);
	buf_printf(&head, "&is_host=%s", is_host ? "true" : "false");
	buf_printf(&head,
	           " HTTP/1.1\r\nHost: %s\r\nUser-Agent: rrdd/%s\r\nContent-Type: text/xml\r\n"
	           "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	           address[0] == '/' ? "localhost" : address, RRDD_VERSION, body.len);
	int rc = sock_send_all(fd, head.p, head.len);
	if (!rc)
		rc = sock_send_all(fd, body.p, body.len);
	buf_free(&head);
	buf_free(&body);
	if (rc) {
		snprintf(err, errlen, "sending to %s: %s", address, strerror(-rc));
		close(fd);
		return rc;
	}
	char resp[512];
	size_t got = 0;
	while (got < sizeof(resp) - 1) {
		ssize_t n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(resp, '\n', got) && got > 12)
			break;
	}
	close(fd);
	resp[got] = 0;
	int status = 0;
	if (sscanf(resp, "HTTP/%*d.%*d %d", &status) != 1) {
		snprintf(err, errlen, "%s: no HTTP answer", address);
		return -EPROTO;
	}
	if (status != 200) {
		char *body_start = strstr(resp, "\r\n\r\n");
		snprintf(err, errlen, "%s answered %d%s%.200s", address, status,
		         body_start ? ": " : "", body_start ? body_start + 4 : "");
		err[strcspn(err, "\r\n")] = 0;
		return -EREMOTEIO;
	}
	return 0;
}
