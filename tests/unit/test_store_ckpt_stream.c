/*
 * The streaming checkpoint file (store/checkpoint.h): the writer deflates
 * the payload piece by piece, the reader inflates it piece by piece.
 * Checked here:
 *  - round trip of a payload given in odd-sized pieces, read back whole
 *    and in pulls of many sizes;
 *  - the file is the documented format (docs/durability.md), decoded here
 *    independently of checkpoint.c: header fields and CRC, stored length,
 *    payload CRC, one zlib stream that uncompress() (what the loader before
 *    streaming did) turns into the payload;
 *  - pieces deflated apart by another thread and spliced between bytes the
 *    writer deflates itself make one stream zlib itself inflates;
 *  - a file written the way the earlier writer did (one compress2 of the
 *    whole payload) is read by the streaming reader;
 *  - a truncated file, a flipped bit anywhere, over-long pulls and
 *    unconsumed payloads are refused without a crash;
 *  - a write failure leaves the previous checkpoint and no temporary.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "store/checkpoint.h"
#include "store/fileops.h"
#include "util/buf.h"

static void mkdtemp_dir(char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/test_ckpt_stream.XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char p[600];
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* A payload with runs (compressible) and noise (not), n bytes. */
static unsigned char *make_payload(size_t n, uint32_t seed)
{
	unsigned char *p = malloc(n ? n : 1);
	uint32_t x = seed;
	for (size_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		p[i] = (i / 4096) % 3 == 0 ? (unsigned char)(x >> 24) : (unsigned char)(i / 512);
	}
	return p;
}

static const struct store_ckpt_info INFO = {.next_segno = 7,
                                            .last_seq = 123456789012ull,
                                            .last_t = 1700000123.5,
                                            .nentries = 3,
                                            .npending = 1,
                                            .host_hash = 0xdeadbeefu};

static void write_pieces(const char *dir, const unsigned char *p, size_t n)
{
	char err[1500];
	struct store_ckpt_writer *w;
	assert_int_equal(store_ckpt_begin(dir, &w, err, sizeof(err)), 0);
	size_t off = 0, k = 1;
	while (off < n) {
		size_t m = (k * 7919) % 200000; /* 0 .. 200 KB, zero-length pieces included */
		if (m > n - off)
			m = n - off;
		assert_int_equal(store_ckpt_add(w, p + off, m), 0);
		off += m;
		k++;
	}
	uint64_t bytes = 0;
	assert_int_equal(store_ckpt_finish(w, &INFO, &bytes, err, sizeof(err)), 0);
	char path[600];
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, bytes);
}

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *p = malloc((size_t)len + 1);
	assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return p;
}

static void spit(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static uint32_t le32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void test_round_trip_and_format(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 3000001};
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t n = sizes[si];
		char dir[128];
		mkdtemp_dir(dir, sizeof(dir));
		unsigned char *p = make_payload(n, (uint32_t)si + 1);
		write_pieces(dir, p, n);

		/* whole */
		struct store_ckpt_info ci;
		struct buf out = BUF_INIT;
		char err[1500];
		assert_int_equal(store_ckpt_read(dir, &ci, &out, err, sizeof(err)), 0);
		assert_int_equal(out.len, n);
		assert_true(n == 0 || memcmp(out.p, p, n) == 0);
		assert_int_equal(ci.next_segno, INFO.next_segno);
		assert_int_equal(ci.last_seq, INFO.last_seq);
		assert_true(ci.last_t == INFO.last_t);
		assert_int_equal(ci.nentries, INFO.nentries);
		assert_int_equal(ci.npending, INFO.npending);
		assert_int_equal(ci.host_hash, INFO.host_hash);
		buf_free(&out);

		/* pulled in pieces of varying sizes */
		struct store_ckpt_reader *r;
		assert_int_equal(store_ckpt_open(dir, &ci, &r, err, sizeof(err)), 0);
		size_t off = 0, k = 3;
		while (off < n) {
			size_t m = (k * k * 131) % 150001;
			if (m > n - off)
				m = n - off;
			const unsigned char *q = store_ckpt_pull(r, m);
			assert_non_null(q);
			assert_true(m == 0 || memcmp(q, p + off, m) == 0);
			off += m;
			assert_int_equal(store_ckpt_left(r), n - off);
			k++;
		}
		assert_null(store_ckpt_pull(r, 1)); /* nothing more */
		assert_int_not_equal(store_ckpt_close(r), 0);
		assert_int_equal(store_ckpt_open(dir, &ci, &r, err, sizeof(err)), 0);
		if (n) {
			assert_non_null(store_ckpt_pull(r, n - 1));
			assert_int_not_equal(store_ckpt_close(r), 0); /* one byte left */
		} else {
			assert_int_equal(store_ckpt_close(r), 0);
		}

		/* the documented format, decoded here */
		char path[600];
		snprintf(path, sizeof(path), "%s/checkpoint", dir);
		size_t fn;
		unsigned char *f = slurp(path, &fn);
		assert_true(fn >= 72);
		assert_memory_equal(f, "RRDDCKP1", 8);
		assert_int_equal(le32(f + 8), 1);  /* version */
		assert_int_equal(le32(f + 12), 1); /* deflated */
		assert_int_equal(le64(f + 16), INFO.next_segno);
		assert_int_equal(le64(f + 24), INFO.last_seq);
		double t;
		uint64_t tb = le64(f + 32);
		memcpy(&t, &tb, 8);
		assert_true(t == INFO.last_t);
		assert_int_equal(le32(f + 40), INFO.nentries);
		assert_int_equal(le32(f + 44), INFO.npending);
		assert_int_equal(((uint64_t)le32(f + 48) << 32) | le32(f + 52), n);
		uint32_t zn = le32(f + 56);
		assert_int_equal((size_t)zn + 72, fn);
		assert_int_equal(le32(f + 60), INFO.host_hash);
		assert_int_equal(le32(f + 64), (uint32_t)crc32(0, f, 64));
		assert_int_equal(le32(f + fn - 4), (uint32_t)crc32(0, f + 68, zn));
		uLongf dn = (uLongf)n + 1;
		unsigned char *d = malloc(n + 1);
		assert_int_equal(uncompress(d, &dn, f + 68, zn), Z_OK);
		assert_int_equal(dn, n);
		assert_true(n == 0 || memcmp(d, p, n) == 0);
		free(d);
		free(f);
		free(p);
		rm_rf(dir);
	}
}

/* Pieces deflated apart (here in another thread, in reverse order) and
 * spliced between bytes the writer deflates itself: one valid zlib stream
 * whose Adler-32 zlib checks. */
struct pieces_arg {
	const unsigned char *p;
	size_t off[9];
	struct store_ckpt_piece pc[8];
};

static void *compress_pieces(void *v)
{
	struct pieces_arg *a = v;
	struct store_ckpt_zpiece *z = store_ckpt_zpiece_new();
	for (int k = 7; k >= 0; k--)
		assert_int_equal(
		    store_ckpt_compress(z, a->p + a->off[k], a->off[k + 1] - a->off[k], &a->pc[k]),
		    0);
	store_ckpt_zpiece_free(z);
	return NULL;
}

static void test_spliced_pieces(void **state)
{
	(void)state;
	char dir[128];
	mkdtemp_dir(dir, sizeof(dir));
	size_t n = 2500000;
	unsigned char *p = make_payload(n, 21);
	/* layout: own bytes, then 8 pieces with own bytes between some, then own */
	struct pieces_arg a = {.p = p};
	size_t cuts[9] = {1000, 1000, 70000, 70001, 400000, 900000, 900100, 2000000, 2400000};
	memcpy(a.off, cuts, sizeof(cuts)); /* piece k = [off[k], off[k+1]); piece 0 is empty */
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, compress_pieces, &a), 0);
	pthread_join(th, NULL);
	char err[1500];
	struct store_ckpt_writer *w;
	assert_int_equal(store_ckpt_begin(dir, &w, err, sizeof(err)), 0);
	assert_int_equal(store_ckpt_add(w, p, cuts[0]), 0);
	for (int k = 0; k < 8; k++) {
		assert_int_equal(store_ckpt_add_piece(w, &a.pc[k]), 0);
		buf_free(&a.pc[k].z);
	}
	assert_int_equal(store_ckpt_add(w, p + cuts[8], n - cuts[8]), 0);
	assert_int_equal(store_ckpt_finish(w, &INFO, NULL, err, sizeof(err)), 0);
	struct store_ckpt_info ci;
	struct buf out = BUF_INIT;
	assert_int_equal(store_ckpt_read(dir, &ci, &out, err, sizeof(err)), 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.p, p, n);
	buf_free(&out);
	/* and zlib's own one-shot inflate agrees (Adler-32 checked) */
	char path[600];
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	size_t fn;
	unsigned char *f = slurp(path, &fn);
	uLongf dn = (uLongf)n;
	unsigned char *d = malloc(n);
	assert_int_equal(uncompress(d, &dn, f + 68, (uLong)(fn - 72)), Z_OK);
	assert_int_equal(dn, n);
	assert_memory_equal(d, p, n);
	/* a flipped bit inside a piece is caught */
	f[68 + (fn - 72) / 2] ^= 4;
	spit(path, f, fn);
	assert_int_not_equal(store_ckpt_read(dir, &ci, &out, err, sizeof(err)), 0);
	buf_free(&out);
	free(d);
	free(f);
	free(p);
	rm_rf(dir);
}

/* A file as the writer before streaming made it: compress2 of the whole. */
static void test_reads_whole_buffer_file(void **state)
{
	(void)state;
	char dir[128];
	mkdtemp_dir(dir, sizeof(dir));
	size_t n = 1234567;
	unsigned char *p = make_payload(n, 99);
	uLongf zn = compressBound(n);
	unsigned char *f = malloc(68 + zn + 4);
	assert_int_equal(compress2(f + 68, &zn, p, n, 1), Z_OK);
	memset(f, 0, 68);
	memcpy(f, "RRDDCKP1", 8);
	unsigned char *h = f + 8;
#define PUT32(v)                                                                                   \
	do {                                                                                       \
		uint32_t v_ = (v);                                                                 \
		h[0] = (unsigned char)v_;                                                          \
		h[1] = (unsigned char)(v_ >> 8);                                                   \
		h[2] = (unsigned char)(v_ >> 16);                                                  \
		h[3] = (unsigned char)(v_ >> 24);                                                  \
		h += 4;                                                                            \
	} while (0)
	PUT32(1);
	PUT32(1);
	PUT32(5);
	PUT32(0); /* next segment 5 */
	PUT32(42);
	PUT32(0); /* last seq 42 */
	uint64_t tb;
	double t = 1700000000.0;
	memcpy(&tb, &t, 8);
	PUT32((uint32_t)tb);
	PUT32((uint32_t)(tb >> 32));
	PUT32(2);
	PUT32(0);
	PUT32(0);
	PUT32((uint32_t)n);
	PUT32((uint32_t)zn);
	PUT32(77);
	PUT32((uint32_t)crc32(0, f, 64));
	h = f + 68 + zn;
	PUT32((uint32_t)crc32(0, f + 68, zn));
	char path[600];
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	spit(path, f, 68 + zn + 4);
	struct store_ckpt_info ci;
	struct buf out = BUF_INIT;
	char err[1500];
	assert_int_equal(store_ckpt_read(dir, &ci, &out, err, sizeof(err)), 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.p, p, n);
	assert_int_equal(ci.next_segno, 5);
	assert_int_equal(ci.last_seq, 42);
	assert_int_equal(ci.nentries, 2);
	assert_int_equal(ci.host_hash, 77);
	buf_free(&out);
	free(f);
	free(p);
	rm_rf(dir);
}

static void test_damage_refused(void **state)
{
	(void)state;
	char dir[128];
	mkdtemp_dir(dir, sizeof(dir));
	size_t n = 300000;
	unsigned char *p = make_payload(n, 5);
	write_pieces(dir, p, n);
	char path[600];
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	size_t fn;
	unsigned char *f = slurp(path, &fn);
	char err[1500];
	struct store_ckpt_info ci;
	int checked = 0;
	/* truncations */
	for (size_t cut = 0; cut < fn; cut += cut < 200 ? 1 : 997) {
		spit(path, f, cut);
		struct buf out = BUF_INIT;
		int rc = store_ckpt_read(dir, &ci, &out, err, sizeof(err));
		assert_int_not_equal(rc, 0);
		buf_free(&out);
		checked++;
	}
	/* one flipped bit, at many places */
	for (size_t at = 0; at < fn; at += at < 200 ? 1 : 613) {
		f[at] ^= 0x10;
		spit(path, f, fn);
		f[at] ^= 0x10;
		struct buf out = BUF_INIT;
		int rc = store_ckpt_read(dir, &ci, &out, err, sizeof(err));
		if (rc == 0) /* a flipped padding bit of the header is the only harmless one */
			fail_msg("bit flip at %zu accepted", at);
		buf_free(&out);
		checked++;
	}
	/* over-long pulls */
	spit(path, f, fn);
	struct store_ckpt_reader *r;
	assert_int_equal(store_ckpt_open(dir, &ci, &r, err, sizeof(err)), 0);
	assert_null(store_ckpt_pull(r, n + 1));
	assert_null(store_ckpt_pull(r, 1)); /* the reader stays failed */
	assert_int_not_equal(store_ckpt_close(r), 0);
	printf("%d damaged files refused\n", checked);
	free(f);
	free(p);
	rm_rf(dir);
}

/* ---- a write failure ---- */

static int fail_writes_after, writes;

static ssize_t f_write(int fd, const void *p, size_t n)
{
	if (++writes > fail_writes_after) {
		errno = ENOSPC;
		return -1;
	}
	return store_fops_system.write(fd, p, n);
}

static int count_files(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_write_failure_keeps_previous(void **state)
{
	(void)state;
	char dir[128];
	mkdtemp_dir(dir, sizeof(dir));
	size_t n = 2000000;
	unsigned char *p = make_payload(n, 11);
	write_pieces(dir, p, n);
	unsigned char *q = make_payload(n, 12);
	for (int k = 0; k < 6; k++) {
		struct store_fileops t = store_fops_system;
		t.write = f_write;
		writes = 0;
		fail_writes_after = k;
		store_fops = &t;
		char err[1500] = "";
		int rc = store_ckpt_write(dir, &INFO, q, n, NULL, err, sizeof(err));
		store_fops = &store_fops_system;
		assert_int_not_equal(rc, 0);
		assert_true(strlen(err) > 0);
		assert_int_equal(count_files(dir), 1); /* no temporary */
		struct store_ckpt_info ci;
		struct buf out = BUF_INIT;
		assert_int_equal(store_ckpt_read(dir, &ci, &out, err, sizeof(err)), 0);
		assert_int_equal(out.len, n);
		assert_memory_equal(out.p, p, n);
		buf_free(&out);
	}
	free(p);
	free(q);
	rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_and_format),
	    cmocka_unit_test(test_spliced_pieces),
	    cmocka_unit_test(test_reads_whole_buffer_file),
	    cmocka_unit_test(test_damage_refused),
	    cmocka_unit_test(test_write_failure_keeps_previous),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
