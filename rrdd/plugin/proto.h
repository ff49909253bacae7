/*
 * Plugin page parsers: decode a V1 or V2 plugin page (the bytes of
 * /dev/shm/metrics/<uid>, wire-format.md §6) into a timestamp and a list of
 * datasources, with the per-plugin reader state that gives xcp-rrdd's
 * sequence semantics (No_update on an unchanged data CRC / MD5, metadata
 * parsed once per metadata CRC and cached).
 *
 * Pure: no I/O, no clock, no locks, no logging.  The caller maps or copies
 * the file and passes the bytes; every offset is checked against the length
 * given, so any byte string is safe to pass.  A reader and the page it
 * returns belong to one thread at a time.  Allocation failure aborts.
 */
#ifndef RRDD_PLUGIN_PROTO_H
#define RRDD_PLUGIN_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rrd/rrd.h"
#include "monitor/owner.h"
#include "rrdd/proto.h"

/* Results of plg_read() (negative, distinct from each other, not errnos). */
enum plg_status {
	PLG_OK = 0,
	PLG_E_HEADER = -201,    /* Invalid_header_string: no "DATASOURCES" */
	PLG_E_LENGTH = -202,    /* Invalid_length: bad V1 length or an offset past the end */
	PLG_E_CHECKSUM = -203,  /* Invalid_checksum: data/metadata CRC or MD5 mismatch */
	PLG_E_PAYLOAD = -204,   /* Invalid_payload: metadata/JSON rejected */
	PLG_E_NO_UPDATE = -205, /* No_update: same data CRC (V2) / MD5 (V1) as last read */
	PLG_E_COUNT = -206,     /* header count n differs from the metadata's entries */
};

enum plg_proto { PLG_PROTO_V1 = 1, PLG_PROTO_V2 = 2, PLG_PROTO_V3 = 3 };

/* One datasource of a page, with every default of wire-format.md §6.4 applied. */
struct plg_ds {
	const char *name;
	enum mon_owner_kind owner;
	const char *uuid;            /* VM or SR uuid, lower-cased; "" for the host */
	struct dsval value;          /* VAL_INT64 or VAL_FLOAT, as value_type says */
	enum val_type value_type;    /* VAL_INT64 or VAL_FLOAT */
	enum ds_type type;           /* default DS_ABSOLUTE */
	bool is_default;             /* "default", default false */
	double min, max;             /* default -INFINITY, INFINITY */
	const char *units;           /* default "" */
	const char *description;     /* default "" */
	enum ds_transform transform; /* default TR_IDENTITY; always identity in V1 */
	const char *om;              /* v3: the OpenMetrics identity (mon_dsdesc.om); else NULL */
};

/* A decoded page.  Owned by the reader that returned it: valid until the
 * next plg_read() on that reader or plg_reader_free(). */
struct plg_page {
	enum plg_proto proto;
	double timestamp;      /* seconds since the epoch */
	bool legacy_timestamp; /* V2 timestamp field held int64 seconds */
	/* Identifies the descriptors (everything but the values): equal shapes
	 * of one plugin's pages mean equal descriptors.  V2: the metadata CRC;
	 * v3: a CRC of the mapped families; V1: none (shape_valid false). */
	bool shape_valid;
	uint32_t shape;
	size_t n; /* number of datasources */
	const struct plg_ds *ds;
};

/* Parsed metadata: datasource descriptors, strings in one pool.  For V2 the
 * values are filled in per read; for V1 they come from the JSON. */
struct plg_meta {
	size_t n;
	struct plg_ds *ds;
	char *pool;
};

/* Create the state of one plugin's reader: last data CRC and metadata CRC 0,
 * no cached metadata, no last MD5; v3 pages mapped by v3map_builtin(). */
struct plg_reader *plg_reader_new(void);

struct v3map;
/* Map this reader's v3 pages by m (borrowed: must outlive the reader;
 * NULL: the built-in rules). */
void plg_reader_set_v3map(struct plg_reader *r, const struct v3map *m);

/* Most bytes protobuf-c may allocate while decoding one v3 payload of len
 * bytes: PLG_V3_EXPANSION times len plus PLG_V3_EXPANSION_BASE, never more
 * than PLG_V3_DECODE_MAX (a payload needing more is refused). */
#define PLG_V3_EXPANSION      48u
#define PLG_V3_EXPANSION_BASE (64u * 1024)
#define PLG_V3_DECODE_MAX     (256u * 1024 * 1024)
/* Most data sources one v3 page may map to (a page with more is refused). */
#define PLG_V3_MAX_METRICS 100000u

/* Free a reader and the page/metadata it owns; NULL is a no-op. */
void plg_reader_free(struct plg_reader *r);

/* Decode the page buf[0..len): v3 if it starts with "OPENMETRICS1", V1 if it
 * starts with "DATASOURCES\n" followed by a newline at offset 20, V2
 * otherwise.  Returns PLG_OK with *out set to
 * the page (owned by r), or a negative enum plg_status; the message of the
 * last failure is available from plg_reader_error(). */
int plg_read(struct plg_reader *r, const void *buf, size_t len, const struct plg_page **out);

/* Human-readable description of the last failure of plg_read() ("" after a
 * success), naming what is wrong. */
const char *plg_reader_error(const struct plg_reader *r);

/* Reference-style name of a status: "Invalid_header_string", "Invalid_length",
 * "Invalid_checksum", "Invalid_payload", "No_update", "Count_mismatch", "OK",
 * or "Unknown_error". */
const char *plg_status_name(int status);

/* Parse V2 metadata JSON (NULs already trimmed) into *m (values zero, typed).
 * Returns 0 or PLG_E_PAYLOAD with a message in err.  *m must be empty
 * (zeroed) on entry; it is left empty on failure. */
int plg_meta_parse_v2(const char *json, size_t len, struct plg_meta *m, char *err, size_t errlen);

/* Parse a V1 payload {"timestamp", "datasources"} into *m (values set) and
 * *timestamp.  Returns 0 or PLG_E_PAYLOAD with a message in err. */
int plg_meta_parse_v1(const char *json, size_t len, struct plg_meta *m, double *timestamp,
                      char *err, size_t errlen);

/* Release the contents of *m and zero it. */
void plg_meta_clear(struct plg_meta *m);

/* The owner as xcp-rrdd spells it: "host", "vm <uuid>" or "sr <uuid>",
 * written into out (truncated to outlen); returns out. */
const char *plg_owner_str(const struct plg_ds *ds, char *out, size_t outlen);

#endif
