# bench/shared.mk: bench_shared, tpoold as a service shared by hostile local
# users (built by make, run by hand as root, not part of make check).  For
# each bound of the daemon, throwaway uids hold it at its maximum; it
# prints the daemon's VmRSS and threads, the refusal at the bound, and
# another uid's echo round trips meanwhile.  bench/daemon's proc.c (tpoold's
# start and stop), floor.c (which proc.c needs) and stats.c (percentiles)
# are compiled in, with bench_tpoold's flags.  How to run it and the
# results: docs/benchmarks.md, section "Shared service".

noinst_PROGRAMS += bench/shared/bench_shared
bench_shared_bench_shared_SOURCES = bench/shared/shared.h bench/shared/main.c \
	bench/shared/scenario.c bench/shared/attacks.c bench/shared/victim.c \
	bench/shared/users.c bench/shared/daemon.c \
	bench/daemon/bench.h bench/daemon/proc.c bench/daemon/floor.c \
	bench/daemon/stats.c
bench_shared_bench_shared_CPPFLAGS = $(bench_daemon_bench_tpoold_CPPFLAGS)
bench_shared_bench_shared_CFLAGS = $(bench_daemon_bench_tpoold_CFLAGS)
bench_shared_bench_shared_LDFLAGS = $(bench_daemon_bench_tpoold_LDFLAGS)
bench_shared_bench_shared_LDADD = $(bench_daemon_bench_tpoold_LDADD)
