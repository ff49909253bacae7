"""VIF and PIF figures from the kernel's links (issue 13, item 1).

In network namespaces this test owns (IPv6 off, no addresses: nothing but
what it sends crosses the links), veth pairs named as Xen names them give
two VMs of a simulated host their network: vif1.0 (VM A, domid 1), vif2.0
and tap2.0 (VM B, domid 2, PV and emulated NIC 0), and two host NICs eth0
and eth1 that an xcp-networkd state file (written here, as networkd.db)
lists as managed, with an Open-vSwitch-style bond0 of both.  They sit on a
bridge (Open vSwitch's userspace datapath where ovs-vsctl and
ovs-vswitchd are installed, else a Linux bridge, said in the output).  rrdd
runs in that namespace (--source sim --net-source kernel).  Raw broadcast
frames of known sizes are sent from the guests' ends and from beyond eth0;
the bridge floods them to the other ports, whose bytes are counted
independently at the far end of each veth (a Linux bridge floods every
frame, which is checked too).  rrd_updates must give exactly these: the sum
over the rows of rate x step equals the bytes, for every vif_*/pif_* data
source (within float32 storage).
A vif7.0 (no such domain) and eth0.10 (managed, but a VLAN by its name,
which xcp-rrdd leaves out) must not appear.  Needs root.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import time

import rrddtest as T
from rrddtest import check
import rrddhttp as H

VM_A = "aaaa0001-0000-4000-8000-000000000001"
VM_B = "aaaa0002-0000-4000-8000-000000000002"
HOST = "aaaa0000-1111-4222-8333-444444444444"
TAG = "r%d" % os.getpid()
NS, G1, G2, G3 = TAG + "n", TAG + "g1", TAG + "g2", TAG + "x"
SENDER = r"""
import socket, sys, time
ifname, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"\x00" * (size - 14)
for i in range(n):
    s.send(frame)
    if i % 20 == 19:
        time.sleep(0.002)  # a userspace switch keeps up
"""


def sh(*argv, ns=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    env = dict(os.environ)
    if OVS.get("dir"):  # Open vSwitch's run, database and log directories: ours
        env.update(OVS_RUNDIR=OVS["dir"], OVS_DBDIR=OVS["dir"], OVS_LOGDIR=OVS["dir"])
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr.strip()))
    return p.stdout


def setup():
    for ns in (NS, G1, G2, G3):
        sh("ip", "netns", "add", ns)
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
           "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
        sh("ip", "link", "set", "dev", "lo", "up", ns=ns)
    pairs = [("vif1.0", G1, "g"), ("vif2.0", G2, "g"), ("tap2.0", G2, "t"),
             ("eth0", G3, "x0"), ("eth1", G3, "x1"), ("vif7.0", G3, "z"),
             ("eth0.10", G3, "v")]  # a VLAN by its name, as xcp-rrdd tells them
    for name, peer_ns, peer in pairs:
        sh("ip", "link", "add", name, "netns", NS, "type", "veth", "peer", "name", peer,
           "netns", peer_ns)
        sh("ip", "link", "set", "dev", name, "up", ns=NS)
        sh("ip", "link", "set", "dev", peer, "up", ns=peer_ns)
    ports = ["vif1.0", "vif2.0", "tap2.0", "eth0"]
    why = "Open vSwitch's tools are not installed"
    if shutil.which("ovs-vsctl") and shutil.which("ovs-vswitchd"):
        why = ovs_start()
    if why is None:
        sh("ovs-vsctl", "--db=unix:" + OVS["sock"], "add-br", "xenbr0", "--", "set", "bridge",
           "xenbr0", "datapath_type=netdev")
        for p in ports:
            sh("ovs-vsctl", "--db=unix:" + OVS["sock"], "add-port", "xenbr0", p)
        return "Open vSwitch (userspace datapath)"
    sh("ip", "link", "add", "xenbr0", "type", "bridge", "stp_state", "0", "forward_delay", "0",
       ns=NS)
    for p in ports:
        sh("ip", "link", "set", "dev", p, "master", "xenbr0", ns=NS)
    sh("ip", "link", "set", "dev", "xenbr0", "up", ns=NS)
    return "Linux bridge (%s)" % why


OVS = {}


def ovs_start():
    """ovsdb-server and ovs-vswitchd of our own, in the namespace: None, or
    why they could not start."""
    d = T.tmpdir("rrdd-ovs-")
    OVS.update(dir=d, sock=os.path.join(d, "db.sock"))
    schema = "/usr/share/openvswitch/vswitch.ovsschema"
    try:
        sh("ovsdb-tool", "create", os.path.join(d, "conf.db"), schema)
        sh("ovsdb-server", os.path.join(d, "conf.db"), "--remote=punix:" + OVS["sock"],
           "--pidfile=" + os.path.join(d, "db.pid"), "--detach", "--no-chdir",
           "--log-file=" + os.path.join(d, "db.log"), ns=NS)
        sh("ovs-vsctl", "--db=unix:" + OVS["sock"], "--no-wait", "init")
        sh("ovs-vswitchd", "unix:" + OVS["sock"], "--pidfile=" + os.path.join(d, "vs.pid"),
           "--detach", "--no-chdir", "--log-file=" + os.path.join(d, "vs.log"), ns=NS)
        return None
    except RuntimeError as e:
        ovs_stop()
        OVS.clear()
        return "Open vSwitch could not start here: %s" % str(e)[-300:]


def ovs_stop():
    for pid in ("vs.pid", "db.pid"):
        path = os.path.join(OVS.get("dir", "/nonexistent"), pid)
        if os.path.exists(path):
            try:
                os.kill(int(open(path).read().strip()), 15)
            except (ValueError, OSError):
                pass


def teardown():
    ovs_stop()
    for ns in (NS, G1, G2, G3):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def peer_rx(ns, ifname):
    return int(sh("cat", "/sys/class/net/%s/statistics/rx_bytes" % ifname, ns=ns))


def send(ns, ifname, n, size):
    sh(sys.executable, "-c", SENDER, ifname, str(n), str(size), ns=ns)
    return n * size


def totals(d, since):
    """Sum over rows of rate x step per (owner uuid, DS) since the time."""
    st, _, body, _ = d.get("/rrd_updates?start=%d&host=true&json=true&vm_uuid=all" % since)
    check(st == 200, "rrd_updates: %d" % st)
    doc = json.loads(body)
    step = float(doc["meta"]["step"])
    legend = doc["meta"]["legend"]
    out = {}
    for j, entry in enumerate(legend):
        _, kind, uuid, ds = entry.split(":")
        total = 0.0
        for row in doc["data"]:
            v = float(row["values"][j])  # numbers, or "NaN" as xcp-rrdd writes it
            if not math.isnan(v):  # before the DS existed
                total += v
        out[(uuid, ds)] = total * step
    return out


def main():
    if os.geteuid() != 0 or not shutil.which("ip"):
        print("needs root and iproute2")
        raise SystemExit(1)
    tmp = T.tmpdir("rrdd-knet-")
    scen = os.path.join(tmp, "scenario")
    with open(scen, "w") as f:
        f.write("vm a uuid=%s vcpus=1 memory_mib=512\n"
                "vm b uuid=%s vcpus=1 memory_mib=512 hvm\n" % (VM_A, VM_B))
    db = os.path.join(tmp, "networkd.db")
    with open(db, "w") as f:  # xcp-networkd's state: its NICs and an OVS bond of both
        json.dump({"interface_order": [{"name": "eth0", "position": 0, "present": True},
                                       {"name": "eth1", "position": 1, "present": True},
                                       {"name": "eth0.10", "position": 2, "present": True}],
                   "bridge_config": {"xenbr0": {"ports": {
                       "bond0": {"interfaces": ["eth0", "eth1"]}}}}}, f)
    try:
        bridge = setup()
        print("bridge: " + bridge)
        d = H.Daemon(["--source", "sim", "--clock", "real", "--sim-scenario", scen,
                      "--host-uuid", HOST, "--net-source", "kernel", "--networkd-db", db],
                     name="rrdd-knet-d-", wrap=["ip", "netns", "exec", NS])
        try:
            # three cycles with the counters still (DERIVE needs a previous sample)
            for _ in range(300):
                st, _, body, _ = d.get("/vm_rrd?uuid=" + VM_B)
                if st == 200 and b"vif_0_tx" in body:
                    break
                time.sleep(0.1)
            time.sleep(11)
            peers = [(G1, "g"), (G2, "g"), (G2, "t"), (G3, "x0"), (G3, "x1")]
            before = {p: peer_rx(*p) for p in peers}
            since = int(time.time()) - 5
            a_tx = send(G1, "g", 700, 1000)    # VM A sends (guest tx)
            b_tx = send(G2, "t", 300, 600)     # VM B's emulated NIC sends
            x_rx = send(G3, "x0", 400, 1400)   # from the network into eth0
            time.sleep(16)
            got = totals(d, since - 60)
            # what each port passed on, measured independently at the other
            # end of its veth (the guest's side)
            delta = {p: peer_rx(*p) - before[p] for p in peers}
            a_rx = delta[(G1, "g")]
            b_rx = delta[(G2, "g")] + delta[(G2, "t")]
            eth0_tx, eth1_tx = delta[(G3, "x0")], delta[(G3, "x1")]
            if bridge.startswith("Linux"):
                # a Linux bridge floods every frame: B's two NICs get A's and
                # eth0's, vif2.0 also those its own tap2.0 sent
                check(a_rx == b_tx + x_rx and b_rx == 2 * (a_tx + x_rx) + b_tx and
                      eth0_tx == a_tx + b_tx, "the bridge flooded every frame: %r" % delta)
            check(a_rx > 0 and b_rx > 0 and eth0_tx > 0, "frames crossed the bridge: %r" % delta)
            want = {
                (VM_A, "vif_0_tx"): a_tx, (VM_A, "vif_0_rx"): a_rx,
                (VM_B, "vif_0_tx"): b_tx, (VM_B, "vif_0_rx"): b_rx,
                (HOST, "pif_eth0_rx"): x_rx, (HOST, "pif_eth0_tx"): eth0_tx,
                (HOST, "pif_eth1_rx"): 0, (HOST, "pif_eth1_tx"): eth1_tx,
                (HOST, "pif_bond0_rx"): x_rx, (HOST, "pif_bond0_tx"): eth0_tx + eth1_tx,
                (HOST, "pif_aggr_rx"): 2 * x_rx, (HOST, "pif_aggr_tx"): 2 * (eth0_tx + eth1_tx),
            }
            for key, w in sorted(want.items()):
                g = got.get(key)
                ok = g is not None and abs(g - w) <= 1e-6 * max(w, 1) + 1e-3
                check(ok, "%s %s: %s bytes, want %d" % (key[0][:8], key[1], g, w))
                print("%-9s %-14s %12s  want %d" % (key[0][:8], key[1],
                                                    "%.1f" % g if g is not None else "-", w))
            names = {ds for _, ds in got}
            check(not any("eth0.10" in n or "vif7" in n or n.startswith("pif_vif")
                          or n.startswith("pif_tap") or "xenbr0" in n for n in names),
                  "no VLAN, bridge, VIF-as-PIF or unknown domain: %s"
                  % sorted(n for n in names if n.startswith("pif_")))
            check(d.alive(), "daemon alive")
        finally:
            d.stop()
    finally:
        teardown()
    T.finish()


if __name__ == "__main__":
    main()
