/*
 * Configuration and host identity (rrdd/daemon/config.c, hostid.c):
 * durations with and without units, rejected junk, config text with
 * comments, quotes, aliases and errors naming the line, command line over
 * file, and the host uuid: option > inventory > state file, generated once
 * and the same on the next call, a malformed state file refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/config.h"
#include "daemon/hostid.h"

static void test_durations(void **state)
{
	(void)state;
	double v;
	assert_int_equal(cfg_parse_duration("90", &v), 0);
	assert_true(v == 90);
	assert_int_equal(cfg_parse_duration("90s", &v), 0);
	assert_true(v == 90);
	assert_int_equal(cfg_parse_duration("10m", &v), 0);
	assert_true(v == 600);
	assert_int_equal(cfg_parse_duration("2h", &v), 0);
	assert_true(v == 7200);
	assert_int_equal(cfg_parse_duration("1d", &v), 0);
	assert_true(v == 86400);
	assert_int_equal(cfg_parse_duration("1.5h", &v), 0);
	assert_true(v == 5400);
	assert_int_equal(cfg_parse_duration("0", &v), 0);
	assert_true(v == 0);
	const char *bad[] = {"",    "s",   "-5",  "+5",  " 5",     "5x",
	                     "5ss", "5 s", "nan", "inf", "1e300d", "0x10"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double w = -1;
		int rc = cfg_parse_duration(bad[i], &w);
		if (rc != -EINVAL)
			fail_msg("'%s' accepted as %g", bad[i], w);
	}
}

static void test_config_text(void **state)
{
	(void)state;
	struct rrdd_config c;
	char err[256];
	cfg_defaults(&c);
	assert_string_equal(c.source, "xen");
	assert_int_equal(cfg_parse_text(&c,
	                                "# a comment\n\n  source = sim  \nclock=sim # tail\n"
	                                "run_for = 10m\nstate-dir = \"/tmp/x y\"\n"
	                                "plugin-default = yes\nloglevel = debug\n"
	                                "disable-logging-for = http\r\n",
	                                "t.conf", err, sizeof(err)),
	                 0);
	assert_string_equal(c.source, "sim");
	assert_string_equal(c.clock, "sim");
	assert_true(c.run_for == 600);
	assert_string_equal(c.state_dir, "/tmp/x y");
	assert_true(c.enable_all_dss);
	cfg_finalize(&c);
	assert_string_equal(c.archive_dir, "/tmp/x y/rrds");
	assert_string_equal(c.metrics_dir, "/tmp/x y");

	cfg_defaults(&c);
	assert_int_equal(cfg_parse_text(&c, "source = sim\nfoo = 1\n", "t.conf", err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "t.conf:2"));
	assert_non_null(strstr(err, "foo"));
	assert_int_equal(cfg_parse_text(&c, "source sim\n", "t.conf", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "t.conf:1"));
	assert_int_equal(cfg_parse_text(&c, "source = kvm\n", "t.conf", err, sizeof(err)), -EINVAL);
	assert_int_equal(cfg_parse_text(&c, "sim-domains = 99999\n", "t", err, sizeof(err)),
	                 -EINVAL);
	assert_int_equal(cfg_parse_text(&c, "host-uuid = 123\n", "t", err, sizeof(err)), -EINVAL);
	assert_int_equal(cfg_parse_text(&c, "foreground = maybe\n", "t", err, sizeof(err)),
	                 -EINVAL);
	cfg_defaults(&c);
	cfg_finalize(&c);
	assert_string_equal(c.archive_dir, "/var/lib/xcp/blobs/rrds");
	assert_string_equal(c.metrics_dir, "/dev/shm");
}

static char tmpd[256];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_args_override_file(void **state)
{
	(void)state;
	char conf[512], err[256];
	snprintf(conf, sizeof(conf), "%s/rrdd.conf", tmpd);
	write_file(conf, "source = sim\nsim-domains = 4\nseed = 9\n");
	char *argv[] = {"rrdd", "--sim-domains", "6", "--config", conf, "--clock", "sim", NULL};
	struct rrdd_config c;
	enum cfg_action a;
	assert_int_equal(cfg_parse_args(&c, 7, argv, &a, err, sizeof(err)), 0);
	assert_int_equal(a, CFG_RUN);
	assert_string_equal(c.source, "sim");
	assert_int_equal(c.sim_domains, 6);
	assert_int_equal(c.seed, 9);
	assert_string_equal(c.clock, "sim");
	char *argv2[] = {"rrdd", "--run-for", "soon", NULL};
	assert_int_equal(cfg_parse_args(&c, 3, argv2, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "run-for"));
	char *argv3[] = {"rrdd", "--check-config", NULL};
	assert_int_equal(cfg_parse_args(&c, 2, argv3, &a, err, sizeof(err)), 0);
	assert_int_equal(a, CFG_CHECK);
}

static void test_host_uuid(void **state)
{
	(void)state;
	char sd[512], inv[512], out[37], out2[37], err[256];
	const char *origin;
	snprintf(sd, sizeof(sd), "%s/state/sub", tmpd);
	snprintf(inv, sizeof(inv), "%s/inventory", tmpd);

	/* generated once (the state dir is created), then read back */
	assert_int_equal(hostid_resolve(NULL, inv, sd, out, &origin, err, sizeof(err)), 0);
	assert_string_equal(origin, "generated");
	assert_true(hostid_uuid_ok(out));
	assert_int_equal(out[14], '4'); /* version 4 */
	assert_int_equal(hostid_resolve("", inv, sd, out2, &origin, err, sizeof(err)), 0);
	assert_string_equal(origin, "state");
	assert_string_equal(out, out2);

	/* the inventory wins over the state file, upper case folded */
	write_file(inv,
	           "BUILD_NUMBER=1\nINSTALLATION_UUID=\"0123ABCD-0000-4000-8000-00000000000F\"\n");
	assert_int_equal(hostid_resolve(NULL, inv, sd, out2, &origin, err, sizeof(err)), 0);
	assert_string_equal(origin, "inventory");
	assert_string_equal(out2, "0123abcd-0000-4000-8000-00000000000f");
	/* the option wins over everything */
	assert_int_equal(hostid_resolve("11111111-2222-4333-8444-555555555555", inv, sd, out2,
	                                &origin, err, sizeof(err)),
	                 0);
	assert_string_equal(origin, "option");
	assert_int_equal(hostid_resolve("nope", inv, sd, out2, &origin, err, sizeof(err)), -EINVAL);
	/* other keys of the inventory: dom0's uuid; a key that is a prefix
	 * of another does not match it */
	write_file(inv, "INSTALLATION_UUID_OLD=22222222-0000-4000-8000-000000000000\n"
	                "CONTROL_DOMAIN_UUID='AAAAAAAA-0000-4000-8000-00000000000B'\n");
	assert_int_equal(hostid_inventory_uuid(inv, "CONTROL_DOMAIN_UUID", out2), 0);
	assert_string_equal(out2, "aaaaaaaa-0000-4000-8000-00000000000b");
	assert_int_equal(hostid_inventory_uuid(inv, "INSTALLATION_UUID", out2), -ENOENT);
	assert_int_equal(hostid_inventory_uuid(inv, "NOPE", out2), -ENOENT);
	/* a bad inventory value is an error, not a silent fallback */
	write_file(inv, "INSTALLATION_UUID=garbage\n");
	assert_int_equal(hostid_resolve(NULL, inv, sd, out2, &origin, err, sizeof(err)), -EINVAL);
	unlink(inv);

	/* a malformed state file is refused, never replaced */
	char path[600];
	snprintf(path, sizeof(path), "%s/host-uuid", sd);
	write_file(path, "not a uuid\n");
	assert_int_equal(hostid_resolve(NULL, inv, sd, out2, &origin, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "host-uuid"));
	FILE *f = fopen(path, "r");
	char line[64] = "";
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "not a uuid\n");
}

int main(void)
{
	snprintf(tmpd, sizeof(tmpd), "/tmp/test_config.XXXXXX");
	if (!mkdtemp(tmpd))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_config_text),
	    cmocka_unit_test(test_args_override_file),
	    cmocka_unit_test(test_host_uuid),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpd);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
