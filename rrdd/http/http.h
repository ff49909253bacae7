/*
 * The daemon's HTTP front end (wire-format.md §4, 5): libmicrohttpd listeners on the
 * Unix socket (GET/PUT endpoints and XML-RPC / JSON-RPC POSTs), an optional
 * TCP listener (loopback by default; access control and TLS for anything
 * else), and the forwarded socket on which xapi hands over accepted client
 * connections (SCM_RIGHTS + the JSON of the parsed request).
 *
 * The server reads the registry through its lock and copies what it formats
 * (the tick never waits for a client), talks to the plugin registry through
 * the hooks below, and writes archives through store/archive.h.  It does not
 * own the registry, the plugin registry or the daemon.
 */
#ifndef RRDD_HTTP_HTTP_H
#define RRDD_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mon_registry;

#define HTTP_DEFAULT_SOCKET    "/var/lib/xcp/xcp-rrdd"
#define HTTP_DEFAULT_FORWARDED "/var/lib/xcp/xcp-rrdd.forwarded"

/* Time keeping for Plugin.*.next_reading when no plugin registry is given:
 * seconds until the daemon's next tick (negative when overdue). */
typedef double (*http_next_tick_fn)(void *ctx);

/* The plugin registry as the RPC needs it (same contracts as plg_register,
 * plg_deregister, plg_next_reading and plg_path in plugin/registry.h). */
struct http_plugin_hooks {
	void *ctx;
	int (*reg)(void *ctx, const char *uid, int protocol);
	int (*dereg)(void *ctx, const char *uid);
	double (*next_reading)(void *ctx, const char *uid);
	int (*path)(void *ctx, const char *uid, char *buf, size_t len);
};

struct http_config {
	const char *socket_path;        /* NULL or "": no Unix listener */
	const char *forwarded_path;     /* NULL or "": no fd hand-over listener */
	const char *listen;             /* "ADDR:PORT", "[v6]:PORT", or NULL: no TCP */
	const char *auth_file;          /* credentials for TCP (see http_auth_load), or NULL */
	bool insecure_listen;           /* allow a non-loopback TCP address without auth */
	const char *tls_cert, *tls_key; /* PEM files: HTTPS on the TCP listener */
	unsigned max_connections;       /* per listener; 0 = 256 */
	unsigned timeout_s;             /* idle connection timeout; 0 = 30 */
	size_t max_put_bytes;           /* PUT /rrd body cap; 0 = 256 MiB */
	size_t max_rpc_bytes;           /* RPC body cap; 0 = 1 MiB */
	unsigned threads;               /* MHD worker threads; 0 = 4 */

	struct mon_registry *reg; /* required */
	const char *host_uuid;    /* required: the installation uuid */
	const char *archive_dir;  /* NULL or "": archive calls fail with Archive_failed */
	bool use_min_max;         /* initial value for update_use_min_max (recorded) */

	/* Plugins: hooks onto the daemon's plugin registry (plugin/registry.h),
	 * or all NULL: then the RPC keeps a table of its own and answers
	 * next_reading from next_tick. */
	struct http_plugin_hooks plugins;
	http_next_tick_fn next_tick;
	void *next_tick_ctx;
};

struct http_server;

/* Start every configured listener (the Unix socket is created 0660 after
 * removing a stale socket; a socket some process still answers on is
 * refused).  Returns 0 and *out, or a negative errno with a one-line
 * message in err. */
int http_start(const struct http_config *cfg, struct http_server **out, char *err, size_t errlen);

/* The TCP port actually bound (useful with port 0), or 0. */
unsigned http_tcp_port(const struct http_server *s);

/* Stop accepting, wait for handlers in flight, remove the socket files and
 * free the server.  NULL is a no-op. */
void http_stop(struct http_server *s);

#endif
