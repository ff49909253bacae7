/*
 * rrdd-tool export-rrd and graph (see rrdexport.h): an archive (<uuid>.gz
 * or plain XML, as `rrdd-tool dump` reads) written as an rrdtool file, or
 * drawn to a PNG/SVG file with the GET /graph parameters.  Messages go to
 * stderr; exit 1 for bad input, 2 for usage errors.
 */
#include "tool/rrdexport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/rrdfile.h"
#include "export/rrdgraph.h"
#include "store/archive.h"
#include "store/xml_parse.h"
#include "util/buf.h"

const char tool_rrdexport_usage[] =
    "       rrdd-tool export-rrd ARCHIVE[.gz] OUT.rrd [--json]\n"
    "                         (rrdtool file; prints rrdtool-name<TAB>ds-name, or JSON)\n"
    "       rrdd-tool graph ARCHIVE[.gz] OUT.png|OUT.svg [ds=PATTERN]... [start=-1h]\n"
    "                         [end=now] [width=800] [height=300] [format=png|svg]\n"
    "                         [title=TEXT] [cf=AVERAGE]   (see docs/graphs.md)\n";

int tool_export_rrd(int argc, char **argv)
{
	const char *pos[2];
	int npos = 0, json = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "rrdd-tool export-rrd: unknown option %s\n", argv[i]);
			return 2;
		} else if (npos < 2)
			pos[npos++] = argv[i];
		else
			npos = 3;
	}
	if (npos != 2) {
		fprintf(stderr, "usage: rrdd-tool export-rrd ARCHIVE OUT.rrd [--json]\n");
		return 2;
	}
	char err[1024];
	struct rrdb *r = NULL;
	if (store_load_xml_file(pos[0], &r, err, sizeof(err))) {
		fprintf(stderr, "rrdd-tool: %s\n", err);
		return 1;
	}
	if (exp_rrdfile_write(r, pos[1], err, sizeof(err))) {
		fprintf(stderr, "rrdd-tool: %s: %s\n", pos[1], err);
		rrdb_free(r);
		return 1;
	}
	exp_rrdfile_name *names = calloc(r->nds ? r->nds : 1, sizeof(*names));
	if (!names)
		abort();
	exp_rrdfile_names(r, names);
	struct buf b = BUF_INIT;
	exp_rrdfile_mapping(&b, r, names, json);
	fwrite(b.p, 1, b.len, stdout);
	buf_free(&b);
	free(names);
	rrdb_free(r);
	return 0;
}

int tool_graph(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: rrdd-tool graph ARCHIVE OUT [key=value]...\n");
		return 2;
	}
	const char *in = argv[1], *outp = argv[2];
	int n = argc - 3;
	struct exp_graph_kv *kv = calloc((size_t)(n ? n : 1), sizeof(*kv));
	if (!kv)
		abort();
	for (int i = 0; i < n; i++) {
		char *eq = strchr(argv[3 + i], '=');
		if (!eq) {
			fprintf(stderr, "rrdd-tool graph: '%s' is not key=value\n", argv[3 + i]);
			free(kv);
			return 2;
		}
		*eq = '\0';
		kv[i].k = argv[3 + i];
		kv[i].v = eq + 1;
	}
	struct exp_graph_req g;
	char err[1024];
	if (exp_graph_parse(&g, kv, (size_t)n, NULL, err, sizeof(err))) {
		fprintf(stderr, "rrdd-tool graph: %s\n", err);
		free(kv);
		return 2;
	}
	/* the format follows the file name unless given */
	size_t ol = strlen(outp);
	int fmt_given = 0;
	for (int i = 0; i < n; i++)
		if (!strcmp(kv[i].k, "format"))
			fmt_given = 1;
	if (!fmt_given && ol > 4 && !strcmp(outp + ol - 4, ".svg"))
		g.svg = 1;
	struct rrdb *r = NULL;
	int rc = 1;
	struct buf img = BUF_INIT;
	if (store_load_xml_file(in, &r, err, sizeof(err))) {
		fprintf(stderr, "rrdd-tool: %s\n", err);
		goto out;
	}
	if (exp_graph_render(r, &g, in, NULL, &img, err, sizeof(err))) {
		fprintf(stderr, "rrdd-tool graph: %s\n", err);
		goto out;
	}
	FILE *f = fopen(outp, "wb");
	if (!f || fwrite(img.p, 1, img.len, f) != img.len || fclose(f)) {
		fprintf(stderr, "rrdd-tool graph: %s: %s\n", outp, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_free(&img);
	rrdb_free(r);
	free(kv);
	return rc;
}
