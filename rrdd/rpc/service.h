/*
 * The daemon's implementation of the rrd RPC (rpc/methods.h struct
 * rpc_backend): what each method does to the registry of RRDs (through
 * mon_commit only), the archives (through the store) and the plugin
 * registry, and the RRDs it ships to other hosts (rpc/send_rrd.h).  The
 * HTTP layer (http/) only carries the calls.
 */
#ifndef RRDD_RPC_SERVICE_H
#define RRDD_RPC_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "rpc/methods.h"
#include "rpc/send_rrd.h"

struct clk;
struct mon_registry;
struct store_dur;

/* The plugin registry as the RPC needs it (same contracts as plg_register,
 * plg_deregister, plg_next_reading and plg_path in plugin/registry.h). */
struct rpc_plugin_hooks {
	void *ctx;
	int (*reg)(void *ctx, const char *uid, int protocol);
	int (*dereg)(void *ctx, const char *uid);
	double (*next_reading)(void *ctx, const char *uid);
	int (*path)(void *ctx, const char *uid, char *buf, size_t len);
};

struct rpc_service_config {
	struct mon_registry *reg; /* required; its log is the store below */
	struct store_dur *dur;    /* required: archives */
	struct clk *clk;          /* required: the daemon's clock (add_*_ds times) */
	const char *host_uuid;    /* NULL: the registry's */
	/* Plugins: hooks onto the daemon's plugin registry, or all NULL: then
	 * the service keeps a table of its own and answers next_reading from
	 * next_tick (seconds to the daemon's next cycle; 5 without it). */
	struct rpc_plugin_hooks plugins;
	double (*next_tick)(void *ctx);
	void *next_tick_ctx;
	/* The directories (':'-separated) RPC path arguments may name files in
	 * (push_sr_rrd); NULL or "": $TMPDIR, /tmp and /var/tmp (where xapi
	 * writes the SR's RRD for push_sr_rrd) and the archive directory. */
	const char *path_dirs;
	/* Transfers to other hosts (migrate_rrd, remote archives, load_rrd
	 * from the master): xapi's HTTPS and pool secret; strings borrowed
	 * for the service's life.  All zero: xcp-rrdd's defaults. */
	struct rpc_pool_config pool;
	/* HA.* and set/unset_cache_sr feed these host data sources
	 * (daemon/hastats.h); NULL: recorded and logged only.  Borrowed. */
	struct hastats *hastats;
};

struct rpc_service;

/* A service over cfg's objects (not owned) and the backend *be that calls
 * it (be->ctx is the service).  Free with rpc_service_free after the last
 * call through be. */
struct rpc_service *rpc_service_new(const struct rpc_service_config *cfg, struct rpc_backend *be);

/* NULL is a no-op. */
void rpc_service_free(struct rpc_service *s);

#endif
