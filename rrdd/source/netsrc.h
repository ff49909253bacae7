/*
 * The network part of a sample from the kernel (netlinks.h) and
 * xcp-networkd's state (networkd.h), mapped by netmap.h: what both
 * backends use when they take network figures from the host's kernel.
 */
#ifndef RRDD_SOURCE_NETSRC_H
#define RRDD_SOURCE_NETSRC_H

#include <stddef.h>

#include "source/source.h"

struct src_net;

/* Open the netlink socket; networkd_db: xcp-networkd's state file (NULL:
 * the default; re-read whenever it changes), sysfs_net: NULL for
 * /sys/class/net.  0, or a negative errno with a reason in err. */
int src_net_open(struct src_net **out, const char *networkd_db, const char *sysfs_net, char *err,
                 size_t errlen);

/* Replace snap's host devices and VIFs with the kernel's (snap's domains
 * must be filled).  0, or a negative errno with a reason in err (snap's
 * network then empty). */
int src_net_sample(struct src_net *n, struct src_snapshot *snap, char *err, size_t errlen);

/* System calls of the last sample (for the benchmark). */
unsigned src_net_syscalls(const struct src_net *n);

void src_net_close(struct src_net *n);

#endif
