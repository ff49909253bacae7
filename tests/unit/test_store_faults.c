/*
 * Fault injection on the store's file operations (rrdd/store/fileops.h):
 * every operation of an archive write, a checkpoint and a journal append
 * is made to fail in turn (ENOSPC, EIO, a short write followed by ENOSPC,
 * a short write that then succeeds, failing fsync / rename / close /
 * open), and after each:
 *  - an archive is never left truncated or half-written: it loads as the
 *    previous archive (or, when only the final directory fsync failed, as
 *    the new one), the error is reported, no temporary file is left, and a
 *    retry without faults succeeds;
 *  - a checkpoint that fails reports it, and a recovery from the state
 *    directory afterwards yields exactly the registry that was there (the
 *    old checkpoint plus the journal, or the new checkpoint);
 *  - a failed journal append does not stop the cycle; the next checkpoint
 *    resumes journaling and the state recovered after that is exact.
 * "Exact" compares the registries' entry images (store/entryimg.h), which
 * hold every DS's consolidation state and ring bit for bit.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "monitor/registry.h"
#include "monitor/change.h"
#include "store/entryimg.h"
#include "rrd/rrd.h"
#include "store/archive.h"
#include "store/durable.h"
#include "store/fileops.h"
#include "store/rrdbin.h"
#include "util/buf.h"

#define HOST "0f0f0f0f-1111-4222-8333-444444444444"
#define VM1  "11111111-2222-4333-8444-555555555555"
#define VM2  "22222222-3333-4444-8555-666666666666"
#define T0   1700000000.0

/* ---- the faulty table ---- */

enum mode { M_ENOSPC, M_EIO, M_SHORT_FAIL, M_SHORT_OK, NMODES };
static const char *mode_name[] = {"ENOSPC", "EIO", "short write then ENOSPC",
                                  "short write then success"};

static int ops, fail_at;
static enum mode mode;
static bool short_pending; /* M_SHORT_FAIL: the next write fails */

static bool hit(void)
{
	return fail_at && ++ops == fail_at;
}

static int f_open(const char *p, int fl, mode_t m)
{
	if (hit()) {
		errno = mode == M_EIO ? EIO : ENOSPC;
		return -1;
	}
	return store_fops_system.open(p, fl, m);
}

static ssize_t f_write(int fd, const void *p, size_t n)
{
	if (short_pending) {
		short_pending = false;
		errno = ENOSPC;
		return -1;
	}
	if (hit()) {
		switch (mode) {
		case M_ENOSPC:
			errno = ENOSPC;
			return -1;
		case M_EIO:
			errno = EIO;
			return -1;
		case M_SHORT_FAIL:
			short_pending = true;
			/* fall through */
		default:
			return store_fops_system.write(fd, p, n > 1 ? n / 2 : n);
		}
	}
	return store_fops_system.write(fd, p, n);
}

#define SIMPLE(name, call, ...)                                                                    \
	static int name(__VA_ARGS__)                                                               \
	{                                                                                          \
		if (hit()) {                                                                       \
			errno = mode == M_ENOSPC ? ENOSPC : EIO;                                   \
			return -1;                                                                 \
		}                                                                                  \
		return call;                                                                       \
	}
SIMPLE(f_fsync, store_fops_system.fsync(fd), int fd)
SIMPLE(f_rename, store_fops_system.rename(a, b), const char *a, const char *b)
SIMPLE(f_unlink, store_fops_system.unlink(p), const char *p)
SIMPLE(f_ftruncate, store_fops_system.ftruncate(fd, n), int fd, off_t n)

static int f_close(int fd)
{
	if (hit()) {
		store_fops_system.close(fd); /* the descriptor is gone either way */
		errno = EIO;
		return -1;
	}
	return store_fops_system.close(fd);
}

static const struct store_fileops faulty = {f_open,   f_write,  f_fsync,    f_close,
                                            f_rename, f_unlink, f_ftruncate};

static void faults(int at, enum mode m)
{
	ops = 0;
	fail_at = at;
	mode = m;
	short_pending = false;
	store_fops = &faulty;
}

static void no_faults(void)
{
	fail_at = 0;
	short_pending = false;
	store_fops = &store_fops_system;
}

/* Count the operations of a fault-free run of the same thing. */
static int counted(void)
{
	return ops;
}

/* ---- helpers ---- */

static char root[256];

static void mkdtemp_dir(char *out, size_t n, const char *tag)
{
	/* tmpfs when there is one: thousands of fsyncs, none of them timed */
	snprintf(out, n, "%s/rrdd-faults-%s-XXXXXX", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm",
	         tag);
	assert_non_null(mkdtemp(out));
}

static void rm_rf(const char *d)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static int count_tmp(const char *d)
{
	DIR *dd = opendir(d);
	int n = 0;
	for (struct dirent *e; dd && (e = readdir(dd));)
		if (strstr(e->d_name, ".tmp-"))
			n++;
	if (dd)
		closedir(dd);
	return n;
}

static struct rrdb *make_rrd(double scale, int n)
{
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t nr = rrdb_default_rras(0, rras);
	struct rrdb_ds_def ds[2] = {
	    {.name = "cpu0", .type = DS_DERIVE, .min = 0, .max = 1, .mrhb = 300},
	    {.name = "memory", .type = DS_GAUGE, .min = 0, .max = INFINITY, .mrhb = 300},
	};
	struct rrdb *r = rrdb_new(5, T0, rras, nr, ds, 2);
	for (int i = 1; i <= n; i++) {
		struct rrdb_upd u[2] = {{0, DSVAL_FLT(i * 1.25 * scale)},
		                        {1, DSVAL_INT((int64_t)(i * 4096 * scale))}};
		rrdb_update(r, T0 + 5.0 * i, u, 2, 0);
	}
	return r;
}

/* The exact image of the RRD the archive of key in d loads as, into out;
 * false if it does not load. */
static bool archive_image(const char *d, const char *key, struct buf *out)
{
	struct rrdb *r;
	char err[512];
	buf_reset(out);
	if (store_archive_load(d, key, &r, err, sizeof(err)))
		return false;
	store_rrdb_encode(r, out);
	rrdb_free(r);
	return true;
}

static bool same(const struct buf *x, const struct buf *y)
{
	return x->len == y->len && !memcmp(x->p, y->p, x->len);
}

/* ---- archives ---- */

static void test_archive_every_step(void **state)
{
	(void)state;
	char d[256];
	mkdtemp_dir(d, sizeof(d), "arch");
	char err[512];
	struct rrdb *a = make_rrd(1, 40), *b = make_rrd(3, 60);
	assert_int_equal(store_archive_write(d, VM1, a, err, sizeof(err)), 0);
	faults(0, M_ENOSPC);
	fail_at = 1 << 30; /* count only */
	assert_int_equal(store_archive_write(d, VM1, b, err, sizeof(err)), 0);
	int total = counted();
	no_faults();
	assert_true(total >= 8); /* create, write, fsync, close, rename, dir open/fsync/close */
	/* what each archive loads as (the loader drops DS last: compare loads) */
	struct buf ia = BUF_INIT, ib = BUF_INIT, now = BUF_INIT;
	assert_true(archive_image(d, VM1, &ib));
	assert_int_equal(store_archive_write(d, VM1, a, err, sizeof(err)), 0);
	assert_true(archive_image(d, VM1, &ia));
	assert_false(same(&ia, &ib));
	int failures = 0;
	for (int m = 0; m < NMODES; m++)
		for (int k = 1; k <= total + 1; k++) {
			assert_int_equal(store_archive_write(d, VM1, a, err, sizeof(err)), 0);
			faults(k, (enum mode)m);
			int rc = store_archive_write(d, VM1, b, err, sizeof(err));
			no_faults();
			if (!archive_image(d, VM1, &now))
				fail_msg("%s at op %d: the archive does not load", mode_name[m], k);
			bool is_a = same(&now, &ia), is_b = same(&now, &ib);
			if (rc) {
				failures++;
				assert_true(err[0]);
				/* only a failed directory fsync comes after the rename */
				if (!is_a && !(is_b && strstr(err, "directory")))
					fail_msg("%s at op %d: failed write left a new archive: %s",
					         mode_name[m], k, err);
			} else if (!is_b) {
				fail_msg("%s at op %d: success but the archive is not the new one",
				         mode_name[m], k);
			}
			if (count_tmp(d))
				fail_msg("%s at op %d: a temporary file was left", mode_name[m], k);
			/* a retry succeeds */
			assert_int_equal(store_archive_write(d, VM1, b, err, sizeof(err)), 0);
			assert_true(archive_image(d, VM1, &now));
			assert_true(same(&now, &ib));
		}
	/* every step but short-then-success failed in three modes */
	assert_true(failures >= 3 * (total - 2));
	printf("archive write: %d operations, %d injected failures reported\n", total, failures);
	buf_free(&ia);
	buf_free(&ib);
	buf_free(&now);
	rrdb_free(a);
	rrdb_free(b);
	rm_rf(d);
}

/* ---- checkpoints and the journal ---- */

static struct mon_registry *new_reg(void)
{
	struct mon_config c = {.host_uuid = HOST};
	return mon_registry_new(&c);
}

static void image(struct mon_registry *reg, struct buf *out)
{
	buf_reset(out);
	store_save_all(reg, out);
}

/* One cycle: host + VM1 + VM2 resident, some samples. */
static void tick(struct mon_registry *reg, int i)
{
	struct mon_chunk c;
	memset(&c, 0, sizeof(c));
	snprintf(c.uid, sizeof(c.uid), "test");
	c.t = T0 + 5.0 * i;
	const char *owners[3] = {NULL, VM1, VM2};
	for (int o = 0; o < 3; o++) {
		struct mon_chunk_owner *ow =
		    mon_chunk_add_owner(&c, o ? MON_VM : MON_HOST, owners[o]);
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
		s->v = DSVAL_INT(1000 * i + o);
	}
	struct mon_resident res[2];
	memset(res, 0, sizeof(res));
	mon_uuid_copy(res[0].uuid, VM1);
	mon_uuid_copy(res[1].uuid, VM2);
	res[0].domid = 1;
	res[1].domid = 2;
	const struct mon_chunk *cp[1] = {&c};
	struct mon_change t = {
	    .kind = MON_CH_CYCLE,
	    .cycle = {.now = c.t, .chunks = cp, .nchunks = 1, .res = res, .nres = 2}};
	mon_commit(reg, &t, 0, NULL); /* the store is its log */
	mon_chunk_clear(&c);
}

static uint32_t stream_every; /* store_dur_options.stream_every (0: the default) */

static struct store_dur *open_dur(const char *dir, struct mon_registry *reg,
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
	                              .fsync_interval = 3600,
	                              .checkpoint_interval = 0,
	                              .stream_every = stream_every};
	struct store_dur *d;
	assert_int_equal(store_dur_open(&o, reg, &d, rec), 0);
	return d;
}

/* Recover from dir into a fresh registry and compare with want. */
static void assert_recovers(const char *dir, const struct buf *want, const char *what, int k)
{
	struct mon_registry *reg = new_reg();
	struct store_dur *d = open_dur(dir, reg, NULL);
	struct buf got = BUF_INIT;
	image(reg, &got);
	if (got.len != want->len || memcmp(got.p, want->p, got.len))
		fail_msg("%s at op %d: recovered registry differs (%zu vs %zu bytes)", what, k,
		         got.len, want->len);
	buf_free(&got);
	store_dur_close(d);
	mon_registry_free(reg);
}

static void test_checkpoint_every_step(void **state)
{
	(void)state;
	int total = 0, failures = 0;
	for (int m = 0; m < NMODES; m++)
		for (int k = 1; k == 1 || k <= total + 1; k++) {
			char dir[256];
			mkdtemp_dir(dir, sizeof(dir), "ckpt");
			struct mon_registry *reg = new_reg();
			struct store_dur *d = open_dur(dir, reg, NULL);
			for (int i = 0; i < 12; i++)
				tick(reg, i);
			/* an RPC mutation: push an RRD, journaled before it is installed */
			struct mon_change put = {.kind = MON_CH_INSTALL,
			                         .owner = MON_SR,
			                         .uuid = "33333333-4444-4555-8666-777777777777",
			                         .rrd = make_rrd(2, 20),
			                         .sync = true};
			mon_commit(reg, &put, 0, NULL);
			struct buf want = BUF_INIT;
			image(reg, &want);
			if (k == 1 && m == 0) { /* count the operations of a clean checkpoint */
				faults(1 << 30, M_ENOSPC);
				store_dur_checkpoint(d, T0 + 200, true);
				total = counted();
				no_faults();
				assert_true(total > 10);
			} else {
				faults(k, (enum mode)m);
				int fails = store_dur_checkpoint(d, T0 + 200, true);
				no_faults();
				failures += fails > 0;
				/* later cycles keep journaling or are re-based by a retry */
				assert_int_equal(store_dur_checkpoint(d, T0 + 201, false), 0);
			}
			store_dur_close(d); /* no clean stop: as after a crash */
			assert_recovers(dir, &want, mode_name[m], k);
			if (count_tmp(dir) || 0)
				fail_msg("temporary left");
			buf_free(&want);
			mon_registry_free(reg);
			rm_rf(dir);
		}
	printf("checkpoint: %d operations, %d injected failures reported\n", total, failures);
	assert_true(failures >= total);
}

static void test_journal_append_failure(void **state)
{
	(void)state;
	for (int m = 0; m < NMODES; m++) {
		char dir[256];
		mkdtemp_dir(dir, sizeof(dir), "jnl");
		struct mon_registry *reg = new_reg();
		struct store_dur *d = open_dur(dir, reg, NULL);
		for (int i = 0; i < 10; i++)
			tick(reg, i);
		struct buf before = BUF_INIT, after = BUF_INIT;
		faults(1, (enum mode)m); /* the append of the next cycle */
		tick(reg, 10);
		no_faults();
		image(reg, &after);
		/* the cycle was applied in memory all the same */
		struct store_dur_stats st;
		store_dur_get_stats(d, &st);
		if (m != M_SHORT_OK)
			assert_true(st.journal_errors >= 1);
		/* a checkpoint resumes journaling; the next cycles are durable */
		assert_int_equal(store_dur_checkpoint(d, T0 + 60, false), 0);
		for (int i = 11; i < 20; i++)
			tick(reg, i);
		image(reg, &before);
		store_dur_close(d);
		assert_recovers(dir, &before, mode_name[m], 1);
		assert_true(after.len > 0);
		buf_free(&before);
		buf_free(&after);
		mon_registry_free(reg);
		rm_rf(dir);
	}
}

/* ---- damaged files: every byte flipped in turn ---- */

/* The files of a directory, kept in memory to put it back between trials. */
struct snap {
	int n;
	char name[16][64];
	struct buf data[16];
};

static void snap_take(struct snap *s, const char *dir)
{
	memset(s, 0, sizeof(*s));
	DIR *dd = opendir(dir);
	assert_non_null(dd);
	for (struct dirent *e; (e = readdir(dd));) {
		if (e->d_name[0] == '.')
			continue;
		assert_true(s->n < 16 && strlen(e->d_name) < 64);
		char p[600];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		strcpy(s->name[s->n], e->d_name);
		FILE *f = fopen(p, "rb");
		assert_non_null(f);
		char tmp[65536];
		size_t k;
		while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0)
			buf_add(&s->data[s->n], tmp, k);
		fclose(f);
		s->n++;
	}
	closedir(dd);
}

/* Put dir back as s, with byte at of file name XORed with x (at < 0:
 * none) or the file cut to cut bytes (cut >= 0). */
static void snap_put(const struct snap *s, const char *dir, const char *name, long at, long cut)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	assert_int_equal(system(cmd), 0);
	for (int i = 0; i < s->n; i++) {
		char p[600];
		snprintf(p, sizeof(p), "%s/%s", dir, s->name[i]);
		FILE *f = fopen(p, "wb");
		assert_non_null(f);
		size_t len = s->data[i].len;
		bool mine = !strcmp(s->name[i], name);
		if (mine && cut >= 0 && (size_t)cut < len)
			len = (size_t)cut;
		if (len)
			assert_int_equal(fwrite(s->data[i].p, 1, len, f), len);
		if (mine && at >= 0 && (size_t)at < len) {
			unsigned char b = (unsigned char)s->data[i].p[at] ^ 0xff;
			fseek(f, at, SEEK_SET);
			fputc(b, f);
		}
		fclose(f);
	}
}

static void snap_free(struct snap *s)
{
	for (int i = 0; i < s->n; i++)
		buf_free(&s->data[i]);
}

/* The registry of a run without a store that applied the cycles i for
 * which keep(i) holds, in order. */
static void reference(int n, const bool *keep, struct buf *out)
{
	struct mon_registry *reg = new_reg();
	for (int i = 0; i < n; i++)
		if (keep[i])
			tick(reg, i);
	image(reg, out);
	mon_registry_free(reg);
}

/* A new state directory (dir, its journal jdir, the journal's files in s)
 * with two checkpoints (after cycles 0-11 and 12-23) and a last segment of
 * cycles 24-29, a new stream every 2 cycles. */
#define NCYC 30
static void two_checkpoints(char dir[256], char jdir[300], struct snap *s, const char *tag)
{
	mkdtemp_dir(dir, 256, tag);
	stream_every = 2;
	struct mon_registry *reg = new_reg();
	struct store_dur *d = open_dur(dir, reg, NULL);
	for (int i = 0; i < NCYC; i++) {
		tick(reg, i);
		if (i == 11 || i == 23)
			assert_int_equal(store_dur_checkpoint(d, T0 + 5.0 * i + 1, false), 0);
	}
	store_dur_close(d); /* as after a crash */
	mon_registry_free(reg);
	snprintf(jdir, 300, "%s/state/journal", dir);
	snap_take(s, jdir);
}

static struct store_dur_recovery recover_into(const char *dir, struct buf *img)
{
	struct store_dur_recovery rec;
	struct mon_registry *reg = new_reg();
	struct store_dur *d = open_dur(dir, reg, &rec);
	image(reg, img);
	store_dur_close(d);
	mon_registry_free(reg);
	return rec;
}

static void test_checkpoint_byte_flips(void **state)
{
	(void)state;
	char dir[256], jdir[300];
	struct snap s;
	two_checkpoints(dir, jdir, &s, "flipck");
	bool all[NCYC];
	for (int i = 0; i < NCYC; i++)
		all[i] = true;
	struct buf want = BUF_INIT, got = BUF_INIT;
	reference(NCYC, all, &want);
	int ck = -1;
	for (int i = 0; i < s.n; i++)
		if (!strcmp(s.name[i], "checkpoint"))
			ck = i;
	assert_true(ck >= 0);
	long len = (long)s.data[ck].len;
	int fell = 0;
	for (long at = -1; at < len; at++) {
		snap_put(&s, jdir, "checkpoint", at, -1);
		struct store_dur_recovery rec = recover_into(dir, &got);
		if (!same(&got, &want))
			fail_msg("checkpoint byte %ld flipped: the recovered registry differs", at);
		if (at >= 0 && !rec.fell_back)
			fail_msg("checkpoint byte %ld flipped: not noticed", at);
		fell += rec.fell_back;
	}
	long cuts[] = {0, 1, 40, 79, 80, len / 2, len - 1};
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		snap_put(&s, jdir, "checkpoint", -1, cuts[k]);
		recover_into(dir, &got);
		if (!same(&got, &want))
			fail_msg("checkpoint cut to %ld bytes: the recovered registry differs",
			         cuts[k]);
	}
	printf("checkpoint of %ld bytes: every byte flipped in turn and 7 truncations, the "
	       "previous checkpoint and its segments recovered all %d cycles each time (%d "
	       "fall-backs)\n",
	       len, NCYC, fell);
	buf_free(&want);
	buf_free(&got);
	snap_free(&s);
	stream_every = 0;
	rm_rf(dir);
}

static void test_segment_byte_flips(void **state)
{
	(void)state;
	char dir[256], jdir[300];
	struct snap s;
	two_checkpoints(dir, jdir, &s, "flipseg");
	int last = -1; /* the newest segment: cycles 24-29, records 25-30 */
	for (int i = 0; i < s.n; i++)
		if (!strncmp(s.name[i], "seg-", 4) &&
		    (last < 0 || strcmp(s.name[i], s.name[last]) > 0))
			last = i;
	assert_true(last >= 0);
	long len = (long)s.data[last].len;
	struct buf want = BUF_INIT, got = BUF_INIT;
	int skipped = 0, torn = 0, header = 0;
	uint64_t most = 0;
	for (long at = 0; at < len; at++) {
		snap_put(&s, jdir, s.name[last], at, -1);
		struct store_dur_recovery rec = recover_into(dir, &got);
		bool keep[NCYC];
		/* cycles 24.. the segment accounts for: replayed or lost; the
		 * rest were cut off as a torn tail, or the segment was refused */
		uint64_t seen = rec.ticks + rec.lost;
		for (int i = 0; i < NCYC; i++) {
			uint64_t seq = (uint64_t)i + 1;
			keep[i] = i < 24 ||
			          ((uint64_t)(i - 24) < seen &&
			           !(rec.lost && seq >= rec.lost_first && seq <= rec.lost_last));
		}
		reference(NCYC, keep, &want);
		if (!same(&got, &want))
			fail_msg(
			    "segment byte %ld flipped: the registry is not the run without the "
			    "%llu lost cycle(s) (records %llu-%llu) and the %llu cut off",
			    at, (unsigned long long)rec.lost, (unsigned long long)rec.lost_first,
			    (unsigned long long)rec.lost_last, (unsigned long long)(6 - seen));
		if (rec.lost > 2)
			fail_msg("segment byte %ld flipped: %llu records lost, more than a stream",
			         at, (unsigned long long)rec.lost);
		if (at >= 32 && seen < 6 && !rec.lost && rec.ticks < 5)
			fail_msg("segment byte %ld flipped: replay stopped before the last record",
			         at);
		most = rec.lost > most ? rec.lost : most;
		skipped += rec.lost > 0;
		torn += seen < 6 && at >= 32;
		header += at < 32;
	}
	printf("last segment of %ld bytes (6 cycles): every byte flipped in turn; %d flips "
	       "skipped the damaged record (at most %llu records lost), %d hit the last record "
	       "(cut off as torn), %d the segment header (segment refused); the registry each "
	       "time equals a run without exactly those cycles\n",
	       len, skipped, (unsigned long long)most, torn, header);
	buf_free(&want);
	buf_free(&got);
	snap_free(&s);
	stream_every = 0;
	rm_rf(dir);
}

/* update_use_min_max (MON_CH_MIN_MAX) is journaled, and checkpoints keep
 * the setting: after a crash, RRDs the replay makes get the archives the
 * live daemon gave them, whether the change is in the journal or only in
 * the checkpoint before it (a registry configured without MIN/MAX). */
static void test_min_max_replayed(void **state)
{
	(void)state;
	for (int via_ckpt = 0; via_ckpt < 2; via_ckpt++) {
		char dir[256];
		mkdtemp_dir(dir, sizeof(dir), "minmax");
		struct mon_registry *reg = new_reg();
		struct store_dur *d = open_dur(dir, reg, NULL);
		struct mon_change mm = {.kind = MON_CH_MIN_MAX, .use_min_max = true};
		assert_int_equal(mon_commit(reg, &mm, 0, NULL), 0);
		if (via_ckpt)
			assert_int_equal(store_dur_checkpoint(d, T0 - 1, false), 0);
		tick(reg, 0); /* VM1 and VM2 appear */
		struct rrdb *v = mon_dup(reg, MON_VM, VM1);
		assert_non_null(v);
		uint32_t live = v->nrra;
		rrdb_free(v);
		struct rrdb_rra_def defs[RRDB_MAX_DEFAULT_RRAS];
		assert_int_equal(live, rrdb_default_rras(1, defs)); /* with MIN and MAX */
		assert_true(live > rrdb_default_rras(0, defs));
		store_dur_close(d); /* as after a crash */
		mon_registry_free(reg);
		reg = new_reg();
		struct store_dur_recovery rec;
		d = open_dur(dir, reg, &rec);
		v = mon_dup(reg, MON_VM, VM1);
		assert_non_null(v);
		assert_int_equal(v->nrra, live);
		rrdb_free(v);
		store_dur_close(d);
		mon_registry_free(reg);
		rm_rf(dir);
	}
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_archive_every_step),
	    cmocka_unit_test(test_checkpoint_every_step),
	    cmocka_unit_test(test_journal_append_failure),
	    cmocka_unit_test(test_checkpoint_byte_flips),
	    cmocka_unit_test(test_segment_byte_flips),
	    cmocka_unit_test(test_min_max_replayed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
