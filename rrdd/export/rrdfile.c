/*
 * rrdtool `.rrd` export (see rrdfile.h): DS name mapping, rrdtool's dump
 * XML generated from our rings, and rrd_restore through librrd into a file.
 *
 * Numbers in the dump XML are rrdtool's, not xcp-rrdd's: "%.17g" of the
 * double value (exact round trip, so a float32 row becomes exactly that
 * value in rrdtool's double row), "NaN", "Inf", "-Inf" -- so numfmt is not
 * used here on purpose.  Must not touch the registry: callers hand in a
 * copy.
 */
#include "export/rrdfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/librrd.h"
#include "export/textesc.h"

static pthread_mutex_t librrd_mu = PTHREAD_MUTEX_INITIALIZER;

void exp_rrdfile_lock(void)
{
	pthread_mutex_lock(&librrd_mu);
}

void exp_rrdfile_unlock(void)
{
	pthread_mutex_unlock(&librrd_mu);
}

/* ---- names ---- */

static int name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

int exp_rrdfile_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > EXP_RRDFILE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!name_char_ok(name[i]))
			return 0;
	return 1;
}

static uint32_t fnv1a(const char *s, uint32_t salt)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	for (int i = 0; i < 4; i++) {
		h ^= (salt >> (8 * i)) & 0xff;
		h *= 16777619u;
	}
	return h;
}

static int taken(const exp_rrdfile_name *out, const unsigned char *set, uint32_t n,
                 const char *cand)
{
	for (uint32_t i = 0; i < n; i++)
		if (set[i] && strcmp(out[i], cand) == 0)
			return 1;
	return 0;
}

void exp_rrdfile_names(const struct rrdb *r, exp_rrdfile_name *out)
{
	unsigned char *set = calloc(r->nds ? r->nds : 1, 1);
	if (!set)
		abort();
	/* valid names first: they are unique already (an RRD's names are) */
	for (uint32_t d = 0; d < r->nds; d++)
		if (exp_rrdfile_name_ok(r->ds[d].name)) {
			strcpy(out[d], r->ds[d].name);
			set[d] = 1;
		}
	for (uint32_t d = 0; d < r->nds; d++) {
		if (set[d])
			continue;
		const char *full = r->ds[d].name;
		char san[EXP_RRDFILE_NAME_MAX + 1];
		size_t n = strlen(full), k = 0;
		for (size_t i = 0; i < n && k <= EXP_RRDFILE_NAME_MAX - 1; i++)
			san[k++] = name_char_ok(full[i]) ? full[i] : '_';
		san[k] = '\0';
		if (n >= 1 && n <= EXP_RRDFILE_NAME_MAX && !taken(out, set, r->nds, san)) {
			strcpy(out[d], san);
			set[d] = 1;
			continue;
		}
		if (k > 12)
			k = 12;
		san[k] = '\0';
		for (uint32_t salt = 0;; salt++) {
			char cand[EXP_RRDFILE_NAME_MAX + 1];
			snprintf(cand, sizeof(cand), "%.12s_%06x", san,
			         fnv1a(full, salt) & 0xffffffu);
			if (!taken(out, set, r->nds, cand)) {
				strcpy(out[d], cand);
				set[d] = 1;
				break;
			}
		}
	}
	free(set);
}

void exp_rrdfile_mapping(struct buf *out, const struct rrdb *r, const exp_rrdfile_name *names,
                         int json)
{
	if (json)
		buf_addc(out, '[');
	for (uint32_t d = 0; d < r->nds; d++) {
		const char *full = r->ds[d].name;
		if (json) {
			buf_adds(out, d ? ",{\"ds\":" : "{\"ds\":");
			exp_json_str(out, full, strlen(full));
			buf_adds(out, ",\"rrdtool\":");
			exp_json_str(out, names[d], strlen(names[d]));
			buf_addc(out, '}');
		} else {
			buf_printf(out, "%s\t%s\n", names[d], full);
		}
	}
	if (json)
		buf_adds(out, "]\n");
}

/* ---- dump XML ---- */

static void put_num(struct buf *out, double v)
{
	if (isnan(v))
		buf_adds(out, "NaN");
	else if (isinf(v))
		buf_adds(out, v > 0 ? "Inf" : "-Inf");
	else
		buf_printf(out, "%.17g", v);
}

static const char *type_name(enum ds_type t)
{
	switch (t) {
	case DS_ABSOLUTE:
		return "ABSOLUTE";
	case DS_DERIVE:
		return "DERIVE";
	default:
		return "GAUGE";
	}
}

static const char *cf_name(enum cf_type cf)
{
	switch (cf) {
	case CF_MIN:
		return "MIN";
	case CF_MAX:
		return "MAX";
	case CF_LAST:
		return "LAST";
	default:
		return "AVERAGE";
	}
}

/* rrd_updates' time rounding: step * (t / step), truncating division */
static int64_t round_down(int64_t t, int64_t step)
{
	return (t / step) * step;
}

static int64_t trunc_time(double t)
{
	if (!(t > -9.2e18 && t < 9.2e18))
		return 0;
	return (int64_t)t;
}

/* Rows per DS behind the end of RRA k, as rrd_updates counts them. */
static uint64_t ds_lag(const struct rrdb *r, uint32_t d, int64_t end, int64_t rstep)
{
	int64_t ds_end = round_down(trunc_time(r->ds[d].last_updated), rstep);
	return ds_end >= end ? 0 : (uint64_t)((end - ds_end) / rstep);
}

static int64_t rra_end(const struct rrdb *r, uint32_t k, int64_t *rstep_out)
{
	int64_t step = r->step ? r->step : 1;
	int64_t last = trunc_time(r->last_updated);
	if (last < 0)
		last = 0;
	int64_t rstep = step * (int64_t)(r->rra[k].pdp_cnt ? r->rra[k].pdp_cnt : 1);
	*rstep_out = rstep;
	return round_down(last, rstep);
}

/* The dump XML; with markers, every row value is replaced by its cell
 * number (1, 2, ... in document order), an integer rrdtool's own number
 * parser reads exactly, so the caller can find each cell in the file. */
static void dump_xml(struct buf *out, const struct rrdb *r, const exp_rrdfile_name *names,
                     int markers)
{
	uint64_t cell = 0;
	int64_t step = r->step ? r->step : 1;
	int64_t last = trunc_time(r->last_updated);
	if (last < 0)
		last = 0;
	buf_adds(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rrd>\n");
	buf_printf(out,
	           "<version>0003</version>\n<step>%lld</step>\n<lastupdate>%lld</lastupdate>\n",
	           (long long)step, (long long)last);
	for (uint32_t d = 0; d < r->nds; d++) {
		const struct rrdb_ds *ds = &r->ds[d];
		double hb = ceil(ds->mrhb);
		if (!(hb >= 1))
			hb = 1;
		if (hb > 2e9)
			hb = 2e9;
		buf_printf(out, "<ds><name>%s</name><type>%s</type>", names[d],
		           type_name(ds->type));
		buf_printf(out, "<minimal_heartbeat>%.0f</minimal_heartbeat><min>", hb);
		put_num(out, isinf(ds->min) ? NAN : ds->min);
		buf_adds(out, "</min><max>");
		put_num(out, isinf(ds->max) ? NAN : ds->max);
		buf_printf(out,
		           "</max><last_ds>U</last_ds><value>0.0</value>"
		           "<unknown_sec>%lld</unknown_sec></ds>\n",
		           (long long)(last % step));
	}
	for (uint32_t k = 0; k < r->nrra; k++) {
		const struct rrdb_rra *a = &r->rra[k];
		int64_t rstep = step * (int64_t)(a->pdp_cnt ? a->pdp_cnt : 1);
		buf_printf(out, "<rra><cf>%s</cf><pdp_per_row>%u</pdp_per_row><params><xff>",
		           cf_name(a->cf), a->pdp_cnt);
		/* rrdtool's own parser rounds 17 nines to 1; this is 1 - 2^-52 */
		if (a->xff >= 1.0)
			buf_adds(out, "0.9999999999999998");
		else
			put_num(out, a->xff > 0 ? a->xff : 0.0);
		buf_adds(out, "</xff></params><cdp_prep>");
		long long unk = (long long)((last % rstep) / step);
		for (uint32_t d = 0; d < r->nds; d++)
			buf_printf(out,
			           "<ds><primary_value>NaN</primary_value><secondary_value>NaN"
			           "</secondary_value><value>NaN</value><unknown_datapoints>%lld"
			           "</unknown_datapoints></ds>",
			           unk);
		buf_adds(out, "</cdp_prep>\n<database>\n");
		int64_t end = rra_end(r, k, &rstep);
		uint64_t *lag = calloc(r->nds ? r->nds : 1, sizeof(*lag));
		if (!lag)
			abort();
		for (uint32_t d = 0; d < r->nds; d++)
			lag[d] = ds_lag(r, d, end, rstep);
		for (uint32_t row = 0; row < a->rows; row++) {
			uint32_t i = a->rows - 1 - row; /* 0 = newest */
			buf_adds(out, "<row>");
			for (uint32_t d = 0; d < r->nds; d++) {
				double v = NAN;
				if (lag[d] <= i)
					v = rrdb_peek(r, d, k, (uint32_t)(i - lag[d]));
				buf_adds(out, "<v>");
				if (markers)
					buf_printf(out, "%llu", (unsigned long long)++cell);
				else
					put_num(out, v);
				buf_adds(out, "</v>");
			}
			buf_adds(out, "</row>\n");
		}
		free(lag);
		buf_adds(out, "</database></rra>\n");
	}
	buf_adds(out, "</rrd>\n");
}

void exp_rrdfile_dump_xml(struct buf *out, const struct rrdb *r, const exp_rrdfile_name *names)
{
	dump_xml(out, r, names, 0);
}

/* ---- files ---- */

int exp_rrdfile_tmpdir(char *out, size_t n)
{
	const char *base = getenv("TMPDIR");
	if (!base || !*base || base[0] != '/')
		base = "/tmp";
	int len = snprintf(out, n, "%s/rrdd-rrdfile-XXXXXX", base);
	if (len < 0 || (size_t)len >= n)
		return -ENAMETOOLONG;
	if (!mkdtemp(out))
		return -errno;
	return 0;
}

void exp_rrdfile_rmtree(const char *dir)
{
	DIR *dh = opendir(dir);
	if (dh) {
		struct dirent *e;
		while ((e = readdir(dh))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char p[4096];
			if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) < (int)sizeof(p))
				unlink(p);
		}
		closedir(dh);
	}
	rmdir(dir);
}

static int write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -errno;
	size_t w = b->len ? fwrite(b->p, 1, b->len, f) : 0;
	int rc = w == b->len ? 0 : -EIO;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

/* The value rows of an rrdtool file are its last cells * 8 bytes (doubles in
 * native order).  The file was restored from marker XML: find every
 * marker, check each appears exactly once, and write the exact values over
 * them (rrdtool's number parser is not correctly rounded, so the values
 * cannot go through the XML). */
static int patch_values(const struct rrdb *r, const char *path, char *err, size_t errlen)
{
	uint64_t cells = (uint64_t)r->nds * r->rows_total;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	struct stat st;
	int rc = 0;
	double *tail = NULL;
	uint64_t *where = NULL; /* cell number - 1 -> index in tail */
	if (fstat(fd, &st) || (uint64_t)st.st_size < cells * 8) {
		snprintf(err, errlen, "%s: shorter than its rows", path);
		rc = -EIO;
		goto out;
	}
	off_t off = st.st_size - (off_t)(cells * 8);
	tail = malloc(cells * 8);
	where = malloc(cells * sizeof(*where));
	if (!tail || !where)
		abort();
	if (pread(fd, tail, cells * 8, off) != (ssize_t)(cells * 8)) {
		snprintf(err, errlen, "%s: read failed", path);
		rc = -EIO;
		goto out;
	}
	memset(where, 0xff, cells * sizeof(*where));
	for (uint64_t j = 0; j < cells; j++) {
		double v = tail[j];
		if (!(v >= 1 && v <= (double)cells && v == floor(v)) ||
		    where[(uint64_t)v - 1] != UINT64_MAX) {
			snprintf(err, errlen, "%s: unexpected rrdtool file layout", path);
			rc = -EIO;
			goto out;
		}
		where[(uint64_t)v - 1] = j;
	}
	uint64_t cell = 0;
	for (uint32_t k = 0; k < r->nrra; k++) {
		int64_t rstep;
		int64_t end = rra_end(r, k, &rstep);
		const struct rrdb_rra *a = &r->rra[k];
		for (uint32_t row = 0; row < a->rows; row++) {
			uint32_t i = a->rows - 1 - row;
			for (uint32_t d = 0; d < r->nds; d++) {
				uint64_t lag = ds_lag(r, d, end, rstep);
				double v = NAN;
				if (lag <= i)
					v = rrdb_peek(r, d, k, (uint32_t)(i - lag));
				tail[where[cell++]] = v;
			}
		}
	}
	if (pwrite(fd, tail, cells * 8, off) != (ssize_t)(cells * 8)) {
		snprintf(err, errlen, "%s: write failed", path);
		rc = -EIO;
	}
out:
	free(tail);
	free(where);
	if (close(fd) && !rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -EIO;
	}
	return rc;
}

int exp_rrdfile_write(const struct rrdb *r, const char *path, char *err, size_t errlen)
{
	if (r->nds == 0 || r->nrra == 0) {
		snprintf(err, errlen, "an rrdtool file needs at least one DS and one RRA");
		return -EINVAL;
	}
	const struct lrd_api *lrd = lrd_get(err, errlen);
	if (!lrd)
		return -ENOSYS;
	exp_rrdfile_name *names = calloc(r->nds, sizeof(*names));
	if (!names)
		abort();
	exp_rrdfile_names(r, names);
	struct buf xml = BUF_INIT;
	dump_xml(&xml, r, names, 1);
	free(names);
	char dir[4096], xpath[4200];
	int rc = exp_rrdfile_tmpdir(dir, sizeof(dir));
	if (rc) {
		snprintf(err, errlen, "temporary directory: %s", strerror(-rc));
		buf_free(&xml);
		return rc;
	}
	snprintf(xpath, sizeof(xpath), "%s/dump.xml", dir);
	rc = write_file(xpath, &xml);
	buf_free(&xml);
	if (rc) {
		snprintf(err, errlen, "%s: %s", xpath, strerror(-rc));
		exp_rrdfile_rmtree(dir);
		return rc;
	}
	char *argv[] = {"restore", "-f", xpath, (char *)path, NULL};
	exp_rrdfile_lock();
	lrd->clear_error();
	int rr = lrd->restore(4, argv);
	if (rr != 0) {
		const char *e = lrd->get_error();
		snprintf(err, errlen, "rrd_restore: %s", e && *e ? e : "failed");
		rc = -EIO;
	}
	lrd->clear_error();
	exp_rrdfile_unlock();
	exp_rrdfile_rmtree(dir);
	if (!rc)
		rc = patch_values(r, path, err, errlen);
	return rc;
}
