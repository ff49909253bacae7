/*
 * The compact encoding of a cycle's inputs (struct mon_cycle, monitor/change.h) inside a
 * journal segment: what durable.c deflates into its TICK2 records.
 *
 * A segment is one stream: the encoder keeps dictionaries of what earlier
 * records of the same segment defined (DS descriptors, owner layouts =
 * sequences of descriptors, owners, producer uids) and each owner's last
 * raw values, so a record carries a descriptor, layout, owner or uid only
 * the first time the segment uses it (inline, at that first use) and then
 * an index; values are the difference with the same owner's value at the
 * same position in the previous record (integers: zigzag varint of the
 * difference; floats: the non-zero bytes of the XOR of their bits).  A new
 * segment starts afresh (store_tickenc_reset): its first record says so and
 * re-emits what it uses, so replay from a checkpoint never needs an older
 * segment.  Every record names its stream (the segment number): a decoder
 * refuses a record of a stream it did not see start.
 *
 * Exactness is the point: the decoder reproduces every descriptor field and
 * every value bit (NULL strings come back as "", unknown values with a zero
 * payload, as the earlier format did).  The encoder trusts the chunk
 * owners' layout tokens (chunk.h: same token, same producer = same
 * descriptor sequence); the decoder gives its layouts tokens of its own
 * (top bit set, unique in the process) so replay takes the registry's fast
 * path.  No I/O, no logging, no locking (durable.c serialises).  Untrusted
 * input: a damaged record yields -EINVAL, never a crash, and memory bounded
 * by the input's size.
 */
#ifndef RRDD_STORE_TICKREC_H
#define RRDD_STORE_TICKREC_H

#include <stddef.h>
#include <stdint.h>

#include "monitor/change.h"
#include "util/buf.h"

struct store_tickenc;
struct store_tickdec;

/* A new encoder; it must be reset before its first encode. */
struct store_tickenc *store_tickenc_new(void);

/* Forget every dictionary and value: the next record starts stream
 * 'stream' (the new segment's number) and says so. */
void store_tickenc_reset(struct store_tickenc *e, uint64_t stream);

/* Append the encoding of t to out (not deflated) and remember what it
 * defined.  The record must then be journaled, or the encoder reset (a
 * record lost in the middle of a stream makes the later ones useless). */
void store_tickenc_encode(struct store_tickenc *e, const struct mon_cycle *t, struct buf *out);

/* Free; NULL is a no-op. */
void store_tickenc_free(struct store_tickenc *e);

/* A new decoder (no stream yet). */
struct store_tickdec *store_tickdec_new(void);

/* Decode one record (the bytes store_tickenc_encode appended) into *out,
 * whose arrays and strings belong to the decoder and stay valid until the
 * next decode or free.  0, or -EINVAL if the record is damaged, belongs to
 * a stream whose start was not decoded, or uses what was never defined
 * (the decoder is then in an unspecified state until a record that starts
 * a stream). */
int store_tickdec_decode(struct store_tickdec *d, const void *p, size_t n, struct mon_cycle *out);

/* Free; NULL is a no-op. */
void store_tickdec_free(struct store_tickdec *d);

#endif
