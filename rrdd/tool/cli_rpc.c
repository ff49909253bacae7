/*
 * XML-RPC calls to the daemon (cli_rpc.h): encode with rpc_xml_write_call,
 * POST it, decode the methodResponse with rpc_xml_parse (bounded, hostile
 * input safe) and unwrap xapi's envelope.  No printing.
 */
#include "tool/cli_rpc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rpc/xmlrpc.h"
#include "util/buf.h"

/* Render an ErrorDescription (normally ["Tag", "msg", ...]) as "Tag: msg". */
static void describe_failure(const struct rpc_value *ed, char *err, size_t errlen)
{
	struct buf b = BUF_INIT;
	if (ed && ed->type == RPC_ARRAY) {
		for (uint32_t i = 0; i < ed->u.a.n; i++) {
			const struct rpc_value *v = &ed->u.a.items[i];
			if (i)
				buf_adds(&b, i == 1 ? ": " : ", ");
			if (v->type == RPC_STRING)
				buf_add(&b, v->u.s.p, v->u.s.len);
			else
				buf_printf(&b, "(%s)", rpc_type_name(v->type));
		}
	} else {
		buf_adds(&b, "failure without a description");
	}
	snprintf(err, errlen, "%s", buf_cstr(&b));
	buf_free(&b);
}

int cli_rpc_call(const struct cli_conn *c, const char *method, const struct rpc_value *params,
                 struct rpc_value *result, char *err, size_t errlen)
{
	*result = rpc_nil();
	struct buf call = BUF_INIT;
	rpc_xml_write_call(&call, method, params);
	struct cli_http_resp resp;
	int rc = cli_http(c, "POST", "/", NULL, call.p, call.len, "text/xml", &resp, err, errlen);
	buf_free(&call);
	if (rc)
		return rc;
	if (resp.status != 200) {
		snprintf(err, errlen, "%s: rrdd answered HTTP %d", method, resp.status);
		buf_free(&resp.body);
		return -EPROTO;
	}
	struct rpc_xml_msg msg = {0};
	char perr[256];
	rc = rpc_xml_parse(resp.body.p ? resp.body.p : "", resp.body.len, NULL, &msg, perr,
	                   sizeof(perr));
	buf_free(&resp.body);
	if (rc) {
		snprintf(err, errlen, "%s: bad XML-RPC answer: %s", method, perr);
		return -EPROTO;
	}
	rc = -EPROTO;
	if (msg.kind == RPC_XML_FAULT) {
		const struct rpc_value *fs = rpc_struct_get(&msg.params, "faultString");
		snprintf(err, errlen, "%s: fault: %s", method,
		         fs && fs->type == RPC_STRING ? fs->u.s.p : "?");
		goto out;
	}
	const struct rpc_value *env =
	    msg.params.type == RPC_ARRAY && msg.params.u.a.n == 1 ? &msg.params.u.a.items[0] : NULL;
	const struct rpc_value *st = env ? rpc_struct_get(env, "Status") : NULL;
	if (!st || st->type != RPC_STRING) {
		snprintf(err, errlen, "%s: answer without a Status", method);
		goto out;
	}
	if (strcmp(st->u.s.p, "Success") == 0) {
		const struct rpc_value *v = rpc_struct_get(env, "Value");
		*result = v ? rpc_value_copy(v) : rpc_nil();
		rc = 0;
	} else if (strcmp(st->u.s.p, "Failure") == 0) {
		char d[768];
		describe_failure(rpc_struct_get(env, "ErrorDescription"), d, sizeof(d));
		snprintf(err, errlen, "%s", d);
		rc = -EREMOTEIO;
	} else {
		snprintf(err, errlen, "%s: unknown Status '%.40s'", method, st->u.s.p);
	}
out:
	rpc_xml_msg_free(&msg);
	return rc;
}
