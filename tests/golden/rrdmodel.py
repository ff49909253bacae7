"""Two executable models of the documented engine rules, for the golden tests.

`Ref` is xcp-rrdd's update and consolidation as docs/wire-format.md §2.2,
§2.4 and §2.5 write them, quirks and all (with the Addenda of
tests/fixtures/README.md, which follow from those rules).  `Rrdd` is the
same engine with every difference listed in docs/differences.md ("RRD
engine") switched to rrdd's side.  Neither reads rrdd's code: they are the
documents made runnable, so a trace is judged by the rules, whatever its
shape.

`Ref` counts, per row of the differences table, the places where a
reference rule that rrdd does not follow was applied (`events`); the quirk
test uses the counts to report which documented rules explain the
differences it sees, and to refuse a rule number the table does not list.

Arithmetic is done in doubles in the documented operation order; rings are
float32 (`f32`).  A run returns the state in the shape of the internal XML
(`export`), so it can be compared with a file element by element.
"""
import gzip
import json
import math
import re
import struct

INT64 = 1 << 64


def f32(x):
    if math.isnan(x) or math.isinf(x):
        return x
    return struct.unpack("f", struct.pack("f", x))[0]


def tonum(x):
    if isinstance(x, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}[x]
    return float(x)


def load_trace(path):
    with (gzip.open(path) if path.endswith(".gz") else open(path, "rb")) as f:
        return json.load(f)


def sample(ds, v):
    """A trace value as (type, value): ('i', int), ('f', float) or None."""
    if v is None:
        return None
    if isinstance(v, dict):
        if "float" in v:
            return ("f", tonum(v["float"]))
        return ("i", int(v["int64"]))
    if ds["value_type"] == "int64":
        return ("i", int(v))
    return ("f", tonum(v))


def fdiv(a, b):
    """a / b in IEEE arithmetic (OCaml's /.): a zero divisor gives an
    infinity or NaN instead of an exception."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def wrap64(x):
    x %= INT64
    return x - INT64 if x >= 1 << 63 else x


def as_float(v):
    return math.nan if v is None else float(v[1])


class Ring:
    def __init__(self, rows):
        self.v = [math.nan] * rows
        self.cur = rows - 1

    def push(self, x):
        self.cur = (self.cur + 1) % len(self.v)
        self.v[self.cur] = f32(x)

    def oldest_first(self):
        n = len(self.v)
        return [self.v[(self.cur + 1 + k) % n] for k in range(n)]


class DS:
    def __init__(self, d):
        self.name = d["name"]
        self.type = d["type"]
        self.vt = d["value_type"]
        self.min, self.max = tonum(d["min"]), tonum(d["max"])
        self.mrhb = tonum(d["mrhb"])
        self.inverse = d.get("transform") == "inverse"
        self.last = sample(d, d.get("initial_last"))
        self.value = 0.0
        self.unknown_sec = 0.0
        self.last_updated = 0.0
        self.desc = d

    def transform(self, x):
        return 1.0 - x if self.inverse else x


class RRA:
    def __init__(self, a, nds):
        self.cf, self.rows, self.p, self.xff = a["cf"], a["rows"], a["pdp_per_row"], float(a["xff"])
        self.rings = [Ring(self.rows) for _ in range(nds)]
        self.value = [0.0] * nds
        self.unknown = [0] * nds


class Engine:
    """State and export shared by both models."""

    def __init__(self, trace):
        self.step = trace["step"]
        self.dss = [DS(d) for d in trace["datasources"]]
        self.rras = [RRA(a, len(self.dss)) for a in trace["rras"]]
        self.last_updated = 0.0
        self.events = {}
        self.exceptions = []
        self.creating = False

    def event(self, row):
        if not self.creating:
            self.events[row] = self.events.get(row, 0) + 1

    def replay(self, trace):
        for k, u in enumerate(trace["updates"]):
            t, vals = tonum(u[0]), u[1]
            new_rrd = len(u) > 2 and bool(u[2].get("new_rrd"))
            items = [(i, sample(ds.desc, vals[ds.name])) for i, ds in enumerate(self.dss)
                     if ds.name in vals]
            try:
                self.update(t, items, new_rrd)
            except TypeError as e:
                self.exceptions.append((k, str(e)))
        return self

    def export(self):
        """The state as the internal XML holds it: header, per DS the
        accumulators, per RRA the CDPs and rows oldest first."""
        dss = [{"name": d.name, "last_ds": d.last, "value": d.value, "unknown_sec": d.unknown_sec,
                "last_updated": d.last_updated} for d in self.dss]
        rras = [{"cf": a.cf, "pdp_per_row": a.p, "cdp": list(zip(a.value, a.unknown)),
                 "rows": [list(r) for r in zip(*[ring.oldest_first() for ring in a.rings])]
                 if self.dss else []} for a in self.rras]
        return {"step": self.step, "lastupdate": self.last_updated, "ds": dss, "rra": rras}


class Ref(Engine):
    """xcp-rrdd (wire-format.md §2.2, §2.4, §2.5)."""

    def __init__(self, trace):
        super().__init__(trace)
        for a in self.rras:
            for i, d in enumerate(self.dss):
                a.value[i] = self.cf_init(a.cf, d)
        # rrd_create: one update of every DS's last value at the creation time
        self.creating = True
        self.update(tonum(trace["created"]), [(i, d.last) for i, d in enumerate(self.dss)], True)
        self.creating = False

    def cf_init(self, cf, d):
        default = {"AVERAGE": 0.0, "MIN": math.inf, "MAX": -math.inf, "LAST": math.nan}[cf]
        hi = d.min if d.min >= default else default  # OCaml max: x >= y ? x : y
        v = d.max if d.max <= hi else hi  # OCaml min: x <= y ? x : y
        if cf == "AVERAGE" and v != 0.0:
            self.event(16)  # the CDP starts at min, not 0
        return v

    def times(self, t):
        st = (int(t) // self.step) * self.step  # Int64.of_float truncates; times are > 0
        return st, t - st

    def rate(self, d, v, interval, new_rrd):
        if interval > d.mrhb:
            if d.type == "DERIVE" and v is not None:
                self.event(8)  # ds.last is not refreshed
            return math.nan
        raw = as_float(v)
        if d.type == "GAUGE" or (d.type == "DERIVE" and new_rrd):
            r = raw
        elif d.type == "ABSOLUTE":
            r = fdiv(raw, interval)
        else:
            x = d.last
            if x is None or v is None:
                r = math.nan
            elif x[0] != v[0]:
                self.event(9)
                raise TypeError("Bad type updating ds: " + d.name)
            elif x[0] == "i":
                r = float(wrap64(v[1] - x[1]))
            else:
                r = v[1] - x[1]
        d.last = v
        return r

    def update(self, t, items, new_rrd):
        creating = self.creating
        if not items:
            return
        first = self.dss[items[0][0]]
        last = first.last_updated
        if any(self.dss[i].last_updated != last for i, _ in items) and not creating:
            self.event(12)  # one interval for the whole chunk
        interval = t - last
        if interval < 0:
            interval = 5.0
            self.event(10)
        proc, _ = self.times(last)
        occu, occu_age = self.times(t)
        elapsed = (occu - proc) // self.step
        pre, post = (interval - occu_age, occu_age) if elapsed > 0 else (interval, 0.0)
        if elapsed > 1 and last > proc and not creating:
            self.event(18)  # one mean over several PDPs, the first already open
        self.last_updated = t
        rates = []
        for i, v in items:
            d = self.dss[i]
            rates.append((i, self.rate(d, v, interval, new_rrd)))
            d.last_updated = t
        for i, r in rates:
            d = self.dss[i]
            if math.isnan(r):
                d.unknown_sec = pre
            elif d.type in ("GAUGE", "ABSOLUTE"):
                if d.type == "ABSOLUTE" and elapsed == 0 and not creating:
                    self.event(11)  # this sample's count is lost at the next one
                d.value = r
            else:
                d.value = d.value + fdiv(pre * r, interval)
        if elapsed <= 0:
            return
        ts = float(self.step)
        span_f = ts * (t / ts) - ts * (last / ts)  # get_float_time is ts * (t / ts)
        pdps = []
        for (i, _), (_, r) in zip(items, rates):
            d = self.dss[i]
            if interval > d.mrhb:
                pdps.append((i, math.nan))
                continue
            if math.isnan(r) and not creating and d.type in ("GAUGE", "ABSOLUTE"):
                self.event(4 if d.type == "GAUGE" else 17)  # the accumulator is repeated
            if d.type in ("GAUGE", "ABSOLUTE"):
                raw = d.value
            else:
                if not creating and span_f != float(occu - proc):
                    self.event(5)  # divided by the whole interval
                if not creating and d.unknown_sec > self.step / 2.0 and not math.isnan(r):
                    self.event(13)
                raw = fdiv(d.value, span_f - d.unknown_sec)
                if raw == 0.0 and d.unknown_sec > 0 and d.inverse and not creating:
                    self.event(6)  # 0 after an unknown: a 100 % spike once inverted
            raw = d.transform(raw)
            if d.type == "DERIVE" and d.max < raw < d.max * (1.0 + 0.05):
                pdp = d.max
            elif raw < d.min or raw > d.max:
                pdp = math.nan
                if not creating and not math.isnan(r) and elapsed == 1:
                    self.event(14)
            else:
                pdp = raw
            pdps.append((i, pdp))
        self.rra_update(proc, elapsed, pdps, creating)
        for i, r in rates:
            d = self.dss[i]
            if math.isnan(r):
                d.value = 0.0
                d.unknown_sec = post
            else:
                d.unknown_sec = 0.0
                d.value = r if d.type in ("GAUGE", "ABSOLUTE") else fdiv(post * r, interval)

    def do_cfs(self, a, n, pdps, creating, carry=False):
        for i, pdp in pdps:
            v = a.value[i]
            if math.isnan(pdp):
                olddiv = a.p - a.unknown[i]
                newdiv = olddiv - n
                if newdiv > 0:
                    a.value[i] = v * olddiv / newdiv  # newdiv > 0
                    a.unknown[i] += n
                    if not creating and n and a.value[i] != v and not math.isnan(v):
                        self.event({"AVERAGE": 3, "MIN": 2, "MAX": 2, "LAST": 15}[a.cf])
                elif n and not creating:
                    self.event(1 if a.p == 1 else 3)  # the unknown PDP is not counted
            else:
                if a.cf == "AVERAGE":
                    a.value[i] = v + pdp * n / a.p
                elif a.cf == "MIN":
                    a.value[i] = v if v <= pdp else pdp
                elif a.cf == "MAX":
                    a.value[i] = v if v >= pdp else pdp
                else:
                    a.value[i] = pdp
                if carry and n == 0 and a.cf != "AVERAGE" and a.value[i] != v and not creating:
                    self.event(7)  # the closing PDP enters the next row

    def rra_update(self, proc, elapsed, pdps, creating):
        for a in self.rras:
            start_off = a.p - (proc // self.step) % a.p
            steps = 0 if elapsed < start_off else (elapsed - start_off) // a.p + 1
            self.do_cfs(a, min(start_off, elapsed), pdps, creating)
            if steps <= 0:
                continue
            limit = int(a.xff * a.p)
            for i, _ in pdps:
                ring = a.rings[i]
                v = a.value[i] if a.unknown[i] <= limit else math.nan
                d = self.dss[i]
                ring.push(math.nan if v < d.min or v > d.max else v)
            for _ in range(min(steps - 1, a.rows)):
                for i, pdp in pdps:
                    d = self.dss[i]
                    a.rings[i].push(math.nan if pdp < d.min or pdp > d.max else pdp)
            for i, _ in pdps:
                a.unknown[i] = 0
                a.value[i] = self.cf_init(a.cf, self.dss[i])
            self.do_cfs(a, (elapsed - start_off) % a.p, pdps, creating, carry=True)


class Rrdd(Engine):
    """rrdd: Ref with every row of docs/differences.md on rrdd's side."""

    def __init__(self, trace):
        super().__init__(trace)
        created = tonum(trace["created"])
        self.last_updated = created
        for i, d in enumerate(self.dss):
            for a in self.rras:
                a.value[i] = self.cf_init(a.cf, d)
            self.start_at(i, created)

    def cf_init(self, cf, d):
        if cf == "AVERAGE":
            return 0.0  # 16: a sum starts at 0 whatever the range
        if cf == "LAST":
            return math.nan
        v = math.inf if cf == "MIN" else -math.inf
        return min(max(v, d.min), d.max)

    def start_at(self, i, t):
        """A DS that starts at t: what came before t is unknown."""
        d = self.dss[i]
        st = math.floor(t / self.step) * self.step
        d.last_updated = t
        d.value = 0.0
        d.unknown_sec = t - st
        for a in self.rras:
            a.unknown[i] = (st // self.step) % a.p

    def plan(self, last, t):
        proc = math.floor(last / self.step) * self.step
        occu = math.floor(t / self.step) * self.step
        pl = {"last": last, "t": t, "interval": t - last, "proc": proc,
              "elapsed": (occu - proc) // self.step, "span": float(occu - proc)}
        age = t - occu
        if pl["elapsed"] > 0:
            pl["pre"], pl["post"] = pl["interval"] - age, age
        else:
            pl["pre"], pl["post"] = pl["interval"], 0.0
        return pl

    def amount(self, d, pl, v, restarted):
        """The sample's contribution (rate, or counter change for DERIVE);
        NaN if unknown or out of range (14: checked per sample)."""
        raw = as_float(v)
        prev, d.last = d.last, v  # 8: 'last' is always refreshed
        if pl["interval"] > d.mrhb or math.isnan(raw):
            return math.nan
        if d.type == "GAUGE":
            rate = amount = raw
        elif d.type == "ABSOLUTE":
            rate = amount = raw / pl["interval"]
        else:
            if restarted:
                amount = raw
            elif prev is None or v is None:
                amount = math.nan
            elif prev[0] == "i" and v[0] == "i":
                amount = float(wrap64(v[1] - prev[1]))
            else:
                amount = float(v[1]) - float(prev[1])  # 9: a type switch is converted
            rate = amount / pl["interval"]
        if math.isnan(rate):
            return math.nan
        tr = d.transform(rate)
        if d.type == "DERIVE" and d.max < tr < 1.05 * d.max:
            rate = d.transform(d.max)
            amount = rate * pl["interval"]
            tr = d.max
        if not (d.min <= tr <= d.max):
            return math.nan
        return amount

    def update(self, t, items, new_rrd):
        ignored = 0
        for i, v in items:
            d = self.dss[i]
            if not t > d.last_updated:  # 10: an older sample is refused
                ignored += 1
                continue
            pl = self.plan(d.last_updated, t)  # 12: each DS from its own last update
            amount = self.amount(d, pl, v, new_rrd and d.type == "DERIVE")
            t1 = pl["proc"] + self.step
            if pl["elapsed"] <= 1 or not pl["last"] > pl["proc"]:
                self.accumulate(i, pl, amount)
                continue
            # 18: the open PDP is closed on its own, the next ones get the rate
            p1, p2 = self.plan(pl["last"], t1), self.plan(t1, t)
            a1 = a2 = amount
            if d.type == "DERIVE":
                a1 = amount * p1["interval"] / pl["interval"]
                a2 = amount - a1
            self.accumulate(i, p1, a1)
            self.accumulate(i, p2, a2)
        if t > self.last_updated and ignored < len(items):
            self.last_updated = t

    def accumulate(self, i, pl, amount):
        d = self.dss[i]
        prior_unknown = d.unknown_sec
        derive = d.type == "DERIVE"
        if math.isnan(amount):
            d.unknown_sec += pl["pre"]  # 4: the unknown part stays unknown
        elif derive:
            d.value = d.value + pl["pre"] * amount / pl["interval"]
        elif d.type == "GAUGE":
            d.value = amount
        else:  # 11: ABSOLUTE is the time-weighted mean rate
            known = (pl["last"] - pl["proc"]) - prior_unknown
            if known <= 0:
                d.value = amount
            else:
                d.value += (amount - d.value) * (pl["pre"] / (known + pl["pre"]))
        d.last_updated = pl["t"]
        if pl["elapsed"] <= 0:
            return
        known = pl["span"] - d.unknown_sec
        if pl["interval"] > d.mrhb or prior_unknown > self.step / 2.0 or not known > 0:
            pdp = math.nan  # 13: a PDP more than half unknown is unknown
        else:
            pdp = d.value / known if derive else d.value  # 5: the aligned span's known part
        if not math.isnan(pdp):
            pdp = min(max(d.transform(pdp), d.min), d.max)
        proc_pdps = pl["proc"] // self.step
        elapsed = pl["elapsed"]
        for a in self.rras:
            start_off = a.p - proc_pdps % a.p
            n1 = min(start_off, elapsed)
            steps, n2 = (0, 0) if elapsed < start_off else \
                ((elapsed - start_off) // a.p + 1, (elapsed - start_off) % a.p)
            self.cdp_add(a, i, pdp, n1)
            if steps == 0:
                continue
            self.push(a, i, self.primary(a, i))
            for _ in range(min(steps - 1, a.rows)):
                self.push(a, i, pdp)
            a.value[i] = self.cf_init(a.cf, d)
            a.unknown[i] = 0
            self.cdp_add(a, i, pdp, n2)  # 7: n = 0 adds nothing
        if math.isnan(amount):
            d.value = 0.0
            d.unknown_sec = pl["post"]
        else:
            d.value = pl["post"] * amount / pl["interval"] if derive else amount
            d.unknown_sec = 0.0

    def cdp_add(self, a, i, pdp, n):
        if n == 0:
            return
        if math.isnan(pdp):
            a.unknown[i] += n  # 2, 3: never rescaled
            if a.cf == "LAST":
                a.value[i] = math.nan  # 15: LAST is the last PDP
            return
        v = a.value[i]
        if a.cf == "AVERAGE":
            a.value[i] = v + pdp * n / a.p
        elif a.cf == "MIN":
            a.value[i] = pdp if pdp < v else v
        elif a.cf == "MAX":
            a.value[i] = pdp if pdp > v else v
        else:
            a.value[i] = pdp

    def primary(self, a, i):
        u = a.unknown[i]
        if u >= a.p or u > a.xff * a.p:  # 1, 3: unknown stays unknown
            return math.nan
        if a.cf == "AVERAGE" and u > 0:
            return a.value[i] * a.p / (a.p - u)
        return a.value[i]

    def push(self, a, i, v):
        d = self.dss[i]
        if v < d.min:
            v = d.min
        elif v > d.max:
            v = d.max
        a.rings[i].push(v)


# ---- comparing a model's state with an internal XML document ----

def num(s):
    s = s.strip()
    if s in ("NaN", "Infinity", "-Infinity"):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[s]
    return float(s)


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


def printed(x):
    """A double as the exporters print it (%.15g), read back."""
    return x if math.isnan(x) or math.isinf(x) else float("%.15g" % x)


def compare(state, root, who, ulps=0):
    """Differences between a model state and a full RRD document (an
    ElementTree root of the internal or public XML, or of the JSON mapped to
    the same elements): messages naming the element.  ulps: float32 units of
    tolerance on ring cells (0 = identical)."""
    errs = []

    def cell_ok(got, want):
        if same(got, printed(want)):
            return True
        if ulps == 0 or math.isnan(got) or math.isnan(want) or math.isinf(want):
            return False
        return abs(got - want) <= ulps * 2.0 ** (math.frexp(want)[1] - 24)

    if int(float(root.findtext("lastupdate"))) != int(state["lastupdate"]):
        errs.append("%s: lastupdate %s, model %r" % (who, root.findtext("lastupdate"),
                                                    state["lastupdate"]))
    for d, e in zip(state["ds"], root.findall("ds")):
        last = d["last_ds"]
        want_last = 0.0 if last is None else float(last[1])
        for tag, want in (("value", d["value"]), ("last_updated", d["last_updated"]),
                          ("last_ds", want_last)):
            if e.find(tag) is None and tag == "last_updated":
                continue  # the public form has none
            got = num(e.findtext(tag))
            if not same(got, printed(want)) and not (ulps and math.isclose(got, want, rel_tol=1e-9)):
                errs.append("%s: DS %s %s %r, model %r" % (who, d["name"], tag, got, want))
        if int(float(e.findtext("unknown_sec"))) != int(d["unknown_sec"]):
            errs.append("%s: DS %s unknown_sec %s, model %r" % (who, d["name"],
                                                               e.findtext("unknown_sec"),
                                                               d["unknown_sec"]))
    names = [d["name"] for d in state["ds"]]
    for k, (a, e) in enumerate(zip(state["rra"], root.findall("rra"))):
        what = "%s: RRA %d (%s %d)" % (who, k, a["cf"], a["pdp_per_row"])
        for j, (c, ce) in enumerate(zip(a["cdp"], e.find("cdp_prep"))):
            got = num(ce.findtext("value"))
            if not same(got, printed(c[0])) and not (ulps and math.isclose(got, c[0], rel_tol=1e-9)):
                errs.append("%s DS %s CDP value %r, model %r" % (what, names[j], got, c[0]))
            if int(ce.findtext("unknown_datapoints")) != c[1]:
                errs.append("%s DS %s CDP unknown %s, model %d" % (what, names[j],
                                                                  ce.findtext("unknown_datapoints"),
                                                                  c[1]))
        rows = [[num(v.text) for v in row] for row in e.find("database")]
        for r, (got_row, want_row) in enumerate(zip(rows, a["rows"])):
            for j, (got, want) in enumerate(zip(got_row, want_row)):
                if not cell_ok(got, want):
                    errs.append("%s DS %s row %d: %r, model %r" % (what, names[j], r, got, want))
        if len(rows) != len(a["rows"]):
            errs.append("%s: %d rows, model %d" % (what, len(rows), len(a["rows"])))
    return errs


def documented_rows(differences_md):
    """The rows of the engine table of docs/differences.md: number -> the
    text of its "shown by" column."""
    text = open(differences_md, encoding="utf-8").read()
    table = text.split("## RRD engine", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        m = re.match(r"^\| (\d+) \|.*\|([^|]*)\|\s*$", line)
        if m:
            rows[int(m.group(1))] = m.group(2).strip()
    return rows
