"""RPC and PUT /rrd mutations survive kill -9.

rrdd on the simulated host (real clock, its own state dir and socket) is
changed through its API: add_host_ds of two DSs not recorded by default
and forget_host_ds of the second, add_vm_ds of a DS not recorded by
default on a running VM, PUT /rrd of a fixture RRD for a VM this host does
not run and forget_vm_ds of one of its DSs, push_sr_rrd of an SR archive.
It is killed with SIGKILL right after the last reply (no checkpoint, no
archive written since), restarted on the same state dir, and every change
must be there, read back through the API: the enabled flags of
query_possible_host_dss / query_possible_vm_dss, /vm_rrd and /sr_rrd (the
same DSs and RRAs as served before the kill, the forgotten DS absent; the
values differ since cycles update every RRD with the real clock).

Control: the same sequence with --no-journal loses the changes (the PUT VM
and the SR are unknown after the restart, the DSs back to their defaults),
so the checks above can fail and it is the journal that passes them.
"""
import os
import re
import signal
import subprocess
import time
import xmlrpc.client

import rrddtest as T
from rrddtest import check
import rrddhttp as H

HOST = "0f0f0f0f-1111-4222-8333-444444444444"
PUT_VM = "7a7a7a7a-0000-4000-8000-00000000c0de"  # not one of the simulated VMs
SR = "e6616eb6-2c5b-5d1f-3a7b-9c0d1e2f3a4b"
FIXRRDS = os.path.join(H.FIX, "rrd_updates", "rrds")


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return H.UnixHTTPConnection(self.path)


class Rrdd:
    """rrdd on a given state dir (kept across restarts), like H.Daemon."""

    def __init__(self, state, extra=()):
        self.dir = state
        self.sock = os.path.join(state, "xcp-rrdd")
        self.logf = os.path.join(state, "log-%d" % time.monotonic_ns())
        args = [T.RRDD, "--source", "sim", "--clock", "real", "--sim-domains", "2",
                "--host-uuid", HOST, "--state-dir", state, "--socket", self.sock,
                "--forwarded-socket", os.path.join(state, "fwd"), "--log-level", "info"]
        env = dict(os.environ, LC_ALL="C", TZ="UTC")
        env.pop("NOTIFY_SOCKET", None)
        self.p = subprocess.Popen(args + list(extra), stdout=open(self.logf, "w"),
                                  stderr=subprocess.STDOUT, env=env)
        for _ in range(200):
            if self.p.poll() is not None:
                break
            if os.path.exists(self.sock):
                try:
                    if self.get("/host_rrd")[0] == 200:
                        break
                except OSError:
                    pass
            time.sleep(0.05)
        else:
            raise RuntimeError("rrdd did not start: " + self.log())
        check(self.p.poll() is None, "rrdd runs: %s" % self.log()[-1500:])
        self.rpc = xmlrpc.client.ServerProxy("http://_var_xapi_xcp-rrdd/",
                                             transport=UnixTransport(self.sock), allow_none=True)

    def log(self):
        with open(self.logf) as f:
            return f.read()

    def request(self, method, path, body=None):
        c = H.UnixHTTPConnection(self.sock)
        c.request(method, path, body=body)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def get(self, path):
        return self.request("GET", path)

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def skeleton(resp):
    """An RRD as served (XML), without what every cycle changes (cycles
    update every RRD, reporting or not): DS definitions and RRA shapes."""
    st, body = resp
    body = re.sub(rb"<database>.*?</database>|<cdp_prep>.*?</cdp_prep>", b"", body, flags=re.S)
    body = re.sub(rb"<(lastupdate|value|unknown_sec|last_ds)>[^<]*</\1>", b"", body)
    return st, re.sub(rb"\s+", b"", body)


def ok(r, what):
    check(isinstance(r, dict) and r.get("Status") == "Success", "%s: %r" % (what, r))
    return r.get("Value") if isinstance(r, dict) else None


def vms_of(d):
    """The simulated VMs (not dom0) once the registry has them."""
    for _ in range(100):
        st, body = d.get("/rrd_updates?start=0&vm_uuid=all")
        uuids = sorted(set(re.findall(rb"AVERAGE:vm:([0-9a-f-]{36}):", body)))
        uuids = [u.decode() for u in uuids if not u.startswith(b"00000000-")]
        if len(uuids) >= 2:
            return uuids
        time.sleep(0.1)
    return []


def enabled(dss):
    return {x["name"]: x["enabled"] for x in dss}


def mutate(d):
    """The changes; returns what the API shows right after them."""
    p = d.rpc
    host = enabled(ok(p.query_possible_host_dss({}, None), "query_possible_host_dss"))
    off = sorted(n for n, e in host.items() if not e)
    check(len(off) >= 2, "two host DSs not recorded by default: %s" % off)
    ok(p.add_host_ds({"ds_name": off[0]}), "add_host_ds %s" % off[0])
    ok(p.add_host_ds({"ds_name": off[1]}), "add_host_ds %s" % off[1])
    ok(p.forget_host_ds({"ds_name": off[1]}), "forget_host_ds %s" % off[1])
    vm = vms_of(d)[0]
    vds = enabled(ok(p.query_possible_vm_dss({"vm_uuid": vm}), "query_possible_vm_dss"))
    voff = sorted(n for n, e in vds.items() if not e)
    check(voff, "a VM DS not recorded by default: %s" % sorted(vds))
    vds_name = ([n for n in voff if n.startswith("runstate")] or voff)[0]
    ok(p.add_vm_ds({"vm_uuid": vm, "domid": 1, "ds_name": vds_name}), "add_vm_ds " + vds_name)
    with open(os.path.join(FIXRRDS, "vm1.internal.xml"), "rb") as f:
        body = f.read()
    st, data = d.request("PUT", "/rrd?uuid=%s&is_host=false" % PUT_VM, body)
    check(st == 200, "PUT /rrd for an unknown VM: %d %r" % (st, data[:200]))
    names = re.findall(rb"<ds>\s*<name>\s*([^<\s]+)\s*</name>", body)
    check(len(names) >= 2, "fixture RRD has DSs: %r" % names)
    gone_ds = names[-1].decode()
    ok(p.forget_vm_ds({"vm_uuid": PUT_VM, "ds_name": gone_ds}), "forget_vm_ds " + gone_ds)
    ok(p.push_sr_rrd({"sr_uuid": SR, "path": os.path.join(FIXRRDS, "sr.internal.xml")}),
       "push_sr_rrd")
    seen = {"off": off, "vm": vm, "vds": vds_name, "gone_ds": gone_ds,
            "vm_rrd": d.get("/vm_rrd?uuid=" + PUT_VM), "sr_rrd": d.get("/sr_rrd?uuid=" + SR)}
    return seen


def state_after(d, seen):
    p = d.rpc
    host = enabled(ok(p.query_possible_host_dss({}, None), "query_possible_host_dss"))
    vds = enabled(ok(p.query_possible_vm_dss({"vm_uuid": seen["vm"]}), "query_possible_vm_dss"))
    return {"add_host": host.get(seen["off"][0]), "forgot_host": host.get(seen["off"][1]),
            "add_vm": vds.get(seen["vds"]), "vm_rrd": d.get("/vm_rrd?uuid=" + PUT_VM),
            "sr_rrd": d.get("/sr_rrd?uuid=" + SR)}


# ---- with the journal ----
state = T.tmpdir("rrdd-crash-rpc-")
d = Rrdd(state)
try:
    seen = mutate(d)
    d.kill9()  # right after the last reply
finally:
    d.stop()
check(seen["vm_rrd"][0] == 200 and seen["sr_rrd"][0] == 200, "PUT VM and SR served before the kill")
check(not os.path.exists(os.path.join(state, "rrds", PUT_VM + ".gz")) and
      not os.path.exists(os.path.join(state, "rrds", SR + ".gz")),
      "no archive of the PUT VM or the SR was written before the kill")
d = Rrdd(state)
try:
    log = d.log()
    check(re.search(r"recovered .*journal records", log), "restart recovered the journal: %s"
          % log[-1500:])
    check("moved aside" not in log, "nothing moved aside")
    got = state_after(d, seen)
    check(got["add_host"] is True, "add_host_ds %s survived: %r" % (seen["off"][0], got["add_host"]))
    check(got["forgot_host"] is False, "forget_host_ds %s survived: %r"
          % (seen["off"][1], got["forgot_host"]))
    check(got["add_vm"] is True, "add_vm_ds %s survived: %r" % (seen["vds"], got["add_vm"]))
    check(got["vm_rrd"][0] == 200, "PUT /rrd VM there after the restart: %d" % got["vm_rrd"][0])
    check(skeleton(got["vm_rrd"]) == skeleton(seen["vm_rrd"]),
          "PUT /rrd VM: the same DSs and RRAs as before the kill")
    check(("<name>%s</name>" % seen["gone_ds"]).encode() not in got["vm_rrd"][1] and
          b"<name>" in got["vm_rrd"][1], "forget_vm_ds %s survived" % seen["gone_ds"])
    check(got["sr_rrd"][0] == 200, "push_sr_rrd SR there after the restart: %d" % got["sr_rrd"][0])
    check(skeleton(got["sr_rrd"]) == skeleton(seen["sr_rrd"]),
          "push_sr_rrd SR: the same DSs and RRAs as before the kill")
    check(d.p.poll() is None, "restarted daemon runs")
finally:
    d.stop()

# ---- control: without the journal the same kill loses them ----
state = T.tmpdir("rrdd-crash-rpc-nojournal-")
d = Rrdd(state, ["--no-journal"])
try:
    seen = mutate(d)
    d.kill9()
finally:
    d.stop()
d = Rrdd(state, ["--no-journal"])
try:
    got = state_after(d, seen)
    check(got["add_host"] is False and got["forgot_host"] is False and got["add_vm"] is False,
          "control: without the journal the DS changes are lost: %r"
          % [got["add_host"], got["forgot_host"], got["add_vm"]])
    check(got["vm_rrd"][0] == 404 and got["sr_rrd"][0] == 404,
          "control: without the journal the PUT VM and the SR are lost (%d, %d)"
          % (got["vm_rrd"][0], got["sr_rrd"][0]))
finally:
    d.stop()
T.finish()
