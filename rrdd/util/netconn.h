/*
 * A client connection for the transfers between hosts (PUT /rrd to
 * another host, GET /host_rrd from the master): TCP, a Unix socket, or TLS
 * over TCP with GnuTLS, every operation bounded by one deadline (a
 * clk_elapsed() time), never blocking past it whatever the peer does
 * (silent, slow, half-open).  Used by worker threads only.
 */
#ifndef RRDD_UTIL_NETCONN_H
#define RRDD_UTIL_NETCONN_H

#include <stddef.h>
#include <sys/types.h>

struct nc;

/* TLS parameters. */
struct nc_tls {
	const char *sni; /* server name sent (xapi's pool certificate: "pool"), or NULL */
	/* PEM file of the certificates to accept, or NULL: the peer is not
	 * verified.  When set, the peer's certificate must verify against
	 * them (signature, dates) and be one of them (stunnel's verifyPeer,
	 * as xapi's pool connections: the bundle holds every member's
	 * certificate). */
	const char *ca_bundle;
};

/* Connect to address: "/unix/path", or "host", "host:port", "[v6]" or
 * "[v6]:port" (default_port when none), through TLS when tls is not NULL
 * (handshake and verification included).  0 with *out set, or a negative
 * errno with a one-line reason in err (-ETIMEDOUT past the deadline,
 * -EPROTO for a TLS failure, -EPERM for a certificate refused). */
int nc_connect(struct nc **out, const char *address, int default_port, const struct nc_tls *tls,
               double deadline, char *err, size_t errlen);

/* Write all n bytes.  0 or a negative errno with a reason. */
int nc_write_all(struct nc *c, const void *p, size_t n, char *err, size_t errlen);

/* Read at most n bytes: the count, 0 at the end of the stream, or a
 * negative errno with a reason. */
ssize_t nc_read(struct nc *c, void *p, size_t n, char *err, size_t errlen);

/* End our direction (TLS close_notify, then shutdown(SHUT_WR)); reading
 * goes on.  0 or a negative errno. */
int nc_end_write(struct nc *c);

/* Move the deadline of the operations that follow. */
void nc_set_deadline(struct nc *c, double deadline);

/* Close and free; NULL is a no-op. */
void nc_close(struct nc *c);

/* Split "host", "host:port", "[v6]", "[v6]:port" into host and port
 * (default_port when none).  0 or -EINVAL. */
int nc_split_address(const char *address, int default_port, char *host, size_t hostlen, int *port);

#endif
