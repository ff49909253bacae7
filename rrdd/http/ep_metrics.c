/*
 * GET /metrics: the exposition of every RRD (daemon/omexpo.h) in the form
 * the client's Accept asks for, as Prometheus exporters negotiate: the
 * OpenMetrics protobuf MetricSet, OpenMetrics text (what Prometheus asks
 * for), else Prometheus' text format 0.0.4 (curl, promtool).
 */

#include "daemon/omexpo.h"
#include "http/internal.h"

void ep_openmetrics_answer(struct http_ctx *c, enum om_form form, struct http_resp *resp)
{
	om_expo(c->reg, c->vmnames, form, &resp->body);
	resp->status = 200;
	resp->ctype = om_form_ctype(form);
	resp->framing = HF_LENGTH;
	resp->no_cache = true;
}

void ep_metrics(struct http_ctx *c, const struct http_req *req, struct http_resp *resp)
{
	ep_openmetrics_answer(c, om_form_of_accept(req->accept), resp);
}
