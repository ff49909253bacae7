/*
 * Unit tests of the method table's argument handling (rpc/methods.h): type
 * coercions as ocaml-rpc's Rpcmarshal does them (ints from strings, floats
 * from ints and strings, case-insensitive variants), option and unit params,
 * HA statefile latency records, missing/duplicate/mistyped parameters named
 * in the error, extra members and params ignored, backend failures mapped to
 * the rrd error variants, and content-type/body sniffing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/dispatch.h"
#include "rpc/jsonrpc.h"
#include "test_rpc_backend.h"

/* Run a JSON-RPC v1 call "method" with params given as a JSON array text;
 * returns the rpc_call code; fills trace (backend calls) and msg (error). */
static int run(const char *method, const char *params_json, char *trace, size_t tracelen, char *msg,
               size_t msglen)
{
	struct rpc_value params;
	char err[200];
	if (rpc_json_parse_value(params_json, strlen(params_json), NULL, &params, err,
	                         sizeof(err)) != 0)
		fail_msg("bad test params %s: %s", params_json, err);
	struct stub s = {0};
	struct rpc_backend be = stub_backend(&s);
	struct rpc_value result;
	struct rpc_err e = {0};
	int rc = rpc_call(&be, method, &params, &result, &e);
	snprintf(trace, tracelen, "%s", buf_cstr(&s.trace));
	snprintf(msg, msglen, "%s%s%s", e.kind ? rpc_err_tag(e.kind) : "", e.kind ? ": " : "",
	         e.msg ? e.msg : "");
	if (rc == RPC_CALL_OK)
		assert_int_equal(e.kind, RPC_ERR_NONE);
	else
		assert_true(e.kind != RPC_ERR_NONE && e.msg && e.msg[0]);
	rpc_value_free(&result);
	rpc_err_clear(&e);
	rpc_value_free(&params);
	buf_free(&s.trace);
	return rc;
}

static void ok(const char *method, const char *params, const char *want_trace)
{
	char trace[600], msg[600];
	int rc = run(method, params, trace, sizeof(trace), msg, sizeof(msg));
	if (rc != RPC_CALL_OK)
		fail_msg("%s %s: rc %d: %s", method, params, rc, msg);
	char want[600];
	snprintf(want, sizeof(want), "%s\n", want_trace);
	if (strcmp(trace, want) != 0)
		fail_msg("%s %s: trace <%s>, want <%s>", method, params, trace, want_trace);
}

static void bad(const char *method, const char *params, int want_rc, const char *want_msg)
{
	char trace[600], msg[600];
	int rc = run(method, params, trace, sizeof(trace), msg, sizeof(msg));
	if (rc != want_rc)
		fail_msg("%s %s: rc %d (%s), want %d", method, params, rc, msg, want_rc);
	if (want_rc != RPC_CALL_FAILED && trace[0])
		fail_msg("%s %s: backend called (%s) despite bad params", method, params, trace);
	if (!strstr(msg, want_msg))
		fail_msg("%s %s: message <%s> lacks <%s>", method, params, msg, want_msg);
}

static void test_coercions(void **state)
{
	(void)state;
	ok("push_rrd_local", "[{\"vm_uuid\":\"v\",\"domid\":5}]",
	   "push_rrd_local vm_uuid=v domid=5");
	ok("push_rrd_local", "[{\"vm_uuid\":\"v\",\"domid\":\"5\"}]",
	   "push_rrd_local vm_uuid=v domid=5");
	ok("push_rrd_local", "[{\"vm_uuid\":\"v\",\"domid\":\"+12\"}]",
	   "push_rrd_local vm_uuid=v domid=12");
	bad("push_rrd_local", "[{\"vm_uuid\":\"v\",\"domid\":\"5x\"}]", RPC_CALL_BAD_PARAMS,
	    "parameter 'domid' of push_rrd_local: expected int, got string \"5x\"");
	bad("push_rrd_local", "[{\"vm_uuid\":\"v\",\"domid\":5.0}]", RPC_CALL_BAD_PARAMS,
	    "'domid'");
	bad("push_rrd_local", "[{\"vm_uuid\":\"v\",\"domid\":\"99999999999999999999\"}]",
	    RPC_CALL_BAD_PARAMS, "'domid'");
	bad("push_rrd_local", "[{\"vm_uuid\":5,\"domid\":5}]", RPC_CALL_BAD_PARAMS,
	    "parameter 'vm_uuid' of push_rrd_local: expected string, got int");
	ok("HA.enable_and_update",
	   "[{\"statefile_latencies\":[],\"heartbeat_latency\":2,\"xapi_latency\":\"1.5\"}]",
	   "ha_enable_and_update statefile_latencies=[] heartbeat_latency=2 xapi_latency=1.5");
	bad("HA.enable_and_update",
	    "[{\"statefile_latencies\":[],\"heartbeat_latency\":true,\"xapi_latency\":1}]",
	    RPC_CALL_BAD_PARAMS, "'heartbeat_latency' of HA.enable_and_update: expected double");
	ok("update_use_min_max", "[{\"value\":false}]", "update_use_min_max value=false");
	bad("update_use_min_max", "[{\"value\":\"true\"}]", RPC_CALL_BAD_PARAMS,
	    "expected boolean, got string \"true\"");
	bad("update_use_min_max", "[{\"value\":1}]", RPC_CALL_BAD_PARAMS, "expected boolean");
	/* Variants: case-insensitive, as the ppx-generated unmarshallers. */
	ok("Plugin.Local.register",
	   "[{\"uid\":\"u\",\"info\":\"five_seconds\",\"protocol\":\"v2\"}]",
	   "plugin_register uid=u frequency=5 protocol=V2");
	bad("Plugin.Local.register",
	    "[{\"uid\":\"u\",\"info\":\"Five_Seconds\",\"protocol\":\"V3\"}]", RPC_CALL_BAD_PARAMS,
	    "parameter 'protocol' of Plugin.Local.register: expected V1 or V2");
	bad("Plugin.Local.register",
	    "[{\"uid\":\"u\",\"info\":\"Ten_Seconds\",\"protocol\":\"V2\"}]", RPC_CALL_BAD_PARAMS,
	    "'info'");
	bad("Plugin.Local.register",
	    "[{\"uid\":\"u\",\"info\":[\"Five_Seconds\"],\"protocol\":\"V2\"}]",
	    RPC_CALL_BAD_PARAMS, "got array");
	/* Plugin.register is the legacy V1 registration. */
	ok("Plugin.register", "[{\"uid\":\"u\",\"frequency\":\"Five_Seconds\"}]",
	   "plugin_register uid=u frequency=5 protocol=V1");
}

static void test_structure(void **state)
{
	(void)state;
	bad("has_vm_rrd", "[{}]", RPC_CALL_BAD_PARAMS, "missing parameter 'vm_uuid' of has_vm_rrd");
	bad("has_vm_rrd", "[]", RPC_CALL_BAD_PARAMS,
	    "has_vm_rrd: expected a struct of named parameters as the first param, got nothing");
	bad("has_vm_rrd", "[\"u\"]", RPC_CALL_BAD_PARAMS, "got string \"u\"");
	bad("has_vm_rrd", "[{\"vm_uuid\":\"a\",\"vm_uuid\":\"b\"}]", RPC_CALL_BAD_PARAMS,
	    "parameter 'vm_uuid' of has_vm_rrd is given more than once");
	/* Extra members and extra positional params are ignored (ocaml-rpc). */
	ok("has_vm_rrd", "[{\"vm_uuid\":\"a\",\"other\":[1,{}]}, 5, null]", "has_vm_rrd vm_uuid=a");
	/* Names are case-sensitive at the top level. */
	bad("has_vm_rrd", "[{\"VM_UUID\":\"a\"}]", RPC_CALL_BAD_PARAMS, "missing parameter");
	/* Unit params: nil or absent; an empty struct only without named ones. */
	ok("query_possible_host_dss", "[null]", "query_possible_dss owner=host uuid=(none)");
	ok("query_possible_host_dss", "[]", "query_possible_dss owner=host uuid=(none)");
	ok("query_possible_host_dss", "[{}]", "query_possible_dss owner=host uuid=(none)");
	bad("query_possible_host_dss", "[{\"a\":1}]", RPC_CALL_BAD_PARAMS,
	    "query_possible_host_dss: param 1 must be nil, got struct");
	bad("unset_cache_sr", "[\"x\"]", RPC_CALL_BAD_PARAMS, "must be nil");
	ok("backup_rrds", "[{}, null]", "backup_rrds remote_address=(none)");
	ok("backup_rrds", "[{\"remote_address\":\"10.0.0.1\"}]",
	   "backup_rrds remote_address=10.0.0.1");
	bad("backup_rrds", "[{}, {}]", RPC_CALL_BAD_PARAMS, "backup_rrds: param 2 must be nil");
	/* Options: absent, nil (Python's None) or the value. */
	ok("archive_rrd", "[{\"vm_uuid\":\"v\",\"remote_address\":null}]",
	   "archive_rrd vm_uuid=v remote_address=(none)");
	bad("archive_rrd", "[{\"vm_uuid\":\"v\",\"remote_address\":3}]", RPC_CALL_BAD_PARAMS,
	    "parameter 'remote_address' of archive_rrd: expected string, got int");
	ok("migrate_rrd", "[{\"remote_address\":\"r\",\"vm_uuid\":\"v\",\"host_uuid\":\"h\"}]",
	   "migrate_rrd session_id=(none) remote_address=r vm_uuid=v host_uuid=h");
	/* load_rrd: the IDL's "master address" and the sample's "master_address". */
	ok("Deprecated.load_rrd", "[{\"uuid\":\"u\",\"timescale\":1,\"master address\":\"m\"}]",
	   "load_rrd uuid=u timescale=1 master_address=m");
	ok("Deprecated.load_rrd", "[{\"uuid\":\"u\",\"timescale\":\"2\",\"master_address\":\"m\"}]",
	   "load_rrd uuid=u timescale=2 master_address=m");
	ok("Deprecated.load_rrd", "[{\"uuid\":\"u\",\"timescale\":3}]",
	   "load_rrd uuid=u timescale=3 master_address=(none)");
	bad("Deprecated.load_rrd",
	    "[{\"uuid\":\"u\",\"timescale\":1,\"master address\":\"m\",\"master_address\":\"n\"}]",
	    RPC_CALL_BAD_PARAMS, "given more than once");
	/* Datasource owners. */
	ok("add_vm_ds", "[{\"vm_uuid\":\"v\",\"domid\":3,\"ds_name\":\"cpu0\"}]",
	   "add_ds owner=vm uuid=v domid=3 ds_name=cpu0");
	ok("forget_sr_ds", "[{\"sr_uuid\":\"s\",\"ds_name\":\"x\"}]",
	   "forget_ds owner=sr uuid=s ds_name=x");
	ok("query_host_ds", "[{\"ds_name\":\"x\"}]", "query_ds owner=host uuid=(none) ds_name=x");
	bad("nonexistent", "[]", RPC_CALL_UNKNOWN, "unknown method 'nonexistent'");
	bad("Plugin.Interdomain.register", "[{}]", RPC_CALL_UNKNOWN, "unknown method");
	bad("update_vm_memory_target", "[{\"domid\":1,\"target\":1}]", RPC_CALL_UNKNOWN,
	    "unknown method");
}

static void test_statefile_latencies(void **state)
{
	(void)state;
	ok("HA.enable_and_update",
	   "[{\"statefile_latencies\":[{\"id\":\"a\",\"latency\":0.5},{\"ID\":\"b\"},"
	   "{\"id\":\"c\",\"Latency\":\"2\",\"x\":1},{\"id\":\"d\",\"latency\":\"bad\"}],"
	   "\"heartbeat_latency\":1,\"xapi_latency\":1}]",
	   "ha_enable_and_update statefile_latencies=[a:0.5,b:(none),c:2,d:(none)] "
	   "heartbeat_latency=1 xapi_latency=1");
	bad("HA.enable_and_update",
	    "[{\"statefile_latencies\":[{\"latency\":1}],\"heartbeat_latency\":1,"
	    "\"xapi_latency\":1}]",
	    RPC_CALL_BAD_PARAMS,
	    "parameter 'statefile_latencies' of HA.enable_and_update: item 0 "
	    "has no 'id'");
	bad("HA.enable_and_update",
	    "[{\"statefile_latencies\":[{\"id\":\"a\"},5],\"heartbeat_latency\":1,"
	    "\"xapi_latency\":1}]",
	    RPC_CALL_BAD_PARAMS, "item 1: expected struct, got int");
	bad("HA.enable_and_update",
	    "[{\"statefile_latencies\":[{\"id\":7}],\"heartbeat_latency\":1,\"xapi_latency\":1}]",
	    RPC_CALL_BAD_PARAMS, "'id' expected string");
	bad("HA.enable_and_update",
	    "[{\"statefile_latencies\":{},\"heartbeat_latency\":1,\"xapi_latency\":1}]",
	    RPC_CALL_BAD_PARAMS, "expected array, got struct");
}

static void test_backend_errors(void **state)
{
	(void)state;
	bad("archive_rrd", "[{\"vm_uuid\":\"fail-archive\"}]", RPC_CALL_FAILED,
	    "Archive_failed: cannot archive fail-archive");
	bad("add_host_ds", "[{\"ds_name\":\"missing\"}]", RPC_CALL_FAILED,
	    "Datasource_missing: missing");
	/* A failure without a message gets one naming the method. */
	bad("push_rrd_remote", "[{\"vm_uuid\":\"v\",\"remote_address\":\"fail\"}]", RPC_CALL_FAILED,
	    "Rrdd_internal_error: push_rrd_remote failed (-5)");

	/* Unimplemented backend functions. */
	struct rpc_backend empty = {0};
	struct rpc_value params = rpc_array(), result;
	rpc_array_push(&params, rpc_nil());
	struct rpc_err e = {0};
	assert_int_equal(rpc_call(&empty, "HA.disable", &params, &result, &e), RPC_CALL_FAILED);
	assert_int_equal(e.kind, RPC_ERR_INTERNAL);
	assert_string_equal(e.msg, "not implemented: ha_disable");
	rpc_err_clear(&e);
	rpc_value_free(&params);

	/* Every method, called on an empty backend with arguments of the right
	 * types, reaches the backend and reports "not implemented". */
	size_t n;
	const struct rpc_method *m = rpc_methods(&n);
	for (size_t i = 0; i < n; i++) {
		params = rpc_array();
		struct rpc_value *st = rpc_array_push(&params, rpc_struct());
		for (unsigned k = 0; k < m[i].nparams; k++) {
			const struct rpc_param_spec *p = &m[i].params[k];
			switch (p->type) {
			case RPC_P_INT:
				rpc_struct_add(st, p->name, rpc_int(1));
				break;
			case RPC_P_FLOAT:
				rpc_struct_add(st, p->name, rpc_double(1));
				break;
			case RPC_P_BOOL:
				rpc_struct_add(st, p->name, rpc_bool(true));
				break;
			case RPC_P_FREQUENCY:
				rpc_struct_add(st, p->name, rpc_string("Five_Seconds"));
				break;
			case RPC_P_PROTOCOL:
				rpc_struct_add(st, p->name, rpc_string("V2"));
				break;
			case RPC_P_STATEFILE_LATENCIES:
				rpc_struct_add(st, p->name, rpc_array());
				break;
			case RPC_P_UNIT:
				break;
			default:
				rpc_struct_add(st, p->name, rpc_string("s"));
				break;
			}
		}
		bool has_named = false;
		for (unsigned k = 0; k < m[i].nparams; k++)
			has_named |= m[i].params[k].name != NULL;
		if (!has_named) {
			rpc_value_free(&params);
			params = rpc_array();
		}
		int rc = rpc_call(&empty, m[i].name, &params, &result, &e);
		if (rc != RPC_CALL_FAILED || strncmp(e.msg, "not implemented: ", 17) != 0)
			fail_msg("%s: rc %d (%s)", m[i].name, rc, e.msg);
		rpc_err_clear(&e);
		rpc_value_free(&params);
	}
}

static void test_guess_wire(void **state)
{
	(void)state;
	assert_int_equal(rpc_guess_wire("{}", 2, NULL), RPC_WIRE_JSON);
	assert_int_equal(rpc_guess_wire(" \n\t{", 4, NULL), RPC_WIRE_JSON);
	assert_int_equal(rpc_guess_wire("<?xml", 5, NULL), RPC_WIRE_XML);
	assert_int_equal(rpc_guess_wire("", 0, NULL), RPC_WIRE_XML);
	assert_int_equal(rpc_guess_wire("<x/>", 4, "application/json"), RPC_WIRE_JSON);
	assert_int_equal(rpc_guess_wire("{}", 2, "text/xml"), RPC_WIRE_XML);
	assert_int_equal(rpc_guess_wire("{}", 2, "application/octet-stream"), RPC_WIRE_JSON);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_coercions),           cmocka_unit_test(test_structure),
	    cmocka_unit_test(test_statefile_latencies), cmocka_unit_test(test_backend_errors),
	    cmocka_unit_test(test_guess_wire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
