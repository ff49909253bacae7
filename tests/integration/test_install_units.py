"""The systemd units and the Debian package.

Units: booting them needs systemd as PID 1, which this machine may not have;
then `systemd-analyze verify` checks them instead (syntax, every directive
known, executables present: the installed units are verified as copies
whose paths point into a DESTDIR install).  A deliberately broken copy must
be reported, so the check can fail.

Package: `cpack -G DEB` from a build configured with the prefix /usr, then
`dpkg-deb -I/-c/-x`: name, version, maintainer, description, Depends
computed by dpkg-shlibdeps (libc6, libmicrohttpd...), the conffile, the
shlibs file, the maintainer scripts, every expected path, and the packaged
units verified as above.  Then the same build configured with
RRDD_PACKAGE=RPM: `cpack -G RPM` and the checks of rpmcheck.py (rrdd in
place of xcp-rrdd).

Exits 77 (ctest: skipped) only when a needed tool is missing, saying which.
"""
import os
import re
import shutil
import subprocess

import rrddtest as T
from rrddtest import check

BUILD = os.path.abspath(T.BUILD)
SRC = os.path.abspath(T.SRC)
env = dict(os.environ, LC_ALL="C", TZ="UTC")
skips = []


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, env=kw.pop("env", env), **kw)


def verify_units(unit_dir, tree, prefix, what, main="rrdd.service"):
    """systemd-analyze verify on copies of the units of unit_dir whose
    absolute paths under prefix point into tree, and of a broken copy of
    main.  Returns the number checked."""
    work = T.tmpdir("rrdd-units-")
    names = sorted(f for f in os.listdir(unit_dir) if f.endswith(".service"))
    for n in names:
        text = open(os.path.join(unit_dir, n)).read()
        text = re.sub(r"(Exec\w+=)%s/" % re.escape(prefix), r"\g<1>%s%s/" % (tree, prefix), text)
        with open(os.path.join(work, n), "w") as f:
            f.write(text)
    p = run(["systemd-analyze", "verify", "--man=no"] + [os.path.join(work, n) for n in names])
    check(p.returncode == 0 and p.stderr.strip() == "" and p.stdout.strip() == "",
          "%s: systemd-analyze verify: rc %d %r %r" % (what, p.returncode, p.stdout, p.stderr))
    # the check can fail: a typo and a missing binary are reported
    bad = open(os.path.join(work, main)).read()
    bad = bad.replace("WatchdogSec=", "WatchdogSecs=").replace("/sbin/rrdd", "/sbin/rrdd-nope")
    with open(os.path.join(work, "broken.service"), "w") as f:
        f.write(bad)
    p = run(["systemd-analyze", "verify", "--man=no", os.path.join(work, "broken.service")])
    check("WatchdogSecs" in p.stderr and "rrdd-nope" in p.stderr,
          "%s: a broken unit is reported: %r" % (what, p.stderr))
    return len(names)


if not shutil.which("systemd-analyze"):
    skips.append("systemd-analyze not installed (package systemd)")
else:
    comm = open("/proc/1/comm").read().strip() if os.path.exists("/proc/1/comm") else "?"
    if comm != "systemd":
        print("note: PID 1 is %r, not systemd: units checked with systemd-analyze verify "
              "instead of being booted" % comm)
    else:
        print("note: systemd is PID 1, but starting rrdd.service here would touch the host's "
              "/var/lib/xcp and /dev/shm/metrics: units checked with systemd-analyze verify")
    root = T.tmpdir("rrdd-install-u-")
    p = run(["cmake", "--install", BUILD], env=dict(env, DESTDIR=root))
    check(p.returncode == 0, "cmake --install: %s" % p.stderr[-1500:])
    prefix = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$",
                       open(os.path.join(BUILD, "CMakeCache.txt")).read(), re.M).group(1)
    n = verify_units(root + prefix + "/lib/systemd/system", root, prefix, "installed units")
    check(n == 3, "three units verified (%d)" % n)

# ---- Debian package ----
tools = [t for t in ("cpack", "dpkg-deb", "dpkg-shlibdeps", "file") if not shutil.which(t)]
if tools:
    skips.append("missing for the .deb: %s (packages cmake, dpkg, dpkg-dev, file)" % ", ".join(tools))
else:
    # always a build of its own, configured for packaging, with only what is
    # installed built (cpack in the tested build dir would rebuild "all" there
    # while other tests run)
    pkgbuild = T.tmpdir("rrdd-pkg-build-")
    p = run(["cmake", "-S", SRC, "-B", pkgbuild, "-DCMAKE_INSTALL_PREFIX=/usr",
             "-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"])
    check(p.returncode == 0, "configure for packaging: %s" % p.stderr[-1500:])
    p = run(["cmake", "--build", pkgbuild, "-j4", "--target", "rrdd", "rrdd-tool",
             "rrdd-plugin", "rrdd-plugin-static", "rrdp-proc", "rrdp-demo-owners"],
            timeout=1200)
    check(p.returncode == 0, "build for packaging: %s" % (p.stdout + p.stderr)[-2000:])
    out = T.tmpdir("rrdd-deb-")
    p = run(["cpack", "-G", "DEB", "-B", out], cwd=pkgbuild, timeout=1200)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    check(p.returncode == 0 and len(debs) == 1, "cpack -G DEB: %r %s" % (debs, (p.stdout + p.stderr)[-2000:]))
    if debs:
        deb = os.path.join(out, debs[0])
        info = run(["dpkg-deb", "-I", deb]).stdout
        fields = dict(re.findall(r"^ ([A-Za-z-]+): (.*)$", info, re.M))
        check(fields.get("Package") == "rrdd", "Package: %r" % fields.get("Package"))
        check(re.match(r"^\d+\.\d+\.\d+", fields.get("Version", "")), "Version")
        check("<" in fields.get("Maintainer", "") and fields.get("Description"),
              "Maintainer and Description")
        dep = fields.get("Depends", "")
        for lib in ("libc6", "libmicrohttpd", "libjson-c", "libsystemd0", "zlib1g",
                    "libexpat1", "libxenstore"):
            check(lib in dep, "Depends (dpkg-shlibdeps) has %s: %r" % (lib, dep))
        # librrd (and cairo/pango behind it) is loaded only for graphs and
        # rrdtool files (export/librrd.h): suggested, not required
        check("librrd" not in dep, "Depends has no librrd: %r" % dep)
        check("librrd8" in fields.get("Suggests", ""), "Suggests: librrd8: %r" % fields.get("Suggests"))
        check(fields.get("Architecture") == run(["dpkg", "--print-architecture"]).stdout.strip(),
              "Architecture")
        ctrl = T.tmpdir("rrdd-deb-ctrl-")
        run(["dpkg-deb", "-e", deb, ctrl])
        check(open(os.path.join(ctrl, "conffiles")).read().split() == ["/etc/rrdd.conf"],
              "conffiles: /etc/rrdd.conf")
        check(re.search(r"^librrdd-plugin 1 rrdd", open(os.path.join(ctrl, "shlibs")).read(),
                        re.M), "shlibs for librrdd-plugin.so.1")
        for s in ("postinst", "prerm", "postrm"):
            path = os.path.join(ctrl, s)
            check(os.path.exists(path) and os.stat(path).st_mode & 0o111 and
                  run(["sh", "-n", path]).returncode == 0, "%s executable and valid sh" % s)
        listing = run(["dpkg-deb", "-c", deb]).stdout
        paths = {ln.split()[5].lstrip(".") for ln in listing.splitlines() if len(ln.split()) >= 6}
        for want in ("/usr/sbin/rrdd", "/usr/bin/rrdd-tool", "/usr/bin/rrd2csv",
                     "/usr/bin/rrdp-proc", "/usr/bin/rrdp-demo-owners", "/etc/rrdd.conf",
                     "/usr/lib/systemd/system/rrdd.service",
                     "/usr/lib/systemd/system/rrdp-proc.service",
                     "/usr/lib/systemd/system/rrdp-demo-owners.service",
                     "/usr/lib/tmpfiles.d/rrdd.conf", "/usr/lib/sysusers.d/rrdd.conf",
                     "/usr/include/rrdd/plugin.h", "/usr/share/man/man8/rrdd.8",
                     "/usr/share/man/man1/rrdd-tool.1", "/usr/share/man/man3/rrdd-plugin.3"):
            check(want in paths, "package has %s" % want)
        check(any(re.match(r"^/usr/lib/[^/]+/librrdd-plugin\.so\.1$", x) for x in paths) and
              any(re.match(r"^/usr/lib/[^/]+/pkgconfig/rrdd-plugin\.pc$", x) for x in paths),
              "package has the library and its .pc file")
        check(not any(x.startswith("/usr/local") or x.startswith("/usr/etc") for x in paths),
              "nothing under /usr/local or /usr/etc")
        tree = T.tmpdir("rrdd-deb-x-")
        run(["dpkg-deb", "-x", deb, tree])
        if shutil.which("systemd-analyze"):
            verify_units(tree + "/usr/lib/systemd/system", tree, "/usr", "packaged units")
        unit = open(tree + "/usr/lib/systemd/system/rrdd.service").read()
        check("ExecStart=/usr/sbin/rrdd --config /etc/rrdd.conf" in unit, "packaged ExecStart")

# ---- RPM (rrdd as xcp-rrdd), from the same packaging build ----
tools = [t for t in ("rpmbuild", "rpm", "rpm2cpio", "cpio", "rpmlint", "unshare")
         if not shutil.which(t)]
if tools:
    skips.append("missing for the .rpm: %s (packages rpm, cpio, rpmlint, util-linux)"
                 % ", ".join(tools))
elif "pkgbuild" not in globals():
    skips.append("no packaging build for the .rpm (the .deb's tools are missing)")
elif not T.failures:
    import rpmcheck
    rpmcheck.check_rpm(run, pkgbuild, SRC, verify_units)

if T.failures:
    T.finish()
if skips:
    print("SKIP: " + "; ".join(skips))
    raise SystemExit(77)
T.finish()
