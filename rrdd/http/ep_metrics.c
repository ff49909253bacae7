/*
 * GET /metrics: the OpenMetrics text of every RRD (daemon/omexpo.h).
 */
#include "daemon/omexpo.h"
#include "http/internal.h"

void ep_metrics(struct http_ctx *c, const struct http_req *req, struct http_resp *resp)
{
	(void)req;
	om_expo_text(c->reg, &resp->body);
	resp->status = 200;
	resp->ctype = "application/openmetrics-text; version=1.0.0; charset=utf-8";
	resp->framing = HF_LENGTH;
	resp->no_cache = true;
}
