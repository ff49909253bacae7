#!/usr/bin/env bash
# HTTP benchmark: rrdd on the simulated host with 1024 VMs and the real
# clock, wrk on loopback TCP.  Prints wrk's figures for the typical poll
# (start=-10&host=true, JSON) at 8 and 64 connections, and the full
# 10-minute window at 1 connection; then the daemon's tick summary and its
# rrd_updates cache counters, and the machine's load before and after (the
# figures mean little on a loaded machine).
# Usage: bench/http.sh [BUILD]   (DUR=15s by default; THREADS=N passes
# --http-threads N)
set -euo pipefail
BUILD=${1:-build}
DUR=${DUR:-15s}
dir=$(mktemp -d /tmp/rrdd-bench-http.XXXXXX)
extra=()
[ -n "${THREADS:-}" ] && extra=(--http-threads "$THREADS")
"$BUILD/rrdd" --source sim --clock real --sim-domains 1023 --state-dir "$dir" \
  --socket "$dir/sock" --forwarded-socket none --listen 127.0.0.1:0 --log-level info \
  "${extra[@]}" >"$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on .* (port \([0-9]*\).*/\1/p' "$dir/log" | head -1)
  [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/host_rrd" -o /dev/null && break
  sleep 0.2
done
sleep 11 # two ticks, so every VM RRD has values
shape() { # bytes, rows and columns of one answer
  curl -s "$1" | python3 -c 'import json, sys
b = sys.stdin.buffer.read(); m = json.loads(b)["meta"]
print("answer: %d bytes, %s rows x %s columns, step %s s" % (len(b), m["rows"], m["columns"], m["step"]))'
}
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
url="http://127.0.0.1:$port/rrd_updates"
echo "== typical poll: start=-10&host=true (JSON), 8 connections"
shape "$url?start=-10&host=true"
wrk -t2 -c8 -d"$DUR" --latency "$url?start=-10&host=true" | sed -n '/Latency Distribution/,/Transfer/p'
echo "== typical poll, 64 connections"
wrk -t2 -c64 -d"$DUR" --latency "$url?start=-10&host=true" | sed -n '/Latency Distribution/,/Transfer/p'
# start=-600 picks the 5-s archive only when the last update is not within
# a second after the 5-s grid (else the 60-s one, 11 rows: a 3.7 MB answer);
# -599 always gives the 10 minutes of 5-s rows (120 rows, ~20 MB)
echo "== full 10-minute window: start=-599&host=true (JSON), 1 connection"
shape "$url?start=-599&host=true"
wrk -t1 -c1 -d"$DUR" --latency "$url?start=-599&host=true" | sed -n '/Latency Distribution/,/Transfer/p'
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) after the runs"
kill -TERM $pid
wait $pid || true
grep -o 'stopping after .*skipped)' "$dir/log"
grep -o 'http: [0-9]* requests.*render' "$dir/log" || true
