/*
 * The simulated hypervisor: a deterministic host whose domains follow a
 * scenario (sim_scenario.c).  It reads no clock: each src_sample(now)
 * advances the world from the previous sample's time to now, applying the
 * scenario's lifecycle events in order, integrating workload patterns
 * exactly (closed forms, no time step), so the counters do not depend on how
 * the caller chops time.  Snapshots go through the same uuid rules as the
 * Xen backend (handles, a private "xenstore" for migration temporaries).
 *
 * Model: the pCPUs share the total vCPU busy time in fixed seeded
 * proportions, so sum(idle) = cpus*t - sum(busy) exactly; loadavg is dom0's
 * instantaneous vCPU load; a vCPU is "blocked" at a sample with probability
 * 1 - its load (seeded, so reproducible); runstate approximates fullrun =
 * the least busy vCPU, blocked = the idle part of the busiest, partial_run
 * the rest.  It does no I/O besides reading the scenario file at open.
 */
#include "source/catalogue.h"
#include "source/source.h"
#include "source/netsrc.h"
#include "source/vbd3.h"
#include "source/source_sim.h"
#include "source/sim.h"
#include "source/procfs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* A running domain: one boot of a scenario VM. */
struct sim_dom {
	uint32_t vm; /* scenario index */
	uint32_t domid;
	uint8_t handle[16];
	bool paused, vanishing;
	uint32_t online;                                   /* vCPUs 0..online-1 are online */
	double busy[SIM_MAX_VCPUS];                        /* cumulative busy seconds per vCPU */
	double runstate[6];                                /* cumulative seconds */
	double vif_rx[SIM_MAX_DEVS], vif_tx[SIM_MAX_DEVS]; /* guest view, bytes */
	uint64_t wrap_base[SIM_MAX_DEVS];
	uint32_t wrap_bits[SIM_MAX_DEVS];
	double vbd_rd[SIM_MAX_DEVS], vbd_wr[SIM_MAX_DEVS]; /* bytes */
	int64_t target_kib, free_kib;
};

struct xs_entry {
	char path[96];
	char value[SRC_UUID_LEN + 1];
};

struct sim {
	struct sim_scenario sc;
	struct src_net *net; /* --net-source kernel: the namespace's links */
	char *xsdir;         /* --sim-xenstore: tapdisk3's VBDs through it */
	struct vbd3_set vbd3;
	struct vbd3_xs vbd3_xs;
	bool started;
	double epoch, s; /* sim time of the last sample */
	uint32_t next_ev;
	uint32_t next_domid;
	uint32_t ndom;
	struct sim_dom *dom; /* sorted by domid */
	double total_busy;   /* all vCPU busy seconds ever, for pCPU idle */
	double *weight;      /* per pCPU share of the busy time, sum 1 */
	double nic_rx[SIM_MAX_NICS], nic_tx[SIM_MAX_NICS];
	uint32_t nxs;
	struct xs_entry *xs;    /* the sim's xenstore: /vm/<tmp>/{origin,final}-uuid */
	struct sim_event *pend; /* internal events (ends of migrations) */
	uint32_t npend;
};

static _Thread_local char last_error[256];

const char *src_sim_last_error(void)
{
	return last_error;
}

/* ---- xenstore stand-in ---- */

static void xs_put(struct sim *m, const char *path, const char *value)
{
	for (uint32_t i = 0; i < m->nxs; i++)
		if (strcmp(m->xs[i].path, path) == 0) {
			snprintf(m->xs[i].value, sizeof(m->xs[i].value), "%s", value);
			return;
		}
	m->xs = xrealloc(m->xs, (m->nxs + 1) * sizeof(*m->xs));
	snprintf(m->xs[m->nxs].path, sizeof(m->xs[0].path), "%s", path);
	snprintf(m->xs[m->nxs].value, sizeof(m->xs[0].value), "%s", value);
	m->nxs++;
}

static const char *xs_get(const struct sim *m, const char *path)
{
	for (uint32_t i = 0; i < m->nxs; i++)
		if (strcmp(m->xs[i].path, path) == 0)
			return m->xs[i].value;
	return NULL;
}

/* ---- domains ---- */

static struct sim_dom *dom_of_vm(struct sim *m, uint32_t vm)
{
	for (uint32_t i = 0; i < m->ndom; i++)
		if (m->dom[i].vm == vm)
			return &m->dom[i];
	return NULL;
}

/* A "wrap" event at T makes the VIF's byte counters wrap at T: the domain's
 * counters are reported modulo 2^bits from its creation on, offset so that
 * the larger direction reaches 2^bits exactly at T.  The counter stays
 * continuous (its differences modulo 2^bits are the traffic), as a real one. */
static void wrap_setup(struct sim *m, struct sim_dom *d)
{
	const struct sim_vm *v = &m->sc.vm[d->vm];
	for (uint32_t i = 0; i < m->sc.nev; i++) {
		const struct sim_event *e = &m->sc.ev[i];
		if (e->kind != EV_WRAP || e->vm != d->vm || e->s < m->s)
			continue;
		for (uint32_t k = 0; k < v->nvif; k++) {
			if (v->vif[k].devid != (uint32_t)e->arg)
				continue;
			double rx = sim_pat_integral(&v->vif[k].rx, m->sc.seed, m->s, e->s);
			double tx = sim_pat_integral(&v->vif[k].tx, m->sc.seed, m->s, e->s);
			uint64_t mod = e->bits >= 64 ? 0 : 1ull << e->bits;
			d->wrap_bits[k] = e->bits;
			d->wrap_base[k] = mod - (uint64_t)llround(rx > tx ? rx : tx);
		}
	}
}

static struct sim_dom *dom_create(struct sim *m, uint32_t vm)
{
	const struct sim_vm *v = &m->sc.vm[vm];
	m->dom = xrealloc(m->dom, (m->ndom + 1) * sizeof(*m->dom));
	struct sim_dom *d = &m->dom[m->ndom++]; /* new domids are the largest */
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->domid = v->dom0 ? 0 : m->next_domid++;
	memcpy(d->handle, v->handle, 16);
	d->online = v->vcpus;
	d->target_kib = v->target_kib;
	d->free_kib = v->free_kib;
	wrap_setup(m, d);
	if (v->dom0 && m->ndom > 1) { /* keep domid order: dom0 first */
		struct sim_dom t = *d;
		memmove(&m->dom[1], &m->dom[0], (m->ndom - 1) * sizeof(*m->dom));
		m->dom[0] = t;
		d = &m->dom[0];
	}
	return d;
}

static void dom_destroy(struct sim *m, struct sim_dom *d)
{
	size_t i = (size_t)(d - m->dom);
	memmove(&m->dom[i], &m->dom[i + 1], (m->ndom - i - 1) * sizeof(*m->dom));
	m->ndom--;
}

/* A temporary handle: the uuid with its last 12 digits 00..0<last>. */
static void temp_handle(const uint8_t h[16], int last, uint8_t out[16])
{
	memcpy(out, h, 16);
	memset(out + 10, 0, 6);
	out[15] = (uint8_t)last;
}

/* ---- time ---- */

static void integrate(struct sim *m, double s0, double s1)
{
	if (s1 <= s0)
		return;
	uint64_t seed = m->sc.seed;
	for (uint32_t n = 0; n < m->sc.nnic; n++) {
		m->nic_rx[n] += sim_pat_integral(&m->sc.nic[n].rx, seed, s0, s1);
		m->nic_tx[n] += sim_pat_integral(&m->sc.nic[n].tx, seed, s0, s1);
	}
	for (uint32_t i = 0; i < m->ndom; i++) {
		struct sim_dom *d = &m->dom[i];
		const struct sim_vm *v = &m->sc.vm[d->vm];
		if (d->paused)
			continue;
		double lo = INFINITY, hi = 0, dt = s1 - s0;
		for (uint32_t c = 0; c < d->online; c++) {
			double b = sim_pat_integral(&v->load[c], seed, s0, s1);
			d->busy[c] += b;
			m->total_busy += b;
			lo = b < lo ? b : lo;
			hi = b > hi ? b : hi;
		}
		if (d->online == 0)
			lo = 0;
		d->runstate[0] += lo;
		d->runstate[3] += dt - hi;
		d->runstate[4] += hi - lo;
		for (uint32_t k = 0; k < v->nvif; k++) {
			d->vif_rx[k] += sim_pat_integral(&v->vif[k].rx, seed, s0, s1);
			d->vif_tx[k] += sim_pat_integral(&v->vif[k].tx, seed, s0, s1);
		}
		for (uint32_t k = 0; k < v->nvbd; k++) {
			d->vbd_rd[k] += sim_pat_integral(&v->vbd[k].rd, seed, s0, s1);
			d->vbd_wr[k] += sim_pat_integral(&v->vbd[k].wr, seed, s0, s1);
		}
	}
}

static uint64_t wrap_value(const struct sim_dom *d, uint32_t k, double bytes)
{
	uint64_t v = d->wrap_base[k] + (uint64_t)llround(bytes);
	uint32_t bits = d->wrap_bits[k] ? d->wrap_bits[k] : 64;
	return bits >= 64 ? v : v & ((1ull << bits) - 1);
}

static void add_pending(struct sim *m, double s, enum sim_ev_kind kind, uint32_t vm)
{
	m->pend = xrealloc(m->pend, (m->npend + 1) * sizeof(*m->pend));
	m->pend[m->npend++] = (struct sim_event){.s = s, .kind = kind, .vm = vm};
}

static void apply(struct sim *m, const struct sim_event *e)
{
	const struct sim_vm *v = &m->sc.vm[e->vm];
	struct sim_dom *d = dom_of_vm(m, e->vm);
	char path[96], raw[SRC_UUID_LEN + 1];
	uint8_t tmp[16];

	switch (e->kind) {
	case EV_START:
		if (!d)
			dom_create(m, e->vm);
		break;
	case EV_SHUTDOWN:
		if (d)
			dom_destroy(m, d);
		break;
	case EV_REBOOT:
		if (d)
			dom_destroy(m, d);
		dom_create(m, e->vm);
		break;
	case EV_PAUSE:
	case EV_UNPAUSE:
		if (d)
			d->paused = e->kind == EV_PAUSE;
		break;
	case EV_VANISH:
		if (d)
			d->vanishing = true; /* fails its next sample, then is gone */
		break;
	case EV_MIGRATE_OUT:
		if (!d)
			break;
		temp_handle(v->handle, 0, tmp);
		memcpy(d->handle, tmp, 16);
		src_uuid_classify(tmp, raw);
		snprintf(path, sizeof(path), "/vm/%s/origin-uuid", raw);
		xs_put(m, path, v->uuid);
		add_pending(m, e->s + e->dur, EV_MIGRATE_OUT_END, e->vm);
		break;
	case EV_MIGRATE_OUT_END:
		if (d)
			dom_destroy(m, d);
		break;
	case EV_MIGRATE_IN:
		if (d)
			break;
		d = dom_create(m, e->vm);
		temp_handle(v->handle, 1, tmp);
		memcpy(d->handle, tmp, 16);
		d->paused = true;
		src_uuid_classify(tmp, raw);
		snprintf(path, sizeof(path), "/vm/%s/final-uuid", raw);
		xs_put(m, path, v->uuid);
		add_pending(m, e->s + e->dur, EV_MIGRATE_IN_END, e->vm);
		break;
	case EV_MIGRATE_IN_END:
		if (d) {
			memcpy(d->handle, v->handle, 16);
			d->paused = false;
		}
		break;
	case EV_VCPUS:
		if (d)
			d->online = (uint32_t)e->arg;
		break;
	case EV_TARGET:
		if (d)
			d->target_kib = e->arg;
		break;
	case EV_MEMINFO:
		if (d)
			d->free_kib = e->arg;
		break;
	case EV_WRAP:
		break; /* arranged when the domain was created (wrap_setup) */
	}
}

/* The next event (scenario or internal) at or before s; NULL if none. */
static const struct sim_event *next_event(struct sim *m, double s, bool *internal, uint32_t *idx)
{
	const struct sim_event *best = NULL;
	if (m->next_ev < m->sc.nev && m->sc.ev[m->next_ev].s <= s) {
		best = &m->sc.ev[m->next_ev];
		*internal = false;
	}
	for (uint32_t i = 0; i < m->npend; i++)
		if (m->pend[i].s <= s && (!best || m->pend[i].s < best->s)) {
			best = &m->pend[i];
			*internal = true;
			*idx = i;
		}
	return best;
}

static void advance(struct sim *m, double s)
{
	for (;;) {
		bool internal = false;
		uint32_t idx = 0;
		const struct sim_event *e = next_event(m, s, &internal, &idx);
		if (!e)
			break;
		struct sim_event ev = *e;
		if (internal)
			m->pend[idx] = m->pend[--m->npend];
		else
			m->next_ev++;
		integrate(m, m->s, ev.s > m->s ? ev.s : m->s);
		if (ev.s > m->s)
			m->s = ev.s;
		apply(m, &ev);
	}
	integrate(m, m->s, s);
	m->s = s;
}

/* ---- snapshot ---- */

static void fill_dom(struct sim *m, struct sim_dom *sd, struct src_domain *d)
{
	const struct sim_vm *v = &m->sc.vm[sd->vm];
	uint64_t seed = m->sc.seed;
	snprintf(d->name, sizeof(d->name), "%s", v->name);

	d->nvcpu = v->max_vcpus;
	d->vcpu = xcalloc(d->nvcpu ? d->nvcpu : 1, sizeof(*d->vcpu));
	uint64_t total = 0;
	for (uint32_t c = 0; c < d->nvcpu; c++) {
		struct src_vcpu *vc = &d->vcpu[c];
		vc->cpu_time_ns = (uint64_t)llround(sd->busy[c] * 1e9);
		total += vc->cpu_time_ns;
		vc->online = c < sd->online;
		double load = sd->paused ? 0 : sim_pat_at(&v->load[c], seed, m->s);
		uint64_t h = sim_hash(seed ^ sim_hash(((uint64_t)sd->domid << 32 | c) ^
		                                      sim_hash((uint64_t)llround(m->s * 1000))));
		vc->blocked = !vc->online || (double)(h >> 11) * 0x1.0p-53 >= load;
		vc->running = vc->online && !vc->blocked;
		if (vc->online)
			d->nr_online_vcpus++;
	}
	d->cpu_time_ns = total;
	d->memory_bytes = (uint64_t)v->memory_kib * 1024;
	d->target_kib = sd->target_kib;
	d->free_kib = sd->free_kib;
	d->dynamic_min_kib = v->dyn_min_kib;
	d->dynamic_max_kib = v->dyn_max_kib;
	if (sd->paused)
		d->flags |= SRC_DOM_PAUSED;
	if (v->hvm)
		d->flags |= SRC_DOM_HVM;
	if (v->runstate) {
		d->flags |= SRC_DOM_RUNSTATE;
		for (int k = 0; k < 6; k++)
			d->runstate.time_ns[k] = (uint64_t)llround(sd->runstate[k] * 1e9);
	}
	for (uint32_t k = 0; k < v->nvif; k++) {
		struct src_vif *f = src_domain_add_vif(d);
		f->devid = v->vif[k].devid;
		/* backend view: the backend receives what the guest transmits */
		f->rx_bytes = wrap_value(sd, k, sd->vif_tx[k]);
		f->tx_bytes = wrap_value(sd, k, sd->vif_rx[k]);
		f->rx_packets = (uint64_t)llround(sd->vif_tx[k] / 1000);
		f->tx_packets = (uint64_t)llround(sd->vif_rx[k] / 1000);
	}
	for (uint32_t k = 0; k < v->nvbd; k++) {
		const struct sim_vbd_spec *bs = &v->vbd[k];
		struct src_vbd *b = src_domain_add_vbd(d);
		memcpy(b->name, bs->name, sizeof(b->name));
		b->devid = bs->devid;
		b->rd_sectors = (uint64_t)llround(sd->vbd_rd[k] / 512);
		b->wr_sectors = (uint64_t)llround(sd->vbd_wr[k] / 512);
		double rq = sd->vbd_rd[k] / bs->req_bytes, wq = sd->vbd_wr[k] / bs->req_bytes;
		b->rd_reqs = (uint64_t)llround(rq);
		b->wr_reqs = (uint64_t)llround(wq);
		b->have_ticks = true;
		b->rd_ticks_us = (uint64_t)llround(rq * bs->latency_us);
		b->wr_ticks_us = (uint64_t)llround(wq * bs->latency_us);
		b->inflight = sd->paused ? 0 : bs->inflight;
	}
}

static int sim_sample(void *p, double now, struct src_snapshot *snap)
{
	struct sim *m = p;
	src_snapshot_clear(snap);
	if (!isfinite(now))
		return -EINVAL;
	if (!m->started) {
		m->started = true;
		m->epoch = m->sc.have_epoch ? m->sc.epoch : now;
	}
	double s = now - m->epoch;
	if (s < m->s)
		return -EINVAL; /* time went backwards, or before the epoch */
	advance(m, s);
	snap->t = now;

	struct src_host *h = &snap->host;
	h->nr_cpus = m->sc.cpus;
	h->idle_ns = xcalloc(h->nr_cpus, sizeof(uint64_t));
	for (uint32_t c = 0; c < h->nr_cpus; c++)
		h->idle_ns[c] = (uint64_t)llround((s - m->weight[c] * m->total_busy) * 1e9);
	int64_t used = 0;
	double dom0_load = 0;
	for (uint32_t i = 0; i < m->ndom; i++) {
		const struct sim_vm *v = &m->sc.vm[m->dom[i].vm];
		used += v->memory_kib;
		if (v->dom0)
			for (uint32_t c = 0; c < m->dom[i].online; c++)
				dom0_load += sim_pat_at(&v->load[c], m->sc.seed, s);
	}
	h->total_kib = m->sc.memory_kib;
	h->free_kib = m->sc.memory_kib > used ? m->sc.memory_kib - used : 0;
	h->loadavg = dom0_load;
	for (uint32_t n = 0; n < m->sc.nnic; n++) {
		struct src_netdev *d = src_host_add_netdev(h);
		memcpy(d->name, m->sc.nic[n].name, sizeof(d->name));
		d->pif = src_is_pif(d->name);
		d->rx_bytes = (uint64_t)llround(m->nic_rx[n]);
		d->tx_bytes = (uint64_t)llround(m->nic_tx[n]);
		d->rx_packets = d->rx_bytes / 1000;
		d->tx_packets = d->tx_bytes / 1000;
	}

	for (uint32_t i = 0; i < m->ndom; i++) {
		struct sim_dom *sd = &m->dom[i];
		char raw[SRC_UUID_LEN + 1], path[96];
		enum src_uuid_kind k = src_uuid_classify(sd->handle, raw);
		if (k == SRC_UUID_SKIP)
			continue;
		struct src_domain *d = src_snapshot_add_domain(snap);
		d->domid = sd->domid;
		memcpy(d->raw_uuid, raw, sizeof(raw));
		memcpy(d->uuid, raw, sizeof(raw));
		if (src_uuid_xs_path(k, raw, path, sizeof(path)) == 0) {
			const char *val = xs_get(m, path);
			if (val)
				(void)src_uuid_accept(val, strlen(val), d->uuid);
		}
		if (sd->vanishing) {
			d->flags |= SRC_DOM_FAILED;
			d->err = -ESRCH;
			continue;
		}
		fill_dom(m, sd, d);
	}
	if (m->net) {
		char why[256];
		src_net_sample(m->net, snap, why, sizeof(why)); /* absent this tick on failure */
	}
	if (m->xsdir)
		vbd3_sample(&m->vbd3, &m->vbd3_xs, snap, snap->note, sizeof(snap->note));
	/* vanished domains are gone after the sample that lost them */
	for (uint32_t i = 0; i < m->ndom;)
		if (m->dom[i].vanishing)
			dom_destroy(m, &m->dom[i]);
		else
			i++;
	return 0;
}

/* ---- open / close ---- */

static void sim_close(void *p)
{
	struct sim *m = p;
	if (!m)
		return;
	src_net_close(m->net);
	vbd3_free(&m->vbd3);
	free(m->xsdir);
	sim_scenario_free(&m->sc);
	free(m->dom);
	free(m->weight);
	free(m->xs);
	free(m->pend);
	free(m);
}

static int sim_open(const struct src_config *cfg, void **out)
{
	struct sim *m = xcalloc(1, sizeof(*m));
	char *text = NULL;
	int rc = 0;

	last_error[0] = '\0';
	if (cfg->scenario_text || cfg->scenario_path) {
		const char *t = cfg->scenario_text;
		if (!t) {
			rc = src_read_file(cfg->scenario_path, 1u << 20, &text, NULL);
			if (rc < 0) {
				snprintf(last_error, sizeof(last_error), "%s: %s",
				         cfg->scenario_path, strerror(-rc));
				free(m);
				return rc;
			}
			t = text;
		}
		rc = sim_scenario_parse(t, &m->sc, last_error, sizeof(last_error));
		free(text);
		if (rc < 0) {
			free(m);
			return rc;
		}
	} else {
		sim_scenario_generate(cfg->sim_domains, cfg->sim_seed, &m->sc);
	}

	/* pCPU shares: seeded weights in [1, 1.5), uniform if the worst-case
	 * load would then overfill one pCPU */
	uint32_t nc = m->sc.cpus;
	double worst = 0, sum = 0, wmax = 0;
	for (uint32_t i = 0; i < m->sc.nvm; i++)
		for (uint32_t c = 0; c < m->sc.vm[i].max_vcpus; c++)
			worst += sim_pat_max(&m->sc.vm[i].load[c]);
	m->weight = xcalloc(nc, sizeof(double));
	for (uint32_t c = 0; c < nc; c++) {
		m->weight[c] =
		    1 + 0.5 * (double)(sim_hash(m->sc.seed ^ (0xc0ffee + c)) >> 11) * 0x1.0p-53;
		sum += m->weight[c];
	}
	for (uint32_t c = 0; c < nc; c++) {
		m->weight[c] /= sum;
		wmax = m->weight[c] > wmax ? m->weight[c] : wmax;
	}
	if (wmax * worst > 1)
		for (uint32_t c = 0; c < nc; c++)
			m->weight[c] = 1.0 / nc;

	if (cfg->net_from == SRC_NET_KERNEL) {
		rc = src_net_open(&m->net, cfg->networkd_db, cfg->sysfs_net, last_error,
		                  sizeof(last_error));
		if (rc) {
			sim_close(m);
			return rc;
		}
	}
	if (cfg->sim_xenstore) {
		m->xsdir = xstrdup(cfg->sim_xenstore);
		vbd3_init(&m->vbd3, cfg->td3_shm_dir, cfg->sm_phy_dir);
		vbd3_xs_dir(&m->vbd3_xs, m->xsdir);
	}
	m->next_domid = 1;
	for (uint32_t i = 0; i < m->sc.nvm; i++)
		if (!m->sc.vm[i].halted || m->sc.vm[i].dom0)
			dom_create(m, i);
	*out = m;
	return 0;
}

const struct src_ops src_sim_ops = {
    .name = "sim",
    .open = sim_open,
    .sample = sim_sample,
    .close = sim_close,
};

/* ---- truth ---- */

static const struct sim *sim_of(const struct src *s)
{
	return s && s->ops == &src_sim_ops ? s->priv : NULL;
}

static const struct sim_vm *vm_named(const struct sim *m, const char *name)
{
	for (uint32_t i = 0; m && i < m->sc.nvm; i++)
		if (strcmp(m->sc.vm[i].name, name) == 0)
			return &m->sc.vm[i];
	return NULL;
}

const char *src_sim_uuid(const struct src *s, const char *name)
{
	const struct sim_vm *v = vm_named(sim_of(s), name);
	return v ? v->uuid : NULL;
}

double src_sim_epoch(const struct src *s)
{
	const struct sim *m = sim_of(s);
	return m && m->started ? m->epoch : NAN;
}

static int span(const struct sim *m, double t0, double t1, double *s0, double *s1)
{
	if (!m || !m->started || !(t1 > t0))
		return -EINVAL;
	*s0 = t0 - m->epoch;
	*s1 = t1 - m->epoch;
	return 0;
}

int src_sim_truth_vcpu(const struct src *s, const char *name, uint32_t vcpu, double t0, double t1,
                       double *fraction)
{
	const struct sim *m = sim_of(s);
	const struct sim_vm *v = vm_named(m, name);
	double s0, s1;
	if (!v || vcpu >= v->max_vcpus)
		return -ENOENT;
	if (span(m, t0, t1, &s0, &s1) < 0)
		return -EINVAL;
	*fraction = sim_pat_integral(&v->load[vcpu], m->sc.seed, s0, s1) / (s1 - s0);
	return 0;
}

int src_sim_truth_vif(const struct src *s, const char *name, uint32_t devid, double t0, double t1,
                      double *rx_bps, double *tx_bps)
{
	const struct sim *m = sim_of(s);
	const struct sim_vm *v = vm_named(m, name);
	double s0, s1;
	if (!v)
		return -ENOENT;
	if (span(m, t0, t1, &s0, &s1) < 0)
		return -EINVAL;
	for (uint32_t k = 0; k < v->nvif; k++)
		if (v->vif[k].devid == devid) {
			*rx_bps = sim_pat_integral(&v->vif[k].rx, m->sc.seed, s0, s1) / (s1 - s0);
			*tx_bps = sim_pat_integral(&v->vif[k].tx, m->sc.seed, s0, s1) / (s1 - s0);
			return 0;
		}
	return -ENOENT;
}

int src_sim_truth_vbd(const struct src *s, const char *name, const char *dev, double t0, double t1,
                      double *rd_bps, double *wr_bps)
{
	const struct sim *m = sim_of(s);
	const struct sim_vm *v = vm_named(m, name);
	double s0, s1;
	if (!v)
		return -ENOENT;
	if (span(m, t0, t1, &s0, &s1) < 0)
		return -EINVAL;
	for (uint32_t k = 0; k < v->nvbd; k++)
		if (strcmp(v->vbd[k].name, dev) == 0) {
			*rd_bps = sim_pat_integral(&v->vbd[k].rd, m->sc.seed, s0, s1) / (s1 - s0);
			*wr_bps = sim_pat_integral(&v->vbd[k].wr, m->sc.seed, s0, s1) / (s1 - s0);
			return 0;
		}
	return -ENOENT;
}

int src_sim_truth_nic(const struct src *s, const char *nic, double t0, double t1, double *rx_bps,
                      double *tx_bps)
{
	const struct sim *m = sim_of(s);
	double s0, s1;
	if (!m)
		return -ENOENT;
	if (span(m, t0, t1, &s0, &s1) < 0)
		return -EINVAL;
	for (uint32_t k = 0; k < m->sc.nnic; k++)
		if (strcmp(m->sc.nic[k].name, nic) == 0) {
			*rx_bps =
			    sim_pat_integral(&m->sc.nic[k].rx, m->sc.seed, s0, s1) / (s1 - s0);
			*tx_bps =
			    sim_pat_integral(&m->sc.nic[k].tx, m->sc.seed, s0, s1) / (s1 - s0);
			return 0;
		}
	return -ENOENT;
}
