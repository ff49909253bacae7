/*
 * Links to PIFs and VIFs (source/netmap.c) against xcp-rrdd's netdev
 * collector's rules (rrdp_netdev.ml): vif/tap names to a domain's VIF,
 * taps summed into the VIF, unknown domains left out; PIFs are networkd's
 * managed NICs (else physical links) minus VLANs; bonds (networkd's, and
 * kernel bond masters) are the sum of their members, beside them.  Also
 * networkd's state file in both JSON forms (source/networkd.c) and a real
 * netlink dump of this namespace (source/netlinks.c): lo is there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/netlinks.h"
#include "source/netmap.h"
#include "source/networkd.h"
#include "source/source.h"

static struct nll_link L(const char *name, uint32_t ifindex, uint64_t rx, uint64_t tx) {
	struct nll_link l;
	memset(&l, 0, sizeof(l));
	snprintf(l.name, sizeof(l.name), "%s", name);
	l.ifindex = ifindex;
	l.rx_bytes = rx;
	l.tx_bytes = tx;
	l.rx_packets = rx / 100;
	l.tx_packets = tx / 100;
	l.rx_errors = 1;
	return l;
}

static void
snap_with(struct src_snapshot *s, const uint32_t *domids, size_t n)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < n; i++)
		src_snapshot_add_domain(s)->domid = domids[i];
}

static const struct src_netdev *dev(const struct src_snapshot *s, const char *name)
{
	for (uint32_t i = 0; i < s->host.nnet; i++)
		if (!strcmp(s->host.net[i].name, name))
			return &s->host.net[i];
	return NULL;
}

static const struct src_vif *vif(const struct src_snapshot *s, uint32_t domid, uint32_t devid)
{
	const struct src_domain *d = src_snapshot_domain(s, domid);
	for (uint32_t i = 0; d && i < d->nvif; i++)
		if (d->vif[i].devid == devid)
			return &d->vif[i];
	return NULL;
}

static void test_vifs_and_physical_pifs(void **state)
{
	(void)state;
	struct nll_link l[] = {
	    L("lo", 1, 5, 5),         L("eth0", 2, 1000, 2000), L("eth1", 3, 10, 20),
	    L("vif3.0", 4, 300, 400), L("tap3.0", 5, 30, 40),   L("vif3.1", 6, 1, 2),
	    L("vif9.0", 7, 99, 99),   L("eth0.10", 8, 7, 7),    L("xenbr0", 9, 50, 50),
	    L("bond1", 10, 1, 1),     L("eth2", 11, 100, 200),  L("vif3.0x", 12, 1, 1),
	};
	l[1].physical = l[2].physical = l[10].physical = l[7].physical = true;
	l[7].vlan = true;
	l[9].bond = true;
	l[2].master = l[10].master = 10; /* bond1 = eth1 + eth2 */
	struct nll_links links = {.n = sizeof(l) / sizeof(l[0]), .link = l};
	struct src_snapshot s;
	uint32_t doms[] = {0, 3};
	snap_with(&s, doms, 2);
	src_netmap(&links, NULL, &s);
	/* physical NICs, the bond, nothing else */
	assert_non_null(dev(&s, "eth0"));
	assert_non_null(dev(&s, "eth1"));
	assert_non_null(dev(&s, "eth2"));
	const struct src_netdev *b = dev(&s, "bond1");
	assert_non_null(b);
	assert_int_equal(b->rx_bytes, 110);
	assert_int_equal(b->tx_bytes, 220);
	assert_int_equal(s.host.nnet, 4);
	for (uint32_t i = 0; i < s.host.nnet; i++)
		assert_true(s.host.net[i].pif);
	assert_null(dev(&s, "eth0.10"));
	assert_null(dev(&s, "lo"));
	assert_null(dev(&s, "xenbr0"));
	/* vif + tap of devid 0 summed; devid 1 apart; domain 9 unknown */
	const struct src_vif *v = vif(&s, 3, 0);
	assert_non_null(v);
	assert_int_equal(v->rx_bytes, 330);
	assert_int_equal(v->tx_bytes, 440);
	assert_int_equal(v->rx_errors, 2);
	assert_non_null(vif(&s, 3, 1));
	assert_int_equal(src_snapshot_domain(&s, 3)->nvif, 2);
	assert_int_equal(src_snapshot_domain(&s, 0)->nvif, 0);
	src_snapshot_clear(&s);
}

static void test_networkd_managed_and_bonds(void **state)
{
	(void)state;
	/* networkd's list wins over sysfs: a non-physical managed NIC counts, an
	 * unmanaged physical one does not; its bond is synthesized */
	struct nll_link l[] = {L("eth0", 2, 1000, 2000), L("eth1", 3, 10, 20), L("eth5", 4, 1, 1),
	                       L("eth0.7", 5, 3, 3)};
	l[2].physical = true;
	struct nll_links links = {.n = 4, .link = l};
	char managed[3][NLL_NAME_LEN] = {"eth0", "eth1", "eth0.7"};
	struct netmap_bond bond = {.name = "bond0", .nmember = 2, .member = {"eth0", "eth1"}};
	struct netmap_net net = {
	    .have_managed = true, .nmanaged = 3, .managed = managed, .nbonds = 1, .bonds = &bond};
	struct src_snapshot s;
	snap_with(&s, NULL, 0);
	src_netmap(&links, &net, &s);
	assert_int_equal(s.host.nnet, 3);
	assert_string_equal(s.host.net[0].name, "bond0"); /* in front, as xcp-rrdd */
	assert_int_equal(s.host.net[0].rx_bytes, 1010);
	assert_int_equal(s.host.net[0].tx_bytes, 2020);
	assert_non_null(dev(&s, "eth0"));
	assert_non_null(dev(&s, "eth1"));
	assert_null(dev(&s, "eth5"));
	assert_null(dev(&s, "eth0.7"));
	src_snapshot_clear(&s);
}

static void read_db(const char *json, struct netmap_net *net, int want)
{
	char path[] = "/tmp/rrdd-test-networkd-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	char err[256] = "";
	assert_int_equal(src_networkd_read(path, net, err, sizeof(err)), want);
	unlink(path);
}

static void test_networkd_file(void **state)
{
	(void)state;
	struct netmap_net net = {0};
	/* objects */
	read_db("{\"interface_order\":[{\"name\":\"eth0\",\"position\":0,\"present\":true},"
	        "{\"name\":\"eth9\",\"position\":1,\"present\":false}],"
	        "\"bridge_config\":{\"xenbr0\":{\"ports\":{\"bond0\":{\"interfaces\":[\"eth0\","
	        "\"eth1\"]},\"eth2\":{\"interfaces\":[\"eth2\"]}}}}}",
	        &net, 0);
	assert_true(net.have_managed);
	assert_int_equal(net.nmanaged, 1);
	assert_string_equal(net.managed[0], "eth0");
	assert_int_equal(net.nbonds, 1);
	assert_string_equal(net.bonds[0].name, "bond0");
	assert_int_equal(net.bonds[0].nmember, 2);
	assert_string_equal(net.bonds[0].member[1], "eth1");
	/* lists of pairs, no interface order (null) */
	read_db("{\"interface_order\":null,\"bridge_config\":[[\"xenbr1\",{\"ports\":[[\"bond1\","
	        "{\"interfaces\":[\"eth3\",\"eth4\",\"eth5\"]}]]}]]}",
	        &net, 0);
	assert_false(net.have_managed);
	assert_int_equal(net.nbonds, 1);
	assert_int_equal(net.bonds[0].nmember, 3);
	/* garbage: refused, empty; no file: -ENOENT */
	read_db("{\"bridge_config\": [", &net, -EINVAL);
	assert_int_equal(net.nbonds, 0);
	char err[64];
	assert_int_equal(src_networkd_read("/nonexistent/networkd.db", &net, err, sizeof(err)),
	                 -ENOENT);
	src_networkd_free(&net);
}

static void test_real_dump(void **state)
{
	(void)state;
	struct nll *n;
	char err[256];
	assert_int_equal(nll_open(&n, NULL, err, sizeof(err)), 0);
	struct nll_links links = {0};
	for (int round = 0; round < 3; round++) { /* the buffers are reused */
		assert_int_equal(nll_dump(n, &links, err, sizeof(err)), 0);
		bool lo = false;
		for (uint32_t i = 0; i < links.n; i++)
			lo |= !strcmp(links.link[i].name, "lo") && !links.link[i].physical;
		assert_true(lo);
		assert_true(nll_syscalls(n) >= 2);
	}
	nll_links_free(&links);
	nll_close(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vifs_and_physical_pifs),
	    cmocka_unit_test(test_networkd_managed_and_bonds),
	    cmocka_unit_test(test_networkd_file),
	    cmocka_unit_test(test_real_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
