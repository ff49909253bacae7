/*
 * One v4 connection's families and metrics (v4state.h): arrays with a
 * hash of metrics by (family, uuid); removals compact the arrays and
 * rebuild the hash (they are rare; updates are the hot path).
 */
#include "plugin/v4state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "openmetrics.pb-c.h"
#include "rrdd/proto.h"
#include "util/xalloc.h"

struct fam {
	char *name, *unit, *help;
	int type;
};

struct met {
	uint32_t fam;
	uint8_t uuid[16];
	uint32_t nl;
	char **lab; /* 2 * nl strings: name, value, ...; one allocation */
	struct dsval v;
	enum v4_vkind vkind;
};

struct v4state {
	struct fam *fam;
	size_t nfam, capfam, maxfam;
	struct met *met;
	size_t nmet, capmet, maxmet;
	uint32_t *slot; /* index + 1 of a metric, 0 empty; hcap a power of two */
	size_t hcap;
};

static char *dup_str(const struct v4_str *s)
{
	char *p = xmalloc(s->len + 1);
	memcpy(p, s->p, s->len);
	p[s->len] = 0;
	return p;
}

static bool str_eq(const char *a, const struct v4_str *b)
{
	return strlen(a) == b->len && !memcmp(a, b->p, b->len);
}

static uint32_t key_hash(uint32_t fam, const uint8_t uuid[16])
{
	uint32_t h = 2166136261u ^ fam;
	for (int i = 0; i < 16; i++)
		h = (h ^ uuid[i]) * 16777619u;
	return h;
}

static void rehash(struct v4state *st, size_t cap)
{
	free(st->slot);
	st->hcap = cap;
	st->slot = xcalloc(cap, sizeof(*st->slot));
	for (size_t i = 0; i < st->nmet; i++) {
		size_t j = key_hash(st->met[i].fam, st->met[i].uuid) & (cap - 1);
		while (st->slot[j])
			j = (j + 1) & (cap - 1);
		st->slot[j] = (uint32_t)i + 1;
	}
}

static long find_met(const struct v4state *st, uint32_t fam, const uint8_t uuid[16])
{
	if (!st->hcap)
		return -1;
	size_t j = key_hash(fam, uuid) & (st->hcap - 1);
	for (; st->slot[j]; j = (j + 1) & (st->hcap - 1)) {
		const struct met *m = &st->met[st->slot[j] - 1];
		if (m->fam == fam && !memcmp(m->uuid, uuid, 16))
			return (long)st->slot[j] - 1;
	}
	return -1;
}

static long find_fam(const struct v4state *st, const struct v4_str *name)
{
	for (size_t i = 0; i < st->nfam; i++)
		if (str_eq(st->fam[i].name, name))
			return (long)i;
	return -1;
}

struct v4state *v4state_new(size_t max_families, size_t max_metrics)
{
	struct v4state *st = xcalloc(1, sizeof(*st));
	st->maxfam = max_families;
	st->maxmet = max_metrics;
	return st;
}

static void met_clear(struct met *m)
{
	free(m->lab);
	m->lab = NULL;
}

void v4state_free(struct v4state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nfam; i++) {
		free(st->fam[i].name);
		free(st->fam[i].unit);
		free(st->fam[i].help);
	}
	for (size_t i = 0; i < st->nmet; i++)
		met_clear(&st->met[i]);
	free(st->fam);
	free(st->met);
	free(st->slot);
	free(st);
}

size_t v4state_metrics(const struct v4state *st)
{
	return st->nmet;
}

/* Store m's labels in one block, unless they are those already kept. */
static void set_labels(struct met *t, const struct v4_msg *m)
{
	if (t->lab && t->nl == m->nlabels) {
		bool same = true;
		for (size_t i = 0; same && i < m->nlabels; i++)
			same = str_eq(t->lab[2 * i], &m->lname[i]) &&
			       str_eq(t->lab[2 * i + 1], &m->lvalue[i]);
		if (same)
			return;
	}
	size_t need = 2 * m->nlabels * sizeof(char *);
	for (size_t i = 0; i < m->nlabels; i++)
		need += m->lname[i].len + m->lvalue[i].len + 2;
	free(t->lab);
	t->lab = xmalloc(need ? need : 1);
	char *p = (char *)(t->lab + 2 * m->nlabels);
	for (size_t i = 0; i < 2 * m->nlabels; i++) {
		const struct v4_str *s = i % 2 ? &m->lvalue[i / 2] : &m->lname[i / 2];
		memcpy(p, s->p, s->len);
		p[s->len] = 0;
		t->lab[i] = p;
		p += s->len + 1;
	}
	t->nl = (uint32_t)m->nlabels;
}

/* Drop metric gone_met, or every metric of family gone_fam (whose later
 * families then move down by one); returns how many were dropped. */
static size_t compact(struct v4state *st, long gone_fam, long gone_met)
{
	size_t j = 0, dropped = 0;
	for (size_t i = 0; i < st->nmet; i++) {
		struct met *m = &st->met[i];
		if ((long)i == gone_met || (gone_fam >= 0 && (long)m->fam == gone_fam)) {
			met_clear(m);
			dropped++;
			continue;
		}
		if (gone_fam >= 0 && (long)m->fam > gone_fam)
			m->fam--;
		st->met[j++] = *m;
	}
	st->nmet = j;
	if (st->hcap)
		rehash(st, st->hcap);
	return dropped;
}

static int efail(char *err, size_t errlen, const char *what, const struct v4_str *name)
{
	snprintf(err, errlen, "%s \"%.*s\"", what, (int)(name->len > 64 ? 64 : name->len), name->p);
	return -1;
}

int v4state_apply(struct v4state *st, const struct v4_msg *m, size_t room, long *delta, char *err,
                  size_t errlen)
{
	*delta = 0;
	long f = m->kind == V4_FETCH_METRICS ? -1 : find_fam(st, &m->name);
	switch (m->kind) {
	case V4_CREATE_FAMILY:
		if (f < 0) {
			if (st->nfam >= st->maxfam)
				return efail(err, errlen, "family limit reached: refused",
				             &m->name);
			if (st->nfam == st->capfam) {
				st->capfam = st->capfam ? 2 * st->capfam : 16;
				st->fam = xrealloc(st->fam, sizeof(*st->fam) * st->capfam);
			}
			f = (long)st->nfam++;
			st->fam[f].name = dup_str(&m->name);
		} else {
			free(st->fam[f].unit);
			free(st->fam[f].help);
		}
		st->fam[f].unit = dup_str(&m->unit);
		st->fam[f].help = dup_str(&m->help);
		st->fam[f].type = m->metric_type;
		return 0;
	case V4_REMOVE_FAMILY: {
		if (f < 0)
			return efail(err, errlen, "no such family", &m->name);
		*delta = -(long)compact(st, f, -1);
		free(st->fam[f].name);
		free(st->fam[f].unit);
		free(st->fam[f].help);
		memmove(st->fam + f, st->fam + f + 1,
		        sizeof(*st->fam) * (st->nfam - (size_t)f - 1));
		st->nfam--;
		return 0;
	}
	case V4_UPDATE_METRIC: {
		if (f < 0)
			return efail(err, errlen, "UpdateMetric of an unknown family", &m->name);
		long i = find_met(st, (uint32_t)f, m->uuid);
		if (i < 0) {
			if (st->nmet >= st->maxmet || room == 0)
				return efail(err, errlen, "metric limit reached: refused",
				             &m->name);
			if (st->nmet == st->capmet) {
				st->capmet = st->capmet ? 2 * st->capmet : 64;
				st->met = xrealloc(st->met, sizeof(*st->met) * st->capmet);
			}
			i = (long)st->nmet++;
			memset(&st->met[i], 0, sizeof(st->met[i]));
			st->met[i].fam = (uint32_t)f;
			memcpy(st->met[i].uuid, m->uuid, 16);
			if (2 * st->nmet > st->hcap)
				rehash(st, st->hcap ? 2 * st->hcap : 256);
			else {
				size_t j = key_hash((uint32_t)f, m->uuid) & (st->hcap - 1);
				while (st->slot[j])
					j = (j + 1) & (st->hcap - 1);
				st->slot[j] = (uint32_t)i + 1;
			}
			*delta = 1;
		}
		set_labels(&st->met[i], m);
		st->met[i].v = m->value;
		st->met[i].vkind = m->vkind;
		return 0;
	}
	case V4_REMOVE_METRIC: {
		long i = f < 0 ? -1 : find_met(st, (uint32_t)f, m->uuid);
		if (i < 0)
			return efail(err, errlen, "RemoveMetric of an unknown metric of", &m->name);
		*delta = -(long)compact(st, -1, i);
		return 0;
	}
	default:
		snprintf(err, errlen, "not a state change");
		return -1;
	}
}

#define NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))

int v4state_page(const struct v4state *st, uint64_t ts, struct arena *a, struct buf *out)
{
	Openmetrics__MetricSet set = OPENMETRICS__METRIC_SET__INIT;
	set.metric_families = arena_alloc(a, sizeof(void *) * (st->nfam + 1));
	size_t *count = arena_alloc(a, sizeof(size_t) * (st->nfam + 1));
	if (!set.metric_families || !count)
		return -1;
	for (size_t f = 0; f < st->nfam; f++)
		count[f] = 0;
	for (size_t i = 0; i < st->nmet; i++)
		count[st->met[i].fam]++;
	for (size_t f = 0; f < st->nfam; f++) {
		Openmetrics__MetricFamily *mf = NEW(a, Openmetrics__MetricFamily);
		if (!mf)
			return -1;
		openmetrics__metric_family__init(mf);
		mf->name = st->fam[f].name;
		mf->unit = st->fam[f].unit;
		mf->help = st->fam[f].help;
		mf->type = (Openmetrics__MetricType)st->fam[f].type;
		mf->metrics = arena_alloc(a, sizeof(void *) * (count[f] + 1));
		if (!mf->metrics)
			return -1;
		set.metric_families[set.n_metric_families++] = mf;
	}
	for (size_t i = 0; i < st->nmet; i++) {
		const struct met *m = &st->met[i];
		Openmetrics__MetricFamily *mf = set.metric_families[m->fam];
		Openmetrics__Metric *mt = NEW(a, Openmetrics__Metric);
		Openmetrics__Label **lp = arena_alloc(a, sizeof(void *) * (m->nl + 1));
		if (!mt || !lp)
			return -1;
		openmetrics__metric__init(mt);
		for (uint32_t k = 0; k < m->nl; k++) {
			Openmetrics__Label *l = NEW(a, Openmetrics__Label);
			if (!l)
				return -1;
			openmetrics__label__init(l);
			l->name = m->lab[2 * k];
			l->value = m->lab[2 * k + 1];
			lp[k] = l;
		}
		mt->labels = lp;
		mt->n_labels = m->nl;
		if (m->vkind != V4_V_OTHER) {
			Openmetrics__MetricPoint *p = NEW(a, Openmetrics__MetricPoint);
			Openmetrics__MetricPoint **pp = arena_alloc(a, sizeof(void *));
			if (!p || !pp)
				return -1;
			openmetrics__metric_point__init(p);
			bool is_int = m->v.type == VAL_INT64;
			if (m->vkind == V4_V_COUNTER) {
				Openmetrics__CounterValue *c = NEW(a, Openmetrics__CounterValue);
				if (!c)
					return -1;
				openmetrics__counter_value__init(c);
				if (is_int && m->v.i >= 0) {
					c->total_case = OPENMETRICS__COUNTER_VALUE__TOTAL_INT_VALUE;
					c->int_value = (uint64_t)m->v.i;
				} else {
					c->total_case =
					    OPENMETRICS__COUNTER_VALUE__TOTAL_DOUBLE_VALUE;
					c->double_value = is_int ? (double)m->v.i : m->v.f;
				}
				p->value_case = OPENMETRICS__METRIC_POINT__VALUE_COUNTER_VALUE;
				p->counter_value = c;
			} else {
				Openmetrics__GaugeValue *g = NEW(a, Openmetrics__GaugeValue);
				if (!g)
					return -1;
				openmetrics__gauge_value__init(g);
				if (is_int) {
					g->value_case = OPENMETRICS__GAUGE_VALUE__VALUE_INT_VALUE;
					g->int_value = m->v.i;
				} else {
					g->value_case =
					    OPENMETRICS__GAUGE_VALUE__VALUE_DOUBLE_VALUE;
					g->double_value = m->v.f;
				}
				p->value_case = OPENMETRICS__METRIC_POINT__VALUE_GAUGE_VALUE;
				p->gauge_value = g;
			}
			pp[0] = p;
			mt->metric_points = pp;
			mt->n_metric_points = 1;
		}
		mf->metrics[mf->n_metrics++] = mt;
	}
	size_t plen = openmetrics__metric_set__get_packed_size(&set);
	unsigned char *h = (unsigned char *)buf_reserve(out, RRDD_V3_OFF_PAYLOAD + plen);
	openmetrics__metric_set__pack(&set, h + RRDD_V3_OFF_PAYLOAD);
	memcpy(h, RRDD_V3_MAGIC, RRDD_V3_MAGIC_LEN);
	for (int i = 0; i < 8; i++)
		h[RRDD_V3_OFF_TIMESTAMP + i] = (unsigned char)(ts >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		h[RRDD_V3_OFF_LENGTH + i] = (unsigned char)((uint32_t)plen >> (24 - 8 * i));
	uint32_t crc = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), h + RRDD_V3_OFF_TIMESTAMP,
	                                 RRDD_V3_OFF_PAYLOAD - RRDD_V3_OFF_TIMESTAMP + plen);
	for (int i = 0; i < 4; i++)
		h[RRDD_V3_OFF_CRC + i] = (unsigned char)(crc >> (24 - 8 * i));
	buf_commit(out, RRDD_V3_OFF_PAYLOAD + plen);
	return 0;
}
