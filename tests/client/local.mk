# tests/client: the client library as installed (installed.sh: a DESTDIR
# install, a program built with pkg-config's flags only, run against tpoold).

TESTS += tests/client/installed.sh
EXTRA_DIST += tests/client/installed.sh tests/client/installed-echo.c
AM_TESTS_ENVIRONMENT = TP_MAKE='$(MAKE)' TP_BUILDDIR='$(abs_top_builddir)' \
	TP_LIBDIR='$(libdir)' TP_PLUGINDIR='$(plugindir)' CC='$(CC)' PKG_CONFIG='$(PKG_CONFIG)' \
	TP_SAN_CFLAGS='$(SAN_CFLAGS)' TP_SAN_LDFLAGS='$(SAN_LDFLAGS)'; \
	export TP_MAKE TP_BUILDDIR TP_LIBDIR TP_PLUGINDIR CC PKG_CONFIG TP_SAN_CFLAGS TP_SAN_LDFLAGS;
# Nothing is built in tests/client, so the folder for its log is made
# before the tests run (VPATH builds, make distcheck).
check_DATA = tests/client/$(am__dirstamp)
tests/client/$(am__dirstamp):
	@$(MKDIR_P) tests/client && : > $@
DISTCLEANFILES = tests/client/$(am__dirstamp)
