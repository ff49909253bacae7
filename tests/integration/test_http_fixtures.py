"""The HTTP endpoints against the reference outputs in tests/fixtures.

rrdd runs with no built-in source and a paced clock far in the past, so the
RRDs we install stay exactly as loaded.  The fixture RRD states go in the way
other hosts send them (PUT /rrd for the host and the VMs, push_sr_rrd over
XML-RPC for the SR); then every rrd_updates case of queries.json is fetched
with its http_query_equivalent, as JSON (curl's Accept: */*) and as XML
(Accept: text/xml), over the Unix socket and over TCP, and must be
byte-identical to the reference export.  The cases the reference answers
with No_RRA_Available get xcp-rrdd's 500 with a one-line reason.  Full RRD
downloads of a PUT state equal the reference loader's output, and each
archive variant is PUT and read back (or refused with 400).
"""
import json
import os
import re
import xml.etree.ElementTree as ET
import xmlrpc.client

import rrddtest as T
from rrddtest import check
import rrddhttp as H

RU = os.path.join(H.FIX, "rrd_updates")
AR = os.path.join(H.FIX, "archive")
Q = json.load(open(os.path.join(RU, "queries.json")))
HOST = Q["rrds"]["host"]["uuid"]

d = H.Daemon(["--source", "none", "--clock", "paced", "--sim-epoch", "1600000000",
              "--host-uuid", HOST, "--listen", "127.0.0.1:0"] + T.rpc_path_args())


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return H.UnixHTTPConnection(self.path)


def strict_names_refuse(path):
    """Whether PUT /rrd refuses this document by docs/differences.md H1: a DS
    name repeated, or holding ':' or a control character."""
    try:
        names = [e.text or "" for e in ET.parse(path).getroot().findall("ds/name")]
    except ET.ParseError:
        return False
    names = [" ".join(n.split()) for n in names]
    return len(set(names)) != len(names) or any(
        ":" in n or any(ord(ch) < 32 or ord(ch) == 127 for ch in n) for n in names)


def put_rrd(uuid, path, is_host, extra=""):
    body = open(path, "rb").read()
    return d.request("PUT", "/rrd?uuid=%s&is_host=%s%s" % (uuid, "true" if is_host else "false",
                                                           extra), body=body)


try:
    for rid, info in Q["rrds"].items():
        state = os.path.join(RU, info["state"])
        if info["kind"] == "sr":
            proxy = xmlrpc.client.ServerProxy("http://localhost/", transport=UnixTransport(d.sock),
                                              allow_none=True)
            r = proxy.push_sr_rrd({"sr_uuid": info["uuid"], "path": state})
            check(r.get("Status") == "Success", "push_sr_rrd %s: %r" % (rid, r))
        else:
            st, _, body, _ = put_rrd(info["uuid"], state, info["kind"] == "host")
            check(st == 200, "PUT /rrd %s: %d %r" % (rid, st, body[:200]))

    ncmp = 0
    for cid, case in sorted(Q["cases"].items()):
        q = "/rrd_updates?" + case["http_query_equivalent"]
        order = case["rrd_order"]
        # rrdd lists the host first; the reference order of u18 puts a VM first
        if order and order[0] != "host" and "host" in order:
            continue
        for tcp in (False, True):
            stj, hj, bj, verj = d.get(q, accept="*/*", tcp=tcp)
            stx, hx, bx, verx = d.get(q, accept="text/xml", tcp=tcp)
            where = "%s (%s)" % (cid, "tcp" if tcp else "unix")
            if case["expected_error"]:
                check(stj == 500 and stx == 500,
                      "%s: No_RRA_Available is 500, got %d/%d" % (where, stj, stx))
                check(bj.count(b"\n") == 1 and len(bj) > 10,
                      "%s: one-line reason: %r" % (where, bj))
                continue
            want_j = open(os.path.join(RU, case["outputs"]["json"]), "rb").read()
            want_x = open(os.path.join(RU, case["outputs"]["xml"]), "rb").read()
            check(stj == 200 and bj == want_j, "%s: JSON byte-identical (%d, %d vs %d bytes)"
                  % (where, stj, len(bj), len(want_j)))
            check(stx == 200 and bx == want_x, "%s: XML byte-identical (%d, %d vs %d bytes)"
                  % (where, stx, len(bx), len(want_x)))
            check(hj.get("content-type") == "application/json", "%s: JSON content type %r"
                  % (where, hj.get("content-type")))
            check(hx.get("content-type") == "text/xml", "%s: XML content type" % where)
            check(hj.get("access-control-allow-origin") == "*" and
                  hj.get("access-control-allow-headers") == "X-Requested-With",
                  "%s: CORS headers %r" % (where, hj))
            check(hj.get("content-length") == str(len(bj)), "%s: Content-Length" % where)
            H.strict_json(bj)
            ET.fromstring(bx)
            ncmp += 2
    check(ncmp >= 80, "compared %d documents" % ncmp)

    # full RRD downloads of a PUT state: what the reference loader makes of it
    vm1 = Q["rrds"]["vm1"]["uuid"]
    st, h, body, ver = d.get("/vm_rrd?uuid=" + vm1)  # no Accept: XML
    loaded = open(os.path.join(AR, vm1 + ".loaded.internal.xml"), "rb").read()
    public = re.sub(rb"<last_updated>[^<]*</last_updated>", b"", loaded)
    check(st == 200 and body == public, "/vm_rrd XML = reference public form (%d bytes vs %d)"
          % (len(body), len(public)))
    check(ver == 10 and h.get("connection") == "close" and "content-length" not in h,
          "/vm_rrd: HTTP/1.0, Connection: close, no length: %r %r" % (ver, h))
    st, h, body, _ = d.get("/vm_rrd?uuid=" + vm1, accept="*/*")
    want = open(os.path.join(AR, vm1 + ".loaded.json"), "rb").read()
    check(st == 200 and body == want, "/vm_rrd JSON = reference (%d vs %d bytes)"
          % (len(body), len(want)))
    H.strict_json(body)
    st, _, body, _ = d.get("/vm_rrds?uuid=" + vm1 + "&json=true", accept="application/xml")
    check(st == 200 and body == want, "/vm_rrds prefix route, json key fallback")
    st, _, body, _ = d.get("/host_rrd", accept="text/xml")
    check(st == 200 and ET.fromstring(body).find("lastupdate").text == "1700014835",
          "/host_rrd XML of the PUT host")

    # archive variants: PUT each, read the JSON back
    idx = json.load(open(os.path.join(AR, "index.json")))
    nvar = 0
    for f in sorted(os.listdir(AR)):
        m = re.match(r"(v\d\d_[a-z0-9_]+)\.xml$", f)
        if not m:
            continue
        base = m.group(1)
        uuid = "aaaaaaaa-0000-4000-8000-%012d" % int(base[1:3])
        st, _, body, _ = put_rrd(uuid, os.path.join(AR, f), False)
        want = None
        for cand in (base + ".intended.loaded.json", base + ".loaded.json"):
            if os.path.exists(os.path.join(AR, cand)):
                want = open(os.path.join(AR, cand), "rb").read()
                break
        if want is None:
            check(st == 400 and body.count(b"\n") == 1, "%s: refused with 400 and a reason: %d %r"
                  % (base, st, body))
            check(not d.get("/vm_rrd?uuid=" + uuid)[0] == 200, "%s: nothing installed" % base)
        elif strict_names_refuse(os.path.join(AR, f)):
            # docs/differences.md H1: PUT refuses such names; a file (push_sr_rrd)
            # still loads as the reference loads it
            check(st == 400 and body.count(b"\n") == 1, "%s: PUT refused with 400 and a "
                  "reason (differences H1): %d %r" % (base, st, body))
            sr = "cccccccc-0000-4000-8000-%012d" % int(base[1:3])
            H.rpc_proxy(d.sock).push_sr_rrd({"sr_uuid": sr, "path": os.path.join(AR, f)})
            st, _, got, _ = d.get("/sr_rrd?uuid=" + sr, accept="application/json")
            check(got == want, "%s: loaded from a file, equals the reference (%d vs %d bytes)"
                  % (base, len(got), len(want)))
        else:
            check(st == 200, "%s: PUT accepted (%d %r)" % (base, st, body[:200]))
            st, _, got, _ = d.get("/vm_rrd?uuid=" + uuid, accept="application/json")
            check(got == want, "%s: loaded RRD equals the reference (%d vs %d bytes)"
                  % (base, len(got), len(want)))
        nvar += 1
    check(nvar >= 11, "archive variants tried: %d" % nvar)

    # archive=true writes <uuid>.gz; rrd_unarchive serves it
    st, _, _, _ = put_rrd(vm1, os.path.join(RU, "rrds", "vm1.internal.xml"), False,
                          "&archive=true&domid=3")
    check(st == 200, "PUT archive=true")
    check(os.path.exists(os.path.join(d.dir, "rrds", vm1 + ".gz")), "archive written")
    st, _, body, _ = d.request("POST", "/rrd_unarchive?uuid=" + vm1, headers={"Accept": "*/*"})
    want = open(os.path.join(AR, vm1 + ".loaded.json"), "rb").read()
    check(st == 200 and body == want, "POST /rrd_unarchive = reference loaded JSON")
    st, _, body, _ = d.get("/rrd_unarchive?uuid=bbbbbbbb-0000-4000-8000-000000000000")
    check(st == 404, "rrd_unarchive without an archive: 404 (%d)" % st)
finally:
    status = d.stop()
check(status == 0, "rrdd exits 0 on SIGTERM (%s)" % status)
T.finish()
