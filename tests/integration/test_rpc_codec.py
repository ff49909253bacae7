#!/usr/bin/env python3
"""The RPC codec against real client libraries, before the HTTP server exists.

Every rrd method of xapi-idl's rrd_interface.ml (wire-format.md §5.2) is called
the way Python callers (XAPI's Python plugins, xmlrpc.client) call it: the
request is produced by xmlrpc.client.dumps, fed to the stub server
(test_rpc_stub --serve, built from tests/unit/test_rpc_stub.c, which answers
with the recording stub backend of tests/unit/test_rpc_backend.h), and the
answer is parsed by xmlrpc.client.loads.  For each call we check what the
backend received (its trace on stderr) and the decoded answer.  The same is
done for a few JSON-RPC requests with Python's json module in strict mode.

Needs RRDD_BUILD (set by ctest) or the build directory as argv[1].
"""
import json
import math
import os
import subprocess
import sys
import unittest
import xmlrpc.client

BUILD = os.environ.get("RRDD_BUILD") or (sys.argv.pop(1) if len(sys.argv) > 1 else None)
STUB = os.path.join(BUILD or ".", "test_rpc_stub")

ANSWERED, BAD_REQUEST, UNKNOWN_METHOD = 0, 1, 2


def serve(body, *args):
    """Run the stub on one request body; returns (exit code, stdout, stderr)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    p = subprocess.run([STUB, "--serve", *args], input=body, capture_output=True, timeout=30)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def xcall(method, *params):
    """Call method with xmlrpc.client's encoding; returns (code, envelope, trace)."""
    req = xmlrpc.client.dumps(tuple(params), method, allow_none=True)
    code, out, trace = serve(req)
    (resp,), name = xmlrpc.client.loads(out.decode("utf-8"), use_builtin_types=True)
    assert name is None
    return code, resp, trace


class XmlRpcMethods(unittest.TestCase):
    def ok(self, method, params, want_value, want_trace):
        code, resp, trace = xcall(method, *params)
        self.assertEqual(code, ANSWERED, (method, resp))
        self.assertEqual(resp, {"Status": "Success", "Value": want_value}, method)
        self.assertEqual(trace, want_trace + "\n", method)

    def failure(self, method, params, want_error, want_code=ANSWERED):
        code, resp, _ = xcall(method, *params)
        self.assertEqual(code, want_code, (method, resp))
        self.assertEqual(resp["Status"], "Failure", method)
        self.assertEqual(resp["ErrorDescription"][0], want_error[0])
        self.assertIn(want_error[1], resp["ErrorDescription"][1])
        return resp["ErrorDescription"][1]

    def test_vm_calls(self):
        self.ok("has_vm_rrd", [{"vm_uuid": "u1"}], True, "has_vm_rrd vm_uuid=u1")
        self.ok("has_vm_rrd", [{"vm_uuid": "absent"}], False, "has_vm_rrd vm_uuid=absent")
        self.ok("push_rrd_local", [{"vm_uuid": "u1", "domid": 12}], None,
                "push_rrd_local vm_uuid=u1 domid=12")
        # xapi (ocaml-rpc) sends ints untyped, i.e. as strings
        self.ok("push_rrd_local", [{"vm_uuid": "u1", "domid": "13"}], None,
                "push_rrd_local vm_uuid=u1 domid=13")
        self.ok("push_rrd_remote", [{"vm_uuid": "u1", "remote_address": "10.0.0.2"}], None,
                "push_rrd_remote vm_uuid=u1 remote_address=10.0.0.2")
        self.ok("remove_rrd", [{"uuid": "u1"}], None, "remove_rrd uuid=u1")
        self.ok("migrate_rrd", [{"session_id": "OpaqueRef:s", "remote_address": "r",
                                 "vm_uuid": "v", "host_uuid": "h"}], None,
                "migrate_rrd session_id=OpaqueRef:s remote_address=r vm_uuid=v host_uuid=h")
        self.ok("migrate_rrd", [{"remote_address": "r", "vm_uuid": "v", "host_uuid": "h"}],
                None, "migrate_rrd session_id=(none) remote_address=r vm_uuid=v host_uuid=h")
        self.ok("archive_rrd", [{"vm_uuid": "v", "remote_address": "m"}], None,
                "archive_rrd vm_uuid=v remote_address=m")
        self.ok("archive_rrd", [{"vm_uuid": "v", "remote_address": None}], None,
                "archive_rrd vm_uuid=v remote_address=(none)")
        self.ok("archive_rrd", [{"vm_uuid": "v"}], None,
                "archive_rrd vm_uuid=v remote_address=(none)")

    def test_host_and_archive_calls(self):
        self.ok("send_host_rrd_to_master", [{"master_address": "10.0.0.1"}], None,
                "send_host_rrd_to_master master_address=10.0.0.1")
        self.ok("backup_rrds", [{"remote_address": "10.0.0.1"}, None], None,
                "backup_rrds remote_address=10.0.0.1")
        self.ok("backup_rrds", [{}, None], None, "backup_rrds remote_address=(none)")
        self.ok("save_rrds", [None], None, "backup_rrds remote_address=(none)")
        self.ok("save_rrds", [], None, "backup_rrds remote_address=(none)")
        self.ok("archive_sr_rrd", [{"sr_uuid": "s1"}], "/var/lib/xcp/blobs/rrds/s1.gz",
                "archive_sr_rrd sr_uuid=s1")
        self.ok("push_sr_rrd", [{"sr_uuid": "s1", "path": "/tmp/s1.gz"}], None,
                "push_sr_rrd sr_uuid=s1 path=/tmp/s1.gz")
        self.ok("update_use_min_max", [{"value": True}], None, "update_use_min_max value=true")
        self.ok("update_use_min_max", [{"value": False}], None,
                "update_use_min_max value=false")
        self.ok("set_cache_sr", [{"sr_uuid": "c"}], None, "set_cache_sr sr_uuid=c")
        self.ok("unset_cache_sr", [None], None, "unset_cache_sr")
        self.ok("Deprecated.load_rrd", [{"uuid": "h", "timescale": 0,
                                         "master address": "10.0.0.1"}], None,
                "load_rrd uuid=h timescale=0 master_address=10.0.0.1")

    def test_datasource_calls(self):
        for owner, params, uuid in (("host", {}, "(none)"), ("vm", {"vm_uuid": "v"}, "v"),
                                    ("sr", {"sr_uuid": "s"}, "s")):
            extra = {"domid": 4} if owner == "vm" else {}
            domid = 4 if owner == "vm" else -1
            self.ok("add_%s_ds" % owner, [dict(params, ds_name="cpu0", **extra)], None,
                    "add_ds owner=%s uuid=%s domid=%d ds_name=cpu0" % (owner, uuid, domid))
            self.ok("forget_%s_ds" % owner, [dict(params, ds_name="cpu0")], None,
                    "forget_ds owner=%s uuid=%s ds_name=cpu0" % (owner, uuid))
            self.ok("query_%s_ds" % owner, [dict(params, ds_name="0.1")], 0.1,
                    "query_ds owner=%s uuid=%s ds_name=0.1" % (owner, uuid))
            self.ok("query_%s_ds" % owner, [dict(params, ds_name="-1.5e300")], -1.5e300,
                    "query_ds owner=%s uuid=%s ds_name=-1.5e300" % (owner, uuid))
            self.failure("query_%s_ds" % owner, [dict(params, ds_name="missing")],
                         ["Datasource_missing", "missing"])
        code, resp, _ = xcall("query_%s_ds" % "host", {"ds_name": "inf"})
        self.assertTrue(math.isinf(resp["Value"]) and resp["Value"] > 0)
        code, resp, _ = xcall("query_host_ds", {"ds_name": "nan"})
        self.assertTrue(math.isnan(resp["Value"]))

        cpu0 = {"name": "cpu0", "description": "Physical cpu usage for cpu 0", "enabled": True,
                "standard": True, "min": 0.0, "max": 1.0, "units": "(fraction)"}
        odd = {"name": 'odd <&> "name"', "description": "description not available",
               "enabled": False, "standard": False, "min": -math.inf, "max": math.inf,
               "units": "unknown"}
        self.ok("query_possible_host_dss", [None], [cpu0, odd],
                "query_possible_dss owner=host uuid=(none)")
        self.ok("query_possible_vm_dss", [{"vm_uuid": "v"}], [cpu0],
                "query_possible_dss owner=vm uuid=v")
        self.ok("query_possible_sr_dss", [{"sr_uuid": "s"}], [],
                "query_possible_dss owner=sr uuid=s")

    def test_plugin_calls(self):
        self.ok("Plugin.get_header", [None], "DATASOURCES\n", "plugin_get_header")
        self.ok("Plugin.get_path", [{"uid": "xcp-rrdd-cpu"}], "/dev/shm/metrics/xcp-rrdd-cpu",
                "plugin_get_path uid=xcp-rrdd-cpu")
        # Non-ASCII and markup survive both directions.
        self.ok("Plugin.get_path", [{"uid": "caf\u00e9 <&> \u20ac\U0001F600"}],
                "/dev/shm/metrics/caf\u00e9 <&> \u20ac\U0001F600",
                "plugin_get_path uid=caf\u00e9 <&> \u20ac\U0001F600")
        self.ok("Plugin.Local.register", [{"uid": "p", "info": "Five_Seconds",
                                           "protocol": "V2"}], 2.5,
                "plugin_register uid=p frequency=5 protocol=V2")
        self.ok("Plugin.Local.register", [{"uid": "p", "info": "Five_Seconds",
                                           "protocol": "V1"}], 1.5,
                "plugin_register uid=p frequency=5 protocol=V1")
        self.ok("Plugin.register", [{"uid": "p", "frequency": "Five_Seconds"}], 1.5,
                "plugin_register uid=p frequency=5 protocol=V1")
        self.ok("Plugin.Local.deregister", [{"uid": "p"}], None, "plugin_deregister uid=p")
        self.ok("Plugin.deregister", [{"uid": "p"}], None, "plugin_deregister uid=p")
        self.ok("Plugin.Local.next_reading", [{"uid": "p"}], 3.25, "plugin_next_reading uid=p")
        self.ok("Plugin.next_reading", [{"uid": "unknown"}], -1.0,
                "plugin_next_reading uid=unknown")

    def test_ha_calls(self):
        self.ok("HA.enable_and_update", [{"statefile_latencies": [
            {"id": "sf1", "latency": 0.25}, {"id": "sf2"}],
            "heartbeat_latency": 1.5, "xapi_latency": 2}], None,
            "ha_enable_and_update statefile_latencies=[sf1:0.25,sf2:(none)] "
            "heartbeat_latency=1.5 xapi_latency=2")
        self.ok("HA.disable", [None], None, "ha_disable")

    def test_errors(self):
        self.failure("archive_rrd", [{"vm_uuid": "fail-archive"}],
                     ["Archive_failed", "cannot archive fail-archive"])
        self.failure("push_rrd_remote", [{"vm_uuid": "v", "remote_address": "fail"}],
                     ["Rrdd_internal_error", "push_rrd_remote failed"])
        self.failure("has_vm_rrd", [{}], ["Rrdd_internal_error", "missing parameter 'vm_uuid'"])
        self.failure("has_vm_rrd", ["positional"],
                     ["Rrdd_internal_error", "struct of named parameters"])
        self.failure("push_rrd_local", [{"vm_uuid": "v", "domid": 1.5}],
                     ["Rrdd_internal_error", "parameter 'domid' of push_rrd_local: expected int"])
        self.failure("Plugin.Local.register", [{"uid": "p", "info": "Five_Seconds",
                                                "protocol": "V9"}],
                     ["Rrdd_internal_error", "'protocol'"])
        self.failure("no_such_method", [None], ["Rrdd_internal_error", "unknown method"],
                     UNKNOWN_METHOD)
        self.failure("Plugin.Interdomain.register", [{}], ["Rrdd_internal_error",
                                                           "unknown method"], UNKNOWN_METHOD)

    def test_garbage_gets_a_readable_answer(self):
        for body in (b"", b"garbage", b"<methodCall>", b"<!DOCTYPE x><methodCall/>",
                     b"\xff\xfe<", b"<methodResponse><params/></methodResponse>"):
            code, out, trace = serve(body)
            self.assertEqual(code, BAD_REQUEST, body)
            self.assertEqual(trace, "")
            (resp,), _ = xmlrpc.client.loads(out.decode("utf-8"))
            self.assertEqual(resp["Status"], "Failure")
            self.assertEqual(resp["ErrorDescription"][0], "Rrdd_internal_error")

    def test_every_truncation_of_a_python_request(self):
        req = xmlrpc.client.dumps(({"vm_uuid": "u", "domid": 1},), "push_rrd_local").encode()
        req = req.rstrip(b"\n")
        for cut in range(0, len(req), 7):
            code, out, trace = serve(req[:cut])
            self.assertEqual(code, BAD_REQUEST, cut)
            self.assertEqual(trace, "")
            xmlrpc.client.loads(out.decode("utf-8"))


def strict_json(text):
    def no_constants(name):
        raise ValueError("non-standard JSON constant " + name)
    return json.loads(text, parse_constant=no_constants)


class JsonRpc(unittest.TestCase):
    def jcall(self, obj, want_code=ANSWERED):
        code, out, trace = serve(json.dumps(obj))
        self.assertEqual(code, want_code, out)
        return strict_json(out.decode("utf-8")), trace

    def test_v1(self):
        resp, trace = self.jcall({"method": "Plugin.Local.register", "params": [
            {"uid": "x", "info": "Five_Seconds", "protocol": "V2"}], "id": 1})
        self.assertEqual(resp, {"result": 2.5, "error": None, "id": 1})
        self.assertEqual(trace, "plugin_register uid=x frequency=5 protocol=V2\n")
        resp, _ = self.jcall({"method": "query_vm_ds", "params": [
            {"vm_uuid": "v", "ds_name": "missing"}], "id": "a"})
        self.assertEqual(resp, {"result": None, "error": ["Datasource_missing", "vm: missing"],
                                "id": "a"})
        resp, _ = self.jcall({"method": "query_possible_host_dss", "params": [None], "id": 2})
        self.assertEqual(resp["result"][1]["max"], "inf")  # JSON has no infinity

    def test_v2(self):
        resp, _ = self.jcall({"jsonrpc": "2.0", "method": "has_vm_rrd",
                              "params": {"vm_uuid": "absent"}, "id": 9})
        self.assertEqual(resp, {"jsonrpc": "2.0", "result": False, "id": 9})
        resp, _ = self.jcall({"jsonrpc": "2.0", "method": "nope", "id": 9}, UNKNOWN_METHOD)
        self.assertEqual(resp["error"]["code"], -32601)
        code, out, _ = serve(b'{"jsonrpc":"2.0","method":')
        self.assertEqual(code, BAD_REQUEST)
        self.assertIn("error", strict_json(out.decode()))


if __name__ == "__main__":
    if not os.access(STUB, os.X_OK):
        print("test_rpc_codec: %s not built (set RRDD_BUILD)" % STUB, file=sys.stderr)
        sys.exit(1)
    unittest.main(verbosity=1)
