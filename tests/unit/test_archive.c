/*
 * Archives (rrdd/store/archive.c): a written archive is a gzip stream that
 * the archive loader reads back into the same RRD (checked field by field
 * and ring by ring against the original, not against our own XML), mode
 * 0644, no temporary left, the stray uncompressed file removed; a failed
 * write keeps the previous archive; bad keys never escape the directory;
 * a missing archive is -ENOENT, a corrupt one a message.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "rrd/rrd.h"
#include "store/archive.h"

#define KEY "11111111-2222-4333-8444-555555555555"

static char dir[256];

static struct rrdb *make_rrd(double scale)
{
	struct rrdb_rra_def rras[RRDB_MAX_DEFAULT_RRAS];
	size_t n = rrdb_default_rras(1, rras);
	struct rrdb_ds_def ds[2] = {
	    {.name = "cpu0", .type = DS_DERIVE, .min = 0, .max = 1, .mrhb = 300},
	    {.name = "memory", .type = DS_GAUGE, .min = 0, .max = INFINITY, .mrhb = 300},
	};
	struct rrdb *r = rrdb_new(5, 1700000000, rras, n, ds, 2);
	for (int i = 1; i <= 50; i++) {
		struct rrdb_upd u[2] = {{0, DSVAL_FLT(i * 1.25 * scale)},
		                        {1, DSVAL_INT((int64_t)(i * 4096 * scale))}};
		rrdb_update(r, 1700000000 + 5.0 * i, u, 2, 0);
	}
	return r;
}

static void assert_same(const struct rrdb *a, const struct rrdb *b)
{
	assert_int_equal(a->nds, b->nds);
	assert_int_equal(a->nrra, b->nrra);
	assert_true(a->last_updated == b->last_updated);
	for (uint32_t d = 0; d < a->nds; d++) {
		assert_string_equal(a->ds[d].name, b->ds[d].name);
		assert_int_equal(a->ds[d].type, b->ds[d].type);
		for (uint32_t r = 0; r < a->nrra; r++)
			for (uint32_t i = 0; i < a->rra[r].rows; i++) {
				double x = rrdb_peek(a, d, r, i), y = rrdb_peek(b, d, r, i);
				if (!(x == y || (isnan(x) && isnan(y))))
					fail_msg("ds %u rra %u row %u: %g != %g", d, r, i, x, y);
			}
	}
}

static int count_files(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_roundtrip(void **state)
{
	(void)state;
	char err[512], path[512], plain[512];
	snprintf(plain, sizeof(plain), "%s/%s", dir, KEY);
	FILE *f = fopen(plain, "w"); /* a stray uncompressed archive */
	fputs("<rrd/>", f);
	fclose(f);
	struct rrdb *r = make_rrd(1);
	assert_int_equal(store_archive_write(dir, KEY, r, err, sizeof(err)), 0);
	assert_int_equal(store_archive_path(dir, KEY, path, sizeof(path)), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(access(plain, F_OK), -1);
	assert_int_equal(count_files(), 1);
	/* a gzip stream */
	unsigned char magic[2];
	f = fopen(path, "rb");
	assert_int_equal(fread(magic, 1, 2, f), 2);
	fclose(f);
	assert_int_equal(magic[0], 0x1f);
	assert_int_equal(magic[1], 0x8b);
	struct rrdb *back;
	assert_int_equal(store_archive_load(dir, KEY, &back, err, sizeof(err)), 0);
	assert_same(r, back);
	rrdb_free(back);

	/* overwrite with new content */
	struct rrdb *r2 = make_rrd(2);
	assert_int_equal(store_archive_write(dir, KEY, r2, err, sizeof(err)), 0);
	assert_int_equal(store_archive_load(dir, KEY, &back, err, sizeof(err)), 0);
	assert_same(r2, back);
	rrdb_free(back);
	rrdb_free(r2);
	rrdb_free(r);
}

static void test_failure_keeps_previous(void **state)
{
	(void)state;
	char err[512];
	struct rrdb *r = make_rrd(1), *r3 = make_rrd(3), *back;
	assert_int_equal(store_archive_write(dir, KEY, r, err, sizeof(err)), 0);
	/* a full disk, as far as this process can tell (works as root too) */
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 64;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc = store_archive_write(dir, KEY, r3, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &old);
	assert_int_equal(rc, -EFBIG);
	assert_int_equal(count_files(), 1); /* no temporary left behind */
	assert_non_null(strstr(err, KEY));
	assert_int_equal(store_archive_load(dir, KEY, &back, err, sizeof(err)), 0);
	assert_same(r, back);
	rrdb_free(back);
	rrdb_free(r);
	rrdb_free(r3);
}

static void test_failure_in_missing_dir(void **state)
{
	(void)state;
	char err[512], missing[300];
	snprintf(missing, sizeof(missing), "%s/no/such/dir", dir);
	struct rrdb *r = make_rrd(1);
	int rc = store_archive_write(missing, KEY, r, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(err, missing));
	rrdb_free(r);
}

static void test_keys_and_missing(void **state)
{
	(void)state;
	char err[512], path[512];
	struct rrdb *r = make_rrd(1), *back = (struct rrdb *)1;
	const char *bad[] = {"", "../etc", "a/b", ".hidden", "x y", NULL};
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(store_archive_write(dir, bad[i], r, err, sizeof(err)), -EINVAL);
		assert_int_equal(store_archive_path(dir, bad[i], path, sizeof(path)), -EINVAL);
	}
	assert_int_equal(store_archive_load(dir, "22222222-0000-4000-8000-000000000000", &back, err,
	                                    sizeof(err)),
	                 -ENOENT);
	assert_null(back);
	/* a corrupt archive: an error with a message, never a crash */
	snprintf(path, sizeof(path), "%s/corrupt.gz", dir);
	FILE *f = fopen(path, "w");
	fputs("<rrd><version>0003</version><step>5", f);
	fclose(f);
	int rc = store_archive_load(dir, "corrupt", &back, err, sizeof(err));
	assert_true(rc < 0 && rc != -ENOENT);
	assert_true(strlen(err) > 0);
	unlink(path);
	rrdb_free(r);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_archive.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_failure_keeps_previous),
	    cmocka_unit_test(test_failure_in_missing_dir),
	    cmocka_unit_test(test_keys_and_missing),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0 && !rc)
		rc = 1;
	return rc;
}
