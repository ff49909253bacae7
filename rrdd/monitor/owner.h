/*
 * The vocabulary every layer shares for whose data a sample is and what a
 * data source is: the hypervisor source (source/), the plugin reader
 * (plugin/), the registry (monitor/), the store (store/), the RPC (rpc/)
 * and the exporters all use these, so a sample keeps one description from
 * its producer to the engine.  Plain data; no I/O.
 */
#ifndef RRDD_MONITOR_OWNER_H
#define RRDD_MONITOR_OWNER_H

#include <stdbool.h>

#include "rrd/rrd.h"

#define MON_UUID_LEN 36

/* Whose data: the host, a VM, an SR (xcp-rrdd's owner, wire-format.md §6.4). */
enum mon_owner_kind { MON_HOST, MON_VM, MON_SR };

/* A data source descriptor, as a plugin's metadata (wire-format.md §6.4) or
 * the catalogue (wire-format.md §8) defines it.  Who owns the strings is
 * the holder's business (borrowed in a chunk, owned in the registry). */
struct mon_dsdesc {
	const char *name;
	const char *description;
	const char *units;
	enum ds_type type;
	enum val_type value_type;
	double min, max; /* -INFINITY / INFINITY when unset */
	bool dflt;       /* recorded without add_*_ds */
	enum ds_transform transform;
	/* The OpenMetrics identity a plugin gave the DS (protocol v3/v4), as
	 * `family{label="value",...}` with the values escaped as in the text
	 * format (the owner label left out), or NULL.  Not journaled: the
	 * plugin's next page gives it again. */
	const char *om;
};

/* The name of an owner kind: "host", "vm", "sr". */
const char *mon_owner_kind_name(enum mon_owner_kind k);

/* Copy a uuid (NULL = "") into a 37-byte field, truncating, NUL-padded. */
void mon_uuid_copy(char dst[MON_UUID_LEN + 1], const char *src);

#endif
