"""Helpers for the integration tests that drive the real rrdd binary.

Not a test itself (ctest runs tests/integration/test_*.py).  RRDD_BUILD
points at the build directory (set by ctest); RRDD_SRC at the source tree.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

BUILD = os.environ.get("RRDD_BUILD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
SRC = os.environ.get("RRDD_SRC") or os.path.join(os.path.dirname(__file__), "..", "..")
RRDD = os.path.join(BUILD, "rrdd")
# the daemon with the store's crash and sync-log hooks (tests/hooks), for the crash tests
RRDD_TEST = os.path.join(BUILD, "rrdd-test")
TOOL = os.path.join(BUILD, "rrdd-tool")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

FIXTURES = os.environ.get("RRDD_FIXTURES") or os.path.join(SRC, "tests", "fixtures")

failures = []


def rpc_path_args():
    """Daemon options letting RPC path arguments (push_sr_rrd) name the
    reference fixtures as well as temporary files."""
    return ["--rpc-path-dirs", "%s:%s" % (os.path.abspath(FIXTURES), tempfile.gettempdir())]


def check(cond, msg):
    """Record a failed expectation (the test goes on to report them all)."""
    if not cond:
        failures.append(msg)
        print("FAIL: " + msg, file=sys.stderr)
    return cond


def finish():
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("ok")
    sys.exit(0)


def require_modules(*names):
    """Make sure this test runs under a python3 that has the Debian modules
    it needs (python3-protobuf, python3-cbor2): when the interpreter
    running it lacks one, re-execute the test under the first other
    python3 on PATH that has them all (a development machine may put its
    own Python first).  Exits 1 naming the modules when none has them."""
    def has_all(exe):
        code = "import importlib,sys\nfor n in sys.argv[1:]: importlib.import_module(n)"
        return subprocess.run([exe, "-c", code] + list(names), capture_output=True).returncode == 0
    try:
        for n in names:
            __import__(n)
        return
    except ImportError:
        pass
    seen = {os.path.realpath(sys.executable)}
    for d in os.environ.get("PATH", "").split(os.pathsep):
        exe = os.path.join(d or ".", "python3")
        real = os.path.realpath(exe)
        if not os.access(exe, os.X_OK) or real in seen:
            continue
        seen.add(real)
        if has_all(exe):
            os.execv(exe, [exe] + sys.argv)
    print("FAIL: no python3 on PATH has %s (scripts/install-deps.sh installs them)"
          % ", ".join(names), file=sys.stderr)
    sys.exit(1)


def tmpdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


def run_rrdd(args, timeout=60):
    """Run rrdd to completion; returns (status, stderr text)."""
    env = dict(os.environ, LC_ALL="C", TZ="UTC")
    env.pop("NOTIFY_SOCKET", None)
    p = subprocess.run([RRDD] + args, capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stderr + p.stdout


def dump_updates(path, start):
    """rrd_updates of an archive as {name: [(t, value)]}, oldest first."""
    out = subprocess.run([TOOL, "dump", path, "--updates", "--start", str(start), "--json"],
                         capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)
    names = [leg.split(":")[-1] for leg in doc["meta"]["legend"]]
    series = {n: [] for n in names}
    for row in reversed(doc["data"]):
        t = int(row["t"])
        for n, v in zip(names, row["values"]):
            series[n].append((t, float(v)))
    return series


def dump_json(path):
    out = subprocess.run([TOOL, "dump", path, "--format", "json"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def f32(x):
    """x rounded to float32, as the rings store it."""
    import struct
    return struct.unpack("f", struct.pack("f", x))[0]


def close32(v, want, rel=2e-7):
    """v equals want within float32 precision (one or two ulps)."""
    if math.isnan(v):
        return False
    return abs(v - want) <= max(abs(want) * rel * 2, 1e-12)


def load_metrics(path):
    def hook(pairs):
        return {k: (float(v) if isinstance(v, str) else v) for k, v in pairs}
    with open(path) as f:
        return json.load(f, object_pairs_hook=hook)
