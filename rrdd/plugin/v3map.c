/*
 * The v3 -> v2 mapping rules (v3map.h): the built-in table, the mapping
 * file, and the DS names they build.
 */
#include "plugin/v3map.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/json_parse.h"
#include "util/xalloc.h"

#define MAP_FILE_MAX  (1024u * 1024)
#define MAP_RULES_MAX 4096u

/* xcp-metrics' default_mappings() (xcp-metrics/src/mappings.rs), sorted. */
static struct v3map_rule builtin_rules[] = {
    {"cpu", "cpu{id}", 0.0, 1.0, true},
    {"cpu-cstate", "cpu{id}-C{state}", 0.0, INFINITY, true},
    {"cpu-freq", "CPU{id}-avg-freq", 0.0, INFINITY, true},
    {"cpu-pstate", "cpu{id}-P{state}", 0.0, INFINITY, true},
};
static const struct v3map builtin = {sizeof(builtin_rules) / sizeof(builtin_rules[0]),
                                     builtin_rules};

const struct v3map *v3map_builtin(void)
{
	return &builtin;
}

static int rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct v3map_rule *)a)->family,
	              ((const struct v3map_rule *)b)->family);
}

const struct v3map_rule *v3map_find(const struct v3map *m, const char *family)
{
	if (!m || !m->n)
		return NULL;
	struct v3map_rule key = {.family = (char *)family};
	return bsearch(&key, m->rule, m->n, sizeof(*m->rule), rule_cmp);
}

static int put(char *out, size_t cap, size_t *j, const char *s, size_t n)
{
	if (*j + n >= cap)
		return -1;
	memcpy(out + *j, s, n);
	*j += n;
	return 0;
}

int v3map_name(const struct v3map_rule *rule, const char *family, const char *const *names,
               const char *const *values, size_t n, char *out, size_t cap)
{
	size_t j = 0;
	if (!cap)
		return -1;
	if (!rule) {
		if (put(out, cap, &j, family, strlen(family)) < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(names[i], "owner"))
				continue;
			if (put(out, cap, &j, "_", 1) < 0 ||
			    put(out, cap, &j, values[i], strlen(values[i])) < 0)
				return -1;
		}
		out[j] = 0;
		return (int)j;
	}
	/* Each label in turn replaces every "{<name>}" in the text so far, as
	 * xcp-metrics' apply_pattern does; done in one pass over the pattern
	 * here, which gives the same result unless a label value itself
	 * contains "{<another label>}" (it is then left as written). */
	for (const char *p = rule->pattern; *p;) {
		if (*p == '{') {
			const char *e = strchr(p + 1, '}');
			size_t i = n;
			if (e)
				for (i = 0; i < n; i++)
					if (strlen(names[i]) == (size_t)(e - p - 1) &&
					    !memcmp(names[i], p + 1, (size_t)(e - p - 1)))
						break;
			if (e && i < n) {
				if (put(out, cap, &j, values[i], strlen(values[i])) < 0)
					return -1;
				p = e + 1;
				continue;
			}
		}
		if (put(out, cap, &j, p, 1) < 0)
			return -1;
		p++;
	}
	out[j] = 0;
	return (int)j;
}

static int ferr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ferr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int bound_of(const struct jp_doc *d, const struct jp_node *v, double *out)
{
	if (!v)
		return 0;
	if (v->type == JP_NUMBER) {
		*out = v->num;
		return 0;
	}
	if (v->type == JP_STRING) {
		const char *s = jp_str(d, v);
		if (!strcmp(s, "inf") || !strcmp(s, "infinity") || !strcmp(s, "+inf")) {
			*out = INFINITY;
			return 0;
		}
		if (!strcmp(s, "-inf") || !strcmp(s, "-infinity")) {
			*out = -INFINITY;
			return 0;
		}
	}
	return -1;
}

void v3map_free(struct v3map *m)
{
	if (!m || m == &builtin)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->rule[i].family);
		free(m->rule[i].pattern);
	}
	free(m->rule);
	free(m);
}

static int parse_rules(const struct jp_doc *d, struct v3map *m, const char *path, char *err,
                       size_t errlen)
{
	const struct jp_node *root = jp_root(d);
	if (root->type != JP_OBJECT)
		return ferr(err, errlen, "%s: not a JSON object of family -> rule", path);
	if (root->len > MAP_RULES_MAX)
		return ferr(err, errlen, "%s: %u rules, at most %u", path, root->len,
		            MAP_RULES_MAX);
	m->rule = xcalloc(root->len ? root->len : 1, sizeof(*m->rule));
	struct jp_iter it;
	const struct jp_node *k, *v;
	jp_iter_init(&it, d, root);
	while (jp_next_member(&it, &k, &v)) {
		const char *fam = jp_str(d, k);
		if (!*fam || strlen(fam) != k->len)
			return ferr(err, errlen, "%s: empty family name or one with NUL", path);
		if (v->type != JP_OBJECT)
			return ferr(err, errlen, "%s: rule of \"%.64s\" is not an object", path,
			            fam);
		const struct jp_node *pat = jp_get(d, v, "pattern");
		if (!pat || pat->type != JP_STRING || !pat->len ||
		    strlen(jp_str(d, pat)) != pat->len || pat->len > V3MAP_NAME_MAX)
			return ferr(err, errlen,
			            "%s: rule of \"%.64s\" needs a \"pattern\" string (1-%d bytes)",
			            path, fam, V3MAP_NAME_MAX);
		struct v3map_rule *r = &m->rule[m->n];
		r->min = -INFINITY;
		r->max = INFINITY;
		r->dflt = true;
		if (bound_of(d, jp_get(d, v, "min"), &r->min) < 0 ||
		    bound_of(d, jp_get(d, v, "max"), &r->max) < 0)
			return ferr(err, errlen, "%s: rule of \"%.64s\": min/max must be numbers",
			            path, fam);
		const struct jp_node *df = jp_get(d, v, "default");
		if (df && df->type != JP_TRUE && df->type != JP_FALSE)
			return ferr(err, errlen, "%s: rule of \"%.64s\": default must be a boolean",
			            path, fam);
		if (df)
			r->dflt = df->type == JP_TRUE;
		for (size_t i = 0; i < m->n; i++)
			if (!strcmp(m->rule[i].family, fam))
				return ferr(err, errlen, "%s: family \"%.64s\" has two rules", path,
				            fam);
		r->family = xstrdup(fam);
		r->pattern = xstrdup(jp_str(d, pat));
		m->n++;
	}
	qsort(m->rule, m->n, sizeof(*m->rule), rule_cmp);
	return 0;
}

int v3map_load(const char *path, struct v3map **out, char *err, size_t errlen)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return ferr(err, errlen, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)MAP_FILE_MAX) {
		close(fd);
		return ferr(err, errlen, "%s: not a regular file of at most %u bytes", path,
		            MAP_FILE_MAX);
	}
	size_t len = (size_t)st.st_size;
	char *text = xmalloc(len + 1);
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, text + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	struct jp_doc *d = NULL;
	char msg[200];
	if (jp_parse(text, got, NULL, &d, msg, sizeof(msg)) < 0) {
		free(text);
		return ferr(err, errlen, "%s: %s", path, msg);
	}
	free(text);
	struct v3map *m = xcalloc(1, sizeof(*m));
	int rc = parse_rules(d, m, path, err, errlen);
	jp_free(d);
	if (rc < 0) {
		v3map_free(m);
		return -1;
	}
	*out = m;
	return 0;
}
