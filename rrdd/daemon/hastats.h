/*
 * The host data sources that RPC calls switch on, as xcp-rrdd makes them:
 * after HA.enable_and_update, statefile/<id>/latency, network/latency and
 * xapi_healthcheck/latency (seconds, gauges, not recorded by default;
 * rrdd_ha_stats.ml), until HA.disable; after set_cache_sr, the cache SR's
 * sr_<uuid>_cache_size (B), _cache_hits and _cache_misses (per second)
 * from tapdisk-cache-stats run every 55 s (xcp_rrdd.ml dss_cache), until
 * unset_cache_sr.  Set by RPC workers, read by the tick: thread-safe.  The
 * command runs on a thread of its own, bounded in time, never on the tick.
 */
#ifndef RRDD_DAEMON_HASTATS_H
#define RRDD_DAEMON_HASTATS_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/chunk.h"

struct hastats;

/* The statefile latency of one HA statefile (latency < 0: unknown). */
struct hastats_statefile {
	const char *id;
	double latency;
};

#define HASTATS_CACHE_COMMAND "/opt/xensource/bin/tapdisk-cache-stats"

/* cache_cmd: the program printing a cache SR's KEY=VALUE figures (NULL:
 * xcp-rrdd's); interval: seconds between its runs (<= 0: 55). */
struct hastats *hastats_new(const char *cache_cmd, double interval);

void hastats_ha_enable(struct hastats *h, const struct hastats_statefile *sf, size_t n,
                       double heartbeat_latency, double xapi_latency);
void hastats_ha_disable(struct hastats *h);

/* The cache SR (NULL: none, as unset_cache_sr). */
void hastats_set_cache_sr(struct hastats *h, const char *sr_uuid);

/* This cycle's host samples into c (reset first; strings owned by h until
 * the next call).  False when there are none. */
bool hastats_chunk(struct hastats *h, double now, struct mon_chunk *c);

/* Stop the command's thread and free; NULL is a no-op. */
void hastats_free(struct hastats *h);

#endif
