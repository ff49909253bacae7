/*
 * tapdisk3's statistics pages: each tapdisk3 process publishes, per VBD it
 * serves, a shared-memory file <dir>/td3-<pid>/vbd-<domid>-<devid> (dir is
 * /dev/shm) whose first 96 bytes are blktap's struct stats
 * (drivers/tapdisk-metrics-stats.h; xcp-rrdd's blktap3_stats.ml), little
 * endian: version (1), padding, then eleven 64-bit counters.
 *
 * A page is untrusted: it is opened without following links or blocking,
 * must be a regular file of at least 96 bytes owned by root or by us, must
 * say version 1, and must not show more requests completed than submitted
 * (a page caught mid-update is read again, at most three times).  Anything
 * else costs that VBD its sample, with the reason.
 */
#ifndef RRDD_SOURCE_TAPDISK3_H
#define RRDD_SOURCE_TAPDISK3_H

#include <stddef.h>
#include <stdint.h>

#define TD3_STATS_BYTES  96
#define TD3_VERSION      1
#define TD3_FLAG_LOW_MEM 0x1 /* the tapdisk is in low-memory mode */

struct td3_stats {
	uint32_t version;
	uint64_t oo_reqs;
	uint64_t rd_submitted, rd_completed, rd_sectors, rd_ticks_us;
	uint64_t wr_submitted, wr_completed, wr_sectors, wr_ticks_us;
	uint64_t io_errors;
	uint64_t flags;
};

/* Decode the first TD3_STATS_BYTES of buf (len bytes).  0, or -EPROTO
 * (short, another version, completed > submitted) with the reason in why. */
int td3_parse(const void *buf, size_t len, struct td3_stats *out, char *why, size_t wl);

/* One VBD's page, kept open between reads. */
struct td3_page {
	int fd; /* -1: not open */
};

#define TD3_PAGE_INIT                                                                              \
	{                                                                                          \
		.fd = -1                                                                           \
	}

/* Open dir/td3-<pid>/vbd-<domid>-<devid> (dir NULL: /dev/shm) into *p.
 * 0, or a negative errno with the reason in why (-ENOENT: no such page,
 * -EPERM: not a regular file owned by root or by us). */
int td3_page_open(struct td3_page *p, const char *dir, int64_t pid, uint32_t domid, uint32_t devid,
                  char *why, size_t wl);

/* Read and decode the page's current figures: one pread, more only when
 * the page was caught mid-update.  0, or a negative errno with the reason
 * (-EPROTO: td3_parse refused it three times). */
int td3_page_read(struct td3_page *p, struct td3_stats *out, char *why, size_t wl);

/* Close; a closed page is a no-op. */
void td3_page_close(struct td3_page *p);

#endif
