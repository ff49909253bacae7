/*
 * Configuration (config.h): one table of keys drives the config file, the
 * command line and --check-config, so the three never disagree.  Reads one
 * file at most; no logging.
 */
#include "daemon/config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/rrdcached.h"
#include "daemon/families.h"
#include "daemon/hastats.h"
#include "rpc/send_rrd.h"
#include "source/networkd.h"
#include "source/source.h"
#include "util/log.h"

void cfg_defaults(struct rrdd_config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->source, "xen");
	strcpy(c->clock, "real");
	c->sim_domains = 3;
	c->seed = 1;
	c->sim_epoch = 1700000000.0;
	strcpy(c->state_dir, "/var/lib/rrdd");
	strcpy(c->inventory, "/etc/xensource-inventory");
	c->log_level = LOG_INFO;
	c->log_facility = LOG_DAEMON;
	c->use_min_max = false;
	c->plugin_max_bytes = 8u << 20;
	c->plugin_stale_ticks = 2;
	c->max_connections = 256;
	c->http_threads = 4;
	c->http_timeout = 30;
	c->http_header_timeout = 10;
	c->http_body_timeout = 60;
	c->max_per_address = 64;
	c->max_rrds = 16384;
	c->max_dss = 16384;
	c->max_put_bytes = 256u << 20;
	c->net_source = SRC_NET_AUTO;
	strcpy(c->cache_stats_command, HASTATS_CACHE_COMMAND);
	c->cache_stats_interval = 55;
	strcpy(c->networkd_db, SRC_NETWORKD_DB);
	strcpy(c->tapdisk3_dir, "/dev/shm");
	strcpy(c->sm_phy_dir, "/dev/sm/phy");
	c->pool_https_port = 443;
	strcpy(c->pool_secret_file, RPC_POOL_SECRET_FILE);
	c->pool_tls_verify = RPC_POOL_VERIFY_AUTO;
	strcpy(c->pool_ca_bundle, RPC_POOL_CA_BUNDLE);
	c->pool_timeout = 30;
	c->journal_fsync_interval = 5;
	c->checkpoint_interval = 3600;
}

int cfg_parse_duration(const char *s, double *out)
{
	if (!s || !(*s >= '0' && *s <= '9'))
		return -EINVAL;
	for (const char *q = s; *q; q++)
		if (!((*q >= '0' && *q <= '9') || *q == '.' ||
		      ((*q == 's' || *q == 'm' || *q == 'h' || *q == 'd') && !q[1])))
			return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0 || *s == '-' || *s == '+' || s[0] == ' ')
		return -EINVAL;
	double mult = 1;
	if (*end) {
		switch (*end) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		default:
			return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	v *= mult;
	if (!isfinite(v) || v > 1e10)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out);

/* A count or a number of seconds in [1, max]. */
static int parse_positive(const char *s, uint64_t max, uint32_t *out)
{
	uint64_t u;
	int rc = parse_u64(s, max, &u);
	if (!rc && u == 0)
		rc = -EINVAL;
	if (!rc)
		*out = (uint32_t)u;
	return rc;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int set_str(char *dst, size_t len, const char *v)
{
	size_t n = strlen(v);
	if (n >= len)
		return -EINVAL;
	memcpy(dst, v, n + 1);
	return 0;
}

static bool uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		char ch = s[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? ch != '-'
		         : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		             (ch >= 'A' && ch <= 'F')))
			return false;
	}
	return true;
}

int cfg_set(struct rrdd_config *c, const char *key_in, const char *v, char *err, size_t errlen)
{
	char key[64];
	size_t kl = strlen(key_in);
	if (kl >= sizeof(key)) {
		snprintf(err, errlen, "unknown key '%.40s...'", key_in);
		return -EINVAL;
	}
	for (size_t i = 0; i <= kl; i++)
		key[i] = key_in[i] == '_' ? '-' : key_in[i];
	int rc = 0;
	uint64_t u;
	bool b;
	if (!strcmp(key, "source")) {
		rc = strcmp(v, "xen") && strcmp(v, "sim") && strcmp(v, "none")
		         ? -EINVAL
		         : set_str(c->source, sizeof(c->source), v);
	} else if (!strcmp(key, "clock")) {
		rc = strcmp(v, "real") && strcmp(v, "sim") && strcmp(v, "paced")
		         ? -EINVAL
		         : set_str(c->clock, sizeof(c->clock), v);
	} else if (!strcmp(key, "run-for")) {
		rc = cfg_parse_duration(v, &c->run_for);
	} else if (!strcmp(key, "journal-fsync-interval")) {
		rc = cfg_parse_duration(v, &c->journal_fsync_interval);
	} else if (!strcmp(key, "checkpoint-interval")) {
		rc = cfg_parse_duration(v, &c->checkpoint_interval);
	} else if (!strcmp(key, "no-journal")) {
		rc = parse_bool(v, &c->no_journal);
	} else if (!strcmp(key, "sim-domains")) {
		rc = parse_u64(v, 4095, &u);
		if (!rc)
			c->sim_domains = (uint32_t)u;
	} else if (!strcmp(key, "sim-scenario")) {
		rc = set_str(c->sim_scenario, sizeof(c->sim_scenario), v);
	} else if (!strcmp(key, "seed")) {
		rc = parse_u64(v, UINT64_MAX, &c->seed);
	} else if (!strcmp(key, "sim-epoch")) {
		rc = parse_u64(v, 4102444800ull, &u); /* up to 2100 */
		if (!rc)
			c->sim_epoch = (double)u;
	} else if (!strcmp(key, "state-dir")) {
		rc = *v ? set_str(c->state_dir, sizeof(c->state_dir), v) : -EINVAL;
	} else if (!strcmp(key, "archive-dir")) {
		rc = set_str(c->archive_dir, sizeof(c->archive_dir), v);
	} else if (!strcmp(key, "metrics-dir")) {
		rc = set_str(c->metrics_dir, sizeof(c->metrics_dir), v);
	} else if (!strcmp(key, "host-uuid")) {
		rc = *v && !uuid_ok(v) ? -EINVAL : set_str(c->host_uuid, sizeof(c->host_uuid), v);
	} else if (!strcmp(key, "inventory")) {
		rc = set_str(c->inventory, sizeof(c->inventory), v);
	} else if (!strcmp(key, "log-level") || !strcmp(key, "loglevel")) {
		rc = log_level_parse(v, &c->log_level);
	} else if (!strcmp(key, "log-target")) {
		if (!strcmp(v, "stderr"))
			c->log_syslog = false;
		else if (!strcmp(v, "syslog"))
			c->log_syslog = true;
		else
			rc = -EINVAL;
	} else if (!strcmp(key, "log-facility")) {
		rc = log_facility_parse(v, &c->log_facility);
	} else if (!strcmp(key, "foreground")) {
		rc = parse_bool(v, &c->foreground);
	} else if (!strcmp(key, "enable-all-dss") || !strcmp(key, "plugin-default")) {
		rc = parse_bool(v, &c->enable_all_dss);
	} else if (!strcmp(key, "use-min-max")) {
		rc = parse_bool(v, &c->use_min_max);
	} else if (!strcmp(key, "plugin-dir")) {
		rc = set_str(c->plugin_dir, sizeof(c->plugin_dir), v);
	} else if (!strcmp(key, "v3-mapping-file")) {
		rc = set_str(c->v3_mapping_file, sizeof(c->v3_mapping_file), v);
	} else if (!strcmp(key, "plugin-max-bytes")) {
		rc = parse_u64(v, 1ull << 30, &u);
		if (!rc && u < 4096)
			rc = -EINVAL;
		if (!rc)
			c->plugin_max_bytes = u;
	} else if (!strcmp(key, "net-source")) {
		if (!strcmp(v, "auto"))
			c->net_source = SRC_NET_AUTO;
		else if (!strcmp(v, "kernel"))
			c->net_source = SRC_NET_KERNEL;
		else if (!strcmp(v, "xenstat"))
			c->net_source = SRC_NET_XENSTAT;
		else
			rc = -EINVAL;
	} else if (!strcmp(key, "plugin-families")) {
		if (!strcmp(v, "plugin"))
			c->plugin_families = DMN_FAM_PLUGIN;
		else if (!strcmp(v, "builtin"))
			c->plugin_families = DMN_FAM_BUILTIN;
		else
			rc = -EINVAL;
	} else if (!strcmp(key, "cache-stats-command")) {
		rc = *v ? set_str(c->cache_stats_command, sizeof(c->cache_stats_command), v)
		        : -EINVAL;
	} else if (!strcmp(key, "cache-stats-interval")) {
		rc = cfg_parse_duration(v, &c->cache_stats_interval);
		if (!rc && !(c->cache_stats_interval >= 1 && c->cache_stats_interval <= 3600))
			rc = -EINVAL;
	} else if (!strcmp(key, "networkd-db")) {
		rc = *v ? set_str(c->networkd_db, sizeof(c->networkd_db), v) : -EINVAL;
	} else if (!strcmp(key, "tapdisk3-dir")) {
		rc = *v ? set_str(c->tapdisk3_dir, sizeof(c->tapdisk3_dir), v) : -EINVAL;
	} else if (!strcmp(key, "sm-phy-dir")) {
		rc = *v ? set_str(c->sm_phy_dir, sizeof(c->sm_phy_dir), v) : -EINVAL;
	} else if (!strcmp(key, "sim-xenstore")) {
		rc = set_str(c->sim_xenstore, sizeof(c->sim_xenstore), v);
	} else if (!strcmp(key, "no-inotify")) {
		rc = parse_bool(v, &c->no_inotify);
	} else if (!strcmp(key, "plugin-stale-ticks")) {
		if (!strcmp(v, "-1")) {
			c->plugin_stale_ticks = -1;
		} else {
			rc = parse_u64(v, 1000, &u);
			if (!rc)
				c->plugin_stale_ticks = (int)u;
		}
	} else if (!strcmp(key, "socket")) {
		rc = set_str(c->socket_path, sizeof(c->socket_path), v);
	} else if (!strcmp(key, "metrics-socket")) {
		rc = set_str(c->metrics_socket, sizeof(c->metrics_socket), v);
	} else if (!strcmp(key, "forwarded-socket")) {
		rc = set_str(c->forwarded_path, sizeof(c->forwarded_path), v);
	} else if (!strcmp(key, "listen")) {
		rc = set_str(c->listen, sizeof(c->listen), v);
	} else if (!strcmp(key, "rrdcached")) {
		rc = set_str(c->rrdcached, sizeof(c->rrdcached), v);
		if (!rc && *v && !rcd_address_ok(v))
			rc = -EINVAL;
	} else if (!strcmp(key, "rrdcached-dir")) {
		rc = set_str(c->rrdcached_dir, sizeof(c->rrdcached_dir), v);
		if (!rc && strpbrk(v, " \t\n"))
			rc = -EINVAL;
	} else if (!strcmp(key, "pool-https-port")) {
		rc = parse_positive(v, 65535, &c->pool_https_port);
	} else if (!strcmp(key, "pool-secret-file")) {
		rc = *v ? set_str(c->pool_secret_file, sizeof(c->pool_secret_file), v) : -EINVAL;
	} else if (!strcmp(key, "pool-tls-verify")) {
		if (!strcmp(v, "auto"))
			c->pool_tls_verify = RPC_POOL_VERIFY_AUTO;
		else if (!strcmp(v, "yes"))
			c->pool_tls_verify = RPC_POOL_VERIFY_YES;
		else if (!strcmp(v, "no"))
			c->pool_tls_verify = RPC_POOL_VERIFY_NO;
		else
			rc = -EINVAL;
	} else if (!strcmp(key, "pool-ca-bundle")) {
		rc = *v ? set_str(c->pool_ca_bundle, sizeof(c->pool_ca_bundle), v) : -EINVAL;
	} else if (!strcmp(key, "pool-timeout")) {
		rc = cfg_parse_duration(v, &c->pool_timeout);
		if (!rc && !(c->pool_timeout >= 1 && c->pool_timeout <= 3600))
			rc = -EINVAL;
	} else if (!strcmp(key, "rpc-path-dirs")) {
		rc = set_str(c->rpc_path_dirs, sizeof(c->rpc_path_dirs), v);
	} else if (!strcmp(key, "auth-file")) {
		rc = set_str(c->auth_file, sizeof(c->auth_file), v);
	} else if (!strcmp(key, "insecure-listen")) {
		rc = parse_bool(v, &c->insecure_listen);
	} else if (!strcmp(key, "tls-cert")) {
		rc = set_str(c->tls_cert, sizeof(c->tls_cert), v);
	} else if (!strcmp(key, "tls-key")) {
		rc = set_str(c->tls_key, sizeof(c->tls_key), v);
	} else if (!strcmp(key, "max-connections")) {
		rc = parse_u64(v, 100000, &u);
		if (!rc && u == 0)
			rc = -EINVAL;
		if (!rc)
			c->max_connections = (uint32_t)u;
	} else if (!strcmp(key, "http-threads")) {
		rc = parse_u64(v, 256, &u);
		if (!rc && u == 0)
			rc = -EINVAL;
		if (!rc)
			c->http_threads = (uint32_t)u;
	} else if (!strcmp(key, "http-timeout")) {
		rc = parse_u64(v, 86400, &u);
		if (!rc && u == 0)
			rc = -EINVAL;
		if (!rc)
			c->http_timeout = (uint32_t)u;
	} else if (!strcmp(key, "http-header-timeout")) {
		rc = parse_positive(v, 86400, &c->http_header_timeout);
	} else if (!strcmp(key, "http-body-timeout")) {
		rc = parse_positive(v, 86400, &c->http_body_timeout);
	} else if (!strcmp(key, "max-connections-per-address")) {
		rc = parse_positive(v, 100000, &c->max_per_address);
	} else if (!strcmp(key, "max-dss")) {
		rc = parse_positive(v, 1000000, &c->max_dss);
	} else if (!strcmp(key, "max-rrds")) {
		rc = parse_positive(v, 1000000, &c->max_rrds);
	} else if (!strcmp(key, "max-put-bytes")) {
		rc = parse_u64(v, 1ull << 34, &u);
		if (!rc && u < 4096)
			rc = -EINVAL;
		if (!rc)
			c->max_put_bytes = u;
	} else if (!strcmp(key, "disable-logging-for")) {
		(void)b; /* xcp-rrdd.conf key, accepted and ignored */
	} else {
		snprintf(err, errlen, "unknown key '%s'", key_in);
		return -EINVAL;
	}
	if (rc)
		snprintf(err, errlen, "bad value for %s: '%.200s'", key_in, v);
	return rc ? -EINVAL : 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

int cfg_parse_text(struct rrdd_config *c, const char *text, const char *origin, char *err,
                   size_t errlen)
{
	const char *p = text;
	for (unsigned line = 1; *p; line++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char buf[2048];
		if (len >= sizeof(buf)) {
			snprintf(err, errlen, "%s:%u: line too long", origin, line);
			return -EINVAL;
		}
		memcpy(buf, p, len);
		buf[len] = 0;
		p += len + (nl ? 1 : 0);
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = 0;
		char *s = trim(buf);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'", origin, line);
			return -EINVAL;
		}
		*eq = 0;
		char *key = trim(s), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
			val[vl - 1] = 0;
			val++;
		}
		char msg[512];
		if (cfg_set(c, key, val, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s:%u: %s", origin, line, msg);
			return -EINVAL;
		}
	}
	return 0;
}

int cfg_load_file(struct rrdd_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	size_t cap = 1u << 20;
	char *text = malloc(cap + 1);
	if (!text) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	size_t n = fread(text, 1, cap + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || n > cap) {
		free(text);
		snprintf(err, errlen, "%s: %s", path, bad ? "read error" : "larger than 1 MiB");
		return bad ? -EIO : -EFBIG;
	}
	text[n] = 0;
	if (memchr(text, 0, n)) {
		free(text);
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		return -EINVAL;
	}
	int rc = cfg_parse_text(c, text, path, err, errlen);
	free(text);
	if (!rc)
		set_str(c->config_file, sizeof(c->config_file), path);
	return rc;
}

static const struct option long_opts[] = {
    {"source", required_argument, 0, 0},
    {"clock", required_argument, 0, 0},
    {"run-for", required_argument, 0, 0},
    {"journal-fsync-interval", required_argument, 0, 0},
    {"checkpoint-interval", required_argument, 0, 0},
    {"no-journal", no_argument, 0, 0},
    {"sim-domains", required_argument, 0, 0},
    {"sim-scenario", required_argument, 0, 0},
    {"seed", required_argument, 0, 0},
    {"sim-epoch", required_argument, 0, 0},
    {"state-dir", required_argument, 0, 0},
    {"archive-dir", required_argument, 0, 0},
    {"metrics-dir", required_argument, 0, 0},
    {"host-uuid", required_argument, 0, 0},
    {"inventory", required_argument, 0, 0},
    {"log-level", required_argument, 0, 0},
    {"log-target", required_argument, 0, 0},
    {"log-facility", required_argument, 0, 0},
    {"use-min-max", no_argument, 0, 0},
    {"enable-all-dss", no_argument, 0, 0},
    {"foreground", no_argument, 0, 'f'},
    {"config", required_argument, 0, 'c'},
    {"check-config", no_argument, 0, 'C'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'V'},
    {"plugin-dir", required_argument, 0, 0},
    {"plugin-max-bytes", required_argument, 0, 0},
    {"v3-mapping-file", required_argument, 0, 0},
    {"no-inotify", no_argument, 0, 0},
    {"net-source", required_argument, 0, 0},
    {"plugin-families", required_argument, 0, 0},
    {"cache-stats-command", required_argument, 0, 0},
    {"cache-stats-interval", required_argument, 0, 0},
    {"networkd-db", required_argument, 0, 0},
    {"tapdisk3-dir", required_argument, 0, 0},
    {"sm-phy-dir", required_argument, 0, 0},
    {"sim-xenstore", required_argument, 0, 0},
    {"plugin-stale-ticks", required_argument, 0, 0},
    {"socket", required_argument, 0, 0},
    {"forwarded-socket", required_argument, 0, 0},
    {"metrics-socket", required_argument, 0, 0},
    {"listen", required_argument, 0, 0},
    {"rrdcached", required_argument, 0, 0},
    {"rrdcached-dir", required_argument, 0, 0},
    {"auth-file", required_argument, 0, 0},
    {"rpc-path-dirs", required_argument, 0, 0},
    {"pool-https-port", required_argument, 0, 0},
    {"pool-secret-file", required_argument, 0, 0},
    {"pool-tls-verify", required_argument, 0, 0},
    {"pool-ca-bundle", required_argument, 0, 0},
    {"pool-timeout", required_argument, 0, 0},
    {"insecure-listen", no_argument, 0, 0},
    {"tls-cert", required_argument, 0, 0},
    {"tls-key", required_argument, 0, 0},
    {"max-connections", required_argument, 0, 0},
    {"http-threads", required_argument, 0, 0},
    {"http-timeout", required_argument, 0, 0},
    {"http-header-timeout", required_argument, 0, 0},
    {"http-body-timeout", required_argument, 0, 0},
    {"max-connections-per-address", required_argument, 0, 0},
    {"max-put-bytes", required_argument, 0, 0},
    {"max-rrds", required_argument, 0, 0},
    {"max-dss", required_argument, 0, 0},
    {0, 0, 0, 0},
};

int cfg_parse_args(struct rrdd_config *c, int argc, char **argv, enum cfg_action *action, char *err,
                   size_t errlen)
{
	cfg_defaults(c);
	*action = CFG_RUN;
	/* pass 1: --config, --help, --version, syntax */
	const char *config = NULL;
	int idx, ch;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "fc:hV", long_opts, &idx)) != -1) {
		if (ch == '?' || ch == ':') {
			snprintf(err, errlen, "unknown option or missing argument: %s",
			         argv[optind - 1 > 0 ? optind - 1 : 0]);
			return -EINVAL;
		}
		if (ch == 'c')
			config = optarg;
		else if (ch == 'h')
			*action = CFG_HELP;
		else if (ch == 'V' && *action != CFG_HELP)
			*action = CFG_VERSION;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument: %s", argv[optind]);
		return -EINVAL;
	}
	if (*action != CFG_RUN)
		return 0;
	if (config) {
		/* "-FILE": read FILE when it exists (systemd's EnvironmentFile=-
		 * convention), for xcp-rrdd's /etc/xcp-rrdd.conf */
		bool optional = config[0] == '-' && config[1] == '/';
		int rc = cfg_load_file(c, config + optional, err, errlen);
		if (rc && !(optional && rc == -ENOENT))
			return -EINVAL;
		err[0] = '\0';
	}
	/* pass 2: the options, in order, over the file */
	optind = 1;
	while ((ch = getopt_long(argc, argv, "fc:hV", long_opts, &idx)) != -1) {
		char msg[512];
		int rc = 0;
		if (ch == 'f')
			c->foreground = true;
		else if (ch == 'C')
			*action = CFG_CHECK;
		else if (ch == 0 && long_opts[idx].has_arg == no_argument)
			rc = cfg_set(c, long_opts[idx].name, "true", msg, sizeof(msg));
		else if (ch == 0)
			rc = cfg_set(c, long_opts[idx].name, optarg, msg, sizeof(msg));
		if (rc) {
			snprintf(err, errlen, "%s", msg);
			return -EINVAL;
		}
	}
	return 0;
}

void cfg_finalize(struct rrdd_config *c)
{
	bool sim = strcmp(c->source, "xen") != 0; /* sim and none: under the state dir */
	if (!c->archive_dir[0]) {
		if (sim)
			snprintf(c->archive_dir, sizeof(c->archive_dir), "%.1000s/rrds",
			         c->state_dir);
		else
			strcpy(c->archive_dir, "/var/lib/xcp/blobs/rrds");
	}
	if (!c->metrics_dir[0])
		snprintf(c->metrics_dir, sizeof(c->metrics_dir), "%s",
		         sim ? c->state_dir : "/dev/shm");
	if (!c->plugin_dir[0]) {
		if (sim)
			snprintf(c->plugin_dir, sizeof(c->plugin_dir), "%.1000s/plugins",
			         c->state_dir);
		else
			strcpy(c->plugin_dir, "/dev/shm/metrics");
	}
	if (!c->socket_path[0]) {
		if (sim)
			snprintf(c->socket_path, sizeof(c->socket_path), "%.1000s/xcp-rrdd",
			         c->state_dir);
		else
			strcpy(c->socket_path, "/var/lib/xcp/xcp-rrdd");
	}
	/* the v4 socket lives beside xcp-rrdd's (/var/lib/xcp/xcp-metrics as
	 * xcp-metrics'), and is off when that one is */
	if (!c->metrics_socket[0]) {
		const char *slash = strrchr(c->socket_path, '/');
		if (!strcmp(c->socket_path, "none"))
			strcpy(c->metrics_socket, "none");
		else if (slash)
			snprintf(c->metrics_socket, sizeof(c->metrics_socket), "%.*s/xcp-metrics",
			         (int)(slash - c->socket_path), c->socket_path);
		else
			strcpy(c->metrics_socket, "xcp-metrics");
	}
	if (!c->forwarded_path[0]) {
		if (sim)
			snprintf(c->forwarded_path, sizeof(c->forwarded_path),
			         "%.1000s/xcp-rrdd.forwarded", c->state_dir);
		else
			strcpy(c->forwarded_path, "/var/lib/xcp/xcp-rrdd.forwarded");
	}
}

void cfg_print(const struct rrdd_config *c, FILE *f)
{
	fprintf(f, "# rrdd %s effective configuration\n", RRDD_VERSION);
	if (c->config_file[0])
		fprintf(f, "#   read from %s\n", c->config_file);
	fprintf(f, "source = %s\n", c->source);
	fprintf(f, "clock = %s\n", c->clock);
	fprintf(f, "run-for = %.15gs\n", c->run_for);
	fprintf(f, "sim-domains = %u\n", c->sim_domains);
	fprintf(f, "sim-scenario = %s\n", c->sim_scenario);
	fprintf(f, "seed = %llu\n", (unsigned long long)c->seed);
	fprintf(f, "sim-epoch = %.0f\n", c->sim_epoch);
	fprintf(f, "state-dir = %s\n", c->state_dir);
	fprintf(f, "archive-dir = %s\n", c->archive_dir);
	fprintf(f, "metrics-dir = %s\n", c->metrics_dir);
	fprintf(f, "host-uuid = %s\n", c->host_uuid);
	fprintf(f, "inventory = %s\n", c->inventory);
	fprintf(f, "log-level = %s\n", log_level_name(c->log_level));
	fprintf(f, "log-target = %s\n", c->log_syslog ? "syslog" : "stderr");
	fprintf(f, "log-facility = %s\n", log_facility_name(c->log_facility));
	fprintf(f, "foreground = %s\n", c->foreground ? "true" : "false");
	fprintf(f, "enable-all-dss = %s\n", c->enable_all_dss ? "true" : "false");
	fprintf(f, "use-min-max = %s\n", c->use_min_max ? "true" : "false");
	fprintf(f, "plugin-dir = %s\n", c->plugin_dir);
	fprintf(f, "plugin-max-bytes = %llu\n", (unsigned long long)c->plugin_max_bytes);
	if (c->v3_mapping_file[0])
		fprintf(f, "v3-mapping-file = %s\n", c->v3_mapping_file);
	fprintf(f, "no-inotify = %s\n", c->no_inotify ? "true" : "false");
	fprintf(f, "net-source = %s\n",
	        c->net_source == SRC_NET_KERNEL    ? "kernel"
	        : c->net_source == SRC_NET_XENSTAT ? "xenstat"
	                                           : "auto");
	fprintf(f, "networkd-db = %s\n", c->networkd_db);
	fprintf(f, "tapdisk3-dir = %s\n", c->tapdisk3_dir);
	fprintf(f, "sm-phy-dir = %s\n", c->sm_phy_dir);
	fprintf(f, "sim-xenstore = %s\n", c->sim_xenstore);
	fprintf(f, "cache-stats-command = %s\n", c->cache_stats_command);
	fprintf(f, "cache-stats-interval = %.15gs\n", c->cache_stats_interval);
	fprintf(f, "plugin-families = %s\n",
	        c->plugin_families == DMN_FAM_BUILTIN ? "builtin" : "plugin");
	fprintf(f, "plugin-stale-ticks = %d\n", c->plugin_stale_ticks);
	fprintf(f, "socket = %s\n", c->socket_path);
	fprintf(f, "forwarded-socket = %s\n", c->forwarded_path);
	fprintf(f, "metrics-socket = %s\n", c->metrics_socket);
	fprintf(f, "listen = %s\n", c->listen);
	fprintf(f, "auth-file = %s\n", c->auth_file);
	fprintf(f, "rpc-path-dirs = %s\n", c->rpc_path_dirs);
	fprintf(f, "insecure-listen = %s\n", c->insecure_listen ? "true" : "false");
	fprintf(f, "pool-https-port = %u\n", c->pool_https_port);
	fprintf(f, "pool-secret-file = %s\n", c->pool_secret_file);
	fprintf(f, "pool-tls-verify = %s\n",
	        c->pool_tls_verify == RPC_POOL_VERIFY_YES  ? "yes"
	        : c->pool_tls_verify == RPC_POOL_VERIFY_NO ? "no"
	                                                   : "auto");
	fprintf(f, "pool-ca-bundle = %s\n", c->pool_ca_bundle);
	fprintf(f, "pool-timeout = %.15gs\n", c->pool_timeout);
	fprintf(f, "tls-cert = %s\n", c->tls_cert);
	fprintf(f, "tls-key = %s\n", c->tls_key);
	fprintf(f, "max-connections = %u\n", c->max_connections);
	fprintf(f, "http-threads = %u\n", c->http_threads);
	fprintf(f, "http-timeout = %u\n", c->http_timeout);
	fprintf(f, "http-header-timeout = %u\n", c->http_header_timeout);
	fprintf(f, "http-body-timeout = %u\n", c->http_body_timeout);
	fprintf(f, "max-connections-per-address = %u\n", c->max_per_address);
	fprintf(f, "max-put-bytes = %llu\n", (unsigned long long)c->max_put_bytes);
	fprintf(f, "max-rrds = %u\n", c->max_rrds);
	fprintf(f, "max-dss = %u\n", c->max_dss);
	fprintf(f, "journal-fsync-interval = %.15gs\n", c->journal_fsync_interval);
	fprintf(f, "checkpoint-interval = %.15gs\n", c->checkpoint_interval);
	fprintf(f, "no-journal = %s\n", c->no_journal ? "true" : "false");
	fprintf(f, "rrdcached = %s\n", c->rrdcached);
	fprintf(f, "rrdcached-dir = %s\n", c->rrdcached_dir);
}

void cfg_usage(FILE *f)
{
	fputs(
	    "usage: rrdd [options]\n"
	    "  --source xen|sim|none   where samples come from (default xen; none: plugins\n"
	    "                          and RPC only)\n"
	    "  --clock real|sim|paced  sim: sleeping jumps to the next tick; paced: real\n"
	    "                          time from --sim-epoch (default real)\n"
	    "  --run-for DURATION      stop cleanly after this much (sim or real) time:\n"
	    "                          seconds, or 90s, 10m, 2h, 1d (default: forever)\n"
	    "  --sim-domains N         domUs of the generated simulated host (default 3)\n"
	    "  --sim-scenario FILE     simulated host scenario (docs/sim-scenario.md)\n"
	    "  --seed N                seed of the generated scenario (default 1)\n"
	    "  --sim-epoch T           wall time at which the simulated clock starts\n"
	    "  --state-dir DIR         host uuid, sim archives and dumps (default /var/lib/rrdd)\n"
	    "  --archive-dir DIR       <uuid>.gz archives (default /var/lib/xcp/blobs/rrds,\n"
	    "                          STATE-DIR/rrds with --source sim)\n"
	    "  --metrics-dir DIR       host-metrics.json, vm-metrics.json (default /dev/shm,\n"
	    "                          STATE-DIR with --source sim)\n"
	    "  --host-uuid UUID        else INSTALLATION_UUID of the inventory, else one kept\n"
	    "                          in STATE-DIR/host-uuid\n"
	    "  --inventory FILE        (default /etc/xensource-inventory)\n"
	    "  --use-min-max           MIN/MAX archives for VM and SR RRDs too\n"
	    "  --enable-all-dss        record every data source, not only the default ones\n"
	    "  --plugin-dir DIR        plugin pages (default /dev/shm/metrics,\n"
	    "                          STATE-DIR/plugins with --source sim)\n"
	    "  --plugin-max-bytes N    largest plugin page read (default 8388608)\n"
	    "  --v3-mapping-file FILE  v3 plugin families -> DS names, xcp-metrics' JSON\n"
	    "                          format (default: its built-in cpu rules)\n"
	    "  --no-inotify            find plugins by scanning the directory every tick\n"
	    "  --net-source auto|kernel|xenstat  VIF and PIF figures: the kernel's links\n"
	    "                          (netlink, any bridge; auto: with --source xen), or\n"
	    "                          libxenstat and /proc/net/dev; kernel with --source sim:\n"
	    "                          the namespace's vif<domid>.<devid> links for its VMs\n"
	    "  --plugin-families plugin|builtin  when xcp-rrdd's plugins (xcp-rrdd-cpu,\n"
	    "                          -netdev, -squeezed, -iostat) report data sources rrdd\n"
	    "                          also makes: the plugin's are recorded and the built-in\n"
	    "                          family stands down (plugin, default), or the reverse\n"
	    "  --cache-stats-command PATH  prints the cache SR's figures after set_cache_sr\n"
	    "                          (default /opt/xensource/bin/tapdisk-cache-stats)\n"
	    "  --cache-stats-interval DURATION  between its runs (default 55s, as xcp-rrdd)\n"
	    "  --networkd-db FILE      xcp-networkd's state: its NICs and bonds (default\n"
	    "                          /var/lib/xcp/networkd.db; absent: physical NICs)\n"
	    "  --tapdisk3-dir DIR      tapdisk3's statistics pages, td3-<pid>/ (default /dev/shm)\n"
	    "  --sm-phy-dir DIR        the SRs' VDI links, <SR>/<VDI> (default /dev/sm/phy)\n"
	    "  --sim-xenstore DIR      sim: a directory tree standing for xenstore (a file per\n"
	    "                          node), through which tapdisk3's VBDs are read too\n"
	    "  --plugin-stale-ticks N  ticks an unchanged page leaves its DSs alone before\n"
	    "                          they go Unknown (default 2; -1: at once)\n"
	    "  --socket PATH           HTTP + RPC Unix socket (default /var/lib/xcp/xcp-rrdd,\n"
	    "                          <state-dir>/xcp-rrdd for sim; none: off)\n"
	    "  --forwarded-socket PATH xapi fd hand-over (default <socket>.forwarded; none: off)\n"
	    "  --metrics-socket PATH   xcp-metrics' plugin socket, protocol v4 (default\n"
	    "                          xcp-metrics beside --socket: /var/lib/xcp/xcp-metrics;\n"
	    "                          none: off, the default with --socket none)\n"
	    "  --listen ADDR:PORT      also serve HTTP on TCP (a non-loopback address needs\n"
	    "                          --auth-file or --insecure-listen; without either it\n"
	    "                          serves GET only: PUT and RPC need the Unix socket)\n"
	    "  --auth-file FILE        TCP credentials: lines 'bearer TOKEN' / 'basic USER:PASS'\n"
	    "  --rpc-path-dirs DIRS    where RPC path arguments (push_sr_rrd) may point, ':'-\n"
	    "                          separated (default $TMPDIR:/tmp:/var/tmp:ARCHIVE-DIR)\n"
	    "  --insecure-listen       serve --listen without credentials, writes included\n"
	    "  --pool-https-port N     other hosts' xapi port for RRD transfers (default 443)\n"
	    "  --pool-secret-file FILE the pool secret sent as the pool_secret cookie\n"
	    "                          (default /etc/xensource/ptoken)\n"
	    "  --pool-tls-verify auto|yes|no  verify pool members' certificates against\n"
	    "                          --pool-ca-bundle (auto: when xapi does, i.e. when\n"
	    "                          /var/xapi/verify-certificates exists)\n"
	    "  --pool-ca-bundle FILE   (default /etc/stunnel/xapi-pool-ca-bundle.pem)\n"
	    "  --pool-timeout DURATION one RRD transfer to or from another host (default 30s)\n"
	    "  --tls-cert PEM, --tls-key PEM   HTTPS on the TCP listener\n"
	    "  --max-connections N     per listener (default 256)\n"
	    "  --http-threads N        HTTP worker threads (default 4)\n"
	    "  --http-timeout SECONDS  idle connection timeout (default 30)\n"
	    "  --http-header-timeout SECONDS  a request's headers must arrive within this\n"
	    "                          (default 10; after an answer: idle timeout + this)\n"
	    "  --http-body-timeout SECONDS  and its body within this after them (default 60)\n"
	    "  --max-connections-per-address N  TCP connections from one address (default 64)\n"
	    "  --max-put-bytes N       largest PUT /rrd body (default 268435456)\n"
	    "  --max-rrds N            VM and SR RRDs kept at most (default 16384); new owners\n"
	    "                          beyond it are refused (PUT: 503, plugins: logged)\n"
	    "  --max-dss N             data sources one RRD records at most (default 16384)\n"
	    "  --journal-fsync-interval DURATION  fsync the journal this often (default 5s,\n"
	    "                          every cycle; 0: every record); a power loss loses at\n"
	    "                          most this much, a crash of rrdd nothing\n"
	    "  --checkpoint-interval DURATION  exact state and archives written this often\n"
	    "                          (default 1h; bounds the journal)\n"
	    "  --no-journal            no journal in STATE-DIR/journal: archives only\n"
	    "  --rrdcached ADDR        forward every 5 s row to an rrdcached (unix:/PATH or\n"
	    "                          HOST[:PORT]) as UPDATEs of DIR/<uuid>.rrd\n"
	    "  --rrdcached-dir DIR     remote file directory (default: the rrdcached's -b)\n"
	    "  --log-level LEVEL       err, warning, notice, info, debug (default info)\n"
	    "  --log-target stderr|syslog\n"
	    "  --log-facility FACILITY syslog facility: daemon (default), user, local0..local7\n"
	    "                          (xcp-rrdd logs to local5)\n"
	    "  --foreground            accepted; rrdd never forks (systemd Type=notify)\n"
	    "  --config FILE           'key = value' lines, keys as the long options;\n"
	    "                          -FILE: read FILE only if it exists\n"
	    "  --check-config          print the effective configuration and exit\n"
	    "  --version, --help\n",
	    f);
}
