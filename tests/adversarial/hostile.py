"""Helpers of the hostile-load probes (tests/adversarial): a daemon to attack
(rrddhttp.Daemon), its resident memory and skipped ticks, a timed client
request, and peers that misbehave.  Not a test itself."""
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "integration"))
import rrddhttp as H  # noqa: E402
import rrddtest as T  # noqa: E402

check = T.check
finish = T.finish
Daemon = H.Daemon


def rss_mb(pid):
    """Resident set size of pid, MiB (VmRSS of /proc/PID/status)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def threads_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def skipped_ticks(d):
    """Ticks the daemon reported skipped so far (its 'tick took' lines)."""
    return sum(int(n) for n in re.findall(r"tick took [\d.]+ s: (\d+) tick\(s\) skipped",
                                          d.log()))


def timed_get(d, path, tcp=False, timeout=30):
    """(status or the exception's text, seconds) of one GET on a new connection."""
    t0 = time.monotonic()
    try:
        st, _, _, _ = d.request("GET", path, tcp=tcp, timeout=timeout)
    except Exception as e:  # noqa: BLE001 - the probe reports what the client saw
        st = "%s: %s" % (type(e).__name__, e)
    return st, time.monotonic() - t0


def host_rrd_size(d):
    """Wait for the host's RRD and a tick after it; the bytes of its text."""
    size = 0
    for _ in range(300):
        st, _, body, _ = d.get("/host_rrd")
        if st == 200:
            size = len(body)
            break
        time.sleep(0.1)
    check(size > 1 << 20, "the host RRD text is large (%d bytes)" % size)
    time.sleep(6)  # a tick with the RRD's copy and render done
    return size


def non_readers(d, n, request, into):
    """n connections on the Unix socket that send request and never read."""
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(d.sock)
        s.sendall(request)
        into.append(s)


def memory_back(d, base, what):
    """Wait up to 45 s for RSS to come back within 64 MiB of base."""
    after = rss_mb(d.p.pid)
    for _ in range(90):
        if after <= base + 64:
            break
        time.sleep(0.5)
        after = rss_mb(d.p.pid)
    print("RSS %.0f MB after %s left" % (after, what))
    check(after <= base + 64, "memory given back: %.0f MB, started at %.0f MB" % (after, base))


def still_ticking(d):
    check(skipped_ticks(d) == 0, "no tick skipped")
    check(d.alive(), "daemon alive")


class Blackhole:
    """A TCP peer that accepts and then says nothing for hold seconds before
    closing (a remote host that hangs)."""

    def __init__(self, hold):
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(64)
        self.port = self.s.getsockname()[1]
        self.hold = hold
        self.conns = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Timer(self.hold, c.close).start()

    def close(self):
        self.s.close()
