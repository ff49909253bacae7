#!/usr/bin/env bash
# Install what is missing, build, and show rrdd at work: the daemon samples
# a simulated host with a few domains every 5 s (real clock) for about a
# minute, and this script prints some of the latest values from the
# /dev/shm-style JSON dumps it writes every cycle.  Override with
# RUN_SECONDS=N and RUN_DOMAINS=N.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
secs=${RUN_SECONDS:-60}
doms=${RUN_DOMAINS:-3}
state=$(mktemp -d /tmp/rrdd-run.XXXXXX)
echo "== rrdd --source sim --clock real --sim-domains $doms --state-dir $state --run-for ${secs}s =="
build/rrdd --source sim --clock real --sim-domains "$doms" --state-dir "$state" \
  --run-for "${secs}s" --log-level notice &
pid=$!
trap 'kill $pid 2>/dev/null || true' INT TERM
show() {
  python3 - "$state" <<'PY'
import json, sys
d = sys.argv[1]
try:
    host = json.load(open(d + "/host-metrics.json"))
    vms = json.load(open(d + "/vm-metrics.json"))
except (OSError, ValueError):
    sys.exit(0)
def f(v):
    return v if isinstance(v, str) else ("%.4g" % v)
print("host  cpu_avg=%s loadavg=%s memory_free_kib=%s pif_aggr_rx=%s B/s" % tuple(
    f(host.get(k, "-")) for k in ("cpu_avg", "loadavg", "memory_free_kib", "pif_aggr_rx")))
for uuid, ds in sorted(vms.items()):
    vifs = [k for k in ds if k.startswith("vif_") and k.endswith("_rx")]
    print("vm %s  cpu_usage=%s memory=%s %s=%s" % (uuid[:8], f(ds.get("cpu_usage", "-")),
          f(ds.get("memory", "-")), vifs[0] if vifs else "vif", f(ds[vifs[0]]) if vifs else "-"))
PY
}
sleep 16  # a fresh RRD records from its second sample; rates need one more
echo "== meanwhile, from another shell:"
echo "   curl --unix-socket $state/xcp-rrdd 'http://localhost/rrd_updates?start=-10&host=true'"
echo "   build/rrdd-tool show host --socket $state/xcp-rrdd"
echo "   build/rrdd-tool watch --socket $state/xcp-rrdd"
while kill -0 $pid 2>/dev/null; do
  echo "-- $(date +%T)"
  show
  sleep 10
done
wait $pid
echo "== stopped; archives (gzip XML, as xcp-rrdd keeps them) in $state/rrds:"
ls "$state/rrds"
echo "read one with: build/rrdd-tool dump $state/rrds/<uuid>.gz --updates --start -300 --json"
