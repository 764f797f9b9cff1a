# systemd/: tpoold.service (from tpoold.service.in, with this build's
# paths), tpoold.socket and tpoold-metrics.socket, installed into
# $(systemdsystemunitdir).
# tests/daemon checks them with systemd-analyze verify.

systemdsystemunit_DATA = systemd/tpoold.service systemd/tpoold.socket \
	systemd/tpoold-metrics.socket
CLEANFILES += systemd/tpoold.service
EXTRA_DIST += systemd/tpoold.service.in systemd/tpoold.socket \
	systemd/tpoold-metrics.socket

systemd/tpoold.service: $(srcdir)/systemd/tpoold.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && sed \
		-e 's|@sbindir[@]|$(sbindir)|g' \
		-e 's|@plugindir[@]|$(plugindir)|g' \
		$(srcdir)/systemd/tpoold.service.in > $@.tmp && mv $@.tmp $@
