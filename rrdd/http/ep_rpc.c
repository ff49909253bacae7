/*
 * POST on any path other than /rrd_unarchive: one XML-RPC or JSON-RPC call
 * (wire-format.md §5.1) handed to rpc/dispatch.h with the daemon's backend.  A call
 * that ran (successfully or with an rrd error) is 200 with the xapi
 * envelope; a body that is not a call is 400 and an unknown method 404,
 * each with a body the client's library can read (xcp-rrdd answers 401).
 */
#include <string.h>

#include "http/internal.h"
#include "rpc/dispatch.h"
#include "util/log.h"

void ep_rpc(struct http_ctx *c, const struct http_req *req, struct http_resp *resp)
{
	enum rpc_wire wire = rpc_guess_wire(req->body, req->body_len, req->content_type);
	struct rpc_limits lim = {0};
	lim.max_input = c->max_rpc_bytes;
	char why[256];
	buf_reset(&resp->body);
	enum rpc_outcome o =
	    rpc_handle(&c->be, wire, req->body, req->body_len, &lim, &resp->body, why, sizeof(why));
	resp->status = o == RPC_ANSWERED ? 200 : o == RPC_UNKNOWN_METHOD ? 404 : 400;
	resp->ctype = wire == RPC_WIRE_JSON ? "application/json" : "text/xml";
	resp->framing = HF_LENGTH;
	resp->no_cache = true;
	if (o != RPC_ANSWERED || why[0])
		log_info("rpc (%s): %s", wire == RPC_WIRE_JSON ? "json" : "xml",
		         why[0] ? why : "rejected");
}
