/*
 * From the kernel's links to xcp-rrdd's network data sources (its rrdp-netdev
 * collector, ocaml/xcp-rrdd/bin/rrdp-netdev): which links are PIFs, which
 * are a domain's VIFs, and how bonds are counted.  Pure: no I/O.
 */
#ifndef RRDD_SOURCE_NETMAP_H
#define RRDD_SOURCE_NETMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "source/netlinks.h"
#include "source/source.h"

#define NETMAP_BOND_MAX 16

/* A bond as xcp-networkd configures it (on Open vSwitch no kernel device
 * exists for it): its name and member NICs. */
struct netmap_bond {
	char name[NLL_NAME_LEN];
	unsigned nmember;
	char member[NETMAP_BOND_MAX][NLL_NAME_LEN];
};

/* What xcp-networkd knows, when it runs (networkd.h reads it). */
struct netmap_net {
	bool have_managed; /* managed[] is networkd's list of host NICs */
	size_t nmanaged;
	char (*managed)[NLL_NAME_LEN];
	size_t nbonds;
	struct netmap_bond *bonds;
};

/* Fill snap->host.net with the PIFs (pif set) and every domain of snap
 * with its VIFs, from links:
 * - vif<D>.<N>, and tap<D>.<N> (an HVM guest's emulated NIC) added to it,
 *   are VIF N of domain D (a domain not in snap is left out), with the
 *   backend's counters (the catalogue turns them to the guest's side);
 * - PIFs are networkd's managed NICs when it gives them, else the
 *   physical links, never a VLAN (a vlan link or a name with '.');
 * - a bond is the sum of its members' counters: networkd's bonds, and
 *   kernel bond masters over PIFs; it is a PIF of its own beside them
 *   (xcp-rrdd counts both in pif_aggr).
 * Existing host devices and VIFs in snap are replaced. */
void src_netmap(const struct nll_links *links, const struct netmap_net *net,
                struct src_snapshot *snap);

#endif
