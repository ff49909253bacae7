/*
 * rrdd: the daemon's entry point.  Parses the options and the config file,
 * sets up logging, the host uuid, the clock, the hypervisor source and the
 * registry (in that order), runs the 5-second loop, and on SIGTERM/SIGINT
 * or the end of --run-for archives every RRD and exits 0.  SIGHUP reopens
 * the log.  Stays in the foreground (systemd Type=notify).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/hostid.h"
#include "monitor/registry.h"
#include "plugin/registry.h"
#include "source/source.h"
#include "source/source_sim.h"
#include "util/log.h"

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

static int ensure_dir(const char *what, const char *dir)
{
	int rc = hostid_mkdirs(dir);
	if (rc)
		log_warn("%s %s: %s", what, dir, strerror(-rc));
	return rc;
}

int main(int argc, char **argv)
{
	struct rrdd_config cfg;
	enum cfg_action action;
	char err[1024];
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
	log_init("rrdd", cfg.log_syslog ? LOG_TO_SYSLOG : LOG_TO_STDERR, cfg.log_level);
	install_signals();

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
	struct src *src;
	int rc = src_open(sim ? &src_sim_ops : &src_xen_ops, &sc, &src);
	if (rc) {
		log_err("cannot open the %s source: %s%s%s", cfg.source, strerror(-rc),
		        sim && *src_sim_last_error() ? ": " : "", sim ? src_sim_last_error() : "");
		return 1;
	}

	struct clk clk;
	if (strcmp(cfg.clock, "sim") == 0) {
		double epoch = cfg.sim_epoch;
		double scen = sim ? src_sim_epoch(src) : NAN;
		if (isfinite(scen))
			epoch = scen; /* the scenario's own epoch wins */
		clk_init_sim(&clk, epoch);
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
	                        .enable_all = cfg.enable_all_dss};
	struct mon_registry *reg = mon_registry_new(&mc);
	struct plg_registry_opts po = {.dir = cfg.plugin_dir,
	                               .max_bytes = (size_t)cfg.plugin_max_bytes,
	                               .no_inotify = cfg.no_inotify,
	                               .stale_ticks =
	                                   cfg.plugin_stale_ticks ? cfg.plugin_stale_ticks : -1};
	struct plg_registry *plugins = plg_registry_new(&po);
	log_info("plugins: reading %s (%zu found)", plg_dir(plugins), plg_count(plugins));
	struct dmn_options opt = {.archive_dir = archive_dir,
	                          .metrics_dir = metrics_dir,
	                          .uid = sim ? "rrdd-sim" : "rrdd-xen",
	                          .run_for = cfg.run_for,
	                          .notify = true,
	                          .plugins = plugins};
	struct dmn d;
	dmn_init(&d, &opt, &clk, src, reg);
	int status = dmn_run(&d);
	log_info("stopped: %llu ticks, %llu archives written, %llu archive errors",
	         (unsigned long long)d.st.ticks, (unsigned long long)d.st.archived,
	         (unsigned long long)d.st.archive_errors);
	dmn_fini(&d);
	plg_registry_free(plugins);
	mon_registry_free(reg);
	src_close(src);
	return status;
}
