#!/usr/bin/env python3
"""rrdd-tool as a user runs it: every rrd_updates case of
tests/fixtures/rrd_updates/queries.json through `rrdd-tool updates`
(RRDs loaded from the fixture XML states, in the case's order) must give the
reference output byte for byte, or fail with the expected No_RRA_Available;
archives load through `dump`; bad input gives a one-line message naming the
problem and a non-zero exit status, never a crash."""
import json
import os
import subprocess
import sys
import tempfile

BUILD = os.environ.get("RRDD_BUILD", "build")
FIX = os.environ.get("RRDD_FIXTURES", os.path.join(os.path.dirname(__file__), "../fixtures"))
TOOL = os.path.join(BUILD, "rrdd-tool")
UPD = os.path.join(FIX, "rrd_updates")
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s %s" % (name, detail))


def run(args, **kw):
    return subprocess.run([TOOL] + args, capture_output=True, **kw)


def updates_cases():
    q = json.load(open(os.path.join(UPD, "queries.json")))
    for cid, c in sorted(q["cases"].items()):
        a = c["export_args"]
        srcs = ["%s=%s" % (q["rrds"][r]["legend_prefix"], os.path.join(UPD, q["rrds"][r]["state"]))
                for r in c["rrd_order"]]
        base = ["updates", "--start", str(a["start"])]
        if a.get("interval_given") or a["interval"]:
            base += ["--interval", str(a["interval"])]
        if a["cf"]:
            base += ["--cf", a["cf"]]
        for fmt in ("xml", "json"):
            args = base + (["--json"] if fmt == "json" else []) + srcs
            if not srcs:  # no RRD at all: the tool needs at least one source
                continue
            r = run(args)
            if c["expected_error"]:
                check("%s %s" % (cid, fmt), r.returncode == 1 and b"No_RRA_Available" in r.stderr,
                      "expected No_RRA_Available, got exit %d" % r.returncode)
            else:
                ref = open(os.path.join(UPD, c["outputs"][fmt]), "rb").read()
                check("%s %s" % (cid, fmt), r.returncode == 0 and r.stdout == ref,
                      "exit %d, %d bytes vs %d" % (r.returncode, len(r.stdout), len(ref)))


def archives():
    arc = os.path.join(FIX, "archive")
    gz = os.path.join(arc, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0.gz")
    r = run(["dump", gz, "--format", "internal"])
    ref = open(os.path.join(arc, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0.loaded.internal.xml"), "rb").read()
    check("dump gzip archive", r.returncode == 0 and r.stdout == ref)
    r = run(["dump", gz, "--format", "json"])
    ref = open(os.path.join(arc, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0.loaded.json"), "rb").read()
    check("dump gzip archive as JSON", r.returncode == 0 and r.stdout == ref)


def bad_input():
    d = tempfile.mkdtemp(prefix="rrdd-cli-")
    cases = [
        ("not JSON", ["replay"], '{"step":5', b"not JSON"),
        ("bad DS type", ["replay"], '{"step":5,"created":1000,"datasources":[{"name":"a","type":"GAUGEX"}],"rras":[]}',
         b"bad type"),
        ("bad rra", ["replay"], '{"step":5,"created":1000,"datasources":[],"rras":[{"cf":"AVG","rows":1,"pdp_per_row":1,"xff":0.5}]}',
         b"bad cf"),
        ("unknown DS in update", ["replay"],
         '{"step":5,"created":1000,"datasources":[],"rras":[],"updates":[[1005,{"x":1}]]}', b"unknown datasource"),
        ("truncated archive", ["dump"], open(os.path.join(FIX, "archive", "base.internal.xml")).read()[:3000],
         b"truncated"),
        ("swapped elements", ["dump"], open(os.path.join(FIX, "archive", "v11_element_order_swapped.xml")).read(),
         b"expected <step>"),
        ("binary garbage", ["dump"], "\x01\x02garbage", b""),
    ]
    for name, cmd, content, needle in cases:
        p = os.path.join(d, "input")
        open(p, "w").write(content)
        r = run(cmd + [p])
        err = r.stderr.decode(errors="replace").strip()
        check("bad input: " + name, r.returncode == 1 and needle in r.stderr and len(err.splitlines()) == 1,
              "exit %d, stderr %r" % (r.returncode, err))
    r = run(["replay", os.path.join(d, "missing.json")])
    check("missing file", r.returncode == 1 and b"No such file" in r.stderr)
    r = run(["frobnicate"])
    check("unknown command", r.returncode == 2 and b"usage" in r.stderr)
    r = run(["replay", os.path.join(FIX, "engine", "c01_gauge.input.json"), "--updates"])
    check("--updates without --start", r.returncode == 2 and b"--start" in r.stderr)
    r = run(["replay", os.path.join(FIX, "engine", "c01_gauge.input.json"), "--cf", "max", "--updates",
             "--start", "-10"])
    check("lower-case cf refused", r.returncode == 2 and b"unknown cf" in r.stderr)


def main():
    updates_cases()
    archives()
    bad_input()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
