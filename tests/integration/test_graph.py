"""GET /graph, GET /rrd_file and rrdd-tool export-rrd / graph against a running
rrdd (simulated host, real clock) with half an hour of history made first by
a fast simulated-clock run in the same state directory.

Checks: PNG signature and IHDR size, the decoded plot has many pixels of the
line colours (and few when the window holds no data: the counter can tell),
SVG parses with an <svg> root and a long path in the line colour, bad
parameters get 400 with one line, the .rrd file (rrdtool info/fetch) holds
exactly the rows rrd_updates reports at the same times, and the offline tool
does the same from an archive.  Needs rrdtool (the command) for fetch.
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rrddtest as T  # noqa: E402
import rrddhttp as H  # noqa: E402

check = T.check
HOST = "c0ffee00-1111-4222-8333-444455556666"
PALETTE = [(0x1f, 0x77, 0xb4), (0xd6, 0x27, 0x28)]


def png_decode(data):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit non-interlaced
    PNG of colour type 2, 6 or 3."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, plte = 8, b"", None
    w = h = depth = ctype = interlace = None
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            plte = [tuple(body[i:i + 3]) for i in range(0, len(body), 3)]
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    assert depth == 8 and interlace == 0 and ctype in (2, 3, 6), (depth, ctype, interlace)
    bpp = {2: 3, 3: 1, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    p = 0
    for _ in range(h):
        f = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        prev = line
        if ctype == 3:
            rows.append([plte[x] for x in line])
        else:
            rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
    return w, h, rows


def count_colour(rows, rgb):
    return sum(1 for row in rows for px in row if px == rgb)


def one_line(body):
    text = body.decode("utf-8", "replace")
    return text.endswith("\n") and text.count("\n") == 1


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def same(want, got):
    """want (a float32 row as rrdd prints it) equals got (rrdtool fetch's
    %.10e text of the stored double) to the 11 digits fetch prints; the
    unit test test_rrdfile checks exact equality through librrd."""
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    return abs(f32(want) - got) <= 1e-10 * abs(got) + 1e-300


def rrdtool_fetch(path, cf, start, end, res):
    out = subprocess.run(["rrdtool", "fetch", path, cf, "-r", str(res), "-s", str(start),
                          "-e", str(end)], capture_output=True, text=True, check=True).stdout
    lines = [l for l in out.splitlines() if l.strip()]
    names = lines[0].split()
    rows = {}
    for l in lines[1:]:
        t, vals = l.split(":", 1)
        rows[int(t)] = [float(v) if v.strip().lower() not in ("nan", "-nan") else math.nan
                        for v in vals.split()]
    return names, rows


def main():
    state = T.tmpdir("rrdd-graph-")
    now = int(time.time())
    # 30 minutes of history in seconds, archived at exit
    rc, log = T.run_rrdd(["--source", "sim", "--clock", "sim", "--sim-epoch", str(now - 1800),
                          "--run-for", "1780s", "--state-dir", state, "--host-uuid", HOST,
                          "--socket", "none", "--log-level", "notice"], timeout=120)
    if not check(rc == 0, "history run: %d %s" % (rc, log[-500:])):
        T.finish()
    archive = os.path.join(state, "rrds", HOST + ".gz")
    check(os.path.exists(archive), "host archive written")

    d = H.Daemon(["--source", "sim", "--clock", "real", "--state-dir", state,
                  "--host-uuid", HOST, "--listen", "127.0.0.1:0"], name="rrdd-graph-http-")
    try:
        run_http(d)
        run_tool(archive)
    finally:
        check(d.stop() == 0, "rrdd stopped cleanly")
    T.finish()


def run_http(d):
    # PNG: two DSs over the last 20 minutes
    st, hd, body, _ = d.get("/graph?ds=cpu0&ds=cpu1&start=-20m&width=640&height=240")
    check(st == 200, "graph 200: %d %r" % (st, body[:200]))
    check(hd.get("content-type") == "image/png", "png content type %r" % hd.get("content-type"))
    w, h, rows = png_decode(body)
    check((w, h) == (640, 240), "IHDR %dx%d" % (w, h))
    n0, n1 = count_colour(rows, PALETTE[0]), count_colour(rows, PALETTE[1])
    print("line pixels: cpu0 %d, cpu1 %d" % (n0, n1))
    check(n0 > 400 and n1 > 400, "lines drawn: %d %d pixels" % (n0, n1))
    # the same request over TCP gives the same kind of image
    st, hd, body_tcp, _ = d.get("/graph?ds=cpu0&start=-20m&width=300&height=150", tcp=True)
    check(st == 200 and png_decode(body_tcp)[:2] == (300, 150), "TCP graph 300x150")
    # an empty window (long before any data): only the legend swatch is coloured
    st, _, body, _ = d.get("/graph?ds=cpu0&ds=cpu1&start=1000000000&end=1000003600"
                           "&width=640&height=240")
    check(st == 200, "empty-window graph 200")
    _, _, rows = png_decode(body)
    e0 = count_colour(rows, PALETTE[0])
    print("line pixels, empty window: %d" % e0)
    check(e0 < n0 / 4, "empty window has few line pixels: %d vs %d" % (e0, n0))

    # SVG
    st, hd, body, _ = d.get("/graph?ds=cpu_avg&start=-15m&format=svg&title=cpu%20avg")
    check(st == 200 and hd.get("content-type") == "image/svg+xml",
          "svg 200: %d %r" % (st, hd.get("content-type")))
    root = ET.fromstring(body)
    check(root.tag.endswith("svg"), "svg root: %s" % root.tag)
    strokes = 0
    for el in root.iter():
        style = el.get("style") or ""
        if el.tag.endswith("path") and "stroke:rgb(12.1" in style and \
                el.get("d", "").count("L") >= 20:
            strokes += 1
    check(strokes >= 1, "svg has a long path in the line colour")

    # bad parameters: 400 and one line
    for q, why in [("width=5", "width"), ("format=gif", "format"), ("ds=nope*", "no data source"),
                   ("ds=cpu0&start=-1h&end=-2h", "start < end"), ("foo=1", "unknown parameter"),
                   ("width=400&width=500", "twice"), ("start=yesterday", "start"),
                   ("cf=MEDIAN", "cf"), ("height=99999", "height")]:
        st, _, body, _ = d.get("/graph?" + q)
        check(st == 400 and one_line(body) and why.encode() in body,
              "graph?%s: 400 with one line mentioning %r, got %d %r" % (q, why, st, body))
    st, _, body, _ = d.get("/graph?uuid=00000000-0000-0000-0000-000000000000")
    check(st == 404 and one_line(body), "unknown uuid: 404, got %d" % st)
    st, _, body, _ = d.get("/graph")  # every host DS: more than can be drawn
    check(st == 400 and b"at most" in body, "too many DSs: %d %r" % (st, body))

    # concurrent renders: each answers 200 or 503 (bounded), the daemon stays up
    results = []

    def one():
        try:
            results.append(d.get("/graph?ds=cpu*&start=-30m")[0])
        except OSError as e:
            results.append(str(e))
    ths = [threading.Thread(target=one) for _ in range(10)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    check(all(r in (200, 503) for r in results) and results.count(200) >= 1,
          "concurrent graphs: %r" % results)
    check(d.alive(), "daemon alive after renders")

    # .rrd export: mapping, then the file, then rrd_updates; compare rows
    st, _, body, _ = d.get("/rrd_file?mapping")
    mapping = json.loads(body)
    names = [m["rrdtool"] for m in mapping]
    check(len(set(names)) == len(names), "rrdtool names unique")
    check(all(0 < len(n) <= 19 and all(c.isalnum() or c == "_" for c in n) for n in names),
          "rrdtool names valid")
    st, hd, rrd, _ = d.get("/rrd_file")
    check(st == 200 and hd.get("content-type") == "application/octet-stream", "rrd_file 200")
    tmp = T.tmpdir("rrdd-graph-file-")
    path = os.path.join(tmp, "host.rrd")
    with open(path, "wb") as f:
        f.write(rrd)
    info = subprocess.run(["rrdtool", "info", path], capture_output=True, text=True,
                          check=True).stdout
    check("step = 5" in info, "rrdtool info: step 5")
    t_up = int(time.time()) - 300
    st, _, body, _ = d.get("/rrd_updates?start=%d&host=true&json=true" % t_up)
    upd = json.loads(body)
    # host columns only (VMs have DSs of the same names)
    legend = [l.split(":")[-1] if l.split(":")[1] == "host" else None
              for l in upd["meta"]["legend"]]
    full = [m["ds"] for m in mapping]
    check(upd["meta"]["step"] == "5", "rrd_updates of 5 minutes uses 5 s rows")
    fnames, frows = rrdtool_fetch(path, "AVERAGE", t_up - 5, int(upd["meta"]["end"]), 5)
    check(fnames == names, "fetch DS names are the mapping's")
    compared = mismatched = 0
    for row in upd["data"]:
        t = int(row["t"])
        if t not in frows:
            continue
        for name, v in zip(legend, row["values"]):
            if name is None or name not in full:
                continue
            got = frows[t][full.index(name)]
            want = float(v)
            compared += 1
            if not same(want, got):
                mismatched += 1
                if mismatched < 5:
                    print("mismatch t=%d %s: updates %r fetch %r" % (t, name, v, got))
    print("rrd_file vs rrd_updates: %d values compared, %d mismatched" % (compared, mismatched))
    check(compared >= 40 * len(full), "enough values compared: %d" % compared)
    check(mismatched == 0, "rrd_file rows equal rrd_updates rows")
    st, _, body, _ = d.get("/rrd_file?uuid=nope")
    check(st == 404, "rrd_file unknown uuid 404")
    st, _, body, _ = d.get("/rrd_file?bogus=1")
    check(st == 400 and one_line(body), "rrd_file bad parameter 400")


def run_tool(live_archive):
    tmp = T.tmpdir("rrdd-graph-tool-")
    # the running daemon owns this state directory and rewrites the archive
    # (its post-start checkpoint); both tools must read the same snapshot
    archive = os.path.join(tmp, "snapshot.gz")
    shutil.copyfile(live_archive, archive)
    out = os.path.join(tmp, "a.rrd")
    p = subprocess.run([T.TOOL, "export-rrd", archive, out], capture_output=True, text=True)
    check(p.returncode == 0, "export-rrd: %s" % p.stderr)
    lines = [l.split("\t") for l in p.stdout.splitlines()]
    full = [l[1] for l in lines]
    short = [l[0] for l in lines]
    dump = T.dump_json(archive)
    ds_names = [x["name"] for x in dump["ds"]] if isinstance(dump.get("ds"), list) else None
    if ds_names is not None:
        check(full == ds_names, "export-rrd mapping lists every DS in order")
    # -590, not -600: when the last update falls on a 5 s boundary, -600 is
    # exactly the 5 s ring's span and rrd_updates (as xcp-rrdd's
    # find_best_rras, strict comparison) moves to the 60 s archive
    upd = T.dump_updates(archive, -590)
    last = max(t for s in upd.values() for t, _ in s)
    fnames, frows = rrdtool_fetch(out, "AVERAGE", last - 590, last, 5)
    check(fnames == short, "tool file DS names")
    compared = bad = 0
    for name, series in upd.items():
        if name not in full:
            continue
        col = full.index(name)
        for t, v in series:
            if t in frows:
                got = frows[t][col]
                compared += 1
                if not same(v, got):
                    bad += 1
                    if bad < 5:
                        print("mismatch t=%d %s: archive %r file %r" % (t, name, v, got))
    print("export-rrd vs archive rrd_updates: %d compared, %d mismatched" % (compared, bad))
    check(compared > 1000 and bad == 0, "tool export rows: %d compared %d bad" % (compared, bad))
    svg = os.path.join(tmp, "g.svg")
    p = subprocess.run([T.TOOL, "graph", archive, svg, "ds=cpu0", "start=-10m"],
                       capture_output=True, text=True)
    check(p.returncode == 0, "tool graph: %s" % p.stderr)
    if p.returncode == 0:
        check(ET.parse(svg).getroot().tag.endswith("svg"), "tool graph svg root")
    p = subprocess.run([T.TOOL, "graph", archive, svg, "width=1"], capture_output=True,
                       text=True)
    check(p.returncode == 2 and "width" in p.stderr, "tool graph bad width: usage error")


if __name__ == "__main__":
    main()
