/*
 * The Xen backend (rrdd/source/source_xen.c) against a fake hypervisor
 * plugged into its library seam (source_xen_api.h): unit conversions, bit 63
 * of vCPU times, the wire-format.md §1.1 uuid rules, a domain vanishing mid-sample, the
 * /proc parsers and VBD device names.  Expected figures come from the fake's
 * inputs and Xen's documented encodings, not from our own output.
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

#include "source/source.h"
#include "source/source_xen_api.h"
#include "source/procfs.h"
#include "source/catalogue.h"

/* ---- where the test data lives (next to this file) ---- */

static char datadir[512];

static const char *data(const char *name)
{
	static char path[4][600];
	static int k;
	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", datadir, name);
	return path[k];
}

/* ---- the fake hypervisor ---- */

struct xenstat_handle {
	int dummy;
};
struct xenstat_node {
	int dummy;
};
struct xenstat_domain {
	unsigned domid;
	unsigned nnet, nvbd;
	struct xenstat_network *net;
	struct xenstat_vbd *vbd;
};
struct xenstat_network {
	unsigned id;
	unsigned long long rb, rp, re, tb, tp, te;
};
struct xenstat_vbd {
	unsigned dev;
	unsigned long long oo, rr, wr, rs, ws;
	bool err;
};

#define MAXD 200
#define MAXV 4

static struct fake {
	int physinfo_fails;
	int ndom;
	xc_domaininfo_t di[MAXD];
	xc_vcpuinfo_t vi[MAXD][MAXV];
	int vanish[MAXD]; /* vcpu_getinfo fails with ESRCH */
	int list_calls;
	const char *xs_keys[32];
	const char *xs_vals[32];
	int nxs;
	struct xenstat_domain sd[4];
	int nsd;
	int node_null;
} F;

static int dummy_xc, dummy_xs;
static struct xenstat_handle dummy_xst;
static struct xenstat_node dummy_node;

static xc_interface *f_xc_open(void)
{
	return (xc_interface *)&dummy_xc;
}
static void f_xc_close(xc_interface *x)
{
	(void)x;
}
static int f_physinfo(xc_interface *x, xc_physinfo_t *pi)
{
	if (F.physinfo_fails) {
		errno = EACCES;
		return -1;
	}
	pi->nr_cpus = 2;
	pi->total_pages = 1048576; /* 4 GiB */
	pi->free_pages = 262144;   /* 1 GiB */
	return 0;
}
static int f_getcpuinfo(xc_interface *x, int max, xc_cpuinfo_t *ci, int *nr)
{
	assert_true(max >= 2);
	ci[0].idletime = 1500000000ull;
	ci[1].idletime = 2500000001ull;
	*nr = 2;
	return 0;
}
static int f_getinfolist(xc_interface *x, uint32_t first, unsigned max, xc_domaininfo_t *info)
{
	F.list_calls++;
	int n = 0;
	for (int i = 0; i < F.ndom && (unsigned)n < max; i++)
		if (F.di[i].domain >= first)
			info[n++] = F.di[i];
	return n;
}
static int f_vcpu_getinfo(xc_interface *x, uint32_t domid, uint32_t vcpu, xc_vcpuinfo_t *vi)
{
	for (int i = 0; i < F.ndom; i++)
		if (F.di[i].domain == domid) {
			if (F.vanish[i] || vcpu >= MAXV) {
				errno = ESRCH;
				return -1;
			}
			*vi = F.vi[i][vcpu];
			return 0;
		}
	errno = ESRCH;
	return -1;
}
static struct xs_handle *f_xs_open(void)
{
	return (struct xs_handle *)&dummy_xs;
}
static void f_xs_close(struct xs_handle *h)
{
	(void)h;
}
static void *f_xs_read(struct xs_handle *h, const char *path, unsigned *len)
{
	for (int i = 0; i < F.nxs; i++)
		if (strcmp(F.xs_keys[i], path) == 0) {
			*len = (unsigned)strlen(F.xs_vals[i]);
			return strdup(F.xs_vals[i]);
		}
	errno = ENOENT;
	return NULL;
}
static xenstat_handle *f_xst_init(void)
{
	return &dummy_xst;
}
static void f_xst_uninit(xenstat_handle *h)
{
	(void)h;
}
static xenstat_node *f_get_node(xenstat_handle *h, unsigned flags)
{
	assert_true(flags & XENSTAT_NETWORK);
	assert_true(flags & XENSTAT_VBD);
	return F.node_null ? NULL : &dummy_node;
}
static void f_free_node(xenstat_node *n)
{
	(void)n;
}
static xenstat_domain *f_node_domain(xenstat_node *n, unsigned domid)
{
	for (int i = 0; i < F.nsd; i++)
		if (F.sd[i].domid == domid)
			return &F.sd[i];
	return NULL;
}
static unsigned f_num_networks(xenstat_domain *d)
{
	return d->nnet;
}
static xenstat_network *f_network(xenstat_domain *d, unsigned i)
{
	return &d->net[i];
}
#define NETF(fn, field)                                                                            \
	static unsigned long long fn(xenstat_network *n)                                           \
	{                                                                                          \
		return n->field;                                                                   \
	}
NETF(f_rb, rb)
NETF(f_rp, rp)
NETF(f_re, re)
NETF(f_tb, tb)
NETF(f_tp, tp)
NETF(f_te, te)
static unsigned f_net_id(xenstat_network *n)
{
	return n->id;
}
static unsigned f_num_vbds(xenstat_domain *d)
{
	return d->nvbd;
}
static xenstat_vbd *f_vbd(xenstat_domain *d, unsigned i)
{
	return &d->vbd[i];
}
static unsigned f_vbd_type(xenstat_vbd *v)
{
	return 1;
}
static unsigned f_vbd_dev(xenstat_vbd *v)
{
	return v->dev;
}
#define VBDF(fn, field)                                                                            \
	static unsigned long long fn(xenstat_vbd *v)                                               \
	{                                                                                          \
		return v->field;                                                                   \
	}
VBDF(f_oo, oo)
VBDF(f_rr, rr)
VBDF(f_wr, wr)
VBDF(f_rs, rs)
VBDF(f_ws, ws)
static bool f_err(xenstat_vbd *v)
{
	return v->err;
}

static const struct src_xen_api fake_api = {
    .xc_open = f_xc_open,
    .xc_close = f_xc_close,
    .physinfo = f_physinfo,
    .getcpuinfo = f_getcpuinfo,
    .domain_getinfolist = f_getinfolist,
    .vcpu_getinfo = f_vcpu_getinfo,
    .xs_open = f_xs_open,
    .xs_close = f_xs_close,
    .xs_read = f_xs_read,
    .xenstat_init = f_xst_init,
    .xenstat_uninit = f_xst_uninit,
    .get_node = f_get_node,
    .free_node = f_free_node,
    .node_domain = f_node_domain,
    .num_networks = f_num_networks,
    .network = f_network,
    .net_id = f_net_id,
    .net_rbytes = f_rb,
    .net_rpackets = f_rp,
    .net_rerrs = f_re,
    .net_tbytes = f_tb,
    .net_tpackets = f_tp,
    .net_terrs = f_te,
    .num_vbds = f_num_vbds,
    .vbd = f_vbd,
    .vbd_type = f_vbd_type,
    .vbd_dev = f_vbd_dev,
    .vbd_oo_reqs = f_oo,
    .vbd_rd_reqs = f_rr,
    .vbd_wr_reqs = f_wr,
    .vbd_rd_sects = f_rs,
    .vbd_wr_sects = f_ws,
    .vbd_error = f_err,
};

static void handle(xc_domaininfo_t *d, const char *uuid)
{
	assert_int_equal(src_uuid_parse(uuid, d->handle), 0);
}

#define U1    "6f2a1c3e-1111-4a2b-8c3d-0123456789ab"
#define TMP0  "6f2a1c3e-2222-4a2b-8c3d-000000000000"
#define REAL0 "a1a1a1a1-2222-4a2b-8c3d-aaaaaaaaaaaa"
#define TMP1  "6f2a1c3e-3333-4a2b-8c3d-000000000001"
#define REAL1 "b2b2b2b2-3333-4a2b-8c3d-bbbbbbbbbbbb"
#define TMP9  "6f2a1c3e-9999-4a2b-8c3d-000000000000"
#define VAN   "6f2a1c3e-5555-4a2b-8c3d-0123456789ab"

static struct xenstat_network net1[1];
static struct xenstat_vbd vbd1[2];

static void setup_fake(void)
{
	memset(&F, 0, sizeof(F));
	/* dom0: zero handle */
	F.di[0].domain = 0;
	F.di[0].tot_pages = 131072;
	F.di[0].cpu_time = 7000000000ull;
	F.di[0].nr_online_vcpus = 1;
	F.di[0].max_vcpu_id = 0;
	F.di[0].flags = XEN_DOMINF_running;
	F.vi[0][0] = (xc_vcpuinfo_t){.online = 1, .running = 1, .cpu_time = 7000000000ull};
	/* dom1: plain uuid, 2 vcpus, bit 63 set on times */
	F.di[1].domain = 1;
	handle(&F.di[1], U1);
	F.di[1].tot_pages = 262144; /* 1 GiB */
	F.di[1].cpu_time = (1ull << 63) | 12000000000ull;
	F.di[1].nr_online_vcpus = 1;
	F.di[1].max_vcpu_id = 1;
	F.di[1].flags = XEN_DOMINF_blocked | XEN_DOMINF_hvm_guest;
	F.vi[1][0] = (xc_vcpuinfo_t){.online = 1, .cpu_time = (1ull << 63) | 5000000001ull};
	F.vi[1][1] = (xc_vcpuinfo_t){.online = 0, .blocked = 1, .cpu_time = 250000000ull};
	/* dom2: migration temporary (origin) */
	F.di[2].domain = 2;
	handle(&F.di[2], TMP0);
	F.di[2].max_vcpu_id = 0;
	F.di[2].nr_online_vcpus = 1;
	F.di[2].flags = XEN_DOMINF_paused;
	/* dom3: migration temporary (final) */
	F.di[3].domain = 3;
	handle(&F.di[3], TMP1);
	F.di[3].max_vcpu_id = 0;
	F.di[3].nr_online_vcpus = 1;
	/* dom4: deadbeef helper, skipped */
	F.di[4].domain = 4;
	handle(&F.di[4], "deadbeef-dead-beef-0000-000000000004");
	F.di[4].max_vcpu_id = 0;
	/* dom5: vanishes between the list and the vcpu query */
	F.di[5].domain = 5;
	handle(&F.di[5], VAN);
	F.di[5].max_vcpu_id = 1;
	F.di[5].tot_pages = 1000;
	F.vanish[5] = 1;
	/* dom6: temporary without a xenstore entry */
	F.di[6].domain = 6;
	handle(&F.di[6], TMP9);
	F.di[6].max_vcpu_id = UINT32_MAX; /* no vcpus yet */
	F.ndom = 7;

	const char *kv[][2] = {
	    {"/vm/" TMP0 "/origin-uuid", REAL0},
	    {"/vm/" TMP1 "/final-uuid", REAL1 "\n"},
	    {"/local/domain/1/memory/target", "1048576"},
	    {"/local/domain/1/memory/dynamic-min", "524288"},
	    {"/local/domain/1/memory/dynamic-max", "2097152"},
	    {"/local/domain/1/data/meminfo_free", "524288"},
	    {"/local/domain/2/memory/target", "garbage"},
	    {"/local/domain/0/backend/vbd/1/51712/dev", "xvda"},
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		F.xs_keys[F.nxs] = kv[i][0];
		F.xs_vals[F.nxs++] = kv[i][1];
	}
	net1[0] = (struct xenstat_network){0, 1000, 10, 1, 2000, 20, 2};
	vbd1[0] = (struct xenstat_vbd){51712, 3, 100, 50, 8000, 4000, false};
	vbd1[1] = (struct xenstat_vbd){51728 + 1, 0, 1, 1, 8, 8, false}; /* xvdb1, no xs node */
	F.sd[0] = (struct xenstat_domain){1, 1, 2, net1, vbd1};
	F.nsd = 1;
}

static struct src *open_fake(const char *dom0_uuid)
{
	struct src_config cfg = {
	    .xen_api = &fake_api,
	    .proc_net_dev = data("proc_net_dev"),
	    .proc_loadavg = data("proc_loadavg"),
	    .proc_meminfo = data("proc_meminfo"),
	    .dom0_uuid = dom0_uuid,
	};
	struct src *s = NULL;
	assert_int_equal(src_open(&src_xen_ops, &cfg, &s), 0);
	/* this libxenctrl (Debian's, linked here) has no runstate call: the
	 * families it would give are said to be missing, with the reason */
	const char *m = src_missing(s);
	assert_non_null(m);
	assert_non_null(strstr(m, "runstate_*"));
	assert_non_null(strstr(m, "this Xen has no runstate call"));
	assert_non_null(strstr(m, "memory_numa_node_<k>"));
	return s;
}

static void test_units(void **state)
{
	struct src_snapshot snap = {0};
	setup_fake();
	struct src *s = open_fake(NULL);
	assert_int_equal(src_sample(s, 1000.5, &snap), 0);
	assert_true(snap.t == 1000.5);
	/* host: pages of 4 KiB */
	assert_int_equal(snap.host.total_kib, 4194304);
	assert_int_equal(snap.host.free_kib, 1048576);
	assert_int_equal(snap.host.nr_cpus, 2);
	assert_int_equal(snap.host.idle_ns[0], 1500000000ull);
	assert_int_equal(snap.host.idle_ns[1], 2500000001ull);
	assert_float_equal(snap.host.loadavg, 0.42, 1e-12);

	const struct src_domain *d = src_snapshot_domain(&snap, 1);
	assert_non_null(d);
	assert_string_equal(d->uuid, U1);
	assert_int_equal(d->memory_bytes, 1073741824ull);
	assert_int_equal(d->cpu_time_ns, 12000000000ull); /* bit 63 cleared */
	assert_int_equal(d->nvcpu, 2);
	assert_int_equal(d->nr_online_vcpus, 1);
	assert_int_equal(d->vcpu[0].cpu_time_ns, 5000000001ull);
	assert_true(d->vcpu[0].online);
	assert_false(d->vcpu[1].online);
	assert_true(d->vcpu[1].blocked);
	assert_int_equal(d->vcpu[1].cpu_time_ns, 250000000ull);
	assert_true(d->flags & SRC_DOM_HVM);
	assert_false(d->flags & (SRC_DOM_PAUSED | SRC_DOM_FAILED));
	assert_int_equal(d->target_kib, 1048576);
	assert_int_equal(d->dynamic_min_kib, 524288);
	assert_int_equal(d->dynamic_max_kib, 2097152);
	assert_int_equal(d->free_kib, 524288);

	/* garbage in xenstore is absent, not zero */
	const struct src_domain *d2 = src_snapshot_domain(&snap, 2);
	assert_non_null(d2);
	assert_int_equal(d2->target_kib, SRC_NO_VALUE);
	assert_int_equal(d2->free_kib, SRC_NO_VALUE);
	assert_true(d2->flags & SRC_DOM_PAUSED);

	/* VIF and VBD counters pass through; names from xenstore or decoded */
	assert_int_equal(d->nvif, 1);
	assert_int_equal(d->vif[0].devid, 0);
	assert_int_equal(d->vif[0].tx_bytes, 2000 + 200); /* + tap1.0 */
	assert_int_equal(d->nvbd, 2);
	assert_string_equal(d->vbd[0].name, "xvda");
	assert_int_equal(d->vbd[0].rd_sectors, 8000);
	assert_int_equal(d->vbd[0].oo_reqs, 3);
	assert_string_equal(d->vbd[1].name, "xvdb1");
	assert_false(d->vbd[0].have_ticks);

	src_snapshot_clear(&snap);
	src_close(s);
}

static void test_uuid_rules(void **state)
{
	struct src_snapshot snap = {0};
	setup_fake();
	struct src *s = open_fake(NULL);
	assert_int_equal(src_sample(s, 1, &snap), 0);
	/* dom0 (zero handle) and dom4 (deadbeef) are skipped */
	assert_null(src_snapshot_domain(&snap, 0));
	assert_null(src_snapshot_domain(&snap, 4));
	const struct src_domain *d2 = src_snapshot_domain(&snap, 2);
	assert_string_equal(d2->uuid, REAL0);
	assert_string_equal(d2->raw_uuid, TMP0);
	const struct src_domain *d3 = src_snapshot_domain(&snap, 3);
	assert_string_equal(d3->uuid, REAL1);
	/* a temporary whose xenstore node is missing keeps its handle */
	const struct src_domain *d6 = src_snapshot_domain(&snap, 6);
	assert_non_null(d6);
	assert_string_equal(d6->uuid, TMP9);
	assert_int_equal(d6->nvcpu, 0);
	assert_int_equal(snap.ndom, 5); /* 1, 2, 3, 5, 6 */
	src_snapshot_clear(&snap);
	src_close(s);

	/* with a configured control-domain uuid, dom0 is kept */
	s = open_fake("C0C0C0C0-0000-4000-8000-00000000C0C0");
	assert_int_equal(src_sample(s, 2, &snap), 0);
	const struct src_domain *d0 = src_snapshot_domain(&snap, 0);
	assert_non_null(d0);
	assert_string_equal(d0->uuid, "c0c0c0c0-0000-4000-8000-00000000c0c0");
	assert_int_equal(d0->free_kib, 777777); /* /proc/meminfo MemAvailable */
	assert_int_equal(d0->memory_bytes, 131072ull * 4096);
	src_snapshot_clear(&snap);
	src_close(s);

	/* the pure classifier on its own */
	uint8_t h[16];
	char raw[SRC_UUID_LEN + 1], path[128];
	src_uuid_parse("00000000-0000-0000-1234-567890abcdef", h);
	assert_int_equal(src_uuid_classify(h, raw), SRC_UUID_SKIP);
	src_uuid_parse("00000000-0000-0001-1234-567890abcdef", h);
	assert_int_equal(src_uuid_classify(h, raw), SRC_UUID_PLAIN);
	assert_string_equal(raw, "00000000-0000-0001-1234-567890abcdef");
	src_uuid_parse("F0E1D2C3-B4A5-9687-7869-5A4B3C2D1E0F", h);
	assert_int_equal(src_uuid_classify(h, raw), SRC_UUID_PLAIN);
	assert_string_equal(raw, "f0e1d2c3-b4a5-9687-7869-5a4b3c2d1e0f"); /* lower case */
	src_uuid_parse("DEADBEEF-DEAD-BEEF-1234-567890abcdef", h);
	assert_int_equal(src_uuid_classify(h, raw), SRC_UUID_SKIP);
	src_uuid_parse(TMP1, h);
	assert_int_equal(src_uuid_classify(h, raw), SRC_UUID_FINAL);
	assert_int_equal(src_uuid_xs_path(SRC_UUID_FINAL, raw, path, sizeof(path)), 0);
	assert_string_equal(path, "/vm/" TMP1 "/final-uuid");
	assert_int_equal(src_uuid_xs_path(SRC_UUID_PLAIN, raw, path, sizeof(path)), -EINVAL);
	char out[SRC_UUID_LEN + 1];
	assert_int_equal(src_uuid_accept("not-a-uuid", 10, out), -EINVAL);
	assert_int_equal(src_uuid_accept(" " REAL0 "\n", strlen(REAL0) + 2, out), 0);
	assert_string_equal(out, REAL0);
}

static void test_vanishing_domain(void **state)
{
	struct src_snapshot snap = {0};
	setup_fake();
	struct src *s = open_fake(NULL);
	assert_int_equal(src_sample(s, 1, &snap), 0);
	const struct src_domain *d5 = src_snapshot_domain(&snap, 5);
	assert_non_null(d5);
	assert_true(d5->flags & SRC_DOM_FAILED);
	assert_int_equal(d5->err, -ESRCH);
	assert_string_equal(d5->uuid, VAN);
	assert_int_equal(d5->nvcpu, 0);
	/* the others are complete */
	const struct src_domain *d1 = src_snapshot_domain(&snap, 1);
	assert_false(d1->flags & SRC_DOM_FAILED);
	assert_int_equal(d1->nvcpu, 2);

	/* and the mapping gives it no samples, but everyone else theirs */
	struct src_samples out = {0};
	src_map(NULL, &snap, &out);
	assert_null(src_samples_owner(&out, VAN));
	assert_non_null(src_samples_owner(&out, U1));
	src_samples_clear(&out);

	/* a host-wide failure fails the sample, with an empty snapshot */
	F.physinfo_fails = 1;
	assert_int_equal(src_sample(s, 2, &snap), -EACCES);
	assert_int_equal(snap.ndom, 0);
	F.physinfo_fails = 0;
	/* without xenstat, VIFs/VBDs are absent and nothing else */
	F.node_null = 1;
	assert_int_equal(src_sample(s, 3, &snap), 0);
	d1 = src_snapshot_domain(&snap, 1);
	assert_int_equal(d1->nvbd, 0);
	assert_int_equal(d1->nvif, 1); /* the tap device still counts */
	assert_int_equal(d1->vif[0].tx_bytes, 200);
	assert_int_equal(d1->cpu_time_ns, 12000000000ull);
	src_snapshot_clear(&snap);
	src_close(s);
}

static void test_many_domains(void **state)
{
	struct src_snapshot snap = {0};
	setup_fake();
	F.ndom = 150;
	for (int i = 7; i < F.ndom; i++) {
		char u[40];
		snprintf(u, sizeof(u), "11111111-2222-4333-8444-%012d", 100000 + i);
		F.di[i].domain = (domid_t)i;
		handle(&F.di[i], u);
		F.di[i].max_vcpu_id = 0;
	}
	struct src *s = open_fake(NULL);
	assert_int_equal(src_sample(s, 1, &snap), 0);
	assert_int_equal(snap.ndom, 150 - 2);
	assert_non_null(src_snapshot_domain(&snap, 149));
	assert_true(F.list_calls >= 2); /* the buffer had to grow */
	src_snapshot_clear(&snap);
	src_close(s);
}

static void test_proc_parsers(void **state)
{
	struct src_host h = {0};
	char *text;
	assert_int_equal(src_read_file(data("proc_net_dev"), 1 << 20, &text, NULL), 0);
	int n = src_parse_net_dev(text, &h);
	free(text);
	/* eth0, eth0.100, eth1, bond0, xenbr0, vif1.0, tap1.0: lo and the
	 * malformed line are left out */
	assert_int_equal(n, 7);
	assert_string_equal(h.net[0].name, "eth0");
	assert_int_equal(h.net[0].rx_bytes, 1000000);
	assert_int_equal(h.net[0].rx_packets, 900);
	assert_int_equal(h.net[0].rx_errors, 3);
	assert_int_equal(h.net[0].tx_bytes, 250000);
	assert_int_equal(h.net[0].tx_packets, 400);
	assert_int_equal(h.net[0].tx_errors, 1);
	assert_string_equal(h.net[1].name, "eth0.100");
	free(h.net);

	memset(&h, 0, sizeof(h));
	assert_int_equal(src_parse_net_dev("", &h), 0);
	assert_int_equal(src_parse_net_dev("eth9: 1 2 3\n", &h), 0);
	assert_int_equal(
	    src_parse_net_dev("eth9: 99999999999999999999999 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", &h),
	    0);
	assert_int_equal(src_parse_net_dev(":1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", &h), 0);

	double la;
	assert_int_equal(src_parse_loadavg("1.50 1 1 1/1 1\n", &la), 0);
	assert_float_equal(la, 1.5, 0);
	assert_int_equal(src_parse_loadavg("abc", &la), -EINVAL);
	assert_int_equal(src_parse_loadavg("", &la), -EINVAL);
	int64_t kib;
	assert_int_equal(
	    src_parse_meminfo_available("MemTotal: 1 kB\nMemAvailable:   42 kB\n", &kib), 0);
	assert_int_equal(kib, 42);
	assert_int_equal(src_parse_meminfo_available("MemTotal: 1 kB\n", &kib), -ENOENT);
	assert_int_equal(src_parse_meminfo_available("MemAvailable: 42 MB\n", &kib), -EINVAL);
	assert_int_equal(src_read_file("/nonexistent/file", 100, &text, NULL), -ENOENT);
	assert_int_equal(src_read_file(data("proc_net_dev"), 100, &text, NULL), -EFBIG);
}

static void test_vbd_names(void **state)
{
	char b[16];
	/* Xen's xen-vbd-interface encoding */
	assert_int_equal(src_vbd_name(51712, b, sizeof(b)), 0); /* 202<<8 | 0 */
	assert_string_equal(b, "xvda");
	assert_int_equal(src_vbd_name(51713, b, sizeof(b)), 0);
	assert_string_equal(b, "xvda1");
	assert_int_equal(src_vbd_name(51760, b, sizeof(b)), 0); /* disk 3 */
	assert_string_equal(b, "xvdd");
	assert_int_equal(src_vbd_name(768, b, sizeof(b)), 0); /* 3<<8 */
	assert_string_equal(b, "hda");
	assert_int_equal(src_vbd_name(832, b, sizeof(b)), 0); /* 3<<8 | 64 */
	assert_string_equal(b, "hdb");
	assert_int_equal(src_vbd_name(5632, b, sizeof(b)), 0); /* 22<<8 */
	assert_string_equal(b, "hdc");
	assert_int_equal(src_vbd_name(2064, b, sizeof(b)), 0); /* 8<<8 | 16 */
	assert_string_equal(b, "sdb");
	assert_int_equal(src_vbd_name((1u << 28) | (26u << 8), b, sizeof(b)), 0);
	assert_string_equal(b, "xvdaa");
	assert_int_equal(src_vbd_name((1u << 28) | (16u << 8) | 2, b, sizeof(b)), 0);
	assert_string_equal(b, "xvdq2");
	assert_int_equal(src_vbd_name(7u << 8, b, sizeof(b)), -EINVAL);
	assert_int_equal(src_vbd_name(51712, b, 4), -EINVAL);
}

int main(void)
{
	snprintf(datadir, sizeof(datadir), "%s", __FILE__);
	char *slash = strrchr(datadir, '/');
	if (slash)
		*slash = '\0';
	strncat(datadir, "/../data/source", sizeof(datadir) - strlen(datadir) - 1);

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_units),
	    cmocka_unit_test(test_uuid_rules),
	    cmocka_unit_test(test_vanishing_domain),
	    cmocka_unit_test(test_many_domains),
	    cmocka_unit_test(test_proc_parsers),
	    cmocka_unit_test(test_vbd_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
