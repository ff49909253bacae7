/*
 * Internals of the plugin registry (registry.c, discovery.c, pageio.c,
 * tochunk.c): the per-plugin entry and the registry itself.  Not for other
 * modules: use plugin/registry.h.
 *
 * Ownership: the entry list (and the graveyard of deregistered entries) is
 * guarded by reg->mu; the fields marked "tick" are touched only by
 * plg_collect, which runs in one thread at a time and frees graveyard
 * entries only at its next call, so a chunk it returned outlives any
 * concurrent deregistration.
 */
#ifndef RRDD_PLUGIN_REGISTRY_IMPL_H
#define RRDD_PLUGIN_REGISTRY_IMPL_H

#include <pthread.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/chunk.h"
#include "plugin/proto.h"
#include "plugin/registry.h"

/* Distinct error kinds of one plugin, logged once each (bit numbers). */
enum plg_err_kind {
	PLG_K_HEADER,
	PLG_K_LENGTH,
	PLG_K_CHECKSUM,
	PLG_K_PAYLOAD,
	PLG_K_COUNT,
	PLG_K_TOO_BIG,
	PLG_K_NOT_REGULAR,
	PLG_K_OPEN,
	PLG_K_READ,
	PLG_K_EMPTY,
	PLG_K_NO_FILE,
	PLG_K_TIMESTAMP,
	PLG_K_OTHER,
	PLG_K_COUNT_KINDS
};

/* The descriptor cache of one plugin: copies of the strings of its current
 * metadata and where each page DS lands in the chunk. */
struct plg_desc {
	bool valid;
	enum plg_proto proto;
	uint32_t meta_crc; /* the page shape the cache was built for (V2: metadata CRC) */
	size_t n;
	uint32_t *oi, *si; /* page DS i -> chunk owner oi[i], sample si[i] */
	char *pool;
	size_t pool_cap;
};

struct plg_entry {
	char *uid;
	int protocol;        /* enum plg_reg_proto, as registered */
	bool by_file;        /* discovered in the directory */
	bool by_rpc;         /* registered by RPC / plg_register */
	bool scan_seen;      /* directory scan bookkeeping (under reg->mu) */
	plg_page_fn page_fn; /* a source: its page comes from page_fn, not a file */
	void *page_ctx;
	/* tick */
	struct plg_reader *rd;
	unsigned char *buf;
	size_t buf_cap;
	size_t last_len; /* bytes of the last page: the first pread's size */
	struct mon_chunk chunk;
	bool have_chunk; /* chunk holds the last good page */
	int stale;       /* consecutive No_update ticks */
	struct plg_desc desc;
	uint32_t logged_kinds; /* bit per enum plg_err_kind */
	bool in_error;         /* the last read failed */
	bool streak_logged;    /* a warning was logged during the current failure streak */
	uint64_t streak;       /* failed reads in the current streak */
};

#define PLG_TOMBS 64

struct plg_registry {
	pthread_mutex_t mu;
	char *dir;
	size_t max_bytes;
	int stale_ticks;
	bool no_inotify, no_discovery;
	const struct v3map *v3map; /* v3 mapping of every reader (borrowed) */
	/* entries sorted by uid */
	struct plg_entry **v;
	size_t n, cap;
	/* deregistered, freed by the next plg_collect */
	struct plg_entry **grave;
	size_t ngrave, capgrave;
	/* tick: a copy of the list, and the array plg_collect returns */
	struct plg_entry **work;
	size_t cap_work;
	struct mon_chunk **out;
	pthread_mutex_t collect_mu;
	/* discovery (tick thread, under collect_mu) */
	int ino_fd;    /* -1: none */
	int watch_wd;  /* -1: not watching */
	dev_t dir_dev; /* the directory watched (the path may be re-pointed) */
	ino_t dir_ino;
	bool need_scan;
	bool dir_warned;
	/* timing: CLOCK_MONOTONIC of the next tick, 0 = unknown */
	double next_tick_mono;
	struct clk *clk; /* the daemon's clock, or NULL: the system's monotonic clock */
	struct plg_stats st;
	/* plugins deregistered over the RPC, with the system time it happened:
	 * their page is not discovered again unless written after it (the
	 * event of its last write may be read after the deregistration) */
	struct plg_tomb {
		char *uid;
		double t;
	} tombs[PLG_TOMBS];
	size_t tomb_next;
};

/* Whether uid is a valid plugin file name. */
bool plg_uid_valid(const char *uid);

/* Whether discovery ignores the name (dotfiles, *.tmp, tap-*). */
bool plg_name_ignored(const char *name);

/* Register / deregister with reg->mu held.  Register returns 0 (new), 1
 * (existing: only its origin flag is added) or -EINVAL. */
int plg_register_locked(struct plg_registry *reg, const char *uid, int protocol, bool by_file);
int plg_deregister_locked(struct plg_registry *reg, const char *uid);
struct plg_entry *plg_find_locked(struct plg_registry *reg, const char *uid);

/* Discovery (discovery.c), tick thread.  plg_discovery_start creates the
 * directory, sets up inotify and does the first scan; plg_discovery_poll
 * processes pending events (or rescans) before a tick's reads. */
void plg_discovery_start(struct plg_registry *reg);
void plg_discovery_poll(struct plg_registry *reg);
void plg_discovery_stop(struct plg_registry *reg);

/* Load the page of <dir>/<uid> into e->buf (pageio.c): opens without
 * following links, requires a regular file, reads only the bytes the page
 * header declares (at most max_bytes).  Returns 0 with *len set, or
 * -(1 + kind) for a failure of enum plg_err_kind kind, with a message. */
int plg_page_load(const char *dir, struct plg_entry *e, size_t max_bytes, size_t *len, char *err,
                  size_t errlen);

/* Whether e's descriptor cache vouches for the metadata of a V2 page with
 * this metadata CRC and count: then only the header and values need to be
 * read (the parser does not look at cached metadata either).  True only
 * while the cache was built by the last successful read and no read failed
 * since (a failed read may have changed the reader's cached metadata). */
bool plg_desc_covers(const struct plg_entry *e, uint32_t meta_crc, uint64_t n);

/* Fill e->chunk from a decoded page (tochunk.c): descriptors from the cache
 * (rebuilt when the metadata changed), values and time from the page.
 * buf/len are the page bytes (for the V2 metadata CRC). */
void plg_page_to_chunk(struct plg_entry *e, const struct plg_page *pg, const unsigned char *buf,
                       size_t len);

/* Release the descriptor cache. */
void plg_desc_clear(struct plg_desc *d);

#endif
