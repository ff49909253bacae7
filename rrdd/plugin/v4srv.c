/*
 * The v4 plugin socket's event loop (v4srv.h): accept, read frames, decode
 * and apply messages, answer FetchMetrics, give each connection's page to
 * the registry at the tick, and clean up when a plugin goes.
 */
#include "plugin/v4srv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock/clock.h"
#include "http/listen.h"
#include "plugin/proto.h"
#include "plugin/v4state.h"
#include "util/log.h"
#include "util/xalloc.h"

#define PAGE_DECODE_MAX (256u * 1024 * 1024)

struct conn {
	int fd;
	char uid[96];
	unsigned char *rx;
	size_t rxlen;
	struct buf tx;
	size_t txoff;
	struct v4state *st;
	uint64_t bad;
	bool logged_bad;
	bool decided; /* its first byte was seen: a v4 plugin (registered) */
	double since; /* accepted at (clk_elapsed), for the first-byte deadline */
};

struct v4srv {
	struct v4srv_config cfg;
	char *path;
	int lfd, wake[2];
	pthread_t th;
	pthread_mutex_t mu; /* conns, their states, stats */
	struct conn **c;
	size_t nc;
	uint64_t seq;
	size_t metrics_all;
	bool refusing;      /* logged that connections are refused */
	bool logged_silent; /* logged that a silent connection was closed */
	struct v4srv_stats st;
	struct arena pack; /* the tick thread's, under mu */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The registry's page of connection uid (plg_page_fn). */
static int page_of(void *ctx, const char *uid, double now, struct buf *out)
{
	struct v4srv *s = ctx;
	int rc = -1;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nc; i++)
		if (!strcmp(s->c[i]->uid, uid)) {
			arena_reset(&s->pack, PAGE_DECODE_MAX);
			rc = v4state_page(s->c[i]->st, now > 0 ? (uint64_t)now : 0, &s->pack, out);
			arena_reset(&s->pack, 0);
			break;
		}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* "v4:<command>:<pid>:<n>", the command from /proc (printable characters
 * only), or "v4:?:0:<n>" when the peer cannot be known. */
static void name_peer(struct v4srv *s, int fd, char *out, size_t cap)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	char comm[32] = "?";
	int pid = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0) {
		pid = cr.pid;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		int cf = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (cf >= 0) {
			ssize_t r = read(cf, comm, sizeof(comm) - 1);
			close(cf);
			comm[r > 0 ? r : 0] = 0;
			for (char *p = comm; *p; p++)
				if (*p == '\n')
					*p = 0;
				else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				           (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
				           *p == '.'))
					*p = '_';
			if (!comm[0])
				strcpy(comm, "?");
		}
	}
	snprintf(out, cap, "v4:%s:%d:%llu", comm, pid, (unsigned long long)++s->seq);
}

static void conn_free(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->rx);
	buf_free(&c->tx);
	v4state_free(c->st);
	free(c);
}

/* Close connection i: its metrics go, its plugin is deregistered. */
static void conn_close(struct v4srv *s, size_t i, const char *why)
{
	pthread_mutex_lock(&s->mu);
	struct conn *c = s->c[i];
	s->metrics_all -= v4state_metrics(c->st);
	s->c[i] = s->c[--s->nc];
	s->st.closed++;
	s->st.metrics = s->metrics_all;
	pthread_mutex_unlock(&s->mu);
	if (c->decided) {
		plg_deregister(s->cfg.reg, c->uid);
		log_info("v4 plugin %s: %s; its metrics are gone", c->uid, why);
	}
	conn_free(c);
}

/* The first byte of a new connection decides: 0 (a v4 frame's length is
 * below 16 MiB) is a v4 plugin, registered now; anything else is HTTP (an
 * xcp-metrics v3 plugin's XML-RPC to this path), handed to the HTTP
 * server.  Returns false when connection i is no longer in the list. */
static bool decide(struct v4srv *s, size_t i)
{
	struct conn *c = s->c[i];
	unsigned char b;
	ssize_t r = recv(c->fd, &b, 1, MSG_PEEK);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return true;
	if (r <= 0) {
		conn_close(s, i, "closed");
		return false;
	}
	if (b == 0) {
		c->decided = true;
		if (plg_register_source(s->cfg.reg, c->uid, page_of, s) < 0)
			log_warn("v4 plugin %s: not registered", c->uid);
		return true;
	}
	pthread_mutex_lock(&s->mu);
	s->c[i] = s->c[--s->nc];
	pthread_mutex_unlock(&s->mu);
	int fd = c->fd;
	c->fd = -1;
	conn_free(c);
	if (!s->cfg.adopt_http || s->cfg.adopt_http(s->cfg.adopt_ctx, fd) < 0) {
		if (!s->cfg.adopt_http)
			close(fd);
		log_debug("v4 socket: a connection that is neither v4 nor served HTTP closed");
	}
	return false;
}

static void accept_one(struct v4srv *s)
{
	int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (s->nc >= s->cfg.max_conns) {
		close(fd);
		s->st.refused++;
		if (!s->refusing)
			log_warn("v4 socket: %u plugins connected, the most allowed: further "
			         "connections are closed (logged once)",
			         s->cfg.max_conns);
		s->refusing = true;
		return;
	}
	if (s->refusing)
		log_info("v4 socket: accepting connections again");
	s->refusing = false;
	struct conn *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->since = clk_elapsed();
	c->st = v4state_new(s->cfg.max_families, s->cfg.max_metrics);
	c->rx = xmalloc(4 + V4_MAX_PAYLOAD);
	name_peer(s, fd, c->uid, sizeof(c->uid));
	pthread_mutex_lock(&s->mu);
	s->c = xrealloc(s->c, sizeof(*s->c) * (s->nc + 1));
	s->c[s->nc++] = c;
	s->st.accepted++;
	pthread_mutex_unlock(&s->mu);
}

static void bad_message(struct conn *c, const char *why, struct v4srv *s)
{
	c->bad++;
	s->st.bad_messages++;
	if (!c->logged_bad)
		log_warn("v4 plugin %s: message refused: %s (logged once per plugin)", c->uid, why);
	c->logged_bad = true;
}

/* Answer FetchMetrics: the exposition behind a 4-byte length. */
static void fetch(struct v4srv *s, struct conn *c, bool binary)
{
	struct buf body = {0};
	if (!s->cfg.fetch || s->cfg.fetch(s->cfg.fetch_ctx, binary, &body) < 0) {
		bad_message(c, "FetchMetrics: no exposition", s);
		buf_free(&body);
		return;
	}
	if (c->tx.len - c->txoff + body.len + 4 > V4_MAX_UNREAD) {
		bad_message(c, "FetchMetrics: too many unread answers", s);
		buf_free(&body);
		return;
	}
	unsigned char len[4] = {(unsigned char)(body.len >> 24), (unsigned char)(body.len >> 16),
	                        (unsigned char)(body.len >> 8), (unsigned char)body.len};
	buf_add(&c->tx, len, 4);
	buf_add(&c->tx, body.p, body.len);
	buf_free(&body);
}

static void handle(struct v4srv *s, struct conn *c, const unsigned char *msg, size_t len)
{
	struct v4_msg m;
	char err[200];
	s->st.messages++;
	if (v4_msg_decode(msg, len, &m, err, sizeof(err)) < 0) {
		bad_message(c, err, s);
		return;
	}
	if (m.kind == V4_FETCH_METRICS) {
		fetch(s, c, m.binary);
		return;
	}
	pthread_mutex_lock(&s->mu);
	size_t room =
	    s->metrics_all < s->cfg.max_metrics_all ? s->cfg.max_metrics_all - s->metrics_all : 0;
	long delta = 0;
	int rc = v4state_apply(c->st, &m, room, &delta, err, sizeof(err));
	s->metrics_all = (size_t)((long)s->metrics_all + delta);
	s->st.metrics = s->metrics_all;
	pthread_mutex_unlock(&s->mu);
	if (rc < 0)
		bad_message(c, err, s);
}

/* Read and apply what connection i has, at most V4_ROUND_BYTES this round.
 * Returns false when the connection was closed. */
static bool read_conn(struct v4srv *s, size_t i)
{
	struct conn *c = s->c[i];
	size_t budget = V4_ROUND_BYTES;
	while (budget) {
		size_t want = 4 + V4_MAX_PAYLOAD - c->rxlen;
		if (want > budget)
			want = budget;
		ssize_t r = read(c->fd, c->rx + c->rxlen, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (r <= 0) {
			conn_close(s, i, r == 0 ? "disconnected" : strerror(errno));
			return false;
		}
		budget -= (size_t)r;
		c->rxlen += (size_t)r;
		size_t off = 0;
		while (c->rxlen - off >= 4) {
			uint32_t l = be32(c->rx + off);
			if (l > V4_MAX_PAYLOAD) {
				s->st.oversized++;
				char why[96];
				snprintf(why, sizeof(why),
				         "a %u-byte message, over the %u-byte limit", l,
				         V4_MAX_PAYLOAD);
				conn_close(s, i, why);
				return false;
			}
			if (c->rxlen - off - 4 < l)
				break;
			handle(s, c, c->rx + off + 4, l);
			off += 4 + (size_t)l;
		}
		memmove(c->rx, c->rx + off, c->rxlen - off);
		c->rxlen -= off;
	}
	return true;
}

static bool write_conn(struct v4srv *s, size_t i)
{
	struct conn *c = s->c[i];
	while (c->txoff < c->tx.len) {
		ssize_t w = send(c->fd, c->tx.p + c->txoff, c->tx.len - c->txoff, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (w <= 0) {
			conn_close(s, i, "write failed");
			return false;
		}
		c->txoff += (size_t)w;
	}
	buf_reset(&c->tx);
	c->txoff = 0;
	return true;
}

/* Close the connections that sent nothing within the first-byte deadline
 * (they would hold a slot forever); returns the milliseconds until the next
 * such deadline, or -1 when no connection is undecided. */
static int expire_silent(struct v4srv *s)
{
	double now = clk_elapsed(), next = -1;
	for (size_t k = s->nc; k-- > 0;) {
		struct conn *c = s->c[k];
		if (c->decided)
			continue;
		double left = c->since + s->cfg.first_byte - now;
		if (left <= 0) {
			pthread_mutex_lock(&s->mu);
			s->st.silent++;
			pthread_mutex_unlock(&s->mu);
			if (!s->logged_silent)
				log_warn(
				    "v4 socket: a connection that sent nothing in %.0f s closed "
				    "(logged once)",
				    s->cfg.first_byte);
			s->logged_silent = true;
			conn_close(s, k, "silent");
		} else if (next < 0 || left < next) {
			next = left;
		}
	}
	return next < 0 ? -1 : (int)(next * 1000) + 1;
}

static void *loop(void *arg)
{
	struct v4srv *s = arg;
	struct pollfd *p = xmalloc(sizeof(*p) * (2 + s->cfg.max_conns));
	for (;;) {
		int timeout = expire_silent(s);
		size_t n = 0;
		p[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
		p[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		size_t nc = s->nc;
		for (size_t i = 0; i < nc; i++)
			p[n++] = (struct pollfd){
			    .fd = s->c[i]->fd,
			    .events =
			        (short)(POLLIN | (s->c[i]->tx.len > s->c[i]->txoff ? POLLOUT : 0))};
		if (poll(p, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_err("v4 socket: poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents)
			break;
		/* connections, last first: closing one moves the last into its place */
		for (size_t k = nc; k-- > 0;) {
			short ev = p[2 + k].revents;
			if (!ev)
				continue;
			if (!s->c[k]->decided && !decide(s, k))
				continue;
			if ((ev & POLLOUT) && !write_conn(s, k))
				continue;
			if (ev & (POLLIN | POLLHUP | POLLERR))
				read_conn(s, k);
		}
		if (p[1].revents & POLLIN)
			accept_one(s);
	}
	free(p);
	return NULL;
}

int v4srv_start(const struct v4srv_config *cfg, struct v4srv **out, char *err, size_t errlen)
{
	*out = NULL;
	struct v4srv *s = xcalloc(1, sizeof(*s));
	s->cfg = *cfg;
	if (!s->cfg.max_conns)
		s->cfg.max_conns = V4_DEFAULT_CONNS;
	if (!s->cfg.max_families)
		s->cfg.max_families = V4_DEFAULT_FAMILIES;
	if (!s->cfg.max_metrics)
		s->cfg.max_metrics = PLG_V3_MAX_METRICS;
	if (!s->cfg.max_metrics_all)
		s->cfg.max_metrics_all = V4_DEFAULT_METRICS_ALL;
	if (!(s->cfg.first_byte > 0))
		s->cfg.first_byte = V4_FIRST_BYTE_SECONDS;
	s->path = xstrdup(cfg->path);
	s->cfg.path = s->path;
	s->lfd = http_unix_listen(s->path, 64, err, errlen);
	if (s->lfd < 0) {
		int rc = s->lfd;
		free(s->path);
		free(s);
		return rc;
	}
	/* who may connect: who may write the plugin directory's pages */
	struct stat st;
	if (cfg->mode_dir && stat(cfg->mode_dir, &st) == 0) {
		if (chown(s->path, st.st_uid, st.st_gid) < 0 && errno != EPERM)
			log_warn("v4 socket %s: chown: %s", s->path, strerror(errno));
		chmod(s->path, st.st_mode & 0777);
	} else {
		chmod(s->path, 0600);
	}
	if (pipe2(s->wake, O_CLOEXEC) < 0) {
		int e = errno;
		snprintf(err, errlen, "v4 socket: pipe: %s", strerror(e));
		close(s->lfd);
		unlink(s->path);
		free(s->path);
		free(s);
		return -e;
	}
	fcntl(s->lfd, F_SETFL, O_NONBLOCK);
	pthread_mutex_init(&s->mu, NULL);
	arena_init(&s->pack, PAGE_DECODE_MAX);
	int rc = pthread_create(&s->th, NULL, loop, s);
	if (rc) {
		snprintf(err, errlen, "v4 socket: thread: %s", strerror(rc));
		close(s->wake[0]);
		close(s->wake[1]);
		close(s->lfd);
		unlink(s->path);
		pthread_mutex_destroy(&s->mu);
		free(s->path);
		free(s);
		return -rc;
	}
	*out = s;
	return 0;
}

void v4srv_stop(struct v4srv *s)
{
	if (!s)
		return;
	ssize_t w = write(s->wake[1], "x", 1);
	(void)w;
	pthread_join(s->th, NULL);
	while (s->nc)
		conn_close(s, s->nc - 1, "the daemon stops");
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	unlink(s->path);
	free(s->c);
	arena_free(&s->pack);
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}

void v4srv_get_stats(struct v4srv *s, struct v4srv_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	pthread_mutex_unlock(&s->mu);
}
