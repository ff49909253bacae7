"""Probe: a slow answer never costs another client its answer.

One event thread and a 3 s idle timeout (--http-threads 1 --http-timeout 3);
a client calls send_host_rrd_to_master towards a peer that hangs for 6 s (the call
blocks that long); meanwhile a client on a kept-alive connection sends its
second request.  Before the workers, the event thread sat in the call, the
idle sweep closed the waiting connection unanswered when it got back.
Bounds: the waiting client is answered within 2 s, while the slow call is
still running; the slow call itself ends with an answer (an RPC error)."""
import http.client
import threading
import time
import xmlrpc.client

import hostile as A


def main():
    d = A.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "1",
                  "--http-threads", "1", "--http-timeout", "3", "--listen", "127.0.0.1:0",
                  "--insecure-listen"], name="rrdd-adv-slow-")
    hole = A.Blackhole(6)
    try:
        # on the same listener as the waiting client (one event thread)
        ls = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/" % d.port, allow_none=True)
        for _ in range(200):  # the host's RRD (the call sends it)
            if d.get("/host_rrd")[0] == 200:
                break
            time.sleep(0.1)
        # a kept-alive TCP connection, used once
        keep = http.client.HTTPConnection("127.0.0.1", d.port, timeout=20)
        keep.request("GET", "/rrd_updates?start=0&host=true")
        r = keep.getresponse()
        r.read()
        A.check(r.status == 200, "first request on the kept-alive connection: 200")
        slow = {}

        def call():
            t0 = time.monotonic()
            try:
                ls.send_host_rrd_to_master({"master_address": "http://127.0.0.1:%d" % hole.port})
                slow["res"] = "ok"
            except xmlrpc.client.Fault as e:
                slow["res"] = "fault " + e.faultString
            except Exception as e:  # noqa: BLE001
                slow["res"] = "%s %s" % (type(e).__name__, e)
            slow["t"] = time.monotonic() - t0

        th = threading.Thread(target=call)
        th.start()
        time.sleep(1.0)  # the call is now blocked on the hanging peer
        t0 = time.monotonic()
        try:
            keep.request("GET", "/rrd_updates?start=0&host=true")
            r = keep.getresponse()
            r.read()
            got = r.status
        except Exception as e:  # noqa: BLE001
            got = "%s: %s" % (type(e).__name__, e)
        took = time.monotonic() - t0
        still = th.is_alive()
        print("waiting client: %s in %.2f s (slow call still running: %s)" % (got, took, still))
        A.check(got == 200, "the kept-alive client is answered (got %s)" % got)
        A.check(took < 2.0, "within 2 s (took %.2f s)" % took)
        A.check(still, "the slow call was still running when it was answered")
        th.join(60)
        print("slow call: %s after %.1f s" % (slow.get("res"), slow.get("t", -1)))
        A.check(slow.get("t", 99) >= 5.0 and "res" in slow,
                "the slow call ran its course and was answered: %s" % slow)
        A.check(d.alive(), "daemon alive")
    finally:
        hole.close()
        d.stop()
    A.finish()


if __name__ == "__main__":
    main()
