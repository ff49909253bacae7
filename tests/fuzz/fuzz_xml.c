/*
 * libFuzzer target for store/xml_parse (full RRD XML, the PUT /rrd body and
 * archive format).  The first input byte picks the chunk size the rest is
 * fed in, so token boundaries fall everywhere.  Properties checked besides
 * "no crash, no leak, no sanitizer report": an accepted document has the
 * layout the limits allow, and what we accept our writer can write and we
 * load again with the same layout.  Seed corpus: tests/fuzz/corpus/xml/.
 * Must not do any I/O beyond what libFuzzer does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export/rrd_xml.h"
#include "rrd/rrd.h"
#include "store/xml_parse.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct xmlp_limits lim = {
    .max_ds = 64,
    .max_rra = 16,
    .max_rows = 4096,
    .max_floats = 1u << 16,
    .max_text = 256,
    .max_token = 4096,
    .max_bytes = 1u << 22,
};

static struct rrdb *load(const uint8_t *data, size_t size, size_t chunk)
{
	struct xmlp *p = xmlp_new(&lim);
	struct rrdb *r = NULL;
	int rc = 0;
	for (size_t off = 0; off < size && rc == 0; off += chunk)
		rc = xmlp_feed(p, data + off, size - off < chunk ? size - off : chunk);
	if (rc == 0)
		rc = xmlp_finish(p, &r);
	if ((rc == 0) != (r != NULL) || (rc != 0 && xmlp_error(p)[0] == 0))
		abort();
	xmlp_free(p);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] + 1;
	if (data[0] == 255)
		chunk = size; /* all at once */
	struct rrdb *r = load(data + 1, size - 1, chunk);
	if (!r)
		return 0;
	if (r->nds > lim.max_ds || r->nrra > lim.max_rra || r->step == 0)
		abort();
	for (uint32_t k = 0; k < r->nrra; k++)
		if (r->rra[k].rows == 0 || r->rra[k].rows > lim.max_rows || r->rra[k].pdp_cnt == 0)
			abort();
	for (uint32_t i = 0; i < r->nds; i++) {
		if (!(r->ds[i].min >= 0) || r->ds[i].last.type != VAL_UNKNOWN)
			abort();
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(r->ds[i].name, r->ds[j].name) == 0)
				abort();
	}

	struct buf b = BUF_INIT;
	exp_rrd_xml(&b, r, 1);
	struct rrdb *r2 = load((const uint8_t *)b.p, b.len, b.len ? b.len : 1);
	if (!r2 || r2->nds != r->nds || r2->nrra != r->nrra || r2->step != r->step)
		abort();
	for (uint32_t k = 0; k < r->nrra; k++)
		if (r2->rra[k].rows != r->rra[k].rows || r2->rra[k].cf != r->rra[k].cf ||
		    r2->rra[k].pdp_cnt != r->rra[k].pdp_cnt)
			abort();
	for (uint32_t i = 0; i < r->nds; i++)
		if (strcmp(r2->ds[i].name, r->ds[i].name) != 0 || r2->ds[i].type != r->ds[i].type)
			abort();
	buf_free(&b);
	rrdb_free(r2);
	rrdb_free(r);
	return 0;
}
