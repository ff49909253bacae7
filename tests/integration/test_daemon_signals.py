"""rrdd on the real clock: SIGHUP keeps it running, SIGTERM archives every
RRD and exits 0; the host uuid is generated once and kept across restarts
(or taken from the inventory); a restart loads the archives it wrote, so
history survives.  About three seconds of real time.
"""
import os
import signal
import subprocess
import time

import rrddtest as T
from rrddtest import check

E = 1700000000


def wait_for(path, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


# -- SIGHUP then SIGTERM on the real clock
state = T.tmpdir("rrdd-signals-")
env = dict(os.environ, LC_ALL="C", TZ="UTC")
env.pop("NOTIFY_SOCKET", None)
p = subprocess.Popen([T.RRDD, "--source", "sim", "--clock", "real", "--sim-domains", "2",
                      "--state-dir", state], stderr=subprocess.PIPE, text=True, env=env)
check(wait_for(os.path.join(state, "vm-metrics.json"), 10), "the first tick writes the dumps")
p.send_signal(signal.SIGHUP)
time.sleep(0.3)
check(p.poll() is None, "SIGHUP does not stop rrdd")
p.send_signal(signal.SIGTERM)
try:
    err = p.communicate(timeout=10)[1]
except subprocess.TimeoutExpired:
    p.kill()
    err = p.communicate()[1]
check(p.returncode == 0, "SIGTERM: exit status 0 (got %s): %s" % (p.returncode, err[-1500:]))
check("log reopened" in err, "SIGHUP reopens the log")
with open(os.path.join(state, "host-uuid")) as f:
    host = f.read().strip()
arch = os.path.join(state, "rrds")
names = sorted(os.listdir(arch)) if os.path.isdir(arch) else []
check(host + ".gz" in names, "SIGTERM archived the host RRD as <host-uuid>.gz: %s" % names)
check(len([n for n in names if n.endswith(".gz")]) == 4,
      "SIGTERM archived host + dom0 + 2 domUs: %s" % names)
check(not [n for n in names if not n.endswith(".gz")], "no temporary files left: %s" % names)
for n in names:
    d = T.dump_json(os.path.join(arch, n))
    check(len(d["ds"]) > 0, "archive %s loads with rrdd-tool dump and has DSs" % n)
    check(oct(os.stat(os.path.join(arch, n)).st_mode & 0o777) == "0o644", "%s is 0644" % n)

# -- restarts on the simulated clock: the same host uuid, archives loaded
state = T.tmpdir("rrdd-restart-")
common = ["--source", "sim", "--clock", "sim", "--sim-domains", "2", "--state-dir", state,
          "--run-for", "5m"]
status, log1 = T.run_rrdd(common + ["--sim-epoch", str(E)])
check(status == 0, "first run exits 0: %s" % log1[-1000:])
check("(generated)" in log1, "first run generates a host uuid")
with open(os.path.join(state, "host-uuid")) as f:
    host1 = f.read().strip()
status, log2 = T.run_rrdd(common + ["--sim-epoch", str(E + 1000)])
check(status == 0, "second run exits 0: %s" % log2[-1000:])
with open(os.path.join(state, "host-uuid")) as f:
    host2 = f.read().strip()
check(host1 == host2 and host1 in log2 and "(state)" in log2,
      "the host uuid persists across restarts (%s, %s)" % (host1, host2))
# with its journal (the default) a restart recovers the checkpoint the first
# run wrote at exit; the archives are what a run without a journal loads
check("recovered " in log2, "second run recovers its checkpoint:\n" + log2)
hs = T.dump_updates(os.path.join(state, "rrds", host1 + ".gz"), E)  # the 1 min archive
first_run = [v for t, v in hs["memory_total_kib"] if t <= E + 300 and v == v]
second_run = [v for t, v in hs["memory_total_kib"] if t >= E + 1060 and v == v]
check(first_run and second_run,
      "the host archive holds rows of both runs (%d, %d)" % (len(first_run), len(second_run)))

# -- without a journal, a restart loads the archives the first run wrote
st2 = T.tmpdir("rrdd-restart-nojournal-")
nj = ["--source", "sim", "--clock", "sim", "--sim-domains", "2", "--state-dir", st2,
      "--run-for", "5m", "--no-journal"]
status, _ = T.run_rrdd(nj + ["--sim-epoch", str(E)])
check(status == 0, "first run without a journal exits 0")
status, log5 = T.run_rrdd(nj + ["--sim-epoch", str(E + 1000)])
check(status == 0 and "recovered " not in log5, "second run without a journal exits 0")
check(log5.count("RRD loaded") == 4, "second run loads host, dom0 and 2 domU archives:\n" + log5)

# -- the inventory's INSTALLATION_UUID wins over the state file
inv = os.path.join(state, "inventory")
with open(inv, "w") as f:
    f.write("PRIMARY_DISK='/dev/sda'\nINSTALLATION_UUID='ABCDEF01-2345-4678-9abc-def012345678'\n")
status, log3 = T.run_rrdd(common + ["--sim-epoch", str(E + 2000), "--inventory", inv])
check(status == 0 and "abcdef01-2345-4678-9abc-def012345678 (inventory)" in log3,
      "host uuid from the inventory: " + log3[:300])
check(os.path.exists(os.path.join(state, "rrds", "abcdef01-2345-4678-9abc-def012345678.gz")),
      "host archive named after the inventory uuid")
status, log4 = T.run_rrdd(common + ["--sim-epoch", str(E + 3000), "--inventory", inv,
                                    "--host-uuid", "12345678-1234-4234-8234-123456789abc"])
check(status == 0 and "12345678-1234-4234-8234-123456789abc (option)" in log4,
      "--host-uuid wins over the inventory")

T.finish()
