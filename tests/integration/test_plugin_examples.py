#!/usr/bin/env python3
"""Integration test of librrdd-plugin and its example plugins.

Runs rrdp-proc and rrdp-demo-owners (built in $RRDD_BUILD/plugins-api) into
temporary directories and decodes their pages with an independent V2 decoder
written here from wire-format.md §6.3/6.4 (zlib.crc32, json), checking every value
against the input: a fake /proc tree with known numbers, the real /proc,
VM/SR owners.  Then runs the plugins as daemons with a fake XML-RPC daemon on
a Unix socket: they register, keep publishing, and on SIGTERM/SIGINT
deregister and unlink their page.  Finally installs the build into a
temporary prefix and compiles the README's 20-line example against the
installed header, pkg-config file and libraries (shared and static).

Exit status 0 on success; any failed check raises.
"""
import json
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

BUILD = os.environ.get("RRDD_BUILD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
SRC = os.environ.get("RRDD_SRC") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
PROC = os.path.join(BUILD, "plugins-api", "rrdp-proc")
DEMO = os.path.join(BUILD, "plugins-api", "rrdp-demo-owners")
CHECKS = 0


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        raise AssertionError(what)


def decode_v2(path):
    """Decode a V2 page (wire-format.md §6.3) strictly; return (timestamp, [ds])."""
    with open(path, "rb") as f:
        b = f.read()
    check(b[:11] == b"DATASOURCES", "magic")
    data_crc, meta_crc, n = struct.unpack(">III", b[11:23])
    check(len(b) >= 35 + 8 * n, "page long enough for the values")
    check(zlib.crc32(b[23:31 + 8 * n]) == data_crc, "data CRC")
    (m,) = struct.unpack(">I", b[31 + 8 * n:35 + 8 * n])
    meta = b[35 + 8 * n:35 + 8 * n + m]
    check(len(meta) == m, "metadata inside the page")
    check(zlib.crc32(meta) == meta_crc, "metadata CRC")
    check(len(b) % 4096 == 0, "page padded to 4 KiB")
    check(all(x == 0 for x in b[35 + 8 * n + m:]), "zero padding")
    (ts,) = struct.unpack(">d", b[23:31])
    # Keep duplicate names and order: a list of pairs.
    doc = json.loads(meta.decode("utf-8"), object_pairs_hook=lambda kv: kv)
    check(len(doc) == 1 and doc[0][0] == "datasources", "top-level object")
    entries = doc[0][1]
    check(len(entries) == n, "count matches metadata")
    out = []
    for i, (name, fields) in enumerate(entries):
        d = dict(fields)
        check(len(d) == len(fields), "no duplicate keys inside a source")
        check(all(isinstance(v, str) for v in d.values()), "all metadata values are strings")
        raw = b[31 + 8 * i:39 + 8 * i]
        vt = d["value_type"]
        check(vt in ("int64", "float"), "value_type")
        value = struct.unpack(">q" if vt == "int64" else ">d", raw)[0]
        d["name"] = name
        d["v"] = value
        out.append(d)
    return ts, out


def by_name(dss, owner="host"):
    return {d["name"]: d for d in dss if d["owner"] == owner}


def no_tmp_files(d):
    left = [f for f in os.listdir(d) if f.endswith(".tmp")]
    check(not left, "no temporary files left: %r" % left)


def fake_proc(root):
    os.makedirs(os.path.join(root, "net"))
    with open(os.path.join(root, "loadavg"), "w") as f:
        f.write("0.52 1.25 12.00 3/456 7890\n")
    with open(os.path.join(root, "meminfo"), "w") as f:
        # No MemAvailable (old kernels): must be published as Unknown.
        f.write("MemTotal:        8046284 kB\nMemFree:          123456 kB\n"
                "Buffers:           65432 kB\nCached:          1048576 kB\n"
                "SwapCached:            0 kB\nSwapTotal:       2097148 kB\n"
                "SwapFree:        2097000 kB\n")
    with open(os.path.join(root, "net", "dev"), "w") as f:
        f.write("Inter-|   Receive                                                |  Transmit\n"
                " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
                "packets errs drop fifo colls carrier compressed\n"
                "    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"
                "  eth0: 9876543210 1234 0 0 0 0 0 0 123456789 987 0 0 0 0 0 0\n"
                "xenbr0: 18446744073709551615 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")


def test_proc_once_fake(tmp):
    out = os.path.join(tmp, "out")
    os.mkdir(out)
    root = os.path.join(tmp, "proc")
    fake_proc(root)
    t0 = time.time()
    subprocess.run([PROC, "--once", "--dir", out, "--proc", root, "--uid", "test-proc"],
                   check=True, timeout=30)
    ts, dss = decode_v2(os.path.join(out, "test-proc"))
    check(t0 - 1 <= ts <= time.time() + 1, "timestamp is now, as a double")
    h = by_name(dss)
    check(len(h) == len(dss), "all sources are host-owned")
    check(h["dom0_loadavg1"]["v"] == 0.52 and h["dom0_loadavg5"]["v"] == 1.25
          and h["dom0_loadavg15"]["v"] == 12.0, "load averages")
    check(h["dom0_loadavg1"]["value_type"] == "float" and h["dom0_loadavg1"]["type"] == "gauge",
          "loadavg types")
    check(h["dom0_loadavg1"]["default"] == "true" and h["dom0_loadavg5"]["default"] == "false",
          "default flags")
    check(h["dom0_procs_running"]["v"] == 3 and h["dom0_procs_total"]["v"] == 456, "procs")
    mem = {"dom0_mem_total_kib": 8046284, "dom0_mem_free_kib": 123456,
           "dom0_mem_buffers_kib": 65432, "dom0_mem_cached_kib": 1048576,
           "dom0_swap_total_kib": 2097148, "dom0_swap_free_kib": 2097000}
    for k, v in mem.items():
        check(h[k]["v"] == v, "%s = %d, got %r" % (k, v, h[k]["v"]))
        check(h[k]["units"] == "KiB" and h[k]["value_type"] == "int64" and h[k]["min"] == "0",
              k + " metadata")
    # Missing MemAvailable: Unknown by the range convention (INT64_MIN < min 0).
    check(h["dom0_mem_available_kib"]["v"] == -2**63, "MemAvailable Unknown")
    check(float(h["dom0_mem_available_kib"]["min"]) == 0.0, "its min")
    check("dom0_net_lo_rx" not in h, "loopback skipped")
    check(h["dom0_net_eth0_rx"]["v"] == 9876543210 and h["dom0_net_eth0_tx"]["v"] == 123456789,
          "eth0 counters")
    check(h["dom0_net_eth0_rx"]["type"] == "derive" and h["dom0_net_eth0_rx"]["units"] == "B/s",
          "counter metadata")
    check(h["dom0_net_xenbr0_rx"]["v"] == 2**63 - 1, "a 64-bit counter is kept in int64 range")
    check(h["dom0_loadavg1"]["max"] == "inf", "unbounded max")
    no_tmp_files(out)


def test_proc_once_real(tmp):
    out = os.path.join(tmp, "real")
    os.mkdir(out)
    subprocess.run([PROC, "--once", "--dir", out], check=True, timeout=30)
    ts, dss = decode_v2(os.path.join(out, "rrdp-proc"))
    h = by_name(dss)
    with open("/proc/meminfo") as f:
        total = int([l for l in f if l.startswith("MemTotal:")][0].split()[1])
    check(h["dom0_mem_total_kib"]["v"] == total, "MemTotal from the real /proc")
    check(h["dom0_loadavg1"]["v"] >= 0, "real load average")
    with open("/proc/net/dev") as f:
        devs = [l.split(":")[0].strip() for l in f.readlines()[2:]]
    for d in devs:
        if d != "lo":
            check("dom0_net_%s_rx" % d in h, "device %s published" % d)


VM_A = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
VM_B = "11111111-2222-3333-4444-555555555555"
SR_A = "AAAABBBB-CCCC-DDDD-EEEE-FFFF00001111"


def test_demo_owners_once(tmp):
    out = os.path.join(tmp, "demo")
    os.mkdir(out)
    subprocess.run([DEMO, "--once", "--dir", out, "--vm", VM_A, "--vm", VM_B, "--sr", SR_A],
                   check=True, timeout=30)
    ts, dss = decode_v2(os.path.join(out, "rrdp-demo-owners"))
    check(len(dss) == 1 + 2 * 2 + 2, "source count")
    check(by_name(dss)["demo_owners"]["v"] == 3, "owner count")
    for i, vm in enumerate([VM_A, VM_B]):
        v = by_name(dss, "vm " + vm)
        check(set(v) == {"demo_load", "demo_requests"}, "VM %s sources" % vm)
        check(v["demo_load"]["v"] == 0.5 + 0.5 * math.sin(i), "demo_load tick 0")
        check(v["demo_load"]["min"] == "0" and v["demo_load"]["max"] == "1", "load range")
        check(v["demo_requests"]["v"] == 0 and v["demo_requests"]["type"] == "derive",
              "requests")
    s = by_name(dss, "sr " + SR_A.lower())
    check(s["demo_used"]["v"] == 2**30, "SR used")
    check(s["demo_iops"]["v"] == 50.0 and s["demo_iops"]["type"] == "absolute", "SR iops")
    # Bad uuid: a clean error, no page.
    r = subprocess.run([DEMO, "--once", "--dir", out, "--uid", "bad", "--vm", "nope"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "uuid" in r.stderr, "bad uuid refused: %r" % r.stderr)
    check(not os.path.exists(os.path.join(out, "bad")), "no page for a refused plugin")
    # Missing directory: a clean error.
    r = subprocess.run([PROC, "--once", "--dir", os.path.join(tmp, "nowhere")],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "nowhere" in r.stderr, "missing directory: %r" % r.stderr)


class FakeDaemon:
    """XML-RPC over HTTP on a Unix socket: answers Success with a next_reading."""

    def __init__(self, path, next_reading=0.4):
        self.path, self.next_reading, self.calls = path, next_reading, []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            with c:
                c.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += c.recv(4096)
                head, body = data.split(b"\r\n\r\n", 1)
                length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                          if l.lower().startswith(b"content-length:")][0]
                while len(body) < length:
                    body += c.recv(4096)
                method = body.split(b"<methodName>")[1].split(b"</methodName>")[0].decode()
                self.calls.append((method, body.decode()))
                value = ("<double>%r</double>" % self.next_reading
                         if method != "Plugin.Local.deregister" else "<nil/>")
                resp = ("<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
                        "<member><name>Status</name><value>Success</value></member>"
                        "<member><name>Value</name><value>%s</value></member>"
                        "</struct></value></param></params></methodResponse>" % value).encode()
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(resp) + resp)

    def stop(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def run_daemon_plugin(tmp, argv, uid, sig):
    out = os.path.join(tmp, "run-" + uid)
    os.mkdir(out)
    sock = os.path.join(tmp, "sock-" + uid)
    fake = FakeDaemon(sock, next_reading=0.3)
    page = os.path.join(out, uid)
    p = subprocess.Popen(argv + ["--dir", out, "--socket", sock, "--uid", uid])
    try:
        wait_for(lambda: os.path.exists(page), 20, "the first page of " + uid)
        ts1, _ = decode_v2(page)
        wait_for(lambda: decode_v2(page)[0] > ts1, 20, "a second page of " + uid)
        ts2, dss = decode_v2(page)
        check(ts2 > ts1 and len(dss) > 0, "pages keep coming")
        os.kill(p.pid, sig)
        rc = p.wait(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        fake.stop()
    check(rc == 0, "%s exits 0 on signal %d (got %d)" % (uid, sig, rc))
    check(not os.path.exists(page), "%s unlinked its page" % uid)
    methods = [m for m, _ in fake.calls]
    check(methods.count("Plugin.Local.register") >= 2, "registered every cycle: %r" % methods)
    check(methods[-1] == "Plugin.Local.deregister", "deregistered last: %r" % methods)
    reg = [b for m, b in fake.calls if m == "Plugin.Local.register"][0]
    check(reg == ('<?xml version="1.0"?><methodCall><methodName>Plugin.Local.register'
                  '</methodName><params><param><value><struct><member><name>uid</name>'
                  '<value>%s</value></member><member><name>info</name><value>Five_Seconds'
                  '</value></member><member><name>protocol</name><value>V2</value></member>'
                  '</struct></value></param></params></methodCall>' % uid), "register body")
    no_tmp_files(out)


def test_signals(tmp):
    run_daemon_plugin(tmp, [PROC], "proc-term", signal.SIGTERM)
    run_daemon_plugin(tmp, [DEMO, "--vm", VM_A, "--sr", SR_A], "demo-int", signal.SIGINT)


def test_no_daemon_keeps_publishing(tmp):
    out = os.path.join(tmp, "alone")
    os.mkdir(out)
    page = os.path.join(out, "alone")
    p = subprocess.Popen([PROC, "--dir", out, "--uid", "alone", "--interval", "0.2",
                          "--socket", os.path.join(tmp, "no-such-socket")])
    try:
        wait_for(lambda: os.path.exists(page), 20, "first page without a daemon")
        ts1, _ = decode_v2(page)
        wait_for(lambda: decode_v2(page)[0] > ts1, 20, "second page without a daemon")
        os.kill(p.pid, signal.SIGTERM)
        check(p.wait(timeout=20) == 0, "clean exit without a daemon")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(not os.path.exists(page), "page unlinked")


def test_library_files(tmp):
    lib = os.path.join(BUILD, "plugins-api", "librrdd-plugin.so")
    r = subprocess.run(["objdump", "-p", lib], capture_output=True, text=True, check=True)
    check("SONAME               librrdd-plugin.so.1" in r.stdout, "SONAME")
    r = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True,
                       check=True)
    syms = [l.split()[-1] for l in r.stdout.splitlines() if l.strip()]
    import re
    with open(os.path.join(SRC, "include", "rrdd", "plugin.h")) as f:
        api = set(re.findall(r"RRDP_API[^;(]*?\b(rrdp_\w+)\s*\(", f.read()))
    check(len(api) >= 19 and api == set(syms), "exports exactly the header's API: %r" %
          (api ^ set(syms)))
    check(all(s.startswith("rrdp_") for s in syms),
          "only rrdp_ symbols exported: %r" % [s for s in syms if not s.startswith("rrdp_")])
    # Install into a prefix and build the README example against it.
    prefix = os.path.join(tmp, "prefix")
    # Only this subdirectory's install rules (the rest of the tree may not be built).
    subprocess.run(["cmake", "-DCMAKE_INSTALL_PREFIX=" + prefix, "-P",
                    os.path.join(BUILD, "plugins-api", "cmake_install.cmake")], check=True,
                   stdout=subprocess.DEVNULL)
    libdir = [d for d in ("lib", "lib64", "lib/x86_64-linux-gnu")
              if os.path.exists(os.path.join(prefix, d, "pkgconfig", "rrdd-plugin.pc"))][0]
    libdir = os.path.join(prefix, libdir)
    for f in ("include/rrdd/plugin.h", "include/rrdd/proto.h", "bin/rrdp-proc",
              "bin/rrdp-demo-owners"):
        check(os.path.exists(os.path.join(prefix, f)), "installed " + f)
    check(os.path.exists(os.path.join(libdir, "librrdd-plugin.a")), "static library installed")
    check(os.path.exists(os.path.join(libdir, "cmake", "rrdd-plugin", "rrdd-pluginConfig.cmake")),
          "CMake package installed")
    with open(os.path.join(SRC, "plugins-api", "README.md")) as f:
        readme = f.read()
    block = readme.split("<!-- example:begin")[1].split("<!-- example:end -->")[0]
    code = block.split("```c\n")[1].split("```")[0]
    check(len(code.strip().splitlines()) <= 40, "the example is short")
    ex = os.path.join(tmp, "example.c")
    with open(ex, "w") as f:
        f.write(code)
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "rrdd-plugin"], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    check("-lrrdd-plugin" in flags, "pkg-config libs")
    shared = os.path.join(tmp, "example-shared")
    subprocess.run(["cc", "-std=gnu11", "-Wall", "-Werror", "-Wno-unused-parameter", ex, "-o",
                    shared] + flags, check=True)
    static_flags = subprocess.run(["pkg-config", "--cflags", "rrdd-plugin"], env=env,
                                  capture_output=True, text=True, check=True).stdout.split()
    # what the archive needs besides itself: the .pc file's private
    # requirements (expat, protobuf-c, libcbor) and libraries
    private = subprocess.run(["pkg-config", "--static", "--libs", "rrdd-plugin"], env=env,
                             capture_output=True, text=True, check=True).stdout.split()
    private = [f for f in private if f != "-lrrdd-plugin" and not f.startswith("-L")]
    check("-lprotobuf-c" in private and "-lcbor" in private and "-lexpat" in private,
          "the .pc file names the static library's dependencies: %s" % private)
    static = os.path.join(tmp, "example-static")
    subprocess.run(["cc", "-std=gnu11", ex, "-o", static] + static_flags +
                   [os.path.join(libdir, "librrdd-plugin.a")] + private, check=True)
    r = subprocess.run(["ldd", static], capture_output=True, text=True)
    check("librrdd-plugin" not in r.stdout, "static example does not need the .so")
    for prog, envx in ((shared, {"LD_LIBRARY_PATH": libdir}), (static, {})):
        out = os.path.join(tmp, "ex-" + os.path.basename(prog))
        os.mkdir(out)
        page = os.path.join(out, "example-random")
        p = subprocess.Popen([prog, out], env=dict(os.environ, **envx))
        try:
            wait_for(lambda: os.path.exists(page), 20, "the example's page")
            ts, dss = decode_v2(page)
            check(len(dss) == 1 and dss[0]["name"] == "example_random"
                  and 0 <= dss[0]["v"] <= 1 and dss[0]["units"] == "(fraction)", "example page")
            os.kill(p.pid, signal.SIGTERM)
            check(p.wait(timeout=20) == 0, "example exits 0")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        check(not os.path.exists(page), "example unlinked its page")


def main():
    for prog in (PROC, DEMO):
        if not os.access(prog, os.X_OK):
            print("missing %s (build first)" % prog, file=sys.stderr)
            return 1
    tmp = tempfile.mkdtemp(prefix="test_plugin_examples.")
    try:
        for t in (test_proc_once_fake, test_proc_once_real, test_demo_owners_once,
                  test_signals, test_no_daemon_keeps_publishing, test_library_files):
            t(tmp)
            print("ok %s" % t.__name__)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d checks passed" % CHECKS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
