# rrdd (as xcp-rrdd) %posttrans: at the end of the transaction (after a
# replaced xcp-rrdd, or the previous rrdd, is gone) the unit is enabled if
# xcp-rrdd.service was, and restarted if it was running; restarting it
# restarts the units that Require it (the rrdp-* plugins), and the toolstack
# target, when there is one, starts those its removal stopped.
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ -e /run/rrdd-rpm/enabled ]; then
		systemctl enable xcp-rrdd.service >/dev/null 2>&1 || :
	fi
	if [ -e /run/rrdd-rpm/active ]; then
		systemctl restart xcp-rrdd.service >/dev/null 2>&1 || :
		if systemctl cat toolstack.target >/dev/null 2>&1; then
			systemctl start toolstack.target >/dev/null 2>&1 || :
		fi
	fi
	rm -rf /run/rrdd-rpm
fi
exit 0
