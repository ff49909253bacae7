/*
 * Internals shared by the files of librrdd-plugin: the handle and source
 * structures, the per-thread error message, and the helpers each file
 * provides (CRC32, metadata JSON, page file writing, XML-RPC client).
 *
 * Not installed.  Every non-static symbol here starts with rrdp_i_ and is
 * hidden, so the library exports only the API of include/rrdd/plugin.h and
 * cannot clash with the programs that link it statically.
 */
#ifndef RRDP_INTERNAL_H
#define RRDP_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rrdd/plugin.h"

#define RRDP_HIDDEN __attribute__((visibility("hidden")))

/* Strings of a source are limited so that metadata stays small. */
#define RRDP_MAX_NAME 1024
#define RRDP_MAX_TEXT 4096
#define RRDP_MAX_UID  200
/* Sources per plugin: the page must fit the 32-bit fields comfortably. */
#define RRDP_MAX_SOURCES 100000
/* Largest page written (daemons refuse larger files): 64 MiB. */
#define RRDP_MAX_PAGE (64 << 20)

struct rrdp_source {
	struct rrdp_plugin *plugin;
	char *name, *uuid, *units, *description; /* uuid "" for the host */
	enum rrdp_owner owner;
	enum rrdp_type type;
	enum rrdp_value_type value_type;
	enum rrdp_transform transform;
	double min, max;
	bool is_default;
	uint64_t bits; /* the 8 value bytes, host order: int64 or double bits */
};

struct rrdp_plugin {
	pthread_mutex_t lock;
	char *uid;
	char *dir;
	char *path;        /* dir/uid */
	char *socket_path; /* NULL: RPC disabled */
	int dirfd;
	double neg_shift, period, rpc_timeout;
	bool in_place;
	int protocol;    /* 2 (V2 pages) or 3 (xcp-metrics' v3 pages) */
	bool registered; /* an RPC register succeeded */
	bool published;  /* the page file exists (we wrote it) */

	struct rrdp_source **src;
	size_t nsrc, capsrc;

	/* The page image: header, values, metadata length and metadata, padded
	 * to a multiple of 4096.  Rebuilt when the set of sources changes. */
	unsigned char *page;
	size_t page_len;  /* meaningful bytes: 35 + 8n + M */
	size_t page_size; /* allocated, padded */
	bool meta_dirty;
	size_t file_size; /* in-place mode: size of the current file */
	int fd;           /* in-place mode: open page file, or -1 */

	struct timespec last_wake; /* CLOCK_MONOTONIC, for the fallback period */
	bool have_last_wake;
	uint64_t tmp_counter;
};

/* Set this thread's error message and return rc (a negative errno). */
RRDP_HIDDEN int rrdp_i_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clear this thread's error message. */
RRDP_HIDDEN void rrdp_i_clear_error(void);

/* zlib/IEEE CRC32 (reflected 0xEDB88320, init and xorout 0xFFFFFFFF). */
RRDP_HIDDEN uint32_t rrdp_i_crc32(const void *data, size_t len);

/* Append the metadata JSON of the sources to a malloc'ed buffer *out of
 * length *outlen.  Returns 0 or -ENOMEM. */
RRDP_HIDDEN int rrdp_i_meta_json(struct rrdp_source *const *src, size_t n, char **out,
                                 size_t *outlen);

/* Validate that s holds valid UTF-8 without control characters (other
 * than none at all).  Returns 0 or -EINVAL. */
RRDP_HIDDEN int rrdp_i_check_text(const char *s, size_t max, const char *what);

/* Write p->page[0..page_size) as the page file (rename-over or in place, as
 * configured).  Called with the lock held.  Returns 0 or a negative errno. */
RRDP_HIDDEN int rrdp_i_write_page(struct rrdp_plugin *p, bool meta_changed);

/* Unlink the page file (ENOENT is success).  Lock held. */
RRDP_HIDDEN int rrdp_i_unlink_page(struct rrdp_plugin *p);

/* Call `method` with the struct {uid} or {uid, info, protocol} (register)
 * on the daemon socket and return the double Value in *value (if not NULL;
 * methods returning unit leave it untouched).  Returns 0 or a negative
 * errno with the message set. */
RRDP_HIDDEN int rrdp_i_rpc_call(const char *socket_path, double timeout, const char *method,
                                const char *uid, bool with_register_args, double *value);

/* Build the XML-RPC request body for the call above into a malloc'ed
 * string (for tests through the RPC path only).  Returns NULL on ENOMEM. */
RRDP_HIDDEN char *rrdp_i_rpc_body(const char *method, const char *uid, bool with_register_args);

/* Whether a source can be carried by a v3 page (not ABSOLUTE, not
 * inverse).  Returns 0 or -EINVAL with the message set. */
RRDP_HIDDEN int rrdp_i_v3_check(const struct rrdp_source *s);

/* Make p->page the v3 page of the sources at timestamp (whole seconds).
 * Lock held.  Returns 0 or a negative errno with the message set. */
RRDP_HIDDEN int rrdp_i_v3_page(struct rrdp_plugin *p, double timestamp);

#endif
