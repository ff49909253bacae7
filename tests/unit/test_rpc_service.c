/*
 * The daemon's RPC methods (rpc/service.c) over a real registry and store
 * (archives in a temporary directory, no journal) and a simulated clock:
 *  - every method the table marks "read" or "session" leaves the RRDs (the
 *    registry's generation) and the archive files as they were, whatever it
 *    is given (so a method that changes them cannot be marked so, and
 *    escape test_crash_rpc.py's kill -9 cases);
 *  - add_*_ds starts the DS at the daemon's clock (simulated here: far
 *    from the real time), not at the real time;
 *  - the archive methods: archive_rrd releases into the archive,
 *    push_rrd_local loads it back, archive_sr_rrd returns the path and
 *    push_sr_rrd reads it (and refuses a FIFO at once), remove_rrd deletes
 *    it, forget on an owner without RRD is Datasource_missing, forget of an
 *    absent DS succeeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock/clock.h"
#include "monitor/change.h"
#include "monitor/registry.h"
#include "rpc/methods.h"
#include "rpc/service.h"
#include "store/durable.h"
#include "util/log.h"

#define HOST  "aaaaaaaa-0000-4000-8000-000000000001"
#define VM1   "bbbbbbbb-0000-4000-8000-000000000001"
#define SR1   "cccccccc-0000-4000-8000-000000000001"
#define EPOCH 1000000000.0 /* 2001: the real clock is far from it */

struct fx {
	char dir[256];
	struct clk clk;
	struct mon_registry *reg;
	struct store_dur *dur;
	struct rpc_service *svc;
	struct rpc_backend be;
	struct mon_chunk chunk;
};

static void sample(struct mon_chunk_owner *o, const char *name, bool dflt, double v)
{
	struct mon_sample *s = mon_owner_add_sample(o);
	s->d = (struct mon_dsdesc){.name = name,
	                           .description = "d",
	                           .units = "u",
	                           .type = DS_GAUGE,
	                           .value_type = VAL_FLOAT,
	                           .min = -INFINITY,
	                           .max = INFINITY,
	                           .dflt = dflt};
	s->v = DSVAL_FLT(v);
}

/* One cycle at the clock's time: host, VM1 and SR1 each with a default
 * DS and a non-default one. */
static void cycle(struct fx *f)
{
	double t = clk_wall(&f->clk);
	mon_chunk_clear(&f->chunk);
	snprintf(f->chunk.uid, sizeof(f->chunk.uid), "test");
	f->chunk.t = t;
	static const enum mon_owner_kind kinds[] = {MON_HOST, MON_VM, MON_SR};
	static const char *const uuids[] = {NULL, VM1, SR1};
	for (int k = 0; k < 3; k++) {
		struct mon_chunk_owner *o = mon_chunk_add_owner(&f->chunk, kinds[k], uuids[k]);
		sample(o, "on", true, 1.0);
		sample(o, "off", false, 2.0);
	}
	struct mon_resident res = {.uuid = VM1, .domid = 1};
	const struct mon_chunk *cs[1] = {&f->chunk};
	struct mon_change c = {
	    .kind = MON_CH_CYCLE,
	    .cycle = {.now = t, .chunks = cs, .nchunks = 1, .res = &res, .nres = 1}};
	mon_commit(f->reg, &c, 0, NULL);
	clk_sleep_until(&f->clk, clk_mono(&f->clk) + 5);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/rrdd-test-rpcsvc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	clk_init_sim(&f->clk, EPOCH);
	struct mon_config mc = {.host_uuid = HOST};
	f->reg = mon_registry_new(&mc);
	struct store_dur_options so = {.archive_dir = f->dir, .host_uuid = HOST};
	assert_int_equal(store_dur_open(&so, f->reg, &f->dur, NULL), 0);
	struct rpc_service_config sc = {.reg = f->reg, .dur = f->dur, .clk = &f->clk};
	f->svc = rpc_service_new(&sc, &f->be);
	for (int i = 0; i < 3; i++)
		cycle(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rpc_service_free(f->svc);
	store_dur_close(f->dur);
	mon_registry_free(f->reg);
	mon_chunk_clear(&f->chunk);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The names in the archive directory, sorted, as one string. */
static void listing(const char *dir, char *out, size_t len)
{
	struct dirent **v;
	int n = scandir(dir, &v, NULL, alphasort);
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		strncat(out, v[i]->d_name, len - strlen(out) - 2);
		strncat(out, "/", len - strlen(out) - 1);
		free(v[i]);
	}
	free(v);
}

/* Plausible arguments for every parameter of m: existing owners, a DS. */
static struct rpc_value params_for(const struct rpc_method *m, const char *dir)
{
	struct rpc_value arr = rpc_array(), st = rpc_struct();
	for (int i = 0; i < m->nparams; i++) {
		const struct rpc_param_spec *p = &m->params[i];
		struct rpc_value v;
		switch (p->type) {
		case RPC_P_STRING:
		case RPC_P_STRING_OPT:
			if (strstr(p->name, "address"))
				v = rpc_string("/nonexistent/peer"); /* fails fast */
			else if (!strcmp(p->name, "sr_uuid"))
				v = rpc_string(SR1);
			else if (!strcmp(p->name, "ds_name"))
				v = rpc_string("off");
			else if (!strcmp(p->name, "path"))
				v = rpc_string(dir);
			else if (!strcmp(p->name, "uid"))
				v = rpc_string("a-plugin");
			else
				v = rpc_string(VM1);
			break;
		case RPC_P_INT:
			v = rpc_int(1);
			break;
		case RPC_P_FLOAT:
			v = rpc_double(0.5);
			break;
		case RPC_P_BOOL:
			v = rpc_bool(true);
			break;
		case RPC_P_FREQUENCY:
			v = rpc_string("Five_Seconds");
			break;
		case RPC_P_PROTOCOL:
			v = rpc_string("V2");
			break;
		case RPC_P_STATEFILE_LATENCIES:
			v = rpc_array();
			break;
		default:
			continue;
		}
		rpc_struct_add(&st, p->name, v);
	}
	rpc_array_push(&arr, st);
	for (int i = 0; i < m->nparams; i++)
		if (m->params[i].type == RPC_P_UNIT)
			rpc_array_push(&arr, rpc_nil());
	return arr;
}

static int call(struct fx *f, const char *name, struct rpc_value params, struct rpc_value *result,
                struct rpc_err *err)
{
	*result = rpc_nil();
	memset(err, 0, sizeof(*err));
	int rc = rpc_call(&f->be, name, &params, result, err);
	rpc_value_free(&params);
	return rc;
}

static void test_read_and_session_methods_change_nothing(void **state)
{
	struct fx *f = *state;
	char want[4096], got[4096];
	size_t n, checked = 0;
	const struct rpc_method *m = rpc_methods(&n);
	for (size_t i = 0; i < n; i++) {
		if (m[i].effect != RPC_E_READ && m[i].effect != RPC_E_SESSION)
			continue;
		listing(f->dir, want, sizeof(want));
		uint64_t gen = mon_generation(f->reg);
		struct rpc_value result;
		struct rpc_err err;
		call(f, m[i].name, params_for(&m[i], f->dir), &result, &err);
		rpc_value_free(&result);
		rpc_err_clear(&err);
		listing(f->dir, got, sizeof(got));
		if (mon_generation(f->reg) != gen || strcmp(want, got))
			fail_msg("%s (%s) changed %s", m[i].name,
			         rpc_effect_name((enum rpc_effect)m[i].effect),
			         strcmp(want, got) ? "the archives" : "the RRDs");
		checked++;
	}
	assert_true(checked >= 20);
	/* and the check can fail: a method that changes RRDs moves the generation */
	uint64_t gen = mon_generation(f->reg);
	struct rpc_value p = rpc_array(), st = rpc_struct(), result;
	rpc_struct_add(&st, "ds_name", rpc_string("off"));
	rpc_array_push(&p, st);
	struct rpc_err err;
	assert_int_equal(call(f, "add_host_ds", p, &result, &err), RPC_CALL_OK);
	assert_true(mon_generation(f->reg) != gen);
}

static double ds_last_updated(struct fx *f, enum mon_owner_kind k, const char *uuid,
                              const char *name)
{
	double t = NAN;
	mon_rdlock(f->reg);
	const struct rrdb *r = mon_get_locked(f->reg, k, uuid);
	int i = r ? rrdb_find_ds(r, name) : -1;
	if (i >= 0)
		t = r->ds[i].last_updated;
	mon_unlock(f->reg);
	return t;
}

static struct rpc_value one(const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct rpc_value p = rpc_array(), st = rpc_struct();
	rpc_struct_add(&st, k1, rpc_string(v1));
	if (k2)
		rpc_struct_add(&st, k2, rpc_string(v2));
	rpc_array_push(&p, st);
	return p;
}

static void test_add_ds_at_the_daemon_clock(void **state)
{
	struct fx *f = *state;
	struct rpc_value result;
	struct rpc_err err;
	double now = clk_wall(&f->clk);
	assert_true(now < EPOCH + 60); /* simulated: a minute after the epoch */
	assert_true(isnan(ds_last_updated(f, MON_HOST, NULL, "off")));
	assert_int_equal(call(f, "add_host_ds", one("ds_name", "off", NULL, NULL), &result, &err),
	                 RPC_CALL_OK);
	assert_int_equal(call(f, "add_sr_ds", one("sr_uuid", SR1, "ds_name", "off"), &result, &err),
	                 RPC_CALL_OK);
	/* started at the simulated time, not the real one (decades later) */
	assert_true(ds_last_updated(f, MON_HOST, NULL, "off") == now);
	assert_true(ds_last_updated(f, MON_SR, SR1, "off") == now);
	/* and the next cycles update it (a DS started at the real time, years
	 * after the simulated one, would refuse them) */
	cycle(f); /* at the same time as the add */
	double t2 = clk_wall(&f->clk);
	cycle(f);
	assert_true(ds_last_updated(f, MON_HOST, NULL, "off") == t2);
	/* a DS that is not live cannot be added */
	assert_int_equal(call(f, "add_host_ds", one("ds_name", "nope", NULL, NULL), &result, &err),
	                 RPC_CALL_FAILED);
	assert_int_equal(err.kind, RPC_ERR_DATASOURCE_MISSING);
	rpc_err_clear(&err);
}

static bool exists(struct fx *f, const char *uuid)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/%s.gz", f->dir, uuid);
	return access(p, F_OK) == 0;
}

static void test_archive_methods(void **state)
{
	struct fx *f = *state;
	struct rpc_value result;
	struct rpc_err err;
	/* archive_rrd: out of memory, into the archive; push_rrd_local: back */
	assert_int_equal(call(f, "archive_rrd", one("vm_uuid", VM1, NULL, NULL), &result, &err),
	                 RPC_CALL_OK);
	assert_false(mon_has(f->reg, MON_VM, VM1));
	assert_true(exists(f, VM1));
	struct rpc_value p = one("vm_uuid", VM1, NULL, NULL);
	rpc_struct_add(&p.u.a.items[0], "domid", rpc_int(3));
	assert_int_equal(call(f, "push_rrd_local", p, &result, &err), RPC_CALL_OK);
	assert_true(mon_has(f->reg, MON_VM, VM1));
	/* remove_rrd deletes the archive */
	assert_int_equal(call(f, "remove_rrd", one("uuid", VM1, NULL, NULL), &result, &err),
	                 RPC_CALL_OK);
	assert_false(exists(f, VM1));
	/* archive_sr_rrd returns the path; push_sr_rrd reads it back */
	assert_int_equal(call(f, "archive_sr_rrd", one("sr_uuid", SR1, NULL, NULL), &result, &err),
	                 RPC_CALL_OK);
	assert_int_equal(result.type, RPC_STRING);
	char path[400];
	snprintf(path, sizeof(path), "%s", result.u.s.p);
	rpc_value_free(&result);
	assert_false(mon_has(f->reg, MON_SR, SR1));
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(call(f, "push_sr_rrd", one("sr_uuid", SR1, "path", path), &result, &err),
	                 RPC_CALL_OK);
	assert_true(mon_has(f->reg, MON_SR, SR1));
	/* a path that is not a regular file (a FIFO: no writer would ever come)
	 * is refused at once, without blocking the caller */
	char fifo[400];
	snprintf(fifo, sizeof(fifo), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(20); /* a blocked open would end the test here */
	assert_int_equal(call(f, "push_sr_rrd", one("sr_uuid", SR1, "path", fifo), &result, &err),
	                 RPC_CALL_FAILED);
	alarm(0);
	assert_int_equal(err.kind, RPC_ERR_ARCHIVE_FAILED);
	if (!strstr(err.msg, "not a regular file"))
		fail_msg("push_sr_rrd of a FIFO: %s", err.msg);
	rpc_err_clear(&err);
	unlink(fifo);
	/* forget: an absent DS is done (CA-404020), an owner without RRD is not */
	assert_int_equal(
	    call(f, "forget_sr_ds", one("sr_uuid", SR1, "ds_name", "nope"), &result, &err),
	    RPC_CALL_OK);
	assert_int_equal(
	    call(f, "forget_vm_ds",
	         one("vm_uuid", "dddddddd-0000-4000-8000-000000000001", "ds_name", "on"), &result,
	         &err),
	    RPC_CALL_FAILED);
	assert_int_equal(err.kind, RPC_ERR_DATASOURCE_MISSING);
	rpc_err_clear(&err);
}

int main(void)
{
	log_init("test", LOG_TO_STDERR, LOG_WARNING);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_read_and_session_methods_change_nothing, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_add_ds_at_the_daemon_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_archive_methods, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
