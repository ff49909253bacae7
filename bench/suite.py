#!/usr/bin/python3
"""rrdd benchmark suite: every workload of peers.md 4.4 (W1-W9) against the
peers measured in the same run on the same data, one table, JSON results.

    bench/run.sh [--quick] [--build DIR] [--compare OLD.json] [--only W1,W3]

It builds rrdd and the bench_* programs in DIR (default build-suite), builds
bench/peers/rrdpeer.c against DIR's librrdd_core.a, installs the peers from
Debian packages when missing (rrdcached, collectd-core,
prometheus-node-exporter, wrk, strace, python3-matplotlib), runs the
workloads, prints the table, flags superlinear growth with WARNING lines and
writes bench/results/<date>-<commit>.json, bench/results/latest.json and
bench/results/scaling-latest.png.

It only reports: no figure is a pass/fail of ctest (the suite is not part of
the ctest run).  It starts its own daemons in temporary directories, on
loopback ports it picks, and stops only the processes it started.  Ratios are
always "how many times rrdd is better": peer/rrdd for costs, rrdd/peer for
rates, so > 1 means rrdd wins.
"""
import argparse
import datetime
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
import peers  # noqa: E402  (bench/peers/peers.py: collectd, node exporter, rrdcached)

ROWS = []
WARNINGS = []
NOTES = []
CHILDREN = []  # Popen objects we started, stopped at exit


def log(msg):
    print(f"[suite {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def warn(msg):
    WARNINGS.append(msg)
    print(f"WARNING: {msg}", flush=True)


def add(workload, scale, metric, unit, rrdd, peer=None, peer_val=None, better="lower", target=None,
        ok=None, note=None):
    """One table row.  better: 'lower' (a cost) or 'higher' (a rate)."""
    ratio = None
    if peer_val is not None and rrdd is not None and rrdd > 0 and peer_val > 0:
        ratio = peer_val / rrdd if better == "lower" else rrdd / peer_val
    row = dict(workload=workload, scale=scale, metric=metric, unit=unit, rrdd=rrdd, peer=peer,
               peer_value=peer_val, ratio=ratio, better=better, target=target, target_ok=ok,
               note=note)
    ROWS.append(row)
    return row


# ---------------------------------------------------------------- processes

def run(cmd, timeout=3600, env=None, check=True):
    log("$ " + " ".join(map(str, cmd)))
    p = subprocess.run(list(map(str, cmd)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}:\n{p.stdout[-3000:]}")
    return p.stdout


def spawn(cmd, logfile, **kw):
    log("& " + " ".join(map(str, cmd)))
    f = open(logfile, "w")
    p = subprocess.Popen(list(map(str, cmd)), stdout=f, stderr=subprocess.STDOUT, **kw)
    CHILDREN.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=120):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in CHILDREN:
        CHILDREN.remove(p)


def proc_cpu(pid):
    """utime + stime of a process (all threads), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mib(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def wait_http(url, deadline_s=120, proc=None):
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"daemon exited {proc.returncode} before answering {url}")
        try:
            http_get(url, timeout=5)
            return time.monotonic() - t0
        except Exception:
            time.sleep(0.02)
    raise RuntimeError(f"no answer from {url} in {deadline_s} s")


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return dict(cpus=os.cpu_count(), cpu_model=model, loadavg=list(os.getloadavg()),
                mem_mib=os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20)


# ---------------------------------------------------------------- setup

PKGS = [("rrdcached", "rrdcached"), ("collectd", "collectd-core"), ("wrk", "wrk"),
        ("strace", "strace"), ("prometheus-node-exporter", "prometheus-node-exporter")]


def ensure_packages(allow_install):
    missing = [pkg for exe, pkg in PKGS if not shutil.which(exe)
               and not os.path.exists("/usr/sbin/" + exe)]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        missing.append("python3-matplotlib")
    if missing:
        if not allow_install:
            raise RuntimeError("missing packages: " + " ".join(missing))
        log("installing " + " ".join(missing))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"] + missing,
                       check=True, env=env, stdout=subprocess.DEVNULL)
    return missing


def build(bdir):
    if not os.path.exists(os.path.join(bdir, "CMakeCache.txt")):
        run(["cmake", "-S", ROOT, "-B", bdir, "-DRRDD_WERROR=ON",
             "-DCMAKE_BUILD_TYPE=RelWithDebInfo"])
    run(["cmake", "--build", bdir, "-j2", "--target", "rrdd", "bench_numfmt", "bench_engine",
         "bench_export", "bench_tick", "bench_plugins"], timeout=3600)
    out = os.path.join(bdir, "rrdpeer")
    run(["gcc", "-O2", "-std=gnu11", "-Wall", "-I" + os.path.join(ROOT, "rrdd"),
         "-I" + os.path.join(ROOT, "include"), os.path.join(ROOT, "bench/peers/rrdpeer.c"),
         os.path.join(bdir, "librrdd_core.a"), "-lrrd", "-lz", "-lm", "-lpthread", "-o", out])
    return out


# ---------------------------------------------------------------- the daemon

class Daemon:
    """rrdd on the simulated host, in its own state directory.  Ticks are
    counted from strace's record of the per-tick rename of vm-metrics.json
    (strace --seccomp-bpf stops the daemon only on rename calls), which also
    gives the wall time of each whole tick under --clock sim, where ticks
    run back to back."""

    def __init__(self, bdir, tmp, name, vms=None, clock="sim", scenario=None, listen=True,
                 strace=True, extra=(), state=None):
        self.bdir, self.name = bdir, name
        self.dir = state or tempfile.mkdtemp(prefix=f"rrdd-{name}-", dir=tmp)
        self.port = free_port() if listen else None
        self.trace = os.path.join(self.dir, "trace")
        self.logf = os.path.join(self.dir, "log")
        cmd = [os.path.join(bdir, "rrdd"), "--source", "sim", "--clock", clock, "--state-dir",
               self.dir, "--socket", "none", "--forwarded-socket", "none", "--log-level", "info"]
        if scenario:
            cmd += ["--sim-scenario", scenario]
        else:  # a scenario holds at most 4096 VMs, dom0 included
            cmd += ["--sim-domains", str(min(vms, 4095))]
        if listen:
            cmd += ["--listen", f"127.0.0.1:{self.port}"]
        cmd += list(extra)
        if strace:
            cmd = ["strace", "-f", "--seccomp-bpf", "-e", "trace=rename", "-ttt", "-o", self.trace,
                   "--"] + cmd
        self.t_start = time.monotonic()
        self.p = spawn(cmd, self.logf)
        self.pid = None
        for _ in range(500):
            self.pid = self._find_pid()
            if self.pid:
                break
            time.sleep(0.01)

    def _find_pid(self):
        """The rrdd process (under strace, strace's child once it has
        exec'd rrdd)."""
        if self.p.args[0] != "strace":
            return self.p.pid
        try:
            for c in open(f"/proc/{self.p.pid}/task/{self.p.pid}/children").read().split():
                if os.path.basename(os.readlink(f"/proc/{c}/exe")) == "rrdd":
                    return int(c)
        except OSError:
            pass
        return None

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def tick_times(self):
        """Times of the successful renames of vm-metrics.json.  With more
        than one thread renaming (checkpoint and archive threads), strace -f
        splits a call interrupted by another thread's into "<unfinished ...>"
        and "<... rename resumed>" lines: the call counts at its start."""
        ts, pending = [], {}
        try:
            with open(self.trace) as f:
                for line in f:
                    w = line.split()
                    if len(w) < 3:
                        continue
                    pid, t = w[0], w[1]
                    if 'vm-metrics.json"' in line and "<unfinished" in line:
                        pending[pid] = float(t)
                    elif "<... rename resumed>" in line:
                        start = pending.pop(pid, None)
                        if start is not None and "= 0" in line:
                            ts.append(start)
                    elif 'vm-metrics.json")' in line and "= 0" in line:
                        ts.append(float(t))
        except OSError:
            pass
        return sorted(ts)

    def ticks(self):
        return len(self.tick_times())

    def wait_ticks(self, n, timeout=1800, sample=None):
        t0 = time.monotonic()
        while self.ticks() < n:
            if self.p.poll() is not None:
                raise RuntimeError(f"{self.name}: rrdd exited {self.p.returncode}: "
                                   + open(self.logf).read()[-2000:])
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(f"{self.name}: {n} ticks not reached in {timeout} s")
            if sample:
                sample()
            time.sleep(0.1)

    def log_text(self):
        return open(self.logf).read()

    def ds_count(self):
        """DSs of the RRDs the daemon created (from its log)."""
        n = 0
        for m in re.finditer(r"new RRD with (\d+) of", self.log_text()):
            n += int(m.group(1))
        return n

    def stop(self, sig=signal.SIGTERM):
        try:
            if self.pid:
                os.kill(self.pid, sig)  # the daemon itself; strace then exits
        except ProcessLookupError:
            warn(f"{self.name}: rrdd had already exited ({self.p.poll()}): "
                 + self.log_text()[-600:])
        stop(self.p, signal.SIGCONT, timeout=600)


# ---------------------------------------------------------------- workloads

def w_numfmt(cfg):
    out = run([cfg.bin("bench_numfmt"), cfg.pick(200000, 1000000)])
    for label in ("float32 metrics", "double metrics", "int64"):
        m = re.search(re.escape(label) + r"\s+numfmt\s+([\d.]+) ns/value\s+snprintf\s+([\d.]+)",
                      out)
        if not m:
            continue
        ours, peer = float(m.group(1)), float(m.group(2))
        tgt = None if label == "int64" else ">= 5x"
        add("numfmt", label, "ns per value", "ns", ours, "glibc snprintf %.15g", peer,
            target=tgt, ok=None if tgt is None else peer / ours >= 5)


def w_engine(cfg):
    out = run([cfg.bin("bench_engine"), cfg.pick(0.5, 3), cfg.pick(32, 64)])
    e = re.search(r"engine: .* CPU: ([\d.]+) ns per DS update", out)
    lb = re.search(r"librrd: .* CPU: ([\d.]+) ns per", out)
    mem = re.search(r"memory: .*ratio ([\d.]+)", out)
    if e and lb:
        ns, lns = float(e.group(1)), float(lb.group(1))
        add("W8 engine", "1024 VMs x 25 DS", "CPU per DS update", "ns", ns,
            "librrd rrd_update_r (tmpfs)", lns, target="<= 25 ns, >= 20x",
            ok=ns <= 25 and lns / ns >= 20)
    if mem:
        add("W8 engine", "1024 VMs x 25 DS", "heap / ring floor", "x", float(mem.group(1)),
            target="<= 1.1", ok=float(mem.group(1)) <= 1.1)


def w_rrdpeer(cfg):
    """W8: the same values to our engine, librrd in-process and rrdcached;
    W9 peer: rrdcached's journal replay after kill -9."""
    for vms in cfg.scales:
        # enough values that rrdcached's CPU (10 ms /proc resolution) counts
        ticks = min(2000, max(cfg.pick(24, 60), 400000 // (vms * 20)))
        d = tempfile.mkdtemp(prefix="rrdpeer-", dir="/dev/shm")
        try:
            rc = peers.Rrdcached(d, "cache")
            out = run([cfg.rrdpeer, vms, 20, ticks, d + "/files", rc.sock, rc.pid,
                       min(vms, 64)])
            rc.stop()
            r = json.loads(out.strip().splitlines()[-1])
            eng = r["engine"]["cpu"] * 1e9 / r["values"]
            lib = r["librrd"]["cpu"] * 1e9 / r["librrd"]["values"]
            c = r["rrdcached"]
            cached = (c["client_cpu"] + c["daemon_cpu"] + c["flush_daemon_cpu"]) * 1e9 / c["values"]
            scale = f"{vms} VMs x 20 DS"
            add("W8 RRD updates", scale, "CPU per DS value", "ns", eng, "librrd in-process", lib,
                target=">= 20x", ok=lib / eng >= 20)
            add("W8 RRD updates", scale, "CPU per DS value", "ns", eng,
                "rrdcached (client+daemon+flush)", cached)
            cfg.scaling.setdefault("engine ns/value", {})[vms] = eng
            if vms == 1024:
                cfg.facts["rrdcached_flush_1024"] = c["flush_wall"]
        finally:
            shutil.rmtree(d, ignore_errors=True)
    # rrdcached -j: kill -9 with a journal of pending updates, restart, time
    # to the first answer (the peer of W9)
    vms = 1024
    d = tempfile.mkdtemp(prefix="rrdpeer-", dir="/dev/shm")
    try:
        rc = peers.Rrdcached(d, "cache")
        run([cfg.rrdpeer, vms, 20, cfg.recovery_ticks, d + "/files", rc.sock, rc.pid, 0,
             "noflush"])
        jbytes = sum(os.path.getsize(os.path.join(rc.journal, f)) for f in os.listdir(rc.journal))
        rc.stop(signal.SIGKILL)
        rc2 = peers.Rrdcached(d, "cache", wait=False)
        t = rc2.wait_ping()
        rc2.stop()
        cfg.facts["rrdcached_recovery"] = (t, jbytes)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def w_tick(cfg):
    """W1 in-process: bench_tick at each scale (CPU p50/p99, RSS vs floor)."""
    for vms in cfg.scales:
        ticks = cfg.pick(60, 360 if vms <= 1024 else 180)
        # bench_tick adds dom0: a scenario holds at most 4096 VMs
        out = run([cfg.bin("bench_tick"), min(vms, 4095), ticks], timeout=7200)
        m = re.search(r"CPU per tick: p50 ([\d.]+) ms\s+p99 ([\d.]+) ms", out)
        mem = re.search(r"RSS ([\d.]+) MiB .*ring floor ([\d.]+) MiB", out)
        nds = re.search(r"holding (\d+) DSs", out)
        if not m:
            continue
        p50, p99 = float(m.group(1)), float(m.group(2))
        scale = f"{vms} VMs" + (f" ({nds.group(1)} DS)" if nds else "")
        tgt = {1024: 5.0, 4096: 20.0}.get(vms)
        add("W1 tick (bench_tick)", scale, "CPU per tick p50", "ms", p50)
        add("W1 tick (bench_tick)", scale, "CPU per tick p99", "ms", p99,
            target=f"<= {tgt:g} ms" if tgt else None, ok=(p99 <= tgt) if tgt else None)
        cfg.scaling.setdefault("bench_tick CPU p50 us/VM", {})[vms] = p50 * 1e3 / vms
        if nds:
            cfg.scaling.setdefault("bench_tick CPU p50 ns/DS", {})[vms] = p50 * 1e6 / int(
                nds.group(1))
        if mem:
            rss, floor = float(mem.group(1)), float(mem.group(2))
            add("W1 tick (bench_tick)", scale, "RSS (ring floor %.1f MiB)" % floor, "MiB", rss,
                target="<= 1.2 x floor + 32", ok=rss <= 1.2 * floor + 32)
            cfg.scaling.setdefault("bench_tick RSS KiB/VM", {})[vms] = rss * 1024 / vms


def w_daemon(cfg):
    """W1 whole daemon (sim clock, ticks back to back): wall time of each
    tick, CPU per tick, RSS; at 1024 VMs also W5 durability from its stop."""
    for vms in cfg.scales:
        ticks = cfg.pick(60, 360 if vms <= 1024 else 120)
        if vms < 1024:  # small hosts tick in well under 1 ms: enough of them for /proc's 10 ms
            ticks = max(ticks, 1200)
        # checkpoints inside the run (default: every hour), so that RSS is
        # measured after one, as it is in steady state
        d = Daemon(cfg.bdir, cfg.tmp, f"w1-{vms}", vms=vms, listen=False,
                   extra=["--checkpoint-interval", f"{cfg.ckpt_interval_s}s"])
        warm = 3
        samples = []

        def sample():
            try:
                samples.append((d.ticks(), proc_cpu(d.pid), proc_rss_mib(d.pid)))
            except OSError:
                pass

        d.wait_ticks(warm, sample=sample)
        samples.clear()
        sample()
        d.wait_ticks(warm + ticks, sample=sample)
        sample()
        ts = d.tick_times()
        dur = sorted(b - a for a, b in zip(ts[warm:], ts[warm + 1:]))
        (n0, c0, _), (n1, c1, rss) = samples[0], samples[-1]
        cpu_tick = (c1 - c0) / max(1, n1 - n0) * 1e3
        hwm = proc_rss_mib(d.pid, "VmHWM")
        nds = d.ds_count()
        durable = vms == 1024
        d.stop(signal.SIGTERM if durable else signal.SIGKILL)
        scale = f"{vms} VMs ({nds} DS)"
        w50, w99 = pct(dur, 0.5) * 1e3, pct(dur, 0.99) * 1e3
        add("W1 tick (daemon)", scale, "wall per tick p50", "ms", w50,
            target="< 50 ms" if vms == 1024 else None, ok=(w50 < 50) if vms == 1024 else None)
        add("W1 tick (daemon)", scale, "wall per tick p99", "ms", w99,
            target="< 50 ms" if vms == 1024 else None, ok=(w99 < 50) if vms == 1024 else None)
        add("W1 tick (daemon)", scale, "CPU per tick (mean, all threads)", "ms", cpu_tick)
        add("W1 tick (daemon)", scale, "RSS (after checkpoints)", "MiB", rss,
            note=f"peak (VmHWM) {hwm:.1f} MiB, {len(re.findall('checkpoint: [1-9]', d.log_text()))}"
            " checkpoints of every RRD in the run")
        cfg.scaling.setdefault("daemon CPU us/VM/tick", {})[vms] = cpu_tick * 1e3 / vms
        cfg.scaling.setdefault("daemon wall p50 us/VM/tick", {})[vms] = w50 * 1e3 / vms
        cfg.scaling.setdefault("daemon RSS KiB/VM", {})[vms] = rss * 1024 / vms
        cfg.facts[f"ds_{vms}"] = nds
        if durable:
            durability(cfg, d, n1)


def durability(cfg, d, ticks):
    text = d.log_text()
    cps = re.findall(r"checkpoint: (\d+) RRDs, (\d+) bytes, ([\d.]+) s; journal segment of "
                     r"(\d+) bytes", text)
    arch = re.findall(r"archives: (\d+) written .* in ([\d.]+) s", text)
    if cps:
        n, b, t, j = cps[-1]
        add("W5 durability", f"{n} RRDs", "checkpoint time", "s", float(t),
            "rrdcached flush of 1024 files", cfg.facts.get("rrdcached_flush_1024"),
            note=f"{int(b) / 1e6:.1f} MB written")
        # the first periodic checkpoint (cps[0] is the empty one at start)
        # replaced a journal of exactly one checkpoint interval
        if len(cps) >= 3:
            cycles = cfg.ckpt_interval_s // 5
            j = cps[1][3]
        else:
            cycles = ticks
        add("W5 durability", f"{n} RRDs", "journal per cycle", "KB", int(j) / max(1, cycles) / 1e3,
            note=f"{int(j) / 1e6:.1f} MB over {cycles} cycles")
    if arch:
        n, t = arch[-1]
        add("W5 durability", f"{n} RRDs", "archives of every RRD (stop)", "s", float(t))


def w_recovery(cfg):
    """W9: kill -9 after K ticks, restart on the same state, time until the
    first served request."""
    vms = 1024
    d = Daemon(cfg.bdir, cfg.tmp, "w9", vms=vms, strace=True)
    d.wait_ticks(cfg.recovery_ticks)
    d.stop(signal.SIGKILL)
    jbytes = 0
    for root, _, files in os.walk(os.path.join(d.dir, "journal")):
        jbytes += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    os.rename(d.logf, d.logf + ".1")
    d2 = Daemon(cfg.bdir, cfg.tmp, "w9", vms=vms, strace=False, state=d.dir)
    # the first answer from the recovered state: the host's latest rows (a
    # small answer, as rrdcached's PONG is); then the whole host RRD, whose
    # transfer alone (tens of MB at this scale) is W5's figure
    wait_http(d2.url("/rrd_updates?start=-10&host=true&vm_uuid=none&json=true"), 300, d2.p)
    t = time.monotonic() - d2.t_start
    wait_http(d2.url("/host_rrd"), 300, d2.p)
    t_full = time.monotonic() - d2.t_start
    rec = re.search(r"recovered .*", d2.log_text())
    d2.stop(signal.SIGKILL)
    peer = cfg.facts.get("rrdcached_recovery")
    add("W9 kill -9 recovery", f"{vms} VMs, {cfg.recovery_ticks} cycles",
        "restart to first served request", "s", t,
        "rrdcached -j replay (same values)", peer[0] if peer else None,
        note=f"journal {jbytes / 1e6:.1f} MB vs rrdcached {peer[1] / 1e6:.1f} MB" if peer else
        f"journal {jbytes / 1e6:.1f} MB")
    add("W9 kill -9 recovery", f"{vms} VMs, {cfg.recovery_ticks} cycles",
        "restart to a complete /host_rrd", "s", t_full)
    if rec:
        NOTES.append("W9: " + rec.group(0)[:200])


def wrk(url, conns, dur, threads=None):
    out = run(["wrk", f"-t{threads or min(conns, 2)}", f"-c{conns}", f"-d{dur}", "--latency",
               url], timeout=600)

    def ms(s):
        v = float(re.match(r"[\d.]+", s).group(0))
        return v / 1e3 if s.endswith("us") else v * 1e3 if s.endswith("s") and not s.endswith(
            "ms") else v

    lat = {q: ms(v) for q, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return dict(rps=rps, p50=lat.get("50"), p99=lat.get("99"), requests=reqs,
                non2xx=int(errs.group(1)) if errs else 0)


def w_http(cfg):
    """W3 polls, W4 long windows, W5 dumps, W6 OpenMetrics scrape (with the
    node exporter as the peer), plus the idle daemon's CPU and RSS at real
    clock (the rrdd side of the collectd comparison)."""
    for vms in cfg.http_scales:
        d = Daemon(cfg.bdir, cfg.tmp, f"http-{vms}", vms=vms, clock="real")
        wait_http(d.url("/host_rrd"), 300, d.p)
        d.wait_ticks(3, timeout=120)
        # idle window: CPU and RSS per 5 s tick at real time
        c0, n0 = proc_cpu(d.pid), d.ticks()
        time.sleep(cfg.idle_window)
        c1, n1, rss = proc_cpu(d.pid), d.ticks(), proc_rss_mib(d.pid)
        cfg.facts[f"idle_{vms}"] = dict(cpu_per_tick=(c1 - c0) / max(1, n1 - n0), rss=rss,
                                        ds=d.ds_count(), window=cfg.idle_window)
        dur = cfg.pick("5s", "15s")
        scale = f"{vms} VMs"
        for path, conns, label, tgt in (
                ("/rrd_updates?start=-10&host=true", 8, "W3 rrd_updates poll (8 conn)",
                 ("p99 < 20 ms, >= 1000 req/s", lambda r: r["p99"] < 20 and r["rps"] >= 1000)),
                ("/rrd_updates?start=-10&host=true", 1, "W3 rrd_updates poll (1 conn)", None),
                ("/rrd_updates?start=-600&host=true", 1, "W4 10-min window (1 conn)",
                 ("p99 < 300 ms", lambda r: r["p99"] < 300)),
                ("/rrd_updates?start=-7200&host=true", 1, "W4 2-h window (1 conn)", None)):
            size = len(http_get(d.url(path), 120))
            c0 = proc_cpu(d.pid)
            r = wrk(d.url(path), conns, dur)
            cpu_req = (proc_cpu(d.pid) - c0) / max(1, r["requests"]) * 1e3
            ok = tgt[1](r) if tgt and vms == 1024 else None
            add(label, scale, "req/s", "req/s", r["rps"], better="higher",
                target=tgt[0] if tgt and vms == 1024 else None, ok=ok,
                note=f"{size / 1e6:.2f} MB/answer, {cpu_req:.1f} ms daemon CPU/req"
                + (f", {r['non2xx']} non-2xx" if r["non2xx"] else ""))
            add(label, scale, "latency p99", "ms", r["p99"], note=f"p50 {r['p50']:.1f} ms")
            if label.startswith("W3") and conns == 1:
                cfg.scaling.setdefault("poll (1 conn) p50 us/VM", {})[vms] = r["p50"] * 1e3 / vms
            if label.startswith("W4 10-min"):
                cfg.scaling.setdefault("10-min window p50 us/VM", {})[vms] = r["p50"] * 1e3 / vms
        # W5 full dumps
        vm_uuid = re.search(r"vm ([0-9a-f-]{36}): new RRD", d.log_text()).group(1)
        for path, label in (("/host_rrd", "host_rrd"), (f"/vm_rrd?uuid={vm_uuid}", "vm_rrd")):
            times, size = [], 0
            for _ in range(cfg.pick(3, 10)):
                t0 = time.monotonic()
                size = len(http_get(d.url(path), 120))
                times.append((time.monotonic() - t0) * 1e3)
            add("W5 full dump " + label, scale, "time (median)", "ms", pct(times, 0.5),
                note=f"{size / 1e6:.2f} MB")
        # W6 OpenMetrics scrape vs the node exporter
        body = http_get(d.url("/metrics"), 120)
        series = sum(1 for ln in body.split(b"\n") if ln and not ln.startswith(b"#"))
        c0 = proc_cpu(d.pid)
        r = wrk(d.url("/metrics"), 1, dur, threads=1)
        cpu_scrape = (proc_cpu(d.pid) - c0) / max(1, r["requests"]) * 1e3
        ne = cfg.node_exporter
        add("W6 /metrics scrape", f"{scale} ({series} series)", "latency p50 per 1000 series",
            "ms", r["p50"] / series * 1000, "prometheus-node-exporter",
            ne["p50"] / ne["series"] * 1000 if ne else None,
            note=f"rrdd {r['p50']:.1f} ms, {cpu_scrape:.1f} ms CPU per scrape; node exporter "
            f"{ne['series']} series, {ne['p50']:.1f} ms" if ne else None)
        add("W6 /metrics scrape", f"{scale} ({series} series)", "bytes per series", "B",
            len(body) / series, "prometheus-node-exporter",
            ne["bytes"] / ne["series"] if ne else None)
        add("W6 /metrics scrape", f"{scale} ({series} series)", "CPU per 1000 series", "ms",
            cpu_scrape / series * 1000, "prometheus-node-exporter",
            ne["cpu"] / ne["series"] * 1000 if ne else None)
        d.stop(signal.SIGKILL)
        late = re.findall(r"tick took ([\d.]+) s", d.log_text())
        if late:
            NOTES.append(f"HTTP at {vms} VMs: {len(late)} late ticks during the load "
                         f"(longest {max(map(float, late)):.2f} s)")


def w_node_exporter(cfg):
    cfg.node_exporter = None
    try:
        ne = peers.NodeExporter(cfg.tmp)
    except Exception as e:  # the peer is optional: report why it is missing
        NOTES.append(f"node exporter not measured: {e}")
        return
    try:
        body = http_get(ne.url, 60)
        series = sum(1 for ln in body.split(b"\n") if ln and not ln.startswith(b"#"))
        c0 = proc_cpu(ne.pid)
        r = wrk(ne.url, 1, cfg.pick("5s", "15s"), threads=1)
        cpu = (proc_cpu(ne.pid) - c0) / max(1, r["requests"]) * 1e3
        cfg.node_exporter = dict(series=series, bytes=len(body), p50=r["p50"], cpu=cpu)
    finally:
        ne.stop()


def w_collectd(cfg):
    """W8c: collectd (unixsock PUTVAL in, rrdtool out) fed the same number of
    values every 5 s as rrdd's simulated host has DSs; CPU per interval and
    RSS over the same window as rrdd's idle window."""
    for vms in cfg.http_scales:
        idle = cfg.facts.get(f"idle_{vms}")
        if not idle:
            continue
        nds = idle["ds"]
        c = peers.Collectd(cfg.tmp, nds, cache_timeout=cfg.pick(30, 120))
        try:
            c.feed_for(10)  # warm-up: files created
            c0 = proc_cpu(c.pid)
            c.feed_for(cfg.idle_window)
            cpu = (proc_cpu(c.pid) - c0) / (cfg.idle_window / 5.0)
            rss = proc_rss_mib(c.pid)
        finally:
            c.stop()
        if c.errors or c.rrd_files() != len(c.files):
            warn(f"collectd: {c.errors} PUTVAL errors, {c.rrd_files()} of {len(c.files)} files")
        scale = f"{vms} VMs ({nds} DS, 5 s)"
        add("W8 daemon vs collectd", scale, "CPU per 5 s interval", "ms",
            idle["cpu_per_tick"] * 1e3, "collectd unixsock+rrdtool", cpu * 1e3,
            note=f"{cfg.idle_window} s window; rrdd includes sampling, journal, JSON dumps")
        add("W8 daemon vs collectd", scale, "RSS", "MiB", idle["rss"],
            "collectd unixsock+rrdtool", rss,
            note="not a fair pair: collectd keeps its rings on disk (page cache), rrdd in memory")


def w_plugins(cfg):
    out = run([cfg.bin("bench_plugins"), 32, 500, cfg.pick(50, 200)])
    rows = re.findall(r"^(.*?)\s+wall p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms\s+cpu p50\s+([\d.]+) ms"
                      r"\s+p99\s+([\d.]+) ms", out, re.M)
    got = {}
    for name, w50, w99, c50, c99 in rows:
        got[name.strip()] = (float(c50), float(c99))
    ours = [v for k, v in got.items() if "stable" in k]
    chg = [v for k, v in got.items() if "chang" in k]
    peer = [v for k, v in got.items() if "peer" in k or "json" in k]
    if ours:
        add("W2 plugin ingest", "32 x 500 DS, stable metadata", "CPU per tick p99", "ms",
            ours[0][1], "json-c parse per page (xcp-rrdd)", peer[0][1] if peer else None,
            target="< 1 ms", ok=ours[0][1] < 1)
    if chg:
        add("W2 plugin ingest", "32 x 500 DS, metadata changes every tick", "CPU per tick p99",
            "ms", chg[0][1], "json-c parse per page (xcp-rrdd)", peer[0][1] if peer else None)


def w_export(cfg):
    out = run([cfg.bin("bench_export"), cfg.pick(256, 1024), cfg.pick(1, 3)], timeout=3600)
    req = None
    for line in out.splitlines():
        m = re.match(r"(start=\S+):", line)
        if m:
            req = m.group(1)
        m = re.search(r"(XML|JSON)\s+([\d.]+) MB\s+ours\s+([\d.]+) M values/s.*snprintf peer\s+"
                      r"([\d.]+) M", line)
        if m and req:
            add("W4 export writers", f"{cfg.pick(256, 1024)} VMs {req} {m.group(1)}",
                "M values/s", "M/s", float(m.group(3)), "snprintf %.15g writer",
                float(m.group(4)), better="higher", note=f"{m.group(2)} MB")


def churn_scenario(path, pool, running, seconds, rate):
    """pool VMs, 'running' of them up at 0; every second 'rate' of the running
    ones shut down and 'rate' halted ones start, round robin."""
    lines = ["seed 11", "epoch 1700000000", f"host cpus=64 memory_mib={pool * 1024 + 8192}",
             "nic eth0 rx=1e6 tx=2e5",
             "vm dom0 uuid=0a0a0a0a-0000-4000-8000-0000000000a0 vcpus=2 memory_mib=4096 dom0",
             "load dom0 * 0.05"]
    for i in range(pool):
        name = f"v{i}"
        lines.append(f"vm {name} uuid={i:08x}-c0c0-4000-8000-{i:012x} vcpus=2 memory_mib=512"
                     + ("" if i < running else " halted"))
        lines.append(f"load {name} * 0.01")
        lines.append(f"vif {name} 0 rx={1000 + i} tx=2000")
        lines.append(f"vbd {name} xvda read=8192 write=4096")
    up = list(range(running))
    down = list(range(running, pool))
    for s in range(1, seconds + 1):
        for _ in range(rate):
            a = up.pop(0)
            b = down.pop(0)
            lines.append(f"at {s} shutdown v{a}")
            lines.append(f"at {s} start v{b}")
            down.append(a)
            up.append(b)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return len(lines)


def w_churn(cfg):
    """W7: VM start/stop at 10/s for minutes: RSS must not grow."""
    seconds = cfg.pick(300, 1800)
    pool, running = cfg.pick((256, 128), (1024, 512))
    scen = os.path.join(cfg.tmp, "churn.scn")
    churn_scenario(scen, pool, running, seconds, 10)
    shutil.copy(scen, os.path.join(RESULTS, "churn-last.scn")) if cfg.keep_scenario else None
    d = Daemon(cfg.bdir, cfg.tmp, "w7", scenario=scen, listen=False)
    ticks = seconds // 5
    samples = []

    def sample():
        try:
            samples.append((d.ticks(), proc_rss_mib(d.pid)))
        except OSError:
            pass

    d.wait_ticks(ticks, sample=sample)
    sample()
    d.stop(signal.SIGKILL)
    # every VM has stopped and started twice after 2 * pool/rate s (malloc
    # reaches its steady state by then): measure from there
    first = 2 * (pool // 10) // 5 + 2
    pts = [(t, r) for t, r in samples if t >= first and r]
    if len(pts) < 4:
        NOTES.append("W7: too few RSS samples")
        return
    r0, rm, r1 = pts[0][1], pts[len(pts) // 2][1], pts[-1][1]
    step = max(1, len(pts) // 40)
    cfg.facts["churn_rss"] = [(t, round(r, 2)) for t, r in pts[::step]]
    half = pts[len(pts) // 2:]
    n = len(half)
    mx = sum(t for t, _ in half) / n
    my = sum(r for _, r in half) / n
    sxx = sum((t - mx) ** 2 for t, _ in half) or 1
    slope = sum((t - mx) * (r - my) for t, r in half) / sxx  # MiB per tick
    per_hour = slope * 720
    scale = f"{pool} VMs, 10 starts + 10 stops /s, {seconds} s"
    add("W7 VM churn", scale, "RSS start / middle / end", "MiB", r1,
        note=f"{r0:.1f} / {rm:.1f} / {r1:.1f} MiB (start = tick {pts[0][0]}, all VMs seen)")
    # judged on what was measured (growth over the second half), not on
    # the extrapolated slope: a short run turns a few pages into MiB/h; and
    # on the medians of its first and last quarters, not on two samples: RSS
    # swings by a few MiB from tick to tick as departed VMs' memory is given
    # back (malloc_trim) and new VMs take pages again
    q = max(1, n // 4)
    g0 = sorted(r for _, r in half[:q])[q // 2]
    g1 = sorted(r for _, r in half[-q:])[q // 2]
    add("W7 VM churn", scale, "RSS slope (2nd half)", "MiB/h", per_hour,
        target="2nd-half growth < max(0.5 MiB, 1%)", ok=g1 - g0 <= max(0.5, 0.01 * g1),
        note=f"2nd half: {rm:.2f} -> {r1:.2f} MiB; medians of its first and last "
             f"quarters {g0:.2f} -> {g1:.2f} MiB")
    q0 = max(1, len(pts) // 4)
    a0 = sorted(r for _, r in pts[:q0])[q0 // 2]
    a1 = sorted(r for _, r in pts[-q0:])[q0 // 2]
    if a1 > 1.05 * a0:  # medians of the first and last quarters, as above
        warn(f"W7 VM churn: RSS grew from {a0:.1f} to {a1:.1f} MiB (medians of the first "
             f"and last quarters)")


def scaling_checks(cfg):
    """Per-VM costs should be flat: flag any step up of more than 1.3x."""
    for name, pts in cfg.scaling.items():
        xs = sorted(pts)
        for a, b in zip(xs, xs[1:]):
            if a >= 100 and pts[a] and pts[b] and pts[b] / pts[a] > 1.3:
                warn(f"superlinear: {name} grows {pts[b] / pts[a]:.2f}x per VM from {a} to {b} VMs")


def plot(cfg, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        NOTES.append("no plot: python3-matplotlib missing")
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, pts in sorted(cfg.scaling.items()):
        xs = sorted(pts)
        # relative to the first scale of 100 VMs or more: at 10 VMs the fixed
        # costs (host RRD, process) dominate the per-VM figure
        ref = [x for x in xs if x >= 100]
        xs = ref if len(ref) >= 2 else xs
        base = pts[xs[0]] or 1
        ax.plot(xs, [pts[x] / base for x in xs], marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.axhline(1.0, color="grey", lw=0.5)
    ax.axhline(1.3, color="red", lw=0.5, ls="--")
    ax.set_xlabel("simulated VMs")
    ax.set_ylabel("cost per VM (or per DS), relative to the first scale >= 100 VMs")
    ax.set_title(f"rrdd scaling ({cfg.commit}): flat = linear total cost")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return path


# ---------------------------------------------------------------- output

def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        if v == 0:
            return "0"
        a = abs(v)
        return f"{v:.0f}" if a >= 1000 else f"{v:.1f}" if a >= 10 else f"{v:.2f}" if a >= 0.1 \
            else f"{v:.3g}"
    return str(v)


def table(rows):
    hdr = ["workload", "scale", "metric", "rrdd", "peer", "peer value", "ratio", "target"]
    out = []
    for r in rows:
        tgt = r["target"] or ""
        if r["target_ok"] is not None:
            tgt += " ok" if r["target_ok"] else " MISSED"
        out.append([r["workload"], r["scale"], f"{r['metric']} [{r['unit']}]", fmt(r["rrdd"]),
                    r["peer"] or "", fmt(r["peer_value"]),
                    (fmt(r["ratio"]) + "x") if r["ratio"] else "", tgt.strip()])
    w = [max(len(str(x[i])) for x in out + [hdr]) for i in range(len(hdr))]
    lines = [" | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)),
             "-+-".join("-" * x for x in w)]
    for x in out:
        lines.append(" | ".join(str(c).ljust(w[i]) for i, c in enumerate(x)))
    return "\n".join(lines)


def markdown(rows):
    lines = ["| workload | scale | metric | rrdd | peer | peer value | ratio | target |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tgt = r["target"] or ""
        if r["target_ok"] is not None:
            tgt += " ok" if r["target_ok"] else " **missed**"
        lines.append(f"| {r['workload']} | {r['scale']} | {r['metric']} [{r['unit']}] | "
                     f"{fmt(r['rrdd'])} | {r['peer'] or ''} | {fmt(r['peer_value'])} | "
                     f"{(fmt(r['ratio']) + 'x') if r['ratio'] else ''} | {tgt.strip()} |")
    return "\n".join(lines)


def compare(old_path, rows):
    old = json.load(open(old_path))
    idx = {(r["workload"], r["scale"], r["metric"], r.get("peer")): r for r in old["rows"]}
    print(f"\n== compared with {old_path} ({old.get('commit')}, {old.get('date')})")
    for r in rows:
        o = idx.get((r["workload"], r["scale"], r["metric"], r.get("peer")))
        if not o or o["rrdd"] in (None, 0) or r["rrdd"] is None:
            continue
        ch = (r["rrdd"] - o["rrdd"]) / abs(o["rrdd"]) * 100
        good = (ch < 0) == (r["better"] == "lower")
        mark = "" if abs(ch) < 10 else (" better" if good else " WORSE")
        vs = ""
        if r.get("ratio") and o.get("ratio"):  # the ratio to the peer is steadier under load
            vs = f"   vs {r['peer'][:24]}: {fmt(o['ratio'])}x -> {fmt(r['ratio'])}x"
        print(f"{r['workload']:32.32} {r['scale']:32.32} {r['metric']:34.34} "
              f"{fmt(o['rrdd']):>9} -> {fmt(r['rrdd']):>9} {ch:+7.1f}%{mark}{vs}")


class Cfg:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 10 and 1024 VMs, short runs")
    ap.add_argument("--build", default=os.path.join(ROOT, "build-suite"))
    ap.add_argument("--compare", metavar="OLD.json")
    ap.add_argument("--only", help="comma-separated workload keys: " + ",".join(WORKLOADS))
    ap.add_argument("--no-install", action="store_true", help="fail instead of apt-get install")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--keep-scenario", action="store_true")
    ap.add_argument("--scales", help="comma-separated VM counts (default 10,1024 quick, "
                    "10,100,1024,4096 full)")
    ap.add_argument("--markdown", metavar="RESULTS.json",
                    help="print the table of a results file as markdown and exit")
    a = ap.parse_args()
    if a.markdown:
        res = json.load(open(a.markdown))
        print(markdown(res["rows"]))
        for w in res["warnings"]:
            print(f"\nWARNING: {w}")
        return

    cfg = Cfg()
    cfg.quick = a.quick
    cfg.pick = lambda q, f: q if a.quick else f
    cfg.bdir = os.path.abspath(a.build)
    cfg.bin = lambda n: os.path.join(cfg.bdir, n)
    cfg.scales = [10, 1024] if a.quick else [10, 100, 1024, 4096]
    cfg.http_scales = [1024] if a.quick else [1024, 4096]
    if a.scales:
        cfg.scales = [int(x) for x in a.scales.split(",")]
        cfg.http_scales = [x for x in cfg.scales if x >= 1024] or cfg.scales[-1:]
    cfg.idle_window = cfg.pick(30, 120)
    cfg.recovery_ticks = cfg.pick(24, 120)
    cfg.ckpt_interval_s = cfg.pick(120, 600)
    cfg.scaling, cfg.facts = {}, {}
    if max(cfg.scales) > 4095:
        NOTES.append("the daemon runs at 4096 VMs are 4095 domUs + dom0 (a simulated scenario "
                     "holds at most 4096 VMs); bench_tick's 4096 are domUs")
    cfg.keep_scenario = a.keep_scenario
    cfg.node_exporter = None
    cfg.commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                stdout=subprocess.PIPE, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "-uno"],
                           stdout=subprocess.PIPE, text=True).stdout.strip()
    os.makedirs(RESULTS, exist_ok=True)
    cfg.tmp = tempfile.mkdtemp(prefix="rrdd-suite-")
    started = time.time()
    load0 = os.getloadavg()
    installed = ensure_packages(not a.no_install)
    cfg.rrdpeer = os.path.join(cfg.bdir, "rrdpeer") if a.no_build else build(cfg.bdir)
    keys = a.only.split(",") if a.only else list(WORKLOADS)
    try:
        for k in keys:
            log(f"== {k}")
            try:
                WORKLOADS[k](cfg)
            except Exception as e:  # one broken workload must not hide the others
                import traceback
                traceback.print_exc()
                warn(f"workload {k} failed: {e}")
    finally:
        for p in list(CHILDREN):
            stop(p, signal.SIGKILL)
        shutil.rmtree(cfg.tmp, ignore_errors=True)
    scaling_checks(cfg)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M")
    png = plot(cfg, os.path.join(RESULTS, "scaling-quick.png" if a.quick else
                                 "scaling-latest.png")) \
        if cfg.scaling and not a.only and not a.scales else None
    res = dict(date=date, commit=cfg.commit, dirty=bool(dirty), mode="quick" if a.quick else "full",
               machine=machine(), loadavg_start=list(load0), wall_s=round(time.time() - started),
               installed=installed, rows=ROWS, facts=cfg.facts, scaling=cfg.scaling, warnings=WARNINGS,
               notes=NOTES, plot=os.path.relpath(png, ROOT) if png else None,
               command=" ".join(["bench/run.sh"] + sys.argv[1:]))
    # a partial run (--only, --scales) keeps its own file but leaves
    # latest.json to the last complete one
    paths = [os.path.join(RESULTS, f"{date}-{cfg.commit}.json")]
    if not a.only and not a.scales:
        paths.append(os.path.join(RESULTS, "latest.json"))
    for path in paths:
        with open(path, "w") as f:
            json.dump(res, f, indent=1)
    print()
    print(table(ROWS))
    print("\nScaling (cost per VM or per DS at each scale; should be flat):")
    for name, pts in sorted(cfg.scaling.items()):
        print(f"  {name:32} " + "  ".join(f"{x}: {fmt(pts[x])}" for x in sorted(pts)))
    for n in NOTES:
        print("note: " + n)
    for w in WARNINGS:
        print("WARNING: " + w)
    print(f"\nmachine: {res['machine']['cpus']} CPUs {res['machine']['cpu_model']}, load "
          f"{load0[0]:.1f} at start, {res['machine']['loadavg'][0]:.1f} at end; "
          f"{res['wall_s']} s; results in bench/results/{date}-{cfg.commit}.json"
          + (f", plot {res['plot']}" if png else ""))
    if a.compare:
        compare(a.compare, ROWS)
    if os.environ.get("SUITE_MARKDOWN"):
        print("\n" + markdown(ROWS))


WORKLOADS = {
    "numfmt": w_numfmt,
    "engine": w_engine,
    "rrdpeer": w_rrdpeer,
    "tick": w_tick,
    "plugins": w_plugins,
    "export": w_export,
    "daemon": w_daemon,
    "recovery": w_recovery,
    "nodeexp": w_node_exporter,
    "http": w_http,
    "collectd": w_collectd,
    "churn": w_churn,
}

if __name__ == "__main__":
    main()
