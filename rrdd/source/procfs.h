/*
 * Parsers for the dom0 /proc files the Xen backend reads (net/dev, loadavg,
 * meminfo).  Each takes the file's text (or path) so tests feed fixtures; the
 * text is treated as untrusted: malformed lines are skipped, never trusted.
 */
#ifndef RRDD_SOURCE_PROCFS_H
#define RRDD_SOURCE_PROCFS_H

#include <stddef.h>
#include <stdint.h>

#include "source/source.h"

/* Read at most max bytes of a file into a NUL-terminated malloc'd string in
 * *out (length in *len).  Returns 0, a negative errno from open/read, or
 * -EFBIG when the file is longer than max. */
int src_read_file(const char *path, size_t max, char **out, size_t *len);

/* Append every device of a /proc/net/dev text except "lo" to h->net.
 * Returns the number of devices added; lines that do not parse are skipped. */
int src_parse_net_dev(const char *text, struct src_host *h);

/* The 1-minute figure of a /proc/loadavg text; 0 or -EINVAL. */
int src_parse_loadavg(const char *text, double *out);

/* MemAvailable of a /proc/meminfo text, in KiB; 0, -ENOENT (no such line) or
 * -EINVAL (a unit other than kB). */
int src_parse_meminfo_available(const char *text, int64_t *kib);

#endif
