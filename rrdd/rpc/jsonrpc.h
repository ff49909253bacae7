/*
 * JSON-RPC as xapi-idl speaks it (ocaml-rpc's jsonrpc.ml): version 1 requests
 * {"method","params":[...],"id"} and, when "jsonrpc":"2.0" is present,
 * version 2 (params an array, an object standing for one struct param, or
 * absent).  Responses mirror the request's version:
 *   v1: {"result":R,"error":null,"id":ID} / {"result":null,"error":E,"id":ID}
 *   v2: {"jsonrpc":"2.0","result":R,"id":ID} /
 *       {"jsonrpc":"2.0","error":{"code":C,"message":M,"data":E},"id":ID}
 * (ocaml-rpc's own v2 client requires the error to be an object with code
 * and message, as JSON-RPC 2.0 says.)  Doubles are written as Yojson writes
 * them ("%.16g", "%.17g" when needed to round-trip, ".0" appended to integral
 * values); non-finite doubles, which JSON cannot express, are written as the
 * strings "inf", "-inf" and "nan" (xapi-idl's float unmarshaller accepts
 * those).  Decoding uses util/json_parse.h and struct rpc_limits, refuses
 * duplicate top-level keys and strings containing NUL.  No knowledge of rrd
 * methods; pure, no I/O.
 */
#ifndef RRDD_RPC_JSONRPC_H
#define RRDD_RPC_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>

#include "rpc/value.h"
#include "util/buf.h"

enum rpc_json_version { RPC_JSON_V1 = 1, RPC_JSON_V2 = 2 };

/* A decoded JSON-RPC request. */
struct rpc_json_call {
	enum rpc_json_version version;
	char *method;            /* NULL until decoded */
	struct rpc_value params; /* RPC_ARRAY */
	struct rpc_value id;     /* RPC_INT or RPC_STRING, or RPC_NIL when absent/null */
};

/* Decode a request from text[0..len).  Always initialises *out (release it
 * with rpc_json_call_free, also after a failure: version and id are kept when
 * they could be read, so an error answer can echo them).  Returns 0, or
 * -EINVAL (not JSON), -E2BIG (a limit) or -EPROTO (JSON, but not a valid
 * request) with a message in err. */
int rpc_json_parse_call(const char *text, size_t len, const struct rpc_limits *lim,
                        struct rpc_json_call *out, char *err, size_t errlen);

/* Release what a call owns. */
void rpc_json_call_free(struct rpc_json_call *c);

/* Decode any JSON document into a value (numbers without fraction or exponent
 * become RPC_INT, others RPC_DOUBLE; objects keep order and duplicates).
 * Returns 0 or a negative errno with a message in err. */
int rpc_json_parse_value(const char *text, size_t len, const struct rpc_limits *lim,
                         struct rpc_value *out, char *err, size_t errlen);

/* Append the JSON text of v (compact, no white space). */
void rpc_json_write_value(struct buf *b, const struct rpc_value *v);

/* Append a request: params is an RPC_ARRAY; id may be NULL (then omitted). */
void rpc_json_write_call(struct buf *b, enum rpc_json_version ver, const char *method,
                         const struct rpc_value *params, const struct rpc_value *id);

/* Append a success response echoing id (NULL = null). */
void rpc_json_write_success(struct buf *b, enum rpc_json_version ver, const struct rpc_value *id,
                            const struct rpc_value *result);

/* Append an error response echoing id (NULL = null): v1 carries err as the
 * "error" value; v2 wraps it as {"code":code,"message":message,"data":err}. */
void rpc_json_write_failure(struct buf *b, enum rpc_json_version ver, const struct rpc_value *id,
                            int code, const char *message, const struct rpc_value *err);

/* Append s as a JSON string literal (quotes included); invalid UTF-8 bytes
 * become U+FFFD. */
void rpc_json_write_string(struct buf *b, const char *s, size_t len);

#endif
