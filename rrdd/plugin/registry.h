/*
 * The plugin registry: which plugins the daemon reads (wire-format.md §6.1), and the
 * per-tick read of every registered plugin's page into chunks (wire-format.md §6.5,
 * with the recommendations of 6.7).  Plugins are registered by file
 * discovery in the plugin directory (inotify, or a directory scan every tick
 * when inotify is off or unavailable) and by RPC (Plugin.Local.register,
 * Plugin.register); a deleted file deregisters, as does the RPC.
 *
 * Reading: every tick each plugin's file <dir>/<uid> is opened afresh
 * (O_NOFOLLOW, so no symlinks; must be a regular file), and only the bytes
 * of the page its header declares are pread into a private buffer (at most
 * max_bytes, else refused), so a file renamed over or grown is seen on the
 * next tick and a writer cannot change the bytes between check and use.
 * The parser (proto.h) decides: CRCs, counts and offsets.  A bad page costs
 * that plugin that tick's sample and is logged once per distinct error
 * (and once when the plugin recovers); nothing a plugin writes can crash
 * the daemon, stall the tick beyond reading its bounded page, or touch
 * another plugin's data.  An unchanged page (No_update) is not punished
 * with back-off: see plg_collect for what it means for the RRDs.
 *
 * Must not: touch the RRDs (the caller hands the chunks to mon_commit via
 * dmn_tick), follow links, or read beyond the declared page.
 *
 * Threads: every function is safe to call from any thread concurrently with
 * the others, except that plg_collect must not run in two threads at once
 * (the tick thread calls it) and plg_registry_free needs every other call
 * to have returned.
 */
#ifndef RRDD_PLUGIN_REGISTRY_H
#define RRDD_PLUGIN_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/chunk.h"

#define PLG_DEFAULT_DIR       "/dev/shm/metrics"
#define PLG_DEFAULT_MAX_BYTES (8u * 1024 * 1024)
/* Ticks an unchanged page keeps its DSs "reported" (see plg_collect). */
#define PLG_DEFAULT_STALE_TICKS 2
/* Longest uid accepted (a file name in the plugin directory). */
#define PLG_UID_MAX 255

/* The protocol a plugin registered with (informational only: every read
 * detects V1, V2 or v3 from the bytes, wire-format.md §6.7). */
enum plg_reg_proto { PLG_REG_AUTO = 0, PLG_REG_V1 = 1, PLG_REG_V2 = 2, PLG_REG_V3 = 3 };

struct plg_registry_opts {
	const char *dir;   /* NULL or "": PLG_DEFAULT_DIR; created (mode 0755) if missing */
	size_t max_bytes;  /* most bytes of one page read; 0: PLG_DEFAULT_MAX_BYTES */
	bool no_inotify;   /* discover by scanning the directory every tick */
	bool no_discovery; /* register only by RPC / plg_register (tests) */
	int stale_ticks;   /* 0: PLG_DEFAULT_STALE_TICKS; <0: none (see plg_collect) */
	struct clk *clk;   /* the daemon's clock (next_reading); NULL: the system's */
	/* v3 -> v2 mapping of protocol v3 pages (borrowed, outlives the
	 * registry); NULL: v3map_builtin() */
	const struct v3map *v3map;
};

/* Per-registry counters (cumulative), for logs, tests and the benchmark. */
struct plg_stats {
	uint64_t reads;     /* pages read and decoded (PLG_OK) */
	uint64_t no_update; /* unchanged pages */
	uint64_t bad;       /* pages refused (parser error, too big, not a regular file, I/O) */
	uint64_t missing;   /* registered plugin without a file */
	uint64_t registered, deregistered;
	uint64_t logged; /* error lines logged (once per distinct error per plugin) */
};

struct plg_registry;

/* Create a registry over a plugin directory.  Creates the directory (and
 * its parents, mode 0755) when missing; when that fails the registry still
 * works and keeps trying to watch it every tick.  Scans the directory once
 * (unless no_discovery).  Never NULL (allocation failure aborts). */
struct plg_registry *plg_registry_new(const struct plg_registry_opts *opts);

struct buf;
/* The page of a plugin that has no file (a v4 socket connection): appends
 * the page's bytes (any protocol the reader knows), stamped with now (the
 * time the tick was due, plg_collect's tick), to out and returns 0, or returns -1 when the plugin
 * has nothing this tick.  Called by plg_collect on the tick thread, never under the registry's
 * locks. */
typedef int (*plg_page_fn)(void *ctx, const char *uid, double now, struct buf *out);

/* Register a plugin whose page fn gives at every tick (uid: any string of
 * 1-PLG_UID_MAX bytes; it names the plugin in logs and is never a file).
 * Read and decoded as a file's page would be; plg_deregister removes it,
 * and its data sources are then not reported from the next tick on.
 * Returns 0, or -EEXIST / -EINVAL. */
int plg_register_source(struct plg_registry *reg, const char *uid, plg_page_fn fn, void *ctx);

/* Free the registry, every reader and every chunk it returned; NULL no-op. */
void plg_registry_free(struct plg_registry *reg);

/* Register uid (a file name: 1..PLG_UID_MAX bytes, no '/', not "." or "..",
 * no NUL) with a protocol (enum plg_reg_proto; informational).  Returns 0
 * when newly registered (or ignored: deregistered over the RPC and no page
 * written since, see plg_deregister), 1 when it already was (its
 * registration is unchanged, as xcp-rrdd), or -EINVAL for a bad uid. */
int plg_register(struct plg_registry *reg, const char *uid, int protocol);

/* Deregister uid (the RPC's Plugin.deregister): it is no longer read (its
 * DSs then get Unknown through the missing-DS rule), and it is not
 * registered again (by discovery or by a register call) until its page is
 * written after this call.  Returns 0, or -ENOENT if it was not registered. */
int plg_deregister(struct plg_registry *reg, const char *uid);

/* Whether uid is registered. */
bool plg_is_registered(struct plg_registry *reg, const char *uid);

/* Number of registered plugins. */
size_t plg_count(struct plg_registry *reg);

/* The path of uid's page, "<dir>/<uid>" (Plugin.get_path; uid need not be
 * registered).  Returns the length, -EINVAL for a bad uid, or -ENAMETOOLONG
 * when it does not fit in buf (len bytes, NUL included). */
int plg_path(struct plg_registry *reg, const char *uid, char *buf, size_t len);

/* The plugin directory (as given or the default). */
const char *plg_dir(const struct plg_registry *reg);

/* Timing (Plugin.next_reading): the tick loop reports, just before it
 * sleeps, the deadline of its next tick (monotonic time of opts.clk). */
void plg_set_next_tick(struct plg_registry *reg, double deadline);

/* Seconds until the next tick reads the plugins (negative when overdue),
 * or -1 if uid is not registered (xcp-rrdd's answer). */
double plg_next_reading(struct plg_registry *reg, const char *uid);

/*
 * The tick's read: process discovery events, then read every registered
 * plugin once and return in *out an array of *n chunks (one per plugin with
 * data; uid = the plugin uid, t = the page's timestamp, owners and
 * descriptors from its metadata, values from the page).  The array and the
 * chunks belong to the registry and stay valid until the next plg_collect
 * or plg_registry_free, whatever other threads register or deregister
 * meanwhile.  now is the real wall time (pages further ahead than
 * PLG_MAX_FUTURE are refused; NAN: no such check); tick is the time this
 * tick was due (its place on the 5 s grid, whatever the clock, however
 * late it runs), the time the pages of registered sources are stamped with.
 *
 * A bad page, a missing file or a refused file gives no chunk: that
 * plugin's recorded DSs get Unknown at this tick (wire-format.md §7 item 5).  An
 * unchanged page (No_update) re-sends the plugin's last good chunk with its
 * old timestamp for up to stale_ticks consecutive ticks: the engine ignores
 * a sample that is not newer, so the DSs get no update and no Unknown (a
 * plugin that wrote just late is not punished; its next page interpolates
 * over the gap, within the DS heartbeat); after that the chunk is dropped
 * and the DSs go Unknown.  Returns 0 (errors are per plugin).
 */
int plg_collect(struct plg_registry *reg, double now, double tick, struct mon_chunk ***out,
                size_t *n);

/* A copy of the counters. */
void plg_get_stats(struct plg_registry *reg, struct plg_stats *out);

#endif
