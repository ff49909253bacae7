"""Every rrd RPC method through real clients: Python's xmlrpc.client over
the Unix socket (as XAPI's Python plugins call rrdd), the same calls as
JSON-RPC, malformed and hostile payloads (clear errors, daemon alive), and
the calls that ship an RRD to another host, between two rrdd instances on
loopback (migrate_rrd, push_rrd_remote, send_host_rrd_to_master,
archive_rrd and backup_rrds to a remote address).
"""
import http.client
import json
import os
import time
import xmlrpc.client

import rrddtest as T
from rrddtest import check
import rrddhttp as H

HOST_A = "0f0f0f0f-1111-4222-8333-444444444444"
HOST_B = "0e0e0e0e-1111-4222-8333-444444444444"


def proxy(d):
    return xmlrpc.client.ServerProxy("http://_var_xapi_xcp-rrdd/", transport=H.UnixTransport(d.sock),
                                     allow_none=True)


a = H.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "3", "--host-uuid", HOST_A,
              "--listen", "127.0.0.1:0"] + T.rpc_path_args(), name="rrdd-rpc-a-")
b = H.Daemon(["--source", "none", "--clock", "real", "--host-uuid", HOST_B,
              "--listen", "127.0.0.1:0", "--insecure-listen"], name="rrdd-rpc-b-")
try:
    for _ in range(100):
        if a.get("/host_rrd")[0] == 200:
            break
        time.sleep(0.1)
    vms = sorted(json.load(open(os.path.join(a.dir, "vm-metrics.json"))).keys())
    p = proxy(a)
    # TCP without credentials (A): reads only; RPC and PUT need the Unix socket
    st, _, body, _ = a.request("POST", "/", body=b"<methodCall><methodName>has_vm_rrd"
                               b"</methodName></methodCall>", tcp=True)
    check(st == 403 and b"reads only" in body, "RPC over TCP without auth: 403 (%s %r)"
          % (st, body[:80]))
    st, _, body, _ = a.request("PUT", "/rrd?uuid=%s&is_host=false" % vms[0], body=b"<rrd/>",
                               tcp=True)
    check(st == 403, "PUT over TCP without auth: 403 (%s)" % st)
    check(a.get("/host_rrd", tcp=True)[0] == 200, "GET over TCP without auth: 200")
    # the first cycle creates the RRDs; values come with the second (5 s later)
    for _ in range(150):
        r = p.query_host_ds({"ds_name": "memory_total_kib"})
        if r.get("Status") == "Success" and r["Value"] == r["Value"]:
            break
        time.sleep(0.1)

    def ok(r, what):
        check(isinstance(r, dict) and r.get("Status") == "Success", "%s: %r" % (what, r))
        return r.get("Value") if isinstance(r, dict) else None

    def fails(r, tag, what):
        check(isinstance(r, dict) and r.get("Status") == "Failure" and
              r.get("ErrorDescription", [None])[0] == tag, "%s: %s expected, got %r" % (what, tag, r))

    check(ok(p.has_vm_rrd({"vm_uuid": vms[1]}), "has_vm_rrd") is True, "has_vm_rrd true")
    check(ok(p.has_vm_rrd({"vm_uuid": "00000000-0000-4000-8000-000000000bad"}), "has_vm_rrd") is False,
          "has_vm_rrd false")
    dss = ok(p.query_possible_host_dss({}, None), "query_possible_host_dss")
    names = [x["name"] for x in dss]
    check(names == sorted(names) and "memory_total_kib" in names, "possible host DSs sorted")
    check(all(set(x) == {"name", "description", "enabled", "standard", "min", "max", "units"}
              for x in dss), "Data_source.t fields")
    off = [x["name"] for x in dss if not x["enabled"]]
    check(off, "some host DS not recorded by default")
    v = ok(p.query_host_ds({"ds_name": "memory_total_kib"}), "query_host_ds")
    check(isinstance(v, float) and v > 0, "query_host_ds memory_total_kib = %r" % v)
    fails(p.query_host_ds({"ds_name": "no_such_ds"}), "Datasource_missing", "query_host_ds missing")
    if off:
        ok(p.add_host_ds({"ds_name": off[0]}), "add_host_ds")
        dss = ok(p.query_possible_host_dss({}, None), "query_possible_host_dss")
        check([x["enabled"] for x in dss if x["name"] == off[0]] == [True], "add_host_ds enables")
    fails(p.add_host_ds({"ds_name": "no_such_ds"}), "Datasource_missing", "add_host_ds missing")
    ok(p.forget_host_ds({"ds_name": "memory_free_kib"}), "forget_host_ds")
    vdss = ok(p.query_possible_vm_dss({"vm_uuid": vms[1]}), "query_possible_vm_dss")
    check(any(x["name"] == "memory" for x in vdss), "VM DSs listed")
    check(ok(p.query_vm_ds({"vm_uuid": vms[1], "ds_name": "memory"}), "query_vm_ds") > 0, "VM memory")
    ok(p.forget_vm_ds({"vm_uuid": vms[1], "ds_name": "memory"}), "forget_vm_ds")
    fails(p.query_vm_ds({"vm_uuid": vms[1], "ds_name": "memory"}), "Datasource_missing",
          "forgotten VM DS")
    vm_off = [x["name"] for x in vdss if not x["enabled"]]
    if vm_off:
        ok(p.add_vm_ds({"vm_uuid": vms[1], "domid": 1, "ds_name": vm_off[0]}), "add_vm_ds")
    check(ok(p.query_possible_sr_dss({"sr_uuid": vms[0]}), "query_possible_sr_dss") == [],
          "no SR: empty list")
    # a VM RRD received from elsewhere (PUT /rrd) with no source reporting
    # its DSs: archived-only, listed as wire-format.md §5 says (xcp-rrdd's placeholders,
    # neither enabled nor standard); live DSs keep their own texts
    ghost = "0d0d0d0d-2222-4333-8444-555555555555"
    with open(os.path.join(H.FIX, "rrd_updates", "rrds", "vm1.internal.xml"), "rb") as f:
        st = a.request("PUT", "/rrd?uuid=%s&is_host=false" % ghost, f.read())[0]
    check(st == 200, "PUT /rrd of a VM no source reports: %d" % st)
    gdss = ok(p.query_possible_vm_dss({"vm_uuid": ghost}), "query_possible_vm_dss (archived)")
    check(gdss and all(x["description"] == "description not available" and
                       x["units"] == "unknown" and x["enabled"] is False and
                       x["standard"] is False for x in gdss),
          "archived-only DSs: placeholders, not enabled, not standard: %r" % (gdss or [])[:2])
    live = {x["name"]: x for x in vdss}
    check(live.get("memory", {}).get("units") == "B" and
          live["memory"]["description"] not in ("", "description not available"),
          "a live VM DS keeps its units and description: %r" % live.get("memory"))
    fails(p.query_sr_ds({"sr_uuid": vms[0], "ds_name": "x"}), "Datasource_missing", "query_sr_ds")
    ok(p.update_use_min_max({"value": True}), "update_use_min_max")
    ok(p.set_cache_sr({"sr_uuid": vms[0]}), "set_cache_sr")
    ok(p.unset_cache_sr({}, None), "unset_cache_sr")
    ok(getattr(p, "HA.enable_and_update")({"statefile_latencies": [{"id": "vdi1", "latency": 0.01}],
                                          "heartbeat_latency": 0.1, "xapi_latency": 0.2}), "HA.enable")
    ok(getattr(p, "HA.disable")({}, None), "HA.disable")
    check(ok(getattr(p, "Plugin.get_header")(None), "get_header") == "DATASOURCES\n", "get_header")
    path = ok(getattr(p, "Plugin.get_path")({"uid": "xcp-rrdd-cpu"}), "get_path")
    check(path.endswith("/plugins/xcp-rrdd-cpu"), "get_path under the plugin dir: %r" % path)
    nr = ok(getattr(p, "Plugin.Local.register")({"uid": "demo", "info": "Five_Seconds",
                                                 "protocol": "V2"}), "Local.register")
    check(isinstance(nr, float) and -1 <= nr <= 5.5, "next_reading in (-1, 5]: %r" % nr)
    nr = ok(getattr(p, "Plugin.Local.next_reading")({"uid": "demo"}), "Local.next_reading")
    check(0 <= nr <= 5.5, "next_reading of a registered plugin %r" % nr)
    ok(getattr(p, "Plugin.register")({"uid": "legacy", "frequency": "Five_Seconds"}), "register")
    ok(getattr(p, "Plugin.Local.deregister")({"uid": "demo"}), "Local.deregister")
    check(ok(getattr(p, "Plugin.Local.next_reading")({"uid": "demo"}), "next") == -1.0,
          "deregistered: -1")
    ok(getattr(p, "Plugin.deregister")({"uid": "legacy"}), "deregister")
    fails(getattr(p, "Plugin.Local.register")({"uid": "../x", "info": "Five_Seconds",
                                               "protocol": "V2"}), "Rrdd_internal_error", "bad uid")

    # archives
    arch = os.path.join(a.dir, "rrds")
    ok(p.archive_rrd({"vm_uuid": vms[1]}), "archive_rrd local")
    check(os.path.exists(os.path.join(arch, vms[1] + ".gz")), "archive_rrd wrote the archive")
    ok(p.push_rrd_local({"vm_uuid": vms[1], "domid": 2}), "push_rrd_local")
    check(ok(p.has_vm_rrd({"vm_uuid": vms[1]}), "has") is True, "push_rrd_local loaded it")
    ok(p.save_rrds(None), "save_rrds")
    ok(p.backup_rrds({}, None), "backup_rrds")
    check(os.path.exists(os.path.join(arch, HOST_A + ".gz")), "backup_rrds archived the host")
    ok(p.remove_rrd({"uuid": vms[1]}), "remove_rrd")
    check(not os.path.exists(os.path.join(arch, vms[1] + ".gz")), "remove_rrd unlinked")
    fails(p.archive_sr_rrd({"sr_uuid": vms[0]}), "Archive_failed", "archive_sr_rrd without RRD")
    srx = os.path.join(H.FIX, "rrd_updates", "rrds", "sr.internal.xml")
    sru = "e6616eb6-2c5b-5d1f-3a7b-9c0d1e2f3a4b"
    ok(p.push_sr_rrd({"sr_uuid": sru, "path": srx}), "push_sr_rrd")
    check(a.get("/sr_rrd?uuid=" + sru)[0] == 200, "push_sr_rrd installed the SR RRD")
    spath = ok(p.archive_sr_rrd({"sr_uuid": sru}), "archive_sr_rrd")
    check(spath == os.path.join(arch, sru + ".gz") and os.path.exists(spath), "archive_sr_rrd path")
    ok(p.push_sr_rrd({"sr_uuid": sru, "path": spath[:-3]}), "push_sr_rrd without .gz")
    # path arguments: inside --rpc-path-dirs only, never through a last-component link
    fails(p.push_sr_rrd({"sr_uuid": sru, "path": "/etc/shadow"}), "Archive_failed",
          "push_sr_rrd outside --rpc-path-dirs")
    fails(p.push_sr_rrd({"sr_uuid": sru, "path": "/etc/no-such-file"}), "Archive_failed",
          "push_sr_rrd of a missing file outside --rpc-path-dirs")
    r1 = p.push_sr_rrd({"sr_uuid": sru, "path": "/etc/shadow"})
    r2 = p.push_sr_rrd({"sr_uuid": sru, "path": "/etc/no-such-file"})
    check(str(r1).replace("shadow", "X") == str(r2).replace("no-such-file", "X"),
          "the answer does not tell whether a file outside exists: %r / %r" % (r1, r2))
    link = os.path.join(a.dir, "link.xml")
    os.symlink(srx, link)
    fails(p.push_sr_rrd({"sr_uuid": sru, "path": link}), "Archive_failed",
          "push_sr_rrd through a symbolic link")
    fifo = os.path.join(a.dir, "fifo.xml")
    os.mkfifo(fifo)
    t0 = time.monotonic()
    fails(p.push_sr_rrd({"sr_uuid": sru, "path": fifo}), "Archive_failed", "push_sr_rrd of a FIFO")
    check(time.monotonic() - t0 < 5, "a FIFO is refused at once")
    ok(getattr(p, "Deprecated.load_rrd")({"uuid": HOST_A, "timescale": 0}), "load_rrd")

    # between hosts
    remote = "http://127.0.0.1:%d" % b.port
    ok(p.migrate_rrd({"remote_address": remote, "vm_uuid": vms[2], "host_uuid": HOST_B}), "migrate_rrd")
    check(not ok(p.has_vm_rrd({"vm_uuid": vms[2]}), "has"), "migrated VM gone from A")
    check(ok(proxy(b).has_vm_rrd({"vm_uuid": vms[2]}), "has on B") is True, "migrated VM on B")
    fails(p.migrate_rrd({"remote_address": "http://127.0.0.1:1", "vm_uuid": vms[3], "host_uuid": HOST_B}),
          "Rrdd_internal_error", "migrate_rrd to nowhere")
    check(ok(p.has_vm_rrd({"vm_uuid": vms[3]}), "has") is True, "failed migration keeps the RRD")
    ok(p.archive_rrd({"vm_uuid": vms[3], "remote_address": remote}), "archive_rrd remote")
    check(os.path.exists(os.path.join(b.dir, "rrds", vms[3] + ".gz")), "archive on B")
    ok(p.push_rrd_remote({"vm_uuid": vms[3], "remote_address": remote}), "push_rrd_remote")
    ok(p.send_host_rrd_to_master({"master_address": remote}), "send_host_rrd_to_master")
    check(os.path.exists(os.path.join(b.dir, "rrds", HOST_A + ".gz")), "host archive on master")
    ok(p.backup_rrds({"remote_address": remote}, None), "backup_rrds remote")
    ss = b.get("/vm_rrd?uuid=" + vms[3], accept="application/json")
    check(ss[0] == 200, "push_rrd_remote installed on B")

    # JSON-RPC on the same socket
    def jrpc(d, body):
        st, h, data, _ = d.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
        return st, H.strict_json(data) if data else None
    st, r = jrpc(a, json.dumps({"method": "has_vm_rrd", "params": [{"vm_uuid": vms[0]}], "id": 7}))
    check(st == 200 and r == {"result": True, "error": None, "id": 7}, "JSON-RPC v1: %r" % r)
    st, r = jrpc(a, json.dumps({"method": "query_host_ds", "params": [{"ds_name": "nope"}], "id": "x"}))
    check(st == 200 and r["error"][0] == "Datasource_missing", "JSON-RPC error: %r" % r)
    st, r = jrpc(a, json.dumps({"jsonrpc": "2.0", "method": "Plugin.get_header", "params": [None], "id": 1}))
    check(st == 200 and r.get("result") == "DATASOURCES\n", "JSON-RPC v2: %r" % r)
    st, r = jrpc(a, json.dumps({"method": "no.such", "params": [], "id": 1}))
    check(st == 404 and r is not None, "JSON-RPC unknown method: 404 with a body (%d)" % st)
    st, r = jrpc(a, "{\"method\": ")
    check(st == 400 and r is not None, "JSON-RPC truncated: 400 (%d)" % st)

    # hostile XML-RPC
    for body, want in ((b"<methodCall><methodName>has_vm_rrd</methodName>", 400),
                       (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><methodCall>"
                        b"<methodName>&a;</methodName></methodCall>", 400),
                       (b"<methodCall><methodName>nope</methodName><params/></methodCall>", 404),
                       (b"<methodCall><methodName>has_vm_rrd</methodName><params><param><value>"
                        b"<int>1</int></value></param></params></methodCall>", 200),
                       (b"<a>" * 10000, 400), (b"", 400)):
        st, _, data, _ = a.request("POST", "/", body=body, headers={"Content-Type": "text/xml"})
        check(st == want and data, "hostile XML-RPC %r -> %d (got %d)" % (body[:40], want, st))
    try:
        r = p.no_such_method({})
        check(False, "unknown method over xmlrpc.client should raise")
    except xmlrpc.client.ProtocolError as e:
        check(e.errcode == 404, "unknown method: ProtocolError 404 (%d)" % e.errcode)
    r = p.has_vm_rrd({"vm_uuid": 5})
    check(r.get("Status") == "Failure", "wrong type: Failure envelope %r" % r)
    check(a.alive() and b.alive(), "both daemons alive")
finally:
    sa = a.stop()
    sb = b.stop()
check(sa == 0 and sb == 0, "clean exits %s %s" % (sa, sb))
T.finish()
