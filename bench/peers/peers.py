"""Peer daemons of the benchmark suite (bench/suite.py): rrdcached on a Unix
socket, prometheus-node-exporter on a loopback port, and collectd fed
PUTVAL lines over its unixsock plugin with its rrdtool output plugin.

Each class starts its own instance in a directory the suite gives it, as a
child process, and stops only that child.  Nothing here judges a figure.
"""
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _which(name):
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    raise RuntimeError(f"{name} is not installed")


class Rrdcached:
    """rrdcached -g (foreground) with a journal, files under DIR/files."""

    def __init__(self, d, name, wait=True):
        self.sock = os.path.join(d, name + ".sock")
        self.base = os.path.join(d, "files")
        self.journal = os.path.join(d, name + ".journal")
        os.makedirs(self.base, exist_ok=True)
        os.makedirs(self.journal, exist_ok=True)
        self.t_start = time.monotonic()
        self.logf = open(os.path.join(d, name + ".log"), "a")
        # -w 3600: nothing written back during the run (the flush at the end
        # is measured apart); -B: only files under the base directory
        self.p = subprocess.Popen(
            [_which("rrdcached"), "-g", "-l", "unix:" + self.sock, "-b", self.base, "-B", "-w",
             "3600", "-z", "1", "-j", self.journal, "-p", os.path.join(d, name + ".pid")],
            stdout=self.logf, stderr=subprocess.STDOUT)
        self.pid = self.p.pid
        if wait:
            self.wait_ping()

    def wait_ping(self, timeout=300):
        """Seconds from the start of the process to its first PONG."""
        while time.monotonic() - self.t_start < timeout:
            if self.p.poll() is not None:
                raise RuntimeError(f"rrdcached exited {self.p.returncode}")
            try:
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(10)
                s.connect(self.sock)
                s.sendall(b"PING\n")
                ans = s.recv(64)
                s.close()
                if b"PONG" in ans:
                    return time.monotonic() - self.t_start
            except OSError:
                pass
            time.sleep(0.005)
        raise RuntimeError("rrdcached does not answer")

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(600)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()


class NodeExporter:
    """prometheus-node-exporter on a loopback port (its default collectors)."""

    def __init__(self, tmp):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        self.logf = open(os.path.join(tmp, "node-exporter.log"), "w")
        self.p = subprocess.Popen(
            [_which("prometheus-node-exporter"), f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.logf, stderr=subprocess.STDOUT)
        self.pid = self.p.pid
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60:
            if self.p.poll() is not None:
                raise RuntimeError(f"node exporter exited {self.p.returncode}")
            try:
                urllib.request.urlopen(self.url, timeout=5).read()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("node exporter does not answer")

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait(60)
        self.logf.close()


def _is_derive(i):
    return i % 5 < 2  # the mix of rrdpeer.c: 40 % counters, 60 % gauges


class Collectd:
    """collectd -f with unixsock (input: PUTVAL) and rrdtool (output), fed
    nds values every 5 s as files of 20 DSs (custom types vm20, vmK), the
    RRA time spans of xcp-rrdd's VM RRDs (10 min, 2 h, 1 week, 1 year) at
    120 rows each.  collectd's rrdtool plugin always keeps AVERAGE, MIN and
    MAX (it has no AVERAGE-only setting)."""

    PER_FILE = 20

    def __init__(self, tmp, nds, cache_timeout=120):
        self.dir = tempfile.mkdtemp(prefix="collectd-", dir=tmp)
        os.makedirs(os.path.join(self.dir, "rrd"), exist_ok=True)
        self.sock = os.path.join(self.dir, "sock")
        self.files = []
        left = nds
        while left > 0:
            k = min(self.PER_FILE, left)
            self.files.append(k)
            left -= k
        with open(os.path.join(self.dir, "types.db"), "w") as f:
            for k in sorted(set(self.files)):
                dss = ", ".join(f"v{i}:{'DERIVE' if _is_derive(i) else 'GAUGE'}:0:U"
                                for i in range(k))
                f.write(f"vm{k} {dss}\n")
        conf = os.path.join(self.dir, "collectd.conf")
        with open(conf, "w") as f:
            f.write(f"""Hostname "bench"
FQDNLookup false
BaseDir "{self.dir}"
PIDFile "{self.dir}/pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db" "{self.dir}/types.db"
Interval 5
WriteThreads 1
LoadPlugin unixsock
LoadPlugin rrdtool
<Plugin unixsock>
  SocketFile "{self.sock}"
</Plugin>
<Plugin rrdtool>
  DataDir "{self.dir}/rrd"
  CacheTimeout {cache_timeout}
  CacheFlush {cache_timeout * 4}
  WritesPerSecond 0
  RRARows 120
  RRATimespan 600
  RRATimespan 7200
  RRATimespan 604800
  RRATimespan 31622400
  XFF 0.5
</Plugin>
""")
        self.logf = open(os.path.join(self.dir, "log"), "w")
        self.p = subprocess.Popen([_which("collectd"), "-f", "-C", conf], stdout=self.logf,
                                  stderr=subprocess.STDOUT)
        self.pid = self.p.pid
        t0 = time.monotonic()
        self.conn = None
        while time.monotonic() - t0 < 60:
            if self.p.poll() is not None:
                raise RuntimeError(f"collectd exited {self.p.returncode}")
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.sock)
                self.conn = s
                self.rf = s.makefile("rb")
                break
            except OSError:
                time.sleep(0.05)
        if self.conn is None:
            raise RuntimeError("collectd's unixsock does not answer")
        self.tick = 0
        self.next = time.monotonic()
        self.errors = 0

    def _send_interval(self):
        self.tick += 1
        t = self.tick
        lines = []
        for j, k in enumerate(self.files):
            vals = []
            for i in range(k):
                h = (j * 2654435761 + i * 40503 + t * 9973) & 0xffffff
                vals.append(str(t * 524288 + (h & 0xfffff)) if _is_derive(i)
                            else repr(h / 16777216.0))
            lines.append(f'PUTVAL "bench/xen-vm{j}/vm{k}" interval=5 N:{":".join(vals)}\n')
        for a in range(0, len(lines), 100):
            chunk = lines[a:a + 100]
            self.conn.sendall("".join(chunk).encode())
            for _ in chunk:
                ans = self.rf.readline()
                if not ans.startswith(b"0 "):
                    self.errors += 1

    def feed_for(self, seconds):
        """Send every value once per 5 s for this long (the feeder is this
        process, not collectd)."""
        end = time.monotonic() + seconds
        while True:
            if self.next >= end:
                time.sleep(max(0.0, end - time.monotonic()))
                return
            time.sleep(max(0.0, self.next - time.monotonic()))
            self._send_interval()
            self.next += 5

    def rrd_files(self):
        n = 0
        for _, _, files in os.walk(os.path.join(self.dir, "rrd")):
            n += sum(1 for f in files if f.endswith(".rrd"))
        return n

    def stop(self):
        try:
            self.conn.close()
        except OSError:
            pass
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(300)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()
