# tests/security: the security suite.  tpoold runs as root (as it may on a
# machine) and throwaway users (users.[ch]: made with useradd, removed at
# exit) attack it, each numbered finding of the shared-service review a
# case.  Without root every case says "skipped" and passes.

check_LTLIBRARIES += tests/security/libtsusers.la
tests_security_libtsusers_la_SOURCES = tests/security/users.c tests/security/users.h
tests_security_libtsusers_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

TS_TEST_CPPFLAGS = $(TD_TEST_CPPFLAGS) -I$(srcdir)/tests/daemon
TS_TEST_CFLAGS = $(TD_TEST_CFLAGS)
TS_TEST_LDADD = tests/security/libtsusers.la $(TD_TEST_LDADD)
TS_TEST_LINKFLAGS = $(TD_TEST_LINKFLAGS)

TS_TESTS =
check_PROGRAMS += $(TS_TESTS)
TESTS += $(TS_TESTS)

# Findings 2 and 5: the priorities a user may ask for (--grant-priority),
# the Hello version, job, plugin and client names.
TS_TESTS += tests/security/attack_requests
tests_security_attack_requests_SOURCES = tests/security/attack_requests.c
tests_security_attack_requests_CPPFLAGS = $(TS_TEST_CPPFLAGS)
tests_security_attack_requests_CFLAGS = $(TS_TEST_CFLAGS)
tests_security_attack_requests_LDADD = $(TS_TEST_LDADD)
tests_security_attack_requests_LDFLAGS = $(TS_TEST_LINKFLAGS)
EXTRA_tests_security_attack_requests_DEPENDENCIES = $(TD_TEST_DEPS)
