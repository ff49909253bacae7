/*
 * One cycle of the daemon (daemon.h) and the domain lifecycle: arrivals get
 * their archive loaded, departures are archived and released, a domid
 * change is left to the registry (counters restart).  File I/O (archives,
 * dumps) happens here, always outside the registry lock.
 */
#include "daemon/daemon.h"
#include "daemon/vmnames.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "daemon/dumps.h"
#include "monitor/change.h"
#include "store/archive.h"
#include "store/durable.h"
#include "util/log.h"
#include "util/xalloc.h"

static bool has_dir(const char *s)
{
	return s && *s;
}

int dmn_init(struct dmn *d, const struct dmn_options *opt, struct clk *clk, struct src *src,
             struct mon_registry *reg)
{
	memset(d, 0, sizeof(*d));
	d->opt = *opt;
	if (!d->opt.uid)
		d->opt.uid = "rrdd-source";
	d->clk = clk;
	d->src = src;
	d->reg = reg;
	dmn_fam_init(&d->fam, opt->plugin_families);
	if (!d->opt.dur) {
		struct store_dur_options so = {.archive_dir = opt->archive_dir,
		                               .host_uuid = mon_host_uuid(reg)};
		store_dur_open(&so, reg, &d->own_dur, NULL);
		d->opt.dur = d->own_dur;
	}
	const char *host = mon_host_uuid(reg);
	if (*host && !mon_has(reg, MON_HOST, NULL) &&
	    store_dur_load(d->opt.dur, MON_HOST, NULL, false) == 0) {
		d->st.loaded++;
		log_info("host %s: RRD loaded from its archive", host);
	}
	return 0;
}

void dmn_fini(struct dmn *d)
{
	src_snapshot_clear(&d->prev);
	src_snapshot_clear(&d->cur);
	src_samples_clear(&d->samples);
	mon_chunk_clear(&d->chunk);
	dmn_fam_fini(&d->fam);
	mon_chunk_clear(&d->ha_chunk);
	free(d->extra);
	free(d->res);
	free(d->order_prev);
	free(d->order_cur);
	dump_state_free(&d->dumps);
	store_dur_close(d->own_dur);
	memset(d, 0, sizeof(*d));
}

/* ---- domains sorted by uuid ---- */

static const struct src_snapshot *sort_snap;

static int dom_uuid_cmp(const void *a, const void *b)
{
	const struct src_domain *x = &sort_snap->dom[*(const uint32_t *)a];
	const struct src_domain *y = &sort_snap->dom[*(const uint32_t *)b];
	int c = strcmp(x->uuid, y->uuid);
	return c ? c : (x->domid > y->domid) - (x->domid < y->domid);
}

static void sort_domains(const struct src_snapshot *s, uint32_t **order, uint32_t *cap)
{
	if (s->ndom > *cap) {
		*cap = s->ndom;
		*order = xrealloc(*order, sizeof(**order) * *cap);
	}
	for (uint32_t i = 0; i < s->ndom; i++)
		(*order)[i] = i;
	sort_snap = s; /* only the tick thread sorts */
	qsort(*order, s->ndom, sizeof(**order), dom_uuid_cmp);
	sort_snap = NULL;
}

static void add_resident(struct dmn *d, const char *uuid, uint32_t domid)
{
	if (d->nres == d->cap_res) {
		d->cap_res = d->cap_res ? d->cap_res * 2 : 64;
		d->res = xrealloc(d->res, sizeof(*d->res) * d->cap_res);
	}
	struct mon_resident *r = &d->res[d->nres++];
	mon_uuid_copy(r->uuid, uuid);
	r->domid = domid;
}

/* A VM that appeared: load its archive unless the registry has its RRD. */
static void arrive(struct dmn *d, const struct src_domain *dom)
{
	if (!dom->uuid[0] || mon_has(d->reg, MON_VM, dom->uuid))
		return;
	if (store_dur_load(d->opt.dur, MON_VM, dom->uuid, false) == 0) {
		d->st.loaded++;
		log_info("vm %s (domid %u): RRD loaded from its archive", dom->uuid, dom->domid);
	}
}

/* SRs (reported by plugins) get their archive loaded when they first
 * report, as VMs do when they appear. */
static void arrive_srs(struct dmn *d, const struct mon_chunk *const *chunks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < chunks[i]->nowner; j++) {
			const struct mon_chunk_owner *o = &chunks[i]->owner[j];
			if (o->kind != MON_SR || !o->uuid[0] || !store_archive_key_ok(o->uuid) ||
			    mon_has(d->reg, MON_SR, o->uuid))
				continue;
			if (store_dur_load(d->opt.dur, MON_SR, o->uuid, false) == 0) {
				d->st.loaded++;
				log_info("sr %s: RRD loaded from its archive", o->uuid);
			}
		}
}

/*
 * Merge the previous and current domain lists (both sorted by uuid): fill
 * the resident table with their union (current domid wins), load archives
 * of arrivals now, and return departures through gone[] for after apply.
 */
static size_t lifecycle(struct dmn *d, char (**gone)[MON_UUID_LEN + 1])
{
	const struct src_snapshot *p = d->have_prev ? &d->prev : NULL;
	uint32_t np = p ? p->ndom : 0, nc = d->cur.ndom;
	sort_domains(&d->cur, &d->order_cur, &d->cap_order_cur);
	size_t ngone = 0;
	*gone = NULL;
	d->nres = 0;
	uint32_t i = 0, j = 0;
	const char *last = NULL;
	while (i < np || j < nc) {
		const struct src_domain *a = i < np ? &p->dom[d->order_prev[i]] : NULL;
		const struct src_domain *b = j < nc ? &d->cur.dom[d->order_cur[j]] : NULL;
		int c = !a ? 1 : !b ? -1 : strcmp(a->uuid, b->uuid);
		const struct src_domain *x = c <= 0 ? a : b;
		if (c < 0) { /* only in prev: gone (once per uuid) */
			if (!last || strcmp(last, a->uuid)) {
				add_resident(d, a->uuid, a->domid);
				*gone = xrealloc(*gone, sizeof(**gone) * (ngone + 1));
				mon_uuid_copy((*gone)[ngone++], a->uuid);
			}
			i++;
		} else {
			if (c > 0)
				arrive(d, b);
			if (!last || strcmp(last, b->uuid))
				add_resident(d, b->uuid, b->domid);
			else
				d->res[d->nres - 1].domid = b->domid;
			if (b->flags & SRC_DOM_FAILED) {
				d->st.failed_doms++;
				log_info("vm %s (domid %u): sample lost: %s", b->uuid, b->domid,
				         strerror(b->err < 0 ? -b->err : EIO));
			}
			if (c == 0)
				i++;
			j++;
		}
		last = x->uuid;
	}
	return ngone;
}

/* The current snapshot (and its uuid order) becomes the previous one; the
 * previous one's storage is reused for the next. */
static void keep_as_prev(struct dmn *d)
{
	struct src_snapshot t = d->prev;
	d->prev = d->cur;
	d->cur = t;
	uint32_t *o = d->order_prev;
	uint32_t oc = d->cap_order_prev;
	d->order_prev = d->order_cur;
	d->cap_order_prev = d->cap_order_cur;
	d->order_cur = o;
	d->cap_order_cur = oc;
	d->have_prev = true;
}

int dmn_tick(struct dmn *d, double now, const struct mon_chunk *const *extra, size_t n)
{
	src_snapshot_clear(&d->cur);
	/* no built-in source (--source none): only plugins and RPC feed RRDs */
	int rc = d->src ? src_sample(d->src, now, &d->cur) : -ENODEV;
	const struct mon_chunk *stack[8];
	const struct mon_chunk **chunks = n + 1 <= 8 ? stack : xmalloc(sizeof(*chunks) * (n + 1));
	size_t nc = 0;
	char(*gone)[MON_UUID_LEN + 1] = NULL;
	size_t ngone = 0;
	if (rc == 0) {
		d->cur.t = now;
		if (d->cur.note[0])
			log_warn("%s", d->cur.note);
		if (d->opt.vmnames)
			vmnames_update(d->opt.vmnames, &d->cur);
		ngone = lifecycle(d, &gone);
		src_map(d->have_prev ? &d->prev : NULL, &d->cur, &d->samples);
		nc = 1; /* the built-in chunk, made below */
	} else if (d->src) {
		d->st.sample_errors++;
		log_warn("sample at %.3f failed: %s; every DS is unknown this cycle", now,
		         strerror(-rc));
		/* keep the previous residents so their VMs get their Unknowns */
	}
	size_t first = nc;
	for (size_t i = 0; i < n; i++)
		chunks[nc++] = extra[i];
	/* families xcp-rrdd's plugins report too: one producer each */
	dmn_fam_arbitrate(&d->fam, rc == 0 ? &d->samples : NULL, chunks + first, n);
	if (rc == 0) {
		mon_chunk_from_samples(&d->samples, d->opt.uid, &d->chunk);
		chunks[0] = &d->chunk;
	}
	arrive_srs(d, chunks, nc);
	/* journaled, then applied; departed VMs are archived and released */
	struct mon_change ch = {.kind = MON_CH_CYCLE,
	                        .cycle = {.now = now,
	                                  .chunks = chunks,
	                                  .nchunks = nc,
	                                  .res = d->res,
	                                  .nres = d->nres,
	                                  .gone = (const char(*)[MON_UUID_LEN + 1]) gone,
	                                  .ngone = ngone}};
	struct mon_result res;
	mon_commit(d->reg, &ch, 0, &res);
	d->last_apply = res.stats;
	d->st.archive_errors += (uint64_t)res.archive_failures;
	d->st.archived += ngone;
	/* Departed VMs leave their RRDs' memory free in the middle of the heap,
	 * which glibc does not give back by itself: with VMs coming and going
	 * all day, RSS creeps.  Give it back in the cycles that release VMs
	 * (~0.6 ms with a 1024-VM pool; nothing in the cycles that do not). */
	if (ngone)
		malloc_trim(0);
	if (chunks != stack)
		free(chunks);
	free(gone);
	if (rc == 0)
		keep_as_prev(d);
	if (has_dir(d->opt.metrics_dir)) {
		/* a failing dump (a full tmpfs) is logged when it starts failing and
		 * when it works again, not every cycle */
		char err[512];
		int drc = dump_metrics(d->reg, d->opt.metrics_dir, &d->dumps, err, sizeof(err));
		if (drc && !d->dump_failing)
			log_warn("metrics dump: %s (not logged again until it works)", err);
		else if (!drc && d->dump_failing)
			log_info("metrics dump: written again");
		d->dump_failing = drc != 0;
	}
	d->st.ticks++;
	return rc;
}

int dmn_archive_all(struct dmn *d)
{
	/* a checkpoint: the exact state for recovery, then every archive */
	int fails = store_dur_checkpoint(d->opt.dur, clk_wall(d->clk), true);
	struct store_dur_stats ss;
	store_dur_get_stats(d->opt.dur, &ss);
	d->st.archived = ss.archived;
	d->st.archive_errors = ss.archive_errors;
	log_info("archived the RRDs to %s (%d failures)",
	         store_dur_archive_dir(d->opt.dur) ? store_dur_archive_dir(d->opt.dur) : "nowhere",
	         fails);
	return fails;
}

int dmn_resume(struct dmn *d, double first_t, double last_t, double period)
{
	int rc = 0;
	for (uint64_t k = 0;; k++) {
		double t = first_t + (double)k * period;
		if (t > last_t)
			break;
		src_snapshot_clear(&d->cur);
		rc = d->src ? src_sample(d->src, t, &d->cur) : -ENODEV;
		if (rc)
			return rc;
		d->cur.t = t;
	}
	sort_domains(&d->cur, &d->order_cur, &d->cap_order_cur);
	keep_as_prev(d);
	return 0;
}
