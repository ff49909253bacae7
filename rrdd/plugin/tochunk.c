/*
 * A decoded plugin page as a chunk (registry_impl.h plg_page_to_chunk): the
 * page's datasources grouped by owner (host, vm <uuid>, sr <uuid>, in order
 * of first appearance), each with its descriptor (wire-format.md §6.4 defaults already
 * applied by the parser) and its value, stamped with the page's timestamp.
 *
 * The descriptors' strings are copied into the plugin's own pool, so the
 * chunk stays valid whatever the reader does next (the registry re-sends it
 * for an unchanged page).  The copy and the grouping are redone only when
 * the page's shape changed (V2: its metadata CRC; v3: the CRC of its mapped
 * families; V1 pages are parsed anew each time);
 * otherwise a read costs one store per value.  Pure: no I/O, no locks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/registry_impl.h"
#include "rrdd/proto.h"
#include "util/xalloc.h"

void plg_desc_clear(struct plg_desc *d)
{
	free(d->oi);
	free(d->si);
	free(d->pool);
	memset(d, 0, sizeof(*d));
}

static size_t slen(const char *s)
{
	return s ? strlen(s) + 1 : 1;
}

static const char *pool_put(char **p, const char *s)
{
	char *r = *p;
	size_t l = s ? strlen(s) : 0;
	if (l)
		memcpy(r, s, l);
	r[l] = 0;
	*p += l + 1;
	return r;
}

/* Rebuild the chunk's owners and descriptors from the page. */
static void rebuild(struct plg_entry *e, const struct plg_page *pg, uint32_t meta_crc)
{
	struct plg_desc *d = &e->desc;
	struct mon_chunk *c = &e->chunk;
	size_t need = 0;
	for (size_t i = 0; i < pg->n; i++) {
		const struct plg_ds *s = &pg->ds[i];
		need += slen(s->name) + slen(s->description) + slen(s->units) +
		        (s->om ? slen(s->om) : 0);
	}
	if (need > d->pool_cap) {
		free(d->pool);
		d->pool = xmalloc(need);
		d->pool_cap = need;
	}
	if (pg->n > d->n || !d->oi) {
		free(d->oi);
		free(d->si);
		d->oi = xmalloc(sizeof(*d->oi) * (pg->n + 1));
		d->si = xmalloc(sizeof(*d->si) * (pg->n + 1));
	}
	mon_chunk_reset(c);
	char *p = d->pool;
	uint32_t last = UINT32_MAX; /* owner of the previous DS: pages group owners */
	for (size_t i = 0; i < pg->n; i++) {
		const struct plg_ds *s = &pg->ds[i];
		enum mon_owner_kind k = s->owner;
		const char *uuid = k == MON_HOST ? "" : (s->uuid ? s->uuid : "");
		uint32_t oi = UINT32_MAX;
		if (last != UINT32_MAX && c->owner[last].kind == k &&
		    strncmp(c->owner[last].uuid, uuid, MON_UUID_LEN) == 0)
			oi = last;
		for (uint32_t j = 0; oi == UINT32_MAX && j < c->nowner; j++)
			if (c->owner[j].kind == k &&
			    strncmp(c->owner[j].uuid, uuid, MON_UUID_LEN) == 0)
				oi = j;
		if (oi == UINT32_MAX) {
			mon_chunk_add_owner(c, k, uuid);
			oi = c->nowner - 1;
		}
		last = oi;
		struct mon_sample *m = mon_owner_add_sample(&c->owner[oi]);
		m->d.name = pool_put(&p, s->name);
		m->d.description = pool_put(&p, s->description);
		m->d.units = pool_put(&p, s->units);
		m->d.om = s->om ? pool_put(&p, s->om) : NULL;
		m->d.type = s->type;
		m->d.value_type = s->value_type;
		m->d.min = s->min;
		m->d.max = s->max;
		m->d.dflt = s->is_default;
		m->d.transform = s->transform;
		d->oi[i] = oi;
		d->si[i] = c->owner[oi].nds - 1;
	}
	d->n = pg->n;
	d->proto = pg->proto;
	d->meta_crc = meta_crc;
	d->valid = true;
}

bool plg_desc_covers(const struct plg_entry *e, uint32_t meta_crc, uint64_t n)
{
	const struct plg_desc *d = &e->desc;
	return d->valid && d->proto == PLG_PROTO_V2 && d->meta_crc == meta_crc && d->n == n;
}

void plg_page_to_chunk(struct plg_entry *e, const struct plg_page *pg, const unsigned char *buf,
                       size_t len)
{
	(void)buf;
	(void)len;
	struct plg_desc *d = &e->desc;
	if (!(pg->shape_valid && d->valid && d->proto == pg->proto && d->meta_crc == pg->shape &&
	      d->n == pg->n))
		rebuild(e, pg, pg->shape_valid ? pg->shape : 0);
	struct mon_chunk *c = &e->chunk;
	snprintf(c->uid, sizeof(c->uid), "%s", e->uid);
	c->t = pg->timestamp;
	for (size_t i = 0; i < pg->n; i++)
		c->owner[d->oi[i]].ds[d->si[i]].v = pg->ds[i].value;
}
