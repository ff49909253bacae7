"""rrdd on a host without librrd (issue 14: dom0's footprint).

The daemon and rrdd-tool do not link librrd (nor cairo/pango through it):
`ldd` shows none of them.  Then rrdd runs in a mount namespace where every
librrd file of the library directory is hidden by an overlay whiteout, as
on a dom0 where rrdtool is not installed: every other endpoint answers, the
features that need librrd (/graph, /rrd_file, --rrdcached, rrdd-tool's
export-rrd) say why they cannot, with 501 for the endpoints, and the daemon
keeps running.  A control daemon outside the namespace draws the same graph
(200), so the 501 comes from the missing library.  Needs root (unshare -m).
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rrddtest as T  # noqa: E402
import rrddhttp as H  # noqa: E402

check = T.check
HOST = "c0ffee00-2222-4333-8444-555566667777"
GRAPH = "/graph?ds=cpu0&start=-5m"


def librrd_dir():
    """The directory holding the librrd the dynamic linker would load."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.search(r"librrd\.so\.\d+ .*=> (\S+)", line)
        if m:
            return os.path.dirname(os.path.realpath(m.group(1)))
    return None


def hiding_wrapper(libdir, tmp):
    """A command prefix that runs its arguments with libdir's librrd* files
    absent (overlay whiteouts: character devices 0:0 in the upper layer)."""
    upper, work = os.path.join(tmp, "upper"), os.path.join(tmp, "work")
    os.makedirs(upper)
    os.makedirs(work)
    hidden = [n for n in os.listdir(libdir) if n.startswith("librrd")]
    for n in hidden:
        os.mknod(os.path.join(upper, n), 0o600 | 0o020000, os.makedev(0, 0))
    script = ('mount -t overlay overlay -o lowerdir="$1",upperdir="$2",workdir="$3" "$1" '
              '&& shift 3 && exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
            libdir, upper, work], hidden


def wait_host_rrd(d, timeout=40):
    end = time.time() + timeout
    while time.time() < end:
        st, _, _, _ = d.get("/host_rrd")
        if st == 200:
            return True
        time.sleep(0.5)
    return False


def main():
    for binary in (T.RRDD, T.TOOL):
        libs = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        bad = [l.split()[0] for l in libs.splitlines()
               if re.search(r"librrd|libcairo|libpango|libfontconfig|libfreetype", l)]
        check(not bad, "%s links %s" % (os.path.basename(binary), bad))
        print("%s: %d shared libraries, none of librrd/cairo/pango" %
              (os.path.basename(binary), len(libs.splitlines())))

    libdir = librrd_dir()
    if not check(libdir is not None, "ldconfig knows a librrd (the control needs it)"):
        T.finish()
    tmp = T.tmpdir("rrdd-nolibrrd-")
    wrap, hidden = hiding_wrapper(libdir, tmp)
    print("hiding %s in %s" % (", ".join(sorted(hidden)), libdir))

    # the wrapper really hides the library: a program asking for it fails
    probe = subprocess.run(wrap + [sys.executable, "-c",
                                   "import ctypes; ctypes.CDLL('librrd.so.8')"],
                           capture_output=True, text=True)
    check(probe.returncode != 0 and "librrd" in probe.stderr,
          "librrd hidden in the namespace: %d %s" % (probe.returncode, probe.stderr[-200:]))

    common = ["--source", "sim", "--clock", "real", "--host-uuid", HOST,
              "--listen", "127.0.0.1:0", "--insecure-listen"]
    d = H.Daemon(common + ["--rrdcached", "unix:" + os.path.join(tmp, "rrdcached.sock")],
                 name="rrdd-nolibrrd-d-", wrap=wrap)
    ctl = H.Daemon(common, name="rrdd-nolibrrd-ctl-")
    try:
        check(wait_host_rrd(d), "host_rrd answered without librrd")
        check(wait_host_rrd(ctl), "control host_rrd answered")
        for path in ("/host_rrd?json=true", "/rrd_updates?start=0&host=true",
                     "/rrd_updates?start=0&host=true&json=true", "/metrics"):
            st, _, body, _ = d.get(path)
            check(st == 200 and body, "%s without librrd: %d" % (path, st))
        st, hd, body, _ = d.get(GRAPH)
        text = body.decode(errors="replace")
        check(st == 501, "graph without librrd: %d %r" % (st, text[:200]))
        check("librrd" in text and "\n" not in text.strip(),
              "graph's reason names librrd in one line: %r" % text[:300])
        print("graph without librrd: %d %s" % (st, text.strip()))
        st, _, body, _ = d.get("/rrd_file")
        check(st == 501 and b"librrd" in body, "rrd_file without librrd: %d %r" % (st, body[:200]))
        st, hd, body, _ = ctl.get(GRAPH)
        check(st == 200 and body[:8] == b"\x89PNG\r\n\x1a\n",
              "control graph with librrd: %d %r" % (st, body[:100]))
        log = d.log()
        check(re.search(r"rrdcached forwarding: librrd cannot be loaded.*\(not forwarding\)", log),
              "--rrdcached without librrd logged: %s" % log[-600:])
        check(d.alive(), "daemon still running")
    finally:
        check(d.stop() == 0, "rrdd without librrd stopped cleanly")
        check(ctl.stop() == 0, "control stopped cleanly")

    # rrdd-tool: what needs librrd says so, the rest works
    archive = os.path.join(d.dir, "rrds", HOST + ".gz")
    if check(os.path.exists(archive), "archive written at stop"):
        p = subprocess.run(wrap + [T.TOOL, "export-rrd", archive, os.path.join(tmp, "x.rrd")],
                           capture_output=True, text=True)
        check(p.returncode != 0 and "librrd" in p.stderr,
              "export-rrd without librrd: %d %r" % (p.returncode, p.stderr[-300:]))
        p = subprocess.run(wrap + [T.TOOL, "dump", archive], capture_output=True, text=True)
        check(p.returncode == 0 and "<rrd>" in p.stdout,
              "dump without librrd: %d %r" % (p.returncode, p.stderr[-300:]))
    T.finish()


if __name__ == "__main__":
    main()
