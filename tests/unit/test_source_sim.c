/*
 * The simulated hypervisor (rrdd/source/source_sim.c, sim_scenario.c):
 * determinism for a seed, independence from how time is chopped, a VM
 * burning exactly 25% of one vCPU, workloads checked against the scenario's
 * own formulas (integrated here numerically, not with the sim's code), pCPU
 * idle consistent with the load, and every lifecycle event visible in
 * snapshots (tests/data/source/lifecycle.scn).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "source/source.h"
#include "source/source_sim.h"
#include "source/catalogue.h"

#define EPOCH 1700000000.0

static char scenario_path[512];

static struct src *open_scenario(void)
{
	struct src_config cfg = {.scenario_path = scenario_path};
	struct src *s = NULL;
	int rc = src_open(&src_sim_ops, &cfg, &s);
	if (rc < 0)
		fail_msg("open %s: %s", scenario_path, src_sim_last_error());
	return s;
}

static struct src *open_generated(uint32_t n, uint64_t seed)
{
	struct src_config cfg = {.sim_domains = n, .sim_seed = seed};
	struct src *s = NULL;
	assert_int_equal(src_open(&src_sim_ops, &cfg, &s), 0);
	return s;
}

static const struct src_domain *dom(const struct src_snapshot *snap, struct src *s,
                                    const char *name)
{
	return src_snapshot_by_uuid(snap, src_sim_uuid(s, name));
}

/* Compare two snapshots field by field; 1 if equal. */
static int snap_equal(const struct src_snapshot *a, const struct src_snapshot *b)
{
	if (a->t != b->t || a->ndom != b->ndom || a->host.nr_cpus != b->host.nr_cpus ||
	    a->host.nnet != b->host.nnet || a->host.free_kib != b->host.free_kib)
		return 0;
	if (memcmp(a->host.idle_ns, b->host.idle_ns, a->host.nr_cpus * sizeof(uint64_t)) ||
	    memcmp(a->host.net, b->host.net, a->host.nnet * sizeof(*a->host.net)))
		return 0;
	for (uint32_t i = 0; i < a->ndom; i++) {
		const struct src_domain *x = &a->dom[i], *y = &b->dom[i];
		if (x->domid != y->domid || strcmp(x->uuid, y->uuid) || x->flags != y->flags ||
		    x->cpu_time_ns != y->cpu_time_ns || x->nvcpu != y->nvcpu ||
		    x->nvif != y->nvif || x->nvbd != y->nvbd)
			return 0;
		if ((x->nvcpu && memcmp(x->vcpu, y->vcpu, x->nvcpu * sizeof(*x->vcpu))) ||
		    (x->nvif && memcmp(x->vif, y->vif, x->nvif * sizeof(*x->vif))) ||
		    (x->nvbd && memcmp(x->vbd, y->vbd, x->nvbd * sizeof(*x->vbd))))
			return 0;
	}
	return 1;
}

static void test_determinism(void **state)
{
	struct src *a = open_generated(6, 42), *b = open_generated(6, 42),
	           *c = open_generated(6, 43);
	struct src_snapshot sa = {0}, sb = {0}, sc = {0};
	int differs = 0;
	for (int k = 0; k < 200; k++) {
		double t = EPOCH + 5.0 * k;
		assert_int_equal(src_sample(a, t, &sa), 0);
		assert_int_equal(src_sample(b, t, &sb), 0);
		assert_int_equal(src_sample(c, t, &sc), 0);
		assert_true(snap_equal(&sa, &sb));
		differs |= !snap_equal(&sa, &sc);
	}
	assert_true(differs);         /* another seed, another world */
	assert_int_equal(sa.ndom, 7); /* dom0 + 6 */
	/* counters moved */
	assert_true(sa.dom[1].cpu_time_ns > 0);
	assert_true(sa.dom[1].vbd[0].rd_sectors > 0);
	/* time may not go backwards */
	assert_int_equal(src_sample(a, EPOCH, &sa), -EINVAL);
	src_snapshot_clear(&sa);
	src_snapshot_clear(&sb);
	src_snapshot_clear(&sc);
	src_close(a);
	src_close(b);
	src_close(c);
}

/* Sampling every second or every 5 s gives the same counters at the common
 * times: integration is exact, not stepped.  (Up to 500 s: "vanish" at 502
 * is by definition tied to the next sample.) */
static void test_chopping(void **state)
{
	struct src *a = open_scenario(), *b = open_scenario();
	struct src_snapshot sa = {0}, sb = {0};
	for (int k = 0; k <= 500; k++) {
		double t = EPOCH + k;
		assert_int_equal(src_sample(b, t, &sb), 0);
		if (k % 5)
			continue;
		assert_int_equal(src_sample(a, t, &sa), 0);
		assert_int_equal(sa.ndom, sb.ndom);
		for (uint32_t i = 0; i < sa.ndom; i++) {
			if (sa.dom[i].flags & SRC_DOM_FAILED)
				continue;
			assert_string_equal(sa.dom[i].uuid, sb.dom[i].uuid);
			for (uint32_t v = 0; v < sa.dom[i].nvcpu; v++) {
				int64_t d = (int64_t)(sa.dom[i].vcpu[v].cpu_time_ns -
				                      sb.dom[i].vcpu[v].cpu_time_ns);
				assert_true(llabs(d) <= 2);
			}
		}
		for (uint32_t c = 0; c < sa.host.nr_cpus; c++) {
			int64_t d = (int64_t)(sa.host.idle_ns[c] - sb.host.idle_ns[c]);
			assert_true(llabs(d) <= 2);
		}
	}
	src_snapshot_clear(&sa);
	src_snapshot_clear(&sb);
	src_close(a);
	src_close(b);
}

static void test_quarter_vcpu(void **state)
{
	struct src *s = open_scenario();
	struct src_snapshot prev = {0}, cur = {0};
	struct src_samples p = {0}, c = {0};
	assert_int_equal(src_sample(s, EPOCH + 10, &prev), 0);
	assert_int_equal(src_sample(s, EPOCH + 15, &cur), 0);
	const struct src_domain *d0 = dom(&prev, s, "quarter"), *d1 = dom(&cur, s, "quarter");
	assert_non_null(d0);
	assert_non_null(d1);
	/* 25% of 5 s is 1.25 s of CPU on vCPU 0, none on vCPU 1 */
	assert_int_equal(d1->vcpu[0].cpu_time_ns - d0->vcpu[0].cpu_time_ns, 1250000000ull);
	assert_int_equal(d1->vcpu[1].cpu_time_ns - d0->vcpu[1].cpu_time_ns, 0);
	assert_int_equal(d1->vcpu[0].cpu_time_ns, 3750000000ull); /* 15 s * 0.25 */
	assert_int_equal(d1->nvcpu, 3);
	assert_int_equal(d1->nr_online_vcpus, 2);
	assert_false(d1->vcpu[2].online);
	/* the known truth agrees */
	double f;
	assert_int_equal(src_sim_truth_vcpu(s, "quarter", 0, EPOCH + 10, EPOCH + 15, &f), 0);
	assert_float_equal(f, 0.25, 1e-12);
	assert_int_equal(src_sim_truth_vcpu(s, "quarter", 1, EPOCH + 10, EPOCH + 15, &f), 0);
	assert_float_equal(f, 0, 0);
	assert_int_equal(src_sim_truth_vcpu(s, "nosuch", 0, EPOCH, EPOCH + 5, &f), -ENOENT);
	/* and so do the DERIVE samples the daemon will get: d(cpu0)/dt */
	src_map(NULL, &prev, &p);
	src_map(&prev, &cur, &c);
	const char *u = src_sim_uuid(s, "quarter");
	const struct src_ds *a = src_owner_ds(src_samples_owner(&p, u), "cpu0");
	const struct src_ds *b = src_owner_ds(src_samples_owner(&c, u), "cpu0");
	assert_non_null(a);
	assert_non_null(b);
	assert_float_equal((b->v.f - a->v.f) / (c.t - p.t), 0.25, 1e-12);
	/* cpu_usage: domain time over online vCPUs = 0.25 / 2 */
	a = src_owner_ds(src_samples_owner(&p, u), "cpu_usage");
	b = src_owner_ds(src_samples_owner(&c, u), "cpu_usage");
	assert_float_equal((b->v.f - a->v.f) / 5, 0.125, 1e-12);
	src_samples_clear(&p);
	src_samples_clear(&c);
	src_snapshot_clear(&prev);
	src_snapshot_clear(&cur);
	src_close(s);
}

/* The sine workload of "web" (0.5 + 0.3 sin(2 pi s / 600)), integrated here
 * by Simpson's rule from the scenario's formula. */
static double web_mean(double s0, double s1)
{
	int n = 1000;
	double h = (s1 - s0) / n, sum = 0;
	for (int i = 0; i <= n; i++) {
		double s = s0 + i * h;
		double y = 0.5 + 0.3 * sin(2 * M_PI * s / 600);
		sum += y * (i == 0 || i == n ? 1 : (i % 2 ? 4 : 2));
	}
	return sum * h / 3 / (s1 - s0);
}

static void test_workloads_and_host(void **state)
{
	struct src *s = open_scenario();
	struct src_snapshot a = {0}, b = {0};
	/* web runs from 0 to 162 without events: check several windows */
	for (double t = 20; t < 150; t += 35) {
		assert_int_equal(src_sample(s, EPOCH + t, &a), 0);
		assert_int_equal(src_sample(s, EPOCH + t + 5, &b), 0);
		const struct src_domain *x = dom(&a, s, "web"), *y = dom(&b, s, "web");
		double got = (double)(y->vcpu[0].cpu_time_ns - x->vcpu[0].cpu_time_ns) / 5e9;
		assert_float_equal(got, web_mean(t, t + 5), 1e-9);
		double truth;
		src_sim_truth_vcpu(s, "web", 0, EPOCH + t, EPOCH + t + 5, &truth);
		assert_float_equal(truth, web_mean(t, t + 5), 1e-9);

		/* pCPU idle: cpus * dt minus every vCPU's busy time */
		uint64_t busy = 0, idle = 0;
		for (uint32_t i = 0; i < b.ndom; i++) {
			const struct src_domain *q = &b.dom[i];
			const struct src_domain *p = src_snapshot_domain(&a, q->domid);
			for (uint32_t v = 0; p && v < q->nvcpu; v++)
				busy += q->vcpu[v].cpu_time_ns - p->vcpu[v].cpu_time_ns;
		}
		for (uint32_t c = 0; c < b.host.nr_cpus; c++) {
			assert_true(b.host.idle_ns[c] >= a.host.idle_ns[c]);
			idle += b.host.idle_ns[c] - a.host.idle_ns[c];
		}
		/* "helper" (deadbeef, skipped) burns nothing, so this is exact
		 * up to rounding */
		assert_true(llabs((int64_t)(idle + busy) - (int64_t)(4 * 5000000000ull)) <= 8);
		/* host NIC and VIF traffic as the scenario says */
		const struct src_netdev *n0 = &a.host.net[0], *n1 = &b.host.net[0];
		assert_string_equal(n1->name, "eth0");
		assert_int_equal(n1->rx_bytes - n0->rx_bytes, 5000000);
		assert_int_equal(n1->tx_bytes - n0->tx_bytes, 1000000);
		x = dom(&a, s, "quarter");
		y = dom(&b, s, "quarter");
		/* backend counters: rx is what the guest sent (tx=3000 B/s) */
		if (t + 5 < 132 || t > 132) {
			assert_int_equal((uint32_t)(y->vif[0].rx_bytes - x->vif[0].rx_bytes),
			                 15000);
			assert_int_equal((uint32_t)(y->vif[0].tx_bytes - x->vif[0].tx_bytes), 5000);
		}
		assert_int_equal(y->vbd[0].rd_sectors - x->vbd[0].rd_sectors, 8192 * 5 / 512);
		assert_int_equal(y->vbd[0].rd_reqs - x->vbd[0].rd_reqs, 10);
		assert_int_equal(y->vbd[0].rd_ticks_us - x->vbd[0].rd_ticks_us, 2500);
		assert_int_equal(y->vbd[0].inflight, 2);
		assert_int_equal(y->memory_bytes, 1024ull << 20);
	}
	/* the helper domain (deadbeef handle) never shows */
	assert_int_equal(src_sample(s, EPOCH + 160, &a), 0);
	for (uint32_t i = 0; i < a.ndom; i++)
		assert_true(strncmp(a.dom[i].raw_uuid, "deadbeef", 8) != 0);
	/* dom0 is domid 0 and carries loadavg */
	assert_int_equal(a.dom[0].domid, 0);
	assert_float_equal(a.host.loadavg, 0.1, 1e-12);
	assert_int_equal(a.host.total_kib, 16384 * 1024);
	src_snapshot_clear(&a);
	src_snapshot_clear(&b);
	src_close(s);
}

static void test_lifecycle(void **state)
{
	struct src *s = open_scenario();
	static struct src_snapshot t[121]; /* t[k] at EPOCH + 5k, k <= 120 */
	for (int k = 0; k <= 120; k++)
		assert_int_equal(src_sample(s, EPOCH + 5.0 * k, &t[k]), 0);
	const char *uq = src_sim_uuid(s, "quarter"), *uw = src_sim_uuid(s, "web"),
	           *ub = src_sim_uuid(s, "batch");
	const struct src_domain *d, *e;

	/* start at 102, shutdown at 152 */
	assert_null(src_snapshot_by_uuid(&t[20], ub));
	d = src_snapshot_by_uuid(&t[21], ub);
	assert_non_null(d);
	assert_true(d->domid >= 1);
	assert_non_null(src_snapshot_by_uuid(&t[30], ub));
	assert_null(src_snapshot_by_uuid(&t[31], ub));

	/* vCPU hot-plug at 122: vCPU 2 comes online and starts counting */
	d = src_snapshot_by_uuid(&t[24], uq);
	e = src_snapshot_by_uuid(&t[25], uq);
	assert_false(d->vcpu[2].online);
	assert_int_equal(d->vcpu[2].cpu_time_ns, 0);
	assert_true(e->vcpu[2].online);
	assert_int_equal(e->nr_online_vcpus, 3);
	assert_int_equal(e->vcpu[2].cpu_time_ns, 1500000000ull); /* 3 s at 0.5 */

	/* a 32-bit byte counter wraps at 132: it goes down, while its
	 * differences modulo 2^32 stay the traffic */
	d = src_snapshot_by_uuid(&t[26], uq);
	e = src_snapshot_by_uuid(&t[27], uq);
	assert_true(e->vif[0].rx_bytes < d->vif[0].rx_bytes);
	assert_true(d->vif[0].rx_bytes > 0xffff0000ull);
	assert_int_equal((e->vif[0].rx_bytes - d->vif[0].rx_bytes) & 0xffffffffull, 15000);

	/* the guest stops reporting free memory at 142 */
	d = src_snapshot_by_uuid(&t[28], uq);
	e = src_snapshot_by_uuid(&t[29], uq);
	assert_int_equal(d->free_kib, 512 * 1024);
	assert_int_equal(e->free_kib, SRC_NO_VALUE);

	/* pause 162 .. unpause 172: paused flag, no CPU progress */
	d = src_snapshot_by_uuid(&t[33], uw);
	e = src_snapshot_by_uuid(&t[34], uw);
	assert_true(d->flags & SRC_DOM_PAUSED);
	assert_int_equal(e->vcpu[0].cpu_time_ns, d->vcpu[0].cpu_time_ns);
	assert_false(src_snapshot_by_uuid(&t[35], uw)->flags & SRC_DOM_PAUSED);

	/* reboot at 202: same uuid, new domid, counters from 0 */
	d = src_snapshot_by_uuid(&t[40], uw);
	e = src_snapshot_by_uuid(&t[41], uw);
	assert_non_null(e);
	assert_int_not_equal(d->domid, e->domid);
	assert_true(e->cpu_time_ns < d->cpu_time_ns);
	assert_true(e->cpu_time_ns <= 3000000000ull); /* at most 3 s since boot */

	/* migrate away at 302 (20 s): a temporary handle ending 000000000000
	 * still maps to the VM's uuid; then the domain is gone */
	d = src_snapshot_by_uuid(&t[60], uq);
	assert_string_equal(d->raw_uuid, uq);
	e = src_snapshot_by_uuid(&t[61], uq);
	assert_non_null(e);
	assert_string_equal(e->raw_uuid + 24, "000000000000");
	assert_int_equal(e->domid, d->domid);
	assert_true(e->cpu_time_ns > d->cpu_time_ns);
	assert_non_null(src_snapshot_by_uuid(&t[64], uq));
	assert_null(src_snapshot_by_uuid(&t[65], uq));

	/* migrate in at 402 (10 s): paused temporary ...000000000001 mapped to
	 * the uuid, then the real handle, running, counters from 0 */
	assert_null(src_snapshot_by_uuid(&t[80], uq));
	d = src_snapshot_by_uuid(&t[81], uq);
	assert_non_null(d);
	assert_string_equal(d->raw_uuid + 24, "000000000001");
	assert_true(d->flags & SRC_DOM_PAUSED);
	e = src_snapshot_by_uuid(&t[83], uq);
	assert_string_equal(e->raw_uuid, uq);
	assert_false(e->flags & SRC_DOM_PAUSED);
	assert_int_equal(e->domid, d->domid);
	assert_true(e->vcpu[0].cpu_time_ns < 2000000000ull);

	/* vanish at 502: the next sample loses it (flagged), then it is gone */
	d = src_snapshot_by_uuid(&t[101], uw);
	assert_non_null(d);
	assert_true(d->flags & SRC_DOM_FAILED);
	assert_int_equal(d->err, -ESRCH);
	assert_null(src_snapshot_by_uuid(&t[102], uw));
	assert_non_null(src_snapshot_by_uuid(&t[101], uq)); /* others unharmed */

	for (int k = 0; k <= 120; k++)
		src_snapshot_clear(&t[k]);
	src_close(s);
}

static void expect_error(const char *text, const char *fragment)
{
	struct src_config cfg = {.scenario_text = text};
	struct src *s = NULL;
	assert_int_equal(src_open(&src_sim_ops, &cfg, &s), -EINVAL);
	assert_null(s);
	if (!strstr(src_sim_last_error(), fragment))
		fail_msg("error '%s' lacks '%s'", src_sim_last_error(), fragment);
}

#define VM1 "vm a uuid=11111111-2222-4333-8444-555555555555 vcpus=1\n"

static void test_scenario_errors(void **state)
{
	expect_error("bogus 1\n", "line 1: unknown statement");
	expect_error(VM1 "load b 0 0.5\n", "line 2: unknown vm 'b'");
	expect_error(VM1 "load a 0 1.5\n", "leaves [0, 1]");
	expect_error(VM1 "load a 1 0.5\n", "out of range");
	expect_error(VM1 "load a 0 sine:0.5:0.6:100\n", "leaves");
	expect_error(VM1 "load a 0 sine:0.5:0.1:0\n", "period");
	expect_error(VM1 "load a 0 wobbly:1\n", "bad pattern");
	expect_error("vm a vcpus=1\n", "uuid");
	expect_error(VM1 VM1, "declared twice");
	expect_error(VM1 "at -5 start a\n", "bad time");
	expect_error(VM1 "at 5 explode a\n", "unknown event");
	expect_error(VM1 "at 5 vcpus a 2\n", "max_vcpus");
	expect_error(VM1 "at 5 wrap a vif 0\n", "no vif 0");
	expect_error("host cpus=1\n" VM1 "vm b uuid=11111111-2222-4333-8444-555555555556 vcpus=2\n"
	             "load b * 0.6\n",
	             "exceeds host cpus=1");
	/* a line too long, and garbage bytes */
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_error(big, "longer than");
	expect_error("\x01\x02\xff\n", "unknown statement");
	/* a good one with comments and blank lines */
	struct src_config cfg = {.scenario_text = "# c\n\n" VM1 "load a 0 const:0.5 # half\n"};
	struct src *s = NULL;
	assert_int_equal(src_open(&src_sim_ops, &cfg, &s), 0);
	assert_non_null(src_sim_uuid(s, "a"));
	assert_null(src_sim_uuid(s, "b"));
	src_close(s);
	/* a missing file */
	cfg = (struct src_config){.scenario_path = "/nonexistent.scn"};
	assert_int_equal(src_open(&src_sim_ops, &cfg, &s), -ENOENT);
}

/* Random token soup and random bytes: every outcome is 0 or -EINVAL, never a
 * crash (run under the sanitizers in CI). */
static void test_scenario_garbage(void **state)
{
	static const char *const words[] = {"vm",
	                                    "a",
	                                    "b",
	                                    "uuid=11111111-2222-4333-8444-555555555555",
	                                    "vcpus=2",
	                                    "vcpus=999",
	                                    "max_vcpus=3",
	                                    "load",
	                                    "*",
	                                    "0",
	                                    "1",
	                                    "0.5",
	                                    "sine:0.5:0.1:60",
	                                    "bursty:1:0:0.5:1",
	                                    "vif",
	                                    "vbd",
	                                    "xvda",
	                                    "rx=1",
	                                    "tx=1",
	                                    "read=1",
	                                    "write=1",
	                                    "at",
	                                    "5",
	                                    "-1",
	                                    "start",
	                                    "wrap",
	                                    "migrate_in",
	                                    "vcpus",
	                                    "meminfo",
	                                    "off",
	                                    "host",
	                                    "cpus=1",
	                                    "nic",
	                                    "seed",
	                                    "epoch",
	                                    "=",
	                                    ":",
	                                    "1e400",
	                                    "nan",
	                                    "dom0",
	                                    "halted",
	                                    "#",
	                                    "\t"};
	uint64_t x = 12345;
	char text[4096];
	int ok = 0;
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 0;
		int lines = 1 + (int)(x % 8);
		for (int l = 0; l < lines; l++) {
			int nw = 1 + (int)((x >> 8) % 7);
			for (int w = 0; w < nw; w++) {
				x = x * 6364136223846793005ull + 1442695040888963407ull;
				const char *word =
				    words[(x >> 33) % (sizeof(words) / sizeof(words[0]))];
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s ", word);
			}
			n += (size_t)snprintf(text + n, sizeof(text) - n, "\n");
		}
		if (iter % 3 == 0) /* flip some bytes */
			for (int k = 0; k < 4 && n > 0; k++) {
				x = x * 6364136223846793005ull + 1442695040888963407ull;
				text[(x >> 33) % n] = (char)(x >> 56);
			}
		struct src_config cfg = {.scenario_text = text};
		struct src *s = NULL;
		int rc = src_open(&src_sim_ops, &cfg, &s);
		assert_true(rc == 0 || rc == -EINVAL);
		if (rc == 0) {
			struct src_snapshot snap = {0};
			ok++;
			for (int k = 0; k < 5; k++) {
				/* -EINVAL only for a time before an "epoch" line */
				rc = src_sample(s, 10.0 * k, &snap);
				assert_true(rc == 0 || (rc == -EINVAL && strstr(text, "epoch")));
			}
			src_snapshot_clear(&snap);
			src_close(s);
		}
	}
	assert_true(ok > 0); /* some soups are valid scenarios */
}

int main(void)
{
	snprintf(scenario_path, sizeof(scenario_path), "%s", __FILE__);
	char *slash = strrchr(scenario_path, '/');
	if (slash)
		*slash = '\0';
	strncat(scenario_path, "/../data/source/lifecycle.scn",
	        sizeof(scenario_path) - strlen(scenario_path) - 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_determinism),      cmocka_unit_test(test_chopping),
	    cmocka_unit_test(test_quarter_vcpu),     cmocka_unit_test(test_workloads_and_host),
	    cmocka_unit_test(test_lifecycle),        cmocka_unit_test(test_scenario_errors),
	    cmocka_unit_test(test_scenario_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
