/*
 * The host uuid: --host-uuid if given, else INSTALLATION_UUID from the
 * inventory file (/etc/xensource-inventory), else one generated once and
 * kept in <state-dir>/host-uuid, so the same uuid comes back after every
 * restart.  Reads and writes only those files; no logging.
 */
#ifndef RRDD_DAEMON_HOSTID_H
#define RRDD_DAEMON_HOSTID_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s is a textual uuid (8-4-4-4-12 hex digits). */
bool hostid_uuid_ok(const char *s);

/* Read INSTALLATION_UUID from an inventory file (KEY='value' lines, quotes
 * optional).  0, -ENOENT (no file or no key), -EINVAL (bad value). */
int hostid_from_inventory(const char *path, char out[37]);

/* The uuid stored under key (e.g. CONTROL_DOMAIN_UUID) in an inventory
 * file of KEY='value' lines, lower-cased into out.  0, -ENOENT (no file or
 * no such key), -EINVAL (not a uuid) or another -errno. */
int hostid_inventory_uuid(const char *path, const char *key, char out[37]);

/*
 * Resolve the host uuid into out (lower case).  explicit and inventory may
 * be NULL or "".  *origin (may be NULL) receives "option", "inventory",
 * "state" or "generated".  Creates state_dir if needed.  Returns 0, or a
 * negative errno with a message in err (e.g. the state file is unwritable).
 */
int hostid_resolve(const char *explicit, const char *inventory, const char *state_dir, char out[37],
                   const char **origin, char *err, size_t errlen);

#endif
