#!/usr/bin/env bash
# The benchmark suite in one command (see bench/README.md, "## Suite"):
#   bench/run.sh [--quick] [--build DIR] [--compare OLD.json] [--only KEYS]
# Runs bench/suite.py with Debian's python3 (python3-matplotlib for the plot).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/suite.py" "$@"
