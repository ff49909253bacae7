/*
 * The daemon's side of the rrd RPC (wire-format.md §5.2, rpc/service.h):
 * struct rpc_backend over the registry of RRDs, the store (archives) and
 * the plugin registry (through hooks, or a small table of our own when
 * there are none), and rpc_send_rrd for the calls that ship an RRD to
 * another host.  Every change to an RRD is a mon_commit (recorded in the
 * journal, fsync'ed, before it is applied); RRDs leave the registry before
 * any network I/O, so no call holds the registry lock while it waits.
 * Time comes from the daemon's clock.  update_use_min_max is a change of
 * its own (VM and SR RRDs created after it); HA.* and set/unset_cache_sr
 * are recorded and logged.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "monitor/change.h"
#include "rpc/send_rrd.h"
#include "daemon/hastats.h"
#include "rpc/service.h"
#include "store/archive.h"
#include "store/durable.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

#define OWN_MAX_PLUGINS 1024
#define PLUGIN_DIR      "/dev/shm/metrics"

struct rpc_service {
	struct mon_registry *reg;
	struct store_dur *dur;
	struct clk *clk;
	char host_uuid[MON_UUID_LEN + 1];
	struct rpc_plugin_hooks hooks;
	double (*next_tick)(void *ctx);
	void *next_tick_ctx;
	pthread_mutex_t lock; /* the fields below */
	char *cache_sr;
	bool ha_enabled;
	char *own[OWN_MAX_PLUGINS]; /* our plugin table when there are no hooks */
	size_t nown;
	char *path_dirs;             /* where RPC path arguments may point (rpc_service_config) */
	struct rpc_pool_config pool; /* transfers between hosts (strings borrowed) */
	struct hastats *hastats;     /* NULL: HA and cache SR calls only logged */
};

static const char *owner_name(const struct rpc_owner *o)
{
	return o->kind == MON_HOST ? "Host" : o->kind == MON_VM ? "VM" : "SR";
}

static bool uuid_ok(const char *u, struct rpc_err *err)
{
	if (!u || !store_archive_key_ok(u) || strlen(u) > MON_UUID_LEN) {
		rpc_err_set(err, RPC_ERR_INTERNAL, "invalid uuid '%.64s'", u ? u : "");
		return false;
	}
	return true;
}

/* ---- datasources ---- */

static int be_has_vm_rrd(void *ctx, const char *vm, bool *out, struct rpc_err *err)
{
	(void)err;
	struct rpc_service *s = ctx;
	*out = mon_has(s->reg, MON_VM, vm);
	return 0;
}

/* Commit a change a client waits for: durable before the answer. */
static int commit(struct rpc_service *s, struct mon_change *c, struct mon_result *res)
{
	c->sync = true;
	return mon_commit(s->reg, c, 0, res);
}

static int be_add_ds(void *ctx, const struct rpc_owner *o, const char *name, struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	struct mon_change c = {.kind = MON_CH_ENABLE_DS,
	                       .owner = o->kind,
	                       .uuid = o->uuid,
	                       .ds_name = name,
	                       .t = clk_wall(s->clk)};
	if (commit(s, &c, NULL)) {
		rpc_err_set(err, RPC_ERR_DATASOURCE_MISSING, "%s%s%s: %s", owner_name(o),
		            o->uuid ? " " : "", o->uuid ? o->uuid : "", name);
		return -1;
	}
	return 0;
}

static int be_forget_ds(void *ctx, const struct rpc_owner *o, const char *name, struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	struct mon_change c = {
	    .kind = MON_CH_FORGET_DS, .owner = o->kind, .uuid = o->uuid, .ds_name = name};
	if (commit(s, &c, NULL)) { /* an absent DS is done (CA-404020); no RRD is not */
		rpc_err_set(err, RPC_ERR_DATASOURCE_MISSING, "%s%s%s has no RRD", owner_name(o),
		            o->uuid ? " " : "", o->uuid ? o->uuid : "");
		return -1;
	}
	return 0;
}

static int info_cmp(const void *a, const void *b)
{
	const struct mon_dsinfo *x = a, *y = b;
	return strcmp(x->d.name ? x->d.name : "", y->d.name ? y->d.name : "");
}

static int be_query_possible(void *ctx, const struct rpc_owner *o, struct rpc_ds_list *out,
                             struct rpc_err *err)
{
	(void)err;
	struct rpc_service *s = ctx;
	struct mon_dsinfo *info = NULL;
	int n = mon_possible_dss(s->reg, o->kind, o->uuid, &info);
	if (n <= 0) {
		free(info);
		return 0; /* no RRD: an empty list, as xcp-rrdd */
	}
	qsort(info, (size_t)n, sizeof(*info), info_cmp);
	for (int i = 0; i < n; i++) {
		struct rpc_ds_info d = {
		    .name = info[i].d.name,
		    .description = info[i].d.description, /* never NULL (mon_possible_dss) */
		    .enabled = info[i].enabled,
		    .standard = info[i].d.dflt,
		    .min = info[i].d.min,
		    .max = info[i].d.max,
		    .units = info[i].d.units,
		};
		rpc_ds_add(out, &d);
	}
	mon_dsinfo_free(info, (size_t)n);
	return 0;
}

static int be_query_ds(void *ctx, const struct rpc_owner *o, const char *name, double *out,
                       struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	if (mon_latest(s->reg, o->kind, o->uuid, name, out)) {
		rpc_err_set(err, RPC_ERR_DATASOURCE_MISSING, "%s%s%s: %s", owner_name(o),
		            o->uuid ? " " : "", o->uuid ? o->uuid : "", name);
		return -1;
	}
	return 0;
}

/* ---- archives ---- */

static bool need_archives(struct rpc_service *s, struct rpc_err *err)
{
	if (!store_dur_archive_dir(s->dur)) {
		rpc_err_set(err, RPC_ERR_ARCHIVE_FAILED, "archives are disabled on this host");
		return false;
	}
	return true;
}

/* Install r (taken) as an owner's RRD; bytes: the file it was read from. */
static int install(struct rpc_service *s, enum mon_owner_kind kind, const char *uuid,
                   struct rrdb *r, const struct buf *bytes)
{
	struct mon_change c = {.kind = MON_CH_INSTALL, .owner = kind, .uuid = uuid, .rrd = r};
	if (bytes && bytes->len) {
		c.bytes = bytes->p;
		c.nbytes = bytes->len;
	}
	return commit(s, &c, NULL);
}

/* Take an owner's RRD out of the registry (NULL if it has none). */
static struct rrdb *release(struct rpc_service *s, enum mon_owner_kind kind, const char *uuid)
{
	struct mon_change c = {.kind = MON_CH_RELEASE, .owner = kind, .uuid = uuid};
	struct mon_result res;
	commit(s, &c, &res);
	return res.rrd;
}

/* Release an owner's RRD into its archive (kept by the store and retried
 * if the write fails).  1: archived, 0: no RRD, -1: failed (err set). */
static int release_to_archive(struct rpc_service *s, enum mon_owner_kind kind, const char *uuid,
                              struct rpc_err *err)
{
	struct mon_change c = {
	    .kind = MON_CH_RELEASE, .owner = kind, .uuid = uuid, .archive = true};
	struct mon_result res;
	if (commit(s, &c, &res))
		return 0;
	if (res.archive_failures) {
		rpc_err_set(err, RPC_ERR_ARCHIVE_FAILED,
		            "%s %s: archive not written (kept in memory, retried)",
		            mon_owner_kind_name(kind), uuid);
		return -1;
	}
	return 1;
}

/* Send r to remote with archive=true (the RPC's remote archive calls). */
static int send_archive(struct rpc_service *s, const char *remote, const char *uuid, bool is_host,
                        const struct rrdb *r, struct rpc_err *err)
{
	char msg[512];
	if (rpc_send_rrd(&s->pool, remote, uuid, is_host, true, true, NULL, r, msg, sizeof(msg))) {
		rpc_err_set(err, RPC_ERR_ARCHIVE_FAILED, "%s", msg);
		log_err("archiving %s: %s", uuid, msg);
		return -1;
	}
	return 0;
}

static int be_push_rrd_local(void *ctx, const char *vm, int64_t domid, struct rpc_err *err)
{
	(void)domid;
	struct rpc_service *s = ctx;
	if (!uuid_ok(vm, err))
		return -1;
	int rc = store_dur_load(s->dur, MON_VM, vm, true);
	if (rc && rc != -ENOENT) /* xcp-rrdd swallows these (the store logged why) */
		log_warn("push_rrd_local %s: %s", vm,
		         rc == -ENOSPC ? "over --max-rrds, not loaded" : strerror(-rc));
	return 0;
}

static int be_push_rrd_remote(void *ctx, const char *vm, const char *remote, struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	if (!uuid_ok(vm, err) || !need_archives(s, err))
		return -1;
	struct rrdb *r;
	char msg[512];
	int rc = store_archive_load(store_dur_archive_dir(s->dur), vm, &r, msg, sizeof(msg));
	if (rc) {
		if (rc == -ENOENT)
			return 0; /* nothing to push */
		rpc_err_set(err, RPC_ERR_ARCHIVE_FAILED, "%s", msg);
		return -1;
	}
	rc = rpc_send_rrd(&s->pool, remote, vm, false, false, true, NULL, r, msg, sizeof(msg));
	rrdb_free(r);
	if (rc) {
		rpc_err_set(err, RPC_ERR_INTERNAL, "push_rrd_remote: %s", msg);
		return -1;
	}
	return 0;
}

static int be_remove_rrd(void *ctx, const char *uuid, struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	if (!uuid_ok(uuid, err))
		return -1;
	int rc = store_dur_remove(s->dur, uuid);
	if (rc)
		log_warn("remove_rrd %s: %s", uuid, strerror(-rc));
	return 0;
}

static int be_migrate_rrd(void *ctx, const char *session_id, const char *remote, const char *vm,
                          const char *host_uuid, struct rpc_err *err)
{
	(void)host_uuid;
	struct rpc_service *s = ctx;
	if (!uuid_ok(vm, err))
		return -1;
	struct rrdb *r = release(s, MON_VM, vm);
	if (!r) {
		rpc_err_set(err, RPC_ERR_INTERNAL, "migrate_rrd: no RRD for VM %s", vm);
		return -1;
	}
	char msg[512];
	/* not verified, as xcp-rrdd's migrate_rrd (the peer may be in another pool) */
	int rc = rpc_send_rrd(&s->pool, remote, vm, false, false, false, session_id, r, msg,
	                      sizeof(msg));
	if (rc) {
		install(s, MON_VM, vm, r,
		        NULL); /* kept here rather than lost (xcp-rrdd drops it) */
		rpc_err_set(err, RPC_ERR_INTERNAL, "migrate_rrd: %s", msg);
		return -1;
	}
	rrdb_free(r);
	log_info("migrate_rrd: VM %s sent to %s", vm, remote);
	return 0;
}

static int be_send_host(void *ctx, const char *master, struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	struct rrdb *r = mon_dup(s->reg, MON_HOST, NULL);
	if (!r)
		return 0; /* nothing yet */
	char msg[512];
	int rc = rpc_send_rrd(&s->pool, master, s->host_uuid, true, true, true, NULL, r, msg,
	                      sizeof(msg));
	rrdb_free(r);
	if (rc) {
		rpc_err_set(err, RPC_ERR_INTERNAL, "send_host_rrd_to_master: %s", msg);
		return -1;
	}
	return 0;
}

static int be_backup_rrds(void *ctx, const char *remote, struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	int fails = 0;
	size_t n = 0;
	if (remote && *remote) {
		struct mon_copy *cp;
		n = mon_copy_all(s->reg, &cp);
		/* the first failure ends the pass: a peer that refuses or hangs
		 * would cost its timeout for every RRD */
		for (size_t i = 0; i < n && !fails; i++) {
			struct rpc_err e = {0};
			if (send_archive(s, remote, cp[i].uuid, cp[i].kind == MON_HOST, cp[i].rrd,
			                 &e))
				fails = (int)(n - i);
			rpc_err_clear(&e);
		}
		mon_copies_free(cp, n);
		log_info("backup_rrds: %zu RRDs sent to %s, %d failures", n - (size_t)fails, remote,
		         fails);
	} else {
		if (!need_archives(s, err))
			return -1;
		fails = store_dur_archive_all(s->dur); /* logs what it wrote */
	}
	if (fails) {
		rpc_err_set(err, RPC_ERR_ARCHIVE_FAILED, "%d RRDs not backed up", fails);
		return -1;
	}
	return 0;
}

static int be_archive_rrd(void *ctx, const char *vm, const char *remote, struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	if (!uuid_ok(vm, err))
		return -1;
	if (!(remote && *remote)) {
		if (!need_archives(s, err))
			return -1;
		return release_to_archive(s, MON_VM, vm, err) < 0 ? -1 : 0;
	}
	struct rrdb *r = release(s, MON_VM, vm);
	if (!r)
		return 0; /* nothing to archive */
	int rc = send_archive(s, remote, vm, false, r, err);
	if (rc)
		install(s, MON_VM, vm, r, NULL); /* kept rather than lost */
	else
		rrdb_free(r);
	return rc;
}

static int be_archive_sr_rrd(void *ctx, const char *sr, char **path, struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	if (!uuid_ok(sr, err) || !need_archives(s, err))
		return -1;
	struct rrdb *r = release(s, MON_SR, sr);
	if (!r) {
		rpc_err_set(err, RPC_ERR_ARCHIVE_FAILED, "no RRD for SR %s", sr);
		return -1;
	}
	char msg[512];
	if (store_dur_write(s->dur, MON_SR, sr, r, msg, sizeof(msg))) {
		install(s, MON_SR, sr, r, NULL); /* still served, as before the call */
		rpc_err_set(err, RPC_ERR_ARCHIVE_FAILED, "%s", msg);
		return -1;
	}
	rrdb_free(r);
	char p[4096];
	store_archive_path(store_dur_archive_dir(s->dur), sr, p, sizeof(p));
	*path = xstrdup(p);
	return 0;
}

static int be_push_sr_rrd(void *ctx, const char *sr, const char *path, struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	if (!uuid_ok(sr, err))
		return -1;
	int rc = fs_path_within(path, s->path_dirs);
	if (rc) {
		rpc_err_set(err, RPC_ERR_ARCHIVE_FAILED,
		            "push_sr_rrd: %.200s is not a file in %.300s (--rpc-path-dirs)", path,
		            s->path_dirs);
		return -1;
	}
	struct rrdb *r = NULL;
	struct buf bytes = BUF_INIT;
	char msg[512];
	rc = store_read_rrd_file(path, &r, &bytes, msg, sizeof(msg));
	size_t n = strlen(path);
	char p[4096];
	snprintf(p, sizeof(p), "%s", path);
	if (rc == -ENOENT && !(n > 3 && !strcmp(path + n - 3, ".gz"))) {
		snprintf(p, sizeof(p), "%s.gz", path);
		rc = store_read_rrd_file(p, &r, &bytes, msg, sizeof(msg));
	}
	if (rc) {
		rpc_err_set(err, RPC_ERR_ARCHIVE_FAILED, "%s: %s", p, msg);
		buf_free(&bytes);
		return -1;
	}
	rc = install(s, MON_SR, sr, r, &bytes);
	buf_free(&bytes);
	if (rc) {
		rpc_err_set(err, RPC_ERR_INTERNAL, "push_sr_rrd: %s",
		            rc == -ENOSPC ? "rrdd keeps at most its --max-rrds VM and SR RRDs"
		                          : "refused");
		return -1;
	}
	return 0;
}

static int be_load_rrd(void *ctx, const char *uuid, int64_t timescale, const char *master,
                       struct rpc_err *err)
{
	(void)timescale; /* ignored by xcp-rrdd too */
	struct rpc_service *s = ctx;
	if (!uuid_ok(uuid, err))
		return -1;
	int rc = store_dur_load(s->dur, MON_HOST, NULL, true);
	if (rc == 0)
		return 0;
	const char *local = rc == -ENOENT ? "no local archive" : strerror(-rc);
	if (!(master && *master)) {
		log_info("Deprecated.load_rrd %s: %s", uuid, local);
		return 0;
	}
	/* as xcp-rrdd: from the master, and a failure is only logged */
	struct rrdb *r;
	char msg[512];
	if (rpc_pull_host_rrd(&s->pool, master, uuid, &r, msg, sizeof(msg))) {
		log_warn("Deprecated.load_rrd %s: %s, and from the master: %s", uuid, local, msg);
		return 0;
	}
	if (install(s, MON_HOST, NULL, r, NULL))
		log_warn("Deprecated.load_rrd %s: the RRD from the master was not installed", uuid);
	else
		log_info("Deprecated.load_rrd %s: %s, pulled from the master %s", uuid, local,
		         master);
	return 0;
}

/* ---- recorded settings ---- */

static int be_use_min_max(void *ctx, bool v, struct rpc_err *err)
{
	(void)err;
	struct rpc_service *s = ctx;
	/* at once, as xcp-rrdd: VM and SR RRDs created from now on */
	struct mon_change c = {.kind = MON_CH_MIN_MAX, .use_min_max = v, .sync = true};
	if (commit(s, &c, NULL) == 0)
		log_info("update_use_min_max %s: VM and SR RRDs created from now on %s MIN and MAX "
		         "archives",
		         v ? "true" : "false", v ? "have" : "have no");
	return 0;
}

static int be_set_cache_sr(void *ctx, const char *sr, struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	if (!uuid_ok(sr, err))
		return -1;
	pthread_mutex_lock(&s->lock);
	free(s->cache_sr);
	s->cache_sr = xstrdup(sr);
	pthread_mutex_unlock(&s->lock);
	if (s->hastats)
		hastats_set_cache_sr(s->hastats, sr);
	log_info("set_cache_sr %s recorded", sr);
	return 0;
}

static int be_unset_cache_sr(void *ctx, struct rpc_err *err)
{
	(void)err;
	struct rpc_service *s = ctx;
	pthread_mutex_lock(&s->lock);
	free(s->cache_sr);
	s->cache_sr = NULL;
	pthread_mutex_unlock(&s->lock);
	if (s->hastats)
		hastats_set_cache_sr(s->hastats, NULL);
	log_info("unset_cache_sr recorded");
	return 0;
}

static int be_ha_enable(void *ctx, const struct rpc_statefile_latency *l, size_t n, double hb,
                        double xapi, struct rpc_err *err)
{
	(void)err;
	struct rpc_service *s = ctx;
	pthread_mutex_lock(&s->lock);
	s->ha_enabled = true;
	pthread_mutex_unlock(&s->lock);
	if (s->hastats) {
		struct hastats_statefile sf[16];
		size_t k = 0;
		for (size_t i = 0; i < n && k < 16; i++)
			if (l[i].id)
				sf[k++] = (struct hastats_statefile){
				    .id = l[i].id, .latency = l[i].has_latency ? l[i].latency : -1};
		hastats_ha_enable(s->hastats, sf, k, hb, xapi);
	}
	log_info("HA.enable_and_update: %zu statefiles, heartbeat %g s, xapi %g s (recorded)", n,
	         hb, xapi);
	return 0;
}

static int be_ha_disable(void *ctx, struct rpc_err *err)
{
	(void)err;
	struct rpc_service *s = ctx;
	pthread_mutex_lock(&s->lock);
	s->ha_enabled = false;
	pthread_mutex_unlock(&s->lock);
	if (s->hastats)
		hastats_ha_disable(s->hastats);
	log_info("HA.disable (recorded)");
	return 0;
}

/* ---- plugins ---- */

static bool uid_ok(const char *uid)
{
	size_t n = strlen(uid);
	return n > 0 && n <= 255 && !strchr(uid, '/') && strcmp(uid, ".") && strcmp(uid, "..");
}

static int be_get_header(void *ctx, char **out, struct rpc_err *err)
{
	(void)ctx;
	(void)err;
	*out = xstrdup("DATASOURCES\n");
	return 0;
}

static int be_get_path(void *ctx, const char *uid, char **out, struct rpc_err *err)
{
	struct rpc_service *s = ctx;
	if (!uid_ok(uid)) {
		rpc_err_set(err, RPC_ERR_INTERNAL, "invalid plugin uid '%.64s'", uid);
		return -1;
	}
	char p[4096];
	if (s->hooks.path) {
		int rc = s->hooks.path(s->hooks.ctx, uid, p, sizeof(p));
		if (rc < 0) {
			rpc_err_set(err, RPC_ERR_INTERNAL, "invalid plugin uid '%.64s'", uid);
			return -1;
		}
	} else {
		snprintf(p, sizeof(p), "%s/%s", PLUGIN_DIR, uid);
	}
	*out = xstrdup(p);
	return 0;
}

static double tick_in(struct rpc_service *s)
{
	return s->next_tick ? s->next_tick(s->next_tick_ctx) : 5.0;
}

static int be_register(void *ctx, const char *uid, enum rpc_frequency f, enum rpc_protocol p,
                       double *next, struct rpc_err *err)
{
	(void)f;
	struct rpc_service *s = ctx;
	if (!uid_ok(uid)) {
		rpc_err_set(err, RPC_ERR_INTERNAL, "invalid plugin uid '%.64s'", uid);
		return -1;
	}
	if (s->hooks.reg) {
		if (s->hooks.reg(s->hooks.ctx, uid, (int)p) < 0) {
			rpc_err_set(err, RPC_ERR_INTERNAL, "invalid plugin uid '%.64s'", uid);
			return -1;
		}
		*next =
		    s->hooks.next_reading ? s->hooks.next_reading(s->hooks.ctx, uid) : tick_in(s);
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	bool known = false;
	for (size_t i = 0; i < s->nown; i++)
		if (!strcmp(s->own[i], uid))
			known = true;
	if (!known && s->nown < OWN_MAX_PLUGINS)
		s->own[s->nown++] = xstrdup(uid);
	pthread_mutex_unlock(&s->lock);
	*next = tick_in(s);
	return 0;
}

static int be_deregister(void *ctx, const char *uid, struct rpc_err *err)
{
	(void)err;
	struct rpc_service *s = ctx;
	if (s->hooks.dereg) {
		s->hooks.dereg(s->hooks.ctx, uid); /* unknown uid: nothing to do */
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nown; i++)
		if (!strcmp(s->own[i], uid)) {
			free(s->own[i]);
			s->own[i] = s->own[--s->nown];
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int be_next_reading(void *ctx, const char *uid, double *out, struct rpc_err *err)
{
	(void)err;
	struct rpc_service *s = ctx;
	if (s->hooks.next_reading) {
		*out = s->hooks.next_reading(s->hooks.ctx, uid);
		return 0;
	}
	bool known = false;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nown; i++)
		if (!strcmp(s->own[i], uid))
			known = true;
	pthread_mutex_unlock(&s->lock);
	*out = known ? tick_in(s) : -1.0;
	return 0;
}

struct rpc_service *rpc_service_new(const struct rpc_service_config *cfg, struct rpc_backend *b)
{
	struct rpc_service *s = xcalloc(1, sizeof(*s));
	s->reg = cfg->reg;
	s->dur = cfg->dur;
	s->clk = cfg->clk;
	mon_uuid_copy(s->host_uuid, cfg->host_uuid ? cfg->host_uuid : mon_host_uuid(cfg->reg));
	s->hooks = cfg->plugins;
	s->next_tick = cfg->next_tick;
	s->next_tick_ctx = cfg->next_tick_ctx;
	s->pool = cfg->pool;
	s->hastats = cfg->hastats;
	if (cfg->path_dirs && *cfg->path_dirs) {
		s->path_dirs = xstrdup(cfg->path_dirs);
	} else {
		struct buf d = BUF_INIT;
		const char *tmp = getenv("TMPDIR");
		const char *arch = store_dur_archive_dir(s->dur);
		buf_printf(&d, "%s%s/tmp:/var/tmp%s%s", tmp && *tmp == '/' ? tmp : "",
		           tmp && *tmp == '/' ? ":" : "", arch ? ":" : "", arch ? arch : "");
		s->path_dirs = xstrdup(buf_cstr(&d));
		buf_free(&d);
	}
	pthread_mutex_init(&s->lock, NULL);
	memset(b, 0, sizeof(*b));
	b->ctx = s;
	b->has_vm_rrd = be_has_vm_rrd;
	b->push_rrd_local = be_push_rrd_local;
	b->push_rrd_remote = be_push_rrd_remote;
	b->remove_rrd = be_remove_rrd;
	b->migrate_rrd = be_migrate_rrd;
	b->send_host_rrd_to_master = be_send_host;
	b->backup_rrds = be_backup_rrds;
	b->archive_rrd = be_archive_rrd;
	b->archive_sr_rrd = be_archive_sr_rrd;
	b->push_sr_rrd = be_push_sr_rrd;
	b->add_ds = be_add_ds;
	b->forget_ds = be_forget_ds;
	b->query_possible_dss = be_query_possible;
	b->query_ds = be_query_ds;
	b->update_use_min_max = be_use_min_max;
	b->set_cache_sr = be_set_cache_sr;
	b->unset_cache_sr = be_unset_cache_sr;
	b->plugin_get_header = be_get_header;
	b->plugin_get_path = be_get_path;
	b->plugin_register = be_register;
	b->plugin_deregister = be_deregister;
	b->plugin_next_reading = be_next_reading;
	b->ha_enable_and_update = be_ha_enable;
	b->ha_disable = be_ha_disable;
	b->load_rrd = be_load_rrd;
	return s;
}

void rpc_service_free(struct rpc_service *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nown; i++)
		free(s->own[i]);
	free(s->cache_sr);
	free(s->path_dirs);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
