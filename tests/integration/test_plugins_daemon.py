#!/usr/bin/env python3
"""Plugins read by the real rrdd (simulated host, real clock, 5 s ticks).

One daemon run of about 32 s, with, in its plugin directory:
  - the library's example plugins rrdp-demo-owners (VM, SR and host sources)
    and rrdp-proc (dom0 /proc), built in $RRDD_BUILD/plugins-api;
  - pages written here by hand from wire-format.md §6.2/6.3 in every legacy shape:
    V2 with a double timestamp, V2 with int64 seconds, V1 (compact, and
    indented with NUL padding), rrd-client-lib's
    pretty JSON with a NUL counted in M and the CRC, rrdd.py's sorted JSON
    written values-first and never truncated, a page published by renaming
    a temporary file over it;
  - a plugin that dies (stops writing; its file stays) and one whose file is
    deleted: their sources go Unknown, the others are unaffected;
  - a torn page (bad data CRC) for two ticks, then good again: logged once;
  - a page that grows from 1 to 300 sources, in place, past its first 4 KiB;
  - a page renamed over another registered page;
  - 200 plugins at once, each with its own host source.
  - a page under a name discovery ignores (tap-rpc), registered and later
    deregistered by XML-RPC (Plugin.Local.register/deregister) over the
    daemon's Unix socket, with Plugin.get_path and next_reading;
  - the example plugins registering and timing themselves over that socket.
Values are checked in the per-tick metrics dumps (host-metrics.json,
vm-metrics.json in the state dir), in GET /rrd_updates over the socket near
the end of the run, and, for the SR, in the archive written at exit
(rrdd-tool dump --updates).  Expected values are the constants the
writers wrote (float32-exact), so nothing here comes from rrdd itself.
"""
import hashlib
import json
import math
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import xmlrpc.client
import zlib

import rrddhttp as RH
import rrddtest as T
from rrddtest import check

DEMO = os.path.join(T.BUILD, "plugins-api", "rrdp-demo-owners")
PROC = os.path.join(T.BUILD, "plugins-api", "rrdp-proc")
HOST = "0f0f0f0f-1111-4222-8333-444444444444"
SR = "e6616eb6-2c5b-5d1f-3a7b-9c0d1e2f3a4b"
RUN_FOR = 32
# the torn page: torn once the 1st dump is out, repaired once the 4th is: the
# ticks of dumps 2-4 read it torn, so dump 2 resends the stale chunk (no
# update, --plugin-stale-ticks 1) and dumps 3-4 record Unknown: the 4th dump
# must show torn_v unknown whatever the machine's speed
PHASE = {"snaps": 0}
TORN_FROM, TORN_UNTIL = 1, 4
# the dying, deleted and swapped pages change once the 3rd dump is out, so the
# 2nd and 3rd dumps (ticks at ~5 and ~10 s) still see them alive
STOP_AFTER = 3
NMANY = 200


from pages import (meta_obj, values_bytes, page_v2, page_v1, page_v1_pretty_padded,  # noqa: E402
                   write_atomic)


def write_in_place(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, data, 0)
    finally:
        os.close(fd)


def write_python_style(path, ts, dss):
    """rrdd.py: sorted JSON, values+M+metadata first, header last, no truncation."""
    meta = json.dumps(meta_obj(dss), sort_keys=True).encode()
    body_vals = values_bytes(dss)
    tsb = struct.pack(">d", ts)
    head = b"DATASOURCES" + struct.pack(">III", zlib.crc32(tsb + body_vals), zlib.crc32(meta),
                                        len(dss))
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, body_vals + struct.pack(">I", len(meta)) + meta, 31)
        os.pwrite(fd, head + tsb, 0)
    finally:
        os.close(fd)


def clib_pretty_with_nul(ts, dss):
    meta = json.dumps(meta_obj(dss), indent=4) + "\0"
    return page_v2(ts, dss, meta_text=meta)


def H(name, value, vt="float", typ="gauge", dflt=True):
    return (name, "host", vt, typ, dflt, value)


# ---- the writer thread -----------------------------------------------------

class Writers(threading.Thread):
    def __init__(self, d, t0):
        super().__init__(daemon=True)
        self.d = d
        self.t0 = t0
        self.stop = False
        self.err = None

    def p(self, uid):
        return os.path.join(self.d, uid)

    def run(self):
        try:
            while not self.stop:
                self.once(time.time())
                time.sleep(0.5)
        except Exception as e:  # reported by the main thread
            self.err = repr(e)

    def once(self, now):
        el = now - self.t0
        ts = now
        write_atomic(self.p("hand-v2"), page_v2(ts, [H("hand_v2_f", 1234.5),
                                                    H("hand_v2_i", 77, "int64")]))
        # int64 seconds: only changes every second, like the old writers
        write_in_place(self.p("hand-v2-int"), page_v2(ts, [H("hand_v2int", 4321, "int64")],
                                                      int_ts=True))
        write_atomic(self.p("hand-v1"), page_v1(ts, [H("hand_v1_f", 2.25),
                                                     H("hand_v1_i", -17, "int64")]))
        write_in_place(self.p("hand-v1-pretty"), page_v1_pretty_padded(ts, [H("v1_pretty", 0.75)]))
        write_in_place(self.p("hand-clib"), clib_pretty_with_nul(ts, [H("clib_pretty", 65.5)]))
        write_python_style(self.p("hand-python"), ts, [H("py_a", 11.0), H("py_b", 12.0)])
        # dies once the 3rd dump is out (after the tick at ~10 s): the file
        # stays, unchanged
        if PHASE["snaps"] < STOP_AFTER:
            write_in_place(self.p("dies"), page_v2(ts, [H("dies_v", 5.0)]))
        # deleted once the 3rd dump is out
        if PHASE["snaps"] < STOP_AFTER:
            write_atomic(self.p("deleted"), page_v2(ts, [H("deleted_v", 6.0)]))
        elif os.path.exists(self.p("deleted")):
            os.unlink(self.p("deleted"))
        # torn (bad data CRC) while the main thread has seen TORN_FROM ..
        # TORN_UNTIL-1 dumps: the daemon's ticks, not the wall clock, decide,
        # so a slow machine cannot shift the torn period against the ticks
        pg = bytearray(page_v2(ts, [H("torn_v", 7.0)]))
        if TORN_FROM <= PHASE["snaps"] < TORN_UNTIL:
            pg[31] ^= 0x55
        write_in_place(self.p("torn"), bytes(pg))
        # grows in place from 1 to 300 sources at 7.5 s
        if el < 7.5:
            write_in_place(self.p("grows"), page_v2(ts, [H("grow_0", 100.0)]))
        else:
            write_in_place(self.p("grows"), page_v2(
                ts, [H("grow_%d" % i, 100.0 + i) for i in range(300)], pad=0))
        # swap: once the 3rd dump is out, swapsrc's page is renamed over swapdst (and swapsrc
        # is no longer written)
        if PHASE["snaps"] < STOP_AFTER:
            write_atomic(self.p("swapdst"), page_v2(ts, [H("swap_a", 8.0)]))
            write_atomic(self.p("swapsrc"), page_v2(ts, [H("swap_b", 9.0)]))
        else:
            with open(self.p(".swapsrc-next"), "wb") as f:
                f.write(page_v2(ts, [H("swap_b", 9.0)]))
            if os.path.exists(self.p("swapsrc")):
                os.rename(self.p("swapsrc"), self.p("swapdst"))
            os.rename(self.p(".swapsrc-next"), self.p("swapdst"))
        write_atomic(self.p("tap-rpc"), page_v2(ts, [H("rpc_v", 3.5)]))
        for i in range(NMANY):
            write_atomic(self.p("many-%03d" % i), page_v2(ts, [H("many_%03d" % i, float(i))]))


# ---- the run ---------------------------------------------------------------

class Unix(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return RH.UnixHTTPConnection(self.path)


def learn_vm(state):
    """The uuid of a domU of the generated simulated host (same seed)."""
    st, log = T.run_rrdd(["--source", "sim", "--clock", "sim", "--run-for", "1",
                          "--state-dir", state, "--host-uuid", HOST, "--sim-domains", "2"])
    check(st == 0, "pre-run exits 0: " + log[-1000:])
    vms = T.load_metrics(os.path.join(state, "vm-metrics.json"))
    dom0 = [u for u in vms if u.startswith("00000000")]
    others = sorted(u for u in vms if u not in dom0)
    return others[0]


def main():
    for exe in (DEMO, PROC, T.RRDD):
        if not os.path.exists(exe):
            print("missing %s: build first" % exe, file=sys.stderr)
            sys.exit(1)
    base = T.tmpdir("rrdd-plugins-")
    vm = learn_vm(os.path.join(base, "pre"))
    state = os.path.join(base, "state")
    plugdir = os.path.join(base, "plugins")
    os.makedirs(plugdir)

    t0 = time.time()
    w = Writers(plugdir, t0)
    w.once(t0)  # every page exists before the first tick
    w.start()
    env = dict(os.environ, LC_ALL="C", TZ="UTC")
    env.pop("NOTIFY_SOCKET", None)
    sock = os.path.join(state, "xcp-rrdd")
    start = time.time()
    d = subprocess.Popen([T.RRDD, "--source", "sim", "--clock", "real", "--run-for",
                          str(RUN_FOR), "--state-dir", state, "--host-uuid", HOST,
                          "--sim-domains", "2", "--plugin-dir", plugdir, "--socket", sock,
                          "--forwarded-socket", "none",
                          "--plugin-stale-ticks", "1", "--log-level", "info"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    w.t0 = start  # phases relative to the daemon's first tick
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    check(os.path.exists(sock), "the daemon's socket %s appears" % sock)
    demo = subprocess.Popen([DEMO, "--dir", plugdir, "--socket", sock, "--vm", vm, "--sr", SR],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    fake = os.path.join(base, "proc")
    os.makedirs(os.path.join(fake, "net"))
    with open(os.path.join(fake, "loadavg"), "w") as f:
        f.write("0.50 0.25 0.125 3/456 789\n")
    with open(os.path.join(fake, "meminfo"), "w") as f:
        f.write("MemTotal:        1000 kB\nMemFree:          250 kB\n")
    with open(os.path.join(fake, "net", "dev"), "w") as f:
        f.write("Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n")
    proc = subprocess.Popen([PROC, "--dir", plugdir, "--socket", sock, "--proc", fake],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rpc = xmlrpc.client.ServerProxy("http://_var_xapi_xcp-rrdd/", transport=Unix(sock),
                                    allow_none=True)
    rpc_done = set()
    updates = None

    # one snapshot of the dumps per tick (the dumps are rewritten each tick)
    snaps = []
    rpc_results = {}
    hpath = os.path.join(state, "host-metrics.json")
    vpath = os.path.join(state, "vm-metrics.json")
    last = None
    while d.poll() is None and time.time() - start < RUN_FOR + 30:
        try:
            m = os.stat(hpath).st_mtime_ns
        except FileNotFoundError:
            m = None
        if m is not None and m != last:
            time.sleep(0.2)  # both dumps written
            last = os.stat(hpath).st_mtime_ns
            try:
                snaps.append((time.time() - start, T.load_metrics(hpath), T.load_metrics(vpath)))
                PHASE["snaps"] = len(snaps)
            except (ValueError, FileNotFoundError):
                pass
            if len(snaps) >= 2 and "reg" not in rpc_done:  # after the ~5 s tick
                rpc_done.add("reg")
                rpc_results["reg_idx"] = len(snaps)
                rpc_results["register"] = rpc.Plugin.Local.register(
                    {"uid": "tap-rpc", "info": "Five_Seconds", "protocol": "V2"})
                rpc_results["path"] = rpc.Plugin.get_path({"uid": "tap-rpc"})
                rpc_results["next"] = rpc.Plugin.Local.next_reading({"uid": "tap-rpc"})
                rpc_results["next_unknown"] = rpc.Plugin.next_reading({"uid": "nobody"})
            if len(snaps) >= 5 and "dereg" not in rpc_done:  # after ~20 s
                rpc_done.add("dereg")
                rpc_results["dereg_idx"] = len(snaps)
                rpc_results["deregister"] = rpc.Plugin.Local.deregister({"uid": "tap-rpc"})
            if len(snaps) >= 6 and updates is None:  # after ~25 s
                c = RH.UnixHTTPConnection(sock)
                c.request("GET", "/rrd_updates?start=%d&host=true&sr_uuid=%s&json=true"
                          % (int(start) - 10, SR), headers={"Accept": "application/json"})
                r = c.getresponse()
                updates = (r.status, r.read())
                c.close()
        time.sleep(0.05)
    out, err = d.communicate(timeout=60)
    w.stop = True
    w.join(timeout=10)
    for p in (demo, proc):
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
    check(w.err is None, "writer thread: %s" % w.err)
    check(d.returncode == 0, "rrdd exits 0 (got %s): %s" % (d.returncode, err[-3000:]))
    check(len(snaps) >= 6, "one dump per tick: %d snapshots" % len(snaps))
    if len(snaps) < 6:
        T.finish()

    def at(el):
        """The first snapshot taken after el seconds: at(10.1) follows the
        daemon's tick at ~10 s (ticks at 0, 5, 10, ... from its start)."""
        for s in snaps:
            if s[0] >= el:
                return s
        return snaps[-1]

    def hv(snap, name):
        return snap[1].get(name)

    def is_num(v, want):
        return isinstance(v, (int, float)) and not math.isnan(v) and T.close32(float(v), want)

    def is_nan(v):
        return isinstance(v, float) and math.isnan(v)

    # -- legacy formats, library plugins: present with their values in the
    #    tick after the first (the first tick of a new DS creates it)
    mid = at(10.1)  # after the tick at ~10 s
    end = snaps[-1]
    for snap, when in ((mid, "mid-run"), (end, "end")):
        for name, want in (("hand_v2_f", 1234.5), ("hand_v2_i", 77), ("hand_v2int", 4321),
                           ("hand_v1_f", 2.25), ("hand_v1_i", -17),
                           ("v1_pretty", 0.75), ("clib_pretty", 65.5),
                           ("py_a", 11.0), ("py_b", 12.0), ("grow_0", 100.0)):
            check(is_num(hv(snap, name), want),
                  "%s: host %s = %r, want %r" % (when, name, hv(snap, name), want))
    # rrdp-proc over a fake /proc: default sources recorded with their
    # values, non-default ones known but not recorded (wire-format.md §7)
    for name, want in (("dom0_loadavg1", 0.5), ("dom0_mem_total_kib", 1000),
                       ("dom0_mem_free_kib", 250)):
        check(is_num(end[1].get(name), want), "rrdp-proc %s = %r" % (name, end[1].get(name)))
    for name in ("dom0_loadavg5", "dom0_procs_total"):
        check(name not in end[1], "non-default %s not recorded" % name)
    check(end[1].get("demo_owners") is not None, "demo_owners on the host")
    check(is_num(end[1].get("demo_owners"), 2), "demo_owners = 2 (one VM, one SR): %r"
          % end[1].get("demo_owners"))

    # -- VM owner: resident domU gets demo_load (0..1) and demo_requests
    vmd = end[2].get(vm, {})
    check("demo_load" in vmd, "VM %s has demo_load: %s" % (vm, sorted(vmd)[:50]))
    dl = vmd.get("demo_load")
    check(isinstance(dl, float) and 0 <= dl <= 1, "demo_load in [0,1]: %r" % dl)
    check("demo_requests" in vmd, "VM has demo_requests")

    # -- the plugin that died: value while alive, Unknown once stale
    # (a DS's latest value is its newest 5 s PDP: the first sample after
    # creation may leave it partly unknown, so look at both early ticks)
    def early(name):
        return [hv(at(5.1), name), hv(at(10.1), name)]
    check(any(is_num(v, 5.0) for v in early("dies_v")), "dies_v = 5 while alive: %r"
          % early("dies_v"))
    check(is_nan(hv(end, "dies_v")), "dies_v Unknown after it stopped: %r" % hv(end, "dies_v"))
    # the deleted one too, and neither affected the others (checked above)
    check(any(is_num(v, 6.0) for v in early("deleted_v")), "deleted_v = 6 while present: %r"
          % early("deleted_v"))
    check(is_nan(hv(end, "deleted_v")), "deleted_v Unknown after deletion: %r"
          % hv(end, "deleted_v"))

    # -- torn page: Unknown (or absent: never created) while torn, back after
    tv = hv(snaps[TORN_UNTIL - 1], "torn_v") if len(snaps) >= TORN_UNTIL else "too few dumps"
    check(tv is None or is_nan(tv), "torn_v not a value while torn: %r" % tv)
    check(is_num(hv(end, "torn_v"), 7.0), "torn_v = 7 after repair: %r" % hv(end, "torn_v"))
    torn_logs = [l for l in err.splitlines() if "plugin torn:" in l and "warning" in l]
    check(len(torn_logs) == 1, "torn page logged once: %s" % torn_logs)
    check(any("plugin torn: readable again" in l for l in err.splitlines()),
          "torn plugin's recovery logged")

    # -- growth: 300 sources after the rewrite
    for i in (0, 1, 150, 299):
        v = hv(end, "grow_%d" % i)
        check(is_num(v, 100.0 + i), "grow_%d = %r" % (i, v))

    # -- rename over another page: swapdst now carries swap_b; swap_a goes
    check(any(is_num(v, 8.0) for v in early("swap_a")), "swap_a before the swap: %r"
          % early("swap_a"))
    check(is_num(hv(end, "swap_b"), 9.0), "swap_b after the swap: %r" % hv(end, "swap_b"))
    check(is_nan(hv(end, "swap_a")), "swap_a Unknown after swap: %r" % hv(end, "swap_a"))

    # -- 200 plugins at once
    bad = [i for i in range(NMANY) if not is_num(hv(end, "many_%03d" % i), float(i))]
    check(not bad, "all %d plugins' values on the host; wrong: %s" % (NMANY, bad[:10]))

    # -- no error other than the torn page was logged about plugins
    warn = [l for l in err.splitlines() if "warning" in l and "plugin " in l
            and "plugin torn:" not in l]
    check(not warn, "no other plugin warnings: %s" % warn[:5])

    # -- the SR archive written at exit holds the demo's SR sources
    srpath = os.path.join(state, "rrds", SR + ".gz")
    if check(os.path.exists(srpath), "SR archive %s" % srpath):
        s = T.dump_updates(srpath, int(start) - 10)
        check("demo_used" in s and "demo_iops" in s, "SR sources: %s" % sorted(s))
        used = [v for _, v in s.get("demo_used", []) if not math.isnan(v)]
        check(used and all(v >= 1 << 30 for v in used), "demo_used >= 1 GiB: %s" % used[-3:])
        iops = [v for _, v in s.get("demo_iops", []) if not math.isnan(v)]
        # absolute: 50 per 5 s sample => 10/s (the example's doc)
        check(iops and all(abs(v - 10.0) < 1.0 for v in iops), "demo_iops ~ 10/s: %s" % iops)
    # -- RPC registration of a name discovery ignores, then deregistration
    def success(r):
        return isinstance(r, dict) and r.get("Status") == "Success"
    rr = rpc_results
    check(success(rr.get("register")), "Plugin.Local.register: %r" % rr.get("register"))
    nr = (rr.get("register") or {}).get("Value")
    check(isinstance(nr, float) and -1 < nr <= 5.0, "register returns next_reading: %r" % nr)
    check(success(rr.get("path")) and rr["path"]["Value"] == os.path.join(plugdir, "tap-rpc"),
          "Plugin.get_path: %r" % rr.get("path"))
    nx = (rr.get("next") or {}).get("Value")
    check(isinstance(nx, float) and -1 < nx <= 5.0, "next_reading: %r" % nx)
    check((rr.get("next_unknown") or {}).get("Value") == -1.0,
          "next_reading of an unknown uid is -1: %r" % rr.get("next_unknown"))
    check(success(rr.get("deregister")), "Plugin.Local.deregister: %r" % rr.get("deregister"))
    check(hv(snaps[0], "rpc_v") is None, "tap-rpc not read before its registration")
    # a DS new to an existing RRD is added at its first sample and records
    # values from the next one: at least one tick between the calls shows it
    ri, di = rr.get("reg_idx", 0), rr.get("dereg_idx", len(snaps))
    seen = [hv(x, "rpc_v") for x in snaps[ri:di + 1]]
    check(any(is_num(v, 3.5) for v in seen), "rpc_v = 3.5 while registered: %s" % seen)
    check(is_nan(hv(end, "rpc_v")), "rpc_v Unknown after deregistration: %r" % hv(end, "rpc_v"))

    # -- rrd_updates over the socket: host, VM and SR plugin sources
    if check(updates is not None and updates[0] == 200, "GET /rrd_updates: %r"
             % (updates[0] if updates else None,)):
        doc = json.loads(updates[1])
        legend = doc["meta"]["legend"]
        rows = doc["data"]
        col = {l: i for i, l in enumerate(legend)}
        want = ["AVERAGE:host:%s:many_007" % HOST, "AVERAGE:host:%s:hand_v1_f" % HOST,
                "AVERAGE:host:%s:dom0_loadavg1" % HOST, "AVERAGE:vm:%s:demo_load" % vm,
                "AVERAGE:sr:%s:demo_used" % SR, "AVERAGE:host:%s:grow_299" % HOST]
        for l in want:
            check(l in col, "rrd_updates legend has %s" % l)
        check(not any(":dom0_loadavg5" in l for l in legend),
              "non-default dom0_loadavg5 not in rrd_updates")

        def latest(l):
            for row in rows:  # newest first
                v = float(row["values"][col[l]])
                if not math.isnan(v):
                    return v
            return float("nan")
        for l, v in ((want[0], 7.0), (want[1], 2.25), (want[2], 0.5), (want[5], 399.0)):
            if l in col:
                check(T.close32(latest(l), v), "rrd_updates %s = %r, want %r" % (l, latest(l), v))
        if want[3] in col:
            check(0 <= latest(want[3]) <= 1, "rrd_updates demo_load in [0,1]")
        if want[4] in col:
            check(latest(want[4]) >= 1 << 30, "rrd_updates demo_used >= 1 GiB")

    print("snapshots at %s" % ["%.1f" % s[0] for s in snaps], file=sys.stderr)
    T.finish()


main()
