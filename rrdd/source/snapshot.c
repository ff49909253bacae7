/*
 * Snapshot storage (growth, lookup, release) and the thin src_* wrappers
 * around an ops table.  Owns no policy: what goes into a snapshot is the
 * backends' business, what comes out of it is catalogue.c's.
 */
#include "source/source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

int src_open(const struct src_ops *ops, const struct src_config *cfg, struct src **out)
{
	struct src_config none = {0};
	struct src *s;
	int rc;

	*out = NULL;
	if (!ops || !ops->open || !ops->sample)
		return -EINVAL;
	s = xcalloc(1, sizeof(*s));
	s->ops = ops;
	rc = ops->open(cfg ? cfg : &none, &s->priv);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int src_sample(struct src *s, double now, struct src_snapshot *snap)
{
	return s->ops->sample(s->priv, now, snap);
}

const char *src_missing(const struct src *s)
{
	return s && s->ops->missing ? s->ops->missing(s->priv) : NULL;
}

void src_close(struct src *s)
{
	if (!s)
		return;
	if (s->ops->close)
		s->ops->close(s->priv);
	free(s);
}

void src_snapshot_clear(struct src_snapshot *snap)
{
	for (uint32_t i = 0; i < snap->ndom; i++) {
		struct src_domain *d = &snap->dom[i];
		free(d->vcpu);
		free(d->vif);
		free(d->vbd);
	}
	free(snap->dom);
	free(snap->host.idle_ns);
	free(snap->host.net);
	memset(snap, 0, sizeof(*snap));
}

const struct src_domain *src_snapshot_domain(const struct src_snapshot *snap, uint32_t domid)
{
	for (uint32_t i = 0; i < snap->ndom; i++)
		if (snap->dom[i].domid == domid)
			return &snap->dom[i];
	return NULL;
}

const struct src_domain *src_snapshot_by_uuid(const struct src_snapshot *snap, const char *uuid)
{
	for (uint32_t i = 0; i < snap->ndom; i++)
		if (strcmp(snap->dom[i].uuid, uuid) == 0)
			return &snap->dom[i];
	return NULL;
}

/* Grow *arr of *n elements of size sz by one zeroed element.  Capacity is the
 * next power of two, so no separate capacity field is needed. */
static void *grow(void **arr, uint32_t *n, size_t sz)
{
	uint32_t k = *n;
	if ((k & (k - 1)) == 0) { /* 0, 1, 2, 4, ...: full */
		size_t cap = k ? (size_t)k * 2 : 1;
		*arr = xrealloc(*arr, cap * sz);
	}
	char *e = (char *)*arr + (size_t)k * sz;
	memset(e, 0, sz);
	*n = k + 1;
	return e;
}

struct src_domain *src_snapshot_add_domain(struct src_snapshot *snap)
{
	struct src_domain *d = grow((void **)&snap->dom, &snap->ndom, sizeof(*d));
	d->target_kib = SRC_NO_VALUE;
	d->free_kib = SRC_NO_VALUE;
	d->dynamic_min_kib = SRC_NO_VALUE;
	d->dynamic_max_kib = SRC_NO_VALUE;
	return d;
}

struct src_vif *src_domain_add_vif(struct src_domain *d)
{
	return grow((void **)&d->vif, &d->nvif, sizeof(struct src_vif));
}

struct src_vbd *src_domain_add_vbd(struct src_domain *d)
{
	return grow((void **)&d->vbd, &d->nvbd, sizeof(struct src_vbd));
}

struct src_netdev *src_host_add_netdev(struct src_host *h)
{
	return grow((void **)&h->net, &h->nnet, sizeof(struct src_netdev));
}
