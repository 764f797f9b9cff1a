# systemd/: tpoold.service (from tpoold.service.in, with this build's
# paths), tpoold.socket and tpoold-metrics.socket, installed into
# $(systemdsystemunitdir).  tests/daemon checks them with systemd-analyze
# verify, and make installcheck checks them as installed.

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

# make installcheck (and so make distcheck) checks the units as
# installed: ExecStart= names the installed tpoold and plugin folder, and
# systemd-analyze verify passes, the man pages of Documentation= looked up
# where make install put them (not with DESTDIR: the paths in the units
# are where the files will be, not where DESTDIR put them).
installcheck-local: installcheck-units
installcheck-units:
	@u="$(DESTDIR)$(systemdsystemunitdir)"; \
	grep -q '^ExecStart=$(sbindir)/tpoold --plugin-dir=$(plugindir) ' "$$u/tpoold.service" || \
		{ echo "FAIL: $$u/tpoold.service does not start $(sbindir)/tpoold with $(plugindir)"; exit 1; }; \
	test -x "$(DESTDIR)$(sbindir)/tpoold" && test -d "$(DESTDIR)$(plugindir)" || \
		{ echo "FAIL: tpoold or its plugin folder is not installed"; exit 1; }; \
	if test -n "$(DESTDIR)"; then \
		echo "DESTDIR is set: the installed units are not verified"; \
	elif ! command -v systemd-analyze >/dev/null 2>&1; then \
		echo "no systemd-analyze: the installed units are not verified"; \
	else \
		echo "systemd-analyze verify $$u/tpoold.service $$u/tpoold.socket $$u/tpoold-metrics.socket"; \
		MANPATH="$(mandir):" systemd-analyze verify "$$u/tpoold.service" "$$u/tpoold.socket" \
			"$$u/tpoold-metrics.socket"; \
	fi
.PHONY: installcheck-units
