/*
 * The VBDs tapdisk3 serves (xenstore backend type "vbd3", XCP-ng and
 * XenServer), read as xcp-rrdd's iostat collector reads them: for each
 * domain, /local/domain/0/backend/vbd3/<domid>/<devid> gives the serving
 * tapdisk's kthread-pid, the device name (dev) and the VDI
 * (sm-data/vdi-uuid); the VDI's SR is the directory of <phy>/<sr>/<vdi>
 * (/dev/sm/phy); the figures come from the tapdisk's page (tapdisk3.h).
 *
 * xenstore is walked again every 12 samples, when the set of domains
 * changes, when a tapdisk starts or stops (its td3-<pid> directory appears
 * or goes: inotify on the page directory, as iostat watches it) or when a
 * page has gone; in between a sample costs one pread per VBD and one read
 * of the inotify descriptor.  A VBD whose page is missing, short,
 * torn or hostile has no sample (nothing else loses one), and each change
 * of a VBD's state gives one log line.
 */
#ifndef RRDD_SOURCE_VBD3_H
#define RRDD_SOURCE_VBD3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source/source.h"
#include "source/tapdisk3.h"

#define VBD3_MAX_PER_DOMAIN 256   /* backend entries looked at per domain */
#define VBD3_MAX_PHY        65536 /* <phy>/<sr>/<vdi> entries looked at */

/* The xenstore calls the walk makes, from the caller's library seam. */
struct vbd3_xs {
	void *ctx;
	/* The children of path as one malloc'd block (free() it), n set; NULL
	 * when absent. */
	char **(*directory)(void *ctx, const char *path, unsigned int *n);
	/* The value at path, NUL-terminated and malloc'd; NULL when absent. */
	char *(*read)(void *ctx, const char *path);
};

struct vbd3_dev {
	uint32_t domid, devid;
	int64_t pid;
	char name[SRC_NAME_LEN];
	char sr[SRC_UUID_LEN + 1];
	struct td3_page page;
	int err;   /* state of the last read: 0, or a negative errno */
	bool seen; /* during a walk: still in xenstore */
};

struct vbd3_set {
	char *shm_dir, *phy_dir;
	uint32_t n, cap;
	struct vbd3_dev *v; /* by domid, then devid */
	uint32_t ndom, cap_dom;
	uint32_t *dom; /* the domains of the last walk */
	unsigned age;  /* samples since the last walk */
	bool walked;
	bool gone;         /* a page vanished: walk again soon */
	int ino;           /* inotify on shm_dir, or -1 */
	unsigned syscalls; /* made by the last sample */
};

/* Prepare; NULL directories are the system's (/dev/shm, /dev/sm/phy). */
void vbd3_init(struct vbd3_set *s, const char *shm_dir, const char *phy_dir);

/* Add the vbd3 VBDs of the domains in snap (replacing a VBD of the same
 * devid libxenstat gave) and count the pages in low-memory mode
 * (snap->host.td3_low_mem).  note: the log line for VBDs whose state
 * changed, "" when none did.  xs NULL: no xenstore, nothing added. */
void vbd3_sample(struct vbd3_set *s, const struct vbd3_xs *xs, struct src_snapshot *snap,
                 char *note, size_t nl);

/* A stand-in for xenstore for the simulator: node <path> is the file
 * <dir><path> (its content the value, one trailing newline dropped; at most
 * 4 KiB), its children the entries of that directory.  dir must stay valid
 * while xs is used. */
void vbd3_xs_dir(struct vbd3_xs *xs, const char *dir);

/* The system calls the last vbd3_sample made (for the benchmark). */
unsigned vbd3_syscalls(const struct vbd3_set *s);

/* Close every page and free; the set may be initialised again.  A zeroed
 * set (never initialised) is a no-op. */
void vbd3_free(struct vbd3_set *s);

#endif
