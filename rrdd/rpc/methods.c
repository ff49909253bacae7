/*
 * The rrd method table (see methods.h): parameter specs as in xapi-idl's
 * rrd_interface.ml, the decoding of a call's params into typed arguments with
 * errors that name the parameter, one small thunk per method that calls the
 * backend and wraps its result as an rpc_value, and rpc_call which ties them
 * together.  No wire format here (that is xmlrpc/jsonrpc) and no daemon
 * state (that is the backend).
 */
#include "rpc/methods.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

/* ---- errors and results ---- */

void rpc_err_set(struct rpc_err *e, enum rpc_err_kind kind, const char *fmt, ...)
{
	if (e->kind != RPC_ERR_NONE)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->kind = kind == RPC_ERR_NONE ? RPC_ERR_INTERNAL : kind;
	e->msg = xstrdup(msg);
}

void rpc_err_clear(struct rpc_err *e)
{
	free(e->msg);
	e->msg = NULL;
	e->kind = RPC_ERR_NONE;
}

const char *rpc_err_tag(enum rpc_err_kind kind)
{
	switch (kind) {
	case RPC_ERR_ARCHIVE_FAILED:
		return "Archive_failed";
	case RPC_ERR_INVALID_PROTOCOL:
		return "Invalid_protocol";
	case RPC_ERR_DATASOURCE_MISSING:
		return "Datasource_missing";
	case RPC_ERR_NONE:
	case RPC_ERR_INTERNAL:
		break;
	}
	return "Rrdd_internal_error";
}

struct rpc_value rpc_err_value(const struct rpc_err *e)
{
	struct rpc_value v = rpc_array();
	rpc_array_push(&v, rpc_string(rpc_err_tag(e->kind)));
	rpc_array_push(&v, rpc_string(e->msg ? e->msg : ""));
	return v;
}

void rpc_ds_add(struct rpc_ds_list *l, const struct rpc_ds_info *ds)
{
	if (l->arr.type != RPC_ARRAY)
		l->arr = rpc_array();
	struct rpc_value s = rpc_struct();
	rpc_struct_add(&s, "name", rpc_string(ds->name ? ds->name : ""));
	rpc_struct_add(&s, "description", rpc_string(ds->description ? ds->description : ""));
	rpc_struct_add(&s, "enabled", rpc_bool(ds->enabled));
	rpc_struct_add(&s, "standard", rpc_bool(ds->standard));
	rpc_struct_add(&s, "min", rpc_double(ds->min));
	rpc_struct_add(&s, "max", rpc_double(ds->max));
	rpc_struct_add(&s, "units", rpc_string(ds->units ? ds->units : ""));
	rpc_array_push(&l->arr, s);
}

/* ---- thunks: one per backend shape ---- */

#define NEED(fn)                                                                                   \
	do {                                                                                       \
		if (!be->fn) {                                                                     \
			rpc_err_set(err, RPC_ERR_INTERNAL, "not implemented: %s", #fn);            \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define A(i) (args->a[i])

/* Wrap a backend's malloc'd string answer (called after the backend, never
 * as part of the same expression: argument evaluation order is unspecified). */
static int take_string(int rc, char *s, struct rpc_value *result)
{
	if (rc == 0)
		*result = rpc_string(s ? s : "");
	free(s);
	return rc;
}

static int m_has_vm_rrd(const struct rpc_backend *be, const struct rpc_args *args,
                        struct rpc_value *result, struct rpc_err *err)
{
	NEED(has_vm_rrd);
	bool b = false;
	int rc = be->has_vm_rrd(be->ctx, A(0).s, &b, err);
	if (rc == 0)
		*result = rpc_bool(b);
	return rc;
}

static int m_push_rrd_local(const struct rpc_backend *be, const struct rpc_args *args,
                            struct rpc_value *result, struct rpc_err *err)
{
	NEED(push_rrd_local);
	return be->push_rrd_local(be->ctx, A(0).s, A(1).i, err);
}

static int m_push_rrd_remote(const struct rpc_backend *be, const struct rpc_args *args,
                             struct rpc_value *result, struct rpc_err *err)
{
	NEED(push_rrd_remote);
	return be->push_rrd_remote(be->ctx, A(0).s, A(1).s, err);
}

static int m_remove_rrd(const struct rpc_backend *be, const struct rpc_args *args,
                        struct rpc_value *result, struct rpc_err *err)
{
	NEED(remove_rrd);
	return be->remove_rrd(be->ctx, A(0).s, err);
}

static int m_migrate_rrd(const struct rpc_backend *be, const struct rpc_args *args,
                         struct rpc_value *result, struct rpc_err *err)
{
	NEED(migrate_rrd);
	return be->migrate_rrd(be->ctx, A(0).s, A(1).s, A(2).s, A(3).s, err);
}

static int m_send_host_rrd_to_master(const struct rpc_backend *be, const struct rpc_args *args,
                                     struct rpc_value *result, struct rpc_err *err)
{
	NEED(send_host_rrd_to_master);
	return be->send_host_rrd_to_master(be->ctx, A(0).s, err);
}

static int m_backup_rrds(const struct rpc_backend *be, const struct rpc_args *args,
                         struct rpc_value *result, struct rpc_err *err)
{
	NEED(backup_rrds);
	return be->backup_rrds(be->ctx, A(0).s, err);
}

static int m_save_rrds(const struct rpc_backend *be, const struct rpc_args *args,
                       struct rpc_value *result, struct rpc_err *err)
{
	NEED(backup_rrds);
	return be->backup_rrds(be->ctx, NULL, err);
}

static int m_archive_rrd(const struct rpc_backend *be, const struct rpc_args *args,
                         struct rpc_value *result, struct rpc_err *err)
{
	NEED(archive_rrd);
	return be->archive_rrd(be->ctx, A(0).s, A(1).s, err);
}

static int m_archive_sr_rrd(const struct rpc_backend *be, const struct rpc_args *args,
                            struct rpc_value *result, struct rpc_err *err)
{
	NEED(archive_sr_rrd);
	char *path = NULL;
	int rc = be->archive_sr_rrd(be->ctx, A(0).s, &path, err);
	return take_string(rc, path, result);
}

static int m_push_sr_rrd(const struct rpc_backend *be, const struct rpc_args *args,
                         struct rpc_value *result, struct rpc_err *err)
{
	NEED(push_sr_rrd);
	return be->push_sr_rrd(be->ctx, A(0).s, A(1).s, err);
}

/* The owner of a datasource call from its leading arguments. */
static struct rpc_owner owner_of(enum mon_owner_kind kind, const struct rpc_args *args)
{
	struct rpc_owner o = {.kind = kind, .domid = -1};
	if (kind != MON_HOST)
		o.uuid = A(0).s;
	return o;
}

/* Index of ds_name in the argument list for each owner kind. */
static int ds_arg(enum mon_owner_kind kind)
{
	return kind == MON_HOST ? 0 : 1;
}

static int add_ds(enum mon_owner_kind kind, const struct rpc_backend *be,
                  const struct rpc_args *args, struct rpc_err *err)
{
	NEED(add_ds);
	struct rpc_owner o = owner_of(kind, args);
	int ds = ds_arg(kind);
	if (kind == MON_VM) {
		o.domid = A(1).i;
		ds = 2;
	}
	return be->add_ds(be->ctx, &o, A(ds).s, err);
}

static int forget_ds(enum mon_owner_kind kind, const struct rpc_backend *be,
                     const struct rpc_args *args, struct rpc_err *err)
{
	NEED(forget_ds);
	struct rpc_owner o = owner_of(kind, args);
	return be->forget_ds(be->ctx, &o, A(ds_arg(kind)).s, err);
}

static int query_ds(enum mon_owner_kind kind, const struct rpc_backend *be,
                    const struct rpc_args *args, struct rpc_value *result, struct rpc_err *err)
{
	NEED(query_ds);
	struct rpc_owner o = owner_of(kind, args);
	double d = 0;
	int rc = be->query_ds(be->ctx, &o, A(ds_arg(kind)).s, &d, err);
	if (rc == 0)
		*result = rpc_double(d);
	return rc;
}

static int query_possible(enum mon_owner_kind kind, const struct rpc_backend *be,
                          const struct rpc_args *args, struct rpc_value *result,
                          struct rpc_err *err)
{
	NEED(query_possible_dss);
	struct rpc_owner o = owner_of(kind, args);
	struct rpc_ds_list l = {.arr = rpc_array()};
	int rc = be->query_possible_dss(be->ctx, &o, &l, err);
	if (rc == 0)
		*result = l.arr;
	else
		rpc_value_free(&l.arr);
	return rc;
}

#define DS_THUNKS(who, KIND)                                                                       \
	static int m_add_##who##_ds(const struct rpc_backend *be, const struct rpc_args *args,     \
	                            struct rpc_value *result, struct rpc_err *err)                 \
	{                                                                                          \
		return add_ds(KIND, be, args, err);                                                \
	}                                                                                          \
	static int m_forget_##who##_ds(const struct rpc_backend *be, const struct rpc_args *args,  \
	                               struct rpc_value *result, struct rpc_err *err)              \
	{                                                                                          \
		return forget_ds(KIND, be, args, err);                                             \
	}                                                                                          \
	static int m_query_##who##_ds(const struct rpc_backend *be, const struct rpc_args *args,   \
	                              struct rpc_value *result, struct rpc_err *err)               \
	{                                                                                          \
		return query_ds(KIND, be, args, result, err);                                      \
	}                                                                                          \
	static int m_query_possible_##who##_dss(const struct rpc_backend *be,                      \
	                                        const struct rpc_args *args,                       \
	                                        struct rpc_value *result, struct rpc_err *err)     \
	{                                                                                          \
		return query_possible(KIND, be, args, result, err);                                \
	}

DS_THUNKS(host, MON_HOST)
DS_THUNKS(vm, MON_VM)
DS_THUNKS(sr, MON_SR)

static int m_update_use_min_max(const struct rpc_backend *be, const struct rpc_args *args,
                                struct rpc_value *result, struct rpc_err *err)
{
	NEED(update_use_min_max);
	return be->update_use_min_max(be->ctx, A(0).b, err);
}

static int m_set_cache_sr(const struct rpc_backend *be, const struct rpc_args *args,
                          struct rpc_value *result, struct rpc_err *err)
{
	NEED(set_cache_sr);
	return be->set_cache_sr(be->ctx, A(0).s, err);
}

static int m_unset_cache_sr(const struct rpc_backend *be, const struct rpc_args *args,
                            struct rpc_value *result, struct rpc_err *err)
{
	NEED(unset_cache_sr);
	return be->unset_cache_sr(be->ctx, err);
}

static int m_get_header(const struct rpc_backend *be, const struct rpc_args *args,
                        struct rpc_value *result, struct rpc_err *err)
{
	NEED(plugin_get_header);
	char *s = NULL;
	int rc = be->plugin_get_header(be->ctx, &s, err);
	return take_string(rc, s, result);
}

static int m_get_path(const struct rpc_backend *be, const struct rpc_args *args,
                      struct rpc_value *result, struct rpc_err *err)
{
	NEED(plugin_get_path);
	char *s = NULL;
	int rc = be->plugin_get_path(be->ctx, A(0).s, &s, err);
	return take_string(rc, s, result);
}

static int do_register(const struct rpc_backend *be, const char *uid, int freq, int proto,
                       struct rpc_value *result, struct rpc_err *err)
{
	NEED(plugin_register);
	double next = 0;
	int rc = be->plugin_register(be->ctx, uid, (enum rpc_frequency)freq,
	                             (enum rpc_protocol)proto, &next, err);
	if (rc == 0)
		*result = rpc_double(next);
	return rc;
}

static int m_local_register(const struct rpc_backend *be, const struct rpc_args *args,
                            struct rpc_value *result, struct rpc_err *err)
{
	return do_register(be, A(0).s, A(1).e, A(2).e, result, err);
}

static int m_register(const struct rpc_backend *be, const struct rpc_args *args,
                      struct rpc_value *result, struct rpc_err *err)
{
	return do_register(be, A(0).s, A(1).e, RPC_PROTOCOL_V1, result, err);
}

/* xcp-metrics' protocol v3 registration (its rpc/routes/register_v3.rs):
 * only "OpenMetrics 1.0.0" is known; answers "OK".  The page is read like
 * any other plugin's: its bytes say which protocol it is. */
#define V3_VERSION "OpenMetrics 1.0.0"

static int m_metrics_get_versions(const struct rpc_backend *be, const struct rpc_args *args,
                                  struct rpc_value *result, struct rpc_err *err)
{
	(void)args;
	NEED(plugin_register); /* no plugins, no protocol */
	*result = rpc_struct();
	struct rpc_value v = rpc_array();
	rpc_array_push(&v, rpc_string(V3_VERSION));
	rpc_struct_add(result, "versions", v);
	return 0;
}

static int m_metrics_register(const struct rpc_backend *be, const struct rpc_args *args,
                              struct rpc_value *result, struct rpc_err *err)
{
	NEED(plugin_register);
	if (strcmp(A(1).s, V3_VERSION)) {
		rpc_err_set(err, RPC_ERR_INVALID_PROTOCOL,
		            "unsupported OpenMetrics version '%.64s' (this daemon reads '%s')",
		            A(1).s, V3_VERSION);
		return -1;
	}
	int rc = do_register(be, A(0).s, RPC_FREQ_FIVE_SECONDS, RPC_PROTOCOL_V3, result, err);
	if (rc == 0) {
		rpc_value_free(result);
		*result = rpc_string("OK");
	}
	return rc;
}

static int m_metrics_deregister(const struct rpc_backend *be, const struct rpc_args *args,
                                struct rpc_value *result, struct rpc_err *err)
{
	NEED(plugin_deregister);
	int rc = be->plugin_deregister(be->ctx, A(0).s, err);
	if (rc == 0)
		*result = rpc_string("Done");
	return rc;
}

static int m_deregister(const struct rpc_backend *be, const struct rpc_args *args,
                        struct rpc_value *result, struct rpc_err *err)
{
	NEED(plugin_deregister);
	return be->plugin_deregister(be->ctx, A(0).s, err);
}

static int m_next_reading(const struct rpc_backend *be, const struct rpc_args *args,
                          struct rpc_value *result, struct rpc_err *err)
{
	NEED(plugin_next_reading);
	double d = 0;
	int rc = be->plugin_next_reading(be->ctx, A(0).s, &d, err);
	if (rc == 0)
		*result = rpc_double(d);
	return rc;
}

static int m_ha_enable(const struct rpc_backend *be, const struct rpc_args *args,
                       struct rpc_value *result, struct rpc_err *err)
{
	NEED(ha_enable_and_update);
	return be->ha_enable_and_update(be->ctx, A(0).lats.v, A(0).lats.n, A(1).d, A(2).d, err);
}

static int m_ha_disable(const struct rpc_backend *be, const struct rpc_args *args,
                        struct rpc_value *result, struct rpc_err *err)
{
	NEED(ha_disable);
	return be->ha_disable(be->ctx, err);
}

static int m_load_rrd(const struct rpc_backend *be, const struct rpc_args *args,
                      struct rpc_value *result, struct rpc_err *err)
{
	NEED(load_rrd);
	return be->load_rrd(be->ctx, A(0).s, A(1).i, A(2).s, err);
}

/* ---- the table (wire names and parameter names from rrd_interface.ml) ---- */

#define S(n)                                                                                       \
	{                                                                                          \
		n, NULL, RPC_P_STRING                                                              \
	}
#define SO(n)                                                                                      \
	{                                                                                          \
		n, NULL, RPC_P_STRING_OPT                                                          \
	}
#define I(n)                                                                                       \
	{                                                                                          \
		n, NULL, RPC_P_INT                                                                 \
	}
#define F(n)                                                                                       \
	{                                                                                          \
		n, NULL, RPC_P_FLOAT                                                               \
	}
#define UNIT                                                                                       \
	{                                                                                          \
		NULL, NULL, RPC_P_UNIT                                                             \
	}

static const struct rpc_method methods[] = {
    {"has_vm_rrd", 1, {S("vm_uuid")}, RPC_R_BOOL, m_has_vm_rrd, RPC_E_READ},
    {"push_rrd_local", 2, {S("vm_uuid"), I("domid")}, RPC_R_UNIT, m_push_rrd_local, RPC_E_RRDS},
    {"push_rrd_remote",
     2,
     {S("vm_uuid"), S("remote_address")},
     RPC_R_UNIT,
     m_push_rrd_remote,
     RPC_E_READ},
    {"remove_rrd", 1, {S("uuid")}, RPC_R_UNIT, m_remove_rrd, RPC_E_ARCHIVES},
    {"migrate_rrd",
     4,
     {SO("session_id"), S("remote_address"), S("vm_uuid"), S("host_uuid")},
     RPC_R_UNIT,
     m_migrate_rrd,
     RPC_E_RRDS},
    {"send_host_rrd_to_master",
     1,
     {S("master_address")},
     RPC_R_UNIT,
     m_send_host_rrd_to_master,
     RPC_E_READ},
    {"backup_rrds", 2, {SO("remote_address"), UNIT}, RPC_R_UNIT, m_backup_rrds, RPC_E_ARCHIVES},
    {"save_rrds", 1, {UNIT}, RPC_R_UNIT, m_save_rrds, RPC_E_ARCHIVES},
    {"archive_rrd", 2, {S("vm_uuid"), SO("remote_address")}, RPC_R_UNIT, m_archive_rrd, RPC_E_RRDS},
    {"archive_sr_rrd", 1, {S("sr_uuid")}, RPC_R_STRING, m_archive_sr_rrd, RPC_E_RRDS},
    {"push_sr_rrd", 2, {S("sr_uuid"), S("path")}, RPC_R_UNIT, m_push_sr_rrd, RPC_E_RRDS},
    {"add_host_ds", 1, {S("ds_name")}, RPC_R_UNIT, m_add_host_ds, RPC_E_RRDS},
    {"forget_host_ds", 1, {S("ds_name")}, RPC_R_UNIT, m_forget_host_ds, RPC_E_RRDS},
    {"query_possible_host_dss", 1, {UNIT}, RPC_R_DS_LIST, m_query_possible_host_dss, RPC_E_READ},
    {"query_host_ds", 1, {S("ds_name")}, RPC_R_FLOAT, m_query_host_ds, RPC_E_READ},
    {"add_vm_ds", 3, {S("vm_uuid"), I("domid"), S("ds_name")}, RPC_R_UNIT, m_add_vm_ds, RPC_E_RRDS},
    {"forget_vm_ds", 2, {S("vm_uuid"), S("ds_name")}, RPC_R_UNIT, m_forget_vm_ds, RPC_E_RRDS},
    {"query_possible_vm_dss",
     1,
     {S("vm_uuid")},
     RPC_R_DS_LIST,
     m_query_possible_vm_dss,
     RPC_E_READ},
    {"query_vm_ds", 2, {S("vm_uuid"), S("ds_name")}, RPC_R_FLOAT, m_query_vm_ds, RPC_E_READ},
    {"add_sr_ds", 2, {S("sr_uuid"), S("ds_name")}, RPC_R_UNIT, m_add_sr_ds, RPC_E_RRDS},
    {"forget_sr_ds", 2, {S("sr_uuid"), S("ds_name")}, RPC_R_UNIT, m_forget_sr_ds, RPC_E_RRDS},
    {"query_possible_sr_dss",
     1,
     {S("sr_uuid")},
     RPC_R_DS_LIST,
     m_query_possible_sr_dss,
     RPC_E_READ},
    {"query_sr_ds", 2, {S("sr_uuid"), S("ds_name")}, RPC_R_FLOAT, m_query_sr_ds, RPC_E_READ},
    {"update_use_min_max",
     1,
     {{"value", NULL, RPC_P_BOOL}},
     RPC_R_UNIT,
     m_update_use_min_max,
     RPC_E_RRDS},
    {"set_cache_sr", 1, {S("sr_uuid")}, RPC_R_UNIT, m_set_cache_sr, RPC_E_SESSION},
    {"unset_cache_sr", 1, {UNIT}, RPC_R_UNIT, m_unset_cache_sr, RPC_E_SESSION},
    {"Plugin.get_header", 1, {UNIT}, RPC_R_STRING, m_get_header, RPC_E_READ},
    {"Plugin.get_path", 1, {S("uid")}, RPC_R_STRING, m_get_path, RPC_E_READ},
    {"Plugin.Local.register",
     3,
     {S("uid"), {"info", NULL, RPC_P_FREQUENCY}, {"protocol", NULL, RPC_P_PROTOCOL}},
     RPC_R_FLOAT,
     m_local_register,
     RPC_E_SESSION},
    {"Plugin.Local.deregister", 1, {S("uid")}, RPC_R_UNIT, m_deregister, RPC_E_SESSION},
    {"Plugin.Local.next_reading", 1, {S("uid")}, RPC_R_FLOAT, m_next_reading, RPC_E_READ},
    {"Plugin.register",
     2,
     {S("uid"), {"frequency", NULL, RPC_P_FREQUENCY}},
     RPC_R_FLOAT,
     m_register,
     RPC_E_SESSION},
    {"Plugin.deregister", 1, {S("uid")}, RPC_R_UNIT, m_deregister, RPC_E_SESSION},
    /* xcp-metrics' protocol v3 (xapi-rs/src/rpc/methods.rs) */
    {"Plugin.Metrics.get_versions", 1, {UNIT}, RPC_R_STRUCT, m_metrics_get_versions, RPC_E_READ},
    {"Plugin.Metrics.register",
     2,
     {S("uid"), S("version")},
     RPC_R_STRING,
     m_metrics_register,
     RPC_E_SESSION},
    {"Plugin.Metrics.deregister", 1, {S("uid")}, RPC_R_STRING, m_metrics_deregister, RPC_E_SESSION},
    {"Plugin.next_reading", 1, {S("uid")}, RPC_R_FLOAT, m_next_reading, RPC_E_READ},
    {"HA.enable_and_update",
     3,
     {{"statefile_latencies", NULL, RPC_P_STATEFILE_LATENCIES},
      F("heartbeat_latency"),
      F("xapi_latency")},
     RPC_R_UNIT,
     m_ha_enable,
     RPC_E_SESSION},
    {"HA.disable", 1, {UNIT}, RPC_R_UNIT, m_ha_disable, RPC_E_SESSION},
    /* The IDL names the third parameter "master address" (with a space);
     * xapi-idl's golden sample sends "master_address": accept both. */
    {"Deprecated.load_rrd",
     3,
     {S("uuid"), I("timescale"), {"master address", "master_address", RPC_P_STRING_OPT}},
     RPC_R_UNIT,
     m_load_rrd,
     RPC_E_RRDS},
};

const char *rpc_effect_name(enum rpc_effect e)
{
	static const char *const names[] = {"read", "rrds", "archives", "session"};
	return (unsigned)e < 4 ? names[e] : "?";
}

const struct rpc_method *rpc_methods(size_t *n)
{
	*n = sizeof(methods) / sizeof(methods[0]);
	return methods;
}

const struct rpc_method *rpc_method_find(const char *name)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}
