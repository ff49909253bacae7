/*
 * A stub rpc_backend for the RPC tests, the stub server and the fuzzer.  It
 * records every call it receives as one trace line ("method key=value ...")
 * so tests can check what the decoder handed over, and answers in one of two
 * modes:
 *  - golden: the values xapi-idl's golden responses carry (nil, 0, true, "",
 *    one Data_source {name="name", description="", enabled, standard, min=0,
 *    max=1, units="units"} for the host, [] for VMs and SRs);
 *  - lively: values that exercise the encoders (see each function), plus
 *    errors on request: uuid "fail-archive" → Archive_failed, ds_name
 *    "missing" → Datasource_missing, remote_address "fail" → a failure
 *    without a message (the dispatcher must supply one).
 * Header-only, static functions: include it in exactly one file per binary.
 */
#ifndef RRDD_TEST_RPC_BACKEND_H
#define RRDD_TEST_RPC_BACKEND_H

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/methods.h"
#include "util/buf.h"
#include "util/xalloc.h"

struct stub {
	bool golden;
	struct buf trace; /* one line per call */
	unsigned calls;
};

static void stub_log(struct stub *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void stub_log(struct stub *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&s->trace, fmt, ap);
	va_end(ap);
	buf_addc(&s->trace, '\n');
	s->calls++;
}

#define STR(x) ((x) ? (x) : "(none)")

static const char *owner_name(const struct rpc_owner *o)
{
	return o->kind == MON_HOST ? "host" : o->kind == MON_VM ? "vm" : "sr";
}

static int common_fail(struct stub *s, const char *uuid, const char *remote, struct rpc_err *err)
{
	if (uuid && !strcmp(uuid, "fail-archive")) {
		rpc_err_set(err, RPC_ERR_ARCHIVE_FAILED, "cannot archive %s", uuid);
		return -1;
	}
	if (!s->golden && remote && !strcmp(remote, "fail"))
		return -5; /* no message: the dispatcher must invent one */
	return 0;
}

static int st_has_vm_rrd(void *ctx, const char *vm_uuid, bool *out, struct rpc_err *err)
{
	struct stub *s = ctx;
	stub_log(s, "has_vm_rrd vm_uuid=%s", vm_uuid);
	*out = s->golden || strcmp(vm_uuid, "absent") != 0;
	return common_fail(s, vm_uuid, NULL, err);
}

static int st_push_rrd_local(void *ctx, const char *vm_uuid, int64_t domid, struct rpc_err *err)
{
	stub_log(ctx, "push_rrd_local vm_uuid=%s domid=%" PRId64, vm_uuid, domid);
	return common_fail(ctx, vm_uuid, NULL, err);
}

static int st_push_rrd_remote(void *ctx, const char *vm_uuid, const char *remote,
                              struct rpc_err *err)
{
	stub_log(ctx, "push_rrd_remote vm_uuid=%s remote_address=%s", vm_uuid, remote);
	return common_fail(ctx, vm_uuid, remote, err);
}

static int st_remove_rrd(void *ctx, const char *uuid, struct rpc_err *err)
{
	stub_log(ctx, "remove_rrd uuid=%s", uuid);
	return common_fail(ctx, uuid, NULL, err);
}

static int st_migrate_rrd(void *ctx, const char *session_id, const char *remote,
                          const char *vm_uuid, const char *host_uuid, struct rpc_err *err)
{
	stub_log(ctx, "migrate_rrd session_id=%s remote_address=%s vm_uuid=%s host_uuid=%s",
	         STR(session_id), remote, vm_uuid, host_uuid);
	return common_fail(ctx, vm_uuid, remote, err);
}

static int st_send_host_rrd_to_master(void *ctx, const char *master, struct rpc_err *err)
{
	stub_log(ctx, "send_host_rrd_to_master master_address=%s", master);
	return common_fail(ctx, NULL, master, err);
}

static int st_backup_rrds(void *ctx, const char *remote, struct rpc_err *err)
{
	stub_log(ctx, "backup_rrds remote_address=%s", STR(remote));
	return common_fail(ctx, NULL, remote, err);
}

static int st_archive_rrd(void *ctx, const char *vm_uuid, const char *remote, struct rpc_err *err)
{
	stub_log(ctx, "archive_rrd vm_uuid=%s remote_address=%s", vm_uuid, STR(remote));
	return common_fail(ctx, vm_uuid, remote, err);
}

static int st_archive_sr_rrd(void *ctx, const char *sr_uuid, char **path, struct rpc_err *err)
{
	struct stub *s = ctx;
	stub_log(s, "archive_sr_rrd sr_uuid=%s", sr_uuid);
	int rc = common_fail(s, sr_uuid, NULL, err);
	if (rc)
		return rc;
	if (s->golden) {
		*path = xstrdup("");
	} else {
		struct buf b = BUF_INIT;
		buf_printf(&b, "/var/lib/xcp/blobs/rrds/%s.gz", sr_uuid);
		*path = xstrdup(buf_cstr(&b));
		buf_free(&b);
	}
	return 0;
}

static int st_push_sr_rrd(void *ctx, const char *sr_uuid, const char *path, struct rpc_err *err)
{
	stub_log(ctx, "push_sr_rrd sr_uuid=%s path=%s", sr_uuid, path);
	return common_fail(ctx, sr_uuid, NULL, err);
}

static int st_add_ds(void *ctx, const struct rpc_owner *o, const char *ds, struct rpc_err *err)
{
	stub_log(ctx, "add_ds owner=%s uuid=%s domid=%" PRId64 " ds_name=%s", owner_name(o),
	         STR(o->uuid), o->domid, ds);
	if (!strcmp(ds, "missing")) {
		rpc_err_set(err, RPC_ERR_DATASOURCE_MISSING, "%s", ds);
		return -1;
	}
	return common_fail(ctx, o->uuid, NULL, err);
}

static int st_forget_ds(void *ctx, const struct rpc_owner *o, const char *ds, struct rpc_err *err)
{
	stub_log(ctx, "forget_ds owner=%s uuid=%s ds_name=%s", owner_name(o), STR(o->uuid), ds);
	return common_fail(ctx, o->uuid, NULL, err);
}

static int st_query_possible_dss(void *ctx, const struct rpc_owner *o, struct rpc_ds_list *l,
                                 struct rpc_err *err)
{
	struct stub *s = ctx;
	stub_log(s, "query_possible_dss owner=%s uuid=%s", owner_name(o), STR(o->uuid));
	if (s->golden) {
		if (o->kind == MON_HOST)
			rpc_ds_add(l, &(struct rpc_ds_info){"name", "", true, true, 0, 1, "units"});
		return 0;
	}
	if (o->kind == MON_SR)
		return 0;
	rpc_ds_add(l, &(struct rpc_ds_info){"cpu0", "Physical cpu usage for cpu 0", true, true, 0,
	                                    1, "(fraction)"});
	if (o->kind == MON_HOST)
		rpc_ds_add(l, &(struct rpc_ds_info){"odd <&> \"name\"", "description not available",
		                                    false, false, -INFINITY, INFINITY, "unknown"});
	return common_fail(s, o->uuid, NULL, err);
}

static int st_query_ds(void *ctx, const struct rpc_owner *o, const char *ds, double *out,
                       struct rpc_err *err)
{
	struct stub *s = ctx;
	stub_log(s, "query_ds owner=%s uuid=%s ds_name=%s", owner_name(o), STR(o->uuid), ds);
	if (!strcmp(ds, "missing")) {
		rpc_err_set(err, RPC_ERR_DATASOURCE_MISSING, "%s: %s", owner_name(o), ds);
		return -1;
	}
	char *end;
	double d = strtod(ds, &end);
	*out = s->golden ? 0 : (*end == '\0' && end != ds) ? d : 42.5;
	return 0;
}

static int st_update_use_min_max(void *ctx, bool v, struct rpc_err *err)
{
	stub_log(ctx, "update_use_min_max value=%s", v ? "true" : "false");
	return 0;
}

static int st_set_cache_sr(void *ctx, const char *sr_uuid, struct rpc_err *err)
{
	stub_log(ctx, "set_cache_sr sr_uuid=%s", sr_uuid);
	return 0;
}

static int st_unset_cache_sr(void *ctx, struct rpc_err *err)
{
	stub_log(ctx, "unset_cache_sr");
	return 0;
}

static int st_get_header(void *ctx, char **out, struct rpc_err *err)
{
	struct stub *s = ctx;
	stub_log(s, "plugin_get_header");
	*out = xstrdup(s->golden ? "" : "DATASOURCES\n");
	return 0;
}

static int st_get_path(void *ctx, const char *uid, char **out, struct rpc_err *err)
{
	struct stub *s = ctx;
	stub_log(s, "plugin_get_path uid=%s", uid);
	struct buf b = BUF_INIT;
	if (!s->golden)
		buf_printf(&b, "/dev/shm/metrics/%s", uid);
	*out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return 0;
}

static int st_register(void *ctx, const char *uid, enum rpc_frequency f, enum rpc_protocol p,
                       double *next, struct rpc_err *err)
{
	struct stub *s = ctx;
	stub_log(s, "plugin_register uid=%s frequency=%d protocol=V%d", uid, (int)f, (int)p);
	*next = s->golden ? 0 : (double)p + 0.5;
	return 0;
}

static int st_deregister(void *ctx, const char *uid, struct rpc_err *err)
{
	stub_log(ctx, "plugin_deregister uid=%s", uid);
	return 0;
}

static int st_next_reading(void *ctx, const char *uid, double *out, struct rpc_err *err)
{
	struct stub *s = ctx;
	stub_log(s, "plugin_next_reading uid=%s", uid);
	*out = s->golden ? 0 : !strcmp(uid, "unknown") ? -1 : 3.25;
	return 0;
}

static int st_ha_enable(void *ctx, const struct rpc_statefile_latency *l, size_t n, double hb,
                        double xapi, struct rpc_err *err)
{
	struct stub *s = ctx;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (l[i].has_latency)
			buf_printf(&b, "%s%s:%.17g", i ? "," : "", l[i].id, l[i].latency);
		else
			buf_printf(&b, "%s%s:(none)", i ? "," : "", l[i].id);
	}
	stub_log(s,
	         "ha_enable_and_update statefile_latencies=[%s] heartbeat_latency=%.17g "
	         "xapi_latency=%.17g",
	         buf_cstr(&b), hb, xapi);
	buf_free(&b);
	return 0;
}

static int st_ha_disable(void *ctx, struct rpc_err *err)
{
	stub_log(ctx, "ha_disable");
	return 0;
}

static int st_load_rrd(void *ctx, const char *uuid, int64_t timescale, const char *master,
                       struct rpc_err *err)
{
	stub_log(ctx, "load_rrd uuid=%s timescale=%" PRId64 " master_address=%s", uuid, timescale,
	         STR(master));
	return common_fail(ctx, uuid, master, err);
}

static struct rpc_backend stub_backend(struct stub *s)
{
	return (struct rpc_backend){
	    .ctx = s,
	    .has_vm_rrd = st_has_vm_rrd,
	    .push_rrd_local = st_push_rrd_local,
	    .push_rrd_remote = st_push_rrd_remote,
	    .remove_rrd = st_remove_rrd,
	    .migrate_rrd = st_migrate_rrd,
	    .send_host_rrd_to_master = st_send_host_rrd_to_master,
	    .backup_rrds = st_backup_rrds,
	    .archive_rrd = st_archive_rrd,
	    .archive_sr_rrd = st_archive_sr_rrd,
	    .push_sr_rrd = st_push_sr_rrd,
	    .add_ds = st_add_ds,
	    .forget_ds = st_forget_ds,
	    .query_possible_dss = st_query_possible_dss,
	    .query_ds = st_query_ds,
	    .update_use_min_max = st_update_use_min_max,
	    .set_cache_sr = st_set_cache_sr,
	    .unset_cache_sr = st_unset_cache_sr,
	    .plugin_get_header = st_get_header,
	    .plugin_get_path = st_get_path,
	    .plugin_register = st_register,
	    .plugin_deregister = st_deregister,
	    .plugin_next_reading = st_next_reading,
	    .ha_enable_and_update = st_ha_enable,
	    .ha_disable = st_ha_disable,
	    .load_rrd = st_load_rrd,
	};
}

#endif
