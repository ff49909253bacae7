/*
 * Reading xcp-networkd's state (see networkd.h) with json-c.  Its record
 * (ocaml/networkd/lib/network_config.ml, Network_interface.config_t):
 * "interface_order" a list of {"name", "position", "present", ...} or
 * null; "bridge_config" the bridges, each with "ports", each port with
 * "interfaces" (a bond when more than one) -- (name, value) lists that may
 * come as objects or as arrays of [name, value] pairs.
 */
#include "source/networkd.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/procfs.h"
#include "util/xalloc.h"

#define DB_MAX (4u << 20)

void src_networkd_free(struct netmap_net *net)
{
	free(net->managed);
	free(net->bonds);
	memset(net, 0, sizeof(*net));
}

/* Call fn(name, value) for each entry of a (name, value) list in either form. */
static void each_pair(json_object *o, void (*fn)(const char *, json_object *, void *), void *ctx)
{
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) fn(k, v, ctx);
	} else if (json_object_is_type(o, json_type_array)) {
		size_t n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++) {
			json_object *p = json_object_array_get_idx(o, i);
			if (json_object_is_type(p, json_type_array) &&
			    json_object_array_length(p) == 2 &&
			    json_object_is_type(json_object_array_get_idx(p, 0), json_type_string))
				fn(json_object_get_string(json_object_array_get_idx(p, 0)),
				   json_object_array_get_idx(p, 1), ctx);
		}
	}
}

static void port(const char *name, json_object *cfg, void *ctx)
{
	struct netmap_net *net = ctx;
	json_object *ifs;
	if (!json_object_object_get_ex(cfg, "interfaces", &ifs) ||
	    !json_object_is_type(ifs, json_type_array) || json_object_array_length(ifs) < 2 ||
	    strlen(name) >= NLL_NAME_LEN || net->nbonds >= 256)
		return;
	net->bonds = xrealloc(net->bonds, (net->nbonds + 1) * sizeof(*net->bonds));
	struct netmap_bond *b = &net->bonds[net->nbonds++];
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	size_t n = json_object_array_length(ifs);
	for (size_t i = 0; i < n && b->nmember < NETMAP_BOND_MAX; i++) {
		const char *m = json_object_get_string(json_object_array_get_idx(ifs, i));
		if (m && strlen(m) < NLL_NAME_LEN)
			snprintf(b->member[b->nmember++], NLL_NAME_LEN, "%s", m);
	}
}

static void bridge(const char *name, json_object *cfg, void *ctx)
{
	(void)name;
	json_object *ports;
	if (json_object_object_get_ex(cfg, "ports", &ports))
		each_pair(ports, port, ctx);
}

int src_networkd_read(const char *path, struct netmap_net *net, char *err, size_t errlen)
{
	src_networkd_free(net);
	char *text;
	size_t len;
	int rc = src_read_file(path, DB_MAX, &text, &len);
	if (rc) {
		if (rc != -ENOENT)
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	json_tokener *tok = json_tokener_new();
	json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	bool ok = root && json_tokener_get_error(tok) == json_tokener_success &&
	          json_object_is_type(root, json_type_object);
	json_tokener_free(tok);
	free(text);
	if (!ok) {
		snprintf(err, errlen, "%s: not networkd's JSON state", path);
		json_object_put(root);
		return -EINVAL;
	}
	json_object *order, *bridges;
	if (json_object_object_get_ex(root, "interface_order", &order) &&
	    json_object_is_type(order, json_type_array)) {
		size_t n = json_object_array_length(order);
		net->have_managed = true;
		net->managed = xcalloc(n ? n : 1, sizeof(*net->managed));
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(order, i), *nm, *pr;
			if (!json_object_object_get_ex(e, "name", &nm) ||
			    !json_object_is_type(nm, json_type_string))
				continue;
			if (json_object_object_get_ex(e, "present", &pr) &&
			    !json_object_get_boolean(pr))
				continue;
			const char *s = json_object_get_string(nm);
			if (strlen(s) < NLL_NAME_LEN)
				snprintf(net->managed[net->nmanaged++], NLL_NAME_LEN, "%s", s);
		}
	}
	if (json_object_object_get_ex(root, "bridge_config", &bridges))
		each_pair(bridges, bridge, net);
	json_object_put(root);
	return 0;
}
