# bench/sha256.mk: bench_sha256, the sha256 plugin's run function (loaded
# with dlopen, called with a context of the bench's own) against
# `openssl dgst -sha256` on a file of the same bytes (built by make, run by
# hand, not part of make check).  How to run it and the results:
# docs/benchmarks.md, section sha256.

noinst_PROGRAMS += bench/sha256/bench_sha256
bench_sha256_bench_sha256_SOURCES = bench/sha256/main.c plugins/tpool/plugin.h
# Where the build tree's plugin is, for the default.
bench_sha256_bench_sha256_CPPFLAGS = $(AM_CPPFLAGS) \
	-DTP_BENCH_BUILDDIR='"$(abs_top_builddir)"'
# A real binary, not a libtool wrapper, so perf can run it.
bench_sha256_bench_sha256_LDFLAGS = $(AM_LDFLAGS) -no-install
bench_sha256_bench_sha256_LDADD = -ldl
