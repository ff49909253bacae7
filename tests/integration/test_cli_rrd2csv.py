"""rrdd-tool rrd2csv against the real daemon, checked against an independent
Python model of xen-api's rrd2csv (ocaml/rrd2csv/src/rrd2csv.ml, read for its
rules, not run): selector grammar with wildcards and prefix metrics, the
header in reverse legend order with RFC 4180 quoting, "%.0f"/"%f" values,
N/A, the UTC time of the newest row, -n/-u names, the WARNING lines, -s and
the "rrd2csv" link name; and, from a scripted server, every value shape (NaN,
infinities, -0, huge, tiny) and a datasource that vanishes (N/A).

The daemon runs with --source none and the reference RRDs PUT into it, so
nothing changes between the tool's query and ours: the expected output is
computed here from the daemon's XML rrd_updates (start=-10, host=true, the
query rrd2csv sends) with the model below.  One VM RRD gets a datasource
renamed to contain a comma and a quote, to exercise the quoting.
"""
import math
import os
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
import xmlrpc.client

import rrddtest as T
from rrddtest import check
import rrddhttp as H

RU = os.path.join(H.FIX, "rrd_updates")
import json
Q = json.load(open(os.path.join(RU, "queries.json")))
HOST = Q["rrds"]["host"]["uuid"]
VM1 = Q["rrds"]["vm1"]["uuid"]
ODD = 'x,"q"'  # a DS name that needs CSV quoting


def model_selector(s):
    parts = s.split(":")
    if len(parts) == 1:
        return {"cf": None, "owner": None, "uuid": "", "metric": s}
    assert len(parts) == 4
    cf = parts[0] if parts[0] in ("AVERAGE", "MIN", "MAX", "LAST") else None
    owner = parts[1] if parts[1] in ("host", "vm", "sr") else None
    return {"cf": cf, "owner": owner, "uuid": parts[2], "metric": parts[3]}


def legend_sel(e):
    cf, owner, uuid, metric = e.split(":", 3)
    return model_selector("%s:%s:%s:%s" % (cf, owner, uuid, metric))


def passes(f, d):
    if not d["metric"].startswith(f["metric"]):
        return False
    if f["cf"] is not None and f["cf"] != d["cf"]:
        return False
    if f["owner"] is not None and f["owner"] != d["owner"]:
        return False
    return f["uuid"] == "" or f["uuid"] == d["uuid"]


def csv_quote(s):
    if '"' in s:
        return '"' + s.replace('"', '""') + '"'
    if "," in s or "\n" in s:
        return '"' + s + '"'
    return s


def fmt(v):
    if math.isnan(v):
        return "N/A"
    if math.isinf(v) or v == int(v):
        return "%.0f" % v
    return "%f" % v


def model(xml, sels, names=None, show_name=False, show_uuid=False, sp=None):
    """The rrd2csv output for one header and one sample line."""
    root = ET.fromstring(xml)
    legend = [e.text for e in root.find("meta/legend")]
    step = int(root.find("meta/step").text)
    rows = root.findall("data/row")
    entries = [legend_sel(e) for e in legend]
    fs = [model_selector(s) for s in sels]
    chosen = [d for d in entries if not fs or any(passes(f, d) for f in fs)]
    chosen.reverse()
    out = []
    if sp is not None and step > sp:
        out.append("WARNING: Requested sampling period (%ds) is lower than the period of "
                   "datasources (%ds)" % (sp, step))
    for f in reversed(fs):
        if not any(d["metric"].startswith(f["metric"]) for d in entries):
            out.append("WARNING: Requested metric %s:%s:%s:%s is disabled or non-existant"
                       % (f["cf"] or "", f["owner"] or "", f["uuid"], f["metric"]))
    show_uuid = show_uuid if show_name else True
    heads = []
    for d in chosen:
        if show_name:
            name = (names or {}).get(d["uuid"], "")
            mid = "%s (%s)" % (d["uuid"], name) if show_uuid else name
        else:
            mid = d["uuid"]
        heads.append(csv_quote("%s:%s:%s:%s" % (d["cf"] or "", d["owner"] or "", mid,
                                                 d["metric"])))
    out.append("timestamp, " + ", ".join(heads))
    newest = rows[0]
    vals = [float(v.text) for v in newest.findall("v")]
    t = int(newest.find("t").text)
    cells = []
    for d in chosen:
        i = entries.index(d)
        cells.append(fmt(vals[i]))
    out.append(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) + ", " + ", ".join(cells))
    return "\n".join(out) + "\n"


d = H.Daemon(["--source", "none", "--clock", "paced", "--sim-epoch", "1600000000",
              "--host-uuid", HOST] + T.rpc_path_args(), name="rrdd-cli-csv-")
tmp = T.tmpdir("rrdd-cli-csv-t-")
try:
    for rid, info in Q["rrds"].items():
        if info["kind"] == "sr":
            continue
        body = open(os.path.join(RU, info["state"]), "rb").read()
        if rid == "vm1":
            body = body.replace(b"<name>cpu0</name>", ("<name>%s</name>" % ODD.replace(
                '"', "&quot;")).encode(), 1)
        st, _, b, _ = d.request("PUT", "/rrd?uuid=%s&is_host=%s" % (
            info["uuid"], "true" if info["kind"] == "host" else "false"), body=body)
        check(st == 200, "PUT %s: %d %r" % (rid, st, b[:200]))
    st, _, xml, _ = d.get("/rrd_updates?start=-10&host=true", accept="text/xml")
    check(st == 200, "rrd_updates %d" % st)
    check(ODD.encode() in xml.replace(b"&quot;", b'"'), "renamed DS served")
    names_file = os.path.join(tmp, "names")
    names = {HOST: "dom0-host", VM1: "web server"}
    with open(names_file, "w") as f:
        for u, n in names.items():
            f.write("%s %s\n" % (u, n))

    def run(args, prog=None):
        argv = [prog or T.TOOL] + ([] if prog else ["rrd2csv"]) + ["--socket", d.sock,
                                                                  "--count", "1"] + args
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, LC_ALL="C", TZ="UTC"))
        return p.returncode, p.stdout, p.stderr

    cases = [
        ([], {}),
        ([":host::"], {}),
        ([":vm::"], {}),
        (["AVERAGE:host::", "MIN:::memory"], {}),
        (["cpu"], {}),
        (["::%s:" % VM1], {}),
        ([":vm:%s:" % VM1], {}),
        (["avg:bogus::memory"], {}),          # unknown CF and SOURCE: wildcards
        (["LAST:::"], {}),                    # nothing: empty header
        ([":sr::"], {}),
        (["nosuchmetric", ":host::cpu0"], {}),
        ([":::"], {"show_name": True}),
        ([":::"], {"show_name": True, "show_uuid": True}),
        ([":vm::"], {"show_uuid": True}),     # -u alone: uuids, as rrd2csv
    ]
    ncases = 0
    for sels, kw in cases:
        flags = []
        if kw.get("show_name"):
            flags += ["-n", "--names", names_file]
        if kw.get("show_uuid"):
            flags.append("-u")
        rc, out, err = run(flags + sels)
        want = model(xml, sels, names, kw.get("show_name", False), kw.get("show_uuid", False))
        check(rc == 0, "rrd2csv %r: rc %d %s" % (sels, rc, err))
        check(out == want, "rrd2csv %r %r:\n got: %r\nwant: %r" % (sels, kw, out, want))
        ncases += 1
    # the quoted header entry really is there (guards the model too)
    rc, out, _ = run([":vm:%s:x" % VM1])
    check('"AVERAGE:vm:%s:x,""q"""' % VM1 in out, "CSV quoting of %r: %r" % (ODD, out))
    # both value shapes occur in the default selection ("%.0f" and "%f")
    rc, out, _ = run([])
    cells = out.splitlines()[-1].split(", ")[1:]
    check(any(c.isdigit() for c in cells) and any("." in c for c in cells),
          "integral and fractional values: %r" % cells)
    # -s below the step warns; two lines with --count 2
    p = subprocess.run([T.TOOL, "rrd2csv", "--socket", d.sock, "--count", "2", "-s", "1",
                        ":host::memory"], capture_output=True, text=True, timeout=60)
    want = model(xml, [":host::memory"], sp=1)
    lines = p.stdout.splitlines()
    check(p.returncode == 0 and len(lines) == 4 and "\n".join(lines[:3]) + "\n" == want and
          lines[3] == lines[2], "-s 1 --count 2: %r" % p.stdout)
    # the rrd2csv link name behaves as the command
    link = os.path.join(tmp, "rrd2csv")
    os.symlink(os.path.abspath(T.TOOL), link)
    rc, out, err = run([":host::cpu"], prog=link)
    check(rc == 0 and out == model(xml, [":host::cpu"]), "rrd2csv link: %r %s" % (out, err))
    rc, out, err = run(["--version"], prog=link)
    check(rc == 0 and out.startswith("rrd2csv"), "--version %r" % out)
    # bad selectors: usage error, no output
    for bad in ["a:b", "a:b:c", "a:b:c:d:e"]:
        rc, out, err = run([bad])
        check(rc == 2 and out == "" and "selector" in err, "bad selector %r: %d %r %r"
              % (bad, rc, out, err))
    check(ncases == len(cases), "cases run")

    # ---- an SR RRD (push_sr_rrd): ls and show sr, as the RPC and rrd_updates say ----
    SR = Q["rrds"]["sr"]["uuid"]
    px = xmlrpc.client.ServerProxy("http://localhost/", transport=H.UnixTransport(d.sock),
                                   allow_none=True)
    r = px.push_sr_rrd({"sr_uuid": SR, "path": os.path.join(RU, Q["rrds"]["sr"]["state"])})
    check(r.get("Status") == "Success", "push_sr_rrd %r" % r)
    want = px.query_possible_sr_dss({"sr_uuid": SR}).get("Value")
    p = subprocess.run([T.TOOL, "ls", "sr", SR, "--json", "--socket", d.sock],
                       capture_output=True, text=True, timeout=30)
    got = H.strict_json(p.stdout) if p.returncode == 0 else None
    check(got is not None and want and [x["name"] for x in got] == [x["name"] for x in want] and
          all(g["enabled"] == w["enabled"] and g["units"] == w["units"]
              for g, w in zip(got, want)), "ls sr: %r vs %r" % (got, want))
    p = subprocess.run([T.TOOL, "show", "sr", SR, "--json", "--socket", d.sock],
                       capture_output=True, text=True, timeout=30)
    got = H.strict_json(p.stdout) if p.returncode == 0 else {}
    st, _, body, _ = d.get("/rrd_updates?start=-10&sr_uuid=%s&vm_uuid=none&cf=AVERAGE" % SR,
                           accept="application/json")
    ref = H.strict_json(body)
    newest = dict(zip([e.split(":")[3] for e in ref["meta"]["legend"]],
                      [float(v) for v in ref["data"][0]["values"]]))
    def same(v, ref):
        return v is None if ref != ref else v == ref
    check(got.get("values") and all(v["owner"] == "sr" and v["uuid"] == SR and
                                    same(v["value"], newest[v["datasource"]])
                                    for v in got["values"])
          and len(got["values"]) == len(newest), "show sr: %r vs %r" % (got, newest))

    # ---- value formatting and a DS that vanishes, from a scripted server:
    # the first answer fixes the columns, the second gives the values ----
    U = "11111111-2222-4333-8444-555555555555"
    names_a = ["a_nan", "b_int", "c_frac", "d_inf", "e_neginf", "f_negzero", "g_big",
               "h_gone", "i_neg", "j_tiny"]
    legend_a = ["AVERAGE:vm:%s:%s" % (U, n) for n in names_a]
    vals_b = {"a_nan": "NaN", "b_int": "42", "c_frac": "0.1", "d_inf": "Infinity",
              "e_neginf": "-Infinity", "f_negzero": "-0.0", "g_big": "1e20",
              "i_neg": "-2.5", "j_tiny": "1e-07"}
    legend_b = ["AVERAGE:vm:%s:%s" % (U, n) for n in vals_b]

    def doc(legend, vals, t):
        return json.dumps({"meta": {"start": str(t - 10), "step": "5", "end": str(t),
                                    "rows": "1", "columns": str(len(legend)),
                                    "legend": legend},
                           "data": [{"t": str(t), "values": vals}]}).encode()
    answers = [doc(legend_a, ["1"] * len(legend_a), 1700000000),
               doc(legend_b, list(vals_b.values()), 1700000005)]
    fake = os.path.join(tmp, "fake")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(fake)
    srv.listen(4)

    def serve():
        for body in answers:
            c, _ = srv.accept()
            data = b""
            while b"\r\n\r\n" not in data:
                data += c.recv(4096)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            c.close()
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    p = subprocess.run([T.TOOL, "rrd2csv", "--socket", fake, "--count", "1"],
                       capture_output=True, text=True, timeout=30)
    th.join(5)
    srv.close()
    model_vals = {n: float(v) for n, v in vals_b.items()}
    cols = list(reversed(names_a))
    want = ("timestamp, " + ", ".join("AVERAGE:vm:%s:%s" % (U, n) for n in cols) + "\n" +
            "2023-11-14T22:13:25Z, " +
            ", ".join(fmt(model_vals.get(n, float("nan"))) for n in cols) + "\n")
    check(p.returncode == 0 and p.stdout == want, "formatting:\n got: %r\nwant: %r %s"
          % (p.stdout, want, p.stderr))
    # the tricky cells spelled out (OCaml's Printf "%.0f"/"%f" as C's)
    line = p.stdout.splitlines()[-1].split(", ") if p.stdout else []
    cells = dict(zip(cols, line[1:]))
    check(cells.get("a_nan") == "N/A" and cells.get("h_gone") == "N/A" and
          cells.get("b_int") == "42" and cells.get("c_frac") == "0.100000" and
          cells.get("d_inf") == "inf" and cells.get("e_neginf") == "-inf" and
          cells.get("f_negzero") == "-0" and cells.get("g_big") == "100000000000000000000" and
          cells.get("i_neg") == "-2.500000" and cells.get("j_tiny") == "0.000000",
          "cells %r" % cells)
finally:
    d.stop()
T.finish()
