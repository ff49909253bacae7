/*
 * The libmicrohttpd side of rrdd/http: one MHD daemon per listener (the
 * Unix socket, the optional TCP one with access control and TLS), the
 * access handler that turns MHD requests into struct http_req (body of
 * POSTs gathered up to a cap, PUT /rrd bodies streamed into the parser),
 * responses turned into MHD responses (whole buffers with Content-Length,
 * or bodies produced while the client reads), and http_start/http_stop.
 *
 * Bounds: connections per listener, idle timeout, per-connection memory
 * (which bounds the request line and headers), body caps; MHD runs a small
 * pool of epoll threads with non-blocking sockets, so a client that stops
 * reading holds only its own memory, never a thread or the registry lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http/internal.h"
#include "http/listen.h"
#include "store/durable.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MAX_AUTH 16
/* Per connection: libmicrohttpd's pool for the request line, headers and
 * query parameters; and the query parameters an endpoint looks at. */
#define HTTP_CONN_MEMORY (1024 * 1024)
/* What a query may cost in that pool: its bytes plus about 64 per
 * parameter (5,000 vm_uuid parameters take 545 KB). */
#define QUERY_BUDGET     (HTTP_CONN_MEMORY / 4 * 3)
#define QUERY_PARAM_COST 64

/* Rendered rrd_updates bodies kept: keys, bytes, renders at once. */
#define UCACHE_ENTRIES 64
#define UCACHE_BYTES   (96u << 20)
#define UCACHE_RENDERS 2

struct cred {
	bool bearer;
	char *secret; /* token, or "user:password" */
};

struct listener {
	struct http_server *srv;
	struct MHD_Daemon *d;
	int fd;
	bool need_auth;
	bool read_only; /* TCP without credentials: GET only */
	const char *name;
	struct conn_guard *guard;
};

struct http_server {
	struct http_ctx ctx;
	struct listener unix_l, tcp_l;
	char *socket_path;
	struct fwd_server *fwd;
	struct cred creds[MAX_AUTH];
	size_t ncreds;
	unsigned tcp_port;
	char *tls_key, *tls_cert;
	/* answers off the event threads: reads (renders) and everything else
	 * (RPC calls, PUT installs, graphs, archives), so a slow call never
	 * delays a read */
	struct http_workers *reads, *calls;
};

/* ---- per-connection state ---- */

struct kvvec {
	struct http_kv *v;
	size_t n, cap;
};

struct conn {
	enum http_method m;
	enum http_route route;
	struct kvvec q;
	struct buf body;
	bool answered;
	struct put_session *put;
	struct http_resp *failed; /* a refusal to send once the body is consumed */
	/* the answer a worker produces while the connection is suspended */
	struct http_job job;
	struct http_server *srv;
	struct MHD_Connection *mc;
	struct http_req req;
	struct http_resp resp;
	struct gd_conn *ge; /* the guard's entry */
	bool ready;         /* resp is set: send it on the next call */
	bool discard;       /* a body the endpoint does not read */
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	(void)kind;
	struct kvvec *q = cls;
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->v = xrealloc(q->v, sizeof(*q->v) * q->cap);
	}
	q->v[q->n].k = key ? key : "";
	q->v[q->n].v = value ? value : "";
	q->n++;
	return MHD_YES;
}

/* ---- bodies produced while the client reads ---- */

struct stream {
	struct http_gen *gen;
	struct buf pending;
	size_t off;
	bool done;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct stream *s = cls;
	while (s->off == s->pending.len) {
		if (s->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		buf_reset(&s->pending);
		s->off = 0;
		if (!s->gen->next(s->gen, &s->pending))
			s->done = true;
	}
	size_t n = s->pending.len - s->off;
	if (n > max)
		n = max;
	memcpy(out, s->pending.p + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;
	if (s->gen)
		s->gen->free(s->gen);
	buf_free(&s->pending);
	free(s);
}

/* A whole buffer served as a one-piece generator (for close-delimited
 * answers, which must not carry a Content-Length). */
struct once {
	struct http_gen gen;
	struct buf b;
	bool given;
};

static int once_next(struct http_gen *g, struct buf *out)
{
	struct once *o = (struct once *)g;
	if (o->given)
		return 0;
	o->given = true;
	/* hand the storage over instead of copying */
	buf_free(out);
	*out = o->b;
	o->b = BUF_INIT;
	return 1;
}

static void once_free(struct http_gen *g)
{
	struct once *o = (struct once *)g;
	buf_free(&o->b);
	free(o);
}

struct blob_reader {
	struct http_blob *b;
	size_t off;
};

static ssize_t blob_read(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct blob_reader *br = cls;
	if (br->off == br->b->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = br->b->len - br->off;
	if (n > max)
		n = max;
	memcpy(out, br->b->p + br->off, n);
	br->off += n;
	return (ssize_t)n;
}

static void blob_reader_free(void *cls)
{
	struct blob_reader *br = cls;
	http_blob_unref(br->b);
	free(br);
}

static void blob_done(void *cls)
{
	http_blob_unref(cls);
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct http_resp *r)
{
	struct MHD_Response *mr;
	if (r->framing == HF_CLOSE && !r->gen) {
		struct once *o = xcalloc(1, sizeof(*o));
		o->gen.next = once_next;
		o->gen.free = once_free;
		o->b = r->body;
		r->body = BUF_INIT;
		r->gen = &o->gen;
	}
	if (r->blob && r->framing == HF_CLOSE) {
		/* shared body without a length: read from it while the client reads */
		struct blob_reader *br = xcalloc(1, sizeof(*br));
		br->b = r->blob;
		r->blob = NULL;
		mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, blob_read, br,
		                                       blob_reader_free);
		if (mr)
			MHD_set_response_options(mr, MHD_RF_HTTP_1_0_SERVER, MHD_RO_END);
	} else if (r->blob) {
		/* shared body: MHD sends from it and drops our reference when done */
		struct http_blob *b = r->blob;
		r->blob = NULL;
		mr = MHD_create_response_from_buffer_with_free_callback_cls(
		    b->len, b->len ? b->p : (void *)"", blob_done, b);
		if (!mr)
			http_blob_unref(b);
	} else if (r->gen) {
		struct stream *s = xcalloc(1, sizeof(*s));
		s->gen = r->gen;
		r->gen = NULL;
		mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s,
		                                       stream_free);
		if (mr && r->framing == HF_CLOSE)
			MHD_set_response_options(mr, MHD_RF_HTTP_1_0_SERVER, MHD_RO_END);
	} else {
		size_t len = r->body.len;
		void *p = len ? r->body.p : NULL;
		if (len) {
			r->body = BUF_INIT; /* MHD frees it */
			mr = MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_FREE);
		} else {
			mr = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
		}
	}
	if (!mr)
		return MHD_NO;
	if (r->ctype)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
	if (r->no_cache)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, no-store");
	if (r->cors)
		MHD_add_response_header(mr, "Access-Control-Allow-Origin", "*");
	if (r->cors_headers)
		MHD_add_response_header(mr, "Access-Control-Allow-Headers", "X-Requested-With");
	if (r->framing == HF_CLOSE || r->status >= 400) {
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
	} else {
		/* how long an idle kept-alive connection stays open: a client
		 * reusing it later opens a new one instead of losing a request */
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_TIMEOUT);
		if (ci && ci->connection_timeout) {
			char ka[32];
			snprintf(ka, sizeof(ka), "timeout=%u", ci->connection_timeout);
			MHD_add_response_header(mr, "Keep-Alive", ka);
		}
	}
	if (r->status == 401)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        "Basic realm=\"rrdd\"");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, int status, const char *msg)
{
	struct http_resp r;
	http_resp_init(&r);
	http_resp_error(&r, status, "%s", msg);
	enum MHD_Result ret = send_resp(conn, &r);
	http_resp_free(&r);
	return ret;
}

/* ---- access control for the TCP listener ---- */

static bool ct_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char d = (unsigned char)(na != nb);
	for (size_t i = 0; i < na; i++)
		d |= (unsigned char)(a[i] ^ b[i % (nb ? nb : 1)]);
	return d == 0;
}

static bool authorized(struct http_server *s, struct MHD_Connection *conn)
{
	const char *h =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h)
		return false;
	bool ok = false;
	if (!strncasecmp(h, "Bearer ", 7)) {
		const char *t = h + 7;
		while (*t == ' ')
			t++;
		for (size_t i = 0; i < s->ncreds; i++)
			if (s->creds[i].bearer && ct_equal(t, s->creds[i].secret))
				ok = true;
	} else {
		char *pass = NULL;
		char *user = MHD_basic_auth_get_username_password(conn, &pass);
		if (user && pass) {
			size_t n = strlen(user) + strlen(pass) + 2;
			char *up = xmalloc(n);
			snprintf(up, n, "%s:%s", user, pass);
			for (size_t i = 0; i < s->ncreds; i++)
				if (!s->creds[i].bearer && ct_equal(up, s->creds[i].secret))
					ok = true;
			free(up);
		}
		MHD_free(user);
		MHD_free(pass);
	}
	return ok;
}

/* The credentials file: one per line, "bearer TOKEN" or "basic USER:PASSWORD";
 * blank lines and lines starting with '#' are ignored.  It must not be
 * readable by group or others. */
static int load_auth(struct http_server *s, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "--auth-file %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		log_warn("--auth-file %s is readable by group or others", path);
	char line[1024];
	int lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		bool bearer;
		if (!strncasecmp(p, "bearer ", 7))
			bearer = true;
		else if (!strncasecmp(p, "basic ", 6))
			bearer = false;
		else {
			fclose(f);
			snprintf(
			    err, errlen,
			    "--auth-file %s:%d: expected 'bearer TOKEN' or 'basic USER:PASSWORD'",
			    path, lineno);
			return -EINVAL;
		}
		p += bearer ? 7 : 6;
		while (*p == ' ')
			p++;
		if (!*p || (!bearer && !strchr(p, ':')) || s->ncreds == MAX_AUTH) {
			fclose(f);
			snprintf(err, errlen, "--auth-file %s:%d: %s", path, lineno,
			         s->ncreds == MAX_AUTH ? "too many credentials"
			                               : "empty or malformed secret");
			return -EINVAL;
		}
		s->creds[s->ncreds].bearer = bearer;
		s->creds[s->ncreds].secret = xstrdup(p);
		s->ncreds++;
	}
	fclose(f);
	if (!s->ncreds) {
		snprintf(err, errlen, "--auth-file %s: no credentials", path);
		return -EINVAL;
	}
	return 0;
}

/* ---- the access handler ---- */

static enum http_method method_of(const char *m)
{
	if (!strcmp(m, "GET"))
		return HM_GET;
	if (!strcmp(m, "POST"))
		return HM_POST;
	if (!strcmp(m, "PUT"))
		return HM_PUT;
	return HM_OTHER;
}

static void fill_req(struct http_req *req, struct conn *c, struct MHD_Connection *conn,
                     const char *url)
{
	memset(req, 0, sizeof(*req));
	req->m = c->m;
	req->path = url;
	req->query = c->q.v;
	req->nquery = c->q.n;
	req->accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	req->content_type =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	req->body = c->body.p ? c->body.p : "";
	req->body_len = c->body.len;
}

/* A worker's job: answer the request, then let the event thread send it. */
static void conn_job(struct http_job *j)
{
	struct conn *c = (struct conn *)((char *)j - offsetof(struct conn, job));
	struct http_server *s = c->srv;
	if (c->put) {
		put_finish(c->put, &c->resp);
		c->put = NULL;
	} else {
		http_dispatch(&s->ctx, c->route, &c->req, &c->resp);
	}
	if (c->resp.status >= 400)
		atomic_fetch_add(&s->ctx.errors, 1);
	c->ready = true;
	MHD_resume_connection(c->mc); /* c belongs to the event thread again */
}

static bool is_read(enum http_route r)
{
	return r == R_UPDATES || r == R_HOST_RRD || r == R_VM_RRD || r == R_SR_RRD ||
	       r == R_METRICS;
}

/* The whole request is here: suspend the connection and hand the answer to
 * a worker (or, once the workers are closed, answer here and resume). */
static enum MHD_Result hand_over(struct listener *l, struct http_server *s, struct conn *c,
                                 struct MHD_Connection *conn, const char *url)
{
	c->answered = true;
	gd_phase(l->guard, c->ge, GD_BUSY);
	c->srv = s;
	c->mc = conn;
	fill_req(&c->req, c, conn, url);
	http_resp_init(&c->resp);
	c->job.run = conn_job;
	MHD_suspend_connection(conn);
	if (!http_workers_submit(is_read(c->route) ? s->reads : s->calls, &c->job))
		conn_job(&c->job);
	return MHD_YES;
}

/* A request whose query is over QUERY_BUDGET: its connection's context
 * until the access handler answers 414. */
static char too_many_params;

/* Called with the request line's target before libmicrohttpd parses the
 * query into its per-connection pool: a query with too many parameters
 * would exhaust the pool, and the connection would stall without an answer.
 * Such a query is cut at the '?' (nothing is parsed) and refused later.
 * ';' is counted as a separator too (a parser may take it as one). */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	const char *q = strchr(uri, '?');
	if (!q)
		return NULL;
	size_t n = 1, len = 0;
	for (const char *p = q; *p; p++, len++)
		n += *p == '&' || *p == ';';
	if (len + n * QUERY_PARAM_COST <= QUERY_BUDGET)
		return NULL;
	((char *)q)[1] = 0; /* the target is in MHD's buffer, writable */
	return &too_many_params;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
	(void)version;
	struct listener *l = cls;
	struct http_server *s = l->srv;
	struct conn *c = *con_cls;
	bool too_many = *con_cls == &too_many_params;
	if (too_many)
		c = NULL;
	if (!c) {
		c = xcalloc(1, sizeof(*c));
		*con_cls = c;
		c->m = method_of(method);
		c->route = http_route(c->m, url);
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		c->ge = ci ? ci->socket_context : NULL;
		gd_phase(l->guard, c->ge, GD_BODY); /* the headers are here */
		atomic_fetch_add(&s->ctx.requests, 1);
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c->q);
		if (too_many) {
			c->failed = xmalloc(sizeof(*c->failed));
			http_resp_init(c->failed);
			http_resp_error(
			    c->failed, 414,
			    "query too long: its bytes plus %d per parameter are over %d",
			    QUERY_PARAM_COST, QUERY_BUDGET);
			return MHD_YES;
		}
		if (l->need_auth && !authorized(s, conn)) {
			c->failed = xmalloc(sizeof(*c->failed));
			http_resp_init(c->failed);
			http_resp_error(c->failed, 401, "authentication required");
			return MHD_YES; /* answered once any body is consumed */
		}
		if (l->read_only && c->m != HM_GET) {
			c->failed = xmalloc(sizeof(*c->failed));
			http_resp_init(c->failed);
			http_resp_error(
			    c->failed, 403,
			    "this TCP listener serves reads only: use the Unix socket, or "
			    "start rrdd with --auth-file (or --insecure-listen)");
			return MHD_YES; /* answered once any body is consumed */
		}
		if (c->route == R_PUT_RRD) {
			struct http_req req;
			struct http_resp r;
			http_resp_init(&r);
			fill_req(&req, c, conn, url);
			c->put = put_begin(&s->ctx, &req, &r);
			if (!c->put) {
				c->failed = xmalloc(sizeof(r));
				*c->failed = r;
				return MHD_YES; /* answered once the body is consumed */
			}
			http_resp_free(&r);
			return MHD_YES;
		}
		if (c->m == HM_POST) {
			const char *cl = MHD_lookup_connection_value(
			    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
			if (cl && strtoull(cl, NULL, 10) > s->ctx.max_rpc_bytes) {
				c->answered = true;
				gd_phase(l->guard, c->ge, GD_BUSY);
				return send_error(conn, 413, "request body too large");
			}
			return MHD_YES;
		}
		if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                MHD_HTTP_HEADER_CONTENT_LENGTH) ||
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
			/* a body nobody wants: answer once it is consumed */
			c->discard = true;
			return MHD_YES;
		}
		/* No body: answer on the next call.  MHD closes the connection
		 * after a response queued on the first call, so answering now
		 * would cost every client a new connection per request. */
		return MHD_YES;
	}
	if (c->ready) {
		c->ready = false;
		enum MHD_Result ret = send_resp(conn, &c->resp);
		http_resp_free(&c->resp);
		return ret;
	}
	if (c->answered) {
		*upload_size = 0; /* discard the rest of a refused body */
		return MHD_YES;
	}
	if (c->failed) {
		/* MHD queues a response only once the upload is consumed */
		if (*upload_size) {
			*upload_size = 0;
			return MHD_YES;
		}
		c->answered = true;
		gd_phase(l->guard, c->ge, GD_BUSY);
		enum MHD_Result ret = send_resp(conn, c->failed);
		http_resp_free(c->failed);
		free(c->failed);
		c->failed = NULL;
		return ret;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (c->put) {
			struct http_resp r;
			http_resp_init(&r);
			if (put_feed(c->put, upload, n, &r)) {
				put_abort(c->put);
				c->put = NULL;
				c->failed = xmalloc(sizeof(r));
				*c->failed = r;
				return MHD_YES;
			}
			http_resp_free(&r);
			return MHD_YES;
		}
		if (c->discard)
			return MHD_YES;
		if (c->body.len + n > s->ctx.max_rpc_bytes) {
			c->failed = xmalloc(sizeof(*c->failed));
			http_resp_init(c->failed);
			http_resp_error(c->failed, 413, "request body too large");
			buf_free(&c->body);
			return MHD_YES;
		}
		buf_add(&c->body, upload, n);
		return MHD_YES;
	}
	return hand_over(l, s, c, conn, url);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	struct listener *l = cls;
	struct conn *c = *con_cls;
	if (*con_cls == &too_many_params) {
		/* the request ended before the access handler saw it */
		*con_cls = NULL;
		return;
	}
	if (!c)
		return;
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		gd_phase(l->guard, c->ge, GD_WAITING); /* kept alive for the next request */
	put_abort(c->put);
	if (c->failed) {
		http_resp_free(c->failed);
		free(c->failed);
	}
	if (c->ready)
		http_resp_free(&c->resp);
	free(c->q.v);
	buf_free(&c->body);
	free(c);
	*con_cls = NULL;
}

/* Connections accepted and closed: the guard's entries. */
static void notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
	struct listener *l = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = ci ? gd_open(l->guard, ci->connect_fd) : NULL;
	} else {
		gd_close(l->guard, *socket_context);
		*socket_context = NULL;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct listener *l = cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	log_info("http %s: %s", l->name, msg);
}

static char *read_pem(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct buf b = BUF_INIT;
	char tmp[4096];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0 && b.len < (1u << 20))
		buf_add(&b, tmp, (size_t)n);
	close(fd);
	if (n < 0 || b.len == 0) {
		snprintf(err, errlen, "%s: cannot read a PEM file", path);
		buf_free(&b);
		return NULL;
	}
	return b.p;
}

static int start_mhd(struct listener *l, const struct http_config *cfg, bool tls, char *err,
                     size_t errlen)
{
	struct http_server *s = l->srv;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	                 MHD_ALLOW_SUSPEND_RESUME;
	if (tls)
		flags |= MHD_USE_TLS;
	unsigned threads = cfg->threads ? cfg->threads : 4;
	unsigned maxc = cfg->max_connections ? cfg->max_connections : 256;
	unsigned timeout = cfg->timeout_s ? cfg->timeout_s : 30;
	unsigned per_addr = cfg->max_per_address ? cfg->max_per_address : 64;
	l->guard = gd_new(l->name, maxc, cfg->header_timeout_s ? cfg->header_timeout_s : 10,
	                  cfg->body_timeout_s ? cfg->body_timeout_s : 60, timeout);
	struct MHD_OptionItem ops[] = {
	    {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, l},
	    {MHD_OPTION_LISTEN_SOCKET, l->fd, NULL},
	    {MHD_OPTION_THREAD_POOL_SIZE, threads, NULL},
	    {MHD_OPTION_CONNECTION_LIMIT, maxc, NULL},
	    {MHD_OPTION_CONNECTION_TIMEOUT, timeout, NULL},
	    /* request line, headers and query (a URL of 2,000 vm_uuid is 90 KB,
	     * parsed into about as much again) */
	    {MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY, NULL},
	    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, l},
	    {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify_conn, l},
	    {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_seen, NULL},
	    /* per client address (TCP; Unix clients have none) */
	    {MHD_OPTION_PER_IP_CONNECTION_LIMIT, l == &s->tcp_l ? per_addr : 0, NULL},
	    {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, s->tls_key},
	    {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->tls_cert},
	    {MHD_OPTION_END, 0, NULL},
	};
	l->d = MHD_start_daemon(flags, 0, NULL, NULL, answer, l, MHD_OPTION_ARRAY, ops,
	                        MHD_OPTION_END);
	if (!l->d) {
		snprintf(err, errlen, "cannot start the HTTP server on the %s listener", l->name);
		return -EIO;
	}
	return 0;
}

int http_start(const struct http_config *cfg, struct http_server **out, char *err, size_t errlen)
{
	struct http_server *s = xcalloc(1, sizeof(*s));
	int rc = 0;
	s->ctx.reg = cfg->reg;
	s->ctx.vmnames = cfg->vmnames;
	s->ctx.host_uuid = cfg->host_uuid ? cfg->host_uuid : "";
	s->ctx.dur = cfg->dur;
	s->ctx.archive_dir = store_dur_archive_dir(cfg->dur);
	s->ctx.max_put_bytes = cfg->max_put_bytes ? cfg->max_put_bytes : (256u << 20);
	s->ctx.max_rpc_bytes = cfg->max_rpc_bytes ? cfg->max_rpc_bytes : (1u << 20);
	struct rpc_service_config rc_cfg = {.reg = cfg->reg,
	                                    .dur = cfg->dur,
	                                    .clk = cfg->clk,
	                                    .host_uuid = cfg->host_uuid,
	                                    .pool = cfg->pool,
	                                    .hastats = cfg->hastats,
	                                    .plugins = cfg->plugins,
	                                    .next_tick = cfg->next_tick,
	                                    .next_tick_ctx = cfg->next_tick_ctx,
	                                    .path_dirs = cfg->rpc_path_dirs};
	s->ctx.rpc = rpc_service_new(&rc_cfg, &s->ctx.be);
	s->ctx.ucache = ucache_new(UCACHE_ENTRIES, UCACHE_BYTES, UCACHE_RENDERS);
	s->reads = http_workers_new(cfg->threads ? cfg->threads : 4, "read");
	s->calls = http_workers_new(cfg->threads ? cfg->threads : 4, "call");
	s->unix_l.fd = s->tcp_l.fd = -1;
	s->unix_l.srv = s->tcp_l.srv = s;
	s->unix_l.name = "unix";
	s->tcp_l.name = "tcp";

	if (cfg->listen && *cfg->listen) {
		bool loopback;
		bool tls = cfg->tls_cert && *cfg->tls_cert;
		if (tls != (cfg->tls_key && *cfg->tls_key)) {
			snprintf(err, errlen, "--tls-cert and --tls-key go together");
			rc = -EINVAL;
			goto fail;
		}
		if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "this libmicrohttpd has no TLS support");
			rc = -ENOTSUP;
			goto fail;
		}
		if (cfg->auth_file && *cfg->auth_file &&
		    (rc = load_auth(s, cfg->auth_file, err, errlen)))
			goto fail;
		int fd = http_tcp_listen(cfg->listen, &loopback, err, errlen);
		if (fd < 0) {
			rc = fd;
			goto fail;
		}
		s->tcp_l.fd = fd;
		if (!loopback && !s->ncreds && !cfg->insecure_listen) {
			snprintf(err, errlen,
			         "--listen %s is not a loopback address: give --auth-file (or "
			         "--insecure-listen to serve it without access control)",
			         cfg->listen);
			rc = -EPERM;
			goto fail;
		}
		s->tcp_l.need_auth = s->ncreds > 0;
		/* without credentials, anyone who can connect may only read */
		s->tcp_l.read_only = !s->ncreds && !cfg->insecure_listen;
		if (tls) {
			if (!(s->tls_cert = read_pem(cfg->tls_cert, err, errlen)) ||
			    !(s->tls_key = read_pem(cfg->tls_key, err, errlen))) {
				rc = -EINVAL;
				goto fail;
			}
		}
		s->tcp_port = http_sock_port(fd);
		if ((rc = start_mhd(&s->tcp_l, cfg, tls, err, errlen)))
			goto fail;
		log_info("http: listening on %s (port %u%s%s)", cfg->listen, s->tcp_port,
		         tls ? ", TLS" : "",
		         s->tcp_l.need_auth   ? ", authenticated"
		         : s->tcp_l.read_only ? ", reads only: no --auth-file"
		                              : ", no access control (--insecure-listen)");
	}
	if (cfg->socket_path && *cfg->socket_path) {
		int fd = http_unix_listen(cfg->socket_path, 128, err, errlen);
		if (fd < 0) {
			rc = fd;
			goto fail;
		}
		s->unix_l.fd = fd;
		s->socket_path = xstrdup(cfg->socket_path);
		if ((rc = start_mhd(&s->unix_l, cfg, false, err, errlen)))
			goto fail;
		log_info("http: listening on %s", cfg->socket_path);
	}
	if (cfg->forwarded_path && *cfg->forwarded_path) {
		if ((rc = fwd_start(&s->ctx, cfg->forwarded_path,
		                    cfg->max_connections ? cfg->max_connections : 256,
		                    cfg->timeout_s ? cfg->timeout_s : 30, &s->fwd, err, errlen)))
			goto fail;
		log_info("http: accepting handed-over connections on %s", cfg->forwarded_path);
	}
	*out = s;
	return 0;
fail:
	http_stop(s);
	return rc ? rc : -EIO;
}

int http_adopt_unix(struct http_server *s, int fd)
{
	if (!s || !s->unix_l.d) {
		close(fd);
		return -ENOTCONN;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	/* MHD owns fd from here, success or not */
	if (MHD_add_connection(s->unix_l.d, fd, (const struct sockaddr *)&sa,
	                       sizeof(sa.sun_family)) != MHD_YES)
		return -ECONNREFUSED;
	return 0;
}

unsigned http_tcp_port(const struct http_server *s)
{
	return s ? s->tcp_port : 0;
}

static void stop_listener(struct listener *l)
{
	if (l->d) {
		MHD_stop_daemon(l->d); /* closes the listening socket */
		l->d = NULL;
		l->fd = -1;
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	gd_free(l->guard);
	l->guard = NULL;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	fwd_stop(s->fwd);
	/* answer every handed-over request first: MHD cannot stop with a
	 * connection suspended (later requests are answered on the event
	 * threads) */
	http_workers_close(s->reads);
	http_workers_close(s->calls);
	stop_listener(&s->tcp_l);
	stop_listener(&s->unix_l);
	if (s->ctx.ucache) {
		struct ucache_stats st;
		ucache_stats(s->ctx.ucache, &st);
		log_info("http: %llu requests (%llu errors); rrd_updates: %llu renders, %llu "
		         "answers from cache, %llu waited for a render",
		         (unsigned long long)atomic_load(&s->ctx.requests),
		         (unsigned long long)atomic_load(&s->ctx.errors),
		         (unsigned long long)st.renders, (unsigned long long)st.hits,
		         (unsigned long long)st.waits);
	}
	if (s->socket_path) {
		unlink(s->socket_path);
		free(s->socket_path);
	}
	http_workers_free(s->reads);
	http_workers_free(s->calls);
	rpc_service_free(s->ctx.rpc);
	ucache_free(s->ctx.ucache);
	for (size_t i = 0; i < s->ncreds; i++)
		free(s->creds[i].secret);
	free(s->tls_cert);
	free(s->tls_key);
	free(s);
}
