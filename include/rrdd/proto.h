/*
 * Byte layout of the xcp-rrdd plugin pages (/dev/shm/metrics/<uid>), for
 * plugin authors and for the daemon's reader.  Constants only: no code.
 *
 * V2 (all integers big-endian):
 *   0   11  "DATASOURCES" (no newline)
 *   11  4   data CRC32 (zlib) of bytes [23, 31 + 8n): timestamp and values
 *   15  4   metadata CRC32 of the M metadata bytes
 *   19  4   n, the datasource count
 *   23  8   timestamp, IEEE-754 double bits (int64 seconds before Oct 2024)
 *   31  8n  values: int64 or double bits, per metadata value_type, in
 *           metadata key order
 *   31+8n 4 M, metadata length
 *   35+8n M metadata JSON {"datasources": {name: {...}}}
 *
 * V1: "DATASOURCES\n", 8 lowercase hex digits (JSON length L), "\n", 32 hex
 * digits (MD5 of the JSON), "\n", then L bytes of JSON
 * {"timestamp": t, "datasources": {name: {..., "value": v}}}.
 */
#ifndef RRDD_PUBLIC_PROTO_H
#define RRDD_PUBLIC_PROTO_H

#define RRDD_METRICS_DIR "/dev/shm/metrics"
#define RRDD_PAGE_SIZE   4096

#define RRDD_PROTO_MAGIC     "DATASOURCES"
#define RRDD_PROTO_MAGIC_LEN 11

#define RRDD_V2_OFF_DATA_CRC  11
#define RRDD_V2_OFF_META_CRC  15
#define RRDD_V2_OFF_COUNT     19
#define RRDD_V2_OFF_TIMESTAMP 23
#define RRDD_V2_OFF_VALUES    31
#define RRDD_V2_VALUE_SIZE    8
/* Offsets that depend on the datasource count n (use 64-bit arithmetic). */
#define RRDD_V2_OFF_META_LEN(n) (31 + 8 * (n))
#define RRDD_V2_OFF_META(n)     (35 + 8 * (n))
#define RRDD_V2_TOTAL(n, m)     (35 + 8 * (n) + (m))

#define RRDD_V1_HEADER       "DATASOURCES\n"
#define RRDD_V1_HEADER_LEN   12
#define RRDD_V1_OFF_LENGTH   12 /* 8 hex digits, then '\n' */
#define RRDD_V1_LENGTH_LEN   8
#define RRDD_V1_OFF_CHECKSUM 21 /* 32 hex digits, then '\n' */
#define RRDD_V1_CHECKSUM_LEN 32
#define RRDD_V1_OFF_PAYLOAD  54

/* Protocol v3 (xcp-metrics): "OPENMETRICS1", CRC32 (IEEE) of bytes 16..28
 * and the payload, u64 timestamp in seconds, u32 payload length, then an
 * OpenMetrics protobuf MetricSet; every integer big-endian. */
#define RRDD_V3_MAGIC         "OPENMETRICS1"
#define RRDD_V3_MAGIC_LEN     12
#define RRDD_V3_OFF_CRC       12
#define RRDD_V3_OFF_TIMESTAMP 16
#define RRDD_V3_OFF_LENGTH    24
#define RRDD_V3_OFF_PAYLOAD   28

#endif
