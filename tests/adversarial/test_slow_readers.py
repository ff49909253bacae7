"""Probe: clients that ask for a large answer and never read it hold a
bounded amount of memory, and give it back when they go.

The simulated host with 1024 domains (its host RRD is tens of MB of XML).
200 clients on the Unix socket each ask for /host_rrd and never read, held
for 20 s (four ticks, so the RRD changes under them); meanwhile another
client gets rrd_updates.  Before, each held its own copy of the RRD and of
its text: RSS grew by about 20 MB per client (4.27 GB for 200 in the
report) and stayed.  Bounds: RSS grows by at most 8 copies of the text
(one shared copy per generation being sent, at most one per tick for 20 s,
and the renders in flight), the other client is answered within 10 s each
time, no tick is skipped, and within 45 s of the readers going (their idle
timeout is 30 s) RSS is back within 64 MiB of where it started.

Then 100 clients ask for an rrd_updates answer too large to be rendered
whole (every VM's daily archive: a copy of its values is kept per client)
and never read.  Bound: RSS grows by at most the documented 1 GiB of live
answers plus 64 MiB, the clients beyond it get 503, and the memory is given
back when they go."""
import time

import hostile as A

N = 200
HOLD_S = 20


def main():
    d = A.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "1023"],
                 name="rrdd-adv-readers-")
    socks = []
    try:
        size = A.host_rrd_size(d)
        base = A.rss_mb(d.p.pid)
        peak = base
        A.non_readers(d, N, b"GET /host_rrd HTTP/1.0\r\n\r\n", socks)
        t0 = time.monotonic()
        worst, fails = 0.0, []
        while time.monotonic() - t0 < HOLD_S:
            peak = max(peak, A.rss_mb(d.p.pid))
            st, took = A.timed_get(d, "/rrd_updates?start=-10&host=true", timeout=20)
            worst = max(worst, took)
            if st != 200 or took > 10:
                fails.append("%s in %.1f s" % (st, took))
            time.sleep(0.5)
        ceiling = base + 8 * size / 2**20
        print("host RRD %.1f MB; RSS %.0f MB before, peak %.0f MB with %d readers (ceiling "
              "%.0f MB); other client worst %.2f s" % (size / 1e6, base, peak, N, ceiling, worst))
        A.check(peak <= ceiling, "RSS peak %.0f MB within %.0f MB" % (peak, ceiling))
        A.check(not fails, "the other client is answered within 10 s: %s" % fails[:5])
        for s in socks:
            s.close()
        socks = []
        A.memory_back(d, base, "the readers")
        # large streamed rrd_updates answers
        big = "/rrd_updates?start=0&host=true&interval=86400"
        base = A.rss_mb(d.p.pid)
        peak = base
        A.non_readers(d, 100, ("GET %s HTTP/1.0\r\n\r\n" % big).encode(), socks)
        refused = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 15:
            peak = max(peak, A.rss_mb(d.p.pid))
            time.sleep(0.5)
        for s in socks:
            s.settimeout(0.2)
            try:
                if s.recv(12).startswith(b"HTTP/1.1 503"):
                    refused += 1
            except OSError:
                pass
        print("streamed rrd_updates: RSS %.0f MB before, peak %.0f MB with 100 readers, %d "
              "refused with 503" % (base, peak, refused))
        A.check(peak <= base + 1024 + 64, "RSS peak %.0f MB within 1 GiB + 64 MiB of %.0f MB"
                % (peak, base))
        A.check(refused > 0, "clients beyond the bound were refused with 503")
        for s in socks:
            s.close()
        socks = []
        A.memory_back(d, base, "they")
        A.still_ticking(d)
    finally:
        for s in socks:
            s.close()
        d.stop()
    A.finish()


if __name__ == "__main__":
    main()
