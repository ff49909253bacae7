/*
 * The data sources rrdd produces itself from hypervisor snapshots, named and
 * defined exactly as xcp-rrdd's plugins name them (wire-format.md §8.2 rrdp-cpu, 8.3
 * rrdp-netdev, 8.4 rrdp-squeezed, 8.5 rrdp-iostat): a static catalogue of DS
 * families, and src_map(), which turns a snapshot (and the previous one, for
 * the per-interval figures) into named samples per owner.
 *
 * Pure: no I/O, no clock, no locks.  The output is plain data that the tick
 * loop applies to RRDs under its lock.
 */
#ifndef RRDD_SOURCE_CATALOGUE_H
#define RRDD_SOURCE_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rrd/rrd.h"
#include "monitor/owner.h"
#include "source/source.h"

/* One family of data sources: its descriptor (monitor/owner.h; value_type
 * as the plugin reports it), in whose name and description "{}" stands for
 * the family's parameter (a pCPU/vCPU number, a device name or number). */
struct src_catdef {
	struct mon_dsdesc d;
	enum mon_owner_kind owner;
	const char *plugin; /* the xcp-rrdd plugin uid that used to produce it */
};

/* One named sample.  name and description belong to the src_samples that
 * holds the sample: valid until its next src_map or src_samples_clear. */
struct src_ds {
	const struct src_catdef *def;
	const char *name;
	const char *description;
	struct dsval v;
};

/* The samples of one owner (the host, or one VM). */
struct src_owner {
	enum mon_owner_kind kind;
	char uuid[SRC_UUID_LEN + 1]; /* VM uuid; "" for the host */
	uint32_t domid;
	bool restarted; /* the previous snapshot had this uuid under another
	                   domid (reboot, migration): counters restarted */
	/* Nonzero, and unique in the process: any owner (of any src_samples)
	 * carrying the same layout has the same sequence of DS names and
	 * definitions.  A consumer may cache per-position work under it. */
	uint64_t layout;
	uint32_t nds, cap_ds;
	struct src_ds *ds;
};

struct src_name_cache; /* catalogue.c: DS names per owner, kept across maps */

/* Zero-initialise; src_map reuses its allocations from one call to the next
 * (names are built once per owner and device, not on every tick). */
struct src_samples {
	double t; /* the snapshot's time: the update time of every sample */
	uint32_t nowner, cap_owner;
	struct src_owner *owner; /* owner[0] is the host, then VMs in domid order */
	struct src_name_cache *cache;
};

/* The static catalogue; *n receives its length. */
const struct src_catdef *src_catalogue(size_t *n);

/* The family a concrete DS name of an owner kind belongs to ("cpu3" ->
 * "cpu{}", "vbd_xvda_read" -> "vbd_{}_read"), or NULL. */
const struct src_catdef *src_catalogue_match(enum mon_owner_kind owner, const char *name);

/* Whether uid is one of the xcp-rrdd plugins whose data sources the
 * catalogue produces (src_catdef.plugin): xcp-rrdd-cpu, -netdev, -squeezed,
 * -iostat. */
bool src_catalogue_plugin(const char *uid);

/* Drop from s every sample of a family whose plugin is one of uids[0..n)
 * (their plugins report them: the built-in families stand down); owners
 * changed lose their layout token.  Returns the samples dropped. */
size_t src_samples_drop_plugins(struct src_samples *s, const char *const *uids, size_t n);

/* Map cur (and prev, NULL on the first tick) to named samples in *out, which
 * is emptied first (its allocations and name cache are reused: keep one
 * src_samples per producer for cheap ticks).  Domains flagged SRC_DOM_FAILED get no owner entry
 * (their DSs are "missing" this tick, wire-format.md §7 item 5).  Per-interval figures (VBD iops,
 * throughput, latency) need the same domain (uuid and domid) in prev; otherwise they are unknown.
 * Returns 0.
 */
int src_map(const struct src_snapshot *prev, const struct src_snapshot *cur,
            struct src_samples *out);

/* Release the samples and zero *s; safe on a zeroed one. */
void src_samples_clear(struct src_samples *s);

/* The owner entry of a VM uuid, the host entry for NULL, or NULL. */
const struct src_owner *src_samples_owner(const struct src_samples *s, const char *uuid);

/* The sample called name in an owner, or NULL. */
const struct src_ds *src_owner_ds(const struct src_owner *o, const char *name);

/* Fill an engine DS definition for a sample (name borrowed from ds; mrhb 300
 * s and unknown initial value as xcp-rrdd creates them). */
void src_ds_def(const struct src_ds *ds, struct rrdb_ds_def *out);

/* Whether a dom0 network device counts as a PIF (wire-format.md §8.3): names starting
 * "eth" or "bond", except VLAN devices (containing '.'). */
bool src_is_pif(const char *name);

#endif
