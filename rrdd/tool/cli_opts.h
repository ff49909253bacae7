/*
 * Internal to rrdd-tool's daemon commands: the parsed common options and
 * the owner argument ("host", "vm UUID", "sr UUID", "all") shared by
 * cli_cmds.c and cli_files.c.  No behaviour of its own.
 */
#ifndef RRDD_TOOL_CLI_OPTS_H
#define RRDD_TOOL_CLI_OPTS_H

#include "tool/cli_http.h"

struct copts {
	struct cli_conn conn;
	int json;
	const char *cf;
	const char *format;
	const char *output;
	const char *remote;
	long long domid;
	long interval, count;
	int nargs;
	char **args;
};

enum owner { OWN_HOST, OWN_VM, OWN_SR, OWN_ALL };

struct owner_arg {
	enum owner kind;
	const char *uuid;
};

/* "host", "vm", "sr" or "all". */
const char *cli_own_word(enum owner k);

/* Take an owner from the front of o's arguments (allow_all: "all" too;
 * dflt_host: no words means the host).  Returns 0, or -1 on a usage error. */
int cli_take_owner(struct copts *o, int allow_all, int dflt_host, struct owner_arg *out);

/* Print a usage error for cmd and return the usage exit status (2). */
int cli_usage_error(const char *cmd, const char *what);

/* get (host | vm UUID | sr UUID) [--format xml|json|rrd|mapping] [-o FILE]:
 * the full RRD (GET /host_rrd, /vm_rrd, /sr_rrd) or the rrdtool file or
 * its DS name mapping (GET /rrd_file).  Returns the exit status. */
int cli_cmd_get(struct copts *o);

/* plot (host | vm UUID | sr UUID) OUT [key=value...]: GET /graph into OUT
 * (SVG if OUT ends in .svg).  Returns the exit status. */
int cli_cmd_plot(struct copts *o);

#endif
