/*
 * Listening sockets for rrdd/http: the Unix sockets (created with mode
 * 0660 inside a directory created 0700 when missing; a stale socket file is
 * replaced, a socket some process still accepts on is refused, and a path
 * that is not a socket is never removed) and the TCP socket of --listen.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http/internal.h"
#include "http/listen.h"

static void mkparents(const char *path)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(tmp, 0700);
			*p = '/';
		}
}

int http_unix_listen(const char *path, int backlog, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a Unix socket", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	mkparents(path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket; not removing it",
			         path);
			return -EEXIST;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			snprintf(err, errlen,
			         "%s: another process is listening on this socket (is rrdd or "
			         "xcp-rrdd already running?)",
			         path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path); /* stale */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	mode_t old = umask(0117); /* the socket file is created 0660 */
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (rc) {
		close(fd);
		snprintf(err, errlen, "%s: bind: %s", path, strerror(e));
		return -e;
	}
	chmod(path, 0660);
	if (listen(fd, backlog)) {
		e = errno;
		close(fd);
		unlink(path);
		snprintf(err, errlen, "%s: listen: %s", path, strerror(e));
		return -e;
	}
	return fd;
}

int http_tcp_listen(const char *spec, bool *loopback, char *err, size_t errlen)
{
	char host[256];
	const char *port;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof(host)) {
			snprintf(err, errlen, "--listen %s: expected ADDR:PORT or [V6ADDR]:PORT",
			         spec);
			return -EINVAL;
		}
		memcpy(host, spec + 1, (size_t)(rb - spec - 1));
		host[rb - spec - 1] = 0;
		port = rb + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof(host)) {
			snprintf(err, errlen, "--listen %s: expected ADDR:PORT or [V6ADDR]:PORT",
			         spec);
			return -EINVAL;
		}
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
		port = colon + 1;
	}
	char *end;
	long pn = strtol(port, &end, 10);
	if (!*port || *end || pn < 0 || pn > 65535) {
		snprintf(err, errlen, "--listen %s: bad port", spec);
		return -EINVAL;
	}
	struct addrinfo hints, *ai = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	int g = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (g) {
		snprintf(err, errlen, "--listen %s: %s (a numeric address is expected)", spec,
		         gai_strerror(g));
		return -EINVAL;
	}
	*loopback = false;
	if (ai->ai_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ai->ai_addr;
		*loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	} else if (ai->ai_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ai->ai_addr;
		*loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		freeaddrinfo(ai);
		snprintf(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128)) {
		int e = errno;
		close(fd);
		freeaddrinfo(ai);
		snprintf(err, errlen, "--listen %s: %s", spec, strerror(e));
		return -e;
	}
	freeaddrinfo(ai);
	return fd;
}

unsigned http_sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}
