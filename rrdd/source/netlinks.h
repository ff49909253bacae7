/*
 * The kernel's network links and their counters, read through netlink
 * (RTM_GETLINK dump, libmnl) as xcp-rrdd's netdev collector reads them:
 * whatever the bridge (Open vSwitch or Linux), every vif<domid>.<devid>,
 * tap<domid>.<devid> and physical NIC of the namespace, with 64-bit
 * counters.  One dump per call; the socket and buffers are kept, so the
 * steady state allocates nothing.  Whether a link is a physical NIC
 * (sysfs: /sys/class/net/<name>/device) is looked up once per link.
 */
#ifndef RRDD_SOURCE_NETLINKS_H
#define RRDD_SOURCE_NETLINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NLL_NAME_LEN 16 /* IFNAMSIZ */

struct nll_link {
	char name[NLL_NAME_LEN];
	uint32_t ifindex;
	uint32_t master; /* ifindex of its master (bond, bridge), 0: none */
	bool physical;   /* a NIC (has a device in sysfs) */
	bool bond;       /* a kernel bond master */
	bool vlan;       /* a VLAN device */
	uint64_t rx_bytes, rx_packets, rx_errors;
	uint64_t tx_bytes, tx_packets, tx_errors;
};

struct nll_links {
	uint32_t n, cap;
	struct nll_link *link;
};

struct nll;

/* Open a NETLINK_ROUTE socket.  sysfs_net: the directory holding one entry
 * per link (NULL: /sys/class/net).  0, or a negative errno with a reason in
 * err. */
int nll_open(struct nll **out, const char *sysfs_net, char *err, size_t errlen);

/* Every link with its current counters in out, which must be the list
 * given to the previous call (kept by the caller, its array reused): the
 * counters are refreshed, and names, masters and kinds too every 12 calls
 * or when links appear or go (sorted by ifindex).  0, or a negative errno
 * with a reason in err (a truncated or malformed answer is -EPROTO; out
 * is then empty). */
int nll_dump(struct nll *n, struct nll_links *out, char *err, size_t errlen);

/* The system calls the last dump made (for the benchmark). */
unsigned nll_syscalls(const struct nll *n);

void nll_links_free(struct nll_links *l);

/* Close; NULL is a no-op. */
void nll_close(struct nll *n);

#endif
