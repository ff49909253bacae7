/*
 * XML-RPC in the dialect of xcp-rrdd (ocaml-rpc's xmlrpc.ml): decoding of
 * methodCall and methodResponse documents from untrusted bytes, and encoding
 * of calls and responses byte for byte as ocaml-rpc writes them.
 *
 * Decoding uses expat, can be fed in chunks (streaming), rejects DOCTYPE and
 * entity declarations, and enforces struct rpc_limits; it follows ocaml-rpc's
 * reading rules: a <value> holding only text is a string (text kept as is),
 * <int>/<i4>/<i8> are 64-bit ints, <boolean> is 0 or 1, white space between
 * structural elements is ignored.  It knows nothing about rrd methods.
 *
 * Encoding: strings are bare <value>text</value> (no <string> tag) with
 * & < > " escaped and control characters other than TAB/LF/CR dropped;
 * ints bare <value>N</value>; doubles <double>%.16g</double> (inf, -inf, nan);
 * <boolean>0|1</boolean>; <nil/>; no white space; no trailing newline.
 * Pure: no I/O besides the caller's buffers, no globals.
 */
#ifndef RRDD_RPC_XMLRPC_H
#define RRDD_RPC_XMLRPC_H

#include <stddef.h>

#include "rpc/value.h"
#include "util/buf.h"

enum rpc_xml_kind { RPC_XML_CALL, RPC_XML_RESPONSE, RPC_XML_FAULT };

/* A decoded XML-RPC document. */
struct rpc_xml_msg {
	enum rpc_xml_kind kind;
	char *method;            /* CALL: the methodName text; NULL otherwise */
	struct rpc_value params; /* CALL: array of the params; RESPONSE: array of
	                            its one param; FAULT: the fault struct */
};

/* Release what a message owns (safe on a zeroed or already freed message). */
void rpc_xml_msg_free(struct rpc_xml_msg *m);

struct rpc_xml_parser;

/* A new streaming parser with the given limits (NULL = defaults). */
struct rpc_xml_parser *rpc_xml_parser_new(const struct rpc_limits *lim);

/* Feed the next len bytes.  Returns 0, or -EINVAL (malformed) / -E2BIG (a
 * limit) once the document is known to be bad; later calls return the same. */
int rpc_xml_parser_feed(struct rpc_xml_parser *p, const char *data, size_t len);

/* End of input: on success returns 0 and moves the document into *out (which
 * the caller releases with rpc_xml_msg_free); else -EINVAL/-E2BIG. */
int rpc_xml_parser_finish(struct rpc_xml_parser *p, struct rpc_xml_msg *out);

/* The message of the first error ("" if none), valid until the parser is
 * freed. */
const char *rpc_xml_parser_error(const struct rpc_xml_parser *p);

/* Release a parser (NULL is a no-op). */
void rpc_xml_parser_free(struct rpc_xml_parser *p);

/* One-shot decoding of text[0..len).  Returns 0 and fills *out, or a
 * negative errno with a NUL-terminated message in err (if errlen > 0). */
int rpc_xml_parse(const char *text, size_t len, const struct rpc_limits *lim,
                  struct rpc_xml_msg *out, char *err, size_t errlen);

/* Append <value>...</value> for v. */
void rpc_xml_write_value(struct buf *b, const struct rpc_value *v);

/* Append a complete methodCall: params is an RPC_ARRAY of the params. */
void rpc_xml_write_call(struct buf *b, const char *method, const struct rpc_value *params);

/* Append a complete methodResponse with the xapi envelope
 * {Status: "Success", Value: v}. */
void rpc_xml_write_success(struct buf *b, const struct rpc_value *v);

/* Append a complete methodResponse with the envelope
 * {Status: "Failure", ErrorDescription: err} (err is normally an array such
 * as ["Datasource_missing", "msg"]). */
void rpc_xml_write_failure(struct buf *b, const struct rpc_value *err);

/* Append a standard XML-RPC faultResponse {faultCode, faultString} (xcp-rrdd
 * never sends one; offered for protocol-level rejections). */
void rpc_xml_write_fault(struct buf *b, int code, const char *msg);

/* Append s XML-escaped as ocaml-rpc does (& < > " escaped, control bytes
 * other than TAB/LF/CR dropped); bytes that are not valid UTF-8 become
 * U+FFFD so the document stays well formed. */
void rpc_xml_escape(struct buf *b, const char *s, size_t len);

#endif
