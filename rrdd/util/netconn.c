/*
 * Client connections with a deadline (see netconn.h): a non-blocking
 * socket, poll(2) until the deadline for connect, the TLS handshake, every
 * read and write; GnuTLS for TLS with the system's default priorities.
 */
#include "util/netconn.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock/clock.h"
#include "util/xalloc.h"

struct nc {
	int fd;
	double deadline;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t cred;
};

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - clk_elapsed();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = events};
		int ms = left > 3600 ? 3600000 : (int)ceil(left * 1000);
		int n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int nc_split_address(const char *address, int default_port, char *host, size_t hostlen, int *port)
{
	const char *ps = NULL;
	size_t n;
	if (address[0] == '[') {
		const char *rb = strchr(address, ']');
		if (!rb)
			return -EINVAL;
		n = (size_t)(rb - address - 1);
		if (rb[1] == ':')
			ps = rb + 2;
		else if (rb[1])
			return -EINVAL;
		address++;
	} else {
		const char *colon = strchr(address, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
		n = colon ? (size_t)(colon - address) : strlen(address);
		if (colon)
			ps = colon + 1;
	}
	if (n == 0 || n >= hostlen)
		return -EINVAL;
	memcpy(host, address, n);
	host[n] = 0;
	*port = default_port;
	if (ps) {
		char *end;
		long v = strtol(ps, &end, 10);
		if (!*ps || *end || v < 1 || v > 65535)
			return -EINVAL;
		*port = (int)v;
	}
	return 0;
}

/* Connect fd (non-blocking) to sa within the deadline. */
static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len, double deadline)
{
	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return -errno;
	int rc = wait_fd(fd, POLLOUT, deadline);
	if (rc)
		return rc;
	int e = 0;
	socklen_t el = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el))
		return -errno;
	return -e;
}

static int open_socket(const char *address, int default_port, double deadline, char *err,
                       size_t errlen)
{
	if (address[0] == '/') {
		struct sockaddr_un sa;
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		if (strlen(address) >= sizeof(sa.sun_path)) {
			snprintf(err, errlen, "%.100s: path too long", address);
			return -ENAMETOOLONG;
		}
		strcpy(sa.sun_path, address);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -errno;
		int rc = connect_fd(fd, (struct sockaddr *)&sa, sizeof(sa), deadline);
		if (rc) {
			close(fd);
			snprintf(err, errlen, "connect %.100s: %s", address, strerror(-rc));
			return rc;
		}
		return fd;
	}
	char host[256], port[16];
	int p;
	if (nc_split_address(address, default_port, host, sizeof(host), &p)) {
		snprintf(err, errlen, "bad address '%.100s'", address);
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%d", p);
	struct addrinfo hints, *ai = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	int g = getaddrinfo(host, port, &hints, &ai);
	if (g) {
		snprintf(err, errlen, "%.100s: %s", host, gai_strerror(g));
		return -EHOSTUNREACH;
	}
	int rc = -ECONNREFUSED, fd = -1;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		rc = connect_fd(fd, a->ai_addr, a->ai_addrlen, deadline);
		if (!rc)
			break;
		close(fd);
		fd = -1;
		if (rc == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(err, errlen, "connect %.100s port %d: %s", host, p,
		         rc == -ETIMEDOUT ? "no answer in time" : strerror(-rc));
		return rc;
	}
	return fd;
}

/* Wait for the direction GnuTLS is blocked on. */
static int tls_wait(struct nc *c)
{
	return wait_fd(c->fd, gnutls_record_get_direction(c->tls) ? POLLOUT : POLLIN, c->deadline);
}

static int read_file(const char *path, gnutls_datum_t *out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	size_t cap = 1u << 16, n = 0;
	unsigned char *p = xmalloc(cap);
	size_t got;
	while ((got = fread(p + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			if (cap >= (16u << 20)) {
				free(p);
				fclose(f);
				return -EFBIG;
			}
			cap *= 2;
			p = xrealloc(p, cap);
		}
	}
	fclose(f);
	out->data = p;
	out->size = (unsigned)n;
	return 0;
}

/* verifyPeer: the peer's certificate verifies against the bundle and is
 * one of its certificates. */
static int verify_peer(struct nc *c, const char *bundle, char *err, size_t errlen)
{
	unsigned status = 0;
	int rc = gnutls_certificate_verify_peers2(c->tls, &status);
	if (rc < 0 || status) {
		gnutls_datum_t why = {0};
		if (rc >= 0)
			gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why,
			                                             0);
		snprintf(err, errlen, "peer certificate refused: %s",
		         rc < 0     ? gnutls_strerror(rc)
		         : why.data ? (char *)why.data
		                    : "invalid");
		gnutls_free(why.data);
		return -EPERM;
	}
	unsigned npeer = 0;
	const gnutls_datum_t *peer = gnutls_certificate_get_peers(c->tls, &npeer);
	if (!peer || !npeer) {
		snprintf(err, errlen, "peer sent no certificate");
		return -EPERM;
	}
	gnutls_datum_t pem = {0};
	int r = read_file(bundle, &pem);
	if (r) {
		snprintf(err, errlen, "%.200s: %s", bundle, strerror(-r));
		return r;
	}
	gnutls_x509_crt_t *list = NULL;
	unsigned n = 0;
	rc = gnutls_x509_crt_list_import2(&list, &n, &pem, GNUTLS_X509_FMT_PEM, 0);
	free(pem.data);
	bool found = false;
	for (unsigned i = 0; rc >= 0 && i < n; i++) {
		gnutls_datum_t der = {0};
		if (!found && gnutls_x509_crt_export2(list[i], GNUTLS_X509_FMT_DER, &der) >= 0 &&
		    der.size == peer[0].size && !memcmp(der.data, peer[0].data, der.size))
			found = true;
		gnutls_free(der.data);
		gnutls_x509_crt_deinit(list[i]);
	}
	gnutls_free(list);
	if (!found) {
		snprintf(err, errlen, "peer certificate is not one of %.200s", bundle);
		return -EPERM;
	}
	return 0;
}

static int tls_start(struct nc *c, const struct nc_tls *t, char *err, size_t errlen)
{
	int rc = gnutls_certificate_allocate_credentials(&c->cred);
	if (rc >= 0 && t->ca_bundle) {
		rc = gnutls_certificate_set_x509_trust_file(c->cred, t->ca_bundle,
		                                            GNUTLS_X509_FMT_PEM);
		if (rc <= 0) {
			snprintf(err, errlen, "%.200s: %s", t->ca_bundle,
			         rc == 0 ? "no certificate" : gnutls_strerror(rc));
			return -ENOENT;
		}
	}
	if (rc >= 0)
		rc = gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	if (rc >= 0)
		rc = gnutls_set_default_priority(c->tls);
	if (rc >= 0)
		rc = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
	if (rc >= 0 && t->sni)
		rc = gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, t->sni, strlen(t->sni));
	if (rc < 0) {
		snprintf(err, errlen, "TLS setup: %s", gnutls_strerror(rc));
		return -EPROTO;
	}
	gnutls_transport_set_int(c->tls, c->fd);
	do {
		rc = gnutls_handshake(c->tls);
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
			int w = tls_wait(c);
			if (w) {
				snprintf(err, errlen, "TLS handshake: %s",
				         w == -ETIMEDOUT ? "no answer in time" : strerror(-w));
				return w;
			}
		} else if (rc < 0 && !gnutls_error_is_fatal(rc)) {
			rc = GNUTLS_E_AGAIN;
		}
	} while (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED);
	if (rc < 0) {
		snprintf(err, errlen, "TLS handshake: %s", gnutls_strerror(rc));
		return -EPROTO;
	}
	return t->ca_bundle ? verify_peer(c, t->ca_bundle, err, errlen) : 0;
}

int nc_connect(struct nc **out, const char *address, int default_port, const struct nc_tls *tls,
               double deadline, char *err, size_t errlen)
{
	*out = NULL;
	int fd = open_socket(address, default_port, deadline, err, errlen);
	if (fd < 0)
		return fd;
	struct nc *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->deadline = deadline;
	if (tls) {
		int rc = tls_start(c, tls, err, errlen);
		if (rc) {
			nc_close(c);
			return rc;
		}
	}
	*out = c;
	return 0;
}

int nc_write_all(struct nc *c, const void *p, size_t n, char *err, size_t errlen)
{
	const char *s = p;
	while (n) {
		ssize_t w;
		bool again;
		if (c->tls) {
			w = gnutls_record_send(c->tls, s, n);
			again = w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED;
		} else {
			w = send(c->fd, s, n, MSG_NOSIGNAL);
			again = w < 0 && (errno == EAGAIN || errno == EINTR);
		}
		if (again) {
			int rc = c->tls ? tls_wait(c) : wait_fd(c->fd, POLLOUT, c->deadline);
			if (rc) {
				snprintf(err, errlen, "sending: %s",
				         rc == -ETIMEDOUT ? "peer not reading in time"
				                          : strerror(-rc));
				return rc;
			}
			continue;
		}
		if (w < 0) {
			int e = c->tls ? EPIPE : errno;
			snprintf(err, errlen, "sending: %s",
			         c->tls ? gnutls_strerror((int)w) : strerror(e));
			return -e;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t nc_read(struct nc *c, void *p, size_t n, char *err, size_t errlen)
{
	for (;;) {
		ssize_t r;
		if (c->tls) {
			r = gnutls_record_recv(c->tls, p, n);
			if (r == GNUTLS_E_PREMATURE_TERMINATION)
				return 0; /* TCP closed without close_notify: the end all the same
				           */
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
				r = -EAGAIN;
			else if (r < 0) {
				snprintf(err, errlen, "receiving: %s", gnutls_strerror((int)r));
				return -EPROTO;
			}
		} else {
			r = recv(c->fd, p, n, 0);
			if (r < 0)
				r = (errno == EAGAIN || errno == EINTR) ? -EAGAIN : -errno;
		}
		if (r != -EAGAIN) {
			if (r < 0)
				snprintf(err, errlen, "receiving: %s", strerror((int)-r));
			return r;
		}
		int rc = c->tls ? tls_wait(c) : wait_fd(c->fd, POLLIN, c->deadline);
		if (rc) {
			snprintf(err, errlen, "receiving: %s",
			         rc == -ETIMEDOUT ? "no answer in time" : strerror(-rc));
			return rc;
		}
	}
}

int nc_end_write(struct nc *c)
{
	if (c->tls) {
		int rc;
		do {
			rc = gnutls_bye(c->tls, GNUTLS_SHUT_WR);
			if ((rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) && tls_wait(c))
				return -ETIMEDOUT;
		} while (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED);
		if (rc < 0)
			return -EPROTO;
	}
	return shutdown(c->fd, SHUT_WR) ? -errno : 0;
}

void nc_set_deadline(struct nc *c, double deadline)
{
	c->deadline = deadline;
}

void nc_close(struct nc *c)
{
	if (!c)
		return;
	if (c->tls)
		gnutls_deinit(c->tls);
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	close(c->fd);
	free(c);
}
