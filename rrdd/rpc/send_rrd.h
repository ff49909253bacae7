/*
 * The sending side of PUT /rrd (wire-format.md §4.4), for the RPC calls
 * that ship an RRD to another host (migrate_rrd, push_rrd_remote,
 * send_host_rrd_to_master, the remote archive and backup calls).
 */
#ifndef RRDD_RPC_SEND_RRD_H
#define RRDD_RPC_SEND_RRD_H

#include <stdbool.h>
#include <stddef.h>

struct rrdb;

/* Send r (internal XML) to another host's /rrd with PUT.  address is
 * "host[:port]" (port 80 by default), "[v6]:port", or a Unix socket path
 * starting with '/'; archive adds &archive=true.  Blocks for at most a
 * bounded time.  0, or a negative errno with a message in err. */
int rpc_send_rrd(const char *address, const char *uuid, bool is_host, bool archive,
                 const char *session_id, const struct rrdb *r, char *err, size_t errlen);

#endif
