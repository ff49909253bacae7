/*
 * PUT /rrd?uuid=&is_host=&[domid=]&[archive] (wire-format.md §4.4): an RRD in the
 * internal XML form arrives as the body and is stream-parsed as it comes
 * (store/xml_parse.h), never held as text, with a size cap.  With
 * `archive` (any value) it is written to <archive_dir>/<uuid>.gz; else it
 * replaces the host RRD (is_host=true) or the VM's RRD.  The query is
 * checked before any body byte is read: a missing uuid or is_host, a bad
 * is_host or domid is 400 (xcp-rrdd: 500).  A body that is not an RRD is
 * 400 with the parser's message (on the forwarded socket the 200 has
 * already gone out, as in xcp-rrdd, and the message follows it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "monitor/change.h"
#include "store/durable.h"
#include "store/archive.h"
#include "store/xml_parse.h"
#include "util/log.h"
#include "util/xalloc.h"

struct put_session {
	struct http_ctx *c;
	struct xmlp *p;
	char uuid[MON_UUID_LEN + 1];
	bool is_host, archive;
	size_t got;
};

static int parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "false")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

struct put_session *put_begin(struct http_ctx *c, const struct http_req *req,
                              struct http_resp *resp)
{
	const char *uuid = http_q(req, "uuid");
	const char *is_host = http_q(req, "is_host");
	const char *domid = http_q(req, "domid");
	bool archive = http_q_has(req, "archive");
	bool host = false;
	if (!uuid || !*uuid) {
		http_resp_error(resp, 500, "PUT /rrd: the uuid parameter is required");
		return NULL;
	}
	if (!store_archive_key_ok(uuid) || strlen(uuid) > MON_UUID_LEN) {
		http_resp_error(resp, 500, "PUT /rrd: '%.64s' is not a valid uuid", uuid);
		return NULL;
	}
	if (!is_host) {
		http_resp_error(resp, 500, "PUT /rrd: the is_host parameter is required");
		return NULL;
	}
	if (parse_bool(is_host, &host)) {
		http_resp_error(resp, 500, "PUT /rrd: is_host must be true or false, not '%.32s'",
		                is_host);
		return NULL;
	}
	if (domid) {
		char *end;
		long v = strtol(domid, &end, 10);
		if (!*domid || *end || v < -1 || v > 0x7fffffffL) {
			http_resp_error(resp, 500, "PUT /rrd: domid '%.32s' is not an integer",
			                domid);
			return NULL;
		}
	}
	if (archive && !c->archive_dir) {
		http_resp_error(resp, 500, "PUT /rrd: archives are disabled on this host");
		return NULL;
	}
	struct put_session *s = xcalloc(1, sizeof(*s));
	s->c = c;
	struct xmlp_limits lim = {0};
	lim.max_bytes = c->max_put_bytes;
	lim.strict_names = true; /* docs/differences.md: names from clients */
	s->p = xmlp_new(&lim);
	mon_uuid_copy(s->uuid, uuid);
	s->is_host = host;
	s->archive = archive;
	return s;
}

void put_abort(struct put_session *s)
{
	if (!s)
		return;
	xmlp_free(s->p);
	free(s);
}

int put_feed(struct put_session *s, const void *data, size_t n, struct http_resp *resp)
{
	s->got += n;
	if (s->got > s->c->max_put_bytes) {
		http_resp_error(resp, 413, "PUT /rrd: body larger than %zu bytes",
		                s->c->max_put_bytes);
		return -1;
	}
	int rc = xmlp_feed(s->p, data, n);
	if (rc) {
		http_resp_error(resp, rc == -E2BIG ? 413 : 400, "PUT /rrd: %s", xmlp_error(s->p));
		return -1;
	}
	return 0;
}

void put_finish(struct put_session *s, struct http_resp *resp)
{
	struct rrdb *r = NULL;
	if (s->got == 0) {
		http_resp_error(resp, 400, "PUT /rrd: empty body (an RRD in XML was expected)");
		put_abort(s);
		return;
	}
	int rc = xmlp_finish(s->p, &r);
	if (rc) {
		http_resp_error(resp, rc == -E2BIG ? 413 : 400, "PUT /rrd: %s", xmlp_error(s->p));
		put_abort(s);
		return;
	}
	const char *what = s->is_host ? "host" : "vm";
	if (s->archive) {
		char err[512];
		rc = store_dur_write(s->c->dur, s->is_host ? MON_HOST : MON_VM, s->uuid, r, err,
		                     sizeof(err));
		rrdb_free(r);
		if (rc) {
			log_err("PUT /rrd %s %s: archiving failed: %s", what, s->uuid, err);
			http_resp_error(resp, 500, "PUT /rrd: %s", err);
			put_abort(s);
			return;
		}
		log_info("PUT /rrd: %s %s archived", what, s->uuid);
	} else {
		struct mon_change c = {.kind = MON_CH_INSTALL,
		                       .owner = s->is_host ? MON_HOST : MON_VM,
		                       .uuid = s->is_host ? NULL : s->uuid,
		                       .rrd = r,
		                       .sync = true};
		rc = mon_commit(s->c->reg, &c, 0, NULL); /* journaled, then installed */
		if (rc == -ENOSPC) {
			http_resp_error(
			    resp, 503,
			    "PUT /rrd: rrdd keeps at most its --max-rrds VM and SR RRDs");
			put_abort(s);
			return;
		}
		if (rc) {
			http_resp_error(resp, 400, "PUT /rrd: the RRD was refused (%s)",
			                strerror(-rc));
			put_abort(s);
			return;
		}
		log_info("PUT /rrd: %s %s RRD installed", what, s->uuid);
	}
	resp->status = 200;
	resp->ctype = NULL;
	resp->framing = HF_LENGTH;
	buf_reset(&resp->body);
	put_abort(s);
}
