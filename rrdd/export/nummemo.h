/*
 * A positional memo of number texts, for documents rebuilt every cycle with
 * the same numbers in the same places (the wire-format.md §3.6 dumps): slot i keeps the
 * bits of the value last formatted at position i and its text, so a value
 * that did not change since the last cycle costs a compare and a copy
 * instead of a conversion.  The text is always numfmt_double's: a slot is
 * only reused for the very same bits, so a change of layout costs time,
 * never a wrong number.  Not thread-safe: one memo per document builder.
 */
#ifndef RRDD_EXPORT_NUMMEMO_H
#define RRDD_EXPORT_NUMMEMO_H

#include <stddef.h>
#include <stdint.h>

#include "export/numfmt.h"

struct num_memo_slot {
	uint64_t bits;
	uint8_t len;  /* 0: empty */
	char txt[15]; /* longer texts are not kept: most repeated values are
	                 short (counters of idle devices, memory sizes) */
};

struct num_memo {
	struct num_memo_slot *v;
	size_t n, cap, pos;
};

#define NUM_MEMO_INIT                                                                              \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}

/* Start a new document: the next number is position 0 again (slots past
 * the previous document's length are released). */
void num_memo_rewind(struct num_memo *m);

/* Write finite v as numfmt_double does into out (at least NUMFMT_MAX bytes),
 * NUL-terminated, using and updating the slot of the next position;
 * returns the length.  m may be NULL (plain numfmt_double). */
size_t num_memo_format(struct num_memo *m, char *out, double v);

/* Release the slots (the memo can be used again). */
void num_memo_free(struct num_memo *m);

#endif
