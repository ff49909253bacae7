/*
 * The OpenMetrics exposition of the daemon's RRDs (omexpo.h).
 */
#include "daemon/omexpo.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "export/openmetrics.h"
#include "util/xalloc.h"

struct col {
	struct exp_om_sample *s;
	size_t n, cap;
	enum mon_owner_kind owner;
};

static char *dupstr(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

static int collect(const char *uuid, const struct rrdb *r, void *vctx)
{
	struct col *c = vctx;
	for (uint32_t i = 0; i < r->nds; i++) {
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 256;
			c->s = xrealloc(c->s, sizeof(*c->s) * c->cap);
		}
		struct exp_om_sample *s = &c->s[c->n++];
		memset(s, 0, sizeof(*s));
		s->owner = c->owner;
		s->uuid = dupstr(uuid);
		s->ds = dupstr(r->ds[i].name);
		s->value = rrdb_query_latest(r, i);
		const struct rrdb_ds *d = &r->ds[i];
		s->derive = d->type == DS_DERIVE;
		/* the running total: a DERIVE's last raw reading (an inverted one
		 * counts the complement, e.g. idle time: no total) */
		if (s->derive && d->transform == TR_IDENTITY && d->last.type != VAL_UNKNOWN) {
			s->has_total = true;
			s->total = d->last.type == VAL_INT64 ? (double)d->last.i : d->last.f;
		}
	}
	return 0;
}

static const enum mon_owner_kind kinds[] = {MON_HOST, MON_VM, MON_SR};

const char *om_form_ctype(enum om_form form)
{
	switch (form) {
	case OM_FORM_PROTOBUF:
		return "application/openmetrics-protobuf; version=1.0.0";
	case OM_FORM_PROMETHEUS:
		return "text/plain; version=0.0.4; charset=utf-8";
	default:
		return "application/openmetrics-text; version=1.0.0; charset=utf-8";
	}
}

enum om_form om_form_of_accept(const char *accept)
{
	if (accept && strcasestr(accept, "application/openmetrics-protobuf"))
		return OM_FORM_PROTOBUF;
	if (accept && strcasestr(accept, "application/openmetrics-text"))
		return OM_FORM_TEXT;
	return OM_FORM_PROMETHEUS;
}

void om_expo(struct mon_registry *reg, struct vmnames *names, enum om_form form, struct buf *out)
{
	struct vmname *vn = NULL;
	size_t nvn = vmnames_copy(names, &vn);
	struct exp_om_info *vinfo = xmalloc(sizeof(*vinfo) * (nvn ? nvn : 1));
	for (size_t i = 0; i < nvn; i++)
		vinfo[i] = (struct exp_om_info){vn[i].uuid, vn[i].name};
	struct col col = {0};
	mon_rdlock(reg);
	for (int k = 0; k < 3; k++) {
		col.owner = kinds[k];
		mon_foreach_locked(reg, kinds[k], collect, &col);
	}
	mon_unlock(reg);
	/* descriptors, owner by owner (samples of one owner are contiguous) */
	struct mon_dsinfo **infos = NULL;
	size_t *counts = NULL, ninfo = 0;
	for (size_t i = 0; i < col.n;) {
		size_t j = i + 1;
		while (j < col.n && col.s[j].owner == col.s[i].owner &&
		       !strcmp(col.s[j].uuid, col.s[i].uuid))
			j++;
		struct mon_dsinfo *info = NULL;
		enum mon_owner_kind k = col.s[i].owner;
		int n = mon_possible_dss(reg, k, k == MON_HOST ? NULL : col.s[i].uuid, &info);
		if (n > 0) {
			for (size_t a = i; a < j; a++)
				for (int b = 0; b < n; b++)
					if (info[b].d.name &&
					    !strcmp(info[b].d.name, col.s[a].ds)) {
						col.s[a].units = info[b].d.units;
						col.s[a].description = info[b].d.description;
						col.s[a].om = info[b].d.om;
						break;
					}
			infos = xrealloc(infos, sizeof(*infos) * (ninfo + 1));
			counts = xrealloc(counts, sizeof(*counts) * (ninfo + 1));
			infos[ninfo] = info;
			counts[ninfo++] = (size_t)n;
		} else {
			free(info);
		}
		i = j;
	}
	if (form == OM_FORM_PROTOBUF)
		exp_openmetrics_pb(out, col.s, col.n, vinfo, nvn);
	else if (form == OM_FORM_PROMETHEUS)
		exp_prometheus_text(out, col.s, col.n, vinfo, nvn);
	else
		exp_openmetrics(out, col.s, col.n, vinfo, nvn);
	free(vinfo);
	free(vn);
	for (size_t i = 0; i < ninfo; i++)
		mon_dsinfo_free(infos[i], counts[i]);
	free(infos);
	free(counts);
	for (size_t i = 0; i < col.n; i++) {
		free((char *)col.s[i].uuid);
		free((char *)col.s[i].ds);
	}
	free(col.s);
}
