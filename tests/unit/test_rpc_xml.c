/*
 * Unit tests of the XML-RPC codec (rpc/xmlrpc.h): ocaml-rpc's reading rules
 * (untyped values are strings, white space between elements ignored, typed
 * scalars), a request exactly as Python's xmlrpc.client writes it, entities
 * and CDATA, hostile input (DOCTYPE, entity expansion, external entities,
 * deep nesting, oversized strings, node/member/total/input limits, every
 * truncation of a document, broken structure), chunked feeding equal to one
 * shot at every split point, and the encoder (escaping, UTF-8 repair, %.16g
 * doubles, faults) with a randomised encode/parse round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/xmlrpc.h"
#include "util/xalloc.h"

static struct rpc_xml_msg parse_ok(const char *s)
{
	struct rpc_xml_msg m;
	char err[300];
	if (rpc_xml_parse(s, strlen(s), NULL, &m, err, sizeof(err)) != 0)
		fail_msg("parse of <%s> failed: %s", s, err);
	return m;
}

static int parse_rc(const char *s, const struct rpc_limits *lim, char *err, size_t errlen)
{
	struct rpc_xml_msg m = {0};
	int rc = rpc_xml_parse(s, strlen(s), lim, &m, err, errlen);
	if (rc == 0)
		rpc_xml_msg_free(&m);
	return rc;
}

static void expect_fail(const char *s, int want_rc, const char *want_msg)
{
	char err[300] = "";
	int rc = parse_rc(s, NULL, err, sizeof(err));
	if (rc != want_rc)
		fail_msg("<%s>: rc %d (%s), want %d", s, rc, err, want_rc);
	if (want_msg && !strstr(err, want_msg))
		fail_msg("<%s>: message <%s> lacks <%s>", s, err, want_msg);
}

/* A call with one param holding the given <value> text; returns the param. */
static struct rpc_value one_value(const char *value_xml)
{
	char doc[4096];
	snprintf(doc, sizeof(doc),
	         "<methodCall><methodName>m</methodName><params><param>%s</param></params>"
	         "</methodCall>",
	         value_xml);
	struct rpc_xml_msg m = parse_ok(doc);
	assert_int_equal(m.params.u.a.n, 1);
	struct rpc_value v = m.params.u.a.items[0];
	m.params.u.a.n = 0;
	rpc_xml_msg_free(&m);
	return v;
}

static int one_value_rc(const char *value_xml)
{
	char doc[4096];
	snprintf(doc, sizeof(doc),
	         "<methodCall><methodName>m</methodName><params><param>%s</param></params>"
	         "</methodCall>",
	         value_xml);
	return parse_rc(doc, NULL, NULL, 0);
}

static void want_string(const char *value_xml, const char *want)
{
	struct rpc_value v = one_value(value_xml);
	if (v.type != RPC_STRING || strcmp(v.u.s.p, want) != 0)
		fail_msg("%s: got type %d <%s>, want string <%s>", value_xml, v.type,
		         v.type == RPC_STRING ? v.u.s.p : "", want);
	rpc_value_free(&v);
}

/* Output of Python 3.11 xmlrpc.client.dumps(({'uid':'x&y','domid':5,
 * 'lat':1.5,'on':True,'none':None,'list':[1,'a']},None),
 * 'Plugin.Local.register', allow_none=True). */
static const char python_call[] =
    "<?xml version='1.0'?>\n<methodCall>\n<methodName>Plugin.Local.register</methodName>\n"
    "<params>\n<param>\n<value><struct>\n<member>\n<name>uid</name>\n<value><string>x&amp;y"
    "</string></value>\n</member>\n<member>\n<name>domid</name>\n<value><int>5</int></value>"
    "\n</member>\n<member>\n<name>lat</name>\n<value><double>1.5</double></value>\n</member>"
    "\n<member>\n<name>on</name>\n<value><boolean>1</boolean></value>\n</member>\n<member>\n"
    "<name>none</name>\n<value><nil/></value></member>\n<member>\n<name>list</name>\n<value>"
    "<array><data>\n<value><int>1</int></value>\n<value><string>a</string></value>\n</data>"
    "</array></value>\n</member>\n</struct></value>\n</param>\n<param>\n<value><nil/></value>"
    "</param>\n</params>\n</methodCall>\n";

static void test_python_request(void **state)
{
	(void)state;
	struct rpc_xml_msg m = parse_ok(python_call);
	assert_int_equal(m.kind, RPC_XML_CALL);
	assert_string_equal(m.method, "Plugin.Local.register");
	assert_int_equal(m.params.u.a.n, 2);
	const struct rpc_value *st = &m.params.u.a.items[0];
	assert_int_equal(st->type, RPC_STRUCT);
	assert_int_equal(st->u.st.n, 6);
	assert_string_equal(rpc_struct_get(st, "uid")->u.s.p, "x&y");
	assert_int_equal(rpc_struct_get(st, "domid")->type, RPC_INT);
	assert_int_equal(rpc_struct_get(st, "domid")->u.i, 5);
	assert_true(rpc_struct_get(st, "lat")->u.d == 1.5);
	assert_int_equal(rpc_struct_get(st, "on")->type, RPC_BOOL);
	assert_true(rpc_struct_get(st, "on")->u.b);
	assert_int_equal(rpc_struct_get(st, "none")->type, RPC_NIL);
	const struct rpc_value *l = rpc_struct_get(st, "list");
	assert_int_equal(l->type, RPC_ARRAY);
	assert_int_equal(l->u.a.n, 2);
	assert_int_equal(l->u.a.items[0].u.i, 1);
	assert_string_equal(l->u.a.items[1].u.s.p, "a");
	assert_string_equal(st->u.st.m[5].name, "list"); /* order kept */
	assert_int_equal(m.params.u.a.items[1].type, RPC_NIL);
	rpc_xml_msg_free(&m);
}

static void test_value_rules(void **state)
{
	(void)state;
	want_string("<value>abc</value>", "abc");
	want_string("<value>  a b \n</value>", "  a b \n"); /* kept as written */
	want_string("<value> </value>", " ");
	want_string("<value></value>", "");
	want_string("<value/>", "");
	want_string("<value><string></string></value>", "");
	want_string("<value><string/></value>", "");
	want_string("<value><string> x </string></value>", " x ");
	want_string("<value>\n <string>y</string>\n</value>", "y");
	want_string("<value>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;</value>", "&<>\"'AB");
	want_string("<value><![CDATA[<not> &a tag]]></value>", "<not> &a tag");
	want_string("<value>a<!-- comment -->b</value>", "ab");
	want_string("<value>caf\xc3\xa9 \xe2\x82\xac</value>", "caf\xc3\xa9 \xe2\x82\xac");
	want_string("<value>a\r\nb</value>", "a\nb"); /* XML line-end normalisation */

	struct rpc_value v = one_value("<value><int> -42 </int></value>");
	assert_int_equal(v.type, RPC_INT);
	assert_int_equal(v.u.i, -42);
	v = one_value("<value><i4>7</i4></value>");
	assert_int_equal(v.u.i, 7);
	v = one_value("<value><i8>9223372036854775807</i8></value>");
	assert_true(v.u.i == INT64_MAX);
	v = one_value("<value><i8>-9223372036854775808</i8></value>");
	assert_true(v.u.i == INT64_MIN);
	v = one_value("<value><boolean>0</boolean></value>");
	assert_int_equal(v.type, RPC_BOOL);
	assert_false(v.u.b);
	v = one_value("<value><double>-1.25e3</double></value>");
	assert_true(v.u.d == -1250.0);
	v = one_value("<value><double>inf</double></value>");
	assert_true(isinf(v.u.d) && v.u.d > 0);
	v = one_value("<value><double>-inf</double></value>");
	assert_true(isinf(v.u.d) && v.u.d < 0);
	v = one_value("<value><double>nan</double></value>");
	assert_true(isnan(v.u.d));
	v = one_value("<value><nil/></value>");
	assert_int_equal(v.type, RPC_NIL);
	v = one_value("<value><nil> </nil></value>");
	assert_int_equal(v.type, RPC_NIL);
	v = one_value("<value><array></array></value>");
	assert_int_equal(v.type, RPC_ARRAY);
	assert_int_equal(v.u.a.n, 0);
	rpc_value_free(&v);
	v = one_value("<value><array><data/></array></value>");
	assert_int_equal(v.u.a.n, 0);
	rpc_value_free(&v);
	v = one_value("<value><struct/></value>");
	assert_int_equal(v.type, RPC_STRUCT);
	rpc_value_free(&v);
	/* Attributes are ignored, as xmlm does. */
	v = one_value("<value x='1'><int y=\"2\">3</int></value>");
	assert_int_equal(v.u.i, 3);
	/* Duplicate struct members are kept, in order; methods decide. */
	v = one_value("<value><struct><member><name>a</name><value>1</value></member>"
	              "<member><name>a</name><value>2</value></member></struct></value>");
	assert_int_equal(v.u.st.n, 2);
	assert_string_equal(rpc_struct_get(&v, "a")->u.s.p, "1");
	rpc_value_free(&v);

	const char *bad[] = {
	    "<value><int></int></value>",
	    "<value><int>1.5</int></value>",
	    "<value><int>0x10</int></value>",
	    "<value><i8>9223372036854775808</i8></value>",
	    "<value><int>-</int></value>",
	    "<value><boolean>true</boolean></value>",
	    "<value><boolean>2</boolean></value>",
	    "<value><boolean></boolean></value>",
	    "<value><double>abc</double></value>",
	    "<value><double></double></value>",
	    "<value><double>1.5x</double></value>",
	    "<value>a<int>5</int></value>",
	    "<value><int>5</int>x</value>",
	    "<value><int>5</int><int>6</int></value>",
	    "<value><base64>AAAA</base64></value>",
	    "<value><dateTime.iso8601>20240101T00:00:00</dateTime.iso8601></value>",
	    "<value><foo/></value>",
	    "<value><nil>x</nil></value>",
	    "<value><string><b/></string></value>",
	    "<value><struct><member><value>1</value></member></struct></value>",
	    "<value><struct><member><name>a</name></member></struct></value>",
	    "<value><struct><member><value>1</value><name>a</name></member></struct></value>",
	    "<value><struct><member><name>a</name><name>b</name><value>1</value></member></struct>"
	    "</value>",
	    "<value><struct><member><name>a</name><value>1</value><value>2</value></member>"
	    "</struct></value>",
	    "<value><struct>text</struct></value>",
	    "<value><struct><value>1</value></struct></value>",
	    "<value><array><value>1</value></array></value>",
	    "<value><array><data/><data/></array></value>",
	    "<value><array><data>x</data></array></value>",
	    "<value>1</value><value>2</value>",
	    "<value>&undefined;</value>",
	    "<value>&#0;</value>",
	    "<int>1</int>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (one_value_rc(bad[i]) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
}

static void test_documents(void **state)
{
	(void)state;
	/* <params> may be absent; the XML declaration may say UTF-8. */
	struct rpc_xml_msg m = parse_ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	                                "<methodCall><methodName>x</methodName></methodCall>");
	assert_int_equal(m.params.u.a.n, 0);
	rpc_xml_msg_free(&m);
	m = parse_ok("<methodCall><methodName>x</methodName><params/></methodCall>");
	assert_string_equal(m.method, "x");
	rpc_xml_msg_free(&m);
	m = parse_ok("<methodResponse><fault><value><struct><member><name>faultCode</name>"
	             "<value><int>4</int></value></member></struct></value></fault>"
	             "</methodResponse>");
	assert_int_equal(m.kind, RPC_XML_FAULT);
	assert_int_equal(rpc_struct_get(&m.params, "faultCode")->u.i, 4);
	rpc_xml_msg_free(&m);

	expect_fail("", -EINVAL, NULL);
	expect_fail("   ", -EINVAL, NULL);
	expect_fail("not xml", -EINVAL, NULL);
	expect_fail("<methodCall/>", -EINVAL, "without <methodName>");
	expect_fail("<methodCall><params/><methodName>x</methodName></methodCall>", -EINVAL, NULL);
	expect_fail("<methodCall><methodName>x</methodName><params/><params/></methodCall>",
	            -EINVAL, NULL);
	expect_fail("<methodCall><methodName>x<b/></methodName></methodCall>", -EINVAL, NULL);
	expect_fail("<methodCall><methodName>x</methodName>text</methodCall>", -EINVAL,
	            "unexpected text");
	expect_fail("<methodCall><methodName>x</methodName><params>t</params></methodCall>",
	            -EINVAL, NULL);
	expect_fail("<methodCall><methodName>x</methodName><params><param/></params>"
	            "</methodCall>",
	            -EINVAL, NULL);
	expect_fail("<methodCall><methodName>x</methodName><params><value/></params>"
	            "</methodCall>",
	            -EINVAL, NULL);
	expect_fail("<methodCall><methodName>x</methodName><params><param><value/><value/>"
	            "</param></params></methodCall>",
	            -EINVAL, NULL);
	expect_fail("<methodCall><methodName>x</methodName></methodCall><methodCall/>", -EINVAL,
	            NULL);
	expect_fail("<methodCall><methodName>x</methodName></methodCall>junk", -EINVAL, NULL);
	expect_fail("<foo/>", -EINVAL, "root element");
	expect_fail("<methodResponse/>", -EINVAL, NULL);
	expect_fail("<methodResponse><params/></methodResponse>", -EINVAL, "exactly one");
	expect_fail("<methodResponse><params><param><value/></param><param><value/></param>"
	            "</params></methodResponse>",
	            -EINVAL, NULL);
	expect_fail("<methodResponse><fault/></methodResponse>", -EINVAL, NULL);
	expect_fail("<methodResponse><params><param><value/></param></params><fault/>"
	            "</methodResponse>",
	            -EINVAL, NULL);
	expect_fail("<methodCall><methodName>x</methodName></methodcall>", -EINVAL, NULL);
	expect_fail("<?xml version=\"1.0\" encoding=\"EBCDIC-XYZ\"?><methodCall/>", -EINVAL, NULL);
	expect_fail("<methodCall><methodName>\xff\xfe</methodName></methodCall>", -EINVAL, NULL);
}

static void test_hostile_dtd(void **state)
{
	(void)state;
	expect_fail("<!DOCTYPE methodCall><methodCall><methodName>x</methodName></methodCall>",
	            -EINVAL, "DOCTYPE");
	expect_fail("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
	            " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	            " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	            " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	            "]>\n<methodCall><methodName>&lol4;</methodName></methodCall>",
	            -EINVAL, "DOCTYPE");
	expect_fail("<!DOCTYPE m [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	            "<methodCall><methodName>&x;</methodName></methodCall>",
	            -EINVAL, "DOCTYPE");
	expect_fail("<!DOCTYPE m SYSTEM \"http://example.invalid/x.dtd\"><methodCall/>", -EINVAL,
	            "DOCTYPE");
	/* A processing instruction is harmless and ignored. */
	struct rpc_xml_msg m = parse_ok("<?pi data?><methodCall><methodName>x</methodName>"
	                                "</methodCall>");
	rpc_xml_msg_free(&m);
}

/* n nested arrays around an int. */
static char *nested(unsigned n)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "<methodCall><methodName>m</methodName><params><param>");
	for (unsigned i = 0; i < n; i++)
		buf_adds(&b, "<value><array><data>");
	buf_adds(&b, "<value><int>1</int></value>");
	for (unsigned i = 0; i < n; i++)
		buf_adds(&b, "</data></array></value>");
	buf_adds(&b, "</param></params></methodCall>");
	char *s = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

static void test_limits(void **state)
{
	(void)state;
	char err[300];
	char *s = nested(32);
	assert_int_equal(parse_rc(s, NULL, err, sizeof(err)), 0);
	free(s);
	s = nested(33);
	assert_int_equal(parse_rc(s, NULL, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "nested"));
	free(s);
	s = nested(200000); /* must stop early, not recurse */
	assert_int_equal(parse_rc(s, &(struct rpc_limits){.max_input = 1u << 26}, err, sizeof(err)),
	                 -E2BIG);
	free(s);
	/* Deeply nested unknown elements are refused at the first one. */
	struct buf b = BUF_INIT;
	buf_adds(&b, "<methodCall>");
	for (int i = 0; i < 100000; i++)
		buf_adds(&b, "<a>");
	assert_int_equal(parse_rc(buf_cstr(&b), NULL, err, sizeof(err)), -EINVAL);
	buf_free(&b);

	struct rpc_limits lim = {.max_string = 8};
	assert_int_equal(parse_rc("<methodCall><methodName>12345678</methodName></methodCall>",
	                          &lim, err, sizeof(err)),
	                 0);
	assert_int_equal(parse_rc("<methodCall><methodName>123456789</methodName></methodCall>",
	                          &lim, err, sizeof(err)),
	                 -E2BIG);
	assert_int_equal(parse_rc("<methodCall><methodName>m</methodName><params><param><value>"
	                          "<string>123456789</string></value></param></params>"
	                          "</methodCall>",
	                          &lim, err, sizeof(err)),
	                 -E2BIG);
	/* Entity-expanded text counts after expansion. */
	assert_int_equal(parse_rc("<methodCall><methodName>&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
	                          "&amp;&amp;</methodName></methodCall>",
	                          &lim, err, sizeof(err)),
	                 -E2BIG);

	/* Members of one container. */
	b = BUF_INIT;
	buf_adds(&b, "<methodCall><methodName>m</methodName><params><param><value><array><data>");
	for (int i = 0; i < 5; i++)
		buf_adds(&b, "<value/>");
	buf_adds(&b, "</data></array></value></param></params></methodCall>");
	lim = (struct rpc_limits){.max_members = 5};
	assert_int_equal(parse_rc(buf_cstr(&b), &lim, err, sizeof(err)), 0);
	lim.max_members = 4;
	assert_int_equal(parse_rc(buf_cstr(&b), &lim, err, sizeof(err)), -E2BIG);
	/* Values in the document: 1 array + 5 items. */
	lim = (struct rpc_limits){.max_nodes = 6};
	assert_int_equal(parse_rc(buf_cstr(&b), &lim, err, sizeof(err)), 0);
	lim.max_nodes = 5;
	assert_int_equal(parse_rc(buf_cstr(&b), &lim, err, sizeof(err)), -E2BIG);
	/* Input size. */
	lim = (struct rpc_limits){.max_input = b.len};
	assert_int_equal(parse_rc(buf_cstr(&b), &lim, err, sizeof(err)), 0);
	lim.max_input = b.len - 1;
	assert_int_equal(parse_rc(buf_cstr(&b), &lim, err, sizeof(err)), -E2BIG);
	buf_free(&b);
	/* Total string bytes. */
	lim = (struct rpc_limits){.max_total = 6};
	assert_int_equal(parse_rc("<methodCall><methodName>ab</methodName><params><param>"
	                          "<value>cd</value></param><param><value>ef</value></param>"
	                          "</params></methodCall>",
	                          &lim, err, sizeof(err)),
	                 0);
	assert_int_equal(parse_rc("<methodCall><methodName>ab</methodName><params><param>"
	                          "<value>cd</value></param><param><value>efg</value></param>"
	                          "</params></methodCall>",
	                          &lim, err, sizeof(err)),
	                 -E2BIG);
	/* Huge string under default limits: refused, memory stays bounded. */
	size_t big = (64u << 10) + 1;
	char *hs = xmalloc(big + 200);
	int n = snprintf(hs, 200, "<methodCall><methodName>");
	memset(hs + n, 'a', big);
	strcpy(hs + n + big, "</methodName></methodCall>");
	assert_int_equal(parse_rc(hs, NULL, err, sizeof(err)), -E2BIG);
	free(hs);
}

/* Every proper prefix of a document is an error; the whole is not; feeding
 * in two chunks split anywhere gives the one-shot result. */
static void test_truncation_and_chunks(void **state)
{
	(void)state;
	const char *docs[] = {
	    python_call,
	    "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct><member><name>"
	    "Status</name><value>Success</value></member><member><name>Value</name><value><array>"
	    "<data><value><struct><member><name>name</name><value>n &amp; m</value></member>"
	    "<member><name>min</name><value><double>-inf</double></value></member></struct>"
	    "</value><value><boolean>1</boolean></value><value><i4>-3</i4></value><value><nil/>"
	    "</value><value><![CDATA[x]]></value></data></array></value></member></struct>"
	    "</value></param></params></methodResponse>",
	};
	for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		const char *doc = docs[d];
		size_t len = strlen(doc);
		while (len && doc[len - 1] == '\n')
			len--; /* trailing white space after the root is not part of it */
		struct rpc_xml_msg whole;
		assert_int_equal(rpc_xml_parse(doc, len, NULL, &whole, NULL, 0), 0);
		for (size_t cut = 0; cut < len; cut++) {
			struct rpc_xml_msg m = {0};
			char err[300] = "";
			int rc = rpc_xml_parse(doc, cut, NULL, &m, err, sizeof(err));
			if (rc != -EINVAL || !err[0])
				fail_msg("doc %zu cut at %zu: rc %d", d, cut, rc);
		}
		for (size_t split = 0; split <= len; split++) {
			struct rpc_xml_parser *p = rpc_xml_parser_new(NULL);
			assert_int_equal(rpc_xml_parser_feed(p, doc, split), 0);
			assert_int_equal(rpc_xml_parser_feed(p, doc + split, len - split), 0);
			struct rpc_xml_msg m;
			assert_int_equal(rpc_xml_parser_finish(p, &m), 0);
			assert_int_equal(m.kind, whole.kind);
			assert_true((m.method == NULL) == (whole.method == NULL));
			if (m.method)
				assert_string_equal(m.method, whole.method);
			assert_true(rpc_value_equal(&m.params, &whole.params));
			rpc_xml_msg_free(&m);
			rpc_xml_parser_free(p);
		}
		/* Byte-at-a-time feeding. */
		struct rpc_xml_parser *p = rpc_xml_parser_new(NULL);
		for (size_t i = 0; i < len; i++)
			assert_int_equal(rpc_xml_parser_feed(p, doc + i, 1), 0);
		struct rpc_xml_msg m;
		assert_int_equal(rpc_xml_parser_finish(p, &m), 0);
		assert_true(rpc_value_equal(&m.params, &whole.params));
		rpc_xml_msg_free(&m);
		rpc_xml_parser_free(p);
		rpc_xml_msg_free(&whole);
	}
	/* After an error, feeding keeps failing the same way. */
	struct rpc_xml_parser *p = rpc_xml_parser_new(NULL);
	assert_int_equal(rpc_xml_parser_feed(p, "<foo>", 5), -EINVAL);
	assert_int_equal(rpc_xml_parser_feed(p, "</foo>", 6), -EINVAL);
	struct rpc_xml_msg m;
	assert_int_equal(rpc_xml_parser_finish(p, &m), -EINVAL);
	assert_non_null(strstr(rpc_xml_parser_error(p), "root element"));
	rpc_xml_parser_free(p);
}

static const char *encode(const struct rpc_value *v, struct buf *b)
{
	buf_reset(b);
	rpc_xml_write_value(b, v);
	return buf_cstr(b);
}

static void test_encoder(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	struct rpc_value v = rpc_string("a<b>&\"c\"'\t\n\r\x01\x1f\x7f");
	assert_string_equal(encode(&v, &b),
	                    "<value>a&lt;b&gt;&amp;&quot;c&quot;'\t\n\r\x7f</value>");
	rpc_value_free(&v);
	/* Valid UTF-8 kept; invalid bytes, overlongs, surrogates and truncated
	 * sequences become U+FFFD. */
	v = rpc_string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xff|\xc0\xaf|\xed\xa0\x80|\xe2\x82");
	assert_string_equal(encode(&v, &b), "<value>\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|"
	                                    "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd"
	                                    "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd"
	                                    "</value>");
	rpc_value_free(&v);
	struct {
		double d;
		const char *want;
	} dbl[] = {
	    {0.0, "0"},
	    {-0.0, "-0"},
	    {0.1, "0.1"},
	    {1.0 / 3, "0.3333333333333333"},
	    {4.4872, "4.4872"},
	    {1e21, "1e+21"},
	    {123456789012345678.0, "1.234567890123457e+17"},
	    {5e-324, "4.940656458412465e-324"},
	    {INFINITY, "inf"},
	    {-INFINITY, "-inf"},
	    {NAN, "nan"},
	    {-NAN, "nan"},
	};
	for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); i++) {
		char want[80];
		snprintf(want, sizeof(want), "<value><double>%s</double></value>", dbl[i].want);
		v = rpc_double(dbl[i].d);
		assert_string_equal(encode(&v, &b), want);
	}
	v = rpc_int(-9223372036854775807 - 1);
	assert_string_equal(encode(&v, &b), "<value>-9223372036854775808</value>");
	v = rpc_bool(false);
	assert_string_equal(encode(&v, &b), "<value><boolean>0</boolean></value>");
	v = rpc_struct();
	rpc_struct_add(&v, "a<b", rpc_nil());
	assert_string_equal(encode(&v, &b), "<value><struct><member><name>a&lt;b</name><value>"
	                                    "<nil/></value></member></struct></value>");
	rpc_value_free(&v);

	buf_reset(&b);
	rpc_xml_write_fault(&b, -32601, "no <such> method");
	assert_string_equal(buf_cstr(&b),
	                    "<?xml version=\"1.0\"?><methodResponse><fault><value><struct><member>"
	                    "<name>faultCode</name><value><int>-32601</int></value></member>"
	                    "<member><name>faultString</name><value>no &lt;such&gt; method</value>"
	                    "</member></struct></value></fault></methodResponse>");
	struct rpc_xml_msg m = parse_ok(buf_cstr(&b));
	assert_int_equal(m.kind, RPC_XML_FAULT);
	assert_int_equal(rpc_struct_get(&m.params, "faultCode")->u.i, -32601);
	assert_string_equal(rpc_struct_get(&m.params, "faultString")->u.s.p, "no <such> method");
	rpc_xml_msg_free(&m);
	buf_free(&b);
}

/* ---- randomised round trip ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static struct rpc_value rnd_string(void)
{
	static const char *const pieces[] = {"a",
	                                     "Z",
	                                     "0",
	                                     " ",
	                                     "<",
	                                     ">",
	                                     "&",
	                                     "\"",
	                                     "'",
	                                     "\t",
	                                     "\n",
	                                     "\xc3\xa9",
	                                     "\xe2\x82\xac",
	                                     "]]>",
	                                     "&amp;",
	                                     "\xf0\x9f\x98\x80"};
	struct buf b = BUF_INIT;
	uint32_t n = rnd(8);
	for (uint32_t i = 0; i < n; i++)
		buf_adds(&b, pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
	struct rpc_value v = rpc_string_n(b.p ? b.p : "", b.len);
	buf_free(&b);
	return v;
}

/* A random value and, in *expect, what the XML-RPC dialect reads back: ints
 * are written untyped, so they come back as their decimal strings. */
static struct rpc_value rnd_value(int depth, struct rpc_value *expect)
{
	uint32_t k = rnd(depth > 4 ? 5 : 7);
	struct rpc_value v;
	char tmp[32];
	switch (k) {
	case 0:
		v = rpc_nil();
		break;
	case 1:
		v = rpc_bool(rnd(2));
		break;
	case 2:
		v = rpc_int((int64_t)rnd(2000000) - 1000000);
		snprintf(tmp, sizeof(tmp), "%" PRId64, v.u.i);
		*expect = rpc_string(tmp);
		return v;
	case 3: /* exactly representable in 16 significant digits */
		v = rpc_double(((double)rnd(1u << 20) - (1u << 19)) / 1024.0);
		break;
	case 4:
		v = rnd_string();
		break;
	case 5: {
		v = rpc_array();
		*expect = rpc_array();
		uint32_t n = rnd(5);
		for (uint32_t i = 0; i < n; i++) {
			struct rpc_value e;
			struct rpc_value item = rnd_value(depth + 1, &e);
			rpc_array_push(&v, item);
			rpc_array_push(expect, e);
		}
		return v;
	}
	default: {
		v = rpc_struct();
		*expect = rpc_struct();
		uint32_t n = rnd(5);
		for (uint32_t i = 0; i < n; i++) {
			struct rpc_value name = rnd_string();
			struct rpc_value e;
			struct rpc_value item = rnd_value(depth + 1, &e);
			rpc_struct_add(&v, name.u.s.p, item);
			rpc_struct_add(expect, name.u.s.p, e);
			rpc_value_free(&name);
		}
		return v;
	}
	}
	*expect = rpc_value_copy(&v);
	return v;
}

static void test_round_trip(void **state)
{
	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		struct rpc_value expect;
		struct rpc_value v = rnd_value(0, &expect);
		struct buf b = BUF_INIT;
		rpc_xml_write_success(&b, &v);
		struct rpc_xml_msg m;
		char err[300];
		if (rpc_xml_parse(b.p, b.len, NULL, &m, err, sizeof(err)) != 0)
			fail_msg("iteration %d: %s\n%s", iter, err, buf_cstr(&b));
		const struct rpc_value *got = rpc_struct_get(&m.params.u.a.items[0], "Value");
		assert_non_null(got);
		if (!rpc_value_equal(got, &expect))
			fail_msg("iteration %d: round trip differs\n%s", iter, buf_cstr(&b));
		rpc_xml_msg_free(&m);
		/* And a call with the value as its only param. */
		buf_reset(&b);
		struct rpc_value params = rpc_array();
		rpc_array_push(&params, v);
		rpc_xml_write_call(&b, "m.x", &params);
		assert_int_equal(rpc_xml_parse(b.p, b.len, NULL, &m, err, sizeof(err)), 0);
		assert_string_equal(m.method, "m.x");
		assert_true(rpc_value_equal(&m.params.u.a.items[0], &expect));
		rpc_xml_msg_free(&m);
		rpc_value_free(&params);
		rpc_value_free(&expect);
		buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_python_request), cmocka_unit_test(test_value_rules),
	    cmocka_unit_test(test_documents),      cmocka_unit_test(test_hostile_dtd),
	    cmocka_unit_test(test_limits),         cmocka_unit_test(test_truncation_and_chunks),
	    cmocka_unit_test(test_encoder),        cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
