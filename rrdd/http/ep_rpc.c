/*
 * POST on any path other than /rrd_unarchive: one XML-RPC or JSON-RPC call
 * (wire-format.md §5.1) handed to rpc/dispatch.h with the daemon's backend.  A call
 * that ran (successfully or with an rrd error) is 200 with the xapi
 * envelope; a body that is not a call is 400 and an unknown method 404,
 * each with a body the client's library can read (xcp-rrdd answers 401).
 *
 * One call is answered here instead: xcp-metrics' "OpenMetrics" (its
 * publishers/openmetrics.rs), whose answer is not an RPC envelope but the
 * exposition itself, text or, with the parameter {"protobuf": true}, the
 * protobuf MetricSet, under the OpenMetrics content type.
 */
#include <string.h>

#include "http/internal.h"
#include "rpc/dispatch.h"
#include "rpc/jsonrpc.h"
#include "rpc/xmlrpc.h"
#include "util/log.h"

/* Whether the body is a call of "OpenMetrics"; *protobuf from its first
 * parameter's "protobuf" member (false when absent). */
static bool openmetrics_call(enum rpc_wire wire, const struct http_req *req,
                             const struct rpc_limits *lim, bool *protobuf)
{
	*protobuf = false;
	if (!req->body || !memmem(req->body, req->body_len, "OpenMetrics", 11))
		return false;
	const struct rpc_value *params = NULL;
	bool is = false;
	char err[128];
	struct rpc_json_call jc;
	struct rpc_xml_msg xm = {0};
	if (wire == RPC_WIRE_JSON) {
		if (rpc_json_parse_call(req->body, req->body_len, lim, &jc, err, sizeof(err)) ==
		        0 &&
		    jc.method && !strcmp(jc.method, "OpenMetrics")) {
			is = true;
			params = &jc.params;
		}
	} else if (rpc_xml_parse(req->body, req->body_len, lim, &xm, err, sizeof(err)) == 0 &&
	           xm.kind == RPC_XML_CALL && xm.method && !strcmp(xm.method, "OpenMetrics")) {
		is = true;
		params = &xm.params;
	}
	if (is && params && params->type == RPC_ARRAY && params->u.a.n > 0) {
		const struct rpc_value *pb = rpc_struct_get(&params->u.a.items[0], "protobuf");
		*protobuf = pb && pb->type == RPC_BOOL && pb->u.b;
	}
	if (wire == RPC_WIRE_JSON)
		rpc_json_call_free(&jc);
	else
		rpc_xml_msg_free(&xm);
	return is;
}

void ep_rpc(struct http_ctx *c, const struct http_req *req, struct http_resp *resp)
{
	enum rpc_wire wire = rpc_guess_wire(req->body, req->body_len, req->content_type);
	struct rpc_limits lim = {0};
	lim.max_input = c->max_rpc_bytes;
	char why[256];
	buf_reset(&resp->body);
	bool pb;
	if (openmetrics_call(wire, req, &lim, &pb)) {
		ep_openmetrics_answer(c, pb ? OM_FORM_PROTOBUF : OM_FORM_TEXT, resp);
		return;
	}
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
