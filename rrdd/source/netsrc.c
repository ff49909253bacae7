/*
 * Network figures from the kernel (see netsrc.h): one link dump per
 * sample; networkd's state re-read only when its file changes (one stat
 * per sample).
 */
#include "source/netsrc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "source/netlinks.h"
#include "source/netmap.h"
#include "source/networkd.h"
#include "util/xalloc.h"

struct src_net {
	struct nll *nl;
	struct nll_links links;
	struct netmap_net net;
	char *db;
	struct timespec db_mtime;
	off_t db_size;
	bool db_seen;
	unsigned calls;
};

int src_net_open(struct src_net **out, const char *networkd_db, const char *sysfs_net, char *err,
                 size_t errlen)
{
	*out = NULL;
	struct src_net *n = xcalloc(1, sizeof(*n));
	int rc = nll_open(&n->nl, sysfs_net, err, errlen);
	if (rc) {
		free(n);
		return rc;
	}
	n->db = xstrdup(networkd_db ? networkd_db : SRC_NETWORKD_DB);
	*out = n;
	return 0;
}

/* networkd's state, re-read when the file changed (or appeared/went). */
static void refresh_db(struct src_net *n)
{
	struct stat st;
	n->calls++;
	if (stat(n->db, &st) != 0) {
		if (n->db_seen)
			src_networkd_free(&n->net);
		n->db_seen = false;
		return;
	}
	if (n->db_seen && st.st_mtim.tv_sec == n->db_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == n->db_mtime.tv_nsec && st.st_size == n->db_size)
		return;
	char why[256];
	n->calls += 3;
	src_networkd_read(n->db, &n->net, why, sizeof(why)); /* empty when unreadable */
	n->db_seen = true;
	n->db_mtime = st.st_mtim;
	n->db_size = st.st_size;
}

int src_net_sample(struct src_net *n, struct src_snapshot *snap, char *err, size_t errlen)
{
	n->calls = 0;
	refresh_db(n);
	int rc = nll_dump(n->nl, &n->links, err, errlen);
	n->calls += nll_syscalls(n->nl);
	if (rc) {
		snap->host.nnet = 0;
		for (uint32_t i = 0; i < snap->ndom; i++)
			snap->dom[i].nvif = 0;
		return rc;
	}
	src_netmap(&n->links, &n->net, snap);
	return 0;
}

unsigned src_net_syscalls(const struct src_net *n)
{
	return n->calls;
}

void src_net_close(struct src_net *n)
{
	if (!n)
		return;
	nll_close(n->nl);
	nll_links_free(&n->links);
	src_networkd_free(&n->net);
	free(n->db);
	free(n);
}
