/*
 * The datasource catalogue and the snapshot-to-samples mapping
 * (rrdd/source/catalogue.c): names exactly as wire-format.md §8.2-8.5 lists them, their
 * types, ranges, units and default flags, and the values computed from a
 * hand-built snapshot whose inputs are chosen here.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "source/catalogue.h"
#include "source/source.h"
#include "source/source_sim.h"

#define UA "aaaaaaaa-1111-4222-8333-444444444444"
#define UB "bbbbbbbb-1111-4222-8333-444444444444"

static void add_net(struct src_host *h, const char *name, uint64_t rx, uint64_t tx)
{
	struct src_netdev *n = src_host_add_netdev(h);
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->pif = src_is_pif(name); /* as the /proc/net/dev reader decides */
	n->rx_bytes = rx;
	n->tx_bytes = tx;
	n->rx_errors = 7;
	n->tx_errors = 9;
}

/* A host with 4 pCPUs and two domains; t is the sample time, k scales the
 * counters so two snapshots make an interval. */
static void build(struct src_snapshot *s, double t, uint64_t k, uint32_t domid_b)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->host.nr_cpus = 4;
	s->host.idle_ns = calloc(4, sizeof(uint64_t));
	for (int i = 0; i < 4; i++)
		s->host.idle_ns[i] = (uint64_t)(i + 1) * 1000000000ull * k;
	s->host.total_kib = 16 << 20;
	s->host.free_kib = 4 << 20;
	s->host.loadavg = 0.75;
	add_net(&s->host, "eth0", 1000 * k, 500 * k);
	add_net(&s->host, "eth1", 3000 * k, 700 * k);
	add_net(&s->host, "eth1.20", 5, 5);
	add_net(&s->host, "bond0", 4000 * k, 1200 * k);
	add_net(&s->host, "xenbr0", 1, 1);
	add_net(&s->host, "vif3.0", 1, 1);

	struct src_domain *a = src_snapshot_add_domain(s);
	a->domid = 3;
	strcpy(a->uuid, UA);
	a->nvcpu = 3;
	a->vcpu = calloc(3, sizeof(*a->vcpu));
	a->vcpu[0] = (struct src_vcpu){2000000000ull * k, true, false, true};
	a->vcpu[1] = (struct src_vcpu){500000000ull * k, true, true, false};
	a->vcpu[2] = (struct src_vcpu){0, false, true, false};
	a->nr_online_vcpus = 2;
	a->cpu_time_ns = 2500000000ull * k;
	a->memory_bytes = 2ull << 30;
	a->target_kib = 1 << 20;
	a->dynamic_min_kib = 512 << 10;
	a->dynamic_max_kib = 2 << 20;
	a->free_kib = 300000;
	a->flags = SRC_DOM_RUNSTATE;
	for (int i = 0; i < 6; i++)
		a->runstate.time_ns[i] = (uint64_t)(i + 1) * 100000000ull * k;
	struct src_vif *v = src_domain_add_vif(a);
	*v = (struct src_vif){.devid = 1,
	                      .rx_bytes = 111 * k, /* backend rx: guest transmitted */
	                      .tx_bytes = 222 * k,
	                      .rx_errors = 1,
	                      .tx_errors = 2};
	struct src_vbd *b = src_domain_add_vbd(a);
	*b = (struct src_vbd){.name = "xvda",
	                      .devid = 51712,
	                      .rd_reqs = 100 * k,
	                      .wr_reqs = 50 * k,
	                      .rd_sectors = 2048 * k,
	                      .wr_sectors = 4096 * k,
	                      .have_ticks = true,
	                      .rd_ticks_us = 30000 * k,
	                      .wr_ticks_us = 10000 * k,
	                      .inflight = 3};
	struct src_vbd *c = src_domain_add_vbd(a);
	*c = (struct src_vbd){
	    .name = "xvdb", .devid = 51728, .rd_reqs = 10 * k, .rd_sectors = 8 * k};

	struct src_domain *d = src_snapshot_add_domain(s);
	d->domid = domid_b;
	strcpy(d->uuid, UB);
	d->flags = SRC_DOM_PAUSED;
	d->nvcpu = 1;
	d->vcpu = calloc(1, sizeof(*d->vcpu));
	d->vcpu[0] = (struct src_vcpu){1000000000ull * k, true, false, false};
	d->nr_online_vcpus = 1;
	d->cpu_time_ns = 1000000000ull * k;
	d->memory_bytes = 1ull << 30;
	d->target_kib = 1 << 20;

	struct src_domain *f = src_snapshot_add_domain(s);
	f->domid = 99;
	strcpy(f->uuid, "cccccccc-1111-4222-8333-444444444444");
	f->flags = SRC_DOM_FAILED;
	f->err = -ESRCH;
}

static const struct src_ds *need(const struct src_owner *o, const char *name)
{
	const struct src_ds *d = src_owner_ds(o, name);
	if (!d)
		fail_msg("no DS '%s'", name);
	return d;
}

static void check_def(const struct src_ds *d, enum ds_type type, double min, double max, bool dflt,
                      const char *units)
{
	assert_int_equal(d->def->d.type, type);
	assert_true(d->def->d.min == min);
	assert_true(d->def->d.max == max);
	assert_int_equal(d->def->d.dflt, dflt);
	assert_string_equal(d->def->d.units, units);
}

/* wire-format.md §8.2-8.5 names, and nothing else, for this snapshot. */
static void test_names(void **state)
{
	struct src_snapshot s;
	struct src_samples out = {0};
	build(&s, 100, 1, 4);
	assert_int_equal(src_map(NULL, &s, &out), 0);
	assert_int_equal(out.nowner, 3); /* host, A, B; the failed domain has none */
	const struct src_owner *h = src_samples_owner(&out, NULL);
	static const char *const host_names[] = {
	    "cpu0",
	    "cpu1",
	    "cpu2",
	    "cpu3",
	    "cpu_avg",
	    "loadavg",
	    "hostload",
	    "running_vcpus",
	    "running_domains",
	    "memory_reclaimed",
	    "memory_reclaimed_max",
	    "memory_total_kib",
	    "memory_free_kib",
	    "pif_eth0_rx",
	    "pif_eth0_tx",
	    "pif_eth0_rx_errors",
	    "pif_eth0_tx_errors",
	    "pif_eth1_rx",
	    "pif_eth1_tx",
	    "pif_eth1_rx_errors",
	    "pif_eth1_tx_errors",
	    "pif_bond0_rx",
	    "pif_bond0_tx",
	    "pif_bond0_rx_errors",
	    "pif_bond0_tx_errors",
	    "pif_aggr_rx",
	    "pif_aggr_tx",
	};
	size_t nh = sizeof(host_names) / sizeof(host_names[0]);
	for (size_t i = 0; i < nh; i++)
		need(h, host_names[i]);
	assert_int_equal(h->nds, nh); /* no VLAN, bridge or vif PIFs */

	const struct src_owner *a = src_samples_owner(&out, UA);
	static const char *const vm_names[] = {
	    "cpu0",
	    "cpu1",
	    "cpu2",
	    "cpu_usage",
	    "runstate_fullrun",
	    "runstate_full_contention",
	    "runstate_concurrency_hazard",
	    "runstate_blocked",
	    "runstate_partial_run",
	    "runstate_partial_contention",
	    "runnable_any",
	    "memory",
	    "memory_target",
	    "memory_internal_free",
	    "vif_1_rx",
	    "vif_1_tx",
	    "vif_1_rx_errors",
	    "vif_1_tx_errors",
	    "vbd_xvda_read",
	    "vbd_xvda_write",
	    "vbd_xvda_read_latency",
	    "vbd_xvda_write_latency",
	    "vbd_xvda_io_throughput_read",
	    "vbd_xvda_io_throughput_write",
	    "vbd_xvda_io_throughput_total",
	    "vbd_xvda_iops_read",
	    "vbd_xvda_iops_write",
	    "vbd_xvda_iops_total",
	    "vbd_xvda_iowait",
	    "vbd_xvda_inflight",
	    "vbd_xvda_latency",
	    "vbd_xvda_avgqu_sz",
	    /* xvdb has no wait times (libxenstat): only counters */
	    "vbd_xvdb_read",
	    "vbd_xvdb_write",
	    "vbd_xvdb_io_throughput_read",
	    "vbd_xvdb_io_throughput_write",
	    "vbd_xvdb_io_throughput_total",
	    "vbd_xvdb_iops_read",
	    "vbd_xvdb_iops_write",
	    "vbd_xvdb_iops_total",
	};
	size_t nv = sizeof(vm_names) / sizeof(vm_names[0]);
	for (size_t i = 0; i < nv; i++)
		need(a, vm_names[i]);
	assert_int_equal(a->nds, nv);

	/* B is paused: CPU but no memory DSs (CA-34383) */
	const struct src_owner *b = src_samples_owner(&out, UB);
	need(b, "cpu0");
	need(b, "cpu_usage");
	assert_null(src_owner_ds(b, "memory"));
	assert_null(src_owner_ds(b, "memory_target"));
	assert_int_equal(b->nds, 2);

	/* every sample's definition matches its own name in the catalogue */
	for (uint32_t i = 0; i < out.nowner; i++)
		for (uint32_t k = 0; k < out.owner[i].nds; k++) {
			const struct src_ds *d = &out.owner[i].ds[k];
			assert_ptr_equal(src_catalogue_match(out.owner[i].kind, d->name), d->def);
		}
	src_samples_clear(&out);
	src_snapshot_clear(&s);
}

static void test_definitions(void **state)
{
	struct src_snapshot s;
	struct src_samples out = {0};
	build(&s, 100, 1, 4);
	src_map(NULL, &s, &out);
	const struct src_owner *h = src_samples_owner(&out, NULL), *a = src_samples_owner(&out, UA);
	const struct src_ds *d;

	d = need(h, "cpu2");
	check_def(d, DS_DERIVE, 0, 1, true, "(fraction)");
	assert_int_equal(d->def->d.transform, TR_INVERSE);
	assert_string_equal(d->description, "Physical cpu usage for cpu 2");
	assert_int_equal(need(h, "cpu_avg")->def->d.transform, TR_INVERSE);
	check_def(need(h, "loadavg"), DS_GAUGE, -INFINITY, INFINITY, true, "(fraction)");
	check_def(need(h, "hostload"), DS_GAUGE, 0, INFINITY, true, "(fraction)");
	check_def(need(h, "running_vcpus"), DS_GAUGE, 0, INFINITY, true, "count");
	check_def(need(h, "memory_total_kib"), DS_GAUGE, 0, INFINITY, true, "KiB");
	check_def(need(h, "memory_reclaimed"), DS_GAUGE, -INFINITY, INFINITY, true, "B");
	check_def(need(h, "pif_eth0_rx"), DS_DERIVE, 0, INFINITY, true, "B/s");
	check_def(need(h, "pif_eth0_rx_errors"), DS_DERIVE, 0, INFINITY, false, "err/s");
	check_def(need(h, "pif_aggr_tx"), DS_DERIVE, 0, INFINITY, true, "B/s");
	assert_string_equal(need(h, "pif_eth1_tx")->description,
	                    "Bytes per second sent on physical interface eth1");

	d = need(a, "cpu1");
	check_def(d, DS_DERIVE, 0, 1, true, "(fraction)");
	assert_int_equal(d->def->d.transform, TR_IDENTITY);
	assert_string_equal(d->description, "CPU1 usage");
	check_def(need(a, "cpu_usage"), DS_DERIVE, 0, 1, true, "(fraction)");
	check_def(need(a, "runstate_blocked"), DS_DERIVE, 0, 1, false, "(fraction)");
	check_def(need(a, "memory"), DS_GAUGE, 0, INFINITY, true, "B");
	check_def(need(a, "memory_target"), DS_GAUGE, 0, INFINITY, true, "B");
	check_def(need(a, "memory_internal_free"), DS_GAUGE, 0, INFINITY, true, "KiB");
	check_def(need(a, "vif_1_rx"), DS_DERIVE, 0, INFINITY, true, "B/s");
	check_def(need(a, "vif_1_tx_errors"), DS_DERIVE, 0, INFINITY, false, "err/s");
	assert_string_equal(need(a, "vif_1_tx")->description,
	                    "Bytes per second transmitted on virtual interface number '1'");
	check_def(need(a, "vbd_xvda_read"), DS_DERIVE, 0, INFINITY, true, "B/s");
	check_def(need(a, "vbd_xvda_read_latency"), DS_GAUGE, 0, INFINITY, true, "\xce\xbcs");
	check_def(need(a, "vbd_xvda_io_throughput_total"), DS_ABSOLUTE, 0, INFINITY, true, "MiB/s");
	check_def(need(a, "vbd_xvda_iops_write"), DS_ABSOLUTE, 0, INFINITY, true, "requests/s");
	check_def(need(a, "vbd_xvda_iowait"), DS_ABSOLUTE, 0, INFINITY, true, "s/s");
	check_def(need(a, "vbd_xvda_inflight"), DS_GAUGE, 0, INFINITY, true, "requests");
	check_def(need(a, "vbd_xvda_avgqu_sz"), DS_GAUGE, 0, INFINITY, true, "requests");
	/* value types as the plugins report them */
	assert_int_equal(need(a, "vbd_xvda_read")->v.type, VAL_INT64);
	assert_int_equal(need(a, "cpu0")->v.type, VAL_FLOAT);
	assert_int_equal(need(h, "running_domains")->v.type, VAL_INT64);

	/* the engine definition */
	struct rrdb_ds_def def;
	src_ds_def(need(h, "cpu0"), &def);
	assert_string_equal(def.name, "cpu0");
	assert_int_equal(def.type, DS_DERIVE);
	assert_int_equal(def.transform, TR_INVERSE);
	assert_true(def.mrhb == 300);
	assert_int_equal(def.initial_last.type, VAL_UNKNOWN);

	/* catalogue hygiene: every family documented, unique per owner */
	size_t n;
	const struct src_catdef *c = src_catalogue(&n);
	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(c[i].d.name);
		assert_true(strlen(c[i].d.units) > 0);
		assert_true(strlen(c[i].d.description) > 0);
		assert_non_null(c[i].plugin);
		for (size_t j = i + 1; j < n; j++)
			assert_false(c[i].owner == c[j].owner &&
			             strcmp(c[i].d.name, c[j].d.name) == 0);
	}
	assert_string_equal(src_catalogue_match(MON_VM, "vbd_xvda_io_throughput_write")->d.name,
	                    "vbd_{}_io_throughput_write");
	assert_string_equal(src_catalogue_match(MON_VM, "vbd_xvda_read_latency")->d.name,
	                    "vbd_{}_read_latency");
	assert_string_equal(src_catalogue_match(MON_HOST, "cpu_avg")->d.name, "cpu_avg");
	assert_string_equal(src_catalogue_match(MON_HOST, "pif_aggr_rx")->d.name, "pif_aggr_rx");
	assert_null(src_catalogue_match(MON_HOST, "memory"));
	assert_null(src_catalogue_match(MON_VM, "cpu"));
	src_samples_clear(&out);
	src_snapshot_clear(&s);
}

static void test_values(void **state)
{
	struct src_snapshot s0, s1;
	struct src_samples o0 = {0}, o1 = {0};
	build(&s0, 100, 1, 4);
	build(&s1, 105, 2, 4);
	src_map(NULL, &s0, &o0);
	src_map(&s0, &s1, &o1);
	const struct src_owner *h = src_samples_owner(&o1, NULL), *a = src_samples_owner(&o1, UA);
	assert_true(o1.t == 105);

	/* host CPU: idle seconds; cpu_avg their mean */
	assert_float_equal(need(h, "cpu3")->v.f, 8.0, 0);
	assert_float_equal(need(h, "cpu_avg")->v.f, (2 + 4 + 6 + 8) / 4.0, 1e-12);
	assert_float_equal(need(h, "loadavg")->v.f, 0.75, 0);
	/* running = online and not blocked: A's vCPU 0, B's vCPU 0 */
	assert_int_equal(need(h, "running_vcpus")->v.i, 2);
	assert_float_equal(need(h, "hostload")->v.f, 0.5, 0);
	assert_int_equal(need(h, "running_domains")->v.i, 2); /* A and the failed one */
	assert_int_equal(need(h, "memory_total_kib")->v.i, 16 << 20);
	assert_int_equal(need(h, "memory_free_kib")->v.i, 4 << 20);
	/* squeezed: A (2 GiB max - 1 GiB target), B has no dynamic range */
	assert_int_equal(need(h, "memory_reclaimed")->v.i, (int64_t)1 << 30);
	assert_int_equal(need(h, "memory_reclaimed_max")->v.i, (int64_t)512 << 20);
	/* PIFs, aggregate over eth0, eth1, bond0 (upstream counts bonds too) */
	assert_int_equal(need(h, "pif_eth1_rx")->v.i, 6000);
	assert_int_equal(need(h, "pif_eth0_rx_errors")->v.i, 7);
	assert_int_equal(need(h, "pif_aggr_rx")->v.i, 2 * (1000 + 3000 + 4000));
	assert_int_equal(need(h, "pif_aggr_tx")->v.i, 2 * (500 + 700 + 1200));

	/* VM CPU: seconds; cpu_usage over online vCPUs */
	assert_float_equal(need(a, "cpu0")->v.f, 4.0, 0);
	assert_float_equal(need(a, "cpu_usage")->v.f, 5.0 / 2, 1e-12);
	assert_float_equal(need(a, "runstate_partial_run")->v.f, 1.0, 1e-12);
	assert_float_equal(need(a, "runnable_any")->v.f, 0.2 * (2 + 3 + 6), 1e-12);
	/* memory: bytes, target KiB -> B, guest free stays KiB */
	assert_int_equal(need(a, "memory")->v.i, (int64_t)2 << 30);
	assert_int_equal(need(a, "memory_target")->v.i, (int64_t)1 << 30);
	assert_int_equal(need(a, "memory_internal_free")->v.i, 300000);
	/* VIF from the guest's point of view */
	assert_int_equal(need(a, "vif_1_rx")->v.i, 444);
	assert_int_equal(need(a, "vif_1_tx")->v.i, 222);
	assert_int_equal(need(a, "vif_1_rx_errors")->v.i, 2);
	assert_int_equal(need(a, "vif_1_tx_errors")->v.i, 1);
	/* VBD: cumulative bytes, per-interval figures from the difference */
	assert_int_equal(need(a, "vbd_xvda_read")->v.i, 2 * 2048 * 512);
	assert_int_equal(need(a, "vbd_xvda_iops_read")->v.i, 100);
	assert_int_equal(need(a, "vbd_xvda_iops_write")->v.i, 50);
	assert_int_equal(need(a, "vbd_xvda_iops_total")->v.i, 150);
	assert_float_equal(need(a, "vbd_xvda_io_throughput_read")->v.f, 1.0, 1e-12);
	assert_float_equal(need(a, "vbd_xvda_io_throughput_total")->v.f, 3.0, 1e-12);
	assert_int_equal(need(a, "vbd_xvda_read_latency")->v.i, 300);
	assert_int_equal(need(a, "vbd_xvda_write_latency")->v.i, 200);
	assert_float_equal(need(a, "vbd_xvda_latency")->v.f, 40000.0 / 150, 1e-9);
	assert_float_equal(need(a, "vbd_xvda_iowait")->v.f, 0.04, 1e-12);
	assert_float_equal(need(a, "vbd_xvda_avgqu_sz")->v.f, 0.04 / 5, 1e-12);
	assert_int_equal(need(a, "vbd_xvda_inflight")->v.i, 3);

	/* first tick: no interval, so those are unknown, counters known */
	const struct src_owner *a0 = src_samples_owner(&o0, UA);
	assert_int_equal(need(a0, "vbd_xvda_iops_read")->v.type, VAL_UNKNOWN);
	assert_int_equal(need(a0, "vbd_xvda_latency")->v.type, VAL_UNKNOWN);
	assert_int_equal(need(a0, "vbd_xvda_read")->v.type, VAL_INT64);
	assert_int_equal(need(a0, "vbd_xvda_inflight")->v.i, 3);
	assert_false(a0->restarted);
	assert_false(a->restarted);
	src_samples_clear(&o0);
	src_samples_clear(&o1);
	src_snapshot_clear(&s1);

	/* B rebooted (new domid): flagged restarted */
	build(&s1, 105, 2, 5);
	src_map(&s0, &s1, &o1);
	assert_true(src_samples_owner(&o1, UB)->restarted);
	assert_false(src_samples_owner(&o1, UA)->restarted);
	src_samples_clear(&o1);
	src_snapshot_clear(&s1);

	/* counters that went backwards give unknown intervals, not huge ones */
	build(&s1, 105, 2, 4);
	s1.dom[0].vbd[0].rd_reqs = 1;
	src_map(&s0, &s1, &o1);
	assert_int_equal(need(src_samples_owner(&o1, UA), "vbd_xvda_iops_read")->v.type,
	                 VAL_UNKNOWN);
	src_samples_clear(&o1);
	src_snapshot_clear(&s1);

	/* unreadable loadavg and no online vCPU: unknown, not garbage */
	build(&s1, 105, 2, 4);
	s1.host.loadavg = NAN;
	s1.dom[1].nr_online_vcpus = 0;
	src_map(&s0, &s1, &o1);
	assert_int_equal(need(src_samples_owner(&o1, NULL), "loadavg")->v.type, VAL_UNKNOWN);
	assert_int_equal(need(src_samples_owner(&o1, UB), "cpu_usage")->v.type, VAL_UNKNOWN);
	src_samples_clear(&o1);
	src_snapshot_clear(&s1);
	src_snapshot_clear(&s0);
}

/* Every owner, name, description, definition and value of a and b equal. */
static void assert_samples_equal(const struct src_samples *a, const struct src_samples *b)
{
	assert_true(a->t == b->t);
	assert_int_equal(a->nowner, b->nowner);
	for (uint32_t i = 0; i < a->nowner; i++) {
		const struct src_owner *x = &a->owner[i], *y = &b->owner[i];
		assert_int_equal(x->kind, y->kind);
		assert_string_equal(x->uuid, y->uuid);
		assert_int_equal(x->domid, y->domid);
		assert_int_equal(x->restarted, y->restarted);
		assert_int_equal(x->nds, y->nds);
		assert_true(x->layout != 0 && y->layout != 0);
		for (uint32_t k = 0; k < x->nds; k++) {
			assert_string_equal(x->ds[k].name, y->ds[k].name);
			assert_string_equal(x->ds[k].description, y->ds[k].description);
			assert_ptr_equal(x->ds[k].def, y->ds[k].def);
			assert_int_equal(x->ds[k].v.type, y->ds[k].v.type);
			if (x->ds[k].v.type != VAL_UNKNOWN)
				assert_memory_equal(&x->ds[k].v.i, &y->ds[k].v.i, sizeof(int64_t));
		}
	}
}

static uint64_t layout_of(const struct src_samples *s, const char *uuid)
{
	const struct src_owner *o = src_samples_owner(s, uuid);
	assert_non_null(o);
	return o->layout;
}

/* The names kept from one map to the next (one src_samples reused) give
 * exactly what a fresh src_samples gives, through devices appearing,
 * disappearing and renamed, domains leaving and coming back, and two domains
 * with the same uuid; the layout token changes exactly when an owner's list
 * of names does. */
static void test_reuse_matches_fresh(void **state)
{
	struct src_snapshot s[2];
	struct src_samples kept = {0};
	build(&s[0], 100, 1, 4);
	src_map(NULL, &s[0], &kept);
	uint64_t la = layout_of(&kept, UA), lb = layout_of(&kept, UB), lh = layout_of(&kept, NULL);
	assert_true(la != lb && la != lh && lb != lh);
	for (int step = 1; step <= 8; step++) {
		struct src_snapshot *prev = &s[(step - 1) & 1], *cur = &s[step & 1];
		if (step > 1)
			src_snapshot_clear(cur);
		build(cur, 100 + 5 * step, (uint64_t)step + 1, 4);
		struct src_domain *a = &cur->dom[0];
		switch (step) {
		case 2: /* a VIF appears, a VBD is renamed */
			*src_domain_add_vif(a) = (struct src_vif){.devid = 7, .rx_bytes = 5};
			snprintf(a->vbd[1].name, sizeof(a->vbd[1].name), "xvdc");
			break;
		case 3: /* a NIC disappears on the host, A loses its VIFs */
			cur->host.nnet = 2;
			a->nvif = 0;
			break;
		case 4: /* B leaves */
			cur->ndom = 1;
			free(cur->dom[1].vcpu);
			free(cur->dom[2].vcpu);
			break;
		case 6: /* a second domain with A's uuid (a migration in progress) */
			cur->dom[2] = cur->dom[0];
			cur->dom[2].domid = 42;
			cur->dom[2].vcpu = calloc(1, sizeof(*a->vcpu));
			cur->dom[2].nvcpu = 1;
			cur->dom[2].vif = NULL;
			cur->dom[2].nvif = 0;
			cur->dom[2].vbd = NULL;
			cur->dom[2].nvbd = 0;
			break;
		default:
			break;
		}
		struct src_samples fresh = {0};
		src_map(prev, cur, &kept);
		src_map(prev, cur, &fresh);
		assert_samples_equal(&kept, &fresh);
		src_samples_clear(&fresh);
		uint64_t na = layout_of(&kept, UA), nh = layout_of(&kept, NULL);
		const struct src_owner *b = src_samples_owner(&kept, UB);
		switch (step) {
		case 1: /* nothing changed */
		case 7:
			assert_int_equal(na, la);
			assert_int_equal(nh, lh);
			assert_int_equal(b->layout, lb);
			break;
		case 2: /* A changed only */
			assert_true(na != la);
			assert_int_equal(nh, lh);
			assert_int_equal(b->layout, lb);
			assert_non_null(src_owner_ds(src_samples_owner(&kept, UA), "vif_7_rx"));
			assert_non_null(
			    src_owner_ds(src_samples_owner(&kept, UA), "vbd_xvdc_read"));
			assert_null(src_owner_ds(src_samples_owner(&kept, UA), "vbd_xvdb_read"));
			break;
		case 3:
			assert_true(na != la);
			assert_true(nh != lh);
			assert_null(src_owner_ds(src_samples_owner(&kept, NULL), "pif_bond0_rx"));
			assert_null(src_owner_ds(src_samples_owner(&kept, UA), "vif_1_rx"));
			break;
		case 4:
			assert_null(b);
			break;
		case 5: /* B is back: its names are built again, under a new token */
			assert_non_null(b);
			assert_true(b->layout != lb);
			break;
		case 6: /* the first domain of a uuid keeps its token */
			assert_int_equal(na, la);
			break;
		default:
			break;
		}
		la = na;
		lh = nh;
		lb = b ? b->layout : 0;
	}
	src_samples_clear(&kept);
	src_snapshot_clear(&s[0]);
	src_snapshot_clear(&s[1]);
}

/* A 64-bit VIF byte counter in the upper half of its range (the simulator's
 * `wrap ... vif 0` with the default 64 bits: it wraps to 0 at t = 17) reads
 * as a negative int64, as xcp-rrdd's Int64 does, so its difference is the
 * traffic; a clamp to INT64_MAX would read 0 B/s until the wrap. */
static void test_vif_counter_upper_half(void **state)
{
	const char *text = "seed 1\nepoch 1700000000\nhost cpus=2 memory_mib=4096\n"
	                   "vm v uuid=12345678-1111-4222-8333-444444444444 vcpus=1 "
	                   "memory_mib=512\nvif v 0 rx=1000 tx=3000\nat 17 wrap v vif 0\n";
	struct src_config cfg = {.scenario_text = text};
	struct src *src = NULL;
	assert_int_equal(src_open(&src_sim_ops, &cfg, &src), 0);
	const char *uuid = "12345678-1111-4222-8333-444444444444";
	struct src_snapshot snap[4];
	struct src_samples smp[4];
	memset(snap, 0, sizeof(snap));
	memset(smp, 0, sizeof(smp));
	for (int i = 0; i < 4; i++) {
		assert_int_equal(src_sample(src, 1700000000.0 + 5 * (i + 1), &snap[i]), 0);
		src_map(i ? &snap[i - 1] : NULL, &snap[i], &smp[i]);
	}
	for (int i = 0; i < 2; i++) { /* t = 5 and 10: before the wrap */
		const struct src_owner *o = src_samples_owner(&smp[i], uuid);
		assert_true(need(o, "vif_0_rx")->v.i < 0);
		assert_true(need(o, "vif_0_tx")->v.i < 0);
	}
	for (int i = 1; i < 4; i++) { /* 5 s each: 5000 B received, 15000 sent */
		const struct src_owner *a = src_samples_owner(&smp[i - 1], uuid);
		const struct src_owner *b = src_samples_owner(&smp[i], uuid);
		int64_t rx = (int64_t)((uint64_t)need(b, "vif_0_rx")->v.i -
		                       (uint64_t)need(a, "vif_0_rx")->v.i);
		int64_t tx = (int64_t)((uint64_t)need(b, "vif_0_tx")->v.i -
		                       (uint64_t)need(a, "vif_0_tx")->v.i);
		assert_int_equal(rx, 5000);
		assert_int_equal(tx, 15000);
	}
	for (int i = 0; i < 4; i++) {
		src_samples_clear(&smp[i]);
		src_snapshot_clear(&snap[i]);
	}
	src_close(src);
}

static void test_pif_rule(void **state)
{
	assert_true(src_is_pif("eth0"));
	assert_true(src_is_pif("eth12"));
	assert_true(src_is_pif("bond0"));
	assert_false(src_is_pif("eth0.100"));
	assert_false(src_is_pif("xenbr0"));
	assert_false(src_is_pif("vif3.0"));
	assert_false(src_is_pif("tap3.0"));
	assert_false(src_is_pif("lo"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_definitions),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_pif_rule),
	    cmocka_unit_test(test_reuse_matches_fresh),
	    cmocka_unit_test(test_vif_counter_upper_half),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
