"""Probe: a flood of connections handed over on the forwarded socket costs
bounded threads and memory, and the daemon keeps ticking.

The simulated host with 1024 domains.  300 hand-overs of GET /host_rrd
whose clients never read, plus 100 control connections that never send
their message.  Before, each hand-over got its own thread (266 threads,
2.5 GB, a skipped tick in the report) and the acceptor waited 5 s on each
silent control connection.  Bounds: at most 8 hand-over workers (threads
grow by at most 8 + 2), RSS grows by at most 8 copies of the RRD's text,
the silent control connections are dropped after 5 s, hand-overs beyond
the slots (256) are refused, a normal
hand-over gets its answer or a 503 (all slots held) within 10 s, and one
after the non-readers' idle timeout (20 s) is answered; the Unix socket
answers within 10 s throughout, no tick is skipped."""
import json
import socket
import time

import hostile as A

REQ = {"m": "Get", "path": "/host_rrd", "query": {}, "version": "1.0"}


def hand_over(d, req, keep):
    """The client end of a handed-over connection, or None when the daemon
    refused the control connection (all its hand-over slots taken)."""
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.connect(d.fwd)
    try:
        ctl.sendmsg([json.dumps(req).encode()],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, b.fileno().to_bytes(4, "little"))])
    except OSError:
        a.close()
        ctl.close()
        return None
    finally:
        b.close()
    keep.extend([a, ctl])
    return a


def main():
    d = A.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "1023",
                  "--http-timeout", "20"], name="rrdd-adv-fwd-")
    keep = []
    try:
        size = A.host_rrd_size(d)
        base_rss, base_thr = A.rss_mb(d.p.pid), A.threads_of(d.p.pid)
        peak_rss, peak_thr = base_rss, base_thr
        for _ in range(100):  # silent control connections
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(d.fwd)
            keep.append(c)
        refused = sum(hand_over(d, REQ, keep) is None for _ in range(300))
        t0 = time.monotonic()
        worst, fails = 0.0, []
        while time.monotonic() - t0 < 15:
            peak_rss = max(peak_rss, A.rss_mb(d.p.pid))
            peak_thr = max(peak_thr, A.threads_of(d.p.pid))
            st, took = A.timed_get(d, "/rrd_updates?start=-10&host=true", timeout=20)
            worst = max(worst, took)
            if st != 200 or took > 10:
                fails.append("%s in %.1f s" % (st, took))
            time.sleep(0.5)
        # one more hand-over, behind the flood: answered within 10 s
        t1 = time.monotonic()
        a = hand_over(d, {"m": "Get", "path": "/rrd_updates",
                          "query": {"start": "-10", "host": "true"}, "version": "1.1"}, keep)
        head = b"refused"
        if a:
            a.settimeout(30)
            try:
                head = a.recv(12)
            except OSError as e:
                head = repr(e).encode()
        late = time.monotonic() - t1
        print("host RRD %.1f MB; threads %d -> peak %d; RSS %.0f -> peak %.0f MB; Unix socket "
              "worst %.2f s; %d of 300 hand-overs refused; late hand-over: %r after %.1f s"
              % (size / 1e6, base_thr, peak_thr, base_rss, peak_rss, worst, refused, head,
                 late))
        A.check(peak_thr <= base_thr + 10, "threads bounded (%d -> %d)" % (base_thr, peak_thr))
        A.check(peak_rss <= base_rss + 8 * size / 2**20,
                "RSS bounded (%.0f -> %.0f MB)" % (base_rss, peak_rss))
        A.check(not fails, "the Unix socket answered within 10 s: %s" % fails[:5])
        A.check((head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.1 503"))
                and late < 10,
                "the late hand-over was answered (or refused) within 10 s (%r after %.1f s)"
                % (head, late))
        # the non-readers go at their idle timeout (20 s): slots free again
        time.sleep(10)
        a = hand_over(d, {"m": "Get", "path": "/rrd_updates",
                          "query": {"start": "-10", "host": "true"}, "version": "1.1"}, keep)
        head = b"refused"
        if a:
            a.settimeout(30)
            head = a.recv(12)
        print("after the idle timeout: %r" % head)
        A.check(head.startswith(b"HTTP/1.1 200"), "a hand-over is answered once the "
                "non-readers timed out (%r)" % head)
        A.still_ticking(d)
    finally:
        for s in keep:
            s.close()
        d.stop()
    A.finish()


if __name__ == "__main__":
    main()
