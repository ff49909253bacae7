/*
 * The log (util/log.c): a message carrying untrusted text (a plugin file
 * named with a newline and terminal escape codes) stays one line, its
 * control characters written as \xNN, so it cannot forge another line or
 * move the terminal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* What one log call writes to stderr. */
static void logged(const char *name, char *out, size_t cap)
{
	char path[] = "/tmp/rrdd-test-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	log_warn("plugin %s: page refused", name);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(fd, out, cap - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
}

static void test_controls_escaped(void **state)
{
	(void)state;
	char out[2048];
	logged("evil\nrrdd: error: forged line\x1b[2J\x7f\tend", out, sizeof(out));
	assert_string_equal(out, "rrdd: warning: plugin evil\\x0arrdd: error: forged "
	                         "line\\x1b[2J\\x7f\\x09end: page refused\n");
	/* ordinary text is untouched, UTF-8 included */
	logged("xcp-rrdd-cpu \xc2\xb5s", out, sizeof(out));
	assert_string_equal(out, "rrdd: warning: plugin xcp-rrdd-cpu \xc2\xb5s: page refused\n");
}

static void test_long_message_one_line(void **state)
{
	(void)state;
	char name[3000], out[4096];
	for (size_t i = 0; i < sizeof(name) - 1; i++)
		name[i] = i % 7 ? 'a' : '\n';
	name[sizeof(name) - 1] = 0;
	logged(name, out, sizeof(out));
	size_t n = strlen(out);
	assert_true(n > 100 && out[n - 1] == '\n');
	assert_null(memchr(out, '\n', n - 1)); /* one line, whatever its length */
}

/* Journal lines carry the syslog priority; a facility other than daemon
 * (xcp-rrdd's local5) goes into it, so journald files the line under it. */
static void test_journal_facility(void **state)
{
	(void)state;
	char out[512];
	setenv("JOURNAL_STREAM", "8:1", 1);
	log_init("rrdd", LOG_TO_STDERR, LOG_INFO);
	logged("p", out, sizeof(out));
	assert_string_equal(out, "<4>plugin p: page refused\n");
	int fac = -1;
	assert_int_equal(log_facility_parse("local5", &fac), 0);
	assert_int_equal(fac, LOG_LOCAL5);
	assert_string_equal(log_facility_name(fac), "local5");
	assert_int_not_equal(log_facility_parse("local8", &fac), 0);
	log_set_facility(LOG_LOCAL5);
	log_init("rrdd", LOG_TO_STDERR, LOG_INFO);
	logged("p", out, sizeof(out));
	assert_string_equal(out, "<172>plugin p: page refused\n"); /* 21 << 3 | 4 */
	log_set_facility(LOG_DAEMON);
	unsetenv("JOURNAL_STREAM");
	log_init("rrdd", LOG_TO_STDERR, LOG_INFO);
}

int main(void)
{
	unsetenv("JOURNAL_STREAM"); /* the plain stderr form */
	log_init("rrdd", LOG_TO_STDERR, LOG_INFO);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_controls_escaped),
	    cmocka_unit_test(test_long_message_one_line),
	    cmocka_unit_test(test_journal_facility),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
