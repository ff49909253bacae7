/*
 * The exposition's families (export/openmetrics.c): gauges and the
 * counters of DERIVE running totals in the OpenMetrics text, Prometheus'
 * text format and the protobuf MetricSet (decoded by protobuf-c, not by the
 * writer): names from units, the collision rule, the forms' differences.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export/openmetrics.h"
#include "openmetrics.pb-c.h"

#define VM "0a000001-0000-4000-8000-00000000000a"

static const struct exp_om_sample samples[] = {
    /* a VIF: a rate gauge and a byte counter */
    {MON_VM, VM, "vif_0_rx", "B/s", "Bytes per second received", 250.0, true, true, 1000.0, NULL},
    /* errors: "X/s" counts X */
    {MON_VM, VM, "vif_0_rx_errors", "err/s", NULL, 0.5, true, true, 7.0, NULL},
    /* a vCPU: (fraction) counts seconds; its gauge keeps _ratio */
    {MON_VM, VM, "cpu0", "(fraction)", NULL, 0.25, true, true, 12.5, NULL},
    /* no units: _cumulative */
    {MON_HOST, NULL, "requests", NULL, NULL, 3.0, true, true, 42.0, NULL},
    /* a DERIVE reading not known yet: no counter */
    {MON_HOST, NULL, "fresh", "B/s", NULL, NAN, true, false, 0.0, NULL},
    /* a gauge family named as the next counter would be: the gauge wins */
    {MON_HOST, NULL, "clash_bytes", NULL, NULL, 1.0, false, false, 0.0, NULL},
    {MON_HOST, NULL, "clash", "B/s", NULL, 2.0, true, true, 99.0, NULL},
    /* a plain gauge with a unit */
    {MON_HOST, NULL, "memory_free", "B", NULL, 4096.0, false, false, 0.0, NULL},
    /* a plugin's gauge family, labelled, with a unit; on a VM */
    {MON_VM, VM, "temp_a", "celsius", NULL, 40.5, false, false, 0.0, "temp{sensor=\"a\"}"},
    /* a plugin's counter: the counter alone, its total the plugin's */
    {MON_HOST, NULL, "sent_eth0", "bytes", NULL, 3.0, true, true, 5000.0, "sent{dev=\"eth0\"}"},
    /* a plugin's counter named as Prometheus names counter samples, and
     * a gauge named as rrdd's own info family */
    {MON_HOST, NULL, "reqs", NULL, NULL, 0.0, true, true, 77.0, "reqs_total{}"},
    {MON_HOST, NULL, "xi", NULL, NULL, 2.0, false, false, 0.0, "xen_vm_info{k=\"v\"}"},
    /* a label value with the characters the text format escapes */
    {MON_HOST, NULL, "odd_x", NULL, NULL, 1.0, false, false, 0.0, "odd{v=\"a\\\"b\\\\c\"}"},
};
#define N (sizeof(samples) / sizeof(samples[0]))

static char *render(void (*fn)(struct buf *, const struct exp_om_sample *, size_t,
                               const struct exp_om_info *, size_t))
{
	struct buf b = {0};
	fn(&b, samples, N, NULL, 0);
	char *s = strdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

static void test_openmetrics_text(void **state)
{
	(void)state;
	char *t = render(exp_openmetrics);
	assert_non_null(strstr(t, "# TYPE xen_vm_vif_rx gauge\n"));
	assert_non_null(strstr(t, "# TYPE xen_vm_vif_rx_bytes counter\n"
	                          "# UNIT xen_vm_vif_rx_bytes bytes\n"));
	assert_non_null(strstr(t, "xen_vm_vif_rx_bytes_total{vm_uuid=\"" VM "\",vif=\"0\"} 1000"));
	assert_non_null(strstr(t, "# TYPE xen_vm_vif_rx_errors_err counter\n"));
	assert_null(strstr(t, "# UNIT xen_vm_vif_rx_errors_err"));
	assert_non_null(
	    strstr(t, "xen_vm_vif_rx_errors_err_total{vm_uuid=\"" VM "\",vif=\"0\"} 7"));
	assert_non_null(strstr(t, "# TYPE xen_vm_cpu_ratio gauge\n"));
	assert_non_null(strstr(t, "xen_vm_cpu_seconds_total{vm_uuid=\"" VM "\",cpu=\"0\"} 12.5"));
	assert_non_null(strstr(t, "xen_host_requests_cumulative_total 42\n"));
	assert_non_null(strstr(t, "xen_host_fresh NaN\n"));
	assert_null(strstr(t, "xen_host_fresh_bytes"));
	/* the gauge family keeps its name; the clashing counter is left out */
	assert_non_null(strstr(t, "# TYPE xen_host_clash_bytes gauge\n"));
	assert_non_null(strstr(t, "\nxen_host_clash_bytes 1\n"));
	assert_null(strstr(t, "xen_host_clash_bytes_total"));
	assert_null(strstr(t, "99"));
	assert_non_null(strstr(t, "# TYPE xen_host_memory_free_bytes gauge\n"
	                          "# UNIT xen_host_memory_free_bytes bytes\n"));
	/* the plugins' families, as the plugins named and labelled them */
	assert_non_null(strstr(t, "# TYPE temp_celsius gauge\n# UNIT temp_celsius celsius\n"));
	assert_non_null(strstr(t, "temp_celsius{vm_uuid=\"" VM "\",sensor=\"a\"} 40.5\n"));
	assert_non_null(strstr(t, "# TYPE sent_bytes counter\n# UNIT sent_bytes bytes\n"));
	assert_non_null(strstr(t, "sent_bytes_total{dev=\"eth0\"} 5000\n"));
	assert_null(strstr(t, "sent_bytes{"));
	assert_null(strstr(t, "xen_host_sent"));
	assert_non_null(strstr(t, "odd{v=\"a\\\"b\\\\c\"} 1\n"));
	assert_non_null(strstr(t, "# TYPE reqs counter\n"));
	assert_non_null(strstr(t, "\nreqs_total 77\n"));
	assert_non_null(strstr(t, "\nxen_vm_info_all{k=\"v\"} 2\n"));
	size_t n = strlen(t);
	assert_true(n > 6 && !strcmp(t + n - 6, "# EOF\n"));
	free(t);
}

static void test_prometheus_text(void **state)
{
	(void)state;
	char *t = render(exp_prometheus_text);
	assert_non_null(strstr(t, "# TYPE xen_vm_vif_rx_bytes_total counter\n"
	                          "# HELP xen_vm_vif_rx_bytes_total "));
	assert_non_null(strstr(t, "xen_vm_vif_rx_bytes_total{vm_uuid=\"" VM "\",vif=\"0\"} 1000"));
	assert_non_null(strstr(t, "# TYPE xen_vm_vif_rx gauge\n"));
	assert_null(strstr(t, "# UNIT"));
	assert_null(strstr(t, "# EOF"));
	free(t);
}

static void test_protobuf(void **state)
{
	(void)state;
	struct buf b = {0};
	assert_int_equal(exp_openmetrics_pb(&b, samples, N, NULL, 0), 0);
	Openmetrics__MetricSet *set =
	    openmetrics__metric_set__unpack(NULL, b.len, (const uint8_t *)b.p);
	assert_non_null(set);
	int counters = 0, gauges = 0;
	for (size_t i = 0; i < set->n_metric_families; i++) {
		const Openmetrics__MetricFamily *f = set->metric_families[i];
		assert_true(f->n_metrics > 0);
		const Openmetrics__MetricPoint *p = f->metrics[0]->metric_points[0];
		if (f->type == OPENMETRICS__METRIC_TYPE__COUNTER) {
			counters++;
			assert_int_equal(p->value_case,
			                 OPENMETRICS__METRIC_POINT__VALUE_COUNTER_VALUE);
			if (!strcmp(f->name, "xen_vm_vif_rx_bytes")) {
				assert_string_equal(f->unit, "bytes");
				assert_true(p->counter_value->double_value == 1000.0);
			}
			if (!strcmp(f->name, "sent_bytes")) {
				assert_int_equal(f->metrics[0]->n_labels, 1);
				assert_string_equal(f->metrics[0]->labels[0]->name, "dev");
				assert_string_equal(f->metrics[0]->labels[0]->value, "eth0");
				assert_true(p->counter_value->double_value == 5000.0);
			}
		} else {
			gauges++;
			assert_int_equal(f->type, OPENMETRICS__METRIC_TYPE__GAUGE);
			assert_int_equal(p->value_case,
			                 OPENMETRICS__METRIC_POINT__VALUE_GAUGE_VALUE);
		}
	}
	/* counters: vif bytes, errors, cpu seconds, requests, the plugins' sent
	 * and reqs (clash, fresh: none); gauges: 8, the plugins' temp, odd, xi */
	assert_int_equal(counters, 6);
	assert_int_equal(gauges, 11);
	openmetrics__metric_set__free_unpacked(set, NULL);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_openmetrics_text),
	    cmocka_unit_test(test_prometheus_text),
	    cmocka_unit_test(test_protobuf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
