# tests/fuzz: libFuzzer targets (built only with --enable-fuzzing, which
# needs CC=clang), the generator of their seed corpus, the committed corpus
# and the reproducers of what they found.  scripts/fuzz.sh builds this
# configuration and runs each target for a bounded time.
#
#	fuzz_frame	the frame decoder (proto/frame.h) at any split points
#	fuzz_request	a Request body: unpacked, validated, handled as the
#			daemon does
#	fuzz_conn	a connection's byte stream into the daemon's dispatch,
#			with its job table and the example plugins
#
# gen_corpus is built in every configuration: `make check` compares its
# output with the committed corpus (so the corpus stays valid messages of
# the current .proto), and in a fuzzing build replays every corpus file and
# every reproducer through its target.

check_PROGRAMS += tests/fuzz/gen_corpus
tests_fuzz_gen_corpus_SOURCES = tests/fuzz/gen_corpus.c
tests_fuzz_gen_corpus_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_fuzz_gen_corpus_LDFLAGS = $(AM_LDFLAGS) -no-install
tests_fuzz_gen_corpus_LDADD = proto/libtpproto.la $(PROTOBUF_C_LIBS)

TESTS += tests/fuzz/corpus.test
EXTRA_DIST += tests/fuzz/corpus.test tests/fuzz/replay.test tests/fuzz/tpool.dict \
	tests/fuzz/corpus tests/fuzz/regressions scripts/fuzz.sh
CLEANFILES += tests/fuzz/fuzz_frame.replay.out tests/fuzz/fuzz_request.replay.out \
	tests/fuzz/fuzz_conn.replay.out

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_frame
tests_fuzz_fuzz_frame_SOURCES = tests/fuzz/fuzz_frame.c
tests_fuzz_fuzz_frame_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS) -no-install
tests_fuzz_fuzz_frame_LDADD = proto/libtpproto.la $(PROTOBUF_C_LIBS)

noinst_PROGRAMS += tests/fuzz/fuzz_request
tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz_request.c
tests_fuzz_fuzz_request_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_fuzz_fuzz_request_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_fuzz_fuzz_request_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS) -no-install
tests_fuzz_fuzz_request_LDADD = $(TPOOLD_LIBADD)

# fuzz_conn loads the example plugins from this build (plugins/.libs).
noinst_PROGRAMS += tests/fuzz/fuzz_conn
tests_fuzz_fuzz_conn_SOURCES = tests/fuzz/fuzz_conn.c
tests_fuzz_fuzz_conn_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon \
	-DFUZZ_BUILDDIR='"$(abs_top_builddir)"'
tests_fuzz_fuzz_conn_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(LIBEVENT_CFLAGS)
tests_fuzz_fuzz_conn_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS) -no-install
tests_fuzz_fuzz_conn_LDADD = $(TPOOLD_LIBADD)
EXTRA_tests_fuzz_fuzz_conn_DEPENDENCIES = $(plugin_LTLIBRARIES)

TESTS += tests/fuzz/replay.test

# What scripts/fuzz.sh needs, and nothing else of the tree: the generated
# sources first (a named target does not build BUILT_SOURCES by itself).
TP_FUZZ_BINARIES = tests/fuzz/fuzz_frame$(EXEEXT) tests/fuzz/fuzz_request$(EXEEXT) \
	tests/fuzz/fuzz_conn$(EXEEXT) tests/fuzz/gen_corpus$(EXEEXT)
fuzz-build:
	$(MAKE) $(AM_MAKEFLAGS) $(BUILT_SOURCES)
	$(MAKE) $(AM_MAKEFLAGS) $(TP_FUZZ_BINARIES) $(plugin_LTLIBRARIES)
.PHONY: fuzz-build
endif
