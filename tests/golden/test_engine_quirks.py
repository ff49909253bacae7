#!/usr/bin/env python3
"""Golden test over tests/fixtures/engine_quirks/: traces that trigger
xcp-rrdd's engine quirks, which rrdd corrects on purpose
(docs/differences.md).  Every trace is judged by the documented rules,
whatever its shape, with the two models of rrdmodel.py:

1. The reference rules (docs/wire-format.md §2, the fixtures' Addenda)
   reproduce the reference's file exactly: every ring cell, CDP and DS
   accumulator, and the updates it refused.  A reference behaviour the docs
   do not describe fails here.
2. The same rules with every row of the differences table on rrdd's side
   reproduce what `rrdd-tool replay` writes, exactly.  A difference rrdd
   makes that the table does not describe fails here.
3. So every cell where rrdd differs from the reference is explained by the
   rows the reference model applied on that trace (reported per trace); a
   row number the table does not list fails, and every row of the table
   must be applied by some trace unless the table says another test shows it
   (the differential test against librrd).
"""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import rrdmodel as M

BUILD = os.environ.get("RRDD_BUILD", "build")
SRC = os.environ.get("RRDD_SRC") or os.path.join(os.path.dirname(__file__), "..", "..")
FIX = os.environ.get("RRDD_FIXTURES", os.path.join(os.path.dirname(__file__), "../fixtures"))
TOOL = os.path.join(BUILD, "rrdd-tool")
DIR = os.path.join(FIX, "engine_quirks")
DIFFERENCES = os.path.join(SRC, "docs", "differences.md")


def replay(path):
    r = subprocess.run([TOOL, "replay", path, "--format", "internal"], capture_output=True)
    if r.returncode:
        raise RuntimeError("rrdd-tool failed: " + r.stderr.decode())
    return ET.fromstring(r.stdout)


def differing_cells(a, b):
    n = 0
    for ra, rb in zip(a.findall("rra"), b.findall("rra")):
        for rowa, rowb in zip(ra.find("database"), rb.find("database")):
            n += sum(not M.same(M.num(x.text), M.num(y.text)) for x, y in zip(rowa, rowb))
    return n


def check(cid, meta, documented):
    errs = []
    path = os.path.join(DIR, meta["files"]["input"])
    trace = M.load_trace(path)
    ref_xml = ET.parse(os.path.join(DIR, meta["files"]["internal_xml"])).getroot()
    ref = M.Ref(trace).replay(trace)
    errs += M.compare(ref.export(), ref_xml, "reference rules vs the reference")
    want_exc = [e["update_index"] for e in meta.get("update_exceptions", [])]
    if [k for k, _ in ref.exceptions] != want_exc:
        errs.append("reference rules refuse updates %s, the reference %s"
                    % ([k for k, _ in ref.exceptions], want_exc))
    try:
        ours = replay(path)
    except RuntimeError as e:
        return errs + [str(e)], ref.events, 0
    errs += M.compare(M.Rrdd(trace).replay(trace).export(), ours, "rrdd rules vs rrdd")
    diff = differing_cells(ours, ref_xml)
    if diff and not ref.events:
        errs.append("%d cells differ but no documented rule applies" % diff)
    for row in sorted(set(ref.events) - documented):
        errs.append("rule %d is not a row of docs/differences.md" % row)
    return errs, ref.events, diff


def main():
    table = M.documented_rows(DIFFERENCES)
    documented = set(table)
    index = json.load(open(os.path.join(DIR, "index.json")))
    failed, seen = 0, {}
    for cid in sorted(index):
        errs, events, diff = check(cid, index[cid], documented)
        for row in events:
            seen.setdefault(row, []).append(cid)
        print("%s: %s; %d ring cells differ from the reference; rules applied: %s"
              % (cid, "FAILED" if errs else "ok", diff,
                 ", ".join("%d (x%d)" % (r, n) for r, n in sorted(events.items())) or "none"))
        for e in errs[:12]:
            print("   ", e)
        failed += bool(errs)
    for row in sorted(documented):
        if row in seen:
            print("row %d: applied by %s" % (row, ", ".join(seen[row])))
        elif "librrd" in table[row]:
            print("row %d: no quirk trace applies it; shown by the librrd differential test" % row)
        else:
            print("row %d: no trace applies it, and the table names no other test: FAILED" % row)
            failed += 1
    print("%d traces, %d failed" % (len(index), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
