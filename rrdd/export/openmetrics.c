/*
 * OpenMetrics text for GET /metrics (see openmetrics.h): map each DS name
 * to a family and labels, sort, then print family by family.  Pure.
 */
#include "export/openmetrics.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/numfmt.h"
#include "openmetrics.pb-c.h"
#include "util/arena.h"
#include "util/xalloc.h"

#define NAME_MAX_LEN 200
#define LABELS_MAX   512

struct om_item {
	char family[NAME_MAX_LEN];
	char labels[LABELS_MAX]; /* already escaped: a="x",b="y" */
	const struct exp_om_sample *s;
	char unit[48]; /* OpenMetrics unit word, or "" */
	bool counter;  /* a counter family's sample (<family>_total) */
	double value;
	size_t order;
};

static void sanitize(char *out, size_t cap, const char *s, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < n && j + 1 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[j++] = isalnum(ch) ? (char)tolower(ch) : '_';
	}
	out[j] = 0;
}

static void add_label_text(char *labels, const char *k, const char *v, size_t vlen)
{
	size_t j = strlen(labels);
	if (j + strlen(k) + 4 >= LABELS_MAX)
		return;
	if (j)
		labels[j++] = ',';
	j += (size_t)snprintf(labels + j, LABELS_MAX - j, "%s=\"", k);
	for (size_t i = 0; i < vlen && j + 4 < LABELS_MAX; i++) {
		char ch = v[i];
		if (ch == '\\' || ch == '"') {
			labels[j++] = '\\';
			labels[j++] = ch;
		} else if (ch == '\n') {
			labels[j++] = '\\';
			labels[j++] = 'n';
		} else {
			labels[j++] = ch;
		}
	}
	labels[j++] = '"';
	labels[j] = 0;
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Split ds into a base name (sanitized into base) and index labels. */
static void split_name(const char *ds, char *base, size_t cap, char *labels)
{
	size_t n = strlen(ds);
	const char *us;
	/* cpu<N>, cpu<N>-C<k>, cpu<N>-P<k>, CPU<N>-avg-freq */
	if ((!strncmp(ds, "cpu", 3) || !strncmp(ds, "CPU", 3)) && isdigit((unsigned char)ds[3])) {
		size_t k = 3;
		while (k < n && isdigit((unsigned char)ds[k]))
			k++;
		if (k == n) {
			snprintf(base, cap, "cpu");
			add_label_text(labels, "cpu", ds + 3, k - 3);
			return;
		}
		if (ds[k] == '-' && (ds[k + 1] == 'C' || ds[k + 1] == 'P') &&
		    all_digits(ds + k + 2, n - k - 2)) {
			snprintf(base, cap, ds[k + 1] == 'C' ? "cpu_cstate" : "cpu_pstate");
			add_label_text(labels, "cpu", ds + 3, k - 3);
			add_label_text(labels, "state", ds + k + 1, n - k - 1);
			return;
		}
		if (!strcmp(ds + k, "-avg-freq")) {
			snprintf(base, cap, "cpu_avg_freq");
			add_label_text(labels, "cpu", ds + 3, k - 3);
			return;
		}
	}
	/* vif_<N>_<rest>, vbd_<dev>_<rest>, pif_<dev>_<rest> */
	static const char *const fam[] = {"vif_", "vbd_", "pif_"};
	for (int f = 0; f < 3; f++) {
		if (strncmp(ds, fam[f], 4) == 0 && (us = strchr(ds + 4, '_')) && us > ds + 4 &&
		    us[1]) {
			char b[NAME_MAX_LEN];
			snprintf(b, sizeof(b), "%.3s_%s", fam[f], us + 1);
			sanitize(base, cap, b, strlen(b));
			static const char *const key[] = {"vif", "vbd",
			                                  "pif"}; /* outlive the call */
			add_label_text(labels, key[f], ds + 4, (size_t)(us - ds - 4));
			return;
		}
	}
	/* sr_<uuid>_cache_<x> */
	if (!strncmp(ds, "sr_", 3) && n > 3 + 36 && ds[3 + 36] == '_') {
		char b[NAME_MAX_LEN];
		snprintf(b, sizeof(b), "sr_%s", ds + 3 + 37);
		sanitize(base, cap, b, strlen(b));
		add_label_text(labels, "sr", ds + 3, 36);
		return;
	}
	/* statefile/<vdi>/latency */
	if (!strncmp(ds, "statefile/", 10) && (us = strchr(ds + 10, '/'))) {
		char b[NAME_MAX_LEN];
		snprintf(b, sizeof(b), "statefile_%s", us + 1);
		sanitize(base, cap, b, strlen(b));
		add_label_text(labels, "vdi", ds + 10, (size_t)(us - ds - 10));
		return;
	}
	/* memory_numa_node_<k> */
	if (!strncmp(ds, "memory_numa_node_", 17) && all_digits(ds + 17, n - 17)) {
		snprintf(base, cap, "memory_numa_node");
		add_label_text(labels, "node", ds + 17, n - 17);
		return;
	}
	/* <key>_<sr8>: SR-level iostat on the host */
	us = strrchr(ds, '_');
	if (us && us > ds && strlen(us + 1) == 8 && all_hex(us + 1, 8) && !all_digits(us + 1, 8)) {
		sanitize(base, cap, ds, (size_t)(us - ds));
		add_label_text(labels, "sr", us + 1, 8);
		return;
	}
	sanitize(base, cap, ds, n);
}

/* The unit word of a gauge family: a DERIVE data source's gauge is a rate,
 * so only "(fraction)" (time per time) names a unit there. */
static const char *unit_word(const char *units, bool derive)
{
	if (!units)
		return NULL;
	if (!strcmp(units, "(fraction)"))
		return "ratio";
	if (derive)
		return NULL;
	if (!strcmp(units, "B"))
		return "bytes";
	if (!strcmp(units, "s"))
		return "seconds";
	return NULL;
}

/* What a DERIVE data source's running total counts, from its units (see
 * openmetrics.h), into w; returns the OpenMetrics unit it is, or NULL. */
static const char *counted_word(const char *units, char *w, size_t cap)
{
	static const char *const unit[][2] = {{"B/s", "bytes"},          {"bytes/s", "bytes"},
	                                      {"b/s", "bits"},           {"bits/s", "bits"},
	                                      {"bytes", "bytes"},        {"seconds", "seconds"},
	                                      {"(fraction)", "seconds"}, {"s/s", "seconds"}};
	const char *u = units ? units : "";
	for (size_t i = 0; i < sizeof(unit) / sizeof(unit[0]); i++)
		if (!strcmp(u, unit[i][0])) {
			snprintf(w, cap, "%s", unit[i][1]);
			return unit[i][1];
		}
	size_t n = strlen(u);
	if (n > 2 && n < 40 && !strcmp(u + n - 2, "/s") && isalpha((unsigned char)u[0]))
		sanitize(w, cap, u, n - 2);
	else
		snprintf(w, cap, "cumulative");
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static int item_cmp(const void *a, const void *b)
{
	const struct om_item *x = a, *y = b;
	int c = strcmp(x->family, y->family);
	if (c)
		return c;
	if (x->counter != y->counter)
		return x->counter ? 1 : -1;
	c = strcmp(x->labels, y->labels);
	if (c)
		return c;
	return (x->order > y->order) - (x->order < y->order);
}

static void put_value(struct buf *out, double v)
{
	if (isnan(v))
		buf_adds(out, "NaN");
	else if (isinf(v))
		buf_adds(out, v > 0 ? "+Inf" : "-Inf");
	else {
		char *p = buf_reserve(out, NUMFMT_MAX);
		buf_commit(out, numfmt_double(p, v));
	}
}

static void put_help_text(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_adds(out, "\\\\");
		else if (*s == '\n')
			buf_adds(out, "\\n");
		else
			buf_addc(out, *s);
	}
}

/* A family name ending in a suffix OpenMetrics reserves for the samples of
 * other types (xen_vm_info among them) gets "_all" appended. */
static void avoid_reserved(char *fam, size_t cap)
{
	static const char *const reserved[] = {"_total", "_created", "_count",
	                                       "_sum",   "_bucket",  "_info"};
	for (size_t r = 0; r < sizeof(reserved) / sizeof(reserved[0]); r++)
		if (ends_with(fam, reserved[r]) && strlen(fam) + 4 < cap) {
			strcat(fam, "_all");
			break;
		}
}

/* A plugin's own family (s->om): its name and unit (as xcp-metrics
 * names it: <family>_<unit>), its labels as the plugin gave them.  A
 * counter family named as Prometheus names counters' samples (x_total)
 * is the family x. */
static void om_family(struct om_item *m, const struct exp_om_sample *s, bool counter, char *fam,
                      size_t cap)
{
	const char *brace = strchr(s->om, '{');
	size_t fl = brace ? (size_t)(brace - s->om) : strlen(s->om);
	snprintf(fam, cap, "%.*s", (int)(fl < 180 ? fl : 180), s->om);
	if (counter && ends_with(fam, "_total") && strlen(fam) > 6)
		fam[strlen(fam) - 6] = 0;
	avoid_reserved(fam, cap);
	if (s->units && *s->units) {
		char w[48];
		sanitize(w, sizeof(w), s->units, strlen(s->units));
		char suffix[50];
		snprintf(suffix, sizeof(suffix), "_%s", w);
		if (!ends_with(fam, suffix) && strlen(fam) + strlen(suffix) < cap)
			strcat(fam, suffix);
		snprintf(m->unit, sizeof(m->unit), "%s", w);
	}
	if (brace && brace[1] && brace[1] != '}') {
		size_t ll = strlen(brace + 1) - 1; /* without the closing brace */
		if (ll < LABELS_MAX)
			snprintf(m->labels, LABELS_MAX, "%.*s", (int)ll, brace + 1);
	}
}

/* The family of an xcp-rrdd DS name (see openmetrics.h), its index
 * labels into m->labels. */
static void xen_family(struct om_item *m, const struct exp_om_sample *s, bool counter, char *fam,
                       size_t cap)
{
	char base[NAME_MAX_LEN];
	split_name(s->ds ? s->ds : "", base, sizeof(base), m->labels);
	if (!base[0])
		snprintf(base, sizeof(base), "unnamed");
	const char *kind = s->owner == MON_HOST ? "host" : s->owner == MON_VM ? "vm" : "sr";
	snprintf(fam, cap, "xen_%s_%.180s", kind, base);
	avoid_reserved(fam, cap);
	char word[48];
	if (counter) {
		const char *u = counted_word(s->units, word, sizeof(word));
		snprintf(m->unit, sizeof(m->unit), "%s", u ? u : "");
		size_t fl = strlen(fam);
		snprintf(fam + fl, cap - fl, "_%s", word);
	} else {
		const char *u = unit_word(s->units, s->derive);
		snprintf(m->unit, sizeof(m->unit), "%s", u ? u : "");
		if (u && !ends_with(fam, u)) {
			size_t fl = strlen(fam);
			snprintf(fam + fl, cap - fl, "_%s", m->unit);
		}
	}
}

/* Fill m with sample i as a gauge or, with counter, as its running total. */
static void fill_item(struct om_item *m, const struct exp_om_sample *s, size_t i, bool counter)
{
	m->labels[0] = 0;
	m->unit[0] = 0;
	m->s = s;
	m->order = i;
	m->counter = counter;
	m->value = counter ? s->total : s->value;
	char fam[NAME_MAX_LEN];
	if (s->om)
		om_family(m, s, counter, fam, sizeof(fam));
	else
		xen_family(m, s, counter, fam, sizeof(fam));
	snprintf(m->family, sizeof(m->family), "%s", fam);
	if (s->owner != MON_HOST) {
		char tmp[LABELS_MAX];
		snprintf(tmp, sizeof(tmp), "%s", m->labels);
		m->labels[0] = 0;
		const char *u = s->uuid ? s->uuid : "";
		add_label_text(m->labels, s->owner == MON_VM ? "vm_uuid" : "sr_uuid", u, strlen(u));
		if (tmp[0] && strlen(m->labels) + strlen(tmp) + 2 < LABELS_MAX) {
			strcat(m->labels, ",");
			strcat(m->labels, tmp);
		}
	}
}

/* The items of n samples (a gauge each, and a counter for each running
 * total), sorted by family, gauges first, labels and input order; *count
 * is set to their number. */
static struct om_item *build_items(const struct exp_om_sample *s, size_t n, size_t *count)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += 1 + s[i].has_total;
	struct om_item *it = xmalloc(sizeof(*it) * (k ? k : 1));
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		/* a plugin's counter family is its counter alone, as the plugin
		 * (and xcp-metrics) exposes it */
		if (!(s[i].om && s[i].derive))
			fill_item(&it[j++], &s[i], i, false);
		if (s[i].has_total)
			fill_item(&it[j++], &s[i], i, true);
	}
	qsort(it, j, sizeof(*it), item_cmp);
	*count = j;
	return it;
}

/* The HELP text of an item's family, unescaped. */
static void help_of(const struct om_item *m, struct buf *b)
{
	const char *d = m->s->description;
	if (m->counter)
		buf_adds(b, "The running total whose rate is: ");
	if (d && *d && strcmp(d, "description not available"))
		buf_adds(b, d);
	else
		buf_printf(b, "xcp-rrdd data source %s", m->s->ds ? m->s->ds : "");
	if (m->s->units && *m->s->units && !m->unit[0])
		buf_printf(b, " (%s)", m->s->units);
}

static int info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct exp_om_info *)a)->uuid, ((const struct exp_om_info *)b)->uuid);
}

/* The info entries sorted by uuid (a malloc'ed copy). */
static struct exp_om_info *sorted_info(const struct exp_om_info *info, size_t n)
{
	struct exp_om_info *v = xmalloc(sizeof(*v) * (n ? n : 1));
	if (n)
		memcpy(v, info, sizeof(*v) * n);
	qsort(v, n, sizeof(*v), info_cmp);
	return v;
}

/* A gauge of 1 per VM, as Prometheus' own *_info metrics are (promtool's
 * text parser knows no info type). */
#define INFO_FAMILY "xen_vm_info"
#define INFO_HELP   "A running VM: its uuid and its name (always 1)"

/* The text exposition: OpenMetrics (om) or Prometheus' text format 0.0.4,
 * which names a counter family by its sample (<family>_total) and has
 * neither UNIT nor EOF. */
static void write_text(struct buf *out, const struct exp_om_sample *s, size_t n,
                       const struct exp_om_info *info, size_t ninfo, bool om)
{
	size_t nit;
	struct om_item *it = build_items(s, n, &nit);
	struct buf help = {0};
	const struct om_item *cur = NULL;
	const char *prev_labels = NULL;
	for (size_t i = 0; i < nit; i++) {
		struct om_item *m = &it[i];
		if (!cur || strcmp(cur->family, m->family)) {
			cur = m;
			prev_labels = NULL;
			const char *sfx = m->counter && !om ? "_total" : "";
			buf_printf(out, "# TYPE %s%s %s\n", m->family, sfx,
			           m->counter ? "counter" : "gauge");
			if (m->unit[0] && om)
				buf_printf(out, "# UNIT %s %s\n", m->family, m->unit);
			buf_printf(out, "# HELP %s%s ", m->family, sfx);
			buf_reset(&help);
			help_of(m, &help);
			put_help_text(out, buf_cstr(&help));
			buf_addc(out, '\n');
		} else if (m->counter != cur->counter ||
		           (prev_labels && !strcmp(prev_labels, m->labels))) {
			continue; /* a gauge family's name, or a duplicate series */
		}
		prev_labels = m->labels;
		buf_adds(out, m->family);
		if (m->counter)
			buf_adds(out, "_total");
		if (m->labels[0]) {
			buf_addc(out, '{');
			buf_adds(out, m->labels);
			buf_addc(out, '}');
		}
		buf_addc(out, ' ');
		put_value(out, m->value);
		buf_addc(out, '\n');
	}
	if (ninfo) {
		struct exp_om_info *v = sorted_info(info, ninfo);
		buf_adds(out,
		         "# TYPE " INFO_FAMILY " gauge\n# HELP " INFO_FAMILY " " INFO_HELP "\n");
		for (size_t i = 0; i < ninfo; i++) {
			char labels[LABELS_MAX] = "";
			add_label_text(labels, "vm_uuid", v[i].uuid, strlen(v[i].uuid));
			add_label_text(labels, "name", v[i].name, strlen(v[i].name));
			buf_printf(out, INFO_FAMILY "{%s} 1\n", labels);
		}
		free(v);
	}
	if (om)
		buf_adds(out, "# EOF\n");
	buf_free(&help);
	free(it);
}

void exp_openmetrics(struct buf *out, const struct exp_om_sample *s, size_t n,
                     const struct exp_om_info *info, size_t ninfo)
{
	write_text(out, s, n, info, ninfo, true);
}

void exp_prometheus_text(struct buf *out, const struct exp_om_sample *s, size_t n,
                         const struct exp_om_info *info, size_t ninfo)
{
	write_text(out, s, n, info, ninfo, false);
}

/* The label pairs of an item's escaped label text (k="v",...) into mt,
 * unescaped, from the arena: the protobuf form's labels are the text
 * form's. */
static void labels_from_text(struct arena *a, const char *t, Openmetrics__Metric *mt)
{
	size_t cap = 1;
	for (const char *p = t; *p; p++)
		cap += *p == '=';
	mt->labels = arena_alloc(a, sizeof(void *) * cap);
	while (*t) {
		const char *eq = strchr(t, '=');
		if (!eq || eq[1] != '"')
			return;
		Openmetrics__Label *l = arena_alloc(a, sizeof(*l));
		openmetrics__label__init(l);
		l->name = arena_alloc(a, (size_t)(eq - t) + 1);
		memcpy(l->name, t, (size_t)(eq - t));
		l->name[eq - t] = 0;
		const char *v = eq + 2;
		char *out = arena_alloc(a, strlen(v) + 1);
		size_t j = 0;
		for (; *v && *v != '"'; v++) {
			if (*v == '\\' && v[1]) {
				v++;
				out[j++] = *v == 'n' ? '\n' : *v;
			} else {
				out[j++] = *v;
			}
		}
		out[j] = 0;
		l->value = out;
		mt->labels[mt->n_labels++] = l;
		t = *v ? v + 1 : v;
		if (*t == ',')
			t++;
	}
}

/* mt's one point: a counter's total or a gauge's value, from the arena. */
static void one_point(struct arena *a, Openmetrics__Metric *mt, bool counter, double v)
{
	Openmetrics__MetricPoint *pt = arena_alloc(a, sizeof(*pt));
	openmetrics__metric_point__init(pt);
	if (counter) {
		Openmetrics__CounterValue *c = arena_alloc(a, sizeof(*c));
		openmetrics__counter_value__init(c);
		c->total_case = OPENMETRICS__COUNTER_VALUE__TOTAL_DOUBLE_VALUE;
		c->double_value = v;
		pt->value_case = OPENMETRICS__METRIC_POINT__VALUE_COUNTER_VALUE;
		pt->counter_value = c;
	} else {
		Openmetrics__GaugeValue *g = arena_alloc(a, sizeof(*g));
		openmetrics__gauge_value__init(g);
		g->value_case = OPENMETRICS__GAUGE_VALUE__VALUE_DOUBLE_VALUE;
		g->double_value = v;
		pt->value_case = OPENMETRICS__METRIC_POINT__VALUE_GAUGE_VALUE;
		pt->gauge_value = g;
	}
	mt->metric_points = arena_alloc(a, sizeof(void *));
	mt->metric_points[0] = pt;
	mt->n_metric_points = 1;
}

/* A NUL-terminated copy of v[0..len) from the arena. */
static char *acopy(struct arena *a, const char *v, size_t len)
{
	char *p = arena_alloc(a, len + 1);
	if (p) {
		memcpy(p, v, len);
		p[len] = 0;
	}
	return p;
}

int exp_openmetrics_pb(struct buf *out, const struct exp_om_sample *s, size_t n,
                       const struct exp_om_info *info, size_t ninfo)
{
	size_t nit;
	struct om_item *it = build_items(s, n, &nit);
	struct arena a;
	arena_init(&a, (size_t)1 << 40);
	Openmetrics__MetricSet set = OPENMETRICS__METRIC_SET__INIT;
	set.metric_families = arena_alloc(&a, sizeof(void *) * (nit + 2));
	Openmetrics__MetricFamily *fam = NULL;
	const struct om_item *cur = NULL;
	const char *prev_labels = NULL;
	struct buf help = {0};
	for (size_t i = 0; i < nit; i++) {
		struct om_item *m = &it[i];
		if (!fam || strcmp(fam->name, m->family)) {
			cur = m;
			fam = arena_alloc(&a, sizeof(*fam));
			openmetrics__metric_family__init(fam);
			fam->name = m->family;
			fam->type = m->counter ? OPENMETRICS__METRIC_TYPE__COUNTER
			                       : OPENMETRICS__METRIC_TYPE__GAUGE;
			fam->unit = m->unit;
			buf_reset(&help);
			help_of(m, &help);
			fam->help = acopy(&a, help.p ? help.p : "", help.len);
			size_t k = i;
			while (k < nit && !strcmp(it[k].family, m->family))
				k++;
			fam->metrics = arena_alloc(&a, sizeof(void *) * (k - i));
			set.metric_families[set.n_metric_families++] = fam;
			prev_labels = NULL;
		} else if (m->counter != cur->counter ||
		           (prev_labels && !strcmp(prev_labels, m->labels))) {
			continue; /* a gauge family's name, or a duplicate series */
		}
		prev_labels = m->labels;
		Openmetrics__Metric *mt = arena_alloc(&a, sizeof(*mt));
		openmetrics__metric__init(mt);
		labels_from_text(&a, m->labels, mt);
		one_point(&a, mt, m->counter, m->value);
		fam->metrics[fam->n_metrics++] = mt;
	}
	if (ninfo) {
		struct exp_om_info *v = sorted_info(info, ninfo);
		Openmetrics__MetricFamily *f = arena_alloc(&a, sizeof(*f));
		openmetrics__metric_family__init(f);
		f->name = INFO_FAMILY;
		f->type = OPENMETRICS__METRIC_TYPE__GAUGE;
		f->help = INFO_HELP;
		f->metrics = arena_alloc(&a, sizeof(void *) * ninfo);
		for (size_t i = 0; i < ninfo; i++) {
			Openmetrics__Metric *mt = arena_alloc(&a, sizeof(*mt));
			openmetrics__metric__init(mt);
			mt->labels = arena_alloc(&a, sizeof(void *) * 2);
			const char *k[2] = {"vm_uuid", "name"}, *val[2] = {v[i].uuid, v[i].name};
			for (int j = 0; j < 2; j++) {
				Openmetrics__Label *l = arena_alloc(&a, sizeof(*l));
				openmetrics__label__init(l);
				l->name = (char *)k[j];
				l->value = acopy(&a, val[j], strlen(val[j]));
				mt->labels[mt->n_labels++] = l;
			}
			one_point(&a, mt, false, 1);
			f->metrics[f->n_metrics++] = mt;
		}
		set.metric_families[set.n_metric_families++] = f;
		free(v);
	}
	size_t len = openmetrics__metric_set__get_packed_size(&set);
	openmetrics__metric_set__pack(&set, (uint8_t *)buf_reserve(out, len));
	buf_commit(out, len);
	buf_free(&help);
	arena_free(&a);
	free(it);
	return 0;
}
