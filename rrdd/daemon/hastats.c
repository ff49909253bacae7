/*
 * HA and cache-SR data sources (see hastats.h).  tapdisk-cache-stats is
 * run with posix_spawn, its output (at most 64 KiB) read within 10 s, then
 * killed if still running; its figures are kept with the time they were
 * read, and every 55 s (xcp-rrdd's period) two readings give the rates,
 * which each cycle reports until the next (as xcp-rrdd's cached DSs).
 */
#include "daemon/hastats.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock/clock.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define CMD_TIMEOUT    10.0
#define CMD_MAX_OUT    (64u << 10)
#define MAX_STATEFILES 16

extern char **environ;

struct reading {
	double t;
	int64_t size, hits, misses;
};

struct hastats {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thr;
	bool started, stop;
	char *cmd;
	double interval;
	/* HA (under mu) */
	bool ha;
	size_t nsf;
	char *sf_id[MAX_STATEFILES];
	double sf_lat[MAX_STATEFILES];
	double hb, xapi;
	/* cache SR (under mu) */
	char *cache_sr;
	unsigned cache_gen; /* bumped by every set_cache_sr */
	bool have_rates;
	char rates_sr[64];
	int64_t size, hits_s, misses_s;
	/* the tick's strings (tick thread only) */
	struct buf names;
};

/* Run cmd sr; its KEY=VALUE figures into *r.  0 or a negative errno. */
static int run_cmd(const char *cmd, const char *sr, struct reading *r, char *why, size_t wlen)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	char *argv[] = {(char *)cmd, (char *)sr, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, cmd, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc) {
		close(pfd[0]);
		snprintf(why, wlen, "%s: %s", cmd, strerror(rc));
		return -rc;
	}
	struct buf out = BUF_INIT;
	double end = clk_elapsed() + CMD_TIMEOUT;
	bool timed_out = false;
	for (;;) {
		double left = end - clk_elapsed();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int n = poll(&p, 1, (int)ceil(left * 1000));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			timed_out = n == 0;
			break;
		}
		char tmp[4096];
		ssize_t got = read(pfd[0], tmp, sizeof(tmp));
		if (got <= 0)
			break;
		if (out.len + (size_t)got <= CMD_MAX_OUT)
			buf_add(&out, tmp, (size_t)got);
	}
	close(pfd[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	rc = 0;
	if (timed_out) {
		snprintf(why, wlen, "%s: no answer in %.0f s", cmd, CMD_TIMEOUT);
		rc = -ETIMEDOUT;
	} else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(why, wlen, "%s: failed (status %d)", cmd, st);
		rc = -EIO;
	}
	int found = 0;
	const char *keys[] = {
	    "TOTAL_CACHE_UTILISATION=", "TOTAL_CACHE_HITS=", "TOTAL_CACHE_MISSES="};
	int64_t *dst[] = {&r->size, &r->hits, &r->misses};
	const char *text = buf_cstr(&out);
	for (const char *l = text; !rc && l && *l;) {
		for (int k = 0; k < 3; k++)
			if (!strncmp(l, keys[k], strlen(keys[k]))) {
				char *e;
				long long v = strtoll(l + strlen(keys[k]), &e, 10);
				if (e != l + strlen(keys[k]) && (*e == '\n' || !*e)) {
					*dst[k] = v;
					found |= 1 << k;
				}
			}
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	buf_free(&out);
	if (!rc && found != 7) {
		snprintf(why, wlen, "%s: no TOTAL_CACHE_UTILISATION/HITS/MISSES in its output",
		         cmd);
		rc = -EPROTO;
	}
	r->t = clk_elapsed();
	return rc;
}

static void *cache_main(void *arg)
{
	struct hastats *h = arg;
	struct reading last = {0};
	bool have_last = false;
	unsigned gen = 0;
	bool failing = false;
	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		if (!h->cache_sr) {
			have_last = false;
			pthread_cond_wait(&h->cv, &h->mu);
			continue;
		}
		if (h->cache_gen != gen) { /* another SR: start over */
			gen = h->cache_gen;
			have_last = false;
			h->have_rates = false;
		}
		char sr[64];
		snprintf(sr, sizeof(sr), "%s", h->cache_sr);
		pthread_mutex_unlock(&h->mu);
		struct reading r;
		char why[300] = "";
		int rc = run_cmd(h->cmd, sr, &r, why, sizeof(why));
		if (rc && !failing)
			log_warn("cache SR %s: %s (not logged again until it works)", sr, why);
		else if (!rc && failing)
			log_info("cache SR %s: %s works again", sr, h->cmd);
		failing = rc != 0;
		pthread_mutex_lock(&h->mu);
		if (!rc && gen == h->cache_gen) {
			if (have_last && r.t - last.t >= 1) {
				/* xcp-rrdd: integer rates over the whole seconds between */
				int64_t dt = (int64_t)(r.t - last.t);
				h->size = r.size;
				h->hits_s = (r.hits - last.hits) / dt;
				h->misses_s = (r.misses - last.misses) / dt;
				snprintf(h->rates_sr, sizeof(h->rates_sr), "%s", sr);
				h->have_rates = true;
			}
			last = r;
			have_last = true;
		}
		/* until the next run, or sooner when the SR changes or we stop */
		double next = clk_elapsed() + h->interval;
		while (!h->stop && gen == h->cache_gen && h->cache_sr && clk_elapsed() < next)
			clk_cond_wait_for(&h->cv, &h->mu, next - clk_elapsed());
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct hastats *hastats_new(const char *cache_cmd, double interval)
{
	struct hastats *h = xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->cmd = xstrdup(cache_cmd && *cache_cmd ? cache_cmd : HASTATS_CACHE_COMMAND);
	h->interval = interval > 0 ? interval : 55;
	h->started = pthread_create(&h->thr, NULL, cache_main, h) == 0;
	if (!h->started)
		log_warn("cache SR figures: cannot start their thread");
	return h;
}

void hastats_ha_enable(struct hastats *h, const struct hastats_statefile *sf, size_t n,
                       double heartbeat_latency, double xapi_latency)
{
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->nsf; i++)
		free(h->sf_id[i]);
	h->nsf = 0;
	for (size_t i = 0; i < n && h->nsf < MAX_STATEFILES; i++) {
		h->sf_id[h->nsf] = xstrdup(sf[i].id);
		h->sf_lat[h->nsf++] = sf[i].latency;
	}
	h->ha = true;
	h->hb = heartbeat_latency;
	h->xapi = xapi_latency;
	pthread_mutex_unlock(&h->mu);
}

void hastats_ha_disable(struct hastats *h)
{
	pthread_mutex_lock(&h->mu);
	h->ha = false;
	pthread_mutex_unlock(&h->mu);
}

void hastats_set_cache_sr(struct hastats *h, const char *sr_uuid)
{
	pthread_mutex_lock(&h->mu);
	free(h->cache_sr);
	h->cache_sr = sr_uuid && *sr_uuid ? xstrdup(sr_uuid) : NULL;
	h->cache_gen++;
	h->have_rates = false;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* A sample named by the text at off in h->names (fixed up after). */
static void sample(struct mon_chunk_owner *o, size_t name_off, const char *desc, const char *units,
                   bool dflt, struct dsval v)
{
	struct mon_sample *s = mon_owner_add_sample(o);
	s->d.name = (const char *)(uintptr_t)name_off; /* resolved below */
	s->d.description = desc;
	s->d.units = units;
	s->d.type = DS_GAUGE;
	s->d.value_type = v.type == VAL_INT64 ? VAL_INT64 : VAL_FLOAT;
	s->d.min = dflt ? 0.0 : -INFINITY; /* the cache figures have min 0 */
	s->d.max = INFINITY;
	s->d.dflt = dflt;
	s->v = v;
}

/* prefix arg suffix, NUL-terminated, appended to b: its offset. */
static size_t name(struct buf *b, const char *prefix, const char *arg, const char *suffix)
{
	size_t off = b->len;
	buf_adds(b, prefix);
	buf_adds(b, arg);
	buf_adds(b, suffix);
	buf_addc(b, '\0');
	return off;
}

bool hastats_chunk(struct hastats *h, double now, struct mon_chunk *c)
{
	mon_chunk_reset(c);
	snprintf(c->uid, sizeof(c->uid), "rrdd-ha");
	c->t = now;
	buf_reset(&h->names);
	struct mon_chunk_owner *o = NULL;
	pthread_mutex_lock(&h->mu);
	if (h->ha) {
		o = mon_chunk_add_owner(c, MON_HOST, NULL);
		for (size_t i = 0; i < h->nsf; i++)
			sample(
			    o, name(&h->names, "statefile/", h->sf_id[i], "/latency"),
			    "Turn-around time of the latest State-File access from the local host",
			    "s", false,
			    h->sf_lat[i] >= 0 ? DSVAL_FLT(h->sf_lat[i]) : DSVAL_UNKNOWN);
		sample(
		    o, name(&h->names, "network/latency", "", ""),
		    "Interval between the last two heartbeats transmitted from the local host to "
		    "all Online hosts",
		    "s", false, DSVAL_FLT(h->hb));
		sample(
		    o, name(&h->names, "xapi_healthcheck/latency", "", ""),
		    "Turn-around time of the latest xapi status monitoring call on the local host",
		    "s", false, DSVAL_FLT(h->xapi));
	}
	if (h->cache_sr && h->have_rates) {
		if (!o)
			o = mon_chunk_add_owner(c, MON_HOST, NULL);
		sample(o, name(&h->names, "sr_", h->rates_sr, "_cache_size"),
		       "Size in bytes of the cache SR", "B", true, DSVAL_INT(h->size));
		sample(o, name(&h->names, "sr_", h->rates_sr, "_cache_hits"),
		       "Hits per second of the cache", "hits/s", true, DSVAL_INT(h->hits_s));
		sample(o, name(&h->names, "sr_", h->rates_sr, "_cache_misses"),
		       "Misses per second of the cache", "misses/s", true, DSVAL_INT(h->misses_s));
	}
	pthread_mutex_unlock(&h->mu);
	if (!o)
		return false;
	for (uint32_t i = 0; i < o->nds; i++) /* the buffer may have moved while growing */
		o->ds[i].d.name = h->names.p + (uintptr_t)o->ds[i].d.name;
	return true;
}

void hastats_free(struct hastats *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (h->started)
		pthread_join(h->thr, NULL);
	for (size_t i = 0; i < h->nsf; i++)
		free(h->sf_id[i]);
	free(h->cache_sr);
	free(h->cmd);
	buf_free(&h->names);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
