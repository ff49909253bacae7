/*
 * Unit tests of the strict JSON parser (util/json_parse): ordered multimap
 * objects with duplicate keys, nesting and size limits, string escapes
 * (including \u surrogate pairs and '\/'), UTF-8 validation, numbers,
 * literals and rejection of trailing garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_parse.h"

static struct jp_doc *parse_ok(const char *s)
{
	struct jp_doc *d = NULL;
	char err[200];
	int rc = jp_parse(s, strlen(s), NULL, &d, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse of <%s> failed: %s", s, err);
	assert_non_null(d);
	return d;
}

static int parse_rc(const char *s, size_t len, const struct jp_limits *lim)
{
	struct jp_doc *d = (struct jp_doc *)1;
	char err[200] = "untouched";
	int rc = jp_parse(s, len, lim, &d, err, sizeof(err));
	if (rc == 0) {
		jp_free(d);
	} else {
		assert_null(d);
		/* Every error names its byte offset. */
		assert_non_null(strstr(err, "offset"));
	}
	return rc;
}

static void expect_bad(const char *s)
{
	int rc = parse_rc(s, strlen(s), NULL);
	if (rc != -EINVAL)
		fail_msg("<%s>: expected -EINVAL, got %d", s, rc);
}

static void test_duplicates_kept_in_order(void **state)
{
	struct jp_doc *d = parse_ok("{\"a\":1,\"b\":\"x\",\"a\":2,\"a\":{\"n\":[3]},\"c\":null}");
	const struct jp_node *root = jp_root(d), *k, *v;
	assert_int_equal(root->type, JP_OBJECT);
	assert_int_equal(root->len, 5);
	const char *keys[] = {"a", "b", "a", "a", "c"};
	int types[] = {JP_NUMBER, JP_STRING, JP_NUMBER, JP_OBJECT, JP_NULL};
	struct jp_iter it;
	jp_iter_init(&it, d, root);
	for (int i = 0; i < 5; i++) {
		assert_true(jp_next_member(&it, &k, &v));
		assert_string_equal(jp_str(d, k), keys[i]);
		assert_int_equal(v->type, types[i]);
	}
	assert_false(jp_next_member(&it, &k, &v));
	/* jp_get returns the first occurrence. */
	v = jp_get(d, root, "a");
	assert_non_null(v);
	assert_true(v->num == 1.0);
	v = jp_get(d, root, "c");
	assert_non_null(v);
	assert_int_equal(v->type, JP_NULL);
	assert_null(jp_get(d, root, "zz"));
	jp_free(d);
}

static void test_skip_nested(void **state)
{
	struct jp_doc *d = parse_ok(
	    " {\"a\":{\"x\":[1,[2,[]],{\"y\":{}}],\"z\":\"s\"},\"b\":4, \"e\":[] ,\"o\":{}}\n");
	const struct jp_node *root = jp_root(d);
	const struct jp_node *b = jp_get(d, root, "b");
	assert_non_null(b);
	assert_true(b->num == 4.0);
	const struct jp_node *a = jp_get(d, root, "a");
	const struct jp_node *x = jp_get(d, a, "x");
	assert_int_equal(x->type, JP_ARRAY);
	assert_int_equal(x->len, 3);
	struct jp_iter it;
	const struct jp_node *v;
	jp_iter_init(&it, d, x);
	assert_true(jp_next_item(&it, &v));
	assert_true(v->num == 1.0);
	assert_true(jp_next_item(&it, &v));
	assert_int_equal(v->type, JP_ARRAY);
	assert_int_equal(v->len, 2);
	assert_true(jp_next_item(&it, &v));
	assert_int_equal(v->type, JP_OBJECT);
	assert_false(jp_next_item(&it, &v));
	assert_string_equal(jp_str(d, jp_get(d, a, "z")), "s");
	assert_int_equal(jp_get(d, root, "e")->len, 0);
	assert_int_equal(jp_get(d, root, "o")->len, 0);
	/* jp_get on a non-object is NULL. */
	assert_null(jp_get(d, x, "a"));
	jp_free(d);
}

static void test_depth_limit(void **state)
{
	char buf[300];
	/* 64 nested arrays: allowed by the default limit; 65: not. */
	memset(buf, '[', 64);
	memset(buf + 64, ']', 64);
	assert_int_equal(parse_rc(buf, 128, NULL), 0);
	memset(buf, '[', 65);
	memset(buf + 65, ']', 65);
	assert_int_equal(parse_rc(buf, 130, NULL), -E2BIG);
	/* Deep garbage is refused by the limit before it is parsed. */
	memset(buf, '[', sizeof(buf));
	assert_int_equal(parse_rc(buf, sizeof(buf), NULL), -E2BIG);
	struct jp_limits lim = {.max_depth = 2};
	assert_int_equal(parse_rc("{\"a\":[1]}", 9, &lim), 0);
	assert_int_equal(parse_rc("{\"a\":[[1]]}", 11, &lim), -E2BIG);
	assert_int_equal(parse_rc("[{\"a\":{}}]", 10, &lim), -E2BIG);
}

static void test_size_limits(void **state)
{
	struct jp_limits lim = {.max_nodes = 4};
	assert_int_equal(parse_rc("[1,2,3]", 7, &lim), 0);
	assert_int_equal(parse_rc("[1,2,3,4]", 9, &lim), -E2BIG);
	assert_int_equal(parse_rc("{\"a\":1,\"b\":2}", 13, &lim), -E2BIG);
	struct jp_limits lim2 = {.max_input = 8};
	assert_int_equal(parse_rc("[1,2,3]", 7, &lim2), 0);
	assert_int_equal(parse_rc("[1,2,3]  ", 9, &lim2), -E2BIG);
}

static void test_escapes(void **state)
{
	struct jp_doc *d =
	    parse_ok("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"a\\/b\", \"\\u00e9\\u20AC\","
	             " \"\\ud83d\\ude00\", \"x\\u0000y\", \"\\u0041\"]");
	struct jp_iter it;
	const struct jp_node *v;
	jp_iter_init(&it, d, jp_root(d));
	assert_true(jp_next_item(&it, &v));
	assert_string_equal(jp_str(d, v), "\"\\/\b\f\n\r\t");
	assert_int_equal(v->len, 8);
	assert_true(jp_next_item(&it, &v));
	assert_string_equal(jp_str(d, v), "a/b");
	assert_true(jp_next_item(&it, &v));
	assert_string_equal(jp_str(d, v), "\xc3\xa9\xe2\x82\xac");
	assert_true(jp_next_item(&it, &v));
	assert_string_equal(jp_str(d, v), "\xf0\x9f\x98\x80"); /* U+1F600 */
	assert_true(jp_next_item(&it, &v));
	assert_int_equal(v->len, 3);
	assert_memory_equal(jp_str(d, v), "x\0y", 4);
	assert_false(jp_str_eq(d, v, "x"));
	assert_true(jp_next_item(&it, &v));
	assert_true(jp_str_eq(d, v, "A"));
	jp_free(d);

	expect_bad("\"\\ud83d\"");        /* lone high surrogate */
	expect_bad("\"\\ud83dx\"");       /* high surrogate, no escape after */
	expect_bad("\"\\ud83d\\u0041\""); /* high surrogate + non-low */
	expect_bad("\"\\ude00\"");        /* lone low surrogate */
	expect_bad("\"\\u12\"");          /* short \u */
	expect_bad("\"\\u12g4\"");        /* bad hex */
	expect_bad("\"\\x41\"");          /* unknown escape */
	expect_bad("\"\\'\"");
	expect_bad("\"abc");    /* unterminated */
	expect_bad("\"abc\\");  /* unterminated escape */
	expect_bad("\"a\tb\""); /* raw control character */
	expect_bad("\"a\nb\"");
}

/* Regression (fuzz_meta, UBSan): an empty first string used to memcpy from
 * an empty pool (NULL + 0). */
static void test_empty_strings(void **state)
{
	struct jp_doc *d = parse_ok("\"\"");
	assert_int_equal(jp_root(d)->type, JP_STRING);
	assert_int_equal(jp_root(d)->len, 0);
	assert_string_equal(jp_str(d, jp_root(d)), "");
	jp_free(d);
	d = parse_ok("{\"\":\"\"}");
	const struct jp_node *v = jp_get(d, jp_root(d), "");
	assert_non_null(v);
	assert_true(jp_str_eq(d, v, ""));
	jp_free(d);
}

static void test_utf8(void **state)
{
	struct jp_doc *d = parse_ok("\"\xce\xbcs \xe2\x82\xac \xf0\x9f\x98\x80\"");
	assert_string_equal(jp_str(d, jp_root(d)), "\xce\xbcs \xe2\x82\xac \xf0\x9f\x98\x80");
	jp_free(d);
	expect_bad("\"\xff\"");
	expect_bad("\"\xc0\xaf\"");         /* overlong '/' */
	expect_bad("\"\xe0\x80\xaf\"");     /* overlong */
	expect_bad("\"\xed\xa0\x80\"");     /* UTF-16 surrogate */
	expect_bad("\"\xf4\x90\x80\x80\""); /* > U+10FFFF */
	expect_bad("\"\xce\"");             /* truncated */
	expect_bad("\"\xe2\x82\"");
	/* ... unless the caller allows raw bytes. */
	struct jp_limits lim = {.flags = JP_F_ALLOW_BAD_UTF8};
	struct jp_doc *d2 = NULL;
	char err[100];
	assert_int_equal(jp_parse("\"a\xffz\"", 5, &lim, &d2, err, sizeof(err)), 0);
	assert_memory_equal(jp_str(d2, jp_root(d2)), "a\xffz", 4);
	jp_free(d2);
}

static void test_trailing_garbage(void **state)
{
	expect_bad("{} x");
	expect_bad("{}}");
	expect_bad("1 2");
	expect_bad("[1,2]]");
	expect_bad("{\"a\":1}\"");
	assert_int_equal(parse_rc("{}\0", 3, NULL), -EINVAL);
	expect_bad("");
	expect_bad("   ");
	expect_bad("[1,]");
	expect_bad("{\"a\":1,}");
	expect_bad("{\"a\" 1}");
	expect_bad("{a:1}");
	expect_bad("{'a':1}");
	expect_bad("[1 2]");
	expect_bad("[");
	expect_bad("{\"a\":");
	/* Whitespace around the value is fine (JSON whitespace only). */
	struct jp_doc *d = parse_ok(" \t\r\n{ \"a\" : [ 1 , 2 ] } \r\n\t ");
	jp_free(d);
	expect_bad("\f{}");
	expect_bad("{}\v");
	/* The length is respected: no reading past it, no NUL needed. */
	assert_int_equal(parse_rc("[1,2]", 4, NULL), -EINVAL);
	assert_int_equal(parse_rc("[1,2]xyz", 5, NULL), 0);
	assert_int_equal(parse_rc("\"abc\"", 4, NULL), -EINVAL);
	assert_int_equal(parse_rc("true", 3, NULL), -EINVAL);
}

static void test_literals(void **state)
{
	struct jp_doc *d = parse_ok("[true,false,null]");
	struct jp_iter it;
	const struct jp_node *v;
	jp_iter_init(&it, d, jp_root(d));
	assert_true(jp_next_item(&it, &v));
	assert_int_equal(v->type, JP_TRUE);
	assert_true(jp_next_item(&it, &v));
	assert_int_equal(v->type, JP_FALSE);
	assert_true(jp_next_item(&it, &v));
	assert_int_equal(v->type, JP_NULL);
	assert_string_equal(jp_str(d, v), "");
	jp_free(d);
	expect_bad("tru");
	expect_bad("True");
	expect_bad("nul");
	expect_bad("nulll");
	expect_bad("NaN");
	expect_bad("Infinity");
	expect_bad("-Infinity");
	expect_bad("undefined");
}

static void num(const char *s, double want, int is_int)
{
	struct jp_doc *d = parse_ok(s);
	const struct jp_node *n = jp_root(d);
	assert_int_equal(n->type, JP_NUMBER);
	if (n->num != want)
		fail_msg("<%s> = %.17g, expected %.17g", s, n->num, want);
	assert_int_equal(n->is_int, is_int);
	assert_string_equal(jp_str(d, n), s);
	jp_free(d);
}

static void test_numbers(void **state)
{
	num("0", 0.0, 1);
	num("-0", -0.0, 1);
	num("42", 42.0, 1);
	num("-12", -12.0, 1);
	num("1.5", 1.5, 0);
	num("1.5e3", 1500.0, 0);
	num("1E-2", 0.01, 0);
	num("2e+2", 200.0, 0);
	num("0.1", 0.1, 0);
	num("1700000000.5", 1700000000.5, 0);
	num("1e400", INFINITY, 0); /* overflows to infinity, still a number */
	expect_bad("01");
	expect_bad("-01");
	expect_bad("1.");
	expect_bad(".5");
	expect_bad("+1");
	expect_bad("-");
	expect_bad("1e");
	expect_bad("1e+");
	expect_bad("0x10");
	expect_bad("1.2.3");
	expect_bad("--1");

	struct jp_doc *d =
	    parse_ok("[9223372036854775807,-9223372036854775808,9223372036854775808,1.0,-1]");
	struct jp_iter it;
	const struct jp_node *v;
	int64_t i;
	jp_iter_init(&it, d, jp_root(d));
	assert_true(jp_next_item(&it, &v));
	assert_int_equal(jp_int64(d, v, &i), 0);
	assert_true(i == INT64_MAX);
	assert_true(jp_next_item(&it, &v));
	assert_int_equal(jp_int64(d, v, &i), 0);
	assert_true(i == INT64_MIN);
	assert_true(jp_next_item(&it, &v));
	assert_int_equal(jp_int64(d, v, &i), -ERANGE);
	assert_true(jp_next_item(&it, &v));
	assert_int_equal(jp_int64(d, v, &i), -EINVAL); /* not an integer token */
	assert_true(jp_next_item(&it, &v));
	assert_int_equal(jp_int64(d, v, &i), 0);
	assert_true(i == -1);
	jp_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duplicates_kept_in_order),
	    cmocka_unit_test(test_skip_nested),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_size_limits),
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_empty_strings),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_trailing_garbage),
	    cmocka_unit_test(test_literals),
	    cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
