#!/bin/sh
# The Xen tier's block hotplug script (libxl runs it from dom0 with
# XENBUS_PATH=.../backend/vbd/<domid>/<devid>): resolves the backend's "params"
# (a block device in dom0, e.g. /dev/loop0) to "physical-device"
# (major:minor in hex), which blkback waits for, and reports "hotplug-status
# connected".  A busybox stand-in for Xen's bash "block" script; files are
# attached to a loop device by the caller beforehand.
set -u
action=${1:-add}
echo "tier-block $action $XENBUS_PATH" >>/var/log/xen/tier-hotplug.log
case "$action" in
add)
	dev=$(xenstore-read "$XENBUS_PATH/params") || exit 1
	[ -b "$dev" ] || { echo "tier-block: $dev is not a block device" >>/var/log/xen/tier-hotplug.log; exit 1; }
	xenstore-write "$XENBUS_PATH/physical-device" "$(stat -L -c '%t:%T' "$dev")"
	xenstore-write "$XENBUS_PATH/hotplug-status" connected
	;;
remove)
	xenstore-rm "$XENBUS_PATH/hotplug-status" 2>/dev/null
	;;
esac
exit 0
