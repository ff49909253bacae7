"""Probe: long query strings get an answer, quickly.

Before, 2,000 vm_uuid parameters (a 90 KB URL) overflowed libmicrohttpd's
per-connection memory while it parsed them: the connection was closed
without an answer, or hung for the 30 s timeout.  Bounds: 2,000 and 5,000
vm_uuid parameters are answered 200 (one of them a real VM, which is in
the answer); 20,000 tiny parameters and 12,000 vm_uuid parameters get 414
from rrdd (a query's bytes plus 64 per parameter over 768 KiB);
a 2 MB URL gets 414 or 431 from libmicrohttpd; each within 5 s, on TCP and
on the Unix socket; 20 such requests cut off before their headers end
leave it alive, and the daemon keeps ticking."""
import http.client
import re
import time
import uuid

import hostile as A


def ask(d, path, tcp):
    t0 = time.monotonic()
    try:
        if tcp:
            c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
        else:
            c = A.H.UnixHTTPConnection(d.sock, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        st = r.status
    except Exception as e:  # noqa: BLE001
        st, body = "%s: %s" % (type(e).__name__, e), b""
    return st, body, time.monotonic() - t0


def ask_raw(d, path, tcp):
    """Send the request whole even if the server answers early and closes
    (a client that reads the answer after a failed send, as curl does)."""
    import socket
    t0 = time.monotonic()
    if tcp:
        s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(d.sock)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    except OSError:
        pass
    try:
        head = s.recv(64)
    except OSError as e:
        head = repr(e).encode()
    s.close()
    m = re.match(rb"HTTP/1\.[01] (\d+)", head)
    return (int(m.group(1)) if m else head), head, time.monotonic() - t0


def main():
    d = A.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "2",
                  "--listen", "127.0.0.1:0"], name="rrdd-adv-query-")
    try:
        vm = None
        for _ in range(200):
            st, _, body, _ = d.get("/rrd_updates?start=0&host=true")
            m = re.search(rb":vm:([0-9a-f-]{36}):", body)
            if m:
                vm = m.group(1).decode()
                break
            time.sleep(0.1)
        A.check(vm is not None, "a VM with an RRD")
        for tcp in (True, False):
            where = "TCP" if tcp else "Unix"
            for n in (2000, 5000):
                q = "&".join(["vm_uuid=%s" % uuid.uuid4() for _ in range(n - 1)] +
                             ["vm_uuid=%s" % vm])
                st, body, took = ask(d, "/rrd_updates?start=-10&" + q, tcp)
                print("%s: %d vm_uuid (%d bytes): %s in %.2f s" % (where, n, len(q), st, took))
                A.check(st == 200 and vm.encode() in body and took < 5,
                        "%s: %d vm_uuid answered 200 with the VM within 5 s (%s, %.1f s)"
                        % (where, n, st, took))
            for what, q in (("20000 tiny parameters", "&".join(["a"] * 20000)),
                            ("12000 vm_uuid", "&".join("vm_uuid=%s" % uuid.uuid4()
                                                       for _ in range(12000)))):
                st, body, took = ask(d, "/rrd_updates?start=-10&" + q, tcp)
                print("%s: %s: %s %r in %.2f s" % (where, what, st, body[:60], took))
                A.check(st == 414 and took < 5, "%s: %s: 414 within 5 s (%s)"
                        % (where, what, st))
            st, body, took = ask_raw(d, "/rrd_updates?start=-10&x=" + "y" * (2 << 20), tcp)
            print("%s: 2 MB URL: %s in %.2f s" % (where, st, took))
            A.check(st in (414, 431) and took < 5, "%s: a 2 MB URL: 414 or 431 within 5 s (%s)"
                    % (where, st))
        # a long query whose request ends before its headers do (the client
        # goes away): nothing to answer, nothing to crash on
        import socket
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            s.sendall(("GET /rrd_updates?" + "&".join(["a"] * 20000) +
                       " HTTP/1.1\r\nHost: x\r\n").encode())
            s.close()
        time.sleep(1)
        A.check(d.alive(), "alive after 20 long requests cut off before their headers ended")
        A.still_ticking(d)
    finally:
        d.stop()
    A.finish()


if __name__ == "__main__":
    main()
