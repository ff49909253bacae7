# rrdd (as xcp-rrdd) %pre: the rrdmetrics group of the plugins, and whether
# xcp-rrdd.service is enabled and running now, for %posttrans: when this
# package replaces xcp-rrdd, xcp-rrdd's own removal (later in the same
# transaction) disables and stops its unit.
getent group rrdmetrics >/dev/null 2>&1 || groupadd -r rrdmetrics >/dev/null 2>&1 || :
if [ -d /run/systemd/system ]; then
	mkdir -p /run/rrdd-rpm
	systemctl -q is-enabled xcp-rrdd.service 2>/dev/null && : >/run/rrdd-rpm/enabled
	systemctl -q is-active xcp-rrdd.service 2>/dev/null && : >/run/rrdd-rpm/active
fi
exit 0
