# The Xen tier's phase 4 (sourced by checks.sh, whose helpers and variables
# it uses): runs the rrdd daemon with the Xen source in dom0 for about a
# minute while the domUs change, and checks what it records against xl and
# dom0's /proc:
#   - its per-tick dumps (host-metrics.json, vm-metrics.json): cpu<N> per
#     pCPU, cpu_avg, memory totals, running_domains, one VM entry per domain
#     keyed by its real uuid (dom0 by the inventory's CONTROL_DOMAIN_UUID)
#     with cpu<N> per vCPU, cpu_usage and memory;
#   - CPU usage following a load started inside the idle guest;
#   - a destroyed domU's RRD archived (<uuid>.gz) when it disappears;
#   - the same domU re-created (same uuid, new domid): its archived history
#     is kept and there is no spike across the restart (rrdd-tool dump).
#   - when rrdd has HTTP (--listen): GET /host_rrd, /vm_rrd?uuid=,
#     /rrd_updates over TCP on loopback, and a 404 for an unknown VM.
#     The same GET over the Unix socket with curl.
#   - the plugins-api examples run against the daemon: rrdp-proc (dom0's
#     /proc) and rrdp-demo-owners (VM- and SR-owned sources): registered
#     over the RPC socket, their sources in rrd_updates with /proc's values;
#   - the RPC over the Unix socket: query_possible_host_dss and add_host_ds
#     (rrdd-tool ls / enable), backup_rrds (rrdd-tool backup), has_vm_rrd and
#     archive_rrd (XML-RPC with curl, as xapi sends it).

S=/run/rrdd-tier
M=$S/metrics
A=$S/rrds
PD=$S/plugins
SOCK=$S/xcp-rrdd
HOST_UUID=5e1f0a7c-93d2-4b68-8c4e-2a7f6d1b9e35
SR_UUID=9a4c2e71-5b3d-4f08-b6e1-0d7c8a2f4b93
mkdir -p $S $M $A $PD

# jhost KEY / jvm UUID KEY: a value of the dumps in $DM (the live ones, or
# a copy taken once so that a message shows the values judged), or "missing"
DM=$M
# freeze: later jhost/jvm calls read one copy of the current dumps; thaw: the
# live ones again
freeze() {
	mkdir -p $S/frozen
	cp $M/host-metrics.json $M/vm-metrics.json $S/frozen/ 2>/dev/null
	DM=$S/frozen
}
thaw() { DM=$M; }
jhost() { tr ',' '\n' <$DM/host-metrics.json 2>/dev/null | sed 's/[{}" ]//g' |
	awk -F: -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }'; }
jvm_keys() { sed -n "s/.*\"$1\": *{\\([^}]*\\)}.*/\\1/p" $DM/vm-metrics.json 2>/dev/null | tr ',' '\n' | sed 's/[" ]//g'; }
jvm() { jvm_keys "$1" | awk -F: -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }'; }
jvm_cpus() { jvm_keys "$1" | awk -F: '$1 ~ /^cpu[0-9]+$/ { n++ } END { print n + 0 }'; }
jvm_maxcpu() { jvm_keys "$1" | awk -F: '$1 ~ /^cpu[0-9]+$/ && $2 + 0 > m { m = $2 + 0 } END { print m + 0 }'; }
# wait_dump COND-SHELL TIMEOUT: poll the dumps until the condition holds
wait_dump() {
	_i=0
	while ! eval "$1"; do
		sleep 1
		_i=$((_i + 1))
		[ $_i -ge "$2" ] && return 1
	done
	return 0
}
num() { case "$1" in '' | missing | NaN | *[!0-9.eE+-]*) return 1 ;; esac; return 0; }
# series ARCHIVE NAME: "t value" rows of the 5 s archive, oldest first
series() {
	rrdd-tool dump "$1" --updates --start -300 --interval 5 --json >$S/series.json 2>$S/series.err || return 1
	_idx=$(sed -n 's/.*"legend":\[\([^]]*\)\].*/\1/p' $S/series.json | tr ',' '\n' |
		awk -F: -v n="$2" '{ gsub(/"/, ""); if ($NF == n) { print NR; exit } }')
	[ -n "$_idx" ] || return 1
	grep -o '{"t":"[0-9]*","values":\[[^]]*\]}' $S/series.json |
		sed 's/{"t":"\([0-9]*\)","values":\[\(.*\)\]}/\1 \2/; s/"//g' |
		awk -v i="$_idx" '{ split($2, v, ","); print $1, v[i] }' | sort -n
}
dlog_tail() { echo "---- rrdd log ----"; tail -30 $S/rrdd.log; }
# The rrd_updates checks work on an export split into lines (tr '<' '\n'),
# parsed in one awk each: forks are slow in a PV dom0 under emulation.
# upd_stats LINES KEY=ENTRY...: one shell assignment per KEY,
# KEY="present rows min max" (present: the legend names ENTRY; rows, min,
# max: over its numeric rows, min and max as printed by rrdd)
upd_stats() {
	_f=$1
	shift
	awk -v want="$*" '
	BEGIN { nw = split(want, w, " ")
		for (i = 1; i <= nw; i++) { k = w[i]; sub(/=.*/, "", k); e = w[i]; sub(/^[^=]*=/, "", e); key[e] = k; keys[i] = k } }
	index($0, "entry>") == 1 { nc++; e = substr($0, 7); if (e in key) { col[nc] = key[e]; pr[key[e]] = 1 } }
	$0 == "row>" { c = 0 }
	index($0, "v>") == 1 { c++; s = substr($0, 3)
		if ((c in col) && s != "NaN" && s != "") { k = col[c]; v = s + 0
			if (!n[k] || v < lo[k]) { lo[k] = v; los[k] = s }
			if (!n[k] || v > hi[k]) { hi[k] = v; his[k] = s }
			n[k]++ } }
	END { for (i = 1; i <= nw; i++) { k = keys[i]
		printf "%s=\"%d %d %s %s\"\n", k, pr[k], n[k], (n[k] ? los[k] : "missing"), (n[k] ? his[k] : "missing") } }' "$_f"
}
# pair_means LINES ENTRY_A ENTRY_B: "n mean_a mean_b" over the longest run
# of consecutive rows where both entries are numbers
pair_means() {
	awk -v ea="$2" -v eb="$3" '
	index($0, "entry>") == 1 { nc++; e = substr($0, 7); if (e == ea) ca = nc; if (e == eb) cb = nc }
	$0 == "row>" { if (started) close_row(); started = 1; c = 0; va = vb = "" }
	index($0, "v>") == 1 { c++; x = substr($0, 3); if (c == ca) va = x; if (c == cb) vb = x }
	function close_row() {
		if (va != "" && vb != "" && va != "NaN" && vb != "NaN") { n++; sa += va; sb += vb
			if (n > bn) { bn = n; ba = sa; bb = sb } }
		else { n = 0; sa = sb = 0 } }
	END { if (started) close_row(); if (bn) printf "%d %.9g %.9g\n", bn, ba / bn, bb / bn; else print "0 0 0" }' "$1"
}
# win_check LINES ENTRY SAMPLES COL OFFSET SLACK BEFORE: judges the numeric
# rows of ENTRY against the readings in SAMPLES ("uptime x..." lines, the
# value in column COL; a row's time t is wall time, uptime = t - OFFSET).  A
# row (the 5 s average of the plugin's samples, read at the ticks around it)
# must lie within the readings taken from BEFORE s before to 8 s after it,
# +- SLACK.  BEFORE comes from how old a sample can be when a row takes it:
# the ticks that feed row t are after t - 5; a tick reads a page written
# before it (or, from a starved plugin, one tick before that), and the
# daemon resends an unchanged page for its stale ticks (2): 5 + 5 + 2 x 5
# = 20 s at 5 s ticks (a loaded run had a row 1.22 that only a reading
# 16-20 s before it showed).  The kernel changes these figures at most every
# 5 s, so readings no more than 5 s apart, from within 5 s of the window's
# start, see every value: a row whose window has a longer gap (the sampler
# starved on a loaded host; one loaded run had a row 1.7 above the readings
# around it) is not judged, and counted as without readings.
# Prints "rows-judged rows-outside rows-without-readings first-outside".
win_check() { awk -v e="$2" -v c="$4" -v off="$5" -v sl="$6" -v bw="$7" '
	FNR == NR { ut[n + 0] = $1 + 0; x[n + 0] = $c + 0; n++; next }
	index($0, "entry>") == 1 { nc++; if (substr($0, 7) == e) col = nc }
	$0 == "row>" { cc = 0 }
	index($0, "t>") == 1 { t = substr($0, 3) + 0 }
	index($0, "v>") == 1 { cc++; s = substr($0, 3)
		if (!col || cc != col || s == "NaN" || s == "") next
		tu = t - off; f = 0; gap = 0; cnt = 0
		for (i = 0; i < n; i++) if (ut[i] >= tu - bw && ut[i] <= tu + 8) {
			cnt++
			if (f && ut[i] - last > gap) gap = ut[i] - last
			if (!f) first = ut[i]
			last = ut[i]
			if (!f || x[i] < lo) lo = x[i]; if (!f || x[i] > hi) hi = x[i]; f = 1 }
		if (!f || first > tu - bw + 5 || last < tu || gap > 5) { nw++; next }
		m++
		if (s + 0 < lo - sl || s + 0 > hi + sl) { b++; if (msg == "") msg = t "=" s "_vs_" lo ".." hi "_(" cnt "_readings,_largest_gap_" gap "_s)" } }
	END { printf "%d %d %d %s\n", m, b, nw, (msg == "" ? "-" : msg) }' "$3" "$1"; }
# rpc METHOD MEMBERS...: one XML-RPC call over rrdd's Unix socket, as xapi
# encodes it (named parameters in one struct); MEMBERS are name=value
rpc() {
	_m=$1
	shift
	_b=""
	for _p in "$@"; do _b="$_b<member><name>${_p%%=*}</name><value>${_p#*=}</value></member>"; done
	curl -s --max-time 30 --unix-socket $SOCK -H 'Content-Type: text/xml' \
		--data-binary "<?xml version=\"1.0\"?><methodCall><methodName>$_m</methodName><params><param><value><struct>$_b</struct></value></param></params></methodCall>" \
		http://localhost/ 2>&1
}
# rpc_status ANSWER: Success or Failure; rpc_bool ANSWER: the Value boolean
rpc_status() { echo "$1" | sed -n 's/.*<name>Status<\/name><value>\([A-Za-z]*\)<\/value>.*/\1/p'; }
rpc_bool() { echo "$1" | sed -n 's/.*<name>Value<\/name><value><boolean>\([01]\)<\/boolean>.*/\1/p'; }
has_vm_rrd() { rpc_bool "$(rpc has_vm_rrd vm_uuid="$1")"; }
exists() { [ -s "$1" ] && echo 1 || echo 0; }

F=$FAIL
BUSY_ID=$(xl domid busy)
HTTP=""
if rrdd --help 2>&1 | grep -q -e '--listen'; then
	ip link set lo up
	HTTP="--listen 127.0.0.1:8080"
fi
# A stand-in tapdisk3 serving a disk of the idle guest, as on XCP-ng: its
# page in /dev/shm, the vbd3 backend entries tapback writes (kthread-pid,
# dev, the VDI), the VDI's link under /dev/sm/phy/<SR>.  Before rrdd starts,
# so that its first walk of xenstore finds it.
TD_SR=7e7e7e7e-4a1b-4c2d-9e3f-5a6b7c8d9e0f
TD_VDI=0d0d0d0d-4a1b-4c2d-9e3f-5a6b7c8d9e0f
TDB=/local/domain/0/backend/vbd3/$(xl domid idle)/51760
xen_probe --td3-feed "$(xl domid idle)" 51760 --loop 900 --until $S/td3.stop >$S/td3.out 2>&1 &
TD_PID=$!
xenstore-write $TDB/kthread-pid $TD_PID $TDB/dev xvdq $TDB/sm-data/vdi-uuid $TD_VDI
mkdir -p /dev/sm/phy/$TD_SR/$TD_VDI
# XenServer's inventory: the host uuid, and dom0's uuid (its Xen handle is
# all zeros on plain Xen), which keys dom0's VM RRD
printf "INSTALLATION_UUID='%s'\nCONTROL_DOMAIN_UUID='%s'\n" $HOST_UUID $DOM0_UUID >/etc/xensource-inventory
# shellcheck disable=SC2086
rrdd --source xen --run-for 900 --state-dir $S --archive-dir $A --metrics-dir $M \
	--inventory /etc/xensource-inventory --socket $SOCK --plugin-dir $PD \
	--log-level info $HTTP >$S/rrdd.log 2>&1 &
RP=$!
T_START=$(date +%s)
# dom0's load and process count, every second, to judge rrdp-proc's figures:
# "uptime load1 processes" lines.  No fork at all: the shell's own read, and
# a 1 s read timeout on a FIFO nobody writes to instead of sleep.
mkfifo $S/tick
(
	exec 3<>$S/tick
	while [ ! -e $S/sampler.stop ]; do
		read -r up _ </proc/uptime && read -r l1 _ _ rt _ </proc/loadavg && echo "$up $l1 ${rt#*/}"
		# shellcheck disable=SC3045 # busybox ash has read -t
		read -r -t 1 _ <&3
	done >$S/proc.samples
) &
# the plugins start once the socket is there, so that they register over
# the RPC before their first page
i=0
while [ ! -S $SOCK ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
rrdp-proc --dir $PD --socket $SOCK >$S/rrdp-proc.log 2>&1 &
PP=$!
rrdp-demo-owners --vm $IDLE_UUID --sr $SR_UUID --dir $PD --socket $SOCK >$S/rrdp-demo.log 2>&1 &
PO=$!
# the first tick has no rates: wait until the busy guest's cpu_usage is a number
wait_dump 'num "$(jvm $BUSY_UUID cpu_usage)" && num "$(jhost cpu_avg)" && num "$(jvm $IDLE_UUID cpu_usage)"' 40 ||
	tlog "rrdd dumps not complete after 40 s"
# query_possible_host_dss, then add_host_ds of a source the plugin offers
# without recording it by default (rrdd-tool ls / enable over the socket),
# in the background while waiting for one more tick
(
	wait_dump 'rrdd-tool ls host --socket $SOCK >$S/ls0.txt 2>&1 && grep -q "^dom0_procs_total " $S/ls0.txt' 10 ||
		tlog "rrdd-tool ls host does not list dom0_procs_total after 10 s"
	rrdd-tool enable host dom0_procs_total --socket $SOCK >$S/enable.out 2>&1
	echo $? >$S/enable.rc
	rrdd-tool enable host dom0_no_such_ds --socket $SOCK >$S/enable-bad.out 2>&1
	echo $? >$S/enable-bad.rc
) &
PE=$!
sleep 5 # one more tick, so every rate covers a full interval
wait $PE
read -r ENRC <$S/enable.rc
read -r ENBAD <$S/enable-bad.rc
xl info >$D/info4
xl list -v >$D/list4
cp $M/host-metrics.json $M/vm-metrics.json $S/ 2>/dev/null
DM=$S # the checks below judge this one copy of the dumps
NR=$(xl_info $D/info4 nr_cpus)
HC=$(tr ',' '\n' <$DM/host-metrics.json | sed 's/[{}" ]//g' | awk -F: '$1 ~ /^cpu[0-9]+$/ { n++; s = s $1 "=" $2 " " } END { print n + 0 }')
expect daemon.host.cpus 'a == b && c != "missing"' "rrdd host has $HC cpu<N> ($(tr ',' '\n' <$DM/host-metrics.json | sed 's/[{}" ]//g' | grep -E '^cpu' | tr '\n' ' ')), xl info nr_cpus=$NR" \
	a="$HC" b="$NR" c="$(jhost cpu_avg)"
T=$(jhost memory_total_kib)
expect daemon.host.memory_total 'int(a / 1024) == b' "rrdd memory_total_kib=$T, xl info total_memory=$(xl_info $D/info4 total_memory) MiB" a="$T" b="$(xl_info $D/info4 total_memory)"
T=$(jhost memory_free_kib)
expect daemon.host.memory_free 'a / 1024 - b <= 2 && b - a / 1024 <= 2' "rrdd memory_free_kib=$T, xl info free_memory=$(xl_info $D/info4 free_memory) MiB" a="$T" b="$(xl_info $D/info4 free_memory)"
# every domain has a VM RRD, dom0 too (keyed by the inventory's uuid)
NX=$(awk 'NR > 1 { n++ } END { print n + 0 }' $D/list4)
NV=$(grep -o '"[0-9a-f-]\{36\}": *{' $DM/vm-metrics.json | wc -l)
RD=$(jhost running_domains)
expect daemon.host.running_domains 'r == x && v == x' "rrdd running_domains=$RD; VMs in vm-metrics.json: $NV; xl list: $NX domains incl. Domain-0" \
	r="$RD" v="$NV" x="$NX"
expect daemon.host.uuid_from_inventory 'n >= 1' "rrdd log: $(grep -m1 'starting: host' $S/rrdd.log) (inventory INSTALLATION_UUID=$HOST_UUID)" \
	n="$(grep -c "starting: host $HOST_UUID (inventory)" $S/rrdd.log)"
# families Debian's Xen cannot give (no runstate call, no per-domain NUMA
# query): said once in the log, and absent rather than zeros
expect daemon.missing_families 'n == 1 && r == 0' "rrdd log: $(grep -m1 'cannot give' $S/rrdd.log | cut -c1-200); runstate_ DSs in vm-metrics.json: $(grep -o 'runstate_[a-z_]*' $DM/vm-metrics.json | wc -l)" \
	n="$(grep -c 'cannot give, on this host: runstate_' $S/rrdd.log)" r="$(grep -o 'runstate_[a-z_]*' $DM/vm-metrics.json | wc -l)"
for name in Domain-0 busy idle; do
	U=$(uuid_of $D/list4 $name)
	expect daemon.vm.$name.vcpus 'a == b' "vm $U: $(jvm_cpus $U) cpu<N> in vm-metrics.json, xl list VCPUs=$(xl_list $D/list4 $name 4)" a="$(jvm_cpus $U)" b="$(xl_list $D/list4 $name 4)"
	expect daemon.vm.$name.memory 'int(a / 1048576) == b' "vm $U memory=$(jvm $U memory) B, xl list Mem=$(xl_list $D/list4 $name 3) MiB" a="$(jvm $U memory)" b="$(xl_list $D/list4 $name 3)"
done
# the VMs' names from xenstore in the exposition's info family
curl -s --max-time 30 --unix-socket $SOCK http://localhost/metrics >$S/metrics.txt 2>&1
for name in busy idle; do
	U=$(uuid_of $D/list4 $name)
	expect daemon.vm.$name.info 'n == 1' "xen_vm_info lines for vm_uuid=$U name=$name in /metrics: $(grep -c "^xen_vm_info{vm_uuid=\"$U\",name=\"$name\"} 1\$" $S/metrics.txt); all: $(grep '^xen_vm_info' $S/metrics.txt | tr '\n' ' ' | cut -c1-400)" \
		n="$(grep -c "^xen_vm_info{vm_uuid=\"$U\",name=\"$name\"} 1\$" $S/metrics.txt)"
done
# a vCPU's running total as an OpenMetrics counter: the busy guest's vCPU 0
# read from a tick after xl's first reading and before its second, so xl's
# two Time(s) (printed to 0.1 s: +-0.05, through a float: +-0.001) bound it
counter_of() { sed -n "s/^xen_vm_cpu_seconds_total{vm_uuid=\"$1\",cpu=\"0\"} //p" "$2"; }
U=$(uuid_of $D/list4 busy)
xl vcpu-list >$S/vc0
curl -s --max-time 30 --unix-socket $SOCK http://localhost/metrics >$S/c0.txt 2>&1
C0=$(counter_of $U $S/c0.txt)
_i=0
while :; do
	sleep 1
	curl -s --max-time 30 --unix-socket $SOCK http://localhost/metrics >$S/c1.txt 2>&1
	C1=$(counter_of $U $S/c1.txt)
	_i=$((_i + 1))
	{ [ -n "$C1" ] && [ "$C1" != "$C0" ]; } || [ $_i -ge 60 ] && break
done
xl vcpu-list >$S/vc1
XB=$(awk '$1 == "busy" && $3 == 0 { print $6 }' $S/vc0)
XA=$(awk '$1 == "busy" && $3 == 0 { print $6 }' $S/vc1)
expect daemon.vm.busy.cpu_counter 'b - 0.051 <= c && c <= a + 0.051 && c != c0' "xen_vm_cpu_seconds_total{cpu=\"0\"} of busy: ${C1:-missing} (before the tick ${C0:-missing}); xl vcpu-list vCPU 0 Time(s) before=$XB after=$XA" \
	c="$C1" c0="$C0" b="$XB" a="$XA"
# query_possible_host_dss (rrdd-tool ls host, before add_host_ds): the Xen
# source's DSs and the plugin's, each with its recorded (ENABLED) flag
LSC=$(awk '$1 ~ /^cpu[0-9]+$/ && $2 == "yes" { n++ } END { print n + 0 }' $S/ls0.txt)
LSX=$(awk '$1 == "memory_total_kib" { print $2 }' $S/ls0.txt)
LSM=$(awk '$1 == "dom0_mem_total_kib" { print $2 "/" $3 }' $S/ls0.txt)
LSE=$(awk '$1 == "dom0_procs_total" { print $2 "/" $3 }' $S/ls0.txt)
expect rpc.query_possible_host_dss 'c == n && x == 1 && m == 1 && e == 1' "rrdd-tool ls host: $LSC recorded cpu<N> (xl nr_cpus=$NR), memory_total_kib enabled=$LSX, plugin's dom0_mem_total_kib enabled/default=$LSM, dom0_procs_total enabled/default=$LSE (must be no/no); ($(wc -l <$S/ls0.txt) lines)" \
	c="$LSC" n="$NR" x="$([ "$LSX" = yes ] && echo 1 || echo 0)" m="$([ "$LSM" = yes/yes ] && echo 1 || echo 0)" e="$([ "$LSE" = no/no ] && echo 1 || echo 0)"
expect rpc.add_host_ds 'rc == 0 && b == 1 && m == 1' "rrdd-tool enable host dom0_procs_total: rc=$ENRC ($(head -c 100 $S/enable.out)); an unknown DS: rc=$ENBAD ($(head -c 100 $S/enable-bad.out))" \
	rc="$ENRC" b="$ENBAD" m="$(grep -c Datasource_missing $S/enable-bad.out)"
# How busy each guest is depends on what else the machine runs (an emulated
# idle guest is not idle under load; the Xen source's own checks hold the
# rates to xl's account): the vCPU that never blocks gets at least the share
# of each vCPU that does, and cpu_usage is the mean of a domain's vCPUs
# (read apart from them, so within the skew of two reads).
# One tick's cpu_usage and cpu0 differ by how far apart the domain's and the
# vCPU's times were read in each of its two samples (on a loaded host, a
# second and more).  Over a run of rows the differences telescope: the
# rows' integral of (cpu0 - cpu_usage) is the read gap at the run's end
# minus that at its start, and a gap is shorter than a tick took (5 s when
# none was late, else the longest "tick took" the log shows), so the
# means of n rows differ by at most that over 5 n.
# (waiting, at most 60 s, for 6 rows)
_i=0
while :; do
	curl -s --max-time 30 --unix-socket $SOCK -H 'Accept: text/xml' -o $S/updates-busy.xml \
		"http://localhost/rrd_updates?start=-300&vm_uuid=$BUSY_UUID" 2>$S/curl.err
	tr '<' '\n' <$S/updates-busy.xml >$S/updates-busy.lines
	PM=$(pair_means $S/updates-busy.lines "AVERAGE:vm:$BUSY_UUID:cpu_usage" "AVERAGE:vm:$BUSY_UUID:cpu0")
	[ "${PM%% *}" -ge 6 ] 2>/dev/null && break
	_i=$((_i + 1))
	[ $_i -ge 12 ] && break
	sleep 5
done
PMN=${PM%% *}
PMU=${PM#* }
PMC=${PMU#* }
PMU=${PMU%% *}
TT=$(sed -n 's/.*tick took \([0-9.]*\) s.*/\1/p' $S/rrdd.log | sort -n | tail -1)
expect daemon.vm.busy.cpu_usage 'n >= 6 && u > 0 && u <= 1.05 && (u - c <= g / (5 * n)) && (c - u <= g / (5 * n))' "busy guest burning its vCPU: over $PMN consecutive 5 s rows, mean cpu_usage=$PMU cpu0=$PMC (bound: a read gap under ${TT:-5} s over $PMN rows); this tick: cpu_usage=$(jvm $BUSY_UUID cpu_usage) cpu0=$(jvm $BUSY_UUID cpu0)" \
	n="$PMN" u="$PMU" c="$PMC" g="$(awk -v t="${TT:-5}" 'BEGIN { print (t > 5 ? t : 5) }')"
IDLE_BEFORE=$(jvm $IDLE_UUID cpu_usage)
expect daemon.vm.idle.cpu_usage_before_load 'u >= 0 && u - (c0 + c1) / 2 <= 0.05 && (c0 + c1) / 2 - u <= 0.05 && m <= b' "idle guest: rrdd cpu_usage=$IDLE_BEFORE, cpu0=$(jvm $IDLE_UUID cpu0) cpu1=$(jvm $IDLE_UUID cpu1); busy guest: $(jvm $BUSY_UUID cpu_usage)" \
	u="$IDLE_BEFORE" m="$(jvm_maxcpu $IDLE_UUID)" b="$(jvm $BUSY_UUID cpu0)" c0="$(jvm $IDLE_UUID cpu0)" c1="$(jvm $IDLE_UUID cpu1)"
DM=$M # live dumps again, for the waits below

# tapdisk3: the stand-in's VBD in idle's RRD as rrdp-iostat derives it, and
# its SR's aggregates and the low-memory count on the host.  Every 0.5 s it
# completes 50 reads waiting 100 us each and 10 writes waiting 300 us each,
# with 10 requests in flight: the latencies and inflight are exact whatever
# the timing; the rates only bounded (the feeder may lag on a loaded host).
numeq() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a "" ~ /^[-+0-9.eE]+$/ && a - b < 0.01 && b - a < 0.01) }'; }
wait_dump 'numeq "$(jvm $IDLE_UUID vbd_xvdq_read_latency)" 100' 30 || tlog "no vbd_xvdq_read_latency of 100 after 30 s"
freeze
TD8=$(echo $TD_SR | cut -c1-8)
expect daemon.vbd3.vm 'n == 14 && rl == 100 && wl == 300 && l > 133.3 && l < 133.4 && f == 10 && i > 0 && i <= 150 && r > 0 && r <= 450000' \
	"tapdisk3 VBD xvdq of idle ($(head -1 $S/td3.out)): $(jvm_keys $IDLE_UUID | grep -c '^vbd_xvdq_') vbd_xvdq_* DSs; read_latency=$(jvm $IDLE_UUID vbd_xvdq_read_latency) write_latency=$(jvm $IDLE_UUID vbd_xvdq_write_latency) latency=$(jvm $IDLE_UUID vbd_xvdq_latency) inflight=$(jvm $IDLE_UUID vbd_xvdq_inflight) iops_read=$(jvm $IDLE_UUID vbd_xvdq_iops_read) read=$(jvm $IDLE_UUID vbd_xvdq_read) B/s" \
	n="$(jvm_keys $IDLE_UUID | grep -c '^vbd_xvdq_')" rl="$(jvm $IDLE_UUID vbd_xvdq_read_latency)" wl="$(jvm $IDLE_UUID vbd_xvdq_write_latency)" \
	l="$(jvm $IDLE_UUID vbd_xvdq_latency)" f="$(jvm $IDLE_UUID vbd_xvdq_inflight)" i="$(jvm $IDLE_UUID vbd_xvdq_iops_read)" r="$(jvm $IDLE_UUID vbd_xvdq_read)"
expect daemon.vbd3.sr 'rl == 100 && l > 133.3 && l < 133.4 && f == 10 && i > 0 && i <= 150 && m > 0 && m <= 0.3' \
	"SR $TD8 on the host: read_latency_$TD8=$(jhost read_latency_$TD8) latency_$TD8=$(jhost latency_$TD8) inflight_$TD8=$(jhost inflight_$TD8) iops_read_$TD8=$(jhost iops_read_$TD8); Tapdisks_in_low_memory_mode=$(jhost Tapdisks_in_low_memory_mode) (one page flagged: 1 per 5 s, an ABSOLUTE as rrdp-iostat declares it)" \
	rl="$(jhost read_latency_$TD8)" l="$(jhost latency_$TD8)" f="$(jhost inflight_$TD8)" i="$(jhost iops_read_$TD8)" m="$(jhost Tapdisks_in_low_memory_mode)"
thaw

# the HTTP interface (GET over TCP on loopback with busybox wget)
if [ -n "$HTTP" ]; then
	U8=http://127.0.0.1:8080
	wget -q -O $S/host_rrd.xml --header 'Accept: text/xml' $U8/host_rrd 2>$S/wget.err
	HN=$(grep -o '<name>cpu[0-9]*</name>' $S/host_rrd.xml | wc -l)
	HM=$(grep -c '<name>memory_total_kib</name>' $S/host_rrd.xml)
	expect http.host_rrd 'n == c && m == 1' "GET /host_rrd: $HN cpu<N> DSs (xl nr_cpus=$NR), memory_total_kib $HM time(s), $(wc -c <$S/host_rrd.xml) bytes $(head -c 120 $S/wget.err)" \
		n="$HN" c="$NR" m="$HM"
	wget -q -O $S/vm_rrd.xml --header 'Accept: text/xml' "$U8/vm_rrd?uuid=$IDLE_UUID" 2>$S/wget.err
	VN=$(grep -o '<name>cpu[0-9]*</name>' $S/vm_rrd.xml | wc -l)
	VD=$(grep -o -E '<name>(vif_0_rx|vif_0_tx|vbd_xvda_read|vbd_xvda_write|memory)</name>' $S/vm_rrd.xml | wc -l)
	expect http.vm_rrd 'n == 2 && (d == 5 || (x == 0 && d == 1))' "GET /vm_rrd?uuid=idle: $VN cpu<N> DSs (2 vCPUs), $VD of memory/vif_0_rx/vif_0_tx/vbd_xvda_read/vbd_xvda_write $(head -c 120 $S/wget.err)" \
		n="$VN" d="$VD" x="$DEVICES"
	wget -q -O $S/updates.xml --header 'Accept: text/xml' "$U8/rrd_updates?start=-60&host=true" 2>$S/wget.err
	UL=0
	for e in "host:$HOST_UUID:cpu_avg" "host:$HOST_UUID:memory_free_kib" "vm:$BUSY_UUID:cpu_usage" "vm:$IDLE_UUID:cpu_usage" "vm:$IDLE_UUID:cpu1" "vm:$DOM0_UUID:memory"; do
		grep -q "<entry>AVERAGE:$e</entry>" $S/updates.xml && UL=$((UL + 1))
	done
	expect http.rrd_updates 'l == 6 && r >= 1' "GET /rrd_updates?start=-60&host=true: $UL of 6 expected legend entries (host cpu_avg, memory_free_kib, busy and idle cpu_usage, idle cpu1, dom0 memory), $(grep -o '<row>' $S/updates.xml | wc -l) rows $(head -c 120 $S/wget.err)" \
		l="$UL" r="$(grep -o '<row>' $S/updates.xml | wc -l)"
	wget -q -O /dev/null "$U8/vm_rrd?uuid=00000000-1111-4222-8333-444444444444" 2>$S/wget.err
	expect http.vm_rrd_unknown 'n >= 1' "GET /vm_rrd of an unknown uuid: $(head -c 120 $S/wget.err)" \
		n="$(grep -c 404 $S/wget.err)"
	# the Unix socket xapi connects to (curl is in dom0 when the host has it)
	if command -v curl >/dev/null; then
		curl -s --max-time 20 --unix-socket $S/xcp-rrdd -H 'Accept: text/xml' -o $S/host_rrd_unix.xml \
			http://localhost/host_rrd 2>$S/curl.err
		CN=$(grep -o '<name>cpu[0-9]*</name>' $S/host_rrd_unix.xml | wc -l)
		expect http.unix_socket 'n == c' "GET /host_rrd over $S/xcp-rrdd: $CN cpu<N> DSs (xl nr_cpus=$NR), $(wc -c <$S/host_rrd_unix.xml) bytes $(head -c 120 $S/curl.err)" \
			n="$CN" c="$NR"
	else
		tlog "Unix socket HTTP check not run: no curl on the build host"
	fi
else
	tlog "HTTP checks not run: this rrdd has no --listen"
fi

# a load started in the idle guest; the busy guest destroyed meanwhile
[ $DEVICES = 1 ] && echo '(while :; do :; done) </dev/null >/dev/null 2>&1 &' | nc 10.0.0.2 5000
T_DESTROY=$(date +%s)
xl destroy busy
wait_dump '[ -s $A/$BUSY_UUID.gz ]' 15
AB=$(exists $A/$BUSY_UUID.gz)
VB=$(grep -c $BUSY_UUID $M/vm-metrics.json)
expect daemon.vm.busy.archived_when_gone 'a == 1 && v == 0' "busy destroyed at +$((T_DESTROY - T_START))s: $A/$BUSY_UUID.gz $([ $AB = 1 ] && echo exists || echo 'is missing'); busy in vm-metrics.json: $VB" \
	a="$AB" v="$VB"
HB=$(has_vm_rrd $BUSY_UUID)
expect rpc.has_vm_rrd_destroyed 'h == 0' "has_vm_rrd(busy) after xl destroy and its archive: '$HB' (released from memory)" h="$HB"
if [ $DEVICES = 1 ]; then
	wait_dump 'awk -v m="$(jvm_maxcpu $IDLE_UUID)" "BEGIN { exit !(m >= 0.7) }"' 15
	freeze
	# cpu_usage is the domain's CPU time over its 2 vCPUs: the mean of cpu0
	# and cpu1 (read from the vCPUs apart, so within the skew of two reads),
	# and above what it was before the loop.  How much above depends on what
	# else the machine runs (an emulated idle guest is not idle under load):
	# the loop's share shows in the busiest vCPU.
	expect daemon.vm.idle.cpu_follows_load 'm >= 0.4 && u - (c0 + c1) / 2 <= 0.05 && (c0 + c1) / 2 - u <= 0.05 && u > b && u <= 0.65' "loop started in the 2-vCPU idle guest: rrdd cpu_usage=$(jvm $IDLE_UUID cpu_usage) (was $IDLE_BEFORE), cpu0=$(jvm $IDLE_UUID cpu0) cpu1=$(jvm $IDLE_UUID cpu1), busiest vCPU=$(jvm_maxcpu $IDLE_UUID)" \
		m="$(jvm_maxcpu $IDLE_UUID)" u="$(jvm $IDLE_UUID cpu_usage)" b="$IDLE_BEFORE" \
		c0="$(jvm $IDLE_UUID cpu0)" c1="$(jvm $IDLE_UUID cpu1)"
	thaw
else
	bad daemon.vm.idle.cpu_follows_load "no command channel into the guest (no vif)"
fi

# the busy guest re-created with the same uuid: history kept, no spike.
# Rows of busy after T_BACK can only come from its second life.
T_BACK=$(date +%s)
xl create /etc/xen/busy.cfg >$D/create-busy3.log 2>&1 &
PX=$!
# while xl builds busy and it boots: the plugins and the RPC
# ---- the plugins-api examples, read by the daemon ----
# rrdp-proc: dom0's /proc as host sources; rrdd-tool enable turned its
# non-default dom0_procs_total on at the start.  rrdp-demo-owners: sources
# owned by the idle VM and by an SR.
curl -s --max-time 30 --unix-socket $SOCK -H 'Accept: text/xml' -o $S/updates2.xml \
	"http://localhost/rrd_updates?start=-60&host=true&sr_uuid=$SR_UUID" 2>$S/curl.err
rrdd-tool ls host --socket $SOCK >$S/ls1.txt 2>&1
while read -r k v _; do
	case $k in MemTotal:) MT=$v ;; SwapTotal:) ST=$v ;; esac
done </proc/meminfo
read -r up _ </proc/uptime
OFF=$(($(date +%s) - ${up%.*})) # wall time - uptime
tr '<' '\n' <$S/updates2.xml >$S/updates2.lines
HP="AVERAGE:host:$HOST_UUID"
upd_stats $S/updates2.lines memt=$HP:dom0_mem_total_kib swapt=$HP:dom0_swap_total_kib \
	p1=$HP:dom0_loadavg1 p2=$HP:dom0_mem_free_kib p3=$HP:dom0_mem_available_kib \
	p4=$HP:dom0_mem_buffers_kib p5=$HP:dom0_mem_cached_kib p6=$HP:dom0_swap_free_kib \
	n1=$HP:dom0_loadavg5 n2=$HP:dom0_loadavg15 n3=$HP:dom0_procs_running \
	dvm=AVERAGE:vm:$IDLE_UUID:demo_load dsr=AVERAGE:sr:$SR_UUID:demo_used dhost=$HP:demo_owners >$S/upd.sh
memt="" swapt="" p1="" p2="" p3="" p4="" p5="" p6="" n1="" n2="" n3="" dvm="" dsr="" dhost=""
. $S/upd.sh
PL=0
for v in "$memt" "$swapt" "$p1" "$p2" "$p3" "$p4" "$p5" "$p6"; do
	set -- $v
	PL=$((PL + ${1:-0}))
done
PN=0
for v in "$n1" "$n2" "$n3"; do
	set -- $v
	PN=$((PN + ${1:-0}))
done
expect plugin.proc.registered 'n >= 1' "rrdd log: '$(grep -m1 'plugin rrdp-proc registered' $S/rrdd.log)' (Plugin.Local.register over $SOCK); rrdp-proc said: $(head -c 200 $S/rrdp-proc.log)" \
	n="$(grep -c 'plugin rrdp-proc registered (RPC)' $S/rrdd.log)"
expect plugin.proc.in_rrd_updates 'l == 8 && n == 0' "GET /rrd_updates?start=-60&host=true: $PL of rrdp-proc's 8 default sources in the legend, $PN of its 3 non-default ones never enabled (must be 0); $(grep -c '^row>' $S/updates2.lines) rows $(head -c 120 $S/curl.err)" \
	l="$PL" n="$PN"
set -- $memt
expect plugin.proc.mem_total 'n >= 3 && lo == m && hi == m' "dom0_mem_total_kib in rrd_updates: $2 rows, min=$3 max=$4; dom0 /proc/meminfo MemTotal=$MT kB" \
	n="$2" lo="$3" hi="$4" m="$MT"
set -- $swapt
expect plugin.proc.swap_total 'n >= 3 && lo == m && hi == m' "dom0_swap_total_kib in rrd_updates: $2 rows, min=$3 max=$4; /proc/meminfo SwapTotal=$ST kB" \
	n="$2" lo="$3" hi="$4" m="$ST"
# loadavg changes every 5 s and the sampler reads it every second: each row
# lies within the readings around its time
# shellcheck disable=SC2046 # the words are the fields
# the window before a row: 4 ticks (see win_check), each 5 s or as long as
# the longest late one the log shows
BW=$(sed -n 's/.*tick took \([0-9.]*\) s.*/\1/p' $S/rrdd.log | sort -n | tail -1 |
	awk '{ t = $1 } END { print 4 * (t > 5 ? t : 5) }')
set -- $(win_check $S/updates2.lines $HP:dom0_loadavg1 $S/proc.samples 2 "$OFF" 0.011 "$BW")
expect plugin.proc.loadavg1 'n >= 3 && b == 0' "dom0_loadavg1 in rrd_updates: $1 rows judged against dom0's /proc/loadavg read every second ($(wc -l <$S/proc.samples) readings), $2 outside the readings from $BW s before to 8 s after (first: $4), $3 without readings" \
	n="$1" b="$2"
# the source enabled with add_host_ds: recorded, with /proc's process count
# (processes come and go between readings: 10 of slack)
LS1=$(awk '$1 == "dom0_procs_total" { print $2 }' $S/ls1.txt)
# shellcheck disable=SC2046 # the words are the fields
set -- $(win_check $S/updates2.lines $HP:dom0_procs_total $S/proc.samples 3 "$OFF" 10 "$BW")
expect rpc.add_host_ds_recorded 'n >= 2 && b == 0 && e == 1' "after add_host_ds: rrdd-tool ls says dom0_procs_total enabled=$LS1; rrd_updates has $1 rows judged against the process counts of /proc/loadavg, $2 outside the readings around them +-10 (first: $4)" \
	n="$1" b="$2" e="$([ "$LS1" = yes ] && echo 1 || echo 0)"
# rrdp-demo-owners: the VM-owned sources in the idle VM's RRD, the SR's in
# its own, and the host's count of owners (1 VM + 1 SR)
curl -s --max-time 30 --unix-socket $SOCK -H 'Accept: text/xml' -o $S/vm_rrd2.xml \
	"http://localhost/vm_rrd?uuid=$IDLE_UUID" 2>$S/curl.err
VD=$(grep -o -E '<name>(demo_load|demo_requests)</name>' $S/vm_rrd2.xml | wc -l)
set -- $dvm
expect plugin.demo.vm_source 'd == 2 && n >= 3 && lo >= 0 && hi <= 1' "GET /vm_rrd?uuid=idle: $VD of demo_load/demo_requests; rrd_updates demo_load of vm $IDLE_UUID: $2 rows in [$3, $4] (a sine in [0,1]); rrdp-demo-owners said: $(head -c 120 $S/rrdp-demo.log)" \
	d="$VD" n="$2" lo="$3" hi="$4"
set -- $dsr
expect plugin.demo.sr_source 'n >= 3 && lo >= 1073741824 && hi <= 1073741824 + 200 * 1048576 && hi > lo' "rrd_updates&sr_uuid=SR: demo_used of sr $SR_UUID: $2 rows in [$3, $4] (1 GiB + 1 MiB per sample)" \
	n="$2" lo="$3" hi="$4"
set -- $dhost
expect plugin.demo.host_source 'n >= 3 && lo == 2 && hi == 2' "demo_owners (host): $2 rows in [$3, $4] (1 VM + 1 SR)" \
	n="$2" lo="$3" hi="$4"

# ---- the RPC over the Unix socket: has_vm_rrd, backup_rrds, archive_rrd ----
HI=$(has_vm_rrd $IDLE_UUID)
HD=$(has_vm_rrd $DOM0_UUID)
HU=$(has_vm_rrd 00000000-1111-4222-8333-444444444444)
expect rpc.has_vm_rrd 'i == 1 && d == 1 && u == 0' "has_vm_rrd: idle '$HI', dom0 ($DOM0_UUID) '$HD', an unknown uuid '$HU'" i="$HI" d="$HD" u="$HU"
# backup_rrds archives every RRD in memory: dom0's, idle's and the host's
# (removed first, so each file is the backup's own)
rm -f $A/$DOM0_UUID.gz $A/$IDLE_UUID.gz $A/$HOST_UUID.gz
rrdd-tool backup --socket $SOCK >$S/backup.out 2>&1
BRC=$?
expect rpc.backup_rrds 'rc == 0 && d == 1 && i == 1 && h == 1' "rrdd-tool backup: rc=$BRC ($(head -c 100 $S/backup.out)); then dom0.gz=$(exists $A/$DOM0_UUID.gz) idle.gz=$(exists $A/$IDLE_UUID.gz) host.gz=$(exists $A/$HOST_UUID.gz)" \
	rc="$BRC" d="$(exists $A/$DOM0_UUID.gz)" i="$(exists $A/$IDLE_UUID.gz)" h="$(exists $A/$HOST_UUID.gz)"
rm -f $A/$IDLE_UUID.gz $A/$HOST_UUID.gz
# archive_rrd of the running idle VM: written to <uuid>.gz with its history
R=$(rpc archive_rrd vm_uuid=$IDLE_UUID)
series $A/$IDLE_UUID.gz cpu_usage >$S/idle.series 2>/dev/null || : >$S/idle.series
IR=$(awk '$2 != "NaN" && $2 != "" { n++ } END { print n + 0 }' $S/idle.series)
expect rpc.archive_rrd 's == 1 && a == 1 && r >= 3' "archive_rrd(idle): $(rpc_status "$R") $(echo "$R" | grep -o 'ErrorDescription.*' | head -c 150); $A/$IDLE_UUID.gz $([ -s $A/$IDLE_UUID.gz ] && echo exists || echo 'is missing'), with $IR numeric cpu_usage rows" \
	s="$([ "$(rpc_status "$R")" = Success ] && echo 1 || echo 0)" a="$(exists $A/$IDLE_UUID.gz)" r="$IR"

wait $PX || bad daemon.busy.recreate "$(tail -3 $D/create-busy3.log | tr '\n' ' ')"
wait_dump 'num "$(jvm $BUSY_UUID cpu_usage)"' 40
BD=$(xl domid busy)
BU=$(jvm $BUSY_UUID cpu_usage)
expect daemon.vm.busy.back 'd != o && u >= 0' "busy back as domid $BD (was $BUSY_ID), created from +$((T_BACK - T_START))s: rrdd cpu_usage=$BU" d="$BD" o="$BUSY_ID" u="$BU"

sleep 6 # one more tick of busy's second life (and of idle, still running)
HI=$(has_vm_rrd $IDLE_UUID)
expect rpc.archive_rrd_running_vm_back 'i == 1' "has_vm_rrd(idle) one tick after archive_rrd, the domain still running: '$HI'" i="$HI"
# the plugins stop first: SIGTERM makes them deregister over the RPC
kill -TERM $PP $PO 2>/dev/null
wait $PP
PPRC=$?
wait $PO
PORC=$?
touch $S/sampler.stop $S/td3.stop
xenstore-rm /local/domain/0/backend/vbd3
expect plugin.deregistered 'p == 0 && o == 0 && n == 2' "on SIGTERM rrdp-proc exited $PPRC, rrdp-demo-owners $PORC; rrdd logged $(grep -c -E 'plugin rrdp-(proc|demo-owners) deregistered' $S/rrdd.log) deregistrations" \
	p="$PPRC" o="$PORC" n="$(grep -c -E 'plugin rrdp-(proc|demo-owners) deregistered' $S/rrdd.log)"
# SIGTERM: rrdd archives every RRD and exits 0 (--run-for 900 is only a bound:
# on a loaded host this phase has taken 350 s)
kill -TERM $RP 2>/dev/null
i=0
while kill -0 $RP 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
kill -0 $RP 2>/dev/null && { tlog "rrdd still running 30 s after SIGTERM: killing it"; kill -KILL $RP; }
wait $RP
RC=$?
T_END=$(date +%s)
expect daemon.exit 'rc == 0' "rrdd exited with $RC on SIGTERM after $((T_END - T_START))s; $(grep -c 'late' $S/rrdd.log) log lines about late ticks" rc="$RC"
expect daemon.host.archived 'a == 1' "host archive $A/$HOST_UUID.gz $([ -s $A/$HOST_UUID.gz ] && echo exists || echo 'is missing')" a="$([ -s $A/$HOST_UUID.gz ] && echo 1 || echo 0)"
series $A/$BUSY_UUID.gz cpu_usage >$S/busy.series || echo "no series" >$S/busy.series
# rows before the destroy (history from the first life, kept across the
# archive/reload), rows after the re-creation, and nothing above 1 anywhere
BEFORE=$(awk -v t="$T_DESTROY" '$1 < t && $2 + 0 >= 0.5 && $2 != "NaN" { n++ } END { print n + 0 }' $S/busy.series)
AFTER=$(awk -v t="$T_BACK" '$1 > t && $2 != "NaN" { n++ } END { print n + 0 }' $S/busy.series)
MAX=$(awk '$2 != "NaN" && $2 + 0 > m { m = $2 + 0 } END { print m + 0 }' $S/busy.series)
expect daemon.vm.busy.history_kept 'b >= 2 && a >= 1' "busy archive after the run: $BEFORE rows >= 0.5 before the destroy, $AFTER rows after the re-creation ($(wc -l <$S/busy.series) rows of the 5 s archive in the last 300 s)" b="$BEFORE" a="$AFTER"
expect daemon.vm.busy.no_spike 'm <= 1.05' "highest cpu_usage row across destroy and restart: $MAX (a counter restarting at a new domid must not read as a huge rate)" m="$MAX"
if [ $FAIL -ne $F ]; then
	dlog_tail
	echo "---- host-metrics.json ----"
	cat $S/host-metrics.json
	echo
	echo "---- vm-metrics.json ----"
	cat $S/vm-metrics.json
	echo
	echo "---- busy cpu_usage series ----"
	cat $S/busy.series
	echo "---- rrdd-tool ls host, before and after add_host_ds ----"
	cat $S/ls0.txt $S/ls1.txt
	echo "---- plugins ----"
	cat $S/rrdp-proc.log $S/rrdp-demo.log
	echo "---- dom0 /proc/loadavg readings (load, processes) ----"
	tr '\n' ';' <$S/proc.samples
	echo
	echo "---- rrd_updates (plugin checks) ----"
	head -c 3000 $S/updates2.xml
	echo
fi
