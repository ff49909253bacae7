"""`cmake --install` into a temporary root (DESTDIR) puts every file where it
belongs, with the right modes: daemon in sbin, tools and example plugins in
bin (rrd2csv a link to rrdd-tool), librrdd-plugin (shared with SONAME,
static), its headers and a pkg-config file that works (a program compiled
and linked with `pkg-config --cflags --libs` against the tree runs), the
systemd units with the right ExecStart, the tmpfiles.d and sysusers.d
entries, the default configuration file (parsed by the daemon, which then
has exactly its defaults; every key of --check-config is in it, commented,
with its default), and the man pages (rendered by `man --warnings -l`
without a warning)."""
import os
import re
import shutil
import stat
import subprocess

import rrddtest as T
from rrddtest import check

BUILD = os.path.abspath(T.BUILD)
cache = open(os.path.join(BUILD, "CMakeCache.txt")).read()
PREFIX = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", cache, re.M).group(1)
ETC = "/etc" if PREFIX == "/usr" else PREFIX + "/etc"
root = T.tmpdir("rrdd-install-")
env = dict(os.environ, DESTDIR=root, LC_ALL="C", TZ="UTC")
p = subprocess.run(["cmake", "--install", BUILD], capture_output=True, text=True, env=env)
check(p.returncode == 0, "cmake --install: %s" % p.stderr[-2000:])


def R(path):
    return root + path


def mode(path):
    return stat.S_IMODE(os.lstat(R(path)).st_mode)


pre = PREFIX
libdirs = [d for d in ("lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu")
           if os.path.exists(R("%s/%s/librrdd-plugin.so.1" % (pre, d)))]
check(len(libdirs) == 1, "librrdd-plugin.so.1 in one lib dir: %r" % libdirs)
lib = "%s/%s" % (pre, libdirs[0] if libdirs else "lib")
want = {
    pre + "/sbin/rrdd": 0o755,
    pre + "/bin/rrdd-tool": 0o755,
    pre + "/bin/rrdp-proc": 0o755,
    pre + "/bin/rrdp-demo-owners": 0o755,
    lib + "/librrdd-plugin.so.1.0.0": 0o644,  # Debian policy: not executable
    lib + "/librrdd-plugin.a": 0o644,
    lib + "/pkgconfig/rrdd-plugin.pc": 0o644,
    lib + "/cmake/rrdd-plugin/rrdd-pluginConfig.cmake": 0o644,
    pre + "/include/rrdd/plugin.h": 0o644,
    pre + "/include/rrdd/proto.h": 0o644,
    pre + "/lib/systemd/system/rrdd.service": 0o644,
    pre + "/lib/systemd/system/rrdp-proc.service": 0o644,
    pre + "/lib/systemd/system/rrdp-demo-owners.service": 0o644,
    pre + "/lib/tmpfiles.d/rrdd.conf": 0o644,
    pre + "/lib/sysusers.d/rrdd.conf": 0o644,
    ETC + "/rrdd.conf": 0o644,
    pre + "/share/man/man8/rrdd.8": 0o644,
    pre + "/share/man/man1/rrdd-tool.1": 0o644,
    pre + "/share/man/man3/rrdd-plugin.3": 0o644,
}
for path, m in sorted(want.items()):
    if check(os.path.isfile(R(path)) and not os.path.islink(R(path)), "installed: %s" % path):
        check(mode(path) == m, "%s mode %o, want %o" % (path, mode(path), m))
for link, target in ((pre + "/bin/rrd2csv", "rrdd-tool"),
                     (lib + "/librrdd-plugin.so.1", "librrdd-plugin.so.1.0.0"),
                     (lib + "/librrdd-plugin.so", "librrdd-plugin.so.1")):
    check(os.path.islink(R(link)) and os.readlink(R(link)) == target,
          "%s -> %s" % (link, target))
p = subprocess.run(["readelf", "-d", R(lib + "/librrdd-plugin.so.1.0.0")], capture_output=True,
                   text=True)
check("Library soname: [librrdd-plugin.so.1]" in p.stdout, "SONAME librrdd-plugin.so.1")

# ---- the programs run from the tree ----
for prog, args, want_out in ((pre + "/sbin/rrdd", ["--version"], "rrdd"),
                             (pre + "/bin/rrdd-tool", ["--help"], "rrdd-tool"),
                             (pre + "/bin/rrd2csv", ["--version"], "rrd2csv")):
    p = subprocess.run([R(prog)] + args, capture_output=True, text=True, env=env)
    check(p.returncode == 0 and want_out in p.stdout + p.stderr, "%s %r: %d %r"
          % (prog, args, p.returncode, (p.stdout + p.stderr)[:200]))
# the installed daemon has none of the tests' crash hooks (rrdd-test has them)
with open(R(pre + "/sbin/rrdd"), "rb") as f:
    check(b"RRDD_TEST_CRASH_OPS" not in f.read(), "no crash-test hooks in the installed rrdd")
check(not os.path.exists(R(pre + "/sbin/rrdd-test")) and not os.path.exists(R(pre + "/bin/rrdd-test")),
      "rrdd-test is not installed")
p = subprocess.run([R(pre + "/bin/rrdp-proc"), "--help"], capture_output=True, text=True,
                   env=dict(env, LD_LIBRARY_PATH=R(lib)))
check(p.returncode == 0 and "rrdp-proc" in p.stdout, "rrdp-proc from the tree")

# ---- the pkg-config file works ----
penv = dict(env, PKG_CONFIG_PATH=R(lib + "/pkgconfig"), PKG_CONFIG_SYSROOT_DIR=root)
penv.pop("PKG_CONFIG_LIBDIR", None)
p = subprocess.run(["pkg-config", "--cflags", "--libs", "rrdd-plugin"], capture_output=True,
                   text=True, env=penv)
flags = p.stdout.split()
check(p.returncode == 0 and "-lrrdd-plugin" in flags, "pkg-config: %r %s" % (flags, p.stderr))
incs = [f[2:] for f in flags if f.startswith("-I")]
libs = [f[2:] for f in flags if f.startswith("-L")]
check(any(os.path.realpath(i) == os.path.realpath(R(pre + "/include")) for i in incs),
      "-I points into the tree: %r" % incs)
check(any(os.path.realpath(x) == os.path.realpath(R(lib)) for x in libs),
      "-L points into the tree: %r" % libs)
p = subprocess.run(["pkg-config", "--modversion", "rrdd-plugin"], capture_output=True,
                   text=True, env=penv)
ver = p.stdout.strip()
src = os.path.join(root, "t.c")
with open(src, "w") as f:
    f.write('#include <rrdd/plugin.h>\n#include <stdio.h>\n'
            'int main(void) { struct rrdp_plugin *p; puts(rrdp_version());\n'
            '  return rrdp_plugin_new(&p, "../bad", NULL) == 0; }\n')
exe = os.path.join(root, "t")
p = subprocess.run(["cc", src, "-o", exe] + flags, capture_output=True, text=True, env=penv)
check(p.returncode == 0, "compile and link with the .pc flags: %s" % p.stderr[-1500:])
if p.returncode == 0:
    p = subprocess.run([exe], capture_output=True, text=True,
                       env=dict(env, LD_LIBRARY_PATH=R(lib)))
    check(p.returncode == 0 and p.stdout.strip() == ver and ver,
          "program linked against the tree runs: %r (version %r)" % (p.stdout, ver))

# ---- units, tmpfiles, sysusers ----
unit = open(R(pre + "/lib/systemd/system/rrdd.service")).read()
check(re.search(r"^ExecStart=%s/sbin/rrdd --config %s/rrdd\.conf( |$)" % (
    re.escape(pre), re.escape(ETC)), unit, re.M), "rrdd.service ExecStart")
for line in ("Type=notify", "Restart=on-failure", "NotifyAccess=main"):
    check(re.search("^%s$" % line, unit, re.M), "rrdd.service: %s" % line)
check(re.search(r"^WatchdogSec=\d+s$", unit, re.M), "rrdd.service: WatchdogSec")
for bad in ("PrivateDevices=yes", "PrivateNetwork=yes", "ProtectSystem=strict"):
    check(not re.search("^%s$" % bad, unit, re.M), "rrdd.service must not have %s (would hide /dev/xen, netdev, "
          "/var/lib/xcp)" % bad)
for pl in ("rrdp-proc", "rrdp-demo-owners"):
    u = open(R(pre + "/lib/systemd/system/%s.service" % pl)).read()
    check(re.search(r"^ExecStart=%s/bin/%s( |$)" % (re.escape(pre), pl), u, re.M) and
          "Requires=rrdd.service" in u and "After=rrdd.service" in u and
          "ReadWritePaths=-/dev/shm/metrics" in u, "%s.service" % pl)
tmpf = open(R(pre + "/lib/tmpfiles.d/rrdd.conf")).read()
check(re.search(r"^d /dev/shm/metrics 0775 root rrdmetrics -$", tmpf, re.M), "tmpfiles entry")
check(re.search(r"^g rrdmetrics -$", open(R(pre + "/lib/sysusers.d/rrdd.conf")).read(), re.M),
      "sysusers entry")

# ---- the configuration file ----
conf = R(ETC + "/rrdd.conf")
rrdd = R(pre + "/sbin/rrdd")
cenv = dict(env)
cenv.pop("NOTIFY_SOCKET", None)


def effective(args):
    p = subprocess.run([rrdd] + args + ["--check-config"], capture_output=True, text=True,
                       env=cenv)
    lines = [ln for ln in p.stdout.splitlines() if not ln.startswith("#")]
    return p.returncode, lines, p.stderr


rc0, defaults, _ = effective([])
rc, got, err = effective(["--config", conf])
check(rc0 == 0 and rc == 0 and got == defaults, "shipped config parses and changes nothing: %s"
      % err)
text = open(conf).read()
for ln in defaults:
    key, _, val = ln.partition(" = ")
    want_line = ("# %s = %s" % (key, val)).rstrip()
    check(want_line in text.splitlines(), "rrdd.conf has '%s'" % want_line)
uncommented = os.path.join(root, "all.conf")
with open(uncommented, "w") as f:
    f.write(re.sub(r"^# ([a-z-]+ =)", r"\1", text, flags=re.M))
rc, got, err = effective(["--config", uncommented])
check(rc == 0 and got == defaults, "every key uncommented: still the defaults: %s %r"
      % (err, sorted(set(got) ^ set(defaults))))
with open(uncommented, "a") as f:
    f.write("no-such-key = 1\n")
rc, _, err = effective(["--config", uncommented])
check(rc != 0 and "no-such-key" in err, "a bad key is refused (the check can fail)")

# ---- man pages ----
if not shutil.which("man"):
    check(False, "man (man-db) is not installed: scripts/install-deps.sh installs it")
else:
    for page, sect in (("rrdd", 8), ("rrdd-tool", 1), ("rrdd-plugin", 3)):
        path = R("%s/share/man/man%d/%s.%d" % (pre, sect, page, sect))
        p = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                           env=dict(env, MANWIDTH="80"))
        check(p.returncode == 0 and p.stderr == "", "man --warnings -l %s: %r" % (page, p.stderr))
        out = re.sub(".\b", "", p.stdout)
        check("NAME" in out and page in out and "SEE ALSO" in out and len(out) > 1500,
              "%s renders (%d bytes)" % (page, len(out)))
    # the man page's option list is the daemon's
    p = subprocess.run(["man", "-l", R(pre + "/share/man/man8/rrdd.8")], capture_output=True,
                       text=True, env=dict(env, MANWIDTH="200"))
    helptext = subprocess.run([rrdd, "--help"], capture_output=True, text=True).stdout + \
        subprocess.run([rrdd, "--help"], capture_output=True, text=True).stderr
    opts = sorted(set(re.findall(r"--[a-z][a-z-]+", helptext)))
    rendered = re.sub(".\b", "", p.stdout).replace("\u2010", "-")
    missing = [o for o in opts if o not in rendered]
    check(not missing, "rrdd.8 documents every option of rrdd --help; missing %r" % missing)
    # and rrdd-tool.1 every command of rrdd-tool --help
    p = subprocess.run(["man", "-l", R(pre + "/share/man/man1/rrdd-tool.1")], capture_output=True,
                       text=True, env=dict(env, MANWIDTH="200"))
    rendered = re.sub(".\b", "", p.stdout).replace("\u2010", "-")
    helptext = subprocess.run([R(pre + "/bin/rrdd-tool"), "--help"], capture_output=True,
                              text=True).stdout
    cmds = sorted(set(re.findall(r"rrdd-tool ([a-z][a-z0-9-]+)", helptext)))
    check(len(cmds) >= 10, "rrdd-tool --help lists its commands: %r" % cmds)
    missing = [c for c in cmds if not re.search(r"rrdd-tool %s\b" % re.escape(c), rendered)]
    check(not missing, "rrdd-tool.1 documents every command of --help; missing %r" % missing)
T.finish()
