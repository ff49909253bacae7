/*
 * Background checkpoints (durable.h, background_checkpoints) and crash
 * safety around them, with real kill -9s: child processes run the store,
 * journal cycles, and are killed
 *  - while the checkpoint written after recovery is not yet durable (its
 *    rename held back by the file-operation table), with cycles already
 *    appended to the new segment, several times in a row (each restart
 *    recovers from the previous crash's leftovers, starts its own
 *    background checkpoint and is killed in that window again);
 *  - after such a checkpoint completed (the old segments pruned);
 *  - at the Nth store file operation of the process (RRDD_TEST_CRASH_OPS),
 *    for many N, wherever it falls: inside recovery, the background
 *    checkpoint's thread, a journal append.
 * After every kill a copy of the state directory is recovered in this
 * process and compared, entry image by entry image (rings and
 * consolidation state bit for bit), with a registry that applied the same
 * cycles without any crash: it must equal the state after the last cycle
 * the child reported done, or after the one it was in when killed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "monitor/registry.h"
#include "crash_hooks.h"
#include "monitor/change.h"
#include "store/entryimg.h"
#include "store/durable.h"
#include "store/fileops.h"
#include "util/buf.h"
#include "util/log.h"

#define HOST  "0f0f0f0f-1111-4222-8333-444444444444"
#define T0    1700000000.0
#define NVMS  40
#define NT    400 /* cycles in the whole sequence */
#define AFTER 3   /* cycles a child runs in the window before it is killed */

static struct buf expected[NT + 1]; /* registry image after i cycles */

static void vm_uuid(int v, char out[MON_UUID_LEN + 1])
{
	snprintf(out, MON_UUID_LEN + 1, "%08x-2222-4333-8444-555555555555", 0x10000000u + v);
}

/* Cycle i: the host and NVMS VMs, two samples each. */
static void tick(struct mon_registry *reg, int i)
{
	struct mon_chunk c;
	memset(&c, 0, sizeof(c));
	snprintf(c.uid, sizeof(c.uid), "test");
	c.t = T0 + 5.0 * i;
	struct mon_resident res[NVMS];
	memset(res, 0, sizeof(res));
	for (int o = 0; o <= NVMS; o++) {
		char u[MON_UUID_LEN + 1];
		if (o)
			vm_uuid(o, u);
		struct mon_chunk_owner *ow =
		    mon_chunk_add_owner(&c, o ? MON_VM : MON_HOST, o ? u : NULL);
		struct mon_sample *s = mon_owner_add_sample(ow);
		s->d = (struct mon_dsdesc){.name = "cpu0",
		                           .description = "cpu",
		                           .units = "(fraction)",
		                           .type = DS_DERIVE,
		                           .value_type = VAL_FLOAT,
		                           .min = 0,
		                           .max = 1,
		                           .dflt = true};
		s->v = DSVAL_FLT(0.25 * i * (o + 1));
		s = mon_owner_add_sample(ow);
		s->d = (struct mon_dsdesc){.name = "memory",
		                           .description = "mem",
		                           .units = "B",
		                           .type = DS_GAUGE,
		                           .value_type = VAL_INT64,
		                           .min = 0,
		                           .max = INFINITY,
		                           .dflt = true};
		s->v = DSVAL_INT(1000 * i + o * 7 + (i % 5));
		if (o) {
			mon_uuid_copy(res[o - 1].uuid, u);
			res[o - 1].domid = (uint32_t)o;
		}
	}
	const struct mon_chunk *cp[1] = {&c};
	struct mon_change t = {
	    .kind = MON_CH_CYCLE,
	    .cycle = {.now = c.t, .chunks = cp, .nchunks = 1, .res = res, .nres = NVMS}};
	mon_commit(reg, &t, 0, NULL); /* the store is its log */
	mon_chunk_clear(&c);
}

static struct mon_registry *new_reg(void)
{
	struct mon_config c = {.host_uuid = HOST};
	return mon_registry_new(&c);
}

static struct store_dur *open_dur(const char *dir, struct mon_registry *reg, bool background,
                                  struct store_dur_recovery *rec)
{
	char st[300], ar[300];
	snprintf(st, sizeof(st), "%s/state", dir);
	snprintf(ar, sizeof(ar), "%s/rrds", dir);
	mkdir(st, 0755);
	mkdir(ar, 0755);
	struct store_dur_options o = {.state_dir = st,
	                              .archive_dir = ar,
	                              .host_uuid = HOST,
	                              .fsync_interval = 0,
	                              .checkpoint_interval = 0,
	                              .background_checkpoints = background};
	struct store_dur *d;
	if (store_dur_open(&o, reg, &d, rec))
		abort();
	return d;
}

/* The uninterrupted run. */
static void compute_expected(void)
{
	struct mon_registry *reg = new_reg();
	struct store_dur_options o = {.host_uuid = HOST};
	struct store_dur *d;
	assert_int_equal(store_dur_open(&o, reg, &d, NULL), 0);
	store_save_all(reg, &expected[0]);
	for (int i = 0; i < NT; i++) {
		tick(reg, i);
		store_save_all(reg, &expected[i + 1]);
	}
	store_dur_close(d);
	mon_registry_free(reg);
}

/* ---- the child ---- */

static int report_fd = -1;

static void report(char what, int i)
{
	char m[8];
	m[0] = what;
	memcpy(m + 1, &i, sizeof(i));
	if (write(report_fd, m, 5) != 5)
		_exit(3);
}

/* rename of the checkpoint held back: the process stays in the window
 * until it is killed */
static int hold_rename(const char *from, const char *to)
{
	size_t n = strlen(to);
	if (n >= 11 && !strcmp(to + n - 11, "/checkpoint")) {
		report('W', 0);
		for (;;)
			pause();
	}
	return store_fops_system.rename(from, to);
}

enum child_mode { HOLD, COMPLETE, CRASH_OPS };

static void child(const char *dir, enum child_mode m, int crash_ops)
{
	static struct store_fileops held;
	if (m == HOLD) {
		held = store_fops_system;
		held.rename = hold_rename;
		store_fops = &held;
	} else if (m == CRASH_OPS) {
		char v[32];
		snprintf(v, sizeof(v), "%d", crash_ops);
		setenv("RRDD_TEST_CRASH_OPS", v, 1);
		test_hooks_from_env();
	}
	struct mon_registry *reg = new_reg();
	struct store_dur_recovery rec;
	struct store_dur *d = open_dur(dir, reg, true, &rec);
	int i0 = isfinite(rec.last_t) ? (int)lround((rec.last_t - T0) / 5) + 1 : 0;
	report('R', i0);
	bool told = false;
	for (int i = i0; i < NT; i++) {
		tick(reg, i);
		report('T', i);
		if (m == COMPLETE && !told) {
			struct store_dur_stats st;
			store_dur_get_stats(d, &st);
			if (st.checkpoints >= 1) {
				report('C', i);
				told = true;
			}
		}
	}
	report('E', NT);
	for (;;)
		pause();
}

/* ---- the parent ---- */

static void copy_dir(const char *from, const char *to)
{
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
	assert_int_equal(system(cmd), 0);
}

static void rm_rf(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static int count_segments(const char *dir)
{
	char j[400];
	snprintf(j, sizeof(j), "%s/state/journal", dir);
	DIR *d = opendir(j);
	int n = 0;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "seg-", 4) && !strstr(e->d_name, ".corrupt");
	closedir(d);
	return n;
}

/* Recover a copy of dir here (synchronously) and check it holds the state
 * after `done` cycles, or after done + 1 (killed inside that cycle).
 * Returns the number of cycles it holds. */
static int check_recovers(const char *dir, int done, const char *what)
{
	char cp[400];
	snprintf(cp, sizeof(cp), "%s-copy", dir);
	copy_dir(dir, cp);
	struct mon_registry *reg = new_reg();
	struct store_dur_recovery rec;
	struct store_dur *d = open_dur(cp, reg, false, &rec);
	struct buf got = BUF_INIT;
	store_save_all(reg, &got);
	int held = -1;
	for (int k = done; k <= done + 1 && k <= NT; k++)
		if (got.len == expected[k].len &&
		    (got.len == 0 || !memcmp(got.p, expected[k].p, got.len)))
			held = k;
	if (held < 0)
		fail_msg("%s: the recovered registry is not the state after %d or %d cycles "
		         "(moved aside %u)",
		         what, done, done + 1, rec.moved_aside);
	assert_int_equal(rec.moved_aside, 0);
	buf_free(&got);
	store_dur_close(d);
	mon_registry_free(reg);
	rm_rf(cp);
	return held;
}

struct run {
	int first; /* the cycle the child resumed at */
	int done;  /* cycles applied when it was killed (last reported + 1) */
	bool held; /* it reached the held rename */
	bool ckdone;
	bool died; /* it died by itself (crash ops) */
};

/* Run a child; kill it AFTER cycles after the window (HOLD), or after the
 * checkpoint completed and AFTER more cycles (COMPLETE); CRASH_OPS: until
 * it kills itself, or kill it after AFTER cycles. */
static struct run run_child(const char *dir, enum child_mode m, int crash_ops)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		report_fd = p[1];
		child(dir, m, crash_ops);
		_exit(0);
	}
	close(p[1]);
	struct run r = {.first = -1, .done = -1};
	int since = -1;
	for (;;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		if (poll(&pf, 1, 60000) <= 0)
			break; /* stuck: killed below, the checks fail */
		char msg[5];
		ssize_t n = read(p[0], msg, 5);
		if (n == 0) {
			r.died = true;
			break;
		}
		assert_int_equal(n, 5);
		int i;
		memcpy(&i, msg + 1, sizeof(i));
		if (msg[0] == 'R')
			r.first = r.done = i;
		else if (msg[0] == 'T')
			r.done = i + 1;
		else if (msg[0] == 'W')
			r.held = true, since = 0;
		else if (msg[0] == 'C')
			r.ckdone = true, since = 0;
		else if (msg[0] == 'E')
			break;
		if (msg[0] == 'T' && since >= 0 && ++since >= AFTER)
			break;
		if (m == CRASH_OPS && msg[0] == 'T' && r.done - r.first >= 40)
			break;
	}
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	/* the child ran on while we decided: what it reported since counts */
	char msg[5];
	while (read(p[0], msg, 5) == 5) {
		int i;
		memcpy(&i, msg + 1, sizeof(i));
		if (msg[0] == 'T')
			r.done = i + 1;
		else if (msg[0] == 'R' && r.first < 0)
			r.first = r.done = i;
	}
	close(p[0]);
	if (r.done < 0) /* killed before recovery finished: nothing new applied */
		r.done = -1;
	return r;
}

static void test_kill_in_the_window(void **state)
{
	(void)state;
	char dir[128];
	snprintf(dir, sizeof(dir), "/tmp/test_bgckpt.XXXXXX");
	assert_non_null(mkdtemp(dir));
	int have = 0; /* cycles the state directory holds */
	for (int round = 0; round < 4; round++) {
		struct run r = run_child(dir, HOLD, 0);
		assert_true(r.held);
		assert_int_equal(r.first, have);
		assert_true(r.done >= r.first + AFTER);
		/* the replayed segments are all still there, plus the new one */
		assert_true(count_segments(dir) >= 1 + (round > 0));
		have = check_recovers(dir, r.done, "killed before the checkpoint was durable");
		printf("round %d: resumed at %d, killed after %d cycles (checkpoint held back), "
		       "%d segments, recovered %d\n",
		       round, r.first, r.done, count_segments(dir), have);
	}
	/* one that completes: the old segments go */
	struct run r = run_child(dir, COMPLETE, 0);
	assert_true(r.ckdone);
	assert_int_equal(r.first, have);
	have = check_recovers(dir, r.done, "killed after the checkpoint completed");
	assert_int_equal(count_segments(dir), 1);
	printf("completed: resumed at %d, killed after %d cycles, 1 segment, recovered %d\n",
	       r.first, r.done, have);
	rm_rf(dir);
}

static void test_kill_at_every_operation(void **state)
{
	(void)state;
	char dir[128];
	snprintf(dir, sizeof(dir), "/tmp/test_bgckpt.XXXXXX");
	assert_non_null(mkdtemp(dir));
	int have = 0, died = 0, runs = 0;
	for (int n = 1; n <= 60 && have < NT - 20; n++) {
		struct run r = run_child(dir, CRASH_OPS, n);
		runs++;
		died += r.died;
		if (r.first >= 0)
			assert_int_equal(r.first, have);
		int done = r.done >= 0 ? r.done : have;
		have = check_recovers(dir, done, "killed at a store operation");
	}
	printf("%d runs, %d killed at their Nth store operation, %d cycles recovered in the "
	       "end\n",
	       runs, died, have);
	assert_true(died >= runs - 2);
	rm_rf(dir);
}

static int setup(void **state)
{
	(void)state;
	compute_expected();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i <= NT; i++)
		buf_free(&expected[i]);
	return 0;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_init("test", LOG_TO_STDERR, LOG_WARNING); /* no line per recovery */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill_in_the_window),
	    cmocka_unit_test(test_kill_at_every_operation),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
