/*
 * rrdd-tool: the offline tool.  Works without the daemon, on files:
 *   replay TRACE     build an RRD from a fixture-format trace (definition +
 *                    updates, plain or gzip JSON) and dump it
 *   dump FILE        read an archive (<uuid>.gz or plain XML) and dump it
 *   updates SRC...   rrd_updates over archives given as PREFIX=FILE
 * Dumps are full RRD XML (public or internal form) or JSON, or an
 * rrd_updates export for --start/--interval/--cf.  Bad input: a message on
 * stderr naming the problem and exit status 1; usage errors exit 2.
 * The commands that talk to a running daemon (ls, show, rrd2csv, ...) are
 * in cli_*.c and dispatched from main(); run as "rrd2csv" (a link) the
 * program behaves as the rrd2csv command.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export/rrd_json.h"
#include "export/rrd_xml.h"
#include "export/updates.h"
#include "rrd/rrd.h"
#include "store/archive.h"
#include "store/xml_parse.h"
#include "rpc/methods.h"
#include "tool/cli.h"
#include "tool/rrdexport.h"
#include "tool/trace.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define MAX_TRACE_BYTES (1u << 30)

struct opts {
	const char *format; /* xml | internal | json */
	int updates;        /* export rrd_updates instead of the full RRD */
	long long start, interval;
	int has_cf;
	enum cf_type cf;
	int json;
	int have_start;
	const char *prefix;
};

static void usage(FILE *f)
{
	fputs("usage: rrdd-tool replay TRACE.json[.gz] [--format xml|internal|json]\n"
	      "                         [--updates --start S [--interval I] [--cf CF] [--json]\n"
	      "                          [--prefix host:UUID:]]\n"
	      "       rrdd-tool dump ARCHIVE[.gz] [same options as replay]\n"
	      "       rrdd-tool updates --start S [--interval I] [--cf CF] [--json]\n"
	      "                         PREFIX=ARCHIVE...   (e.g. host:UUID:=host.xml)\n"
	      "Formats: xml = full RRD as GET /host_rrd serves it, internal = as archived,\n"
	      "json = JSON form.  --start may be negative (relative to the last update).\n"
	      "       rrdd-tool rpc-methods   the daemon's RPC methods and what each changes\n"
	      "                               (read, rrds, archives, session)\n",
	      f);
	fputs(tool_rrdexport_usage, f);
	cli_usage(f);
}

/* Read a whole file, gunzipping transparently. */
static int read_all(const char *path, struct buf *b, char *err, size_t errlen)
{
	gzFile f = gzopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOENT));
		return -1;
	}
	for (;;) {
		char *p = buf_reserve(b, 65536);
		int n = gzread(f, p, 65536);
		if (n < 0) {
			int e;
			snprintf(err, errlen, "%s: read error: %s", path, gzerror(f, &e));
			gzclose(f);
			return -1;
		}
		if (n == 0)
			break;
		buf_commit(b, (size_t)n);
		if (b->len > MAX_TRACE_BYTES) {
			snprintf(err, errlen, "%s: larger than %u bytes", path, MAX_TRACE_BYTES);
			gzclose(f);
			return -1;
		}
	}
	gzclose(f);
	if (memchr(b->p, '\0', b->len)) {
		snprintf(err, errlen, "%s: contains NUL bytes", path);
		return -1;
	}
	return 0;
}

static int emit_updates(const struct exp_updates_src *src, size_t n, const struct opts *o)
{
	struct buf out = BUF_INIT;
	int rc =
	    exp_updates(&out, src, n, o->start, o->interval, o->has_cf ? &o->cf : NULL, o->json);
	if (rc < 0) {
		fprintf(stderr, "rrdd-tool: no archive answers this query (No_RRA_Available)\n");
		buf_free(&out);
		return 1;
	}
	fwrite(out.p, 1, out.len, stdout);
	buf_free(&out);
	return 0;
}

static int emit(const struct rrdb *r, const struct opts *o)
{
	if (o->updates) {
		struct exp_updates_src src = {o->prefix, r};
		return emit_updates(&src, 1, o);
	}
	struct buf out = BUF_INIT;
	if (strcmp(o->format, "json") == 0)
		exp_rrd_json(&out, r);
	else
		exp_rrd_xml(&out, r, strcmp(o->format, "internal") == 0);
	fwrite(out.p, 1, out.len, stdout);
	buf_free(&out);
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {{"format", required_argument, 0, 'f'},
	                                   {"updates", no_argument, 0, 'u'},
	                                   {"start", required_argument, 0, 's'},
	                                   {"interval", required_argument, 0, 'i'},
	                                   {"cf", required_argument, 0, 'c'},
	                                   {"json", no_argument, 0, 'j'},
	                                   {"prefix", required_argument, 0, 'p'},
	                                   {"help", no_argument, 0, 'h'},
	                                   {0, 0, 0, 0}};
	int c;
	char *end;
	*o = (struct opts){.format = "xml", .prefix = "host:00000000-0000-0000-0000-000000000000:"};
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->format = optarg;
			if (strcmp(optarg, "xml") && strcmp(optarg, "internal") &&
			    strcmp(optarg, "json")) {
				fprintf(stderr, "rrdd-tool: unknown format '%s'\n", optarg);
				return -1;
			}
			break;
		case 'u':
			o->updates = 1;
			break;
		case 's':
		case 'i':
			errno = 0;
			long long v = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end) {
				fprintf(stderr, "rrdd-tool: --%s wants an integer, got '%s'\n",
				        c == 's' ? "start" : "interval", optarg);
				return -1;
			}
			if (c == 's')
				o->start = v, o->have_start = 1;
			else
				o->interval = v;
			break;
		case 'c':
			if (rrdb_cf_parse(optarg, &o->cf)) {
				fprintf(stderr,
				        "rrdd-tool: unknown cf '%s' (AVERAGE, MIN, MAX, LAST)\n",
				        optarg);
				return -1;
			}
			o->has_cf = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'p':
			o->prefix = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (o->updates && !o->have_start) {
		fprintf(stderr, "rrdd-tool: --updates needs --start\n");
		return -1;
	}
	if (o->interval < 0) {
		fprintf(stderr, "rrdd-tool: --interval must not be negative\n");
		return -1;
	}
	return 0;
}

static int cmd_replay(const char *path, const struct opts *o)
{
	char err[512];
	struct buf text = BUF_INIT;
	struct rrdb *r = NULL;
	int rc = 1;
	if (read_all(path, &text, err, sizeof(err)) ||
	    trace_replay(buf_cstr(&text), &r, err, sizeof(err))) {
		fprintf(stderr, "rrdd-tool: %s\n", err);
		goto out;
	}
	rc = emit(r, o);
out:
	rrdb_free(r);
	buf_free(&text);
	return rc;
}

static int cmd_dump(const char *path, const struct opts *o)
{
	char err[512];
	struct rrdb *r = NULL;
	if (store_load_xml_file(path, &r, err, sizeof(err))) {
		fprintf(stderr, "rrdd-tool: %s\n", err);
		return 1;
	}
	int rc = emit(r, o);
	rrdb_free(r);
	return rc;
}

static int cmd_updates(int n, char **args, struct opts *o)
{
	struct exp_updates_src *src = xcalloc((size_t)n, sizeof(*src));
	struct rrdb **rrds = xcalloc((size_t)n, sizeof(*rrds));
	int rc = 1, i;
	for (i = 0; i < n; i++) {
		char err[512];
		char *eq = strstr(args[i], ":=");
		if (!eq) {
			fprintf(stderr,
			        "rrdd-tool: '%s' is not PREFIX=FILE (e.g. vm:UUID:=f.xml)\n",
			        args[i]);
			goto out;
		}
		eq[1] = '\0';
		src[i].prefix = args[i];
		if (store_load_xml_file(eq + 2, &rrds[i], err, sizeof(err))) {
			fprintf(stderr, "rrdd-tool: %s\n", err);
			goto out;
		}
		src[i].rrd = rrds[i];
	}
	o->updates = 1;
	rc = emit_updates(src, (size_t)n, o);
out:
	for (i = 0; i < n; i++)
		rrdb_free(rrds[i]);
	free(rrds);
	free(src);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (strcmp(base, "rrd2csv") == 0)
		return cli_rrd2csv(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "rpc-methods") == 0 && argc == 2) {
		size_t n;
		const struct rpc_method *m = rpc_methods(&n);
		for (size_t i = 0; i < n; i++)
			printf("%s %s\n", m[i].name, rpc_effect_name((enum rpc_effect)m[i].effect));
		return 0;
	}
	if (strcmp(cmd, "export-rrd") == 0)
		return tool_export_rrd(argc - 1, argv + 1);
	if (strcmp(cmd, "graph") == 0)
		return tool_graph(argc - 1, argv + 1);
	if (cli_is_command(cmd))
		return cli_main(argc - 1, argv + 1);
	if (parse_opts(argc - 1, argv + 1, &o))
		return 2;
	int nargs = argc - 1 - optind;
	char **args = argv + 1 + optind;
	if (strcmp(cmd, "replay") == 0 && nargs == 1)
		return cmd_replay(args[0], &o);
	if (strcmp(cmd, "dump") == 0 && nargs == 1)
		return cmd_dump(args[0], &o);
	if (strcmp(cmd, "updates") == 0 && nargs >= 1) {
		if (!o.have_start) {
			fprintf(stderr, "rrdd-tool: updates needs --start\n");
			return 2;
		}
		return cmd_updates(nargs, args, &o);
	}
	usage(stderr);
	return 2;
}
