# bench/gearman.mk: bench_gearman (built by make, run by hand, not part of
# make check): jobs per second through a gearmand it starts, to 1..N tpoold
# instances (tpoold --gearman) beside plain libgearman worker processes
# running the same null job, and the round trips.  How to run it and the
# results: docs/scaling.md.

noinst_PROGRAMS += bench/gearman/bench_gearman
bench_gearman_bench_gearman_SOURCES = bench/gearman/bench_gearman.c
bench_gearman_bench_gearman_CPPFLAGS = $(AM_CPPFLAGS) \
	-DTP_BENCH_BUILDDIR='"$(abs_top_builddir)"'
bench_gearman_bench_gearman_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(GEARMAN_CFLAGS)
bench_gearman_bench_gearman_LDFLAGS = $(AM_LDFLAGS) -no-install
bench_gearman_bench_gearman_LDADD = client/libtpclient.la proto/libtpproto.la \
	$(GEARMAN_LIBS) $(PROTOBUF_C_LIBS) $(PTHREAD_LIBS)
