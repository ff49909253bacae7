"""Load test of the HTTP exports (issue 4, "A load test"): 64 concurrent
clients poll rrd_updates for a bounded time against 1024 simulated VMs with
the real clock, while the daemon keeps its 5-second ticks.

Clients: most send the typical XenCenter / Xen Orchestra poll
(start=-10&host=true&json=true, every VM), a few the long windows
(start=-600: the 10-minute 5-s archive; start=-3600: the 1-minute archive);
most over TCP with keep-alive, some over the Unix socket.  A GET on a
kept-alive connection that the server closed while it was idle is sent
again once on a new connection, as HTTP clients do (it is idempotent); any
other failure counts.  Every answer must be 200, application/json, strict JSON with meta.rows rows of
meta.columns values each, a legend of meta.columns unique entries naming
the host and all 1024 VMs, row times end - i*step, and the legend entries of
the host and of sampled VMs exactly the DSs x CFs of their full RRDs
(/host_rrd, /vm_rrd) at the answer's step.  Identical bodies are validated
once (a body byte-identical to a validated one is valid).

Ticks: the daemon's exit line must report 0 late and 0 skipped ticks and at
least as many ticks as the run lasted, and the row times the typical polls
saw must advance in 5-second steps without a gap (every tick's data was
served).  The cache must have done its job: renders bounded by ticks x
distinct queries, not by requests.

RRDD_LOAD_SECONDS sets the polling time (default 60; CI may shorten it,
not below 20).  No timing is judged: throughput is printed, not asserted.
"""
import hashlib
import http.client
import multiprocessing as mp
import os
import re
import sys
import threading
import time
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rrddtest as T  # noqa: E402
import rrddhttp as H  # noqa: E402

SECONDS = max(20.0, float(os.environ.get("RRDD_LOAD_SECONDS", "60")))
NVMS = 1024  # --sim-domains 1023 plus dom0
# 64 clients in 4 processes (one GIL each): 16 typical polls per process in
# the first three, and 12 typical polls with the 4 long windows in the last
PROCS = 4
THREADS = 16

# (name, query, window seconds)
TYPICAL = ("typical", "start=-10&host=true&json=true", 10)
LONG600 = ("long600", "start=-600&host=true&json=true", 600)
LONG3600 = ("long3600", "start=-3600&host=true&json=true", 3600)


# A number as xcp-rrdd's f_to_s prints it: "%.15g", "0.0", NaN, +-Infinity.
NUM = r"(?:-?(?:[0-9]+(?:\.[0-9]+)?(?:e[-+][0-9]+)?|Infinity)|NaN)"
NUM_RE = re.compile(NUM)
ROW_RE = re.compile(NUM + "(?:," + NUM + ")*")


def client_plan(i):
    """Which query client i sends, and over which transport."""
    if i in (48, 49):
        q = LONG600
    elif i in (50, 51):
        q = LONG3600
    else:
        q = TYPICAL
    unix = i % 8 == 7  # 8 clients on the Unix socket
    return q, unix


class Expect:
    """What every answer must contain, from the full RRDs."""

    def __init__(self, host_uuid, host_rrd, vm_rrds):
        self.host_uuid = host_uuid
        self.host_rrd = host_rrd
        self.vm_rrds = vm_rrds  # uuid -> full RRD JSON

    @staticmethod
    def entries(kind, uuid, rrd, step):
        """Legend entries of one RRD for an answer of this step: every DS
        for every archive of that row step, as CF:kind:uuid:ds."""
        base = int(rrd["step"])
        out = set()
        for rra in rrd["rra"]:
            if int(rra["pdp_per_row"]) * base == step:
                for ds in rrd["ds"]:
                    out.add("%s:%s:%s:%s" % (rra["cf"], kind, uuid, ds["name"]))
        return out


def validate(body, window, exp):
    """Check one answer; returns (summary, errors)."""
    errs = []
    try:
        doc = H.strict_json(body)
    except ValueError as e:
        return None, ["not strict JSON: %s" % e]
    try:
        meta, data = doc["meta"], doc["data"]
        rows, cols = int(meta["rows"]), int(meta["columns"])
        step, end = int(meta["step"]), int(meta["end"])
        legend = meta["legend"]
    except (KeyError, TypeError, ValueError) as e:
        return None, ["bad meta: %r" % e]
    if len(data) != rows:
        errs.append("%d rows in data, meta.rows %d" % (len(data), rows))
    if len(legend) != cols or len(set(legend)) != cols:
        errs.append("legend: %d entries (%d unique), meta.columns %d" %
                    (len(legend), len(set(legend)), cols))
    # rows cover the window: floor(window/step) or one more (a start inside
    # a row), at most the length of the host's archive of that step (the
    # host is the export's first RRD)
    arch_rows = [len(r["database"]) for r in exp.host_rrd["rra"]
                 if int(r["pdp_per_row"]) * int(exp.host_rrd["step"]) == step]
    want_lo, want_hi = max(1, window // step), window // step + 1
    if arch_rows:
        want_lo, want_hi = min(want_lo, max(arch_rows)), min(want_hi, max(arch_rows))
    else:
        errs.append("step %d: the host has no archive of that step" % step)
    if not want_lo <= rows <= want_hi:
        errs.append("%d rows for a %d s window at step %d (want %d..%d)" %
                    (rows, window, step, want_lo, want_hi))
    for i, row in enumerate(data):
        if int(row["t"]) != end - i * step:
            errs.append("row %d: t %s, want %d" % (i, row["t"], end - i * step))
            break
        vals = row["values"]
        if len(vals) != cols:
            errs.append("row %d: %d values, %d columns" % (i, len(vals), cols))
            break
        # every value a string holding a number as f_to_s prints it (the
        # separator count proves no value holds a comma)
        if not all(isinstance(v, str) for v in vals):
            errs.append("row %d: a value is not a string" % i)
            break
        joined = ",".join(vals)
        if joined.count(",") != len(vals) - 1 or (vals and not ROW_RE.fullmatch(joined)):
            bad = [v for v in vals if not NUM_RE.fullmatch(v)][:3]
            errs.append("row %d: values that are not numbers: %r" % (i, bad))
            break
    owners = {}
    for e in legend:
        parts = e.split(":")
        if len(parts) != 4 or parts[0] not in ("AVERAGE", "MIN", "MAX", "LAST"):
            errs.append("legend entry %r" % e)
            break
        owners.setdefault((parts[1], parts[2]), set()).add(e)
    vms = [u for (k, u) in owners if k == "vm"]
    if len(vms) != NVMS:
        errs.append("%d VMs in the legend, want %d" % (len(vms), NVMS))
    hk = ("host", exp.host_uuid)
    want = Expect.entries("host", exp.host_uuid, exp.host_rrd, step)
    if owners.get(hk, set()) != want:
        errs.append("host legend: %d entries, want %d" % (len(owners.get(hk, ())), len(want)))
    for u, rrd in exp.vm_rrds.items():
        want = Expect.entries("vm", u, rrd, step)
        got = owners.get(("vm", u), set())
        if got != want:
            errs.append("vm %s legend: %d entries, want %d (%s)" %
                        (u, len(got), len(want), sorted(got ^ want)[:3]))
    return {"rows": rows, "cols": cols, "step": step, "end": end}, errs


def client(i, port, sock, exp, deadline, out, seen, lock):
    (name, query, window), unix = client_plan(i)
    res = {"client": i, "name": name, "n": 0, "errors": [], "ends": set(), "cols": set(),
           "bytes": 0, "retries": 0}
    conn = None
    used = False  # conn has carried a request: a server may close it when idle
    retry = False
    try:
        while time.time() < deadline or retry:
            if conn is None:
                conn = (H.UnixHTTPConnection(sock, timeout=60) if unix else
                        http.client.HTTPConnection("127.0.0.1", port, timeout=60))
                used = False
            try:
                conn.request("GET", "/rrd_updates?" + query)
                r = conn.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                conn = None
                # A kept-alive connection the server closed while idle: an
                # idempotent GET is sent again once on a new connection, as
                # HTTP clients do (RFC 9112 9.3.1); anything else counts.
                closed = isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError,
                                        ConnectionResetError))
                if used and closed and not retry:
                    res["retries"] += 1
                    retry = True
                    continue
                retry = False
                res["errors"].append("%s: %r" % (name, e))
                continue
            retry = False
            used = True
            res["n"] += 1
            res["bytes"] += len(body)
            ctype = r.getheader("Content-Type", "")
            if r.status != 200 or not ctype.startswith("application/json"):
                res["errors"].append("%s: status %d %s: %r" % (name, r.status, ctype,
                                                                 body[:200]))
                continue
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
            # a body byte-identical to one validated (or being validated)
            # by another client of this process is not parsed again
            dig = hashlib.blake2b(body, digest_size=16).digest()
            with lock:
                slot = seen.get(dig)
                mine = slot is None
                if mine:
                    slot = seen[dig] = {"done": threading.Event()}
            if mine:
                try:
                    slot["res"] = validate(body, window, exp)
                except Exception as e:  # malformed in a way validate missed
                    slot["res"] = (None, ["validation failed: %r" % e])
                slot["done"].set()
            slot["done"].wait()
            summary, errs = slot["res"]
            for e in errs:
                res["errors"].append("%s: %s" % (name, e))
            if summary:
                res["ends"].add(summary["end"])
                res["cols"].add((summary["step"], summary["cols"]))
    finally:
        if conn:
            conn.close()
        res["ends"] = sorted(res["ends"])
        res["cols"] = sorted(res["cols"])
        res["errors"] = res["errors"][:20]
        out.append(res)


def worker(first, port, sock, exp, deadline, q):
    out, seen, lock = [], {}, threading.Lock()
    ts = [threading.Thread(target=client, args=(first + k, port, sock, exp, deadline, out,
                                                seen, lock))
          for k in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    q.put((out, len(seen)))


def main():
    d = H.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", str(NVMS - 1),
                  "--listen", "127.0.0.1:0"], name="rrdd-load-")
    try:
        run(d)
    finally:
        if d.alive():
            d.stop()
    T.finish()


def get_json(d, path):
    st, _, body, _ = d.request("GET", path, tcp=True)
    if st != 200:
        raise RuntimeError("%s: %d %r" % (path, st, body[:200]))
    return H.strict_json(body)


def check_invalidation(d):
    """A cached body must not outlive a mutating RPC: after forget_vm_ds the
    very next poll lacks the DS (unless a tick came in between, which may
    re-create it: then try again)."""
    rpc = xmlrpc.client.ServerProxy("http://_var_xapi_xcp-rrdd/",
                                    transport=H.UnixTransport(d.sock), allow_none=True)
    path = "/rrd_updates?start=-10&host=true&json=true"
    for attempt in range(5):
        before = get_json(d, path)
        get_json(d, path)  # served from the cache
        vm = next(e.split(":")[2] for e in before["meta"]["legend"]
                  if e.startswith("AVERAGE:vm:") and e.endswith(":memory"))
        entry = "AVERAGE:vm:%s:memory" % vm
        r = rpc.forget_vm_ds({"vm_uuid": vm, "ds_name": "memory"})
        T.check(r.get("Status") == "Success", "forget_vm_ds: %r" % r)
        after = get_json(d, path)
        if after["meta"]["end"] != before["meta"]["end"]:
            continue  # a tick in between: cannot judge
        T.check(entry not in after["meta"]["legend"],
                "rrd_updates after forget_vm_ds still lists %s (stale cached body)" % entry)
        T.check(len(after["meta"]["legend"]) == len(before["meta"]["legend"]) - 1,
                "forget_vm_ds: %d columns before, %d after" %
                (len(before["meta"]["legend"]), len(after["meta"]["legend"])))
        return
    T.check(False, "forget_vm_ds: every attempt crossed a tick")


def run(d):
    # two ticks, so every VM RRD exists and has rows
    legend = []
    for _ in range(300):
        st, _, body, _ = d.request("GET", "/rrd_updates?start=-10&host=true&json=true",
                                   tcp=True)
        if st == 200:
            doc = H.strict_json(body)
            legend = doc["meta"]["legend"]
            vms = {e.split(":")[2] for e in legend if e.split(":")[1] == "vm"}
            if len(vms) == NVMS and int(doc["meta"]["rows"]) >= 2:
                break
        time.sleep(0.2)
    host_uuid = next(e.split(":")[2] for e in legend if e.split(":")[1] == "host")
    vm_uuids = sorted({e.split(":")[2] for e in legend if e.split(":")[1] == "vm"})
    if not T.check(len(vm_uuids) == NVMS, "warm-up: %d VMs in rrd_updates" % len(vm_uuids)):
        return
    sample = [vm_uuids[0], vm_uuids[len(vm_uuids) // 2], vm_uuids[-1]]
    exp = Expect(host_uuid, get_json(d, "/host_rrd?json=true"),
                 {u: get_json(d, "/vm_rrd?json=true&uuid=" + u) for u in sample})

    t0 = time.time()
    deadline = t0 + SECONDS
    q = mp.get_context("fork").Queue()
    procs = [mp.get_context("fork").Process(target=worker,
                                            args=(k * THREADS, d.port, d.sock, exp, deadline, q))
             for k in range(PROCS)]
    for p in procs:
        p.start()
    results, distinct = [], 0
    for _ in procs:
        out, nseen = q.get(timeout=SECONDS + 300)
        results.extend(out)
        distinct += nseen
    for p in procs:
        p.join()
    elapsed = time.time() - t0
    T.check(d.alive(), "the daemon survived the load")

    total = sum(r["n"] for r in results)
    nbytes = sum(r["bytes"] for r in results)
    per_kind = {}
    for r in results:
        per_kind[r["name"]] = per_kind.get(r["name"], 0) + r["n"]
    print("load: %d clients, %.0f s, %d answers (%s), %.0f answers/s, %.0f MB/s, "
          "%d distinct bodies validated, %d GETs sent again on a new connection" %
          (len(results), elapsed, total, ", ".join("%s %d" % kv for kv in sorted(per_kind.items())),
           total / elapsed, nbytes / elapsed / 1e6, distinct,
           sum(r.get("retries", 0) for r in results)))
    T.check(len(results) == PROCS * THREADS, "%d clients reported" % len(results))
    for r in results:
        T.check(r["n"] >= 1, "client %d (%s) got no answer in %.0f s" % (r["client"], r["name"],
                                                                          elapsed))
        for e in r["errors"]:
            T.check(False, "client %d: %s" % (r["client"], e))
    # the same query saw the same columns throughout (the sim's DS set is stable)
    for name in per_kind:
        cols = {c for r in results if r["name"] == name for c in r["cols"]}
        T.check(len(cols) == 1, "%s: column counts %s" % (name, sorted(cols)))
    # every tick's data was served: the typical polls' row times advance in
    # 5-s steps with no gap
    ends = sorted({e for r in results if r["name"] == "typical" for e in r["ends"]})
    gaps = [(a, b) for a, b in zip(ends, ends[1:]) if b - a != 5]
    T.check(len(ends) >= int(elapsed // 5) - 1,
            "typical polls saw %d distinct ends in %.0f s" % (len(ends), elapsed))
    T.check(not gaps, "row times of the typical polls jump: %s" % gaps[:5])

    check_invalidation(d)

    rc = d.stop()
    log = d.log()
    T.check(rc == 0, "rrdd exit status %s" % rc)
    m = re.search(r"stopping after (\d+) ticks \((\d+) late, (\d+) skipped\)", log)
    if T.check(m, "no tick summary in the log"):
        ticks, late, skipped = map(int, m.groups())
        print("ticks: %d (%d late, %d skipped)" % (ticks, late, skipped))
        T.check(late == 0 and skipped == 0, "ticks: %d late, %d skipped" % (late, skipped))
        T.check(ticks >= int(elapsed // 5), "%d ticks in %.0f s of load" % (ticks, elapsed))
    T.check("tick took" not in log, "the log reports a slow tick: %s" %
            [ln for ln in log.splitlines() if "tick took" in ln][:3])
    m = re.search(r"rrd_updates: (\d+) renders, (\d+) answers from cache, (\d+) waited", log)
    if T.check(m, "no rrd_updates cache line in the log"):
        renders, hits, waits = map(int, m.groups())
        print("rrd_updates: %d renders, %d from cache, %d waited" % (renders, hits, waits))
        # one render per tick and distinct query (plus the warm-up and a
        # render racing a tick); a cache that did not work renders per request
        bound = 3 * (ticks + 4) * (len(per_kind) + 2)
        T.check(renders <= bound, "%d renders for %d answers (bound %d)" %
                (renders, total, bound))
        T.check(hits + waits + renders >= total, "cache counters %d+%d+%d < %d answers" %
                (hits, waits, renders, total))


if __name__ == "__main__":
    main()
