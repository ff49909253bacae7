/*
 * libFuzzer target for the RPC layer: the input is a request body, XML-RPC or
 * JSON-RPC (sniffed as the daemon does).  Checks, beyond ASan/UBSan:
 *  - rpc_handle always answers with a body that our own decoders accept
 *    (an XML methodResponse, or a JSON value);
 *  - XML: feeding the body in two chunks (split point from the first byte)
 *    gives exactly the one-shot result;
 *  - JSON: a decodable value re-encodes to text that decodes to an equal value
 *    (non-finite doubles excepted: JSON writes them as strings).
 * Small limits are used so the limit paths are reached.
 * Build with -DRRDD_FUZZ=ON and CC=clang.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/dispatch.h"
#include "rpc/jsonrpc.h"
#include "rpc/xmlrpc.h"
#include "../unit/test_rpc_backend.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static const struct rpc_limits lim = {
    .max_input = 1u << 16,
    .max_depth = 8,
    .max_nodes = 512,
    .max_members = 64,
    .max_string = 256,
    .max_total = 4096,
};

static bool finite_only(const struct rpc_value *v)
{
	switch (v->type) {
	case RPC_DOUBLE:
		return isfinite(v->u.d);
	case RPC_ARRAY:
		for (uint32_t i = 0; i < v->u.a.n; i++)
			if (!finite_only(&v->u.a.items[i]))
				return false;
		return true;
	case RPC_STRUCT:
		for (uint32_t i = 0; i < v->u.st.n; i++)
			if (!finite_only(&v->u.st.m[i].v))
				return false;
		return true;
	default:
		return true;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	enum rpc_wire wire = rpc_guess_wire(body, size, NULL);

	struct stub s = {.golden = size && (data[0] & 1)};
	struct rpc_backend be = stub_backend(&s);
	struct buf out = BUF_INIT;
	char why[300];
	enum rpc_outcome oc = rpc_handle(&be, wire, body, size, &lim, &out, why, sizeof(why));
	CHECK(oc == RPC_ANSWERED || oc == RPC_BAD_REQUEST || oc == RPC_UNKNOWN_METHOD);
	CHECK(out.len > 0);
	if (wire == RPC_WIRE_XML) {
		struct rpc_xml_msg m;
		CHECK(rpc_xml_parse(out.p, out.len, NULL, &m, NULL, 0) == 0);
		CHECK(m.kind == RPC_XML_RESPONSE);
		rpc_xml_msg_free(&m);
	} else {
		struct rpc_value v;
		CHECK(rpc_json_parse_value(out.p, out.len, NULL, &v, NULL, 0) == 0);
		CHECK(v.type == RPC_STRUCT);
		rpc_value_free(&v);
	}
	buf_free(&out);
	buf_free(&s.trace);

	if (wire == RPC_WIRE_XML) {
		struct rpc_xml_msg one = {0}, two = {0};
		int rc1 = rpc_xml_parse(body, size, &lim, &one, NULL, 0);
		size_t split = size ? data[0] % (size + 1) : 0;
		struct rpc_xml_parser *p = rpc_xml_parser_new(&lim);
		int rc2 = rpc_xml_parser_feed(p, body, split);
		if (!rc2)
			rc2 = rpc_xml_parser_feed(p, body + split, size - split);
		if (!rc2)
			rc2 = rpc_xml_parser_finish(p, &two);
		rpc_xml_parser_free(p);
		CHECK(rc1 == rc2);
		if (rc1 == 0) {
			CHECK(one.kind == two.kind);
			CHECK((one.method == NULL) == (two.method == NULL));
			CHECK(!one.method || strcmp(one.method, two.method) == 0);
			CHECK(rpc_value_equal(&one.params, &two.params));
			/* Re-encoding a decoded call decodes to the same call, except
			 * that ints come back as strings (the dialect writes them
			 * untyped), so only compare when decoding succeeds again. */
			if (one.kind == RPC_XML_CALL) {
				struct buf b = BUF_INIT;
				rpc_xml_write_call(&b, one.method, &one.params);
				struct rpc_xml_msg three;
				CHECK(rpc_xml_parse(b.p, b.len, NULL, &three, NULL, 0) == 0);
				CHECK(three.params.u.a.n == one.params.u.a.n);
				rpc_xml_msg_free(&three);
				buf_free(&b);
			}
		}
		rpc_xml_msg_free(&one);
		rpc_xml_msg_free(&two);
	} else {
		struct rpc_value v;
		if (rpc_json_parse_value(body, size, &lim, &v, NULL, 0) == 0) {
			struct buf b = BUF_INIT;
			rpc_json_write_value(&b, &v);
			struct rpc_value w;
			CHECK(rpc_json_parse_value(b.p, b.len, NULL, &w, NULL, 0) == 0);
			CHECK(!finite_only(&v) || rpc_value_equal(&v, &w));
			rpc_value_free(&w);
			rpc_value_free(&v);
			buf_free(&b);
		}
	}
	return 0;
}
