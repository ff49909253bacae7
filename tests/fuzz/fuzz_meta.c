/*
 * libFuzzer target for the JSON parser and the plugin metadata parsers: the
 * input is metadata text.  Checks, beyond ASan/UBSan: the parsed tape is
 * well formed (subtree ends nested and in range, strings NUL-terminated in
 * the pool) and parsed datasources are consistent.
 * Build with -DRRDD_FUZZ=ON and CC=clang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/proto.h"
#include "util/json_parse.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

/* Walk node i; returns the index after its subtree. */
static uint32_t walk(const struct jp_doc *d, uint32_t i)
{
	CHECK(i < d->nnodes);
	const struct jp_node *n = &d->nodes[i];
	CHECK(n->end > i && n->end <= d->nnodes);
	if (n->type == JP_STRING || n->type == JP_NUMBER) {
		CHECK((size_t)n->str + n->len < d->pool_len);
		CHECK(d->pool[n->str + n->len] == '\0');
	}
	uint32_t j = i + 1;
	if (n->type == JP_ARRAY) {
		for (uint32_t k = 0; k < n->len; k++)
			j = walk(d, j);
	} else if (n->type == JP_OBJECT) {
		for (uint32_t k = 0; k < n->len; k++) {
			CHECK(d->nodes[j].type == JP_STRING);
			j = walk(d, j);
			j = walk(d, j);
		}
	}
	CHECK(j == n->end);
	return j;
}

static void check_meta(const struct plg_meta *m)
{
	for (size_t i = 0; i < m->n; i++) {
		CHECK(strlen(m->ds[i].name) > 0);
		(void)strlen(m->ds[i].uuid);
		(void)strlen(m->ds[i].units);
		(void)strlen(m->ds[i].description);
		CHECK(m->ds[i].value.type == m->ds[i].value_type);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char err[256];
	struct jp_doc *d = NULL;
	if (jp_parse(text, size, NULL, &d, err, sizeof(err)) == 0) {
		CHECK(walk(d, 0) == d->nnodes);
		jp_free(d);
	} else {
		CHECK(d == NULL && err[0] != '\0');
	}

	struct plg_meta m;
	if (plg_meta_parse_v2(text, size, &m, err, sizeof(err)) == 0) {
		check_meta(&m);
		plg_meta_clear(&m);
	} else {
		CHECK(m.n == 0 && m.ds == NULL && err[0] != '\0');
	}
	double ts;
	if (plg_meta_parse_v1(text, size, &m, &ts, err, sizeof(err)) == 0) {
		check_meta(&m);
		plg_meta_clear(&m);
	}
	return 0;
}
