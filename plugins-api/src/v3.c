/*
 * Protocol v3 pages (xcp-metrics; wire-format.md §11.1) for a plugin whose
 * protocol is 3 (rrdp_plugin_set_protocol): the plugin's sources as an
 * OpenMetrics protobuf MetricSet, one family per source named as the
 * source (so the daemon's default mapping gives back the source's name),
 * the owner as an "owner" label, gauges as GAUGE and derives as COUNTER
 * (their running totals); encoded by protobuf-c (the data model compiled
 * under the package name rrdpom, so the library's symbols cannot meet a
 * program's own OpenMetrics code).  An Unknown value is a metric without a
 * point.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rrdpom.pb-c.h"
#include "rrdd/proto.h"

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
}

int rrdp_i_v3_check(const struct rrdp_source *s)
{
	if (s->type == RRDP_ABSOLUTE)
		return rrdp_i_fail(-EINVAL,
		                   "source \"%s\": ABSOLUTE has no OpenMetrics type (protocol v3 "
		                   "carries gauges and counters)",
		                   s->name);
	if (s->transform != RRDP_IDENTITY)
		return rrdp_i_fail(-EINVAL, "source \"%s\": protocol v3 has no inverse transform",
		                   s->name);
	return 0;
}

static bool is_unknown(const struct rrdp_source *s, double *d, int64_t *i)
{
	if (s->value_type == RRDP_FLOAT) {
		memcpy(d, &s->bits, sizeof(*d));
		return isnan(*d);
	}
	*i = (int64_t)s->bits;
	return *i == INT64_MIN && rrdp_source_can_be_unknown(s);
}

int rrdp_i_v3_page(struct rrdp_plugin *p, double timestamp)
{
	size_t n = p->nsrc;
	for (size_t k = 0; k < n; k++) {
		int rc = rrdp_i_v3_check(p->src[k]);
		if (rc < 0)
			return rc;
	}
	size_t per = sizeof(Rrdpom__MetricFamily) + sizeof(Rrdpom__Metric) + sizeof(Rrdpom__Label) +
	             sizeof(Rrdpom__MetricPoint) + sizeof(Rrdpom__GaugeValue) +
	             sizeof(Rrdpom__CounterValue) + 5 * sizeof(void *) + 80;
	unsigned char *mem = calloc(n ? n : 1, per);
	if (!mem)
		return rrdp_i_fail(-ENOMEM, "out of memory");
	Rrdpom__MetricSet set = RRDPOM__METRIC_SET__INIT;
	Rrdpom__MetricFamily *fam = (void *)mem;
	Rrdpom__Metric *met = (void *)(fam + n);
	Rrdpom__Label *lab = (void *)(met + n);
	Rrdpom__MetricPoint *pt = (void *)(lab + n);
	Rrdpom__GaugeValue *gv = (void *)(pt + n);
	Rrdpom__CounterValue *cv = (void *)(gv + n);
	void **ptrs = (void *)(cv + n);
	char(*owner)[80] = (void *)(ptrs + 5 * n);
	Rrdpom__MetricFamily **famp = (void *)ptrs;
	Rrdpom__Metric **metp = (void *)(ptrs + n);
	Rrdpom__Label **labp = (void *)(ptrs + 2 * n);
	Rrdpom__MetricPoint **ptp = (void *)(ptrs + 3 * n);
	for (size_t k = 0; k < n; k++) {
		const struct rrdp_source *s = p->src[k];
		rrdpom__metric_family__init(&fam[k]);
		fam[k].name = s->name;
		fam[k].unit = s->units;
		fam[k].help = s->description;
		fam[k].type = s->type == RRDP_DERIVE ? RRDPOM__METRIC_TYPE__COUNTER
		                                     : RRDPOM__METRIC_TYPE__GAUGE;
		rrdpom__metric__init(&met[k]);
		if (s->owner != RRDP_OWNER_HOST) {
			snprintf(owner[k], sizeof(owner[k]), "%s %s",
			         s->owner == RRDP_OWNER_VM ? "vm" : "sr", s->uuid);
			rrdpom__label__init(&lab[k]);
			lab[k].name = "owner";
			lab[k].value = owner[k];
			labp[k] = &lab[k];
			met[k].labels = &labp[k];
			met[k].n_labels = 1;
		}
		double d = 0;
		int64_t i = 0;
		if (!is_unknown(s, &d, &i)) {
			rrdpom__metric_point__init(&pt[k]);
			bool integer = s->value_type == RRDP_INT64;
			if (s->type == RRDP_DERIVE) {
				rrdpom__counter_value__init(&cv[k]);
				if (integer && i >= 0) {
					cv[k].total_case = RRDPOM__COUNTER_VALUE__TOTAL_INT_VALUE;
					cv[k].int_value = (uint64_t)i;
				} else {
					cv[k].total_case =
					    RRDPOM__COUNTER_VALUE__TOTAL_DOUBLE_VALUE;
					cv[k].double_value = integer ? (double)i : d;
				}
				pt[k].value_case = RRDPOM__METRIC_POINT__VALUE_COUNTER_VALUE;
				pt[k].counter_value = &cv[k];
			} else {
				rrdpom__gauge_value__init(&gv[k]);
				if (integer) {
					gv[k].value_case = RRDPOM__GAUGE_VALUE__VALUE_INT_VALUE;
					gv[k].int_value = i;
				} else {
					gv[k].value_case = RRDPOM__GAUGE_VALUE__VALUE_DOUBLE_VALUE;
					gv[k].double_value = d;
				}
				pt[k].value_case = RRDPOM__METRIC_POINT__VALUE_GAUGE_VALUE;
				pt[k].gauge_value = &gv[k];
			}
			ptp[k] = &pt[k];
			met[k].metric_points = &ptp[k];
			met[k].n_metric_points = 1;
		}
		metp[k] = &met[k];
		fam[k].metrics = &metp[k];
		fam[k].n_metrics = 1;
		famp[k] = &fam[k];
	}
	set.metric_families = famp;
	set.n_metric_families = n;
	size_t len = rrdpom__metric_set__get_packed_size(&set);
	if (len + RRDD_V3_OFF_PAYLOAD > RRDP_MAX_PAGE) {
		free(mem);
		return rrdp_i_fail(-E2BIG, "a page of %zu bytes is too large (limit %d)",
		                   len + RRDD_V3_OFF_PAYLOAD, RRDP_MAX_PAGE);
	}
	unsigned char *page = malloc(RRDD_V3_OFF_PAYLOAD + len);
	if (!page) {
		free(mem);
		return rrdp_i_fail(-ENOMEM, "out of memory");
	}
	rrdpom__metric_set__pack(&set, page + RRDD_V3_OFF_PAYLOAD);
	free(mem);
	memcpy(page, RRDD_V3_MAGIC, RRDD_V3_MAGIC_LEN);
	put_be(page + RRDD_V3_OFF_TIMESTAMP, timestamp > 0 ? (uint64_t)timestamp : 0, 8);
	put_be(page + RRDD_V3_OFF_LENGTH, len, 4);
	put_be(page + RRDD_V3_OFF_CRC,
	       rrdp_i_crc32(page + RRDD_V3_OFF_TIMESTAMP,
	                    RRDD_V3_OFF_PAYLOAD - RRDD_V3_OFF_TIMESTAMP + len),
	       4);
	free(p->page);
	p->page = page;
	p->page_len = p->page_size = RRDD_V3_OFF_PAYLOAD + len;
	p->meta_dirty = true; /* the next V2 publish (if the protocol changes) rebuilds */
	return 0;
}
