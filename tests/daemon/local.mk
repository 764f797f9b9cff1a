# tests/daemon: integration tests that start the real tpoold (built here)
# on a socket in a temporary folder with the real example plugins, under a
# hard timeout per case, and drive it through the client library, raw
# frames and tpctl.  Run the daemon under valgrind with
#   make check TESTS='...' TPOOL_TEST_WRAPPER="valgrind --leak-check=full --error-exitcode=99"
# (see harness.h).  Test plugins (probe, the bad ones) are built as modules
# here and linked into each test's plugin folder.

check_LTLIBRARIES += tests/daemon/libtdharness.la
tests_daemon_libtdharness_la_SOURCES = tests/daemon/harness.c tests/daemon/harness.h
tests_daemon_libtdharness_la_CPPFLAGS = $(AM_CPPFLAGS) -DTD_BUILDDIR='"$(abs_top_builddir)"'
tests_daemon_libtdharness_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_daemon_libtdharness_la_LIBADD = tests/util/libtestutil.la

# Test plugins: modules that are never installed (-rpath makes libtool
# build a shared object).
TD_PLUGIN_LINKFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -no-undefined -rpath /nowhere
check_LTLIBRARIES += tests/daemon/probe.la tests/daemon/bad-abi.la \
	tests/daemon/no-symbol.la tests/daemon/dup-echo.la tests/daemon/init-fail.la \
	tests/daemon/bad-name.la tests/daemon/no-run.la tests/daemon/counted.la \
	tests/daemon/marker.la tests/daemon/crash.la tests/daemon/load-crash.la
tests_daemon_crash_la_SOURCES = tests/daemon/crasher.c
tests_daemon_crash_la_LDFLAGS = $(TD_PLUGIN_LINKFLAGS)
tests_daemon_probe_la_SOURCES = tests/daemon/probe.c
tests_daemon_probe_la_LDFLAGS = $(TD_PLUGIN_LINKFLAGS)
tests_daemon_bad_abi_la_SOURCES = tests/daemon/badplugins.c
tests_daemon_bad_abi_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=1
tests_daemon_bad_abi_la_LDFLAGS = $(TD_PLUGIN_LINKFLAGS)
tests_daemon_no_symbol_la_SOURCES = tests/daemon/badplugins.c
tests_daemon_no_symbol_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=2
tests_daemon_no_symbol_la_LDFLAGS = $(TD_PLUGIN_LINKFLAGS)
tests_daemon_dup_echo_la_SOURCES = tests/daemon/badplugins.c
tests_daemon_dup_echo_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=3
tests_daemon_dup_echo_la_LDFLAGS = $(TD_PLUGIN_LINKFLAGS)
tests_daemon_init_fail_la_SOURCES = tests/daemon/badplugins.c
tests_daemon_init_fail_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=4
tests_daemon_init_fail_la_LDFLAGS = $(TD_PLUGIN_LINKFLAGS)
tests_daemon_bad_name_la_SOURCES = tests/daemon/badplugins.c
tests_daemon_bad_name_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=5
tests_daemon_bad_name_la_LDFLAGS = $(TD_PLUGIN_LINKFLAGS)
tests_daemon_no_run_la_SOURCES = tests/daemon/badplugins.c
tests_daemon_no_run_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=6
tests_daemon_no_run_la_LDFLAGS = $(TD_PLUGIN_LINKFLAGS)
tests_daemon_counted_la_SOURCES = tests/daemon/badplugins.c
tests_daemon_counted_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=7
tests_daemon_counted_la_LDFLAGS = $(TD_PLUGIN_LINKFLAGS)
tests_daemon_marker_la_SOURCES = tests/daemon/badplugins.c
tests_daemon_marker_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=8
tests_daemon_marker_la_LDFLAGS = $(TD_PLUGIN_LINKFLAGS)
tests_daemon_load_crash_la_SOURCES = tests/daemon/badplugins.c
tests_daemon_load_crash_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=9
tests_daemon_load_crash_la_LDFLAGS = $(TD_PLUGIN_LINKFLAGS)

TD_TEST_CPPFLAGS = $(AM_CPPFLAGS) -DTD_BUILDDIR='"$(abs_top_builddir)"'
TD_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PROTOBUF_C_CFLAGS)
TD_TEST_LDADD = tests/daemon/libtdharness.la client/libtpclient.la proto/libtpproto.la \
	$(CHECK_LIBS) $(PROTOBUF_C_LIBS) $(PTHREAD_LIBS)
TD_TEST_LINKFLAGS = $(AM_LDFLAGS) -no-install

TD_TESTS = \
	tests/daemon/test_jobs \
	tests/daemon/test_wire \
	tests/daemon/test_lifecycle \
	tests/daemon/test_tpctl \
	tests/daemon/test_faults \
	tests/daemon/test_security \
	tests/daemon/test_isolation \
	tests/daemon/test_store \
	tests/daemon/test_retries \
	tests/daemon/test_metrics
check_PROGRAMS += $(TD_TESTS)
TESTS += $(TD_TESTS) tests/daemon/units.sh tests/daemon/layers.test
EXTRA_DIST += tests/daemon/units.sh tests/daemon/layers.test scripts/layers.sh
# layers.test reads the objects of daemon/.
tests/daemon/layers.log: daemon/tpoold

# The daemon, the plugins and the test plugins must be built first.
TD_TEST_DEPS = daemon/tpoold $(plugin_LTLIBRARIES) tests/daemon/probe.la \
	tests/daemon/bad-abi.la tests/daemon/no-symbol.la tests/daemon/dup-echo.la \
	tests/daemon/init-fail.la tests/daemon/bad-name.la tests/daemon/no-run.la \
	tests/daemon/counted.la tests/daemon/marker.la tests/daemon/crash.la tests/daemon/load-crash.la \
	daemon/tpoold-worker

tests_daemon_test_isolation_SOURCES = tests/daemon/test_isolation.c
tests_daemon_test_isolation_CPPFLAGS = $(TD_TEST_CPPFLAGS)
tests_daemon_test_isolation_CFLAGS = $(TD_TEST_CFLAGS)
tests_daemon_test_isolation_LDADD = $(TD_TEST_LDADD)
tests_daemon_test_isolation_LDFLAGS = $(TD_TEST_LINKFLAGS)
EXTRA_tests_daemon_test_isolation_DEPENDENCIES = $(TD_TEST_DEPS)
tests_daemon_test_store_SOURCES = tests/daemon/test_store.c
tests_daemon_test_store_CPPFLAGS = $(TD_TEST_CPPFLAGS)
tests_daemon_test_store_CFLAGS = $(TD_TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_daemon_test_store_LDADD = $(TD_TEST_LDADD) $(SQLITE_LIBS)
tests_daemon_test_store_LDFLAGS = $(TD_TEST_LINKFLAGS)
EXTRA_tests_daemon_test_store_DEPENDENCIES = $(TD_TEST_DEPS)

tests_daemon_test_retries_SOURCES = tests/daemon/test_retries.c
tests_daemon_test_retries_CPPFLAGS = $(TD_TEST_CPPFLAGS)
tests_daemon_test_retries_CFLAGS = $(TD_TEST_CFLAGS)
tests_daemon_test_retries_LDADD = $(TD_TEST_LDADD)
tests_daemon_test_retries_LDFLAGS = $(TD_TEST_LINKFLAGS)
EXTRA_tests_daemon_test_retries_DEPENDENCIES = $(TD_TEST_DEPS)

tests_daemon_test_metrics_SOURCES = tests/daemon/test_metrics.c
tests_daemon_test_metrics_CPPFLAGS = $(TD_TEST_CPPFLAGS)
tests_daemon_test_metrics_CFLAGS = $(TD_TEST_CFLAGS)
tests_daemon_test_metrics_LDADD = $(TD_TEST_LDADD)
tests_daemon_test_metrics_LDFLAGS = $(TD_TEST_LINKFLAGS)
EXTRA_tests_daemon_test_metrics_DEPENDENCIES = $(TD_TEST_DEPS) client/tpctl$(EXEEXT)

tests_daemon_test_jobs_SOURCES = tests/daemon/test_jobs.c
tests_daemon_test_jobs_CPPFLAGS = $(TD_TEST_CPPFLAGS)
tests_daemon_test_jobs_CFLAGS = $(TD_TEST_CFLAGS)
tests_daemon_test_jobs_LDADD = $(TD_TEST_LDADD)
tests_daemon_test_jobs_LDFLAGS = $(TD_TEST_LINKFLAGS)
EXTRA_tests_daemon_test_jobs_DEPENDENCIES = $(TD_TEST_DEPS)

tests_daemon_test_wire_SOURCES = tests/daemon/test_wire.c
tests_daemon_test_wire_CPPFLAGS = $(TD_TEST_CPPFLAGS)
tests_daemon_test_wire_CFLAGS = $(TD_TEST_CFLAGS)
tests_daemon_test_wire_LDADD = $(TD_TEST_LDADD)
tests_daemon_test_wire_LDFLAGS = $(TD_TEST_LINKFLAGS)
EXTRA_tests_daemon_test_wire_DEPENDENCIES = $(TD_TEST_DEPS)

tests_daemon_test_lifecycle_SOURCES = tests/daemon/test_lifecycle.c
tests_daemon_test_lifecycle_CPPFLAGS = $(TD_TEST_CPPFLAGS)
tests_daemon_test_lifecycle_CFLAGS = $(TD_TEST_CFLAGS)
tests_daemon_test_lifecycle_LDADD = $(TD_TEST_LDADD)
tests_daemon_test_lifecycle_LDFLAGS = $(TD_TEST_LINKFLAGS)
EXTRA_tests_daemon_test_lifecycle_DEPENDENCIES = $(TD_TEST_DEPS)

tests_daemon_test_tpctl_SOURCES = tests/daemon/test_tpctl.c
tests_daemon_test_tpctl_CPPFLAGS = $(TD_TEST_CPPFLAGS)
tests_daemon_test_tpctl_CFLAGS = $(TD_TEST_CFLAGS)
tests_daemon_test_tpctl_LDADD = $(TD_TEST_LDADD)
tests_daemon_test_tpctl_LDFLAGS = $(TD_TEST_LINKFLAGS)
EXTRA_tests_daemon_test_tpctl_DEPENDENCIES = $(TD_TEST_DEPS) client/tpctl$(EXEEXT)

tests_daemon_test_faults_SOURCES = tests/daemon/test_faults.c
tests_daemon_test_faults_CPPFLAGS = $(TD_TEST_CPPFLAGS)
tests_daemon_test_faults_CFLAGS = $(TD_TEST_CFLAGS)
tests_daemon_test_faults_LDADD = $(TD_TEST_LDADD)
tests_daemon_test_faults_LDFLAGS = $(TD_TEST_LINKFLAGS)
EXTRA_tests_daemon_test_faults_DEPENDENCIES = $(TD_TEST_DEPS) \
	tests/daemon/tpoold-test

# tpoold built with its test hook (TPOOL_FAULT_THREAD_CREATE, see
# daemon/main.c) and libtp's (libtp-test.la); test_faults starts it where a
# case needs the hook (struct td_daemon's td_test_build).  Never installed.
check_PROGRAMS += tests/daemon/tpoold-test
tests_daemon_tpoold_test_SOURCES = daemon/main.c
tests_daemon_tpoold_test_CPPFLAGS = $(AM_CPPFLAGS) -DTPOOLD_TESTING
tests_daemon_tpoold_test_CFLAGS = $(daemon_tpoold_CFLAGS)
tests_daemon_tpoold_test_LDADD = $(TPOOLD_TEST_LIBADD)

tests_daemon_test_security_SOURCES = tests/daemon/test_security.c
tests_daemon_test_security_CPPFLAGS = $(TD_TEST_CPPFLAGS)
tests_daemon_test_security_CFLAGS = $(TD_TEST_CFLAGS)
tests_daemon_test_security_LDADD = $(TD_TEST_LDADD)
tests_daemon_test_security_LDFLAGS = $(TD_TEST_LINKFLAGS)
EXTRA_tests_daemon_test_security_DEPENDENCIES = $(TD_TEST_DEPS)

# The entry points for tests and fuzzing (daemon/testing.h), in-process
# through libtpoold.  Under check-daemon-valgrind the runner itself runs
# under valgrind.
check_PROGRAMS += tests/daemon/test_inproc
TESTS += tests/daemon/test_inproc
tests_daemon_test_inproc_SOURCES = tests/daemon/test_inproc.c
tests_daemon_test_inproc_CPPFLAGS = $(TD_TEST_CPPFLAGS) -I$(top_srcdir)/daemon
tests_daemon_test_inproc_CFLAGS = $(TD_TEST_CFLAGS) $(LIBEVENT_CFLAGS)
tests_daemon_test_inproc_LDADD = $(TPOOLD_LIBADD) $(CHECK_LIBS)
tests_daemon_test_inproc_LDFLAGS = $(TD_TEST_LINKFLAGS)
EXTRA_tests_daemon_test_inproc_DEPENDENCIES = $(plugin_LTLIBRARIES)

# The daemon's tests and the security suite with tpoold under valgrind (a
# leak or an error makes the daemon exit 99, which fails the test that
# stops it).  --fair-sched=yes: valgrind runs one thread at a time, and
# with its default lock a thread that spins (a job past its time limit)
# can keep the loop's thread from running the timer that stops it.
TD_VALGRIND = valgrind --leak-check=full --error-exitcode=99 -q \
	--fair-sched=yes
# test_inproc runs the daemon's code in its own process: valgrind runs it.
check-daemon-valgrind: tests/daemon/test_inproc$(EXEEXT)
	TPOOL_TEST_WRAPPER="$(TD_VALGRIND)" CK_TIMEOUT_MULTIPLIER=4 \
		$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(TD_TESTS) $(TS_TESTS) tests/gearman/cluster.sh"
	CK_FORK=no CK_TIMEOUT_MULTIPLIER=4 $(TD_VALGRIND) tests/daemon/test_inproc$(EXEEXT)
.PHONY: check-daemon-valgrind
