/*
 * The admin commands of rrdd-tool that talk to a running daemon (cli.h):
 *   ls [host | vm UUID | sr UUID]          datasources: enabled/default, units
 *   show [host | vm UUID | sr UUID | all]  latest values as a table
 *   enable host DS | vm UUID DS | sr UUID DS   record a live datasource
 *   forget host DS | vm UUID DS | sr UUID DS   drop a datasource and history
 *   backup [--remote ADDR]                 archive every RRD now
 *   get, plot                              see cli_files.c
 *   watch [SELECTOR...]                    follow new rows of rrd_updates
 *   rrd2csv ...                            see cli_rrd2csv.c
 * Human output by default, JSON (strict: non-finite numbers as strings or
 * null, documented per command) with --json.  Numbers in human and JSON
 * output are printed with numfmt_double (xcp-rrdd's own number text).
 * Writes only to stdout/stderr (and the --output file of get).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "export/numfmt.h"
#include "rpc/jsonrpc.h"
#include "tool/cli.h"
#include "tool/cli_opts.h"
#include "tool/cli_rpc.h"
#include "tool/cli_updates.h"
#include "util/buf.h"
#include "util/xalloc.h"

static const char *const commands[] = {"rrd2csv", "ls",  "show",  "enable", "forget",
                                       "backup",  "get", "watch", "plot",   NULL};

bool cli_is_command(const char *name)
{
	for (int i = 0; commands[i]; i++)
		if (strcmp(name, commands[i]) == 0)
			return true;
	return false;
}

void cli_usage(FILE *f)
{
	fputs("Daemon commands (talk to a running rrdd; --socket PATH, default " CLI_DEFAULT_SOCKET
	      "):\n"
	      "       rrdd-tool ls [host | vm UUID | sr UUID] [--json]\n"
	      "       rrdd-tool show [host | vm UUID | sr UUID | all] [--cf CF] [--json]\n"
	      "       rrdd-tool enable (host | vm UUID [--domid N] | sr UUID) DS [--json]\n"
	      "       rrdd-tool forget (host | vm UUID | sr UUID) DS [--json]\n"
	      "       rrdd-tool backup [--remote ADDRESS] [--json]\n"
	      "       rrdd-tool get (host | vm UUID | sr UUID) [--format xml|json|rrd|mapping]\n"
	      "                 [-o FILE]   (rrd: an rrdtool file; mapping: its DS names)\n"
	      "       rrdd-tool plot (host | vm UUID | sr UUID) OUT.png|OUT.svg [ds=PATTERN]...\n"
	      "                 [start=-1h] [end=now] [width=800] [height=300] [cf=CF] [title=T]\n"
	      "       rrdd-tool watch [SELECTOR...] [--interval S] [--count N] [--cf CF] [--json]\n"
	      "       rrdd-tool rrd2csv [-n] [-u] [-s SECONDS] [--count N] [SELECTOR...]\n"
	      "SELECTOR: CF:SOURCE:UUID:METRIC as rrd2csv (empty fields are wildcards).\n"
	      "Exit status: 0 done, 1 refused or failed, 2 usage, 3 rrdd not reachable.\n",
	      f);
}

void cli_time_text(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		snprintf(out, 32, "%lld", t);
		return;
	}
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", (tm.tm_year + 1900) % 10000,
	         (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
	         tm.tm_sec % 100);
}

int cli_fail(const char *cmd, int rc, const char *err)
{
	fprintf(stderr, "rrdd-tool %s: %s\n", cmd, err);
	return cli_http_unreachable(rc) ? CLI_EXIT_UNREACHABLE : 1;
}

/* ---- shared option handling ---- */

enum {
	O_SOCKET = 256,
	O_TIMEOUT,
	O_JSON,
	O_CF,
	O_FORMAT,
	O_OUTPUT,
	O_REMOTE,
	O_DOMID,
	O_INTERVAL,
	O_COUNT
};

static int parse_num(const char *what, const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "rrdd-tool: --%s wants an integer in [%lld, %lld], got '%s'\n",
		        what, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_copts(const char *cmd, int argc, char **argv, struct copts *o)
{
	static const struct option lo[] = {{"socket", required_argument, 0, O_SOCKET},
	                                   {"timeout", required_argument, 0, O_TIMEOUT},
	                                   {"json", no_argument, 0, O_JSON},
	                                   {"cf", required_argument, 0, O_CF},
	                                   {"format", required_argument, 0, O_FORMAT},
	                                   {"output", required_argument, 0, O_OUTPUT},
	                                   {"remote", required_argument, 0, O_REMOTE},
	                                   {"domid", required_argument, 0, O_DOMID},
	                                   {"interval", required_argument, 0, O_INTERVAL},
	                                   {"count", required_argument, 0, O_COUNT},
	                                   {"help", no_argument, 0, 'h'},
	                                   {0, 0, 0, 0}};
	*o = (struct copts){.conn = {CLI_DEFAULT_SOCKET, 30000, 512u << 20},
	                    .format = "xml",
	                    .interval = 5,
	                    .count = -1};
	const char *env = getenv("RRDD_SOCKET");
	if (env && *env)
		o->conn.socket = env;
	int ch, format_given = 0;
	long long v;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
		switch (ch) {
		case O_SOCKET:
			o->conn.socket = optarg;
			break;
		case O_TIMEOUT:
			if (parse_num("timeout", optarg, 1, 3600, &v))
				return -1;
			o->conn.timeout_ms = (int)v * 1000;
			break;
		case O_JSON:
			o->json = 1;
			if (!format_given)
				o->format = "json";
			break;
		case O_CF:
			if (strcmp(optarg, "AVERAGE") && strcmp(optarg, "MIN") &&
			    strcmp(optarg, "MAX") && strcmp(optarg, "LAST")) {
				fprintf(stderr,
				        "rrdd-tool: --cf must be AVERAGE, MIN, MAX or LAST\n");
				return -1;
			}
			o->cf = optarg;
			break;
		case O_FORMAT:
			if (strcmp(optarg, "xml") && strcmp(optarg, "json") &&
			    strcmp(optarg, "rrd") && strcmp(optarg, "mapping")) {
				fprintf(stderr,
				        "rrdd-tool: --format must be xml, json, rrd or mapping\n");
				return -1;
			}
			o->format = optarg;
			format_given = 1;
			break;
		case 'o':
		case O_OUTPUT:
			o->output = optarg;
			break;
		case O_REMOTE:
			o->remote = optarg;
			break;
		case O_DOMID:
			if (parse_num("domid", optarg, 0, 0x7fff, &o->domid))
				return -1;
			break;
		case O_INTERVAL:
			if (parse_num("interval", optarg, 1, 86400, &v))
				return -1;
			o->interval = (long)v;
			break;
		case O_COUNT:
			if (parse_num("count", optarg, 0, 1000000000, &v))
				return -1;
			o->count = (long)v;
			break;
		case 'h':
			cli_usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	(void)cmd;
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

/* An owner on the command line: "host", "vm UUID", "sr UUID" (and "all"
 * where allowed).  Consumes the words; returns -1 on a usage error. */
const char *cli_own_word(enum owner k)
{
	return k == OWN_HOST ? "host" : k == OWN_VM ? "vm" : k == OWN_SR ? "sr" : "all";
}

int cli_take_owner(struct copts *o, int allow_all, int dflt_host, struct owner_arg *out)
{
	if (o->nargs == 0) {
		if (!dflt_host)
			return -1;
		*out = (struct owner_arg){OWN_HOST, NULL};
		return 0;
	}
	const char *w = o->args[0];
	if (!strcmp(w, "host")) {
		*out = (struct owner_arg){OWN_HOST, NULL};
		o->args++, o->nargs--;
		return 0;
	}
	if (allow_all && !strcmp(w, "all")) {
		*out = (struct owner_arg){OWN_ALL, NULL};
		o->args++, o->nargs--;
		return 0;
	}
	if ((!strcmp(w, "vm") || !strcmp(w, "sr")) && o->nargs >= 2) {
		*out = (struct owner_arg){w[0] == 'v' ? OWN_VM : OWN_SR, o->args[1]};
		o->args += 2, o->nargs -= 2;
		return 0;
	}
	return -1;
}

int cli_usage_error(const char *cmd, const char *what)
{
	fprintf(stderr, "rrdd-tool %s: %s (rrdd-tool --help)\n", cmd, what);
	return 2;
}

/* ---- JSON output helpers (strict JSON) ---- */

static void json_str(struct buf *b, const char *s)
{
	rpc_json_write_string(b, s, strlen(s));
}

/* A number, or a string for the non-finite values JSON cannot express. */
static void json_num_or_str(struct buf *b, double v)
{
	if (isnan(v))
		buf_adds(b, "\"nan\"");
	else if (isinf(v))
		buf_adds(b, v > 0 ? "\"inf\"" : "\"-inf\"");
	else {
		char t[NUMFMT_MAX];
		numfmt_double(t, v);
		buf_adds(b, t);
	}
}

/* A number, or null when not finite (values that are unknown). */
static void json_num_or_null(struct buf *b, double v)
{
	if (!isfinite(v)) {
		buf_adds(b, "null");
		return;
	}
	char t[NUMFMT_MAX];
	numfmt_double(t, v);
	buf_adds(b, t);
}

static void out_buf(struct buf *b)
{
	fwrite(b->p ? b->p : "", 1, b->len, stdout);
	fflush(stdout);
}

/* ---- ls ---- */

struct dsinfo {
	const char *name, *description, *units;
	int enabled, standard;
	double min, max;
};

static double dbl_of(const struct rpc_value *v)
{
	if (!v)
		return NAN;
	if (v->type == RPC_DOUBLE)
		return v->u.d;
	if (v->type == RPC_INT)
		return (double)v->u.i;
	if (v->type == RPC_STRING)
		return strtod(v->u.s.p, NULL);
	return NAN;
}

static const char *str_of(const struct rpc_value *v)
{
	return v && v->type == RPC_STRING ? v->u.s.p : "";
}

static int bool_of(const struct rpc_value *v)
{
	return v && v->type == RPC_BOOL && v->u.b;
}

/* query_possible_*_dss for an owner into *res (an array of structs). */
static int query_dss(struct copts *o, const struct owner_arg *w, struct rpc_value *res, char *err,
                     size_t errlen)
{
	struct rpc_value params = rpc_array();
	struct rpc_value st = rpc_struct();
	const char *method = "query_possible_host_dss";
	if (w->kind == OWN_VM) {
		method = "query_possible_vm_dss";
		rpc_struct_add(&st, "vm_uuid", rpc_string(w->uuid));
	} else if (w->kind == OWN_SR) {
		method = "query_possible_sr_dss";
		rpc_struct_add(&st, "sr_uuid", rpc_string(w->uuid));
	}
	rpc_array_push(&params, st);
	if (w->kind == OWN_HOST)
		rpc_array_push(&params, rpc_nil());
	int rc = cli_rpc_call(&o->conn, method, &params, res, err, errlen);
	rpc_value_free(&params);
	if (!rc && res->type != RPC_ARRAY) {
		snprintf(err, errlen, "%s: answer is not a list", method);
		rpc_value_free(res);
		rc = -EPROTO;
	}
	return rc;
}

static struct dsinfo ds_of(const struct rpc_value *s)
{
	return (struct dsinfo){
	    str_of(rpc_struct_get(s, "name")),      str_of(rpc_struct_get(s, "description")),
	    str_of(rpc_struct_get(s, "units")),     bool_of(rpc_struct_get(s, "enabled")),
	    bool_of(rpc_struct_get(s, "standard")), dbl_of(rpc_struct_get(s, "min")),
	    dbl_of(rpc_struct_get(s, "max"))};
}

static int cmd_ls(struct copts *o)
{
	struct owner_arg w;
	if (cli_take_owner(o, 0, 1, &w) || o->nargs)
		return cli_usage_error("ls", "expected host, vm UUID or sr UUID");
	struct rpc_value res;
	char err[1024];
	int rc = query_dss(o, &w, &res, err, sizeof(err));
	if (rc)
		return cli_fail("ls", rc, err);
	struct buf b = BUF_INIT;
	if (o->json) {
		buf_adds(&b, "[");
		for (uint32_t i = 0; i < res.u.a.n; i++) {
			struct dsinfo d = ds_of(&res.u.a.items[i]);
			buf_adds(&b, i ? ",\n {\"name\":" : "\n {\"name\":");
			json_str(&b, d.name);
			buf_printf(&b, ",\"enabled\":%s,\"standard\":%s,\"units\":",
			           d.enabled ? "true" : "false", d.standard ? "true" : "false");
			json_str(&b, d.units);
			buf_adds(&b, ",\"min\":");
			json_num_or_str(&b, d.min);
			buf_adds(&b, ",\"max\":");
			json_num_or_str(&b, d.max);
			buf_adds(&b, ",\"description\":");
			json_str(&b, d.description);
			buf_adds(&b, "}");
		}
		buf_adds(&b, res.u.a.n ? "\n]\n" : "]\n");
	} else {
		size_t wn = 10, wu = 5;
		for (uint32_t i = 0; i < res.u.a.n; i++) {
			struct dsinfo d = ds_of(&res.u.a.items[i]);
			wn = strlen(d.name) > wn ? strlen(d.name) : wn;
			wu = strlen(d.units) > wu ? strlen(d.units) : wu;
		}
		buf_printf(&b, "%-*s  %-7s  %-7s  %-*s  %-10s  %-10s  %s\n", (int)wn, "DATASOURCE",
		           "ENABLED", "DEFAULT", (int)wu, "UNITS", "MIN", "MAX", "DESCRIPTION");
		for (uint32_t i = 0; i < res.u.a.n; i++) {
			struct dsinfo d = ds_of(&res.u.a.items[i]);
			char mn[NUMFMT_MAX], mx[NUMFMT_MAX];
			numfmt_double(mn, d.min);
			numfmt_double(mx, d.max);
			buf_printf(&b, "%-*s  %-7s  %-7s  %-*s  %-10s  %-10s  %s\n", (int)wn,
			           d.name, d.enabled ? "yes" : "no", d.standard ? "yes" : "no",
			           (int)wu, d.units, mn, mx, d.description);
		}
		if (res.u.a.n == 0)
			buf_printf(&b, "(no datasources for %s%s%s)\n", cli_own_word(w.kind),
			           w.uuid ? " " : "", w.uuid ? w.uuid : "");
	}
	out_buf(&b);
	buf_free(&b);
	rpc_value_free(&res);
	return 0;
}

/* ---- enable / forget / backup ---- */

static int cmd_ds_change(struct copts *o, int enable)
{
	const char *cmd = enable ? "enable" : "forget";
	struct owner_arg w;
	if (cli_take_owner(o, 0, 0, &w) || o->nargs != 1)
		return cli_usage_error(cmd, "expected host DS, vm UUID DS or sr UUID DS");
	const char *ds = o->args[0];
	char method[32];
	snprintf(method, sizeof(method), "%s_%s_ds", enable ? "add" : "forget",
	         cli_own_word(w.kind));
	struct rpc_value params = rpc_array(), st = rpc_struct(), res;
	if (w.kind == OWN_VM)
		rpc_struct_add(&st, "vm_uuid", rpc_string(w.uuid));
	if (w.kind == OWN_SR)
		rpc_struct_add(&st, "sr_uuid", rpc_string(w.uuid));
	if (w.kind == OWN_VM && enable)
		rpc_struct_add(&st, "domid", rpc_int(o->domid));
	rpc_struct_add(&st, "ds_name", rpc_string(ds));
	rpc_array_push(&params, st);
	char err[1024];
	int rc = cli_rpc_call(&o->conn, method, &params, &res, err, sizeof(err));
	rpc_value_free(&params);
	if (rc)
		return cli_fail(cmd, rc, err);
	rpc_value_free(&res);
	struct buf b = BUF_INIT;
	if (o->json) {
		buf_printf(&b, "{\"ok\":true,\"method\":\"%s\",\"owner\":\"%s\",\"uuid\":", method,
		           cli_own_word(w.kind));
		if (w.uuid)
			json_str(&b, w.uuid);
		else
			buf_adds(&b, "null");
		buf_adds(&b, ",\"datasource\":");
		json_str(&b, ds);
		buf_adds(&b, "}\n");
	} else {
		buf_printf(&b, "%s %s%s%s datasource %s\n", enable ? "enabled" : "forgot",
		           cli_own_word(w.kind), w.uuid ? " " : "", w.uuid ? w.uuid : "", ds);
	}
	out_buf(&b);
	buf_free(&b);
	return 0;
}

static int cmd_backup(struct copts *o)
{
	if (o->nargs)
		return cli_usage_error("backup", "no arguments expected (--remote ADDRESS)");
	struct rpc_value params = rpc_array(), st = rpc_struct(), res;
	if (o->remote)
		rpc_struct_add(&st, "remote_address", rpc_string(o->remote));
	rpc_array_push(&params, st);
	rpc_array_push(&params, rpc_nil());
	char err[1024];
	int rc = cli_rpc_call(&o->conn, "backup_rrds", &params, &res, err, sizeof(err));
	rpc_value_free(&params);
	if (rc)
		return cli_fail("backup", rc, err);
	rpc_value_free(&res);
	if (o->json) {
		struct buf b = BUF_INIT;
		buf_adds(&b, "{\"ok\":true,\"method\":\"backup_rrds\",\"remote_address\":");
		if (o->remote)
			json_str(&b, o->remote);
		else
			buf_adds(&b, "null");
		buf_adds(&b, "}\n");
		out_buf(&b);
		buf_free(&b);
	} else if (o->remote) {
		printf("backup done: every RRD sent to %s\n", o->remote);
	} else {
		printf("backup done: every RRD archived by rrdd\n");
	}
	return 0;
}

/* ---- show ---- */

/* Units of the datasources of the owners in an export, fetched once per
 * owner through query_possible_*_dss (best effort: "" when unknown). */
struct units_cache {
	struct owner_arg *own;
	struct rpc_value *res;
	size_t n;
};

static const char *units_of(struct copts *o, struct units_cache *uc, const struct cli_legend *l)
{
	struct owner_arg w;
	if (!strcmp(l->owner, "host"))
		w = (struct owner_arg){OWN_HOST, NULL};
	else if (!strcmp(l->owner, "vm"))
		w = (struct owner_arg){OWN_VM, l->uuid};
	else if (!strcmp(l->owner, "sr"))
		w = (struct owner_arg){OWN_SR, l->uuid};
	else
		return "";
	size_t i;
	for (i = 0; i < uc->n; i++)
		if (uc->own[i].kind == w.kind &&
		    (w.kind == OWN_HOST || !strcmp(uc->own[i].uuid, w.uuid)))
			break;
	if (i == uc->n) {
		uc->own = xrealloc(uc->own, (uc->n + 1) * sizeof(*uc->own));
		uc->res = xrealloc(uc->res, (uc->n + 1) * sizeof(*uc->res));
		uc->own[i] = w;
		char err[256];
		if (query_dss(o, &w, &uc->res[i], err, sizeof(err)))
			uc->res[i] = rpc_array();
		uc->n++;
	}
	const struct rpc_value *a = &uc->res[i];
	for (uint32_t k = 0; k < a->u.a.n; k++)
		if (!strcmp(str_of(rpc_struct_get(&a->u.a.items[k], "name")), l->name))
			return str_of(rpc_struct_get(&a->u.a.items[k], "units"));
	return "";
}

static void units_free(struct units_cache *uc)
{
	for (size_t i = 0; i < uc->n; i++)
		rpc_value_free(&uc->res[i]);
	free(uc->res);
	free(uc->own);
}

static int legend_in(const struct owner_arg *w, const struct cli_legend *l)
{
	switch (w->kind) {
	case OWN_ALL:
		return 1;
	case OWN_HOST:
		return !strcmp(l->owner, "host");
	case OWN_VM:
		return !strcmp(l->owner, "vm") && !strcmp(l->uuid, w->uuid);
	case OWN_SR:
		return !strcmp(l->owner, "sr") && !strcmp(l->uuid, w->uuid);
	}
	return 0;
}

static int cmd_show(struct copts *o)
{
	struct owner_arg w;
	if (cli_take_owner(o, 1, 1, &w) || o->nargs)
		return cli_usage_error("show", "expected host, vm UUID, sr UUID or all");
	struct cli_updates_query q = {.start = -10, .cf = o->cf ? o->cf : "AVERAGE"};
	q.host = w.kind == OWN_HOST || w.kind == OWN_ALL;
	/* only the RRDs shown: a VM without the CF's archives would fail the
	 * whole query (VM RRDs have MIN/MAX only with --use-min-max) */
	q.vm_uuid = w.kind == OWN_VM ? w.uuid : w.kind == OWN_ALL ? NULL : "none";
	q.sr_uuid = w.kind == OWN_SR ? w.uuid : w.kind == OWN_ALL ? "all" : NULL;
	struct cli_xport x;
	char err[1024];
	int rc = cli_updates_fetch(&o->conn, &q, &x, err, sizeof(err));
	if (rc)
		return cli_fail("show", rc, err);
	struct units_cache uc = {0};
	struct buf b = BUF_INIT;
	char ts[32] = "";
	if (x.nrows)
		cli_time_text(x.t[0], ts);
	size_t shown = 0;
	if (o->json) {
		buf_adds(&b, "{\"time\":");
		if (x.nrows)
			buf_printf(&b, "%lld", x.t[0]);
		else
			buf_adds(&b, "null");
		buf_printf(&b, ",\"step\":%lld,\"cf\":\"%s\",\"values\":[", x.step, q.cf);
		for (size_t k = 0; k < x.ncols; k++) {
			const struct cli_legend *l = &x.legend[k];
			if (!legend_in(&w, l))
				continue;
			buf_adds(&b, shown++ ? ",\n {\"owner\":" : "\n {\"owner\":");
			json_str(&b, l->owner);
			buf_adds(&b, ",\"uuid\":");
			json_str(&b, l->uuid);
			buf_adds(&b, ",\"datasource\":");
			json_str(&b, l->name);
			buf_adds(&b, ",\"value\":");
			json_num_or_null(&b, x.nrows ? x.v[k] : NAN);
			buf_adds(&b, ",\"units\":");
			json_str(&b, units_of(o, &uc, l));
			buf_adds(&b, "}");
		}
		buf_adds(&b, shown ? "\n]}\n" : "]}\n");
	} else {
		size_t wn = 10;
		for (size_t k = 0; k < x.ncols; k++)
			if (legend_in(&w, &x.legend[k]) && strlen(x.legend[k].name) > wn)
				wn = strlen(x.legend[k].name);
		buf_printf(&b, "# %s values at %s (step %lld s)\n", q.cf,
		           x.nrows ? ts : "(no data)", x.step);
		buf_printf(&b, "%-5s  %-36s  %-*s  %-18s  %s\n", "OWNER", "UUID", (int)wn,
		           "DATASOURCE", "VALUE", "UNITS");
		for (size_t k = 0; k < x.ncols; k++) {
			const struct cli_legend *l = &x.legend[k];
			if (!legend_in(&w, l))
				continue;
			char v[NUMFMT_MAX];
			numfmt_double(v, x.nrows ? x.v[k] : NAN);
			buf_printf(&b, "%-5s  %-36s  %-*s  %-18s  %s\n", l->owner, l->uuid, (int)wn,
			           l->name, v, units_of(o, &uc, l));
			shown++;
		}
	}
	out_buf(&b);
	buf_free(&b);
	units_free(&uc);
	cli_xport_free(&x);
	return 0;
}

/* ---- watch ---- */

/* A watch selector: the rrd2csv grammar, exact here on every given field
 * except METRIC, which is a prefix as in rrd2csv. */
static int watch_match(char **sel, int nsel, const struct cli_legend *l)
{
	if (nsel == 0)
		return 1;
	for (int i = 0; i < nsel; i++) {
		const char *s = sel[i];
		char cf[16] = "", own[8] = "", uuid[64] = "";
		const char *metric = s;
		int colons = 0;
		for (const char *p = s; *p; p++)
			colons += *p == ':';
		if (colons == 3) {
			struct cli_legend f;
			if (cli_legend_parse(s, &f))
				continue;
			snprintf(cf, sizeof(cf), "%s", f.cf);
			snprintf(own, sizeof(own), "%s", f.owner);
			snprintf(uuid, sizeof(uuid), "%s", f.uuid);
			int ok = (!cf[0] || !strcmp(cf, l->cf)) &&
			         (!own[0] || !strcmp(own, l->owner)) &&
			         (!uuid[0] || !strcmp(uuid, l->uuid)) &&
			         !strncmp(l->name, f.name, strlen(f.name));
			cli_legend_free(&f);
			if (ok)
				return 1;
			continue;
		}
		if (!strncmp(l->name, metric, strlen(metric)))
			return 1;
	}
	return 0;
}

static int cmd_watch(struct copts *o)
{
	for (int i = 0; i < o->nargs; i++) {
		int colons = 0;
		for (const char *p = o->args[i]; *p; p++)
			colons += *p == ':';
		if (colons != 0 && colons != 3)
			return cli_usage_error("watch",
			                       "a selector is CF:SOURCE:UUID:METRIC or METRIC");
	}
	struct cli_updates_query q = {.start = -(long long)(o->interval * 2 + 10),
	                              .cf = o->cf ? o->cf : "AVERAGE",
	                              .host = 1,
	                              .sr_uuid = "all"};
	long long last_t = 0;
	long printed = 0;
	int first = 1;
	for (;;) {
		struct cli_xport x;
		char err[1024];
		int rc = cli_updates_fetch(&o->conn, &q, &x, err, sizeof(err));
		if (rc)
			return cli_fail("watch", rc, err);
		/* rows are newest first; print the new ones oldest first (only the
		 * newest on the first poll) */
		size_t from = 0;
		for (size_t r = 0; r < x.nrows; r++)
			if (x.t[r] > last_t)
				from = r + 1;
		if (first && x.nrows)
			from = 1;
		struct buf b = BUF_INIT;
		for (size_t r = from; r-- > 0 && (o->count < 0 || printed < o->count);) {
			char ts[32];
			cli_time_text(x.t[r], ts);
			if (o->json) {
				buf_printf(&b, "{\"t\":%lld,\"time\":\"%s\",\"values\":{", x.t[r],
				           ts);
				int n = 0;
				for (size_t k = 0; k < x.ncols; k++) {
					if (!watch_match(o->args, o->nargs, &x.legend[k]))
						continue;
					if (n++)
						buf_addc(&b, ',');
					json_str(&b, x.legend[k].text);
					buf_addc(&b, ':');
					json_num_or_null(&b, x.v[r * x.ncols + k]);
				}
				buf_adds(&b, "}}\n");
			} else {
				for (size_t k = 0; k < x.ncols; k++) {
					const struct cli_legend *l = &x.legend[k];
					if (!watch_match(o->args, o->nargs, l))
						continue;
					char v[NUMFMT_MAX];
					numfmt_double(v, x.v[r * x.ncols + k]);
					buf_printf(&b, "%s  %-4s  %s  %s  %s\n", ts, l->owner,
					           l->uuid, l->name, v);
				}
			}
			if (x.t[r] > last_t)
				last_t = x.t[r];
			printed++;
		}
		out_buf(&b);
		buf_free(&b);
		cli_xport_free(&x);
		first = 0;
		if (o->count >= 0 && printed >= o->count)
			return 0;
		sleep((unsigned)o->interval);
	}
}

int cli_main(int argc, char **argv)
{
	const char *cmd = argv[0];
	if (!strcmp(cmd, "rrd2csv"))
		return cli_rrd2csv(argc, argv);
	struct copts o;
	if (parse_copts(cmd, argc, argv, &o))
		return 2;
	if (!strcmp(cmd, "ls"))
		return cmd_ls(&o);
	if (!strcmp(cmd, "show"))
		return cmd_show(&o);
	if (!strcmp(cmd, "enable"))
		return cmd_ds_change(&o, 1);
	if (!strcmp(cmd, "forget"))
		return cmd_ds_change(&o, 0);
	if (!strcmp(cmd, "backup"))
		return cmd_backup(&o);
	if (!strcmp(cmd, "get"))
		return cli_cmd_get(&o);
	if (!strcmp(cmd, "plot"))
		return cli_cmd_plot(&o);
	if (!strcmp(cmd, "watch"))
		return cmd_watch(&o);
	cli_usage(stderr);
	return 2;
}
