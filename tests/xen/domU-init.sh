#!/bin/sh
# /init of the Xen tier's domU initramfs (busybox only).  The role comes from
# the kernel command line (xl config "extra"):
#   tier.role=busy  burns one vCPU forever (while :; do :; done)
#   tier.role=idle  does nothing but answer the dom0 side
#   tier.ip=A.B.C.D configure eth0 (netfront) with this address, listen on
#                   TCP 5000 (a shell: dom0 sends it I/O commands) and TCP
#                   5001 (a sink that discards what it receives)
# Prints "DOMU ready ..." on its console (xenconsoled logs it in dom0) once
# its devices are up.  Must not exit: init exiting panics the guest.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ROLE=idle IP=""
for a in $(cat /proc/cmdline); do
	case "$a" in
	tier.role=*) ROLE=${a#*=} ;;
	tier.ip=*) IP=${a#*=} ;;
	esac
done
for m in $(cat /lib/modules/load-order); do insmod "/lib/modules/$m" 2>/dev/null; done
if [ -n "$IP" ]; then
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	ip link set lo up
	ip addr add "$IP/24" dev eth0
	ip link set eth0 up
	printf '#!/bin/sh\nexec cat >/dev/null\n' >/bin/sink
	chmod +x /bin/sink
	nc -ll -p 5000 -e /bin/sh &
	nc -ll -p 5001 -e /bin/sink &
fi
i=0
while [ -e /sys/bus/xen/devices/vbd-51712 ] && [ ! -b /dev/xvda ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
if [ "$ROLE" = busy ]; then
	(while :; do :; done) &
fi
echo "DOMU ready role=$ROLE vcpus=$(nproc) eth0=$(cat /sys/class/net/eth0/address 2>/dev/null) xvda=$([ -b /dev/xvda ] && echo yes || echo no)"
while :; do sleep 3600; done
