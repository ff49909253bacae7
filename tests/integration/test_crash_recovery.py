"""Crash safety: rrdd on the simulated host and clock (data/lifecycle.scn:
start, shutdown, reboot, migrations, a vanishing domain, counter wraps)
for 40 simulated minutes with a checkpoint every 5 minutes, killed with
SIGKILL at many random points and restarted each time with the same
arguments, must end with archives identical, byte for byte (rrdd-tool dump
--format internal), to those of an uninterrupted run.

The kill points come from the RRDD_TEST_CRASH_OPS=N hook of rrdd-test (tests/hooks/crash_hooks.h): the
daemon SIGKILLs itself at its Nth store file operation (a write is cut in
the middle first), so kills land inside journal appends, checkpoint and
archive writes, segment creation and pruning, at start-up recovery too.
N is drawn from a seeded generator (the seed is printed; set
RRDD_CRASH_SEED to replay a run).  A restarted simulated run resumes at the
cycle after the last recovered one, so the kill costs nothing.
"""
import os
import random
import subprocess
import sys

import rrddtest as T
from rrddtest import check

HOST = "0f0f0f0f-1111-4222-8333-444444444444"
SEED = int(os.environ.get("RRDD_CRASH_SEED", random.SystemRandom().randrange(1 << 30)))
KILLS = int(os.environ.get("RRDD_CRASH_KILLS", "40"))
print("crash test seed %d (RRDD_CRASH_SEED=%d to replay)" % (SEED, SEED))
rng = random.Random(SEED)

ARGS = ["--source", "sim", "--clock", "sim", "--sim-scenario",
        os.path.join(T.DATA, "lifecycle.scn"), "--run-for", "40m", "--host-uuid", HOST,
        "--checkpoint-interval", "5m", "--journal-fsync-interval", "60", "--socket", "none",
        "--log-level", "info"]


def run(state, crash_at=None, count_log=None):
    env = dict(os.environ, LC_ALL="C", TZ="UTC")
    env.pop("NOTIFY_SOCKET", None)
    if crash_at:
        env["RRDD_TEST_CRASH_OPS"] = str(crash_at)
    p = subprocess.run([T.RRDD_TEST] + ARGS + ["--state-dir", state], capture_output=True,
                       text=True, timeout=120, env=env)
    return p.returncode, p.stderr + p.stdout


def dumps(state):
    arch = os.path.join(state, "rrds")
    out = {}
    for name in sorted(os.listdir(arch)):
        if name.endswith(".gz"):
            out[name] = subprocess.run([T.TOOL, "dump", os.path.join(arch, name), "--format",
                                        "internal"], capture_output=True, check=True).stdout
    return out


ref = T.tmpdir("rrdd-crash-ref-")
status, log = run(ref)
check(status == 0, "uninterrupted run exits 0: %s" % log[-1500:])
want = dumps(ref)
check(len(want) >= 8, "the reference run archived host, dom0 and the scenario VMs: %s"
      % sorted(want))

# Rounds: from an empty state dir, kill the daemon again and again (N
# drawn so that a run typically gets a few hundred operations in: a whole
# run does about 1500) until a run completes, then compare.  Small N hit
# start-up and recovery itself.
kills = recoveries = torn = runs = rounds = 0
while kills < KILLS and rounds < 20:
    rounds += 1
    crash = T.tmpdir("rrdd-crash-")
    while runs < 2000:
        runs += 1
        n = rng.randrange(1, 40) if rng.random() < 0.2 else rng.randrange(1, 400)
        status, log = run(crash, crash_at=n)
        recoveries += log.count("recovered ")
        torn += log.count("torn last record")
        check("moved aside" not in log, "no file is moved aside after a plain crash (op %d): %s"
              % (n, [l for l in log.splitlines() if "moved aside" in l][:3]))
        check("went backwards" not in log, "a resumed run never goes back in time (op %d)" % n)
        if status == 0:
            break
        if not check(status == -9, "run with a kill at op %d exits 0 or is killed (got %d): %s"
                     % (n, status, log[-1500:])):
            break
        kills += 1
    got = dumps(crash)
    check(sorted(got) == sorted(want), "round %d: same archives: %s vs %s"
          % (rounds, sorted(got), sorted(want)))
    for name in want:
        check(got.get(name) == want[name],
              "round %d: %s identical to the uninterrupted run (seed %d)" % (rounds, name, SEED))
print("%d kills in %d rounds (%d runs), %d recoveries, %d torn records cut off"
      % (kills, rounds, runs, recoveries, torn))
check(kills >= KILLS, "the daemon was killed %d times" % kills)
check(torn > 0, "some kills tore a journal record (the torn-tail path ran)")
T.finish()
