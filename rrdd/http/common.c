/*
 * Shared plumbing of rrdd/http: routing (longest prefix per method, wire-format.md
 * §4.1), the dispatcher to the endpoints, response helpers and query
 * helpers.  No I/O.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

struct route_ent {
	enum http_method m;
	const char *prefix;
	enum http_route r;
};

static const struct route_ent routes[] = {
    {HM_GET, "/rrd_updates", R_UPDATES},
    {HM_GET, "/host_rrd", R_HOST_RRD},
    {HM_GET, "/vm_rrd", R_VM_RRD},
    {HM_GET, "/sr_rrd", R_SR_RRD},
    {HM_GET, "/rrd_unarchive", R_UNARCHIVE},
    {HM_GET, "/metrics", R_METRICS},
    {HM_GET, "/graph", R_GRAPH},
    {HM_GET, "/rrd_file", R_RRD_FILE},
    {HM_POST, "/rrd_unarchive", R_UNARCHIVE},
    {HM_POST, "/", R_RPC},
    {HM_PUT, "/rrd", R_PUT_RRD},
};

enum http_route http_route(enum http_method m, const char *path)
{
	if (m == HM_OTHER)
		return R_NOT_IMPL;
	size_t best = 0;
	enum http_route r = R_FORBIDDEN;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		size_t n = strlen(routes[i].prefix);
		if (routes[i].m == m && n > best && strncmp(path, routes[i].prefix, n) == 0) {
			best = n;
			r = routes[i].r;
		}
	}
	return r;
}

void http_dispatch(struct http_ctx *c, enum http_route r, const struct http_req *req,
                   struct http_resp *resp)
{
	switch (r) {
	case R_UPDATES:
		ep_updates(c, req, resp);
		break;
	case R_HOST_RRD:
	case R_VM_RRD:
	case R_SR_RRD:
	case R_UNARCHIVE:
		ep_rrd(c, r, req, resp);
		break;
	case R_METRICS:
		ep_metrics(c, req, resp);
		break;
	case R_GRAPH:
	case R_RRD_FILE:
		ep_graph(c, r, req, resp);
		break;
	case R_RPC:
		ep_rpc(c, req, resp);
		break;
	case R_NOT_IMPL:
		http_resp_error(resp, 501, "method not implemented");
		break;
	case R_PUT_RRD: /* handled by the transports through put_* */
	case R_FORBIDDEN:
	default:
		http_resp_error(resp, 403, "no handler for %s", req->path);
		break;
	}
}

void http_resp_init(struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 500;
	r->framing = HF_LENGTH;
}

void http_resp_free(struct http_resp *r)
{
	buf_free(&r->body);
	http_blob_unref(r->blob);
	r->blob = NULL;
	if (r->gen)
		r->gen->free(r->gen);
	r->gen = NULL;
}

void http_resp_error(struct http_resp *r, int status, const char *fmt, ...)
{
	buf_reset(&r->body);
	if (r->gen)
		r->gen->free(r->gen);
	r->gen = NULL;
	http_blob_unref(r->blob);
	r->blob = NULL;
	r->status = status;
	r->ctype = "text/plain; charset=utf-8";
	r->framing = HF_LENGTH;
	r->cors = r->cors_headers = false;
	r->no_cache = false;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&r->body, fmt, ap);
	va_end(ap);
	/* one line, whatever the arguments contained */
	for (size_t i = 0; i < r->body.len; i++)
		if (r->body.p[i] == '\n' || r->body.p[i] == '\r')
			r->body.p[i] = ' ';
	buf_addc(&r->body, '\n');
}

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

const char *http_q(const struct http_req *req, const char *key)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (strcmp(req->query[i].k, key) == 0)
			return req->query[i].v;
	return NULL;
}

bool http_q_has(const struct http_req *req, const char *key)
{
	return http_q(req, key) != NULL;
}
