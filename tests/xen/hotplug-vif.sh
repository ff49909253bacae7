#!/bin/sh
# The Xen tier's vif hotplug script (libxl runs it from dom0 with
# XENBUS_PATH=.../backend/vif/<domid>/<devid>): puts the netback device
# vif<domid>.<devid> on the bridge named in the backend's "bridge" node (an
# Open vSwitch port when that bridge is Open vSwitch's, as XCP-ng's
# vif script does) and reports "hotplug-status connected", which netback
# waits for.  A busybox stand-in for Xen's vif-bridge/vif-openvswitch.
set -u
action=${1:-online}
domid=$(echo "$XENBUS_PATH" | awk -F/ '{print $(NF-1)}')
devid=$(echo "$XENBUS_PATH" | awk -F/ '{print $NF}')
dev=${vif:-vif$domid.$devid}
echo "tier-vif $action $XENBUS_PATH dev=$dev" >>/var/log/xen/tier-hotplug.log
case "$action" in
online | add)
	bridge=$(xenstore-read "$XENBUS_PATH/bridge" 2>/dev/null || echo xenbr0)
	ip link set "$dev" up || exit 1
	if command -v ovs-vsctl >/dev/null && ovs-vsctl --timeout=30 br-exists "$bridge" 2>/dev/null; then
		ovs-vsctl --timeout=30 -- --may-exist add-port "$bridge" "$dev" || exit 1
	else
		brctl addif "$bridge" "$dev" || ip link set "$dev" master "$bridge" || exit 1
	fi
	xenstore-write "$XENBUS_PATH/hotplug-status" connected
	;;
offline | remove)
	ip link set "$dev" down 2>/dev/null
	command -v ovs-vsctl >/dev/null && ovs-vsctl --timeout=30 --if-exists del-port "$dev" 2>/dev/null
	xenstore-rm "$XENBUS_PATH/hotplug-status" 2>/dev/null
	;;
esac
exit 0
