"""Probe: what clients and plugins can create is bounded.

--max-rrds 12 on a simulated host with 1 VM.  Before, 20 PUT /rrd of random
uuids with 1 DS x 1 M rows each added an RRD (RSS +124 MB, +77 MB of
journal, kept across restarts) and a plugin naming 500 new SR owners per
tick created 10,020 RRDs in 100 s.  Bounds: PUTs beyond the cap get 503
with the reason (and the RRDs before it are served); a plugin naming 500
new SR owners per tick for 30 s takes the slots freed by archiving 4 of the PUT RRDs and no
more, logged once; the daemon keeps ticking.  --max-dss 100 and a plugin offering 300
more host DSs: the host RRD records exactly 100, logged once.  PUT /rrd with a DS name holding ':' or a
name that repeats gets 400 (docs/differences.md)."""
import os
import time
import uuid

import hostile as A
import pages as P

ROWS = 20000


def rrd_xml(names, rows=ROWS):
    ds = "".join("<ds><name>%s</name><type>GAUGE</type><minimal_heartbeat>300"
                 "</minimal_heartbeat><min>0</min><max>Infinity</max><last_ds>0</last_ds>"
                 "<value>0</value><unknown_sec>0</unknown_sec></ds>" % n for n in names)
    cdp = "".join("<ds><primary_value>0</primary_value><secondary_value>0</secondary_value>"
                  "<value>0</value><unknown_datapoints>0</unknown_datapoints></ds>"
                  for _ in names)
    row = "<row>" + "<v>1.0</v>" * len(names) + "</row>"
    return ("<rrd><version>0003</version><step>5</step><lastupdate>%d</lastupdate>%s"
            "<rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><params><xff>0.5</xff>"
            "</params><cdp_prep>%s</cdp_prep><database>%s</database></rra></rrd>"
            % (int(time.time()) - 5, ds, cdp, row * rows)).encode()


def put(d, u, body):
    st, _, data, _ = d.request("PUT", "/rrd?uuid=%s&is_host=false" % u, body=body,
                               headers={"Content-Type": "text/xml"})
    return st, data


def owners_of(d):
    """(kind, uuid) of every VM and SR RRD (rrdd-tool show all, over the socket)."""
    import json
    import subprocess
    p = subprocess.run([A.T.TOOL, "show", "all", "--json"], capture_output=True, text=True,
                       env=dict(os.environ, RRDD_SOCKET=d.sock))
    A.check(p.returncode == 0, "rrdd-tool show all: %s" % p.stderr[-200:])
    if p.returncode:
        return set()
    return {(v["owner"], v["uuid"]) for v in json.loads(p.stdout)["values"]
            if v["owner"] in ("vm", "sr")}


def main():
    d = A.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "1",
                  "--max-rrds", "12"], name="rrdd-adv-caps-")
    plugdir = os.path.join(d.dir, "plugins")
    try:
        for _ in range(200):
            if d.get("/host_rrd")[0] == 200:
                break
            time.sleep(0.1)
        st, data = put(d, uuid.uuid4(), rrd_xml(["a:b"]))
        print("':' in a name: %s %r" % (st, data[:80]))
        A.check(st == 400 and b"':'" in data, "a DS name with ':' is refused with 400")
        st, data = put(d, uuid.uuid4(), rrd_xml(["x", "y", "x"]))
        print("repeated name: %s %r" % (st, data[:80]))
        A.check(st == 400 and b"repeated" in data, "a repeated DS name is refused with 400")
        codes, accepted = [], []
        for _ in range(20):
            u = str(uuid.uuid4())
            st, data = put(d, u, rrd_xml(["v"]))
            codes.append(st)
            if st == 200:
                accepted.append(u)
            elif st != 503 or b"--max-rrds" not in data:
                A.check(False, "PUT beyond the cap: %s %r" % (st, data[:80]))
        print("20 PUT /rrd of new uuids: %s" % codes)
        first = codes.index(503) if 503 in codes else len(codes)
        A.check(0 < first <= 11 and codes[first:] == [503] * (20 - first),
                "PUTs accepted until the cap (12 with the simulated owners), then 503: %s"
                % codes)
        A.check(all(d.get("/vm_rrd?uuid=" + u)[0] == 200 for u in accepted),
                "the accepted RRDs are served")
        # make room for the plugin: 4 out
        for u in accepted[:4]:
            A.H.rpc_proxy(d.sock).archive_rrd({"vm_uuid": u})
        # a plugin naming 500 new SR owners per tick
        t0 = time.time()
        k = 0
        while time.time() - t0 < 30:
            dss = []
            for _ in range(500):
                dss.append(("ds%d" % k, "sr %s" % uuid.uuid4(), "float", "gauge", True,
                            1.0))
                k += 1
            P.write_atomic(os.path.join(plugdir, "flood"), P.page_v2(time.time(), dss,
                                                                       pad=0))
            time.sleep(5)
        log = d.log()
        n_sr = sum(k == "sr" for k, _ in owners_of(d))
        print("after 30 s of the flood (500 new SRs a tick): %d SR RRDs; refusal logged %d "
              "time(s)" % (n_sr, log.count("the most kept (--max-rrds)")))
        # the PUTs filled the cap; archiving 4 of them freed exactly 4 slots
        A.check(n_sr == 4, "the plugin's SRs took the 4 free slots, no more (%d)" % n_sr)
        A.check(all(d.get("/vm_rrd?uuid=" + u)[0] == 200 for u in accepted[4:]),
                "the PUT RRDs not archived are still served")
        A.check(log.count("the most kept (--max-rrds)") == 1, "the refusal logged once")
        A.still_ticking(d)
    finally:
        d.stop()

    # data sources per RRD: a plugin adding 300 host DSs against --max-dss 100
    d = A.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "1",
                  "--max-dss", "100"], name="rrdd-adv-dss-")
    try:
        plugdir = os.path.join(d.dir, "plugins")
        t0 = time.time()
        while time.time() - t0 < 16:
            dss = [("flood_%03d" % k, "host", "float", "gauge", True, float(k))
                   for k in range(300)]
            P.write_atomic(os.path.join(plugdir, "dsflood"), P.page_v2(time.time(), dss,
                                                                         pad=0))
            time.sleep(5)
        import json
        st, _, body, _ = d.get("/host_rrd", accept="application/json")
        nds = len(json.loads(body)["ds"]) if st == 200 else -1
        log = d.log()
        print("host RRD after a plugin offered 300 more DSs: %d DSs (--max-dss 100); logged "
              "%d time(s)" % (nds, log.count("the most one RRD records")))
        A.check(nds == 100, "the host RRD records exactly 100 DSs (%d)" % nds)
        A.check(log.count("the most one RRD records") == 1, "logged once")
        A.check(A.skipped_ticks(d) == 0 and d.alive(), "ticking, alive")
    finally:
        d.stop()
    A.finish()


if __name__ == "__main__":
    main()
