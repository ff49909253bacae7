"""xcp-rrdd's plugins beside rrdd's built-in families (issue 13, item 5).

On XCP-ng xcp-rrdd's collectors run as plugins (xcp-rrdd-netdev, ...) and
report the same data sources rrdd makes itself.  A page written as
xcp-rrdd-netdev writes it (protocol V2, its names: pif_eth0_rx,
pif_eth0_tx, vif_0_rx for a VM; counters as DERIVE int64) plus one data
source of its own that rrdd does not make, beside a simulated host whose
eth0 and VIF run at known rates:

- --plugin-families plugin (the default): while the page reports, the
  values recorded are the plugin's (its counters move 1,000,000 B/s, the
  simulation's 1,000), the log says the built-in family stands down; when
  the page stops, the built-in values come back and the log says so;
- --plugin-families builtin: the plugin's duplicates are ignored (the
  simulation's rates are recorded), the log says so;
- either way the plugin's own data source is recorded.
"""
import json
import os
import re
import threading
import time

import rrddtest as T
from rrddtest import check
import rrddhttp as H
from pages import page_v2, write_atomic

HOST = "fa000000-1111-4222-8333-444444444444"
VM = "fa000001-0000-4000-8000-000000000001"
PLUGIN_RATE = 1000000.0


class Netdev(threading.Thread):
    """xcp-rrdd-netdev's page, rewritten every second with counters moving
    at PLUGIN_RATE B/s."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.stop, self.t0 = path, False, time.time()

    def run(self):
        while not self.stop:
            now = time.time()
            c = int((now - self.t0) * PLUGIN_RATE)
            dss = [("pif_eth0_rx", "host", "int64", "derive", True, c),
                   ("pif_eth0_tx", "host", "int64", "derive", True, 2 * c),
                   ("vif_0_rx", "vm " + VM, "int64", "derive", True, c),
                   ("netdev_only_stat", "host", "float", "gauge", True, 42.0)]
            write_atomic(self.path, page_v2(now, dss))
            time.sleep(1)


def last_values(d, since):
    st, _, body, _ = d.get("/rrd_updates?start=%d&host=true&json=true&vm_uuid=all" % since)
    doc = json.loads(body)
    legend = doc["meta"]["legend"]
    out = {}
    for j, entry in enumerate(legend):
        _, _, uuid, ds = entry.split(":")
        vals = [float(r["values"][j]) for r in doc["data"]]
        vals = [v for v in vals if v == v]
        out[(uuid, ds)] = vals[0] if vals else None  # the newest row first
    return out


def run(mode):
    tmp = T.tmpdir("rrdd-fam-")
    scen = os.path.join(tmp, "scenario")
    with open(scen, "w") as f:
        f.write("nic eth0 rx=1000 tx=2000\n"
                "vm a uuid=%s vcpus=1 memory_mib=512\n"
                "vif a 0 rx=1000 tx=3000\n" % VM)
    plugins = os.path.join(tmp, "plugins")
    os.makedirs(plugins)
    args = ["--source", "sim", "--clock", "real", "--sim-scenario", scen, "--host-uuid", HOST,
            "--plugin-dir", plugins]
    if mode:
        args += ["--plugin-families", mode]
    d = H.Daemon(args, name="rrdd-fam-d-")
    w = Netdev(os.path.join(plugins, "xcp-rrdd-netdev"))
    try:
        time.sleep(6)
        w.start()
        time.sleep(26)  # the page is found, its counters give rates
        got = last_values(d, int(time.time()) - 20)
        pif = got.get((HOST, "pif_eth0_rx"))
        vif = got.get((VM, "vif_0_rx"))
        own = got.get((HOST, "netdev_only_stat"))
        log = d.log()
        if mode == "builtin":
            check(pif is not None and abs(pif - 1000) < 1 and vif is not None and
                  abs(vif - 1000) < 1, "builtin: the simulation's rates (pif %s, vif %s)"
                  % (pif, vif))
            check("its data sources of rrdd's built-in families are ignored" in log,
                  "builtin: logged")
        else:
            check(pif is not None and abs(pif - PLUGIN_RATE) < PLUGIN_RATE * 0.05 and
                  vif is not None and abs(vif - PLUGIN_RATE) < PLUGIN_RATE * 0.05,
                  "plugin: the plugin's rates are recorded (pif %s, vif %s)" % (pif, vif))
            check("plugin xcp-rrdd-netdev reports: rrdd's built-in data sources of its family "
                  "stand down" in log, "plugin: the stand-down is logged")
        check(own == 42.0, "%s: the plugin's own data source is recorded (%s)" % (mode, own))
        print("%s: pif_eth0_rx %s, vif_0_rx %s, netdev_only_stat %s" % (mode, pif, vif, own))
        if mode != "builtin":
            w.stop = True
            w.join()
            os.unlink(w.path)
            time.sleep(31)  # stale, gone; the built-in family back
            got = last_values(d, int(time.time()) - 10)
            pif = got.get((HOST, "pif_eth0_rx"))
            check(pif is not None and abs(pif - 1000) < 1,
                  "plugin gone: the built-in rate again (%s)" % pif)
            check(re.search(r"plugin xcp-rrdd-netdev stopped reporting: rrdd's built-in", d.log()),
                  "the return is logged")
        check(d.alive(), "daemon alive")
    finally:
        w.stop = True
        d.stop()


run(None)
run("builtin")
T.finish()
