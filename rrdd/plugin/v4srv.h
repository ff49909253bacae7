/*
 * The v4 plugin socket (xcp-metrics' "protocol v4", docs/wire-format.md
 * §11.3): plugins connect to a Unix socket, send length-prefixed CBOR
 * messages (plugin/v4msg.h) that create families and set metrics, and ask
 * for the daemon's OpenMetrics exposition.  The same path is where
 * xcp-metrics' protocol v3 plugins send their HTTP XML-RPC registration:
 * a connection whose first byte is not 0 (no v4 frame starts otherwise) is
 * handed to the HTTP server.  Each connection is a plugin of
 * the registry (plg_register_source): at every tick its families and
 * metrics are given as a v3 page, so they reach the RRDs through the v3
 * mapping exactly as a v3 plugin's would; when the connection closes the
 * plugin is deregistered and its data sources are not reported from the
 * next tick on.
 *
 * Bounds (docs/limits.md): connections (more are closed at once, logged
 * once per state change); 512 KiB per message (a larger length prefix
 * closes the connection, as xcp-metrics does); families and metrics per
 * connection and metrics overall; 1 MiB of input per connection per round
 * of the event loop, so one flooding plugin cannot starve the others; 64
 * MiB of unread FetchMetrics answers per connection.  A malformed or
 * refused message is skipped, counted and logged once per connection.
 *
 * Threads: one event thread; the tick thread reads connections' pages
 * under the server's lock, which the event thread holds only while it
 * applies one message.
 */
#ifndef RRDD_PLUGIN_V4SRV_H
#define RRDD_PLUGIN_V4SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin/registry.h"
#include "util/buf.h"

#define V4_DEFAULT_PATH        "/var/lib/xcp/xcp-metrics"
#define V4_DEFAULT_CONNS       64u
#define V4_DEFAULT_FAMILIES    4096u
#define V4_DEFAULT_METRICS_ALL 400000u
#define V4_ROUND_BYTES         (1024u * 1024)
#define V4_MAX_UNREAD          (64u * 1024 * 1024)
#define V4_FIRST_BYTE_SECONDS  10.0 /* a connection that sends nothing is closed */

struct v4srv_config {
	const char *path;     /* the socket */
	const char *mode_dir; /* the socket takes this directory's owner and mode
	                         (the plugin directory); NULL: 0600 */
	struct plg_registry *reg;
	unsigned max_conns;     /* 0: V4_DEFAULT_CONNS */
	size_t max_families;    /* per connection; 0: V4_DEFAULT_FAMILIES */
	size_t max_metrics;     /* per connection; 0: PLG_V3_MAX_METRICS */
	size_t max_metrics_all; /* over all connections; 0: V4_DEFAULT_METRICS_ALL */
	double first_byte;      /* seconds a new connection has to send its first
	                           byte, else it is closed; 0: V4_FIRST_BYTE_SECONDS */
	/* FetchMetrics: append the daemon's exposition (text, or protobuf when
	 * binary) to out; returns 0 or -1.  NULL: FetchMetrics is refused. */
	int (*fetch)(void *ctx, bool binary, struct buf *out);
	void *fetch_ctx;
	/* A connection whose first byte is not 0 is HTTP (xcp-metrics' v3
	 * plugins POST their XML-RPC registration to this path): handed to
	 * adopt_http, which takes the fd.  NULL: such connections are closed. */
	int (*adopt_http)(void *ctx, int fd);
	void *adopt_ctx;
};

/* Counters (cumulative), for logs and tests. */
struct v4srv_stats {
	uint64_t accepted, refused, closed;
	uint64_t silent; /* closed for sending nothing within the first-byte deadline */
	uint64_t messages, bad_messages, oversized;
	uint64_t metrics; /* live metrics now */
};

struct v4srv;

/* Bind the socket and start the event thread.  Returns 0 and *out, or a
 * negative errno with a one-line message in err. */
int v4srv_start(const struct v4srv_config *cfg, struct v4srv **out, char *err, size_t errlen);

/* Stop the thread, deregister every connection's plugin, remove the
 * socket and free the server.  NULL is a no-op. */
void v4srv_stop(struct v4srv *s);

/* A copy of the counters. */
void v4srv_get_stats(struct v4srv *s, struct v4srv_stats *out);

#endif
