/*
 * Messages of xcp-metrics' socket protocol ("protocol v4", xcp-metrics
 * 2025: xcp-metrics-common/src/protocol.rs; docs/wire-format.md §11.3):
 * one CBOR item per length-prefixed frame, a serde "externally tagged"
 * enum as ciborium writes it:
 *
 *   {"CreateFamily": {"name", "metric_type": "Gauge"|"Counter"|..., "unit", "help"}}
 *   {"RemoveFamily": {"name"}}
 *   {"UpdateMetric": {"family_name", "metric": {"labels": [{"name", "value"}...],
 *                     "value": {"Gauge": N} | {"Counter": {"total": N, ...}} |
 *                              {"Unknown": N} | {"Info": [...]} | ...}, "uuid"}}
 *   {"RemoveMetric": {"family_name", "uuid"}}
 *   {"FetchMetrics": "OpenMetrics1" | "OpenMetrics1Binary"}
 *
 * with N = {"Double": f} | {"Int64": i} | "Undefined", and a uuid as 16
 * bytes, its 36-character text, or an array of 16 integers.  Map keys are
 * looked up by name (any order; unknown keys ignored).
 *
 * Decoding uses libcbor's streaming decoder into a bounded tree (at most
 * V4_MAX_NODES items, V4_MAX_DEPTH levels, definite lengths only); strings
 * point into the caller's message, which must outlive the result.  Pure:
 * no I/O, no globals, no allocation beyond the tree (freed by v4_msg_free).
 */
#ifndef RRDD_PLUGIN_V4MSG_H
#define RRDD_PLUGIN_V4MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin/v3map.h"
#include "rrd/rrd.h"

#define V4_MAX_PAYLOAD (512u * 1024) /* xcp-metrics' MAX_PAYLOAD_SIZE */
#define V4_MAX_NODES   65536u
#define V4_MAX_DEPTH   16u
#define V4_MAX_STRING  1024u

enum v4_kind {
	V4_CREATE_FAMILY,
	V4_REMOVE_FAMILY,
	V4_UPDATE_METRIC,
	V4_REMOVE_METRIC,
	V4_FETCH_METRICS,
};

/* A string of the message: not NUL-terminated, never containing NUL. */
struct v4_str {
	const char *p;
	size_t len;
};

/* What a metric's value is, for the mapping: a gauge or counter number (or
 * Unknown's), or anything else (histograms, state sets, info: not data
 * sources). */
enum v4_vkind { V4_V_GAUGE, V4_V_COUNTER, V4_V_UNKNOWN, V4_V_OTHER };

struct v4_msg {
	enum v4_kind kind;
	struct v4_str name; /* family name (all but FetchMetrics) */
	int metric_type;    /* CreateFamily: OpenMetrics type, 0 Unknown .. 7 Summary */
	struct v4_str unit, help;
	uint8_t uuid[16]; /* UpdateMetric, RemoveMetric */
	size_t nlabels;
	struct v4_str lname[V3MAP_MAX_LABELS], lvalue[V3MAP_MAX_LABELS];
	enum v4_vkind vkind;
	struct dsval value; /* VAL_INT64, or VAL_FLOAT (NaN for "Undefined") */
	bool binary;        /* FetchMetrics: protobuf rather than text */
};

/* Decode the CBOR message buf[0..len) into *m.  Returns 0, or -1 with a
 * one-line reason in err. */
int v4_msg_decode(const unsigned char *buf, size_t len, struct v4_msg *m, char *err, size_t errlen);

#endif
