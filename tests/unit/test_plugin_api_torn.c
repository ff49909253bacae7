/*
 * librrdd-plugin never lets a reader see a half-written page: a reader
 * polling the page file with the daemon's parser while a writer publishes
 * thousands of times (values and, now and then, the set of sources change)
 * gets only OK or No_update -- never a header, length, checksum, payload or
 * count error.  The writer runs in another thread, then in another process.
 * Every OK page is also checked for internal consistency (all values equal
 * the timestamp they were published with).  A handle shared by setter
 * threads and a publisher ends with the last values.  For information only, the same
 * run in in-place mode prints how many torn pages the CRCs had to reject.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugin/proto.h"
#include "rrdd/plugin.h"

#define PUBLISHES 3000

struct run {
	char dir[64];
	bool in_place;
	atomic_bool done;
	int writer_rc;
};

/* Publish PUBLISHES pages; every value is k and the timestamp is 1e9 + k.
 * Every 250 pages a source is added (and every 500 one removed), which
 * changes the metadata and, now and then, the file size. */
static int write_pages(const char *dir, bool in_place)
{
	struct rrdp_options o = {.dir = dir, .socket_path = "", .in_place = in_place};
	struct rrdp_plugin *p;
	if (rrdp_plugin_new(&p, "torn", &o) < 0)
		return -1;
	struct rrdp_source *src[64];
	int n = 0;
	char name[64];
	for (; n < 8; n++) {
		struct rrdp_source_def d = RRDP_SOURCE_DEF_INIT;
		snprintf(name, sizeof(name), "src_%d_with_a_longish_name_to_fill_pages", n);
		d.name = name;
		d.value_type = n % 2 ? RRDP_INT64 : RRDP_FLOAT;
		if (rrdp_source_add(p, &d, &src[n]) < 0)
			return -1;
	}
	int next_name = n;
	for (int k = 0; k < PUBLISHES; k++) {
		if (k % 250 == 249 && n < 64) {
			struct rrdp_source_def d = RRDP_SOURCE_DEF_INIT;
			snprintf(name, sizeof(name), "src_%d_with_a_longish_name_to_fill_pages",
			         next_name++);
			d.name = name;
			d.description = "padding padding padding padding padding padding padding "
			                "padding padding padding padding padding padding padding";
			d.value_type = RRDP_INT64;
			if (rrdp_source_add(p, &d, &src[n++]) < 0)
				return -1;
		}
		if (k % 500 == 499 && n > 1) {
			if (rrdp_source_remove(p, src[0]) < 0)
				return -1;
			memmove(src, src + 1, (size_t)(n - 1) * sizeof(src[0]));
			n--;
		}
		for (int i = 0; i < n; i++)
			if (rrdp_source_set_int64(src[i], k) < 0)
				return -1;
		if (rrdp_publish_at(p, 1e9 + k) < 0)
			return -1;
	}
	rrdp_plugin_free(p); /* leave the last page */
	return 0;
}

static void *writer_thread(void *arg)
{
	struct run *r = arg;
	r->writer_rc = write_pages(r->dir, r->in_place);
	atomic_store(&r->done, true);
	return NULL;
}

struct counts {
	long ok, no_update, errors, absent, reads;
	int first_error;
	char msg[256];
};

/* One poll of the page, as the daemon does it. */
static void read_once(const char *path, struct plg_reader *rd, struct counts *c)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0) {
		/* Before the first page: absent.  After it, rename-over must never
		 * leave the path missing, even for an instant. */
		if (c->reads > 0 && c->errors++ == 0)
			snprintf(c->msg, sizeof(c->msg), "the page vanished: %s", strerror(errno));
		c->absent++;
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		c->absent++;
		return;
	}
	unsigned char *b = malloc((size_t)st.st_size);
	ssize_t got = pread(fd, b, (size_t)st.st_size, 0);
	close(fd);
	c->reads++;
	const struct plg_page *pg;
	int rc = got == st.st_size ? plg_read(rd, b, (size_t)got, &pg) : PLG_E_LENGTH;
	if (rc == PLG_OK) {
		c->ok++;
		int64_t k = (int64_t)(pg->timestamp - 1e9);
		for (size_t i = 0; i < pg->n; i++) {
			double v = pg->ds[i].value_type == VAL_INT64 ? (double)pg->ds[i].value.i
			                                             : pg->ds[i].value.f;
			if (v != (double)k && c->errors++ == 0)
				snprintf(c->msg, sizeof(c->msg), "value %zu is %g on page %lld", i,
				         v, (long long)k);
		}
	} else if (rc == PLG_E_NO_UPDATE) {
		c->no_update++;
	} else {
		if (c->errors++ == 0) {
			c->first_error = rc;
			snprintf(c->msg, sizeof(c->msg), "%s: %s", plg_status_name(rc),
			         plg_reader_error(rd));
		}
	}
	free(b);
}

static void poll_until(const char *path, atomic_bool *done, pid_t child, struct counts *c)
{
	struct plg_reader *rd = plg_reader_new();
	for (;;) {
		bool fin;
		if (child > 0) {
			int status;
			pid_t w = waitpid(child, &status, WNOHANG);
			fin = w == child;
			if (fin)
				assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		} else {
			fin = atomic_load(done);
		}
		read_once(path, rd, c);
		if (fin)
			break;
	}
	plg_reader_free(rd);
}

static void rm_dir(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (dp && (e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[400];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
		n++;
	}
	if (dp)
		closedir(dp);
	rmdir(dir);
	/* Only the page itself may be left: no temporary files. */
	assert_int_equal(n, 1);
}

static void test_thread_writer_never_torn(void **state)
{
	(void)state;
	struct run r = {.in_place = false};
	snprintf(r.dir, sizeof(r.dir), "/tmp/test_plugin_torn.XXXXXX");
	assert_non_null(mkdtemp(r.dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/torn", r.dir);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &r), 0);
	struct counts c = {0};
	poll_until(path, &r.done, 0, &c);
	pthread_join(t, NULL);
	assert_int_equal(r.writer_rc, 0);
	printf("thread writer: %ld reads: %ld OK, %ld No_update, %ld errors, %ld absent\n", c.reads,
	       c.ok, c.no_update, c.errors, c.absent);
	if (c.errors)
		fail_msg("reader saw %ld bad pages; first: %s", c.errors, c.msg);
	assert_true(c.ok >= 2); /* at least one read during the run and the final one */
	assert_int_equal(c.ok + c.no_update, c.reads);
	rm_dir(r.dir);
}

static void test_process_writer_never_torn(void **state)
{
	(void)state;
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/test_plugin_torn.XXXXXX");
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/torn", dir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(write_pages(dir, false) == 0 ? 0 : 1);
	struct counts c = {0};
	poll_until(path, NULL, pid, &c);
	printf("process writer: %ld reads: %ld OK, %ld No_update, %ld errors, %ld absent\n",
	       c.reads, c.ok, c.no_update, c.errors, c.absent);
	if (c.errors)
		fail_msg("reader saw %ld bad pages; first: %s", c.errors, c.msg);
	assert_true(c.ok >= 2);
	rm_dir(dir);
}

/* In-place mode, for comparison: not asserted, torn reads are expected. */
static void test_in_place_for_information(void **state)
{
	(void)state;
	struct run r = {.in_place = true};
	snprintf(r.dir, sizeof(r.dir), "/tmp/test_plugin_torn.XXXXXX");
	assert_non_null(mkdtemp(r.dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/torn", r.dir);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &r), 0);
	struct counts c = {0};
	poll_until(path, &r.done, 0, &c);
	pthread_join(t, NULL);
	assert_int_equal(r.writer_rc, 0);
	printf("in-place writer (information only): %ld reads: %ld OK, %ld No_update, "
	       "%ld rejected by the CRCs%s%s\n",
	       c.reads, c.ok, c.no_update, c.errors, c.errors ? "; first: " : "", c.msg);
	rm_dir(r.dir);
}

/* ---- one handle shared by threads (the handle's lock) ---- */

struct setter {
	struct rrdp_source *src[4];
	int id;
};

static void *set_values(void *arg)
{
	struct setter *st = arg;
	for (int k = 1; k <= 20000; k++)
		for (int i = 0; i < 4; i++)
			if (rrdp_source_set_int64(st->src[i], (int64_t)st->id * 1000000 + k) < 0)
				return (void *)1;
	return NULL;
}

static void test_shared_handle_threads(void **state)
{
	(void)state;
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/test_plugin_torn.XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct rrdp_options o = {.dir = dir, .socket_path = ""};
	struct rrdp_plugin *p;
	assert_int_equal(rrdp_plugin_new(&p, "torn", &o), 0);
	struct setter st[3];
	char name[32];
	for (int t = 0; t < 3; t++) {
		st[t].id = t + 1;
		for (int i = 0; i < 4; i++) {
			struct rrdp_source_def d = RRDP_SOURCE_DEF_INIT;
			snprintf(name, sizeof(name), "t%d_%d", t, i);
			d.name = name;
			d.value_type = RRDP_INT64;
			assert_int_equal(rrdp_source_add(p, &d, &st[t].src[i]), 0);
		}
	}
	pthread_t th[3];
	for (int t = 0; t < 3; t++)
		assert_int_equal(pthread_create(&th[t], NULL, set_values, &st[t]), 0);
	/* Publish (and add/remove a source) while the setters run. */
	struct plg_reader *rd = plg_reader_new();
	for (int k = 0; k < 300; k++) {
		struct rrdp_source_def d = RRDP_SOURCE_DEF_INIT;
		d.name = "extra";
		struct rrdp_source *x;
		assert_int_equal(rrdp_source_add(p, &d, &x), 0);
		assert_int_equal(rrdp_publish_at(p, 1e9 + 2 * k), 0);
		assert_int_equal(rrdp_source_remove(p, x), 0);
		assert_int_equal(rrdp_publish_at(p, 1e9 + 2 * k + 1), 0);
	}
	for (int t = 0; t < 3; t++) {
		void *ret;
		pthread_join(th[t], &ret);
		assert_null(ret);
	}
	assert_int_equal(rrdp_publish_at(p, 2e9), 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/torn", dir);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	unsigned char *b = malloc((size_t)sb.st_size);
	assert_int_equal(pread(fd, b, (size_t)sb.st_size, 0), sb.st_size);
	close(fd);
	const struct plg_page *pg;
	assert_int_equal(plg_read(rd, b, (size_t)sb.st_size, &pg), PLG_OK);
	assert_int_equal(pg->n, 12);
	for (int t = 0; t < 3; t++)
		for (int i = 0; i < 4; i++)
			assert_true(pg->ds[t * 4 + i].value.i ==
			            (int64_t)(t + 1) * 1000000 + 20000);
	free(b);
	plg_reader_free(rd);
	rrdp_plugin_free(p);
	rm_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thread_writer_never_torn),
	    cmocka_unit_test(test_process_writer_never_torn),
	    cmocka_unit_test(test_in_place_for_information),
	    cmocka_unit_test(test_shared_handle_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
