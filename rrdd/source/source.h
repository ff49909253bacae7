/*
 * The hypervisor as the daemon sees it: one ops table (open / sample / close)
 * with two backends, the real Xen one (source_xen.c) and a deterministic
 * simulated host (source_sim.c), and the plain-data snapshot a sample fills.
 *
 * A snapshot is raw counters exactly as the hypervisor reports them, already
 * converted to daemon units (ns, bytes, KiB) but not yet turned into data
 * sources: catalogue.h maps a pair of snapshots to named DS samples.  The
 * sampler touches no RRD, takes no lock and reads no clock (the caller passes
 * the time the sample is stamped with), so the tick loop calls src_sample()
 * outside its registry lock.
 *
 * Failure model: a Xen call that fails for one domain (typically a domain
 * being destroyed between the domain list and the per-vCPU query) marks that
 * domain SRC_DOM_FAILED and leaves its counters unset; the rest of the
 * snapshot is good.  Only a failure of the host-wide calls (physinfo, the
 * domain list) fails the whole sample.
 */
#ifndef RRDD_SOURCE_H
#define RRDD_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRC_UUID_LEN    36        /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
#define SRC_NAME_LEN    32        /* network device / vbd names, NUL included */
#define SRC_VM_NAME_LEN 128       /* a domain's name (longer ones are cut), NUL included */
#define SRC_NO_VALUE    INT64_MIN /* an optional int64 field that is absent */
#define SRC_PAGE_SIZE   4096u     /* Xen page size on x86 */

/* One physical network device of dom0 (a line of /proc/net/dev), as the
 * kernel counts it.  All counters cumulative. */
struct src_netdev {
	char name[SRC_NAME_LEN];
	bool pif; /* a host NIC or bond, reported as pif_<name>_* */
	uint64_t rx_bytes, rx_packets, rx_errors;
	uint64_t tx_bytes, tx_packets, tx_errors;
};

/* Host-wide figures. */
struct src_host {
	uint32_t nr_cpus;  /* number of pCPUs, = length of idle_ns */
	uint64_t *idle_ns; /* cumulative idle time per pCPU, ns */
	int64_t total_kib; /* physinfo total_pages * 4 */
	int64_t free_kib;  /* physinfo free_pages * 4 */
	double loadavg;    /* dom0 /proc/loadavg 1-minute; NaN when unreadable */
	uint32_t nnet;
	struct src_netdev *net; /* dom0 devices except lo, unfiltered */
	bool have_td3;          /* tapdisk3 pages were looked for (Xen) */
	int64_t td3_low_mem;    /* VBD pages flagged low-memory mode */
};

struct src_vcpu {
	uint64_t cpu_time_ns; /* cumulative, bit 63 (XEN_RUNSTATE_UPDATE) cleared */
	bool online;
	bool blocked; /* not running and not runnable */
	bool running; /* scheduled on a pCPU right now */
};

/* One virtual network interface, counted at the backend (dom0's vifD.N), as
 * libxenstat reports it: backend rx = what the guest sent.  catalogue.c
 * swaps to the guest's point of view (wire-format.md §8.3). */
struct src_vif {
	uint32_t devid;
	uint64_t rx_bytes, rx_packets, rx_errors;
	uint64_t tx_bytes, tx_packets, tx_errors;
};

/* One virtual block device.  Requests and sectors are cumulative backend
 * counters (libxenstat, or tapdisk3's page: completed requests); sectors are
 * 512 bytes.  The tick figures exist only where the backend provides them
 * (the simulator, tapdisk3): have_ticks.  sr: the SR of its VDI when known
 * (tapdisk3), for the SR's aggregates; "" otherwise. */
struct src_vbd {
	char name[SRC_NAME_LEN]; /* as xcp-rrdd names it: "xvda", "hdb", "sdc" */
	uint32_t devid;          /* xenstore device number, e.g. 51712 */
	uint64_t rd_reqs, wr_reqs;
	uint64_t rd_sectors, wr_sectors;
	uint64_t oo_reqs; /* requests delayed by a full ring (libxenstat) */
	bool error;       /* libxenstat could not read this device's counters */
	bool have_ticks;
	uint64_t rd_ticks_us, wr_ticks_us; /* cumulative wait time, microseconds */
	uint64_t inflight;                 /* requests in flight now */
	char sr[SRC_UUID_LEN + 1];
};

/* Per-domain runstate times (Xen's runstate V2, XenServer builds only):
 * time[0..5] = fullrun, full_contention, concurrency_hazard, blocked,
 * partial_run, partial_contention; cumulative ns. */
struct src_runstate {
	uint64_t time_ns[6];
	uint64_t runnable_ns;
};

enum {
	SRC_DOM_FAILED = 1u << 0, /* sample lost (domain vanished): only domid,
	                             uuid and err are meaningful */
	SRC_DOM_PAUSED = 1u << 1,
	SRC_DOM_HVM = 1u << 2,
	SRC_DOM_DYING = 1u << 3,
	SRC_DOM_SHUTDOWN = 1u << 4,
	SRC_DOM_RUNSTATE = 1u << 5, /* runstate is valid */
};

struct src_domain {
	uint32_t domid;
	char uuid[SRC_UUID_LEN + 1];     /* VM uuid after the 1.1 mapping rules */
	char raw_uuid[SRC_UUID_LEN + 1]; /* the Xen handle itself */
	char name[SRC_VM_NAME_LEN];      /* xenstore /local/domain/<domid>/name, or "" */
	unsigned flags;                  /* SRC_DOM_* */
	int err;                         /* negative errno when SRC_DOM_FAILED */
	uint64_t cpu_time_ns;            /* cumulative domain CPU time, bit 63 cleared */
	uint32_t nr_online_vcpus;
	uint32_t nvcpu; /* max_vcpu_id + 1 */
	struct src_vcpu *vcpu;
	uint64_t memory_bytes;        /* tot_pages * 4096 */
	int64_t target_kib;           /* xenstore memory/target, or SRC_NO_VALUE */
	int64_t free_kib;             /* guest-reported data/meminfo_free (dom0:
	                                 MemAvailable), or SRC_NO_VALUE */
	int64_t dynamic_min_kib;      /* xenstore memory/dynamic-min, or SRC_NO_VALUE */
	int64_t dynamic_max_kib;      /* xenstore memory/dynamic-max, or SRC_NO_VALUE */
	struct src_runstate runstate; /* valid when SRC_DOM_RUNSTATE */
	uint32_t nvif;
	struct src_vif *vif;
	uint32_t nvbd;
	struct src_vbd *vbd;
};

struct src_snapshot {
	double t; /* the time the caller stamped the sample with */
	struct src_host host;
	uint32_t ndom;
	struct src_domain *dom; /* in domid order; skipped handles left out */
	char note[256];         /* a line for the log (a part that changed state), or "" */
};

struct src_xen_api; /* source_xen_api.h: the Xen library seam */

/* Configuration for src_open().  Unused fields are ignored by a backend;
 * NULL paths mean the system defaults. */
struct src_config {
	/* Xen backend */
	const char *proc_net_dev;          /* default /proc/net/dev */
	const char *proc_loadavg;          /* default /proc/loadavg */
	const char *proc_meminfo;          /* default /proc/meminfo (dom0 free memory) */
	const char *dom0_uuid;             /* used when dom0's handle is all zeros (plain
	                                      Xen); NULL: dom0 is skipped as wire-format.md §1.1 says */
	const struct src_xen_api *xen_api; /* NULL: the real libraries; tests pass a fake */
	/* Network figures (VIFs, PIFs): AUTO is the kernel's links for the
	 * real Xen libraries (libxenstat's for a fake), the simulation's for
	 * the simulator; KERNEL the links of the namespace the daemon runs in
	 * (netlink; xcp-networkd's state for managed NICs and bonds), XENSTAT
	 * libxenstat's VIFs and /proc/net/dev. */
	enum src_net_from { SRC_NET_AUTO, SRC_NET_KERNEL, SRC_NET_XENSTAT } net_from;
	const char *networkd_db; /* NULL: /var/lib/xcp/networkd.db */
	const char *sysfs_net;   /* NULL: /sys/class/net */
	/* tapdisk3 (vbd3 backends): where its pages are (NULL: /dev/shm) and
	 * the SRs' VDI links (NULL: /dev/sm/phy) */
	const char *td3_shm_dir;
	const char *sm_phy_dir;
	/* simulator */
	const char *scenario_path; /* scenario file (docs/sim-scenario.md) */
	const char *scenario_text; /* or the scenario itself; wins over the path */
	const char *sim_xenstore;  /* a directory standing for xenstore (a file per
	                              node): tapdisk3's VBDs are read through it */
	uint32_t sim_domains;      /* without a scenario: this many domUs ... */
	uint64_t sim_seed;         /* ... with workloads drawn from this seed */
};

struct src;

struct src_ops {
	const char *name; /* "xen", "sim" */
	/* Prepare the backend; on success store a handle in *out.  Returns 0 or
	 * a negative errno (-ENOENT no hypervisor, -EINVAL bad scenario). */
	int (*open)(const struct src_config *cfg, void **out);
	/* Fill *snap (cleared first) with one sample stamped now.  Returns 0, or
	 * a negative errno when the host-wide part failed (snap is then empty). */
	int (*sample)(void *priv, double now, struct src_snapshot *snap);
	void (*close)(void *priv);
	/* Optional: the families of the catalogue this host cannot give, and
	 * why, as one line for the log; NULL when it gives them all. */
	const char *(*missing)(void *priv);
};

extern const struct src_ops src_xen_ops;
extern const struct src_ops src_sim_ops;

/* An opened source: the ops and their private state. */
struct src {
	const struct src_ops *ops;
	void *priv;
	char errmsg[256]; /* why open failed, for the log */
};

/* Open a source with the given backend.  Returns 0 and a source in *out, or
 * a negative errno (and *out NULL). */
int src_open(const struct src_ops *ops, const struct src_config *cfg, struct src **out);

/* Take one sample stamped with time now (seconds since the epoch; the
 * simulator advances its world to it, so it must not decrease).  Returns 0
 * or a negative errno; per-domain failures are flagged, not returned. */
int src_sample(struct src *s, double now, struct src_snapshot *snap);

/* The families this host cannot give, and why (one line), or NULL. */
const char *src_missing(const struct src *s);

/* Close a source; NULL is a no-op. */
void src_close(struct src *s);

/* Release everything a snapshot owns and zero it; safe on a zeroed one. */
void src_snapshot_clear(struct src_snapshot *snap);

/* The domain of a snapshot with this domid, or NULL. */
const struct src_domain *src_snapshot_domain(const struct src_snapshot *snap, uint32_t domid);

/* The domain of a snapshot whose (mapped) uuid is uuid, or NULL. */
const struct src_domain *src_snapshot_by_uuid(const struct src_snapshot *snap, const char *uuid);

/* Growth helpers for backends: append a zeroed element and return it. */
struct src_domain *src_snapshot_add_domain(struct src_snapshot *snap);
struct src_vif *src_domain_add_vif(struct src_domain *d);
struct src_vbd *src_domain_add_vbd(struct src_domain *d);
struct src_netdev *src_host_add_netdev(struct src_host *h);

/*
 * wire-format.md §1.1 uuid rules, shared by both backends.  Format the 16-byte handle
 * into raw (37 bytes).  Returns SRC_UUID_SKIP for handles starting
 * 00000000-0000-0000 or deadbeef-dead-beef; SRC_UUID_ORIGIN / SRC_UUID_FINAL
 * for xenopsd temporaries (ending 000000000000 / 000000000001), which the
 * caller resolves through xenstore /vm/<raw>/origin-uuid resp. final-uuid
 * (see src_uuid_xs_path); SRC_UUID_PLAIN otherwise.
 */
enum src_uuid_kind { SRC_UUID_PLAIN, SRC_UUID_SKIP, SRC_UUID_ORIGIN, SRC_UUID_FINAL };
enum src_uuid_kind src_uuid_classify(const uint8_t handle[16], char raw[SRC_UUID_LEN + 1]);

/* The xenstore path holding the real uuid of a temporary (kind ORIGIN or
 * FINAL), written to buf; returns 0 or -EINVAL for other kinds. */
int src_uuid_xs_path(enum src_uuid_kind kind, const char *raw, char *buf, size_t len);

/* Take a value read from xenstore as the mapped uuid if it is a well-formed
 * uuid (surrounding whitespace ignored, lower-cased); returns 0 or -EINVAL,
 * in which case the caller keeps the raw handle as upstream does. */
int src_uuid_accept(const char *val, size_t len, char out[SRC_UUID_LEN + 1]);

/* Parse a textual uuid into a 16-byte handle; 0 or -EINVAL. */
int src_uuid_parse(const char *s, uint8_t handle[16]);

/* The Linux/Xen name of a virtual disk number (Xen's vbd-interface encoding:
 * 202<<8 xvd, 3/22 hd, 8 and 65-71 sd, 1<<28 extended xvd), e.g. 51712 ->
 * "xvda", 51713 -> "xvda1", 768 -> "hda".  Used when xenstore has no backend
 * "dev" node.  Returns 0 or -EINVAL (unknown major, buffer too small). */
int src_vbd_name(uint32_t devid, char *buf, size_t len);

#endif
