/*
 * The daemon commands of rrdd-tool (the offline commands live in main.c):
 * rrd2csv, ls, show, enable, forget, backup, get, watch.  Each talks to a
 * running rrdd over its Unix socket (cli_http.h) and prints human text, or
 * JSON with --json.  Exit status: 0 done, 1 the daemon refused or answered
 * nonsense, 2 usage, 3 the daemon could not be reached.
 */
#ifndef RRDD_TOOL_CLI_H
#define RRDD_TOOL_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "tool/cli_http.h"

/* Whether name is one of the daemon commands. */
bool cli_is_command(const char *name);

/* Run daemon command argv[0] with its arguments; returns the exit status. */
int cli_main(int argc, char **argv);

/* rrd2csv-compatible mode: argv[0] is the program or command name, the rest
 * are rrd2csv's arguments ([-n] [-u] [-s SECONDS] [SELECTOR...]) plus ours
 * (--socket, --timeout, --count, --names).  Returns the exit status. */
int cli_rrd2csv(int argc, char **argv);

/* Print the usage of the daemon commands to f. */
void cli_usage(FILE *f);

/* Shared by the commands: "YYYY-MM-DDTHH:MM:SSZ" of t (UTC) into out[32]. */
void cli_time_text(long long t, char out[32]);

/* Map a cli_http/cli_rpc error code to an exit status, printing err. */
int cli_fail(const char *cmd, int rc, const char *err);

#endif
