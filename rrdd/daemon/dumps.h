/*
 * The per-cycle JSON dumps of spec 3.6, as xcp-rrdd writes them to /dev/shm:
 * host-metrics.json = {"<ds>": <latest>} and vm-metrics.json =
 * {"<vm-uuid>": {"<ds>": <latest>}}, the latest value being
 * rrdb_query_latest (what query_*_ds returns); NaN and infinities as the
 * strings "NaN", "infinity", "-infinity".  Files are replaced atomically
 * (temporary file + rename), mode 0644.  The text is built under the
 * registry's read lock; the files are written outside it.  No logging.
 */
#ifndef RRDD_DAEMON_DUMPS_H
#define RRDD_DAEMON_DUMPS_H

#include <stddef.h>

#include "util/buf.h"

struct mon_registry;

/* Build both documents (lock taken inside).  memo (may be NULL) keeps the
 * number texts from one build to the next: pass the same one every cycle. */
struct num_memo;
void dump_build(struct mon_registry *reg, struct buf *host, struct buf *vms, struct num_memo *memo);

/* Write content to <dir>/<name> atomically, mode 0644 (no fsync: /dev/shm
 * content is rebuilt every 5 s).  0, or a negative errno with a message. */
int dump_write_file(const char *dir, const char *name, const char *data, size_t n, char *err,
                    size_t errlen);

/* Build and write both files into dir.  0, or a negative errno with a
 * message (the first failure). */
int dump_metrics(struct mon_registry *reg, const char *dir, char *err, size_t errlen);

#endif
