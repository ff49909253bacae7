#!/bin/bash
# Run two (or more) bench_tick binaries alternately and print, per binary,
# the min / median over the runs of each figure bench_tick prints: CPU per
# tick p50 and p99, the ticks that close a 1-minute row, and the phases.
# Alternating runs put both builds under the same machine load.
#
#   bench/ab_tick.sh RUNS VMS TICKS ./before/bench_tick ./after/bench_tick
set -eu
if [ $# -lt 4 ]; then
	echo "usage: $0 RUNS VMS TICKS BENCH_TICK..." >&2
	exit 2
fi
runs=$1 vms=$2 ticks=$3
shift 3
for _ in $(seq 1 "$runs"); do
	for b in "$@"; do
		"$b" "$vms" "$ticks" | B="$b" python3 -c '
import os, re, sys
t = sys.stdin.read()
p50, p99 = re.search(r"p50 ([\d.]+) ms  p99 ([\d.]+)", t).groups()
m = re.search(r"1-minute row: p50 ([\d.]+)", t)
ph = re.findall(r"\) ([\d.]+) ms", t)
print(os.environ["B"], p50, p99, m.group(1) if m else "nan", *ph)'
	done
done | python3 -c '
import statistics as st, sys
d = {}
for l in sys.stdin:
    f = l.split()
    d.setdefault(f[0], []).append([float(x) for x in f[1:]])
heads = ["p50", "p99", "minute", "sample", "map", "apply", "dumps"]
print("min/median ms  " + "  ".join("%-11s" % h for h in heads))
for b, rows in d.items():
    cols = list(zip(*rows))
    print(b)
    print("               " + "  ".join("%5.2f/%5.2f" % (min(c), st.median(c)) for c in cols))
'
