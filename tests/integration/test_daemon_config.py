"""rrdd's command line and config file: --check-config prints the effective
configuration (file keys, then command line overrides), --help and
--version, and usage errors exit 2 with a message naming the problem.
"""
import os

import rrddtest as T
from rrddtest import check

d = T.tmpdir("rrdd-config-")
conf = os.path.join(d, "rrdd.conf")
with open(conf, "w") as f:
    f.write("# comment\n\nsource = sim\nclock=sim   # trailing comment\nrun-for = 2h\n"
            "sim_domains = 7\nstate-dir = '%s/state'\nlog-level = debug\n"
            "plugin-default = true\n" % d)

status, out = T.run_rrdd(["--config", conf, "--sim-domains", "9", "--check-config"])
check(status == 0, "--check-config exits 0: " + out)
lines = dict(l.split(" = ", 1) for l in out.splitlines() if " = " in l)
check(lines.get("source") == "sim" and lines.get("clock") == "sim", "file keys apply: " + out)
check(lines.get("run-for") == "7200s", "run-for 2h = 7200 s: %r" % lines.get("run-for"))
check(lines.get("sim-domains") == "9", "the command line overrides the file")
check(lines.get("state-dir") == d + "/state", "quoted value: %r" % lines.get("state-dir"))
check(lines.get("archive-dir") == d + "/state/rrds", "sim archives default under the state dir")
check(lines.get("metrics-dir") == d + "/state", "sim dumps default to the state dir")
check(lines.get("log-level") == "debug", "log-level from the file")
check(lines.get("enable-all-dss") == "true", "xcp-rrdd's plugin-default alias")

status, out = T.run_rrdd(["--check-config"])
lines = dict(l.split(" = ", 1) for l in out.splitlines() if " = " in l)
check(lines.get("archive-dir") == "/var/lib/xcp/blobs/rrds" and lines.get("metrics-dir") == "/dev/shm",
      "Xen defaults: archives in /var/lib/xcp/blobs/rrds, dumps in /dev/shm: " + out)

for dur, want in (("90", "90s"), ("90s", "90s"), ("10m", "600s"), ("1d", "86400s")):
    status, out = T.run_rrdd(["--run-for", dur, "--check-config"])
    check(status == 0 and ("run-for = " + want) in out, "--run-for %s = %s" % (dur, want))

status, out = T.run_rrdd(["--help"])
check(status == 0 and "--run-for" in out and "--sim-scenario" in out, "--help")
status, out = T.run_rrdd(["--version"])
check(status == 0 and out.startswith("rrdd "), "--version: " + out)

for args, what in ((["--run-for", "10x"], "run-for"), (["--run-for", "-5"], "run-for"),
                   (["--source", "kvm"], "source"), (["--clock", "fast"], "clock"),
                   (["--host-uuid", "not-a-uuid"], "host-uuid"), (["--bogus"], "--bogus"),
                   (["--sim-domains", "x"], "sim-domains"), (["extra"], "extra")):
    status, out = T.run_rrdd(args + ["--check-config"])
    check(status == 2 and what in out, "%s: exit 2 naming %r (got %d): %s"
          % (args, what, status, out[:200]))

bad = os.path.join(d, "bad.conf")
with open(bad, "w") as f:
    f.write("source = sim\n\nfrobnicate = 1\n")
status, out = T.run_rrdd(["--config", bad, "--check-config"])
check(status == 2 and "bad.conf:3" in out and "frobnicate" in out,
      "config errors name the file and line: " + out[:200])
status, out = T.run_rrdd(["--config", os.path.join(d, "missing.conf")])
check(status == 2 and "missing.conf" in out, "missing config file: " + out[:200])

bad_scn = os.path.join(d, "bad.scn")
with open(bad_scn, "w") as f:
    f.write("vm a uuid=11111111-2222-4333-8444-555555555555 vcpus=1 memory_mib=1\nload b 0 0.5\n")
status, out = T.run_rrdd(["--source", "sim", "--clock", "sim", "--sim-scenario", bad_scn,
                          "--state-dir", d + "/s2", "--run-for", "10"])
check(status == 1 and "line 2" in out, "a bad scenario stops rrdd with the line: " + out[-300:])

T.finish()
