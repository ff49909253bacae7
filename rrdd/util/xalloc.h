/*
 * Allocation wrappers for the daemon: allocation failure aborts with a
 * message.  (The plugins-api library never uses these: it returns errors.)
 */
#ifndef RRDD_XALLOC_H
#define RRDD_XALLOC_H

#include <stddef.h>

/* malloc/calloc/realloc/strdup that abort on failure; never return NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
