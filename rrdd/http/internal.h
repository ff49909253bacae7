/*
 * Internal interfaces of rrdd/http: a transport-neutral request and
 * response, so the same endpoint code answers requests that came through
 * libmicrohttpd (server.c) and requests xapi handed over on the forwarded
 * socket (forwarded.c, which writes the response on the received fd
 * itself).  Not a public contract outside rrdd/http.
 */
#ifndef RRDD_HTTP_INTERNAL_H
#define RRDD_HTTP_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "rpc/methods.h"
#include "util/buf.h"

enum http_method { HM_GET, HM_POST, HM_PUT, HM_OTHER };

struct http_kv {
	const char *k, *v; /* v is "" for a key without '=' */
};

/* A parsed request; every string is borrowed from the transport. */
struct http_req {
	enum http_method m;
	const char *path;
	const struct http_kv *query; /* in order, duplicates kept */
	size_t nquery;
	const char *accept;       /* NULL when absent */
	const char *content_type; /* NULL when absent */
	const char *body;         /* POST: the whole body */
	size_t body_len;
};

/* A body produced piece by piece: next appends the next piece to out and
 * returns 1, or returns 0 at the end (out untouched). */
struct http_gen {
	int (*next)(struct http_gen *g, struct buf *out);
	void (*free)(struct http_gen *g);
};

enum http_framing {
	HF_LENGTH, /* HTTP/1.1 with Content-Length (keep-alive allowed) */
	HF_CLOSE,  /* HTTP/1.0 style: no length, the body ends at close (full RRDs) */
};

struct http_resp {
	int status;
	const char *ctype; /* static string, or NULL for none */
	bool cors;         /* Access-Control-Allow-Origin: * */
	bool cors_headers; /* also Access-Control-Allow-Headers: X-Requested-With */
	bool no_cache;     /* Cache-Control: no-cache, no-store */
	enum http_framing framing;
	struct buf body; /* used when gen is NULL */
	struct http_gen *gen;
};

/* Route: which endpoint a (method, path) goes to (longest prefix per
 * method, spec 4.1). */
enum http_route {
	R_FORBIDDEN, /* unmatched path: 403 */
	R_NOT_IMPL,  /* unsupported method: 501 */
	R_UPDATES,
	R_HOST_RRD,
	R_VM_RRD,
	R_SR_RRD,
	R_UNARCHIVE,
	R_METRICS,
	R_GRAPH,    /* GET /graph (ep_graph.c) */
	R_RRD_FILE, /* GET /rrd_file (ep_graph.c) */
	R_PUT_RRD,
	R_RPC,
};

struct plg_registry;

/* Server-wide state the endpoints need (one per http_server). */
struct http_ctx {
	struct mon_registry *reg;
	const char *host_uuid;
	char *archive_dir; /* NULL: none */
	size_t max_put_bytes, max_rpc_bytes;
	struct rpc_backend be;
	struct rpcsvc *rpc; /* rpc_backend.c state */
	atomic_uint_fast64_t requests, errors;
};

enum http_route http_route(enum http_method m, const char *path);

/* Run a GET/POST endpoint into resp (status and body always set). */
void http_dispatch(struct http_ctx *c, enum http_route r, const struct http_req *req,
                   struct http_resp *resp);

/* Response helpers. */
void http_resp_init(struct http_resp *r);
void http_resp_free(struct http_resp *r);
void http_resp_error(struct http_resp *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *http_reason(int status);

/* Query helpers: the first value of key, or NULL. */
const char *http_q(const struct http_req *req, const char *key);
bool http_q_has(const struct http_req *req, const char *key);

/* Accept negotiation (spec 4.2, accept.c): true for JSON. */
bool http_prefers_json(const char *accept, bool query_has_json);

/* Endpoints. */
void ep_updates(struct http_ctx *c, const struct http_req *req, struct http_resp *resp);
void ep_rrd(struct http_ctx *c, enum http_route r, const struct http_req *req,
            struct http_resp *resp);
void ep_metrics(struct http_ctx *c, const struct http_req *req, struct http_resp *resp);
void ep_graph(struct http_ctx *c, enum http_route r, const struct http_req *req,
              struct http_resp *resp);
void ep_rpc(struct http_ctx *c, const struct http_req *req, struct http_resp *resp);

/* PUT /rrd as a session fed with the body as it arrives (ep_put.c). */
struct put_session;
/* Validate the query; returns a session, or NULL with resp set (an error). */
struct put_session *put_begin(struct http_ctx *c, const struct http_req *req,
                              struct http_resp *resp);
/* Feed body bytes; 0, or -1 with resp set (error; stop reading). */
int put_feed(struct put_session *s, const void *data, size_t n, struct http_resp *resp);
/* End of body: install/archive the RRD; resp set in every case; frees s. */
void put_finish(struct put_session *s, struct http_resp *resp);
void put_abort(struct put_session *s);

/* The RPC backend over the registry (rpc_backend.c). */
struct rpcsvc *rpcsvc_new(const struct http_config *cfg, struct http_ctx *c);
void rpcsvc_free(struct rpcsvc *s);

/* Send an RRD (internal XML) to another host's /rrd with PUT (send_rrd.c).
 * address is "host[:port]" (port 80 by default); archive adds
 * &archive=true.  0, or a negative errno with a message. */
struct rrdb;
int http_send_rrd(const char *address, const char *uuid, bool is_host, bool archive,
                  const char *session_id, const struct rrdb *r, char *err, size_t errlen);

/* Forwarded-socket listener (forwarded.c). */
struct fwd_server;
int fwd_start(struct http_ctx *c, const char *path, unsigned max_conns, unsigned timeout_s,
              struct fwd_server **out, char *err, size_t errlen);
void fwd_stop(struct fwd_server *f);

/* Bind a Unix stream socket at path (stale socket replaced, live refused),
 * mode 0660, listening.  Returns the fd or a negative errno with message. */
int http_unix_listen(const char *path, int backlog, char *err, size_t errlen);

#endif
