"""rrdd's HTTP surface with real clients: the Accept negotiation table of
wire-format.md §4.2, the status codes of every error case of 4.6 (xcp-rrdd's, with a
one-line reason), routing (403 / 501), repeated
vm_uuid and all/none, curl over the Unix socket, TCP access control
(bearer and basic), xapi's fd hand-over with duplicate query keys (a small
SCM_RIGHTS client), GET /metrics under promtool, and hostile requests that
must leave the daemon alive.  rrdd runs the simulated host in real time.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import xml.etree.ElementTree as ET

import rrddtest as T
from rrddtest import check
import rrddhttp as H

HOST = "0f0f0f0f-1111-4222-8333-444444444444"
tok = T.tmpdir("rrdd-auth-")
authf = os.path.join(tok, "auth")
with open(authf, "w") as f:
    f.write("# test credentials\nbearer s3cret-token\nbasic admin:pa:ss\n")
os.chmod(authf, 0o600)

d = H.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "3", "--host-uuid", HOST,
              "--listen", "127.0.0.1:0", "--auth-file", authf])
try:
    # wait for the first tick's RRDs
    import time
    for _ in range(100):
        if d.get("/host_rrd")[0] == 200:
            break
        time.sleep(0.1)
    vms = json.loads(open(os.path.join(d.dir, "vm-metrics.json")).read()).keys()
    vms = sorted(vms)
    check(len(vms) == 4, "dom0 + 3 simulated VMs: %r" % vms)

    # ---- negotiation (wire-format.md §4.2) ----
    table = [(None, "", "xml"), (None, "&json=true", "json"), ("*/*", "", "json"),
             ("text/xml", "&json=true", "xml"), ("application/json", "", "json"),
             ("text/html,*/*;q=0.1", "", "json"), ("text/html", "", "xml"),
             ("text/html", "&json", "json"), ("application/xml", "", "xml"),
             ("application/xml", "&json=1", "json"), ("text/*", "", "xml"),
             ("application/*", "", "json"), ("text/xml;q=0.9,application/json;q=0.5", "", "xml"),
             ("text/xml;q=0.5, application/json;q=0.9", "", "json"),
             ("text/xml,application/json", "", "json"), ("garbage", "&json", "json"),
             ("garbage", "", "xml"), ("text/xml;q=abc", "", "xml"), ("", "&json", "json"),
             ("*/*;q=0.1,text/xml", "", "xml")]
    for acc, extra, want in table:
        for path in ("/rrd_updates?start=-10&host=true" + extra, "/host_rrd?x=1" + extra):
            st, h, body, _ = d.get(path, accept=acc)
            ct = h.get("content-type")
            ok = st == 200 and ct == ("application/json" if want == "json" else "text/xml")
            check(ok, "Accept %r %s -> %s (got %d %s)" % (acc, path, want, st, ct))
            if ok and want == "json":
                H.strict_json(body)
            elif ok:
                ET.fromstring(body)

    # ---- rrd_updates parameters ----
    def legend(q):
        st, _, body, _ = d.get("/rrd_updates?" + q, accept="application/json")
        if st != 200:
            return st, []
        doc = H.strict_json(body)
        return st, doc["meta"]["legend"]

    st, lg = legend("start=-10")
    owners = {e.split(":")[2] for e in lg}
    check(st == 200 and owners == set(vms), "no vm_uuid: every VM, no host: %r" % owners)
    check(all(len(e.split(":")) == 4 for e in lg), "legend entries have 4 fields")
    st, lg = legend("start=-10&host=True")
    check(not any(":host:" in e for e in lg), "host=True is not host=true")
    st, lg = legend("start=-10&host=true&vm_uuid=%s&vm_uuid=%s&vm_uuid=%s" % (vms[2], vms[0], vms[2]))
    order = []
    for e in lg:
        u = e.split(":")[2]
        if not order or order[-1] != u:
            order.append(u)
    check(order == [HOST, vms[2], vms[0]], "repeated vm_uuid in query order, once: %r" % order)
    st, lg = legend("start=-10&host=true&vm_uuid=none")
    check({e.split(":")[1] for e in lg} == {"host"}, "vm_uuid=none: host only")
    st, lg = legend("start=-10&vm_uuid=all&sr_uuid=all")
    check({e.split(":")[2] for e in lg} == set(vms), "vm_uuid=all")
    st, lg = legend("start=-10&host=true&cf=AVERAGE&interval=5")
    check(st == 200 and all(e.startswith("AVERAGE:") for e in lg), "cf=AVERAGE")
    st, lg = legend("start=-10&host=true&cf=average")
    check(st == 200, "cf=average (lowercase) = every CF, as xcp-rrdd")
    st, hd, body, _ = d.get("/rrd_updates?start=-3600&host=true&cf=MIN&vm_uuid=none")
    check(st == 200 and b"MIN:host:" in body, "cf=MIN on the host")
    # a kept-alive answer says how long the idle connection stays open
    check(hd.get("keep-alive") == "timeout=30" and hd.get("connection") != "close",
          "Keep-Alive: timeout=30 (the default --http-timeout): %r" % hd.get("keep-alive"))
    st, _, body, _ = d.get("/rrd_updates?start=%d&host=true&vm_uuid=none" % int(time.time() - 20),
                           accept="text/xml")
    check(st == 200 and ET.fromstring(body).find("meta/rows").text in ("3", "4", "5"),
          "absolute start: rows %r" % body[:300])

    # ---- error cases (wire-format.md §4.6): xcp-rrdd's status codes ----
    # From xen-api ocaml/xcp-rrdd/bin/rrdd/rrdd_http_handler.ml: an exception
    # in a handler is 500 (Http_svr); get_rrd_updates_handler raises without
    # start or with a bad one, when nothing is selected and on No_RRA_Available;
    # get_vm_rrd_handler and unarchive_rrd_handler answer rrd_handler None, i.e.
    # 404; get_sr_rrd_handler raises (List.assoc "uuid", Hashtbl.find); so do
    # get_host_rrd_handler before the first cycle ("No host RRD available!")
    # and put_rrd_handler without uuid/is_host or with a bad is_host/domid
    # (List.assoc, bool_of_string, int_of_string).  Paths with no handler:
    # Http_svr's 403; methods it does not know: 501.
    errors = [("GET", "/rrd_updates?host=true", 500, "without start"),
              ("GET", "/rrd_updates?start=abc", 500, "start=abc"),
              ("GET", "/rrd_updates?start=-10&cf=MAX", 500, "cf=MAX with VMs lacking MAX"),
              ("GET", "/rrd_updates?start=-10&vm_uuid=none", 500, "nothing selected"),
              ("GET", "/vm_rrd?uuid=00000000-0000-4000-8000-00000000dead", 404, "vm_rrd unknown"),
              ("GET", "/vm_rrd", 404, "vm_rrd without uuid"),
              ("GET", "/sr_rrd?uuid=00000000-0000-4000-8000-00000000dead", 500, "sr_rrd unknown"),
              ("GET", "/sr_rrd", 500, "sr_rrd without uuid"),
              ("POST", "/rrd_unarchive?uuid=00000000-0000-4000-8000-00000000dead", 404,
               "rrd_unarchive without archive"),
              ("GET", "/rrd_unarchive?uuid=../../etc/passwd", 404, "rrd_unarchive path"),
              ("PUT", "/rrd?is_host=false", 500, "PUT without uuid"),
              ("PUT", "/rrd?uuid=%s" % vms[0], 500, "PUT without is_host"),
              ("PUT", "/rrd?uuid=%s&is_host=maybe" % vms[0], 500, "PUT bad is_host"),
              ("PUT", "/rrd?uuid=%s&is_host=false&domid=x" % vms[0], 500, "PUT bad domid"),
              ("GET", "/nope", 403, "unknown path"), ("GET", "/", 403, "GET /"),
              ("GET", "/rrd", 403, "GET /rrd"), ("PUT", "/host_rrd", 403, "PUT elsewhere"),
              ("DELETE", "/rrd_updates", 501, "DELETE"), ("OPTIONS", "/", 501, "OPTIONS")]
    for m, path, want, what in errors:
        body = b"<rrd>" if m == "PUT" else None
        st, h, b, _ = d.request(m, path, body=body)
        check(st == want, "%s: %s %s -> %d (got %d %r)" % (what, m, path, want, st, b[:100]))
        if want in (404, 500):
            check(b.endswith(b"\n") and b.count(b"\n") == 1 and len(b) > 5,
                  "%s: one-line reason %r" % (what, b))
    # an interval that is not a number is none, as xcp-rrdd reads it
    check(d.get("/rrd_updates?start=-10&interval=x")[0] == 200, "interval=x: 200")
    st, _, b, _ = d.request("PUT", "/rrd?uuid=%s&is_host=false" % vms[1], body=b"<rrd><version>")
    check(st == 400 and b"PUT /rrd" in b, "PUT of a truncated RRD: 400 %r" % b)
    check(d.get("/vm_rrd?uuid=" + vms[1])[0] == 200, "the VM keeps its RRD after a bad PUT")
    st, _, b, _ = d.request("PUT", "/rrd?uuid=%s&is_host=false" % vms[1], body=b"x" * 100)
    check(st == 400, "PUT garbage: 400")

    # ---- curl over the Unix socket ----
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-s", "-i", "--unix-socket", d.sock,
                              "http://localhost/rrd_updates?start=-60&host=true"],
                             capture_output=True, timeout=30).stdout
        head, _, body = out.partition(b"\r\n\r\n")
        check(b"200 OK" in head and b"application/json" in head, "curl gets JSON: %r" % head)
        H.strict_json(body)
        out = subprocess.run(["curl", "-s", "--unix-socket", d.sock, "-H", "Accept: text/xml",
                              "http://localhost/host_rrd"], capture_output=True, timeout=30).stdout
        root = ET.fromstring(out)
        check(root.tag == "rrd" and root.find("lastupdate").text.isdigit(),
              "curl /host_rrd XML, integer lastupdate")

    # ---- TCP with access control ----
    st, h, _, _ = d.get("/rrd_updates?start=-10&host=true", tcp=True)
    check(st == 401 and "basic" in h.get("www-authenticate", "").lower(), "TCP without credentials: 401")
    for hdr, want in (("Bearer s3cret-token", 200), ("Bearer wrong", 401),
                      ("Basic " + base64.b64encode(b"admin:pa:ss").decode(), 200),
                      ("Basic " + base64.b64encode(b"admin:nope").decode(), 401)):
        st, _, _, _ = d.request("GET", "/rrd_updates?start=-10&host=true",
                                headers={"Authorization": hdr}, tcp=True)
        check(st == want, "TCP %s -> %d (got %d)" % (hdr.split()[0], want, st))

    # ---- xapi's fd hand-over ----
    def hand_over(req, body=b""):
        a, b = socket.socketpair()
        ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ctl.connect(d.fwd)
        ctl.sendmsg([json.dumps(req).encode() if isinstance(req, dict) else req],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(memoryview(
                        (b.fileno()).to_bytes(4, "little"))))])
        b.close()
        if body:
            a.sendall(body)
        a.settimeout(30)
        data = b""
        while True:
            x = a.recv(65536)
            if not x:
                break
            data += x
        a.close()
        ctl.settimeout(10)
        check(ctl.recv(10) == b"", "nothing written back on the control connection")
        ctl.close()
        return data

    # duplicate keys need the raw JSON text (a Python dict cannot hold them)
    raw = ('{"m":"Get","path":"/rrd_updates","query":{"session_id":"OpaqueRef:x",'
           '"start":"-10","host":"true","vm_uuid":"%s","vm_uuid":"%s"},"version":"1.1",'
           '"frame":false,"accept":"*/*","cookie":{},"close":true,"additional_headers":'
           '{"traceparent":"00-1-01"}}' % (vms[3], vms[1])).encode()
    data = hand_over(raw)
    head, _, body = data.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200") and b"application/json" in head, "hand-over: %r" % head)
    doc = H.strict_json(body)
    us = []
    for e in doc["meta"]["legend"]:
        if e.split(":")[2] not in us:
            us.append(e.split(":")[2])
    check(us == [HOST, vms[3], vms[1]], "hand-over keeps both vm_uuid keys in order: %r" % us)
    data = hand_over({"m": "Get", "path": "/host_rrd", "query": {}, "version": "1.1",
                      "accept": "text/xml", "close": True})
    head, _, body = data.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.0 200") and b"Content-Length" not in head, "hand-over host_rrd")
    ET.fromstring(body)
    data = hand_over({"m": "Get", "path": "/rrd_updates", "query": {}, "version": "1.1"})
    check(data.startswith(b"HTTP/1.1 500"), "hand-over without start: 500 %r" % data[:60])
    data = hand_over({"m": ["Unknown", "BREW"], "path": "/", "query": {}})
    check(data.startswith(b"HTTP/1.1 501"), "hand-over unknown method: 501")
    data = hand_over(b"{not json")
    check(data.startswith(b"HTTP/1.1 400"), "hand-over bad JSON: 400")
    # PUT through the hand-over: 200 first, then the body
    xmlbody = d.get("/vm_rrd?uuid=" + vms[2])[2]
    data = hand_over({"m": "Put", "path": "/rrd", "query": {"uuid": "cccccccc-0000-4000-8000-000000000001",
                      "is_host": "false", "domid": "7"}, "version": "1.1",
                      "content_length": len(xmlbody)}, xmlbody)
    check(data.startswith(b"HTTP/1.1 200"), "hand-over PUT /rrd: %r" % data[:80])
    check(d.get("/vm_rrd?uuid=cccccccc-0000-4000-8000-000000000001")[0] == 200,
          "hand-over PUT installed the RRD")
    # an answer produced piece by piece (rrd_unarchive of an archive written by
    # PUT ?archive=true) arrives whole through the hand-over: each piece once
    st, _, _, _ = d.request("PUT", "/rrd?uuid=cccccccc-0000-4000-8000-000000000002&is_host=false"
                            "&archive=true", body=xmlbody)
    st, _, direct, _ = d.get("/rrd_unarchive?uuid=cccccccc-0000-4000-8000-000000000002")
    data = hand_over({"m": "Get", "path": "/rrd_unarchive", "version": "1.1", "close": True,
                      "query": {"uuid": "cccccccc-0000-4000-8000-000000000002"}})
    head, _, body = data.partition(b"\r\n\r\n")
    check(st == 200 and head.startswith(b"HTTP/1.0 200") and body == direct,
          "hand-over rrd_unarchive: the same %d bytes as on the socket (got %d)"
          % (len(direct), len(body)))
    # XML-RPC through the hand-over (body forwarded by content_length)
    call = (b"<?xml version='1.0'?><methodCall><methodName>has_vm_rrd</methodName><params>"
            b"<param><value><struct><member><name>vm_uuid</name><value>" + vms[0].encode() +
            b"</value></member></struct></value></param></params></methodCall>")
    data = hand_over({"m": "Post", "path": "/", "query": {}, "content_length": len(call)}, call)
    check(data.startswith(b"HTTP/1.1 200") and b"<boolean>1</boolean>" in data,
          "hand-over XML-RPC: %r" % data[-200:])

    # ---- /metrics ----
    st, h, body, _ = d.get("/metrics", accept="application/openmetrics-text")
    check(st == 200 and body.endswith(b"# EOF\n"), "OpenMetrics /metrics ends with # EOF")
    text = body.decode()
    check('xen_host_cpu' in text and 'cpu="0"' in text, "per-index names become labels (cpu)")
    check('vif="0"' in text and 'vm_uuid="%s"' % vms[1] in text, "vif and vm_uuid labels")
    check("# UNIT " in text and "# HELP " in text and "# TYPE " in text, "TYPE/UNIT/HELP")
    # what curl gets: Prometheus' text format, which promtool lints
    st, h, body, _ = d.get("/metrics")
    check(st == 200 and h.get("content-type", "").startswith("text/plain; version=0.0.4"),
          "/metrics without Accept: Prometheus' text format (%s)" % h.get("content-type"))
    if shutil.which("promtool"):
        p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           timeout=60)
        check(p.returncode == 0, "promtool check metrics: %s %s" % (p.stdout[-800:], p.stderr[-800:]))
    else:
        check(False, "promtool missing (apt-get install prometheus)")

    # ---- hostile input keeps the daemon alive ----
    # (headers beyond the 1 MiB per-connection pool, docs/limits.md)
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.sock)
    s.settimeout(10)
    try:
        s.sendall(b"GET /rrd_updates?start=-10 HTTP/1.1\r\nX-Big: " + b"a" * (2 << 20) + b"\r\n\r\n")
        resp = s.recv(100)
    except OSError:
        resp = b""
    s.close()
    check(not resp.startswith(b"HTTP/1.1 200"), "oversized header refused: %r" % resp[:40])
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.sock)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (2 << 20))
    s.settimeout(10)
    resp = s.recv(100)
    s.close()
    check(resp.startswith(b"HTTP/1.1 413"), "RPC body over 1 MiB: 413 before reading it (%r)" % resp[:40])
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.sock)
    s.sendall(b"\x00\xff garbage\r\n\r\n")
    s.close()
    check(d.alive() and d.get("/host_rrd")[0] == 200, "daemon alive after hostile input")
finally:
    status = d.stop()
check(status == 0, "rrdd exits 0 on SIGTERM (%s)" % status)
log = d.log()
import re
check(re.search(r"\(0 late, 0 skipped\)", log), "no late tick: %s" % log[-300:])
T.finish()
