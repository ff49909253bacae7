"""HA and cache-SR data sources after the RPC calls that switch them on
(issue 13, item 4), as xcp-rrdd makes them (rrdd_ha_stats.ml, xcp_rrdd.ml
dss_cache):

- HA.enable_and_update: host DSs statefile/<id>/latency, network/latency,
  xapi_healthcheck/latency (s, gauges, not recorded by default: listed by
  query_possible_host_dss, recorded after add_host_ds, with the values
  given); HA.disable: no longer reported (unknown);
- set_cache_sr: the command (a stand-in for tapdisk-cache-stats printing
  TOTAL_CACHE_UTILISATION/HITS/MISSES, run every --cache-stats-interval)
  gives sr_<uuid>_cache_size (its value) and _cache_hits/_misses (the
  counters' difference over the whole seconds between two runs);
  unset_cache_sr: no longer reported.
"""
import math
import os
import stat
import time
import xmlrpc.client

import rrddtest as T
from rrddtest import check
import rrddhttp as H

HOST = "fb000000-1111-4222-8333-444444444444"
SR = "fb000001-0000-4000-8000-00000000cace"


def proxy(d):
    return xmlrpc.client.ServerProxy("http://_var_xapi_xcp-rrdd/",
                                     transport=H.UnixTransport(d.sock), allow_none=True)


def value(p, name):
    r = p.query_host_ds({"ds_name": name})
    return r.get("Value") if r.get("Status") == "Success" else None


def possible(p):
    r = p.query_possible_host_dss({}, None)
    return {x["name"]: x["enabled"] for x in r.get("Value", [])}


def wait(what, fn, seconds=40):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.5)
    check(False, "timed out waiting for " + what)
    return None


tmp = T.tmpdir("rrdd-hacache-")
calls = os.path.join(tmp, "calls")
script = os.path.join(tmp, "tapdisk-cache-stats")
with open(script, "w") as f:
    # each run: hits and misses grow by 1200 and 120, time and SR logged
    f.write("#!/bin/sh\n"
            "n=$(($(cat %s.n 2>/dev/null || echo 0) + 1)); echo $n > %s.n\n"
            "echo \"$(date +%%s.%%N) $1\" >> %s\n"
            "echo TOTAL_CACHE_UTILISATION=1048576\n"
            "echo TOTAL_CACHE_HITS=$((n * 1200))\n"
            "echo TOTAL_CACHE_MISSES=$((n * 120))\n" % (calls, calls, calls))
os.chmod(script, stat.S_IRWXU)
d = H.Daemon(["--source", "sim", "--clock", "real", "--host-uuid", HOST,
              "--cache-stats-command", script, "--cache-stats-interval", "6s"],
             name="rrdd-hacache-d-")
try:
    p = proxy(d)
    wait("the host RRD", lambda: d.get("/host_rrd")[0] == 200)
    # ---- HA ----
    names = ["statefile/sf1/latency", "network/latency", "xapi_healthcheck/latency"]
    r = getattr(p, "HA.enable_and_update")({"statefile_latencies": [{"id": "sf1", "latency": 0.25}],
                                            "heartbeat_latency": 0.5, "xapi_latency": 0.75})
    check(r.get("Status") == "Success", "HA.enable_and_update: %r" % r)
    ps = wait("the HA DSs listed", lambda: (lambda x: x if all(n in x for n in names) else None)(
        possible(p)))
    check(ps and all(ps[n] is False for n in names), "HA DSs are not recorded by default: %r"
          % {n: (ps or {}).get(n) for n in names})
    for n in names:
        r = p.add_host_ds({"ds_name": n})
        check(r.get("Status") == "Success", "add_host_ds %s: %r" % (n, r))
    got = wait("HA values", lambda: (lambda v: v if None not in v and not any(
        math.isnan(x) for x in v) else None)([value(p, n) for n in names]))
    check(got == [0.25, 0.5, 0.75], "HA values recorded as given: %r" % got)
    r = getattr(p, "HA.disable")(None)
    check(r.get("Status") == "Success", "HA.disable: %r" % r)
    gone = wait("HA values unknown after HA.disable", lambda: all(
        (lambda v: v is None or math.isnan(v))(value(p, n)) for n in names), seconds=20)
    check(gone, "HA.disable: the DSs are no longer reported")

    # ---- cache SR ----
    r = p.set_cache_sr({"sr_uuid": SR})
    check(r.get("Status") == "Success", "set_cache_sr: %r" % r)
    size = "sr_%s_cache_size" % SR
    got = wait("cache figures", lambda: (lambda v: v if v is not None and not math.isnan(v)
                                         else None)(value(p, size)), seconds=60)
    check(got == 1048576, "%s = %r" % (size, got))
    hits = value(p, "sr_%s_cache_hits" % SR)
    misses = value(p, "sr_%s_cache_misses" % SR)
    runs = [float(line.split()[0]) for line in open(calls)]
    check(all(line.split()[1] == SR for line in open(calls)), "the command got the SR's uuid")
    # rates over the whole seconds between the two runs: 1200 and 120 per run
    dts = {int(b - a) + k for a, b in zip(runs, runs[1:]) for k in (-1, 0, 1)}
    check(hits in {1200 // t for t in dts if t > 0} and misses in {120 // t for t in dts if t > 0},
          "hits %r, misses %r per second for run intervals %r" % (hits, misses, sorted(dts)))
    print("cache SR: size %r B, hits %r/s, misses %r/s after %d runs of the command"
          % (got, hits, misses, len(runs)))
    r = p.unset_cache_sr(None)
    check(r.get("Status") == "Success", "unset_cache_sr: %r" % r)
    gone = wait("cache figures unknown after unset_cache_sr",
                lambda: (lambda v: v is None or math.isnan(v))(value(p, size)), seconds=20)
    check(gone, "unset_cache_sr: the cache DSs are no longer reported")
    check(d.alive(), "daemon alive")
finally:
    d.stop()
T.finish()
