"""Pool transfers as xcp-rrdd makes them (issue 14): HTTPS to the other
host's xapi with the pool secret, end to end on loopback.

A stand-in for xapi (xapi_standin.py: TLS on a port it picks, checks the
pool_secret cookie or a session, refuses others with 401, hands accepted
requests to the receiving rrdd's forwarded socket with SCM_RIGHTS and the
request JSON, as xapi does) fronts rrdd B.  rrdd A sends to it with
--pool-https-port, --pool-secret-file and --pool-tls-verify yes against a
bundle holding the stand-in's certificate:

- migrate_rrd of a VM moves its RRD byte for byte (B serves what A served),
  push_rrd_remote and send_host_rrd_to_master land (B archives the host),
  a cross-pool migrate_rrd with a session_id sends no cookie;
- Deprecated.load_rrd on rrdd C (no local archive; verification off, the
  default without xapi's flag) pulls the host RRD B archived, through the
  stand-in's /host_rrd?dbsync -> /rrd_unarchive;
- a wrong secret: 401 on the stand-in, an RPC error naming it on A, the VM
  kept on A and not on B; a missing ptoken file: a clear error;
- a bundle without the stand-in's certificate: push refused before any
  request is sent, while migrate_rrd (never verified, as xcp-rrdd) goes;
- a peer that accepts and never answers, and one that answers garbage: an
  error within --pool-timeout, and meanwhile A answers HTTP reads and
  skips no tick.
"""
import os
import re
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
import xmlrpc.client

import rrddtest as T
from rrddtest import check
import rrddhttp as H
from xapi_standin import GOOD_SESSION, XapiStandin

HOST_A = "0a0a0a0a-1111-4222-8333-444444444444"
HOST_B = "0b0b0b0b-1111-4222-8333-444444444444"
VM_X = "7c7c7c7c-0000-4000-8000-000000000001"   # migrated within the pool
VM_Y = "7c7c7c7c-0000-4000-8000-000000000002"   # wrong secret, then cross-pool
VM_Z = "7c7c7c7c-0000-4000-8000-000000000003"   # bundle tests
SECRET = "0c9d6f3e-pool-secret-5a1b"
FIXRRDS = os.path.join(H.FIX, "rrd_updates", "rrds")


def proxy(d):
    return xmlrpc.client.ServerProxy("http://_var_xapi_xcp-rrdd/",
                                     transport=H.UnixTransport(d.sock), allow_none=True)


def status(r):
    return r.get("Status") if isinstance(r, dict) else None


def error_text(r):
    return " ".join(str(x) for x in r.get("ErrorDescription", [])) if isinstance(r, dict) else ""


def make_cert(dirname, cn):
    key, cert = os.path.join(dirname, cn + ".key"), os.path.join(dirname, cn + ".pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=" + cn], capture_output=True, text=True)
    check(p.returncode == 0, "openssl req: %s" % p.stderr[-300:])
    return cert, key


def put(d, uuid, fixture):
    body = open(os.path.join(FIXRRDS, fixture), "rb").read()
    st, _, data, _ = d.request("PUT", "/rrd?uuid=%s&is_host=false" % uuid, body=body)
    check(st == 200, "PUT %s on A: %d %r" % (uuid, st, data[:200]))


def wait_host_rrd(d):
    for _ in range(300):
        if d.get("/host_rrd")[0] == 200:
            return True
        time.sleep(0.1)
    return False


tmp = T.tmpdir("rrdd-pool-")
cert, key = make_cert(tmp, "pool")
other, _ = make_cert(tmp, "intruder")
bundle = os.path.join(tmp, "xapi-pool-ca-bundle.pem")
ptoken = os.path.join(tmp, "ptoken")
with open(ptoken, "w") as f:
    f.write(SECRET + "\n")


def set_bundle(*pems):
    with open(bundle, "w") as f:
        for p in pems:
            f.write(open(p).read())


set_bundle(other, cert)  # the pool's bundle: every member's certificate
b = H.Daemon(["--source", "none", "--clock", "real", "--host-uuid", HOST_B], name="rrdd-pool-b-")
xapi = XapiStandin(b.fwd, SECRET, cert, key, HOST_B,
                   {VM_X: 7, VM_Y: 8, VM_Z: 9, HOST_A: 0}, master=True)
# the stand-in knows HOST_A as a host too: send_host_rrd_to_master archives it
xapi.host_uuid = None
pool_args = ["--pool-https-port", str(xapi.port), "--pool-secret-file", ptoken,
             "--pool-timeout", "5s"]
a = H.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "2", "--host-uuid", HOST_A,
              "--pool-tls-verify", "yes", "--pool-ca-bundle", bundle] + pool_args,
             name="rrdd-pool-a-")
c = None
try:
    check(wait_host_rrd(a), "A has its host RRD")
    pa, pb = proxy(a), proxy(b)

    # ---- within the pool: migrate_rrd, push_rrd_remote, send_host_rrd_to_master ----
    put(a, VM_X, "vm1.internal.xml")
    st, _, before, _ = a.get("/vm_rrd?uuid=" + VM_X)
    check(st == 200, "A serves VM_X")
    r = pa.migrate_rrd({"remote_address": "127.0.0.1", "vm_uuid": VM_X, "host_uuid": HOST_B})
    check(status(r) == "Success", "migrate_rrd over HTTPS: %r" % r)
    st, _, after, _ = b.get("/vm_rrd?uuid=" + VM_X)
    check(st == 200 and after == before,
          "B serves VM_X byte for byte as A did (%d, %d vs %d bytes)" % (st, len(after), len(before)))
    check(a.get("/vm_rrd?uuid=" + VM_X)[0] == 404, "VM_X gone from A")
    puts = [q for q in xapi.requests if q[0] == "PUT" and q[4] == "handed over"]
    check(puts and dict(puts[-1][2]).get("uuid") == VM_X and "session_id" not in dict(puts[-1][2])
          and puts[-1][3].get("pool_secret") == SECRET,
          "the PUT carried uuid and the pool_secret cookie: %r" % (puts[-1:],))
    check(xapi.bodies and ET.fromstring(xapi.bodies[-1]).tag == "rrd",
          "the body proxied is an RRD document")

    n_sni = len(xapi.sni)
    r = pa.send_host_rrd_to_master({"master_address": "127.0.0.1"})
    check(status(r) == "Success", "send_host_rrd_to_master: %r" % r)
    check(os.path.exists(os.path.join(b.dir, "rrds", HOST_A + ".gz")),
          "the master (B) archived A's host RRD")
    check(xapi.sni[n_sni:] == ["pool"], "a pool member is asked for its pool certificate "
          "(SNI 'pool'): %r" % xapi.sni[n_sni:])

    # ---- Deprecated.load_rrd on C: no local archive, pulled from the master ----
    c = H.Daemon(["--source", "none", "--clock", "real", "--host-uuid", HOST_A] + pool_args,
                 name="rrdd-pool-c-")
    pc = proxy(c)
    check(c.get("/host_rrd")[0] == 500, "C has no host RRD yet")
    r = getattr(pc, "Deprecated.load_rrd")({"uuid": HOST_A, "timescale": 0,
                                             "master_address": "127.0.0.1"})
    check(status(r) == "Success", "Deprecated.load_rrd: %r" % r)
    st, _, host_c, _ = c.get("/host_rrd")
    names_c = set(re.findall(rb"<name>\s*([^<\s]+)\s*</name>", host_c))
    st_a, _, host_a, _ = a.get("/host_rrd")
    names_a = set(re.findall(rb"<name>\s*([^<\s]+)\s*</name>", host_a))
    check(st == 200 and names_c and names_c == names_a,
          "C's host RRD is A's, pulled from the master (%d; %d vs %d DSs)"
          % (st, len(names_c), len(names_a)))
    check(any(q[1] == "/rrd_unarchive" and q[4] == "handed over" for q in xapi.requests),
          "the pull went /host_rrd?dbsync -> /rrd_unarchive")
    check("pulled from the master" in c.log(), "C logged the pull")

    # ---- a wrong secret, a missing one ----
    put(a, VM_Y, "vm2.internal.xml")
    with open(ptoken, "w") as f:
        f.write("not-the-secret")
    r = pa.migrate_rrd({"remote_address": "127.0.0.1", "vm_uuid": VM_Y, "host_uuid": HOST_B})
    check(status(r) == "Failure" and "401" in error_text(r),
          "a wrong secret: the RPC fails with the 401: %r" % r)
    check(xapi.requests[-1][4] == 401, "the stand-in refused it with 401")
    check(a.get("/vm_rrd?uuid=" + VM_Y)[0] == 200, "A keeps VM_Y after the refusal")
    check(b.get("/vm_rrd?uuid=" + VM_Y)[0] == 404, "B has no VM_Y")
    check(re.search(r"migrate_rrd: .*refused: 401", a.log() + error_text(r)),
          "the refusal is reported: %s" % error_text(r))
    os.unlink(ptoken)
    r2 = pa.send_host_rrd_to_master({"master_address": "127.0.0.1"})
    check(status(r2) == "Failure" and "pool secret" in error_text(r2)
          and "No such file" in error_text(r2), "no ptoken file: a clear error: %r" % r2)
    with open(ptoken, "w") as f:
        f.write(SECRET)

    # cross-pool: a session instead of the secret, no cookie sent
    r = pa.migrate_rrd({"session_id": GOOD_SESSION, "remote_address": "127.0.0.1",
                        "vm_uuid": VM_Y, "host_uuid": HOST_B})
    check(status(r) == "Success", "cross-pool migrate_rrd with a session: %r" % r)
    last = [q for q in xapi.requests if q[0] == "PUT"][-1]
    check(dict(last[2]).get("session_id") == GOOD_SESSION and "pool_secret" not in last[3],
          "the session is sent, the secret is not: %r" % (last,))
    check(b.get("/vm_rrd?uuid=" + VM_Y)[0] == 200, "B has VM_Y")
    put(a, VM_Y, "vm2.internal.xml")
    r = pa.migrate_rrd({"session_id": "OpaqueRef:bad", "remote_address": "127.0.0.1",
                        "vm_uuid": VM_Y, "host_uuid": HOST_B})
    check(status(r) == "Failure" and "401" in error_text(r), "a bad session: 401: %r" % r)

    # ---- the peer's certificate ----
    put(a, VM_Z, "vm3.internal.xml")
    set_bundle(other)  # the stand-in's certificate is not in the pool's bundle
    n_req = len(xapi.requests)
    r = pa.archive_rrd({"vm_uuid": VM_Z, "remote_address": "127.0.0.1"})
    check(status(r) == "Failure" and "certificate" in error_text(r),
          "a certificate not in the bundle is refused: %r" % r)
    check(len(xapi.requests) == n_req, "nothing was sent to it")
    check(a.get("/vm_rrd?uuid=" + VM_Z)[0] == 200 or
          os.path.exists(os.path.join(a.dir, "rrds", VM_Z + ".gz")), "VM_Z not lost on A")
    put(a, VM_Z, "vm3.internal.xml")
    r = pa.migrate_rrd({"remote_address": "127.0.0.1", "vm_uuid": VM_Z, "host_uuid": HOST_B})
    check(status(r) == "Success", "migrate_rrd is not verified (as xcp-rrdd): %r" % r)
    set_bundle(other, cert)

    # ---- a peer that hangs, one that answers garbage ----
    put(a, VM_Z, "vm3.internal.xml")
    ticks0 = len(re.findall(r"skipped", a.log()))
    for mode, want in (("hang", "no answer in time"), ("garbage", "other than HTTP")):
        xapi.mode = mode
        res = {}
        t = threading.Thread(target=lambda: res.setdefault("r", proxy(a).migrate_rrd(
            {"remote_address": "127.0.0.1", "vm_uuid": VM_Z, "host_uuid": HOST_B})))
        t0 = time.monotonic()
        t.start()
        reads = []
        while t.is_alive() and time.monotonic() - t0 < 60:
            s0 = time.monotonic()
            reads.append((a.get("/rrd_updates?start=-60&host=true")[0], time.monotonic() - s0))
            time.sleep(0.5)
        t.join(60)
        r = res.get("r")
        check(status(r) == "Failure" and want in error_text(r),
              "%s peer: the RPC fails with '%s': %r" % (mode, want, r))
        check(all(st == 200 for st, _ in reads), "%s peer: A answers reads meanwhile: %r"
              % (mode, reads))
        check(a.get("/vm_rrd?uuid=" + VM_Z)[0] == 200, "%s peer: A keeps VM_Z" % mode)
        print("%s peer: the RPC failed after %.1f s (--pool-timeout 5s); %d reads of A "
              "meanwhile, slowest %.2f s" % (mode, time.monotonic() - t0, len(reads),
                                            max([x for _, x in reads] or [0])))
    xapi.mode = "xapi"
    check(len(re.findall(r"skipped", a.log())) == ticks0, "A skipped no tick")
    check(a.alive() and b.alive() and c.alive(), "every daemon still runs")
finally:
    xapi.close()
    for d in (a, b, c):
        if d:
            d.stop()
T.finish()
