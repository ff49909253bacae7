/*
 * Calls of the daemon's rrd RPC interface (wire-format.md §5) from rrdd-tool: XML-RPC
 * over HTTP POST / on the Unix socket, as xapi calls it, with the xapi
 * envelope {Status, Value} / {Status: Failure, ErrorDescription} unwrapped.
 * Uses rpc/xmlrpc.h for both directions; does not print.
 */
#ifndef RRDD_TOOL_CLI_RPC_H
#define RRDD_TOOL_CLI_RPC_H

#include <stddef.h>

#include "rpc/value.h"
#include "tool/cli_http.h"

/* Call method with params (an RPC_ARRAY, not consumed).  On success returns
 * 0 and *result is the Value (caller frees with rpc_value_free).  Returns
 * -EREMOTEIO when the daemon answered Failure (err holds "TAG: message"),
 * a connection error from cli_http (see there), or -EPROTO for an answer
 * that is not a valid envelope. */
int cli_rpc_call(const struct cli_conn *c, const char *method, const struct rpc_value *params,
                 struct rpc_value *result, char *err, size_t errlen);

#endif
