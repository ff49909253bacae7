#!/bin/bash
# The Xen tier: boots a real Xen 4.17 hypervisor with a PV dom0 (Debian 12
# packages) under qemu-system-x86_64 (TCG, no KVM needed), starts PV domUs
# with xl inside it, and checks rrdd's Xen source (and the daemon, once it
# exists) against xl's own view of the same host.  See tests/xen/README.md.
#
# usage: tests/xen/run.sh [--build DIR] [--work DIR] [--timeout SECS]
#                         [--log FILE] [--verbose] [--shell]
#   --build    rrdd build tree (default $RRDD_BUILD, else <src>/build); built
#              with cmake if it holds no librrdd_core.a
#   --work     work/cache directory (default <build>/xen-tier): downloaded
#              .debs, unpacked packages, images, serial log
#   --timeout  hard limit on the QEMU run (default 1200 s)
#   --shell    interactive: dom0 drops to a shell instead of running checks
#
# Exit status: 0 every check passed; 1 a check failed (or the run broke after
# dom0 started); 77 skipped: this machine cannot run the tier (no QEMU, no
# packages, Xen/dom0 did not come up for environmental reasons), with a
# "SKIPPED: <reason>" line.  The serial log is kept; its tail is printed on
# any failure.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${RRDD_BUILD:-$SRC/build}
WORK=""
TIMEOUT=1200
LOG=""
VERBOSE=0
SHELL_MODE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift ;;
	--work) WORK=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--log) LOG=$2; shift ;;
	--verbose) VERBOSE=1 ;;
	--shell) SHELL_MODE=1 ;;
	-h | --help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done
export LC_ALL=C TZ=UTC

skip() { echo "SKIPPED: $*"; exit 77; }
die() { echo "FAIL: $*"; exit 1; }

# ---- the project binaries ---------------------------------------------------
mkdir -p "$BUILD" || die "cannot create build dir $BUILD"
BUILD=$(cd "$BUILD" && pwd)
WORK=${WORK:-$BUILD/xen-tier}
mkdir -p "$WORK" || die "cannot create $WORK"
WORK=$(cd "$WORK" && pwd)
LOG=${LOG:-$WORK/serial.log}
if [ ! -f "$BUILD/librrdd_core.a" ]; then
	echo "xen tier: building the project in $BUILD"
	{ cmake -S "$SRC" -B "$BUILD" && cmake --build "$BUILD" -j"$(nproc)"; } >"$WORK/build.log" 2>&1 ||
		{ tail -20 "$WORK/build.log"; die "project build failed"; }
fi
# xen_probe: built by CMake (tests/xen/CMakeLists.txt) when the top level
# adds the directory; otherwise compiled here against rrdd_core, after
# bringing rrdd_core up to date (a no-op after a fresh build): a library
# older than the headers the probe compiles against would be a silent ABI
# mismatch.
PROBE=$BUILD/tests/xen/xen_probe
if [ -f "$BUILD/CMakeCache.txt" ]; then
	if ! cmake --build "$BUILD" --target xen_probe >"$WORK/build.log" 2>&1; then
		cmake --build "$BUILD" --target rrdd_core >"$WORK/build.log" 2>&1 ||
			{ tail -20 "$WORK/build.log"; die "cannot bring rrdd_core up to date"; }
	fi
fi
if [ ! -x "$PROBE" ] || [ "$PROBE" -ot "$HERE/xen_probe.c" ]; then
	PROBE=$WORK/xen_probe
	# shellcheck disable=SC2046
	gcc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -I"$SRC/rrdd" -I"$SRC/include" \
		-o "$PROBE" "$HERE/xen_probe.c" "$BUILD/librrdd_core.a" \
		$(pkg-config --libs xencontrol xenstat xenstore libmicrohttpd json-c zlib expat libsystemd gnutls libmnl) \
		-lpthread -lm || die "cannot build xen_probe"
fi
BINS="$PROBE"
for b in rrdd rrdd-tool plugins-api/rrdp-proc plugins-api/rrdp-demo-owners; do
	[ -x "$BUILD/$b" ] && BINS+=" $BUILD/$b"
done

# ---- packages and images ------------------------------------------------------
# shellcheck source=prepare.sh
. "$HERE/prepare.sh"
t_prep=$EPOCHREALTIME
prep_host_packages
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not available"
# curl: dom0's client for HTTP and XML-RPC over rrdd's Unix socket
command -v curl >/dev/null || skip "curl not available"
BINS+=" $(command -v curl)"
[ -x /bin/busybox ] || skip "busybox-static not available"
prep_guest_packages
prep_images
printf 'xen tier: images ready in %.1f s (Xen %s, kernel %s, dom0 initramfs %s)\n' \
	"$(awk -v a="$EPOCHREALTIME" -v b="$t_prep" 'BEGIN{print a-b}')" "$XEN_VERSION" "$KMODVER" \
	"$(du -h "$WORK/img/dom0.cpio.gz" | cut -f1)"

# ---- boot -------------------------------------------------------------------------
# Xen: serial console, 512 MiB / 2 vCPUs for dom0.  No "noreboot": a Xen panic
# or dom0 crash reboots, and -no-reboot then ends QEMU at once.
XEN_CMD="console=com1 com1=115200,8n1 dom0_mem=512M,max:512M dom0_max_vcpus=2"
XEN_CMD+=" loglvl=all guest_loglvl=all console_timestamps=boot"
DOM0_CMD="console=hvc0 earlyprintk=xen tier.shell=$SHELL_MODE"
# qemu64 has no SMAP (SMAP under TCG crashes a PV dom0); the -initrd module
# list is "kernel cmdline,initrd" (a literal comma would be ",,").
QEMU=(qemu-system-x86_64 -machine q35 -accel tcg -cpu qemu64 -m 2G -smp 2
	-display none -monitor none -no-reboot -nodefaults
	-kernel "$WORK/img/xen" -append "$XEN_CMD"
	-initrd "$WORK/img/vmlinuz $DOM0_CMD,$WORK/img/dom0.cpio.gz")
if [ "$SHELL_MODE" = 1 ]; then
	exec "${QEMU[@]}" -serial mon:stdio
fi

usec() { local t=$EPOCHREALTIME; echo $((${t%.*} * 1000000 + 10#${t#*.})); }
: >"$LOG"
T0=$(usec)
# Each serial line gets the host time since QEMU started (bash arithmetic, no
# fork per line: a fork would take CPU from QEMU on a 2-core machine).
timeout --kill-after=10 "$TIMEOUT" "${QEMU[@]}" -serial stdio </dev/null 2>&1 |
	while IFS= read -r line; do
		line=${line%$'\r'}
		t=$EPOCHREALTIME
		d=$((${t%.*} * 1000000 + 10#${t#*.} - T0))
		printf '[host %4d.%02d] %s\n' $((d / 1000000)) $((d % 1000000 / 10000)) "$line" >>"$LOG"
		[ "$VERBOSE" = 1 ] && printf '%s\n' "$line"
		case "$line" in CHECK\ *) printf '%s\n' "$line" ;; esac
	done
qrc=${PIPESTATUS[0]}
T1=$(usec)

t_of() { grep -a -m1 -E "$1" "$LOG" | sed -n 's/^\[host *\([0-9.]*\)\].*/\1/p'; }
tail_log() { echo "---- serial log tail ($LOG) ----"; tail -n "${1:-40}" "$LOG"; }
echo "---- timings (host seconds since QEMU start) ----"
printf '  xen banner         : %s\n' "$(t_of '\(XEN\).*Xen version')"
printf '  dom0 kernel        : %s\n' "$(t_of 'Linux version')"
printf '  dom0 /init         : %s\n' "$(t_of 'TIER .*dom0 userspace up')"
printf '  xen userspace      : %s\n' "$(t_of 'TIER .*xen userspace ready')"
printf '  domUs running      : %s\n' "$(t_of 'TIER .*domUs ready')"
printf '  checks done        : %s\n' "$(t_of 'TIER RESULT')"
d=$((T1 - T0))
printf '  total wall         : %d.%02d (qemu exit status %s)\n' $((d / 1000000)) \
	$((d % 1000000 / 10000)) "$qrc"

res=$(grep -a -o 'TIER RESULT pass=[0-9]* fail=[0-9]*' "$LOG" | tail -1)
if [ -z "$res" ]; then
	if ! grep -a -q 'TIER .*dom0 userspace up' "$LOG"; then
		# Nothing of ours ran: QEMU, Xen or the dom0 kernel could not start here.
		tail_log 30
		if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
			skip "Xen/dom0 did not reach userspace within ${TIMEOUT}s under QEMU (TCG too slow here?)"
		fi
		skip "QEMU could not boot Xen + dom0 on this machine (qemu exit $qrc, no dom0 userspace)"
	fi
	tail_log 60
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		die "hard timeout after ${TIMEOUT}s with dom0 running (checks did not finish)"
	fi
	die "dom0 started but the checks did not report a result (qemu exit $qrc)"
fi
pass=$(echo "$res" | sed 's/.*pass=\([0-9]*\).*/\1/')
fail=$(echo "$res" | sed 's/.*fail=\([0-9]*\).*/\1/')
echo "---- result: $pass check(s) passed, $fail failed ----"
if [ "$fail" != 0 ] || [ "$pass" = 0 ]; then
	grep -a 'CHECK .* FAIL' "$LOG" | sed 's/^\[host *[0-9.]*\] //'
	tail_log 60
	exit 1
fi
exit 0
