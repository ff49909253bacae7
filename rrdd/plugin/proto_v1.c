/*
 * V1 plugin pages (wire-format.md §6.2): "DATASOURCES\n", an 8-hex-digit JSON length,
 * an MD5 of the JSON in hex, then the JSON {"timestamp", "datasources"} with
 * the values inside.  Follows xcp-rrdd's Rrd_protocol_v1 reader: header,
 * length, MD5, No_update on an unchanged MD5, then parse (every time: the
 * values are part of the JSON).
 *
 * Pure: no I/O, no clock, no locks, no logging.
 */
#include "plugin/proto_impl.h"

#include <string.h>

#include "util/md5.h"

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int plg_v1_read(struct plg_reader *r, const unsigned char *buf, size_t len)
{
	if (len < RRDD_V1_HEADER_LEN || memcmp(buf, RRDD_V1_HEADER, RRDD_V1_HEADER_LEN) != 0)
		return plg_fail(r, PLG_E_HEADER, "page does not start with \"DATASOURCES\\n\"");
	if (len < RRDD_V1_OFF_PAYLOAD)
		return plg_fail(r, PLG_E_LENGTH,
		                "V1 page of %zu bytes is shorter than its %d-byte header", len,
		                RRDD_V1_OFF_PAYLOAD);

	uint64_t plen = 0;
	for (int i = 0; i < RRDD_V1_LENGTH_LEN; i++) {
		int h = hexval(buf[RRDD_V1_OFF_LENGTH + i]);
		if (h < 0)
			return plg_fail(r, PLG_E_LENGTH,
			                "V1 length field \"%.8s\" is not 8 hex digits",
			                (const char *)buf + RRDD_V1_OFF_LENGTH);
		plen = plen * 16 + (uint64_t)h;
	}
	if (RRDD_V1_OFF_PAYLOAD + plen > len)
		return plg_fail(r, PLG_E_LENGTH,
		                "V1 payload of %llu bytes runs past the %zu-byte page",
		                (unsigned long long)plen, len);

	const unsigned char *payload = buf + RRDD_V1_OFF_PAYLOAD;
	unsigned char md5[16];
	char hex[33];
	static const char digits[] = "0123456789abcdef";
	md5_sum(payload, (size_t)plen, md5);
	for (int i = 0; i < 16; i++) {
		hex[2 * i] = digits[md5[i] >> 4];
		hex[2 * i + 1] = digits[md5[i] & 15];
	}
	hex[32] = '\0';
	/* xcp-rrdd compares the lower-case hex text. */
	if (memcmp(hex, buf + RRDD_V1_OFF_CHECKSUM, RRDD_V1_CHECKSUM_LEN) != 0)
		return plg_fail(r, PLG_E_CHECKSUM,
		                "V1 MD5 mismatch: header says %.32s, payload has %s",
		                (const char *)buf + RRDD_V1_OFF_CHECKSUM, hex);
	if (r->have_md5 && memcmp(r->last_md5, md5, sizeof(md5)) == 0)
		return plg_fail(r, PLG_E_NO_UPDATE, "V1 MD5 %s unchanged", hex);
	memcpy(r->last_md5, md5, sizeof(md5));
	r->have_md5 = true;

	struct plg_meta m;
	double ts = 0;
	char msg[PLG_ERRLEN - 32];
	if (plg_meta_parse_v1((const char *)payload, (size_t)plen, &m, &ts, msg, sizeof(msg)) < 0)
		return plg_fail(r, PLG_E_PAYLOAD, "invalid V1 payload: %s", msg);
	plg_meta_clear(&r->v1meta);
	r->v1meta = m;
	struct plg_page *pg = &r->page;
	pg->proto = PLG_PROTO_V1;
	pg->timestamp = ts;
	pg->legacy_timestamp = false;
	pg->shape_valid = false;
	pg->n = m.n;
	pg->ds = r->v1meta.ds;
	return PLG_OK;
}
