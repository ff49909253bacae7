/*
 * tapdisk3's statistics pages (rrdd/source/tapdisk3.c) and the vbd3 VBDs
 * read through them (vbd3.c), into the catalogue's VBD and SR data sources
 * (catalogue_io.c).  Pages are written here byte by byte as blktap's
 * struct stats lays them out (little endian, drivers/tapdisk-metrics-stats.h),
 * xenstore is a table of paths, and every expected figure is worked out
 * from the numbers written, as rrdp_iostat.ml defines them.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "source/catalogue.h"
#include "source/source.h"
#include "source/tapdisk3.h"
#include "source/vbd3.h"

/* ---- pages, written as tapdisk3 writes them ---- */

struct page {
	uint32_t version;
	uint64_t f[11]; /* oo, rd_sub, rd_comp, rd_sect, rd_ticks, wr_sub, wr_comp, wr_sect,
	                   wr_ticks, io_errors, flags */
};

static void encode(const struct page *p, unsigned char *b, size_t len)
{
	memset(b, 0, len);
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(p->version >> (8 * i));
	for (int k = 0; k < 11; k++)
		for (int i = 0; i < 8; i++)
			b[8 + 8 * k + i] = (unsigned char)(p->f[k] >> (8 * i));
}

static char root[256];

static void mkdirs(const char *rel)
{
	char path[512], *s;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	mkdir(path, 0755);
}

/* shm/td3-<pid>/vbd-<domid>-<devid> as a 4096-byte page (tapdisk's size),
 * or only its first len bytes */
static void write_page(int pid, int domid, int devid, const struct page *p, size_t len)
{
	char dir[64], path[512];
	unsigned char b[4096];
	snprintf(dir, sizeof(dir), "shm/td3-%d", pid);
	mkdirs(dir);
	snprintf(path, sizeof(path), "%s/%s/vbd-%d-%d", root, dir, domid, devid);
	encode(p, b, sizeof(b));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	close(fd);
}

static void page_path(int pid, int domid, int devid, char *out, size_t len)
{
	snprintf(out, len, "%s/shm/td3-%d/vbd-%d-%d", root, pid, domid, devid);
}

static char shm[300];

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/rrdd-td3-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(shm, sizeof(shm), "%s/shm", root);
	mkdirs("shm");
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the page parser ---- */

static void parse_fields(void **state)
{
	struct page p = {1, {7, 100, 90, 4000, 123456, 50, 50, 800, 9999, 3, 1}};
	unsigned char b[TD3_STATS_BYTES];
	encode(&p, b, sizeof(b));
	struct td3_stats st;
	char why[200];
	assert_int_equal(td3_parse(b, sizeof(b), &st, why, sizeof(why)), 0);
	assert_int_equal(st.version, 1);
	assert_int_equal(st.oo_reqs, 7);
	assert_int_equal(st.rd_submitted, 100);
	assert_int_equal(st.rd_completed, 90);
	assert_int_equal(st.rd_sectors, 4000);
	assert_int_equal(st.rd_ticks_us, 123456);
	assert_int_equal(st.wr_submitted, 50);
	assert_int_equal(st.wr_completed, 50);
	assert_int_equal(st.wr_sectors, 800);
	assert_int_equal(st.wr_ticks_us, 9999);
	assert_int_equal(st.io_errors, 3);
	assert_int_equal(st.flags, TD3_FLAG_LOW_MEM);
	/* a counter past 2^32 keeps its high bytes */
	p.f[3] = 0x0102030405060708ull;
	encode(&p, b, sizeof(b));
	assert_int_equal(td3_parse(b, sizeof(b), &st, why, sizeof(why)), 0);
	assert_true(st.rd_sectors == 0x0102030405060708ull);
}

static void parse_refusals(void **state)
{
	struct page p = {1, {0, 10, 10, 0, 0, 5, 5, 0, 0, 0, 0}};
	unsigned char b[TD3_STATS_BYTES];
	struct td3_stats st;
	char why[200];
	encode(&p, b, sizeof(b));
	assert_int_equal(td3_parse(b, 95, &st, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "short"));
	p.version = 2;
	encode(&p, b, sizeof(b));
	assert_int_equal(td3_parse(b, sizeof(b), &st, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "version 2"));
	p.version = 1;
	p.f[2] = 11; /* read completed > submitted */
	encode(&p, b, sizeof(b));
	assert_int_equal(td3_parse(b, sizeof(b), &st, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "completed"));
	p.f[2] = 10;
	p.f[6] = 6; /* write completed > submitted */
	encode(&p, b, sizeof(b));
	assert_int_equal(td3_parse(b, sizeof(b), &st, why, sizeof(why)), -EPROTO);
	/* every single-byte corruption of a good page parses or is refused,
	 * never more (no crash, the bound checks hold) */
	p.f[6] = 5;
	for (size_t i = 0; i < sizeof(b); i++)
		for (int v = 0; v < 256; v += 51) {
			encode(&p, b, sizeof(b));
			b[i] = (unsigned char)v;
			int rc = td3_parse(b, sizeof(b), &st, why, sizeof(why));
			assert_true(rc == 0 || rc == -EPROTO);
		}
}

/* ---- pages on disk ---- */

static void page_files(void **state)
{
	struct page good = {1, {0, 10, 9, 80, 1000, 4, 4, 32, 400, 0, 0}};
	struct td3_page pg = TD3_PAGE_INIT;
	struct td3_stats st;
	char why[300], path[512];

	/* missing directory, missing page */
	assert_int_equal(td3_page_open(&pg, shm, 4242, 1, 768, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "td3-4242"));
	write_page(4242, 1, 832, &good, 4096);
	assert_int_equal(td3_page_open(&pg, shm, 4242, 1, 768, why, sizeof(why)), -ENOENT);
	assert_int_equal(td3_page_open(&pg, shm, 0, 1, 832, why, sizeof(why)), -ENOENT);

	/* a good page, read as it changes */
	assert_int_equal(td3_page_open(&pg, shm, 4242, 1, 832, why, sizeof(why)), 0);
	assert_int_equal(td3_page_read(&pg, &st, why, sizeof(why)), 0);
	assert_int_equal(st.rd_completed, 9);
	good.f[2] = 10;
	write_page(4242, 1, 832, &good, 4096); /* O_TRUNC rewrites the same inode */
	assert_int_equal(td3_page_read(&pg, &st, why, sizeof(why)), 0);
	assert_int_equal(st.rd_completed, 10);
	/* caught mid-update every time: refused after three reads */
	good.f[2] = 11;
	write_page(4242, 1, 832, &good, 4096);
	assert_int_equal(td3_page_read(&pg, &st, why, sizeof(why)), -EPROTO);
	td3_page_close(&pg);
	td3_page_close(&pg); /* twice is fine */

	/* short page */
	good.f[2] = 9;
	write_page(4242, 1, 51712, &good, 40);
	assert_int_equal(td3_page_open(&pg, shm, 4242, 1, 51712, why, sizeof(why)), 0);
	assert_int_equal(td3_page_read(&pg, &st, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "40 bytes"));
	td3_page_close(&pg);

	/* a link, a FIFO (no blocking), a directory: refused */
	page_path(4242, 1, 51728, path, sizeof(path));
	char target[512];
	page_path(4242, 1, 832, target, sizeof(target));
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(td3_page_open(&pg, shm, 4242, 1, 51728, why, sizeof(why)), -ELOOP);
	page_path(4242, 1, 51744, path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(td3_page_open(&pg, shm, 4242, 1, 51744, why, sizeof(why)), -EPERM);
	page_path(4242, 1, 51760, path, sizeof(path));
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(td3_page_open(&pg, shm, 4242, 1, 51760, why, sizeof(why)), -EPERM);
	/* the td3-<pid> directory itself a link */
	char lnk[512];
	snprintf(lnk, sizeof(lnk), "%s/td3-4343", shm);
	snprintf(target, sizeof(target), "%s/td3-4242", shm);
	assert_int_equal(symlink(target, lnk), 0);
	assert_true(td3_page_open(&pg, shm, 4343, 1, 832, why, sizeof(why)) < 0);
	/* a page somebody else owns (as root only: nobody else can chown) */
	if (geteuid() == 0) {
		write_page(4242, 1, 51776, &good, 4096);
		page_path(4242, 1, 51776, path, sizeof(path));
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(td3_page_open(&pg, shm, 4242, 1, 51776, why, sizeof(why)), -EPERM);
	}
	assert_int_equal(pg.fd, -1);
}

/* ---- vbd3 VBDs through a xenstore table ---- */

#define VM_A "11111111-aaaa-4aaa-8aaa-000000000001"
#define VM_B "22222222-bbbb-4bbb-8bbb-000000000002"
#define SR_A "5a5a5a5a-0000-4000-8000-00000000000a"
#define SR_B "6b6b6b6b-0000-4000-8000-00000000000b"
#define VDI1 "d1d1d1d1-0000-4000-8000-000000000001"
#define VDI2 "d2d2d2d2-0000-4000-8000-000000000002"
#define VDI3 "d3d3d3d3-0000-4000-8000-000000000003"
#define BE   "/local/domain/0/backend/vbd3"

static struct {
	const char *k[700];
	char *v[700];
	int n;
	int calls;
} XS;

static void xs_put(const char *k, const char *v)
{
	XS.k[XS.n] = strdup(k);
	XS.v[XS.n] = strdup(v);
	XS.n++;
}

static void xs_clear(void)
{
	for (int i = 0; i < XS.n; i++) {
		free((void *)XS.k[i]);
		free(XS.v[i]);
	}
	memset(&XS, 0, sizeof(XS));
}

static char *x_read(void *ctx, const char *path)
{
	XS.calls++;
	for (int i = 0; i < XS.n; i++)
		if (!strcmp(XS.k[i], path))
			return strdup(XS.v[i]);
	return NULL;
}

/* children of path, as xs_directory gives them: one block */
static char **x_dir(void *ctx, const char *path, unsigned int *n)
{
	XS.calls++;
	char *names[700];
	int k = 0;
	size_t pl = strlen(path), bytes = 0;
	for (int i = 0; i < XS.n; i++) {
		if (strncmp(XS.k[i], path, pl) || XS.k[i][pl] != '/')
			continue;
		const char *c = XS.k[i] + pl + 1;
		size_t cl = strcspn(c, "/");
		bool dup = false;
		for (int j = 0; j < k && !dup; j++)
			dup = strlen(names[j]) == cl && !strncmp(names[j], c, cl);
		if (!dup) {
			names[k++] = strndup(c, cl);
			bytes += cl + 1;
		}
	}
	if (!k)
		return NULL;
	char **out = malloc(sizeof(char *) * (size_t)k + bytes);
	char *s = (char *)(out + k);
	for (int j = 0; j < k; j++) {
		out[j] = s;
		strcpy(s, names[j]);
		s += strlen(names[j]) + 1;
		free(names[j]);
	}
	*n = (unsigned)k;
	return out;
}

static const struct vbd3_xs fake_xs = {.ctx = NULL, .directory = x_dir, .read = x_read};

static void backend(int domid, int devid, const char *pid, const char *dev, const char *vdi)
{
	char k[200];
	snprintf(k, sizeof(k), BE "/%d/%d/kthread-pid", domid, devid);
	if (pid)
		xs_put(k, pid);
	snprintf(k, sizeof(k), BE "/%d/%d/dev", domid, devid);
	xs_put(k, dev);
	snprintf(k, sizeof(k), BE "/%d/%d/sm-data/vdi-uuid", domid, devid);
	if (vdi)
		xs_put(k, vdi);
}

static void phy_link(const char *sr, const char *vdi)
{
	char rel[200];
	snprintf(rel, sizeof(rel), "phy/%s/%s", sr, vdi);
	mkdirs(rel); /* tapdisk's are links; only the names count */
}

static void snapshot(struct src_snapshot *s, double t)
{
	src_snapshot_clear(s);
	s->t = t;
	struct src_domain *d = src_snapshot_add_domain(s);
	d->domid = 0;
	strcpy(d->uuid, "00000000-0000-4000-8000-000000000000");
	d = src_snapshot_add_domain(s);
	d->domid = 1;
	strcpy(d->uuid, VM_A);
	/* libxenstat's view of the same disk: replaced by tapdisk3's */
	struct src_vbd *b = src_domain_add_vbd(d);
	b->devid = 51712;
	strcpy(b->name, "xvda");
	b->rd_reqs = 999999;
	d = src_snapshot_add_domain(s);
	d->domid = 2;
	strcpy(d->uuid, VM_B);
}

static const struct src_vbd *vbd_of(const struct src_snapshot *s, uint32_t domid, uint32_t devid)
{
	const struct src_domain *d = src_snapshot_domain(s, domid);
	for (uint32_t i = 0; d && i < d->nvbd; i++)
		if (d->vbd[i].devid == devid)
			return &d->vbd[i];
	return NULL;
}

static double val(const struct src_samples *sm, const char *uuid, const char *name)
{
	const struct src_ds *ds = src_owner_ds(src_samples_owner(sm, uuid), name);
	if (!ds)
		return -1e300; /* absent */
	if (ds->v.type == VAL_INT64)
		return (double)ds->v.i;
	if (ds->v.type == VAL_FLOAT)
		return ds->v.f;
	return NAN;
}

static void vbd3_layout_and_figures(void **state)
{
	char phy[300], note[256];
	snprintf(phy, sizeof(phy), "%s/phy", root);
	xs_clear();
	/* dom1: xvda (VDI1 on SR A) and xvdb (VDI2 on SR B, low memory), one
	 * tapdisk; dom2: hda (VDI3 on SR A) and hdb, whose page is short */
	backend(1, 51712, "100", "xvda", VDI1);
	backend(1, 51728, "100", "xvdb", VDI2);
	backend(2, 768, "200", "hda", VDI3);
	backend(2, 832, "200", "hdb", NULL);
	xs_put(BE "/2/notanumber/dev", "x");
	phy_link(SR_A, VDI1);
	phy_link(SR_A, VDI3);
	phy_link(SR_B, VDI2);
	struct page a0 = {1, {0, 100, 100, 8000, 50000, 10, 10, 800, 3000, 0, 0}};
	struct page b0 = {1, {0, 0, 0, 0, 0, 20, 18, 160, 4000, 0, TD3_FLAG_LOW_MEM}};
	struct page c0 = {1, {0, 40, 40, 400, 2000, 0, 0, 0, 0, 0, 0}};
	write_page(100, 1, 51712, &a0, 4096);
	write_page(100, 1, 51728, &b0, 4096);
	write_page(200, 2, 768, &c0, 4096);
	write_page(200, 2, 832, &c0, 40);

	struct vbd3_set set;
	vbd3_init(&set, shm, phy);
	struct src_snapshot s0 = {0}, s1 = {0};
	struct src_samples m0 = {0}, m1 = {0};
	snapshot(&s0, 1000.0);
	vbd3_sample(&set, &fake_xs, &s0, note, sizeof(note));
	/* the short page costs hdb its sample, with one line saying so */
	assert_non_null(strstr(note, "2/832 (hdb)"));
	assert_non_null(strstr(note, "short"));
	assert_null(vbd_of(&s0, 2, 832));
	const struct src_vbd *xa = vbd_of(&s0, 1, 51712);
	assert_non_null(xa);
	assert_int_equal(src_snapshot_domain(&s0, 1)->nvbd, 2); /* replaced, not added */
	assert_true(xa->have_ticks);
	assert_int_equal(xa->rd_reqs, 100);
	assert_string_equal(xa->name, "xvda");
	assert_string_equal(xa->sr, SR_A);
	assert_string_equal(vbd_of(&s0, 1, 51728)->sr, SR_B);
	assert_int_equal(vbd_of(&s0, 1, 51728)->inflight, 2);
	assert_string_equal(vbd_of(&s0, 2, 768)->name, "hda");
	assert_int_equal(s0.host.td3_low_mem, 1);
	src_map(NULL, &s0, &m0);

	/* a tick later: xvda read 20 requests, 80 sectors, waiting
	 * 3000 us; wrote 5, 40 sectors, 1000 us; hda read 10, 20 sectors,
	 * 500 us; no xenstore access (no walk), one read per page */
	XS.calls = 0;
	struct page a1 = {1, {0, 121, 120, 8080, 53000, 15, 15, 840, 4000, 0, 0}};
	struct page c1 = {1, {0, 50, 50, 420, 2500, 0, 0, 0, 0, 0, 0}};
	write_page(100, 1, 51712, &a1, 4096);
	write_page(200, 2, 768, &c1, 4096);
	snapshot(&s1, 1006.0); /* a late tick: 6 s */
	vbd3_sample(&set, &fake_xs, &s1, note, sizeof(note));
	assert_int_equal(XS.calls, 0);
	assert_string_equal(note, ""); /* nothing changed state */
	src_map(&s0, &s1, &m1);
	assert_true(val(&m1, VM_A, "vbd_xvda_read") == 8080.0 * 512);
	assert_true(val(&m1, VM_A, "vbd_xvda_iops_read") == 20);
	assert_true(val(&m1, VM_A, "vbd_xvda_iops_write") == 5);
	assert_true(val(&m1, VM_A, "vbd_xvda_iops_total") == 25);
	assert_true(val(&m1, VM_A, "vbd_xvda_read_latency") == 3000 / 20);
	assert_true(val(&m1, VM_A, "vbd_xvda_write_latency") == 1000 / 5);
	assert_true(fabs(val(&m1, VM_A, "vbd_xvda_io_throughput_read") - 80 * 512 / 1048576.0) <
	            1e-12);
	assert_true(fabs(val(&m1, VM_A, "vbd_xvda_iowait") - 0.004) < 1e-12);
	assert_true(fabs(val(&m1, VM_A, "vbd_xvda_latency") - 4000.0 / 25) < 1e-9);
	/* the wait over the interval's 6 s, not over 5 (C4) */
	assert_true(fabs(val(&m1, VM_A, "vbd_xvda_avgqu_sz") - 0.004 / 6) < 1e-12);
	assert_true(val(&m1, VM_A, "vbd_xvda_inflight") == 1);
	/* SR A = xvda + hda: sums, and the larger latency */
	assert_true(val(&m1, NULL, "iops_read_5a5a5a5a") == 30);
	assert_true(val(&m1, NULL, "read_latency_5a5a5a5a") == 150 + 50);
	assert_true(fabs(val(&m1, NULL, "io_throughput_read_5a5a5a5a") - 100 * 512 / 1048576.0) <
	            1e-12);
	assert_true(fabs(val(&m1, NULL, "latency_5a5a5a5a") - 160.0) < 1e-9);
	assert_true(fabs(val(&m1, NULL, "iowait_5a5a5a5a") - 0.0045) < 1e-12);
	assert_true(val(&m1, NULL, "inflight_5a5a5a5a") == 1);
	/* no previous sample, no per-interval figure (differences.md C1) */
	assert_true(isnan(val(&m0, VM_A, "vbd_xvda_iops_read")));
	assert_true(isnan(val(&m0, VM_A, "vbd_xvda_read_latency")));
	assert_true(val(&m0, VM_A, "vbd_xvda_read") == 8000.0 * 512);
	/* SR byte counters: the increments since the SR appeared (C2) */
	assert_true(val(&m0, NULL, "read_5a5a5a5a") == 0);
	assert_true(val(&m1, NULL, "read_5a5a5a5a") == 100.0 * 512);
	assert_true(val(&m1, NULL, "write_5a5a5a5a") == 40.0 * 512);
	/* SR B: xvdb alone, unchanged */
	assert_true(val(&m1, NULL, "iops_write_6b6b6b6b") == 0);
	assert_true(val(&m1, NULL, "inflight_6b6b6b6b") == 2);
	assert_true(val(&m1, NULL, "Tapdisks_in_low_memory_mode") == 1);
	/* no VDI link for the short hdb, no SR of its own */
	assert_true(val(&m1, NULL, "iops_read_00000000") == -1e300);

	/* hdb's page becomes good: one line; then xvdb's goes away (tapdisk
	 * gone): one line, and xenstore is walked again two samples on */
	write_page(200, 2, 832, &c0, 4096);
	struct src_snapshot s2 = {0};
	snapshot(&s2, 1010.0);
	vbd3_sample(&set, &fake_xs, &s2, note, sizeof(note));
	assert_non_null(strstr(note, "2/832 (hdb): its page is read again"));
	assert_non_null(vbd_of(&s2, 2, 832));
	char path[512];
	page_path(100, 1, 51728, path, sizeof(path));
	unlink(path);
	/* a page held open keeps its figures while the file is gone: the
	 * walk that follows the tapdisk's departure drops it */
	xs_clear();
	backend(1, 51712, "100", "xvda", VDI1);
	backend(2, 768, "200", "hda", VDI3);
	backend(2, 832, "200", "hdb", NULL);
	XS.calls = 0;
	for (int i = 0; i < 12; i++) {
		snapshot(&s2, 1015.0 + 5 * i);
		vbd3_sample(&set, &fake_xs, &s2, note, sizeof(note));
	}
	assert_true(XS.calls > 0); /* walked within 12 samples */
	assert_null(vbd_of(&s2, 1, 51728));
	assert_int_equal(s2.host.td3_low_mem, 0);

	/* a tapdisk starting (its directory appears) is walked at once */
	XS.calls = 0;
	snapshot(&s2, 1090.0);
	vbd3_sample(&set, &fake_xs, &s2, note, sizeof(note));
	assert_int_equal(XS.calls, 0);
	mkdirs("shm/td3-300");
	snapshot(&s2, 1095.0);
	vbd3_sample(&set, &fake_xs, &s2, note, sizeof(note));
	assert_true(XS.calls > 0);

	/* a new domain is walked at once */
	XS.calls = 0;
	snapshot(&s2, 1100.0);
	struct src_domain *d3 = src_snapshot_add_domain(&s2);
	d3->domid = 3;
	strcpy(d3->uuid, "33333333-cccc-4ccc-8ccc-000000000003");
	vbd3_sample(&set, &fake_xs, &s2, note, sizeof(note));
	assert_true(XS.calls > 0);

	src_samples_clear(&m0);
	src_samples_clear(&m1);
	src_snapshot_clear(&s0);
	src_snapshot_clear(&s1);
	src_snapshot_clear(&s2);
	vbd3_free(&set);
	xs_clear();
}

static void vbd3_bounds(void **state)
{
	char note[256], k[200];
	xs_clear();
	/* 300 backend entries for one domain: 256 looked at; names that are
	 * not device names fall back to the devid's */
	for (int i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), BE "/1/%d/dev", 51712 + 16 * i);
		xs_put(k, i == 0 ? "xvd\x1b[31m" : "xvdz");
	}
	struct vbd3_set set;
	vbd3_init(&set, shm, NULL);
	struct src_snapshot s = {0};
	snapshot(&s, 1.0);
	XS.calls = 0;
	vbd3_sample(&set, &fake_xs, &s, note, sizeof(note));
	assert_int_equal(set.n, VBD3_MAX_PER_DOMAIN);
	assert_true(XS.calls <= 2 + 3 * VBD3_MAX_PER_DOMAIN + 3);
	assert_string_equal(set.v[0].name, "xvda"); /* 51712 */
	/* none has a tapdisk pid: none has a sample, and one line says so */
	assert_int_equal(src_snapshot_domain(&s, 1)->nvbd, 1); /* libxenstat's only */
	assert_non_null(strstr(note, "more VBDs changed state"));
	src_snapshot_clear(&s);
	vbd3_free(&set);
	xs_clear();
	/* no xenstore: nothing added, no tapdisk figure */
	vbd3_init(&set, shm, NULL);
	snapshot(&s, 1.0);
	vbd3_sample(&set, NULL, &s, note, sizeof(note));
	assert_false(s.host.have_td3);
	src_snapshot_clear(&s);
	vbd3_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_fields),
	    cmocka_unit_test(parse_refusals),
	    cmocka_unit_test_setup_teardown(page_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(vbd3_layout_and_figures, setup, teardown),
	    cmocka_unit_test_setup_teardown(vbd3_bounds, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
