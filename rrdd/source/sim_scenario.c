/*
 * Scenario files of the simulated hypervisor: parser, generator of default
 * scenarios, and the workload patterns.  Pure: no I/O, no clock.  Scenario
 * text is untrusted: every line is checked, every count is bounded, and an
 * error names its line.  Full description with examples: docs/sim-scenario.md.
 *
 * Format: one statement per line, '#' starts a comment, words separated by
 * blanks, options as key=value.  Times are seconds after the sim epoch.
 *
 *   seed N                      PRNG seed (bursty slots, blocked flags)
 *   epoch T                     absolute time of sim time 0 (default: the
 *                               time of the first sample)
 *   host cpus=N memory_mib=M    the physical host (default 8 CPUs, 64 GiB)
 *   nic NAME rx=PAT tx=PAT      a dom0 network device, B/s
 *   vm NAME uuid=U vcpus=N [max_vcpus=M] memory_mib=M [target_mib=M]
 *          [free_mib=M] [dynamic_min_mib=M] [dynamic_max_mib=M]
 *          [dom0] [hvm] [runstate] [halted]
 *   load NAME VCPU|* PAT        fraction of one vCPU
 *   vif NAME DEVID rx=PAT tx=PAT         guest's point of view, B/s
 *   vbd NAME DEV read=PAT write=PAT [devid=N] [req_kib=K] [latency_us=L]
 *          [inflight=N]
 *   at T start|shutdown|reboot|pause|unpause|vanish NAME
 *   at T migrate_out|migrate_in NAME [DURATION]
 *   at T vcpus NAME N           hot-plug: N vCPUs online
 *   at T target NAME MIB        balloon target
 *   at T meminfo NAME KIB|off   guest-reported free memory
 *   at T wrap NAME vif DEVID [BITS]     byte counters (modulo 2^BITS, default
 *                               64) wrap at T
 *
 * PAT: a number (constant), const:V, sine:MEAN:AMP:PERIOD[:PHASE],
 * bursty:ON:OFF:P:SLOT.
 */
#include "source/sim.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define MAX_LINE  1024
#define MAX_WORDS 24
#define MAX_TEXT  (1u << 20)

/* ---- patterns ---- */

uint64_t sim_hash(uint64_t x)
{
	/* splitmix64 finaliser */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static double unit(uint64_t h)
{
	return (double)(h >> 11) * 0x1.0p-53;
}

static double slot_value(const struct sim_pat *p, uint64_t seed, int64_t k)
{
	uint64_t h = sim_hash(seed ^ sim_hash(p->key ^ sim_hash((uint64_t)k)));
	return unit(h) < p->c ? p->a : p->b;
}

double sim_pat_at(const struct sim_pat *p, uint64_t seed, double s)
{
	switch (p->kind) {
	case PAT_CONST:
		return p->a;
	case PAT_SINE:
		return p->a + p->b * sin(2 * M_PI * (s / p->c + p->d));
	case PAT_BURSTY:
		return slot_value(p, seed, (int64_t)floor(s / p->d));
	}
	return 0;
}

double sim_pat_integral(const struct sim_pat *p, uint64_t seed, double s0, double s1)
{
	if (s1 <= s0)
		return 0;
	switch (p->kind) {
	case PAT_CONST:
		return p->a * (s1 - s0);
	case PAT_SINE: {
		double w = 2 * M_PI / p->c;
		return p->a * (s1 - s0) - p->b / w *
		                              (cos(2 * M_PI * (s1 / p->c + p->d)) -
		                               cos(2 * M_PI * (s0 / p->c + p->d)));
	}
	case PAT_BURSTY: {
		double sum = 0;
		int64_t k = (int64_t)floor(s0 / p->d);
		for (double a = s0; a < s1; k++) {
			double end = (double)(k + 1) * p->d;
			double b = end < s1 ? end : s1;
			sum += slot_value(p, seed, k) * (b - a);
			a = b;
		}
		return sum;
	}
	}
	return 0;
}

double sim_pat_max(const struct sim_pat *p)
{
	switch (p->kind) {
	case PAT_SINE:
		return p->a + fabs(p->b);
	case PAT_BURSTY:
		return p->a > p->b ? p->a : p->b;
	default:
		return p->a;
	}
}

double sim_pat_min(const struct sim_pat *p)
{
	switch (p->kind) {
	case PAT_SINE:
		return p->a - fabs(p->b);
	case PAT_BURSTY:
		return p->a < p->b ? p->a : p->b;
	default:
		return p->a;
	}
}

/* ---- parsing helpers ---- */

struct parser {
	struct sim_scenario *sc;
	int line;
	char *err;
	size_t errlen;
	uint64_t keyseq;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "line %d: %s", ps->line, msg);
	return -EINVAL;
}

static int num(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

static int unum(const char *s, double lo, double hi, double *out)
{
	return num(s, out) < 0 || *out < lo || *out > hi ? -EINVAL : 0;
}

/* Parse PAT into p; rates must stay within [0, hi]. */
static int pattern(struct parser *ps, const char *s, double hi, struct sim_pat *p)
{
	char buf[128];
	char *f[6];
	int n = 0;
	memset(p, 0, sizeof(*p));
	p->key = sim_hash(++ps->keyseq);
	if (strlen(s) >= sizeof(buf))
		return fail(ps, "pattern too long");
	strcpy(buf, s);
	for (char *tok = strtok(buf, ":"); tok && n < 6; tok = strtok(NULL, ":"))
		f[n++] = tok;
	double v[5] = {0};
	if (n == 1 && num(f[0], &v[0]) == 0) {
		p->kind = PAT_CONST;
	} else if (n == 2 && strcmp(f[0], "const") == 0 && num(f[1], &v[0]) == 0) {
		p->kind = PAT_CONST;
	} else if ((n == 4 || n == 5) && strcmp(f[0], "sine") == 0) {
		p->kind = PAT_SINE;
		for (int i = 1; i < n; i++)
			if (num(f[i], &v[i - 1]) < 0)
				return fail(ps, "bad number in '%s'", s);
		if (!(v[2] > 0))
			return fail(ps, "sine period must be > 0 in '%s'", s);
	} else if (n == 5 && strcmp(f[0], "bursty") == 0) {
		p->kind = PAT_BURSTY;
		for (int i = 1; i < n; i++)
			if (num(f[i], &v[i - 1]) < 0)
				return fail(ps, "bad number in '%s'", s);
		if (!(v[2] >= 0 && v[2] <= 1) || !(v[3] >= 0.001))
			return fail(ps, "bursty needs 0<=P<=1 and SLOT>=0.001 in '%s'", s);
	} else {
		return fail(ps, "bad pattern '%s'", s);
	}
	p->a = v[0];
	p->b = v[1];
	p->c = v[2];
	p->d = v[3];
	if (sim_pat_min(p) < 0 || sim_pat_max(p) > hi)
		return fail(ps, "pattern '%s' leaves [0, %g]", s, hi);
	return 0;
}

static struct sim_vm *find_vm(struct sim_scenario *sc, const char *name, uint32_t *idx)
{
	for (uint32_t i = 0; i < sc->nvm; i++)
		if (strcmp(sc->vm[i].name, name) == 0) {
			if (idx)
				*idx = i;
			return &sc->vm[i];
		}
	return NULL;
}

/* key=value lookup among words w[from..n) */
static const char *opt(char **w, int n, int from, const char *key)
{
	size_t k = strlen(key);
	for (int i = from; i < n; i++)
		if (strncmp(w[i], key, k) == 0 && w[i][k] == '=')
			return w[i] + k + 1;
	return NULL;
}

static bool flag(char **w, int n, int from, const char *key)
{
	for (int i = from; i < n; i++)
		if (strcmp(w[i], key) == 0)
			return true;
	return false;
}

static int opt_mib(struct parser *ps, char **w, int n, const char *key, int64_t *kib)
{
	const char *v = opt(w, n, 2, key);
	double d;
	if (!v)
		return 0;
	if (strcmp(v, "none") == 0) {
		*kib = SRC_NO_VALUE;
		return 0;
	}
	if (unum(v, 0, 1 << 30, &d) < 0)
		return fail(ps, "bad %s '%s'", key, v);
	*kib = (int64_t)(d * 1024);
	return 0;
}

/* xvdX / hdX / sdX (single letter) to a device number */
static int devid_of(const char *name, uint32_t *out)
{
	size_t n = strlen(name);
	if (n == 4 && strncmp(name, "xvd", 3) == 0 && name[3] >= 'a' && name[3] <= 'p')
		*out = (202u << 8) | ((uint32_t)(name[3] - 'a') << 4);
	else if (n == 3 && strncmp(name, "hd", 2) == 0 && name[2] >= 'a' && name[2] <= 'd')
		*out = ((name[2] < 'c' ? 3u : 22u) << 8) | ((uint32_t)((name[2] - 'a') & 1) << 6);
	else if (n == 3 && strncmp(name, "sd", 2) == 0 && name[2] >= 'a' && name[2] <= 'p')
		*out = (8u << 8) | ((uint32_t)(name[2] - 'a') << 4);
	else
		return -EINVAL;
	return 0;
}

static int valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

/* ---- statements ---- */

static int st_vm(struct parser *ps, char **w, int n)
{
	struct sim_scenario *sc = ps->sc;
	if (n < 2 || !valid_name(w[1], sizeof(sc->vm[0].name)))
		return fail(ps, "vm needs a name (letters, digits, _-.)");
	if (find_vm(sc, w[1], NULL))
		return fail(ps, "vm '%s' declared twice", w[1]);
	if (sc->nvm >= SIM_MAX_VMS)
		return fail(ps, "too many vms (max %d)", SIM_MAX_VMS);
	sc->vm = xrealloc(sc->vm, (sc->nvm + 1) * sizeof(*sc->vm));
	struct sim_vm *vm = &sc->vm[sc->nvm];
	memset(vm, 0, sizeof(*vm));
	strcpy(vm->name, w[1]);
	const char *u = opt(w, n, 2, "uuid");
	if (!u || src_uuid_parse(u, vm->handle) < 0)
		return fail(ps, "vm '%s' needs uuid=<uuid>", w[1]);
	for (uint32_t i = 0; i < sc->nvm; i++)
		if (memcmp(sc->vm[i].handle, vm->handle, 16) == 0)
			return fail(ps, "uuid of '%s' already used by '%s'", w[1], sc->vm[i].name);
	src_uuid_classify(vm->handle, vm->uuid);
	double d;
	const char *v = opt(w, n, 2, "vcpus");
	if (!v || unum(v, 0, SIM_MAX_VCPUS, &d) < 0 || d != floor(d))
		return fail(ps, "vm '%s' needs vcpus=0..%d", w[1], SIM_MAX_VCPUS);
	vm->vcpus = (uint32_t)d;
	vm->max_vcpus = vm->vcpus;
	if ((v = opt(w, n, 2, "max_vcpus"))) {
		if (unum(v, vm->vcpus, SIM_MAX_VCPUS, &d) < 0 || d != floor(d))
			return fail(ps, "max_vcpus must be vcpus..%d", SIM_MAX_VCPUS);
		vm->max_vcpus = (uint32_t)d;
	}
	vm->memory_kib = 1024 * 1024;
	vm->target_kib = vm->free_kib = vm->dyn_min_kib = vm->dyn_max_kib = SRC_NO_VALUE;
	if (opt_mib(ps, w, n, "memory_mib", &vm->memory_kib) < 0)
		return -EINVAL;
	if (vm->memory_kib == SRC_NO_VALUE)
		return fail(ps, "memory_mib cannot be none");
	vm->target_kib = vm->memory_kib;
	vm->dyn_min_kib = vm->dyn_max_kib = vm->memory_kib;
	if (opt_mib(ps, w, n, "target_mib", &vm->target_kib) < 0 ||
	    opt_mib(ps, w, n, "free_mib", &vm->free_kib) < 0 ||
	    opt_mib(ps, w, n, "dynamic_min_mib", &vm->dyn_min_kib) < 0 ||
	    opt_mib(ps, w, n, "dynamic_max_mib", &vm->dyn_max_kib) < 0)
		return -EINVAL;
	vm->dom0 = flag(w, n, 2, "dom0");
	vm->hvm = flag(w, n, 2, "hvm");
	vm->runstate = flag(w, n, 2, "runstate");
	vm->halted = flag(w, n, 2, "halted");
	if (vm->dom0)
		for (uint32_t i = 0; i < sc->nvm; i++)
			if (sc->vm[i].dom0)
				return fail(ps, "two dom0s");
	vm->load = xcalloc(vm->max_vcpus, sizeof(*vm->load));
	for (uint32_t i = 0; i < vm->max_vcpus; i++)
		vm->load[i] = (struct sim_pat){.kind = PAT_CONST};
	sc->nvm++;
	return 0;
}

static int st_load(struct parser *ps, char **w, int n)
{
	struct sim_vm *vm;
	double d;
	if (n != 4)
		return fail(ps, "usage: load NAME VCPU|* PATTERN");
	if (!(vm = find_vm(ps->sc, w[1], NULL)))
		return fail(ps, "unknown vm '%s'", w[1]);
	struct sim_pat p;
	if (pattern(ps, w[3], 1.0, &p) < 0)
		return -EINVAL;
	if (strcmp(w[2], "*") == 0) {
		for (uint32_t i = 0; i < vm->max_vcpus; i++) {
			vm->load[i] = p;
			vm->load[i].key = sim_hash(p.key + i);
		}
		return 0;
	}
	if (unum(w[2], 0, SIM_MAX_VCPUS - 1, &d) < 0 || d != floor(d) || d >= vm->max_vcpus)
		return fail(ps, "vcpu '%s' out of range for '%s'", w[2], w[1]);
	vm->load[(int)d] = p;
	return 0;
}

static int st_vif(struct parser *ps, char **w, int n)
{
	struct sim_vm *vm;
	double d;
	if (n != 5)
		return fail(ps, "usage: vif NAME DEVID rx=PAT tx=PAT");
	if (!(vm = find_vm(ps->sc, w[1], NULL)))
		return fail(ps, "unknown vm '%s'", w[1]);
	if (vm->nvif >= SIM_MAX_DEVS)
		return fail(ps, "too many vifs (max %d)", SIM_MAX_DEVS);
	if (unum(w[2], 0, 65535, &d) < 0 || d != floor(d))
		return fail(ps, "bad vif devid '%s'", w[2]);
	for (uint32_t i = 0; i < vm->nvif; i++)
		if (vm->vif[i].devid == (uint32_t)d)
			return fail(ps, "vif %s declared twice", w[2]);
	vm->vif = xrealloc(vm->vif, (vm->nvif + 1) * sizeof(*vm->vif));
	struct sim_vif_spec *f = &vm->vif[vm->nvif];
	f->devid = (uint32_t)d;
	const char *rx = opt(w, n, 3, "rx"), *tx = opt(w, n, 3, "tx");
	if (!rx || !tx)
		return fail(ps, "vif needs rx= and tx=");
	if (pattern(ps, rx, 1e12, &f->rx) < 0 || pattern(ps, tx, 1e12, &f->tx) < 0)
		return -EINVAL;
	vm->nvif++;
	return 0;
}

static int st_vbd(struct parser *ps, char **w, int n)
{
	struct sim_vm *vm;
	double d;
	if (n < 5)
		return fail(ps, "usage: vbd NAME DEV read=PAT write=PAT [options]");
	if (!(vm = find_vm(ps->sc, w[1], NULL)))
		return fail(ps, "unknown vm '%s'", w[1]);
	if (vm->nvbd >= SIM_MAX_DEVS)
		return fail(ps, "too many vbds (max %d)", SIM_MAX_DEVS);
	vm->vbd = xrealloc(vm->vbd, (vm->nvbd + 1) * sizeof(*vm->vbd));
	struct sim_vbd_spec *b = &vm->vbd[vm->nvbd];
	memset(b, 0, sizeof(*b));
	if (!valid_name(w[2], sizeof(b->name)))
		return fail(ps, "bad vbd name '%s'", w[2]);
	strcpy(b->name, w[2]);
	const char *v = opt(w, n, 3, "devid");
	if (v) {
		if (unum(v, 0, 1u << 29, &d) < 0 || d != floor(d))
			return fail(ps, "bad devid '%s'", v);
		b->devid = (uint32_t)d;
	} else if (devid_of(b->name, &b->devid) < 0) {
		return fail(ps, "vbd '%s' needs devid=", b->name);
	}
	for (uint32_t i = 0; i < vm->nvbd; i++)
		if (vm->vbd[i].devid == b->devid || strcmp(vm->vbd[i].name, b->name) == 0)
			return fail(ps, "vbd %s declared twice", b->name);
	const char *rd = opt(w, n, 3, "read"), *wr = opt(w, n, 3, "write");
	if (!rd || !wr)
		return fail(ps, "vbd needs read= and write=");
	if (pattern(ps, rd, 1e12, &b->rd) < 0 || pattern(ps, wr, 1e12, &b->wr) < 0)
		return -EINVAL;
	b->req_bytes = 4096;
	b->latency_us = 200;
	b->inflight = 1;
	if ((v = opt(w, n, 3, "req_kib"))) {
		if (unum(v, 0.5, 4096, &d) < 0)
			return fail(ps, "bad req_kib '%s'", v);
		b->req_bytes = d * 1024;
	}
	if ((v = opt(w, n, 3, "latency_us")) && unum(v, 0, 1e9, &b->latency_us) < 0)
		return fail(ps, "bad latency_us '%s'", v);
	if ((v = opt(w, n, 3, "inflight"))) {
		if (unum(v, 0, 1e6, &d) < 0 || d != floor(d))
			return fail(ps, "bad inflight '%s'", v);
		b->inflight = (uint64_t)d;
	}
	vm->nvbd++;
	return 0;
}

static const struct {
	const char *word;
	enum sim_ev_kind kind;
} ev_words[] = {
    {"start", EV_START},
    {"shutdown", EV_SHUTDOWN},
    {"reboot", EV_REBOOT},
    {"pause", EV_PAUSE},
    {"unpause", EV_UNPAUSE},
    {"vanish", EV_VANISH},
    {"migrate_out", EV_MIGRATE_OUT},
    {"migrate_in", EV_MIGRATE_IN},
    {"vcpus", EV_VCPUS},
    {"target", EV_TARGET},
    {"meminfo", EV_MEMINFO},
    {"wrap", EV_WRAP},
};

static int st_at(struct parser *ps, char **w, int n)
{
	struct sim_scenario *sc = ps->sc;
	struct sim_event e = {0};
	struct sim_vm *vm;
	double d;
	size_t k;
	if (n < 4)
		return fail(ps, "usage: at TIME EVENT NAME ...");
	if (unum(w[1], 0, 1e10, &e.s) < 0)
		return fail(ps, "bad time '%s'", w[1]);
	for (k = 0; k < sizeof(ev_words) / sizeof(ev_words[0]); k++)
		if (strcmp(w[2], ev_words[k].word) == 0)
			break;
	if (k == sizeof(ev_words) / sizeof(ev_words[0]))
		return fail(ps, "unknown event '%s'", w[2]);
	e.kind = ev_words[k].kind;
	if (!(vm = find_vm(sc, w[3], &e.vm)))
		return fail(ps, "unknown vm '%s'", w[3]);
	if (vm->dom0 && e.kind != EV_VCPUS && e.kind != EV_TARGET && e.kind != EV_MEMINFO &&
	    e.kind != EV_WRAP)
		return fail(ps, "dom0 has no lifecycle");
	switch (e.kind) {
	case EV_MIGRATE_OUT:
	case EV_MIGRATE_IN:
		e.dur = 10;
		if (n > 5 || (n == 5 && unum(w[4], 0.001, 1e6, &e.dur) < 0))
			return fail(ps, "usage: at T %s NAME [DURATION]", w[2]);
		break;
	case EV_VCPUS:
		if (n != 5 || unum(w[4], 0, vm->max_vcpus, &d) < 0 || d != floor(d))
			return fail(ps, "usage: at T vcpus NAME N (N <= max_vcpus %u)",
			            vm->max_vcpus);
		e.arg = (int64_t)d;
		break;
	case EV_TARGET:
		if (n != 5 || unum(w[4], 0, 1 << 30, &d) < 0)
			return fail(ps, "usage: at T target NAME MIB");
		e.arg = (int64_t)(d * 1024);
		break;
	case EV_MEMINFO:
		if (n == 5 && strcmp(w[4], "off") == 0)
			e.arg = SRC_NO_VALUE;
		else if (n == 5 && unum(w[4], 0, 1e12, &d) == 0)
			e.arg = (int64_t)d;
		else
			return fail(ps, "usage: at T meminfo NAME KIB|off");
		break;
	case EV_WRAP:
		e.bits = 64;
		if (n < 6 || n > 7 || strcmp(w[4], "vif") != 0 || unum(w[5], 0, 65535, &d) < 0)
			return fail(ps, "usage: at T wrap NAME vif DEVID [BITS]");
		e.arg = (int64_t)d;
		{
			uint32_t i;
			for (i = 0; i < vm->nvif && vm->vif[i].devid != (uint32_t)d; i++)
				;
			if (i == vm->nvif)
				return fail(ps, "vm '%s' has no vif %s", w[3], w[5]);
		}
		if (n == 7) {
			if (unum(w[6], 16, 64, &d) < 0 || d != floor(d))
				return fail(ps, "wrap BITS must be 16..64");
			e.bits = (uint32_t)d;
		}
		break;
	default:
		if (n != 4)
			return fail(ps, "usage: at T %s NAME", w[2]);
	}
	if (sc->nev >= SIM_MAX_EVENTS)
		return fail(ps, "too many events (max %d)", SIM_MAX_EVENTS);
	/* keep sorted, stable: insert after every event at or before e.s */
	sc->ev = xrealloc(sc->ev, (sc->nev + 1) * sizeof(*sc->ev));
	uint32_t pos = sc->nev;
	while (pos > 0 && sc->ev[pos - 1].s > e.s)
		pos--;
	memmove(&sc->ev[pos + 1], &sc->ev[pos], (sc->nev - pos) * sizeof(*sc->ev));
	sc->ev[pos] = e;
	sc->nev++;
	return 0;
}

static int statement(struct parser *ps, char **w, int n)
{
	struct sim_scenario *sc = ps->sc;
	double d;
	if (strcmp(w[0], "seed") == 0) {
		if (n != 2 || unum(w[1], 0, 9007199254740992.0, &d) < 0 || d != floor(d))
			return fail(ps, "usage: seed N");
		sc->seed = (uint64_t)d;
	} else if (strcmp(w[0], "epoch") == 0) {
		if (n != 2 || num(w[1], &sc->epoch) < 0)
			return fail(ps, "usage: epoch T");
		sc->have_epoch = true;
	} else if (strcmp(w[0], "host") == 0) {
		const char *v;
		if ((v = opt(w, n, 1, "cpus"))) {
			if (unum(v, 1, 4096, &d) < 0 || d != floor(d))
				return fail(ps, "cpus must be 1..4096");
			sc->cpus = (uint32_t)d;
		}
		if ((v = opt(w, n, 1, "memory_mib"))) {
			if (unum(v, 1, 1 << 30, &d) < 0)
				return fail(ps, "bad memory_mib");
			sc->memory_kib = (int64_t)(d * 1024);
		}
	} else if (strcmp(w[0], "nic") == 0) {
		if (n != 4 || !valid_name(w[1], SRC_NAME_LEN))
			return fail(ps, "usage: nic NAME rx=PAT tx=PAT");
		if (sc->nnic >= SIM_MAX_NICS)
			return fail(ps, "too many nics");
		struct sim_nic *c = &sc->nic[sc->nnic];
		strcpy(c->name, w[1]);
		const char *rx = opt(w, n, 2, "rx"), *tx = opt(w, n, 2, "tx");
		if (!rx || !tx)
			return fail(ps, "nic needs rx= and tx=");
		if (pattern(ps, rx, 1e12, &c->rx) < 0 || pattern(ps, tx, 1e12, &c->tx) < 0)
			return -EINVAL;
		sc->nnic++;
	} else if (strcmp(w[0], "vm") == 0) {
		return st_vm(ps, w, n);
	} else if (strcmp(w[0], "load") == 0) {
		return st_load(ps, w, n);
	} else if (strcmp(w[0], "vif") == 0) {
		return st_vif(ps, w, n);
	} else if (strcmp(w[0], "vbd") == 0) {
		return st_vbd(ps, w, n);
	} else if (strcmp(w[0], "at") == 0) {
		return st_at(ps, w, n);
	} else {
		return fail(ps, "unknown statement '%s'", w[0]);
	}
	return 0;
}

static void defaults(struct sim_scenario *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->cpus = 8;
	sc->memory_kib = 64ll * 1024 * 1024;
}

int sim_scenario_parse(const char *text, struct sim_scenario *sc, char *err, size_t errlen)
{
	struct parser ps = {.sc = sc, .err = err, .errlen = errlen};
	defaults(sc);
	if (err && errlen)
		err[0] = '\0';
	if (strlen(text) > MAX_TEXT) {
		fail(&ps, "scenario larger than %u bytes", MAX_TEXT);
		return -EINVAL;
	}
	const char *p = text;
	while (*p) {
		char line[MAX_LINE];
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		ps.line++;
		if (len >= sizeof(line)) {
			sim_scenario_free(sc);
			return fail(&ps, "line longer than %d bytes", MAX_LINE - 1);
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = eol ? eol + 1 : p + len;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *w[MAX_WORDS];
		int n = 0;
		for (char *tok = strtok(line, " \t\r"); tok; tok = strtok(NULL, " \t\r")) {
			if (n == MAX_WORDS) {
				sim_scenario_free(sc);
				return fail(&ps, "too many words");
			}
			w[n++] = tok;
		}
		if (n == 0)
			continue;
		if (statement(&ps, w, n) < 0) {
			sim_scenario_free(sc);
			return -EINVAL;
		}
	}
	ps.line = 0;
	if (sim_scenario_check(sc, err, errlen) < 0) {
		sim_scenario_free(sc);
		return -EINVAL;
	}
	return 0;
}

int sim_scenario_check(const struct sim_scenario *sc, char *err, size_t errlen)
{
	double worst = 0;
	for (uint32_t i = 0; i < sc->nvm; i++)
		for (uint32_t v = 0; v < sc->vm[i].max_vcpus; v++)
			worst += sim_pat_max(&sc->vm[i].load[v]);
	if (worst > sc->cpus) {
		if (err && errlen)
			snprintf(err, errlen, "worst-case vCPU load %g exceeds host cpus=%u", worst,
			         sc->cpus);
		return -EINVAL;
	}
	return 0;
}

void sim_scenario_free(struct sim_scenario *sc)
{
	for (uint32_t i = 0; sc->vm && i < sc->nvm; i++) {
		free(sc->vm[i].load);
		free(sc->vm[i].vif);
		free(sc->vm[i].vbd);
	}
	free(sc->vm);
	free(sc->ev);
	sc->vm = NULL;
	sc->ev = NULL;
	sc->nvm = sc->nev = 0;
}

/* ---- generated scenarios ---- */

static uint64_t rnd(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	return sim_hash(*state);
}

static void gen_uuid(uint64_t *st, uint8_t h[16])
{
	uint64_t a = rnd(st), b = rnd(st);
	memcpy(h, &a, 8);
	memcpy(h + 8, &b, 8);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x40); /* version 4 */
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
	h[0] |= 0x10; /* never a skipped or temporary handle */
	h[15] |= 0x10;
}

void sim_scenario_generate(uint32_t n, uint64_t seed, struct sim_scenario *sc)
{
	uint64_t st = seed;
	defaults(sc);
	sc->seed = seed;
	if (n > SIM_MAX_VMS - 1)
		n = SIM_MAX_VMS - 1;
	sc->nvm = n + 1;
	sc->vm = xcalloc(sc->nvm, sizeof(*sc->vm));
	double worst = 0;
	for (uint32_t i = 0; i < sc->nvm; i++) {
		struct sim_vm *vm = &sc->vm[i];
		gen_uuid(&st, vm->handle);
		src_uuid_classify(vm->handle, vm->uuid);
		vm->dom0 = i == 0;
		snprintf(vm->name, sizeof(vm->name), i == 0 ? "dom0" : "vm%u", i);
		vm->vcpus = vm->max_vcpus = i == 0 ? 4 : 1 + (uint32_t)(rnd(&st) % 4);
		vm->memory_kib = i == 0 ? 4 << 20 : (int64_t)(1 + rnd(&st) % 8) << 20;
		vm->target_kib = vm->dyn_max_kib = vm->memory_kib;
		vm->dyn_min_kib = vm->memory_kib / 2;
		vm->free_kib = (i % 5 == 4) ? SRC_NO_VALUE : vm->memory_kib / 2;
		vm->runstate = true;
		vm->load = xcalloc(vm->max_vcpus, sizeof(*vm->load));
		for (uint32_t v = 0; v < SIM_MAX_VCPUS; v++) {
			/* every vCPU slot draws its numbers, so the stream (and the
			 * scenario) does not depend on max_vcpus */
			struct sim_pat spare, *p = v < vm->max_vcpus ? &vm->load[v] : &spare;
			uint64_t r = rnd(&st);
			p->key = rnd(&st);
			switch (i == 0 ? 0 : r % 3) {
			case 0:
				*p = (struct sim_pat){
				    PAT_CONST, 0.05 + 0.5 * unit(rnd(&st)), 0, 0, 0, p->key};
				break;
			case 1: {
				double mean = 0.2 + 0.4 * unit(rnd(&st));
				*p = (struct sim_pat){PAT_SINE,
				                      mean,
				                      0.8 * mean * unit(rnd(&st)),
				                      60 + 3540 * unit(rnd(&st)),
				                      unit(rnd(&st)),
				                      p->key};
				break;
			}
			default:
				*p = (struct sim_pat){
				    PAT_BURSTY, 0.9, 0.05, 0.3, 5 + 55 * unit(rnd(&st)), p->key};
			}
			if (v < vm->max_vcpus)
				worst += sim_pat_max(p);
		}
		if (i > 0) {
			vm->nvif = vm->nvbd = 1;
			vm->vif = xcalloc(1, sizeof(*vm->vif));
			vm->vbd = xcalloc(1, sizeof(*vm->vbd));
			vm->vif[0] = (struct sim_vif_spec){
			    0,
			    {PAT_CONST, 1e5 + 1e6 * unit(rnd(&st)), 0, 0, 0, 0},
			    {PAT_CONST, 1e5 + 1e6 * unit(rnd(&st)), 0, 0, 0, 0}};
			struct sim_vbd_spec *b = &vm->vbd[0];
			strcpy(b->name, "xvda");
			b->devid = 202u << 8;
			b->rd = (struct sim_pat){PAT_CONST, 1e5 + 1e6 * unit(rnd(&st)), 0, 0, 0, 0};
			b->wr = (struct sim_pat){PAT_CONST, 1e5 + 1e6 * unit(rnd(&st)), 0, 0, 0, 0};
			b->req_bytes = 4096;
			b->latency_us = 100 + 900 * unit(rnd(&st));
			b->inflight = rnd(&st) % 4;
		}
	}
	while (sc->cpus < worst * 1.25)
		sc->cpus *= 2;
	sc->nnic = 2;
	strcpy(sc->nic[0].name, "eth0");
	strcpy(sc->nic[1].name, "eth1");
	for (int k = 0; k < 2; k++) {
		sc->nic[k].rx = (struct sim_pat){PAT_CONST, 1e6 * (k + 1), 0, 0, 0, 0};
		sc->nic[k].tx = (struct sim_pat){PAT_CONST, 5e5 * (k + 1), 0, 0, 0, 0};
	}
	int64_t mem = 0;
	for (uint32_t i = 0; i < sc->nvm; i++)
		mem += sc->vm[i].memory_kib;
	while (sc->memory_kib < mem + (mem >> 3))
		sc->memory_kib *= 2;
}
