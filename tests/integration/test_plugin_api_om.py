"""librrdd-plugin's xcp-metrics protocols against the real rrdd (issue 16,
item 4): the example rrdp-om-demo, written with the library's v3 pages
(rrdp_plugin_set_protocol(p, 3), registered through the xcp-metrics socket
as xcp-metrics' plugins do) and its v4 client (rrdp_v4_*), publishes a
gauge of 0.75, a counter growing by 5000 per sample and a VM's 2048 MiB
gauge; the daemon records them under the v3 mapping's names: the gauges
exactly, the v3 counter as a DERIVE of 1000/s (one sample per reading),
the v4 counter as a positive rate (its samples are not aligned with the
readings); when the v4 program exits, its connection's metrics go."""
import json
import os
import re
import subprocess
import time

import rrddtest as T
import rrddhttp as H
from rrddtest import check

HOST = "fd000000-1111-4222-8333-444444444444"
VM = "fd000001-0000-4000-8000-000000000001"
DEMO = os.path.join(T.BUILD, "plugins-api", "rrdp-om-demo")


def rows(d, key, since):
    st, _, body, _ = d.get("/rrd_updates?start=%d&host=true&json=true&vm_uuid=all" % since)
    doc = json.loads(body)
    for j, entry in enumerate(doc["meta"]["legend"]):
        _, _, uuid, ds = entry.split(":")
        if (uuid, ds) == key:
            return [float(r["values"][j]) for r in doc["data"]]
    return None


def main():
    tmp = T.tmpdir("rrdd-omapi-")
    scen = os.path.join(tmp, "scenario")
    with open(scen, "w") as f:
        f.write("vm a uuid=%s vcpus=1 memory_mib=512\n" % VM)
    plugins = os.path.join(tmp, "plugins")
    os.makedirs(plugins)
    d = H.Daemon(["--source", "sim", "--clock", "real", "--sim-scenario", scen,
                  "--host-uuid", HOST, "--plugin-dir", plugins], name="rrdd-omapi-d-")
    msock = os.path.join(d.dir, "xcp-metrics")
    procs = []
    try:
        t0 = int(time.time())
        procs.append(subprocess.Popen(
            [DEMO, "--protocol", "3", "--dir", plugins, "--socket", msock, "--uid", "omv3",
             "--prefix", "v3d_", "--vm", VM, "--ticks", "8"],
            stderr=subprocess.PIPE, text=True))
        procs.append(subprocess.Popen(
            [DEMO, "--protocol", "4", "--metrics-socket", msock, "--prefix", "v4d_",
             "--vm", VM, "--ticks", "6", "--interval", "5"], stderr=subprocess.PIPE, text=True))
        for p in procs:
            _, err = p.communicate(timeout=120)
            check(p.returncode == 0, "rrdp-om-demo exits 0 (%s)" % err.strip())
        time.sleep(6)
        log = d.log()
        check(re.search(r"plugin omv3 registered", log), "the v3 plugin registered: %s"
              % [ln for ln in log.splitlines() if "omv3" in ln][:3])
        for key, want in [((HOST, "v3d_load"), 0.75), ((VM, "v3d_mem"), 2048.0 * 2**20),
                          ((HOST, "v4d_load"), 0.75), ((VM, "v4d_mem"), 2048.0 * 2**20)]:
            vals = rows(d, key, t0)
            check(vals is not None and want in vals,
                  "%s recorded as %r (%s)" % (key[1], want, vals and vals[:8]))
        vals = rows(d, (HOST, "v3d_bytes"), t0)
        check(vals is not None and 1000.0 in vals,
              "the v3 counter is a DERIVE of 1000/s (%s)" % (vals and vals[:8]))
        vals = rows(d, (HOST, "v4d_bytes"), t0)
        check(vals is not None and any(v > 0 for v in vals if v == v),
              "the v4 counter gives a positive rate (%s)" % (vals and vals[:8]))
        check(re.search(r"v4 plugin v4:rrdp-om-demo:\d+:\d+: disconnected; its metrics are gone",
                        log), "the v4 program's exit is its disconnection")
        check(d.alive(), "daemon alive")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        d.stop()
    T.finish()


main()
