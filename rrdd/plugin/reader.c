/*
 * Per-plugin reader state and protocol auto-detection (wire-format.md §6.7): every read
 * decides V1, V2 or v3 from the bytes, whatever protocol the plugin
 * registered.
 * Pure: no I/O, no clock, no locks, no logging.
 */
#include "plugin/proto_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct plg_reader *plg_reader_new(void)
{
	return xcalloc(1, sizeof(struct plg_reader));
}

void plg_reader_free(struct plg_reader *r)
{
	if (!r)
		return;
	plg_meta_clear(&r->meta);
	plg_meta_clear(&r->v1meta);
	plg_v3_free(r);
	free(r);
}

void plg_reader_set_v3map(struct plg_reader *r, const struct v3map *m)
{
	r->v3map = m;
	r->have_v3meta = false;
}

int plg_fail(struct plg_reader *r, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return status;
}

int plg_read(struct plg_reader *r, const void *buf, size_t len, const struct plg_page **out)
{
	const unsigned char *b = buf;
	int rc;
	*out = NULL;
	r->err[0] = '\0';
	/* V1 starts "DATASOURCES\n" + 8 hex digits + "\n".  A V2 page has the
	 * first data-CRC byte at offset 11, which is '\n' for 1 page in 256;
	 * offset 20 is then the second byte of the V2 count, '\n' only for
	 * counts of 655360 and more. */
	if (len >= RRDD_V3_MAGIC_LEN && memcmp(b, RRDD_V3_MAGIC, RRDD_V3_MAGIC_LEN) == 0)
		rc = plg_v3_read(r, b, len);
	else if (len >= RRDD_V1_HEADER_LEN && memcmp(b, RRDD_V1_HEADER, RRDD_V1_HEADER_LEN) == 0 &&
	         (len <= 20 || b[20] == '\n'))
		rc = plg_v1_read(r, b, len);
	else
		rc = plg_v2_read(r, b, len);
	if (rc == PLG_OK)
		*out = &r->page;
	return rc;
}

const char *plg_reader_error(const struct plg_reader *r)
{
	return r->err;
}

const char *plg_status_name(int status)
{
	switch (status) {
	case PLG_OK:
		return "OK";
	case PLG_E_HEADER:
		return "Invalid_header_string";
	case PLG_E_LENGTH:
		return "Invalid_length";
	case PLG_E_CHECKSUM:
		return "Invalid_checksum";
	case PLG_E_PAYLOAD:
		return "Invalid_payload";
	case PLG_E_NO_UPDATE:
		return "No_update";
	case PLG_E_COUNT:
		return "Count_mismatch";
	default:
		return "Unknown_error";
	}
}
