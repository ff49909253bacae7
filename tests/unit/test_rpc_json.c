/*
 * Unit tests of the JSON-RPC codec (rpc/jsonrpc.h) and of JSON dispatch:
 * v1 requests and responses as xapi-idl's Jsonrpc writes them (wire-format.md §5.2.1),
 * v2 requests (array, object or absent params) with JSON-RPC 2.0 error
 * objects and codes, id echo, envelope errors, hostile input (syntax errors,
 * truncation at every length, depth, sizes, NUL in strings, duplicate keys),
 * Yojson-style number and string output, and a randomised round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/dispatch.h"
#include "rpc/jsonrpc.h"
#include "test_rpc_backend.h"

/* Dispatch body as JSON with a stub in the given mode; returns the answer. */
static char *call_json(const char *body, bool golden, enum rpc_outcome want_oc, char *trace,
                       size_t tracelen)
{
	struct stub s = {.golden = golden};
	struct rpc_backend be = stub_backend(&s);
	struct buf out = BUF_INIT;
	char why[300];
	enum rpc_outcome oc =
	    rpc_handle(&be, RPC_WIRE_JSON, body, strlen(body), NULL, &out, why, sizeof(why));
	if (oc != want_oc)
		fail_msg("<%s>: outcome %d (%s), want %d; body %s", body, oc, why, want_oc,
		         buf_cstr(&out));
	if (trace)
		snprintf(trace, tracelen, "%s", buf_cstr(&s.trace));
	/* Whatever we answer must be strict JSON. */
	struct rpc_value v;
	char err[200];
	if (rpc_json_parse_value(out.p, out.len, NULL, &v, err, sizeof(err)) != 0)
		fail_msg("answer is not JSON: %s (%s)", buf_cstr(&out), err);
	rpc_value_free(&v);
	char *r = xstrdup(buf_cstr(&out));
	buf_free(&out);
	buf_free(&s.trace);
	return r;
}

static void expect_json(const char *body, bool golden, enum rpc_outcome oc, const char *want,
                        const char *want_trace)
{
	char trace[600];
	char *got = call_json(body, golden, oc, trace, sizeof(trace));
	if (strcmp(got, want) != 0)
		fail_msg("<%s>\n got  %s\n want %s", body, got, want);
	if (want_trace && strcmp(trace, want_trace) != 0)
		fail_msg("<%s>: trace <%s>, want <%s>", body, trace, want_trace);
	free(got);
}

static void test_v1(void **state)
{
	(void)state;
	/* wire-format.md §5.2.1, golden values. */
	expect_json("{\"method\":\"Plugin.Local.register\",\"params\":[{\"uid\":\"x\",\"info\":"
	            "\"Five_Seconds\",\"protocol\":\"V2\"}],\"id\":1}",
	            true, RPC_ANSWERED, "{\"result\":0.0,\"error\":null,\"id\":1}",
	            "plugin_register uid=x frequency=5 protocol=V2\n");
	expect_json("{\"method\":\"Plugin.Local.register\",\"params\":[{\"uid\":\"x\",\"info\":"
	            "\"Five_Seconds\",\"protocol\":\"V2\"}],\"id\":1}",
	            false, RPC_ANSWERED, "{\"result\":2.5,\"error\":null,\"id\":1}", NULL);
	expect_json("{\"id\":\"abc\",\"params\":[{\"vm_uuid\":\"u\",\"ds_name\":\"missing\"}],"
	            "\"method\":\"query_vm_ds\"}",
	            false, RPC_ANSWERED,
	            "{\"result\":null,\"error\":[\"Datasource_missing\",\"vm: missing\"],"
	            "\"id\":\"abc\"}",
	            "query_ds owner=vm uuid=u ds_name=missing\n");
	/* Unit calls: [null] as xapi-idl sends, or nothing. */
	expect_json("{\"method\":\"HA.disable\",\"params\":[null],\"id\":2}", false, RPC_ANSWERED,
	            "{\"result\":null,\"error\":null,\"id\":2}", "ha_disable\n");
	expect_json("{\"method\":\"HA.disable\",\"params\":[],\"id\":2}", false, RPC_ANSWERED,
	            "{\"result\":null,\"error\":null,\"id\":2}", "ha_disable\n");
	/* Ints from JSON numbers or strings. */
	expect_json("{\"method\":\"push_rrd_local\",\"params\":[{\"vm_uuid\":\"v\",\"domid\":7}],"
	            "\"id\":3}",
	            false, RPC_ANSWERED, "{\"result\":null,\"error\":null,\"id\":3}",
	            "push_rrd_local vm_uuid=v domid=7\n");
	expect_json("{\"method\":\"push_rrd_local\",\"params\":[{\"vm_uuid\":\"v\",\"domid\":"
	            "\"-8\"}],\"id\":3}",
	            false, RPC_ANSWERED, "{\"result\":null,\"error\":null,\"id\":3}",
	            "push_rrd_local vm_uuid=v domid=-8\n");
	/* A Data_source list with infinities: strings, as xapi-idl accepts. */
	expect_json(
	    "{\"method\":\"query_possible_host_dss\",\"params\":[null],\"id\":4}", false,
	    RPC_ANSWERED,
	    "{\"result\":[{\"name\":\"cpu0\",\"description\":\"Physical cpu usage for cpu "
	    "0\",\"enabled\":true,\"standard\":true,\"min\":0.0,\"max\":1.0,\"units\":\""
	    "(fraction)\"},{\"name\":\"odd <&> \\\"name\\\"\",\"description\":\"description "
	    "not available\",\"enabled\":false,\"standard\":false,\"min\":\"-inf\",\"max\":"
	    "\"inf\",\"units\":\"unknown\"}],\"error\":null,\"id\":4}",
	    NULL);
	/* No id: answered with id null. */
	expect_json("{\"method\":\"has_vm_rrd\",\"params\":[{\"vm_uuid\":\"absent\"}]}", false,
	            RPC_ANSWERED, "{\"result\":false,\"error\":null,\"id\":null}", NULL);
	/* Unknown method, bad params. */
	expect_json("{\"method\":\"nope\",\"params\":[],\"id\":5}", false, RPC_UNKNOWN_METHOD,
	            "{\"result\":null,\"error\":[\"Rrdd_internal_error\",\"unknown method "
	            "'nope'\"],\"id\":5}",
	            "");
	expect_json("{\"method\":\"has_vm_rrd\",\"params\":[{}],\"id\":6}", false, RPC_ANSWERED,
	            "{\"result\":null,\"error\":[\"Rrdd_internal_error\",\"missing parameter "
	            "'vm_uuid' of has_vm_rrd\"],\"id\":6}",
	            "");
}

static void test_v2(void **state)
{
	(void)state;
	expect_json("{\"jsonrpc\":\"2.0\",\"method\":\"has_vm_rrd\",\"params\":{\"vm_uuid\":"
	            "\"absent\"},\"id\":7}",
	            false, RPC_ANSWERED, "{\"jsonrpc\":\"2.0\",\"result\":false,\"id\":7}", NULL);
	expect_json("{\"jsonrpc\":\"2.0\",\"method\":\"has_vm_rrd\",\"params\":[{\"vm_uuid\":"
	            "\"x\"}],\"id\":\"s\"}",
	            false, RPC_ANSWERED, "{\"jsonrpc\":\"2.0\",\"result\":true,\"id\":\"s\"}",
	            NULL);
	expect_json("{\"jsonrpc\":\"2.0\",\"method\":\"save_rrds\",\"id\":1}", false, RPC_ANSWERED,
	            "{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":1}",
	            "backup_rrds remote_address=(none)\n");
	expect_json("{\"jsonrpc\":\"2.0\",\"method\":\"save_rrds\",\"params\":{},\"id\":1}", false,
	            RPC_ANSWERED, "{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":1}", NULL);
	expect_json("{\"jsonrpc\":\"2.0\",\"method\":\"archive_rrd\",\"params\":{\"vm_uuid\":"
	            "\"fail-archive\"},\"id\":1}",
	            false, RPC_ANSWERED,
	            "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"Archive_failed: "
	            "cannot archive fail-archive\",\"data\":[\"Archive_failed\",\"cannot archive "
	            "fail-archive\"]},\"id\":1}",
	            NULL);
	expect_json(
	    "{\"jsonrpc\":\"2.0\",\"method\":\"x.y\",\"id\":1}", false, RPC_UNKNOWN_METHOD,
	    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"message\":"
	    "\"Rrdd_internal_error: unknown method 'x.y'\",\"data\":[\"Rrdd_internal_error\""
	    ",\"unknown method 'x.y'\"]},\"id\":1}",
	    NULL);
	expect_json("{\"jsonrpc\":\"2.0\",\"method\":\"push_rrd_local\",\"params\":{\"vm_uuid\":"
	            "\"v\",\"domid\":1.5},\"id\":1}",
	            false, RPC_ANSWERED,
	            "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":"
	            "\"Rrdd_internal_error: parameter 'domid' of push_rrd_local: expected int, got "
	            "double\",\"data\":[\"Rrdd_internal_error\",\"parameter 'domid' of "
	            "push_rrd_local: expected int, got double\"]},\"id\":1}",
	            NULL);
}

/* Code and message of a JSON-RPC 2.0 error answer, or of the v1 error. */
static void expect_bad(const char *body, int want_code, const char *want_msg)
{
	char *got = call_json(body, false, RPC_BAD_REQUEST, NULL, 0);
	struct rpc_value v;
	assert_int_equal(rpc_json_parse_value(got, strlen(got), NULL, &v, NULL, 0), 0);
	const struct rpc_value *e = rpc_struct_get(&v, "error");
	assert_non_null(e);
	const char *msg;
	if (rpc_struct_get(&v, "jsonrpc")) {
		const struct rpc_value *code = rpc_struct_get(e, "code");
		assert_non_null(code);
		if (code->u.i != want_code)
			fail_msg("<%s>: code %" PRId64 ", want %d (%s)", body, code->u.i, want_code,
			         got);
		msg = rpc_struct_get(e, "message")->u.s.p;
	} else {
		assert_int_equal(e->type, RPC_ARRAY);
		assert_string_equal(e->u.a.items[0].u.s.p, "Rrdd_internal_error");
		msg = e->u.a.items[1].u.s.p;
		assert_true(rpc_struct_get(&v, "result")->type == RPC_NIL);
	}
	if (want_msg && !strstr(msg, want_msg))
		fail_msg("<%s>: message <%s> lacks <%s>", body, msg, want_msg);
	rpc_value_free(&v);
	free(got);
}

static void test_bad_requests(void **state)
{
	(void)state;
	expect_bad("", 0, NULL);
	expect_bad("{", 0, NULL);
	expect_bad("[1,2]", 0, "not a JSON object");
	expect_bad("{\"params\":[],\"id\":1}", 0, "'method' is missing");
	expect_bad("{\"method\":1,\"params\":[],\"id\":1}", 0, "'method'");
	expect_bad("{\"method\":\"m\",\"id\":1}", 0, "'params' is missing");
	expect_bad("{\"method\":\"m\",\"params\":{},\"id\":1}", 0, "'params'");
	expect_bad("{\"method\":\"m\",\"params\":[],\"id\":{}}", 0, "'id'");
	expect_bad("{\"method\":\"m\",\"method\":\"n\",\"params\":[],\"id\":1}", 0, "duplicate");
	expect_bad("{\"jsonrpc\":\"1.0\",\"method\":\"m\",\"params\":[],\"id\":1}", 0, "jsonrpc");
	expect_bad("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":7,\"id\":1}", -32600,
	           "'params'");
	expect_bad("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[],\"id\":1} x", -32700, NULL);
	expect_bad("{\"jsonrpc\":\"2.0\",\"params\":[],\"id\":1}", -32600, "'method'");
	expect_bad("{\"method\":\"m\",\"params\":[\"a\\u0000b\"],\"id\":1}", 0, "NUL");
	expect_bad("{\"method\":\"m\",\"params\":[99999999999999999999],\"id\":1}", 0,
	           "out of range");
	expect_bad("{\"method\":\"m\",\"params\":[\"\xff\"],\"id\":1}", 0, NULL);

	/* Limits. */
	struct buf b = BUF_INIT;
	buf_adds(&b, "{\"method\":\"m\",\"params\":[");
	for (int i = 0; i < 33; i++)
		buf_addc(&b, '[');
	for (int i = 0; i < 33; i++)
		buf_addc(&b, ']');
	buf_adds(&b, "],\"id\":1}");
	expect_bad(buf_cstr(&b), 0, "deeper");
	buf_reset(&b);
	buf_adds(&b, "{\"method\":\"m\",\"params\":[");
	for (int i = 0; i < 32; i++)
		buf_addc(&b, '[');
	for (int i = 0; i < 32; i++)
		buf_addc(&b, ']');
	buf_adds(&b, "],\"id\":1}");
	/* 32 levels inside params are within the limit: the call is decoded
	 * and then rejected as an unknown method. */
	free(call_json(buf_cstr(&b), false, RPC_UNKNOWN_METHOD, NULL, 0));
	buf_reset(&b);
	buf_adds(&b, "{\"method\":\"m\",\"params\":[\"");
	for (int i = 0; i < (64 << 10) + 1; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\"],\"id\":1}");
	expect_bad(buf_cstr(&b), 0, "longer than");
	buf_free(&b);

	/* Every truncation of a valid request is a clean error. */
	const char *req = "{\"jsonrpc\":\"2.0\",\"method\":\"add_vm_ds\",\"params\":{\"vm_uuid\":"
	                  "\"a\\u00e9\",\"domid\":3,\"ds_name\":\"x\"},\"id\":[1]}";
	for (size_t cut = 0; cut < strlen(req); cut++) {
		struct rpc_json_call c;
		char err[200] = "";
		int rc = rpc_json_parse_call(req, cut, NULL, &c, err, sizeof(err));
		assert_true(rc == -EINVAL && err[0]);
		rpc_json_call_free(&c);
	}
	/* ... and the whole one is an invalid request (id is an array), whose
	 * error still says version 2. */
	struct rpc_json_call c;
	assert_int_equal(rpc_json_parse_call(req, strlen(req), NULL, &c, NULL, 0), -EPROTO);
	assert_int_equal(c.version, RPC_JSON_V2);
	rpc_json_call_free(&c);
}

static void test_encoder(void **state)
{
	(void)state;
	struct {
		double d;
		const char *want;
	} dbl[] = {
	    {0.0, "0.0"},
	    {-0.0, "-0.0"},
	    {100, "100.0"},
	    {0.1, "0.1"},
	    {0.1 + 0.2, "0.30000000000000004"},
	    {1.0 / 3, "0.3333333333333333"},
	    {1e21, "1e+21"},
	    {-2.5e-7, "-2.5e-07"},
	    {INFINITY, "\"inf\""},
	    {-INFINITY, "\"-inf\""},
	    {NAN, "\"nan\""},
	};
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); i++) {
		buf_reset(&b);
		struct rpc_value v = rpc_double(dbl[i].d);
		rpc_json_write_value(&b, &v);
		assert_string_equal(buf_cstr(&b), dbl[i].want);
	}
	buf_reset(&b);
	rpc_json_write_string(&b, "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f\xc3\xa9\xff", 17);
	assert_string_equal(
	    buf_cstr(&b),
	    "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\xc3\xa9\xef\xbf\xbd\"");
	buf_reset(&b);
	struct rpc_value params = rpc_array();
	struct rpc_value *st = rpc_array_push(&params, rpc_struct());
	rpc_struct_add(st, "uid", rpc_string("x"));
	struct rpc_value id = rpc_int(1);
	rpc_json_write_call(&b, RPC_JSON_V1, "Plugin.get_path", &params, &id);
	assert_string_equal(
	    buf_cstr(&b), "{\"method\":\"Plugin.get_path\",\"params\":[{\"uid\":\"x\"}],\"id\":1}");
	buf_reset(&b);
	rpc_json_write_call(&b, RPC_JSON_V2, "Plugin.get_path", &params, NULL);
	assert_string_equal(buf_cstr(&b), "{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.get_path\","
	                                  "\"params\":[{\"uid\":\"x\"}]}");
	rpc_value_free(&params);
	buf_free(&b);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static struct rpc_value rnd_value(int depth)
{
	static const char *const strs[] = {
	    "", "a", "\"", "\\", "\n", "\x01", "\xc3\xa9", "/", "\xf0\x9f\x98\x80", "x y"};
	switch (rnd(depth > 4 ? 5 : 7)) {
	case 0:
		return rpc_nil();
	case 1:
		return rpc_bool(rnd(2));
	case 2:
		return rpc_int(((int64_t)rnd(1u << 31) << 32 | rnd(1u << 31)) * (rnd(2) ? 1 : -1));
	case 3: {
		uint64_t bits =
		    ((uint64_t)rnd(1u << 31) << 33) ^ ((uint64_t)rnd(1u << 31) << 2) ^ rnd(4);
		double d;
		memcpy(&d, &bits, sizeof(d));
		return rpc_double(isfinite(d) ? d : 1.5);
	}
	case 4:
		return rpc_string(strs[rnd(sizeof(strs) / sizeof(strs[0]))]);
	case 5: {
		struct rpc_value v = rpc_array();
		for (uint32_t i = rnd(5); i > 0; i--)
			rpc_array_push(&v, rnd_value(depth + 1));
		return v;
	}
	default: {
		struct rpc_value v = rpc_struct();
		for (uint32_t i = rnd(5); i > 0; i--)
			rpc_struct_add(&v, strs[rnd(sizeof(strs) / sizeof(strs[0]))],
			               rnd_value(depth + 1));
		return v;
	}
	}
}

static void test_round_trip(void **state)
{
	(void)state;
	for (int iter = 0; iter < 3000; iter++) {
		struct rpc_value v = rnd_value(0);
		struct buf b = BUF_INIT;
		rpc_json_write_value(&b, &v);
		struct rpc_value back;
		char err[200];
		if (rpc_json_parse_value(b.p, b.len, NULL, &back, err, sizeof(err)) != 0)
			fail_msg("iteration %d: %s: %s", iter, err, buf_cstr(&b));
		if (!rpc_value_equal(&v, &back))
			fail_msg("iteration %d: round trip differs: %s", iter, buf_cstr(&b));
		rpc_value_free(&back);
		rpc_value_free(&v);
		buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1),           cmocka_unit_test(test_v2),
	    cmocka_unit_test(test_bad_requests), cmocka_unit_test(test_encoder),
	    cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
