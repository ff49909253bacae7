/*
 * A small HTTP/1.1 client over a Unix socket, for the admin commands of
 * rrdd-tool that talk to a running daemon.  One request per connection
 * ("Connection: close"); the answer is read whole (Content-Length, chunked
 * or until close) under a size cap and a timeout.  Connection failures are
 * turned into the messages an admin needs ("rrdd is not running (no socket
 * at PATH)", permission denied with a hint).  No retries, no global state,
 * no printing: errors come back as text.
 */
#ifndef RRDD_TOOL_CLI_HTTP_H
#define RRDD_TOOL_CLI_HTTP_H

#include <stddef.h>

#include "util/buf.h"

/* Default socket of the daemon (wire-format.md §1: rrd_interface.ml default_path). */
#define CLI_DEFAULT_SOCKET "/var/lib/xcp/xcp-rrdd"

/* Exit status of a command that could not reach the daemon. */
#define CLI_EXIT_UNREACHABLE 3

struct cli_conn {
	const char *socket; /* path of the daemon's socket */
	int timeout_ms;     /* per-request limit on connect + answer */
	size_t max_body;    /* largest answer accepted */
};

struct cli_http_resp {
	int status;      /* HTTP status code */
	char ctype[128]; /* Content-Type, "" if absent */
	struct buf body; /* decoded body (caller frees with buf_free) */
};

/* Send one request (method, path with query, optional Accept header and
 * body with its content type) and read the whole answer into *out.  Returns
 * 0 (whatever the status code), -ECONNREFUSED/-ENOENT when the daemon is
 * not running, -EACCES when the socket may not be used, or another negative
 * errno; err always gets a one-line message on failure. */
int cli_http(const struct cli_conn *c, const char *method, const char *path, const char *accept,
             const char *body, size_t body_len, const char *body_type, struct cli_http_resp *out,
             char *err, size_t errlen);

/* Whether an error code from cli_http means the daemon could not be reached
 * (not running, no access), as opposed to a protocol error. */
int cli_http_unreachable(int rc);

#endif
