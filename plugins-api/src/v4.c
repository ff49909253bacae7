/*
 * xcp-metrics' socket protocol ("v4"; wire-format.md §11.3), client side:
 * messages built with libcbor as ciborium writes them (serde externally
 * tagged enums), each sent behind its 4-byte big-endian length on a Unix
 * stream socket.  The daemon drops the connection's metrics when it
 * closes.  Sends block at most RRDP_V4_TIMEOUT seconds.
 */
#include <cbor.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

#define RRDP_V4_TIMEOUT   5
#define RRDP_V4_MAX_FAMS  4096
#define RRDP_V4_MAX_FETCH (256u << 20)

struct rrdp_v4 {
	int fd;
	struct {
		char *name;
		enum rrdp_v4_type type;
	} fam[RRDP_V4_MAX_FAMS];
	size_t nfam;
};

static int send_all(struct rrdp_v4 *c, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return rrdp_i_fail(w < 0 ? -errno : -EPIPE, "v4 socket: send: %s",
			                   w < 0 ? strerror(errno) : "closed");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_all(struct rrdp_v4 *c, unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = recv(c->fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return rrdp_i_fail(r < 0 ? -errno : -EPIPE, "v4 socket: receive: %s",
			                   r < 0 ? strerror(errno) : "closed by the daemon");
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Serialise item (consumed) behind its length and send it. */
static int send_item(struct rrdp_v4 *c, cbor_item_t *item)
{
	if (!item)
		return rrdp_i_fail(-ENOMEM, "out of memory");
	unsigned char *raw = NULL;
	size_t cap = 0, n = cbor_serialize_alloc(item, &raw, &cap);
	cbor_decref(&item);
	if (!n || n > 512u * 1024) {
		free(raw);
		return rrdp_i_fail(n ? -E2BIG : -ENOMEM, "v4 message of %zu bytes", n);
	}
	unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
	                        (unsigned char)(n >> 8), (unsigned char)n};
	int rc = send_all(c, len, 4);
	if (rc == 0)
		rc = send_all(c, raw, n);
	free(raw);
	return rc;
}

/* {key: value} (a one-entry map: an externally tagged variant). */
static cbor_item_t *tagged(const char *key, cbor_item_t *value)
{
	cbor_item_t *m = cbor_new_definite_map(1);
	if (m && value)
		cbor_map_add(
		    m, (struct cbor_pair){cbor_move(cbor_build_string(key)), cbor_move(value)});
	return m;
}

static void put(cbor_item_t *map, const char *key, cbor_item_t *value)
{
	cbor_map_add(map, (struct cbor_pair){cbor_move(cbor_build_string(key)), cbor_move(value)});
}

int rrdp_v4_connect(struct rrdp_v4 **out, const char *socket_path)
{
	rrdp_i_clear_error();
	*out = NULL;
	const char *path = socket_path ? socket_path : RRDP_V4_DEFAULT_SOCKET;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return rrdp_i_fail(-ENAMETOOLONG, "v4 socket path too long");
	strcpy(a.sun_path, path);
	struct rrdp_v4 *c = calloc(1, sizeof(*c));
	if (!c)
		return rrdp_i_fail(-ENOMEM, "out of memory");
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return rrdp_i_fail(-e, "v4 socket %s: %s", path, strerror(e));
	}
	struct timeval tv = {.tv_sec = RRDP_V4_TIMEOUT};
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*out = c;
	return 0;
}

void rrdp_v4_close(struct rrdp_v4 *c)
{
	if (!c)
		return;
	close(c->fd);
	for (size_t i = 0; i < c->nfam; i++)
		free(c->fam[i].name);
	free(c);
}

int rrdp_v4_create_family(struct rrdp_v4 *c, const char *name, enum rrdp_v4_type type,
                          const char *unit, const char *help)
{
	rrdp_i_clear_error();
	if (!c || !name || !*name)
		return rrdp_i_fail(-EINVAL, "NULL connection or empty family name");
	size_t i;
	for (i = 0; i < c->nfam && strcmp(c->fam[i].name, name); i++)
		;
	if (i == c->nfam) {
		if (c->nfam == RRDP_V4_MAX_FAMS)
			return rrdp_i_fail(-E2BIG, "too many families (limit %d)",
			                   RRDP_V4_MAX_FAMS);
		if (!(c->fam[i].name = strdup(name)))
			return rrdp_i_fail(-ENOMEM, "out of memory");
		c->nfam++;
	}
	c->fam[i].type = type;
	cbor_item_t *body = cbor_new_definite_map(4);
	if (!body)
		return rrdp_i_fail(-ENOMEM, "out of memory");
	put(body, "name", cbor_build_string(name));
	put(body, "metric_type", cbor_build_string(type == RRDP_V4_COUNTER ? "Counter" : "Gauge"));
	put(body, "unit", cbor_build_string(unit ? unit : ""));
	put(body, "help", cbor_build_string(help ? help : ""));
	return send_item(c, tagged("CreateFamily", body));
}

int rrdp_v4_remove_family(struct rrdp_v4 *c, const char *name)
{
	rrdp_i_clear_error();
	if (!c || !name)
		return rrdp_i_fail(-EINVAL, "NULL connection or family name");
	cbor_item_t *body = cbor_new_definite_map(1);
	if (!body)
		return rrdp_i_fail(-ENOMEM, "out of memory");
	put(body, "name", cbor_build_string(name));
	return send_item(c, tagged("RemoveFamily", body));
}

static int update(struct rrdp_v4 *c, const char *family, const unsigned char uuid[16],
                  const char *const *names, const char *const *values, size_t n,
                  cbor_item_t *number)
{
	if (!c || !family || !uuid || (n && (!names || !values))) {
		if (number)
			cbor_decref(&number);
		return rrdp_i_fail(-EINVAL, "NULL argument");
	}
	enum rrdp_v4_type type = RRDP_V4_GAUGE;
	for (size_t i = 0; i < c->nfam; i++)
		if (!strcmp(c->fam[i].name, family))
			type = c->fam[i].type;
	cbor_item_t *value;
	if (type == RRDP_V4_COUNTER) {
		cbor_item_t *ctr = cbor_new_definite_map(3);
		put(ctr, "total", number);
		put(ctr, "created", cbor_new_null());
		put(ctr, "exemplar", cbor_new_null());
		value = tagged("Counter", ctr);
	} else {
		value = tagged("Gauge", number);
	}
	cbor_item_t *labels = cbor_new_definite_array(n);
	for (size_t i = 0; i < n; i++) {
		cbor_item_t *l = cbor_new_definite_map(2);
		put(l, "name", cbor_build_string(names[i]));
		put(l, "value", cbor_build_string(values[i]));
		cbor_array_push(labels, cbor_move(l));
	}
	cbor_item_t *metric = cbor_new_definite_map(2);
	put(metric, "labels", labels);
	put(metric, "value", value);
	cbor_item_t *body = cbor_new_definite_map(3);
	put(body, "family_name", cbor_build_string(family));
	put(body, "metric", metric);
	put(body, "uuid", cbor_build_bytestring(uuid, 16));
	return send_item(c, tagged("UpdateMetric", body));
}

int rrdp_v4_update_double(struct rrdp_v4 *c, const char *family, const unsigned char uuid[16],
                          const char *const *names, const char *const *values, size_t n, double v)
{
	rrdp_i_clear_error();
	return update(c, family, uuid, names, values, n, tagged("Double", cbor_build_float8(v)));
}

int rrdp_v4_update_int64(struct rrdp_v4 *c, const char *family, const unsigned char uuid[16],
                         const char *const *names, const char *const *values, size_t n, int64_t v)
{
	rrdp_i_clear_error();
	cbor_item_t *i = v >= 0 ? cbor_build_uint64((uint64_t)v) : cbor_new_int64();
	if (i && v < 0) {
		cbor_set_uint64(i, (uint64_t)(-1 - v));
		cbor_mark_negint(i);
	}
	return update(c, family, uuid, names, values, n, tagged("Int64", i));
}

int rrdp_v4_remove_metric(struct rrdp_v4 *c, const char *family, const unsigned char uuid[16])
{
	rrdp_i_clear_error();
	if (!c || !family || !uuid)
		return rrdp_i_fail(-EINVAL, "NULL argument");
	cbor_item_t *body = cbor_new_definite_map(2);
	if (!body)
		return rrdp_i_fail(-ENOMEM, "out of memory");
	put(body, "family_name", cbor_build_string(family));
	put(body, "uuid", cbor_build_bytestring(uuid, 16));
	return send_item(c, tagged("RemoveMetric", body));
}

int rrdp_v4_fetch(struct rrdp_v4 *c, bool binary, char **out, size_t *len)
{
	rrdp_i_clear_error();
	*out = NULL;
	*len = 0;
	if (!c)
		return rrdp_i_fail(-EINVAL, "NULL connection");
	int rc = send_item(c, tagged("FetchMetrics", cbor_build_string(binary ? "OpenMetrics1Binary"
	                                                                      : "OpenMetrics1")));
	unsigned char h[4];
	if (rc == 0)
		rc = recv_all(c, h, 4);
	if (rc < 0)
		return rc;
	size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	if (n > RRDP_V4_MAX_FETCH)
		return rrdp_i_fail(-E2BIG, "an exposition of %zu bytes", n);
	char *b = malloc(n + 1);
	if (!b)
		return rrdp_i_fail(-ENOMEM, "out of memory");
	if ((rc = recv_all(c, (unsigned char *)b, n)) < 0) {
		free(b);
		return rc;
	}
	b[n] = 0;
	*out = b;
	*len = n;
	return 0;
}
