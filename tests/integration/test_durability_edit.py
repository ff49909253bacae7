"""Archives edited by hand while rrdd is stopped (docs/durability.md,
"Archives edited while rrdd is stopped").

rrdd on the simulated host and clock runs 2 simulated minutes and stops
cleanly (checkpoint, then every archive); VM X's archive is then replaced
by hand with VM Y's; rrdd starts again on the same state dir and runs to
4 minutes.

1. With the checkpoint in place the edit is ignored: X is not loaded from
   its archive, the start-up log says why and how to do otherwise, and the
   final archives are identical (rrdd-tool dump --format internal) to
   those of the same two runs without the edit.
2. The documented procedure (stop cleanly, edit, remove <state>/journal,
   start): X is loaded from the edited archive and ends with another
   archive than in the same procedure without the edit, Y and the host
   with the same.
"""
import os
import shutil
import subprocess

import rrddtest as T
from rrddtest import check

HOST = "0f0f0f0f-1111-4222-8333-444444444444"
ARGS = ["--source", "sim", "--clock", "sim", "--sim-domains", "2", "--host-uuid", HOST,
        "--socket", "none", "--log-level", "info"]


def run(state, run_for, extra=()):
    env = dict(os.environ, LC_ALL="C", TZ="UTC")
    env.pop("NOTIFY_SOCKET", None)
    p = subprocess.run([T.RRDD] + ARGS + ["--state-dir", state, "--run-for", run_for] + list(extra),
                       capture_output=True, text=True, timeout=120, env=env)
    check(p.returncode == 0, "rrdd exits 0: %s" % (p.stderr + p.stdout)[-1500:])
    return p.stderr + p.stdout


def dumps(state):
    arch = os.path.join(state, "rrds")
    return {n: subprocess.run([T.TOOL, "dump", os.path.join(arch, n), "--format", "internal"],
                              capture_output=True, check=True).stdout
            for n in sorted(os.listdir(arch)) if n.endswith(".gz")}


def vms(state):
    return sorted(n[:-3] for n in os.listdir(os.path.join(state, "rrds"))
                  if n.endswith(".gz") and n[:-3] != HOST and not n.startswith("00000000-"))


# reference: the two runs without an edit
ref = T.tmpdir("rrdd-edit-ref-")
run(ref, "2m")
run(ref, "4m")
want = dumps(ref)
x, y = vms(ref)[:2]
check(want[x + ".gz"] != want[y + ".gz"], "the two VMs have different histories")


def edited(state):
    run(state, "2m")
    arch = os.path.join(state, "rrds")
    shutil.copyfile(os.path.join(arch, y + ".gz"), os.path.join(arch, x + ".gz"))


# 1. checkpoint present: the edit is ignored
st = T.tmpdir("rrdd-edit-")
edited(st)
log = run(st, "4m")
check("vm %s" % x not in [l.split(" (")[0].split(": ")[-1] for l in log.splitlines()
                          if "RRD loaded from its archive" in l],
      "X is not loaded from its edited archive")
check("win over the archives" in log and "remove %s/journal" % st in log,
      "start-up log says the recovered RRDs win and how to start from archives")
check(dumps(st) == want, "archives identical to the unedited runs: the edit was ignored")

# 2. the procedure: remove the journal dir, then start (the simulated clock
# starts where the first run ended, as a real one would be past it); the
# same without the edit is the control
def procedure(edit):
    st = T.tmpdir("rrdd-edit-proc-")
    if edit:
        edited(st)
    else:
        run(st, "2m")
    shutil.rmtree(os.path.join(st, "journal"))
    log = run(st, "2m", ["--sim-epoch", "1700000120"])
    check("went backwards" not in log, "the restart goes forward in time")
    check(any("vm %s" % x in l and "RRD loaded from its archive" in l for l in log.splitlines()),
          "X loaded from its archive: %s" % [l for l in log.splitlines() if "loaded" in l])
    return dumps(st)


plain = procedure(False)
got = procedure(True)
check(got[x + ".gz"] != plain[x + ".gz"], "the edit of X's archive took effect")
check(got[y + ".gz"] == plain[y + ".gz"] and got[HOST + ".gz"] == plain[HOST + ".gz"],
      "Y and the host as without the edit")
T.finish()
