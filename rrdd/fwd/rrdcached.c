/*
 * The rrdcached forwarder (see rrdcached.h).  One thread: copy new rows
 * under the registry's read lock, then CREATE/UPDATE through a
 * librrd's client (rrdc_*: one connection per process, used only by this
 * thread) without any lock.  Per RRD it remembers the time of the
 * last row handed to rrdcached and a hash of the layout the remote file
 * was created with.  Values are printed with "%.9g" (a float32 row read
 * back exactly as float32) to keep UPDATE commands under librrd's 4096-byte
 * limit; an RRD whose one row does not fit is skipped and counted.
 */
#include "fwd/rrdcached.h"

#include "clock/clock.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export/librrd.h"
#include "export/rrdfile.h"
#include "monitor/registry.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define DEFAULT_QUEUE 100000u
#define RETRY_SECONDS 5.0
#define MAX_LINE      3800 /* of RRD_CMD_MAX 4096, the rest for "UPDATE <file>" */

/* what the thread remembers per RRD, sorted by (kind, uuid) */
struct track {
	enum mon_owner_kind kind;
	char uuid[MON_UUID_LEN + 1];
	int64_t last_sent; /* time of the newest row handed over; INT64_MIN: none */
	uint64_t layout;   /* layout hash of the remote file; 0: not checked yet */
	bool seen;
};

/* rows copied out of one RRD in one pass */
struct item {
	enum mon_owner_kind kind;
	char uuid[MON_UUID_LEN + 1];
	uint32_t step;
	uint32_t nds, nrra;
	exp_rrdfile_name *names;
	double *mrhb;
	struct rrdb_rra *rra;
	uint64_t layout;
	int64_t first_t; /* time of rows[0] (the oldest); rows are step apart */
	uint32_t nrows;
	float *vals; /* nrows * nds, oldest row first */
};

struct rcd {
	struct mon_registry *reg;
	const struct lrd_api *lrd;
	char *address, *dir;
	double interval;
	uint32_t max_queue;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, kicked;
	struct rcd_stats st; /* under mu */
	/* thread-only state */
	bool connected; /* librrd's one global client (rrdc_*) is ours */
	double next_connect;
	bool outage_logged, line_logged;
	uint64_t last_gen;
	bool have_gen;
	struct track *tr;
	size_t ntr, captr;
	struct item *items;
	size_t nitems, capitems;
	uint32_t queued;
};

/* Reconnection pacing is real time whatever the daemon's clock. */
static double mono_now(void)
{
	return clk_elapsed();
}

int rcd_address_ok(const char *a)
{
	if (!a || !*a || strlen(a) > 1000)
		return 0;
	if (!strncmp(a, "unix:", 5))
		return a[5] == '/';
	for (const char *p = a; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '/')
			return 0;
	return 1;
}

static int cmp_track(enum mon_owner_kind k, const char *u, const struct track *t)
{
	if (k != t->kind)
		return k < t->kind ? -1 : 1;
	return strcmp(u, t->uuid);
}

static struct track *find_track(struct rcd *f, enum mon_owner_kind k, const char *u, bool add)
{
	size_t lo = 0, hi = f->ntr;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_track(k, u, &f->tr[mid]);
		if (c == 0)
			return &f->tr[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (!add)
		return NULL;
	if (f->ntr == f->captr) {
		f->captr = f->captr ? f->captr * 2 : 64;
		f->tr = xrealloc(f->tr, sizeof(*f->tr) * f->captr);
	}
	memmove(&f->tr[lo + 1], &f->tr[lo], sizeof(*f->tr) * (f->ntr - lo));
	f->ntr++;
	struct track *t = &f->tr[lo];
	memset(t, 0, sizeof(*t));
	t->kind = k;
	snprintf(t->uuid, sizeof(t->uuid), "%s", u);
	t->last_sent = INT64_MIN;
	return t;
}

static uint64_t layout_hash(const struct rrdb *r, const exp_rrdfile_name *names)
{
	uint64_t h = 1469598103934665603ull;
#define MIX(x)                                                                                     \
	do {                                                                                       \
		h ^= (uint64_t)(x);                                                                \
		h *= 1099511628211ull;                                                             \
	} while (0)
	MIX(r->step);
	for (uint32_t d = 0; d < r->nds; d++)
		for (const char *p = names[d]; *p; p++)
			MIX((unsigned char)*p);
	for (uint32_t k = 0; k < r->nrra; k++) {
		MIX(r->rra[k].cf);
		MIX(r->rra[k].rows);
		MIX(r->rra[k].pdp_cnt);
		MIX((uint64_t)(r->rra[k].xff * 1e6));
	}
#undef MIX
	return h ? h : 1;
}

/* The first archive: AVERAGE, one PDP per row; -1 if none. */
static int first_rra(const struct rrdb *r)
{
	for (uint32_t k = 0; k < r->nrra; k++)
		if (r->rra[k].cf == CF_AVERAGE && r->rra[k].pdp_cnt == 1)
			return (int)k;
	return -1;
}

static void item_free(struct item *it)
{
	free(it->names);
	free(it->mrhb);
	free(it->rra);
	free(it->vals);
}

struct collect_ctx {
	struct rcd *f;
	enum mon_owner_kind kind;
	uint64_t dropped;
};

static int collect_one(const char *uuid, const struct rrdb *r, void *vctx)
{
	struct collect_ctx *c = vctx;
	struct rcd *f = c->f;
	int k = first_rra(r);
	if (k < 0 || r->nds == 0 || r->step == 0 || !isfinite(r->last_updated))
		return 0;
	struct track *t = find_track(f, c->kind, uuid, true);
	t->seen = true;
	int64_t step = r->step;
	int64_t end = ((int64_t)r->last_updated / step) * step;
	uint32_t rows = r->rra[k].rows;
	int64_t from = t->last_sent == INT64_MIN ? end - (int64_t)rows * step : t->last_sent;
	if (from >= end)
		return 0;
	int64_t want = (end - from) / step;
	if (want > rows) {
		c->dropped += (uint64_t)(want - rows);
		want = rows;
	}
	uint32_t room = f->queued < f->max_queue ? f->max_queue - f->queued : 0;
	if ((uint64_t)want > room) {
		/* over the queue bound: the oldest rows go */
		c->dropped += (uint64_t)(want - room);
		want = room;
	}
	t->last_sent = end;
	if (want == 0)
		return 0;
	if (f->nitems == f->capitems) {
		f->capitems = f->capitems ? f->capitems * 2 : 64;
		f->items = xrealloc(f->items, sizeof(*f->items) * f->capitems);
	}
	struct item *it = &f->items[f->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = c->kind;
	snprintf(it->uuid, sizeof(it->uuid), "%s", uuid);
	it->step = r->step;
	it->nds = r->nds;
	it->nrra = r->nrra;
	it->names = xcalloc(r->nds, sizeof(*it->names));
	exp_rrdfile_names(r, it->names);
	it->mrhb = xcalloc(r->nds, sizeof(*it->mrhb));
	for (uint32_t d = 0; d < r->nds; d++)
		it->mrhb[d] = r->ds[d].mrhb;
	it->rra = xcalloc(r->nrra, sizeof(*it->rra));
	memcpy(it->rra, r->rra, sizeof(*it->rra) * r->nrra);
	it->layout = layout_hash(r, it->names);
	it->nrows = (uint32_t)want;
	it->first_t = end - (want - 1) * step;
	it->vals = xmalloc(sizeof(float) * it->nrows * r->nds);
	for (uint32_t j = 0; j < it->nrows; j++) {
		uint32_t i = it->nrows - 1 - j; /* 0 = newest */
		for (uint32_t d = 0; d < r->nds; d++) {
			int64_t ds_end = ((int64_t)r->ds[d].last_updated / step) * step;
			int64_t lag = ds_end >= end ? 0 : (end - ds_end) / step;
			float v = NAN;
			if ((int64_t)i >= lag && (int64_t)i - lag < rows)
				v = (float)rrdb_peek(r, d, (uint32_t)k, (uint32_t)(i - lag));
			it->vals[(size_t)j * r->nds + d] = v;
		}
	}
	f->queued += it->nrows;
	return 0;
}

/* Copy the new rows of every RRD; false when nothing changed. */
static bool collect(struct rcd *f, uint64_t *dropped)
{
	static const enum mon_owner_kind kinds[] = {MON_HOST, MON_VM, MON_SR};
	struct collect_ctx c = {.f = f};
	mon_rdlock(f->reg);
	uint64_t gen = mon_generation(f->reg);
	if (f->have_gen && gen == f->last_gen) {
		mon_unlock(f->reg);
		return false;
	}
	f->last_gen = gen;
	f->have_gen = true;
	for (size_t i = 0; i < f->ntr; i++)
		f->tr[i].seen = false;
	f->queued = 0;
	for (int k = 0; k < 3; k++) {
		c.kind = kinds[k];
		mon_foreach_locked(f->reg, kinds[k], collect_one, &c);
	}
	mon_unlock(f->reg);
	/* forget RRDs that went away */
	size_t w = 0;
	for (size_t i = 0; i < f->ntr; i++)
		if (f->tr[i].seen)
			f->tr[w++] = f->tr[i];
	f->ntr = w;
	*dropped = c.dropped;
	return true;
}

static void remote_name(const struct rcd *f, const struct item *it, char *out, size_t n)
{
	const char *u = it->uuid;
	if (f->dir && *f->dir)
		snprintf(out, n, "%s/%s.rrd", f->dir, u);
	else
		snprintf(out, n, "%s.rrd", u);
}

static const char *client_error(const struct rcd *f)
{
	const char *e = f->lrd->get_error();
	return e && *e ? e : "failed";
}

static int create_remote(struct rcd *f, const struct item *it, const char *name, bool keep)
{
	size_t argc = it->nds + it->nrra;
	const char **argv = xcalloc(argc, sizeof(*argv));
	struct buf b = BUF_INIT;
	size_t *off = xcalloc(argc, sizeof(*off));
	size_t a = 0;
	for (uint32_t d = 0; d < it->nds; d++) {
		double hb = ceil(it->mrhb[d]);
		if (!(hb >= 2.0 * it->step))
			hb = 2.0 * it->step;
		off[a++] = b.len;
		buf_printf(&b, "DS:%s:GAUGE:%.0f:U:U", it->names[d], hb > 2e9 ? 2e9 : hb);
		buf_addc(&b, '\0');
	}
	for (uint32_t k = 0; k < it->nrra; k++) {
		const struct rrdb_rra *r = &it->rra[k];
		off[a++] = b.len;
		/* rrdtool wants xff < 1: 1 becomes 1 - 2^-52 (exp/rrdfile.h) */
		char xff[32];
		if (r->xff >= 1)
			snprintf(xff, sizeof(xff), "0.9999999999999998");
		else
			snprintf(xff, sizeof(xff), "%.6g", r->xff > 0 ? r->xff : 0.0);
		buf_printf(&b, "RRA:%s:%s:%u:%u", rrdb_cf_name(r->cf), xff, r->pdp_cnt, r->rows);
		buf_addc(&b, '\0');
	}
	for (size_t i = 0; i < argc; i++)
		argv[i] = b.p + off[i];
	const char *sources[] = {name, NULL};
	f->lrd->clear_error();
	int rc = f->lrd->c_create_r2(name, it->step, (time_t)(it->first_t - it->step), 0,
	                             keep ? sources : NULL, NULL, (int)argc, argv);
	if (rc && keep) {
		/* older rrdcached or no usable source: a fresh file */
		f->lrd->clear_error();
		rc = f->lrd->c_create_r2(name, it->step, (time_t)(it->first_t - it->step), 0, NULL,
		                         NULL, (int)argc, argv);
	}
	if (rc)
		log_warn("rrdcached: CREATE %s: %s", name, client_error(f));
	free(argv);
	free(off);
	buf_free(&b);
	return rc;
}

static void disconnect(struct rcd *f)
{
	if (f->connected) {
		f->lrd->c_disconnect();
		f->connected = false;
	}
	f->next_connect = mono_now() + RETRY_SECONDS;
}

static bool ensure_connected(struct rcd *f)
{
	if (f->connected && f->lrd->c_is_connected(f->address))
		return true;
	if (f->connected)
		disconnect(f);
	if (mono_now() < f->next_connect)
		return false;
	f->lrd->clear_error();
	int crc = f->lrd->c_connect(f->address);
	f->connected = true;
	if (crc || !f->lrd->c_is_connected(f->address)) {
		if (!f->outage_logged)
			log_warn("rrdcached: cannot connect to %s: %s (rows are dropped until it "
			         "answers)",
			         f->address, client_error(f));
		f->outage_logged = true;
		disconnect(f);
		return false;
	}
	if (f->outage_logged)
		log_notice("rrdcached: connected to %s", f->address);
	else
		log_info("rrdcached: connected to %s", f->address);
	f->outage_logged = false;
	pthread_mutex_lock(&f->mu);
	f->st.connects++;
	pthread_mutex_unlock(&f->mu);
	/* the remote files may have changed while we were away: check again */
	for (size_t i = 0; i < f->ntr; i++)
		f->tr[i].layout = 0;
	return true;
}

/* Send one item; returns rows sent, adds to *dropped and *errors. */
static uint64_t send_item(struct rcd *f, struct item *it, uint64_t *dropped, uint64_t *errors,
                          uint64_t *created)
{
	char name[1200];
	remote_name(f, it, name, sizeof(name));
	struct track *t = find_track(f, it->kind, it->uuid, false);
	int64_t skip_until = INT64_MIN;
	if (!t || t->layout != it->layout) {
		f->lrd->clear_error();
		time_t last = f->lrd->c_last(name);
		bool exists = last > 0;
		bool changed = t && t->layout != 0 && t->layout != it->layout;
		if (!exists || changed) {
			if (create_remote(f, it, name, changed && exists)) {
				(*errors)++;
				*dropped += it->nrows;
				return 0;
			}
			(*created)++;
			if (changed)
				log_info(
				    "rrdcached: %s re-created (data sources or archives changed)",
				    name);
			last = f->lrd->c_last(name);
		}
		if (t)
			t->layout = it->layout;
		skip_until = last > 0 ? (int64_t)last : INT64_MIN;
	}
	uint64_t sent = 0;
	struct buf line = BUF_INIT;
	const char *vals[64];
	char *store[64];
	size_t nv = 0, bytes = 0;
	for (uint32_t j = 0; j <= it->nrows; j++) {
		bool flush = j == it->nrows;
		if (!flush) {
			int64_t tt = it->first_t + (int64_t)j * it->step;
			if (tt <= skip_until)
				continue;
			buf_reset(&line);
			buf_printf(&line, "%lld", (long long)tt);
			for (uint32_t d = 0; d < it->nds; d++) {
				float v = it->vals[(size_t)j * it->nds + d];
				if (isnan(v))
					buf_adds(&line, ":U");
				else
					buf_printf(&line, ":%.9g", (double)v);
			}
			if (line.len > MAX_LINE) {
				if (!f->line_logged)
					log_warn(
					    "rrdcached: %s: a row of %u data sources is longer "
					    "than an rrdcached command allows; not forwarded",
					    name, it->nds);
				f->line_logged = true;
				(*dropped)++;
				continue;
			}
			if (nv == 64 || bytes + line.len + 1 > MAX_LINE)
				flush = true;
			else {
				store[nv] = xmalloc(line.len + 1);
				memcpy(store[nv], buf_cstr(&line), line.len + 1);
				vals[nv] = store[nv];
				nv++;
				bytes += line.len + 1;
				continue;
			}
			j--; /* this row goes into the next command */
		}
		if (nv) {
			f->lrd->clear_error();
			if (f->lrd->c_update(name, (int)nv, vals)) {
				(*errors)++;
				*dropped += nv;
				log_debug("rrdcached: UPDATE %s: %s", name, client_error(f));
				if (t)
					t->layout = 0; /* check the file again next time */
				if (!f->lrd->c_is_connected(f->address)) {
					for (size_t i = 0; i < nv; i++)
						free(store[i]);
					nv = 0;
					break;
				}
			} else {
				sent += nv;
			}
			for (size_t i = 0; i < nv; i++)
				free(store[i]);
			nv = 0;
			bytes = 0;
		}
	}
	buf_free(&line);
	return sent;
}

static void pass(struct rcd *f)
{
	uint64_t dropped = 0, errors = 0, sent = 0, created = 0;
	f->nitems = 0;
	if (!collect(f, &dropped))
		return;
	size_t i = 0;
	if (f->nitems && ensure_connected(f)) {
		for (; i < f->nitems; i++) {
			if (!f->connected || !f->lrd->c_is_connected(f->address)) {
				if (!f->outage_logged)
					log_warn(
					    "rrdcached: connection to %s lost (rows are dropped "
					    "until it answers)",
					    f->address);
				f->outage_logged = true;
				disconnect(f);
				break;
			}
			sent += send_item(f, &f->items[i], &dropped, &errors, &created);
		}
	}
	for (; i < f->nitems; i++)
		dropped += f->items[i].nrows;
	for (size_t j = 0; j < f->nitems; j++)
		item_free(&f->items[j]);
	f->nitems = 0;
	pthread_mutex_lock(&f->mu);
	f->st.rows_sent += sent;
	f->st.rows_dropped += dropped;
	f->st.errors += errors;
	f->st.created += created;
	pthread_mutex_unlock(&f->mu);
}

static void *run(void *arg)
{
	struct rcd *f = arg;
	pthread_mutex_lock(&f->mu);
	for (;;) {
		if (!f->kicked && !f->stop)
			clk_cond_wait_for(&f->cv, &f->mu, f->interval);
		bool stop = f->stop;
		f->kicked = false;
		pthread_mutex_unlock(&f->mu);
		if (stop)
			f->have_gen = false; /* the last pass looks even if nothing changed */
		pass(f);
		pthread_mutex_lock(&f->mu);
		if (stop)
			break;
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

int rcd_start(struct mon_registry *reg, const struct rcd_options *o, struct rcd **out, char *err,
              size_t errlen)
{
	if (!rcd_address_ok(o->address)) {
		snprintf(err, errlen, "rrdcached address '%s': expected unix:/PATH or HOST[:PORT]",
		         o->address ? o->address : "");
		return -EINVAL;
	}
	if (o->dir && (strchr(o->dir, ' ') || strchr(o->dir, '\n') || strlen(o->dir) > 900)) {
		snprintf(err, errlen, "rrdcached directory '%s': no spaces, at most 900 bytes",
		         o->dir);
		return -EINVAL;
	}
	char why[512];
	const struct lrd_api *lrd = lrd_get(why, sizeof(why));
	if (!lrd) {
		snprintf(err, errlen, "rrdcached forwarding: %s", why);
		return -ENOSYS;
	}
	struct rcd *f = xcalloc(1, sizeof(*f));
	f->reg = reg;
	f->lrd = lrd;
	f->address = xstrdup(o->address);
	f->dir = o->dir && *o->dir ? xstrdup(o->dir) : NULL;
	f->interval = o->interval > 0 ? o->interval : 1.0;
	f->max_queue = o->max_queue ? o->max_queue : DEFAULT_QUEUE;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	int rc = pthread_create(&f->th, NULL, run, f);
	if (rc) {
		snprintf(err, errlen, "rrdcached: thread: %s", strerror(rc));
		free(f->address);
		free(f->dir);
		free(f);
		return -rc;
	}
	*out = f;
	return 0;
}

void rcd_kick(struct rcd *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->kicked = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void rcd_stop(struct rcd *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->th, NULL);
	if (f->connected)
		f->lrd->c_disconnect();
	struct rcd_stats st = f->st;
	log_info("rrdcached: %llu rows sent, %llu dropped, %llu errors, %llu files created",
	         (unsigned long long)st.rows_sent, (unsigned long long)st.rows_dropped,
	         (unsigned long long)st.errors, (unsigned long long)st.created);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f->tr);
	free(f->items);
	free(f->address);
	free(f->dir);
	free(f);
}

void rcd_get_stats(struct rcd *f, struct rcd_stats *out)
{
	pthread_mutex_lock(&f->mu);
	*out = f->st;
	pthread_mutex_unlock(&f->mu);
}
