"""rrdd-tool's daemon commands when the daemon cannot be used: no socket,
a stale socket nobody listens on, a socket the user may not open (run as
nobody through setpriv), a directory the user may not enter; and when
something that is not rrdd answers on the socket (garbage, truncated or
malformed HTTP, silence).  Clear messages, the documented exit statuses
(3 unreachable, 1 bad answer), never a crash or a hang.

Exits 77 (ctest: skipped) after all other checks if the permission cases
could not run (they need root and setpriv), saying why.
"""
import os
import shutil
import socket
import subprocess
import threading

import rrddtest as T
from rrddtest import check
import rrddhttp as H

tmp = T.tmpdir("rrdd-cli-err-")
os.chmod(tmp, 0o755)
env = dict(os.environ, LC_ALL="C", TZ="UTC")
env.pop("RRDD_SOCKET", None)
COMMANDS = [["ls"], ["ls", "--json"], ["show"], ["show", "all", "--json"], ["enable", "host", "x"],
            ["forget", "host", "x"], ["backup"], ["get", "host"], ["watch", "--count", "1"],
            ["rrd2csv", "--count", "1"]]


def tool(args, sock, pre=(), timeout=60):
    p = subprocess.run(list(pre) + [T.TOOL] + args + ["--socket", sock], capture_output=True,
                       text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


# ---- no socket ----
missing = os.path.join(tmp, "nothing-here")
for args in COMMANDS:
    rc, out, err = tool(args, missing)
    check(rc == 3 and out == "" and "rrdd is not running (no socket at %s)" % missing in err and
          err.count("\n") == 1, "%r without a socket: %d %r %r" % (args, rc, out, err))
# the default path is used when no --socket is given (and RRDD_SOCKET overrides it)
p = subprocess.run([T.TOOL, "ls"], capture_output=True, text=True, env=dict(env, RRDD_SOCKET=missing))
check(p.returncode == 3 and missing in p.stderr, "RRDD_SOCKET: %r" % p.stderr)

# ---- stale socket: the file exists, nobody listens ----
stale = os.path.join(tmp, "stale")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(stale)
s.close()
rc, out, err = tool(["ls"], stale)
check(rc == 3 and "rrdd is not running" in err and stale in err, "stale socket: %d %r" % (rc, err))

# ---- something else answers ----
# Every fake server stays open to the end: closing a listening socket while
# its thread waits in accept() lets the next server reuse the descriptor
# number, and the old thread then answers the new server's clients (a
# loaded run: "closes" answered with "garbage"'s bytes).
servers = []


def fake_server(path, answer, keep_open=False):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    conns = []

    def loop():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
            if keep_open:
                conns.append(c)
                continue
            try:
                c.sendall(answer)
            except OSError:
                pass
            c.close()
    threading.Thread(target=loop, daemon=True).start()
    servers.append(srv)
    return srv


cases = [
    ("garbage", b"hello there\r\n\r\n", "not an HTTP answer"),
    ("closes", b"", "without a complete answer"),
    ("truncated", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}", "truncated"),
    ("bad length", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", "Content-Length"),
    ("bad chunks", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunked"),
    ("not json", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "not JSON"),
    ("bad xport", b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"meta":{}}', "malformed"),
    ("error", b"HTTP/1.1 500 Internal\r\nContent-Length: 6\r\n\r\nboom\r\n", "HTTP 500"),
]
for name, answer, want in cases:
    path = os.path.join(tmp, "fake-" + name.replace(" ", "-"))
    srv = fake_server(path, answer)
    for args in (["show"], ["rrd2csv", "--count", "1"], ["watch", "--count", "1"]):
        rc, out, err = tool(args, path)
        check(rc == 1 and out == "" and want in err and err.count("\n") == 1,
              "%s / %r: %d %r %r" % (name, args, rc, out, err))
# RPC answers that are not RPC
NOSTATUS = (b'<?xml version="1.0"?><methodResponse><params><param><value><struct></struct>'
            b'</value></param></params></methodResponse>')
for name, answer, want in [
        ("html", b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n<html>", "bad XML-RPC answer"),
        ("401", b"HTTP/1.1 401 Unauthorised\r\nContent-Length: 0\r\n\r\n", "HTTP 401"),
        ("no status", b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(NOSTATUS), NOSTATUS),
         "without a Status")]:
    path = os.path.join(tmp, "rpc-" + name)
    srv = fake_server(path, answer)
    for args in (["ls"], ["enable", "host", "x"], ["backup"]):
        rc, out, err = tool(args, path)
        check(rc == 1 and out == "" and want in err, "%s / %r: %d %r" % (name, args, rc, err))
# silence: --timeout bounds the wait
path = os.path.join(tmp, "silent")
srv = fake_server(path, b"", keep_open=True)
rc, out, err = tool(["ls", "--timeout", "1"], path, timeout=30)
check(rc == 1 and "did not answer within 1000 ms" in err, "silent daemon: %d %r" % (rc, err))

# ---- permissions (needs root to drop to nobody) ----
skip = None
setpriv = shutil.which("setpriv")
if os.geteuid() != 0:
    skip = "not root: cannot create a socket another user may not open"
elif not setpriv:
    skip = "setpriv not installed (util-linux)"
else:
    as_nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    p = subprocess.run(as_nobody + [T.TOOL, "--help"], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        skip = "rrdd-tool is not executable by nobody (%s)" % p.stderr.strip()[:200]
if skip is None:
    d = H.Daemon(["--source", "none", "--clock", "real"], name="rrdd-cli-perm-")
    try:
        os.chmod(d.dir, 0o755)
        mode = os.stat(d.sock).st_mode & 0o777
        check(mode == 0o660, "the daemon's socket is 0660: %o" % mode)
        rc, out, err = tool(["ls"], d.sock)
        check(rc == 0, "root can use it: %s" % err)
        for args in (["ls"], ["show"], ["rrd2csv", "--count", "1"]):
            rc, out, err = tool(args, d.sock, pre=as_nobody)
            check(rc == 3 and out == "" and "permission denied" in err and
                  "run as root or as a member of group root" in err and "mode 660" in err,
                  "%r as nobody: %d %r" % (args, rc, err))
        os.chmod(d.sock, 0o000)
        rc, out, err = tool(["ls"], d.sock, pre=as_nobody)
        check(rc == 3 and "permission denied" in err and "mode 000" in err,
              "chmod 000 socket as nobody: %d %r" % (rc, err))
        os.chmod(d.sock, 0o660)
        os.chmod(d.dir, 0o700)
        rc, out, err = tool(["ls"], d.sock, pre=as_nobody)
        check(rc == 3 and "permission denied" in err and "directory is not accessible" in err,
              "socket in a closed directory as nobody: %d %r" % (rc, err))
        os.chmod(d.dir, 0o755)
        check(d.alive(), "daemon alive")
    finally:
        d.stop()

if T.failures:
    T.finish()
if skip:
    print("SKIP (permission cases): " + skip)
    raise SystemExit(77)
T.finish()
