# The Xen tier's phase 4 (sourced by checks.sh, whose helpers and variables
# it uses): runs the rrdd daemon with the Xen source in dom0 for about a
# minute while the domUs change, and checks what it records against xl:
#   - its per-tick dumps (host-metrics.json, vm-metrics.json): cpu<N> per
#     pCPU, cpu_avg, memory totals, running_domains, one VM entry per domU
#     keyed by its real uuid with cpu<N> per vCPU, cpu_usage and memory;
#   - CPU usage following a load started inside the idle guest;
#   - a destroyed domU's RRD archived (<uuid>.gz) when it disappears;
#   - the same domU re-created (same uuid, new domid): its archived history
#     is kept and there is no spike across the restart (rrdd-tool dump).
#   - when rrdd has HTTP (--listen): GET /host_rrd, /vm_rrd?uuid=,
#     /rrd_updates over TCP on loopback, and a 404 for an unknown VM.
#     The same GET over the Unix socket with curl, when the build host has it.
# TODO (later issues, hooks for this file): the XML-RPC/JSON-RPC interface
# (curl --unix-socket -d ..., or the project's test client added to BINS in
# run.sh), and a plugins-api example plugin whose sources must appear in
# rrd_updates.

S=/run/rrdd-tier
M=$S/metrics
A=$S/rrds
HOST_UUID=5e1f0a7c-93d2-4b68-8c4e-2a7f6d1b9e35
mkdir -p $S $M $A

# jhost KEY / jvm UUID KEY: a value of the latest dumps, or "missing"
jhost() { tr ',' '\n' <$M/host-metrics.json 2>/dev/null | sed 's/[{}" ]//g' |
	awk -F: -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }'; }
jvm_keys() { sed -n "s/.*\"$1\": *{\\([^}]*\\)}.*/\\1/p" $M/vm-metrics.json 2>/dev/null | tr ',' '\n' | sed 's/[" ]//g'; }
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

F=$FAIL
BUSY_ID=$(xl domid busy)
HTTP=""
if rrdd --help 2>&1 | grep -q -e '--listen'; then
	ip link set lo up
	HTTP="--socket $S/xcp-rrdd --listen 127.0.0.1:8080"
fi
# shellcheck disable=SC2086
rrdd --source xen --run-for 300 --state-dir $S --archive-dir $A --metrics-dir $M \
	--host-uuid $HOST_UUID --log-level info $HTTP >$S/rrdd.log 2>&1 &
RP=$!
T_START=$(date +%s)
# the first tick has no rates: wait until the busy guest's cpu_usage is a number
wait_dump 'num "$(jvm $BUSY_UUID cpu_usage)" && num "$(jhost cpu_avg)" && num "$(jvm $IDLE_UUID cpu_usage)"' 40 ||
	tlog "rrdd dumps not complete after 40 s"
sleep 5 # one more tick, so every rate covers a full interval
xl info >$D/info4
xl list -v >$D/list4
cp $M/host-metrics.json $M/vm-metrics.json $S/ 2>/dev/null
NR=$(xl_info $D/info4 nr_cpus)
HC=$(tr ',' '\n' <$M/host-metrics.json | sed 's/[{}" ]//g' | awk -F: '$1 ~ /^cpu[0-9]+$/ { n++; s = s $1 "=" $2 " " } END { print n + 0 }')
expect daemon.host.cpus 'a == b && c != "missing"' "rrdd host has $HC cpu<N> ($(tr ',' '\n' <$M/host-metrics.json | sed 's/[{}" ]//g' | grep -E '^cpu' | tr '\n' ' ')), xl info nr_cpus=$NR" \
	a="$HC" b="$NR" c="$(jhost cpu_avg)"
T=$(jhost memory_total_kib)
expect daemon.host.memory_total 'int(a / 1024) == b' "rrdd memory_total_kib=$T, xl info total_memory=$(xl_info $D/info4 total_memory) MiB" a="$T" b="$(xl_info $D/info4 total_memory)"
T=$(jhost memory_free_kib)
expect daemon.host.memory_free 'a / 1024 - b <= 2 && b - a / 1024 <= 2' "rrdd memory_free_kib=$T, xl info free_memory=$(xl_info $D/info4 free_memory) MiB" a="$T" b="$(xl_info $D/info4 free_memory)"
# dom0's Xen handle is all zeros on plain Xen: the daemon has no uuid for it
# (spec 1.1 skips it), so it counts the domains it can name
NX=$(awk 'NR > 1 { n++ } END { print n + 0 }' $D/list4)
NV=$(grep -o '"[0-9a-f-]\{36\}": *{' $M/vm-metrics.json | wc -l)
RD=$(jhost running_domains)
expect daemon.host.running_domains 'r == v && (v == x || v == x - 1)' "rrdd running_domains=$RD; VMs in vm-metrics.json: $NV; xl list: $NX domains incl. Domain-0 (handle $(xl list -v | awk '$1 == "Domain-0" { print $7 }'))" \
	r="$RD" v="$NV" x="$NX"
for name in busy idle; do
	U=$(xl_list $D/list4 $name 7)
	expect daemon.vm.$name.vcpus 'a == b' "vm $U: $(jvm_cpus $U) cpu<N> in vm-metrics.json, xl list VCPUs=$(xl_list $D/list4 $name 4)" a="$(jvm_cpus $U)" b="$(xl_list $D/list4 $name 4)"
	expect daemon.vm.$name.memory 'int(a / 1048576) == b' "vm $U memory=$(jvm $U memory) B, xl list Mem=$(xl_list $D/list4 $name 3) MiB" a="$(jvm $U memory)" b="$(xl_list $D/list4 $name 3)"
done
expect daemon.vm.busy.cpu_usage 'u >= 0.5 && u <= 1.05' "busy guest burning its vCPU: rrdd cpu_usage=$(jvm $BUSY_UUID cpu_usage) cpu0=$(jvm $BUSY_UUID cpu0)" u="$(jvm $BUSY_UUID cpu_usage)"
IDLE_BEFORE=$(jvm $IDLE_UUID cpu_usage)
expect daemon.vm.idle.cpu_usage_before_load 'u <= 0.5 && m <= 0.5 && b - u >= 0.3' "idle guest: rrdd cpu_usage=$IDLE_BEFORE, highest cpu<N>=$(jvm_maxcpu $IDLE_UUID); busy guest: $(jvm $BUSY_UUID cpu_usage)" \
	u="$IDLE_BEFORE" m="$(jvm_maxcpu $IDLE_UUID)" b="$(jvm $BUSY_UUID cpu_usage)"

# the HTTP interface (GET over TCP on loopback; busybox wget, no curl in dom0)
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
	for e in "host:$HOST_UUID:cpu_avg" "host:$HOST_UUID:memory_free_kib" "vm:$BUSY_UUID:cpu_usage" "vm:$IDLE_UUID:cpu_usage" "vm:$IDLE_UUID:cpu1"; do
		grep -q "<entry>AVERAGE:$e</entry>" $S/updates.xml && UL=$((UL + 1))
	done
	expect http.rrd_updates 'l == 5 && r >= 1' "GET /rrd_updates?start=-60&host=true: $UL of 5 expected legend entries (host cpu_avg, memory_free_kib, busy and idle cpu_usage, idle cpu1), $(grep -o '<row>' $S/updates.xml | wc -l) rows $(head -c 120 $S/wget.err)" \
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
expect daemon.vm.busy.archived_when_gone 'a == 1 && v == 0' "busy destroyed at +$((T_DESTROY - T_START))s: $A/$BUSY_UUID.gz $([ -s $A/$BUSY_UUID.gz ] && echo exists || echo 'is missing'); busy in vm-metrics.json: $(grep -c $BUSY_UUID $M/vm-metrics.json)" \
	a="$([ -s $A/$BUSY_UUID.gz ] && echo 1 || echo 0)" v="$(grep -c $BUSY_UUID $M/vm-metrics.json)"
if [ $DEVICES = 1 ]; then
	wait_dump 'awk -v m="$(jvm_maxcpu $IDLE_UUID)" "BEGIN { exit !(m >= 0.7) }"' 15
	expect daemon.vm.idle.cpu_follows_load 'm >= 0.4 && u >= 0.25 && u <= 0.65 && u - b >= 0.2' "loop started in the 2-vCPU idle guest: rrdd cpu_usage=$(jvm $IDLE_UUID cpu_usage) (was $IDLE_BEFORE), busiest vCPU=$(jvm_maxcpu $IDLE_UUID)" \
		m="$(jvm_maxcpu $IDLE_UUID)" u="$(jvm $IDLE_UUID cpu_usage)" b="$IDLE_BEFORE"
else
	bad daemon.vm.idle.cpu_follows_load "no command channel into the guest (no vif)"
fi

# the busy guest re-created with the same uuid: history kept, no spike
xl create /etc/xen/busy.cfg >$D/create-busy3.log 2>&1 || bad daemon.busy.recreate "$(tail -3 $D/create-busy3.log | tr '\n' ' ')"
T_BACK=$(date +%s)
wait_dump 'num "$(jvm $BUSY_UUID cpu_usage)"' 40
expect daemon.vm.busy.back 'd != o' "busy back as domid $(xl domid busy) (was $BUSY_ID) at +$((T_BACK - T_START))s: rrdd cpu_usage=$(jvm $BUSY_UUID cpu_usage)" d="$(xl domid busy)" o="$BUSY_ID"

sleep 6 # one more tick of the second life
# SIGTERM: rrdd archives every RRD and exits 0 (--run-for 300 is only a bound)
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
fi
