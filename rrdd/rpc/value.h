/*
 * The RPC value model shared by the XML-RPC and JSON-RPC codecs: nil, bool,
 * int (64-bit), double, string, array and struct (members kept in input order,
 * duplicates kept: callers decide what a duplicate means).  It mirrors
 * ocaml-rpc's Rpc.t minus DateTime/Base64, which no rrd call uses.
 *
 * Values are plain trees owned by their root; rpc_value_free() releases one.
 * The decoders enforce struct rpc_limits on untrusted input; the builders here
 * do not (they are for our own answers).  Pure: no I/O, no globals.
 * Allocation failure aborts (xalloc).
 */
#ifndef RRDD_RPC_VALUE_H
#define RRDD_RPC_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rpc_type { RPC_NIL, RPC_BOOL, RPC_INT, RPC_DOUBLE, RPC_STRING, RPC_ARRAY, RPC_STRUCT };

struct rpc_member;

struct rpc_value {
	enum rpc_type type;
	union {
		bool b;
		int64_t i;
		double d;
		struct {
			char *p;    /* NUL-terminated, never contains NUL */
			size_t len; /* bytes, excluding the NUL */
		} s;
		struct {
			struct rpc_value *items;
			uint32_t n, cap;
		} a;
		struct {
			struct rpc_member *m;
			uint32_t n, cap;
		} st;
	} u;
};

struct rpc_member {
	char *name; /* NUL-terminated */
	struct rpc_value v;
};

/* Bounds applied by the decoders to untrusted requests; a zero field means
 * "use the default" (in brackets). */
struct rpc_limits {
	size_t max_input;     /* request bytes [1 MiB] */
	uint32_t max_depth;   /* array/struct nesting [32] */
	uint32_t max_nodes;   /* values in the whole document [65536] */
	uint32_t max_members; /* items of one array or members of one struct [16384] */
	size_t max_string;    /* bytes of one string, name or number text [64 KiB] */
	size_t max_total;     /* bytes of all strings and names together [4 MiB] */
};

/* The limits with every zero field replaced by its default. */
struct rpc_limits rpc_limits_resolve(const struct rpc_limits *lim);

/* The name of a type for messages ("string", "int", "struct", ...). */
const char *rpc_type_name(enum rpc_type t);

/* Scalar constructors (no allocation except for strings, which are copied;
 * a string must not contain NUL). */
struct rpc_value rpc_nil(void);
struct rpc_value rpc_bool(bool b);
struct rpc_value rpc_int(int64_t i);
struct rpc_value rpc_double(double d);
struct rpc_value rpc_string(const char *s);
struct rpc_value rpc_string_n(const char *s, size_t len);
struct rpc_value rpc_array(void);
struct rpc_value rpc_struct(void);

/* Append v to array arr (taking ownership of v); returns the stored copy. */
struct rpc_value *rpc_array_push(struct rpc_value *arr, struct rpc_value v);

/* Append member (name, v) to struct st (name is copied, v is taken); returns
 * the stored value. */
struct rpc_value *rpc_struct_add(struct rpc_value *st, const char *name, struct rpc_value v);

/* The value of the first member of st named name (exact match), or NULL. */
const struct rpc_value *rpc_struct_get(const struct rpc_value *st, const char *name);

/* Release everything v owns; v becomes nil.  Recursion depth is the nesting
 * depth, which the decoders bound. */
void rpc_value_free(struct rpc_value *v);

/* Deep structural equality (doubles compared bitwise-equal or both NaN);
 * used by tests and round-trip checks. */
bool rpc_value_equal(const struct rpc_value *a, const struct rpc_value *b);

/* Deep copy. */
struct rpc_value rpc_value_copy(const struct rpc_value *v);

/* A decimal int64 (optional sign, digits only, no overflow) into out;
 * false if s is anything else. */
bool rpc_parse_i64(const char *s, int64_t *out);

#endif
