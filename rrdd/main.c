/*
 * rrdd: the daemon's entry point.  Parses the options and the config file,
 * sets up logging, the host uuid, the clock, the hypervisor source and the
 * registry (in that order), runs the 5-second loop, and on SIGTERM/SIGINT
 * or the end of --run-for archives every RRD and exits 0.  SIGHUP reopens
 * the log.  Stays in the foreground (systemd Type=notify).
 */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/hastats.h"
#include "daemon/hostid.h"
#include "util/fsutil.h"
#include "fwd/rrdcached.h"
#include "http/http.h"
#include "monitor/change.h"
#include "monitor/registry.h"
#include "plugin/registry.h"
#include "plugin/v3map.h"
#include "plugin/v4srv.h"
#include "daemon/omexpo.h"
#include "source/source.h"
#include "source/source_sim.h"
#include "store/durable.h"
#include "store/fileops.h"
#include "util/log.h"
#ifdef RRDD_TEST_HOOKS
#include "crash_hooks.h"
#endif

static void on_stop(int sig)
{
	(void)sig;
	dmn_stop_requested = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	dmn_reopen_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop; /* no SA_RESTART: the sleep returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* The plugin registry as the RPC sees it (http.h hooks). */
static int hook_reg(void *ctx, const char *uid, int protocol)
{
	return plg_register(ctx, uid, protocol);
}

static int hook_dereg(void *ctx, const char *uid)
{
	return plg_deregister(ctx, uid);
}

static double hook_next(void *ctx, const char *uid)
{
	return plg_next_reading(ctx, uid);
}

static int hook_path(void *ctx, const char *uid, char *buf, size_t len)
{
	return plg_path(ctx, uid, buf, len);
}

static const char *sock_opt(const char *s)
{
	return strcmp(s, "none") ? s : NULL;
}

static int ensure_dir(const char *what, const char *dir)
{
	int rc = fs_mkdirs(dir, 0755);
	if (rc)
		log_warn("%s %s: %s", what, dir, strerror(-rc));
	return rc;
}

/* HTTP on the v4 socket (xcp-metrics' v3 plugins' registration). */
static int adopt_http(void *ctx, int fd)
{
	return http_adopt_unix(ctx, fd);
}

/* What the exposition is made of. */
struct expo_ctx {
	struct mon_registry *reg;
	struct vmnames *names;
};

/* FetchMetrics of the v4 socket: the exposition of GET /metrics. */
static int fetch_expo(void *ctx, bool binary, struct buf *out)
{
	struct expo_ctx *e = ctx;
	om_expo(e->reg, e->names, binary ? OM_FORM_PROTOBUF : OM_FORM_TEXT, out);
	return 0;
}

int main(int argc, char **argv)
{
	struct rrdd_config cfg;
	enum cfg_action action;
	char err[1024];
	/* Large blocks (rendered bodies, RRD copies, plugin pages) straight from
	 * and back to the system: a fixed threshold, not glibc's adaptive one,
	 * which keeps freed big blocks in the heap after a burst of clients. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	if (cfg_parse_args(&cfg, argc, argv, &action, err, sizeof(err))) {
		fprintf(stderr, "rrdd: %s\n", err);
		cfg_usage(stderr);
		return 2;
	}
	if (action == CFG_HELP) {
		cfg_usage(stdout);
		return 0;
	}
	if (action == CFG_VERSION) {
		printf("rrdd %s\n", RRDD_VERSION);
		return 0;
	}
	cfg_finalize(&cfg);
	if (action == CFG_CHECK) {
		cfg_print(&cfg, stdout);
		return 0;
	}
	log_set_facility(cfg.log_facility);
	log_init("rrdd", cfg.log_syslog ? LOG_TO_SYSLOG : LOG_TO_STDERR, cfg.log_level);
	install_signals();
#ifdef RRDD_TEST_HOOKS
	test_hooks_from_env(); /* the rrdd-test build only (tests/hooks) */
#endif

	char host_uuid[37];
	const char *origin;
	if (hostid_resolve(cfg.host_uuid, cfg.inventory, cfg.state_dir, host_uuid, &origin, err,
	                   sizeof(err))) {
		log_err("host uuid: %s", err);
		return 1;
	}
	log_info("rrdd %s starting: host %s (%s), source %s, clock %s", RRDD_VERSION, host_uuid,
	         origin, cfg.source, cfg.clock);

	bool sim = strcmp(cfg.source, "sim") == 0;
	struct src_config sc;
	memset(&sc, 0, sizeof(sc));
	sc.scenario_path = cfg.sim_scenario[0] ? cfg.sim_scenario : NULL;
	sc.sim_domains = cfg.sim_domains;
	sc.sim_seed = cfg.seed;
	sc.net_from = (enum src_net_from)cfg.net_source;
	sc.networkd_db = cfg.networkd_db;
	sc.td3_shm_dir = cfg.tapdisk3_dir;
	sc.sm_phy_dir = cfg.sm_phy_dir;
	sc.sim_xenstore = cfg.sim_xenstore[0] ? cfg.sim_xenstore : NULL;
	/* dom0's Xen handle is all zeros on plain Xen: XenServer's inventory
	 * names its uuid (CONTROL_DOMAIN_UUID), which keys dom0's VM RRD */
	char dom0_uuid[37];
	if (!sim && hostid_inventory_uuid(cfg.inventory, "CONTROL_DOMAIN_UUID", dom0_uuid) == 0)
		sc.dom0_uuid = dom0_uuid;
	struct src *src = NULL;
	bool nosrc = strcmp(cfg.source, "none") == 0;
	int rc = nosrc ? 0 : src_open(sim ? &src_sim_ops : &src_xen_ops, &sc, &src);
	if (rc) {
		log_err("cannot open the %s source: %s%s%s", cfg.source, strerror(-rc),
		        sim && *src_sim_last_error() ? ": " : "", sim ? src_sim_last_error() : "");
		return 1;
	}
	if (src_missing(src))
		log_info("the %s source cannot give, on this host: %s; with xcp-rrdd's plugins "
		         "installed, their pages report what they can",
		         cfg.source, src_missing(src));

	struct clk clk;
	if (strcmp(cfg.clock, "sim") == 0) {
		double epoch = cfg.sim_epoch;
		double scen = sim && src ? src_sim_epoch(src) : NAN;
		if (isfinite(scen))
			epoch = scen; /* the scenario's own epoch wins */
		clk_init_sim(&clk, epoch);
	} else if (strcmp(cfg.clock, "paced") == 0) {
		clk_init_paced(&clk, cfg.sim_epoch);
	} else {
		clk_init_real(&clk);
	}

	const char *archive_dir = cfg.archive_dir;
	if (ensure_dir("archive directory", archive_dir)) {
		log_warn("archives disabled");
		archive_dir = NULL;
	}
	const char *metrics_dir = cfg.metrics_dir;
	if (ensure_dir("metrics directory", metrics_dir))
		metrics_dir = NULL;

	struct mon_config mc = {.host_uuid = host_uuid,
	                        .use_min_max = cfg.use_min_max,
	                        .enable_all = cfg.enable_all_dss,
	                        .max_rrds = cfg.max_rrds,
	                        .max_ds = cfg.max_dss};
	struct mon_registry *reg = mon_registry_new(&mc);
	struct v3map *v3map = NULL;
	if (cfg.v3_mapping_file[0]) {
		char merr[300];
		if (v3map_load(cfg.v3_mapping_file, &v3map, merr, sizeof(merr)) < 0) {
			log_err("%s", merr);
			mon_registry_free(reg);
			src_close(src);
			return 1;
		}
		log_info("plugins: v3 pages mapped by %s (%zu rules)", cfg.v3_mapping_file,
		         v3map->n);
	}
	struct plg_registry_opts po = {.dir = cfg.plugin_dir,
	                               .v3map = v3map,
	                               .max_bytes = (size_t)cfg.plugin_max_bytes,
	                               .no_inotify = cfg.no_inotify,
	                               .stale_ticks =
	                                   cfg.plugin_stale_ticks ? cfg.plugin_stale_ticks : -1,
	                               .clk = &clk};
	struct plg_registry *plugins = plg_registry_new(&po);
	log_info("plugins: reading %s (%zu found)", plg_dir(plugins), plg_count(plugins));
	/* HA and cache SR data sources: set by RPC calls, reported by the tick */
	struct hastats *hastats = hastats_new(cfg.cache_stats_command, cfg.cache_stats_interval);
	/* the VMs' names, for the exposition's info family */
	struct vmnames *vmnames = vmnames_new();
	struct expo_ctx expo = {reg, vmnames};
	struct dmn_options opt = {.archive_dir = archive_dir,
	                          .metrics_dir = metrics_dir,
	                          .uid = sim ? "rrdd-sim" : "rrdd-xen",
	                          .run_for = cfg.run_for,
	                          .notify = true,
	                          .plugins = plugins,
	                          .plugin_families = (enum dmn_fam_mode)cfg.plugin_families,
	                          .hastats = hastats,
	                          .vmnames = vmnames};
	/* durability: checkpoint + journal replay before the first cycle */
	struct store_dur_options so = {.state_dir = cfg.no_journal ? NULL : cfg.state_dir,
	                               .archive_dir = archive_dir,
	                               .host_uuid = host_uuid,
	                               .fsync_interval = cfg.journal_fsync_interval,
	                               .checkpoint_interval = cfg.checkpoint_interval,
	                               .background_checkpoints = true};
	struct store_dur *dur;
	struct store_dur_recovery rec;
	store_dur_open(&so, reg, &dur, &rec); /* from here on the registry's log */
	/* the journal replayed RRDs with the use_min_max they were made with;
	 * from now on the configured value again (update_use_min_max lasts
	 * until a restart, as in xcp-rrdd) */
	struct mon_change mm = {.kind = MON_CH_MIN_MAX, .use_min_max = cfg.use_min_max};
	mon_commit(reg, &mm, 0, NULL);
	opt.dur = dur;
	struct dmn d;
	dmn_init(&d, &opt, &clk, src, reg);
	bool finished = false;
	if (sim && src && clk.ops == &clk_sim_ops && isfinite(rec.last_t) &&
	    rec.last_t >= clk.sim_epoch) {
		/* a simulated run continues where the recovered one stopped */
		double next = rec.last_t - clk.sim_epoch + DMN_PERIOD;
		rc = dmn_resume(&d, clk.sim_epoch, rec.last_t, DMN_PERIOD);
		if (rc == 0) {
			clk_sim_set(&clk, next);
			if (cfg.run_for > 0) {
				double left = cfg.run_for - next;
				finished = left < 0;
				d.opt.run_for = left > 0 ? left : 1e-9;
			}
			log_info("simulated run resumed after the cycle at %.3f%s", rec.last_t,
			         finished ? " (already complete)" : "");
		} else {
			log_warn("simulated run not resumed: %s", strerror(-rc));
		}
	}
	struct http_config hc = {.socket_path = sock_opt(cfg.socket_path),
	                         .forwarded_path = sock_opt(cfg.forwarded_path),
	                         .listen = cfg.listen,
	                         .auth_file = cfg.auth_file,
	                         .rpc_path_dirs = cfg.rpc_path_dirs,
	                         .insecure_listen = cfg.insecure_listen,
	                         .tls_cert = cfg.tls_cert,
	                         .tls_key = cfg.tls_key,
	                         .max_connections = cfg.max_connections,
	                         .timeout_s = cfg.http_timeout,
	                         .header_timeout_s = cfg.http_header_timeout,
	                         .body_timeout_s = cfg.http_body_timeout,
	                         .max_per_address = cfg.max_per_address,
	                         .max_put_bytes = (size_t)cfg.max_put_bytes,
	                         .threads = cfg.http_threads,
	                         .reg = reg,
	                         .dur = dur,
	                         .clk = &clk,
	                         .host_uuid = host_uuid,
	                         .hastats = hastats,
	                         .vmnames = vmnames,
	                         .pool = {.https_port = (int)cfg.pool_https_port,
	                                  .secret_file = cfg.pool_secret_file,
	                                  .verify = (enum rpc_pool_verify)cfg.pool_tls_verify,
	                                  .ca_bundle = cfg.pool_ca_bundle,
	                                  .timeout = cfg.pool_timeout,
	                                  .max_pull_bytes = cfg.max_put_bytes},
	                         .plugins = {plugins, hook_reg, hook_dereg, hook_next, hook_path}};
	struct http_server *http = NULL;
	rc = http_start(&hc, &http, err, sizeof(err));
	if (rc) {
		log_err("http: %s", err);
		dmn_fini(&d);
		hastats_free(hastats);
		store_dur_close(dur);
		plg_registry_free(plugins);
		v3map_free(v3map);
		vmnames_free(vmnames);
		mon_registry_free(reg);
		src_close(src);
		return 1;
	}
	/* xcp-metrics' plugin socket (protocol v4): its plugins are the
	 * registry's; a socket that cannot be bound costs only that */
	struct v4srv *v4 = NULL;
	if (strcmp(cfg.metrics_socket, "none")) {
		struct v4srv_config vc = {.path = cfg.metrics_socket,
		                          .mode_dir = plg_dir(plugins),
		                          .reg = plugins,
		                          .fetch = fetch_expo,
		                          .fetch_ctx = &expo,
		                          .adopt_http = adopt_http,
		                          .adopt_ctx = http};
		if (v4srv_start(&vc, &v4, err, sizeof(err)))
			log_warn("v4 plugin socket: %s (v4 plugins cannot connect)", err);
		else
			log_info("v4 plugin socket: %s", cfg.metrics_socket);
	}
	struct rcd *rcd = NULL; /* --rrdcached forwarding, its own thread */
	if (cfg.rrdcached[0]) {
		struct rcd_options ro = {.address = cfg.rrdcached, .dir = cfg.rrdcached_dir};
		if (rcd_start(reg, &ro, &rcd, err, sizeof(err)))
			log_err("%s (not forwarding)", err);
		else
			log_info("rrdcached: forwarding to %s", cfg.rrdcached);
	}
	int status = finished ? (dmn_archive_all(&d) ? 1 : 0) : dmn_run(&d);
	rcd_stop(rcd);
	v4srv_stop(v4);
	http_stop(http);
	hastats_free(hastats); /* after the RPC service that sets it */
	log_info("stopped: %llu ticks, %llu archives written, %llu archive errors",
	         (unsigned long long)d.st.ticks, (unsigned long long)d.st.archived,
	         (unsigned long long)d.st.archive_errors);
	dmn_fini(&d);
	store_dur_close(dur);
	plg_registry_free(plugins);
	v3map_free(v3map);
	vmnames_free(vmnames);
	mon_registry_free(reg);
	src_close(src);
	return status;
}
