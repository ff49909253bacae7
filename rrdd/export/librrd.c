/*
 * librrd loaded on first use (see librrd.h): dlopen of the first soname
 * found, dlsym of every function of struct lrd_api, the outcome kept for
 * the life of the process under a once-guard.
 */
#include "export/librrd.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* rrdtool 1.5 and later (Debian's librrd8), then the development link. */
static const char *const sonames[] = {"librrd.so.8", "librrd.so"};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct lrd_api api;
static int loaded;
static char reason[512];

#define SYM(field, name)                                                                           \
	{                                                                                          \
#name, offsetof(struct lrd_api, field)                                             \
	}

static const struct {
	const char *name;
	size_t off;
} syms[] = {
    SYM(restore, rrd_restore),
    SYM(graph_v, rrd_graph_v),
    SYM(info_free, rrd_info_free),
    SYM(get_error, rrd_get_error),
    SYM(clear_error, rrd_clear_error),
    SYM(c_connect, rrdc_connect),
    SYM(c_is_connected, rrdc_is_connected),
    SYM(c_disconnect, rrdc_disconnect),
    SYM(c_last, rrdc_last),
    SYM(c_update, rrdc_update),
    SYM(c_create_r2, rrdc_create_r2),
};

static void load(void)
{
	void *h = NULL;
	char first[256] = "";
	for (size_t i = 0; i < sizeof(sonames) / sizeof(sonames[0]) && !h; i++) {
		h = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
		if (!h && !first[0]) {
			const char *e = dlerror();
			snprintf(first, sizeof(first), "%s", e ? e : sonames[i]);
		}
	}
	if (!h) {
		snprintf(reason, sizeof(reason),
		         "librrd cannot be loaded (rrdtool's library, package librrd8): %s", first);
		return;
	}
	struct lrd_api t;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h, syms[i].name);
		if (!f) {
			snprintf(reason, sizeof(reason),
			         "the librrd installed has no %s (rrdtool 1.5 or later is needed)",
			         syms[i].name);
			dlclose(h);
			return;
		}
		/* POSIX guarantees data and function pointers convert through
		 * dlsym's void *; copy the representation. */
		memcpy((char *)&t + syms[i].off, &f, sizeof(f));
	}
	api = t;
	loaded = 1;
}

const struct lrd_api *lrd_get(char *err, size_t errlen)
{
	pthread_once(&once, load);
	if (loaded)
		return &api;
	if (err && errlen)
		snprintf(err, errlen, "%s", reason);
	return NULL;
}
