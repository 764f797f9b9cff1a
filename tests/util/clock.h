/*
 * clock.h -- the monotonic clock of the tests and benchmarks: one helper,
 * inline, so that anything may use it (Check runners, the soak test, the
 * benchmarks, test plugins loaded into tpoold) without linking anything.
 */
#ifndef TP_TESTS_CLOCK_H
#define TP_TESTS_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds on CLOCK_MONOTONIC (from an arbitrary start). */
static inline uint64_t
tu_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Milliseconds on CLOCK_MONOTONIC. */
static inline uint64_t
tu_now_ms(void)
{
	return tu_now_ns() / 1000000u;
}

#endif /* TP_TESTS_CLOCK_H */
