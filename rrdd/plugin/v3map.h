/*
 * The v3 -> v2 mapping (docs/wire-format.md §11.2): how an OpenMetrics
 * metric of a protocol v3 plugin becomes an xcp-rrdd data source, as
 * xcp-metrics maps it (its DefaultMapping and CustomMapping).
 *
 *   default   the DS name is the family name followed by "_<value>" for
 *             every label but "owner", in the metric's label order; min
 *             -inf, max +inf, default true
 *   custom    a rule for one family name: a pattern in which every
 *             "{<label>}" is replaced by that label's value (an unknown
 *             label stays as written), with its own min, max and default
 *
 * The built-in rules are xcp-metrics' (cpu-cstate, cpu-pstate, cpu,
 * cpu-freq); a mapping file (rrdd --v3-mapping-file) replaces them, in
 * xcp-metrics' format: {"<family>": {"pattern": "...", "min": x, "max": y,
 * "default": b}, ...} (min, max and default optional; min and max may also
 * be the strings "-inf"/"inf").
 *
 * Pure apart from v3map_load reading its file; a map is immutable once
 * built and may be shared by any number of threads.
 */
#ifndef RRDD_PLUGIN_V3MAP_H
#define RRDD_PLUGIN_V3MAP_H

#include <stdbool.h>
#include <stddef.h>

struct v3map_rule {
	char *family;
	char *pattern;
	double min, max;
	bool dflt;
};

struct v3map {
	size_t n;
	struct v3map_rule *rule; /* sorted by family */
};

/* Most labels of one metric the mapping looks at, and the longest DS name
 * it builds (longer names are refused by the reader). */
#define V3MAP_MAX_LABELS 32
#define V3MAP_NAME_MAX   255

/* xcp-metrics' built-in rules; static, never freed. */
const struct v3map *v3map_builtin(void);

/* Load a mapping file (at most 1 MiB, at most 4096 rules).  Returns 0 and
 * *out (free with v3map_free), or -1 with a message in err. */
int v3map_load(const char *path, struct v3map **out, char *err, size_t errlen);

/* Free a map from v3map_load; NULL and the built-in map are no-ops. */
void v3map_free(struct v3map *m);

/* The rule for a family, or NULL (the default mapping applies). */
const struct v3map_rule *v3map_find(const struct v3map *m, const char *family);

/* Write the DS name of a metric of family with the n labels names[i] =
 * values[i] into out[0..cap) (NUL-terminated), by rule (NULL: the default
 * mapping).  Returns the name's length, or -1 if it does not fit. */
int v3map_name(const struct v3map_rule *rule, const char *family, const char *const *names,
               const char *const *values, size_t n, char *out, size_t cap);

#endif
