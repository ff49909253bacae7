/*
 * Chunks (chunk.h): growable owner and sample arrays, and the conversion
 * from the hypervisor source's samples.  Pure: no I/O, no locks.
 */
#include "monitor/chunk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/catalogue.h"
#include "util/xalloc.h"

struct mon_chunk_owner *mon_chunk_add_owner(struct mon_chunk *c, enum mon_owner_kind kind,
                                            const char *uuid)
{
	if (c->nowner == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 8;
		c->owner = xrealloc(c->owner, sizeof(*c->owner) * cap);
		memset(c->owner + c->cap, 0, sizeof(*c->owner) * (cap - c->cap));
		c->cap = cap;
	}
	struct mon_chunk_owner *o = &c->owner[c->nowner++];
	o->kind = kind;
	o->nds = 0; /* keep o->ds and o->cap for reuse */
	o->layout = 0;
	o->vals = NULL;
	o->vstride = 0;
	mon_uuid_copy(o->uuid, uuid);
	return o;
}

struct mon_sample *mon_owner_add_sample(struct mon_chunk_owner *o)
{
	if (o->nds == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->ds = xrealloc(o->ds, sizeof(*o->ds) * o->cap);
	}
	struct mon_sample *s = &o->ds[o->nds++];
	memset(s, 0, sizeof(*s));
	return s;
}

void mon_chunk_clear(struct mon_chunk *c)
{
	for (uint32_t i = 0; i < c->cap; i++)
		free(c->owner[i].ds);
	free(c->owner);
	memset(c, 0, sizeof(*c));
}

void mon_chunk_reset(struct mon_chunk *c)
{
	c->nowner = 0;
	c->t = 0;
	c->uid[0] = 0;
}

int mon_chunk_from_samples(const struct src_samples *s, const char *uid, struct mon_chunk *c)
{
	mon_chunk_reset(c);
	snprintf(c->uid, sizeof(c->uid), "%s", uid);
	c->t = s->t;
	for (uint32_t i = 0; i < s->nowner; i++) {
		const struct src_owner *so = &s->owner[i];
		/* what this slot held after the previous conversion: with the
		 * same layout token its descriptors are already these */
		uint64_t had_layout = i < c->cap ? c->owner[i].layout : 0;
		uint32_t had_nds = i < c->cap ? c->owner[i].nds : 0;
		struct mon_chunk_owner *o = mon_chunk_add_owner(c, so->kind, so->uuid);
		if (o->cap < so->nds) {
			o->cap = so->nds;
			o->ds = xrealloc(o->ds, sizeof(*o->ds) * o->cap);
		}
		/* the values are read where the catalogue wrote them */
		o->vals = so->nds ? &so->ds[0].v : NULL;
		o->vstride = sizeof(*so->ds);
		if (so->layout && so->layout == had_layout && so->nds == had_nds) {
			o->nds = so->nds;
			o->layout = so->layout;
			continue;
		}
		for (uint32_t j = 0; j < so->nds; j++) {
			const struct src_ds *d = &so->ds[j];
			struct mon_sample *m = &o->ds[j];
			m->d = d->def->d; /* the family's descriptor, with this sample's name */
			m->d.name = d->name;
			m->d.description = d->description;
		}
		o->nds = so->nds;
		o->layout = so->layout;
	}
	return 0;
}

const char *mon_owner_kind_name(enum mon_owner_kind k)
{
	switch (k) {
	case MON_HOST:
		return "host";
	case MON_VM:
		return "vm";
	case MON_SR:
		return "sr";
	}
	return "?";
}

void mon_uuid_copy(char dst[MON_UUID_LEN + 1], const char *src)
{
	size_t n = src ? strnlen(src, MON_UUID_LEN) : 0;
	memset(dst, 0, MON_UUID_LEN + 1);
	if (n)
		memcpy(dst, src, n);
}
