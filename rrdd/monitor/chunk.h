/*
 * Chunks: the unit of work every producer feeds the registry of RRDs.  A
 * chunk is what one producer (the built-in hypervisor source, or later one
 * plugin) reported at one time: per owner (the host, a VM, an SR) a list of
 * data sources, each with its descriptor and its raw value.  It is xcp-rrdd's
 * (uid, timestamp, [(owner, ds)]) of wire-format.md §1.1 step 2, grouped by owner.
 *
 * Plain data: building a chunk takes no lock and does no I/O, so producers
 * build chunks outside the registry lock and mon_commit() (change.h) takes
 * them under it.  Strings in a chunk are borrowed from the producer (they
 * must outlive the chunk); arrays are owned by the chunk.
 */
#ifndef RRDD_MONITOR_CHUNK_H
#define RRDD_MONITOR_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rrd/rrd.h"

#include "monitor/owner.h"

#define MON_UID_LEN 64

struct src_samples;

/* One reported value. */
struct mon_sample {
	struct mon_dsdesc d;
	struct dsval v;
};

/* The samples of one owner in a chunk. */
struct mon_chunk_owner {
	enum mon_owner_kind kind;
	char uuid[MON_UUID_LEN + 1]; /* "" for the host */
	/* 0, or a token promising that every owner of the same producer with
	 * this layout has the same sequence of descriptors (names and every
	 * field): the registry then reuses its sample -> DS mapping instead of
	 * looking each name up.  Tokens must be unique in the process
	 * (catalogue.h src_owner.layout); mon_chunk_add_owner sets 0. */
	uint64_t layout;
	uint32_t nds, cap;
	struct mon_sample *ds;
	/* NULL: the values are ds[i].v.  Otherwise value i is the struct dsval
	 * at (const char *)vals + i * vstride, in the producer's own samples
	 * (borrowed, like the strings) and ds[i].v is not set: read values
	 * with mon_owner_value. */
	const void *vals;
	size_t vstride;
};

/* Value i (< o->nds) of an owner, wherever it is kept. */
static inline struct dsval mon_owner_value(const struct mon_chunk_owner *o, uint32_t i)
{
	if (o->vals)
		return *(const struct dsval *)(const void *)((const char *)o->vals +
		                                             (size_t)i * o->vstride);
	return o->ds[i].v;
}

struct mon_chunk {
	char uid[MON_UID_LEN]; /* the producer: "rrdd-source", a plugin uid */
	double t;              /* the time every sample was taken */
	uint32_t nowner, cap;
	struct mon_chunk_owner *owner;
};

/* Append an owner (uuid NULL or "" for the host; truncated to 36 chars) and
 * return it; the pointer is valid until the next mon_chunk_add_owner. */
struct mon_chunk_owner *mon_chunk_add_owner(struct mon_chunk *c, enum mon_owner_kind kind,
                                            const char *uuid);

/* Append a sample to an owner and return it (zeroed). */
struct mon_sample *mon_owner_add_sample(struct mon_chunk_owner *o);

/* Release what a chunk owns and zero it; safe on a zeroed chunk. */
void mon_chunk_clear(struct mon_chunk *c);

/* Forget the contents but keep the allocations, for reuse every tick. */
void mon_chunk_reset(struct mon_chunk *c);

/* Build a chunk from the hypervisor source's named samples (catalogue.h):
 * owners and values as given, descriptors from the catalogue (strings and
 * values borrowed from s, which must outlive c and stay unchanged while c
 * is used: the values are read in place, see vals).  c is reset first; an
 * owner slot that held the same nonzero layout token (and count) at the
 * previous conversion keeps its descriptors.  Returns 0. */
int mon_chunk_from_samples(const struct src_samples *s, const char *uid, struct mon_chunk *c);

#endif
