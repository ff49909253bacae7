/*
 * Replay of fixture traces (see trace.h).  The trace is parsed with json-c;
 * every malformed part gives a message naming it.
 */
#include "tool/trace.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A number, or one of the strings "Infinity", "-Infinity", "NaN". */
static int get_number(json_object *o, double *out)
{
	if (json_object_is_type(o, json_type_double) || json_object_is_type(o, json_type_int)) {
		*out = json_object_get_double(o);
		return 0;
	}
	if (json_object_is_type(o, json_type_string)) {
		const char *s = json_object_get_string(o);
		if (strcmp(s, "Infinity") == 0)
			return *out = INFINITY, 0;
		if (strcmp(s, "-Infinity") == 0)
			return *out = -INFINITY, 0;
		if (strcmp(s, "NaN") == 0)
			return *out = NAN, 0;
	}
	return -EINVAL;
}

static json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* A sample: null (unknown), a number typed by the DS's value type, or
 * {"float": x} / {"int64": n} forcing the type. */
static int get_sample(json_object *o, enum val_type vt, struct dsval *out)
{
	if (!o) {
		*out = DSVAL_UNKNOWN;
		return 0;
	}
	json_object *f;
	if ((f = field(o, "float"))) {
		double d;
		if (get_number(f, &d))
			return -EINVAL;
		*out = DSVAL_FLT(d);
		return 0;
	}
	if ((f = field(o, "int64"))) {
		if (!json_object_is_type(f, json_type_int))
			return -EINVAL;
		*out = DSVAL_INT(json_object_get_int64(f));
		return 0;
	}
	if (vt == VAL_INT64) {
		if (!json_object_is_type(o, json_type_int))
			return -EINVAL;
		*out = DSVAL_INT(json_object_get_int64(o));
		return 0;
	}
	double d;
	if (get_number(o, &d))
		return -EINVAL;
	*out = DSVAL_FLT(d);
	return 0;
}

struct def {
	struct rrdb_ds_def *ds;
	enum val_type *vt;
	size_t nds;
	struct rrdb_rra_def *rra;
	size_t nrra;
};

static void def_free(struct def *d)
{
	free(d->ds);
	free(d->vt);
	free(d->rra);
}

static int parse_ds(json_object *arr, struct def *d, char *err, size_t errlen)
{
	if (!json_object_is_type(arr, json_type_array))
		return fail(err, errlen, "trace: 'datasources' is not an array");
	d->nds = json_object_array_length(arr);
	d->ds = xcalloc(d->nds ? d->nds : 1, sizeof(*d->ds));
	d->vt = xcalloc(d->nds ? d->nds : 1, sizeof(*d->vt));
	for (size_t i = 0; i < d->nds; i++) {
		json_object *o = json_object_array_get_idx(arr, i), *v;
		struct rrdb_ds_def *ds = &d->ds[i];
		if (!(v = field(o, "name")) || !json_object_is_type(v, json_type_string))
			return fail(err, errlen, "trace: datasource %zu has no name", i);
		ds->name = json_object_get_string(v);
		if (!(v = field(o, "type")) ||
		    rrdb_type_parse(json_object_get_string(v), &ds->type))
			return fail(err, errlen, "trace: datasource '%s': bad type", ds->name);
		ds->min = -INFINITY;
		ds->max = INFINITY;
		ds->mrhb = 300.0;
		if ((v = field(o, "min")) && get_number(v, &ds->min))
			return fail(err, errlen, "trace: datasource '%s': bad min", ds->name);
		if ((v = field(o, "max")) && get_number(v, &ds->max))
			return fail(err, errlen, "trace: datasource '%s': bad max", ds->name);
		if ((v = field(o, "mrhb")) && get_number(v, &ds->mrhb))
			return fail(err, errlen, "trace: datasource '%s': bad mrhb", ds->name);
		ds->transform = TR_IDENTITY;
		if ((v = field(o, "transform"))) {
			const char *s = json_object_get_string(v);
			if (strcmp(s, "inverse") == 0)
				ds->transform = TR_INVERSE;
			else if (strcmp(s, "identity") != 0)
				return fail(err, errlen, "trace: datasource '%s': bad transform",
				            ds->name);
		}
		d->vt[i] = VAL_FLOAT;
		if ((v = field(o, "value_type"))) {
			const char *s = json_object_get_string(v);
			if (strcmp(s, "int64") == 0)
				d->vt[i] = VAL_INT64;
			else if (strcmp(s, "float") != 0)
				return fail(err, errlen, "trace: datasource '%s': bad value_type",
				            ds->name);
		}
		if (get_sample(field(o, "initial_last"), d->vt[i], &ds->initial_last))
			return fail(err, errlen, "trace: datasource '%s': bad initial_last",
			            ds->name);
	}
	return 0;
}

static int parse_rras(json_object *arr, struct def *d, char *err, size_t errlen)
{
	if (!json_object_is_type(arr, json_type_array))
		return fail(err, errlen, "trace: 'rras' is not an array");
	d->nrra = json_object_array_length(arr);
	d->rra = xcalloc(d->nrra ? d->nrra : 1, sizeof(*d->rra));
	for (size_t k = 0; k < d->nrra; k++) {
		json_object *o = json_object_array_get_idx(arr, k), *v;
		struct rrdb_rra_def *a = &d->rra[k];
		if (!(v = field(o, "cf")) || rrdb_cf_parse(json_object_get_string(v), &a->cf))
			return fail(err, errlen, "trace: rra %zu: bad cf", k);
		int64_t rows, pdp;
		if (!(v = field(o, "rows")) || (rows = json_object_get_int64(v)) <= 0 ||
		    rows > 10000000)
			return fail(err, errlen, "trace: rra %zu: bad rows", k);
		if (!(v = field(o, "pdp_per_row")) || (pdp = json_object_get_int64(v)) <= 0 ||
		    pdp > 100000000)
			return fail(err, errlen, "trace: rra %zu: bad pdp_per_row", k);
		a->rows = (uint32_t)rows;
		a->pdp_cnt = (uint32_t)pdp;
		if (!(v = field(o, "xff")) || get_number(v, &a->xff))
			return fail(err, errlen, "trace: rra %zu: bad xff", k);
	}
	return 0;
}

static int replay(json_object *ups, struct def *d, struct rrdb *r, char *err, size_t errlen)
{
	if (!json_object_is_type(ups, json_type_array))
		return fail(err, errlen, "trace: 'updates' is not an array");
	size_t n = json_object_array_length(ups);
	struct rrdb_upd *u = xcalloc(d->nds ? d->nds : 1, sizeof(*u));
	int rc = 0;
	for (size_t j = 0; j < n && rc == 0; j++) {
		json_object *e = json_object_array_get_idx(ups, j);
		size_t len =
		    json_object_is_type(e, json_type_array) ? json_object_array_length(e) : 0;
		double t;
		json_object *vals = len >= 2 ? json_object_array_get_idx(e, 1) : NULL;
		if (len < 2 || get_number(json_object_array_get_idx(e, 0), &t) ||
		    !json_object_is_type(vals, json_type_object)) {
			rc = fail(err, errlen, "trace: update %zu is not [time, {values}]", j);
			break;
		}
		unsigned flags = 0;
		json_object *opt =
		    len >= 3 ? field(json_object_array_get_idx(e, 2), "new_rrd") : NULL;
		if (opt && json_object_get_boolean(opt))
			flags |= RRDB_COUNTERS_RESTARTED;
		size_t m = 0;
		/* in RRD DS order, exactly the DSs named in the entry */
		for (size_t i = 0; i < d->nds; i++) {
			json_object *v;
			if (!json_object_object_get_ex(vals, d->ds[i].name, &v))
				continue;
			u[m].ds = (uint32_t)i;
			if (get_sample(v, d->vt[i], &u[m].v)) {
				rc = fail(err, errlen, "trace: update %zu: bad value for '%s'", j,
				          d->ds[i].name);
				break;
			}
			m++;
		}
		json_object_object_foreach(vals, key, val)
		{
			(void)val;
			if (rc == 0 && rrdb_find_ds(r, key) < 0)
				rc = fail(err, errlen, "trace: update %zu: unknown datasource '%s'",
				          j, key);
		}
		if (rc == 0)
			rrdb_update(r, t, u, m, flags);
	}
	free(u);
	return rc;
}

int trace_replay(const char *text, struct rrdb **out, char *err, size_t errlen)
{
	enum json_tokener_error jerr;
	json_object *root = json_tokener_parse_verbose(text, &jerr);
	struct def d = {0};
	struct rrdb *r = NULL;
	int rc;
	*out = NULL;
	if (!root)
		return fail(err, errlen, "trace: not JSON: %s", json_tokener_error_desc(jerr));
	json_object *v;
	double step, created;
	if (!(v = field(root, "step")) || get_number(v, &step) || !(step >= 1 && step <= 86400) ||
	    step != floor(step)) {
		rc = fail(err, errlen, "trace: missing or bad 'step'");
		goto out;
	}
	if (!(v = field(root, "created")) || get_number(v, &created) || !isfinite(created)) {
		rc = fail(err, errlen, "trace: missing or bad 'created'");
		goto out;
	}
	if ((rc = parse_ds(field(root, "datasources"), &d, err, errlen)) ||
	    (rc = parse_rras(field(root, "rras"), &d, err, errlen)))
		goto out;
	r = rrdb_new((uint32_t)step, created, d.rra, d.nrra, d.ds, d.nds);
	if (!r) {
		rc = fail(err, errlen, "trace: invalid RRD definition (duplicate names, bad xff?)");
		goto out;
	}
	json_object *ups = field(root, "updates");
	if (ups && (rc = replay(ups, &d, r, err, errlen)))
		goto out;
	*out = r;
	r = NULL;
out:
	rrdb_free(r);
	def_free(&d);
	json_object_put(root);
	return rc;
}
