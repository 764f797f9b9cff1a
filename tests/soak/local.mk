# tests/soak: the soak test of tpoold.  tests/soak/soak starts the
# build tree's tpoold with the soakrec plugin, loads it with many clients,
# SIGHUPs and SIGTERMs it, and proves from its own ledger and the plugin's
# run ledger that every accepted job got exactly one final state, that
# every cancel answer was true, and that the daemon's memory, descriptors
# and threads came back.  make check runs the short mode (about 25 s,
# tests/soak/soak-check.sh) and the crash mode (tpoold with a job store
# killed with SIGKILL 12 times, crash.c); the long modes by hand:
#   make soak-long   or   tests/soak/soak --duration 600 --clients 200
#   tests/soak/soak --crash 300
# (tests/soak/soak -h for the options).

# The plugin, three times: soakrec, soakrec2 which appears at the SIGHUP,
# and soakcrash, which runs in worker processes and sometimes crashes.
# Modules that are never installed (-rpath makes libtool build a .so).
SOAK_PLUGIN_LINKFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -no-undefined -rpath /nowhere
check_LTLIBRARIES += tests/soak/soakrec.la tests/soak/soakrec2.la \
	tests/soak/soakcrash.la
tests_soak_soakrec_la_SOURCES = tests/soak/soakrec.c
tests_soak_soakrec_la_LDFLAGS = $(SOAK_PLUGIN_LINKFLAGS)
tests_soak_soakrec2_la_SOURCES = tests/soak/soakrec.c
tests_soak_soakrec2_la_CPPFLAGS = $(AM_CPPFLAGS) -DSOAKREC_NAME='"soakrec2"'
tests_soak_soakrec2_la_LDFLAGS = $(SOAK_PLUGIN_LINKFLAGS)
# And soakcrash, run in worker processes, some of its jobs crash.
tests_soak_soakcrash_la_SOURCES = tests/soak/soakrec.c
tests_soak_soakcrash_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSOAKREC_NAME='"soakcrash"' -DSOAKREC_PROCESS
tests_soak_soakcrash_la_LDFLAGS = $(SOAK_PLUGIN_LINKFLAGS)

check_PROGRAMS += tests/soak/soak
TESTS += tests/soak/soak-check.sh
EXTRA_DIST += tests/soak/soak-check.sh
tests_soak_soak_SOURCES = tests/soak/soak.h tests/soak/soak.c tests/soak/client.c \
	tests/soak/ledger.c tests/soak/daemon.c tests/soak/crash.c
tests_soak_soak_CPPFLAGS = $(AM_CPPFLAGS) -DSOAK_BUILDDIR='"$(abs_top_builddir)"'
tests_soak_soak_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_soak_soak_LDADD = client/libtpclient.la proto/libtpproto.la \
	$(PROTOBUF_C_LIBS) $(PTHREAD_LIBS)
# A real binary (no libtool wrapper), so valgrind and gdb can run it.
tests_soak_soak_LDFLAGS = $(AM_LDFLAGS) -no-install
# The daemon and the plugins it runs must be built first.
EXTRA_tests_soak_soak_DEPENDENCIES = daemon/tpoold$(EXEEXT) tests/soak/soakrec.la \
	tests/soak/soakrec2.la tests/soak/soakcrash.la daemon/tpoold-worker$(EXEEXT)

# The long mode by hand: make soak-long [SOAK_DURATION=600 SOAK_CLIENTS=200]
soak-long: tests/soak/soak$(EXEEXT) $(EXTRA_tests_soak_soak_DEPENDENCIES)
	tests/soak/soak --duration $${SOAK_DURATION:-600} --clients $${SOAK_CLIENTS:-200}
.PHONY: soak-long
