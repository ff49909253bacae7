/*
 * The positional number-text memo (nummemo.h).  Must not: return a text
 * other than numfmt_double's for the same value.
 */
#include "export/nummemo.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void num_memo_rewind(struct num_memo *m)
{
	if (!m)
		return;
	/* the previous document had pos numbers: give back what doubling
	 * over-allocated (the next document is most likely the same size) */
	if (m->pos && m->cap > m->pos + m->pos / 8) {
		m->v = xrealloc(m->v, sizeof(*m->v) * m->pos);
		m->cap = m->n = m->pos;
	}
	m->pos = 0;
}

size_t num_memo_format(struct num_memo *m, char *out, double v)
{
	if (!m)
		return numfmt_double(out, v);
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	if (m->pos == m->n) {
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 1024;
			m->v = xrealloc(m->v, sizeof(*m->v) * m->cap);
		}
		m->v[m->n++].len = 0;
	}
	struct num_memo_slot *s = &m->v[m->pos++];
	if (s->len && s->bits == bits) {
		memcpy(out, s->txt, sizeof(s->txt)); /* out has NUMFMT_MAX bytes */
		out[s->len] = '\0';
		return s->len;
	}
	size_t n = numfmt_double(out, v);
	if (n <= sizeof(s->txt)) {
		s->bits = bits;
		s->len = (uint8_t)n;
		memcpy(s->txt, out, sizeof(s->txt));
	} else {
		s->len = 0;
	}
	return n;
}

void num_memo_free(struct num_memo *m)
{
	free(m->v);
	m->v = NULL;
	m->n = m->cap = m->pos = 0;
}
