/*
 * Built-in families against xcp-rrdd's plugins (see families.h).
 */
#include "daemon/families.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"

void dmn_fam_init(struct dmn_fam *f, enum dmn_fam_mode mode)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	size_t n;
	const struct src_catdef *c = src_catalogue(&n);
	for (size_t i = 0; i < n; i++) {
		if (!c[i].plugin)
			continue;
		bool seen = false;
		for (size_t k = 0; k < f->nuid && !seen; k++)
			seen = !strcmp(f->uid[k], c[i].plugin);
		if (!seen && f->nuid < DMN_FAM_MAX)
			f->uid[f->nuid++] = c[i].plugin;
	}
}

/* A copy of c without the samples of the built-in families c's plugin
 * duplicates (strings borrowed from c). */
static void without_builtin(const struct mon_chunk *c, struct mon_chunk *out)
{
	mon_chunk_reset(out);
	snprintf(out->uid, sizeof(out->uid), "%s", c->uid);
	out->t = c->t;
	for (uint32_t o = 0; o < c->nowner; o++) {
		const struct mon_chunk_owner *in = &c->owner[o];
		struct mon_chunk_owner *ow = mon_chunk_add_owner(out, in->kind, in->uuid);
		for (uint32_t i = 0; i < in->nds; i++) {
			const struct src_catdef *def =
			    src_catalogue_match(in->kind, in->ds[i].d.name);
			if (def && def->plugin && !strcmp(def->plugin, c->uid))
				continue;
			struct mon_sample *s = mon_owner_add_sample(ow);
			s->d = in->ds[i].d;
			s->v = mon_owner_value(in, i);
		}
	}
}

void dmn_fam_arbitrate(struct dmn_fam *f, struct src_samples *builtin,
                       const struct mon_chunk **chunks, size_t n)
{
	unsigned now = 0;
	const char *uids[DMN_FAM_MAX];
	size_t nu = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < f->nuid; k++)
			if (!strcmp(chunks[i]->uid, f->uid[k])) {
				if (!(now & (1u << k)))
					uids[nu++] = f->uid[k];
				now |= 1u << k;
				if (f->mode == DMN_FAM_BUILTIN && builtin) {
					without_builtin(chunks[i], &f->filtered[k]);
					chunks[i] = &f->filtered[k];
				}
			}
	if (f->mode == DMN_FAM_PLUGIN && builtin && nu)
		src_samples_drop_plugins(builtin, uids, nu);
	for (size_t k = 0; k < f->nuid; k++) {
		unsigned bit = 1u << k;
		if ((now & bit) == (f->active & bit) || !builtin)
			continue;
		if (now & bit)
			log_notice(
			    "plugin %s reports: %s", f->uid[k],
			    f->mode == DMN_FAM_PLUGIN
			        ? "rrdd's built-in data sources of its family stand down while "
			          "it does (--plugin-families plugin)"
			        : "its data sources of rrdd's built-in families are ignored "
			          "(--plugin-families builtin)");
		else
			log_notice("plugin %s stopped reporting%s", f->uid[k],
			           f->mode == DMN_FAM_PLUGIN
			               ? ": rrdd's built-in data sources of its "
			                 "family are recorded again"
			               : "");
	}
	f->active = now;
}

void dmn_fam_fini(struct dmn_fam *f)
{
	for (size_t k = 0; k < DMN_FAM_MAX; k++)
		mon_chunk_clear(&f->filtered[k]);
}
