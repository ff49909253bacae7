"""Protocol v3 (xcp-metrics) page writer for the tests, written from the
layout of docs/wire-format.md §11 and the OpenMetrics data model,
independently of rrdd's reader: the schema below is this file's own copy
(only the messages a gauge/counter writer needs, with the data model's
field numbers), compiled by protoc into Python at import time.

A metric is (family, type, unit, help, labels, value): type "gauge" or
"counter", labels a list of (name, value) pairs in order, value an int or a
float (None: no point).
"""
import importlib
import os
import struct
import subprocess
import sys
import tempfile
import zlib

SCHEMA = """
syntax = "proto3";
package openmetrics;
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message MetricSet { repeated MetricFamily metric_families = 1; }
message MetricFamily {
  string name = 1; MetricType type = 2; string unit = 3; string help = 4;
  repeated Metric metrics = 5;
}
enum MetricType {
  UNKNOWN = 0; GAUGE = 1; COUNTER = 2; STATE_SET = 3; INFO = 4;
  HISTOGRAM = 5; GAUGE_HISTOGRAM = 6; SUMMARY = 7;
}
message Metric { repeated Label labels = 1; repeated MetricPoint metric_points = 2; }
message Label { string name = 1; string value = 2; }
message MetricPoint {
  oneof value {
    UnknownValue unknown_value = 1; GaugeValue gauge_value = 2; CounterValue counter_value = 3;
    InfoValue info_value = 6;
  }
  Timestamp timestamp = 8;
}
message UnknownValue { oneof value { double double_value = 1; int64 int_value = 2; } }
message GaugeValue { oneof value { double double_value = 1; int64 int_value = 2; } }
message CounterValue {
  oneof total { double double_value = 1; uint64 int_value = 2; }
  Timestamp created = 3;
}
message InfoValue { repeated Label info = 1; }
"""

_pb = None


def pb():
    """The generated module (protoc --python_out), built once per process."""
    global _pb
    if _pb is None:
        d = tempfile.mkdtemp(prefix="om-proto-")
        with open(os.path.join(d, "om_test.proto"), "w") as f:
            f.write(SCHEMA)
        subprocess.run(["protoc", "-I" + d, "--python_out=" + d, "om_test.proto"], check=True)
        sys.path.insert(0, d)
        _pb = importlib.import_module("om_test_pb2")
    return _pb


def metric_set(metrics):
    """A MetricSet message: metrics of one family name share one family,
    in order of first appearance."""
    m = pb()
    ms = m.MetricSet()
    fams = {}
    for family, typ, unit, help_, labels, value in metrics:
        if family not in fams:
            f = ms.metric_families.add()
            f.name, f.unit, f.help = family, unit, help_
            f.type = {"gauge": m.GAUGE, "counter": m.COUNTER, "info": m.INFO,
                      "unknown": m.UNKNOWN}[typ]
            fams[family] = f
        mt = fams[family].metrics.add()
        for k, v in labels:
            lab = mt.labels.add()
            lab.name, lab.value = k, v
        if value is None:
            continue
        p = mt.metric_points.add()
        if typ == "counter":
            if isinstance(value, int):
                p.counter_value.int_value = value
            else:
                p.counter_value.double_value = value
        elif typ == "info":
            for k, v in value:
                lab = p.info_value.info.add()
                lab.name, lab.value = k, v
        else:
            if isinstance(value, int):
                p.gauge_value.int_value = value
            else:
                p.gauge_value.double_value = value
    return ms


def page_v3(ts, metrics, payload=None):
    """The page: header + payload (a MetricSet of metrics unless payload
    bytes are given)."""
    body = payload if payload is not None else metric_set(metrics).SerializeToString()
    tail = struct.pack(">QI", int(ts), len(body))
    crc = zlib.crc32(tail + body) & 0xffffffff
    return b"OPENMETRICS1" + struct.pack(">I", crc) + tail + body


def write_in_place(path, data):
    """As xcp-metrics' plugins write: open without truncating, write from
    offset 0 (a shorter page leaves the old tail behind)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, data, 0)
    finally:
        os.close(fd)
