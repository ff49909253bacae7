/*
 * Transfers of RRDs between hosts, as xcp-rrdd makes them
 * (rrdd_server.ml send_rrd, Deprecated.pull_rrd_from_master): the sending
 * side of PUT /rrd for migrate_rrd, push_rrd_remote, send_host_rrd_to_master
 * and the remote archive/backup calls, and GET /host_rrd from the master
 * for Deprecated.load_rrd.
 *
 * An address as xapi passes it ("10.0.0.2", "host:port", "[v6]:port",
 * optionally "https://") is another host's xapi: HTTPS to port 443 (or the
 * configured port), the request xcp-rrdd makes, authenticated by the
 * pool_secret cookie read from the ptoken file (or by the session_id of a
 * cross-pool migration).  Two forms reach an rrdd directly, without xapi
 * (tests, pools of plain rrdd hosts): "http://host[:port]" (an rrdd
 * --listen) and a Unix socket path starting with '/'; these send the query
 * xapi would add (is_host) and no cookie.
 *
 * Every transfer is bounded by pool_timeout; used from RPC worker threads.
 */
#ifndef RRDD_RPC_SEND_RRD_H
#define RRDD_RPC_SEND_RRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rrdb;

enum rpc_pool_verify { RPC_POOL_VERIFY_AUTO, RPC_POOL_VERIFY_YES, RPC_POOL_VERIFY_NO };

/* How to reach other hosts' xapi; a zero field means the default. */
struct rpc_pool_config {
	int https_port;          /* 443 */
	const char *secret_file; /* /etc/xensource/ptoken */
	/* Verify a pool member's certificate (SNI "pool", the peer's
	 * certificate one of ca_bundle's): AUTO does when xapi does, i.e.
	 * when verify_flag exists.  A cross-pool migration is never verified
	 * (xcp-rrdd's migrate_rrd). */
	enum rpc_pool_verify verify;
	const char *verify_flag; /* /var/xapi/verify-certificates */
	const char *ca_bundle;   /* /etc/stunnel/xapi-pool-ca-bundle.pem */
	double timeout;          /* seconds for a whole transfer: 30 */
	uint64_t max_pull_bytes; /* largest RRD pulled from the master: 256 MiB */
};

#define RPC_POOL_SECRET_FILE "/etc/xensource/ptoken"
#define RPC_POOL_VERIFY_FLAG "/var/xapi/verify-certificates"
#define RPC_POOL_CA_BUNDLE   "/etc/stunnel/xapi-pool-ca-bundle.pem"

/* Send r (internal XML) to the host at address with PUT /rrd?uuid=...
 * (archive adds archive=true; session_id, for a migration to another
 * pool, replaces the pool secret).  member: the address is a member of
 * this pool (verified per the configuration), else another pool's host
 * (not verified, as xcp-rrdd's migrate_rrd).  0, or a negative errno
 * with a one-line reason in err: the peer refused (its status and reason),
 * hung, answered garbage, or presented a certificate refused. */
int rpc_send_rrd(const struct rpc_pool_config *pc, const char *address, const char *uuid,
                 bool is_host, bool archive, bool member, const char *session_id,
                 const struct rrdb *r, char *err, size_t errlen);

/* GET /host_rrd?uuid=...&dbsync=true from the master at address, with the
 * pool secret (xcp-rrdd's Deprecated.pull_rrd_from_master): the RRD in
 * *out (caller frees).  0 or a negative errno with a reason. */
int rpc_pull_host_rrd(const struct rpc_pool_config *pc, const char *address, const char *uuid,
                      struct rrdb **out, char *err, size_t errlen);

/* The pool secret from the configured file, as the cookie value, into
 * out: trailing white space removed; refused when empty, longer than
 * 4095 bytes, or holding a byte a cookie value cannot (control, space,
 * '"', ',', ';', '\\').  0 or a negative errno with a reason. */
int rpc_pool_secret(const struct rpc_pool_config *pc, char *out, size_t n, char *err,
                    size_t errlen);

#endif
