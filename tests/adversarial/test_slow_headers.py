"""Probe: clients that send their request headers slowly cannot hold the
listener's slots.

300 TCP connections each send one header line every 4 s and never finish
(a slowloris), against --max-connections 64 with the 30 s idle timeout
(each line resets it), with --max-connections-per-address 1000 so the
per-address cap does not hide the guard.  Before the guard they held every
slot for as long as they liked and other clients timed out.  Bounds, held
for 40 s of attack: a normal client (new connection, one GET on TCP) is
answered within 10 s every time; the attackers' connections are closed by
the header deadline (10 s) or to free slots; the daemon's ticks are not
skipped.  Then the per-address cap: with its default of 64, the 65th
connection from one address is refused at once."""
import socket
import threading
import time

import hostile as A

N = 300
ATTACK_S = 40


def main():
    d = A.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "2",
                  "--listen", "127.0.0.1:0", "--insecure-listen", "--max-connections", "64",
                  "--max-connections-per-address", "1000"], name="rrdd-adv-loris-")
    stop = threading.Event()
    stats = {"opened": 0, "closed_by_server": 0}
    lock = threading.Lock()

    def loris():
        while not stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
                s.sendall(b"GET /rrd_updates?start=0 HTTP/1.1\r\nHost: x\r\n")
                with lock:
                    stats["opened"] += 1
                while not stop.is_set():
                    time.sleep(4)
                    s.sendall(b"X-Slow: 1\r\n")
                    s.settimeout(0.01)
                    try:
                        if s.recv(1) == b"":
                            raise OSError("closed")
                    except socket.timeout:
                        pass
            except OSError:
                with lock:
                    stats["closed_by_server"] += 1
            time.sleep(0.1)

    try:
        ts = [threading.Thread(target=loris, daemon=True) for _ in range(N)]
        for t in ts:
            t.start()
        t0 = time.monotonic()
        worst, fails, n = 0.0, [], 0
        time.sleep(5)
        while time.monotonic() - t0 < ATTACK_S:
            st, took = A.timed_get(d, "/rrd_updates?start=-10&host=true", tcp=True, timeout=20)
            n += 1
            worst = max(worst, took)
            if st != 200 or took > 10.0:
                fails.append("%s in %.1f s" % (st, took))
            time.sleep(1)
        print("normal client: %d requests during the attack, worst %.2f s, failures %s"
              % (n, worst, fails[:5]))
        print("attackers: %d connections opened, %d closed by the server"
              % (stats["opened"], stats["closed_by_server"]))
        A.check(not fails, "every normal request answered 200 within 10 s: %s" % fails[:5])
        A.check(stats["closed_by_server"] >= N,
                "the slow connections were closed (%d)" % stats["closed_by_server"])
        A.check(A.skipped_ticks(d) == 0, "no tick skipped")
        A.check("sent no request in time" in d.log(), "the guard logged what it closed")
    finally:
        stop.set()
        d.stop()

    # the per-address cap at its default
    d = A.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "1",
                  "--listen", "127.0.0.1:0"], name="rrdd-adv-peraddr-")
    try:
        held = [socket.create_connection(("127.0.0.1", d.port), timeout=5) for _ in range(64)]
        time.sleep(0.5)
        extra = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        extra.settimeout(5)
        try:
            extra.sendall(b"GET /rrd_updates?start=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            got = extra.recv(100)
        except OSError as e:
            got = e
        print("65th connection from 127.0.0.1: %r" % (got,))
        A.check(got == b"" or isinstance(got, ConnectionResetError),
                "the 65th connection from one address is refused (%r)" % (got,))
        for s in held:
            s.close()
        time.sleep(0.5)
        st, took = A.timed_get(d, "/rrd_updates?start=-10", tcp=True)
        A.check(st == 200, "a connection is accepted again once they are gone (%s)" % st)
    finally:
        d.stop()
    A.finish()


if __name__ == "__main__":
    main()
