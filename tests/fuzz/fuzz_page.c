/*
 * libFuzzer target for the plugin page parsers: any byte string is fed to a
 * fresh reader (auto-detecting V1/V2).  Checks, beyond ASan/UBSan: a
 * successful page (V1, V2 or v3) is internally consistent; re-reading the same bytes is
 * never a second success; a V2 page with a new timestamp and recomputed data
 * CRC decodes through the cached metadata with the same datasources.
 * Build with -DRRDD_FUZZ=ON and CC=clang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "plugin/proto.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static void check_page(const struct plg_page *pg)
{
	CHECK(pg->proto == PLG_PROTO_V1 || pg->proto == PLG_PROTO_V2 || pg->proto == PLG_PROTO_V3);
	CHECK(pg->n == 0 || pg->ds != NULL);
	for (size_t i = 0; i < pg->n; i++) {
		const struct plg_ds *d = &pg->ds[i];
		CHECK(strlen(d->name) > 0);
		CHECK(d->owner == MON_HOST ? d->uuid[0] == '\0' : d->uuid[0] != '\0');
		(void)strlen(d->units);
		(void)strlen(d->description);
		CHECK(d->value.type == d->value_type);
		CHECK(d->value_type == VAL_INT64 || d->value_type == VAL_FLOAT);
		CHECK(d->type == DS_GAUGE || d->type == DS_ABSOLUTE || d->type == DS_DERIVE);
		CHECK(d->transform == TR_IDENTITY || d->transform == TR_INVERSE);
	}
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	int rc = plg_read(r, data, size, &pg);
	if (rc != PLG_OK) {
		CHECK(pg == NULL);
		CHECK(rc <= PLG_E_HEADER && rc >= PLG_E_COUNT);
		CHECK(plg_reader_error(r)[0] != '\0');
		plg_reader_free(r);
		return 0;
	}
	check_page(pg);
	enum plg_proto proto = pg->proto;
	size_t n = pg->n;

	/* Same bytes again: No_update. */
	rc = plg_read(r, data, size, &pg);
	CHECK(rc == PLG_E_NO_UPDATE);

	if (proto == PLG_PROTO_V2) {
		/* New timestamp, recomputed data CRC: the cached metadata. */
		uint8_t *copy = malloc(size);
		memcpy(copy, data, size);
		uint64_t vend = 31 + 8 * (uint64_t)be32(copy + 19);
		CHECK(vend <= size);
		copy[30] ^= 1;
		uint32_t crc = (uint32_t)crc32_z(0, copy + 23, (size_t)vend - 23);
		copy[11] = (uint8_t)(crc >> 24);
		copy[12] = (uint8_t)(crc >> 16);
		copy[13] = (uint8_t)(crc >> 8);
		copy[14] = (uint8_t)crc;
		rc = plg_read(r, copy, size, &pg);
		/* '\n' at 11 and 20 turns the page into a V1 candidate. */
		if (!(copy[11] == '\n' && copy[20] == '\n')) {
			CHECK(rc == PLG_OK);
			CHECK(pg->n == n);
			check_page(pg);
		}
		free(copy);
	}
	plg_reader_free(r);
	return 0;
}
