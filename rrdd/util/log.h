/*
 * The daemon's log: one line per message to stderr (journald picks it up;
 * a "<N>" syslog priority prefix is added when stderr is the journal) or to
 * syslog(3).  Thread-safe (each message is one write).  Levels as syslog.
 * Pure library code (the engine, parsers, exporters) must not log; only the
 * daemon's effectful modules do, once, where a decision is made.
 */
#ifndef RRDD_UTIL_LOG_H
#define RRDD_UTIL_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG };

/* Set the target and the most verbose level printed (LOG_ERR..LOG_DEBUG);
 * may be called again (e.g. after option parsing).  ident names syslog
 * lines. */
void log_init(const char *ident, enum log_target target, int level);

/* The syslog facility (LOG_DAEMON by default; xcp-rrdd uses LOG_LOCAL5):
 * of syslog(3) lines, and put in the "<N>" prefix of journal lines when it
 * is not LOG_DAEMON (journald's default for services).  Call before
 * log_init. */
void log_set_facility(int facility);

/* Parse "daemon|user|local0..local7" into a facility; 0 or -EINVAL. */
int log_facility_parse(const char *s, int *facility);

/* Name of a facility ("local5"). */
const char *log_facility_name(int facility);

/* Reopen the log (SIGHUP): closes and reopens the syslog connection.
 * Safe to call from the main loop, not from a signal handler. */
void log_reopen(void);

/* Parse "err|error|warning|warn|notice|info|debug" into a syslog level;
 * 0 or -EINVAL. */
int log_level_parse(const char *s, int *level);

/* Name of a level ("info"). */
const char *log_level_name(int level);

/* Whether messages of this level are printed now. */
bool log_enabled(int level);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
