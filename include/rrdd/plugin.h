/*
 * librrdd-plugin: the library for writing xcp-rrdd / rrdd metrics plugins.
 *
 * A plugin declares datasources ("sources"), sets their values and publishes
 * them as a protocol-V2 page in <dir>/<uid> (default /dev/shm/metrics/<uid>),
 * which the daemon reads every 5 seconds.  The library also speaks the
 * daemon's XML-RPC (Plugin.Local.register / next_reading / deregister) over
 * its Unix socket to time the samples.  See plugins-api/README.md.
 *
 * Contract of the whole library: it never aborts, exits or raises a signal in
 * the host process and installs no signal handlers; every failure (including
 * allocation failure) is returned as a negative errno, with a message for
 * the calling thread in rrdp_error_message().  All calls on one handle (and
 * its sources) are serialised by a lock inside the handle, so several threads
 * may share a handle; distinct handles are independent.  Every exported
 * symbol starts with rrdp_ / RRDP_.
 */
#ifndef RRDD_PLUGIN_H
#define RRDD_PLUGIN_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RRDP_API __attribute__((visibility("default")))
#else
#define RRDP_API
#endif

#define RRDP_VERSION_MAJOR 1
#define RRDP_VERSION_MINOR 0

#define RRDP_DEFAULT_DIR    "/dev/shm/metrics"
#define RRDP_DEFAULT_SOCKET "/var/lib/xcp/xcp-rrdd"
/* Seconds before the daemon's reading at which rrdp_wait_next() wakes up. */
#define RRDP_DEFAULT_NEG_SHIFT 0.5
/* Period used by rrdp_wait_next() when the daemon cannot be asked. */
#define RRDP_DEFAULT_PERIOD 5.0

struct rrdp_plugin; /* a plugin handle: one page file, one uid */
struct rrdp_source; /* one datasource of a plugin */

/* Options of rrdp_plugin_new(); a zeroed struct (or NULL) means defaults. */
struct rrdp_options {
	const char *dir;         /* page directory; NULL: RRDP_DEFAULT_DIR */
	const char *socket_path; /* daemon socket; NULL: RRDP_DEFAULT_SOCKET; "": no RPC */
	double neg_shift;        /* seconds; 0: RRDP_DEFAULT_NEG_SHIFT; < 0: none */
	double period;           /* fallback period, seconds; 0: RRDP_DEFAULT_PERIOD */
	double rpc_timeout;      /* seconds per RPC; 0: 5 */
	/* Write the page in place (header, values, metadata, data CRC last)
	 * instead of rename-over.  Only for the reference OCaml xcp-rrdd,
	 * which maps the file once and never notices a rename: readers may see
	 * torn pages, which the CRCs reject.  See README "Publishing". */
	bool in_place;
};

enum rrdp_owner { RRDP_OWNER_HOST, RRDP_OWNER_VM, RRDP_OWNER_SR };
enum rrdp_type { RRDP_GAUGE, RRDP_ABSOLUTE, RRDP_DERIVE };
enum rrdp_value_type { RRDP_INT64, RRDP_FLOAT };
enum rrdp_transform { RRDP_IDENTITY, RRDP_INVERSE };

/* Definition of a source.  Start from RRDP_SOURCE_DEF_INIT (min -inf, max
 * +inf) and set the fields you need; the strings are copied. */
struct rrdp_source_def {
	const char *name;       /* required, non-empty UTF-8, no control characters */
	enum rrdp_owner owner;  /* default host */
	const char *owner_uuid; /* VM or SR uuid (8-4-4-4-12 hex); NULL for the host */
	enum rrdp_type type;    /* gauge, absolute (rate = value / interval), derive */
	enum rrdp_value_type value_type;
	const char *units;             /* UTF-8, NULL = "" */
	const char *description;       /* UTF-8, NULL = "" */
	double min, max;               /* range; values outside become Unknown in the daemon */
	bool is_default;               /* recorded in the owner's RRD without being enabled */
	enum rrdp_transform transform; /* inverse: the daemon stores 1 - x */
};

#define RRDP_SOURCE_DEF_INIT                                                                       \
	{                                                                                          \
		.name = NULL, .owner = RRDP_OWNER_HOST, .owner_uuid = NULL, .type = RRDP_GAUGE,    \
		.value_type = RRDP_FLOAT, .units = NULL, .description = NULL, .min = -INFINITY,    \
		.max = INFINITY, .is_default = false, .transform = RRDP_IDENTITY                   \
	}

/* Create a handle for plugin `uid` ([A-Za-z0-9_.-], 1..200 bytes, not
 * starting with '.' or "tap-", not ending in ".tmp"), whose page is
 * <dir>/<uid>.  Opens the directory (which must exist: -ENOENT otherwise)
 * but writes nothing until rrdp_publish().  Returns 0 and *out, or a
 * negative errno with *out NULL. */
RRDP_API int rrdp_plugin_new(struct rrdp_plugin **out, const char *uid,
                             const struct rrdp_options *opts);

/* Deregister from the daemon (if this handle registered), unlink the page,
 * and free the handle and all its sources.  Always frees; returns 0 or the
 * first error met (a missing daemon or file is not an error; a deregistration
 * that times out is tried three times in all).  NULL: no-op. */
RRDP_API int rrdp_plugin_close(struct rrdp_plugin *p);

/* Free the handle without deregistering or unlinking (e.g. in a child after
 * fork, or to leave the last page for a successor).  NULL: no-op. */
RRDP_API void rrdp_plugin_free(struct rrdp_plugin *p);

/* The page's path, "<dir>/<uid>" (valid until the handle is freed). */
RRDP_API const char *rrdp_plugin_path(const struct rrdp_plugin *p);

/* Declare a source.  Returns 0 and *out (may be NULL if unwanted), or
 * -EINVAL (bad definition, message says which field), -EEXIST (same name
 * and owner already declared), -ENOMEM.  The new source's value is Unknown
 * (see rrdp_source_set_unknown) until set. */
RRDP_API int rrdp_source_add(struct rrdp_plugin *p, const struct rrdp_source_def *def,
                             struct rrdp_source **out);

/* Remove a source and free it (the pointer becomes invalid).  The next
 * publish regenerates the metadata.  Returns 0 or -EINVAL if it is not a
 * source of p. */
RRDP_API int rrdp_source_remove(struct rrdp_plugin *p, struct rrdp_source *s);

/* Number of declared sources. */
RRDP_API unsigned rrdp_source_count(const struct rrdp_plugin *p);

/* Set the value published next (values stay until changed).  An int64
 * source given a double, or a float source given an int64, converts it
 * (double -> int64 rounds to nearest and fails with -ERANGE if out of
 * range or NaN).  Returns 0 or a negative errno. */
RRDP_API int rrdp_source_set_int64(struct rrdp_source *s, int64_t v);
RRDP_API int rrdp_source_set_double(struct rrdp_source *s, double v);

/* Report "no value this time".  V2 pages cannot carry Unknown, so: a float
 * source publishes NaN (Unknown for every type); an int64 source publishes
 * INT64_MIN, which the daemon turns into Unknown by its range check, and
 * this works only when the range guarantees it: gauge/absolute need a
 * finite min >= -1e15, derive needs min >= 0 and a finite max <= 1e15.
 * Otherwise returns -EDOM and leaves the value unchanged.  (A derive source
 * is also Unknown for the sample after an Unknown, as in the daemon.) */
RRDP_API int rrdp_source_set_unknown(struct rrdp_source *s);

/* Whether rrdp_source_set_unknown() works for this source's definition. */
RRDP_API bool rrdp_source_can_be_unknown(const struct rrdp_source *s);

/* Publish the current values with the current wall-clock time (seconds
 * since the epoch, as a double).  Returns 0 or a negative errno (the old
 * page, if any, stays in place on failure). */
RRDP_API int rrdp_publish(struct rrdp_plugin *p);

/* Publish with an explicit timestamp (seconds since the epoch, finite). */
RRDP_API int rrdp_publish_at(struct rrdp_plugin *p, double timestamp);

/* Register with the daemon (Plugin.Local.register, Five_Seconds, V2) and
 * return in *next_reading (may be NULL) the seconds until its next reading.
 * Registering again is harmless (the daemon keeps the first registration).
 * -ENOENT / -ECONNREFUSED when the daemon is not running, -ENOTCONN if RPC
 * is disabled, -EPROTO for an unreadable answer, -EREMOTEIO if the daemon
 * answered Failure, -ETIMEDOUT. */
RRDP_API int rrdp_register(struct rrdp_plugin *p, double *next_reading);

/* Ask the daemon (Plugin.Local.next_reading) when it reads next: seconds,
 * negative (-1) if the daemon does not know this plugin.  Errors as for
 * rrdp_register(). */
RRDP_API int rrdp_next_reading(struct rrdp_plugin *p, double *next_reading);

/* Plugin.Local.deregister.  Errors as for rrdp_register(). */
RRDP_API int rrdp_deregister(struct rrdp_plugin *p);

/* Sleep until it is time to sample: registers (which also returns the time
 * of the daemon's next reading), then sleeps next_reading - neg_shift (plus
 * one period if that is under 0.1 s).  Without a daemon it sleeps until the
 * next multiple of the fallback period since the previous wake-up and
 * returns the RPC error, which the caller may ignore.  Returns -EINTR early
 * if a signal handler ran (check your stop flag).  *slept (may be NULL)
 * receives the seconds slept. */
RRDP_API int rrdp_wait_next(struct rrdp_plugin *p, double *slept);

/* Choose the page format: 2 (xcp-rrdd's protocol V2, the default) or 3
 * (xcp-metrics' protocol v3: an OpenMetrics protobuf page, one family per
 * source named as the source, the owner as a label, gauges as gauges and
 * derives as counters; min, max and default are the daemon's mapping's,
 * so they are not carried).  With 3, ABSOLUTE and inverse sources are
 * refused (-EINVAL), pages are written by rename-over, and rrdp_register /
 * rrdp_deregister call Plugin.Metrics.register / deregister.  Returns 0 or
 * -EINVAL. */
RRDP_API int rrdp_plugin_set_protocol(struct rrdp_plugin *p, int protocol);

/* ---- xcp-metrics' socket protocol ("v4") ----
 * A plugin connects to the daemon's metrics socket, declares families and
 * sets metrics (a metric is keyed by its family and a 16-byte uuid the
 * plugin chooses; its labels name it, "owner" = "vm <uuid>"/"sr <uuid>"
 * giving its owner); the daemon records them at every tick and drops them
 * when the connection closes.  No page file, no registration. */
#define RRDP_V4_DEFAULT_SOCKET "/var/lib/xcp/xcp-metrics"

struct rrdp_v4; /* one connection */
enum rrdp_v4_type { RRDP_V4_GAUGE, RRDP_V4_COUNTER };

/* Connect (socket_path NULL: RRDP_V4_DEFAULT_SOCKET).  Returns 0 and *out,
 * or a negative errno. */
RRDP_API int rrdp_v4_connect(struct rrdp_v4 **out, const char *socket_path);

/* Close the connection (its metrics go) and free it; NULL is a no-op. */
RRDP_API void rrdp_v4_close(struct rrdp_v4 *c);

/* CreateFamily (again: replaces its type, unit and help).  A counter's
 * values are running totals. */
RRDP_API int rrdp_v4_create_family(struct rrdp_v4 *c, const char *name, enum rrdp_v4_type type,
                                   const char *unit, const char *help);

/* RemoveFamily: the family and its metrics go. */
RRDP_API int rrdp_v4_remove_family(struct rrdp_v4 *c, const char *name);

/* UpdateMetric: set metric uuid of family to v with the n labels
 * names[i]=values[i] (at most 32). */
RRDP_API int rrdp_v4_update_double(struct rrdp_v4 *c, const char *family,
                                   const unsigned char uuid[16], const char *const *names,
                                   const char *const *values, size_t n, double v);
RRDP_API int rrdp_v4_update_int64(struct rrdp_v4 *c, const char *family,
                                  const unsigned char uuid[16], const char *const *names,
                                  const char *const *values, size_t n, int64_t v);

/* RemoveMetric. */
RRDP_API int rrdp_v4_remove_metric(struct rrdp_v4 *c, const char *family,
                                   const unsigned char uuid[16]);

/* FetchMetrics: the daemon's OpenMetrics exposition (text, or protobuf
 * when binary) in a malloc'ed *out of *len bytes (NUL-terminated). */
RRDP_API int rrdp_v4_fetch(struct rrdp_v4 *c, bool binary, char **out, size_t *len);

/* Message describing the last failure of an rrdp_ call in this thread ("" if
 * none).  Valid until the next rrdp_ call in this thread. */
RRDP_API const char *rrdp_error_message(void);

/* Library version, "MAJOR.MINOR.PATCH". */
RRDP_API const char *rrdp_version(void);

#ifdef __cplusplus
}
#endif

#endif
