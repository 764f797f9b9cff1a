# bench/daemon.mk: bench_tpoold, the daemon's benchmark (built by make, run
# by hand, not part of make check).  It starts the build tree's tpoold with
# the build tree's plugins (or those named by --daemon/--plugins) and its
# own echo server, and prints tpoold's round trips, pipelined throughput and
# memory per queued job beside the echo floor.  How to run it and the
# results: docs/benchmarks.md, section tpoold.

noinst_PROGRAMS += bench/daemon/bench_tpoold
bench_daemon_bench_tpoold_SOURCES = \
	bench/daemon/bench.h \
	bench/daemon/main.c \
	bench/daemon/proc.c \
	bench/daemon/floor.c \
	bench/daemon/roundtrip.c \
	bench/daemon/pipeline.c \
	bench/daemon/memory.c \
	bench/daemon/isolation.c \
	bench/daemon/store.c \
	bench/daemon/stats.c
# Where the build tree's tpoold and plugins are, for the defaults.
bench_daemon_bench_tpoold_CPPFLAGS = $(AM_CPPFLAGS) \
	-DTP_BENCH_BUILDDIR='"$(abs_top_builddir)"'
bench_daemon_bench_tpoold_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
# A real binary, not a libtool wrapper, so perf and valgrind can run it.
bench_daemon_bench_tpoold_LDFLAGS = $(AM_LDFLAGS) -no-install
bench_daemon_bench_tpoold_LDADD = client/libtpclient.la proto/libtpproto.la \
	$(PROTOBUF_C_LIBS) $(PTHREAD_LIBS)
