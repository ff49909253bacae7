/*
 * Format negotiation of the RRD endpoints (wire-format.md §4.2, xapi http-lib's
 * Accept module and rrdd's client_prefers_json): the Accept header's
 * media ranges are grouped by q (best first); the first group in which
 * application/json or text/xml matches decides, JSON winning a tie; no
 * match, an unparseable header, or no header at all falls back to "JSON iff
 * the query has a json key".  Unlike the reference we trim optional white
 * space around ranges and parameters (RFC 9110), so "text/xml; q=0.5" means
 * q=0.5 here.  Pure: no I/O, no allocation.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

#define MAX_RANGES 64

struct range {
	int q; /* thousandths, as the reference's int_of_float (1000 q) */
	bool json, xml;
};

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static bool eq(const char *s, const char *e, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(e - s) == n && strncasecmp(s, lit, n) == 0;
}

/* Parse one media range [s, e); 0 or -1 (unparseable). */
static int parse_range(const char *s, const char *e, struct range *r)
{
	const char *semi = memchr(s, ';', (size_t)(e - s));
	const char *te = semi ? semi : e, *ts = s;
	trim(&ts, &te);
	const char *slash = memchr(ts, '/', (size_t)(te - ts));
	if (!slash || memchr(slash + 1, '/', (size_t)(te - slash - 1)))
		return -1;
	const char *ty = ts, *tye = slash, *sub = slash + 1, *sube = te;
	if (ty == tye || sub == sube)
		return -1;
	bool any_ty = eq(ty, tye, "*"), any_sub = eq(sub, sube, "*");
	if (any_ty) { /* "*" type: matches everything (even "* /json") */
		r->json = r->xml = true;
	} else if (any_sub) {
		r->json = eq(ty, tye, "application");
		r->xml = eq(ty, tye, "text");
	} else {
		r->json = eq(ty, tye, "application") && eq(sub, sube, "json");
		r->xml = eq(ty, tye, "text") && eq(sub, sube, "xml");
	}
	r->q = 1000;
	const char *p = semi;
	while (p && p < e) {
		const char *ps = p + 1;
		const char *pe = memchr(ps, ';', (size_t)(e - ps));
		if (!pe)
			pe = e;
		const char *k = ps, *ke = pe;
		trim(&k, &ke);
		const char *eqs = memchr(k, '=', (size_t)(ke - k));
		if (!eqs)
			return -1;
		const char *kn = k, *kne = eqs, *v = eqs + 1, *ve = ke;
		trim(&kn, &kne);
		trim(&v, &ve);
		if (eq(kn, kne, "q")) {
			char tmp[32];
			size_t n = (size_t)(ve - v);
			if (n == 0 || n >= sizeof(tmp))
				return -1;
			memcpy(tmp, v, n);
			tmp[n] = 0;
			char *end;
			double q = strtod(tmp, &end);
			if (*end || !(q >= -1e15 && q <= 1e15))
				return -1;
			r->q = (int)(1000.0 * q);
		}
		p = pe;
	}
	return 0;
}

bool http_prefers_json(const char *accept, bool query_has_json)
{
	if (!accept)
		return query_has_json;
	struct range rs[MAX_RANGES];
	size_t n = 0;
	const char *s = accept;
	for (;;) {
		const char *e = strchr(s, ',');
		const char *end = e ? e : s + strlen(s);
		const char *ts = s, *te = end;
		trim(&ts, &te);
		if (ts < te) {
			if (n == MAX_RANGES || parse_range(s, end, &rs[n]))
				return query_has_json; /* unparseable: fall back */
			n++;
		}
		if (!e)
			break;
		s = e + 1;
	}
	/* Walk the q groups from the best down. */
	int done_above = 1 << 30;
	for (;;) {
		int best = -(1 << 30);
		bool any = false;
		for (size_t i = 0; i < n; i++)
			if (rs[i].q < done_above && (!any || rs[i].q > best)) {
				best = rs[i].q;
				any = true;
			}
		if (!any)
			return query_has_json;
		bool j = false, x = false;
		for (size_t i = 0; i < n; i++)
			if (rs[i].q == best) {
				j |= rs[i].json;
				x |= rs[i].xml;
			}
		if (j)
			return true;
		if (x)
			return false;
		done_above = best;
	}
}
