# rrdd (as xcp-rrdd) %postun: systemd forgets the removed units.
# librrdd-plugin.so.1
/sbin/ldconfig
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
