# bench/libtp.mk: bench_libtp, libtp's benchmark (built by make, run by hand,
# not part of make check).  It compares libtp with a futex handoff, a naive
# mutex+condvar pool, GLib's GThreadPool and libuv's uv_queue_work; the last
# two only when configure found them (HAVE_GLIB, HAVE_LIBUV).  How to run it
# and the results: docs/benchmarks.md.

noinst_PROGRAMS += bench/libtp/bench_libtp
bench_libtp_bench_libtp_SOURCES = \
	bench/libtp/bench.h \
	bench/libtp/main.c \
	bench/libtp/util.c \
	bench/libtp/impl_floor.c \
	bench/libtp/impl_naive.c \
	bench/libtp/impl_glib.c \
	bench/libtp/impl_libuv.c \
	bench/libtp/impl_libtp.c
bench_libtp_bench_libtp_CFLAGS = $(AM_CFLAGS)
# A real binary, not a libtool wrapper, so perf and valgrind can run it.
bench_libtp_bench_libtp_LDFLAGS = $(AM_LDFLAGS) -no-install
bench_libtp_bench_libtp_LDADD = libtp/libtp.la $(PTHREAD_LIBS)
if HAVE_GLIB
bench_libtp_bench_libtp_CFLAGS += $(GLIB_CFLAGS)
bench_libtp_bench_libtp_LDADD += $(GLIB_LIBS)
endif
if HAVE_LIBUV
bench_libtp_bench_libtp_CFLAGS += $(LIBUV_CFLAGS)
bench_libtp_bench_libtp_LDADD += $(LIBUV_LIBS)
endif
dist_doc_DATA += docs/benchmarks.md
