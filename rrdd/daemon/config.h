/*
 * The daemon's configuration: defaults, `key = value` files (the keys are
 * the long option names without the dashes; '#' starts a comment), command
 * line options (which override the file), durations ("90", "90s", "10m",
 * "2h", "1d"), and the effective configuration as --check-config prints it.
 *
 * Pure apart from reading the config file: no logging (errors come back as
 * a message), no global state.
 */
#ifndef RRDD_DAEMON_CONFIG_H
#define RRDD_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_PATH_MAX 1024

struct rrdd_config {
	char source[8];                  /* "xen" | "sim" | "none" */
	char clock[8];                   /* "real" | "sim" | "paced" */
	double run_for;                  /* seconds; 0 = until a signal */
	uint32_t sim_domains;            /* domUs of a generated simulated host */
	char sim_scenario[CFG_PATH_MAX]; /* scenario file, "" = generated */
	uint64_t seed;
	double sim_epoch; /* wall time of the simulated clock at start */
	char state_dir[CFG_PATH_MAX];
	char archive_dir[CFG_PATH_MAX]; /* "" = default, see cfg_finalize */
	char metrics_dir[CFG_PATH_MAX]; /* "" = default, see cfg_finalize */
	char host_uuid[64];             /* "" = from the inventory or the state dir */
	char inventory[CFG_PATH_MAX];
	int log_level;    /* syslog level */
	bool log_syslog;  /* else stderr */
	int log_facility; /* LOG_DAEMON, LOG_LOCAL5 (xcp-rrdd's)... */
	bool foreground;
	bool enable_all_dss;                    /* xcp-rrdd's plugin-default */
	bool use_min_max;                       /* MIN/MAX RRAs for VM and SR RRDs */
	char config_file[CFG_PATH_MAX];         /* the file read, "" if none */
	char metrics_socket[CFG_PATH_MAX];      /* v4 plugin socket; "none" = off */
	char plugin_dir[CFG_PATH_MAX];          /* "" = default, see cfg_finalize */
	char v3_mapping_file[CFG_PATH_MAX];     /* "" = v3map_builtin() */
	uint64_t plugin_max_bytes;              /* most bytes of one plugin page read */
	bool no_inotify;                        /* discover plugins by scanning every tick */
	int net_source;                         /* enum src_net_from */
	int plugin_families;                    /* enum dmn_fam_mode */
	char cache_stats_command[CFG_PATH_MAX]; /* tapdisk-cache-stats */
	double cache_stats_interval;            /* seconds between its runs */
	char networkd_db[CFG_PATH_MAX];         /* xcp-networkd's state file */
	char tapdisk3_dir[CFG_PATH_MAX];        /* tapdisk3's pages (td3-<pid>/) */
	char sm_phy_dir[CFG_PATH_MAX];          /* the SRs' VDI links (<SR>/<VDI>) */
	char sim_xenstore[CFG_PATH_MAX];        /* sim: a directory standing for xenstore, or "" */
	int plugin_stale_ticks; /* ticks an unchanged page is not Unknown; -1 none */
	/* HTTP (rrdd/http/http.h); "none" disables a socket */
	char socket_path[CFG_PATH_MAX];    /* "" = default, see cfg_finalize */
	char forwarded_path[CFG_PATH_MAX]; /* "" = default, see cfg_finalize */
	char listen[256];                  /* TCP "ADDR:PORT", "" = none */
	char auth_file[CFG_PATH_MAX];
	char rpc_path_dirs[4 * CFG_PATH_MAX]; /* ':'-separated; "" = the service's default */
	bool insecure_listen;
	char tls_cert[CFG_PATH_MAX], tls_key[CFG_PATH_MAX];
	uint32_t max_connections; /* per listener */
	uint32_t http_threads;
	uint32_t http_timeout;                           /* idle seconds */
	uint32_t http_header_timeout, http_body_timeout; /* seconds to receive them */
	uint32_t max_per_address;                        /* TCP connections per client address */
	uint32_t max_rrds;                               /* VM and SR RRDs kept at most */
	uint32_t max_dss;                                /* DSs one RRD records at most */
	uint64_t max_put_bytes;                          /* PUT /rrd body cap */
	/* durability (store/durable.h) */
	double journal_fsync_interval; /* seconds between journal fsyncs, 0 = every record */
	double checkpoint_interval;    /* seconds between checkpoints, 0 = start/stop only */
	bool no_journal;               /* archives only, as xcp-rrdd */
	/* transfers to other hosts' xapi (rpc/send_rrd.h) */
	uint32_t pool_https_port;
	char pool_secret_file[CFG_PATH_MAX];
	int pool_tls_verify; /* enum rpc_pool_verify */
	char pool_ca_bundle[CFG_PATH_MAX];
	double pool_timeout; /* seconds for one transfer */
	/* forwarding to an rrdcached (fwd/rrdcached.h) */
	char rrdcached[CFG_PATH_MAX];     /* "unix:/path" or "host[:port]", "" = none */
	char rrdcached_dir[CFG_PATH_MAX]; /* remote file names <dir>/<uuid>.rrd */
};

/* What the command line asks for besides running. */
enum cfg_action { CFG_RUN, CFG_HELP, CFG_VERSION, CFG_CHECK };

/* Fill in the defaults. */
void cfg_defaults(struct rrdd_config *c);

/* Set one key (a long option name without dashes, '_' accepted for '-',
 * plus xcp-rrdd's aliases plugin-default and loglevel) from its text.
 * Returns 0, or -EINVAL with a message in err. */
int cfg_set(struct rrdd_config *c, const char *key, const char *value, char *err, size_t errlen);

/* Apply `key = value` lines from text; origin names the source in messages
 * ("rrdd.conf:3: unknown key 'x'").  Returns 0 or -EINVAL. */
int cfg_parse_text(struct rrdd_config *c, const char *text, const char *origin, char *err,
                   size_t errlen);

/* Read and apply a config file (at most 1 MiB).  0, or a negative errno
 * with a message. */
int cfg_load_file(struct rrdd_config *c, const char *path, char *err, size_t errlen);

/* Parse argv: defaults, then the --config file if one is given, then the
 * other options in order.  Returns 0 with *action set, or -EINVAL with a
 * message (usage error). */
int cfg_parse_args(struct rrdd_config *c, int argc, char **argv, enum cfg_action *action, char *err,
                   size_t errlen);

/* Resolve the defaults that depend on other keys: the archive directory is
 * /var/lib/xcp/blobs/rrds for the Xen source and <state-dir>/rrds for the
 * simulated one (so a simulation never mixes with real archives); the
 * metrics dumps go to /dev/shm for Xen and to the state dir otherwise; the
 * plugin directory is /dev/shm/metrics for Xen and <state-dir>/plugins for
 * the simulated host. */
void cfg_finalize(struct rrdd_config *c);

/* Print the effective configuration as a config file would set it. */
void cfg_print(const struct rrdd_config *c, FILE *f);

/* The usage text. */
void cfg_usage(FILE *f);

/* Parse a duration: a non-negative number of seconds, optionally followed
 * by s, m, h or d.  Returns 0 or -EINVAL. */
int cfg_parse_duration(const char *s, double *out);

#endif
