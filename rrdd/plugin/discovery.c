/*
 * Plugin discovery in the plugin directory (wire-format.md §6.1): a name appearing
 * (created or renamed in) registers, a name going away (deleted or renamed
 * out) deregisters; dotfiles, *.tmp and tap-* are ignored.  With inotify
 * (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF |
 * IN_MOVE_SELF) events are drained without blocking at the start of every
 * tick; an overflowed queue triggers a rescan.  Without inotify (disabled,
 * or unavailable) the directory is rescanned every tick.
 *
 * The path's identity is checked every tick: a symlink re-pointed or a
 * directory renamed over it makes discovery follow the new directory
 * (its plugins registered, the old ones deregistered).
 *
 * A missing directory is created with its parents, mode 0755 (xcp-rrdd's
 * tmpfiles rule makes it 0775 root:rrdmetrics so unprivileged plugins in
 * that group can write; rrdd does not change an existing directory's mode
 * or group).  If it cannot be created or watched, every tick retries.
 *
 * Runs in the tick thread only (plg_collect), so it needs no lock of its
 * own; it takes reg->mu to change the list.  Must not read plugin files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "plugin/registry_impl.h"
#include "util/log.h"
#include "util/xalloc.h"

#define WATCH_MASK                                                                                 \
	(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF |     \
	 IN_ONLYDIR)

/* Register every eligible name in the directory; with prune, deregister
 * file-discovered plugins whose name is gone. */
static void scan(struct plg_registry *reg, bool prune)
{
	DIR *d = opendir(reg->dir);
	if (!d) {
		if (!reg->dir_warned) {
			reg->dir_warned = true;
			log_warn("plugin directory %s: %s (retrying every tick)", reg->dir,
			         strerror(errno));
		}
		if (!prune)
			return;
	}
	pthread_mutex_lock(&reg->mu);
	for (size_t i = 0; i < reg->n; i++)
		reg->v[i]->scan_seen = false;
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		if (plg_name_ignored(de->d_name))
			continue;
		if (de->d_type != DT_UNKNOWN && de->d_type != DT_REG && de->d_type != DT_LNK)
			continue; /* directories, FIFOs, sockets, devices */
		plg_register_locked(reg, de->d_name, PLG_REG_AUTO, true);
		struct plg_entry *e = plg_find_locked(reg, de->d_name);
		if (e)
			e->scan_seen = true;
	}
	if (prune) {
		for (size_t i = reg->n; i-- > 0;) {
			struct plg_entry *e = reg->v[i];
			if (e->by_file && !e->scan_seen)
				plg_deregister_locked(reg, e->uid);
		}
	}
	pthread_mutex_unlock(&reg->mu);
	if (d)
		closedir(d);
}

/* Try to have the directory and a watch on it. */
static void ensure_watch(struct plg_registry *reg)
{
	int rc = fs_mkdirs(reg->dir, 0755);
	if (rc < 0) {
		if (!reg->dir_warned) {
			reg->dir_warned = true;
			log_warn("plugin directory %s cannot be created: %s (retrying every tick)",
			         reg->dir, strerror(-rc));
		}
		return;
	}
	if (reg->no_inotify)
		return;
	if (reg->ino_fd < 0) {
		reg->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (reg->ino_fd < 0) {
			log_warn("inotify: %s; scanning %s every tick instead", strerror(errno),
			         reg->dir);
			reg->no_inotify = true;
			return;
		}
	}
	if (reg->watch_wd < 0) {
		reg->watch_wd = inotify_add_watch(reg->ino_fd, reg->dir, WATCH_MASK);
		if (reg->watch_wd < 0) {
			if (!reg->dir_warned) {
				reg->dir_warned = true;
				log_warn("cannot watch %s: %s (retrying every tick)", reg->dir,
				         strerror(errno));
			}
			return;
		}
		if (reg->dir_warned)
			log_info("watching plugin directory %s again", reg->dir);
		reg->dir_warned = false;
		reg->need_scan = true; /* whatever appeared while unwatched */
		struct stat st;
		if (stat(reg->dir, &st) == 0) {
			reg->dir_dev = st.st_dev;
			reg->dir_ino = st.st_ino;
		}
	}
}

/* The path may now name another directory (a symlink re-pointed, a
 * directory renamed over it) without any event on the one watched: check
 * its identity once per tick and follow the new one. */
static void recheck_identity(struct plg_registry *reg)
{
	struct stat st;
	if (reg->watch_wd < 0 || stat(reg->dir, &st) < 0 ||
	    (st.st_dev == reg->dir_dev && st.st_ino == reg->dir_ino))
		return;
	log_warn("plugin directory %s now names another directory: watching it instead", reg->dir);
	inotify_rm_watch(reg->ino_fd, reg->watch_wd);
	reg->watch_wd = -1;
	reg->need_scan = true;
	ensure_watch(reg);
}

void plg_discovery_start(struct plg_registry *reg)
{
	ensure_watch(reg);
	scan(reg, false);
	reg->need_scan = false;
}

static void handle_event(struct plg_registry *reg, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		reg->need_scan = true;
		return;
	}
	if (ev->wd != reg->watch_wd)
		return;
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		/* The directory went: its plugins with it; watch again later. */
		if (!(ev->mask & IN_IGNORED))
			inotify_rm_watch(reg->ino_fd, reg->watch_wd);
		reg->watch_wd = -1;
		reg->need_scan = true;
		return;
	}
	if (!ev->len || !ev->name[0] || plg_name_ignored(ev->name) || (ev->mask & IN_ISDIR))
		return;
	pthread_mutex_lock(&reg->mu);
	if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
		plg_register_locked(reg, ev->name, PLG_REG_AUTO, true);
	} else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		plg_deregister_locked(reg, ev->name);
	}
	pthread_mutex_unlock(&reg->mu);
}

void plg_discovery_poll(struct plg_registry *reg)
{
	if (reg->no_inotify) {
		if (fs_mkdirs(reg->dir, 0755) == 0)
			reg->dir_warned = false;
		scan(reg, true);
		return;
	}
	if (reg->watch_wd < 0)
		ensure_watch(reg);
	else
		recheck_identity(reg);
	if (reg->ino_fd >= 0) {
		/* Bounded: at most 64 reads of 64 KiB per tick; more means an
		 * overflow-like burst, handled by a rescan. */
		char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
		for (int round = 0; round < 64; round++) {
			ssize_t r = read(reg->ino_fd, buf, sizeof(buf));
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				break;
			}
			for (char *p = buf; p < buf + r;) {
				const struct inotify_event *ev = (const struct inotify_event *)p;
				handle_event(reg, ev);
				p += sizeof(*ev) + ev->len;
			}
			if (round == 63)
				reg->need_scan = true;
		}
		if (reg->watch_wd < 0)
			ensure_watch(reg);
	}
	if (reg->need_scan) {
		reg->need_scan = false;
		scan(reg, true);
	}
}

void plg_discovery_stop(struct plg_registry *reg)
{
	if (reg->ino_fd >= 0)
		close(reg->ino_fd);
	reg->ino_fd = -1;
	reg->watch_wd = -1;
}
