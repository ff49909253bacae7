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

int main(void)
{
	unsetenv("JOURNAL_STREAM"); /* the plain stderr form */
	log_init("rrdd", LOG_TO_STDERR, LOG_INFO);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_controls_escaped),
	    cmocka_unit_test(test_long_message_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
