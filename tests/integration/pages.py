"""Plugin page writers for the tests, written from the layouts of
docs/wire-format.md (§6.2 V1, §6.3 V2, §6.5.1 the writers in the wild),
independently of rrdd's reader.  A DS is (name, owner, value_type, type,
default, value), owner "host", "vm <uuid>" or "sr <uuid>".
"""
import hashlib
import json
import os
import struct
import zlib


def meta_obj(dss):
    d = {}
    for name, owner, vt, typ, dflt, _ in dss:
        d[name] = {"description": "test " + name, "owner": owner, "value_type": vt,
                   "type": typ, "default": "true" if dflt else "false", "units": "u",
                   "min": "-inf", "max": "inf"}
    return {"datasources": d}


def values_bytes(dss):
    out = b""
    for _, _, vt, _, _, v in dss:
        out += struct.pack(">q", int(v)) if vt == "int64" else struct.pack(">d", float(v))
    return out


def page_v2(ts, dss, meta_text=None, int_ts=False, pad=4096):
    meta = (meta_text if meta_text is not None else json.dumps(meta_obj(dss))).encode()
    tsb = struct.pack(">q", int(ts)) if int_ts else struct.pack(">d", ts)
    body = tsb + values_bytes(dss)
    head = b"DATASOURCES" + struct.pack(">III", zlib.crc32(body), zlib.crc32(meta), len(dss))
    page = head + body + struct.pack(">I", len(meta)) + meta
    if len(page) < pad:
        page += b"\0" * (pad - len(page))
    return page


def page_v1(ts, dss):
    obj = meta_obj(dss)
    for name, _, vt, _, _, v in dss:
        obj["datasources"][name]["value"] = str(int(v)) if vt == "int64" else repr(float(v))
    obj = {"timestamp": ts, "datasources": obj["datasources"]}
    js = json.dumps(obj).encode()
    return b"DATASOURCES\n%08x\n%s\n" % (len(js), hashlib.md5(js).hexdigest().encode()) + js + b"\n"


def page_v1_pretty_padded(ts, dss):
    """V1 with indented JSON, the page NUL-padded to 4 KiB (Rrd_file_writer)."""
    obj = meta_obj(dss)
    for name, _, vt, _, _, v in dss:
        obj["datasources"][name]["value"] = str(int(v)) if vt == "int64" else repr(float(v))
    js = json.dumps({"timestamp": ts, "datasources": obj["datasources"]}, indent=2).encode()
    page = (b"DATASOURCES\n%08x\n%s\n" % (len(js), hashlib.md5(js).hexdigest().encode())
            + js + b"\n")
    return page + b"\0" * (4096 - len(page) % 4096)


def write_atomic(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)
