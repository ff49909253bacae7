/*
 * The seam between the Xen backend and the Xen libraries: every call
 * source_xen.c makes into libxenctrl, libxenstore and libxenstat goes through
 * this table, so unit tests substitute a fake hypervisor.  Only source_xen.c
 * and fakes built on this header may include the Xen headers; nothing else in
 * rrdd may include this file.
 */
#ifndef RRDD_SOURCE_XEN_API_H
#define RRDD_SOURCE_XEN_API_H

#include <xenctrl.h>
#include <xenstat.h>
#include <xenstore.h>

struct src_xen_api {
	/* libxenctrl */
	xc_interface *(*xc_open)(void);
	void (*xc_close)(xc_interface *xch);
	int (*physinfo)(xc_interface *xch, xc_physinfo_t *pi);
	int (*getcpuinfo)(xc_interface *xch, int max_cpus, xc_cpuinfo_t *info, int *nr_cpus);
	int (*domain_getinfolist)(xc_interface *xch, uint32_t first, unsigned int max,
	                          xc_domaininfo_t *info);
	int (*vcpu_getinfo)(xc_interface *xch, uint32_t domid, uint32_t vcpu, xc_vcpuinfo_t *info);

	/* libxenstore */
	struct xs_handle *(*xs_open)(void);
	void (*xs_close)(struct xs_handle *xs);
	/* As xs_read(xs, XBT_NULL, path, len): malloc'd value or NULL. */
	void *(*xs_read)(struct xs_handle *xs, const char *path, unsigned int *len);
	/* As xs_directory(xs, XBT_NULL, path, num): one malloc'd block or NULL. */
	char **(*xs_directory)(struct xs_handle *xs, const char *path, unsigned int *num);

	/* libxenstat (a NULL node makes VIFs and VBDs absent, nothing else) */
	xenstat_handle *(*xenstat_init)(void);
	void (*xenstat_uninit)(xenstat_handle *h);
	xenstat_node *(*get_node)(xenstat_handle *h, unsigned int flags);
	void (*free_node)(xenstat_node *n);
	xenstat_domain *(*node_domain)(xenstat_node *n, unsigned int domid);
	unsigned int (*num_networks)(xenstat_domain *d);
	xenstat_network *(*network)(xenstat_domain *d, unsigned int i);
	unsigned int (*net_id)(xenstat_network *n);
	unsigned long long (*net_rbytes)(xenstat_network *n);
	unsigned long long (*net_rpackets)(xenstat_network *n);
	unsigned long long (*net_rerrs)(xenstat_network *n);
	unsigned long long (*net_tbytes)(xenstat_network *n);
	unsigned long long (*net_tpackets)(xenstat_network *n);
	unsigned long long (*net_terrs)(xenstat_network *n);
	unsigned int (*num_vbds)(xenstat_domain *d);
	xenstat_vbd *(*vbd)(xenstat_domain *d, unsigned int i);
	unsigned int (*vbd_type)(xenstat_vbd *v);
	unsigned int (*vbd_dev)(xenstat_vbd *v);
	unsigned long long (*vbd_oo_reqs)(xenstat_vbd *v);
	unsigned long long (*vbd_rd_reqs)(xenstat_vbd *v);
	unsigned long long (*vbd_wr_reqs)(xenstat_vbd *v);
	unsigned long long (*vbd_rd_sects)(xenstat_vbd *v);
	unsigned long long (*vbd_wr_sects)(xenstat_vbd *v);
	bool (*vbd_error)(xenstat_vbd *v);
};

/* The table of the real libraries. */
extern const struct src_xen_api src_xen_real_api;

#endif
