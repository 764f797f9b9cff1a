# plugins/: the plugin ABI header (installed as <tpool/plugin.h>), its
# pkg-config file, and the example plugins, built as libtool modules and
# installed into $(plugindir), where tpoold looks by default.  The tests
# use them from the build tree (plugins/.libs/*.so).

plugindir = $(pkglibdir)/plugins

tpoolincludedir = $(includedir)/tpool
tpoolinclude_HEADERS = plugins/tpool/plugin.h

plugin_LTLIBRARIES = plugins/echo.la plugins/sleep.la plugins/fail.la plugins/sha256.la
PLUGIN_LINKFLAGS = -module -avoid-version -shared -no-undefined
plugins_echo_la_SOURCES = plugins/echo.c plugins/tpool/plugin.h
plugins_echo_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LINKFLAGS)
plugins_sleep_la_SOURCES = plugins/sleep.c plugins/tpool/plugin.h
plugins_sleep_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LINKFLAGS)
plugins_fail_la_SOURCES = plugins/fail.c plugins/tpool/plugin.h
plugins_fail_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LINKFLAGS)
plugins_sha256_la_SOURCES = plugins/sha256.c plugins/tpool/plugin.h
plugins_sha256_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
plugins_sha256_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LINKFLAGS)
# Only this plugin links libcrypto (its EVP digests); nothing else does.
plugins_sha256_la_LIBADD = $(CRYPTO_LIBS)

# tpool-plugin.pc: `pkg-config --cflags tpool-plugin` and
# `pkg-config --variable=plugindir tpool-plugin` for plugin authors.
pkgconfig_DATA += plugins/tpool-plugin.pc
CLEANFILES += plugins/tpool-plugin.pc
EXTRA_DIST += plugins/tpool-plugin.pc.in
plugins/tpool-plugin.pc: $(srcdir)/plugins/tpool-plugin.pc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) plugins && sed \
		-e 's|@prefix[@]|$(prefix)|g' \
		-e 's|@includedir[@]|$(includedir)|g' \
		-e 's|@plugindir[@]|$(plugindir)|g' \
		-e 's|@VERSION[@]|$(VERSION)|g' \
		$(srcdir)/plugins/tpool-plugin.pc.in > $@.tmp && mv $@.tmp $@

# libtool installs a .la beside each module; tpoold loads only *.so.
# ($(plugindir) is not an exec dir, so the modules go in with install-data.)
install-data-hook: install-plugins-hook
install-plugins-hook:
	for p in echo sleep fail sha256; do rm -f "$(DESTDIR)$(plugindir)/$$p.la"; done
uninstall-hook: uninstall-plugins-hook
uninstall-plugins-hook:
	for p in echo sleep fail sha256; do rm -f "$(DESTDIR)$(plugindir)/$$p.la" "$(DESTDIR)$(plugindir)/$$p.so"; done
.PHONY: install-plugins-hook uninstall-plugins-hook

dist_man_MANS += docs/man/tpool-plugin.7
dist_doc_DATA += docs/plugins.md
