"""Every mutating RPC method, and PUT /rrd, survives kill -9.

The methods come from the daemon's own table (`rrdd-tool rpc-methods`):
every method that changes RRDs ("rrds") or archives ("archives") must have
a case below, so a new mutating method without durability fails this test
(a method marked "read" or "session" is checked by test_rpc_service.c not
to change either).  rrdd on the simulated host (real clock, its own state
dir, socket and plugin directory) is changed through its API, one case per
method, and killed with SIGKILL right after the last reply (no checkpoint,
no archive pass since).  For "archives" methods the files are checked right
after the kill; the daemon is then restarted on the same state dir and
every "rrds" change must be there, read back through the API.

Control: the same sequence with --no-journal loses the RRD changes (each
"rrds" check fails there), so the checks can fail and it is the journal
that passes them.
"""
import http.server
import os
import re
import signal
import socketserver
import subprocess
import threading
import time
import xmlrpc.client

import rrddtest as T
from rrddtest import check
import rrddhttp as H
from pages import page_v2, write_atomic

HOST = "0f0f0f0f-1111-4222-8333-444444444444"
FIXRRDS = os.path.join(H.FIX, "rrd_updates", "rrds")
SR_LIVE = "e6616eb6-2c5b-5d1f-3a7b-9c0d1e2f3a4b"  # reported by a plugin page
SR_PUSH = "5e5e5e5e-0000-4000-8000-000000000001"  # push_sr_rrd, forget_sr_ds
SR_GONE = "5e5e5e5e-0000-4000-8000-000000000002"  # archive_sr_rrd
SR_MINMAX = "5e5e5e5e-0000-4000-8000-000000000003"  # made after update_use_min_max
VM_PUT = "7a7a7a7a-0000-4000-8000-00000000c0de"   # PUT /rrd, forget_vm_ds
VM_PUSH = "7a7a7a7a-0000-4000-8000-000000000002"  # push_rrd_local
VM_ARCH = "7a7a7a7a-0000-4000-8000-000000000003"  # archive_rrd
VM_MIG = "7a7a7a7a-0000-4000-8000-000000000004"   # migrate_rrd
VM_RM = "7a7a7a7a-0000-4000-8000-000000000005"    # remove_rrd


class Rrdd:
    """rrdd on a given state dir (kept across restarts), like H.Daemon."""

    def __init__(self, state, extra=()):
        self.dir = state
        self.sock = os.path.join(state, "xcp-rrdd")
        self.plugins = os.path.join(state, "plugins")
        self.archives = os.path.join(state, "rrds")
        self.logf = os.path.join(state, "log-%d" % time.monotonic_ns())
        args = [T.RRDD, "--source", "sim", "--clock", "real", "--sim-domains", "2",
                "--host-uuid", HOST, "--state-dir", state, "--socket", self.sock,
                "--forwarded-socket", os.path.join(state, "fwd"), "--plugin-dir", self.plugins,
                "--log-level", "info"] + T.rpc_path_args()
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
                                             transport=H.UnixTransport(self.sock), allow_none=True)

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

    def call(self, method, *params):
        r = getattr(self.rpc, method)(*params)
        check(isinstance(r, dict) and r.get("Status") == "Success", "%s: %r" % (method, r))
        return r.get("Value") if isinstance(r, dict) else None

    def put(self, uuid, fixture, is_host=False, archive=False, edit=None):
        with open(os.path.join(FIXRRDS, fixture), "rb") as f:
            body = f.read()
        if edit:
            body = edit(body)
        q = "/rrd?uuid=%s&is_host=%s%s" % (uuid, "true" if is_host else "false",
                                           "&archive=true" if archive else "")
        st, data = self.request("PUT", q, body)
        check(st == 200, "PUT %s: %d %r" % (q, st, data[:200]))

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


class Receiver(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Another host's /rrd for migrate_rrd: takes the PUT, answers 200."""
    daemon_threads = True
    got = []


class PutHandler(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        Receiver.got.append((self.path, self.rfile.read(n)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def skeleton(resp):
    """An RRD as served (XML), without what every cycle changes: DS
    definitions and RRA shapes."""
    st, body = resp
    body = re.sub(rb"<database>.*?</database>|<cdp_prep>.*?</cdp_prep>", b"", body, flags=re.S)
    body = re.sub(rb"<(lastupdate|value|unknown_sec|last_ds)>[^<]*</\1>", b"", body)
    return st, re.sub(rb"\s+", b"", body)


def ds_names(resp):
    return set(re.findall(rb"<ds>\s*<name>\s*([^<\s]+)\s*</name>", resp[1]))


def enabled(dss):
    return {x["name"]: x["enabled"] for x in dss}


def wait_for(what, fn, seconds=20):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    check(False, "timed out waiting for " + what)
    return None


def sim_vm(d):
    """A simulated VM (not dom0) once the registry has it."""
    def find():
        st, body = d.get("/rrd_updates?start=0&vm_uuid=all")
        u = sorted(set(re.findall(rb"AVERAGE:vm:([0-9a-f-]{36}):", body)))
        u = [x.decode() for x in u if not x.startswith(b"00000000-")]
        return u[0] if u else None
    return wait_for("a simulated VM", find)


def off_dss(d, method, *params):
    """Live DSs not recorded (not those an archive has without a producer)."""
    dss = d.call(method, *params)
    return sorted(x["name"] for x in dss
                  if not x["enabled"] and x["description"] != "description not available")


def archive(d, uuid):
    return os.path.join(d.archives, uuid + ".gz")


# ---- the cases: (methods covered, act before the kill, check after it) ----
# act(d, seen) changes the daemon and notes what to look for; after_kill(d,
# seen) checks files with the daemon dead; after(d, seen) runs on the
# restarted daemon and returns (condition, message, control) triples.  With
# control true the --no-journal run must fail the condition.  Without: the
# change undoes another one that is journaled (a release after a PUT, a
# forget after an add), so had it not been journaled the condition would
# fail (the undone change's own check shows it is replayed).

def act_host_ds(d, s):
    # after load_rrd the host's DSs are live again once the next cycle reports them
    off = wait_for("two live host DSs not recorded", lambda: (
        lambda o: o if len(o) >= 2 else None)(off_dss(d, "query_possible_host_dss", {}, None)))
    check(len(off) >= 2, "two host DSs not recorded by default: %s" % off)
    s["host_on"], s["host_off"] = off[0], off[1]
    d.call("add_host_ds", {"ds_name": off[0]})
    d.call("add_host_ds", {"ds_name": off[1]})
    d.call("forget_host_ds", {"ds_name": off[1]})


def after_host_ds(d, s):
    e = enabled(d.call("query_possible_host_dss", {}, None))
    return [(e.get(s["host_on"]) is True, "add_host_ds %s" % s["host_on"], True),
            (e.get(s["host_off"]) is False and s["host_off"] in e,
             "forget_host_ds %s after add_host_ds" % s["host_off"], False)]


def act_vm_ds(d, s):
    vm = sim_vm(d)
    off = off_dss(d, "query_possible_vm_dss", {"vm_uuid": vm})
    check(off, "a VM DS not recorded by default")
    s["vm"], s["vm_on"] = vm, ([n for n in off if n.startswith("runstate")] or off)[0]
    d.call("add_vm_ds", {"vm_uuid": vm, "domid": 1, "ds_name": s["vm_on"]})
    d.put(VM_PUT, "vm1.internal.xml")
    names = ds_names(d.get("/vm_rrd?uuid=" + VM_PUT))
    s["vm_gone_ds"] = sorted(names)[-1].decode()
    d.call("forget_vm_ds", {"vm_uuid": VM_PUT, "ds_name": s["vm_gone_ds"]})
    s["vm_put"] = d.get("/vm_rrd?uuid=" + VM_PUT)


def after_vm_ds(d, s):
    e = enabled(d.call("query_possible_vm_dss", {"vm_uuid": s["vm"]}))
    got = d.get("/vm_rrd?uuid=" + VM_PUT)
    return [(e.get(s["vm_on"]) is True, "add_vm_ds %s" % s["vm_on"], True),
            (got[0] == 200 and skeleton(got) == skeleton(s["vm_put"]),
             "PUT /rrd VM: the same DSs and RRAs as before the kill", True),
            (got[0] == 200 and s["vm_gone_ds"].encode() not in ds_names(got),
             "forget_vm_ds %s" % s["vm_gone_ds"], True)]


def act_sr_ds(d, s):
    dss = [("sr_a", "sr " + SR_LIVE, "float", "gauge", True, 1.5),
           ("sr_b", "sr " + SR_LIVE, "float", "gauge", False, 2.5)]
    os.makedirs(d.plugins, exist_ok=True)
    write_atomic(os.path.join(d.plugins, "crash-sr"), page_v2(time.time(), dss))
    wait_for("the plugin's SR", lambda: "sr_b" in enabled(
        d.call("query_possible_sr_dss", {"sr_uuid": SR_LIVE})))
    d.call("add_sr_ds", {"sr_uuid": SR_LIVE, "ds_name": "sr_b"})
    d.call("push_sr_rrd", {"sr_uuid": SR_PUSH, "path": os.path.join(FIXRRDS, "sr.internal.xml")})
    got = d.get("/sr_rrd?uuid=" + SR_PUSH)
    s["sr_gone_ds"] = sorted(ds_names(got))[0].decode()
    d.call("forget_sr_ds", {"sr_uuid": SR_PUSH, "ds_name": s["sr_gone_ds"]})
    s["sr_push"] = d.get("/sr_rrd?uuid=" + SR_PUSH)


def after_sr_ds(d, s):
    e = enabled(d.call("query_possible_sr_dss", {"sr_uuid": SR_LIVE}))
    got = d.get("/sr_rrd?uuid=" + SR_PUSH)
    return [(e.get("sr_b") is True, "add_sr_ds sr_b", True),
            (got[0] == 200 and skeleton(got) == skeleton(s["sr_push"]),
             "push_sr_rrd: the same DSs and RRAs as before the kill", True),
            (got[0] == 200 and s["sr_gone_ds"].encode() not in ds_names(got),
             "forget_sr_ds %s" % s["sr_gone_ds"], True)]


def cfs(resp):
    return sorted(set(re.findall(rb"<cf>\s*([A-Z]+)\s*</cf>", resp[1])))


def act_min_max(d, s):
    # last: every RRD made from here on has MIN and MAX archives
    d.call("update_use_min_max", {"value": True})
    write_atomic(os.path.join(d.plugins, "crash-minmax"),
                 page_v2(time.time(), [("mm_a", "sr " + SR_MINMAX, "float", "gauge", True, 3.5)]))
    got = wait_for("the SR made after update_use_min_max", lambda: (
        lambda r: r if r[0] == 200 else None)(d.get("/sr_rrd?uuid=" + SR_MINMAX)))
    s["mm"] = cfs(got) if got else []
    check(s["mm"] == [b"AVERAGE", b"MAX", b"MIN"],
          "update_use_min_max true: an SR RRD made after it has MIN and MAX at once: %r" % s["mm"])


def after_min_max(d, s):
    got = d.get("/sr_rrd?uuid=" + SR_MINMAX)
    return [(got[0] == 200 and cfs(got) == s["mm"],
             "update_use_min_max: the SR RRD made after it keeps its MIN and MAX archives", True)]


def act_push_local(d, s):
    d.put(VM_PUSH, "vm3.internal.xml", archive=True)
    check(os.path.exists(archive(d, VM_PUSH)), "PUT ?archive wrote the archive")
    d.call("push_rrd_local", {"vm_uuid": VM_PUSH, "domid": 7})
    check(d.get("/vm_rrd?uuid=" + VM_PUSH)[0] == 200, "push_rrd_local loaded it")
    os.unlink(archive(d, VM_PUSH))  # now only the journal has it


def after_push_local(d, s):
    return [(d.get("/vm_rrd?uuid=" + VM_PUSH)[0] == 200, "push_rrd_local: the VM's RRD is back", True)]


def act_release(d, s):
    d.put(VM_ARCH, "vm1.internal.xml")
    d.call("archive_rrd", {"vm_uuid": VM_ARCH})
    d.put(VM_MIG, "vm1.internal.xml")
    srv = Receiver(os.path.join(d.dir, "peer"), PutHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        d.call("migrate_rrd", {"remote_address": os.path.join(d.dir, "peer"),
                               "vm_uuid": VM_MIG, "host_uuid": HOST})
    finally:
        srv.shutdown()
        srv.server_close()
    check(any(VM_MIG in p for p, _ in Receiver.got), "migrate_rrd sent the VM: %r"
          % [p for p, _ in Receiver.got])
    d.call("push_sr_rrd", {"sr_uuid": SR_GONE, "path": os.path.join(FIXRRDS, "sr.internal.xml")})
    d.call("archive_sr_rrd", {"sr_uuid": SR_GONE})


def after_kill_release(d, s):
    check(os.path.exists(archive(d, VM_ARCH)), "archive_rrd wrote the archive")
    check(os.path.exists(archive(d, SR_GONE)), "archive_sr_rrd wrote the archive")


def after_release(d, s):
    return [(d.get("/vm_rrd?uuid=" + VM_ARCH)[0] == 404, "archive_rrd: the VM stays released", False),
            (d.get("/vm_rrd?uuid=" + VM_MIG)[0] == 404, "migrate_rrd: the VM stays gone", False),
            (d.get("/sr_rrd?uuid=" + SR_GONE)[0] != 200, "archive_sr_rrd: the SR stays released", False)]


def act_load(d, s):
    # the fixture's host RRD with a DS of its own, which the simulated host has not
    d.put(HOST, "host.internal.xml", is_host=True, archive=True,
          edit=lambda b: b.replace(b"<name>pif_aggr_rx</name>", b"<name>crash_marker</name>"))
    s["host_fix"] = {b"crash_marker"}
    d.call("Deprecated.load_rrd", {"uuid": HOST, "timescale": 0})
    check(s["host_fix"] <= ds_names(d.get("/host_rrd")), "load_rrd installed the archive")
    os.unlink(archive(d, HOST))  # now only the journal has it


def after_load(d, s):
    return [(s["host_fix"] <= ds_names(d.get("/host_rrd")),
             "Deprecated.load_rrd: the loaded host RRD is back", True)]


def act_archives(d, s):
    s["vm"] = sim_vm(d)
    d.call("backup_rrds", {}, None)
    check(os.path.exists(archive(d, s["vm"])), "backup_rrds archived a VM")
    os.unlink(archive(d, s["vm"]))
    d.call("save_rrds", None)
    d.put(VM_RM, "vm1.internal.xml", archive=True)
    d.call("remove_rrd", {"uuid": VM_RM})


def after_kill_archives(d, s):
    check(os.path.exists(archive(d, s["vm"])), "save_rrds archived the VM again")
    check(not os.path.exists(archive(d, VM_RM)), "remove_rrd removed the archive")


CASES = [
    ({"backup_rrds", "save_rrds", "remove_rrd"}, act_archives, after_kill_archives, None),
    ({"Deprecated.load_rrd"}, act_load, None, after_load),  # before the host's DS changes
    ({"add_host_ds", "forget_host_ds"}, act_host_ds, None, after_host_ds),
    ({"add_vm_ds", "forget_vm_ds"}, act_vm_ds, None, after_vm_ds),
    ({"add_sr_ds", "forget_sr_ds", "push_sr_rrd"}, act_sr_ds, None, after_sr_ds),
    ({"push_rrd_local"}, act_push_local, None, after_push_local),
    ({"archive_rrd", "migrate_rrd", "archive_sr_rrd"}, act_release, after_kill_release,
     after_release),
    ({"update_use_min_max"}, act_min_max, None, after_min_max),
]


def table():
    out = subprocess.run([os.path.join(T.BUILD, "rrdd-tool"), "rpc-methods"], check=True,
                         capture_output=True, text=True).stdout
    return dict(line.split() for line in out.splitlines())


def run(extra):
    state = T.tmpdir("rrdd-crash-rpc-")
    d = Rrdd(state, extra)
    seen = {}
    try:
        for _, act, _, _ in CASES:
            act(d, seen)
        d.kill9()  # right after the last reply
    finally:
        d.stop()
    for _, _, after_kill, _ in CASES:
        if after_kill:
            after_kill(d, seen)
    d = Rrdd(state, extra)
    try:
        log = d.log()
        results = []
        for _, _, _, after in CASES:
            if after:
                results += after(d, seen)
        check(d.p.poll() is None, "restarted daemon runs")
    finally:
        d.stop()
    return log, results


methods = table()
covered = set().union(*(m for m, _, _, _ in CASES))
for name, effect in sorted(methods.items()):
    if effect in ("rrds", "archives"):
        check(name in covered, "method %s changes %s but has no kill -9 case here" % (name, effect))
check(not covered - set(methods), "cases for unknown methods: %s" % (covered - set(methods)))

# ---- with the journal: every change survives ----
log, results = run([])
check(re.search(r"recovered .*journal records", log), "restart recovered the journal: %s"
      % log[-1500:])
check("moved aside" not in log, "nothing moved aside")
for ok_, what, _ in results:
    check(ok_, "with the journal, after kill -9: " + what)

# ---- control: without the journal the same kill loses every RRD change ----
_, results = run(["--no-journal"])
for ok_, what, control in results:
    if control:
        check(not ok_, "control (--no-journal) loses it, so the check can fail: " + what)
T.finish()
