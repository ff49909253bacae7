/*
 * Protocol v3 pages (plugin/proto_v3.c) and the v3 -> v2 mapping
 * (plugin/v3map.c): pages packed here with protobuf-c's own encoder (the
 * library, not the reader, writes them), then read: names, owners, types,
 * values and bounds as xcp-metrics maps them; the header's checks; the
 * descriptor cache; refusals of hostile pages; the mapping file.
 */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "openmetrics.pb-c.h"
#include "plugin/proto.h"
#include "plugin/v3map.h"
#include "rrdd/proto.h"

#define VMU "0a000001-0000-4000-8000-00000000000A"

/* A small builder of MetricSets: families of one metric each. */
struct b {
	Openmetrics__MetricSet set;
	Openmetrics__MetricFamily fam[40], *famp[40];
	Openmetrics__Metric met[40], *metp[40];
	Openmetrics__Label lab[40][40], *labp[40][40];
	Openmetrics__MetricPoint pt[40], *ptp[40];
	Openmetrics__GaugeValue gv[40];
	Openmetrics__CounterValue cv[40];
};

static void b_init(struct b *b)
{
	memset(b, 0, sizeof(*b));
	openmetrics__metric_set__init(&b->set);
	b->set.metric_families = b->famp;
}

/* Add a family with one metric of n labels (name, value pairs) and value v
 * (is_int: as an integer). */
static void b_add(struct b *b, const char *name, Openmetrics__MetricType type, const char *unit,
                  const char *help, bool is_int, double v, size_t n, ...)
{
	size_t i = b->set.n_metric_families++;
	Openmetrics__MetricFamily *f = &b->fam[i];
	openmetrics__metric_family__init(f);
	f->name = (char *)name;
	f->type = type;
	f->unit = (char *)unit;
	f->help = (char *)help;
	Openmetrics__Metric *m = &b->met[i];
	openmetrics__metric__init(m);
	va_list ap;
	va_start(ap, n);
	for (size_t k = 0; k < n; k++) {
		openmetrics__label__init(&b->lab[i][k]);
		b->lab[i][k].name = va_arg(ap, char *);
		b->lab[i][k].value = va_arg(ap, char *);
		b->labp[i][k] = &b->lab[i][k];
	}
	va_end(ap);
	m->n_labels = n;
	m->labels = b->labp[i];
	Openmetrics__MetricPoint *p = &b->pt[i];
	openmetrics__metric_point__init(p);
	if (type == OPENMETRICS__METRIC_TYPE__COUNTER) {
		openmetrics__counter_value__init(&b->cv[i]);
		if (is_int) {
			b->cv[i].total_case = OPENMETRICS__COUNTER_VALUE__TOTAL_INT_VALUE;
			b->cv[i].int_value = (uint64_t)v;
		} else {
			b->cv[i].total_case = OPENMETRICS__COUNTER_VALUE__TOTAL_DOUBLE_VALUE;
			b->cv[i].double_value = v;
		}
		p->value_case = OPENMETRICS__METRIC_POINT__VALUE_COUNTER_VALUE;
		p->counter_value = &b->cv[i];
	} else {
		openmetrics__gauge_value__init(&b->gv[i]);
		if (is_int) {
			b->gv[i].value_case = OPENMETRICS__GAUGE_VALUE__VALUE_INT_VALUE;
			b->gv[i].int_value = (int64_t)v;
		} else {
			b->gv[i].value_case = OPENMETRICS__GAUGE_VALUE__VALUE_DOUBLE_VALUE;
			b->gv[i].double_value = v;
		}
		p->value_case = OPENMETRICS__METRIC_POINT__VALUE_GAUGE_VALUE;
		p->gauge_value = &b->gv[i];
	}
	b->ptp[i] = p;
	m->n_metric_points = 1;
	m->metric_points = &b->ptp[i];
	b->metp[i] = m;
	f->n_metrics = 1;
	f->metrics = &b->metp[i];
	b->famp[i] = f;
}

/* The page of b at ts: header and payload, *len set; malloc'd. */
static unsigned char *b_page(struct b *b, uint64_t ts, size_t *len)
{
	size_t pl = openmetrics__metric_set__get_packed_size(&b->set);
	unsigned char *p = malloc(RRDD_V3_OFF_PAYLOAD + pl);
	openmetrics__metric_set__pack(&b->set, p + RRDD_V3_OFF_PAYLOAD);
	memcpy(p, RRDD_V3_MAGIC, RRDD_V3_MAGIC_LEN);
	for (int i = 0; i < 8; i++)
		p[16 + i] = (unsigned char)(ts >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		p[24 + i] = (unsigned char)(pl >> (24 - 8 * i));
	uint32_t crc = (uint32_t)crc32_z(0, p + 16, 12 + pl);
	for (int i = 0; i < 4; i++)
		p[12 + i] = (unsigned char)(crc >> (24 - 8 * i));
	*len = RRDD_V3_OFF_PAYLOAD + pl;
	return p;
}

static const struct plg_ds *find(const struct plg_page *pg, const char *name)
{
	for (size_t i = 0; i < pg->n; i++)
		if (!strcmp(pg->ds[i].name, name))
			return &pg->ds[i];
	return NULL;
}

static void test_default_mapping(void **state)
{
	(void)state;
	struct b *b = malloc(sizeof(*b));
	b_init(b);
	b_add(b, "load", OPENMETRICS__METRIC_TYPE__GAUGE, "", "the load", false, 0.5, 0);
	b_add(b, "bytes", OPENMETRICS__METRIC_TYPE__COUNTER, "B", "", true, 123456, 2, "dev",
	      "eth0", "dir", "rx");
	b_add(b, "mem", OPENMETRICS__METRIC_TYPE__GAUGE, "KiB", "", true, 2048, 2, "owner",
	      "VM " VMU, "slot", "1");
	b_add(b, "sr_io", OPENMETRICS__METRIC_TYPE__GAUGE, "", "", false, 2.5, 2, "x", "y", "owner",
	      "sr 0b000001-0000-4000-8000-000000000001");
	b_add(b, "info", OPENMETRICS__METRIC_TYPE__INFO, "", "", false, 0, 0);
	b_add(b, "unknown", OPENMETRICS__METRIC_TYPE__UNKNOWN, "", "", false, 1, 0);
	size_t len;
	unsigned char *p = b_page(b, 1700000000, &len);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	assert_int_equal(plg_read(r, p, len, &pg), PLG_OK);
	assert_int_equal(pg->proto, PLG_PROTO_V3);
	assert_true(pg->timestamp == 1700000000.0);
	assert_int_equal(pg->n, 4); /* info and unknown families are left out */
	const struct plg_ds *d = find(pg, "load");
	assert_non_null(d);
	assert_int_equal(d->owner, MON_HOST);
	assert_int_equal(d->type, DS_GAUGE);
	assert_int_equal(d->value_type, VAL_FLOAT);
	assert_true(d->value.f == 0.5);
	assert_string_equal(d->description, "the load");
	assert_true(d->is_default && isinf(d->min) && d->min < 0 && isinf(d->max) && d->max > 0);
	d = find(pg, "bytes_eth0_rx");
	assert_non_null(d);
	assert_int_equal(d->type, DS_DERIVE);
	assert_int_equal(d->value_type, VAL_INT64);
	assert_int_equal(d->value.i, 123456);
	assert_string_equal(d->units, "B");
	d = find(pg, "mem_1"); /* the owner label is not part of the name */
	assert_non_null(d);
	assert_int_equal(d->owner, MON_VM);
	assert_string_equal(d->uuid, "0a000001-0000-4000-8000-00000000000a");
	d = find(pg, "sr_io_y");
	assert_non_null(d);
	assert_int_equal(d->owner, MON_SR);
	/* the same bytes again: No_update */
	assert_int_equal(plg_read(r, p, len, &pg), PLG_E_NO_UPDATE);
	free(p);
	plg_reader_free(r);
	free(b);
}

static void test_builtin_and_file_rules(void **state)
{
	(void)state;
	struct b *b = malloc(sizeof(*b));
	b_init(b);
	b_add(b, "cpu", OPENMETRICS__METRIC_TYPE__GAUGE, "", "", false, 0.25, 1, "id", "3");
	b_add(b, "cpu-cstate", OPENMETRICS__METRIC_TYPE__GAUGE, "", "", false, 0.1, 2, "id", "1",
	      "state", "2");
	b_add(b, "cpu-freq", OPENMETRICS__METRIC_TYPE__GAUGE, "", "", false, 2e9, 1, "id", "0");
	b_add(b, "custom", OPENMETRICS__METRIC_TYPE__GAUGE, "", "", false, 1, 1, "dev", "sda");
	size_t len;
	unsigned char *p = b_page(b, 1700000000, &len);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	assert_int_equal(plg_read(r, p, len, &pg), PLG_OK);
	const struct plg_ds *d = find(pg, "cpu3");
	assert_non_null(d);
	assert_true(d->min == 0.0 && d->max == 1.0 && d->is_default);
	assert_non_null(find(pg, "cpu1-C2"));
	assert_non_null(find(pg, "CPU0-avg-freq"));
	assert_non_null(find(pg, "custom_sda"));
	plg_reader_free(r);

	/* a mapping file replaces the built-in rules */
	char path[] = "/tmp/rrdd-v3map-XXXXXX";
	int fd = mkstemp(path);
	const char *js =
	    "{\"custom\": {\"pattern\": \"c_{dev}_{nope}\", \"min\": 0, \"max\": \"inf\","
	    " \"default\": false}}";
	assert_int_equal(write(fd, js, strlen(js)), (ssize_t)strlen(js));
	close(fd);
	struct v3map *m = NULL;
	char err[256];
	assert_int_equal(v3map_load(path, &m, err, sizeof(err)), 0);
	r = plg_reader_new();
	plg_reader_set_v3map(r, m);
	assert_int_equal(plg_read(r, p, len, &pg), PLG_OK);
	d = find(pg, "c_sda_{nope}"); /* an unknown label stays as written */
	assert_non_null(d);
	assert_true(!d->is_default && d->min == 0.0 && isinf(d->max));
	assert_non_null(find(pg, "cpu_3")); /* the default mapping now */
	plg_reader_free(r);
	v3map_free(m);
	/* bad files are refused with a reason */
	const char *bad[] = {"[]",
	                     "{\"x\": {}}",
	                     "{\"x\": {\"pattern\": 3}}",
	                     "{\"x\": {\"pattern\": \"a\", \"min\": \"low\"}}",
	                     "{\"x\": {\"pattern\": \"a\", \"default\": 1}}",
	                     "{"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = open(path, O_WRONLY | O_TRUNC);
		assert_int_equal(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		close(fd);
		err[0] = 0;
		assert_int_equal(v3map_load(path, &m, err, sizeof(err)), -1);
		assert_null(m);
		assert_true(err[0] != 0);
	}
	unlink(path);
	free(p);
	free(b);
}

static void test_shape_cache(void **state)
{
	(void)state;
	struct b *b = malloc(sizeof(*b));
	b_init(b);
	b_add(b, "g", OPENMETRICS__METRIC_TYPE__GAUGE, "", "", false, 1.0, 1, "k", "a");
	b_add(b, "c", OPENMETRICS__METRIC_TYPE__COUNTER, "", "", true, 10, 0);
	size_t len;
	unsigned char *p = b_page(b, 1700000000, &len);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	assert_int_equal(plg_read(r, p, len, &pg), PLG_OK);
	uint32_t shape = pg->shape;
	const struct plg_ds *ds = pg->ds;
	free(p);
	b->gv[0].double_value = 2.0; /* new values, same shape */
	b->cv[1].int_value = 20;
	p = b_page(b, 1700000005, &len);
	assert_int_equal(plg_read(r, p, len, &pg), PLG_OK);
	assert_int_equal(pg->shape, shape);
	assert_ptr_equal(pg->ds, ds); /* the cached descriptors */
	assert_true(find(pg, "g_a")->value.f == 2.0);
	assert_int_equal(find(pg, "c")->value.i, 20);
	free(p);
	b->gv[0].double_value = 3.0; /* new data in the same second: read (the CRC says) */
	p = b_page(b, 1700000005, &len);
	assert_int_equal(plg_read(r, p, len, &pg), PLG_OK);
	assert_true(find(pg, "g_a")->value.f == 3.0);
	free(p);
	b->lab[0][0].value = "b"; /* a new label value: a new shape */
	p = b_page(b, 1700000010, &len);
	assert_int_equal(plg_read(r, p, len, &pg), PLG_OK);
	assert_int_not_equal(pg->shape, shape);
	assert_non_null(find(pg, "g_b"));
	assert_null(find(pg, "g_a"));
	free(p);
	plg_reader_free(r);
	free(b);
}

static void test_refusals(void **state)
{
	(void)state;
	struct b *b = malloc(sizeof(*b));
	b_init(b);
	b_add(b, "g", OPENMETRICS__METRIC_TYPE__GAUGE, "", "", false, 1.0, 0);
	size_t len;
	unsigned char *p = b_page(b, 1700000000, &len);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	assert_int_equal(plg_read(r, p, 20, &pg), PLG_E_LENGTH);      /* short header */
	assert_int_equal(plg_read(r, p, len - 1, &pg), PLG_E_LENGTH); /* payload cut */
	p[len - 1] ^= 0x40;                                           /* a flipped byte */
	assert_int_equal(plg_read(r, p, len, &pg), PLG_E_CHECKSUM);
	assert_non_null(strstr(plg_reader_error(r), "CRC32"));
	free(p);
	/* a payload that is not a MetricSet (valid CRC) */
	unsigned char junk[RRDD_V3_OFF_PAYLOAD + 6] = "OPENMETRICS1";
	memcpy(junk + RRDD_V3_OFF_PAYLOAD, "\x0a\xff\xff\xff\xff\x0f", 6);
	junk[27] = 6;
	uint32_t crc = (uint32_t)crc32_z(0, junk + 16, 12 + 6);
	for (int i = 0; i < 4; i++)
		junk[12 + i] = (unsigned char)(crc >> (24 - 8 * i));
	assert_int_equal(plg_read(r, junk, sizeof(junk), &pg), PLG_E_PAYLOAD);
	/* a bad owner, too many labels: the page is refused, naming the family */
	b_init(b);
	b_add(b, "own", OPENMETRICS__METRIC_TYPE__GAUGE, "", "", false, 1.0, 1, "owner", "vm");
	p = b_page(b, 1700000001, &len);
	assert_int_equal(plg_read(r, p, len, &pg), PLG_E_PAYLOAD);
	assert_non_null(strstr(plg_reader_error(r), "\"own\""));
	free(p);
	b_init(b);
	b_add(b, "many", OPENMETRICS__METRIC_TYPE__GAUGE, "", "", false, 1.0, 0);
	for (int k = 0; k < 33; k++) {
		openmetrics__label__init(&b->lab[0][k]);
		b->lab[0][k].name = "l";
		b->lab[0][k].value = "v";
		b->labp[0][k] = &b->lab[0][k];
	}
	b->met[0].n_labels = 33;
	p = b_page(b, 1700000002, &len);
	assert_int_equal(plg_read(r, p, len, &pg), PLG_E_PAYLOAD);
	assert_non_null(strstr(plg_reader_error(r), "labels"));
	free(p);
	/* a name longer than 255 bytes */
	static char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	b_init(b);
	b_add(b, longname, OPENMETRICS__METRIC_TYPE__GAUGE, "", "", false, 1.0, 0);
	p = b_page(b, 1700000003, &len);
	assert_int_equal(plg_read(r, p, len, &pg), PLG_E_PAYLOAD);
	free(p);
	plg_reader_free(r);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_mapping),
	    cmocka_unit_test(test_builtin_and_file_rules),
	    cmocka_unit_test(test_shape_cache),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
