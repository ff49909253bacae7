#!/bin/bash
# ctest entry of the Xen tier (tests/xen/run.sh): boots a real Xen 4.17 host
# with a PV dom0 and domUs under QEMU and checks rrdd against xl there.
# Exit 0 pass, 1 fail, 77 skipped (this machine cannot boot it: no QEMU, no
# Debian packages, Xen/dom0 did not come up); the "SKIPPED: <reason>" line
# says why.  CMake registers this test with SKIP_RETURN_CODE 77.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "${RRDD_BUILD:-}" ]; then
	echo "SKIPPED: RRDD_BUILD is not set (run through ctest, or use tests/xen/run.sh)"
	exit 77
fi
exec bash "$HERE/../xen/run.sh" --build "$RRDD_BUILD"
