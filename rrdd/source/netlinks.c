/*
 * Link dumps over netlink (see netlinks.h).  A full RTM_GETLINK dump gives
 * names, IFLA_MASTER, IFLA_LINKINFO's kind (bonds, VLANs) and IFLA_STATS64
 * (IFLA_STATS, 32-bit, on kernels without it); it is large (every
 * attribute of every link), so between full dumps (every NLL_FULL_EVERY
 * calls, or when a link appears or goes) an RTM_GETSTATS dump asks only
 * for the 64-bit counters.  Answers are read with one buffer reused across
 * calls and parsed with libmnl's callbacks.  A small cache, by ifindex, remembers which links
 * are physical (a sysfs lookup the first time a link is seen).
 */
#include "source/netlinks.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"

#define RECV_BUF (64u << 10)
/* a full dump (names, masters, kinds) at least this often; between them
 * only the counters, unless links appear or go */
#define NLL_FULL_EVERY 12

/* what is known of a link seen before */
struct seen {
	uint32_t ifindex;
	char name[NLL_NAME_LEN];
	bool physical;
	bool used; /* seen in the current dump */
};

struct nll {
	struct mnl_socket *sock;
	unsigned portid, seq;
	char *buf;
	char *sysfs;
	struct seen *seen;
	size_t nseen, capseen;
	unsigned calls;
	bool have_stats;     /* the kernel answers RTM_GETSTATS */
	unsigned since_full; /* counters-only dumps since the last full one */
};

int nll_open(struct nll **out, const char *sysfs_net, char *err, size_t errlen)
{
	*out = NULL;
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!s || mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno ? errno : EIO;
		snprintf(err, errlen, "netlink socket: %s", strerror(e));
		if (s)
			mnl_socket_close(s);
		return -e;
	}
	struct nll *n = xcalloc(1, sizeof(*n));
	n->sock = s;
	n->portid = mnl_socket_get_portid(s);
	n->seq = (unsigned)time(NULL);
	n->buf = xmalloc(RECV_BUF);
	n->sysfs = xstrdup(sysfs_net ? sysfs_net : "/sys/class/net");
	n->have_stats = true;
	*out = n;
	return 0;
}

static bool physical(struct nll *n, uint32_t ifindex, const char *name)
{
	for (size_t i = 0; i < n->nseen; i++)
		if (n->seen[i].ifindex == ifindex && !strcmp(n->seen[i].name, name)) {
			n->seen[i].used = true;
			return n->seen[i].physical;
		}
	if (n->nseen == n->capseen) {
		n->capseen = n->capseen ? n->capseen * 2 : 64;
		n->seen = xrealloc(n->seen, n->capseen * sizeof(*n->seen));
	}
	struct seen *s = &n->seen[n->nseen++];
	memset(s, 0, sizeof(*s));
	s->ifindex = ifindex;
	snprintf(s->name, sizeof(s->name), "%s", name);
	char path[512];
	snprintf(path, sizeof(path), "%s/%s/device", n->sysfs, name);
	s->physical = access(path, F_OK) == 0;
	s->used = true;
	n->calls++;
	return s->physical;
}

struct parse {
	struct nll *n;
	struct nll_links *out;
	bool bad;
	uint32_t matched, unknown; /* stats dump: links updated, links not in out */
};

static int info_attr(const struct nlattr *a, void *data)
{
	struct nll_link *l = data;
	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) >= 0) {
		const char *kind = mnl_attr_get_str(a);
		l->bond = !strcmp(kind, "bond");
		l->vlan = !strcmp(kind, "vlan");
	}
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct nll_link *l = data;
	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
		break;
	case IFLA_MASTER:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			l->master = mnl_attr_get_u32(a);
		break;
	case IFLA_STATS64:
		if (mnl_attr_get_payload_len(a) >= sizeof(struct rtnl_link_stats64)) {
			struct rtnl_link_stats64 st;
			memcpy(&st, mnl_attr_get_payload(a), sizeof(st));
			l->rx_bytes = st.rx_bytes;
			l->rx_packets = st.rx_packets;
			l->rx_errors = st.rx_errors;
			l->tx_bytes = st.tx_bytes;
			l->tx_packets = st.tx_packets;
			l->tx_errors = st.tx_errors;
		}
		break;
	case IFLA_STATS:
		if (!l->rx_bytes && !l->tx_bytes &&
		    mnl_attr_get_payload_len(a) >= sizeof(struct rtnl_link_stats)) {
			struct rtnl_link_stats st;
			memcpy(&st, mnl_attr_get_payload(a), sizeof(st));
			l->rx_bytes = st.rx_bytes;
			l->rx_packets = st.rx_packets;
			l->rx_errors = st.rx_errors;
			l->tx_bytes = st.tx_bytes;
			l->tx_packets = st.tx_packets;
			l->tx_errors = st.tx_errors;
		}
		break;
	case IFLA_LINKINFO:
		mnl_attr_parse_nested(a, info_attr, l);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

static int link_msg(const struct nlmsghdr *nlh, void *data)
{
	struct parse *p = data;
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg))) {
		p->bad = true;
		return MNL_CB_ERROR;
	}
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nll_links *o = p->out;
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		o->link = xrealloc(o->link, o->cap * sizeof(*o->link));
	}
	struct nll_link *l = &o->link[o->n];
	memset(l, 0, sizeof(*l));
	l->ifindex = (uint32_t)ifi->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr, l);
	if (!l->name[0])
		return MNL_CB_OK; /* nothing to name it by */
	l->physical = physical(p->n, l->ifindex, l->name);
	o->n++;
	return MNL_CB_OK;
}

/* Send a dump request and run cb over the answer.  0 or a negative errno. */
static int dump(struct nll *n, struct nlmsghdr *nlh, mnl_cb_t cb, struct parse *p, char *err,
                size_t errlen)
{
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++n->seq;
	n->calls++;
	if (mnl_socket_sendto(n->sock, nlh, nlh->nlmsg_len) < 0) {
		int e = errno;
		snprintf(err, errlen, "netlink request: %s", strerror(e));
		return -e;
	}
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(n->sock, n->buf, RECV_BUF);
		n->calls++;
		if (r < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			snprintf(err, errlen, "netlink receive: %s", strerror(e));
			return -e;
		}
		int rc = mnl_cb_run(n->buf, (size_t)r, n->seq, n->portid, cb, p);
		if (rc == MNL_CB_STOP)
			return 0;
		if (rc < 0 || p->bad) {
			int e = errno ? errno : EPROTO;
			snprintf(err, errlen, "netlink dump: %s",
			         p->bad ? "malformed" : strerror(e));
			return -EPROTO;
		}
	}
}

static int cmp_ifindex(const void *a, const void *b)
{
	const struct nll_link *x = a, *y = b;
	return x->ifindex < y->ifindex ? -1 : x->ifindex > y->ifindex;
}

/* Every link with its attributes (RTM_GETLINK), sorted by ifindex. */
static int full_dump(struct nll *n, struct nll_links *out, char *err, size_t errlen)
{
	out->n = 0;
	for (size_t i = 0; i < n->nseen; i++)
		n->seen[i].used = false;
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETLINK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	struct parse p = {n, out, false, 0, 0};
	int rc = dump(n, nlh, link_msg, &p, err, errlen);
	if (rc) {
		out->n = 0;
		return rc;
	}
	qsort(out->link, out->n, sizeof(*out->link), cmp_ifindex);
	/* forget links that are gone */
	size_t keep = 0;
	for (size_t i = 0; i < n->nseen; i++)
		if (n->seen[i].used)
			n->seen[keep++] = n->seen[i];
	n->nseen = keep;
	n->since_full = 0;
	return 0;
}

/* An RTM_NEWSTATS message: the 64-bit counters of one link. */
static int stats_msg(const struct nlmsghdr *nlh, void *data)
{
	struct parse *p = data;
	if (nlh->nlmsg_type != RTM_NEWSTATS)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct if_stats_msg))) {
		p->bad = true;
		return MNL_CB_ERROR;
	}
	const struct if_stats_msg *ism = mnl_nlmsg_get_payload(nlh);
	struct nll_link key = {.ifindex = ism->ifindex};
	struct nll_link *l =
	    bsearch(&key, p->out->link, p->out->n, sizeof(*p->out->link), cmp_ifindex);
	if (!l) {
		p->unknown++; /* a new link: names are read again */
		return MNL_CB_OK;
	}
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ism))
	{
		if (mnl_attr_get_type(a) == IFLA_STATS_LINK_64 &&
		    mnl_attr_get_payload_len(a) >= sizeof(struct rtnl_link_stats64)) {
			struct rtnl_link_stats64 st;
			memcpy(&st, mnl_attr_get_payload(a), sizeof(st));
			l->rx_bytes = st.rx_bytes;
			l->rx_packets = st.rx_packets;
			l->rx_errors = st.rx_errors;
			l->tx_bytes = st.tx_bytes;
			l->tx_packets = st.tx_packets;
			l->tx_errors = st.tx_errors;
			p->matched++;
		}
	}
	return MNL_CB_OK;
}

/* Only the counters (RTM_GETSTATS, 64-bit link statistics): a fraction of
 * a full dump.  1 when the links are not those of out any more. */
static int stats_dump(struct nll *n, struct nll_links *out, char *err, size_t errlen)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETSTATS;
	struct if_stats_msg *ism = mnl_nlmsg_put_extra_header(nlh, sizeof(*ism));
	ism->family = AF_UNSPEC;
	ism->filter_mask = IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64);
	struct parse p = {n, out, false, 0, 0};
	int rc = dump(n, nlh, stats_msg, &p, err, errlen);
	if (rc)
		return rc;
	return p.unknown || p.matched != out->n ? 1 : 0;
}

int nll_dump(struct nll *n, struct nll_links *out, char *err, size_t errlen)
{
	n->calls = 0;
	if (n->have_stats && out->n && n->since_full + 1 < NLL_FULL_EVERY) {
		int rc = stats_dump(n, out, err, errlen);
		if (rc == 0) {
			n->since_full++;
			return 0;
		}
		if (rc < 0 && rc != -EPROTO && rc != -EOPNOTSUPP && rc != -EINVAL)
			return rc;
		if (rc < 0)
			n->have_stats = false; /* a kernel without RTM_GETSTATS */
	}
	return full_dump(n, out, err, errlen);
}

unsigned nll_syscalls(const struct nll *n)
{
	return n->calls;
}

void nll_links_free(struct nll_links *l)
{
	free(l->link);
	memset(l, 0, sizeof(*l));
}

void nll_close(struct nll *n)
{
	if (!n)
		return;
	mnl_socket_close(n->sock);
	free(n->buf);
	free(n->sysfs);
	free(n->seen);
	free(n);
}
