#!/bin/sh
# /init of the Xen tier's dom0 initramfs (tests/xen/run.sh boots it): brings
# up the minimum Xen userspace (modules, xenfs, xenstored, xen-init-dom0,
# xenconsoled), hands over to the checks (/usr/local/bin/tier-checks, which
# prints "CHECK ..." lines and the "TIER RESULT" marker) and powers the
# machine off.  Must print the "dom0 userspace up" marker before anything
# that can fail: run.sh tells an environment that cannot boot (skip) from a
# broken tier (fail) by it.
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/xen /run/xenstored /var/log/xen /var/lib/xen /run/tier

tlog() { echo "TIER [dom0 +$(cut -d' ' -f1 /proc/uptime)s] $*"; }
tlog "dom0 userspace up: $(cat /sys/hypervisor/type 2>/dev/null) $(cat /sys/hypervisor/version/major 2>/dev/null).$(cat /sys/hypervisor/version/minor 2>/dev/null)"

SHELL_AT_END=0
for a in $(cat /proc/cmdline); do
	case "$a" in tier.shell=*) SHELL_AT_END=${a#*=} ;; esac
done

finish() {
	[ "$SHELL_AT_END" = 1 ] && exec /bin/sh
	sync
	poweroff -f
}
broken() {
	tlog "setup failed: $*"
	echo "CHECK setup FAIL: $*"
	echo "TIER RESULT pass=0 fail=1"
	finish
}

for m in $(cat /lib/modules/load-order); do
	insmod "/lib/modules/$m" || tlog "insmod $m failed"
done
mount -t xenfs xenfs /proc/xen || broken "mount xenfs"
xenstored --pid-file /run/xenstored.pid || broken "xenstored did not start"
i=0
while [ ! -S /run/xenstored/socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
xen-init-dom0 >/dev/null || broken "xen-init-dom0"
xenconsoled --log=guest --log-dir=/var/log/xen || broken "xenconsoled"
tlog "xen userspace ready"

if [ "$SHELL_AT_END" = 1 ]; then exec /bin/sh; fi
/usr/local/bin/tier-checks
tlog "checks exited rc=$?"
finish
