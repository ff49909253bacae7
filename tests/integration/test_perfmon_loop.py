"""perfmon's main loop against rrdd (issue 14: xcp-rrdd's status codes).

xen-api's perfmon (python3/bin/perfmon) polls rrd_updates with urllib and
parses it with SAX; on an HTTPError it restarts its session and carries on
for 401 and 500, and dies for any other code (its unit's restart limit then
leaves it stopped).  This runs that loop, with perfmon's request and error
handling copied from it, against a daemon from its first moment (before its
first cycle) and against one with --source none (no host RRD, ever): the
loop must never die, and on the simulated host it must read rows of the
host's data once they exist.
"""
import os
import time
import urllib.error
import urllib.request
import xml.sax as sax

import rrddtest as T
from rrddtest import check
import rrddhttp as H

HOST = "0d0d0d0d-1111-4222-8333-444444444444"


class Report(sax.ContentHandler):
    """What perfmon's RRDContentHandler keeps that matters here."""

    def __init__(self):
        super().__init__()
        self.path, self.text = [], ""
        self.end_time, self.rows, self.hosts = 0, 0, set()

    def startElement(self, name, attrs):
        self.path.append(name)
        self.text = ""

    def characters(self, content):
        self.text += content

    def endElement(self, name):
        if self.path[-2:] == ["meta", "end"]:
            self.end_time = int(self.text)
        elif self.path[-2:] == ["meta", "rows"]:
            self.rows = int(self.text)
        elif self.path[-2:] == ["legend", "entry"]:
            parts = self.text.split(":")  # perfmon: exactly four fields
            if len(parts) != 4:
                raise ValueError("legend entry %r" % self.text)
            if parts[1] == "host":
                self.hosts.add(parts[2])
        self.path.pop()


def perfmon_loop(port, runs, pause):
    """perfmon's loop: refresh, and its except clauses.  Returns (reads
    that parsed, session restarts, host uuids seen, rows seen)."""
    params = {"start": int(time.time()) - 60, "host": "true", "sr_uuid": "all",
              "cf": "AVERAGE", "interval": "60"}
    ok = restarts = rows = 0
    hosts = set()
    for _ in range(runs):
        try:
            p = {"session_id": "OpaqueRef:perfmon-test"}
            p.update(params)
            paramstr = "&".join(["%s=%s" % (k, p[k]) for k in p])
            url = "http://127.0.0.1:%d/rrd_updates?%s" % (port, paramstr)
            with urllib.request.urlopen(url, timeout=30) as sock:
                xmlsource = sock.read().decode("utf-8")
            report = Report()
            sax.parseString(xmlsource, report)
            params["start"] = report.end_time + 1
            ok += 1
            rows += report.rows
            hosts |= report.hosts
        except ConnectionRefusedError:
            restarts += 1
        except urllib.error.HTTPError as e:
            if e.code in (401, 500):
                restarts += 1
            else:
                raise  # perfmon dies here
        except OSError:
            restarts += 1
        time.sleep(pause)
    return ok, restarts, hosts, rows


for name, args, want_data in (
        ("fresh daemon", ["--source", "sim", "--clock", "real", "--sim-domains", "2"], True),
        ("--source none", ["--source", "none", "--clock", "real"], False)):
    d = H.Daemon(args + ["--host-uuid", HOST, "--listen", "127.0.0.1:0"],
                 name="rrdd-perfmon-")
    try:
        try:
            ok, restarts, hosts, rows = perfmon_loop(d.port, runs=16, pause=1.0)
            died = None
        except urllib.error.HTTPError as e:
            died = e
        check(died is None, "%s: perfmon's loop died on HTTP %s" % (name, died))
        if died is None:
            print("%s: %d reads parsed, %d session restarts (401/500), rows %d, hosts %s"
                  % (name, ok, restarts, rows, sorted(hosts)))
            if want_data:
                check(ok > 0 and rows > 0 and hosts == {HOST},
                      "%s: perfmon read the host's rows" % name)
            else:
                check(restarts > 0, "%s: no RRD, so 500s perfmon survives" % name)
        check(d.alive(), "%s: daemon alive" % name)
    finally:
        d.stop()
T.finish()
