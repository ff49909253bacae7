/*
 * The plugin handle and its sources: creation and validation of the uid and
 * of source definitions, values, and assembly of the V2 page image (wire-format.md
 * §6.3) that writer.c puts on disk.
 *
 * The metadata part of the image (JSON, its length and CRC) is rebuilt only
 * when the set of sources changes; a publish then only stores the timestamp
 * and the values, computes the data CRC and writes the page.  Every call on
 * a handle takes its lock.  Never aborts: allocation failures are -ENOMEM.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_SIZE_BYTES 4096u
#define OFF_DATA_CRC    11
#define OFF_META_CRC    15
#define OFF_COUNT       19
#define OFF_TIMESTAMP   23
#define OFF_VALUES      31

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint64_t dbl_bits(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof(b));
	return b;
}

static char *dupstr(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static int check_uid(const char *uid)
{
	if (!uid || !uid[0])
		return rrdp_i_fail(-EINVAL, "the plugin uid is empty");
	size_t n = strlen(uid);
	if (n > RRDP_MAX_UID)
		return rrdp_i_fail(-EINVAL, "the plugin uid is %zu bytes long, the limit is %d", n,
		                   RRDP_MAX_UID);
	for (size_t i = 0; i < n; i++) {
		char c = uid[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return rrdp_i_fail(
			    -EINVAL, "the plugin uid may only hold A-Z a-z 0-9 . _ - (byte %zu)",
			    i);
	}
	if (uid[0] == '.')
		return rrdp_i_fail(-EINVAL, "the plugin uid may not start with '.'");
	if (strncmp(uid, "tap-", 4) == 0)
		return rrdp_i_fail(-EINVAL,
		                   "uids starting with \"tap-\" are ignored by the daemon");
	if (n >= 4 && strcmp(uid + n - 4, ".tmp") == 0)
		return rrdp_i_fail(-EINVAL, "uids ending in \".tmp\" are ignored by the daemon");
	return 0;
}

static double opt_or(double v, double dflt)
{
	return v == 0 || !isfinite(v) ? dflt : v;
}

int rrdp_plugin_new(struct rrdp_plugin **out, const char *uid, const struct rrdp_options *opts)
{
	rrdp_i_clear_error();
	if (!out)
		return rrdp_i_fail(-EINVAL, "rrdp_plugin_new: out is NULL");
	*out = NULL;
	int rc = check_uid(uid);
	if (rc < 0)
		return rc;
	struct rrdp_options o = {0};
	if (opts)
		o = *opts;
	const char *dir = o.dir && o.dir[0] ? o.dir : RRDP_DEFAULT_DIR;
	const char *sock = o.socket_path ? o.socket_path : RRDP_DEFAULT_SOCKET;

	struct rrdp_plugin *p = calloc(1, sizeof(*p));
	if (!p)
		return rrdp_i_fail(-ENOMEM, "out of memory");
	p->dirfd = -1;
	p->fd = -1;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return rrdp_i_fail(-ENOMEM, "cannot initialise the handle lock");
	}
	p->uid = dupstr(uid);
	p->dir = dupstr(dir);
	p->socket_path = sock[0] ? dupstr(sock) : NULL;
	size_t plen = strlen(dir) + 1 + strlen(uid) + 1;
	p->path = malloc(plen);
	if (!p->uid || !p->dir || (sock[0] && !p->socket_path) || !p->path) {
		rrdp_plugin_free(p);
		return rrdp_i_fail(-ENOMEM, "out of memory");
	}
	snprintf(p->path, plen, "%s/%s", dir, uid);
	if (sock[0] && strlen(sock) >= 108) {
		rrdp_plugin_free(p);
		return rrdp_i_fail(-ENAMETOOLONG, "socket path \"%s\" is too long for AF_UNIX",
		                   sock);
	}
	p->neg_shift = o.neg_shift < 0 ? 0 : opt_or(o.neg_shift, RRDP_DEFAULT_NEG_SHIFT);
	p->period = o.period > 0 ? opt_or(o.period, RRDP_DEFAULT_PERIOD) : RRDP_DEFAULT_PERIOD;
	p->rpc_timeout = o.rpc_timeout > 0 ? opt_or(o.rpc_timeout, 5.0) : 5.0;
	p->in_place = o.in_place;
	p->protocol = 2;
	p->meta_dirty = true;

	p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		int e = errno;
		rrdp_plugin_free(p);
		return rrdp_i_fail(-e, "cannot open the plugin directory \"%s\": %s", dir,
		                   strerror(e));
	}
	*out = p;
	return 0;
}

void rrdp_plugin_free(struct rrdp_plugin *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsrc; i++) {
		struct rrdp_source *s = p->src[i];
		free(s->name);
		free(s->uuid);
		free(s->units);
		free(s->description);
		free(s);
	}
	free(p->src);
	free(p->page);
	if (p->fd >= 0)
		close(p->fd);
	if (p->dirfd >= 0)
		close(p->dirfd);
	free(p->uid);
	free(p->dir);
	free(p->path);
	free(p->socket_path);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int rrdp_plugin_close(struct rrdp_plugin *p)
{
	rrdp_i_clear_error();
	if (!p)
		return 0;
	int rc = 0;
	if (p->registered && p->socket_path) {
		/* a busy daemon may take longer than one call's timeout: the
		 * call is idempotent, try it three times before giving up */
		int r = rrdp_deregister(p);
		for (int i = 0; i < 2 && (r == -ETIMEDOUT || r == -EAGAIN); i++)
			r = rrdp_deregister(p);
		/* A daemon that is gone has nothing to forget. */
		if (r < 0 && r != -ENOENT && r != -ECONNREFUSED)
			rc = r;
	}
	pthread_mutex_lock(&p->lock);
	int r = rrdp_i_unlink_page(p);
	pthread_mutex_unlock(&p->lock);
	if (r < 0 && rc == 0)
		rc = r;
	char msg[512];
	snprintf(msg, sizeof(msg), "%s", rrdp_error_message());
	rrdp_plugin_free(p);
	if (rc < 0)
		rrdp_i_fail(rc, "%s", msg);
	return rc;
}

const char *rrdp_plugin_path(const struct rrdp_plugin *p)
{
	return p ? p->path : "";
}

static bool is_uuid(const char *u)
{
	if (strlen(u) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		char c = u[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? c != '-'
		         : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		             (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

static int check_def(const struct rrdp_source_def *d)
{
	if (!d)
		return rrdp_i_fail(-EINVAL, "source definition is NULL");
	if (!d->name || !d->name[0])
		return rrdp_i_fail(-EINVAL, "source name is empty");
	int rc = rrdp_i_check_text(d->name, RRDP_MAX_NAME, "source name");
	if (rc < 0)
		return rc;
	for (const unsigned char *q = (const unsigned char *)d->name; *q; q++)
		if (*q < 0x20 || *q == 0x7f)
			return rrdp_i_fail(-EINVAL, "source name \"%s\" holds a control character",
			                   d->name);
	if (d->units && (rc = rrdp_i_check_text(d->units, RRDP_MAX_TEXT, "units")) < 0)
		return rc;
	if (d->description &&
	    (rc = rrdp_i_check_text(d->description, RRDP_MAX_TEXT, "description")) < 0)
		return rc;
	switch (d->owner) {
	case RRDP_OWNER_HOST:
		break;
	case RRDP_OWNER_VM:
	case RRDP_OWNER_SR:
		if (!d->owner_uuid || !is_uuid(d->owner_uuid))
			return rrdp_i_fail(
			    -EINVAL,
			    "source \"%s\": a VM or SR owner needs a uuid of the form "
			    "8-4-4-4-12 hex digits",
			    d->name);
		break;
	default:
		return rrdp_i_fail(-EINVAL, "source \"%s\": unknown owner kind %d", d->name,
		                   (int)d->owner);
	}
	if (d->type != RRDP_GAUGE && d->type != RRDP_ABSOLUTE && d->type != RRDP_DERIVE)
		return rrdp_i_fail(-EINVAL, "source \"%s\": unknown type %d", d->name,
		                   (int)d->type);
	if (d->value_type != RRDP_INT64 && d->value_type != RRDP_FLOAT)
		return rrdp_i_fail(-EINVAL, "source \"%s\": unknown value type %d", d->name,
		                   (int)d->value_type);
	if (d->transform != RRDP_IDENTITY && d->transform != RRDP_INVERSE)
		return rrdp_i_fail(-EINVAL, "source \"%s\": unknown transform %d", d->name,
		                   (int)d->transform);
	if (!(d->min < d->max))
		return rrdp_i_fail(-EINVAL,
		                   "source \"%s\": min (%g) must be below max (%g); start from "
		                   "RRDP_SOURCE_DEF_INIT for an unbounded range",
		                   d->name, d->min, d->max);
	return 0;
}

static bool same_source(const struct rrdp_source *s, const struct rrdp_source_def *d)
{
	if (s->owner != d->owner || strcmp(s->name, d->name) != 0)
		return false;
	return d->owner == RRDP_OWNER_HOST || strcasecmp(s->uuid, d->owner_uuid) == 0;
}

bool rrdp_source_can_be_unknown(const struct rrdp_source *s)
{
	if (!s)
		return false;
	if (s->value_type == RRDP_FLOAT)
		return true;
	if (s->type == RRDP_DERIVE)
		return s->min >= 0 && s->max <= 1e15;
	return isfinite(s->min) && s->min >= -1e15;
}

static uint64_t unknown_bits(const struct rrdp_source *s)
{
	if (s->value_type == RRDP_FLOAT)
		return dbl_bits(NAN);
	return rrdp_source_can_be_unknown(s) ? (uint64_t)INT64_MIN : 0;
}

int rrdp_source_add(struct rrdp_plugin *p, const struct rrdp_source_def *def,
                    struct rrdp_source **out)
{
	rrdp_i_clear_error();
	if (out)
		*out = NULL;
	if (!p)
		return rrdp_i_fail(-EINVAL, "plugin handle is NULL");
	int rc = check_def(def);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&p->lock);
	if (p->protocol == 3 && (def->type == RRDP_ABSOLUTE || def->transform != RRDP_IDENTITY)) {
		pthread_mutex_unlock(&p->lock);
		return rrdp_i_fail(
		    -EINVAL, "source \"%s\": protocol v3 carries no ABSOLUTE or inverse source",
		    def->name);
	}
	for (size_t i = 0; i < p->nsrc; i++) {
		if (same_source(p->src[i], def)) {
			pthread_mutex_unlock(&p->lock);
			return rrdp_i_fail(
			    -EEXIST, "source \"%s\" is already declared for this owner", def->name);
		}
	}
	if (p->nsrc >= RRDP_MAX_SOURCES) {
		pthread_mutex_unlock(&p->lock);
		return rrdp_i_fail(-E2BIG, "too many sources (limit %d)", RRDP_MAX_SOURCES);
	}
	if (p->nsrc == p->capsrc) {
		size_t cap = p->capsrc ? p->capsrc * 2 : 16;
		struct rrdp_source **ns = realloc(p->src, cap * sizeof(*ns));
		if (!ns) {
			pthread_mutex_unlock(&p->lock);
			return rrdp_i_fail(-ENOMEM, "out of memory");
		}
		p->src = ns;
		p->capsrc = cap;
	}
	struct rrdp_source *s = calloc(1, sizeof(*s));
	if (s) {
		s->name = dupstr(def->name);
		s->uuid = dupstr(def->owner == RRDP_OWNER_HOST ? "" : def->owner_uuid);
		s->units = dupstr(def->units ? def->units : "");
		s->description = dupstr(def->description ? def->description : "");
	}
	if (!s || !s->name || !s->uuid || !s->units || !s->description) {
		if (s) {
			free(s->name);
			free(s->uuid);
			free(s->units);
			free(s->description);
			free(s);
		}
		pthread_mutex_unlock(&p->lock);
		return rrdp_i_fail(-ENOMEM, "out of memory");
	}
	for (char *q = s->uuid; *q; q++)
		if (*q >= 'A' && *q <= 'F')
			*q = (char)(*q - 'A' + 'a');
	s->plugin = p;
	s->owner = def->owner;
	s->type = def->type;
	s->value_type = def->value_type;
	s->transform = def->transform;
	s->min = def->min;
	s->max = def->max;
	s->is_default = def->is_default;
	s->bits = unknown_bits(s);
	p->src[p->nsrc++] = s;
	p->meta_dirty = true;
	pthread_mutex_unlock(&p->lock);
	if (out)
		*out = s;
	return 0;
}

int rrdp_source_remove(struct rrdp_plugin *p, struct rrdp_source *s)
{
	rrdp_i_clear_error();
	if (!p || !s)
		return rrdp_i_fail(-EINVAL, "NULL plugin or source");
	pthread_mutex_lock(&p->lock);
	size_t i;
	for (i = 0; i < p->nsrc && p->src[i] != s; i++)
		;
	if (i == p->nsrc) {
		pthread_mutex_unlock(&p->lock);
		return rrdp_i_fail(-EINVAL, "not a source of this plugin");
	}
	memmove(&p->src[i], &p->src[i + 1], (p->nsrc - i - 1) * sizeof(p->src[0]));
	p->nsrc--;
	p->meta_dirty = true;
	pthread_mutex_unlock(&p->lock);
	free(s->name);
	free(s->uuid);
	free(s->units);
	free(s->description);
	free(s);
	return 0;
}

unsigned rrdp_source_count(const struct rrdp_plugin *p)
{
	if (!p)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	unsigned n = (unsigned)p->nsrc;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return n;
}

static int set_bits(struct rrdp_source *s, uint64_t bits)
{
	pthread_mutex_lock(&s->plugin->lock);
	s->bits = bits;
	pthread_mutex_unlock(&s->plugin->lock);
	return 0;
}

int rrdp_source_set_int64(struct rrdp_source *s, int64_t v)
{
	rrdp_i_clear_error();
	if (!s)
		return rrdp_i_fail(-EINVAL, "source is NULL");
	if (s->value_type == RRDP_INT64)
		return set_bits(s, (uint64_t)v);
	return set_bits(s, dbl_bits((double)v));
}

int rrdp_source_set_double(struct rrdp_source *s, double v)
{
	rrdp_i_clear_error();
	if (!s)
		return rrdp_i_fail(-EINVAL, "source is NULL");
	if (s->value_type == RRDP_FLOAT)
		return set_bits(s, dbl_bits(v));
	double r = nearbyint(v);
	/* 2^63 is exactly representable; anything >= it does not fit. */
	if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0))
		return rrdp_i_fail(-ERANGE, "source \"%s\": %g does not fit an int64", s->name, v);
	return set_bits(s, (uint64_t)(int64_t)r);
}

int rrdp_source_set_unknown(struct rrdp_source *s)
{
	rrdp_i_clear_error();
	if (!s)
		return rrdp_i_fail(-EINVAL, "source is NULL");
	if (!rrdp_source_can_be_unknown(s))
		return rrdp_i_fail(-EDOM,
		                   "source \"%s\": an int64 source can only be reported Unknown "
		                   "through its range (see rrdp_source_set_unknown)",
		                   s->name);
	return set_bits(s, unknown_bits(s));
}

/* Rebuild the page image for the current sources: header fields that do
 * not change per publish, metadata length, metadata.  Lock held. */
static int rebuild_meta(struct rrdp_plugin *p)
{
	char *json;
	size_t mlen;
	int rc = rrdp_i_meta_json(p->src, p->nsrc, &json, &mlen);
	if (rc < 0)
		return rc;
	size_t n = p->nsrc;
	size_t len = OFF_VALUES + 8 * n + 4 + mlen;
	if (len > RRDP_MAX_PAGE) {
		free(json);
		return rrdp_i_fail(-E2BIG, "a page of %zu bytes is too large (limit %d)", len,
		                   RRDP_MAX_PAGE);
	}
	size_t size = (len + PAGE_SIZE_BYTES - 1) / PAGE_SIZE_BYTES * PAGE_SIZE_BYTES;
	unsigned char *page = calloc(1, size);
	if (!page) {
		free(json);
		return rrdp_i_fail(-ENOMEM, "out of memory for a %zu-byte page", size);
	}
	memcpy(page, "DATASOURCES", 11);
	put_be32(page + OFF_META_CRC, rrdp_i_crc32(json, mlen));
	put_be32(page + OFF_COUNT, (uint32_t)n);
	put_be32(page + OFF_VALUES + 8 * n, (uint32_t)mlen);
	memcpy(page + OFF_VALUES + 8 * n + 4, json, mlen);
	free(json);
	free(p->page);
	p->page = page;
	p->page_len = len;
	p->page_size = size;
	p->meta_dirty = false;
	return 0;
}

int rrdp_publish_at(struct rrdp_plugin *p, double timestamp)
{
	rrdp_i_clear_error();
	if (!p)
		return rrdp_i_fail(-EINVAL, "plugin handle is NULL");
	if (!isfinite(timestamp))
		return rrdp_i_fail(-EINVAL, "timestamp is not finite");
	pthread_mutex_lock(&p->lock);
	if (p->protocol == 3) {
		int rc3 = rrdp_i_v3_page(p, timestamp);
		if (rc3 == 0)
			rc3 = rrdp_i_write_page(p, true);
		pthread_mutex_unlock(&p->lock);
		return rc3;
	}
	bool meta_changed = p->meta_dirty || !p->page;
	int rc = 0;
	if (meta_changed)
		rc = rebuild_meta(p);
	if (rc == 0) {
		put_be64(p->page + OFF_TIMESTAMP, dbl_bits(timestamp));
		for (size_t i = 0; i < p->nsrc; i++)
			put_be64(p->page + OFF_VALUES + 8 * i, p->src[i]->bits);
		put_be32(p->page + OFF_DATA_CRC,
		         rrdp_i_crc32(p->page + OFF_TIMESTAMP, 8 + 8 * p->nsrc));
		rc = rrdp_i_write_page(p, meta_changed);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int rrdp_plugin_set_protocol(struct rrdp_plugin *p, int protocol)
{
	rrdp_i_clear_error();
	if (!p)
		return rrdp_i_fail(-EINVAL, "plugin handle is NULL");
	if (protocol != 2 && protocol != 3)
		return rrdp_i_fail(-EINVAL, "protocol %d: 2 (V2) or 3 (v3) is expected", protocol);
	pthread_mutex_lock(&p->lock);
	int rc = 0;
	if (protocol == 3 && p->in_place)
		rc = rrdp_i_fail(-EINVAL, "protocol v3 pages are written by rename-over only");
	for (size_t i = 0; rc == 0 && protocol == 3 && i < p->nsrc; i++)
		rc = rrdp_i_v3_check(p->src[i]);
	if (rc == 0) {
		p->protocol = protocol;
		p->meta_dirty = true;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int rrdp_publish(struct rrdp_plugin *p)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return rrdp_publish_at(p, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}
