/*
 * The running VMs' names (vmnames.h): an array under a mutex, replaced
 * when a sample differs.
 */
#include "daemon/vmnames.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct vmnames {
	pthread_mutex_t mu;
	struct vmname *v;
	size_t n;
};

struct vmnames *vmnames_new(void)
{
	struct vmnames *t = xcalloc(1, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

void vmnames_free(struct vmnames *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t->v);
	free(t);
}

static const char *old_name(const struct vmnames *t, const char *uuid)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].uuid, uuid))
			return t->v[i].name;
	return NULL;
}

void vmnames_update(struct vmnames *t, const struct src_snapshot *snap)
{
	struct vmname *v = xcalloc(snap->ndom ? snap->ndom : 1, sizeof(*v));
	size_t n = 0;
	pthread_mutex_lock(&t->mu);
	for (uint32_t i = 0; i < snap->ndom; i++) {
		const struct src_domain *d = &snap->dom[i];
		const char *name = d->name;
		if (d->flags & SRC_DOM_FAILED)
			name = old_name(t, d->uuid);
		if (!name || !name[0])
			continue;
		memcpy(v[n].uuid, d->uuid, sizeof(v[n].uuid));
		memcpy(v[n].name, name, sizeof(v[n].name));
		n++;
	}
	bool same = n == t->n && (n == 0 || !memcmp(v, t->v, n * sizeof(*v)));
	if (!same) {
		free(t->v);
		t->v = v;
		t->n = n;
		v = NULL;
	}
	pthread_mutex_unlock(&t->mu);
	free(v);
}

size_t vmnames_copy(struct vmnames *t, struct vmname **out)
{
	*out = NULL;
	if (!t)
		return 0;
	pthread_mutex_lock(&t->mu);
	size_t n = t->n;
	if (n) {
		*out = xmalloc(n * sizeof(**out));
		memcpy(*out, t->v, n * sizeof(**out));
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}
