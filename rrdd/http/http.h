/*
 * The daemon's HTTP front end (wire-format.md §4, 5): libmicrohttpd listeners on the
 * Unix socket (GET/PUT endpoints and XML-RPC / JSON-RPC POSTs), an optional
 * TCP listener (loopback by default; access control and TLS for anything
 * else), and the forwarded socket on which xapi hands over accepted client
 * connections (SCM_RIGHTS + the JSON of the parsed request).
 *
 * The server reads the registry through its lock and copies what it formats
 * (the tick never waits for a client); RPC calls are carried to the
 * daemon's rpc/service.h, PUT /rrd goes through mon_commit and the store.
 * It does not own the registry, the store, the plugin registry or the
 * daemon.
 */
#ifndef RRDD_HTTP_HTTP_H
#define RRDD_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/service.h"

struct clk;
struct mon_registry;
struct store_dur;

#define HTTP_DEFAULT_SOCKET    "/var/lib/xcp/xcp-rrdd"
#define HTTP_DEFAULT_FORWARDED "/var/lib/xcp/xcp-rrdd.forwarded"

struct http_config {
	const char *socket_path;        /* NULL or "": no Unix listener */
	const char *forwarded_path;     /* NULL or "": no fd hand-over listener */
	const char *listen;             /* "ADDR:PORT", "[v6]:PORT", or NULL: no TCP */
	const char *auth_file;          /* credentials for TCP (see http_auth_load), or NULL */
	const char *rpc_path_dirs;      /* rpc_service_config.path_dirs */
	bool insecure_listen;           /* serve TCP without auth, writes included (without it and
	                                   without auth_file: loopback only, GET only) */
	const char *tls_cert, *tls_key; /* PEM files: HTTPS on the TCP listener */
	unsigned max_connections;       /* per listener; 0 = 256 */
	unsigned timeout_s;             /* idle connection timeout; 0 = 30 */
	unsigned header_timeout_s;      /* request headers complete within; 0 = 10 */
	unsigned body_timeout_s;        /* request body complete within; 0 = 60 */
	unsigned max_per_address;       /* TCP connections per client address; 0 = 64 */
	size_t max_put_bytes;           /* PUT /rrd body cap; 0 = 256 MiB */
	size_t max_rpc_bytes;           /* RPC body cap; 0 = 1 MiB */
	unsigned threads;               /* MHD worker threads; 0 = 4 */

	struct mon_registry *reg;    /* required */
	struct store_dur *dur;       /* required: the registry's store (archives) */
	struct clk *clk;             /* required: the daemon's clock */
	const char *host_uuid;       /* required: the installation uuid */
	struct rpc_pool_config pool; /* transfers to other hosts (rpc/send_rrd.h) */
	struct hastats *hastats;     /* HA and cache SR data sources (borrowed) */
	struct vmnames *vmnames;     /* the VMs' names for the exposition (borrowed, or NULL) */

	/* The RPC's plugins and next_reading (rpc/service.h). */
	struct rpc_plugin_hooks plugins;
	double (*next_tick)(void *ctx);
	void *next_tick_ctx;
};

struct http_server;

/* Start every configured listener (the Unix socket is created 0660 after
 * removing a stale socket; a socket some process still answers on is
 * refused).  Returns 0 and *out, or a negative errno with a one-line
 * message in err. */
int http_start(const struct http_config *cfg, struct http_server **out, char *err, size_t errlen);

/* Serve an accepted Unix stream connection from which nothing was read yet
 * as if it had come to the Unix socket (the v4 plugin socket hands over
 * xcp-metrics' v3 plugins, which send their XML-RPC there).  Takes fd in
 * every case.  Returns 0, or a negative errno (no Unix listener, or
 * libmicrohttpd refused it: fd closed). */
int http_adopt_unix(struct http_server *s, int fd);

/* The TCP port actually bound (useful with port 0), or 0. */
unsigned http_tcp_port(const struct http_server *s);

/* Stop accepting, wait for handlers in flight, remove the socket files and
 * free the server.  NULL is a no-op. */
void http_stop(struct http_server *s);

#endif
