/*
 * XML-RPC encoding (see xmlrpc.h): calls and responses written exactly as
 * ocaml-rpc's Xmlrpc.string_of_call / string_of_response (non-strict mode)
 * write them, so that our answers are byte-identical to xcp-rrdd's and to the
 * golden samples of xapi-idl.  Output only; never parses.
 */
#include "rpc/xmlrpc.h"
#include "util/utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid XML character's UTF-8 sequence at s[0..n), or 0 if
 * it is not one (U+FFFE and U+FFFF are not XML characters). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len = utf8_seq_len(s, n);
	if (len == 3 && s[0] == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
		return 0;
	return len;
}

void rpc_xml_escape(struct buf *b, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0; /* start of the pending run of bytes copied as is */
	size_t i = 0;
	while (i < len) {
		unsigned c = u[i];
		const char *rep = NULL;
		size_t adv = 1;
		if (c == '&')
			rep = "&amp;";
		else if (c == '<')
			rep = "&lt;";
		else if (c == '>')
			rep = "&gt;";
		else if (c == '"')
			rep = "&quot;";
		else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			rep = ""; /* dropped, as ocaml-rpc does */
		else if (c >= 0x80) {
			adv = utf8_len(u + i, len - i);
			if (!adv) {
				rep = "\xef\xbf\xbd"; /* U+FFFD */
				adv = 1;
			}
		}
		if (rep) {
			buf_add(b, s + run, i - run);
			buf_adds(b, rep);
			run = i + adv;
		}
		i += adv;
	}
	buf_add(b, s + run, len - run);
}

static void write_double(struct buf *b, double d)
{
	if (isnan(d)) {
		buf_adds(b, "nan");
	} else if (isinf(d)) {
		buf_adds(b, d < 0 ? "-inf" : "inf");
	} else {
		char tmp[40];
		int n = snprintf(tmp, sizeof(tmp), "%.16g", d);
		buf_add(b, tmp, (size_t)n);
	}
}

void rpc_xml_write_value(struct buf *b, const struct rpc_value *v)
{
	switch (v->type) {
	case RPC_NIL:
		buf_adds(b, "<value><nil/></value>");
		return;
	case RPC_BOOL:
		buf_adds(b, v->u.b ? "<value><boolean>1</boolean></value>"
		                   : "<value><boolean>0</boolean></value>");
		return;
	case RPC_INT:
		buf_printf(b, "<value>%" PRId64 "</value>", v->u.i);
		return;
	case RPC_DOUBLE:
		buf_adds(b, "<value><double>");
		write_double(b, v->u.d);
		buf_adds(b, "</double></value>");
		return;
	case RPC_STRING:
		buf_adds(b, "<value>");
		rpc_xml_escape(b, v->u.s.p, v->u.s.len);
		buf_adds(b, "</value>");
		return;
	case RPC_ARRAY:
		buf_adds(b, "<value><array><data>");
		for (uint32_t i = 0; i < v->u.a.n; i++)
			rpc_xml_write_value(b, &v->u.a.items[i]);
		buf_adds(b, "</data></array></value>");
		return;
	case RPC_STRUCT:
		buf_adds(b, "<value><struct>");
		for (uint32_t i = 0; i < v->u.st.n; i++) {
			buf_adds(b, "<member><name>");
			rpc_xml_escape(b, v->u.st.m[i].name, strlen(v->u.st.m[i].name));
			buf_adds(b, "</name>");
			rpc_xml_write_value(b, &v->u.st.m[i].v);
			buf_adds(b, "</member>");
		}
		buf_adds(b, "</struct></value>");
		return;
	}
}

void rpc_xml_write_call(struct buf *b, const char *method, const struct rpc_value *params)
{
	buf_adds(b, "<?xml version=\"1.0\"?><methodCall><methodName>");
	rpc_xml_escape(b, method, strlen(method));
	buf_adds(b, "</methodName><params>");
	if (params && params->type == RPC_ARRAY) {
		for (uint32_t i = 0; i < params->u.a.n; i++) {
			buf_adds(b, "<param>");
			rpc_xml_write_value(b, &params->u.a.items[i]);
			buf_adds(b, "</param>");
		}
	}
	buf_adds(b, "</params></methodCall>");
}

static void write_envelope(struct buf *b, bool ok, const struct rpc_value *v)
{
	buf_adds(b, "<?xml version=\"1.0\"?><methodResponse><params><param>"
	            "<value><struct><member><name>Status</name><value>");
	buf_adds(b, ok ? "Success</value></member><member><name>Value</name>"
	               : "Failure</value></member><member><name>ErrorDescription</name>");
	rpc_xml_write_value(b, v);
	buf_adds(b, "</member></struct></value></param></params></methodResponse>");
}

void rpc_xml_write_success(struct buf *b, const struct rpc_value *v)
{
	write_envelope(b, true, v);
}

void rpc_xml_write_failure(struct buf *b, const struct rpc_value *err)
{
	write_envelope(b, false, err);
}

void rpc_xml_write_fault(struct buf *b, int code, const char *msg)
{
	buf_printf(b,
	           "<?xml version=\"1.0\"?><methodResponse><fault><value><struct>"
	           "<member><name>faultCode</name><value><int>%d</int></value></member>"
	           "<member><name>faultString</name><value>",
	           code);
	rpc_xml_escape(b, msg, strlen(msg));
	buf_adds(b, "</value></member></struct></value></fault></methodResponse>");
}
