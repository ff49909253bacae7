/*
 * mon_commit (change.h): the one path by which an RRD changes.  Checks the
 * change against the registry, records it in the log, applies it, and lets
 * the log see what left the registry; all under the commit mutex, so the
 * log's records are in the order of the changes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/change.h"
#include "monitor/registry_impl.h"
#include "util/xalloc.h"

void mon_set_log(struct mon_registry *reg, const struct mon_log_ops *ops, void *ctx)
{
	pthread_mutex_lock(&reg->commit_mu);
	reg->log = ops;
	reg->log_ctx = ctx;
	pthread_mutex_unlock(&reg->commit_mu);
}

/* Whether the change can apply (under the commit mutex no writer can change
 * that before it does): nothing is recorded for one that cannot. */
static int precheck(struct mon_registry *reg, const struct mon_change *c)
{
	switch (c->kind) {
	case MON_CH_CYCLE:
		return 0;
	case MON_CH_MIN_MAX: {
		mon_rdlock(reg);
		int same = reg->use_min_max == c->use_min_max;
		mon_unlock(reg);
		return same; /* 1: nothing to do, nothing recorded */
	}
	case MON_CH_INSTALL:
	case MON_CH_RESTORE: {
		if (c->kind == MON_CH_INSTALL
		        ? !(c->rrd && (c->owner == MON_HOST || (c->uuid && *c->uuid)))
		        : !c->entry)
			return -EINVAL;
		enum mon_owner_kind kind = c->kind == MON_CH_INSTALL ? c->owner : c->entry->kind;
		const char *uuid = c->kind == MON_CH_INSTALL ? c->uuid : c->entry->uuid;
		if (kind == MON_HOST)
			return 0;
		mon_rdlock(reg);
		int rc = !reg_find(reg, kind, uuid) && reg_full(reg) ? -ENOSPC : 0;
		mon_unlock(reg);
		return rc;
	}
	default:
		break;
	}
	int rc = 0;
	mon_rdlock(reg);
	struct mon_rrd *e = reg_find(reg, c->owner, c->uuid);
	if (!e)
		rc = -ENOENT;
	else if (c->kind == MON_CH_ENABLE_DS)
		rc = e->rrd && c->ds_name && reg_live_find(e, c->ds_name) >= 0 ? 0 : -ENOENT;
	else if (c->kind == MON_CH_FORGET_DS)
		rc = !e->rrd ? -ENOENT : c->ds_name && reg_rrd_find(e, c->ds_name) >= 0 ? 0 : 1;
	mon_unlock(reg);
	return rc;
}

static void released_add(struct mon_result *r, size_t *cap, enum mon_owner_kind kind,
                         const char *uuid, struct rrdb *rrd)
{
	if (r->nreleased == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		r->released = xrealloc(r->released, sizeof(*r->released) * *cap);
	}
	struct mon_released *x = &r->released[r->nreleased++];
	x->kind = kind;
	mon_uuid_copy(x->uuid, uuid);
	x->rrd = rrd;
}

static int apply(struct mon_registry *reg, struct mon_change *c, struct mon_result *r)
{
	size_t cap = 0;
	switch (c->kind) {
	case MON_CH_CYCLE:
		reg_apply(reg, &c->cycle, &r->stats);
		for (size_t i = 0; i < c->cycle.ngone; i++) {
			struct rrdb *x = reg_release(reg, MON_VM, c->cycle.gone[i]);
			if (x)
				released_add(r, &cap, MON_VM, c->cycle.gone[i], x);
		}
		return 0;
	case MON_CH_INSTALL: {
		struct rrdb *x = c->rrd;
		c->rrd = NULL;
		return reg_install(reg, c->owner, c->uuid, x);
	}
	case MON_CH_ENABLE_DS:
		return reg_enable_ds(reg, c->owner, c->uuid, c->ds_name, c->t);
	case MON_CH_FORGET_DS:
		return reg_forget_ds(reg, c->owner, c->uuid, c->ds_name);
	case MON_CH_RELEASE: {
		struct rrdb *x = reg_release(reg, c->owner, c->uuid);
		if (c->archive && x)
			released_add(r, &cap, c->owner, c->uuid ? c->uuid : "", x);
		else
			r->rrd = x;
		return 0;
	}
	case MON_CH_RESTORE: {
		struct mon_entry *e = c->entry;
		c->entry = NULL;
		return reg_restore(reg, e);
	}
	case MON_CH_MIN_MAX:
		mon_wrlock(reg);
		reg->use_min_max = c->use_min_max;
		mon_unlock(reg);
		return 0;
	}
	return -EINVAL;
}

static void drop_change(struct mon_change *c)
{
	rrdb_free(c->rrd);
	c->rrd = NULL;
	mon_entry_free_owned(c->entry);
	c->entry = NULL;
}

int mon_commit(struct mon_registry *reg, struct mon_change *c, unsigned flags,
               struct mon_result *res)
{
	struct mon_result local;
	struct mon_result *r = res ? res : &local;
	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&reg->commit_mu);
	int rc = precheck(reg, c);
	if (rc) {
		pthread_mutex_unlock(&reg->commit_mu);
		drop_change(c);
		return r->rc = rc > 0 ? 0 : rc; /* > 0: nothing to do */
	}
	if (reg->log && !(flags & MON_COMMIT_REPLAY))
		reg->log->record(reg->log_ctx, c);
	rc = apply(reg, c, r);
	if (reg->log)
		reg->log->applied(reg->log_ctx, c, r);
	pthread_mutex_unlock(&reg->commit_mu);
	for (size_t i = 0; i < r->nreleased; i++)
		rrdb_free(r->released[i].rrd);
	free(r->released);
	r->released = NULL;
	r->nreleased = 0;
	if (!res)
		rrdb_free(r->rrd);
	return r->rc = rc;
}
