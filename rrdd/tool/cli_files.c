/*
 * rrdd-tool's daemon commands that save what the daemon renders (cli_opts.h):
 * get (a full RRD as XML or JSON, an rrdtool .rrd file, or its DS name
 * mapping) and plot (a PNG or SVG graph).  Bodies are written as received;
 * error answers print the daemon's one-line reason.  Writes only stdout,
 * stderr and the named output file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tool/cli.h"
#include "tool/cli_http.h"
#include "tool/cli_opts.h"
#include "util/buf.h"

/* ---- get / plot ---- */

/* Append "?uuid=U" (or nothing for the host) percent-encoded. */
static void add_uuid(struct buf *path, const struct owner_arg *w, char sep)
{
	if (!w->uuid)
		return;
	buf_printf(path, "%cuuid=", sep);
	for (const char *p = w->uuid; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '-')
			buf_addc(path, (char)c);
		else
			buf_printf(path, "%%%02X", c);
	}
}

/* GET path and write the body to out ("-" or NULL: stdout).  Non-200
 * answers print the daemon's one-line reason. */
static int fetch_to(struct copts *o, const char *cmd, const char *path, const char *accept,
                    const struct owner_arg *w, const char *out)
{
	struct cli_http_resp resp;
	char err[1024];
	int rc = cli_http(&o->conn, "GET", path, accept, NULL, 0, NULL, &resp, err, sizeof(err));
	if (rc)
		return cli_fail(cmd, rc, err);
	if (resp.status != 200) {
		char why[256] = "";
		size_t n = resp.body.len < sizeof(why) - 1 ? resp.body.len : sizeof(why) - 1;
		for (size_t i = 0; i < n && resp.body.p[i] != '\n' && resp.body.p[i] != '<'; i++)
			why[i] =
			    (resp.body.p[i] >= ' ' && resp.body.p[i] < 127) ? resp.body.p[i] : '?';
		if (resp.status == 404 || (resp.status == 500 && !why[0]))
			fprintf(stderr, "rrdd-tool %s: rrdd has no RRD for %s%s%s (HTTP %d)\n", cmd,
			        cli_own_word(w->kind), w->uuid ? " " : "", w->uuid ? w->uuid : "",
			        resp.status);
		else
			fprintf(stderr, "rrdd-tool %s: rrdd answered HTTP %d%s%s\n", cmd,
			        resp.status, why[0] ? ": " : "", why);
		buf_free(&resp.body);
		return 1;
	}
	FILE *f = stdout;
	if (out && strcmp(out, "-") != 0) {
		f = fopen(out, "w");
		if (!f) {
			fprintf(stderr, "rrdd-tool %s: %s: %s\n", cmd, out, strerror(errno));
			buf_free(&resp.body);
			return 1;
		}
	}
	size_t n = fwrite(resp.body.p ? resp.body.p : "", 1, resp.body.len, f);
	int bad = n != resp.body.len || fflush(f) != 0;
	if (f != stdout)
		bad |= fclose(f) != 0;
	buf_free(&resp.body);
	if (bad) {
		fprintf(stderr, "rrdd-tool %s: write error\n", cmd);
		return 1;
	}
	return 0;
}

int cli_cmd_get(struct copts *o)
{
	struct owner_arg w;
	if (cli_take_owner(o, 0, 0, &w) || o->nargs)
		return cli_usage_error("get", "expected host, vm UUID or sr UUID");
	struct buf path = BUF_INIT;
	const char *accept = NULL;
	if (!strcmp(o->format, "rrd") || !strcmp(o->format, "mapping")) {
		if (!strcmp(o->format, "rrd") && !o->output)
			return cli_usage_error("get",
			                       "--format rrd writes a binary file: give -o FILE "
			                       "(- for standard output)");
		buf_adds(&path, "/rrd_file");
		add_uuid(&path, &w, '?');
		if (!strcmp(o->format, "mapping"))
			buf_adds(&path, w.uuid ? "&mapping" : "?mapping");
	} else {
		if (w.kind == OWN_HOST)
			buf_adds(&path, "/host_rrd");
		else
			buf_printf(&path, "/%s_rrd", cli_own_word(w.kind));
		add_uuid(&path, &w, '?');
		accept = strcmp(o->format, "json") == 0 ? "application/json" : "text/xml";
	}
	int rc = fetch_to(o, "get", buf_cstr(&path), accept, &w, o->output);
	buf_free(&path);
	return rc;
}

/* plot (host | vm UUID | sr UUID) OUT.png|OUT.svg [key=value...]: GET
 * /graph with the key=value pairs as query parameters. */
int cli_cmd_plot(struct copts *o)
{
	struct owner_arg w;
	if (cli_take_owner(o, 0, 0, &w) || o->nargs < 1)
		return cli_usage_error(
		    "plot", "expected host|vm UUID|sr UUID OUT.png|OUT.svg [key=value]...");
	const char *out = o->args[0];
	struct buf path = BUF_INIT;
	buf_adds(&path, "/graph");
	add_uuid(&path, &w, '?');
	char sep = w.uuid ? '&' : '?';
	int has_format = 0;
	for (int i = 1; i < o->nargs; i++) {
		const char *kv = o->args[i], *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			buf_free(&path);
			return cli_usage_error(
			    "plot", "graph parameters are key=value (ds=cpu* start=-1h)");
		}
		has_format |= !strncmp(kv, "format=", 7);
		buf_addc(&path, sep);
		sep = '&';
		for (const char *p = kv; *p; p++) {
			unsigned char c = (unsigned char)*p;
			if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || c == '-' || c == '_' || c == '.' ||
			    c == '*' || c == '?' || (p == eq))
				buf_addc(&path, (char)c);
			else
				buf_printf(&path, "%%%02X", c);
		}
	}
	size_t ol = strlen(out);
	if (!has_format && ol > 4 && !strcmp(out + ol - 4, ".svg"))
		buf_printf(&path, "%cformat=svg", sep);
	int rc = fetch_to(o, "plot", buf_cstr(&path), NULL, &w, out);
	buf_free(&path);
	return rc;
}
