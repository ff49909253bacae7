"""The OpenMetrics exposition in its three forms (issue 16, item 3): GET
/metrics as text and, on Accept: application/openmetrics-protobuf, as the
protobuf MetricSet; xcp-metrics' "OpenMetrics" RPC over XML-RPC and
JSON-RPC ({"protobuf": false|true}), answered with the exposition itself
under the OpenMetrics content types; and the v4 socket's FetchMetrics
(OpenMetrics1, OpenMetrics1Binary).  Every form carries the same families,
types, units and label sets (the VMs' names as xen_vm_info{vm_uuid, name} 1
among them, a gauge as Prometheus' own *_info metrics, which promtool
accepts), decoded independently (the text by a small
parser of the format, the protobuf by the Python protobuf module from the
tests' own schema), with the simulated host's data, labels included
(cpu="0", vm_uuid=...)."""
import json
import os
import re
import time
import xmlrpc.client

import rrddtest as T

T.require_modules("google.protobuf", "cbor2")

import rrddhttp as H  # noqa: E402
from pages_v3 import pb  # noqa: E402
from pages_v4 import Plugin  # noqa: E402
from rrddtest import check  # noqa: E402

TEXT = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PROTO = "application/openmetrics-protobuf; version=1.0.0"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def parse_text(text):
    """{(family, frozenset of label pairs)}, {family: type}."""
    series, types = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(" ", 3)
            types[fam] = typ
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        if not check(m is not None, "a sample line parses: %r" % line[:100]):
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                      m.group(3) or ""))
        name = m.group(1)
        if name == "xen_vm_info":
            check(m.group(4) == "1", "a xen_vm_info sample's value is 1")
        series.add((name, labels))
    return series, types


def parse_pb(data):
    ms = pb().MetricSet()
    ms.ParseFromString(data)
    series, types = set(), {}
    names = {v: k for k, v in pb().MetricType.items()}
    for f in ms.metric_families:
        types[f.name] = names[f.type].lower()
        for m in f.metrics:
            series.add((f.name, frozenset((lab.name, lab.value) for lab in m.labels)))
            check(len(m.metric_points) == 1 and
                  m.metric_points[0].WhichOneof("value") == "gauge_value",
                  "%s: one gauge point" % f.name)
    return series, types


def main():
    d = H.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "3"],
                 name="rrdd-om-")
    try:
        time.sleep(12)  # two ticks: every RRD exists and has values
        st, hdr, body, _ = d.get("/metrics")
        check(st == 200 and hdr.get("content-type") == TEXT, "GET /metrics: %s %s"
              % (st, hdr.get("content-type")))
        text = body.decode()
        check(text.endswith("# EOF\n"), "the text ends with # EOF")
        ref, ref_types = parse_text(text)
        check(len(ref) > 50, "the simulated host gives many series (%d)" % len(ref))
        check(any(f == "xen_host_cpu_ratio" and ("cpu", "0") in lab for f, lab in ref),
              "per-index names become labels (xen_host_cpu_ratio{cpu=\"0\"})")
        check(any(any(k == "vm_uuid" for k, _ in lab) for _, lab in ref),
              "VM series carry vm_uuid")
        # the VMs' names: one xen_vm_info per VM RRD, named as the simulator names them
        vm_uuids = {dict(lab)["vm_uuid"] for f, lab in ref
                    if f.startswith("xen_vm_") and f != "xen_vm_info" and "vm_uuid" in dict(lab)}
        infos = {dict(lab)["vm_uuid"]: dict(lab).get("name") for f, lab in ref
                 if f == "xen_vm_info"}
        check(ref_types.get("xen_vm_info") == "gauge", "xen_vm_info is a gauge (of 1)")
        check(set(infos) == vm_uuids and len(vm_uuids) >= 3,
              "xen_vm_info for every VM (%d) and only them (%d)" % (len(vm_uuids), len(infos)))
        check(all(n and re.fullmatch(r"dom0|vm\d+", n) for n in infos.values()),
              "the simulated VMs' names: %s" % sorted(infos.values()))

        forms = {}
        st, hdr, body, _ = d.get("/metrics", accept=PROTO)
        check(st == 200 and hdr.get("content-type") == PROTO, "GET /metrics protobuf: %s %s"
              % (st, hdr.get("content-type")))
        forms["GET protobuf"] = parse_pb(body)

        call = xmlrpc.client.dumps(({"protobuf": False},), "OpenMetrics")
        st, hdr, body, _ = d.request("POST", "/", body=call,
                                     headers={"Content-Type": "text/xml"})
        check(st == 200 and hdr.get("content-type") == TEXT, "XML-RPC OpenMetrics: %s %s"
              % (st, hdr.get("content-type")))
        forms["XML-RPC text"] = parse_text(body.decode())
        call = json.dumps({"jsonrpc": "2.0", "id": "1", "method": "OpenMetrics",
                           "params": {"protobuf": True}})
        st, hdr, body, _ = d.request("POST", "/", body=call,
                                     headers={"Content-Type": "application/json-rpc"})
        check(st == 200 and hdr.get("content-type") == PROTO, "JSON-RPC OpenMetrics: %s %s"
              % (st, hdr.get("content-type")))
        forms["JSON-RPC protobuf"] = parse_pb(body)

        v4 = Plugin(os.path.join(d.dir, "xcp-metrics"))
        forms["v4 text"] = parse_text(v4.fetch().decode())
        forms["v4 protobuf"] = parse_pb(v4.fetch(binary=True))
        v4.close()

        for name, (series, types) in forms.items():
            check(series == ref, "%s: the same %d series as GET /metrics (%d differ)"
                  % (name, len(ref), len(series ^ ref)))
            check(types == ref_types, "%s: the same families and types" % name)
        check(d.alive(), "daemon alive")
    finally:
        d.stop()
    T.finish()


main()
