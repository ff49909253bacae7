/*
 * libFuzzer target for protocol v3 pages: the input is the payload (what
 * protobuf-c decodes), wrapped in a valid header with its CRC so that
 * every input reaches the decoder and the mapping, read through a map with
 * custom rules.  Checks, beyond ASan/UBSan: a success is internally
 * consistent (names 1-255 bytes, owners with uuids, GAUGE or DERIVE, value
 * type as declared); the same page again is No_update; the same payload
 * under a new timestamp gives the same data sources from the cached
 * descriptors; a failure leaves a message.  Build with -DRRDD_FUZZ=ON and
 * CC=clang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "plugin/proto.h"
#include "plugin/v3map.h"
#include "rrdd/proto.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static struct v3map_rule rules[] = {
    {"a", "{x}{y}{x}-{", 0.0, 1.0, true},
    {"cpu", "cpu{id}", 0.0, 1.0, true},
    {"m", "fixed", -1.0, 1.0, false},
};
static const struct v3map map = {3, rules};

static uint8_t *wrap(const uint8_t *data, size_t size, uint64_t ts)
{
	uint8_t *p = malloc(RRDD_V3_OFF_PAYLOAD + size + 1);
	memcpy(p, RRDD_V3_MAGIC, RRDD_V3_MAGIC_LEN);
	for (int i = 0; i < 8; i++)
		p[RRDD_V3_OFF_TIMESTAMP + i] = (uint8_t)(ts >> (56 - 8 * i));
	uint32_t len = (uint32_t)size;
	for (int i = 0; i < 4; i++)
		p[RRDD_V3_OFF_LENGTH + i] = (uint8_t)(len >> (24 - 8 * i));
	if (size)
		memcpy(p + RRDD_V3_OFF_PAYLOAD, data, size);
	uint32_t crc = (uint32_t)crc32_z(0, p + RRDD_V3_OFF_TIMESTAMP,
	                                 RRDD_V3_OFF_PAYLOAD - RRDD_V3_OFF_TIMESTAMP + size);
	for (int i = 0; i < 4; i++)
		p[RRDD_V3_OFF_CRC + i] = (uint8_t)(crc >> (24 - 8 * i));
	return p;
}

static void check_page(const struct plg_page *pg)
{
	CHECK(pg->proto == PLG_PROTO_V3);
	CHECK(pg->shape_valid);
	CHECK(pg->n == 0 || pg->ds != NULL);
	CHECK(pg->n <= PLG_V3_MAX_METRICS);
	for (size_t i = 0; i < pg->n; i++) {
		const struct plg_ds *d = &pg->ds[i];
		size_t l = strlen(d->name);
		CHECK(l > 0 && l <= V3MAP_NAME_MAX);
		CHECK(d->owner == MON_HOST ? d->uuid[0] == '\0' : d->uuid[0] != '\0');
		(void)strlen(d->units);
		(void)strlen(d->description);
		CHECK(d->value.type == d->value_type);
		CHECK(d->type == DS_GAUGE || d->type == DS_DERIVE);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plg_reader *r = plg_reader_new();
	plg_reader_set_v3map(r, &map);
	size_t len = RRDD_V3_OFF_PAYLOAD + size;
	uint8_t *p1 = wrap(data, size, 1700000000);
	const struct plg_page *pg;
	int rc = plg_read(r, p1, len, &pg);
	if (rc != PLG_OK) {
		CHECK(pg == NULL);
		CHECK(rc == PLG_E_PAYLOAD);
		CHECK(plg_reader_error(r)[0] != '\0');
	} else {
		check_page(pg);
		size_t n = pg->n;
		char *first = n ? strdup(pg->ds[0].name) : NULL;
		CHECK(plg_read(r, p1, len, &pg) == PLG_E_NO_UPDATE);
		uint8_t *p2 = wrap(data, size, 1700000005);
		CHECK(plg_read(r, p2, len, &pg) == PLG_OK);
		check_page(pg);
		CHECK(pg->n == n);
		CHECK(!n || strcmp(first, pg->ds[0].name) == 0);
		free(first);
		free(p2);
	}
	/* a truncated copy: the header's length runs past the end */
	if (size)
		CHECK(plg_read(r, p1, len - 1, &pg) == PLG_E_LENGTH);
	free(p1);
	plg_reader_free(r);
	return 0;
}
