/*
 * The per-cycle JSON dumps of wire-format.md §3.6, as xcp-rrdd writes them to /dev/shm:
 * host-metrics.json = {"<ds>": <latest>} and vm-metrics.json =
 * {"<vm-uuid>": {"<ds>": <latest>}}, the latest value being
 * rrdb_query_latest (what query_*_ds returns); NaN and infinities as the
 * strings "NaN", "infinity", "-infinity".  Files are replaced atomically
 * (temporary file + rename), mode 0644: a reader sees the previous document
 * or the new one, whole.  Both are built under the registry's read lock and
 * written as they are built, in pieces of DUMP_PIECE bytes (the VM document
 * is ~40 bytes per DS: 7 MB at 4096 VMs, never held whole in memory).
 * No logging.
 */
#ifndef RRDD_DAEMON_DUMPS_H
#define RRDD_DAEMON_DUMPS_H

#include <stddef.h>

#include "export/nummemo.h"
#include "util/buf.h"

struct mon_registry;

#define DUMP_PIECE (64 * 1024)

/* What the dumps keep from one cycle to the next: the piece buffer and the
 * number texts (nummemo.h).  Zero-initialise; dump_state_free releases. */
struct dump_state {
	struct buf piece;
	struct num_memo memo;
};

/* Build and write both files into dir (lock taken inside).  0, or a
 * negative errno with a message (the first failure; a file that could not
 * be written whole keeps its previous content). */
int dump_metrics(struct mon_registry *reg, const char *dir, struct dump_state *st, char *err,
                 size_t errlen);

/* Release what st holds (it can be used again). */
void dump_state_free(struct dump_state *st);

#endif
