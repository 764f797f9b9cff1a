# tests/libtp: libtp's Check suite, one runner per module, and a conformance
# program that uses nothing but threadpool.h.  Each case has a hard timeout
# (tcase_set_timeout; CK_TIMEOUT_MULTIPLIER scales it), and every runner
# honours CK_FORK=no for gdb and valgrind.

check_LTLIBRARIES += tests/libtp/libtptest.la
tests_libtp_libtptest_la_SOURCES = tests/libtp/util.c tests/libtp/util.h
tests_libtp_libtptest_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

TP_LIBTP_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
TP_LIBTP_TEST_LDADD = tests/libtp/libtptest.la libtp/libtp-test.la $(CHECK_LIBS) $(PTHREAD_LIBS)
TP_LIBTP_TEST_LDFLAGS = $(AM_LDFLAGS) -no-install

TP_LIBTP_TESTS = \
	tests/libtp/test_pool \
	tests/libtp/test_job \
	tests/libtp/test_percpu \
	tests/libtp/test_sched \
	tests/libtp/test_stress \
	tests/libtp/test_edges \
	tests/libtp/test_unlock \
	tests/libtp/test_cpuset \
	tests/libtp/conformance
check_PROGRAMS += $(TP_LIBTP_TESTS)
TESTS += $(TP_LIBTP_TESTS)

tests_libtp_test_pool_SOURCES = tests/libtp/test_pool.c
tests_libtp_test_pool_CFLAGS = $(TP_LIBTP_TEST_CFLAGS)
tests_libtp_test_pool_LDADD = $(TP_LIBTP_TEST_LDADD)
tests_libtp_test_pool_LDFLAGS = $(TP_LIBTP_TEST_LDFLAGS)

tests_libtp_test_job_SOURCES = tests/libtp/test_job.c
tests_libtp_test_job_CFLAGS = $(TP_LIBTP_TEST_CFLAGS)
tests_libtp_test_job_LDADD = $(TP_LIBTP_TEST_LDADD)
tests_libtp_test_job_LDFLAGS = $(TP_LIBTP_TEST_LDFLAGS)

tests_libtp_test_percpu_SOURCES = tests/libtp/test_percpu.c
tests_libtp_test_percpu_CFLAGS = $(TP_LIBTP_TEST_CFLAGS)
tests_libtp_test_percpu_LDADD = $(TP_LIBTP_TEST_LDADD)
tests_libtp_test_percpu_LDFLAGS = $(TP_LIBTP_TEST_LDFLAGS)

tests_libtp_test_sched_SOURCES = tests/libtp/test_sched.c
tests_libtp_test_sched_CFLAGS = $(TP_LIBTP_TEST_CFLAGS)
tests_libtp_test_sched_LDADD = $(TP_LIBTP_TEST_LDADD)
tests_libtp_test_sched_LDFLAGS = $(TP_LIBTP_TEST_LDFLAGS)

tests_libtp_test_stress_SOURCES = tests/libtp/test_stress.c
tests_libtp_test_stress_CFLAGS = $(TP_LIBTP_TEST_CFLAGS)
tests_libtp_test_stress_LDADD = $(TP_LIBTP_TEST_LDADD)
tests_libtp_test_stress_LDFLAGS = $(TP_LIBTP_TEST_LDFLAGS)

tests_libtp_test_edges_SOURCES = tests/libtp/test_edges.c
tests_libtp_test_edges_CFLAGS = $(TP_LIBTP_TEST_CFLAGS)
tests_libtp_test_edges_LDADD = $(TP_LIBTP_TEST_LDADD)
tests_libtp_test_edges_LDFLAGS = $(TP_LIBTP_TEST_LDFLAGS)

tests_libtp_test_unlock_SOURCES = tests/libtp/test_unlock.c
tests_libtp_test_unlock_CFLAGS = $(TP_LIBTP_TEST_CFLAGS)
tests_libtp_test_unlock_LDADD = $(TP_LIBTP_TEST_LDADD)
tests_libtp_test_unlock_LDFLAGS = $(TP_LIBTP_TEST_LDFLAGS)

# A CPU really leaving the cpuset: needs root and a cpuset cgroup, else says SKIP.
tests_libtp_test_cpuset_SOURCES = tests/libtp/test_cpuset.c
tests_libtp_test_cpuset_CFLAGS = $(TP_LIBTP_TEST_CFLAGS)
tests_libtp_test_cpuset_LDADD = $(TP_LIBTP_TEST_LDADD)
tests_libtp_test_cpuset_LDFLAGS = $(TP_LIBTP_TEST_LDFLAGS)

# Only threadpool.h and libtp: what a user of the installed library has.
tests_libtp_conformance_SOURCES = tests/libtp/conformance.c
tests_libtp_conformance_LDADD = libtp/libtp.la $(PTHREAD_LIBS)
tests_libtp_conformance_LDFLAGS = $(AM_LDFLAGS) -no-install
