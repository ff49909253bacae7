/*
 * The names of the running VMs (xenstore's /local/domain/<domid>/name, the
 * simulated host's names), for the OpenMetrics exposition's info family
 * xen_vm_info{vm_uuid, name}.  Written by the tick from each sample, read
 * by the exposition; not RRD data (nothing journaled, nothing archived).
 *
 * Threads: every function may be called from any thread.
 */
#ifndef RRDD_DAEMON_VMNAMES_H
#define RRDD_DAEMON_VMNAMES_H

#include <stddef.h>

#include "source/source.h"

struct vmname {
	char uuid[SRC_UUID_LEN + 1];
	char name[SRC_VM_NAME_LEN];
};

struct vmnames;

/* An empty table. */
struct vmnames *vmnames_new(void);

/* Free the table; NULL is a no-op. */
void vmnames_free(struct vmnames *t);

/* The table becomes the snapshot's domains with a name (failed samples
 * keep the name they had). */
void vmnames_update(struct vmnames *t, const struct src_snapshot *snap);

/* A copy of the table (malloc'ed, free() it); returns the count.  NULL
 * table: 0 and *out NULL. */
size_t vmnames_copy(struct vmnames *t, struct vmname **out);

#endif
