#!/bin/sh
# The Xen tier's checks, run in dom0 by /init once xenstored is up.  Compares
# what rrdd's Xen source reports (xen_probe) -- and, when the image carries
# it, what the rrdd daemon records -- with xl's view of the same host:
#   phase 0  dom0 alone: pCPUs, host memory, dom0's memory and vCPUs
#   phase 1  a domU burning a vCPU and an idle 2-vCPU domU with a vif on a
#            dom0 bridge and a disk on blkback: uuids, memory, vCPUs, CPU
#            time against xl vcpu-list, CPU usage from two samples
#   phase 2  the busy domU destroyed while sampling in a loop, then
#            re-created with the same uuid (a "restart")
#   phase 3  the busy domU paused; TCP traffic and direct I/O pushed through
#            the idle domU's vif and vbd
#   phase 4  the daemon (only when rrdd is in the image): tests/xen/daemon-checks.sh
# Every check prints one line "CHECK <name> ok: <values>" or
# "CHECK <name> FAIL: <values>"; the last line is "TIER RESULT pass=N fail=M".
# Busybox sh and awk only.  Judges only; never fixes anything up.
set -u
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
D=/run/tier
mkdir -p $D
PASS=0
FAIL=0
DOM0_UUID=7d0c3a52-5f1e-4c8b-9d2a-6e4f1b3c5a70
BUSY_UUID=3f6a9c21-84d7-4b0e-a5c3-91e2d7f40b68
IDLE_UUID=c58e1d4a-2b97-4f63-8e05-7a1d3c9b6e24
PROBE="xen_probe --dom0-uuid $DOM0_UUID"

tlog() { echo "TIER [dom0 +$(cut -d' ' -f1 /proc/uptime)s] $*"; }
ok() {
	PASS=$((PASS + 1))
	echo "CHECK $1 ok: $2"
}
bad() {
	FAIL=$((FAIL + 1))
	echo "CHECK $1 FAIL: $2"
}

# expect NAME AWK-EXPR MESSAGE [var=value]...: the check passes when every
# value is a number and the expression over them holds.
expect() {
	_n=$1
	_e=$2
	_m=$3
	shift 3
	_args=""
	_num="1"
	for _a in "$@"; do
		_args="$_args -v $_a"
		_num="$_num && (${_a%%=*} \"\" ~ /^[-+]?[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?\$/)"
	done
	# shellcheck disable=SC2086
	awk $_args "BEGIN { if (!($_num)) exit 2; exit !($_e) }"
	case $? in
	0) ok "$_n" "$_m" ;;
	2) bad "$_n" "$_m (a value is missing or not a number)" ;;
	*) bad "$_n" "$_m" ;;
	esac
}

# kv FILE KEY: the value of a "key value" line, or "missing".
kv() { awk -v k="$2" '$1 == k { print $2; f = 1; exit } END { if (!f) print "missing" }' "$1"; }
# count FILE REGEX: lines whose key matches.
count() { awk -v r="$2" '$1 ~ r { n++ } END { print n + 0 }' "$1"; }
# xl_info FILE FIELD
xl_info() { awk -v k="$2" '$1 == k { print $3; f = 1 } END { if (!f) print "missing" }' "$1"; }
# xl_list FILE NAME COLUMN (xl list -v: name id mem vcpus state time uuid)
xl_list() { awk -v n="$2" -v c="$3" 'NR > 1 && $1 == n { print $c; f = 1 } END { if (!f) print "missing" }' "$1"; }
# sum of a domain's vCPU times in xl vcpu-list (seconds)
xl_vcpu_time() { awk -v n="$2" 'NR > 1 && $1 == n { s += $6; f = 1 } END { if (f) print s; else print "missing" }' "$1"; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { print a - b }'; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a "" !~ /^[-+0-9.eE]+$/) print "missing"; else print a / b }'; }
# floor(a / b) for integers, "missing" when a is not a number
idiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (a "" !~ /^[0-9]+$/) print "missing"; else printf "%d\n", int(a / b) }'; }
# sum of the rates of the DSs of an owner prefix matching cpu<N>
rate_sum() { awk -v p="rate.$2." '
	index($1, p) == 1 && substr($1, length(p) + 1) ~ /^cpu[0-9]+$/ { s += $2; n++ }
	END { if (n) print s; else print "missing" }' "$1"; }
uuid_of() { # the uuid rrdd should use for a domain named $2 in xl list -v file $1
	if [ "$2" = Domain-0 ]; then echo $DOM0_UUID; else xl_list "$1" "$2" 7; fi
}
wait_console() { # NAME TEXT OCCURRENCE TIMEOUT
	_i=0
	while :; do
		_c=$(grep -c "$2" /var/log/xen/guest-$1.log 2>/dev/null)
		[ "${_c:-0}" -ge "$3" ] && break
		sleep 0.5
		_i=$((_i + 1))
		[ $_i -ge $(($4 * 2)) ] && return 1
	done
	return 0
}
dump() { # a probe output, on failure, for the log
	echo "---- $1 ----"
	grep -v -E '^(snap\.[0-9]+\.host\.net|ds\.host\.pif_)' "$1" | head -400
}

# ---- phase 0: dom0 alone ------------------------------------------------------
tlog "phase 0: dom0 alone"
xl info >$D/info0
xl list -v >$D/list0
$PROBE --samples 2 --interval 2 >$D/p0 2>$D/p0.err
expect source.open 'rc == 0 && s == 0' "xen source opened and sampled twice: open.rc=$(kv $D/p0 open.rc) status=$(kv $D/p0 probe.status) $(head -c 200 $D/p0.err)" \
	rc="$(kv $D/p0 open.rc)" s="$(kv $D/p0 probe.status)"
NR=$(xl_info $D/info0 nr_cpus)
SN=$(kv $D/p0 snap.1.host.nr_cpus)
NDS=$(count $D/p0 '^ds\.host\.cpu[0-9]+$')
expect host.cpu_count 'a == b && b == c && a >= 1' "$SN pCPUs in the snapshot, $NDS cpu<N> DSs, xl info nr_cpus=$NR" a="$SN" b="$NDS" c="$NR"
expect host.cpu_avg_present 'n == 1' "cpu_avg present: $(kv $D/p0 ds.host.cpu_avg)" n="$(count $D/p0 '^ds\.host\.cpu_avg$')"
TOT=$(kv $D/p0 ds.host.memory_total_kib)
XT=$(xl_info $D/info0 total_memory)
expect host.memory_total 'int(a / 1024) == b' "rrdd memory_total_kib=$TOT ($(idiv "$TOT" 1024) MiB), xl info total_memory=$XT MiB" a="$TOT" b="$XT"
FRE=$(kv $D/p0 ds.host.memory_free_kib)
XF=$(xl_info $D/info0 free_memory)
expect host.memory_free 'a / 1024 - b <= 2 && b - a / 1024 <= 2' "rrdd memory_free_kib=$FRE ($(idiv "$FRE" 1024) MiB), xl info free_memory=$XF MiB" a="$FRE" b="$XF"
M0=$(kv $D/p0 ds.vm.$DOM0_UUID.memory)
XM0=$(xl_list $D/list0 Domain-0 3)
expect dom0.memory 'int(a / 1048576) == b' "rrdd dom0 memory=$M0 B ($(idiv "$M0" 1048576) MiB), xl list Mem=$XM0 MiB" a="$M0" b="$XM0"
V0=$(count $D/p0 "^ds\\.vm\\.$DOM0_UUID\\.cpu[0-9]+\$")
XV0=$(xl_list $D/list0 Domain-0 4)
expect dom0.vcpus 'a == b' "rrdd dom0 has $V0 cpu<N> DSs, xl list VCPUs=$XV0" a="$V0" b="$XV0"
# a pCPU's idle time is read up to snap.<i>.took after the time the rate
# divides by: the rate may leave [0, 1] by that skew, SK0 (a loaded run read
# -0.026 with no allowance), never by more
SK0=$(awk -v a="$(kv $D/p0 snap.0.took)" -v b="$(kv $D/p0 snap.1.took)" -v t="$(kv $D/p0 rate.dt)" 'BEGIN { if (t > 0 && a "" ~ /^[0-9.eE+-]+$/ && b "" ~ /^[0-9.eE+-]+$/) print (a + b) / t + 0.02; else print 0.02 }')
BADR=$(awk -v s="$SK0" '$1 ~ /^rate\.host\.cpu[0-9]+$/ && ($2 < -s || $2 > 1 + s) { printf "%s=%s ", $1, $2 }' $D/p0)
RATES=$(awk '$1 ~ /^rate\.host\.cpu/ { printf "%s=%.3f ", substr($1, 11), $2 }' $D/p0)
[ -z "$BADR" ] && [ -n "$RATES" ] && ok host.cpu_rates_in_range "$RATES (reads up to $SK0 apart)" || bad host.cpu_rates_in_range "out of [0,1] by more than the reads' skew $SK0: $BADR (all: $RATES)"
xen_probe --samples 1 >$D/p0n 2>&1
$PROBE --samples 1 >$D/p0m 2>&1
MA=$(awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo)
MF=$(kv $D/p0m ds.vm.$DOM0_UUID.memory_internal_free)
expect dom0.memory_internal_free 'f - a <= 0.05 * a && a - f <= 0.05 * a' "rrdd dom0 memory_internal_free=$MF KiB, /proc/meminfo MemAvailable=$MA kB just after" f="$MF" a="$MA"
expect source.dom0_skipped_without_uuid 'n == 0 && d == 0' "without a dom0 uuid: $(count $D/p0n '^ds\.vm\.') VM DSs, $(kv $D/p0n snap.0.ndom) domains kept (dom0's Xen handle is $(kv $D/p0 snap.1.dom.0.raw_uuid))" \
	n="$(count $D/p0n '^ds\.vm\.')" d="$(kv $D/p0n snap.0.ndom)"
[ $FAIL -eq 0 ] || dump $D/p0

# ---- phase 1: two domUs ------------------------------------------------------------
tlog "phase 1: creating domUs"
# xenbr0 is an Open vSwitch bridge, as on XCP-ng (kernel datapath: the
# guest kernel's openvswitch module; Debian's ovsdb-server and ovs-vswitchd
# copied from the host), where the image has them; a Linux bridge otherwise
BRIDGE_KIND=linux
if [ -x /usr/sbin/ovs-vswitchd ]; then
	mkdir -p /etc/openvswitch /run/openvswitch /var/log/openvswitch
	if ovsdb-tool create /etc/openvswitch/conf.db /usr/share/openvswitch/vswitch.ovsschema &&
		ovsdb-server /etc/openvswitch/conf.db --remote=punix:/run/openvswitch/db.sock \
			--pidfile=/run/openvswitch/ovsdb-server.pid --detach \
			--log-file=/var/log/openvswitch/ovsdb-server.log &&
		ovs-vsctl --timeout=60 --no-wait init &&
		ovs-vswitchd unix:/run/openvswitch/db.sock --pidfile=/run/openvswitch/ovs-vswitchd.pid \
			--detach --log-file=/var/log/openvswitch/ovs-vswitchd.log &&
		ovs-vsctl --timeout=60 add-br xenbr0 && ip link show xenbr0 >/dev/null 2>&1; then
		BRIDGE_KIND=openvswitch
	else
		ovs-vsctl --timeout=10 --if-exists del-br xenbr0 2>/dev/null
		tlog "Open vSwitch did not start: $(tail -3 /var/log/openvswitch/*.log 2>/dev/null | tr '\n' ' ')"
	fi
fi
[ $BRIDGE_KIND = openvswitch ] || brctl addbr xenbr0 || tlog "bridge setup failed"
ip addr add 10.0.0.1/24 dev xenbr0 && ip link set xenbr0 up || tlog "bridge address failed"
tlog "xenbr0: $BRIDGE_KIND bridge: $(ip -o link show xenbr0 2>&1 | cut -c1-120)"
# what Open vSwitch did, for the log when traffic does not pass
ovs_diag() {
	[ $BRIDGE_KIND = openvswitch ] || return 0
	tlog "ovs: modules: $(grep -o '^openvswitch[^ ]*' /proc/modules | tr '\n' ' ')"
	tlog "ovs: $(ovs-vsctl --timeout=10 show 2>&1 | tr '\n' ' ' | cut -c1-400)"
	tlog "ovs: datapath: $(ovs-appctl --timeout=10 dpctl/show 2>&1 | tr '\n' ' ' | cut -c1-300)"
	tlog "ovs: vswitchd log: $(tail -15 /var/log/openvswitch/ovs-vswitchd.log 2>&1 | cut -c1-200 | tr '\n' ';')"
}
if [ -x /usr/sbin/ovs-vswitchd ]; then
	expect devices.openvswitch 'k == 1' "xenbr0 is an Open vSwitch bridge ($BRIDGE_KIND): $(ovs-vsctl --timeout=10 show 2>&1 | tr '\n' ' ' | cut -c1-160)" \
		k="$([ $BRIDGE_KIND = openvswitch ] && echo 1 || echo 0)"
else
	bad devices.openvswitch "no Open vSwitch in the image: the host has no openvswitch-switch (install-deps.sh installs it)"
fi
dd if=/dev/zero of=/root/disk.img bs=1M count=0 seek=64 2>/dev/null
LOOP=$(losetup -f)
losetup "$LOOP" /root/disk.img || tlog "losetup failed"
cat >/etc/xen/busy.cfg <<EOF
name = "busy"
uuid = "$BUSY_UUID"
type = "pv"
memory = 128
vcpus = 1
kernel = "/root/guest/vmlinuz"
ramdisk = "/root/guest/domU.cpio.gz"
extra = "console=hvc0 quiet tier.role=busy"
on_crash = "destroy"
EOF
cat >/etc/xen/idle.cfg <<EOF
name = "idle"
uuid = "$IDLE_UUID"
type = "pv"
memory = 160
vcpus = 2
kernel = "/root/guest/vmlinuz"
ramdisk = "/root/guest/domU.cpio.gz"
extra = "console=hvc0 quiet tier.role=idle tier.ip=10.0.0.2"
vif = [ "mac=00:16:3e:00:00:02,bridge=xenbr0,script=/etc/xen/scripts/tier-vif" ]
disk = [ "format=raw,vdev=xvda,access=rw,script=/etc/xen/scripts/tier-block,target=$LOOP" ]
on_crash = "destroy"
EOF
grep -v -E '^(vif|disk)' /etc/xen/idle.cfg >/etc/xen/idle-plain.cfg
xl create /etc/xen/busy.cfg >$D/create-busy.log 2>&1 &
PB=$!
xl create /etc/xen/idle.cfg >$D/create-idle.log 2>&1 &
PI=$!
wait $PB
RB=$?
wait $PI
RI=$?
tlog "xl create returned: busy rc=$RB idle rc=$RI"
DEVICES=1
if [ $RI -ne 0 ]; then
	bad devices.create "xl create of the idle domU with a vif and a disk failed (rc=$RI): $(tail -5 $D/create-idle.log | tr '\n' ' ') hotplug: $(cat /var/log/xen/tier-hotplug.log 2>/dev/null | tr '\n' ' ')"
	DEVICES=0
	xl destroy idle >/dev/null 2>&1
	xl create /etc/xen/idle-plain.cfg >$D/create-idle.log 2>&1 || tlog "plain idle domU failed too"
fi
[ $RB -eq 0 ] || bad busy.create "xl create busy failed: $(tail -5 $D/create-busy.log | tr '\n' ' ')"
wait_console busy "DOMU ready" 1 120 || tlog "busy domU did not report ready"
wait_console idle "DOMU ready" 1 120 || tlog "idle domU did not report ready"
tlog "domUs ready: $(grep -h 'DOMU ready' /var/log/xen/guest-*.log | tr '\n' ' ')"
sleep 3 # let the creation work in dom0 settle before measuring

UP0=$(cut -d' ' -f1 /proc/uptime)
xl list -v >$D/list1
xl vcpu-list >$D/vb1
$PROBE --samples 2 --interval 4 >$D/p1 2>&1
xl vcpu-list >$D/va1
xl list -v >$D/list1b
UP1=$(cut -d' ' -f1 /proc/uptime)
xl info >$D/info1
expect source.sample_with_domUs 's == 0' "probe status $(kv $D/p1 probe.status)" s="$(kv $D/p1 probe.status)"
NX=$(awk 'NR > 1 { n++ } END { print n + 0 }' $D/list1)
RD=$(kv $D/p1 ds.host.running_domains)
expect host.running_domains 'a == b && b == 3' "rrdd running_domains=$RD, xl list shows $NX domains" a="$RD" b="$NX"
NR=$(xl_info $D/info1 nr_cpus)
expect host.cpu_count_with_domUs 'a == b' "$(count $D/p1 '^ds\.host\.cpu[0-9]+$') cpu<N> DSs, xl info nr_cpus=$NR" a="$(count $D/p1 '^ds\.host\.cpu[0-9]+$')" b="$NR"
FRE=$(kv $D/p1 ds.host.memory_free_kib)
XF=$(xl_info $D/info1 free_memory)
expect host.memory_free_with_domUs 'a / 1024 - b <= 2 && b - a / 1024 <= 2' "rrdd memory_free_kib=$FRE ($(idiv "$FRE" 1024) MiB), xl info free_memory=$XF MiB" a="$FRE" b="$XF"
for name in Domain-0 busy idle; do
	U=$(uuid_of $D/list1 $name)
	ID=$(xl_list $D/list1 $name 2)
	expect vm.$name.uuid 'a == b' "xl: domid $ID uuid $(xl_list $D/list1 $name 7); rrdd owner $U has domid $(kv $D/p1 owner.$U.domid)" a="$(kv $D/p1 owner.$U.domid)" b="$ID"
	M=$(kv $D/p1 ds.vm.$U.memory)
	XM=$(xl_list $D/list1 $name 3)
	expect vm.$name.memory 'int(a / 1048576) == b' "rrdd memory=$M B ($(idiv "$M" 1048576) MiB), xl list Mem=$XM MiB" a="$M" b="$XM"
	V=$(count $D/p1 "^ds\\.vm\\.$U\\.cpu[0-9]+\$")
	XV=$(xl_list $D/list1 $name 4)
	expect vm.$name.vcpus 'a == b && a == o' "rrdd: $V cpu<N> DSs, $(kv $D/p1 snap.1.dom.$ID.nr_online_vcpus) online; xl list VCPUs=$XV" \
		a="$V" b="$XV" o="$(kv $D/p1 snap.1.dom.$ID.nr_online_vcpus)"
	CT=$(fdiv "$(kv $D/p1 snap.1.dom.$ID.cpu_time_ns)" 1000000000)
	TB=$(xl_list $D/list1 $name 6)
	TA=$(xl_list $D/list1b $name 6)
	expect vm.$name.cpu_time 'b - 0.15 <= t && t <= a + 0.15' "rrdd domain CPU time ${CT}s; xl list Time(s) before=$TB after=$TA" t="$CT" b="$TB" a="$TA"
	XT=$(xenstore-read /local/domain/$ID/memory/target 2>/dev/null)
	MT=$(kv $D/p1 ds.vm.$U.memory_target)
	if [ -z "$XT" ] && [ "$MT" = missing ]; then
		ok vm.$name.memory_target "no xenstore memory/target and no memory_target DS"
	else
		expect vm.$name.memory_target 'm == t * 1024' "rrdd memory_target=$MT B, xenstore memory/target=$XT KiB" m="$MT" t="$XT"
	fi
	VS=$(awk -v p="snap.1.dom.$ID.vcpu." 'index($1, p) == 1 && $1 ~ /cpu_time_ns$/ { s += $2 } END { print s / 1e9 }' $D/p1)
	VB=$(xl_vcpu_time $D/vb1 $name)
	VA=$(xl_vcpu_time $D/va1 $name)
	expect vm.$name.vcpu_time 'b - 0.15 <= t && t <= a + 0.15' "rrdd sum of vCPU times ${VS}s; xl vcpu-list before=${VB}s after=${VA}s" t="$VS" b="$VB" a="$VA"
done
# The sample's reads are not simultaneous: each lies within snap.<i>.took of
# snap.<i>.t, so two figures read apart may each cover a window up to
# k0 + k1 seconds longer or shorter than the other's.  SK is what that can
# change in a per-vCPU rate (a vCPU runs at most 1 s a second).
DT=$(kv $D/p1 rate.dt)
SK=$(awk -v a="$(kv $D/p1 snap.0.took)" -v b="$(kv $D/p1 snap.1.took)" -v t="$DT" 'BEGIN { if (t > 0) print (a + b) / t; else print "missing" }')
# Every vCPU rate against Xen's own account (xl vcpu-list, 0.1 s resolution)
# of the longer window around the sample (W seconds of wall time): the time
# the rate stands for (rate x dt) cannot exceed what xl saw grow, and falls
# short of it by at most the W - dt seconds outside the sample's window.
W=$(fsub "$UP1" "$UP0")
for name in Domain-0 busy idle; do
	U=$(uuid_of $D/list1 $name)
	R=$(awk -v n="$name" -v u="rate.vm.$U." -v dt="$DT" -v w="$W" -v fb="$D/vb1" -v fa="$D/va1" '
		FILENAME == fb && FNR > 1 && $1 == n { xb[$3] = $6; next }
		FILENAME == fa && FNR > 1 && $1 == n { xa[$3] = $6; next }
		FILENAME != fb && FILENAME != fa && index($1, u) == 1 {
			k = substr($1, length(u) + 1)
			if (k ~ /^cpu[0-9]+$/) r[substr(k, 4)] = $2
		}
		END {
			ok = 1; nv = 0
			for (v in xb) {
				nv++
				g = xa[v] - xb[v]; d = r[v] * dt
				if (!(v in r) || !(v in xa) || d > g + 0.1 || d < g - 0.1 - (w - dt)) ok = 0
				s = s sprintf("cpu%s: %.3f s (xl %.1f s) ", v, d, g)
			}
			print (ok && nv > 0) " " s
		}' $D/vb1 $D/va1 $D/p1)
	expect vm.$name.vcpu_rates 'o == 1' "rate x ${DT}s per vCPU against xl vcpu-list over ${W}s around it: ${R#* }" o="${R%% *}"
done
BU=$(kv $D/p1 rate.vm.$BUSY_UUID.cpu_usage)
B0=$(kv $D/p1 rate.vm.$BUSY_UUID.cpu0)
# xl's own view of the same interval: Time(s) growth over the wall time
XR=$(awk -v a="$(xl_list $D/list1b busy 6)" -v b="$(xl_list $D/list1 busy 6)" -v t1="$UP1" -v t0="$UP0" 'BEGIN { if (t1 > t0) print (a - b) / (t1 - t0); else print "missing" }')
IU=$(kv $D/p1 rate.vm.$IDLE_UUID.cpu_usage)
I0=$(kv $D/p1 rate.vm.$IDLE_UUID.cpu0)
I1=$(kv $D/p1 rate.vm.$IDLE_UUID.cpu1)
# cpu_usage is the domain's CPU time over its vCPUs: with one vCPU, cpu0; with
# two, their mean (within SK, the domain's time being read apart from its
# vCPUs').  How busy each guest is depends on what else the machine runs (an
# emulated idle guest is not idle under load): the vcpu_rates checks hold the
# figures to Xen's; here, the vCPU that never blocks gets at least the share
# of each vCPU that does.
expect vm.busy.cpu_usage 'u > 0 && u <= 1.05 && u - c <= s && c - u <= s && c >= i0 && c >= i1' "guest burning 1 vCPU: cpu_usage=$BU cpu0=$B0 over ${DT}s (xl list Time(s) grew at $XR s/s over the longer window around it); idle guest's vCPUs: $I0 $I1" \
	u="$BU" c="$B0" s="$SK" i0="$I0" i1="$I1"
expect vm.idle.cpu_usage 'u >= 0 && u - (c0 + c1) / 2 <= s && (c0 + c1) / 2 - u <= s' "idle 2-vCPU guest: cpu_usage=$IU cpu0=$I0 cpu1=$I1 (reads up to ${SK} apart)" \
	u="$IU" c0="$I0" c1="$I1" s="$SK"
HS=$(rate_sum $D/p1 host)
VS=$(awk '$1 ~ /^rate\.vm\./ { n = split($1, p, "."); if (p[n] ~ /^cpu[0-9]+$/) s += $2 } END { print s + 0 }' $D/p1)
# busy pCPU time is the sum of the vCPU time run on the pCPUs plus Xen's own
# work; the pCPU and vCPU figures are read apart, up to SK per CPU.
expect host.cpu_balance 'h >= v - 0.1 - n * s && h <= n * (1.02 + s) && v >= 0.5' "busy pCPU time (sum of host cpu<N>)=$HS must cover the vCPU time of all domains=$VS (per second; the excess is Xen's own work, larger on a loaded host; reads up to ${SK} apart per CPU)" \
	h="$HS" v="$VS" n="$NR" s="$SK"
AVG=$(kv $D/p1 rate.host.cpu_avg)
expect host.cpu_avg 'a - s / n <= 0.01 && s / n - a <= 0.01' "cpu_avg=$AVG, mean of cpu<N>=$(fdiv "$HS" "$NR")" a="$AVG" s="$HS" n="$NR"
[ $FAIL -eq 0 ] || { dump $D/p1; cat $D/list1 $D/vb1 $D/va1; }

# ---- phase 2: destroy while sampling, then restart with the same uuid ----------------
tlog "phase 2: destroy and restart busy"
OLD=$(xl_list $D/list1 busy 2)
F=$FAIL
rm -f $D/restarted
$PROBE --samples 2 --interval 120 --until $D/restarted >$D/p2 2>&1 &
PR=$!
i=0
while ! grep -q '^snap.0.rc' $D/p2 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
rm -f $D/destroyed
$PROBE --loop 120 --until $D/destroyed >$D/loop 2>&1 &
PL=$!
i=0
while ! grep -q '^loop.1 ' $D/loop && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
xl destroy busy
touch $D/destroyed
wait $PL
LS=$(kv $D/loop loop.samples)
expect source.destroy_no_failed_sample 'f == 0 && n >= 4' "$LS back-to-back samples while busy (domid $OLD) was destroyed: $(kv $D/loop loop.failed_samples) failed, $(kv $D/loop loop.flagged_domains) domain samples flagged lost $(grep '!' $D/loop | head -2 | tr '\n' ';')" \
	f="$(kv $D/loop loop.failed_samples)" n="$LS"
IDI=$(xl_list $D/list1 idle 2)
MISS=$(awk -v a=0 -v b="$IDI" '$1 ~ /^loop\.[0-9]+$/ && $2 == "rc" { ha = hb = 0; for (i = 5; i <= NF; i++) { x = $i; sub(/[!d]+$/, "", x); if (x == a) ha = 1; if (x == b) hb = 1 } if (!ha || !hb) n++ } END { print n + 0 }' $D/loop)
expect source.destroy_others_kept 'm == 0' "samples missing dom0 or idle (domid $IDI) while busy was destroyed: $MISS of $LS" m="$MISS"
FIRST=$(awk -v o="$OLD" '$1 ~ /^loop\.[0-9]+$/ { for (i = 5; i <= NF; i++) { x = $i; sub(/[!d]+$/, "", x); if (x == o) { print 1; exit } } print 0; exit }' $D/loop)
LAST=$(awk -v o="$OLD" '$1 ~ /^loop\.[0-9]+$/ { l = 0; for (i = 5; i <= NF; i++) { x = $i; sub(/[!d]+$/, "", x); if (x == o) l = 1 } } END { print l + 0 }' $D/loop)
expect source.destroyed_domain_gone 'f == 1 && l == 0' "busy (domid $OLD) in the first sample: $FIRST, in the last: $LAST" f="$FIRST" l="$LAST"
xl create /etc/xen/busy.cfg >$D/create-busy2.log 2>&1 || bad busy.recreate "$(tail -3 $D/create-busy2.log | tr '\n' ' ')"
wait_console busy "DOMU ready" 2 120 || tlog "re-created busy did not report ready"
touch $D/restarted
wait $PR
xl list -v >$D/list2
NEW=$(xl_list $D/list2 busy 2)
expect source.restart_same_uuid 'n == r && n != o' "busy re-created with uuid $BUSY_UUID: old domid $OLD, xl domid $NEW, rrdd domid $(kv $D/p2 owner.$BUSY_UUID.domid)" \
	n="$NEW" o="$OLD" r="$(kv $D/p2 owner.$BUSY_UUID.domid)"
expect source.restart_flagged 'r == 1' "owner.restarted=$(kv $D/p2 owner.$BUSY_UUID.restarted) (the catalogue must tell the daemon the counters restarted)" r="$(kv $D/p2 owner.$BUSY_UUID.restarted)"
[ $FAIL -eq $F ] || { dump $D/p2; cat $D/loop | head -50; }

# ---- phase 3: pause busy; traffic and I/O through the idle domU's vif and vbd -------
tlog "phase 3: pause, vif, vbd"
F=$FAIL
xl pause busy
xl list -v >$D/list3
$PROBE --samples 1 >$D/p3 2>&1
expect host.running_domains_paused 'r == 2 && n == 3' "busy paused: rrdd running_domains=$(kv $D/p3 ds.host.running_domains), xl list shows $(awk 'NR > 1 { n++ } END { print n + 0 }' $D/list3) domains" \
	r="$(kv $D/p3 ds.host.running_domains)" n="$(awk 'NR > 1 { n++ } END { print n + 0 }' $D/list3)"
IDI=$(xl_list $D/list3 idle 2)
if [ $DEVICES = 1 ]; then
	U=$IDLE_UUID
	# the vif: 4 MiB dom0 -> guest, 2 MiB guest -> dom0, over TCP
	ping -c 1 -W 5 10.0.0.2 >/dev/null 2>&1 || ping -c 1 -W 10 10.0.0.2 >/dev/null 2>&1 ||
		{ tlog "ping 10.0.0.2 failed"; ovs_diag; }
	cat /proc/net/dev >$D/nd0
	$PROBE --samples 1 >$D/n0 2>&1
	dd if=/dev/zero bs=65536 count=64 2>/dev/null | timeout 120 nc 10.0.0.2 5001
	R1=$?
	# a listener whose stdin is /dev/null stops at its EOF: count with -e instead
	printf '#!/bin/sh\nwc -c >%s/tx.count\n' $D >$D/count.sh
	chmod +x $D/count.sh
	nc -l -p 5002 -e $D/count.sh </dev/null &
	PN=$!
	sleep 0.3
	echo 'dd if=/dev/zero bs=65536 count=32 2>/dev/null | nc 10.0.0.1 5002; echo tx-done' | timeout 120 nc 10.0.0.2 5000 >$D/tx.out
	i=0
	while kill -0 $PN 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill $PN 2>/dev/null # nothing came: the checks below say so
	wait $PN
	cat /proc/net/dev >$D/nd1a
	$PROBE --samples 1 >$D/n1 2>&1
	cat /proc/net/dev >$D/nd1b
	RX0=$(kv $D/n0 ds.vm.$U.vif_0_rx)
	RX1=$(kv $D/n1 ds.vm.$U.vif_0_rx)
	TX0=$(kv $D/n0 ds.vm.$U.vif_0_tx)
	TX1=$(kv $D/n1 ds.vm.$U.vif_0_tx)
	DRX=$(fsub "$RX1" "$RX0")
	DTX=$(fsub "$TX1" "$TX0")
	expect vif.present 'n == 1' "vif devices of idle seen by rrdd: $(kv $D/n1 snap.0.dom.$IDI.nvif) (nc to the guest rc=$R1)" n="$(kv $D/n1 snap.0.dom.$IDI.nvif)"
	# the VIF is a port of the Open vSwitch bridge (libxenstat would see no
	# VIF there: the source reads the kernel's link statistics)
	if [ $BRIDGE_KIND = openvswitch ]; then
		PORTS=$(ovs-vsctl --timeout=30 list-ports xenbr0 2>&1 | tr '\n' ' ')
		expect vif.on_openvswitch 'p == 1' "Open vSwitch xenbr0 ports: $PORTS" p="$(echo " $PORTS " | grep -c " vif$IDI.0 ")"
	fi
	expect vif.rx_follows_traffic 'd >= 4194304 && d <= 4194304 * 1.15 + 65536' "guest received 4194304 B of TCP payload: vif_0_rx grew by $DRX B" d="$DRX"
	expect vif.tx_follows_traffic 'd >= 2097152 && d <= 2097152 * 1.15 + 262144' "guest sent 2097152 B of TCP payload (dom0 received $(cat $D/tx.count 2>/dev/null) B, guest said $(cat $D/tx.out)): vif_0_tx grew by $DTX B" d="$DTX"
	# the backend's own counters (dom0 /proc/net/dev vif<domid>.0; backend tx = guest rx)
	BTXA=$(sed 's/:/: /' $D/nd1a | awk -v d="vif$IDI.0:" '$1 == d { print $10 }')
	BTXB=$(sed 's/:/: /' $D/nd1b | awk -v d="vif$IDI.0:" '$1 == d { print $10 }')
	expect vif.rx_is_backend_tx 'a <= r && r <= b' "vif_0_rx=$RX1; dom0 vif$IDI.0 TX bytes before=$BTXA after=$BTXB" a="$BTXA" r="$RX1" b="$BTXB"

	# the vbd: 8 MiB of direct writes, then 16 MiB of direct reads, by the guest
	rm -f $D/io-go
	$PROBE --samples 2 --interval 120 --until $D/io-go >$D/b1 2>&1 &
	PR=$!
	i=0
	while ! grep -q '^snap.0.rc' $D/b1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	S0=/sys/bus/xen-backend/devices/vbd-$IDI-51712/statistics
	WS0=$(cat $S0/wr_sect 2>/dev/null)
	echo 'dd if=/dev/zero of=/dev/xvda bs=65536 count=128 oflag=direct 2>&1 | tail -1; dd if=/dev/xvda of=/dev/null bs=65536 count=256 iflag=direct 2>&1 | tail -1; echo io-done' |
		nc 10.0.0.2 5000 >$D/io.out
	WS1=$(cat $S0/wr_sect 2>/dev/null)
	touch $D/io-go
	wait $PR
	WS2=$(cat $S0/wr_sect 2>/dev/null)
	TW=$(kv $D/b1 ds.vm.$U.vbd_xvda_io_throughput_write)
	TR=$(kv $D/b1 ds.vm.$U.vbd_xvda_io_throughput_read)
	IW=$(kv $D/b1 ds.vm.$U.vbd_xvda_iops_write)
	IR=$(kv $D/b1 ds.vm.$U.vbd_xvda_iops_read)
	DT=$(kv $D/b1 rate.dt)
	WB=$(awk -v r="$(kv $D/b1 rate.vm.$U.vbd_xvda_write)" -v t="$DT" 'BEGIN { printf "%.0f\n", r * t }')
	RB=$(awk -v r="$(kv $D/b1 rate.vm.$U.vbd_xvda_read)" -v t="$DT" 'BEGIN { printf "%.0f\n", r * t }')
	expect vbd.present 'n == 1' "vbds of idle seen by rrdd: $(kv $D/b1 snap.1.dom.$IDI.nvbd), named $(awk '$1 ~ /^snap\.1\..*\.vbd\..*\.devid$/ { split($1, p, "."); printf "%s ", p[6] }' $D/b1); guest said: $(tr '\n' ' ' <$D/io.out)" \
		n="$(kv $D/b1 snap.1.dom.$IDI.nvbd)"
	expect vbd.write_follows_io 'w >= 8 && w <= 8.6 && b >= 8388608 && b <= 8388608 * 1.07' "guest wrote 8 MiB (O_DIRECT): io_throughput_write=$TW MiB in the interval, vbd_xvda_write grew by $WB B" w="$TW" b="$WB"
	expect vbd.read_follows_io 'r >= 16 && r <= 16.6 && b >= 16777216 && b <= 16777216 * 1.04' "guest read 16 MiB (O_DIRECT): io_throughput_read=$TR MiB in the interval, vbd_xvda_read grew by $RB B" r="$TR" b="$RB"
	expect vbd.iops 'w >= 128 && r >= 256' "requests in the interval: iops_write=$IW (>= 128 x 64 KiB), iops_read=$IR (>= 256 x 64 KiB)" w="$IW" r="$IR"
	WBY=$(kv $D/b1 ds.vm.$U.vbd_xvda_write)
	expect vbd.write_is_backend_sectors 'a * 512 <= w && w <= b * 512' "vbd_xvda_write=$WBY B; blkback wr_sect x 512 before=$(awk -v s="$WS1" 'BEGIN { print s * 512 }') after=$(awk -v s="$WS2" 'BEGIN { print s * 512 }') (at start $WS0 sectors)" \
		a="$WS1" w="$WBY" b="$WS2"
	LAT=$(count $D/b1 "^ds\\.vm\\.$U\\.vbd_xvda_(read_latency|write_latency|latency|iowait|inflight|avgqu_sz)\$")
	expect vbd.no_made_up_latency 'n == 0' "latency/iowait/inflight DSs without a source of wait times: $LAT (libxenstat has none)" n="$LAT"
else
	bad vif.present "no vif/vbd: the idle domU could not be created with devices (see devices.create)"
fi
[ $FAIL -eq $F ] || { dump $D/n1; dump $D/b1; cat /var/log/xen/tier-hotplug.log 2>/dev/null; }
xl unpause busy

# ---- phase 4: the daemon ---------------------------------------------------------------
if [ -x /usr/local/bin/rrdd ] && [ -x /usr/local/bin/tier-daemon-checks ]; then
	tlog "phase 4: rrdd daemon"
	. /usr/local/bin/tier-daemon-checks
else
	tlog "phase 4 not run: no rrdd daemon in this build"
fi

tlog "checks done"
xl destroy busy >/dev/null 2>&1
xl destroy idle >/dev/null 2>&1
echo "TIER RESULT pass=$PASS fail=$FAIL"
