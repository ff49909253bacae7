/*
 * Internals shared by the plugin page parsers (reader.c, proto_v1.c,
 * proto_v2.c): the per-plugin reader state.  Not for other modules: use
 * plugin/proto.h.
 */
#ifndef RRDD_PLUGIN_PROTO_IMPL_H
#define RRDD_PLUGIN_PROTO_IMPL_H

#include "plugin/proto.h"
#include "util/arena.h"

#define PLG_ERRLEN 256

struct plg_reader {
	/* V2: CRCs of the last verified page (0 = none yet, as xcp-rrdd). */
	uint32_t last_data_crc;
	/* V2 metadata cache: parsed metadata of CRC meta_crc. */
	bool have_meta;
	uint32_t meta_crc;
	struct plg_meta meta;
	/* V2 metadata that failed to parse: same CRC => same error, no
	 * re-parse. */
	bool have_bad_meta;
	uint32_t bad_meta_crc;
	char bad_meta_msg[PLG_ERRLEN];
	/* V1: MD5 of the last verified payload. */
	bool have_md5;
	unsigned char last_md5[16];
	struct plg_meta v1meta; /* the current V1 page's datasources */
	/* v3: CRC of the last verified page, the decoder's arena, the mapping,
	 * the mapped descriptors of shape v3shape, and the values of a read. */
	uint32_t v3_last_crc;
	struct arena v3arena;
	const struct v3map *v3map;
	bool have_v3meta;
	uint32_t v3shape;
	struct plg_meta v3meta;
	struct dsval *v3vals;
	size_t v3vals_cap;
	struct plg_page page;
	char err[PLG_ERRLEN];
};

/* Record a failure message in r->err and return status. */
int plg_fail(struct plg_reader *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Decode a V1 page (the caller has seen the "DATASOURCES\n" prefix). */
int plg_v1_read(struct plg_reader *r, const unsigned char *buf, size_t len);

/* Decode a V2 page. */
int plg_v2_read(struct plg_reader *r, const unsigned char *buf, size_t len);

/* Decode a v3 page (the caller has seen "OPENMETRICS1"). */
int plg_v3_read(struct plg_reader *r, const unsigned char *buf, size_t len);

/* Release the v3 state of a reader. */
void plg_v3_free(struct plg_reader *r);

#endif
