/*
 * Name indices (nameidx.h).
 */
#include "util/nameidx.h"

#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/xalloc.h"

static void put(struct name_index *x, uint32_t i, const char *s)
{
	uint32_t mask = x->n - 1;
	uint32_t h = str_hash(s) & mask;
	while (x->slot[h])
		h = (h + 1) & mask;
	x->slot[h] = i + 1;
}

void nidx_rebuild(struct name_index *x, uint32_t count, nidx_name_fn name, const void *ctx)
{
	uint32_t n = 32;
	while (n < 2 * count)
		n *= 2;
	if (n != x->n) {
		free(x->slot);
		x->slot = xmalloc(sizeof(*x->slot) * n);
		x->n = n;
	}
	memset(x->slot, 0, sizeof(*x->slot) * n);
	for (uint32_t i = 0; i < count; i++)
		put(x, i, name(ctx, i));
}

void nidx_append(struct name_index *x, uint32_t count, nidx_name_fn name, const void *ctx)
{
	if (x->n < 2 * count)
		nidx_rebuild(x, count, name, ctx);
	else
		put(x, count - 1, name(ctx, count - 1));
}

int nidx_find(const struct name_index *x, const char *s, uint32_t count, nidx_name_fn name,
              const void *ctx)
{
	if (!x->n)
		return -1;
	uint32_t mask = x->n - 1;
	for (uint32_t h = str_hash(s) & mask; x->slot[h]; h = (h + 1) & mask) {
		uint32_t i = x->slot[h] - 1;
		if (i < count && strcmp(name(ctx, i), s) == 0)
			return (int)i;
	}
	return -1;
}

void nidx_free(struct name_index *x)
{
	free(x->slot);
	x->slot = NULL;
	x->n = 0;
}
