# tests/security: the security suite.  tpoold runs as root (as it may on a
# machine) and throwaway users (users.[ch]: made with useradd, removed at
# exit) attack it, each numbered finding of the shared-service review a
# case.  Without root every case says "skipped" and passes.

check_LTLIBRARIES += tests/security/libtsusers.la
tests_security_libtsusers_la_SOURCES = tests/security/users.c tests/security/users.h \
	tests/security/part.c tests/security/part.h
tests_security_libtsusers_la_CPPFLAGS = $(TS_TEST_CPPFLAGS)
tests_security_libtsusers_la_CFLAGS = $(TS_TEST_CFLAGS)

TS_TEST_CPPFLAGS = $(TD_TEST_CPPFLAGS) -I$(srcdir)/tests/daemon
TS_TEST_CFLAGS = $(TD_TEST_CFLAGS)
TS_TEST_LDADD = tests/security/libtsusers.la $(TD_TEST_LDADD)
TS_TEST_LINKFLAGS = $(TD_TEST_LINKFLAGS)

TS_TESTS =

TS_TESTS += tests/security/attack_conns
tests_security_attack_conns_SOURCES = tests/security/attack_conns.c
tests_security_attack_conns_CPPFLAGS = $(TS_TEST_CPPFLAGS)
tests_security_attack_conns_CFLAGS = $(TS_TEST_CFLAGS)
tests_security_attack_conns_LDADD = $(TS_TEST_LDADD)
tests_security_attack_conns_LDFLAGS = $(TS_TEST_LINKFLAGS)
EXTRA_tests_security_attack_conns_DEPENDENCIES = $(TD_TEST_DEPS)

TS_TESTS += tests/security/attack_share
tests_security_attack_share_SOURCES = tests/security/attack_share.c
tests_security_attack_share_CPPFLAGS = $(TS_TEST_CPPFLAGS)
tests_security_attack_share_CFLAGS = $(TS_TEST_CFLAGS)
tests_security_attack_share_LDADD = $(TS_TEST_LDADD)
tests_security_attack_share_LDFLAGS = $(TS_TEST_LINKFLAGS)
EXTRA_tests_security_attack_share_DEPENDENCIES = $(TD_TEST_DEPS)

TS_TESTS += tests/security/attack_memory
tests_security_attack_memory_SOURCES = tests/security/attack_memory.c
tests_security_attack_memory_CPPFLAGS = $(TS_TEST_CPPFLAGS)
tests_security_attack_memory_CFLAGS = $(TS_TEST_CFLAGS)
tests_security_attack_memory_LDADD = $(TS_TEST_LDADD)
tests_security_attack_memory_LDFLAGS = $(TS_TEST_LINKFLAGS)
EXTRA_tests_security_attack_memory_DEPENDENCIES = $(TD_TEST_DEPS)

TS_TESTS += tests/security/attack_paths
tests_security_attack_paths_SOURCES = tests/security/attack_paths.c
tests_security_attack_paths_CPPFLAGS = $(TS_TEST_CPPFLAGS)
tests_security_attack_paths_CFLAGS = $(TS_TEST_CFLAGS)
tests_security_attack_paths_LDADD = $(TS_TEST_LDADD)
tests_security_attack_paths_LDFLAGS = $(TS_TEST_LINKFLAGS)
EXTRA_tests_security_attack_paths_DEPENDENCIES = $(TD_TEST_DEPS)

TS_TESTS += tests/security/attack_identity
tests_security_attack_identity_SOURCES = tests/security/attack_identity.c
tests_security_attack_identity_CPPFLAGS = $(TS_TEST_CPPFLAGS)
tests_security_attack_identity_CFLAGS = $(TS_TEST_CFLAGS)
tests_security_attack_identity_LDADD = $(TS_TEST_LDADD)
tests_security_attack_identity_LDFLAGS = $(TS_TEST_LINKFLAGS)
EXTRA_tests_security_attack_identity_DEPENDENCIES = $(TD_TEST_DEPS)

TS_TESTS += tests/security/attack_plugins
tests_security_attack_plugins_SOURCES = tests/security/attack_plugins.c
tests_security_attack_plugins_CPPFLAGS = $(TS_TEST_CPPFLAGS)
tests_security_attack_plugins_CFLAGS = $(TS_TEST_CFLAGS)
tests_security_attack_plugins_LDADD = $(TS_TEST_LDADD)
tests_security_attack_plugins_LDFLAGS = $(TS_TEST_LINKFLAGS)
EXTRA_tests_security_attack_plugins_DEPENDENCIES = $(TD_TEST_DEPS)

TS_TESTS += tests/security/attack_ids
tests_security_attack_ids_SOURCES = tests/security/attack_ids.c
tests_security_attack_ids_CPPFLAGS = $(TS_TEST_CPPFLAGS)
tests_security_attack_ids_CFLAGS = $(TS_TEST_CFLAGS)
tests_security_attack_ids_LDADD = $(TS_TEST_LDADD)
tests_security_attack_ids_LDFLAGS = $(TS_TEST_LINKFLAGS)
EXTRA_tests_security_attack_ids_DEPENDENCIES = $(TD_TEST_DEPS)

# Findings 2 and 5: the priorities a user may ask for (--grant-priority),
# the Hello version, job, plugin and client names.
TS_TESTS += tests/security/attack_requests
tests_security_attack_requests_SOURCES = tests/security/attack_requests.c
tests_security_attack_requests_CPPFLAGS = $(TS_TEST_CPPFLAGS)
tests_security_attack_requests_CFLAGS = $(TS_TEST_CFLAGS)
tests_security_attack_requests_LDADD = $(TS_TEST_LDADD)
tests_security_attack_requests_LDFLAGS = $(TS_TEST_LINKFLAGS)
EXTRA_tests_security_attack_requests_DEPENDENCIES = $(TD_TEST_DEPS)

check_PROGRAMS += $(TS_TESTS)
TESTS += $(TS_TESTS)
