# rrdd (as xcp-rrdd) %preun: on removal (not on an upgrade) stop the daemon
# and the example plugins.  xcp-rrdd.service stays enabled, so that
# reinstalling xcp-rrdd (going back) finds it enabled as it was.
if [ "$1" = 0 ] && [ -d /run/systemd/system ]; then
	systemctl stop rrdp-proc.service rrdp-demo-owners.service xcp-rrdd.service \
		>/dev/null 2>&1 || :
fi
exit 0
