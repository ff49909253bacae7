"""--rrdcached: rrdd forwards every 5 s row to a real rrdcached on loopback
(Debian package rrdcached, started here on a Unix socket in a temp dir).

Checks: a remote file per RRD (host and VMs) is created; after a flush,
`rrdtool fetch` of each file gives, at every time rrd_updates also reports,
the value rrd_updates reports (within float32 precision), with the DS names
of GET /rrd_file?mapping; when rrdcached goes away rrdd keeps ticking and
serving, warns once, and when it comes back reconnects and forwards again.
Bounded: about 45 s.
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rrddtest as T  # noqa: E402
import rrddhttp as H  # noqa: E402

check = T.check


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def start_rrdcached(tmp):
    sock = os.path.join(tmp, "sock")
    base = os.path.join(tmp, "base")
    os.makedirs(base, exist_ok=True)
    p = subprocess.Popen(["rrdcached", "-g", "-l", "unix:" + sock, "-b", base, "-B", "-F",
                          "-w", "3600", "-f", "7200", "-p", os.path.join(tmp, "pid")],
                         stdout=open(os.path.join(tmp, "rrdcached.log"), "a"),
                         stderr=subprocess.STDOUT)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    return p, sock, base


def stop_rrdcached(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def fetch(sock, path, start, end):
    subprocess.run(["rrdtool", "flushcached", "--daemon", "unix:" + sock, path], check=True,
                   capture_output=True)
    out = subprocess.run(["rrdtool", "fetch", path, "AVERAGE", "-r", "5", "-s", str(start),
                          "-e", str(end)], capture_output=True, text=True, check=True).stdout
    lines = [l for l in out.splitlines() if l.strip()]
    names = lines[0].split()
    rows = {}
    for l in lines[1:]:
        t, vals = l.split(":", 1)
        rows[int(t)] = [math.nan if "nan" in v.lower() else float(v) for v in vals.split()]
    return names, rows


def main():
    if not shutil.which("rrdcached"):
        print("rrdcached is not installed (apt-get install rrdcached)", file=sys.stderr)
        sys.exit(1)
    tmp = T.tmpdir("rrdd-rrdcached-")
    rc_proc, sock, base = start_rrdcached(tmp)
    d = None
    try:
        d = H.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "2",
                      "--rrdcached", "unix:" + sock, "--rrdcached-dir", base,
                      "--log-level", "info"], name="rrdd-rcd-")
        time.sleep(21)  # four or five ticks
        compare(d, sock, base)
        outage(d, tmp, rc_proc)
    finally:
        if d:
            check(d.stop() == 0, "rrdd stopped cleanly")
            log = d.log()
            check("rrdcached:" in log and "rows sent" in log, "final forwarding statistics")
        stop_rrdcached(rc_proc)
    T.finish()


def compare(d, sock, base):
    t0 = int(time.time()) - 300
    st, _, body, _ = d.get("/rrd_updates?start=%d&host=true&json=true" % t0)
    check(st == 200, "rrd_updates 200")
    upd = json.loads(body)
    check(upd["meta"]["step"] == "5", "5 s rows")
    legend = upd["meta"]["legend"]
    owners = {}
    for i, l in enumerate(legend):
        cf, kind, uuid, ds = l.split(":", 3)
        owners.setdefault(uuid, []).append((i, ds))
    check(len(owners) >= 3, "host and two VMs in rrd_updates: %d" % len(owners))
    total = bad = known_rows = 0
    for uuid, cols in sorted(owners.items()):
        path = os.path.join(base, uuid + ".rrd")
        if not check(os.path.exists(path), "remote file for %s" % uuid):
            continue
        st, _, body, _ = d.get("/rrd_file?mapping&uuid=" + uuid)
        mapping = {m["ds"]: m["rrdtool"] for m in json.loads(body)}
        names, rows = fetch(sock, path, t0 - 5, int(upd["meta"]["end"]))
        seen_known = 0
        for row in upd["data"]:
            t = int(row["t"])
            if t not in rows:
                continue
            any_known = False
            for i, ds in cols:
                short = mapping.get(ds)
                if short not in names:
                    bad += 1
                    continue
                want = float(row["values"][i])
                got = rows[t][names.index(short)]
                if math.isnan(got):
                    continue  # not forwarded yet (the newest row) or unknown
                any_known = True
                total += 1
                if math.isnan(want) or abs(f32(want) - got) > 1e-7 * abs(got) + 1e-30:
                    bad += 1
                    if bad < 5:
                        print("mismatch %s %s t=%d: rrd_updates %r rrdcached %r" %
                              (uuid, ds, t, row["values"][i], got))
            if any_known:
                seen_known += 1
        check(seen_known >= 2, "%s: at least two forwarded rows (%d)" % (uuid, seen_known))
        known_rows += seen_known
    print("rrdcached vs rrd_updates: %d values compared over %d rows, %d mismatched" %
          (total, known_rows, bad))
    check(total >= 100, "enough values compared: %d" % total)
    check(bad == 0, "forwarded values equal rrd_updates within float32 precision")


def outage(d, tmp, rc_proc):
    stop_rrdcached(rc_proc)
    t_down = time.time()
    time.sleep(11)  # two ticks with rrdcached gone
    check(d.alive(), "rrdd alive while rrdcached is down")
    t = time.time()
    st, _, _, _ = d.get("/rrd_updates?start=-10&host=true")
    check(st == 200 and time.time() - t < 5, "rrdd serves while rrdcached is down")
    log = d.log()
    warns = log.count("rows are dropped until it answers")
    check(warns == 1, "the outage is logged once: %d" % warns)
    rc2, sock, base = start_rrdcached(tmp)
    try:
        connected = False
        for _ in range(40):
            if d.log().count("rrdcached: connected to") >= 1 and \
                    "rrdcached: connected to" in d.log()[len(log):]:
                connected = True
                break
            time.sleep(0.5)
        check(connected, "reconnected after rrdcached came back")
        time.sleep(6)
        st, _, body, _ = d.get("/rrd_file?mapping")
        host = [f for f in os.listdir(base) if f.endswith(".rrd")]
        newest = 0
        for f in host:
            subprocess.run(["rrdtool", "flushcached", "--daemon", "unix:" + sock,
                            os.path.join(base, f)], capture_output=True)
            out = subprocess.run(["rrdtool", "last", os.path.join(base, f)],
                                 capture_output=True, text=True).stdout.strip()
            if out.isdigit():
                newest = max(newest, int(out))
        check(newest > t_down + 5, "rows forwarded after the outage (last %d, down at %d)" %
              (newest, t_down))
    finally:
        stop_rrdcached(rc2)


if __name__ == "__main__":
    main()
