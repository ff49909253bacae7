/*
 * The plugin registry (registry.h): the list of registered plugins, RPC
 * registration, paths and timing, and the tick's read of every plugin into
 * chunks with the once-per-distinct-error logging.  Discovery lives in
 * discovery.c, file loading in pageio.c, page-to-chunk in tochunk.c.
 *
 * Must not: touch the RRDs, hold the list lock while reading files (a slow
 * file must not block an RPC registration), or free an entry while a chunk
 * it returned may still be in use (deregistered entries wait in a graveyard
 * for the next plg_collect).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "plugin/registry_impl.h"
#include "clock/clock.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

/* A page stamped further ahead of the tick than this is refused: it would
 * pin its DSs' last update in the future (no later sample counts). */
#define PLG_MAX_FUTURE 300.0

/* The daemon's monotonic time (clock/clock.h). */
static double mono_now(const struct plg_registry *reg)
{
	return reg->clk ? clk_mono(reg->clk) : clk_elapsed();
}

bool plg_uid_valid(const char *uid)
{
	if (!uid || !uid[0])
		return false;
	size_t l = strnlen(uid, PLG_UID_MAX + 1);
	if (l > PLG_UID_MAX)
		return false;
	if (strcmp(uid, ".") == 0 || strcmp(uid, "..") == 0)
		return false;
	return strchr(uid, '/') == NULL;
}

bool plg_name_ignored(const char *name)
{
	size_t l = strlen(name);
	if (name[0] == '.')
		return true;
	if (strncmp(name, "tap-", 4) == 0)
		return true;
	return l >= 4 && strcmp(name + l - 4, ".tmp") == 0;
}

/* Binary search: index of uid, or -(insertion point) - 1. */
static long find_idx(struct plg_registry *reg, const char *uid)
{
	size_t lo = 0, hi = reg->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(reg->v[mid]->uid, uid);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

struct plg_entry *plg_find_locked(struct plg_registry *reg, const char *uid)
{
	long i = find_idx(reg, uid);
	return i >= 0 ? reg->v[i] : NULL;
}

/* The tomb of uid, or NULL. */
static struct plg_tomb *tomb_of(struct plg_registry *reg, const char *uid)
{
	for (size_t i = 0; i < PLG_TOMBS; i++)
		if (reg->tombs[i].uid && !strcmp(reg->tombs[i].uid, uid))
			return &reg->tombs[i];
	return NULL;
}

static void tomb_clear(struct plg_tomb *t)
{
	if (t) {
		free(t->uid);
		t->uid = NULL;
	}
}

/* Whether a registration of a plugin deregistered over the RPC is stale:
 * its page is gone or is the one it left (not written since).  The event
 * of its last page write, or a register call it made before deregistering
 * that a worker ran after, must not bring it back; a plugin that came
 * back writes a page, which clears the tomb. */
static bool stale(struct plg_registry *reg, const char *uid)
{
	struct plg_tomb *t = tomb_of(reg, uid);
	if (!t)
		return false;
	char path[4096];
	struct stat st;
	if (snprintf(path, sizeof(path), "%s/%s", reg->dir, uid) >= (int)sizeof(path) ||
	    stat(path, &st) != 0 ||
	    (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9 <= t->t)
		return true;
	tomb_clear(t);
	return false;
}

/* A new entry for uid with its reader, at the place find_idx's negative
 * answer i names (reg->mu held); counted as registered. */
static struct plg_entry *insert_entry(struct plg_registry *reg, long i, const char *uid)
{
	size_t at = (size_t)(-i - 1);
	if (reg->n == reg->cap) {
		reg->cap = reg->cap ? reg->cap * 2 : 16;
		reg->v = xrealloc(reg->v, sizeof(*reg->v) * reg->cap);
	}
	struct plg_entry *e = xcalloc(1, sizeof(*e));
	e->uid = xstrdup(uid);
	e->rd = plg_reader_new();
	plg_reader_set_v3map(e->rd, reg->v3map);
	memmove(reg->v + at + 1, reg->v + at, sizeof(*reg->v) * (reg->n - at));
	reg->v[at] = e;
	reg->n++;
	reg->st.registered++;
	return e;
}

int plg_register_locked(struct plg_registry *reg, const char *uid, int protocol, bool by_file)
{
	if (!plg_uid_valid(uid))
		return -EINVAL;
	if (stale(reg, uid))
		return 0;
	long i = find_idx(reg, uid);
	if (i >= 0) {
		if (by_file)
			reg->v[i]->by_file = true;
		else
			reg->v[i]->by_rpc = true;
		return 1;
	}
	struct plg_entry *e = insert_entry(reg, i, uid);
	e->protocol = protocol;
	e->by_file = by_file;
	e->by_rpc = !by_file;
	log_info("plugin %s registered (%s)", uid, by_file ? "file discovered" : "RPC");
	return 0;
}

int plg_register_source(struct plg_registry *reg, const char *uid, plg_page_fn fn, void *ctx)
{
	if (!uid || !uid[0] || strnlen(uid, PLG_UID_MAX + 1) > PLG_UID_MAX || !fn)
		return -EINVAL;
	pthread_mutex_lock(&reg->mu);
	long i = find_idx(reg, uid);
	if (i >= 0) {
		pthread_mutex_unlock(&reg->mu);
		return -EEXIST;
	}
	struct plg_entry *e = insert_entry(reg, i, uid);
	e->protocol = PLG_REG_AUTO;
	e->page_fn = fn;
	e->page_ctx = ctx;
	pthread_mutex_unlock(&reg->mu);
	log_info("plugin %s registered (socket)", uid);
	return 0;
}

int plg_deregister_locked(struct plg_registry *reg, const char *uid)
{
	long i = uid ? find_idx(reg, uid) : -1;
	if (i < 0)
		return -ENOENT;
	struct plg_entry *e = reg->v[i];
	memmove(reg->v + i, reg->v + i + 1, sizeof(*reg->v) * (reg->n - (size_t)i - 1));
	reg->n--;
	if (reg->ngrave == reg->capgrave) {
		reg->capgrave = reg->capgrave ? reg->capgrave * 2 : 8;
		reg->grave = xrealloc(reg->grave, sizeof(*reg->grave) * reg->capgrave);
	}
	reg->grave[reg->ngrave++] = e;
	reg->st.deregistered++;
	log_info("plugin %s deregistered", e->uid);
	return 0;
}

static void entry_free(struct plg_entry *e)
{
	if (!e)
		return;
	plg_reader_free(e->rd);
	mon_chunk_clear(&e->chunk);
	plg_desc_clear(&e->desc);
	free(e->buf);
	free(e->uid);
	free(e);
}

struct plg_registry *plg_registry_new(const struct plg_registry_opts *opts)
{
	struct plg_registry *reg = xcalloc(1, sizeof(*reg));
	pthread_mutex_init(&reg->mu, NULL);
	pthread_mutex_init(&reg->collect_mu, NULL);
	const char *dir = opts && opts->dir && opts->dir[0] ? opts->dir : PLG_DEFAULT_DIR;
	size_t l = strlen(dir);
	while (l > 1 && dir[l - 1] == '/')
		l--;
	reg->dir = xstrndup(dir, l);
	reg->max_bytes = opts && opts->max_bytes ? opts->max_bytes : PLG_DEFAULT_MAX_BYTES;
	reg->clk = opts ? opts->clk : NULL;
	int st = opts ? opts->stale_ticks : 0;
	reg->stale_ticks = st == 0 ? PLG_DEFAULT_STALE_TICKS : st < 0 ? 0 : st;
	reg->no_inotify = opts && opts->no_inotify;
	reg->no_discovery = opts && opts->no_discovery;
	reg->v3map = opts ? opts->v3map : NULL;
	reg->ino_fd = -1;
	reg->watch_wd = -1;
	if (!reg->no_discovery)
		plg_discovery_start(reg);
	return reg;
}

void plg_registry_free(struct plg_registry *reg)
{
	if (!reg)
		return;
	plg_discovery_stop(reg);
	for (size_t i = 0; i < reg->n; i++)
		entry_free(reg->v[i]);
	for (size_t i = 0; i < reg->ngrave; i++)
		entry_free(reg->grave[i]);
	for (size_t i = 0; i < PLG_TOMBS; i++)
		tomb_clear(&reg->tombs[i]);
	free(reg->v);
	free(reg->grave);
	free(reg->work);
	free(reg->out);
	free(reg->dir);
	pthread_mutex_destroy(&reg->mu);
	pthread_mutex_destroy(&reg->collect_mu);
	free(reg);
}

int plg_register(struct plg_registry *reg, const char *uid, int protocol)
{
	pthread_mutex_lock(&reg->mu);
	int rc = plg_register_locked(reg, uid, protocol, false);
	pthread_mutex_unlock(&reg->mu);
	return rc;
}

int plg_deregister(struct plg_registry *reg, const char *uid)
{
	pthread_mutex_lock(&reg->mu);
	int rc = plg_deregister_locked(reg, uid);
	if (rc == 0) {
		struct plg_tomb *t = tomb_of(reg, uid);
		if (!t) {
			t = &reg->tombs[reg->tomb_next++ % PLG_TOMBS];
			tomb_clear(t);
			t->uid = xstrdup(uid);
		}
		t->t = clk_system_wall();
	}
	pthread_mutex_unlock(&reg->mu);
	return rc;
}

bool plg_is_registered(struct plg_registry *reg, const char *uid)
{
	if (!uid)
		return false;
	pthread_mutex_lock(&reg->mu);
	bool r = plg_find_locked(reg, uid) != NULL;
	pthread_mutex_unlock(&reg->mu);
	return r;
}

size_t plg_count(struct plg_registry *reg)
{
	pthread_mutex_lock(&reg->mu);
	size_t n = reg->n;
	pthread_mutex_unlock(&reg->mu);
	return n;
}

int plg_path(struct plg_registry *reg, const char *uid, char *buf, size_t len)
{
	if (!plg_uid_valid(uid))
		return -EINVAL;
	int n = snprintf(buf, len, "%s/%s", reg->dir, uid);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return n;
}

const char *plg_dir(const struct plg_registry *reg)
{
	return reg->dir;
}

void plg_set_next_tick(struct plg_registry *reg, double deadline)
{
	pthread_mutex_lock(&reg->mu);
	reg->next_tick_mono = deadline;
	pthread_mutex_unlock(&reg->mu);
}

double plg_next_reading(struct plg_registry *reg, const char *uid)
{
	pthread_mutex_lock(&reg->mu);
	bool known = uid && plg_find_locked(reg, uid) != NULL;
	double next = reg->next_tick_mono;
	pthread_mutex_unlock(&reg->mu);
	if (!known)
		return -1;
	return next > 0 ? next - mono_now(reg) : 0;
}

void plg_get_stats(struct plg_registry *reg, struct plg_stats *out)
{
	pthread_mutex_lock(&reg->mu);
	*out = reg->st;
	pthread_mutex_unlock(&reg->mu);
}

static int kind_of_status(int status)
{
	switch (status) {
	case PLG_E_HEADER:
		return PLG_K_HEADER;
	case PLG_E_LENGTH:
		return PLG_K_LENGTH;
	case PLG_E_CHECKSUM:
		return PLG_K_CHECKSUM;
	case PLG_E_PAYLOAD:
		return PLG_K_PAYLOAD;
	case PLG_E_COUNT:
		return PLG_K_COUNT;
	default:
		return PLG_K_OTHER;
	}
}

/* Tick-local counters, folded into reg->st under the lock at the end. */
struct tick_stats {
	uint64_t reads, no_update, bad, missing, logged;
};

/* A failed read of e: log once per distinct kind (then debug). */
static void note_failure(struct plg_entry *e, int kind, const char *msg, struct tick_stats *ts)
{
	uint32_t bit = 1u << kind;
	e->in_error = true;
	e->streak++;
	if (!(e->logged_kinds & bit)) {
		e->logged_kinds |= bit;
		e->streak_logged = true;
		ts->logged++;
		log_warn("plugin %s: %s; its sample is dropped (logged once)", e->uid, msg);
	} else {
		log_debug("plugin %s: %s", e->uid, msg);
	}
}

static void note_success(struct plg_entry *e)
{
	if (e->in_error && e->streak_logged)
		log_info("plugin %s: readable again after %llu failed read(s)", e->uid,
		         (unsigned long long)e->streak);
	e->in_error = false;
	e->streak_logged = false;
	e->streak = 0;
}

/* The page of a source entry into e->buf, as plg_page_load does for files. */
static int source_load(struct plg_entry *e, double tick, size_t max_bytes, size_t *len, char *err,
                       size_t errlen)
{
	struct buf b = {(char *)e->buf, 0, e->buf_cap}; /* appended in place */
	int rc = e->page_fn(e->page_ctx, e->uid, tick, &b);
	e->buf = (unsigned char *)b.p;
	e->buf_cap = b.cap;
	*len = 0;
	if (rc < 0 || b.len == 0) {
		snprintf(err, errlen, "%s: no page this tick", e->uid);
		return -(1 + PLG_K_NO_FILE);
	}
	if (b.len > max_bytes) {
		snprintf(err, errlen, "%s: page of %zu bytes exceeds the %zu-byte cap: refused",
		         e->uid, b.len, max_bytes);
		return -(1 + PLG_K_TOO_BIG);
	}
	*len = b.len;
	return 0;
}

/* Read one plugin; returns its chunk or NULL.  *gone is set when the file
 * of a discovered plugin has disappeared (the caller deregisters it). */
static struct mon_chunk *read_one(struct plg_registry *reg, struct plg_entry *e, double now,
                                  double tick, bool *gone, struct tick_stats *ts)
{
	char err[512];
	size_t len;
	*gone = false;
	int rc = e->page_fn ? source_load(e, tick, reg->max_bytes, &len, err, sizeof(err))
	                    : plg_page_load(reg->dir, e, reg->max_bytes, &len, err, sizeof(err));
	if (rc < 0) {
		int kind = -rc - 1;
		e->stale = 0;
		if (kind == PLG_K_NO_FILE) {
			ts->missing++;
			/* A discovered plugin whose file vanished (missed event) goes;
			 * an RPC one may simply not have written yet. */
			if (e->by_file && !e->by_rpc)
				*gone = true;
			else
				note_failure(e, kind, err, ts);
			e->have_chunk = false;
			return NULL;
		}
		ts->bad++;
		note_failure(e, kind, err, ts);
		e->have_chunk = false;
		return NULL;
	}
	const struct plg_page *pg;
	int st = plg_read(e->rd, e->buf, len, &pg);
	if (st == PLG_E_NO_UPDATE) {
		ts->no_update++;
		if (e->have_chunk && e->stale < reg->stale_ticks) {
			e->stale++;
			return &e->chunk; /* old timestamp: no update, no Unknown */
		}
		if (e->have_chunk)
			log_debug("plugin %s: page unchanged for %d ticks; its DSs go Unknown",
			          e->uid, e->stale + 1);
		e->stale++;
		e->have_chunk = false;
		return NULL;
	}
	e->stale = 0;
	if (st != PLG_OK)
		e->desc.valid = false; /* the reader's metadata may have moved on */
	if (st != PLG_OK) {
		ts->bad++;
		char msg[600];
		snprintf(msg, sizeof(msg), "%s: %s", plg_status_name(st), plg_reader_error(e->rd));
		note_failure(e, kind_of_status(st), msg, ts);
		e->have_chunk = false;
		return NULL;
	}
	if (!isfinite(pg->timestamp) || pg->timestamp <= 0 ||
	    (isfinite(now) && pg->timestamp > now + PLG_MAX_FUTURE)) {
		ts->bad++;
		char msg[200];
		snprintf(msg, sizeof(msg),
		         "page timestamp %.3f is invalid or more than %.0f s ahead", pg->timestamp,
		         PLG_MAX_FUTURE);
		note_failure(e, PLG_K_TIMESTAMP, msg, ts);
		e->desc.valid = false; /* the reader took this page's metadata */
		e->have_chunk = false;
		return NULL;
	}
	ts->reads++;
	note_success(e);
	plg_page_to_chunk(e, pg, e->buf, len);
	e->have_chunk = true;
	return &e->chunk;
}

int plg_collect(struct plg_registry *reg, double now, double tick, struct mon_chunk ***out,
                size_t *n)
{
	pthread_mutex_lock(&reg->collect_mu);
	/* The previous tick's chunks are no longer in use: bury the dead. */
	pthread_mutex_lock(&reg->mu);
	size_t ngrave = reg->ngrave;
	struct plg_entry **grave = reg->grave;
	reg->grave = NULL;
	reg->ngrave = reg->capgrave = 0;
	pthread_mutex_unlock(&reg->mu);
	for (size_t i = 0; i < ngrave; i++)
		entry_free(grave[i]);
	free(grave);

	if (!reg->no_discovery)
		plg_discovery_poll(reg);

	pthread_mutex_lock(&reg->mu);
	size_t cnt = reg->n;
	if (cnt > reg->cap_work) {
		reg->cap_work = cnt;
		reg->work = xrealloc(reg->work, sizeof(*reg->work) * cnt);
		reg->out = xrealloc(reg->out, sizeof(*reg->out) * cnt);
	}
	if (cnt)
		memcpy(reg->work, reg->v, sizeof(*reg->work) * cnt);
	pthread_mutex_unlock(&reg->mu);

	struct tick_stats ts = {0};
	size_t k = 0;
	for (size_t i = 0; i < cnt; i++) {
		struct plg_entry *e = reg->work[i];
		bool gone;
		struct mon_chunk *c = read_one(reg, e, now, tick, &gone, &ts);
		if (c)
			reg->out[k++] = c;
		if (gone) {
			pthread_mutex_lock(&reg->mu);
			/* Only if it is still this entry (not re-registered). */
			if (plg_find_locked(reg, e->uid) == e)
				plg_deregister_locked(reg, e->uid);
			pthread_mutex_unlock(&reg->mu);
		}
	}
	pthread_mutex_lock(&reg->mu);
	reg->st.reads += ts.reads;
	reg->st.no_update += ts.no_update;
	reg->st.bad += ts.bad;
	reg->st.missing += ts.missing;
	reg->st.logged += ts.logged;
	pthread_mutex_unlock(&reg->mu);
	*out = reg->out;
	*n = k;
	pthread_mutex_unlock(&reg->collect_mu);
	return 0;
}
