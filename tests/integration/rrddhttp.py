"""Helpers for the HTTP integration tests: start a long-running rrdd with its
Unix socket, forwarded socket and a loopback TCP port, and talk to it over
the Unix socket (http.client) or TCP.  Not a test itself."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
import xmlrpc.client

import rrddtest as T

FIX = os.environ.get("RRDD_FIXTURES") or os.path.join(T.SRC, "tests", "fixtures")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


class Daemon:
    def __init__(self, extra, name="rrdd-http-", wrap=None):
        """extra: rrdd options; wrap: a command line that runs rrdd's
        (its arguments appended), e.g. to run it in a namespace."""
        self.dir = T.tmpdir(name)
        self.sock = os.path.join(self.dir, "xcp-rrdd")
        self.fwd = os.path.join(self.dir, "xcp-rrdd.forwarded")
        self.logf = os.path.join(self.dir, "log")
        args = list(wrap or []) + [T.RRDD, "--state-dir", self.dir, "--socket", self.sock,
                "--forwarded-socket", self.fwd, "--log-level", "info"] + extra
        env = dict(os.environ, LC_ALL="C", TZ="UTC")
        env.pop("NOTIFY_SOCKET", None)
        self.p = subprocess.Popen(args, stdout=open(self.logf, "w"), stderr=subprocess.STDOUT,
                                  env=env)
        self.port = None
        for _ in range(200):
            if self.p.poll() is not None:
                break
            text = self.log()
            m = re.search(r"listening on \S+ \(port (\d+)", text)
            if m:
                self.port = int(m.group(1))
            if os.path.exists(self.sock) and ("--listen" not in extra or self.port):
                try:
                    self.get("/nothing")
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("rrdd did not start: " + self.log())

    def log(self):
        with open(self.logf) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, tcp=False, timeout=60):
        if tcp:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        else:
            c = UnixHTTPConnection(self.sock, timeout=timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data, r.version

    def get(self, path, accept=None, tcp=False):
        h = {"Accept": accept} if accept is not None else {}
        return self.request("GET", path, headers=h, tcp=tcp)

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


class UnixTransport(xmlrpc.client.Transport):
    """xmlrpc.client over the daemon's Unix socket (as xapi's rrdd.py talks to it)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return UnixHTTPConnection(self.path)


def rpc_proxy(sock, url="http://_var_xapi_xcp-rrdd/"):
    """An XML-RPC proxy on a Unix socket, with nil allowed."""
    return xmlrpc.client.ServerProxy(url, transport=UnixTransport(sock), allow_none=True)


def strict_json(data):
    """json.loads that refuses NaN/Infinity literals (strict JSON)."""
    def bad(x):
        raise ValueError("non-standard JSON constant " + x)
    return json.loads(data, parse_constant=bad)
