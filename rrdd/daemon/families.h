/*
 * Built-in families and xcp-rrdd's plugins on one host.  XCP-ng installs
 * xcp-rrdd's collectors as plugin processes (xcp-rrdd-cpu, -netdev,
 * -squeezed, -iostat) that report the same data sources as rrdd's
 * built-in source.  The rule, per family and per cycle: while such a
 * plugin's page reports (its chunk is in the cycle), the built-in
 * family it would duplicate stands down and the plugin's values are the
 * ones recorded (--plugin-families plugin, the default: what the host
 * showed under xcp-rrdd); or, with --plugin-families builtin, the plugin's
 * samples of those families are ignored and the built-in ones recorded.
 * Other data sources of the plugin are kept either way.  One log line when
 * a plugin starts or stops reporting.
 */
#ifndef RRDD_DAEMON_FAMILIES_H
#define RRDD_DAEMON_FAMILIES_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/chunk.h"
#include "source/catalogue.h"

#define DMN_FAM_MAX 8

enum dmn_fam_mode { DMN_FAM_PLUGIN, DMN_FAM_BUILTIN };

struct dmn_fam {
	enum dmn_fam_mode mode;
	size_t nuid;
	const char *uid[DMN_FAM_MAX]; /* the catalogue's plugin uids */
	unsigned active;              /* bit k: uid[k] reported last cycle */
	struct mon_chunk filtered[DMN_FAM_MAX];
};

/* The plugin uids of the catalogue, nothing active. */
void dmn_fam_init(struct dmn_fam *f, enum dmn_fam_mode mode);

/* This cycle's rule over builtin (the built-in samples, NULL without a
 * source) and chunks[0..n) (the plugins' chunks; in builtin mode an entry
 * may be replaced by a filtered copy owned by f, valid until the next
 * call).  Logs on a change of the plugins reporting. */
void dmn_fam_arbitrate(struct dmn_fam *f, struct src_samples *builtin,
                       const struct mon_chunk **chunks, size_t n);

void dmn_fam_fini(struct dmn_fam *f);

#endif
