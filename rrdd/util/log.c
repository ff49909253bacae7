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
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_reopen(void)
{
	if (log_target == LOG_TO_SYSLOG) {
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
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

void log_msg(int level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	int saved = errno;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	if (log_target == LOG_TO_SYSLOG) {
		vsnprintf(line, sizeof(line), fmt, ap);
		syslog(level, "%s", line);
	} else {
		int n = log_journal ? snprintf(line, sizeof(line), "<%d>", level)
		                    : snprintf(line, sizeof(line), "%s: %s: ", log_ident,
		                               log_level_name(level));
		if (n < 0)
			n = 0;
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
		size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
		if (len > sizeof(line) - 2)
			len = sizeof(line) - 2;
		line[len++] = '\n';
		ssize_t w = write(STDERR_FILENO, line, len);
		(void)w;
	}
	va_end(ap);
	errno = saved;
}
