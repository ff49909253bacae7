"""The real rrdd on the simulated host and clock through every lifecycle
event of data/lifecycle.scn (start, shutdown, reboot, migrate away and in,
vCPU hot-plug, counter wrap, guest stops reporting memory, a domain that
vanishes mid-sample), checking the recorded values against the scenario's
known truth: constant workloads and rates written in the scenario, memory
sizes exact, no spike after a reboot or a wrap, archives of the domains
that disappeared.  Ten simulated minutes, well under a second of real time.
"""
import math
import os

import rrddtest as T
from rrddtest import check, close32

E = 1700000000
HOST = "0f0f0f0f-1111-4222-8333-444444444444"
QUARTER = "11111111-2222-4333-8444-555555555555"
WEB = "22222222-3333-4444-8555-666666666666"
BATCH = "33333333-4444-4555-8666-777777777777"
MOVER = "44444444-5555-4666-8777-888888888888"
INCOMING = "55555555-6666-4777-8888-999999999999"
FLAKY = "66666666-7777-4888-8999-aaaaaaaaaaaa"
DOM0 = "0a0a0a0a-0000-4000-8000-0000000000a0"
MIB = 1 << 20

# dumps that cannot be written (a directory where host-metrics.json goes):
# logged when they start failing, not every cycle, and the cycles go on
bad = T.tmpdir("rrdd-dumps-")
os.makedirs(os.path.join(bad, "metrics", "host-metrics.json"))
status, log = T.run_rrdd(["--source", "sim", "--clock", "sim", "--sim-domains", "2", "--run-for", "2m",
                          "--state-dir", bad, "--metrics-dir", os.path.join(bad, "metrics"),
                          "--log-level", "info"])
check(status == 0, "rrdd runs with unwritable dumps (got %d): %s" % (status, log[-1000:]))
check(log.count("metrics dump:") == 1 and "not logged again" in log,
      "a failing dump is logged once in 24 cycles, not every cycle: %d lines"
      % log.count("metrics dump:"))

state = T.tmpdir("rrdd-lifecycle-")
status, log = T.run_rrdd(["--source", "sim", "--clock", "sim", "--sim-scenario",
                          os.path.join(T.DATA, "lifecycle.scn"), "--run-for", "10m",
                          "--state-dir", state, "--host-uuid", HOST, "--log-level", "info"])
check(status == 0, "rrdd exits 0 at the end of --run-for (got %d): %s" % (status, log[-2000:]))
arch = os.path.join(state, "rrds")


def series(uuid):
    path = os.path.join(arch, uuid + ".gz")
    if not check(os.path.exists(path), "archive %s exists" % path):
        return {}
    return T.dump_updates(path, E + 10)  # the 5 s archive: rows E+10 .. E+600


def rows(s, name, lo, hi):
    return [(t - E, v) for t, v in s.get(name, []) if lo <= t - E <= hi]


def all_close(s, name, lo, hi, want, what):
    r = rows(s, name, lo, hi)
    check(len(r) >= (hi - lo) // 5, "%s: %s has rows in [%d,%d] (%d)" % (what, name, lo, hi, len(r)))
    bad = [(t, v) for t, v in r if not close32(v, want)]
    check(not bad, "%s: %s == %r over [%d,%d]; off: %s" % (what, name, want, lo, hi, bad[:5]))


# -- quarter: 25% of vCPU 0, idle vCPU 1, vCPU 2 (50%) hot-plugged at 122,
#    VIF counters wrap at 132 (32 bits), guest stops reporting memory at 242
q = series(QUARTER)
all_close(q, "cpu0", 10, 600, 0.25, "quarter")
all_close(q, "cpu1", 10, 600, 0.0, "quarter")
all_close(q, "cpu2", 10, 120, 0.0, "quarter before hot-plug")
all_close(q, "cpu2", 130, 600, 0.5, "quarter after hot-plug")
# the tick at 125 covers 3 s of vCPU 2 at 50%
all_close(q, "cpu2", 125, 125, 0.5 * 3 / 5, "quarter hot-plug interval")
all_close(q, "cpu_usage", 10, 120, (0.25 + 0) / 2, "quarter 2 vCPUs online")
all_close(q, "cpu_usage", 130, 600, (0.25 + 0 + 0.5) / 3, "quarter 3 vCPUs online")
all_close(q, "memory", 10, 600, 1024 * MIB, "quarter")
all_close(q, "memory_target", 10, 600, 1024 * MIB, "quarter")
all_close(q, "memory_internal_free", 10, 240, 512 * 1024, "quarter (KiB)")
gone = rows(q, "memory_internal_free", 245, 600)
check(gone and all(math.isnan(v) for _, v in gone),
      "quarter: memory_internal_free unknown once the guest stops reporting: %s" % gone[:3])
# guest's point of view: rx 1000 B/s, tx 3000 B/s.  VIF 0's counters wrap
# modulo 2^32 (at 132 for the faster direction, later for the other): as in
# xcp-rrdd (DERIVE, not COUNTER) the interval containing a 32-bit wrap goes
# negative and is recorded unknown, so at most one sample per counter is
# lost and no value is ever off (no spike).
for name, want in (("vif_0_rx", 1000.0), ("vif_0_tx", 3000.0)):
    r = rows(q, name, 10, 600)
    nan = [t for t, v in r if math.isnan(v)]
    off = [(t, v) for t, v in r if not math.isnan(v) and not close32(v, want)]
    check(len(r) >= 118 and len(nan) <= 1 and not off,
          "quarter %s == %r except one lost sample at a 32-bit wrap: lost %s, off %s"
          % (name, want, nan, off[:5]))
check(any(math.isnan(v) for _, v in rows(q, "vif_0_tx", 135, 135)),
      "quarter: the 32-bit wrap at 132 costs the sample at 135")
all_close(q, "vbd_xvda_read", 10, 600, 8192.0, "quarter vbd")
all_close(q, "vbd_xvda_write", 10, 600, 4096.0, "quarter vbd")
all_close(q, "vbd_xvda_latency", 15, 600, 250.0, "quarter vbd")
all_close(q, "vbd_xvda_iops_read", 15, 600, 8192.0 / 4096, "quarter vbd")
all_close(q, "vbd_xvda_inflight", 10, 600, 2.0, "quarter vbd")

# -- web: 50% busy, reboots at 202 (same uuid, new domid)
w = series(WEB)
all_close(w, "cpu0", 10, 200, 0.5, "web before reboot")
all_close(w, "cpu0", 210, 600, 0.5, "web after reboot")
# counters restart from 0: the tick at 205 sees 3 s at 50%, never a spike
all_close(w, "cpu0", 205, 205, 0.5 * 3 / 5, "web reboot interval")
check(max(v for _, v in w.get("cpu0", [(0, 0)]) if not math.isnan(v)) <= 0.5 + 1e-6,
      "web: no value above the workload after the reboot")
check("domid" in log and "counters restart" in log, "the log reports the web domid change")

# -- batch: starts at 102, shuts down at 302: archived when it disappears
b = series(BATCH)
all_close(b, "cpu0", 115, 300, 0.75, "batch")
all_close(b, "memory", 110, 300, 512 * MIB, "batch")
bj = T.dump_json(os.path.join(arch, BATCH + ".gz"))
check(int(bj["lastupdate"]) == E + 305,
      "batch: last update at the first tick after the shutdown (%s)" % bj["lastupdate"])

# -- mover: migrates away at 352, gone at 372: counters run on under the
#    temporary handle, then the RRD is archived
m = series(MOVER)
all_close(m, "cpu0", 10, 370, 0.125, "mover")
mj = T.dump_json(os.path.join(arch, MOVER + ".gz"))
check(int(mj["lastupdate"]) == E + 375, "mover: archived at 375 (%s)" % mj["lastupdate"])

# -- incoming: arrives paused at 402 (handle ...000001), unpaused at 412
i = series(INCOMING)
all_close(i, "cpu0", 420, 600, 0.375, "incoming")
all_close(i, "cpu1", 420, 600, 0.375, "incoming")
all_close(i, "cpu0", 415, 415, 0.375 * 3 / 5, "incoming first running interval")
all_close(i, "memory", 420, 600, 1536 * MIB, "incoming")
before = [v for _, v in rows(i, "cpu0", 10, 410)]
check(all(math.isnan(v) for v in before), "incoming: nothing recorded before it ran")

# -- flaky: destroyed mid-sample at 452: one lost sample (455), then gone
f = series(FLAKY)
all_close(f, "cpu0", 10, 450, 0.5, "flaky")
lost = rows(f, "memory", 455, 455)
check(lost and math.isnan(lost[0][1]), "flaky: the failed sample at 455 is unknown: %s" % lost)
all_close(f, "memory", 10, 450, 256 * MIB, "flaky")

# -- host: 8 pCPUs; busy = dom0 2x5% + quarter 25% + web 50% + mover 12.5% +
#    flaky 50% over [10, 100]
h = series(HOST)
all_close(h, "memory_total_kib", 10, 600, 16384 * 1024, "host")
busy = 2 * 0.05 + 0.25 + 0.5 + 0.125 + 0.5
r = rows(h, "cpu_avg", 10, 100)
check(r and all(abs(v - busy / 8) < 1e-5 for _, v in r),
      "host: cpu_avg == %.6f over [10,100]: %s" % (busy / 8, r[:3]))
all_close(h, "pif_eth0_rx", 10, 600, 1e6, "host")
all_close(h, "pif_eth0_tx", 10, 600, 2e5, "host")

# -- the wire-format.md §3.6 dumps of the last cycle
hm = T.load_metrics(os.path.join(state, "host-metrics.json"))
check(hm.get("memory_total_kib") == 16384 * 1024, "host-metrics.json: memory_total_kib")
vm = T.load_metrics(os.path.join(state, "vm-metrics.json"))
check(set(vm) == {DOM0, QUARTER, WEB, INCOMING},
      "vm-metrics.json lists the resident VMs only: %s" % sorted(vm))
check(vm.get(QUARTER, {}).get("memory") == 1024 * MIB, "vm-metrics.json: quarter memory")
check(close32(vm.get(QUARTER, {}).get("cpu0", -1), 0.25), "vm-metrics.json: quarter cpu0")
check(math.isnan(vm.get(QUARTER, {}).get("memory_internal_free", 0)),
      "vm-metrics.json: NaN written as the string \"NaN\"")
with open(os.path.join(state, "vm-metrics.json")) as fh:
    check('"NaN"' in fh.read(), "vm-metrics.json spells NaN as a string")
check(oct(os.stat(os.path.join(state, "vm-metrics.json")).st_mode & 0o777) == "0o644",
      "dumps are mode 0644")

T.finish()
