/*
 * rrd2csv compatibility (xen-api ocaml/rrd2csv, man rrd2csv(1)): the
 * CF:SOURCE:UUID:METRIC selector grammar, the -n/-u/-s flags and the CSV
 * output, reproduced from the observable behaviour of the original:
 *   - a selector is four ':'-separated fields or a bare METRIC; an empty
 *     field (or an unknown CF or SOURCE) is a wildcard; METRIC matches as a
 *     prefix ("cpu" selects cpu0, cpu_avg...); several selectors are OR'ed;
 *   - the header is "timestamp, " then the selected legend entries joined by
 *     ", ", in the reverse of the daemon's legend order (rrd2csv builds its
 *     list by prepending), CSV-quoted when they hold '"', ',' or newline;
 *   - each line is the UTC time of the newest row ("%Y-%m-%dT%H:%M:%SZ"),
 *     then each value: integral values as "%.0f", others "%f", NaN or a
 *     vanished DS as "N/A";
 *   - -n replaces the uuid by the owner's name, -u (with -n) shows
 *     "UUID (NAME)"; warnings go to stdout as "WARNING: ..." lines.
 * Differences (documented in the man page): we read rrd_updates from rrdd's
 * socket (JSON, start=-10 relative to the last update) instead of xapi's;
 * names come from --names FILE, then xenstore (/vm/UUID/name), then the
 * host name, instead of XAPI; --count N stops after N lines.
 * Writes only to stdout/stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "tool/cli.h"
#include "tool/cli_updates.h"
#include "util/buf.h"
#include "util/xalloc.h"

enum sel_owner { SO_ANY, SO_HOST, SO_VM, SO_SR };

struct sel {
	char cf[8]; /* "" = any */
	enum sel_owner owner;
	char *uuid;   /* "" = any */
	char *metric; /* "" = any; prefix match */
};

static const char *cf_known(const char *s)
{
	static const char *const cfs[] = {"AVERAGE", "MIN", "MAX", "LAST"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, cfs[i]) == 0)
			return cfs[i];
	return "";
}

static enum sel_owner owner_of(const char *s)
{
	return !strcmp(s, "host") ? SO_HOST
	       : !strcmp(s, "vm") ? SO_VM
	       : !strcmp(s, "sr") ? SO_SR
	                          : SO_ANY;
}

static const char *owner_text(enum sel_owner o)
{
	return o == SO_HOST ? "host" : o == SO_VM ? "vm" : o == SO_SR ? "sr" : "";
}

/* Parse a command-line selector; -EINVAL unless 1 or 4 fields. */
static int sel_parse(const char *s, struct sel *out)
{
	int colons = 0;
	for (const char *p = s; *p; p++)
		colons += *p == ':';
	memset(out, 0, sizeof(*out));
	if (colons == 0) {
		out->uuid = xstrdup("");
		out->metric = xstrdup(s);
		return 0;
	}
	if (colons != 3)
		return -EINVAL;
	struct cli_legend l;
	if (cli_legend_parse(s, &l))
		return -EINVAL;
	snprintf(out->cf, sizeof(out->cf), "%s", cf_known(l.cf));
	out->owner = owner_of(l.owner);
	out->uuid = xstrdup(l.uuid);
	out->metric = xstrdup(l.name);
	cli_legend_free(&l);
	return 0;
}

static void sel_free(struct sel *s)
{
	free(s->uuid);
	free(s->metric);
}

/* rrd2csv's filter11: does legend entry d pass selector f? */
static int sel_match(const struct sel *f, const struct cli_legend *d)
{
	if (strncmp(d->name, f->metric, strlen(f->metric)) != 0)
		return 0;
	if (f->cf[0] && strcmp(f->cf, cf_known(d->cf)) != 0)
		return 0;
	if (f->owner != SO_ANY && f->owner != owner_of(d->owner))
		return 0;
	return f->uuid[0] == 0 || strcmp(f->uuid, d->uuid) == 0;
}

/* Same DS in two answers: all four fields equal (rrd2csv compares parsed
 * selectors, so unknown CFs/owners compare as wildcards, i.e. equal). */
static int same_ds(const struct cli_legend *a, const struct cli_legend *b)
{
	return !strcmp(cf_known(a->cf), cf_known(b->cf)) &&
	       owner_of(a->owner) == owner_of(b->owner) && !strcmp(a->uuid, b->uuid) &&
	       !strcmp(a->name, b->name);
}

/* Names of owners for -n: a uuid -> name file, then xenstore, then the host
 * name; unknown names are "" as rrd2csv prints when XAPI has none. */
struct names {
	char **uuid, **name;
	size_t n;
	struct xs_handle *xs;
	int xs_tried;
};

static int names_load(struct names *nm, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "rrd2csv: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		char *sp = line + strcspn(line, " \t");
		if (!*line || *line == '#' || !*sp)
			continue;
		*sp++ = 0;
		sp += strspn(sp, " \t");
		nm->uuid = xrealloc(nm->uuid, (nm->n + 1) * sizeof(char *));
		nm->name = xrealloc(nm->name, (nm->n + 1) * sizeof(char *));
		nm->uuid[nm->n] = xstrdup(line);
		nm->name[nm->n] = xstrdup(sp);
		nm->n++;
	}
	fclose(f);
	return 0;
}

static char *name_of(struct names *nm, enum sel_owner o, const char *uuid)
{
	for (size_t i = 0; i < nm->n; i++)
		if (strcmp(nm->uuid[i], uuid) == 0)
			return xstrdup(nm->name[i]);
	if (o == SO_VM) {
		if (!nm->xs_tried) {
			nm->xs_tried = 1;
			if (access("/dev/xen/xenbus", F_OK) == 0 ||
			    access("/var/run/xenstored/socket", F_OK) == 0)
				nm->xs = xs_open(XS_OPEN_READONLY);
		}
		if (nm->xs) {
			char path[128];
			unsigned len;
			snprintf(path, sizeof(path), "/vm/%s/name", uuid);
			char *v = xs_read(nm->xs, XBT_NULL, path, &len);
			if (v)
				return v;
		}
	}
	if (o == SO_HOST) {
		char h[256];
		if (gethostname(h, sizeof(h)) == 0) {
			h[sizeof(h) - 1] = 0;
			return xstrdup(h);
		}
	}
	return xstrdup("");
}

static void names_free(struct names *nm)
{
	for (size_t i = 0; i < nm->n; i++) {
		free(nm->uuid[i]);
		free(nm->name[i]);
	}
	free(nm->uuid);
	free(nm->name);
	if (nm->xs)
		xs_close(nm->xs);
}

/* RFC 4180 quoting as rrd2csv's escape_metric does it. */
static void csv_field(struct buf *b, const char *s)
{
	if (strchr(s, '"')) {
		buf_addc(b, '"');
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				buf_addc(b, '"');
			buf_addc(b, *p);
		}
		buf_addc(b, '"');
	} else if (strchr(s, ',') || strchr(s, '\n')) {
		buf_printf(b, "\"%s\"", s);
	} else {
		buf_adds(b, s);
	}
}

/* rrd2csv's Stdout.string_of_float plus its "nan" -> "N/A". */
static void csv_value(struct buf *b, double v)
{
	double ip;
	if (isnan(v))
		buf_adds(b, "N/A");
	else if (modf(v, &ip) == 0.0)
		buf_printf(b, "%.0f", v);
	else
		buf_printf(b, "%f", v);
}

static void usage(FILE *f)
{
	fputs("usage: rrdd-tool rrd2csv [-n] [-u] [-s SECONDS] [--count N] [--names FILE]\n"
	      "                         [--socket PATH] [CF:SOURCE:UUID:METRIC | METRIC]...\n"
	      "  -n  show name labels instead of uuids   -u  with -n, show uuids as well\n"
	      "  -s  sampling period (default: the datasources' step)\n"
	      "  CF: AVERAGE|MIN|MAX|LAST, SOURCE: host|vm|sr, empty fields are wildcards,\n"
	      "  METRIC matches as a prefix.\n",
	      f);
}

int cli_rrd2csv(int argc, char **argv)
{
	static const struct option lo[] = {{"socket", required_argument, 0, 'S'},
	                                   {"timeout", required_argument, 0, 'T'},
	                                   {"count", required_argument, 0, 'c'},
	                                   {"names", required_argument, 0, 'N'},
	                                   {"help", no_argument, 0, 'h'},
	                                   {"version", no_argument, 0, 'v'},
	                                   {0, 0, 0, 0}};
	struct cli_conn conn = {CLI_DEFAULT_SOCKET, 30000, 256u << 20};
	int show_name = 0, show_uuid = 0, ch;
	long sp = -1, count = -1;
	const char *names_file = NULL;
	char *end;
	const char *env = getenv("RRDD_SOCKET");
	if (env && *env)
		conn.socket = env;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "nus:hv", lo, NULL)) != -1) {
		switch (ch) {
		case 'n':
			show_name = 1;
			break;
		case 'u':
			show_uuid = 1;
			break;
		case 's':
		case 'c':
		case 'T':
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < (ch == 'c' ? 0 : 1) ||
			    v > 86400 * 365) {
				fprintf(stderr, "rrd2csv: bad number '%s'\n", optarg);
				return 2;
			}
			if (ch == 's')
				sp = v;
			else if (ch == 'c')
				count = v;
			else
				conn.timeout_ms =
				    (int)(v * 1000 > 2000000000 ? 2000000000 : v * 1000);
			break;
		case 'S':
			conn.socket = optarg;
			break;
		case 'N':
			names_file = optarg;
			break;
		case 'v':
			printf("rrd2csv (rrdd-tool) version %s\n", RRDD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* rrd2csv: uuids are shown unless -n is given without -u */
	show_uuid = show_name ? show_uuid : 1;
	int nsel = argc - optind;
	struct sel *sels = xcalloc(nsel > 0 ? (size_t)nsel : 1, sizeof(*sels));
	int rc = 0;
	for (int i = 0; i < nsel; i++) {
		if (sel_parse(argv[optind + i], &sels[i])) {
			fprintf(stderr,
			        "rrd2csv: bad datasource selector '%s' (CF:SOURCE:UUID:METRIC or "
			        "METRIC)\n",
			        argv[optind + i]);
			for (int k = 0; k < i; k++)
				sel_free(&sels[k]);
			free(sels);
			return 2;
		}
	}
	struct names nm = {0};
	if (names_file && names_load(&nm, names_file)) {
		rc = 2;
		goto out_sels;
	}
	struct cli_updates_query q = {.start = -10, .host = 1};
	struct cli_xport init;
	char err[1024];
	int frc = cli_updates_fetch(&conn, &q, &init, err, sizeof(err));
	if (frc) {
		rc = cli_fail("rrd2csv", frc, err);
		goto out_names;
	}
	/* the selected entries, in reverse legend order as rrd2csv lists them */
	size_t nchosen = 0;
	struct cli_legend **chosen = xcalloc(init.ncols ? init.ncols : 1, sizeof(*chosen));
	for (size_t k = init.ncols; k-- > 0;) {
		int pass = nsel == 0;
		for (int i = 0; i < nsel && !pass; i++)
			pass = sel_match(&sels[i], &init.legend[k]);
		if (pass)
			chosen[nchosen++] = &init.legend[k];
	}
	if (sp > 0 && init.step > sp)
		printf("WARNING: Requested sampling period (%lds) is lower than the period of "
		       "datasources (%llds)\n",
		       sp, init.step);
	for (int i = nsel; i-- > 0;) {
		int found = 0;
		for (size_t k = 0; k < init.ncols && !found; k++)
			found = strncmp(init.legend[k].name, sels[i].metric,
			                strlen(sels[i].metric)) == 0;
		if (!found)
			printf(
			    "WARNING: Requested metric %s:%s:%s:%s is disabled or non-existant\n",
			    sels[i].cf, owner_text(sels[i].owner), sels[i].uuid, sels[i].metric);
	}
	struct buf line = BUF_INIT;
	buf_adds(&line, "timestamp, ");
	for (size_t k = 0; k < nchosen; k++) {
		const struct cli_legend *l = chosen[k];
		struct buf e = BUF_INIT;
		enum sel_owner o = owner_of(l->owner);
		buf_printf(&e, "%s:%s:", cf_known(l->cf), owner_text(o));
		if (show_name) {
			char *name = o == SO_ANY ? xstrdup("") : name_of(&nm, o, l->uuid);
			if (show_uuid)
				buf_printf(&e, "%s (%s)", l->uuid, name);
			else
				buf_adds(&e, name);
			free(name);
		} else {
			buf_adds(&e, l->uuid);
		}
		buf_printf(&e, ":%s", l->name);
		if (k)
			buf_adds(&line, ", ");
		csv_field(&line, buf_cstr(&e));
		buf_free(&e);
	}
	puts(buf_cstr(&line));
	fflush(stdout);
	long period = sp > 0 ? sp : (init.step > 0 ? (long)init.step : 5);
	for (long printed = 0; count < 0 || printed < count;) {
		struct cli_xport x;
		frc = cli_updates_fetch(&conn, &q, &x, err, sizeof(err));
		if (frc) {
			rc = cli_fail("rrd2csv", frc, err);
			break;
		}
		if (x.nrows == 0) {
			fprintf(stderr, "rrd2csv: rrdd returned no rows; skipping this sample\n");
		} else {
			char ts[32];
			cli_time_text(x.t[0], ts);
			buf_reset(&line);
			buf_printf(&line, "%s, ", ts);
			for (size_t k = 0; k < nchosen; k++) {
				double v = NAN;
				for (size_t j = 0; j < x.ncols; j++)
					if (same_ds(chosen[k], &x.legend[j])) {
						v = x.v[j];
						break;
					}
				if (k)
					buf_adds(&line, ", ");
				csv_value(&line, v);
			}
			puts(buf_cstr(&line));
			fflush(stdout);
			printed++;
		}
		cli_xport_free(&x);
		if (count >= 0 && printed >= count)
			break;
		sleep((unsigned)period);
	}
	buf_free(&line);
	free(chosen);
	cli_xport_free(&init);
out_names:
	names_free(&nm);
out_sels:
	for (int i = 0; i < nsel; i++)
		sel_free(&sels[i]);
	free(sels);
	return rc;
}
