/*
 * GET /graph (a PNG or SVG of chosen DSs drawn by librrd) and GET /rrd_file
 * (an RRD as an rrdtool .rrd file, or its DS name mapping), both from a
 * copy of the in-memory RRD (mon_dup): the registry lock is held only for
 * the copy, never while writing files or rendering.  Parameters and
 * answers: docs/graphs.md.
 *
 * librrd work is expensive and serialized: one render or export at a time
 * (render_mu); requests beyond EP_GRAPH_MAX_QUEUED in flight get 503 at
 * once instead of tying up the server's threads.  Bad parameters get 400
 * with a one-line reason.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/rrdfile.h"
#include "export/rrdgraph.h"
#include "http/internal.h"
#include "monitor/registry.h"
#include "util/xalloc.h"

#define EP_GRAPH_MAX_QUEUED 4

static pthread_mutex_t render_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int in_flight;

/* The owner named by uuid= (none or the host's uuid: the host; else a VM,
 * else an SR), copied; NULL with resp set when there is none. */
static struct rrdb *owner_copy(struct http_ctx *c, const struct http_req *req,
                               enum mon_owner_kind *kind, const char **uuid, struct http_resp *resp,
                               const char *what)
{
	const char *u = http_q(req, "uuid");
	struct rrdb *r = NULL;
	if (!u || !*u || !strcmp(u, c->host_uuid)) {
		*kind = MON_HOST;
		*uuid = c->host_uuid;
		r = mon_dup(c->reg, MON_HOST, NULL);
		if (!r)
			http_resp_error(resp, 404, "%s: the host has no RRD yet", what);
		return r;
	}
	if (strlen(u) > MON_UUID_LEN) {
		http_resp_error(resp, 400, "%s: '%.40s...' is not a uuid", what, u);
		return NULL;
	}
	*uuid = u;
	*kind = MON_VM;
	r = mon_dup(c->reg, MON_VM, u);
	if (!r) {
		*kind = MON_SR;
		r = mon_dup(c->reg, MON_SR, u);
	}
	if (!r)
		http_resp_error(resp, 404, "%s: no RRD for %.64s", what, u);
	return r;
}

static bool enter(struct http_resp *resp, const char *what)
{
	if (atomic_fetch_add(&in_flight, 1) >= EP_GRAPH_MAX_QUEUED) {
		atomic_fetch_sub(&in_flight, 1);
		http_resp_error(resp, 503, "%s: too many renders in progress, retry later", what);
		return false;
	}
	pthread_mutex_lock(&render_mu);
	return true;
}

static void leave(void)
{
	pthread_mutex_unlock(&render_mu);
	atomic_fetch_sub(&in_flight, 1);
}

static void ep_graph_draw(struct http_ctx *c, const struct http_req *req, struct http_resp *resp)
{
	struct exp_graph_kv *kv = xcalloc(req->nquery ? req->nquery : 1, sizeof(*kv));
	for (size_t i = 0; i < req->nquery; i++) {
		kv[i].k = req->query[i].k;
		kv[i].v = req->query[i].v;
	}
	static const char *const ignore[] = {"uuid", NULL};
	struct exp_graph_req g;
	char err[512];
	int rc = exp_graph_parse(&g, kv, req->nquery, ignore, err, sizeof(err));
	if (rc) {
		free(kv);
		http_resp_error(resp, 400, "graph: %s", err);
		return;
	}
	enum mon_owner_kind kind;
	const char *uuid;
	struct rrdb *r = owner_copy(c, req, &kind, &uuid, resp, "graph");
	if (!r) {
		free(kv);
		return;
	}
	/* units of the live descriptors, for the legend */
	const char **units = xcalloc(r->nds ? r->nds : 1, sizeof(*units));
	struct mon_dsinfo *info = NULL;
	int ninfo = mon_possible_dss(c->reg, kind, kind == MON_HOST ? NULL : uuid, &info);
	for (int i = 0; i < ninfo; i++) {
		if (!info[i].d.name || !info[i].d.units)
			continue;
		int d = rrdb_find_ds(r, info[i].d.name);
		if (d >= 0)
			units[d] = info[i].d.units;
	}
	char subject[128];
	snprintf(subject, sizeof(subject), "%s %s",
	         kind == MON_HOST ? "host"
	         : kind == MON_VM ? "vm"
	                          : "sr",
	         uuid);
	struct buf img = BUF_INIT;
	if (enter(resp, "graph")) {
		rc = exp_graph_render(r, &g, subject, units, &img, err, sizeof(err));
		leave();
		if (rc == -EINVAL) {
			http_resp_error(resp, 400, "graph: %s", err);
		} else if (rc == -ENOSYS) {
			http_resp_error(resp, 501, "graph: %s", err);
		} else if (rc) {
			http_resp_error(resp, 500, "graph: %s", err);
		} else {
			buf_free(&resp->body);
			resp->body = img;
			img = BUF_INIT;
			resp->status = 200;
			resp->ctype = g.svg ? "image/svg+xml" : "image/png";
			resp->framing = HF_LENGTH;
			resp->no_cache = true;
			resp->cors = true;
		}
	}
	buf_free(&img);
	if (ninfo > 0)
		mon_dsinfo_free(info, (size_t)ninfo);
	else
		free(info);
	free(units);
	rrdb_free(r);
	free(kv);
}

static int read_file(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(out, tmp, n);
	int rc = ferror(f) ? -EIO : 0;
	fclose(f);
	return rc;
}

static void ep_rrd_file(struct http_ctx *c, const struct http_req *req, struct http_resp *resp)
{
	for (size_t i = 0; i < req->nquery; i++) {
		const char *k = req->query[i].k;
		if (strcmp(k, "uuid") && strcmp(k, "mapping")) {
			http_resp_error(resp, 400, "rrd_file: unknown parameter '%.40s'", k);
			return;
		}
	}
	const char *mapping = http_q(req, "mapping");
	if (mapping && strcmp(mapping, "") && strcmp(mapping, "true") && strcmp(mapping, "1")) {
		http_resp_error(resp, 400, "rrd_file: mapping takes no value or true");
		return;
	}
	enum mon_owner_kind kind;
	const char *uuid;
	struct rrdb *r = owner_copy(c, req, &kind, &uuid, resp, "rrd_file");
	if (!r)
		return;
	if (mapping) {
		exp_rrdfile_name *names = xcalloc(r->nds ? r->nds : 1, sizeof(*names));
		exp_rrdfile_names(r, names);
		buf_reset(&resp->body);
		exp_rrdfile_mapping(&resp->body, r, names, 1);
		free(names);
		rrdb_free(r);
		resp->status = 200;
		resp->ctype = "application/json";
		resp->framing = HF_LENGTH;
		resp->no_cache = true;
		return;
	}
	char err[512] = "";
	if (!enter(resp, "rrd_file")) {
		rrdb_free(r);
		return;
	}
	char dir[4096], path[4200];
	int rc = exp_rrdfile_tmpdir(dir, sizeof(dir));
	if (rc) {
		leave();
		rrdb_free(r);
		http_resp_error(resp, 500, "rrd_file: temporary directory: %s", strerror(-rc));
		return;
	}
	snprintf(path, sizeof(path), "%s/export.rrd", dir);
	rc = exp_rrdfile_write(r, path, err, sizeof(err));
	leave();
	rrdb_free(r);
	struct buf body = BUF_INIT;
	if (!rc)
		rc = read_file(path, &body);
	else if (rc != -ENOSYS)
		rc = -EIO;
	exp_rrdfile_rmtree(dir);
	if (rc) {
		buf_free(&body);
		http_resp_error(resp, rc == -ENOSYS ? 501 : 500, "rrd_file: %s",
		                err[0] ? err : strerror(-rc));
		return;
	}
	buf_free(&resp->body);
	resp->body = body;
	resp->status = 200;
	resp->ctype = "application/octet-stream";
	resp->framing = HF_LENGTH;
	resp->no_cache = true;
}

void ep_graph(struct http_ctx *c, enum http_route r, const struct http_req *req,
              struct http_resp *resp)
{
	if (r == R_RRD_FILE)
		ep_rrd_file(c, req, resp);
	else
		ep_graph_draw(c, req, resp);
}
