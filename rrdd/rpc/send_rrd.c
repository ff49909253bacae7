/*
 * Transfers between hosts (see send_rrd.h).  xcp-rrdd's PUT: the request
 * line and headers, then the RRD only after the receiver's "200 OK" (the
 * receiver, xcp-rrdd behind xapi, answers before reading the body), the
 * body up to the end of the stream; afterwards anything the receiver
 * writes is read until it closes, and a late error status (rrdd appends
 * one when the body is refused) fails the transfer.  The direct forms
 * (http://, Unix path) send a Content-Length and read the status after the
 * body, as any HTTP server wants.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock/clock.h"
#include "export/rrd_xml.h"
#include "rpc/send_rrd.h"
#include "store/archive.h"
#include "util/buf.h"
#include "util/netconn.h"

#define HEAD_MAX       16384
#define DEFAULT_PORT   443
#define DEFAULT_TMO    30.0
#define DEFAULT_PULL   (256ull << 20)
#define SECRET_MAX     4096
#define AFTER_BODY_MAX 10.0 /* seconds to wait for the receiver to close */

/* Where a transfer goes. */
struct target {
	bool pool;           /* xapi over HTTPS with the pool secret */
	const char *address; /* without "https://" / "http://" */
	int port;            /* default port */
};

static void classify(const struct rpc_pool_config *pc, const char *address, struct target *t)
{
	t->pool = true;
	t->address = address;
	t->port = pc->https_port > 0 ? pc->https_port : DEFAULT_PORT;
	if (address[0] == '/') {
		t->pool = false;
	} else if (!strncasecmp(address, "http://", 7)) {
		t->pool = false;
		t->address = address + 7;
		t->port = 80;
	} else if (!strncasecmp(address, "https://", 8)) {
		t->address = address + 8;
	}
}

int rpc_pool_secret(const struct rpc_pool_config *pc, char *out, size_t n, char *err, size_t errlen)
{
	const char *path =
	    pc->secret_file && *pc->secret_file ? pc->secret_file : RPC_POOL_SECRET_FILE;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "pool secret %.200s: %s", path, strerror(e));
		return -e;
	}
	char buf[SECRET_MAX + 1];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
	               buf[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= SECRET_MAX || len >= n) {
		snprintf(err, errlen, "pool secret %.200s: %s", path, len ? "too long" : "empty");
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\') {
			snprintf(err, errlen,
			         "pool secret %.200s: byte %zu is not allowed in a cookie", path,
			         i);
			return -EINVAL;
		}
	}
	memcpy(out, buf, len);
	out[len] = 0;
	return 0;
}

static void urlenc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			buf_addc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

static int open_conn(const struct rpc_pool_config *pc, const struct target *t, bool member,
                     double deadline, struct nc **out, char *err, size_t errlen)
{
	struct nc_tls tls = {0};
	if (t->pool && member) {
		tls.sni = "pool";
		bool verify = pc->verify == RPC_POOL_VERIFY_YES;
		if (pc->verify == RPC_POOL_VERIFY_AUTO)
			verify = access(pc->verify_flag && *pc->verify_flag ? pc->verify_flag
			                                                    : RPC_POOL_VERIFY_FLAG,
			                F_OK) == 0;
		if (verify)
			tls.ca_bundle =
			    pc->ca_bundle && *pc->ca_bundle ? pc->ca_bundle : RPC_POOL_CA_BUNDLE;
	}
	return nc_connect(out, t->address, t->port, t->pool ? &tls : NULL, deadline, err, errlen);
}

/* A response head: status and the headers rrdd needs. */
struct head {
	int status;
	long long content_length; /* -1: none */
	char reason[128];
	char location[256];
	size_t head_len; /* bytes of buf up to the blank line */
};

static void header_value(const char *line, size_t n, char *out, size_t outlen)
{
	const char *v = memchr(line, ':', n);
	size_t i = v ? (size_t)(v - line) + 1 : n;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	size_t len = n - i;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, line + i, len);
	out[len] = 0;
}

/* Parse the head in b[0..n) if complete: 1 parsed, 0 incomplete, -1 garbage. */
static int parse_head(const char *b, size_t n, struct head *h)
{
	const char *end = NULL;
	for (size_t i = 3; i < n; i++)
		if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') {
			end = b + i + 1;
			break;
		}
	if (n >= 5 && memcmp(b, "HTTP/", 5))
		return -1;
	if (!end)
		return 0;
	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	h->head_len = (size_t)(end - b);
	int st = 0, used = 0;
	if (sscanf(b, "HTTP/%*d.%*d %3d%n", &st, &used) != 1 || st < 100 || st > 599)
		return -1;
	h->status = st;
	const char *eol = strstr(b, "\r\n");
	const char *r = b + used;
	while (r < eol && *r == ' ')
		r++;
	snprintf(h->reason, sizeof(h->reason), "%.*s", (int)(eol - r), r);
	for (const char *l = eol + 2; l < end - 2;) {
		const char *le = strstr(l, "\r\n");
		size_t ln = (size_t)(le - l);
		char v[256];
		if (ln > 15 && !strncasecmp(l, "content-length:", 15)) {
			header_value(l, ln, v, sizeof(v));
			char *e;
			long long x = strtoll(v, &e, 10);
			if (!*v || *e || x < 0)
				return -1;
			h->content_length = x;
		} else if (ln > 9 && !strncasecmp(l, "location:", 9)) {
			header_value(l, ln, h->location, sizeof(h->location));
		}
		l = le + 2;
	}
	return 1;
}

/* Read a response head into b (its bytes after the head stay in b). */
static int read_head(struct nc *c, struct buf *b, struct head *h, const char *who, char *err,
                     size_t errlen)
{
	char tmp[4096];
	for (;;) {
		int p = parse_head(b->p ? b->p : "", b->len, h);
		if (p > 0)
			return 0;
		if (p < 0) {
			snprintf(err, errlen, "%s answered something other than HTTP", who);
			return -EPROTO;
		}
		if (b->len > HEAD_MAX) {
			snprintf(err, errlen, "%s: response head over %d bytes", who, HEAD_MAX);
			return -EPROTO;
		}
		char why[256] = "";
		ssize_t n = nc_read(c, tmp, sizeof(tmp), why, sizeof(why));
		if (n == 0) {
			snprintf(err, errlen, "%s closed the connection without an answer", who);
			return -ECONNRESET;
		}
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", who, why);
			return (int)n;
		}
		buf_add(b, tmp, (size_t)n);
	}
}

/* The error for a status other than 200, with a little of the body. */
static int refused(struct nc *c, struct buf *b, const struct head *h, const char *who, char *err,
                   size_t errlen)
{
	char tmp[512];
	char why[64];
	while (b->len < h->head_len + 200) {
		ssize_t n = nc_read(c, tmp, sizeof(tmp), why, sizeof(why));
		if (n <= 0)
			break;
		buf_add(b, tmp, (size_t)n);
	}
	char body[201];
	size_t bl = b->len - h->head_len;
	if (bl > 200)
		bl = 200;
	size_t o = 0;
	for (size_t i = 0; i < bl; i++) {
		unsigned char ch = (unsigned char)b->p[h->head_len + i];
		if (ch == '\n' || ch == '\r')
			break;
		body[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	body[o] = 0;
	snprintf(err, errlen, "%s refused: %d %s%s%s%s%s", who, h->status, h->reason,
	         h->location[0] ? " to " : "", h->location, o ? ": " : "", body);
	return h->status == 401 || h->status == 403 ? -EACCES : -EREMOTEIO;
}

static void target_name(const struct target *t, char *out, size_t n)
{
	if (t->address[0] == '/')
		snprintf(out, n, "%.200s", t->address);
	else
		snprintf(out, n, "%s%.200s", t->pool ? "https://" : "http://", t->address);
}

/* After the body of a pool PUT: whatever the receiver writes until it
 * closes; a status other than 200 there is its refusal. */
static int after_body(struct nc *c, const char *who, char *err, size_t errlen)
{
	struct buf rest = BUF_INIT;
	char tmp[4096], why[128];
	ssize_t n;
	while ((n = nc_read(c, tmp, sizeof(tmp), why, sizeof(why))) > 0 && rest.len < HEAD_MAX)
		buf_add(&rest, tmp, (size_t)n);
	int rc = 0;
	struct head h;
	if (rest.len && parse_head(rest.p, rest.len, &h) > 0 && h.status != 200)
		rc = refused(c, &rest, &h, who, err, errlen);
	buf_free(&rest);
	return rc;
}

/* One transfer under way: where, the secret to send, the open connection. */
struct xfer {
	struct target t;
	char who[256];
	char secret[SECRET_MAX];
	bool cookie; /* send the pool secret */
	double deadline;
	struct nc *c;
};

/* Classify address, read the secret when the request carries it, connect
 * (TLS and verification for a pool member).  0 or a negative errno with a
 * reason. */
static int xfer_open(struct xfer *x, const struct rpc_pool_config *pc, const char *address,
                     bool member, bool with_session, char *err, size_t errlen)
{
	memset(x, 0, sizeof(*x));
	if (!address || !*address) {
		snprintf(err, errlen, "no remote address");
		return -EINVAL;
	}
	classify(pc, address, &x->t);
	target_name(&x->t, x->who, sizeof(x->who));
	x->cookie = x->t.pool && !with_session;
	if (x->cookie && rpc_pool_secret(pc, x->secret, sizeof(x->secret), err, errlen))
		return -EACCES;
	x->deadline = clk_elapsed() + (pc->timeout > 0 ? pc->timeout : DEFAULT_TMO);
	return open_conn(pc, &x->t, member, x->deadline, &x->c, err, errlen);
}

int rpc_send_rrd(const struct rpc_pool_config *pc, const char *address, const char *uuid,
                 bool is_host, bool archive, bool member, const char *session_id,
                 const struct rrdb *r, char *err, size_t errlen)
{
	bool with_session = session_id && *session_id;
	struct xfer x;
	int rc = xfer_open(&x, pc, address, member, with_session, err, errlen);
	if (rc)
		return rc;
	const struct target t = x.t;
	const char *who = x.who;
	struct nc *c = x.c;
	double deadline = x.deadline;
	struct buf body = BUF_INIT, head = BUF_INIT, in = BUF_INIT;
	exp_rrd_xml(&body, r, 1);
	buf_adds(&head, "PUT /rrd?");
	if (with_session) {
		buf_adds(&head, "session_id=");
		urlenc(&head, session_id);
		buf_addc(&head, '&');
	}
	if (archive)
		buf_adds(&head, "archive=true&");
	buf_adds(&head, "uuid=");
	urlenc(&head, uuid);
	if (!t.pool) /* what xapi adds (rrdd_proxy.ml put_rrd_forwarder) */
		buf_printf(&head, "&is_host=%s", is_host ? "true" : "false");
	buf_printf(&head, " HTTP/1.1\r\nHost: %s\r\nUser-Agent: rrdd/%s\r\n",
	           address[0] == '/' ? "localhost" : t.address, RRDD_VERSION);
	if (x.cookie)
		buf_printf(&head, "Cookie: pool_secret=%s\r\n", x.secret);
	if (!t.pool)
		buf_printf(&head, "Content-Type: text/xml\r\nContent-Length: %zu\r\n", body.len);
	buf_adds(&head, "Connection: close\r\n\r\n");
	char why[256];
	struct head h;
	rc = nc_write_all(c, head.p, head.len, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "%s: %s", who, why);
	if (!rc && !t.pool) {
		rc = nc_write_all(c, body.p, body.len, why, sizeof(why));
		if (rc)
			snprintf(err, errlen, "%s: %s", who, why);
	}
	if (!rc)
		rc = read_head(c, &in, &h, who, err, errlen);
	if (!rc && h.status != 200)
		rc = refused(c, &in, &h, who, err, errlen);
	if (!rc && t.pool) {
		rc = nc_write_all(c, body.p, body.len, why, sizeof(why));
		if (rc)
			snprintf(err, errlen, "%s: %s", who, why);
		if (!rc) {
			/* the body is complete: wait for the receiver's verdict, not
			 * past the deadline nor long (a receiver keeping the
			 * connection open has the RRD all the same) */
			nc_end_write(c);
			double now = clk_elapsed();
			nc_set_deadline(c, now + AFTER_BODY_MAX < deadline ? now + AFTER_BODY_MAX
			                                                   : deadline);
			rc = after_body(c, who, err, errlen);
		}
	}
	nc_close(c);
	buf_free(&body);
	buf_free(&head);
	buf_free(&in);
	return rc;
}

int rpc_pull_host_rrd(const struct rpc_pool_config *pc, const char *address, const char *uuid,
                      struct rrdb **out, char *err, size_t errlen)
{
	*out = NULL;
	uint64_t max = pc->max_pull_bytes ? pc->max_pull_bytes : DEFAULT_PULL;
	struct xfer x;
	int rc = xfer_open(&x, pc, address, true, false, err, errlen);
	if (rc)
		return rc;
	const struct target t = x.t;
	const char *who = x.who;
	struct nc *c = x.c;
	struct buf req = BUF_INIT, in = BUF_INIT;
	/* xapi hands GET /host_rrd?dbsync=true to its rrdd as /rrd_unarchive
	 * (rrdd_proxy.ml get_host_rrd_forwarder): the archive the master keeps
	 * for this host; straight to an rrdd, ask for that */
	buf_adds(&req, t.pool ? "GET /host_rrd?uuid=" : "GET /rrd_unarchive?uuid=");
	urlenc(&req, uuid);
	buf_printf(&req, "%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: rrdd/%s\r\n",
	           t.pool ? "&dbsync=true" : "", address[0] == '/' ? "localhost" : t.address,
	           RRDD_VERSION);
	if (x.cookie)
		buf_printf(&req, "Cookie: pool_secret=%s\r\n", x.secret);
	buf_adds(&req, "Connection: close\r\n\r\n");
	char why[256];
	struct head h;
	rc = nc_write_all(c, req.p, req.len, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "%s: %s", who, why);
	if (!rc)
		rc = read_head(c, &in, &h, who, err, errlen);
	if (!rc && h.status != 200)
		rc = refused(c, &in, &h, who, err, errlen);
	/* xcp-rrdd insists on a Content-Length, which its own handlers never
	 * send (HTTP/1.0, the body up to the close): both are taken here */
	bool sized = h.content_length >= 0;
	if (!rc && sized && (uint64_t)h.content_length > max) {
		snprintf(err, errlen, "%s: an RRD of %lld bytes (at most %llu)", who,
		         h.content_length, (unsigned long long)max);
		rc = -EFBIG;
	}
	uint64_t want = sized ? (uint64_t)h.content_length : max + 1;
	char tmp[65536];
	while (!rc && in.len - h.head_len < want) {
		ssize_t n = nc_read(c, tmp, sizeof(tmp), why, sizeof(why));
		if (n == 0 && !sized)
			break;
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s", who,
			         n == 0 ? "the answer ends before its Content-Length" : why);
			rc = n == 0 ? -EPROTO : (int)n;
		} else {
			buf_add(&in, tmp, (size_t)n);
		}
	}
	if (!rc && !sized && in.len - h.head_len > max) {
		snprintf(err, errlen, "%s: an RRD of over %llu bytes", who,
		         (unsigned long long)max);
		rc = -EFBIG;
	}
	nc_close(c);
	if (!rc) {
		char perr[256];
		size_t blen = in.len - h.head_len;
		if (sized && blen > (size_t)h.content_length)
			blen = (size_t)h.content_length;
		rc = store_parse_rrd_bytes(in.p + h.head_len, blen, out, perr, sizeof(perr));
		if (rc)
			snprintf(err, errlen, "%s: %s", who, perr);
	}
	buf_free(&req);
	buf_free(&in);
	return rc;
}
