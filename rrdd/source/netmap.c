/*
 * Links to PIFs and VIFs (see netmap.h), following rrdp_netdev.ml:
 * get_link_stats keeps "vif"-prefixed names (taps renamed to vifs first)
 * and networkd's managed NICs minus VLANs, add_bonds puts the sum of each
 * bond's members in front, transform_taps sums entries of the same name;
 * then every name not starting "vif" is a PIF, and a vif<D>.<N> is VIF N
 * of domain D.
 */
#include "source/netmap.h"

#include <stdio.h>
#include <string.h>

/* The domain with domid: a binary search when the domains are in domid
 * order (the backends give them so), else a scan. */
static struct src_domain *find_dom(struct src_snapshot *snap, bool sorted, unsigned domid)
{
	if (!sorted) {
		for (uint32_t i = 0; i < snap->ndom; i++)
			if (snap->dom[i].domid == domid)
				return &snap->dom[i];
		return NULL;
	}
	uint32_t lo = 0, hi = snap->ndom;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (snap->dom[mid].domid < domid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < snap->ndom && snap->dom[lo].domid == domid ? &snap->dom[lo] : NULL;
}

/* "vif<D>.<N>" or "tap<D>.<N>", decimal, nothing after: 1 and the numbers. */
static int vif_name(const char *s, unsigned *domid, unsigned *devid)
{
	if (strncmp(s, "vif", 3) && strncmp(s, "tap", 3))
		return 0;
	s += 3;
	unsigned v[2] = {0, 0};
	for (int k = 0; k < 2; k++) {
		if (*s < '0' || *s > '9')
			return 0;
		for (int digits = 0; *s >= '0' && *s <= '9'; s++) {
			if (++digits > 9)
				return 0;
			v[k] = v[k] * 10 + (unsigned)(*s - '0');
		}
		if (k == 0 && *s++ != '.')
			return 0;
	}
	if (*s)
		return 0;
	*domid = v[0];
	*devid = v[1];
	return 1;
}

static void add_counts(struct src_netdev *d, const struct nll_link *l)
{
	d->rx_bytes += l->rx_bytes;
	d->rx_packets += l->rx_packets;
	d->rx_errors += l->rx_errors;
	d->tx_bytes += l->tx_bytes;
	d->tx_packets += l->tx_packets;
	d->tx_errors += l->tx_errors;
}

static bool managed(const struct netmap_net *net, const struct nll_link *l)
{
	if (!net || !net->have_managed)
		return l->physical;
	for (size_t i = 0; i < net->nmanaged; i++)
		if (!strcmp(net->managed[i], l->name))
			return true;
	return false;
}

static bool is_pif(const struct netmap_net *net, const struct nll_link *l)
{
	return managed(net, l) && !l->vlan && !strchr(l->name, '.');
}

/* The host device called name, added (zeroed, a PIF) if new. */
static struct src_netdev *pif(struct src_host *h, const char *name)
{
	for (uint32_t i = 0; i < h->nnet; i++)
		if (!strcmp(h->net[i].name, name))
			return &h->net[i];
	struct src_netdev *d = src_host_add_netdev(h);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->pif = true;
	return d;
}

static void add_vif(struct src_snapshot *snap, bool sorted, const struct nll_link *l)
{
	unsigned domid, devid;
	if (!vif_name(l->name, &domid, &devid))
		return;
	struct src_domain *d = find_dom(snap, sorted, domid);
	if (!d || (d->flags & SRC_DOM_FAILED))
		return;
	struct src_vif *v = NULL;
	for (uint32_t k = 0; k < d->nvif; k++)
		if (d->vif[k].devid == devid)
			v = &d->vif[k];
	if (!v) {
		v = src_domain_add_vif(d);
		v->devid = devid;
	}
	v->rx_bytes += l->rx_bytes;
	v->rx_packets += l->rx_packets;
	v->rx_errors += l->rx_errors;
	v->tx_bytes += l->tx_bytes;
	v->tx_packets += l->tx_packets;
	v->tx_errors += l->tx_errors;
}

void src_netmap(const struct nll_links *links, const struct netmap_net *net,
                struct src_snapshot *snap)
{
	struct src_host *h = &snap->host;
	h->nnet = 0;
	bool sorted = true;
	for (uint32_t i = 0; i < snap->ndom; i++) {
		snap->dom[i].nvif = 0;
		if (i && snap->dom[i].domid <= snap->dom[i - 1].domid)
			sorted = false;
	}
	/* bonds first (xcp-rrdd lists them in front), networkd's then the kernel's */
	for (size_t b = 0; net && b < net->nbonds; b++) {
		const struct netmap_bond *bd = &net->bonds[b];
		struct src_netdev *d = pif(h, bd->name);
		for (unsigned m = 0; m < bd->nmember; m++)
			for (uint32_t i = 0; i < links->n; i++)
				if (!strcmp(links->link[i].name, bd->member[m]) &&
				    is_pif(net, &links->link[i]))
					add_counts(d, &links->link[i]);
	}
	for (uint32_t i = 0; i < links->n; i++) {
		const struct nll_link *bl = &links->link[i];
		if (!bl->bond || strchr(bl->name, '.'))
			continue;
		bool any = false;
		for (uint32_t k = 0; k < links->n; k++)
			if (links->link[k].master == bl->ifindex && is_pif(net, &links->link[k]))
				any = true;
		if (!any)
			continue;
		struct src_netdev *d = pif(h, bl->name);
		for (uint32_t k = 0; k < links->n; k++)
			if (links->link[k].master == bl->ifindex && is_pif(net, &links->link[k]))
				add_counts(d, &links->link[k]);
	}
	for (uint32_t i = 0; i < links->n; i++) {
		const struct nll_link *l = &links->link[i];
		if (!strncmp(l->name, "vif", 3) || !strncmp(l->name, "tap", 3))
			add_vif(snap, sorted, l);
		else if (is_pif(net, l))
			add_counts(pif(h, l->name), l);
	}
}
