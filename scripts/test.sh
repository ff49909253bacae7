#!/usr/bin/env bash
# Build rrdd and run every test tier; exits non-zero on any failure.
#   1. release build with -Werror: unit, golden and integration tests (ctest)
#   2. address+undefined sanitizer build: the unit tests again
#   3. libFuzzer targets, each for a bounded time over the committed corpus,
#      one per core at a time
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export LC_ALL=C TZ=UTC
jobs=$(nproc)

cmake -S . -B build -DRRDD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

cmake -S . -B build-asan -DRRDD_WERROR=ON -DRRDD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit

if ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
  CC=clang cmake -S . -B build-fuzz -DRRDD_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-fuzz -j"$jobs"
  secs=${RRDD_FUZZ_SECONDS:-30}
  # one target per core at a time, each for $secs of wall time over a copy
  # of its corpus; a failing target prints its log, and the step fails once
  # all have finished
  fuzz_one() {
    local name=$1 corpus=tests/fuzz/corpus/${1#fuzz_} work
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus/." "$work/"
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-fuzz/"$name" -max_total_time="$secs" -max_len=1048576 -rss_limit_mb=2048 "$work" \
      >build-fuzz/"$name".log 2>&1 || { echo "fuzz: $name FAILED"; tail -50 build-fuzz/"$name".log; rm -rf "$work"; return 1; }
    echo "fuzz: $name for ${secs}s: $(tail -1 build-fuzz/"$name".log)"
    rm -rf "$work"
  }
  failed=0 running=0
  for src in tests/fuzz/fuzz_*.c; do
    if [ "$running" -ge "$jobs" ]; then
      wait -n || failed=1
      running=$((running - 1))
    fi
    fuzz_one "$(basename "$src" .c)" &
    running=$((running + 1))
  done
  while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
  done
  [ "$failed" -eq 0 ] || exit 1
fi
echo "all test tiers passed"
