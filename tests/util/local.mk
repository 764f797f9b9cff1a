# tests/util: what the tests and the daemon's benchmark share.
#	clock.h		the monotonic clock (inline: test plugins use it too)
#	rng.h		the seeded random draws of the codec comparisons
#	fakewire.[ch]	the daemon's side of the wire, for fake daemons
# Check is not needed here: the helpers report, the tests assert.

check_LTLIBRARIES += tests/util/libtestutil.la
tests_util_libtestutil_la_SOURCES = tests/util/clock.h tests/util/rng.h \
	tests/util/fakewire.c \
	tests/util/fakewire.h
tests_util_libtestutil_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_util_libtestutil_la_LIBADD = proto/libtpproto.la $(PROTOBUF_C_LIBS)
