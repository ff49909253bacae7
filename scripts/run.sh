#!/usr/bin/env bash
# Install what is missing, build, and show rrdd at work.
# Until the daemon lands this replays the bundled example host trace through
# the offline tool and prints the last ten minutes as rrd_updates JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "== rrd_updates for the last 10 minutes of examples/host-demo.trace.json =="
build/rrdd-tool replay examples/host-demo.trace.json --updates --start -600 --json \
  --prefix host:2a8f5e3c-0d3e-4b7a-9c11-5e2f7d9a1b00:
echo
