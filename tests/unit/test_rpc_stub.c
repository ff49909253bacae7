/*
 * A stub RPC server for client-library tests, and its own unit test.
 *
 *   test_rpc_stub --serve [--golden] [--content-type T]
 *
 * reads one request body (XML-RPC or JSON-RPC, sniffed as the daemon will)
 * from stdin, answers it with the stub backend of test_rpc_backend.h, writes
 * the response body to stdout and the backend's trace (one line per call it
 * received) to stderr, and exits with the outcome (0 answered, 1 bad
 * request, 2 unknown method).  tests/integration/test_rpc_codec.py drives it
 * with Python's xmlrpc.client.  Without arguments it runs its cmocka tests
 * (so ctest builds and checks it like any other unit test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/dispatch.h"
#include "test_rpc_backend.h"

/* Answer body with the stub; the response goes to out, the trace to trace. */
static enum rpc_outcome serve(const char *body, size_t len, bool golden, const char *ctype,
                              struct buf *out, struct buf *trace)
{
	struct stub s = {.golden = golden};
	struct rpc_backend be = stub_backend(&s);
	char why[300];
	enum rpc_outcome oc = rpc_handle(&be, rpc_guess_wire(body, len, ctype), body, len, NULL,
	                                 out, why, sizeof(why));
	buf_add(trace, s.trace.p ? s.trace.p : "", s.trace.len);
	buf_free(&s.trace);
	return oc;
}

static int serve_main(int argc, char **argv)
{
	bool golden = false;
	const char *ctype = NULL;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--golden"))
			golden = true;
		else if (!strcmp(argv[i], "--content-type") && i + 1 < argc)
			ctype = argv[++i];
		else {
			fprintf(stderr, "usage: %s --serve [--golden] [--content-type T]\n",
			        argv[0]);
			return 64;
		}
	}
	struct buf in = BUF_INIT, out = BUF_INIT, trace = BUF_INIT;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), stdin)) > 0)
		buf_add(&in, tmp, n);
	enum rpc_outcome oc = serve(in.p ? in.p : "", in.len, golden, ctype, &out, &trace);
	fwrite(out.p ? out.p : "", 1, out.len, stdout);
	fwrite(trace.p ? trace.p : "", 1, trace.len, stderr);
	buf_free(&in);
	buf_free(&out);
	buf_free(&trace);
	return fflush(stdout) == 0 ? (int)oc : 70;
}

static void test_serve(void **state)
{
	(void)state;
	struct buf out = BUF_INIT, trace = BUF_INIT;
	const char *req = "<?xml version='1.0'?>\n<methodCall>\n<methodName>Plugin.get_path"
	                  "</methodName>\n<params>\n<param>\n<value><struct>\n<member>\n<name>uid"
	                  "</name>\n<value><string>xcp-rrdd-cpu</string></value>\n</member>\n"
	                  "</struct></value>\n</param>\n</params>\n</methodCall>\n";
	assert_int_equal(serve(req, strlen(req), false, NULL, &out, &trace), RPC_ANSWERED);
	assert_string_equal(buf_cstr(&out),
	                    "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
	                    "<member><name>Status</name><value>Success</value></member><member>"
	                    "<name>Value</name><value>/dev/shm/metrics/xcp-rrdd-cpu</value>"
	                    "</member></struct></value></param></params></methodResponse>");
	assert_string_equal(buf_cstr(&trace), "plugin_get_path uid=xcp-rrdd-cpu\n");
	buf_reset(&out);
	buf_reset(&trace);
	assert_int_equal(serve("garbage", 7, false, NULL, &out, &trace), RPC_BAD_REQUEST);
	assert_int_equal(trace.len, 0);
	assert_non_null(strstr(buf_cstr(&out), "<name>Status</name><value>Failure</value>"));
	buf_reset(&out);
	assert_int_equal(
	    serve("{\"method\":\"m\",\"params\":[],\"id\":1}", 33, false, NULL, &out, &trace),
	    RPC_UNKNOWN_METHOD);
	assert_string_equal(buf_cstr(&out), "{\"result\":null,\"error\":[\"Rrdd_internal_error\","
	                                    "\"unknown method 'm'\"],\"id\":1}");
	buf_free(&out);
	buf_free(&trace);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--serve"))
		return serve_main(argc, argv);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
