"""Start-up with damaged files, and a simulated power loss.

1. Damaged, truncated and foreign archives (a PNG renamed .gz, an XML of
   another schema, a truncated gzip) of VMs of the scenario: each is moved
   aside to <name>.corrupt-<time> with a warning naming it, the VM starts
   afresh, the other archives load, and the daemon runs to the end.
2. A damaged checkpoint: moved aside with a warning, the previous one and
   the journal after it take over (no archive read).  Both checkpoints
   damaged and a foreign journal segment: moved aside with a warning, the
   daemon starts from the archives and runs.
3. Power loss: a run with --journal-fsync-interval 30s is killed (SIGKILL
   at a random store operation, seeded) and its journal is then cut back
   to the last fsynced length, as a power loss would leave it (the sync
   positions come from the RRDD_TEST_SYNC_LOG hook).  The recovered cycle
   must be at most 30 s (+ one cycle) before the last one the killed run
   had journaled (read from the journal with the format of
   docs/durability.md), and the resumed simulated run still ends with the
   archives of an uninterrupted run.
"""
import gzip
import os
import random
import re
import struct
import subprocess
import zlib

import rrddtest as T
from rrddtest import check

HOST = "0f0f0f0f-1111-4222-8333-444444444444"
QUARTER = "11111111-2222-4333-8444-555555555555"
WEB = "22222222-3333-4444-8555-666666666666"
BATCH = "33333333-4444-4555-8666-777777777777"
SCN = os.path.join(T.DATA, "lifecycle.scn")
SEED = int(os.environ.get("RRDD_CRASH_SEED", random.SystemRandom().randrange(1 << 30)))
print("seed %d (RRDD_CRASH_SEED=%d to replay)" % (SEED, SEED))
rng = random.Random(SEED)


def run(state, extra=(), env_extra=None, run_for="10m"):
    env = dict(os.environ, LC_ALL="C", TZ="UTC")
    env.pop("NOTIFY_SOCKET", None)
    env.update(env_extra or {})
    p = subprocess.run([T.RRDD_TEST, "--source", "sim", "--clock", "sim", "--sim-scenario", SCN,
                        "--run-for", run_for, "--host-uuid", HOST, "--socket", "none",
                        "--state-dir", state, "--log-level", "info"] + list(extra),
                       capture_output=True, text=True, timeout=120, env=env)
    return p.returncode, p.stderr + p.stdout


def dumps(state):
    arch = os.path.join(state, "rrds")
    return {n: subprocess.run([T.TOOL, "dump", os.path.join(arch, n), "--format", "internal"],
                              capture_output=True, check=True).stdout
            for n in sorted(os.listdir(arch)) if n.endswith(".gz")}


# ---- 1. damaged archives ----
state = T.tmpdir("rrdd-startup-")
arch = os.path.join(state, "rrds")
os.makedirs(arch)
png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
with open(os.path.join(arch, QUARTER + ".gz"), "wb") as f:
    f.write(png)
with open(os.path.join(arch, WEB + ".gz"), "wb") as f:
    f.write(gzip.compress(b"<?xml version='1.0'?><feed><entry>not an rrd</entry></feed>"))
good = os.path.join(os.environ.get("RRDD_FIXTURES") or os.path.join(T.SRC, "tests", "fixtures"),
                    "archive", "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0.gz")
with open(good, "rb") as f:
    blob = f.read()
with open(os.path.join(arch, BATCH + ".gz"), "wb") as f:
    f.write(blob[: len(blob) // 2])  # truncated gzip
status, log = run(state)
check(status == 0, "runs to the end with damaged archives: %s" % log[-1500:])
for uuid, what in ((QUARTER, "a PNG"), (WEB, "another schema"), (BATCH, "a truncated gzip")):
    moved = [n for n in os.listdir(arch) if n.startswith(uuid + ".gz.corrupt-")]
    check(len(moved) == 1, "%s archive (%s) moved aside: %s" % (uuid, what, moved))
    check(re.search(r"warning: vm %s: archive \S+%s\.gz is damaged.*moved aside to \S+corrupt-"
                    % (uuid, uuid), log), "a warning names the %s archive and where it went" % what)
    check(os.path.exists(os.path.join(arch, uuid + ".gz")),
          "%s has a fresh archive at the end" % uuid)
    if moved:
        with open(os.path.join(arch, moved[0]), "rb") as f:
            data = f.read()
        check(data in (png, blob[: len(blob) // 2]) or data.startswith(b"\x1f\x8b"),
              "the moved-aside file is the original bytes")

# ---- 2a. damaged checkpoint: the previous one and its segments take over ----
jdir = os.path.join(state, "journal")
check(os.path.exists(os.path.join(jdir, "checkpoint.prev")), "the previous checkpoint is kept")
with open(os.path.join(jdir, "checkpoint"), "r+b") as f:
    f.seek(80)
    f.write(b"\xff" * 16)
status, log = run(state)
check(status == 0, "runs with a damaged checkpoint: %s" % log[-1500:])
check(re.search(r"warning: \S+/checkpoint: .*moved aside to \S+checkpoint\.corrupt-", log),
      "the damaged checkpoint is named and moved aside")
check(re.search(r"warning: \S+: recovering from the previous checkpoint", log),
      "recovered from the previous checkpoint")
check(not re.search(r"host %s: RRD loaded from its archive" % HOST, log),
      "the archives were not needed")

# ---- 2b. both checkpoints damaged, a foreign segment ----
for name in ("checkpoint", "checkpoint.prev"):
    with open(os.path.join(jdir, name), "r+b") as f:
        f.seek(80)
        f.write(b"\xff" * 16)
with open(os.path.join(jdir, "seg-00000000000000ff.log"), "wb") as f:
    f.write(b"GIF89a" + b"\0" * 100)
status, log = run(state)
check(status == 0, "runs with a damaged checkpoint: %s" % log[-1500:])
check(re.search(r"warning: \S+/checkpoint: .*moved aside to \S+checkpoint\.corrupt-", log),
      "the damaged checkpoint is named and moved aside")
check(any(n.startswith("checkpoint.corrupt-") for n in os.listdir(jdir)), "checkpoint moved")
check(any(n.startswith("seg-00000000000000ff.log.corrupt-") for n in os.listdir(jdir)),
      "foreign segment moved aside: %s" % os.listdir(jdir))
check(re.search(r"host %s: RRD loaded from its archive" % HOST, log),
      "the daemon starts from the archives (host archive loaded)")

# ---- 3. power loss ----
ref = T.tmpdir("rrdd-power-ref-")
status, log = run(ref, ["--journal-fsync-interval", "30s"], run_for="30m")
check(status == 0, "reference run: %s" % log[-800:])
want = dumps(ref)


def last_tick(jdir):
    """Time of the last cycle record in the journal segments (docs/durability.md)."""
    best = None
    for name in sorted(os.listdir(jdir)):
        if not (name.startswith("seg-") and name.endswith(".log")):
            continue
        with open(os.path.join(jdir, name), "rb") as f:
            data = f.read()
        off = 32
        while off + 20 <= len(data):
            n, crc, seq, typ = struct.unpack_from("<IIQI", data, off)
            if off + 20 + n > len(data):
                break
            body = data[off + 20: off + 20 + n]
            if zlib.crc32(data[off + 8: off + 20 + n], zlib.crc32(data[off: off + 4])) != crc:
                break
            if typ == 1:  # first format: f64 now first
                raw = zlib.decompress(body[4:])
                best = struct.unpack_from("<d", raw, 0)[0]
            elif typ == 6:  # TICK2: varint stream, u8 flags, f64 now
                raw = zlib.decompress(body[4:])
                i = 0
                while raw[i] & 0x80:
                    i += 1
                best = struct.unpack_from("<d", raw, i + 2)[0]
            off += 20 + n
    return best


losses = []
for attempt in range(12):
    if len(losses) >= 4:
        break
    st = T.tmpdir("rrdd-power-")
    synclog = os.path.join(st, "synced.txt")
    n = rng.randrange(60, 500)
    status, log = run(st, ["--journal-fsync-interval", "30s"],
                      {"RRDD_TEST_CRASH_OPS": str(n), "RRDD_TEST_SYNC_LOG": synclog}, "30m")
    if status == 0:
        continue
    check(status == -9, "killed at op %d (%d)" % (n, status))
    jd = os.path.join(st, "journal")
    before = last_tick(jd)
    synced = {}
    if os.path.exists(synclog):
        for line in open(synclog):
            p, o = line.rsplit(" ", 1)
            synced[p] = int(o)
    # the power loss: every segment back to its last fsynced length
    for name in os.listdir(jd):
        p = os.path.join(jd, name)
        if name.startswith("seg-") and name.endswith(".log"):
            if p in synced:
                os.truncate(p, synced[p])
            else:
                os.unlink(p)  # created but never fsynced
    status, log = run(st, ["--journal-fsync-interval", "30s"], run_for="30m")
    check(status == 0, "restart after the power loss: %s" % log[-1500:])
    m = re.search(r"last cycle at ([0-9.]+)", log)
    if before is not None and m:
        lost = before - float(m.group(1))
        losses.append(lost)
        check(lost <= 30 + 5, "power loss at op %d lost %.0f s of cycles (<= 30 s + one cycle)"
              % (n, lost))
    got = dumps(st)
    check(got == want, "after the power loss the resumed run ends with the same archives")
print("power losses: seconds of cycles lost %s" % losses)
check(len(losses) >= 3, "at least three power losses simulated (%d)" % len(losses))
T.finish()
