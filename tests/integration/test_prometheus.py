"""A real Prometheus server (Debian package prometheus) scrapes rrdd's
/metrics on loopback every second with the scrape config of
docs/prometheus.md, and PromQL queries over its HTTP API return the series
rrdd exposes: one xen_vm_cpu_usage_ratio per simulated VM, labelled with
the VM's uuid, with the value rrdd recorded (one of its latest rrd_updates
rows, within float32 precision), xen_vm_memory_bytes equal to rrdd's, and
up == 1.  Fails if the metrics are absent, unparsable or wrong.  Bounded:
about 30 s (real clock, simulated host).
"""
import json
import math
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rrddtest as T  # noqa: E402
import rrddhttp as H  # noqa: E402

check = T.check

CONFIG = """global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: rrdd
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:%d"]
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def promql(port, q):
    url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(q))
    with urllib.request.urlopen(url, timeout=5) as r:
        doc = json.loads(r.read())
    if doc.get("status") != "success":
        raise RuntimeError("query %s: %r" % (q, doc))
    return doc["data"]["result"]


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def main():
    if not shutil.which("prometheus"):
        print("prometheus is not installed (apt-get install prometheus)", file=sys.stderr)
        sys.exit(1)
    d = H.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "2",
                  "--listen", "127.0.0.1:0"], name="rrdd-prom-")
    tmp = T.tmpdir("rrdd-prom-")
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write(CONFIG % d.port)
    ok = subprocess.run(["promtool", "check", "config", cfg], capture_output=True, text=True)
    check(ok.returncode == 0, "promtool accepts the documented config: " + ok.stdout + ok.stderr)
    pport = free_port()
    prom = subprocess.Popen(["prometheus", "--config.file=" + cfg,
                             "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                             "--web.listen-address=127.0.0.1:%d" % pport],
                            stdout=open(os.path.join(tmp, "prometheus.log"), "w"),
                            stderr=subprocess.STDOUT)
    try:
        run(d, pport)
    finally:
        if prom.poll() is None:
            prom.terminate()
            try:
                prom.wait(15)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
        check(d.stop() == 0, "rrdd stopped cleanly")
    T.finish()


def vm_series(d, t0):
    """{vm_uuid: {ds: [values of the latest rows, newest first]}} from rrd_updates."""
    st, _, body, _ = d.get("/rrd_updates?start=%d&host=true&json=true" % t0)
    upd = json.loads(body)
    out = {}
    for i, l in enumerate(upd["meta"]["legend"]):
        _, kind, uuid, ds = l.split(":", 3)
        if kind == "vm":
            out.setdefault(uuid, {})[ds] = [float(r["values"][i]) for r in upd["data"]]
    return out


def run(d, pport):
    t0 = int(time.time())
    deadline = time.time() + 45
    result, up = [], []
    vms = {}
    while time.time() < deadline:
        time.sleep(1)
        try:
            up = promql(pport, 'up{job="rrdd"}')
            result = promql(pport, "xen_vm_cpu_usage_ratio")
        except (OSError, RuntimeError):
            continue
        vms = vm_series(d, t0 - 60)
        numeric = [r for r in result if not math.isnan(float(r["value"][1]))]
        if len(numeric) >= len(vms) >= 2:
            break
    check(len(up) == 1 and up[0]["value"][1] == "1", "up{job=rrdd} == 1: %r" % up)
    check(len(vms) >= 2, "rrdd has the simulated VMs: %r" % list(vms))
    labels = sorted(r["metric"].get("vm_uuid", "") for r in result)
    check(labels == sorted(vms), "one series per VM, vm_uuid labels %r vs %r" %
          (labels, sorted(vms)))
    # the value Prometheus stored is a value rrdd recorded for that VM
    vms = vm_series(d, t0 - 60)
    compared = 0
    for r in result:
        u = r["metric"].get("vm_uuid")
        v = float(r["value"][1])
        rows = [x for x in vms.get(u, {}).get("cpu_usage", []) if not math.isnan(x)][:6]
        check(not math.isnan(v), "%s: a number" % u)
        match = any(abs(f32(x) - v) <= 1e-6 * abs(v) + 1e-12 for x in rows)
        check(match, "%s: cpu_usage %r is one of rrdd's rows %r" % (u, v, rows))
        compared += 1
        check(r["metric"].get("job") == "rrdd", "job label")
    print("prometheus: %d VM cpu series checked" % compared)
    mem = promql(pport, "xen_vm_memory_bytes")
    for r in mem:
        u = r["metric"].get("vm_uuid")
        rows = [x for x in vms.get(u, {}).get("memory", []) if not math.isnan(x)]
        check(rows and float(r["value"][1]) == rows[0],
              "%s: memory %s equals rrdd's %r" % (u, r["value"][1], rows[:1]))
    check(len(mem) == len(vms), "memory series per VM: %d" % len(mem))
    # a PromQL expression over the series: the sum matches rrdd's values
    s = promql(pport, "count(xen_vm_cpu_usage_ratio)")
    check(s and int(float(s[0]["value"][1])) == len(vms), "count() over the VMs: %r" % s)
    by_label(pport, d, t0)


def by_label(pport, d, t0):
    """PromQL by label, as a Prometheus user writes it: per VM over its
    vCPUs (sum by vm_uuid), per device (count by vif), against rrdd's own
    per-index data sources."""
    vms = vm_series(d, t0 - 60)
    per_vm = promql(pport, "sum by (vm_uuid) (xen_vm_cpu_ratio)")
    check(len(per_vm) == len(vms), "sum by (vm_uuid): one series per VM (%d)" % len(per_vm))
    for r in per_vm:
        u = r["metric"].get("vm_uuid")
        cols = [v for ds, v in vms.get(u, {}).items() if re.fullmatch(r"cpu\d+", ds)]
        nrows = min(len(c) for c in cols) if cols else 0
        sums = [sum(f32(c[k]) for c in cols) for k in range(min(nrows, 6))]
        v = float(r["value"][1])
        check(cols and any(abs(x - v) <= 1e-6 * max(1.0, abs(v)) for x in sums if x == x),
              "%s: the sum of its %d vCPUs %r is one of rrdd's row sums %r"
              % (u, len(cols), v, sums))
    per_vif = promql(pport, "count by (vif) (xen_vm_vif_rx)")
    want = {}
    for u, dss in vms.items():
        for ds in dss:
            m = re.fullmatch(r"vif_(\d+)_rx", ds)
            if m:
                want[m.group(1)] = want.get(m.group(1), 0) + 1
    got = {r["metric"].get("vif"): int(float(r["value"][1])) for r in per_vif}
    check(want and got == want, "count by (vif): %r, rrdd's VIFs by index %r" % (got, want))
    per_vm_vifs = promql(pport, "count by (vm_uuid) (xen_vm_vif_rx)")
    check(len(per_vm_vifs) == sum(1 for dss in vms.values()
                                 if any(re.fullmatch(r"vif_\d+_rx", ds) for ds in dss)),
          "count by (vm_uuid): every VM with VIFs")
    # running totals: a counter per VIF beside its rate, typed as a counter
    # by Prometheus' own parser, which rate() reads
    tot = promql(pport, "count by (vif) (xen_vm_vif_rx_bytes_total)")
    got_tot = {r["metric"].get("vif"): int(float(r["value"][1])) for r in tot}
    check(got_tot == want, "count by (vif) of the counter: %r, rrdd's VIFs %r" % (got_tot, want))
    url = "http://127.0.0.1:%d/api/v1/metadata?metric=xen_vm_vif_rx_bytes" % pport
    with urllib.request.urlopen(url, timeout=5) as r:
        meta = json.loads(r.read()).get("data", {}).get("xen_vm_vif_rx_bytes", [])
    check(any(m.get("type") == "counter" and m.get("unit") == "bytes" for m in meta),
          "Prometheus' metadata: xen_vm_vif_rx_bytes is a counter in bytes: %r" % meta)
    # (rate() needs two scrapes of a counter: wait for them, bounded)
    end = time.time() + 30
    while True:
        rates = promql(pport, "rate(xen_vm_vif_rx_bytes_total[1m])")
        if len(rates) >= sum(want.values()) or time.time() > end:
            break
        time.sleep(1)
    check(len(rates) == sum(want.values()) and
          all(float(r["value"][1]) >= 0 for r in rates),
          "rate() of the counter: one non-negative rate per VIF (%d)" % len(rates))
    # the VMs' names, joined as a Prometheus user joins an info metric
    named = promql(pport, "xen_vm_cpu_usage_ratio * on (vm_uuid) group_left (name) xen_vm_info")
    names = sorted(r["metric"].get("name", "") for r in named)
    check(len(named) == len(vms) and all(re.fullmatch(r"dom0|vm\d+", n) for n in names),
          "group_left(name) xen_vm_info names every VM's series: %r" % names)
    print("prometheus: by label: %d VMs' vCPU sums, VIFs by index %r, names %r"
          % (len(per_vm), got, names))


if __name__ == "__main__":
    main()
