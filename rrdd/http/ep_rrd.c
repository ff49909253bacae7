/*
 * Full RRD downloads (wire-format.md §3.2, 3.3, 4.1): GET /host_rrd, /vm_rrd?uuid=,
 * /sr_rrd?uuid= (a copy of the in-memory RRD taken under the lock) and
 * /rrd_unarchive?uuid= (the archive on disk).  Formatted outside the lock,
 * XML (internal=false) or JSON by Accept negotiation, sent as xcp-rrdd does:
 * HTTP/1.0, Connection: close, no Content-Length, CORS.  A missing RRD is
 * 404 with a one-line reason (xcp-rrdd: 500 for /host_rrd and /sr_rrd).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/rrd_json.h"
#include "export/rrd_xml.h"
#include "http/internal.h"
#include "monitor/registry.h"
#include "store/archive.h"
#include "util/xalloc.h"

/* The body, one RRA at a time while the client reads (a host RRD's text
 * runs to tens of MB; only one RRA's is held). */
struct rrd_gen {
	struct http_gen gen;
	struct rrdb *rrd;
	bool json, done;
	uint32_t part;
};

static int rrd_gen_next(struct http_gen *g, struct buf *out)
{
	struct rrd_gen *rg = (struct rrd_gen *)g;
	if (rg->done)
		return 0;
	uint32_t part = rg->part++;
	int more = rg->json ? exp_rrd_json_part(out, rg->rrd, part)
	                    : exp_rrd_xml_part(out, rg->rrd, 0, part);
	rg->done = !more;
	return 1;
}

static void rrd_gen_free(struct http_gen *g)
{
	struct rrd_gen *rg = (struct rrd_gen *)g;
	rrdb_free(rg->rrd);
	free(rg);
}

void ep_rrd(struct http_ctx *c, enum http_route r, const struct http_req *req,
            struct http_resp *resp)
{
	const char *uuid = http_q(req, "uuid");
	struct rrdb *rrd = NULL;
	const char *what = "host";
	switch (r) {
	case R_HOST_RRD:
		rrd = mon_dup(c->reg, MON_HOST, NULL);
		if (!rrd) {
			http_resp_error(resp, 404, "host_rrd: the host has no RRD yet");
			return;
		}
		break;
	case R_VM_RRD:
	case R_SR_RRD:
		what = r == R_VM_RRD ? "vm_rrd" : "sr_rrd";
		if (!uuid || !*uuid) {
			http_resp_error(resp, 400, "%s: the uuid parameter is required", what);
			return;
		}
		rrd = mon_dup(c->reg, r == R_VM_RRD ? MON_VM : MON_SR, uuid);
		if (!rrd) {
			http_resp_error(resp, 404, "%s: no RRD for %.64s", what, uuid);
			return;
		}
		break;
	case R_UNARCHIVE: {
		if (!uuid || !*uuid) {
			http_resp_error(resp, 400, "rrd_unarchive: the uuid parameter is required");
			return;
		}
		if (!store_archive_key_ok(uuid)) {
			http_resp_error(resp, 400, "rrd_unarchive: '%.64s' is not a valid uuid",
			                uuid);
			return;
		}
		if (!c->archive_dir) {
			http_resp_error(resp, 404, "rrd_unarchive: archives are disabled");
			return;
		}
		char err[512];
		int rc = store_archive_load(c->archive_dir, uuid, &rrd, err, sizeof(err));
		if (rc == -ENOENT) {
			http_resp_error(resp, 404, "rrd_unarchive: no archive for %s", uuid);
			return;
		}
		if (rc) {
			http_resp_error(resp, 500, "rrd_unarchive: %s", err);
			return;
		}
		break;
	}
	default:
		http_resp_error(resp, 403, "forbidden");
		return;
	}
	bool json = http_prefers_json(req->accept, http_q_has(req, "json"));
	struct rrd_gen *g = xcalloc(1, sizeof(*g));
	g->gen.next = rrd_gen_next;
	g->gen.free = rrd_gen_free;
	g->rrd = rrd; /* owned by the generator from here */
	g->json = json;
	resp->gen = &g->gen;
	resp->status = 200;
	resp->ctype = json ? "application/json" : "text/xml";
	resp->cors = true;
	resp->no_cache = true;
	resp->framing = HF_CLOSE;
}
