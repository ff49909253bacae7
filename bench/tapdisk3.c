/*
 * bench_tapdisk3: the disk part of a cycle on an XCP-ng host, from
 * tapdisk3's pages (what the Xen source does now: source/vbd3.c, one pread
 * per VBD, xenstore walked every 12 cycles) against the way libxenstat
 * reads blkback's counters, which it replaces (xenstat_linux.c: for each
 * backend device in /sys/bus/xen-backend/devices, five statistics files
 * opened, read and closed: oo_req, rd_req, wr_req, rd_sect, wr_sect), in
 * the same run, over files in the same tmpfs.
 *
 *   bench_tapdisk3 [vms=1024] [vbds per vm=2] [cycles=240]
 *
 * Builds both trees in a directory under /dev/shm (removed at the end):
 * td3-<pid>/vbd-<domid>-<devid> pages and <phy>/<sr>/<vdi> links, and a
 * devices/vbd-<domid>-<devid>/statistics/ tree.  xenstore is answered in
 * the process (its own time is not in the figure; the walk's calls are
 * counted).  Prints the CPU time per cycle of each path, their ratio
 * (libxenstat / tapdisk3: above 1, the pages are cheaper) and the system
 * calls per cycle.  Not a test: nothing here is judged.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock/clock.h"
#include "source/source.h"
#include "source/vbd3.h"

static char root[128];
static int nvm = 1024, nper = 2;

static void mkdir_p(const char *p)
{
	char b[512];
	snprintf(b, sizeof(b), "%s", p);
	for (char *s = b + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(b, 0755);
			*s = '/';
		}
	mkdir(b, 0755);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static int devid_of(int k)
{
	return 51712 + 16 * k;
}

static int pid_of(int vm, int k)
{
	return 100000 + vm * nper + k;
}

/* ---- xenstore, answered in the process ---- */

static unsigned xs_calls;

static char **x_dir(void *ctx, const char *path, unsigned int *n)
{
	int d;
	xs_calls++;
	if (sscanf(path, "/local/domain/0/backend/vbd3/%d", &d) != 1 || d < 1 || d > nvm)
		return NULL;
	char **out = malloc(sizeof(char *) * (size_t)nper + (size_t)nper * 8);
	char *s = (char *)(out + nper);
	for (int k = 0; k < nper; k++) {
		out[k] = s;
		s += sprintf(s, "%d", devid_of(k)) + 1;
	}
	*n = (unsigned)nper;
	return out;
}

static char *x_read(void *ctx, const char *path)
{
	int d, devid;
	char key[64], *v = malloc(64);
	xs_calls++;
	if (sscanf(path, "/local/domain/0/backend/vbd3/%d/%d/%63s", &d, &devid, key) != 3) {
		free(v);
		return NULL;
	}
	int k = (devid - 51712) / 16;
	if (!strcmp(key, "kthread-pid"))
		snprintf(v, 64, "%d", pid_of(d, k));
	else if (!strcmp(key, "dev"))
		snprintf(v, 64, "xvd%c", 'a' + k);
	else
		snprintf(v, 64, "%08x-0000-4000-8000-%012x", d, k);
	return v;
}

/* ---- the trees ---- */

static void build(void)
{
	unsigned char page[4096] = {1};
	char p[512];
	for (int d = 1; d <= nvm; d++)
		for (int k = 0; k < nper; k++) {
			snprintf(p, sizeof(p), "%s/shm/td3-%d", root, pid_of(d, k));
			mkdir_p(p);
			snprintf(p, sizeof(p), "%s/shm/td3-%d/vbd-%d-%d", root, pid_of(d, k), d,
			         devid_of(k));
			write_file(p, page, sizeof(page));
			snprintf(p, sizeof(p),
			         "%s/phy/%08x-0000-4000-8000-%012x/%08x-0000-4000-8000-%012x", root,
			         k, 0, d, k);
			mkdir_p(p);
			static const char *const st[] = {"oo_req", "rd_req", "wr_req", "rd_sect",
			                                 "wr_sect"};
			for (int f = 0; f < 5; f++) {
				snprintf(p, sizeof(p), "%s/devices/vbd-%d-%d/statistics", root, d,
				         devid_of(k));
				mkdir_p(p);
				snprintf(p + strlen(p), sizeof(p) - strlen(p), "/%s", st[f]);
				write_file(p, "123456789\n", 10);
			}
		}
}

/* libxenstat's way: every device directory, five files each */
static unsigned long long sysfs_cycle(unsigned *calls)
{
	char dir[256], p[1024], buf[256];
	unsigned long long sum = 0;
	snprintf(dir, sizeof(dir), "%s/devices", root);
	DIR *d = opendir(dir);
	(*calls)++;
	struct dirent *e;
	static const char *const st[] = {"oo_req", "rd_req", "wr_req", "rd_sect", "wr_sect"};
	while ((e = readdir(d))) {
		int dom, dev;
		if (sscanf(e->d_name, "vbd-%d-%d", &dom, &dev) != 2)
			continue;
		for (int f = 0; f < 5; f++) {
			snprintf(p, sizeof(p), "%s/%s/statistics/%s", dir, e->d_name, st[f]);
			int fd = open(p, O_RDONLY);
			ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
			if (fd >= 0)
				close(fd);
			*calls += 3;
			if (n > 0) {
				buf[n] = '\0';
				sum += strtoull(buf, NULL, 10);
			}
		}
	}
	closedir(d);
	return sum;
}

static void snapshot(struct src_snapshot *s)
{
	src_snapshot_clear(s);
	for (int d = 0; d <= nvm; d++)
		src_snapshot_add_domain(s)->domid = (uint32_t)d;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		nvm = atoi(argv[1]);
	if (argc > 2)
		nper = atoi(argv[2]);
	int cycles = argc > 3 ? atoi(argv[3]) : 240;
	if (nvm < 1 || nper < 1 || nper > 16 || cycles < 12) {
		fprintf(stderr,
		        "usage: bench_tapdisk3 [vms] [vbds per vm (1-16)] [cycles >= 12]\n");
		return 64;
	}
	snprintf(root, sizeof(root), "/dev/shm/rrdd-bench-td3-XXXXXX");
	if (!mkdtemp(root)) {
		perror(root);
		return 1;
	}
	build();
	char shm[256], phy[256], note[256];
	snprintf(shm, sizeof(shm), "%s/shm", root);
	snprintf(phy, sizeof(phy), "%s/phy", root);
	struct vbd3_set set;
	vbd3_init(&set, shm, phy);
	struct vbd3_xs xs = {.ctx = NULL, .directory = x_dir, .read = x_read};
	struct src_snapshot snap = {0};

	/* a first sample opens the pages (not in the figure: once per VBD) */
	snapshot(&snap);
	vbd3_sample(&set, &xs, &snap, note, sizeof(note));
	unsigned nvbd = 0;
	for (uint32_t i = 0; i < snap.ndom; i++)
		nvbd += snap.dom[i].nvbd;

	unsigned long long td3_calls = 0, sys_calls = 0;
	unsigned xs0 = xs_calls;
	double snap_cpu = 0, td3_cpu = 0, sys_cpu = 0;
	for (int c = 0; c < cycles; c++) {
		double t0 = clk_thread_cpu();
		snapshot(&snap); /* what every source does each cycle */
		double t1 = clk_thread_cpu();
		vbd3_sample(&set, &xs, &snap, note, sizeof(note));
		double t2 = clk_thread_cpu();
		unsigned calls = 0;
		sysfs_cycle(&calls);
		double t3 = clk_thread_cpu();
		snap_cpu += t1 - t0;
		td3_cpu += t2 - t1;
		sys_cpu += t3 - t2;
		td3_calls += vbd3_syscalls(&set);
		sys_calls += calls;
	}
	printf("%d VMs x %d VBDs = %u VBDs read per cycle, %d cycles (xenstore walked every 12)\n",
	       nvm, nper, nvbd, cycles);
	printf("tapdisk3 pages:        %8.3f ms CPU/cycle, %7.1f system calls/cycle (of which %.0f "
	       "xenstore requests, averaged)\n",
	       td3_cpu / cycles * 1e3, (double)td3_calls / cycles,
	       (double)(xs_calls - xs0) / cycles);
	printf("libxenstat's sysfs way: %8.3f ms CPU/cycle, %7.1f system calls/cycle\n",
	       sys_cpu / cycles * 1e3, (double)sys_calls / cycles);
	printf("ratio (libxenstat / tapdisk3): %.2fx\n", td3_cpu > 0 ? sys_cpu / td3_cpu : 0);
	printf("(snapshot building, common to both: %.3f ms/cycle)\n", snap_cpu / cycles * 1e3);
	vbd3_free(&set);
	src_snapshot_clear(&snap);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : 1;
}
