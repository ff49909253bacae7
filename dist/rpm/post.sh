# rrdd (as xcp-rrdd) %post: /dev/shm/metrics for the plugins, and systemd
# told about the units.
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	systemd-tmpfiles --create /usr/lib/tmpfiles.d/xcp-rrdd.conf >/dev/null 2>&1 || :
fi
# librrdd-plugin.so.1
/sbin/ldconfig
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
