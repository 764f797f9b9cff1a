/*
 * util.c -- the benchmark's clock, futexes, CPU pinning and statistics.
 *
 * Pinning a "process" to one CPU is done thread by thread: every task in
 * /proc/self/task gets the one-CPU mask, and its previous mask is saved so
 * that bench_unpin_all can put it back.  Threads created while pinned
 * inherit the pinned mask from their creator, which is what a pinned run
 * wants; on unpin they get the process's original mask.
 */
#include "config.h"

#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

void
bench_sleep_ns(uint64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

long
bench_futex_wait(_Atomic uint32_t *word, uint32_t expected)
{

	return syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL,
	    NULL, 0);
}

long
bench_futex_wake(_Atomic uint32_t *word, int n)
{

	return syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

void
bench_cpu_relax(void)
{

#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

void
bench_fatal(const char *fmt, ...)
{
	va_list ap;

	(void)fflush(stdout);
	(void)fputs("bench_libtp: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	exit(2);
}

void
bench_fatalx(int error, const char *what)
{

	bench_fatal("%s: %s", what, strerror(error));
}

void
bench_slot_wait(struct bench_slot *slot, uint32_t runs, unsigned int spins)
{
	uint32_t done;
	unsigned int i;

	/* Most slots are long done when they come round again. */
	for (i = 0; i < spins; i++) {
		done = atomic_load_explicit(&slot->bs_done, memory_order_acquire);
		if ((int32_t)(done - runs) >= 0)
			return;
		bench_cpu_relax();
	}
	atomic_store(&slot->bs_waiter, 1);
	for (;;) {
		done = atomic_load(&slot->bs_done);
		if ((int32_t)(done - runs) >= 0)
			break;
		(void)bench_futex_wait(&slot->bs_done, done);
	}
	atomic_store_explicit(&slot->bs_waiter, 0, memory_order_relaxed);
}

/*
 * Affinity.
 */

struct saved_mask {
	pid_t		sm_tid;
	cpu_set_t	sm_mask;
};

static cpu_set_t	process_mask;		/* the mask at start */
static struct saved_mask *saved_masks;
static size_t		nsaved_masks;

void
bench_affinity_init(void)
{

	if (sched_getaffinity(0, sizeof(process_mask), &process_mask) == -1)
		bench_fatalx(errno, "sched_getaffinity");
}

unsigned int
bench_first_cpu(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &process_mask))
			return cpu;
	bench_fatal("empty affinity mask");
}

void
bench_pin_all(unsigned int cpu)
{
	cpu_set_t one;
	DIR *dir;
	struct dirent *de;
	size_t cap = 0;

	if (saved_masks != NULL)
		bench_fatal("bench_pin_all: already pinned");
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if ((dir = opendir("/proc/self/task")) == NULL)
		bench_fatalx(errno, "/proc/self/task");
	while ((de = readdir(dir)) != NULL) {
		pid_t tid;
		struct saved_mask *sm;

		if (de->d_name[0] == '.')
			continue;
		tid = (pid_t)strtol(de->d_name, NULL, 10);
		if (nsaved_masks == cap) {
			cap = cap ? 2 * cap : 16;
			saved_masks = realloc(saved_masks, cap * sizeof(*saved_masks));
			if (saved_masks == NULL)
				bench_fatalx(ENOMEM, "bench_pin_all");
		}
		sm = &saved_masks[nsaved_masks];
		if (sched_getaffinity(tid, sizeof(sm->sm_mask), &sm->sm_mask) == -1)
			continue;	/* exited meanwhile */
		if (sched_setaffinity(tid, sizeof(one), &one) == -1)
			continue;
		sm->sm_tid = tid;
		nsaved_masks++;
	}
	(void)closedir(dir);
}

void
bench_unpin_all(void)
{
	DIR *dir;
	struct dirent *de;

	if ((dir = opendir("/proc/self/task")) == NULL)
		bench_fatalx(errno, "/proc/self/task");
	while ((de = readdir(dir)) != NULL) {
		const cpu_set_t *mask = &process_mask;
		pid_t tid;
		size_t i;

		if (de->d_name[0] == '.')
			continue;
		tid = (pid_t)strtol(de->d_name, NULL, 10);
		for (i = 0; i < nsaved_masks; i++) {
			if (saved_masks[i].sm_tid == tid) {
				mask = &saved_masks[i].sm_mask;
				break;
			}
		}
		(void)sched_setaffinity(tid, sizeof(*mask), mask);
	}
	(void)closedir(dir);
	free(saved_masks);
	saved_masks = NULL;
	nsaved_masks = 0;
}

void
bench_pin_self(unsigned int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) == -1)
		bench_fatalx(errno, "sched_setaffinity");
}

void
bench_unpin_self(void)
{

	if (sched_setaffinity(0, sizeof(process_mask), &process_mask) == -1)
		bench_fatalx(errno, "sched_setaffinity");
}

/*
 * Statistics.
 */

int
bench_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array, p in (0, 1]. */
uint64_t
bench_percentile(const uint64_t *sorted, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(p * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}
