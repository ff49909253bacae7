/*
 * V2 plugin pages (wire-format.md §6.3, 6.5): binary header, CRC32-protected timestamp
 * and values, CRC32-protected JSON metadata.  Follows xcp-rrdd's reader
 * (Rrd_protocol_v2.make_payload_reader) with the corrections of wire-format.md §6.7:
 * legacy int64-seconds timestamps are decoded as seconds, the header count
 * must equal the number of metadata entries, every offset is bounds-checked,
 * and metadata is cached only after it parsed (a metadata CRC that failed to
 * parse is remembered so that it is not re-parsed every cycle).
 *
 * Pure: no I/O, no clock, no locks, no logging.
 */
#include "plugin/proto_impl.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
	return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), p, n);
}

static double bits_to_double(uint64_t bits)
{
	double d;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* Verify, trim and parse the metadata of a page whose data CRC is good, and
 * make it the cached metadata. */
static int load_meta(struct plg_reader *r, const unsigned char *buf, size_t len, uint64_t n,
                     uint32_t meta_crc)
{
	uint64_t len_off = RRDD_V2_OFF_META_LEN(n);
	if (len_off + 4 > len)
		return plg_fail(
		    r, PLG_E_LENGTH,
		    "page of %zu bytes too short for the metadata length at offset %llu", len,
		    (unsigned long long)len_off);
	uint64_t m = be32(buf + len_off);
	uint64_t meta_off = RRDD_V2_OFF_META(n);
	if (meta_off + m > len)
		return plg_fail(r, PLG_E_LENGTH,
		                "metadata of %llu bytes at offset %llu runs past the %zu-byte page",
		                (unsigned long long)m, (unsigned long long)meta_off, len);
	const unsigned char *meta = buf + meta_off;
	uint32_t crc = crc32_of(meta, (size_t)m);
	if (crc != meta_crc)
		return plg_fail(r, PLG_E_CHECKSUM,
		                "metadata CRC32 mismatch: header says 0x%08x, metadata has 0x%08x",
		                meta_crc, crc);

	/* Trim NULs at both ends (rrd-client-lib counts its terminator). */
	const unsigned char *s = meta, *e = meta + m;
	while (s < e && *s == '\0')
		s++;
	while (e > s && e[-1] == '\0')
		e--;

	struct plg_meta parsed;
	char msg[PLG_ERRLEN - 32];
	int rc = plg_meta_parse_v2((const char *)s, (size_t)(e - s), &parsed, msg, sizeof(msg));
	if (rc < 0) {
		r->have_bad_meta = true;
		r->bad_meta_crc = meta_crc;
		snprintf(r->bad_meta_msg, sizeof(r->bad_meta_msg), "invalid metadata: %s", msg);
		return plg_fail(r, PLG_E_PAYLOAD, "%s", r->bad_meta_msg);
	}
	plg_meta_clear(&r->meta);
	r->meta = parsed;
	r->meta_crc = meta_crc;
	r->have_meta = true;
	r->have_bad_meta = false;
	return PLG_OK;
}

int plg_v2_read(struct plg_reader *r, const unsigned char *buf, size_t len)
{
	if (len < RRDD_PROTO_MAGIC_LEN || memcmp(buf, RRDD_PROTO_MAGIC, RRDD_PROTO_MAGIC_LEN) != 0)
		return plg_fail(r, PLG_E_HEADER, "page does not start with \"DATASOURCES\"");
	if (len < RRDD_V2_OFF_VALUES)
		return plg_fail(r, PLG_E_LENGTH,
		                "page of %zu bytes is shorter than the %d-byte header", len,
		                RRDD_V2_OFF_VALUES);

	uint32_t data_crc = be32(buf + RRDD_V2_OFF_DATA_CRC);
	uint32_t meta_crc = be32(buf + RRDD_V2_OFF_META_CRC);
	uint64_t n = be32(buf + RRDD_V2_OFF_COUNT);

	if (data_crc == r->last_data_crc)
		return plg_fail(r, PLG_E_NO_UPDATE, "data CRC32 0x%08x unchanged", data_crc);

	uint64_t vals_end = RRDD_V2_OFF_VALUES + RRDD_V2_VALUE_SIZE * n;
	if (vals_end > len)
		return plg_fail(r, PLG_E_LENGTH, "%llu values need %llu bytes, page has %zu",
		                (unsigned long long)n, (unsigned long long)vals_end, len);
	uint32_t crc =
	    crc32_of(buf + RRDD_V2_OFF_TIMESTAMP, (size_t)(vals_end - RRDD_V2_OFF_TIMESTAMP));
	if (crc != data_crc)
		return plg_fail(r, PLG_E_CHECKSUM,
		                "data CRC32 mismatch: header says 0x%08x, data has 0x%08x",
		                data_crc, crc);
	/* As xcp-rrdd: a verified data CRC is "seen", even if the metadata
	 * below is then rejected. */
	r->last_data_crc = data_crc;

	int rc;
	if (r->have_meta && r->meta_crc == meta_crc) {
		/* unchanged metadata: no re-validation, no parse */
	} else if (r->have_bad_meta && r->bad_meta_crc == meta_crc) {
		return plg_fail(r, PLG_E_PAYLOAD, "%s", r->bad_meta_msg);
	} else if ((rc = load_meta(r, buf, len, n, meta_crc)) < 0) {
		return rc;
	}

	if (r->meta.n != n)
		return plg_fail(
		    r, PLG_E_COUNT,
		    "datasource count mismatch (header n=%llu, metadata has %zu entries)",
		    (unsigned long long)n, r->meta.n);

	uint64_t tbits = be64(buf + RRDD_V2_OFF_TIMESTAMP);
	struct plg_page *pg = &r->page;
	pg->proto = PLG_PROTO_V2;
	pg->shape_valid = true;
	pg->shape = meta_crc;
	/* Legacy writers stored int64 seconds: as a double that is a subnormal
	 * (sign and exponent bits all zero).  No real double timestamp is. */
	pg->legacy_timestamp = tbits != 0 && (tbits >> 52) == 0;
	pg->timestamp = pg->legacy_timestamp ? (double)(int64_t)tbits : bits_to_double(tbits);

	const unsigned char *v = buf + RRDD_V2_OFF_VALUES;
	for (size_t i = 0; i < r->meta.n; i++, v += RRDD_V2_VALUE_SIZE) {
		struct plg_ds *ds = &r->meta.ds[i];
		uint64_t bits = be64(v);
		if (ds->value_type == VAL_INT64)
			ds->value = DSVAL_INT((int64_t)bits);
		else
			ds->value = DSVAL_FLT(bits_to_double(bits));
	}
	pg->n = r->meta.n;
	pg->ds = r->meta.ds;
	return PLG_OK;
}
