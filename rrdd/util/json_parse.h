/*
 * A small strict JSON parser (RFC 8259) for untrusted input: plugin metadata
 * now, RPC bodies later.  Objects are kept as ORDERED MULTIMAPS: members stay
 * in input order and duplicate keys are all kept (json-c would merge them).
 *
 * The document is a flat "tape" of nodes in pre-order; a container node
 * records where its subtree ends, so skipping a value is O(1).  Object
 * children are (key, value) pairs: a JP_STRING key node followed by the
 * value's subtree.  Strings (decoded, NUL-terminated, may contain \u0000)
 * and number texts live in one pool.
 *
 * Pure: no I/O, no globals, no logging.  Bounded: nesting depth, node count
 * and input size are limited, recursion depth is the nesting limit.  Number
 * conversion uses strtod(), so the process must run in the "C" numeric locale
 * (the daemon never calls setlocale()).  Allocation failure aborts (xalloc).
 */
#ifndef RRDD_JSON_PARSE_H
#define RRDD_JSON_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jp_type { JP_NULL, JP_FALSE, JP_TRUE, JP_NUMBER, JP_STRING, JP_ARRAY, JP_OBJECT };

struct jp_node {
	uint8_t type;   /* enum jp_type */
	uint8_t is_int; /* JP_NUMBER without fraction or exponent */
	uint32_t len;   /* STRING: bytes; NUMBER: text bytes; ARRAY: items;
	                   OBJECT: members (key/value pairs) */
	uint32_t end;   /* index of the first node after this subtree */
	uint32_t str;   /* STRING/NUMBER: offset of the text in the pool */
	double num;     /* NUMBER: the value as strtod() reads it (may be inf) */
};

/* Parser limits; a zero field means "use the default". */
struct jp_limits {
	uint32_t max_depth; /* array/object nesting, default 64 */
	uint32_t max_nodes; /* default 4 Mi nodes */
	size_t max_input;   /* bytes, default 64 MiB */
	unsigned flags;     /* JP_F_* */
};

/* Accept bytes that are not valid UTF-8 inside strings (copied as is). */
#define JP_F_ALLOW_BAD_UTF8 1u

struct jp_doc {
	struct jp_node *nodes; /* nodes[0] is the root */
	uint32_t nnodes, cap_nodes;
	char *pool;
	size_t pool_len, pool_cap;
};

/* Parse exactly one JSON value from text[0..len) (surrounding JSON whitespace
 * allowed, anything else after the value is an error).  On success returns 0
 * and *out is a new document to release with jp_free().  On failure returns
 * -EINVAL (syntax, with the byte offset in err) or -E2BIG (a limit), *out is
 * NULL and err (if errlen > 0) holds a NUL-terminated message. */
int jp_parse(const char *text, size_t len, const struct jp_limits *lim, struct jp_doc **out,
             char *err, size_t errlen);

/* Release a document; NULL is a no-op. */
void jp_free(struct jp_doc *d);

/* The root value of a parsed document. */
const struct jp_node *jp_root(const struct jp_doc *d);

/* The NUL-terminated text of a STRING or NUMBER node (decoded string bytes,
 * or the number exactly as written); "" for other nodes. */
const char *jp_str(const struct jp_doc *d, const struct jp_node *n);

/* True if n is a STRING whose bytes equal the C string s. */
bool jp_str_eq(const struct jp_doc *d, const struct jp_node *n, const char *s);

/* Iterator over the children of an ARRAY or OBJECT (empty for scalars). */
struct jp_iter {
	const struct jp_doc *d;
	uint32_t pos, left;
};

/* Start iterating over the items/members of container c. */
void jp_iter_init(struct jp_iter *it, const struct jp_doc *d, const struct jp_node *c);

/* Next member of an object: sets *key (a STRING node) and *val; returns false
 * at the end. */
bool jp_next_member(struct jp_iter *it, const struct jp_node **key, const struct jp_node **val);

/* Next item of an array; returns false at the end. */
bool jp_next_item(struct jp_iter *it, const struct jp_node **val);

/* The value of the FIRST member of object obj whose key is key, or NULL (also
 * NULL if obj is not an object). */
const struct jp_node *jp_get(const struct jp_doc *d, const struct jp_node *obj, const char *key);

/* An integer NUMBER node as an exact int64: returns 0, or -ERANGE if it does
 * not fit, or -EINVAL if the node is not an integer number. */
int jp_int64(const struct jp_doc *d, const struct jp_node *n, int64_t *out);

#endif
