/*
 * rrdd-tool subcommands that go through librrd: export-rrd (an archive as
 * an rrdtool .rrd file) and graph (an archive drawn by rrd_graph).  Offline:
 * they read files, never the daemon.
 */
#ifndef RRDD_TOOL_RRDEXPORT_H
#define RRDD_TOOL_RRDEXPORT_H

/* rrdd-tool export-rrd ARCHIVE OUT.rrd [--json]: write the file and print
 * the DS name mapping on stdout.  argv[0] is "export-rrd".  Returns the
 * exit status (0, 1 bad input, 2 usage). */
int tool_export_rrd(int argc, char **argv);

/* rrdd-tool graph ARCHIVE OUT [key=value...]: the GET /graph parameters
 * (docs/graphs.md) as key=value arguments.  Returns the exit status. */
int tool_graph(int argc, char **argv);

/* Usage lines of both, for the tool's usage text. */
extern const char tool_rrdexport_usage[];

#endif
