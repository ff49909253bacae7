/*
 * The VBDs tapdisk3 serves (vbd3.h).
 */
#include "source/vbd3.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "util/xalloc.h"

#define VBD3_WALK_EVERY 12
#define VBD3_BASE       "/local/domain/0/backend/vbd3"

void vbd3_init(struct vbd3_set *s, const char *shm_dir, const char *phy_dir)
{
	memset(s, 0, sizeof(*s));
	s->shm_dir = xstrdup(shm_dir ? shm_dir : "/dev/shm");
	s->phy_dir = xstrdup(phy_dir ? phy_dir : "/dev/sm/phy");
	s->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino >= 0 && inotify_add_watch(s->ino, s->shm_dir,
	                                     IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
	                                         IN_ONLYDIR) < 0) {
		close(s->ino); /* no such directory (yet): the periodic walk remains */
		s->ino = -1;
	}
}

/* Whether a tapdisk's directory appeared or went since the last call
 * (every pending event is read; other names in the directory are not ours). */
static bool tapdisks_changed(struct vbd3_set *s)
{
	bool hit = false;
	if (s->ino < 0)
		return false;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = read(s->ino, buf, sizeof(buf));
		s->syscalls++;
		if (n <= 0)
			break;
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
			if ((ev->mask & IN_Q_OVERFLOW) ||
			    (ev->len && strncmp(ev->name, "td3-", 4) == 0))
				hit = true;
			off += (ssize_t)sizeof(*ev) + ev->len;
		}
	}
	return hit;
}

void vbd3_free(struct vbd3_set *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		td3_page_close(&s->v[i].page);
	free(s->v);
	free(s->dom);
	if (s->shm_dir && s->ino >= 0) /* a zeroed set was never initialised */
		close(s->ino);
	free(s->shm_dir);
	free(s->phy_dir);
	memset(s, 0, sizeof(*s));
	s->ino = -1;
}

unsigned vbd3_syscalls(const struct vbd3_set *s)
{
	return s->syscalls;
}

/* ---- the walk ---- */

static bool parse_u32(const char *t, uint32_t *out)
{
	uint64_t v = 0;
	if (!*t)
		return false;
	for (; *t; t++) {
		if (*t < '0' || *t > '9' || (v = v * 10 + (uint64_t)(*t - '0')) > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool is_uuid(const char *t)
{
	if (strlen(t) != SRC_UUID_LEN)
		return false;
	for (int i = 0; i < SRC_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? t[i] != '-'
		         : !((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
			return false;
	}
	return true;
}

/* A device name as xcp-rrdd puts it in DS names: short, [a-z0-9] only. */
static bool good_name(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n >= SRC_NAME_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9')))
			return false;
	return true;
}

static char *xs_get(struct vbd3_set *s, const struct vbd3_xs *xs, const char *base, const char *key)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", base, key);
	s->syscalls++;
	return xs->read(xs->ctx, path);
}

static struct vbd3_dev *find_dev(struct vbd3_dev *v, uint32_t n, uint32_t domid, uint32_t devid)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v[mid].domid < domid || (v[mid].domid == domid && v[mid].devid < devid))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].domid == domid && v[lo].devid == devid ? &v[lo] : NULL;
}

static int dev_cmp(const void *a, const void *b)
{
	const struct vbd3_dev *x = a, *y = b;
	if (x->domid != y->domid)
		return x->domid < y->domid ? -1 : 1;
	return x->devid < y->devid ? -1 : x->devid > y->devid;
}

/* One backend entry into *d: pid, name and VDI (in d->sr until mapped). */
static void read_entry(struct vbd3_set *s, const struct vbd3_xs *xs, struct vbd3_dev *d)
{
	char base[128];
	snprintf(base, sizeof(base), VBD3_BASE "/%" PRIu32 "/%" PRIu32, d->domid, d->devid);
	char *v = xs_get(s, xs, base, "kthread-pid");
	uint32_t pid = 0;
	d->pid = v && parse_u32(v, &pid) ? (int64_t)pid : 0;
	free(v);
	v = xs_get(s, xs, base, "dev");
	if (v && good_name(v))
		snprintf(d->name, sizeof(d->name), "%s", v);
	else if (src_vbd_name(d->devid, d->name, sizeof(d->name)) < 0)
		snprintf(d->name, sizeof(d->name), "dev%" PRIu32, d->devid);
	free(v);
	v = xs_get(s, xs, base, "sm-data/vdi-uuid");
	d->sr[0] = '\0';
	if (v && is_uuid(v))
		memcpy(d->sr, v, SRC_UUID_LEN + 1); /* the VDI, for now */
	free(v);
}

struct vdi_sr {
	char vdi[SRC_UUID_LEN + 1];
	char sr[SRC_UUID_LEN + 1];
};

static int vdi_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vdi_sr *)a)->vdi, ((const struct vdi_sr *)b)->vdi);
}

/* Every <phy>/<sr>/<vdi> (at most VBD3_MAX_PHY), sorted by VDI. */
static struct vdi_sr *phy_map(struct vbd3_set *s, size_t *n)
{
	struct vdi_sr *m = NULL;
	size_t cap = 0;
	*n = 0;
	DIR *top = opendir(s->phy_dir);
	s->syscalls++;
	if (!top)
		return NULL;
	struct dirent *e;
	while ((e = readdir(top)) && *n < VBD3_MAX_PHY) {
		if (!is_uuid(e->d_name))
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", s->phy_dir, e->d_name);
		DIR *sr = opendir(path);
		s->syscalls++;
		if (!sr)
			continue;
		struct dirent *f;
		while ((f = readdir(sr)) && *n < VBD3_MAX_PHY) {
			if (!is_uuid(f->d_name))
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				m = xrealloc(m, cap * sizeof(*m));
			}
			memcpy(m[*n].vdi, f->d_name, SRC_UUID_LEN + 1);
			memcpy(m[*n].sr, e->d_name, SRC_UUID_LEN + 1);
			(*n)++;
		}
		closedir(sr);
	}
	closedir(top);
	if (*n)
		qsort(m, *n, sizeof(*m), vdi_cmp);
	return m;
}

/* The VDI in each d->sr becomes its SR ("" when not linked). */
static void map_srs(struct vbd3_set *s, struct vbd3_dev *v, uint32_t n)
{
	bool any = false;
	for (uint32_t i = 0; i < n && !any; i++)
		any = v[i].sr[0] != '\0';
	if (!any)
		return;
	size_t nm;
	struct vdi_sr *m = phy_map(s, &nm);
	for (uint32_t i = 0; i < n; i++) {
		struct vdi_sr key, *hit = NULL;
		if (v[i].sr[0] && nm) {
			memcpy(key.vdi, v[i].sr, sizeof(key.vdi));
			hit = bsearch(&key, m, nm, sizeof(*m), vdi_cmp);
		}
		if (hit)
			memcpy(v[i].sr, hit->sr, sizeof(v[i].sr));
		else
			v[i].sr[0] = '\0';
	}
	free(m);
}

static void walk(struct vbd3_set *s, const struct vbd3_xs *xs, const struct src_snapshot *snap)
{
	struct vbd3_dev *nv = NULL;
	uint32_t n = 0, cap = 0;
	s->ndom = 0;
	for (uint32_t i = 0; i < snap->ndom; i++) {
		const struct src_domain *d = &snap->dom[i];
		if (d->flags & SRC_DOM_FAILED)
			continue;
		if (s->ndom == s->cap_dom) {
			s->cap_dom = s->cap_dom ? s->cap_dom * 2 : 16;
			s->dom = xrealloc(s->dom, s->cap_dom * sizeof(*s->dom));
		}
		s->dom[s->ndom++] = d->domid;
		char path[96];
		snprintf(path, sizeof(path), VBD3_BASE "/%" PRIu32, d->domid);
		unsigned int ne = 0;
		s->syscalls++;
		char **ents = xs->directory(xs->ctx, path, &ne);
		for (unsigned int k = 0; ents && k < ne && k < VBD3_MAX_PER_DOMAIN; k++) {
			uint32_t devid;
			if (!parse_u32(ents[k], &devid))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				nv = xrealloc(nv, cap * sizeof(*nv));
			}
			struct vbd3_dev *e = &nv[n++];
			memset(e, 0, sizeof(*e));
			e->domid = d->domid;
			e->devid = devid;
			e->page.fd = -1;
			read_entry(s, xs, e);
		}
		free(ents);
	}
	if (n > 1)
		qsort(nv, n, sizeof(*nv), dev_cmp);
	map_srs(s, nv, n);
	/* keep the open pages (and the logged state) of VBDs still served by
	 * the same tapdisk */
	for (uint32_t i = 0; i < n; i++) {
		struct vbd3_dev *old = find_dev(s->v, s->n, nv[i].domid, nv[i].devid);
		if (old && old->pid == nv[i].pid) {
			nv[i].page = old->page;
			nv[i].err = old->err;
			old->page.fd = -1;
		}
	}
	for (uint32_t i = 0; i < s->n; i++)
		td3_page_close(&s->v[i].page);
	free(s->v);
	s->v = nv;
	s->n = n;
	s->cap = cap;
	s->age = 0;
	s->gone = false;
	s->walked = true;
}

static bool domains_changed(const struct vbd3_set *s, const struct src_snapshot *snap)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < snap->ndom; i++) {
		if (snap->dom[i].flags & SRC_DOM_FAILED)
			continue;
		if (k >= s->ndom || s->dom[k] != snap->dom[i].domid)
			return true;
		k++;
	}
	return k != s->ndom;
}

/* ---- the sample ---- */

static struct src_domain *domain_of(struct src_snapshot *snap, uint32_t domid)
{
	uint32_t lo = 0, hi = snap->ndom;
	while (lo < hi) { /* Xen lists domains in domid order */
		uint32_t mid = lo + (hi - lo) / 2;
		if (snap->dom[mid].domid < domid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < snap->ndom && snap->dom[lo].domid == domid)
		return &snap->dom[lo];
	return (struct src_domain *)src_snapshot_domain(snap, domid);
}

static void put_vbd(struct src_domain *d, const struct vbd3_dev *e, const struct td3_stats *st)
{
	struct src_vbd *b = NULL;
	for (uint32_t i = 0; i < d->nvbd && !b; i++)
		if (d->vbd[i].devid == e->devid)
			b = &d->vbd[i];
	if (!b)
		b = src_domain_add_vbd(d);
	memset(b, 0, sizeof(*b));
	memcpy(b->name, e->name, sizeof(b->name));
	memcpy(b->sr, e->sr, sizeof(b->sr));
	b->devid = e->devid;
	b->rd_reqs = st->rd_completed;
	b->wr_reqs = st->wr_completed;
	b->rd_sectors = st->rd_sectors;
	b->wr_sectors = st->wr_sectors;
	b->oo_reqs = st->oo_reqs;
	b->have_ticks = true;
	b->rd_ticks_us = st->rd_ticks_us;
	b->wr_ticks_us = st->wr_ticks_us;
	b->inflight = (st->rd_submitted - st->rd_completed) + (st->wr_submitted - st->wr_completed);
}

void vbd3_sample(struct vbd3_set *s, const struct vbd3_xs *xs, struct src_snapshot *snap,
                 char *note, size_t nl)
{
	if (nl)
		note[0] = '\0';
	s->syscalls = 0;
	if (!xs)
		return;
	bool started = tapdisks_changed(s);
	if (!s->walked || s->age >= VBD3_WALK_EVERY || started || domains_changed(s, snap) ||
	    (s->gone && s->age >= 2))
		walk(s, xs, snap);
	s->age++;
	snap->host.have_td3 = true;
	snap->host.td3_low_mem = 0;
	unsigned changed = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		struct vbd3_dev *e = &s->v[i];
		struct td3_stats st;
		char why[200];
		int rc = 0;
		if (e->page.fd < 0) {
			rc = td3_page_open(&e->page, s->shm_dir, e->pid, e->domid, e->devid, why,
			                   sizeof(why));
			s->syscalls += 4;
		}
		if (rc == 0) {
			rc = td3_page_read(&e->page, &st, why, sizeof(why));
			s->syscalls++;
		}
		if (rc < 0) {
			td3_page_close(&e->page);
			if (rc == -ENOENT)
				s->gone = true;
		}
		if (rc != e->err) {
			if (changed++ == 0 && nl)
				snprintf(note, nl, "tapdisk3 VBD %" PRIu32 "/%" PRIu32 " (%s): %s",
				         e->domid, e->devid, e->name,
				         rc < 0 ? why : "its page is read again");
			e->err = rc;
		}
		if (rc < 0)
			continue;
		struct src_domain *d = domain_of(snap, e->domid);
		if (!d || (d->flags & SRC_DOM_FAILED))
			continue;
		put_vbd(d, e, &st);
		if (st.flags & TD3_FLAG_LOW_MEM)
			snap->host.td3_low_mem++;
	}
	if (changed > 1 && nl) {
		size_t l = strlen(note);
		snprintf(note + l, nl - l, " (and %u more VBDs changed state)", changed - 1);
	}
}

/* ---- a directory standing for xenstore (the simulator's) ---- */

static char **dir_children(void *ctx, const char *path, unsigned int *n)
{
	char full[1024];
	snprintf(full, sizeof(full), "%s%s", (const char *)ctx, path);
	DIR *d = opendir(full);
	if (!d)
		return NULL;
	size_t cap = 0, bytes = 0, k = 0;
	char **names = NULL;
	struct dirent *e;
	while ((e = readdir(d)) && k < 4096) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[k++] = xstrdup(e->d_name);
		bytes += strlen(e->d_name) + 1;
	}
	closedir(d);
	char **out = xmalloc(sizeof(char *) * (k ? k : 1) + bytes);
	char *s = (char *)(out + (k ? k : 1));
	for (size_t i = 0; i < k; i++) {
		size_t l = strlen(names[i]) + 1;
		memcpy(s, names[i], l);
		out[i] = s;
		s += l;
		free(names[i]);
	}
	free(names);
	*n = (unsigned int)k;
	return out;
}

static char *dir_value(void *ctx, const char *path)
{
	char full[1024];
	snprintf(full, sizeof(full), "%s%s", (const char *)ctx, path);
	int fd = open(full, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *v = xmalloc(4097);
	ssize_t r = read(fd, v, 4096);
	close(fd);
	if (r < 0) {
		free(v);
		return NULL;
	}
	if (r > 0 && v[r - 1] == '\n')
		r--;
	v[r] = '\0';
	return v;
}

void vbd3_xs_dir(struct vbd3_xs *xs, const char *dir)
{
	xs->ctx = (void *)dir;
	xs->directory = dir_children;
	xs->read = dir_value;
}
