/*
 * The real hypervisor backend: one snapshot from libxenctrl (physinfo, pCPU
 * idle times, the domain list, per-vCPU times), libxenstore (uuids of
 * migration temporaries, balloon target, guest-reported free memory),
 * libxenstat (VIF and VBD counters) and dom0's /proc (network devices,
 * loadavg, dom0 free memory).
 *
 * This is the only file of rrdd that calls into the Xen libraries, and it
 * does so only through struct src_xen_api (source_xen_api.h), so tests run it
 * against a fake.  It converts units and applies the wire-format.md §1.1 uuid rules; it
 * does not name data sources (catalogue.c) and it holds no lock.  A failing
 * per-domain call costs that domain its sample (SRC_DOM_FAILED), never the
 * snapshot.
 */
#include "source/source.h"
#include "source/netsrc.h"
#include "source/source_xen_api.h"
#include "source/procfs.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/vbd3.h"
#include "util/xalloc.h"

#define XEN_RUNSTATE_UPDATE_BIT (1ull << 63)
#define PROC_MAX_BYTES          (4u << 20) /* bound on any /proc file we read */
#define DOMLIST_START           64

struct xen_priv {
	const struct src_xen_api *api;
	xc_interface *xch;
	struct xs_handle *xs; /* NULL without xenstored: mapping falls back */
	xenstat_handle *xst;  /* NULL without libxenstat: no VIFs/VBDs */
	char *net_dev_path, *loadavg_path, *meminfo_path;
	int have_dom0_uuid;
	char dom0_uuid[SRC_UUID_LEN + 1];
	xc_domaininfo_t *di;
	unsigned di_cap;
	xc_cpuinfo_t *ci;
	int ci_cap;
	struct src_net *net;  /* the kernel's links; NULL: libxenstat and /proc/net/dev */
	struct vbd3_set vbd3; /* tapdisk3's VBDs */
	char missing[640];    /* families this host cannot give, and why */
};

/* ---- the real library table ---- */

static xc_interface *real_xc_open(void)
{
	return xc_interface_open(NULL, NULL, 0);
}

static void real_xc_close(xc_interface *xch)
{
	xc_interface_close(xch);
}

static struct xs_handle *real_xs_open(void)
{
	return xs_open(0);
}

static void *real_xs_read(struct xs_handle *xs, const char *path, unsigned int *len)
{
	return xs_read(xs, XBT_NULL, path, len);
}

static char **real_xs_directory(struct xs_handle *xs, const char *path, unsigned int *num)
{
	return xs_directory(xs, XBT_NULL, path, num);
}

const struct src_xen_api src_xen_real_api = {
    .xc_open = real_xc_open,
    .xc_close = real_xc_close,
    .physinfo = xc_physinfo,
    .getcpuinfo = xc_getcpuinfo,
    .domain_getinfolist = xc_domain_getinfolist,
    .vcpu_getinfo = xc_vcpu_getinfo,
    .xs_open = real_xs_open,
    .xs_close = xs_close,
    .xs_read = real_xs_read,
    .xs_directory = real_xs_directory,
    .xenstat_init = xenstat_init,
    .xenstat_uninit = xenstat_uninit,
    .get_node = xenstat_get_node,
    .free_node = xenstat_free_node,
    .node_domain = xenstat_node_domain,
    .num_networks = xenstat_domain_num_networks,
    .network = xenstat_domain_network,
    .net_id = xenstat_network_id,
    .net_rbytes = xenstat_network_rbytes,
    .net_rpackets = xenstat_network_rpackets,
    .net_rerrs = xenstat_network_rerrs,
    .net_tbytes = xenstat_network_tbytes,
    .net_tpackets = xenstat_network_tpackets,
    .net_terrs = xenstat_network_terrs,
    .num_vbds = xenstat_domain_num_vbds,
    .vbd = xenstat_domain_vbd,
    .vbd_type = xenstat_vbd_type,
    .vbd_dev = xenstat_vbd_dev,
    .vbd_oo_reqs = xenstat_vbd_oo_reqs,
    .vbd_rd_reqs = xenstat_vbd_rd_reqs,
    .vbd_wr_reqs = xenstat_vbd_wr_reqs,
    .vbd_rd_sects = xenstat_vbd_rd_sects,
    .vbd_wr_sects = xenstat_vbd_wr_sects,
    .vbd_error = xenstat_vbd_error,
};

/* ---- open / close ---- */

static void xen_close(void *p)
{
	struct xen_priv *x = p;
	if (!x)
		return;
	src_net_close(x->net);
	vbd3_free(&x->vbd3);
	if (x->xst)
		x->api->xenstat_uninit(x->xst);
	if (x->xs)
		x->api->xs_close(x->xs);
	if (x->xch)
		x->api->xc_close(x->xch);
	free(x->net_dev_path);
	free(x->loadavg_path);
	free(x->meminfo_path);
	free(x->di);
	free(x->ci);
	free(x);
}

/* What this host's libraries cannot give, said once at start.  Runstate
 * (and with it numa_node_nonaffine_vcpus) needs XenServer's
 * xc_get_runstate_info, whose V2 layout is XenServer's own; the VM NUMA
 * figures need its per-domain NUMA page query.  Whether the running
 * libxenctrl exports the call is looked up at run time: one binary for
 * plain Xen and XCP-ng. */
static void note_missing(struct xen_priv *x)
{
	size_t n = 0;
	bool xs_rs = dlsym(RTLD_DEFAULT, "xc_get_runstate_info") != NULL;
	n += (size_t)snprintf(
	    x->missing + n, sizeof(x->missing) - n,
	    "runstate_*, runnable_any, runnable_vcpus, numa_node_nonaffine_vcpus (%s); "
	    "numa_nodes, memory_numa_node_<k> (XenServer's per-domain NUMA query)",
	    xs_rs ? "libxenctrl's xc_get_runstate_info has XenServer's own "
	            "layout, not read here"
	          : "this Xen has no runstate call: XenServer and XCP-ng add it");
	if (!x->xst && n < sizeof(x->missing))
		n += (size_t)snprintf(x->missing + n, sizeof(x->missing) - n,
		                      "; blkback vbd_* (no libxenstat)");
	if (!x->xs && n < sizeof(x->missing))
		snprintf(x->missing + n, sizeof(x->missing) - n,
		         "; memory_target, tapdisk3 vbd_* (no xenstore)");
}

static int xen_open(const struct src_config *cfg, void **out)
{
	struct xen_priv *x = xcalloc(1, sizeof(*x));
	x->api = cfg->xen_api ? cfg->xen_api : &src_xen_real_api;
	x->net_dev_path = xstrdup(cfg->proc_net_dev ? cfg->proc_net_dev : "/proc/net/dev");
	x->loadavg_path = xstrdup(cfg->proc_loadavg ? cfg->proc_loadavg : "/proc/loadavg");
	x->meminfo_path = xstrdup(cfg->proc_meminfo ? cfg->proc_meminfo : "/proc/meminfo");
	vbd3_init(&x->vbd3, cfg->td3_shm_dir, cfg->sm_phy_dir);
	if (cfg->dom0_uuid) {
		if (src_uuid_accept(cfg->dom0_uuid, strlen(cfg->dom0_uuid), x->dom0_uuid) < 0) {
			xen_close(x);
			return -EINVAL;
		}
		x->have_dom0_uuid = 1;
	}
	errno = 0;
	x->xch = x->api->xc_open();
	if (!x->xch) {
		int e = errno ? -errno : -ENOENT;
		xen_close(x);
		return e;
	}
	/* Without xenstore or xenstat the backend still samples CPU and memory;
	 * the missing figures are simply absent from every snapshot. */
	x->xs = x->api->xs_open();
	x->xst = x->api->xenstat_init();
	/* VIFs and PIFs from the kernel, whatever the bridge (libxenstat sees
	 * no VIF on Open vSwitch); libxenstat's when netlink is unavailable */
	bool kernel =
	    cfg->net_from == SRC_NET_KERNEL || (cfg->net_from == SRC_NET_AUTO && !cfg->xen_api);
	char why[256];
	if (kernel && src_net_open(&x->net, cfg->networkd_db, cfg->sysfs_net, why, sizeof(why)))
		x->net = NULL;
	note_missing(x);
	*out = x;
	return 0;
}

static const char *xen_missing(void *p)
{
	struct xen_priv *x = p;
	return x->missing[0] ? x->missing : NULL;
}

/* ---- helpers ---- */

/* Read a xenstore node as a non-negative int64; SRC_NO_VALUE when absent or
 * not a plain decimal number. */
static int64_t xs_int(struct xen_priv *x, const char *path)
{
	if (!x->xs)
		return SRC_NO_VALUE;
	unsigned int len = 0;
	char *v = x->api->xs_read(x->xs, path, &len);
	if (!v)
		return SRC_NO_VALUE;
	int64_t r = SRC_NO_VALUE;
	char buf[32];
	if (len > 0 && len < sizeof(buf)) {
		memcpy(buf, v, len);
		buf[len] = '\0';
		char *end;
		errno = 0;
		long long n = strtoll(buf, &end, 10);
		while (*end == ' ' || *end == '\n')
			end++;
		if (end != buf && *end == '\0' && errno == 0 && n >= 0)
			r = n;
	}
	free(v);
	return r;
}

/* Apply wire-format.md §1.1 to a handle; returns 0 (uuid set) or 1 (skip). */
static int map_uuid(struct xen_priv *x, const xc_domaininfo_t *di, struct src_domain *d)
{
	enum src_uuid_kind k = src_uuid_classify(di->handle, d->raw_uuid);
	if (k == SRC_UUID_SKIP) {
		if (di->domain == 0 && x->have_dom0_uuid) {
			memcpy(d->uuid, x->dom0_uuid, sizeof(d->uuid));
			return 0;
		}
		return 1;
	}
	memcpy(d->uuid, d->raw_uuid, sizeof(d->uuid));
	if (k == SRC_UUID_PLAIN || !x->xs)
		return 0;
	char path[96];
	if (src_uuid_xs_path(k, d->raw_uuid, path, sizeof(path)) < 0)
		return 0;
	unsigned int len = 0;
	char *v = x->api->xs_read(x->xs, path, &len);
	if (v) {
		/* a malformed value leaves the raw handle, as xcp-rrdd does on ENOENT */
		(void)src_uuid_accept(v, len, d->uuid);
		free(v);
	}
	return 0;
}

/* The domain's name (xenstore /local/domain/<domid>/name): printable
 * bytes up to the first control character, cut to the field. */
static void read_name(struct xen_priv *x, struct src_domain *d)
{
	d->name[0] = 0;
	if (!x->xs)
		return;
	char path[64];
	snprintf(path, sizeof(path), "/local/domain/%u/name", d->domid);
	unsigned int len = 0;
	char *v = x->api->xs_read(x->xs, path, &len);
	if (!v)
		return;
	size_t j = 0;
	for (unsigned int i = 0; i < len && j + 1 < sizeof(d->name); i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c == 0x7f)
			break;
		d->name[j++] = (char)c;
	}
	d->name[j] = 0;
	free(v);
}

static void read_memory(struct xen_priv *x, struct src_domain *d)
{
	char path[96];
	snprintf(path, sizeof(path), "/local/domain/%u/memory/target", d->domid);
	d->target_kib = xs_int(x, path);
	snprintf(path, sizeof(path), "/local/domain/%u/memory/dynamic-min", d->domid);
	d->dynamic_min_kib = xs_int(x, path);
	snprintf(path, sizeof(path), "/local/domain/%u/memory/dynamic-max", d->domid);
	d->dynamic_max_kib = xs_int(x, path);
	if (d->domid != 0) {
		snprintf(path, sizeof(path), "/local/domain/%u/data/meminfo_free", d->domid);
		d->free_kib = xs_int(x, path);
		return;
	}
	char *text;
	int64_t kib;
	if (src_read_file(x->meminfo_path, PROC_MAX_BYTES, &text, NULL) == 0) {
		if (src_parse_meminfo_available(text, &kib) == 0)
			d->free_kib = kib;
		free(text);
	}
}

/* Per-vCPU times; on failure the domain loses its sample. */
static void read_vcpus(struct xen_priv *x, const xc_domaininfo_t *di, struct src_domain *d)
{
	if (di->max_vcpu_id == UINT32_MAX) /* no vCPU allocated yet */
		return;
	d->nvcpu = di->max_vcpu_id + 1;
	d->vcpu = xcalloc(d->nvcpu, sizeof(*d->vcpu));
	for (uint32_t v = 0; v < d->nvcpu; v++) {
		xc_vcpuinfo_t vi;
		memset(&vi, 0, sizeof(vi));
		errno = 0;
		if (x->api->vcpu_getinfo(x->xch, d->domid, v, &vi) < 0) {
			d->err = errno ? -errno : -EIO;
			d->flags |= SRC_DOM_FAILED;
			free(d->vcpu);
			d->vcpu = NULL;
			d->nvcpu = 0;
			return;
		}
		d->vcpu[v].cpu_time_ns = vi.cpu_time & ~XEN_RUNSTATE_UPDATE_BIT;
		d->vcpu[v].online = vi.online != 0;
		d->vcpu[v].blocked = vi.blocked != 0;
		d->vcpu[v].running = vi.running != 0;
	}
}

static int fill_domain(struct xen_priv *x, const xc_domaininfo_t *di, struct src_snapshot *snap)
{
	struct src_domain tmp;
	if (map_uuid(x, di, &tmp))
		return 0;
	struct src_domain *d = src_snapshot_add_domain(snap);
	memcpy(d->uuid, tmp.uuid, sizeof(d->uuid));
	memcpy(d->raw_uuid, tmp.raw_uuid, sizeof(d->raw_uuid));
	d->domid = di->domain;
	if (di->flags & XEN_DOMINF_paused)
		d->flags |= SRC_DOM_PAUSED;
	if (di->flags & XEN_DOMINF_hvm_guest)
		d->flags |= SRC_DOM_HVM;
	if (di->flags & XEN_DOMINF_dying)
		d->flags |= SRC_DOM_DYING;
	if (di->flags & XEN_DOMINF_shutdown)
		d->flags |= SRC_DOM_SHUTDOWN;
	d->cpu_time_ns = di->cpu_time & ~XEN_RUNSTATE_UPDATE_BIT;
	d->nr_online_vcpus = di->nr_online_vcpus;
	d->memory_bytes = (uint64_t)di->tot_pages * SRC_PAGE_SIZE;
	read_vcpus(x, di, d);
	if (!(d->flags & SRC_DOM_FAILED)) {
		read_memory(x, d);
		read_name(x, d);
	}
	return 0;
}

static struct src_domain *find_dom(struct src_snapshot *snap, uint32_t domid)
{
	return (struct src_domain *)src_snapshot_domain(snap, domid);
}

static void vbd_name(struct xen_priv *x, uint32_t domid, uint32_t devid, char *buf, size_t len)
{
	static const char *const bases[] = {"vbd", "vbd3"};
	for (size_t i = 0; x->xs && i < 2; i++) {
		char path[128];
		snprintf(path, sizeof(path), "/local/domain/0/backend/%s/%u/%u/dev", bases[i],
		         domid, devid);
		unsigned int n = 0;
		char *v = x->api->xs_read(x->xs, path, &n);
		if (!v)
			continue;
		while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == '\0'))
			n--;
		int ok = n > 0 && n < len;
		for (unsigned k = 0; ok && k < n; k++)
			ok = (v[k] >= 'a' && v[k] <= 'z') || (v[k] >= '0' && v[k] <= '9');
		if (ok) {
			memcpy(buf, v, n);
			buf[n] = '\0';
			free(v);
			return;
		}
		free(v);
	}
	if (src_vbd_name(devid, buf, len) < 0)
		snprintf(buf, len, "dev%u", devid);
}

static void read_xenstat(struct xen_priv *x, struct src_snapshot *snap)
{
	if (!x->xst)
		return;
	xenstat_node *node = x->api->get_node(x->xst, XENSTAT_NETWORK | XENSTAT_VBD);
	if (!node)
		return;
	for (uint32_t i = 0; i < snap->ndom; i++) {
		struct src_domain *d = &snap->dom[i];
		if (d->flags & SRC_DOM_FAILED)
			continue;
		xenstat_domain *xd = x->api->node_domain(node, d->domid);
		if (!xd)
			continue;
		unsigned nn = x->net ? 0 : x->api->num_networks(xd);
		for (unsigned k = 0; k < nn; k++) {
			xenstat_network *n = x->api->network(xd, k);
			if (!n)
				continue;
			struct src_vif *v = src_domain_add_vif(d);
			v->devid = x->api->net_id(n);
			v->rx_bytes = x->api->net_rbytes(n);
			v->rx_packets = x->api->net_rpackets(n);
			v->rx_errors = x->api->net_rerrs(n);
			v->tx_bytes = x->api->net_tbytes(n);
			v->tx_packets = x->api->net_tpackets(n);
			v->tx_errors = x->api->net_terrs(n);
		}
		unsigned nb = x->api->num_vbds(xd);
		for (unsigned k = 0; k < nb; k++) {
			xenstat_vbd *b = x->api->vbd(xd, k);
			if (!b)
				continue;
			struct src_vbd *v = src_domain_add_vbd(d);
			v->devid = x->api->vbd_dev(b);
			vbd_name(x, d->domid, v->devid, v->name, sizeof(v->name));
			v->error = x->api->vbd_error(b);
			v->oo_reqs = x->api->vbd_oo_reqs(b);
			v->rd_reqs = x->api->vbd_rd_reqs(b);
			v->wr_reqs = x->api->vbd_wr_reqs(b);
			v->rd_sectors = x->api->vbd_rd_sects(b);
			v->wr_sectors = x->api->vbd_wr_sects(b);
		}
	}
	x->api->free_node(node);
}

/* HVM guests have an emulated NIC "tapD.N" beside "vifD.N"; xcp-rrdd sums
 * the two into vif N (wire-format.md §8.3).  libxenstat sees only the vif, so taps are
 * taken from /proc/net/dev here and removed from the host device list. */
static void merge_taps(struct src_snapshot *snap)
{
	struct src_host *h = &snap->host;
	uint32_t keep = 0;
	for (uint32_t i = 0; i < h->nnet; i++) {
		struct src_netdev *n = &h->net[i];
		unsigned domid, devid;
		char tail;
		if (sscanf(n->name, "tap%u.%u%c", &domid, &devid, &tail) == 2) {
			struct src_domain *d = find_dom(snap, domid);
			if (d && !(d->flags & SRC_DOM_FAILED)) {
				struct src_vif *v = NULL;
				for (uint32_t k = 0; k < d->nvif; k++)
					if (d->vif[k].devid == devid)
						v = &d->vif[k];
				if (!v) {
					v = src_domain_add_vif(d);
					v->devid = devid;
				}
				v->rx_bytes += n->rx_bytes;
				v->rx_packets += n->rx_packets;
				v->rx_errors += n->rx_errors;
				v->tx_bytes += n->tx_bytes;
				v->tx_packets += n->tx_packets;
				v->tx_errors += n->tx_errors;
			}
			continue;
		}
		h->net[keep++] = *n;
	}
	h->nnet = keep;
}

static int read_host(struct xen_priv *x, struct src_snapshot *snap)
{
	xc_physinfo_t pi;
	memset(&pi, 0, sizeof(pi));
	errno = 0;
	if (x->api->physinfo(x->xch, &pi) < 0)
		return errno ? -errno : -EIO;
	snap->host.total_kib = (int64_t)(pi.total_pages * (SRC_PAGE_SIZE / 1024));
	snap->host.free_kib = (int64_t)(pi.free_pages * (SRC_PAGE_SIZE / 1024));

	int want = pi.nr_cpus > 0 ? (int)pi.nr_cpus : 1;
	if (want > x->ci_cap) {
		x->ci = xrealloc(x->ci, (size_t)want * sizeof(*x->ci));
		x->ci_cap = want;
	}
	int nr = 0;
	errno = 0;
	if (x->api->getcpuinfo(x->xch, want, x->ci, &nr) < 0)
		return errno ? -errno : -EIO;
	if (nr < 0 || nr > want)
		return -EPROTO;
	snap->host.nr_cpus = (uint32_t)nr;
	snap->host.idle_ns = xcalloc(nr ? (size_t)nr : 1, sizeof(uint64_t));
	for (int i = 0; i < nr; i++)
		snap->host.idle_ns[i] = x->ci[i].idletime;

	char *text;
	snap->host.loadavg = NAN;
	if (src_read_file(x->loadavg_path, PROC_MAX_BYTES, &text, NULL) == 0) {
		double la;
		if (src_parse_loadavg(text, &la) == 0)
			snap->host.loadavg = la;
		free(text);
	}
	if (!x->net && src_read_file(x->net_dev_path, PROC_MAX_BYTES, &text, NULL) == 0) {
		src_parse_net_dev(text, &snap->host);
		free(text);
	}
	return 0;
}

/* The whole domain list: grow the buffer until the answer is not full. */
static int list_domains(struct xen_priv *x, int *count)
{
	if (!x->di) {
		x->di_cap = DOMLIST_START;
		x->di = xcalloc(x->di_cap, sizeof(*x->di));
	}
	for (;;) {
		errno = 0;
		int n = x->api->domain_getinfolist(x->xch, 0, x->di_cap, x->di);
		if (n < 0)
			return errno ? -errno : -EIO;
		if ((unsigned)n < x->di_cap || x->di_cap >= (1u << 16)) {
			*count = n > (int)x->di_cap ? (int)x->di_cap : n;
			return 0;
		}
		x->di_cap *= 2;
		x->di = xrealloc(x->di, x->di_cap * sizeof(*x->di));
	}
}

/* xenstore for the vbd3 walk, through the library seam */
static char **vbd3_directory(void *ctx, const char *path, unsigned int *n)
{
	struct xen_priv *x = ctx;
	return x->api->xs_directory(x->xs, path, n);
}

static char *vbd3_read(void *ctx, const char *path)
{
	struct xen_priv *x = ctx;
	unsigned int len = 0;
	char *v = x->api->xs_read(x->xs, path, &len);
	if (!v)
		return NULL;
	char *r = xmalloc((size_t)len + 1);
	memcpy(r, v, len);
	while (len > 0 && (r[len - 1] == '\n' || r[len - 1] == '\0'))
		len--;
	r[len] = '\0';
	free(v);
	return r;
}

static int xen_sample(void *p, double now, struct src_snapshot *snap)
{
	struct xen_priv *x = p;
	int n = 0, rc;

	src_snapshot_clear(snap);
	snap->t = now;
	rc = read_host(x, snap);
	if (rc == 0)
		rc = list_domains(x, &n);
	if (rc < 0) {
		src_snapshot_clear(snap);
		return rc;
	}
	for (int i = 0; i < n; i++)
		fill_domain(x, &x->di[i], snap);
	read_xenstat(x, snap);
	/* tapdisk3's VBDs (XCP-ng, XenServer): libxenstat sees only blkback */
	if (x->xs && x->api->xs_directory) {
		struct vbd3_xs xs = {.ctx = x, .directory = vbd3_directory, .read = vbd3_read};
		vbd3_sample(&x->vbd3, &xs, snap, snap->note, sizeof(snap->note));
	}
	if (x->net) {
		char why[256];
		src_net_sample(x->net, snap, why, sizeof(why)); /* absent this tick on failure */
	} else {
		merge_taps(snap);
	}
	return 0;
}

const struct src_ops src_xen_ops = {
    .name = "xen",
    .open = xen_open,
    .sample = xen_sample,
    .close = xen_close,
    .missing = xen_missing,
};
