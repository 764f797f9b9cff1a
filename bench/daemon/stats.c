/*
 * stats.c -- clocks and latency samples for bench_tpoold: a growable array
 * of nanosecond samples, sorted once, read by nearest-rank percentiles.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

uint64_t
bench_thread_cpu_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
samples_reserve(struct samples *s, size_t n)
{
	uint64_t *v;
	size_t cap;

	if (s->s_cap - s->s_n >= n)
		return 0;
	cap = s->s_cap == 0 ? 1024 : s->s_cap;
	while (cap - s->s_n < n)
		cap *= 2;
	v = realloc(s->s_v, cap * sizeof(*v));
	if (v == NULL)
		return ENOMEM;
	s->s_v = v;
	s->s_cap = cap;
	return 0;
}

int
samples_add(struct samples *s, uint64_t ns)
{
	int error;

	if ((error = samples_reserve(s, 1)) != 0)
		return error;
	s->s_v[s->s_n++] = ns;
	return 0;
}

int
samples_merge(struct samples *dst, struct samples *src)
{
	int error;

	if ((error = samples_reserve(dst, src->s_n)) != 0)
		return error;
	if (src->s_n > 0)
		memcpy(dst->s_v + dst->s_n, src->s_v, src->s_n * sizeof(*src->s_v));
	dst->s_n += src->s_n;
	src->s_n = 0;
	return 0;
}

static int
samples_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
samples_sort(struct samples *s)
{
	if (s->s_n > 1)
		qsort(s->s_v, s->s_n, sizeof(*s->s_v), samples_cmp);
}

uint64_t
samples_pct(const struct samples *s, double p)
{
	double x;
	size_t rank;

	if (s->s_n == 0)
		return 0;
	x = p / 100.0 * (double)s->s_n;
	rank = (size_t)x;
	if ((double)rank < x)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > s->s_n)
		rank = s->s_n;
	return s->s_v[rank - 1];
}

void
samples_free(struct samples *s)
{
	free(s->s_v);
	memset(s, 0, sizeof(*s));
}
