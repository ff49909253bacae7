"""rrdd-tool's daemon commands against the real daemon (simulated host, real
clock): ls, show, enable, forget, backup, get, plot and watch, in human and --json
form (JSON parsed strictly), each checked against what the daemon says
through an independent client (Python's xmlrpc.client and http.client on the
same socket)."""
import json
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
import xmlrpc.client

import rrddtest as T
from rrddtest import check
import rrddhttp as H

HOST = "0f0f0f0f-1111-4222-8333-555555555555"


def tool(*args, timeout=60):
    p = subprocess.run([T.TOOL] + list(args) + ["--socket", d.sock], capture_output=True,
                       text=True, timeout=timeout, env=dict(os.environ, LC_ALL="C", TZ="UTC"))
    return p.returncode, p.stdout, p.stderr


def tool_json(*args):
    rc, out, err = tool(*args, "--json")
    check(rc == 0, "%r --json: rc %d %s" % (args, rc, err))
    try:
        return H.strict_json(out)
    except ValueError as e:
        check(False, "%r --json is not strict JSON (%s): %r" % (args, e, out[:300]))
        return None


def ok(r):
    check(isinstance(r, dict) and r.get("Status") == "Success", "RPC %r" % (r,))
    return r.get("Value")


d = H.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "2", "--host-uuid", HOST],
             name="rrdd-cli-cmd-")
try:
    p = xmlrpc.client.ServerProxy("http://localhost/", transport=H.UnixTransport(d.sock),
                                  allow_none=True)
    for _ in range(150):
        r = p.query_host_ds({"ds_name": "memory_total_kib"})
        if r.get("Status") == "Success" and r["Value"] == r["Value"]:
            break
        time.sleep(0.1)
    vms = sorted(json.load(open(os.path.join(d.dir, "vm-metrics.json"))).keys())
    check(len(vms) == 3, "three domains (dom0 + 2): %r" % vms)
    vm = vms[1]

    # ---- ls: the same list as query_possible_*_dss ----
    for owner, rpc in (([], lambda: p.query_possible_host_dss({}, None)),
                       (["vm", vm], lambda: p.query_possible_vm_dss({"vm_uuid": vm}))):
        want = ok(rpc())
        got = tool_json("ls", *owner)
        if got is None:
            continue
        check([x["name"] for x in got] == [x["name"] for x in want], "ls %r names" % owner)
        for g, w in zip(got, want):
            same = (g["enabled"] == w["enabled"] and g["standard"] == w["standard"] and
                    g["units"] == w["units"] and g["description"] == w["description"])
            for k in ("min", "max"):
                gv = float(g[k]) if isinstance(g[k], str) else g[k]
                same = same and (gv == w[k] or (gv != gv and w[k] != w[k]))
            check(same, "ls %r %s: %r vs %r" % (owner, w["name"], g, w))
        rc, out, err = tool("ls", *owner)
        lines = out.splitlines()
        check(rc == 0 and lines[0].split()[:4] == ["DATASOURCE", "ENABLED", "DEFAULT", "UNITS"],
              "ls header %r" % lines[:1])
        body = {ln.split()[0]: ln.split() for ln in lines[1:]}
        for w in want:
            row = body.get(w["name"])
            check(row is not None and row[1] == ("yes" if w["enabled"] else "no") and
                  row[2] == ("yes" if w["standard"] else "no"), "ls %r row %s: %r"
                  % (owner, w["name"], row))
    got = tool_json("ls", "sr", vm)
    check(got == [], "ls sr (none): %r" % got)

    # ---- show: the newest row of rrd_updates, with units ----
    js = tool_json("show")
    st, _, body, _ = d.get("/rrd_updates?start=-60&host=true&cf=AVERAGE&json=true")
    upd = H.strict_json(body)
    rows = {int(r["t"]): r["values"] for r in upd["data"]}
    legend = upd["meta"]["legend"]
    if js:
        check(js["cf"] == "AVERAGE" and js["step"] == 5 and js["time"] in rows,
              "show: time %r among the rows %r" % (js.get("time"), sorted(rows)))
        check(js["values"] and all(v["owner"] == "host" and v["uuid"] == HOST
                                   for v in js["values"]), "show host: host values only")
        units = {x["name"]: x["units"] for x in ok(p.query_possible_host_dss({}, None))}
        nchk = 0
        for v in js["values"]:
            key = "AVERAGE:host:%s:%s" % (HOST, v["datasource"])
            ref = float(rows.get(js["time"], [])[legend.index(key)]) if key in legend else None
            if ref is None or ref != ref:
                check(v["value"] is None, "show: unknown %s is null" % key)
            else:
                check(v["value"] is not None and abs(v["value"] - ref) <= abs(ref) * 1e-14,
                      "show %s: %r vs %r" % (key, v["value"], ref))
            check(v["units"] == units.get(v["datasource"]), "show units %s" % key)
            nchk += 1
        check(nchk >= 10, "show compared %d values" % nchk)
    jv = tool_json("show", "vm", vm)
    check(jv and jv["values"] and all(v["owner"] == "vm" and v["uuid"] == vm for v in jv["values"]),
          "show vm: only that VM")
    ja = tool_json("show", "all")
    check(ja and {v["uuid"] for v in ja["values"]} >= {HOST, vm}, "show all: host and VMs")
    rc, out, _ = tool("show", "--cf", "MAX")
    check(rc == 0 and out.startswith("# MAX values at ") and "memory_total_kib" in out,
          "show --cf MAX human: %r" % out[:200])

    # ---- enable / forget ----
    dss = ok(p.query_possible_host_dss({}, None))
    off = [x["name"] for x in dss if not x["enabled"] and not x["standard"]]
    check(off, "a host DS that is not recorded")
    if off:
        rc, out, err = tool("enable", "host", off[0])
        check(rc == 0 and out == "enabled host datasource %s\n" % off[0], "enable: %r %s"
              % (out, err))
        now = {x["name"]: x["enabled"] for x in ok(p.query_possible_host_dss({}, None))}
        check(now.get(off[0]) is True, "enable recorded it")
        j = tool_json("forget", "host", off[0])
        check(j == {"ok": True, "method": "forget_host_ds", "owner": "host", "uuid": None,
                    "datasource": off[0]}, "forget --json %r" % j)
        now = {x["name"]: x["enabled"] for x in ok(p.query_possible_host_dss({}, None))}
        check(now.get(off[0]) is False, "forget dropped it")
    rc, out, err = tool("enable", "host", "no_such_ds")
    check(rc == 1 and out == "" and "Datasource_missing" in err, "enable missing: %d %r" % (rc, err))
    vds = ok(p.query_possible_vm_dss({"vm_uuid": vm}))
    voff = [x["name"] for x in vds if not x["enabled"]]
    if voff:
        rc, out, err = tool("enable", "vm", vm, voff[0], "--domid", "1")
        check(rc == 0, "enable vm: %s" % err)
        now = {x["name"]: x["enabled"] for x in ok(p.query_possible_vm_dss({"vm_uuid": vm}))}
        check(now.get(voff[0]) is True, "enable vm recorded it")
    rc, out, err = tool("forget", "vm", vm, "memory")
    check(rc == 0 and "forgot vm %s datasource memory" % vm in out, "forget vm: %r %s" % (out, err))
    rc, _, err = tool("forget", "sr", vm, "x")
    check(rc == 1 and "Datasource_missing" in err, "forget on an SR without RRD: %r" % err)
    for bad in (["enable"], ["enable", "host"], ["enable", "vm", vm], ["forget", "cluster", "x"]):
        rc, out, err = tool(*bad)
        check(rc == 2 and out == "", "usage %r: %d" % (bad, rc))

    # ---- backup ----
    arch = os.path.join(d.dir, "rrds")
    before = time.time() - 1
    rc, out, err = tool("backup")
    check(rc == 0 and out.startswith("backup done"), "backup: %r %s" % (out, err))
    fresh = [f for f in os.listdir(arch) if os.path.getmtime(os.path.join(arch, f)) >= before] \
        if os.path.isdir(arch) else []
    check(HOST + ".gz" in fresh and vm + ".gz" in fresh, "backup wrote archives: %r" % fresh)
    j = tool_json("backup")
    check(j == {"ok": True, "method": "backup_rrds", "remote_address": None}, "backup --json %r" % j)
    rc, _, err = tool("backup", "--remote", "127.0.0.1:1")
    check(rc == 1 and "Archive_failed" in err, "backup to a dead remote: %d %r" % (rc, err))

    # ---- get ----
    j = tool_json("get", "host")
    check(j and "ds" in j and "rra" in j and any(x["name"] == "memory_total_kib" for x in j["ds"]),
          "get host --json")
    rc, out, err = tool("get", "vm", vm)
    root = ET.fromstring(out) if rc == 0 else None
    check(root is not None and root.tag == "rrd" and root.findall("ds"), "get vm XML")
    outf = os.path.join(d.dir, "host.xml")
    rc, out, err = tool("get", "host", "--format", "xml", "-o", outf)
    check(rc == 0 and out == "" and ET.parse(outf).getroot().tag == "rrd", "get -o FILE")
    rc, out, err = tool("get", "vm", "00000000-0000-4000-8000-000000000bad")
    check(rc == 1 and out == "" and "no RRD" in err, "get unknown VM: %d %r" % (rc, err))

    # ---- plot and rrdtool files (GET /graph, GET /rrd_file) ----
    png = os.path.join(d.dir, "cpu.png")
    rc, out, err = tool("plot", "host", png, "ds=cpu*", "start=-1m", "width=640", "height=240")
    data = open(png, "rb").read() if rc == 0 else b""
    check(rc == 0 and data[:8] == b"\x89PNG\r\n\x1a\n" and
          int.from_bytes(data[16:20], "big") == 640 and int.from_bytes(data[20:24], "big") == 240,
          "plot host PNG 640x240: %d %s" % (rc, err))
    svg = os.path.join(d.dir, "vm.svg")
    rc, out, err = tool("plot", "vm", vm, svg, "ds=cpu*")
    check(rc == 0 and b"<svg" in open(svg, "rb").read(2000), "plot vm SVG (from the name): %s" % err)
    rc, out, err = tool("plot", "host", png, "width=5")
    check(rc == 1 and "HTTP 400: graph: width" in err, "plot bad width: %r" % err)
    rc, out, err = tool("plot", "host", png, "nonsense")
    check(rc == 2, "plot parameter without '=': usage")
    rrdf = os.path.join(d.dir, "host.rrd")
    rc, out, err = tool("get", "host", "--format", "rrd", "-o", rrdf)
    check(rc == 0 and open(rrdf, "rb").read(4) == b"RRD\x00", "get --format rrd: %s" % err)
    if shutil.which("rrdtool") and rc == 0:
        p2 = subprocess.run(["rrdtool", "info", rrdf], capture_output=True, text=True)
        check(p2.returncode == 0 and "step = 5" in p2.stdout, "rrdtool info reads it")
    rc, out, err = tool("get", "host", "--format", "rrd")
    check(rc == 2, "--format rrd without -o: usage")
    m = tool_json("get", "vm", vm, "--format", "mapping")
    check(isinstance(m, list) and m and all(set(x) == {"ds", "rrdtool"} for x in m) and
          any(x["ds"] == "cpu0" for x in m), "get --format mapping: %r" % ((m or [])[:3],))

    # ---- watch ----
    t0 = time.time()
    rc, out, err = tool("watch", "--json", "--count", "3", "--interval", "1",
                        ":host::memory_total_kib", timeout=60)
    lines = out.splitlines()
    check(rc == 0 and len(lines) == 3, "watch --count 3: %d lines %s" % (len(lines), err))
    objs = []
    for ln in lines:
        try:
            objs.append(H.strict_json(ln))
        except ValueError:
            check(False, "watch line not strict JSON: %r" % ln)
    ts = [o["t"] for o in objs]
    check(ts == sorted(ts) and len(set(ts)) == len(ts) and all(
        b - a == 5 for a, b in zip(ts, ts[1:])), "watch rows new and in order: %r" % ts)
    check(all(list(o["values"]) == ["AVERAGE:host:%s:memory_total_kib" % HOST] for o in objs),
          "watch selector")
    check(time.time() - t0 < 30, "watch returned")
    rc, out, err = tool("watch", "--count", "1", "cpu0")
    lines = out.splitlines()
    check(rc == 0 and lines and all(ln.split()[3] == "cpu0" and ln.split()[0].endswith("Z")
                                    for ln in lines), "watch human: %r" % lines[:3])
    check({ln.split()[1] for ln in lines} == {"host", "vm"}, "watch host and VM cpu0")
    rc, out, err = tool("watch", "a:b")
    check(rc == 2, "watch bad selector: usage")
    check(d.alive(), "daemon alive")
finally:
    d.stop()
T.finish()
