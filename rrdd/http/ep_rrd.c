/*
 * Full RRD downloads (wire-format.md §3.2, 3.3, 4.1): GET /host_rrd, /vm_rrd?uuid=,
 * /sr_rrd?uuid= (a copy of the in-memory RRD taken under the lock) and
 * /rrd_unarchive?uuid= (the archive on disk).  Formatted outside the lock,
 * XML (internal=false) or JSON by Accept negotiation, sent as xcp-rrdd does:
 * HTTP/1.0, Connection: close, no Content-Length, CORS.  Status codes are
 * xcp-rrdd's (wire-format.md §4.6), with a one-line reason: 404 for a VM
 * or an archive that is not there (or no uuid), 500 for the host before its
 * first cycle and for an SR that is not there (its handler raises).
 *
 * An in-memory RRD's text is rendered once per registry generation and
 * shared (the rendered-bodies cache): any number of clients reading it,
 * however slowly, hold one copy, not one each.  The bytes of shared bodies
 * still being sent are bounded (HTTP_MAX_LIVE_BYTES): beyond it a new render
 * is refused with 503 until readers finish or time out.
 */
#include <errno.h>
#include <stdio.h>
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

static void ok_headers(struct http_resp *resp, bool json)
{
	resp->status = 200;
	resp->ctype = json ? "application/json" : "text/xml";
	resp->cors = true;
	resp->no_cache = true;
	resp->framing = HF_CLOSE;
}

/* The text of an in-memory RRD at the current generation, rendered once
 * and shared.  False with resp set when it cannot be served. */
static bool shared_rrd(struct http_ctx *c, enum mon_owner_kind kind, const char *uuid,
                       const char *what, bool json, struct http_resp *resp)
{
	char key[96];
	snprintf(key, sizeof(key), "\x01rrd %d %s %d", (int)kind, uuid ? uuid : "", (int)json);
	struct http_blob *b = NULL;
	struct ucache_slot *slot = ucache_find(c->ucache, key, mon_generation(c->reg));
	if (slot && (b = ucache_wait(c->ucache, slot)))
		goto serve;
	if (http_live_bytes() > HTTP_MAX_LIVE_BYTES) {
		http_resp_error(resp, 503,
		                "%s: too many large answers are being sent; try again later", what);
		return false;
	}
	ucache_render_begin(c->ucache);
	bool mine = false;
	slot = ucache_claim(c->ucache, key, mon_generation(c->reg), &mine);
	if (!mine) {
		ucache_render_end(c->ucache);
		if ((b = ucache_wait(c->ucache, slot)))
			goto serve;
		slot = NULL; /* the render found nothing: look for ourselves */
		ucache_render_begin(c->ucache);
	}
	struct rrdb *rrd = mon_dup(c->reg, kind, uuid);
	if (!rrd) {
		if (slot)
			ucache_publish(c->ucache, slot, NULL);
		ucache_render_end(c->ucache);
		/* xcp-rrdd: 404 for an unknown VM, its handler raises (500) for the
		 * host before the first cycle and for an unknown SR */
		if (kind == MON_HOST)
			http_resp_error(resp, 500, "host_rrd: the host has no RRD yet");
		else
			http_resp_error(resp, kind == MON_VM ? 404 : 500, "%s: no RRD for %.64s",
			                what, uuid);
		return false;
	}
	struct buf out = BUF_INIT;
	if (json)
		exp_rrd_json(&out, rrd);
	else
		exp_rrd_xml(&out, rrd, 0);
	rrdb_free(rrd);
	b = http_blob_take(&out);
	if (slot)
		ucache_publish(c->ucache, slot, http_blob_ref(b));
	ucache_render_end(c->ucache);
serve:
	ok_headers(resp, json);
	resp->blob = b;
	return true;
}

void ep_rrd(struct http_ctx *c, enum http_route r, const struct http_req *req,
            struct http_resp *resp)
{
	const char *uuid = http_q(req, "uuid");
	struct rrdb *rrd = NULL;
	const char *what = "host_rrd";
	bool json = http_prefers_json(req->accept, http_q_has(req, "json"));
	switch (r) {
	case R_HOST_RRD:
		shared_rrd(c, MON_HOST, NULL, what, json, resp);
		return;
	case R_VM_RRD:
	case R_SR_RRD:
		what = r == R_VM_RRD ? "vm_rrd" : "sr_rrd";
		if (!uuid || !*uuid || strlen(uuid) > MON_UUID_LEN) {
			http_resp_error(resp, r == R_VM_RRD ? 404 : 500, "%s: %s", what,
			                uuid && *uuid ? "no RRD for that uuid"
			                              : "the uuid parameter is required");
			return;
		}
		shared_rrd(c, r == R_VM_RRD ? MON_VM : MON_SR, uuid, what, json, resp);
		return;
	case R_UNARCHIVE: {
		if (!uuid || !*uuid) {
			http_resp_error(resp, 404, "rrd_unarchive: the uuid parameter is required");
			return;
		}
		if (!store_archive_key_ok(uuid)) {
			http_resp_error(resp, 404, "rrd_unarchive: '%.64s' is not a valid uuid",
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
	struct rrd_gen *g = xcalloc(1, sizeof(*g));
	g->gen.next = rrd_gen_next;
	g->gen.free = rrd_gen_free;
	g->rrd = rrd; /* owned by the generator from here */
	g->json = json;
	ok_headers(resp, json);
	resp->gen = &g->gen;
}
