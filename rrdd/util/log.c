/*
 * The daemon's log (see log.h).  Formats each message into a local buffer
 * and emits it with a single write(2) or syslog(3) call, so lines from
 * several threads never interleave.  Must not allocate or abort.
 */
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_ident = "rrdd";
static enum log_target log_target = LOG_TO_STDERR;
static int log_level = LOG_INFO;
static int log_facility = LOG_DAEMON;
static bool log_journal; /* stderr is connected to journald */

static const struct {
	const char *name;
	int level;
} levels[] = {
    {"err", LOG_ERR},       {"error", LOG_ERR}, {"warning", LOG_WARNING}, {"warn", LOG_WARNING},
    {"notice", LOG_NOTICE}, {"info", LOG_INFO}, {"debug", LOG_DEBUG},
};

void log_init(const char *ident, enum log_target target, int level)
{
	if (log_target == LOG_TO_SYSLOG)
		closelog();
	log_ident = ident ? ident : "rrdd";
	log_target = target;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (target == LOG_TO_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, log_facility);
}

void log_reopen(void)
{
	if (log_target == LOG_TO_SYSLOG) {
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, log_facility);
	}
}

int log_level_parse(const char *s, int *level)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(s, levels[i].name) == 0) {
			*level = levels[i].level;
			return 0;
		}
	return -EINVAL;
}

static const struct {
	const char *name;
	int facility;
} facilities[] = {
    {"daemon", LOG_DAEMON}, {"user", LOG_USER},     {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

void log_set_facility(int facility)
{
	log_facility = facility;
}

int log_facility_parse(const char *s, int *facility)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(s, facilities[i].name) == 0) {
			*facility = facilities[i].facility;
			return 0;
		}
	return -EINVAL;
}

const char *log_facility_name(int facility)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (facilities[i].facility == facility)
			return facilities[i].name;
	return "?";
}

const char *log_level_name(int level)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "?";
}

bool log_enabled(int level)
{
	return level <= log_level;
}

/* Messages carry names that come from outside (plugin files, uuids, paths,
 * request fields): control characters are written as \xNN so that one
 * message stays one line and cannot move the terminal or forge another
 * line.  In place into out (at most cap - 1 bytes, NUL-terminated). */
static size_t escape_controls(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < cap; p++) {
		if (*p >= 0x20 && *p != 0x7f) {
			out[o++] = (char)*p;
			continue;
		}
		if (o + 5 >= cap)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[*p >> 4];
		out[o++] = hex[*p & 15];
	}
	out[o] = 0;
	return o;
}

void log_msg(int level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	int saved = errno;
	char text[1024], line[1100];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (log_target == LOG_TO_SYSLOG) {
		escape_controls(text, line, sizeof(line));
		syslog(level, "%s", line);
	} else {
		int n = log_journal
		            ? snprintf(line, sizeof(line), "<%d>",
		                       level | (log_facility == LOG_DAEMON ? 0 : log_facility))
		            : snprintf(line, sizeof(line), "%s: %s: ", log_ident,
		                       log_level_name(level));
		if (n < 0)
			n = 0;
		size_t len =
		    (size_t)n + escape_controls(text, line + n, sizeof(line) - (size_t)n - 1);
		line[len++] = '\n';
		ssize_t w = write(STDERR_FILENO, line, len);
		(void)w;
	}
	errno = saved;
}
