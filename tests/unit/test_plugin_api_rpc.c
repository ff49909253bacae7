/*
 * librrdd-plugin's RPC client against a fake daemon on a temporary Unix
 * socket: the exact request bytes of Plugin.Local.register / next_reading /
 * deregister (the body of wire-format.md §5.2.1, written out here by hand), parsing of
 * next_reading answers (typed and bare values, pretty-printed XML), every
 * failure answer (Failure status, HTTP 401, XML-RPC fault, garbage,
 * truncation, DOCTYPE, oversize, chunked, non-numbers, silence, early close)
 * as a returned error, never a crash or hang; no daemon at all; the
 * sampling clock with and without a daemon; close deregisters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"
#include "rrdd/plugin.h"

/* ---- the fake daemon ---- */

enum mode { REPLY, HANG, CLOSE_NOW };

struct script {
	enum mode mode;
	const char *reply; /* full HTTP answer, or NULL for an XML body with 200 OK */
	const char *body;
};

#define MAXCONN 8

struct server {
	char dir[40], sock[100];
	int lfd;
	pthread_t thread;
	struct script s[MAXCONN];
	int n;
	char *req[MAXCONN]; /* captured requests */
	int handled;
};

static void read_request(int fd, char **out)
{
	size_t cap = 65536, n = 0;
	char *b = calloc(1, cap + 1);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t r = recv(fd, b + n, cap - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		b[n] = '\0';
		char *h = strstr(b, "\r\n\r\n");
		char *cl = strcasestr(b, "\r\nContent-Length:");
		if (h && cl && (size_t)(h + 4 - b) + strtoul(cl + 17, NULL, 10) <= n)
			break;
		if (n == cap)
			break;
	}
	*out = b;
}

static void *serve(void *arg)
{
	struct server *sv = arg;
	for (int i = 0; i < sv->n; i++) {
		struct pollfd p = {.fd = sv->lfd, .events = POLLIN};
		if (poll(&p, 1, 10000) <= 0)
			break;
		int fd = accept(sv->lfd, NULL, NULL);
		if (fd < 0)
			break;
		struct script *s = &sv->s[i];
		if (s->mode == CLOSE_NOW) {
			close(fd);
			sv->handled++;
			continue;
		}
		read_request(fd, &sv->req[i]);
		if (s->mode == HANG) {
			/* Say nothing until the client gives up. */
			char c;
			struct pollfd q = {.fd = fd, .events = POLLIN};
			while (poll(&q, 1, 5000) > 0 && recv(fd, &c, 1, 0) > 0)
				;
		} else {
			char *ans = NULL;
			if (s->reply)
				ans = strdup(s->reply);
			else if (asprintf(&ans,
			                  "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
			                  "Cache-Control: no-cache\r\n\r\n%s",
			                  strlen(s->body), s->body) < 0)
				ans = NULL;
			size_t off = 0, len = strlen(ans);
			while (off < len) {
				ssize_t w = send(fd, ans + off, len - off, MSG_NOSIGNAL);
				if (w <= 0)
					break;
				off += (size_t)w;
			}
			free(ans);
		}
		close(fd);
		sv->handled++;
	}
	return NULL;
}

static struct server *start(const struct script *s, int n)
{
	struct server *sv = calloc(1, sizeof(*sv));
	snprintf(sv->dir, sizeof(sv->dir), "/tmp/test_plugin_rpc.XXXXXX");
	assert_non_null(mkdtemp(sv->dir));
	snprintf(sv->sock, sizeof(sv->sock), "%s/xcp-rrdd", sv->dir);
	sv->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sv->sock);
	assert_int_equal(bind(sv->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(sv->lfd, 8), 0);
	memcpy(sv->s, s, (size_t)n * sizeof(*s));
	sv->n = n;
	assert_int_equal(pthread_create(&sv->thread, NULL, serve, sv), 0);
	return sv;
}

/* Wait for the scripted connections to be served. */
static void finish(struct server *sv)
{
	pthread_join(sv->thread, NULL);
	close(sv->lfd);
	unlink(sv->sock);
}

static void cleanup(struct server *sv)
{
	for (int i = 0; i < MAXCONN; i++)
		free(sv->req[i]);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", sv->dir);
	assert_int_equal(system(cmd), 0);
	free(sv);
}

static struct rrdp_plugin *plugin_for(struct server *sv, const char *uid, double timeout)
{
	struct rrdp_options o = {.dir = sv->dir, .socket_path = sv->sock, .rpc_timeout = timeout};
	struct rrdp_plugin *p = NULL;
	if (rrdp_plugin_new(&p, uid, &o) < 0)
		fail_msg("%s", rrdp_error_message());
	return p;
}

/* The body of an answer {Status: Success, Value: <value>} */
#define SUCCESS(v)                                                                                 \
	"<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"                    \
	"<member><name>Status</name><value>Success</value></member>"                               \
	"<member><name>Value</name><value>" v "</value></member>"                                  \
	"</struct></value></param></params></methodResponse>"

/* The request bodies, written from wire-format.md §5.2.1 and xapi-idl's test data. */
static const char register_body[] =
    "<?xml version=\"1.0\"?><methodCall><methodName>Plugin.Local.register</methodName>"
    "<params><param><value><struct><member><name>uid</name><value>xcp-rrdd-cpu</value>"
    "</member><member><name>info</name><value>Five_Seconds</value></member><member><name>"
    "protocol</name><value>V2</value></member></struct></value></param></params></methodCall>";
static const char next_reading_body[] =
    "<?xml version=\"1.0\"?><methodCall><methodName>Plugin.Local.next_reading</methodName>"
    "<params><param><value><struct><member><name>uid</name><value>xcp-rrdd-cpu</value>"
    "</member></struct></value></param></params></methodCall>";
static const char deregister_body[] =
    "<?xml version=\"1.0\"?><methodCall><methodName>Plugin.Local.deregister</methodName>"
    "<params><param><value><struct><member><name>uid</name><value>xcp-rrdd-cpu</value>"
    "</member></struct></value></param></params></methodCall>";

static void check_request(const char *req, const char *body)
{
	assert_non_null(req);
	assert_true(strncmp(req, "POST / HTTP/1.1\r\n", 17) == 0);
	const char *h = strstr(req, "\r\n\r\n");
	assert_non_null(h);
	assert_string_equal(h + 4, body);
	char cl[64];
	snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", strlen(body));
	const char *f = strstr(req, cl);
	assert_true(f != NULL && f < h);
	const char *ct = strstr(req, "\r\nContent-Type: text/xml\r\n");
	assert_true(ct != NULL && ct < h);
}

/* ---- tests ---- */

static void test_register_wire_format(void **state)
{
	(void)state;
	struct script s[] = {{REPLY, NULL, SUCCESS("<double>4.4872</double>")}};
	struct server *sv = start(s, 1);
	struct rrdp_plugin *p = plugin_for(sv, "xcp-rrdd-cpu", 5);
	double nr = 0;
	int rc = rrdp_register(p, &nr);
	if (rc < 0)
		fail_msg("%s", rrdp_error_message());
	assert_true(nr == 4.4872);
	finish(sv);
	check_request(sv->req[0], register_body);
	rrdp_plugin_free(p);
	cleanup(sv);
}

static void test_next_reading_and_deregister(void **state)
{
	(void)state;
	struct script s[] = {
	    {REPLY, NULL, SUCCESS("-1")},                         /* bare, as OCaml prints ints */
	    {REPLY, NULL, SUCCESS("<double>  2.5e0\n</double>")}, /* white space around */
	    {REPLY, NULL,
	     "<?xml version=\"1.0\"?>\n<methodResponse>\n <params>\n  <param>\n   <value>\n"
	     "    <struct>\n     <member>\n      <name>Status</name>\n"
	     "      <value><string>Success</string></value>\n     </member>\n"
	     "     <member>\n      <name>Value</name>\n      <value><int>3</int></value>\n"
	     "     </member>\n    </struct>\n   </value>\n  </param>\n </params>\n"
	     "</methodResponse>\n"},
	    {REPLY, NULL, NULL}, /* filled in below: junk after the body */
	};
	/* Bytes beyond the Content-Length are ignored. */
	char junk_reply[1024];
	snprintf(junk_reply, sizeof(junk_reply),
	         "HTTP/1.1 200 OK\r\ncontent-length: %zu\r\n\r\n%sjunk after the body",
	         strlen(SUCCESS("<nil/>")), SUCCESS("<nil/>"));
	s[3].reply = junk_reply;
	struct server *sv = start(s, 4);
	struct rrdp_plugin *p = plugin_for(sv, "xcp-rrdd-cpu", 5);
	double nr = 0;
	assert_int_equal(rrdp_next_reading(p, &nr), 0);
	assert_true(nr == -1.0);
	assert_int_equal(rrdp_next_reading(p, &nr), 0);
	assert_true(nr == 2.5);
	assert_int_equal(rrdp_next_reading(p, &nr), 0);
	assert_true(nr == 3.0);
	if (rrdp_deregister(p) < 0)
		fail_msg("%s", rrdp_error_message());
	finish(sv);
	check_request(sv->req[0], next_reading_body);
	check_request(sv->req[3], deregister_body);
	rrdp_plugin_free(p);
	cleanup(sv);
}

struct bad {
	const char *what;
	struct script s;
	int rc;
	const char *msg; /* expected in the message */
};

static void test_bad_answers(void **state)
{
	(void)state;
	static char big[80000];
	memset(big, 'x', sizeof(big) - 1);
	static char oversize[80200];
	snprintf(oversize, sizeof(oversize), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
	         strlen(big), big);
	const struct bad cases[] = {
	    {"Failure",
	     {REPLY, NULL,
	      "<methodResponse><params><param><value><struct><member><name>Status</name>"
	      "<value>Failure</value></member><member><name>ErrorDescription</name><value>"
	      "<array><data><value>Rrdd_internal_error</value><value>disk on fire</value>"
	      "</data></array></value></member></struct></value></param></params>"
	      "</methodResponse>"},
	     -EREMOTEIO,
	     "Rrdd_internal_error disk on fire"},
	    {"401",
	     {REPLY,
	      "HTTP/1.1 401 Unauthorised\r\nWWW-Authenticate: Basic realm=\"Go away\"\r\n"
	      "Content-Length: 0\r\n\r\n",
	      NULL},
	     -EREMOTEIO,
	     "401"},
	    {"fault",
	     {REPLY, NULL,
	      "<methodResponse><fault><value><struct><member><name>faultCode</name><value>"
	      "<int>4</int></value></member><member><name>faultString</name><value>"
	      "no such method</value></member></struct></value></fault></methodResponse>"},
	     -EREMOTEIO,
	     "no such method"},
	    {"not HTTP", {REPLY, "hello\r\n\r\n", NULL}, -EPROTO, "not HTTP"},
	    {"no header end",
	     {REPLY, "HTTP/1.1 200 OK\r\nContent-Length: 5", NULL},
	     -EPROTO,
	     "incomplete"},
	    {"truncated XML",
	     {REPLY, NULL, "<methodResponse><params><param><value><struct>"},
	     -EPROTO,
	     "bad XML"},
	    {"not XML-RPC",
	     {REPLY, NULL, "<html><body>hi</body></html>"},
	     -EPROTO,
	     "methodResponse"},
	    {"no Status",
	     {REPLY, NULL, "<methodResponse><params/></methodResponse>"},
	     -EPROTO,
	     "Status"},
	    {"no Value",
	     {REPLY, NULL,
	      "<methodResponse><params><param><value><struct><member><name>Status</name>"
	      "<value>Success</value></member></struct></value></param></params>"
	      "</methodResponse>"},
	     -EPROTO,
	     "no Value"},
	    {"word", {REPLY, NULL, SUCCESS("<double>soon</double>")}, -EPROTO, "soon"},
	    {"trailing", {REPLY, NULL, SUCCESS("<double>1.5s</double>")}, -EPROTO, "1.5s"},
	    {"inf", {REPLY, NULL, SUCCESS("<double>inf</double>")}, -EPROTO, "finite"},
	    {"nan", {REPLY, NULL, SUCCESS("nan")}, -EPROTO, "finite"},
	    {"empty", {REPLY, NULL, SUCCESS("")}, -EPROTO, "finite"},
	    {"doctype",
	     {REPLY, NULL,
	      "<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY a \"aaaaaaaa\">]>"
	      "<methodResponse/>"},
	     -EPROTO,
	     "DOCTYPE"},
	    {"chunked",
	     {REPLY, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	      NULL},
	     -EPROTO,
	     "chunked"},
	    {"oversize", {REPLY, oversize, NULL}, -EPROTO, "exceeds"},
	    {"short body",
	     {REPLY, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n<a/>", NULL},
	     -EPROTO,
	     "shorter"},
	    {"closed", {CLOSE_NOW, NULL, NULL}, 0, NULL}, /* some error, no SIGPIPE */
	    {"silent", {HANG, NULL, NULL}, -ETIMEDOUT, "waiting"},
	};
	size_t nc = sizeof(cases) / sizeof(cases[0]);
	for (size_t i = 0; i < nc; i++) {
		struct server *sv = start(&cases[i].s, 1);
		struct rrdp_plugin *p = plugin_for(sv, "bad-answers", 0.3);
		double nr = 12345;
		int rc = rrdp_next_reading(p, &nr);
		const char *msg = rrdp_error_message();
		if (cases[i].rc ? rc != cases[i].rc : rc >= 0)
			fail_msg("%s: rc %d (%s), expected %d", cases[i].what, rc, msg,
			         cases[i].rc);
		if (cases[i].msg && !strstr(msg, cases[i].msg))
			fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].what, msg,
			         cases[i].msg);
		assert_true(nr == 12345); /* untouched on error */
		finish(sv);
		rrdp_plugin_free(p);
		cleanup(sv);
	}
}

static void test_no_daemon(void **state)
{
	(void)state;
	char dir[40];
	snprintf(dir, sizeof(dir), "/tmp/test_plugin_rpc.XXXXXX");
	assert_non_null(mkdtemp(dir));
	char sock[100];
	snprintf(sock, sizeof(sock), "%s/missing", dir);
	struct rrdp_options o = {.dir = dir, .socket_path = sock, .period = 0.05};
	struct rrdp_plugin *p;
	assert_int_equal(rrdp_plugin_new(&p, "lonely", &o), 0);
	double nr = 7;
	assert_int_equal(rrdp_register(p, &nr), -ENOENT);
	assert_non_null(strstr(rrdp_error_message(), sock));
	assert_int_equal(rrdp_next_reading(p, &nr), -ENOENT);
	assert_int_equal(rrdp_deregister(p), -ENOENT);
	assert_true(nr == 7);
	/* The clock still ticks on its own period, reporting the error. */
	double slept = -1;
	assert_int_equal(rrdp_wait_next(p, &slept), -ENOENT);
	assert_true(slept >= 0);
	assert_non_null(strstr(rrdp_error_message(), "fallback"));
	assert_int_equal(rrdp_wait_next(p, NULL), -ENOENT);
	rrdp_plugin_free(p);

	/* A stale socket file nobody listens on. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(rrdp_plugin_new(&p, "lonely", &o), 0);
	assert_int_equal(rrdp_register(p, NULL), -ECONNREFUSED);
	/* Closing a handle that never registered makes no call. */
	assert_int_equal(rrdp_plugin_close(p), 0);
	unlink(sock);

	/* RPC disabled. */
	struct rrdp_options off = {.dir = dir, .socket_path = "", .period = 0.05};
	assert_int_equal(rrdp_plugin_new(&p, "lonely", &off), 0);
	assert_int_equal(rrdp_register(p, NULL), -ENOTCONN);
	assert_int_equal(rrdp_wait_next(p, NULL), -ENOTCONN);
	assert_int_equal(rrdp_plugin_close(p), 0);

	/* Socket path too long for sockaddr_un. */
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	struct rrdp_options lo = {.dir = dir, .socket_path = longp};
	assert_int_equal(rrdp_plugin_new(&p, "lonely", &lo), -ENAMETOOLONG);
	rmdir(dir);
}

static void test_wait_next_with_daemon(void **state)
{
	(void)state;
	struct script s[] = {{REPLY, NULL, SUCCESS("<double>0.15</double>")},
	                     {REPLY, NULL, SUCCESS("<double>-1</double>")}};
	struct server *sv = start(s, 2);
	struct rrdp_options o = {
	    .dir = sv->dir, .socket_path = sv->sock, .neg_shift = 0.1, .period = 0.2};
	struct rrdp_plugin *p;
	assert_int_equal(rrdp_plugin_new(&p, "xcp-rrdd-cpu", &o), 0);
	double slept = -1;
	int rc = rrdp_wait_next(p, &slept);
	if (rc < 0)
		fail_msg("%s", rrdp_error_message());
	assert_true(slept >= 0);
	/* Overdue (negative) answers still give a sleep, not an error. */
	assert_int_equal(rrdp_wait_next(p, &slept), 0);
	finish(sv);
	check_request(sv->req[0], register_body);
	check_request(sv->req[1], register_body);
	rrdp_plugin_free(p);
	cleanup(sv);
}

static void test_close_deregisters_and_unlinks(void **state)
{
	(void)state;
	struct script s[] = {{REPLY, NULL, SUCCESS("<double>4</double>")},
	                     {REPLY, NULL, SUCCESS("<nil/>")}};
	struct server *sv = start(s, 2);
	struct rrdp_plugin *p = plugin_for(sv, "xcp-rrdd-cpu", 5);
	struct rrdp_source_def d = RRDP_SOURCE_DEF_INIT;
	d.name = "x";
	assert_int_equal(rrdp_source_add(p, &d, NULL), 0);
	assert_int_equal(rrdp_register(p, NULL), 0);
	assert_int_equal(rrdp_publish(p), 0);
	char path[256];
	snprintf(path, sizeof(path), "%s", rrdp_plugin_path(p));
	assert_int_equal(access(path, F_OK), 0);
	int rc = rrdp_plugin_close(p);
	if (rc < 0)
		fail_msg("%s", rrdp_error_message());
	assert_int_equal(access(path, F_OK), -1);
	finish(sv);
	assert_int_equal(sv->handled, 2);
	check_request(sv->req[1], deregister_body);
	cleanup(sv);

	/* The daemon went away after registration: close still succeeds. */
	struct script s2[] = {{REPLY, NULL, SUCCESS("<double>4</double>")}};
	sv = start(s2, 1);
	p = plugin_for(sv, "xcp-rrdd-cpu", 5);
	assert_int_equal(rrdp_register(p, NULL), 0);
	finish(sv); /* unlinks the socket */
	assert_int_equal(rrdp_plugin_close(p), 0);
	cleanup(sv);
}

static void test_body_escaping(void **state)
{
	(void)state;
	char *b = rrdp_i_rpc_body("M", "a&b<c>\"d", false);
	assert_non_null(b);
	assert_non_null(strstr(b, "<value>a&amp;b&lt;c&gt;&quot;d</value>"));
	free(b);
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill the test: none may happen */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_wire_format),
	    cmocka_unit_test(test_next_reading_and_deregister),
	    cmocka_unit_test(test_bad_answers),
	    cmocka_unit_test(test_no_daemon),
	    cmocka_unit_test(test_wait_next_with_daemon),
	    cmocka_unit_test(test_close_deregisters_and_unlinks),
	    cmocka_unit_test(test_body_escaping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
