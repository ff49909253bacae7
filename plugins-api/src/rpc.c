/*
 * The daemon's RPC, client side: XML-RPC over HTTP/1.1 on the daemon's Unix
 * socket (wire-format.md §5.1, 5.2.1), for Plugin.Local.register / next_reading /
 * deregister, and the sampling clock built on it (wire-format.md §1.2, 6.1).
 *
 * One connection per call ("Connection: close"), the request in the exact
 * encoding of xcp-rrdd's own clients (named parameters in one struct, bare
 * string values).  The answer is read with an overall deadline and a size
 * cap and parsed with expat; anything unexpected is -EPROTO, never a crash.
 * Writes use MSG_NOSIGNAL, so a daemon that closes early cannot raise
 * SIGPIPE in the host process.
 */
#include "internal.h"

#include <errno.h>
#include <expat.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_RESPONSE (64 * 1024)
#define MAX_TEXT     1024

static void xml_escape_into(char *out, size_t outlen, const char *s)
{
	size_t k = 0;
	for (; *s && k + 7 < outlen; s++) {
		const char *e = NULL;
		switch (*s) {
		case '&':
			e = "&amp;";
			break;
		case '<':
			e = "&lt;";
			break;
		case '>':
			e = "&gt;";
			break;
		case '"':
			e = "&quot;";
			break;
		}
		if (e) {
			size_t n = strlen(e);
			memcpy(out + k, e, n);
			k += n;
		} else {
			out[k++] = *s;
		}
	}
	out[k] = '\0';
}

char *rrdp_i_rpc_body(const char *method, const char *uid, bool with_register_args)
{
	char euid[RRDP_MAX_UID * 6 + 8];
	xml_escape_into(euid, sizeof(euid), uid);
	/* Plugin.Metrics.register (xcp-metrics' v3) carries the OpenMetrics
	 * version; Plugin.Local.register the frequency and the protocol */
	bool v3 = strncmp(method, "Plugin.Metrics.", 15) == 0;
	const char *extra =
	    !with_register_args ? ""
	    : v3 ? "<member><name>version</name><value>OpenMetrics 1.0.0</value></member>"
	         : "<member><name>info</name><value>Five_Seconds</value></member>"
	           "<member><name>protocol</name><value>V2</value></member>";
	char *body = NULL;
	if (asprintf(&body,
	             "<?xml version=\"1.0\"?><methodCall><methodName>%s</methodName>"
	             "<params><param><value><struct>"
	             "<member><name>uid</name><value>%s</value></member>%s"
	             "</struct></value></param></params></methodCall>",
	             method, euid, extra) < 0)
		return NULL;
	return body;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait until fd is ready for `events` or the deadline passes. */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - mono_now();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = events};
		int r = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Send the request and read the whole answer into buf (NUL-terminated). */
static int exchange(const char *socket_path, double timeout, const char *req, size_t reqlen,
                    char *buf, size_t bufcap, size_t *got)
{
	double deadline = mono_now() + timeout;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		return rrdp_i_fail(-e, "socket: %s", strerror(e));
	}
	struct timeval tv = {.tv_sec = (time_t)timeout,
	                     .tv_usec = (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6)};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno == EAGAIN || errno == EINPROGRESS ? ETIMEDOUT : errno;
		close(fd);
		return rrdp_i_fail(-e, "cannot connect to the daemon at \"%s\": %s", socket_path,
		                   strerror(e));
	}
	size_t off = 0;
	while (off < reqlen) {
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc < 0) {
			close(fd);
			return rrdp_i_fail(rc, "sending to \"%s\": %s", socket_path, strerror(-rc));
		}
		ssize_t w = send(fd, req + off, reqlen - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			int e = errno;
			close(fd);
			return rrdp_i_fail(-e, "sending to \"%s\": %s", socket_path, strerror(e));
		}
		off += (size_t)w;
	}
	/* Read until EOF, or until the Content-Length is complete. */
	size_t n = 0;
	for (;;) {
		int rc = wait_fd(fd, POLLIN, deadline);
		if (rc < 0) {
			close(fd);
			return rrdp_i_fail(rc, "waiting for the daemon's answer: %s",
			                   strerror(-rc));
		}
		if (n + 1 >= bufcap) {
			close(fd);
			return rrdp_i_fail(-EPROTO, "the daemon's answer exceeds %zu bytes",
			                   bufcap - 1);
		}
		ssize_t r = recv(fd, buf + n, bufcap - 1 - n, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			int e = errno;
			close(fd);
			return rrdp_i_fail(-e, "reading the daemon's answer: %s", strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		const char *hend = strstr(buf, "\r\n\r\n");
		if (hend) {
			/* Content-Length known: stop when the body is complete. */
			const char *cl = NULL;
			for (const char *q = buf; q + 17 < hend; q++) {
				if (strncasecmp(q, "\r\ncontent-length:", 17) == 0) {
					cl = q + 17;
					break;
				}
			}
			if (cl) {
				char *e;
				unsigned long long len = strtoull(cl, &e, 10);
				if (e != cl && (size_t)(hend + 4 - buf) + len <= n)
					break;
			}
		}
	}
	close(fd);
	buf[n] = '\0';
	*got = n;
	return 0;
}

/* --- XML-RPC answer parsing (expat) ------------------------------------ */

struct xstate {
	XML_Parser parser;
	int depth;
	bool root_ok, fault, bad;
	int member_depth;    /* depth of the outermost open <member>, 0 if none */
	char member[64];     /* its name */
	char text[MAX_TEXT]; /* character data of the current leaf */
	size_t textlen;
	bool leaf;    /* no child element since the last start tag */
	char tag[16]; /* name of the element the text belongs to */
	char status[32];
	char value[128];
	bool have_value;
	char error[512];
};

/* Copy s into dst[0..size), truncating. */
static void copy_trunc(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);
	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static void add_error(struct xstate *x, const char *s)
{
	size_t k = strlen(x->error);
	snprintf(x->error + k, sizeof(x->error) - k, "%s%s", k ? " " : "", s);
}

static void xml_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct xstate *x = ud;
	x->depth++;
	if (x->depth == 1) {
		x->root_ok = strcmp(name, "methodResponse") == 0;
	} else if (x->depth == 2 && strcmp(name, "fault") == 0) {
		x->fault = true;
	}
	if (strcmp(name, "member") == 0 && x->member_depth == 0) {
		x->member_depth = x->depth;
		x->member[0] = '\0';
	}
	x->leaf = true;
	x->textlen = 0;
	x->text[0] = '\0';
	snprintf(x->tag, sizeof(x->tag), "%s", name);
}

static void xml_end(void *ud, const XML_Char *name)
{
	struct xstate *x = ud;
	if (x->member_depth && x->depth == x->member_depth + 1 && strcmp(name, "name") == 0) {
		copy_trunc(x->member, sizeof(x->member), x->text);
	} else if (x->member_depth && x->depth > x->member_depth && x->leaf) {
		/* A leaf under the member's value: "<value>s</value>" or a
		 * typed "<double>s</double>". */
		if (strcmp(x->member, "Status") == 0) {
			copy_trunc(x->status, sizeof(x->status), x->text);
		} else if (strcmp(x->member, "Value") == 0) {
			copy_trunc(x->value, sizeof(x->value), x->text);
			x->have_value = strcmp(x->tag, "nil") != 0;
		} else if (strcmp(x->member, "ErrorDescription") == 0 ||
		           strcmp(x->member, "faultString") == 0) {
			add_error(x, x->text);
		}
	}
	if (x->member_depth == x->depth && strcmp(name, "member") == 0)
		x->member_depth = 0;
	x->leaf = false;
	x->textlen = 0;
	x->text[0] = '\0';
	x->depth--;
}

static void xml_text(void *ud, const XML_Char *s, int len)
{
	struct xstate *x = ud;
	if (!x->leaf || len <= 0)
		return;
	size_t k = (size_t)len;
	if (x->textlen + k >= sizeof(x->text))
		k = sizeof(x->text) - 1 - x->textlen;
	memcpy(x->text + x->textlen, s, k);
	x->textlen += k;
	x->text[x->textlen] = '\0';
}

static void xml_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                        const XML_Char *pubid, int has_internal_subset)
{
	struct xstate *x = ud;
	x->bad = true;
	XML_StopParser(x->parser, XML_FALSE);
}

static int parse_number(const char *s, double *out)
{
	locale_t c_loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c_loc == (locale_t)0)
		return -ENOMEM;
	locale_t old = uselocale(c_loc);
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	bool ok = end != s && errno == 0;
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	uselocale(old);
	freelocale(c_loc);
	if (!ok || *end || !isfinite(v))
		return -EPROTO;
	*out = v;
	return 0;
}

static int parse_answer(const char *method, char *resp, size_t n, double *value)
{
	if (strncmp(resp, "HTTP/1.", 7) != 0 || n < 12)
		return rrdp_i_fail(-EPROTO, "%s: the daemon's answer is not HTTP", method);
	int code = atoi(resp + 9);
	char *hend = strstr(resp, "\r\n\r\n");
	if (!hend)
		return rrdp_i_fail(-EPROTO, "%s: incomplete HTTP header in the answer", method);
	if (code != 200) {
		char *eol = strstr(resp, "\r\n");
		*eol = '\0';
		return rrdp_i_fail(-EREMOTEIO, "%s: the daemon answered \"%s\"", method, resp);
	}
	for (char *q = resp; q < hend; q++)
		if (strncasecmp(q, "\r\ntransfer-encoding:", 20) == 0)
			return rrdp_i_fail(-EPROTO, "%s: chunked answers are not supported",
			                   method);
	char *body = hend + 4;
	size_t blen = n - (size_t)(body - resp);
	for (char *q = resp; q + 17 < hend; q++) {
		if (strncasecmp(q, "\r\ncontent-length:", 17) == 0) {
			char *e;
			unsigned long long cl = strtoull(q + 17, &e, 10);
			if (e == q + 17)
				return rrdp_i_fail(-EPROTO, "%s: bad Content-Length", method);
			if (cl > blen)
				return rrdp_i_fail(
				    -EPROTO,
				    "%s: answer shorter than its Content-Length (%zu < "
				    "%llu)",
				    method, blen, cl);
			blen = (size_t)cl; /* ignore anything after the body */
			break;
		}
	}

	struct xstate x = {0};
	XML_Parser xp = XML_ParserCreate(NULL);
	if (!xp)
		return rrdp_i_fail(-ENOMEM, "%s: cannot create an XML parser", method);
	x.parser = xp;
	XML_SetUserData(xp, &x);
	XML_SetElementHandler(xp, xml_start, xml_end);
	XML_SetCharacterDataHandler(xp, xml_text);
	XML_SetStartDoctypeDeclHandler(xp, xml_doctype);
	enum XML_Status st = XML_Parse(xp, body, (int)blen, XML_TRUE);
	char xerr[128] = "";
	if (st != XML_STATUS_OK)
		snprintf(xerr, sizeof(xerr), "%s at line %lu",
		         x.bad ? "DOCTYPE not allowed" : XML_ErrorString(XML_GetErrorCode(xp)),
		         (unsigned long)XML_GetCurrentLineNumber(xp));
	XML_ParserFree(xp);
	if (st != XML_STATUS_OK)
		return rrdp_i_fail(-EPROTO, "%s: bad XML in the answer: %s", method, xerr);
	if (!x.root_ok)
		return rrdp_i_fail(-EPROTO, "%s: the answer is not an XML-RPC methodResponse",
		                   method);
	if (x.fault)
		return rrdp_i_fail(-EREMOTEIO, "%s: XML-RPC fault: %s", method, x.error);
	if (strcmp(x.status, "Failure") == 0)
		return rrdp_i_fail(-EREMOTEIO, "%s failed: %s", method,
		                   x.error[0] ? x.error : "(no description)");
	if (strcmp(x.status, "Success") != 0)
		return rrdp_i_fail(-EPROTO, "%s: the answer has no Status Success or Failure",
		                   method);
	if (value) {
		if (!x.have_value)
			return rrdp_i_fail(-EPROTO, "%s: the answer has no Value", method);
		int rc = parse_number(x.value, value);
		if (rc < 0)
			return rrdp_i_fail(rc, "%s: Value \"%s\" is not a finite number", method,
			                   x.value);
	}
	return 0;
}

int rrdp_i_rpc_call(const char *socket_path, double timeout, const char *method, const char *uid,
                    bool with_register_args, double *value)
{
	char *body = rrdp_i_rpc_body(method, uid, with_register_args);
	if (!body)
		return rrdp_i_fail(-ENOMEM, "out of memory");
	char *req = NULL;
	int reqlen = asprintf(&req,
	                      "POST / HTTP/1.1\r\nHost: localhost\r\n"
	                      "User-Agent: librrdd-plugin/%s\r\nContent-Type: text/xml\r\n"
	                      "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	                      rrdp_version(), strlen(body), body);
	free(body);
	if (reqlen < 0)
		return rrdp_i_fail(-ENOMEM, "out of memory");
	char *resp = malloc(MAX_RESPONSE + 1);
	if (!resp) {
		free(req);
		return rrdp_i_fail(-ENOMEM, "out of memory");
	}
	size_t n = 0;
	int rc = exchange(socket_path, timeout, req, (size_t)reqlen, resp, MAX_RESPONSE + 1, &n);
	free(req);
	if (rc == 0)
		rc = parse_answer(method, resp, n, value);
	free(resp);
	return rc;
}

/* --- public calls -------------------------------------------------------- */

static int call(struct rrdp_plugin *p, const char *method, bool reg, double *value)
{
	rrdp_i_clear_error();
	if (!p)
		return rrdp_i_fail(-EINVAL, "plugin handle is NULL");
	if (!p->socket_path)
		return rrdp_i_fail(-ENOTCONN, "RPC is disabled for this plugin");
	return rrdp_i_rpc_call(p->socket_path, p->rpc_timeout, method, p->uid, reg, value);
}

int rrdp_register(struct rrdp_plugin *p, double *next_reading)
{
	double v = 0;
	int rc;
	if (p && p->protocol == 3) {
		/* answers "OK"; the time to the next reading is asked after */
		rc = call(p, "Plugin.Metrics.register", true, NULL);
		if (rc == 0 && next_reading)
			rc = call(p, "Plugin.Local.next_reading", false, &v);
	} else {
		rc = call(p, "Plugin.Local.register", true, &v);
	}
	if (rc == 0) {
		pthread_mutex_lock(&p->lock);
		p->registered = true;
		pthread_mutex_unlock(&p->lock);
		if (next_reading)
			*next_reading = v;
	}
	return rc;
}

int rrdp_next_reading(struct rrdp_plugin *p, double *next_reading)
{
	double v;
	int rc = call(p, "Plugin.Local.next_reading", false, &v);
	if (rc == 0 && next_reading)
		*next_reading = v;
	return rc;
}

int rrdp_deregister(struct rrdp_plugin *p)
{
	int rc =
	    call(p, p && p->protocol == 3 ? "Plugin.Metrics.deregister" : "Plugin.Local.deregister",
	         false, NULL);
	if (rc == 0) {
		pthread_mutex_lock(&p->lock);
		p->registered = false;
		pthread_mutex_unlock(&p->lock);
	}
	return rc;
}

static struct timespec ts_of(double t)
{
	struct timespec ts;
	ts.tv_sec = (time_t)floor(t);
	ts.tv_nsec = (long)((t - floor(t)) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

int rrdp_wait_next(struct rrdp_plugin *p, double *slept)
{
	if (slept)
		*slept = 0;
	if (!p)
		return rrdp_i_fail(-EINVAL, "plugin handle is NULL");
	double nr = 0;
	int rc = rrdp_register(p, &nr);
	double now = mono_now(), deadline;
	pthread_mutex_lock(&p->lock);
	double period = p->period;
	if (rc == 0) {
		double d = nr - p->neg_shift;
		if (d < 0.1)
			d += period;
		if (d < 0)
			d = 0;
		if (d > 3 * period) /* a confused daemon must not stall us */
			d = 3 * period;
		deadline = now + d;
	} else {
		double last = p->have_last_wake
		                  ? (double)p->last_wake.tv_sec + (double)p->last_wake.tv_nsec / 1e9
		                  : now;
		double k = floor((now - last) / period) + 1;
		deadline = last + k * period;
	}
	pthread_mutex_unlock(&p->lock);

	char msg[512];
	snprintf(msg, sizeof(msg), "%s", rrdp_error_message());
	struct timespec dl = ts_of(deadline);
	int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL);
	double end = mono_now();
	if (slept)
		*slept = end - now;
	pthread_mutex_lock(&p->lock);
	p->last_wake = r == 0 ? dl : ts_of(end);
	p->have_last_wake = true;
	pthread_mutex_unlock(&p->lock);
	if (r == EINTR)
		return rrdp_i_fail(-EINTR, "interrupted by a signal");
	if (r != 0)
		return rrdp_i_fail(-r, "clock_nanosleep: %s", strerror(r));
	if (rc < 0)
		rrdp_i_fail(rc, "%s (slept one fallback period)", msg);
	return rc;
}
