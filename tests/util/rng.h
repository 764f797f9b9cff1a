/*
 * rng.h -- the random draws of the tests that compare a hand-written codec
 * with protobuf-c (test_fastpack, test_peek): xorshift64* from a seed the
 * test sets, so that a failure names a case that can be run again.
 * Inline, one state per program (tests run one at a time in it).
 */
#ifndef TP_TESTS_RNG_H
#define TP_TESTS_RNG_H

#include <stdbool.h>
#include <stdint.h>

static uint64_t tu_rng_state;

static inline void
tu_rng_seed(uint64_t seed)
{
	tu_rng_state = seed != 0 ? seed : 1;	/* 0 would stay 0 */
}

static inline uint64_t
tu_rng(void)
{
	tu_rng_state ^= tu_rng_state >> 12;
	tu_rng_state ^= tu_rng_state << 25;
	tu_rng_state ^= tu_rng_state >> 27;
	return tu_rng_state * 2685821657736338717ull;
}

static inline bool
tu_coin(void)
{
	return (tu_rng() & 1) != 0;
}

/* A value near a varint length boundary (a third of the draws), or any. */
static inline uint64_t
tu_draw_u64(void)
{
	static const uint64_t edges[] = { 0, 1, 127, 128, 16383, 16384,
	    2097151, 2097152, 268435455, 268435456, UINT32_MAX,
	    (uint64_t)UINT32_MAX + 1, (1ull << 56) - 1, 1ull << 56,
	    (1ull << 63) - 1, 1ull << 63, UINT64_MAX };

	if (tu_rng() % 3 == 0)
		return edges[tu_rng() % (sizeof(edges) / sizeof(edges[0]))];
	return tu_rng() >> (tu_rng() % 64);
}

#endif /* TP_TESTS_RNG_H */
