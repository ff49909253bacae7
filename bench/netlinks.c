/*
 * bench_netlinks: the network part of a cycle, from the kernel's links
 * (what the Xen source does now: one netlink dump, source/netlinks.c, and
 * the mapping to PIFs and VIFs, source/netmap.c) against the text path it
 * replaces (libxenstat reads its VIF counters from /proc/net/dev, as rrdd
 * read the PIFs: the file read and parsed), in the same run on the same
 * links.
 *
 *   bench_netlinks [iterations=200]
 *
 * Run it in a namespace holding the links of a big host, e.g. 1024 VMs
 * with 2 VIFs each (bench/README.md has the commands).  Prints the CPU
 * time per cycle of each path, their ratio (text / netlink: above 1,
 * netlink is cheaper) and the system calls per cycle of each.  Not a
 * test: nothing here is judged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "source/netlinks.h"
#include "source/netmap.h"
#include "source/procfs.h"
#include "source/source.h"

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 200;
	if (iters < 1)
		iters = 1;
	char err[256];
	struct nll *nl;
	if (nll_open(&nl, NULL, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct nll_links links = {0};
	if (nll_dump(nl, &links, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* one domain per domid seen in a vif name */
	struct src_snapshot snap;
	memset(&snap, 0, sizeof(snap));
	unsigned maxdom = 0, nvif = 0;
	for (uint32_t i = 0; i < links.n; i++) {
		unsigned d, n;
		if (sscanf(links.link[i].name, "vif%u.%u", &d, &n) == 2) {
			nvif++;
			maxdom = d > maxdom ? d : maxdom;
		}
	}
	for (unsigned d = 0; d <= maxdom; d++)
		src_snapshot_add_domain(&snap)->domid = d;

	double c0 = clk_thread_cpu();
	unsigned nl_calls = 0;
	for (int k = 0; k < iters; k++) {
		nll_dump(nl, &links, err, sizeof(err));
		nl_calls = nll_syscalls(nl);
		src_netmap(&links, NULL, &snap);
	}
	double nl_cpu = (clk_thread_cpu() - c0) / iters;

	c0 = clk_thread_cpu();
	size_t bytes = 0;
	for (int k = 0; k < iters; k++) {
		char *text;
		size_t len;
		struct src_host h;
		memset(&h, 0, sizeof(h));
		if (src_read_file("/proc/net/dev", 4u << 20, &text, &len) == 0) {
			src_parse_net_dev(text, &h);
			bytes = len;
			free(text);
		}
		free(h.net);
	}
	double txt_cpu = (clk_thread_cpu() - c0) / iters;
	/* open, one read per 4 KiB doubling of the buffer to the file's size
	 * plus the read that sees its end, close */
	unsigned txt_calls = 3;
	for (size_t cap = 4096; cap < bytes + 1; cap *= 2)
		txt_calls++;
	printf("links %u (VIFs %u, domains %u), /proc/net/dev %zu bytes, %d cycles\n", links.n,
	       nvif, maxdom, bytes, iters);
	printf("netlink dump + mapping: %8.1f us CPU/cycle, %u system calls\n", nl_cpu * 1e6,
	       nl_calls);
	printf(
	    "/proc/net/dev text:     %8.1f us CPU/cycle, ~%u system calls (open, reads, close)\n",
	    txt_cpu * 1e6, txt_calls);
	printf("ratio text/netlink: %.2f (above 1: netlink cheaper)\n",
	       nl_cpu > 0 ? txt_cpu / nl_cpu : 0);
	nll_links_free(&links);
	nll_close(nl);
	src_snapshot_clear(&snap);
	return 0;
}
