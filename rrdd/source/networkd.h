/*
 * xcp-networkd's state file (/var/lib/xcp/networkd.db on XCP-ng and
 * XenServer): the host NICs it manages (its interface order) and its bonds
 * (bridge ports of more than one interface; on Open vSwitch they have no
 * kernel device), which xcp-rrdd's netdev collector asks networkd for.
 */
#ifndef RRDD_SOURCE_NETWORKD_H
#define RRDD_SOURCE_NETWORKD_H

#include <stddef.h>

#include "source/netmap.h"

/* The default state file. */
#define SRC_NETWORKD_DB "/var/lib/xcp/networkd.db"

/* Read path (at most 4 MiB of JSON) into *net, replacing what it held.
 * 0; -ENOENT when there is no such file (not a networkd host: *net is
 * empty and says nothing); another negative errno with a reason in err
 * when it cannot be read or parsed (*net empty).  Accepts the lists of
 * pairs and objects both (the two JSON forms of its (name, value) lists). */
int src_networkd_read(const char *path, struct netmap_net *net, char *err, size_t errlen);

/* Free what *net holds and empty it. */
void src_networkd_free(struct netmap_net *net);

#endif
