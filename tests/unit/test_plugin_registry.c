/*
 * The plugin registry (plugin/registry.h) against a temporary plugin
 * directory: the uid rules and the RPC-side calls, discovery with inotify
 * and by scanning (create, ignored names, rename-over, growth, deletion,
 * a missing directory), refusals (symlink, FIFO, oversized page), a bad page
 * logged once per distinct error and the recovery, the unchanged-page rule
 * and the values a chunk carries.  Pages are written by hand
 * (test_plugin_registry_util.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <sys/stat.h>

#include "clock/clock.h"
#include "plugin/registry.h"
#include "test_plugin_registry_util.h"

static const struct mon_chunk *find_chunk(struct mon_chunk **c, size_t n, const char *uid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i]->uid, uid) == 0)
			return c[i];
	return NULL;
}

static const struct mon_sample *find_sample(const struct mon_chunk *c, enum mon_owner_kind k,
                                            const char *uuid, const char *name)
{
	for (uint32_t i = 0; i < c->nowner; i++) {
		const struct mon_chunk_owner *o = &c->owner[i];
		if (o->kind != k || strcmp(o->uuid, uuid ? uuid : "") != 0)
			continue;
		for (uint32_t j = 0; j < o->nds; j++)
			if (strcmp(o->ds[j].d.name, name) == 0)
				return &o->ds[j];
	}
	return NULL;
}

static struct plg_registry *mk(const char *dir, bool inotify)
{
	struct plg_registry_opts o = {.dir = dir, .no_inotify = !inotify};
	return plg_registry_new(&o);
}

static size_t collect(struct plg_registry *r, struct mon_chunk ***c)
{
	size_t n = 99;
	assert_int_equal(plg_collect(r, NAN, NAN, c, &n), 0);
	return n;
}

static const struct tds HOST1[] = {
    {"load", "host", "gauge", 1, 0, 0, 1.5},
    {"count", "host", "absolute", 0, 1, 42, 0},
};

static void test_uid_rules(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	struct clk clk; /* next_reading in the daemon's (simulated) time */
	clk_init_sim(&clk, 1700000000.0);
	clk_sim_advance(&clk, 100.0);
	struct plg_registry_opts o = {.dir = dir, .no_discovery = true, .clk = &clk};
	struct plg_registry *r = plg_registry_new(&o);
	assert_int_equal(plg_register(r, "", PLG_REG_V2), -EINVAL);
	assert_int_equal(plg_register(r, NULL, PLG_REG_V2), -EINVAL);
	assert_int_equal(plg_register(r, "a/b", PLG_REG_V2), -EINVAL);
	assert_int_equal(plg_register(r, ".", PLG_REG_V2), -EINVAL);
	assert_int_equal(plg_register(r, "..", PLG_REG_V2), -EINVAL);
	char longuid[PLG_UID_MAX + 2];
	memset(longuid, 'x', sizeof(longuid) - 1);
	longuid[PLG_UID_MAX + 1] = 0;
	assert_int_equal(plg_register(r, longuid, PLG_REG_V2), -EINVAL);
	longuid[PLG_UID_MAX] = 0;
	assert_int_equal(plg_register(r, longuid, PLG_REG_V2), 0);
	assert_int_equal(plg_register(r, "xcp-rrdd-cpu", PLG_REG_V2), 0);
	assert_int_equal(plg_register(r, "xcp-rrdd-cpu", PLG_REG_V1), 1);
	assert_true(plg_is_registered(r, "xcp-rrdd-cpu"));
	assert_int_equal(plg_count(r), 2);
	assert_true(plg_next_reading(r, "nobody") == -1);
	plg_set_next_tick(r, 103.0);
	assert_true(plg_next_reading(r, "xcp-rrdd-cpu") == 3.0);
	clk_sim_advance(&clk, 4.0); /* overdue */
	assert_true(plg_next_reading(r, "xcp-rrdd-cpu") == -1.0);
	char path[64];
	assert_int_equal(plg_path(r, "abc", path, sizeof(path)), (int)strlen(dir) + 4);
	char want[64];
	snprintf(want, sizeof(want), "%s/abc", dir);
	assert_string_equal(path, want);
	assert_int_equal(plg_path(r, "abc", path, 5), -ENAMETOOLONG);
	assert_int_equal(plg_path(r, "../x", path, sizeof(path)), -EINVAL);
	assert_int_equal(plg_deregister(r, "xcp-rrdd-cpu"), 0);
	assert_int_equal(plg_deregister(r, "xcp-rrdd-cpu"), -ENOENT);
	assert_false(plg_is_registered(r, "xcp-rrdd-cpu"));
	assert_int_equal(plg_count(r), 1);
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

static void test_default_dir_and_creation(void **state)
{
	(void)state;
	char *base = t_tmpdir();
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/a/b/metrics/", base);
	struct plg_registry *r = mk(dir, true);
	dir[strlen(dir) - 1] = 0; /* trailing slash dropped */
	assert_string_equal(plg_dir(r), dir);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	mode_t um = umask(022);
	umask(um);
	assert_int_equal(st.st_mode & 07777, 0755 & ~um);
	plg_registry_free(r);
	t_rmrf(base);
	free(base);
}

/* Create, ignored names, values and owners of a chunk. */
static void discovery_basic(bool inotify)
{
	char *dir = t_tmpdir();
	struct plg_registry *r = mk(dir, inotify);
	struct mon_chunk **c;
	assert_int_equal(collect(r, &c), 0);

	t_write_v2(dir, "p1", 1700000000.5, HOST1, 2);
	t_write_v2(dir, "p1.tmp", 1700000000.5, HOST1, 2);
	t_write_v2(dir, "tap-123-4", 1700000000.5, HOST1, 2);
	t_write_v2(dir, ".hidden", 1700000000.5, HOST1, 2);
	char sub[600];
	snprintf(sub, sizeof(sub), "%s/subdir", dir);
	mkdir(sub, 0755);

	size_t n = collect(r, &c);
	assert_int_equal(n, 1);
	assert_int_equal(plg_count(r), 1);
	assert_true(plg_is_registered(r, "p1"));
	const struct mon_chunk *k = find_chunk(c, n, "p1");
	assert_non_null(k);
	assert_true(k->t == 1700000000.5);
	assert_int_equal(k->nowner, 1);
	assert_int_equal(k->owner[0].kind, MON_HOST);
	const struct mon_sample *s = find_sample(k, MON_HOST, "", "load");
	assert_non_null(s);
	assert_int_equal(s->v.type, VAL_FLOAT);
	assert_true(s->v.f == 1.5);
	assert_int_equal(s->d.type, DS_GAUGE);
	assert_true(s->d.dflt);
	assert_string_equal(s->d.description, "d load");
	assert_string_equal(s->d.units, "u");
	s = find_sample(k, MON_HOST, "", "count");
	assert_non_null(s);
	assert_int_equal(s->v.type, VAL_INT64);
	assert_int_equal(s->v.i, 42);
	assert_int_equal(s->d.type, DS_ABSOLUTE);
	assert_false(s->d.dflt);

	/* Deletion deregisters. */
	char p[600];
	snprintf(p, sizeof(p), "%s/p1", dir);
	unlink(p);
	n = collect(r, &c);
	assert_int_equal(n, 0);
	assert_false(plg_is_registered(r, "p1"));
	struct plg_stats st;
	plg_get_stats(r, &st);
	assert_int_equal(st.registered, 1);
	assert_int_equal(st.deregistered, 1);
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

static void test_discovery_inotify(void **state)
{
	(void)state;
	discovery_basic(true);
}

static void test_discovery_scan(void **state)
{
	(void)state;
	discovery_basic(false);
}

/* The directory's path re-pointed (a symlink replaced atomically): no event
 * reaches the watch on the old directory, the identity check follows the
 * new one at the next collection. */
static void test_dir_repointed(void **state)
{
	(void)state;
	struct mon_chunk **c;
	char *base = t_tmpdir();
	char a[600], b[600], link[600], tmp[600];
	snprintf(a, sizeof(a), "%s/a", base);
	snprintf(b, sizeof(b), "%s/b", base);
	snprintf(link, sizeof(link), "%s/plugins", base);
	snprintf(tmp, sizeof(tmp), "%s/plugins.new", base);
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(mkdir(b, 0755), 0);
	t_write_v2(a, "in_a", 1700000000.5, HOST1, 2);
	t_write_v2(b, "in_b", 1700000000.5, HOST1, 2);
	assert_int_equal(symlink("a", link), 0);
	struct plg_registry *r = mk(link, true);
	collect(r, &c);
	assert_true(plg_is_registered(r, "in_a"));
	assert_false(plg_is_registered(r, "in_b"));
	assert_int_equal(symlink("b", tmp), 0);
	assert_int_equal(rename(tmp, link), 0);
	collect(r, &c);
	assert_true(plg_is_registered(r, "in_b"));
	assert_false(plg_is_registered(r, "in_a"));
	/* and it keeps watching the new one */
	t_write_v2(b, "later", 1700000000.5, HOST1, 2);
	collect(r, &c);
	assert_true(plg_is_registered(r, "later"));
	plg_registry_free(r);
	t_rmrf(base);
	free(base);
}

/* A file present before the registry starts is found by the first scan. */
static void test_discovery_existing(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	t_write_v2(dir, "early", 1700000000, HOST1, 2);
	struct plg_registry *r = mk(dir, true);
	assert_true(plg_is_registered(r, "early"));
	struct mon_chunk **c;
	assert_int_equal(collect(r, &c), 1);
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

/* Rename-over (tmp + rename) and in-place growth are seen next tick. */
static void rename_and_grow(bool inotify)
{
	char *dir = t_tmpdir();
	struct plg_registry *r = mk(dir, inotify);
	struct mon_chunk **c;
	t_write_v2(dir, "p", 1700000000, HOST1, 2);
	assert_int_equal(collect(r, &c), 1);

	/* rename over: a new inode under the same name */
	struct tds two[2];
	memcpy(two, HOST1, sizeof(two));
	two[0].f = 2.5;
	t_write_v2(dir, "p.tmp", 1700000005, two, 2);
	char a[600], b[600];
	snprintf(a, sizeof(a), "%s/p.tmp", dir);
	snprintf(b, sizeof(b), "%s/p", dir);
	assert_int_equal(rename(a, b), 0);
	size_t n = collect(r, &c);
	assert_int_equal(n, 1);
	assert_true(c[0]->t == 1700000005);
	assert_true(find_sample(c[0], MON_HOST, "", "load")->v.f == 2.5);
	assert_true(plg_is_registered(r, "p"));

	/* growth in place: 300 DSs, far beyond the first 4 KiB page */
	size_t big = 300;
	struct tds *many = calloc(big, sizeof(*many));
	char(*names)[16] = calloc(big, 16);
	for (size_t i = 0; i < big; i++) {
		snprintf(names[i], 16, "ds%zu", i);
		many[i] = (struct tds){names[i], "host", "gauge", 1, 1, (int64_t)i * 7, 0};
	}
	size_t len;
	unsigned char *pg = t_page_v2(1700000010, many, big, 0, &len);
	assert_true(len > 3 * 4096);
	t_write_in_place(b, pg, len);
	free(pg);
	n = collect(r, &c);
	assert_int_equal(n, 1);
	assert_true(c[0]->t == 1700000010);
	assert_int_equal(c[0]->owner[0].nds, big);
	const struct mon_sample *s = find_sample(c[0], MON_HOST, "", "ds299");
	assert_non_null(s);
	assert_int_equal(s->v.i, 299 * 7);

	/* and back to a small page written in place over the big one: the
	 * stale bytes after it are not read as part of the page */
	pg = t_page_v2(1700000015, HOST1, 2, 0, &len);
	t_write_in_place(b, pg, len);
	free(pg);
	n = collect(r, &c);
	assert_int_equal(n, 1);
	assert_int_equal(c[0]->owner[0].nds, 2);
	assert_true(c[0]->t == 1700000015);
	free(many);
	free(names);
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

static void test_rename_grow_inotify(void **state)
{
	(void)state;
	rename_and_grow(true);
}

static void test_rename_grow_scan(void **state)
{
	(void)state;
	rename_and_grow(false);
}

/* Symlinks, FIFOs and oversized pages are refused without harm to others. */
static void test_refusals(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	struct plg_registry_opts o = {.dir = dir, .max_bytes = 16384};
	struct plg_registry *r = plg_registry_new(&o);
	struct mon_chunk **c;
	t_write_v2(dir, "good", 1700000000, HOST1, 2);
	/* target outside the dir, ignored name so only the link is a plugin */
	char tgt[600], lnk[600], fifo[600];
	snprintf(tgt, sizeof(tgt), "%s/.target", dir);
	snprintf(lnk, sizeof(lnk), "%s/link", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	t_write_v2(dir, ".target", 1700000000, HOST1, 2);
	assert_int_equal(symlink(tgt, lnk), 0);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	/* a page of ~20 KB with a 16 KiB cap */
	size_t big = 120;
	struct tds *many = calloc(big, sizeof(*many));
	char(*names)[32] = calloc(big, 32);
	for (size_t i = 0; i < big; i++) {
		snprintf(names[i], 32, "a_rather_long_name_%zu", i);
		many[i] = (struct tds){names[i], "host", "gauge", 1, 1, 1, 0};
	}
	size_t len;
	unsigned char *pg = t_page_v2(1700000000, many, big, 0, &len);
	assert_true(len > 16384);
	char bigp[600];
	snprintf(bigp, sizeof(bigp), "%s/big", dir);
	t_write_file(bigp, pg, len);
	free(pg);
	/* the FIFO is not discovered (not a regular file) but may be
	 * registered by RPC: reading it must not block */
	assert_int_equal(plg_register(r, "fifo", PLG_REG_V2), 0);

	for (int tick = 0; tick < 3; tick++) {
		size_t n = collect(r, &c);
		assert_int_equal(n, 1);
		assert_string_equal(c[0]->uid, "good");
	}
	assert_true(plg_is_registered(r, "link"));
	assert_true(plg_is_registered(r, "big"));
	struct plg_stats st;
	plg_get_stats(r, &st);
	assert_int_equal(st.reads, 1); /* good, then unchanged */
	assert_int_equal(st.no_update, 2);
	assert_int_equal(st.bad, 9);    /* link, fifo, big x 3 ticks */
	assert_int_equal(st.logged, 3); /* once each */
	free(many);
	free(names);
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

/* A bad page is logged once per distinct error, and costs only itself. */
static void test_bad_page_logged_once(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	struct plg_registry *r = mk(dir, true);
	struct mon_chunk **c;
	t_write_v2(dir, "other", 1700000000, HOST1, 2);
	char p[600];
	snprintf(p, sizeof(p), "%s/bad", dir);
	t_write_file(p, "garbage garbage garbage garbage garbage", 39);
	for (int i = 0; i < 5; i++) {
		size_t n = collect(r, &c);
		assert_int_equal(n, 1); /* other (fresh, then re-sent while unchanged) */
		assert_string_equal(c[0]->uid, "other");
		t_write_v2(dir, "other", 1700000005 + 5 * i, HOST1, 2);
	}
	struct plg_stats st;
	plg_get_stats(r, &st);
	assert_int_equal(st.bad, 5);
	assert_int_equal(st.logged, 1);

	/* a torn page: data CRC wrong -> a new kind, logged once more */
	size_t len;
	unsigned char *pg = t_page_v2(1700000100, HOST1, 2, 4096, &len);
	pg[31] ^= 0xff;
	t_write_file(p, pg, len);
	for (int i = 0; i < 3; i++) {
		pg[32] ^= (unsigned char)(i + 1); /* keep the data changing */
		t_write_file(p, pg, len);
		collect(r, &c);
	}
	plg_get_stats(r, &st);
	assert_int_equal(st.bad, 8);
	assert_int_equal(st.logged, 2);
	free(pg);

	/* recovery: the plugin's chunk is back */
	t_write_v2(dir, "bad", 1700000200, HOST1, 2);
	size_t n = collect(r, &c);
	assert_non_null(find_chunk(c, n, "bad"));
	/* and the same error again is not logged again */
	t_write_file(p, "garbage garbage garbage garbage garbage", 39);
	n = collect(r, &c);
	assert_null(find_chunk(c, n, "bad"));
	plg_get_stats(r, &st);
	assert_int_equal(st.logged, 2);
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

/* An unchanged page re-sends the last chunk (same time) stale_ticks times. */
static void test_no_update(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	struct plg_registry_opts o = {.dir = dir, .stale_ticks = 2};
	struct plg_registry *r = plg_registry_new(&o);
	struct mon_chunk **c;
	t_write_v2(dir, "p", 1700000000, HOST1, 2);
	assert_int_equal(collect(r, &c), 1);
	assert_int_equal(collect(r, &c), 1);
	assert_true(c[0]->t == 1700000000);
	assert_int_equal(collect(r, &c), 1);
	assert_int_equal(collect(r, &c), 0); /* stale: its DSs go Unknown */
	assert_int_equal(collect(r, &c), 0);
	t_write_v2(dir, "p", 1700000025, HOST1, 2);
	assert_int_equal(collect(r, &c), 1);
	assert_true(c[0]->t == 1700000025);
	plg_registry_free(r);

	o.stale_ticks = -1; /* no grace: Unknown at once, as xcp-rrdd */
	r = plg_registry_new(&o);
	assert_int_equal(collect(r, &c), 1);
	assert_int_equal(collect(r, &c), 0);
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

/* V1 pages, VM and SR owners, and a deregistration by RPC. */
static void test_v1_owners(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	struct plg_registry_opts o = {.dir = dir, .no_discovery = true};
	struct plg_registry *r = plg_registry_new(&o);
	static const struct tds ds[] = {
	    {"cpu0", "vm 0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0", "derive", 1, 0, 0, 0.25},
	    {"size", "sr e6616eb6-2c5b-5d1f-3a7b-9c0d1e2f3a4b", "gauge", 0, 1, 1000, 0},
	    {"memory", "vm 0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", "gauge", 1, 1, 4096, 0},
	    {"x", "host", "gauge", 1, 1, -5, 0},
	};
	t_write_v1(dir, "v1", 1700000001.25, ds, 4);
	assert_int_equal(plg_register(r, "v1", PLG_REG_V1), 0);
	struct mon_chunk **c;
	size_t n = collect(r, &c);
	assert_int_equal(n, 1);
	const struct mon_chunk *k = c[0];
	assert_true(k->t == 1700000001.25);
	assert_int_equal(k->nowner, 3); /* the VM's two DSs share an owner */
	const char *vm = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
	const struct mon_sample *s = find_sample(k, MON_VM, vm, "cpu0");
	assert_non_null(s);
	assert_true(s->v.f == 0.25);
	assert_int_equal(s->d.type, DS_DERIVE);
	s = find_sample(k, MON_VM, vm, "memory");
	assert_non_null(s);
	assert_int_equal(s->v.i, 4096);
	s = find_sample(k, MON_SR, "e6616eb6-2c5b-5d1f-3a7b-9c0d1e2f3a4b", "size");
	assert_non_null(s);
	assert_false(s->d.dflt);
	s = find_sample(k, MON_HOST, "", "x");
	assert_non_null(s);
	assert_int_equal(s->v.i, -5);
	/* Deregistered: not read, even though the file stays. */
	assert_int_equal(plg_deregister(r, "v1"), 0);
	assert_int_equal(collect(r, &c), 0);
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

/* A plugin that deregisters over the RPC and then removes its page: the
 * page it left is not discovered again in between (an event of its last
 * write read after the deregistration, here a rescan), nor does a register
 * call it made before (run late by a worker) bring it back, so it is
 * deregistered once; a page written after that (the plugin back) is. */
static void test_deregistered_page_not_rediscovered(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	struct plg_registry *r = mk(dir, false); /* a rescan every collect */
	t_write_v2(dir, "gone", 1700000000, HOST1, 2);
	struct mon_chunk **c;
	assert_int_equal(collect(r, &c), 1);
	assert_true(plg_is_registered(r, "gone"));
	assert_int_equal(plg_deregister(r, "gone"), 0);
	assert_int_equal(collect(r, &c), 0);
	assert_false(plg_is_registered(r, "gone"));
	/* a register call it made before deregistering, run after */
	assert_int_equal(plg_register(r, "gone", PLG_REG_V2), 0);
	assert_false(plg_is_registered(r, "gone"));
	assert_int_equal(collect(r, &c), 0);
	struct plg_stats st;
	plg_get_stats(r, &st);
	assert_int_equal(st.deregistered, 1);
	/* written again, later: a plugin that came back */
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	t_write_v2(dir, "gone", 1700000005, HOST1, 2);
	assert_int_equal(collect(r, &c), 1);
	assert_true(plg_is_registered(r, "gone"));
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

/* An RPC-registered plugin without a file is kept; a discovered one whose
 * file vanished without an event (scan mode) goes. */
static void test_missing_file(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	struct plg_registry *r = mk(dir, true);
	assert_int_equal(plg_register(r, "later", PLG_REG_V2), 0);
	struct mon_chunk **c;
	assert_int_equal(collect(r, &c), 0);
	assert_true(plg_is_registered(r, "later"));
	t_write_v2(dir, "later", 1700000000, HOST1, 2);
	assert_int_equal(collect(r, &c), 1);
	struct plg_stats st;
	plg_get_stats(r, &st);
	assert_int_equal(st.missing, 1);
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

/* A page stamped far in the future is refused (it would pin its DSs). */
static void test_future_timestamp(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	struct plg_registry *r = mk(dir, true);
	t_write_v2(dir, "fut", 1700000000 + 3600, HOST1, 2);
	t_write_v2(dir, "ok", 1700000000 + 10, HOST1, 2);
	struct mon_chunk **c;
	size_t n = 0;
	assert_int_equal(plg_collect(r, 1700000000, 1700000000, &c, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(c[0]->uid, "ok");
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

/* Metadata A read, then a page with metadata B that fails (count
 * mismatch), then metadata A again: read in full and decoded, not cut
 * short on the strength of a cache the reader no longer holds. */
static void test_meta_cache_after_failure(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	struct plg_registry_opts o = {.dir = dir, .no_discovery = true};
	struct plg_registry *r = plg_registry_new(&o);
	assert_int_equal(plg_register(r, "m", PLG_REG_V2), 0);
	struct mon_chunk **c;
	t_write_v2(dir, "m", 1700000000, HOST1, 2);
	assert_int_equal(collect(r, &c), 1);
	/* metadata B: three DSs, header says 2 */
	static const struct tds three[] = {
	    {"a", "host", "gauge", 1, 1, 1, 0},
	    {"b", "host", "gauge", 1, 1, 2, 0},
	    {"c", "host", "gauge", 1, 1, 3, 0},
	};
	/* header n = 2 and two values, metadata with three entries */
	char meta[2048];
	size_t m = t_meta(meta, sizeof(meta), three, 3);
	size_t len = 4096;
	unsigned char *pg = calloc(1, len);
	memcpy(pg, "DATASOURCES", 11);
	put_be32(pg + 19, 2);
	double ts = 1700000005;
	uint64_t tb;
	memcpy(&tb, &ts, 8);
	put_be64(pg + 23, tb);
	put_be64(pg + 31, 1);
	put_be64(pg + 39, 2);
	put_be32(pg + 47, (uint32_t)m);
	memcpy(pg + 51, meta, m);
	put_be32(pg + 11, (uint32_t)crc32(0, pg + 23, 24));
	put_be32(pg + 15, (uint32_t)crc32(0, (const Bytef *)meta, (uInt)m));
	char p[600];
	snprintf(p, sizeof(p), "%s/m", dir);
	t_write_file(p, pg, len);
	free(pg);
	assert_int_equal(collect(r, &c), 0);
	/* metadata A again, new values */
	struct tds again[2];
	memcpy(again, HOST1, sizeof(again));
	again[1].i = 43;
	t_write_v2(dir, "m", 1700000010, again, 2);
	assert_int_equal(collect(r, &c), 1);
	assert_true(c[0]->t == 1700000010);
	assert_int_equal(find_sample(c[0], MON_HOST, "", "count")->v.i, 43);
	/* and steady state again (header + values only) */
	again[1].i = 44;
	t_write_v2(dir, "m", 1700000015, again, 2);
	assert_int_equal(collect(r, &c), 1);
	assert_int_equal(find_sample(c[0], MON_HOST, "", "count")->v.i, 44);
	struct plg_stats st;
	plg_get_stats(r, &st);
	assert_int_equal(st.reads, 3);
	assert_int_equal(st.bad, 1);
	plg_registry_free(r);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uid_rules),
	    cmocka_unit_test(test_default_dir_and_creation),
	    cmocka_unit_test(test_discovery_inotify),
	    cmocka_unit_test(test_discovery_scan),
	    cmocka_unit_test(test_discovery_existing),
	    cmocka_unit_test(test_dir_repointed),
	    cmocka_unit_test(test_rename_grow_inotify),
	    cmocka_unit_test(test_rename_grow_scan),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_bad_page_logged_once),
	    cmocka_unit_test(test_no_update),
	    cmocka_unit_test(test_v1_owners),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_deregistered_page_not_rediscovered),
	    cmocka_unit_test(test_future_timestamp),
	    cmocka_unit_test(test_meta_cache_after_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
