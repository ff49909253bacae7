/*
 * GET /metrics: the OpenMetrics exposition of every RRD (daemon/omexpo.h):
 * the protobuf MetricSet when the client's Accept names
 * application/openmetrics-protobuf (the OpenMetrics format's negotiation),
 * the text format otherwise.
 */
#include <string.h>
#include <strings.h>

#include "daemon/omexpo.h"
#include "http/internal.h"

void ep_openmetrics_answer(struct http_ctx *c, bool protobuf, struct http_resp *resp)
{
	if (protobuf)
		om_expo_protobuf(c->reg, c->vmnames, &resp->body);
	else
		om_expo_text(c->reg, c->vmnames, &resp->body);
	resp->status = 200;
	resp->ctype = protobuf ? OM_PROTOBUF_TYPE : OM_TEXT_TYPE;
	resp->framing = HF_LENGTH;
	resp->no_cache = true;
}

void ep_metrics(struct http_ctx *c, const struct http_req *req, struct http_resp *resp)
{
	ep_openmetrics_answer(
	    c, req->accept && strcasestr(req->accept, "application/openmetrics-protobuf"), resp);
}
