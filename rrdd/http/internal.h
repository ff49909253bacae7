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

#include "daemon/omexpo.h"
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

/* An immutable body shared by every response that sends it (rendered once,
 * sent many times without a copy); freed with its last reference
 * (body_cache.c). */
struct http_blob {
	atomic_uint ref;
	size_t len;
	char *p;
};

/* A blob of b's bytes (b's storage is taken, b left empty), one reference. */
struct http_blob *http_blob_take(struct buf *b);
struct http_blob *http_blob_ref(struct http_blob *b);
/* Drop one reference (NULL is a no-op). */
void http_blob_unref(struct http_blob *b);
/* Bytes of answers alive now: every blob (cached or being sent) and the
 * values copied for answers produced while the client reads.  Beyond
 * HTTP_MAX_LIVE_BYTES no new large answer is started (503). */
#define HTTP_MAX_LIVE_BYTES ((size_t)1 << 30)
size_t http_live_bytes(void);
/* Count n more bytes if that stays within HTTP_MAX_LIVE_BYTES: true; or
 * false (nothing counted). */
bool http_live_reserve(size_t n);
void http_live_sub(size_t n);

struct http_resp {
	int status;
	const char *ctype; /* static string, or NULL for none */
	bool cors;         /* Access-Control-Allow-Origin: * */
	bool cors_headers; /* also Access-Control-Allow-Headers: X-Requested-With */
	bool no_cache;     /* Cache-Control: no-cache, no-store */
	enum http_framing framing;
	struct buf body; /* used when gen and blob are NULL */
	struct http_gen *gen;
	struct http_blob *blob; /* a shared body (one reference owned), framing HF_LENGTH */
};

/* The cache of rendered rrd_updates bodies (body_cache.c): keys are
 * normalized queries, valid at one registry generation; a slot is one
 * render, in flight or done.  Thread-safe; call find/claim/alias with the
 * registry lock held (so the generation is the one the caller reads), and
 * wait/render_begin without it. */
struct ucache;
struct ucache_slot;
struct ucache_stats {
	uint64_t hits;      /* answers served from a finished render */
	uint64_t waits;     /* answers that waited for a render in flight */
	uint64_t renders;   /* renders started (cached or not) */
	uint64_t evictions; /* entries dropped */
	uint64_t rendered_bytes;
	size_t entries, bytes; /* now */
};
/* At most max_entries keys, max_bytes of kept bodies (a body larger than
 * half of it is served to the requests waiting for it, not kept), and
 * max_renders renders at once (ucache_render_begin). */
struct ucache *ucache_new(unsigned max_entries, size_t max_bytes, unsigned max_renders);
void ucache_free(struct ucache *c);
/* The slot of key at generation gen (a reference for ucache_wait), or NULL.
 * Seeing a newer generation drops every older entry. */
struct ucache_slot *ucache_find(struct ucache *c, const char *key, uint64_t gen);
/* The slot of key, or a new in-flight one (*mine = true: the caller must
 * render and ucache_publish it; otherwise pass it to ucache_wait). */
struct ucache_slot *ucache_claim(struct ucache *c, const char *key, uint64_t gen, bool *mine);
/* Make key at gen find slot s too (no reference passed). */
void ucache_alias(struct ucache *c, const char *key, uint64_t gen, struct ucache_slot *s);
/* The renderer's result: body (its reference is taken) or NULL (no
 * cacheable answer: the waiters render on their own).  Wakes the waiters
 * and drops the caller's slot reference. */
void ucache_publish(struct ucache *c, struct ucache_slot *s, struct http_blob *body);
/* Block until s is published; its body (a new reference) or NULL.  Drops
 * the slot reference. */
struct http_blob *ucache_wait(struct ucache *c, struct ucache_slot *s);
/* Bound concurrent renders: begin blocks while max_renders run. */
void ucache_render_begin(struct ucache *c);
void ucache_render_end(struct ucache *c);
void ucache_stats(struct ucache *c, struct ucache_stats *out);

/* Route: which endpoint a (method, path) goes to (longest prefix per
 * method, wire-format.md §4.1). */
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
	struct vmnames *vmnames; /* the VMs' names for /metrics (NULL: none) */
	const char *host_uuid;
	struct store_dur *dur;
	const char *archive_dir; /* NULL: none (the store's) */
	size_t max_put_bytes, max_rpc_bytes;
	struct rpc_backend be;
	struct rpc_service *rpc; /* the methods' implementation */
	struct ucache *ucache;   /* rendered rrd_updates bodies */
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

/* Accept negotiation (wire-format.md §4.2, accept.c): true for JSON. */
bool http_prefers_json(const char *accept, bool query_has_json);

/* Endpoints. */
void ep_updates(struct http_ctx *c, const struct http_req *req, struct http_resp *resp);
void ep_rrd(struct http_ctx *c, enum http_route r, const struct http_req *req,
            struct http_resp *resp);
void ep_metrics(struct http_ctx *c, const struct http_req *req, struct http_resp *resp);
/* The exposition as the whole answer (GET /metrics, the OpenMetrics RPC)
 * in form, with its content type. */
void ep_openmetrics_answer(struct http_ctx *c, enum om_form form, struct http_resp *resp);
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

/* The HTTP workers (workers.c): threads that run jobs handed over by the
 * event threads, in submission order. */
struct http_job {
	void (*run)(struct http_job *j); /* may free the job */
	struct http_job *next;           /* the queue's */
};
struct http_workers;
/* nthreads threads (at least one); name is for log lines. */
struct http_workers *http_workers_new(unsigned nthreads, const char *name);
/* Queue j for a worker: true, or false once the workers are closed (the
 * caller then runs it itself). */
bool http_workers_submit(struct http_workers *w, struct http_job *j);
/* Refuse new jobs, run every queued one, join the threads. */
void http_workers_close(struct http_workers *w);
/* Close and free (NULL is a no-op). */
void http_workers_free(struct http_workers *w);

/* The connection guard of a listener (connguard.c): time limits on
 * receiving a request, and free slots under pressure. */
enum gd_phase {
	GD_WAITING, /* no request yet, or idle after an answer */
	GD_BODY,    /* headers received, body arriving */
	GD_BUSY,    /* being answered or sent: not the guard's */
};
struct gd_stats {             /* what the guard closed (logged) */
	uint64_t header_late; /* closed: no complete request headers in time */
	uint64_t body_late;   /* closed: body not complete in time */
	uint64_t evicted;     /* closed waiting, to free slots under pressure */
};
struct conn_guard;
struct gd_conn;
/* A guard for a listener of max_conns connections with its sweeping
 * thread; name is for log lines (borrowed). */
struct conn_guard *gd_new(const char *name, unsigned max_conns, unsigned header_s, unsigned body_s,
                          unsigned idle_s);
/* Stop the thread and free every entry (the listener is stopped first). */
void gd_free(struct conn_guard *g);
/* A connection accepted on socket fd: its entry, in GD_WAITING. */
struct gd_conn *gd_open(struct conn_guard *g, int fd);
/* The connection entered phase (its deadline starts now); NULL is a no-op. */
void gd_phase(struct conn_guard *g, struct gd_conn *e, enum gd_phase phase);
/* The connection is closed (before its socket is): forget it.  NULL ok. */
void gd_close(struct conn_guard *g, struct gd_conn *e);

/* The forwarded socket's sender (fwd_send.c): answers written without
 * blocking by one thread; a client taking nothing for idle_s is dropped. */
struct fwd_sender;
struct fwd_sender *fsnd_new(unsigned idle_s);
/* Send head then r's body (blob, buffer or pieces; taken, r left empty) on
 * fd, then close fd and ctl (-1: none) and decrement *active (NULL: none). */
void fsnd_submit(struct fwd_sender *s, int fd, int ctl, const struct buf *head, struct http_resp *r,
                 atomic_uint *active);
/* Stop the thread; answers not yet sent are dropped. */
void fsnd_free(struct fwd_sender *s);

/* Forwarded-socket listener (forwarded.c). */
struct fwd_server;
int fwd_start(struct http_ctx *c, const char *path, unsigned max_conns, unsigned timeout_s,
              struct fwd_server **out, char *err, size_t errlen);
void fwd_stop(struct fwd_server *f);

#endif
