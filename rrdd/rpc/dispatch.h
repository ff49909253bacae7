/*
 * One RPC request body in, one response body out: decode (XML-RPC or
 * JSON-RPC), validate, call the backend, encode.  This is what the HTTP layer
 * calls for a POST; it does no I/O and keeps no state, so it is safe to call
 * from several threads at once if the backend is.
 *
 * Every input produces a well-formed response body:
 *  - RPC_ANSWERED: the method ran (or its params were rejected, which
 *    xcp-rrdd also answers in-band): XML-RPC {Status, Value} /
 *    {Status: "Failure", ErrorDescription: [tag, msg]}, JSON-RPC result/error.
 *  - RPC_BAD_REQUEST: the body is not a well-formed call within the limits.
 *  - RPC_UNKNOWN_METHOD: no such method.
 * xcp-rrdd has no in-band answer for these two: a body that does not parse
 * escapes its handler and http-lib answers HTTP 500 (internal error page);
 * an unknown method raises Idl.UnknownMethod, answered HTTP 401 with
 * WWW-Authenticate: Basic realm="Go away: Idl.UnknownMethod(\"m\")".  The
 * HTTP layer chooses the status; the body we produce is the Failure envelope
 * ["Rrdd_internal_error", reason] (XML-RPC) or the JSON-RPC error (v2 codes
 * -32700/-32600/-32601), so any client can read it.
 */
#ifndef RRDD_RPC_DISPATCH_H
#define RRDD_RPC_DISPATCH_H

#include <stddef.h>

#include "rpc/methods.h"
#include "rpc/value.h"
#include "util/buf.h"

enum rpc_wire { RPC_WIRE_XML, RPC_WIRE_JSON };

enum rpc_outcome { RPC_ANSWERED = 0, RPC_BAD_REQUEST = 1, RPC_UNKNOWN_METHOD = 2 };

/* The wire format of a body: JSON if content_type (may be NULL) names json,
 * else XML if it names xml, else JSON iff the first non-blank byte is '{'. */
enum rpc_wire rpc_guess_wire(const char *body, size_t len, const char *content_type);

/* Handle one request body and append the response body to out.  If why is
 * given (whylen > 0) it receives a one-line reason for the log when the
 * outcome is not a success ("" otherwise).  The limits (NULL = defaults)
 * bound the decoding. */
enum rpc_outcome rpc_handle(const struct rpc_backend *be, enum rpc_wire wire, const char *body,
                            size_t len, const struct rpc_limits *lim, struct buf *out, char *why,
                            size_t whylen);

#endif
