"""The OpenMetrics exposition in its forms (issue 16, item 3): GET /metrics
as OpenMetrics text on Accept: application/openmetrics-text (what
Prometheus sends), as the protobuf MetricSet on Accept:
application/openmetrics-protobuf, and as Prometheus' text format 0.0.4
otherwise (curl, promtool), as exporters negotiate; xcp-metrics' "OpenMetrics" RPC over XML-RPC and
JSON-RPC ({"protobuf": false|true}), answered with the exposition itself
under the OpenMetrics content types; and the v4 socket's FetchMetrics
(OpenMetrics1, OpenMetrics1Binary).  Every form carries the same families,
types, units and label sets (the VMs' names as xen_vm_info{vm_uuid, name} 1
among them, a gauge as Prometheus' own *_info metrics, which promtool
accepts), decoded independently (the text by a small
parser of the format, the protobuf by the Python protobuf module from the
tests' own schema), with the simulated host's data, labels included
(cpu="0", vm_uuid=...).  A DERIVE data source is also a counter family
holding its last raw reading: a V2 plugin's derive DS and a v4 plugin's
Counter read back as the totals the plugins wrote, in every form."""
import json
import os
import re
import shutil
import subprocess
import threading
import time
import xmlrpc.client

import rrddtest as T

T.require_modules("google.protobuf", "cbor2")

import rrddhttp as H  # noqa: E402
from pages import page_v2, write_atomic  # noqa: E402
from pages_v3 import pb  # noqa: E402
from pages_v4 import Plugin, create_family, update_metric  # noqa: E402
from rrddtest import check  # noqa: E402

TEXT = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PLAIN = "text/plain; version=0.0.4; charset=utf-8"
# the totals the plugins write, and the counter samples they become
# (docs/prometheus.md: a derive DS with units "u" counts "cumulative"; a v4
# Counter family keeps its name, plus its unit, as the plugin's counter)
V2_TOTAL, V4_TOTAL = 123456789, 987654321
V2_SAMPLE, V4_SAMPLE = "xen_host_p_om_sent_cumulative_total", "v4_om_sent_bytes_total"
# a v4 plugin's labelled gauge keeps its family and labels (with its unit,
# as xcp-metrics names a family)
V4_GAUGE = 'v4_om_temp_celsius{sensor="a"} 21.5\n'
PROTO = "application/openmetrics-protobuf; version=1.0.0"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def parse_text(text):
    """{(sample name, frozenset of label pairs)}, {sample name: type},
    {sample name: value} of the unlabelled samples.  A counter is typed by
    its sample's name: <family>_total in OpenMetrics, the TYPE line's own
    name in Prometheus' format."""
    series, types, values = set(), {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(" ", 3)
            if typ == "counter" and not fam.endswith("_total"):
                fam += "_total"
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
        if not labels:
            values[name] = float(m.group(4))
    return series, types, values


def parse_pb(data):
    ms = pb().MetricSet()
    ms.ParseFromString(data)
    series, types, values = set(), {}, {}
    names = {v: k for k, v in pb().MetricType.items()}
    for f in ms.metric_families:
        typ = names[f.type].lower()
        name = f.name + "_total" if typ == "counter" else f.name
        types[name] = typ
        for m in f.metrics:
            labels = frozenset((lab.name, lab.value) for lab in m.labels)
            series.add((name, labels))
            pts = m.metric_points
            want = "counter_value" if typ == "counter" else "gauge_value"
            if not check(len(pts) == 1 and pts[0].WhichOneof("value") == want,
                         "%s: one %s point" % (f.name, want)):
                continue
            if not labels:
                values[name] = (pts[0].counter_value.double_value if typ == "counter"
                                else pts[0].gauge_value.double_value)
    return series, types, values


class V2Writer(threading.Thread):
    """A V2 plugin rewriting its page every second, as plugins do every
    tick (an unchanged page goes stale), its derive DS holding a total."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.stop = path, threading.Event()

    def run(self):
        dss = [("p_om_sent", "host", "int64", "derive", True, V2_TOTAL)]
        while not self.stop.is_set():
            write_atomic(self.path, page_v2(time.time(), dss))
            self.stop.wait(1)


def plugins(d):
    """A V2 plugin with a derive DS and a v4 plugin with a Counter, each
    holding one total: the V2 writer and the v4 connection (closing it
    would remove its metric)."""
    pdir = os.path.join(d.dir, "plugins")
    os.makedirs(pdir, exist_ok=True)
    w = V2Writer(os.path.join(pdir, "p_om"))
    w.start()
    v4 = Plugin(os.path.join(d.dir, "xcp-metrics"))
    v4.send(create_family("v4_om_sent", "Counter", unit="bytes", help_="test total"),
            update_metric("v4_om_sent", bytes(range(16)), [], "Counter", V4_TOTAL),
            create_family("v4_om_temp", "Gauge", unit="celsius", help_="test gauge"),
            update_metric("v4_om_temp", bytes(range(1, 17)), [("sensor", "a")], "Gauge", 21.5))
    return w, v4


def main():
    d = H.Daemon(["--source", "sim", "--clock", "real", "--sim-domains", "3"],
                 name="rrdd-om-")
    try:
        w, v4 = plugins(d)
        # every RRD exists and has values (the plugins' from their second reading)
        deadline = time.time() + 60
        while time.time() < deadline:
            time.sleep(2)
            st, hdr, body, _ = d.get("/metrics", accept=TEXT)
            # (a gauge's value is its latest complete 5 s row: a row after
            # the counters' second reading)
            if (V2_SAMPLE.encode() in body and V4_SAMPLE.encode() in body and
                    V4_GAUGE.encode() in body):
                break
        st, hdr, body, _ = d.get("/metrics", accept=TEXT)
        check(st == 200 and hdr.get("content-type") == TEXT, "GET /metrics (OpenMetrics): %s %s"
              % (st, hdr.get("content-type")))
        text = body.decode()
        check(text.endswith("# EOF\n"), "the text ends with # EOF")
        ref, ref_types, ref_values = parse_text(text)
        check(len(ref) > 50, "the simulated host gives many series (%d)" % len(ref))
        check(any(f == "xen_host_cpu_ratio" and ("cpu", "0") in lab for f, lab in ref),
              "per-index names become labels (xen_host_cpu_ratio{cpu=\"0\"})")
        check(any(any(k == "vm_uuid" for k, _ in lab) for _, lab in ref),
              "VM series carry vm_uuid")
        # counters: the simulated host's VIF bytes, and the plugins' totals
        check(ref_types.get("xen_vm_vif_rx_bytes_total") == "counter" and
              "# UNIT xen_vm_vif_rx_bytes bytes" in text,
              "a VIF's received bytes are a counter family in bytes")
        check(ref_types.get("xen_vm_vif_rx") == "gauge", "beside its rate, a gauge")
        check(ref_values.get(V2_SAMPLE) == V2_TOTAL, "the V2 derive DS's total: %s"
              % ref_values.get(V2_SAMPLE))
        check(ref_values.get(V4_SAMPLE) == V4_TOTAL, "the v4 Counter's total: %s"
              % ref_values.get(V4_SAMPLE))
        check(ref_types.get(V4_SAMPLE) == "counter" and "# TYPE v4_om_sent_bytes gauge" not in text,
              "the v4 Counter is its counter alone, in its own family")
        check(V4_GAUGE in text, "the v4 gauge in its family with its label: %r"
              % [x for x in text.splitlines() if "v4_om_temp" in x])
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
        st, hdr, body, _ = d.get("/metrics")
        check(st == 200 and hdr.get("content-type") == PLAIN,
              "GET /metrics without Accept: Prometheus' text format: %s %s"
              % (st, hdr.get("content-type")))
        plain = body.decode()
        check("# EOF" not in plain and "# UNIT" not in plain and
              "# TYPE xen_vm_vif_rx_bytes_total counter" in plain,
              "Prometheus' format: no EOF, no UNIT, a counter named by its sample")
        forms["GET plain"] = parse_text(plain)
        if check(shutil.which("promtool") is not None, "promtool (apt-get install prometheus)"):
            p = subprocess.run(["promtool", "check", "metrics"], input=body,
                               capture_output=True, timeout=60)
            check(p.returncode == 0, "promtool check metrics, counters included: %s %s"
                  % (p.stdout[-800:], p.stderr[-800:]))
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

        fetcher = Plugin(os.path.join(d.dir, "xcp-metrics"))
        forms["v4 text"] = parse_text(fetcher.fetch().decode())
        forms["v4 protobuf"] = parse_pb(fetcher.fetch(binary=True))
        fetcher.close()
        v4.close()
        w.stop.set()

        for name, (series, types, values) in forms.items():
            check(series == ref, "%s: the same %d series as GET /metrics (%d differ)"
                  % (name, len(ref), len(series ^ ref)))
            check(types == ref_types, "%s: the same families and types" % name)
            check(values.get(V2_SAMPLE) == V2_TOTAL and values.get(V4_SAMPLE) == V4_TOTAL,
                  "%s: the plugins' totals" % name)
        check(d.alive(), "daemon alive")
    finally:
        d.stop()
    T.finish()


main()
