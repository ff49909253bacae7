/*
 * The rrd RPC interface (xapi-idl rrd_interface.ml, wire-format.md §5.2): the table of
 * methods with their wire names, named parameters and types, the decoding
 * and validation of a call's params into typed arguments, and the backend
 * interface (struct rpc_backend) that does the actual work.  The daemon
 * implements the backend; this layer owns no daemon state and does no I/O.
 *
 * Parameter rules follow ocaml-rpc's Idl server: all named parameters come in
 * one struct as the first param (extra members are ignored, option members
 * may be absent), unit parameters are the following positional params
 * (<nil/>; we also accept them absent, as Python callers often omit them).
 * Ints accept an int or a decimal string (xapi sends ints untyped, i.e. as
 * strings); floats accept double, int or a numeric string; bools only a
 * boolean; variants (Five_Seconds, V1/V2) a string, case-insensitively.
 * Stricter than xcp-rrdd: a named parameter given twice is an error (xcp-rrdd
 * silently takes the first), unknown plugin protocols are an error (xcp-rrdd
 * maps them to V2), and <boolean> must be 0 or 1.
 */
#ifndef RRDD_RPC_METHODS_H
#define RRDD_RPC_METHODS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/value.h"
#include "monitor/owner.h"

/* The error variants of rrd_interface.ml (rrd_errors). */
enum rpc_err_kind {
	RPC_ERR_NONE,
	RPC_ERR_ARCHIVE_FAILED,     /* ["Archive_failed", msg] */
	RPC_ERR_INVALID_PROTOCOL,   /* ["Invalid_protocol", msg] */
	RPC_ERR_INTERNAL,           /* ["Rrdd_internal_error", msg] */
	RPC_ERR_DATASOURCE_MISSING, /* ["Datasource_missing", msg] */
};

struct rpc_err {
	enum rpc_err_kind kind;
	char *msg; /* malloc'd; NULL when kind is RPC_ERR_NONE */
};

/* Record an error (the first one wins; later calls are ignored). */
void rpc_err_set(struct rpc_err *e, enum rpc_err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Release the message; e becomes {RPC_ERR_NONE, NULL}. */
void rpc_err_clear(struct rpc_err *e);

/* The wire tag of an error kind ("Archive_failed", ...). */
const char *rpc_err_tag(enum rpc_err_kind kind);

/* The wire value of an error: the array [tag, msg]. */
struct rpc_value rpc_err_value(const struct rpc_err *e);

/* Whose datasources a call is about. */
struct rpc_owner {
	enum mon_owner_kind kind;
	const char *uuid; /* VM or SR uuid; NULL for the host */
	int64_t domid;    /* add_vm_ds only; -1 otherwise */
};

/* One element of query_possible_*_dss (xapi-idl Data_source.t). */
struct rpc_ds_info {
	const char *name;
	const char *description;
	bool enabled;
	bool standard;
	double min;
	double max;
	const char *units;
};

/* The list a query_possible_*_dss backend fills (opaque: use rpc_ds_add). */
struct rpc_ds_list {
	struct rpc_value arr; /* RPC_ARRAY of Data_source.t structs */
};

/* Append a copy of *ds (strings copied; NULL strings become ""). */
void rpc_ds_add(struct rpc_ds_list *l, const struct rpc_ds_info *ds);

enum rpc_protocol { RPC_PROTOCOL_V1 = 1, RPC_PROTOCOL_V2 = 2, RPC_PROTOCOL_V3 = 3 };
enum rpc_frequency { RPC_FREQ_FIVE_SECONDS = 5 };

/* An element of HA.enable_and_update's statefile_latencies. */
struct rpc_statefile_latency {
	const char *id;
	bool has_latency;
	double latency;
};

/*
 * The work behind each call.  Every function returns 0 on success, or
 * non-zero on failure after setting *err (if it does not, the caller reports
 * Rrdd_internal_error).  String arguments are borrowed for the duration of the
 * call; optional ones are NULL when absent.  Strings returned through a
 * char ** are malloc'd and freed by the caller.  A NULL function pointer
 * answers Rrdd_internal_error "not implemented".
 */
struct rpc_backend {
	void *ctx;
	int (*has_vm_rrd)(void *ctx, const char *vm_uuid, bool *out, struct rpc_err *err);
	int (*push_rrd_local)(void *ctx, const char *vm_uuid, int64_t domid, struct rpc_err *err);
	int (*push_rrd_remote)(void *ctx, const char *vm_uuid, const char *remote_address,
	                       struct rpc_err *err);
	int (*remove_rrd)(void *ctx, const char *uuid, struct rpc_err *err);
	int (*migrate_rrd)(void *ctx, const char *session_id, const char *remote_address,
	                   const char *vm_uuid, const char *host_uuid, struct rpc_err *err);
	int (*send_host_rrd_to_master)(void *ctx, const char *master_address, struct rpc_err *err);
	/* backup_rrds(remote_address?) and save_rrds (= backup_rrds None). */
	int (*backup_rrds)(void *ctx, const char *remote_address, struct rpc_err *err);
	int (*archive_rrd)(void *ctx, const char *vm_uuid, const char *remote_address,
	                   struct rpc_err *err);
	int (*archive_sr_rrd)(void *ctx, const char *sr_uuid, char **path, struct rpc_err *err);
	int (*push_sr_rrd)(void *ctx, const char *sr_uuid, const char *path, struct rpc_err *err);
	/* add_{host,vm,sr}_ds, forget_*_ds, query_possible_*_dss, query_*_ds. */
	int (*add_ds)(void *ctx, const struct rpc_owner *owner, const char *ds_name,
	              struct rpc_err *err);
	int (*forget_ds)(void *ctx, const struct rpc_owner *owner, const char *ds_name,
	                 struct rpc_err *err);
	int (*query_possible_dss)(void *ctx, const struct rpc_owner *owner, struct rpc_ds_list *out,
	                          struct rpc_err *err);
	int (*query_ds)(void *ctx, const struct rpc_owner *owner, const char *ds_name, double *out,
	                struct rpc_err *err);
	int (*update_use_min_max)(void *ctx, bool value, struct rpc_err *err);
	int (*set_cache_sr)(void *ctx, const char *sr_uuid, struct rpc_err *err);
	int (*unset_cache_sr)(void *ctx, struct rpc_err *err);
	int (*plugin_get_header)(void *ctx, char **out, struct rpc_err *err);
	int (*plugin_get_path)(void *ctx, const char *uid, char **out, struct rpc_err *err);
	/* Plugin.Local.register, Plugin.register (legacy: protocol V1) and
	 * Plugin.Metrics.register (xcp-metrics: protocol v3). */
	int (*plugin_register)(void *ctx, const char *uid, enum rpc_frequency freq,
	                       enum rpc_protocol protocol, double *next_reading,
	                       struct rpc_err *err);
	/* Plugin.Local.deregister and Plugin.deregister. */
	int (*plugin_deregister)(void *ctx, const char *uid, struct rpc_err *err);
	/* Plugin.Local.next_reading and Plugin.next_reading. */
	int (*plugin_next_reading)(void *ctx, const char *uid, double *out, struct rpc_err *err);
	int (*ha_enable_and_update)(void *ctx, const struct rpc_statefile_latency *lats, size_t n,
	                            double heartbeat_latency, double xapi_latency,
	                            struct rpc_err *err);
	int (*ha_disable)(void *ctx, struct rpc_err *err);
	/* Deprecated.load_rrd; master_address NULL when absent. */
	int (*load_rrd)(void *ctx, const char *uuid, int64_t timescale, const char *master_address,
	                struct rpc_err *err);
};

/* Parameter and result types of the table. */
enum rpc_ptype {
	RPC_P_STRING,
	RPC_P_STRING_OPT,
	RPC_P_INT,
	RPC_P_FLOAT,
	RPC_P_BOOL,
	RPC_P_FREQUENCY, /* Five_Seconds */
	RPC_P_PROTOCOL,  /* V1 | V2 */
	RPC_P_STATEFILE_LATENCIES,
	RPC_P_UNIT,
};

enum rpc_rtype { RPC_R_UNIT, RPC_R_BOOL, RPC_R_FLOAT, RPC_R_STRING, RPC_R_DS_LIST, RPC_R_STRUCT };

#define RPC_MAX_PARAMS 5

struct rpc_param_spec {
	const char *name;     /* wire name; NULL for a unit param */
	const char *alt_name; /* also accepted (e.g. "master_address"), or NULL */
	uint8_t type;         /* enum rpc_ptype */
};

union rpc_arg {
	const char *s; /* STRING, STRING_OPT (NULL = absent) */
	int64_t i;
	double d;
	bool b;
	int e; /* FREQUENCY, PROTOCOL */
	struct {
		const struct rpc_statefile_latency *v;
		size_t n;
	} lats;
};

/* Decoded arguments; strings are borrowed from the params value. */
struct rpc_args {
	union rpc_arg a[RPC_MAX_PARAMS];
	struct rpc_statefile_latency *lats_storage;
};

/* What a method does to the daemon's state.  RRDS and ARCHIVES must
 * survive kill -9 once answered (tests/integration/test_crash_rpc.py has a
 * case for every such method of the table); READ and SESSION must change
 * neither the RRDs nor the archives (tests/unit/test_rpc_service.c calls
 * each and checks). */
enum rpc_effect {
	RPC_E_READ,     /* reads (and may send copies to another host) */
	RPC_E_RRDS,     /* changes RRDs in the registry: through mon_commit, journaled */
	RPC_E_ARCHIVES, /* writes or deletes archive files (fsynced) */
	RPC_E_SESSION,  /* settings and plugin registrations kept in memory, as xcp-rrdd:
	                   clients send them again after a restart */
};

/* The name of an effect: "read", "rrds", "archives", "session". */
const char *rpc_effect_name(enum rpc_effect e);

struct rpc_method {
	const char *name; /* wire name */
	uint8_t nparams;
	struct rpc_param_spec params[RPC_MAX_PARAMS];
	uint8_t result; /* enum rpc_rtype */
	int (*invoke)(const struct rpc_backend *be, const struct rpc_args *args,
	              struct rpc_value *result, struct rpc_err *err);
	uint8_t effect; /* enum rpc_effect */
};

/* The method with this wire name, or NULL. */
const struct rpc_method *rpc_method_find(const char *name);

/* The table, for iteration: *n receives the number of methods. */
const struct rpc_method *rpc_methods(size_t *n);

/* Decode and validate params (an RPC_ARRAY) for method m into *args.
 * Returns 0, or -EINVAL with a message naming the parameter in msg.
 * rpc_args_free() must be called in both cases. */
int rpc_args_decode(const struct rpc_method *m, const struct rpc_value *params,
                    struct rpc_args *args, char *msg, size_t msglen);

/* Release what rpc_args_decode allocated. */
void rpc_args_free(struct rpc_args *args);

/* Outcome of rpc_call. */
#define RPC_CALL_OK         0     /* *result holds the answer */
#define RPC_CALL_FAILED     1     /* the backend reported *err */
#define RPC_CALL_BAD_PARAMS (-22) /* -EINVAL: *err is Rrdd_internal_error naming the param */
#define RPC_CALL_UNKNOWN    (-2)  /* -ENOENT: no such method; *err says so */

/* Look up method name, decode params, call the backend, and produce either
 * *result (RPC_CALL_OK) or *err (every other outcome).  *result starts nil
 * and *err empty; the caller releases both. */
int rpc_call(const struct rpc_backend *be, const char *name, const struct rpc_value *params,
             struct rpc_value *result, struct rpc_err *err);

#endif
