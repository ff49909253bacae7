/*
 * Request → response for one RPC body (see dispatch.h): picks the codec,
 * runs rpc_call, and encodes the answer or the error in the envelope of the
 * wire format.  No I/O, no state.
 */
#include "rpc/dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rpc/jsonrpc.h"
#include "rpc/xmlrpc.h"

/* JSON-RPC 2.0 error codes. */
#define JSON_PARSE_ERROR      (-32700)
#define JSON_INVALID_REQUEST  (-32600)
#define JSON_METHOD_NOT_FOUND (-32601)
#define JSON_INVALID_PARAMS   (-32602)
#define JSON_SERVER_ERROR     (-32000)

enum rpc_wire rpc_guess_wire(const char *body, size_t len, const char *content_type)
{
	if (content_type) {
		if (strcasestr(content_type, "json"))
			return RPC_WIRE_JSON;
		if (strcasestr(content_type, "xml"))
			return RPC_WIRE_XML;
	}
	for (size_t i = 0; i < len; i++) {
		char c = body[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		return c == '{' ? RPC_WIRE_JSON : RPC_WIRE_XML;
	}
	return RPC_WIRE_XML;
}

static void set_why(char *why, size_t whylen, const char *s)
{
	if (whylen)
		snprintf(why, whylen, "%s", s);
}

static enum rpc_outcome outcome_of(int rc)
{
	return rc == RPC_CALL_UNKNOWN ? RPC_UNKNOWN_METHOD : RPC_ANSWERED;
}

static enum rpc_outcome handle_xml(const struct rpc_backend *be, const char *body, size_t len,
                                   const struct rpc_limits *lim, struct buf *out, char *why,
                                   size_t whylen)
{
	struct rpc_xml_msg msg = {0};
	char perr[300];
	struct rpc_err err = {0};
	enum rpc_outcome oc;
	int rc = rpc_xml_parse(body, len, lim, &msg, perr, sizeof(perr));
	if (rc == 0 && msg.kind != RPC_XML_CALL) {
		snprintf(perr, sizeof(perr),
		         "XML-RPC: expected a methodCall, got a methodResponse");
		rc = -EINVAL;
	}
	if (rc != 0) {
		rpc_err_set(&err, RPC_ERR_INTERNAL, "%s", perr);
		struct rpc_value ev = rpc_err_value(&err);
		rpc_xml_write_failure(out, &ev);
		rpc_value_free(&ev);
		set_why(why, whylen, perr);
		rpc_err_clear(&err);
		rpc_xml_msg_free(&msg);
		return RPC_BAD_REQUEST;
	}
	struct rpc_value result;
	rc = rpc_call(be, msg.method, &msg.params, &result, &err);
	if (rc == RPC_CALL_OK) {
		rpc_xml_write_success(out, &result);
		set_why(why, whylen, "");
	} else {
		struct rpc_value ev = rpc_err_value(&err);
		rpc_xml_write_failure(out, &ev);
		rpc_value_free(&ev);
		set_why(why, whylen, err.msg ? err.msg : "");
	}
	oc = outcome_of(rc);
	rpc_value_free(&result);
	rpc_err_clear(&err);
	rpc_xml_msg_free(&msg);
	return oc;
}

static int json_code(int rc)
{
	switch (rc) {
	case RPC_CALL_UNKNOWN:
		return JSON_METHOD_NOT_FOUND;
	case RPC_CALL_BAD_PARAMS:
		return JSON_INVALID_PARAMS;
	default:
		return JSON_SERVER_ERROR;
	}
}

static enum rpc_outcome handle_json(const struct rpc_backend *be, const char *body, size_t len,
                                    const struct rpc_limits *lim, struct buf *out, char *why,
                                    size_t whylen)
{
	struct rpc_json_call call;
	char perr[300];
	struct rpc_err err = {0};
	const struct rpc_value *id;
	int rc = rpc_json_parse_call(body, len, lim, &call, perr, sizeof(perr));
	id = call.id.type == RPC_NIL ? NULL : &call.id;
	if (rc != 0) {
		/* A body that is not JSON at all is a parse error; JSON that is
		 * not a request (or too big) is an invalid request. */
		bool syntax = rc == -EINVAL;
		rpc_err_set(&err, RPC_ERR_INTERNAL, "%s", perr);
		struct rpc_value ev = rpc_err_value(&err);
		rpc_json_write_failure(out, call.version, id,
		                       syntax ? JSON_PARSE_ERROR : JSON_INVALID_REQUEST, perr, &ev);
		rpc_value_free(&ev);
		set_why(why, whylen, perr);
		rpc_err_clear(&err);
		rpc_json_call_free(&call);
		return RPC_BAD_REQUEST;
	}
	struct rpc_value result;
	rc = rpc_call(be, call.method, &call.params, &result, &err);
	if (rc == RPC_CALL_OK) {
		rpc_json_write_success(out, call.version, id, &result);
		set_why(why, whylen, "");
	} else {
		struct rpc_value ev = rpc_err_value(&err);
		char message[600];
		snprintf(message, sizeof(message), "%s: %s", rpc_err_tag(err.kind),
		         err.msg ? err.msg : "");
		rpc_json_write_failure(out, call.version, id, json_code(rc), message, &ev);
		rpc_value_free(&ev);
		set_why(why, whylen, err.msg ? err.msg : "");
	}
	enum rpc_outcome oc = outcome_of(rc);
	rpc_value_free(&result);
	rpc_err_clear(&err);
	rpc_json_call_free(&call);
	return oc;
}

enum rpc_outcome rpc_handle(const struct rpc_backend *be, enum rpc_wire wire, const char *body,
                            size_t len, const struct rpc_limits *lim, struct buf *out, char *why,
                            size_t whylen)
{
	if (wire == RPC_WIRE_JSON)
		return handle_json(be, body, len, lim, out, why, whylen);
	return handle_xml(be, body, len, lim, out, why, whylen);
}
