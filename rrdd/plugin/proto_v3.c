/*
 * Protocol v3 plugin pages (xcp-metrics; docs/wire-format.md §11): a 28-byte
 * header ("OPENMETRICS1", CRC32, u64 timestamp, u32 length) and an
 * OpenMetrics protobuf MetricSet, decoded by protobuf-c into an arena with
 * a ceiling, then mapped to xcp-rrdd data sources by v3map.h: gauge
 * families as GAUGE, counter families as DERIVE (a counter's value is a
 * running total), every other family type left out as xcp-metrics leaves
 * it out.  The mapped descriptors are kept and reused while the page's
 * shape (a CRC of everything but the values) stays the same.
 *
 * Pure: no I/O, no clock, no locks, no logging.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "openmetrics.pb-c.h"
#include "plugin/proto_impl.h"
#include "plugin/v3map.h"
#include "rrdd/proto.h"
#include "util/xalloc.h"

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void *pb_alloc(void *data, size_t size)
{
	return arena_alloc(data, size);
}

static void pb_free(void *data, void *p)
{
	(void)data;
	(void)p; /* the arena is reset as a whole */
}

/* One metric of a mapped family: where its value is and how it is typed. */
struct v3_item {
	const Openmetrics__MetricFamily *f;
	const Openmetrics__Metric *m;
	enum ds_type type;
};

static uint32_t crc_str(uint32_t crc, const char *s)
{
	/* the terminating NUL separates fields */
	return (uint32_t)crc32_z(crc, (const unsigned char *)s, strlen(s) + 1);
}

/* The value of a metric's first point (NaN if none or not a number), and
 * whether it is an integer. */
static struct dsval point_value(const Openmetrics__Metric *m)
{
	if (!m->n_metric_points || !m->metric_points[0])
		return DSVAL_FLT(NAN);
	const Openmetrics__MetricPoint *p = m->metric_points[0];
	switch (p->value_case) {
	case OPENMETRICS__METRIC_POINT__VALUE_GAUGE_VALUE:
		if (p->gauge_value->value_case == OPENMETRICS__GAUGE_VALUE__VALUE_INT_VALUE)
			return DSVAL_INT(p->gauge_value->int_value);
		if (p->gauge_value->value_case == OPENMETRICS__GAUGE_VALUE__VALUE_DOUBLE_VALUE)
			return DSVAL_FLT(p->gauge_value->double_value);
		break;
	case OPENMETRICS__METRIC_POINT__VALUE_COUNTER_VALUE:
		if (p->counter_value->total_case == OPENMETRICS__COUNTER_VALUE__TOTAL_INT_VALUE) {
			uint64_t u = p->counter_value->int_value;
			return u <= INT64_MAX ? DSVAL_INT((int64_t)u) : DSVAL_FLT((double)u);
		}
		if (p->counter_value->total_case == OPENMETRICS__COUNTER_VALUE__TOTAL_DOUBLE_VALUE)
			return DSVAL_FLT(p->counter_value->double_value);
		break;
	case OPENMETRICS__METRIC_POINT__VALUE_UNKNOWN_VALUE:
		if (p->unknown_value->value_case == OPENMETRICS__UNKNOWN_VALUE__VALUE_INT_VALUE)
			return DSVAL_INT(p->unknown_value->int_value);
		if (p->unknown_value->value_case == OPENMETRICS__UNKNOWN_VALUE__VALUE_DOUBLE_VALUE)
			return DSVAL_FLT(p->unknown_value->double_value);
		break;
	default:
		break;
	}
	return DSVAL_FLT(NAN);
}

/* The owner of a metric from its "owner" label ("host" when absent), as
 * xcp-rrdd spells owners: "host", "vm <uuid>", "sr <uuid>" (any case). */
static int parse_owner(struct plg_reader *r, const Openmetrics__Metric *m, const char *family,
                       enum mon_owner_kind *kind, char *uuid, size_t cap)
{
	*kind = MON_HOST;
	uuid[0] = 0;
	for (size_t i = 0; i < m->n_labels; i++) {
		const Openmetrics__Label *l = m->labels[i];
		if (strcmp(l->name, "owner"))
			continue;
		const char *v = l->value;
		if (!strcasecmp(v, "host"))
			return 0;
		if (!strncasecmp(v, "vm ", 3))
			*kind = MON_VM;
		else if (!strncasecmp(v, "sr ", 3))
			*kind = MON_SR;
		else
			*kind = MON_HOST;
		const char *u = v + 3;
		if (*kind == MON_HOST || !*u || strchr(u, ' ') || strlen(u) >= cap)
			return plg_fail(
			    r, PLG_E_PAYLOAD,
			    "family \"%.64s\": owner \"%.64s\" is not host, \"vm <uuid>\" "
			    "or \"sr <uuid>\"",
			    family, v);
		size_t j = 0;
		for (; u[j]; j++)
			uuid[j] = (char)tolower((unsigned char)u[j]);
		uuid[j] = 0;
		return 0;
	}
	return 0;
}

/* Mapped type of a family, or -1 when the mapping leaves it out. */
static int family_type(const Openmetrics__MetricFamily *f)
{
	if (f->type == OPENMETRICS__METRIC_TYPE__GAUGE)
		return DS_GAUGE;
	if (f->type == OPENMETRICS__METRIC_TYPE__COUNTER)
		return DS_DERIVE;
	return -1;
}

/* Pass 1: count the mapped metrics, fold the shape of the page into a CRC
 * and collect the values (into r->v3vals). */
static int survey(struct plg_reader *r, const Openmetrics__MetricSet *set, size_t *count,
                  uint32_t *shape)
{
	size_t n = 0;
	uint32_t crc = (uint32_t)crc32_z(0L, Z_NULL, 0);
	for (size_t fi = 0; fi < set->n_metric_families; fi++) {
		const Openmetrics__MetricFamily *f = set->metric_families[fi];
		int t = family_type(f);
		if (t < 0)
			continue;
		crc = crc_str(crc, f->name);
		crc = crc_str(crc, f->unit);
		crc = crc_str(crc, f->help);
		crc = (uint32_t)crc32_z(crc, (const unsigned char *)&t, sizeof(t));
		for (size_t mi = 0; mi < f->n_metrics; mi++) {
			const Openmetrics__Metric *m = f->metrics[mi];
			if (m->n_labels > V3MAP_MAX_LABELS)
				return plg_fail(
				    r, PLG_E_PAYLOAD,
				    "family \"%.64s\": a metric has %zu labels, at most %d",
				    f->name, m->n_labels, V3MAP_MAX_LABELS);
			for (size_t li = 0; li < m->n_labels; li++) {
				crc = crc_str(crc, m->labels[li]->name);
				crc = crc_str(crc, m->labels[li]->value);
			}
			if (n >= PLG_V3_MAX_METRICS)
				return plg_fail(r, PLG_E_PAYLOAD,
				                "v3 page maps more than %u metrics: refused",
				                PLG_V3_MAX_METRICS);
			struct dsval v = point_value(m);
			unsigned char vt = (unsigned char)v.type;
			crc = (uint32_t)crc32_z(crc, &vt, 1);
			if (n == r->v3vals_cap) {
				r->v3vals_cap = r->v3vals_cap ? 2 * r->v3vals_cap : 64;
				r->v3vals = xrealloc(r->v3vals, sizeof(*r->v3vals) * r->v3vals_cap);
			}
			r->v3vals[n++] = v;
		}
		crc = (uint32_t)crc32_z(crc, (const unsigned char *)"\xff", 1); /* end of family */
	}
	*count = n;
	*shape = crc;
	return PLG_OK;
}

/* A growing string pool; strings are recorded as offsets until it stops
 * moving. */
struct pool {
	char *p;
	size_t len, cap;
};

static size_t pool_put(struct pool *pl, const char *s, size_t l)
{
	if (pl->len + l + 1 > pl->cap) {
		size_t cap = pl->cap ? pl->cap : 4096;
		while (cap < pl->len + l + 1)
			cap *= 2;
		pl->p = xrealloc(pl->p, cap);
		pl->cap = cap;
	}
	size_t at = pl->len;
	memcpy(pl->p + at, s, l);
	pl->p[at + l] = 0;
	pl->len += l + 1;
	return at;
}

/* The OpenMetrics identity of a metric (mon_dsdesc.om): the family and
 * every label but the owner, names reduced to OpenMetrics' characters,
 * values escaped as in the text format, into out; 0 when it does not fit
 * (the DS is then exposed under its mapped name). */
#define OM_MAX 1024
static size_t om_identity(const char *family, const Openmetrics__Metric *mt, char *out)
{
	size_t j = 0;
	for (const char *p = family; *p && j < OM_MAX - 2; p++)
		out[j++] = isalnum((unsigned char)*p) || *p == '_' || *p == ':' ? *p : '_';
	if (!j || isdigit((unsigned char)out[0]))
		return 0;
	out[j++] = '{';
	bool first = true;
	for (size_t li = 0; li < mt->n_labels; li++) {
		const char *k = mt->labels[li]->name, *v = mt->labels[li]->value;
		if (!strcmp(k, "owner"))
			continue;
		if (!first)
			out[j++] = ',';
		first = false;
		for (const char *p = k; *p && j < OM_MAX - 8; p++)
			out[j++] = isalnum((unsigned char)*p) || *p == '_' ? *p : '_';
		out[j++] = '=';
		out[j++] = '"';
		for (const char *p = v; *p && j < OM_MAX - 8; p++) {
			if (*p == '\\' || *p == '"' || *p == '\n') {
				out[j++] = '\\';
				out[j++] = *p == '\n' ? 'n' : *p;
			} else {
				out[j++] = *p;
			}
		}
		out[j++] = '"';
		if (j >= OM_MAX - 8)
			return 0;
	}
	out[j++] = '}';
	out[j] = 0;
	return j;
}

#define OFF(x)     ((const char *)(uintptr_t)(x))
#define FIX(pl, f) ((f) = (pl)->p + (uintptr_t)(f))

/* Pass 2 (the shape changed): map every metric into a new r->v3meta.  The
 * help and unit of a family are stored once for all its metrics. */
static int build(struct plg_reader *r, const Openmetrics__MetricSet *set, size_t n)
{
	const struct v3map *map = r->v3map ? r->v3map : v3map_builtin();
	struct plg_meta m = {.n = 0, .ds = xcalloc(n ? n : 1, sizeof(struct plg_ds))};
	struct pool pl = {0};
	for (size_t fi = 0; fi < set->n_metric_families; fi++) {
		const Openmetrics__MetricFamily *f = set->metric_families[fi];
		int t = family_type(f);
		if (t < 0 || !f->n_metrics)
			continue;
		const struct v3map_rule *rule = v3map_find(map, f->name);
		size_t help = pool_put(&pl, f->help, strlen(f->help));
		size_t unit = pool_put(&pl, f->unit, strlen(f->unit));
		for (size_t mi = 0; mi < f->n_metrics; mi++) {
			const Openmetrics__Metric *mt = f->metrics[mi];
			const char *names[V3MAP_MAX_LABELS], *values[V3MAP_MAX_LABELS];
			for (size_t li = 0; li < mt->n_labels; li++) {
				names[li] = mt->labels[li]->name;
				values[li] = mt->labels[li]->value;
			}
			struct plg_ds *ds = &m.ds[m.n];
			char uuid[128], name[V3MAP_NAME_MAX + 1];
			int rc = parse_owner(r, mt, f->name, &ds->owner, uuid, sizeof(uuid));
			int len = rc < 0 ? -1
			                 : v3map_name(rule, f->name, names, values, mt->n_labels,
			                              name, sizeof(name));
			if (rc == 0 && len <= 0)
				rc = plg_fail(r, PLG_E_PAYLOAD,
				              "family \"%.64s\": a mapped name is empty or longer "
				              "than %d bytes",
				              f->name, V3MAP_NAME_MAX);
			if (rc < 0) {
				free(pl.p);
				m.pool = NULL;
				plg_meta_clear(&m);
				return rc;
			}
			ds->name = OFF(pool_put(&pl, name, (size_t)len));
			char om[OM_MAX];
			size_t oml = om_identity(f->name, mt, om);
			ds->om = oml ? OFF(pool_put(&pl, om, oml)) : NULL;
			ds->uuid = OFF(pool_put(&pl, uuid, strlen(uuid)));
			ds->description = OFF(help);
			ds->units = OFF(unit);
			ds->type = (enum ds_type)t;
			ds->value = r->v3vals[m.n];
			ds->value_type = ds->value.type == VAL_INT64 ? VAL_INT64 : VAL_FLOAT;
			ds->is_default = rule ? rule->dflt : true;
			ds->min = rule ? rule->min : -INFINITY;
			ds->max = rule ? rule->max : INFINITY;
			ds->transform = TR_IDENTITY;
			m.n++;
		}
	}
	m.pool = pl.p ? pl.p : xmalloc(1);
	for (size_t i = 0; i < m.n; i++) {
		FIX(&pl, m.ds[i].name);
		FIX(&pl, m.ds[i].uuid);
		FIX(&pl, m.ds[i].description);
		FIX(&pl, m.ds[i].units);
		if (m.ds[i].om)
			FIX(&pl, m.ds[i].om);
	}
	plg_meta_clear(&r->v3meta);
	r->v3meta = m;
	return PLG_OK;
}

int plg_v3_read(struct plg_reader *r, const unsigned char *buf, size_t len)
{
	if (len < RRDD_V3_OFF_PAYLOAD)
		return plg_fail(r, PLG_E_LENGTH,
		                "v3 page of %zu bytes is shorter than the %d-byte header", len,
		                RRDD_V3_OFF_PAYLOAD);
	uint32_t crc_want = be32(buf + RRDD_V3_OFF_CRC);
	uint64_t ts = be64(buf + RRDD_V3_OFF_TIMESTAMP);
	uint64_t plen = be32(buf + RRDD_V3_OFF_LENGTH);
	if (RRDD_V3_OFF_PAYLOAD + plen > len)
		return plg_fail(r, PLG_E_LENGTH,
		                "v3 payload of %llu bytes runs past the %zu-byte page",
		                (unsigned long long)plen, len);
	if (crc_want == r->v3_last_crc && r->have_v3meta)
		return plg_fail(r, PLG_E_NO_UPDATE, "v3 CRC32 0x%08x unchanged", crc_want);
	uint32_t crc = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), buf + RRDD_V3_OFF_TIMESTAMP,
	                                 RRDD_V3_OFF_PAYLOAD - RRDD_V3_OFF_TIMESTAMP);
	crc = (uint32_t)crc32_z(crc, buf + RRDD_V3_OFF_PAYLOAD, (size_t)plen);
	if (crc != crc_want)
		return plg_fail(r, PLG_E_CHECKSUM,
		                "v3 CRC32 mismatch: header says 0x%08x, page has 0x%08x", crc_want,
		                crc);

	uint64_t cap = (uint64_t)PLG_V3_EXPANSION * plen + PLG_V3_EXPANSION_BASE;
	if (cap > PLG_V3_DECODE_MAX)
		cap = PLG_V3_DECODE_MAX;
	arena_reset(&r->v3arena, (size_t)cap);
	ProtobufCAllocator alloc = {pb_alloc, pb_free, &r->v3arena};
	Openmetrics__MetricSet *set =
	    openmetrics__metric_set__unpack(&alloc, (size_t)plen, buf + RRDD_V3_OFF_PAYLOAD);
	if (!set) {
		if (r->v3arena.exceeded)
			return plg_fail(
			    r, PLG_E_PAYLOAD,
			    "v3 payload of %llu bytes needs more than %llu bytes decoded",
			    (unsigned long long)plen, (unsigned long long)cap);
		return plg_fail(r, PLG_E_PAYLOAD,
		                "v3 payload of %llu bytes is not an OpenMetrics MetricSet",
		                (unsigned long long)plen);
	}
	size_t n = 0;
	uint32_t shape = 0;
	int rc = survey(r, set, &n, &shape);
	if (rc == PLG_OK && !(r->have_v3meta && r->v3shape == shape && r->v3meta.n == n)) {
		r->have_v3meta = false;
		rc = build(r, set, n);
		if (rc == PLG_OK) {
			r->have_v3meta = true;
			r->v3shape = shape;
		}
	}
	arena_reset(&r->v3arena, 0);
	if (rc != PLG_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		r->v3meta.ds[i].value = r->v3vals[i];
	r->v3_last_crc = crc_want;
	struct plg_page *pg = &r->page;
	pg->proto = PLG_PROTO_V3;
	pg->legacy_timestamp = false;
	pg->timestamp = (double)ts;
	pg->shape_valid = true;
	pg->shape = shape;
	pg->n = n;
	pg->ds = r->v3meta.ds;
	return PLG_OK;
}

void plg_v3_free(struct plg_reader *r)
{
	arena_free(&r->v3arena);
	plg_meta_clear(&r->v3meta);
	free(r->v3vals);
	r->v3vals = NULL;
}
