"""xcp-metrics' socket protocol ("v4") client for the tests, written from
xcp-metrics-common/src/protocol.rs and metrics.rs (docs/wire-format.md
§11.3) with Debian's cbor2, independently of rrdd's decoder: each message
is a serde externally tagged enum as ciborium writes it, sent behind a
4-byte big-endian length."""
import socket
import struct

import cbor2


def number(v):
    if v is None:
        return "Undefined"
    return {"Int64": v} if isinstance(v, int) else {"Double": float(v)}


def create_family(name, typ, unit="", help_=""):
    return {"CreateFamily": {"name": name, "metric_type": typ, "unit": unit, "help": help_}}


def update_metric(family, uuid16, labels, typ, value):
    if typ == "Counter":
        val = {"Counter": {"total": number(value), "created": None, "exemplar": None}}
    else:
        val = {typ: number(value)}
    return {"UpdateMetric": {"family_name": family, "uuid": uuid16,
                             "metric": {"labels": [{"name": k, "value": v} for k, v in labels],
                                        "value": val}}}


def remove_metric(family, uuid16):
    return {"RemoveMetric": {"family_name": family, "uuid": uuid16}}


def frame(msg):
    body = cbor2.dumps(msg)
    return struct.pack(">I", len(body)) + body


class Plugin:
    """One connection to the daemon's v4 socket."""

    def __init__(self, path, timeout=30):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)

    def send(self, *msgs):
        self.s.sendall(b"".join(frame(m) for m in msgs))

    def fetch(self, binary=False):
        self.send({"FetchMetrics": "OpenMetrics1Binary" if binary else "OpenMetrics1"})
        head = self._read(4)
        return self._read(struct.unpack(">I", head)[0])

    def _read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise EOFError("the daemon closed the connection")
            out += chunk
        return out

    def close(self):
        self.s.close()
