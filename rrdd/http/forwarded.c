/*
 * The forwarded socket (wire-format.md §4.5): xapi connects, sends one message whose
 * payload is the JSON of its parsed Http.Request.t (at most 16 KiB) with
 * the client's connection attached as SCM_RIGHTS, and expects nothing back
 * on the control connection.  We answer the request on the received fd
 * through the same endpoint code as the HTTP server, writing the HTTP
 * response ourselves: the request line and headers were consumed by xapi,
 * so the fd cannot be handed to libmicrohttpd (MHD_add_connection would wait
 * for a request line that never comes).  Connection: close always (xapi
 * forces close=true).  PUT /rrd writes its 200 before reading the body, as
 * xcp-rrdd does (the sender waits for it), then reads up to content_length
 * or end of stream.
 *
 * Threads: one acceptor, FWD_THREADS workers (http/workers.c) and one
 * sender (fwd_send.c).  The acceptor accepts control connections and
 * waits (poll, at most FWD_MSG_WAIT_S) until their message is readable; a
 * worker reads the message and its descriptor and makes the answer; the
 * sender writes it without blocking.  At most max_conns hand-overs are
 * waiting, queued, in progress or being sent (more are refused: the client
 * gets a 503 when its descriptor can be had without waiting).  A client
 * that stops reading holds its answer and a slot until the idle timeout,
 * never a worker, the acceptor or the registry lock (the endpoints copy
 * under the lock); PUT bodies are read by a worker with receive timeouts.
 * The query object is read as an ordered multimap (util/json_parse.h), so
 * repeated vm_uuid keys survive.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock/clock.h"
#include "http/internal.h"
#include "http/listen.h"
#include "util/json_parse.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/sockio.h"

#define FWD_MAX_MSG    16384
#define FWD_THREADS    8
#define FWD_MSG_WAIT_S 5.0 /* for a control connection's message */

struct fwd_server {
	struct http_ctx *c;
	int lfd;
	int stop_pipe[2];
	char *path;
	pthread_t thr;
	bool started;
	unsigned max_conns, timeout_s;
	atomic_uint active; /* hand-overs queued, in progress or being sent */
	struct http_workers *w;
	struct fwd_sender *snd;
};

struct fwd_job {
	struct http_job job;
	struct fwd_server *f;
	int ctl;    /* the control connection from xapi */
	int client; /* the handed-over client connection */
	char *msg;
	size_t len;
	bool handed; /* the sender has the descriptors and the count */
};

static void head_text(struct buf *h, const struct http_resp *r, bool with_length, size_t len)
{
	buf_printf(h, "HTTP/%s %d %s\r\n", r->framing == HF_CLOSE ? "1.0" : "1.1", r->status,
	           http_reason(r->status));
	if (with_length)
		buf_printf(h, "Content-Length: %zu\r\n", len);
	if (r->ctype)
		buf_printf(h, "Content-Type: %s\r\n", r->ctype);
	if (r->no_cache)
		buf_adds(h, "Cache-Control: no-cache, no-store\r\n");
	if (r->cors)
		buf_adds(h, "Access-Control-Allow-Origin: *\r\n");
	if (r->cors_headers)
		buf_adds(h, "Access-Control-Allow-Headers: X-Requested-With\r\n");
	buf_adds(h, "Connection: close\r\n\r\n");
}

static void write_head(int fd, const struct http_resp *r, bool with_length, size_t len)
{
	struct buf h = BUF_INIT;
	head_text(&h, r, with_length, len);
	sock_send_all(fd, h.p, h.len);
	buf_free(&h);
}

static void write_resp(int fd, struct http_resp *r)
{
	if (r->gen) {
		write_head(fd, r, false, 0);
		struct buf b = BUF_INIT;
		while (r->gen->next(r->gen, &b)) {
			if (sock_send_all(fd, b.p, b.len))
				break;
			buf_reset(&b);
		}
		buf_free(&b);
		return;
	}
	if (r->blob) {
		write_head(fd, r, r->framing == HF_LENGTH, r->blob->len);
		if (r->blob->len)
			sock_send_all(fd, r->blob->p, r->blob->len);
		return;
	}
	write_head(fd, r, r->framing == HF_LENGTH, r->body.len);
	if (r->body.len)
		sock_send_all(fd, r->body.p, r->body.len);
}

/* Hand the answer to the sender: the job's descriptors and its count go
 * with it. */
static void send_async(struct fwd_job *j, struct http_resp *r)
{
	struct buf h = BUF_INIT;
	head_text(&h, r, !r->gen && r->framing == HF_LENGTH, r->blob ? r->blob->len : r->body.len);
	fsnd_submit(j->f->snd, j->client, j->ctl, &h, r, &j->f->active);
	buf_free(&h);
	j->client = j->ctl = -1;
	j->handed = true;
}

static enum http_method method_of(const struct jp_doc *d, const struct jp_node *m)
{
	if (!m || m->type != JP_STRING)
		return HM_OTHER; /* ["Unknown","X"] and the like */
	const char *s = jp_str(d, m);
	if (!strcasecmp(s, "get"))
		return HM_GET;
	if (!strcasecmp(s, "post"))
		return HM_POST;
	if (!strcasecmp(s, "put"))
		return HM_PUT;
	return HM_OTHER;
}

/* The first member whose key matches case-insensitively (ppx_deriving_rpc
 * matches field names that way). */
static const struct jp_node *get_ci(const struct jp_doc *d, const struct jp_node *obj,
                                    const char *key)
{
	if (!obj || obj->type != JP_OBJECT)
		return NULL;
	struct jp_iter it;
	const struct jp_node *k, *v;
	jp_iter_init(&it, d, obj);
	while (jp_next_member(&it, &k, &v))
		if (!strcasecmp(jp_str(d, k), key))
			return v;
	return NULL;
}

static const char *str_of(const struct jp_doc *d, const struct jp_node *n)
{
	return n && n->type == JP_STRING ? jp_str(d, n) : NULL;
}

static void do_put(struct fwd_job *j, const struct http_req *req, const struct jp_doc *d,
                   const struct jp_node *root)
{
	struct http_resp r;
	http_resp_init(&r);
	struct put_session *s = put_begin(j->f->c, req, &r);
	if (!s) {
		write_resp(j->client, &r);
		http_resp_free(&r);
		return;
	}
	/* xcp-rrdd: 200 first, then the body */
	struct http_resp ok;
	http_resp_init(&ok);
	ok.status = 200;
	write_head(j->client, &ok, false, 0);
	http_resp_free(&ok);
	int64_t want = -1;
	const struct jp_node *cl = get_ci(d, root, "content_length");
	if (cl && cl->type == JP_NUMBER)
		jp_int64(d, cl, &want);
	char tmp[65536];
	int64_t got = 0;
	bool failed = false;
	while (want < 0 || got < want) {
		size_t ask = sizeof(tmp);
		if (want >= 0 && (int64_t)ask > want - got)
			ask = (size_t)(want - got);
		ssize_t n = recv(j->client, tmp, ask, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		if (put_feed(s, tmp, (size_t)n, &r)) {
			failed = true;
			break;
		}
	}
	if (failed) {
		put_abort(s);
	} else {
		put_finish(s, &r);
	}
	if (r.status != 200) {
		log_warn("forwarded PUT /rrd: %.*s", (int)(r.body.len ? r.body.len - 1 : 0),
		         r.body.p ? r.body.p : "");
		/* best effort, after the 200 (as xcp-rrdd appends its 500 page) */
		if (r.body.len)
			sock_send_all(j->client, r.body.p, r.body.len);
	}
	http_resp_free(&r);
}

static void handle(struct fwd_job *j)
{
	char err[256];
	struct jp_doc *d = NULL;
	struct jp_limits lim = {.max_depth = 16, .max_nodes = 8192, .max_input = FWD_MAX_MSG};
	if (jp_parse(j->msg, j->len, &lim, &d, err, sizeof(err))) {
		log_warn("forwarded request: not JSON: %s", err);
		struct http_resp r;
		http_resp_init(&r);
		http_resp_error(&r, 400, "forwarded request: %s", err);
		write_resp(j->client, &r);
		http_resp_free(&r);
		return;
	}
	const struct jp_node *root = jp_root(d);
	struct http_req req;
	memset(&req, 0, sizeof(req));
	req.m = method_of(d, get_ci(d, root, "m"));
	req.path = str_of(d, get_ci(d, root, "path"));
	if (!req.path)
		req.path = str_of(d, get_ci(d, root, "uri"));
	if (!req.path)
		req.path = "/";
	req.accept = str_of(d, get_ci(d, root, "accept"));
	req.content_type = str_of(d, get_ci(d, root, "content_type"));
	const char *body = str_of(d, get_ci(d, root, "body"));
	req.body = body ? body : "";
	req.body_len = strlen(req.body);
	struct http_kv *q = NULL;
	size_t nq = 0;
	const struct jp_node *query = get_ci(d, root, "query");
	if (query && query->type == JP_OBJECT) {
		q = xmalloc(sizeof(*q) * (query->len ? query->len : 1));
		struct jp_iter it;
		const struct jp_node *k, *v;
		jp_iter_init(&it, d, query);
		while (jp_next_member(&it, &k, &v)) {
			q[nq].k = jp_str(d, k);
			q[nq].v = v->type == JP_STRING ? jp_str(d, v) : "";
			nq++;
		}
	}
	req.query = q;
	req.nquery = nq;
	enum http_route route = http_route(req.m, req.path);
	if (route == R_PUT_RRD) {
		do_put(j, &req, d, root);
	} else {
		struct http_resp r;
		http_resp_init(&r);
		if (route == R_RPC && !body) {
			/* the body was not forwarded: read it from the client */
			int64_t want = -1;
			const struct jp_node *cl = get_ci(d, root, "content_length");
			if (cl && cl->type == JP_NUMBER)
				jp_int64(d, cl, &want);
			struct buf b = BUF_INIT;
			if (want > 0 && (size_t)want <= j->f->c->max_rpc_bytes) {
				char *p = buf_reserve(&b, (size_t)want);
				size_t got = 0;
				while (got < (size_t)want) {
					ssize_t n = recv(j->client, p + got, (size_t)want - got, 0);
					if (n < 0 && errno == EINTR)
						continue;
					if (n <= 0)
						break;
					got += (size_t)n;
				}
				buf_commit(&b, got);
			}
			req.body = b.p ? b.p : "";
			req.body_len = b.len;
			http_dispatch(j->f->c, route, &req, &r);
			buf_free(&b);
		} else {
			http_dispatch(j->f->c, route, &req, &r);
		}
		send_async(j, &r);
		http_resp_free(&r);
	}
	free(q);
	jp_free(d);
}

static void set_timeouts(int fd, unsigned s)
{
	struct timeval tv = {.tv_sec = s, .tv_usec = 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Read the one message and its fd from a control connection into j (0), or
 * log why not (-1).  flags: 0, or MSG_DONTWAIT for a refusal's try. */
static int take(struct fwd_server *f, struct fwd_job *j, int flags)
{
	int ctl = j->ctl;
	set_timeouts(ctl, 5);
	char *msg = xmalloc(FWD_MAX_MSG + 1);
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = msg, .iov_len = FWD_MAX_MSG};
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	ssize_t n;
	do
		n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	int client = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int fds[4];
			memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)(nfd > 4 ? 4 : nfd));
			for (int i = 0; i < nfd && i < 4; i++) {
				if (client < 0)
					client = fds[i];
				else
					close(fds[i]);
			}
		}
	if (n <= 0 || client < 0 || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
		if (!flags)
			log_warn("forwarded socket: %s", n < 0 ? strerror(errno)
			                                 : client < 0
			                                     ? "a message without a descriptor"
			                                     : "message truncated (over 16 KiB)");
		if (client >= 0)
			close(client);
		free(msg);
		return -1;
	}
	msg[n] = 0;
	set_timeouts(client, f->timeout_s);
	j->client = client;
	j->msg = msg;
	j->len = (size_t)n;
	return 0;
}

static void job_free(struct fwd_job *j)
{
	if (j->client >= 0) {
		shutdown(j->client, SHUT_RDWR);
		close(j->client);
	}
	if (j->ctl >= 0)
		close(j->ctl);
	free(j->msg);
	if (!j->handed)
		atomic_fetch_sub(&j->f->active, 1);
	free(j);
}

/* A worker's job: take the hand-over and answer it. */
static void job_run(struct http_job *hj)
{
	struct fwd_job *j = (struct fwd_job *)((char *)hj - offsetof(struct fwd_job, job));
	if (take(j->f, j, 0) == 0)
		handle(j);
	job_free(j);
}

/* A control connection accepted: queue it, or refuse it when max_conns are
 * queued or in progress (a 503 to the client if its descriptor is there
 * already; the acceptor never waits). */
static void queue_handover(struct fwd_server *f, int ctl)
{
	struct fwd_job *j = xcalloc(1, sizeof(*j));
	j->f = f;
	j->ctl = ctl;
	j->client = -1;
	j->job.run = job_run;
	if (atomic_fetch_add(&f->active, 1) < f->max_conns && http_workers_submit(f->w, &j->job))
		return;
	if (take(f, j, MSG_DONTWAIT) == 0) {
		struct http_resp r;
		http_resp_init(&r);
		http_resp_error(&r, 503, "too many connections");
		set_timeouts(j->client, 1);
		write_resp(j->client, &r);
		http_resp_free(&r);
	}
	job_free(j);
}

/* The acceptor: control connections wait here (not in a worker) until
 * their message is readable; one silent for FWD_MSG_WAIT_S is dropped. */
static void *accept_main(void *arg)
{
	struct fwd_server *f = arg;
	unsigned cap = f->max_conns + 2;
	struct pollfd *p = xcalloc(cap, sizeof(*p));
	double *since = xcalloc(cap, sizeof(*since));
	unsigned n = 2;
	p[0] = (struct pollfd){.fd = f->lfd, .events = POLLIN};
	p[1] = (struct pollfd){.fd = f->stop_pipe[0], .events = POLLIN};
	for (;;) {
		int rc = poll(p, n, n > 2 ? 500 : -1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (p[1].revents)
			break;
		double now = clk_elapsed();
		for (unsigned i = 2; i < n;) {
			bool ready = p[i].revents != 0;
			if (ready || now - since[i] >= FWD_MSG_WAIT_S) {
				if (ready)
					queue_handover(f, p[i].fd);
				else
					close(p[i].fd); /* said nothing in time */
				p[i] = p[--n];
				since[i] = since[n];
				continue;
			}
			i++;
		}
		if (p[0].revents & POLLIN) {
			int ctl = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (ctl >= 0 && n < cap) {
				p[n] = (struct pollfd){.fd = ctl, .events = POLLIN};
				since[n++] = now;
			} else if (ctl >= 0) {
				close(ctl); /* max_conns waiting for their message */
			}
		}
	}
	for (unsigned i = 2; i < n; i++)
		close(p[i].fd);
	free(p);
	free(since);
	return NULL;
}

int fwd_start(struct http_ctx *c, const char *path, unsigned max_conns, unsigned timeout_s,
              struct fwd_server **out, char *err, size_t errlen)
{
	int fd = http_unix_listen(path, 64, err, errlen);
	if (fd < 0)
		return fd;
	struct fwd_server *f = xcalloc(1, sizeof(*f));
	f->c = c;
	f->lfd = fd;
	f->path = xstrdup(path);
	f->max_conns = max_conns;
	f->timeout_s = timeout_s;
	f->w = http_workers_new(FWD_THREADS, "hand-over");
	f->snd = fsnd_new(timeout_s);
	if (pipe2(f->stop_pipe, O_CLOEXEC) || pthread_create(&f->thr, NULL, accept_main, f)) {
		snprintf(err, errlen, "forwarded socket: cannot start its thread");
		http_workers_free(f->w);
		fsnd_free(f->snd);
		close(fd);
		unlink(path);
		free(f->path);
		free(f);
		return -EIO;
	}
	f->started = true;
	*out = f;
	return 0;
}

void fwd_stop(struct fwd_server *f)
{
	if (!f)
		return;
	if (f->started) {
		(void)!write(f->stop_pipe[1], "x", 1);
		pthread_join(f->thr, NULL);
	}
	close(f->stop_pipe[0]);
	close(f->stop_pipe[1]);
	close(f->lfd);
	unlink(f->path);
	free(f->path);
	/* queued hand-overs are answered, in progress ones finish (bounded
	 * by their socket timeouts) */
	http_workers_free(f->w);
	fsnd_free(f->snd);
	free(f);
}
