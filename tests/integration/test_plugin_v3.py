"""xcp-metrics' plugin protocol v3 against the real rrdd (issue 16, item 1).

A V2 plugin (p2) and a v3 plugin (p3) publish the same data every tick:
host and VM owners, gauges and counters, int64 and float, labels; the v3
page written as xcp-metrics' plugins write it (in place, never truncated,
so a shorter page leaves an old tail), the V2 page by pages.py.  The v3
names follow xcp-metrics' default mapping (family + "_<label value>", the
"owner" label giving the owner), so p3_<x> must carry exactly the values
of p2_<x> in /rrd_updates: gauges as GAUGE, counters as DERIVE (rows from
the second tick after both pages exist).  The
writers time their rewrites by Plugin.Local.next_reading, just after a
tick; a rewrite that still straddles a tick (a starved writer) is detected
the same way and the two rows it touched are left out, never the check.

Also: Plugin.Metrics.get_versions / register / deregister over XML-RPC and
JSON-RPC as xcp-metrics' xapi-rs sends them (a wrong version refused), on
xcp-rrdd's socket and on the xcp-metrics socket, where its plugins send
them by default; a
mapping file's rule (--v3-mapping-file) naming a family's DS; a page with a
bad CRC and one whose payload is not a MetricSet each cost that plugin its
sample and a log line, never the tick or the other plugins.
"""
import json
import os
import threading
import time

import rrddtest as T

T.require_modules("google.protobuf")

import rrddhttp as H  # noqa: E402
from pages import page_v2, write_atomic  # noqa: E402
from pages_v3 import page_v3, write_in_place  # noqa: E402
from rrddtest import check  # noqa: E402

HOST = "fb000000-1111-4222-8333-444444444444"
VM = "fb000001-0000-4000-8000-000000000001"
VERSION = "OpenMetrics 1.0.0"


def dataset(k):
    """(base, labels, owner, type, int?, value) for step k."""
    return [
        ("load", [], "host", "gauge", False, 0.25 * (k % 7)),
        ("temp", [("sensor", "a")], "host", "gauge", False, 40.0 + (k % 5) * 1.5),
        ("bytes", [("dev", "eth0")], "host", "counter", True, 5000 * k * (k + 1)),
        ("mem", [], "vm " + VM, "gauge", True, 1048576 + 4096 * (k % 11)),
        ("io", [("vbd", "xvda")], "vm " + VM, "counter", False, 12.5 * k * k),
    ]


def v2_dss(k):
    out = []
    for base, labels, owner, typ, is_int, v in dataset(k):
        name = "p2_" + base + "".join("_" + lv for _, lv in labels)
        out.append((name, owner, "int64" if is_int else "float",
                    "gauge" if typ == "gauge" else "derive", True, v))
    return out


def v3_metrics(k):
    out = []
    for base, labels, owner, typ, is_int, v in dataset(k):
        labs = [("owner", owner)] + labels if owner != "host" else labels
        out.append(("p3_" + base, typ, "u", "test " + base, labs, int(v) if is_int else float(v)))
    # a family under a mapping file rule, and info/unknown families the
    # mapping leaves out
    out.append(("p3_rule", "gauge", "", "", [("dev", "sda")], 50.0))
    out.append(("p3_info", "info", "", "", [], [("name", "x")]))
    return out


class Writers(threading.Thread):
    def __init__(self, d, plugins):
        super().__init__(daemon=True)
        self.d, self.plugins, self.stop = d, plugins, False
        self.suspect = []  # tick deadlines a rewrite may have straddled
        self.first = None  # the deadline of the first tick after the first rewrite
        self.rpc = H.rpc_proxy(d.sock)
        self.k = 0
        self.error = None

    def deadline(self):
        return time.time() + float(value(self.rpc.Plugin.Local.next_reading({"uid": "p3"})))

    def run(self):
        p3 = os.path.join(self.plugins, "p3")
        try:
            while not self.stop:
                time.sleep(max(0.0, self.deadline() - time.time()) + 0.4)
                d0 = self.deadline()
                now = time.time()
                write_atomic(os.path.join(self.plugins, "p2"), page_v2(int(now), v2_dss(self.k)))
                write_in_place(p3, page_v3(int(now), v3_metrics(self.k)))
                d1 = self.deadline()
                if self.first is None:
                    self.first = d0
                if abs(d1 - d0) > 1.0:
                    self.suspect.append(d0)
                self.k += 1
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = repr(e)


def columns(d, since):
    st, _, body, _ = d.get("/rrd_updates?start=%d&host=true&json=true&vm_uuid=all" % since)
    doc = json.loads(body)
    cols = {}
    for j, entry in enumerate(doc["meta"]["legend"]):
        _, _, uuid, ds = entry.split(":")
        cols[(uuid, ds)] = [(int(r["t"]), float(r["values"][j])) for r in doc["data"]]
    return st, cols


def value(ans):
    """The value of a successful answer in xapi's XML-RPC convention
    ({"Status": "Success", "Value": v}, as xcp-rrdd answers)."""
    if not (isinstance(ans, dict) and ans.get("Status") == "Success"):
        raise RuntimeError("RPC failed: %r" % (ans,))
    return ans["Value"]


def rpc_checks(d):
    rpc = H.rpc_proxy(d.sock)
    got = value(rpc.Plugin.Metrics.get_versions({}))
    check(got == {"versions": [VERSION]}, "get_versions answers %r" % (got,))
    check(value(rpc.Plugin.Metrics.register({"uid": "p3", "version": VERSION})) == "OK",
          "Plugin.Metrics.register answers OK")
    ans = rpc.Plugin.Metrics.register({"uid": "p3x", "version": "OpenMetrics 2.0.0"})
    check(ans.get("Status") == "Failure" and "OpenMetrics 2.0.0" in repr(ans),
          "an unknown OpenMetrics version is refused, naming it: %r" % (ans,))
    # JSON-RPC 2.0 with the params as one object, as xapi-rs writes it
    body = json.dumps({"jsonrpc": "2.0", "id": "c1d2", "method": "Plugin.Metrics.register",
                       "params": {"uid": "p3j", "version": VERSION}})
    st, _, out, _ = d.request("POST", "/", body=body,
                              headers={"Content-Type": "application/json-rpc"})
    ans = json.loads(out)
    check(st == 200 and ans.get("result") == "OK" and ans.get("id") == "c1d2",
          "JSON-RPC register: %s %s" % (st, out[:200]))
    check(value(rpc.Plugin.Metrics.deregister({"uid": "p3j"})) == "Done",
          "Plugin.Metrics.deregister answers Done")
    # where xcp-metrics' plugins send it by default: the xcp-metrics socket
    # (shared with protocol v4), as HTTP XML-RPC
    alt = H.rpc_proxy(os.path.join(d.dir, "xcp-metrics"))
    check(value(alt.Plugin.Metrics.get_versions({})) == {"versions": [VERSION]},
          "get_versions on the xcp-metrics socket")
    check(value(alt.Plugin.Metrics.register({"uid": "p3", "version": VERSION})) == "OK",
          "register on the xcp-metrics socket")


def main():
    tmp = T.tmpdir("rrdd-v3-")
    scen = os.path.join(tmp, "scenario")
    with open(scen, "w") as f:
        f.write("vm a uuid=%s vcpus=1 memory_mib=512\n" % VM)
    plugins = os.path.join(tmp, "plugins")
    os.makedirs(plugins)
    mapping = os.path.join(tmp, "mapping.json")
    with open(mapping, "w") as f:
        json.dump({"p3_rule": {"pattern": "ruled_{dev}_x", "min": 0, "max": 100,
                               "default": True}}, f)
    # a long first page, so that later in-place writes leave a tail behind
    write_in_place(os.path.join(plugins, "p3"), page_v3(int(time.time()), v3_metrics(0))
                   + b"\xee" * 3000)
    d = H.Daemon(["--source", "sim", "--clock", "real", "--sim-scenario", scen,
                  "--host-uuid", HOST, "--plugin-dir", plugins, "--v3-mapping-file", mapping],
                 name="rrdd-v3-d-")
    w = Writers(d, plugins)
    try:
        rpc_checks(d)
        t0 = int(time.time())
        w.start()
        # bad pages of two other plugins, from the start
        good = page_v3(int(time.time()), v3_metrics(0))
        bad_crc = good[:12] + bytes([good[12] ^ 0x55]) + good[13:]
        write_atomic(os.path.join(plugins, "p3bad"), bad_crc)
        write_atomic(os.path.join(plugins, "p3junk"),
                     page_v3(int(time.time()), None, payload=b"\x0a\xff\xff\xff\xff\x0f"))
        time.sleep(36)
        w.stop = True
        w.join(30)
        check(w.error is None, "the writers ran (%s)" % w.error)
        st, cols = columns(d, t0)
        check(st == 200, "rrd_updates answered %s" % st)
        compared = 0
        for base, labels, owner, _, _, _ in dataset(0):
            uuid = HOST if owner == "host" else VM
            suffix = base + "".join("_" + lv for _, lv in labels)
            a, b = cols.get((uuid, "p2_" + suffix)), cols.get((uuid, "p3_" + suffix))
            if not check(a is not None and b is not None,
                         "both p2_%s and p3_%s are recorded" % (suffix, suffix)):
                continue
            for (ta, va), (tb, vb) in zip(a, b):
                if ta < w.first + 8:
                    continue  # p3's long first page before p2 existed, and the DERIVE after
                if any(s - 3 <= ta <= s + 8 for s in w.suspect):
                    continue  # a straddled rewrite (and the DERIVE after it)
                if va != va and vb != vb:
                    continue
                check(va == vb, "%s at %d: V2 %r, v3 %r" % (suffix, ta, va, vb))
                if va == va:
                    compared += 1
        check(compared >= 10, "at least 10 known values compared (%d)" % compared)
        print("compared %d values of 5 data sources; %d straddled rewrites left out"
              % (compared, len(w.suspect)))
        ruled = cols.get((HOST, "ruled_sda_x"))
        check(ruled is not None and any(v == 50.0 for _, v in ruled),
              "the mapping file's rule names p3_rule's DS (%s)" % (ruled and ruled[:3]))
        check(not any(ds.startswith("p3_info") for (_, ds) in cols),
              "an info family is not a data source")
        log = d.log()
        check("p3bad" in log and "Invalid_checksum" in log, "the bad CRC is logged")
        check("p3junk" in log and "Invalid_payload" in log, "the bad payload is logged")
        check(d.alive(), "daemon alive")
    finally:
        w.stop = True
        d.stop()
    T.finish()


main()
