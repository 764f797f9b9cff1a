/*
 * main.c -- bench_libtp: libtp against the floor, a naive pool, GLib's
 * GThreadPool and libuv's uv_queue_work, in one run, one table.
 *
 * For each pool (bench_impl, see bench.h) it measures:
 *  - null-job throughput: -n jobs from 1, 2, 4 (-p) producer threads, the
 *    median of -R runs, after a warm-up run that creates the threads;
 *  - schedule-to-start latency with an idle worker: -s samples, median and
 *    99th percentile, unpinned and pinned (producer and workers on one CPU:
 *    the whole process pinned before the pool is created, or for libtp's
 *    per-CPU pools the producer alone, on the CPU whose pool it uses);
 * then prints libtp's ratios against the targets of issue 2 and a study of
 * spinning before sleeping, made on the naive pool.
 *
 * The timing is CLOCK_MONOTONIC (vDSO).  Latency is the time from just
 * before the schedule call to the first instruction of the job; between
 * samples the producer sleeps -g microseconds so that the worker goes back
 * to sleep and its CPU halts.
 *
 * (Over 800 lines: the measurements, the ratios and the three outputs
 * (text, CSV, JSON) all fill or read rows[], the one table of results kept
 * here; the pools measured are in the impl_*.c files, one each.)
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

struct bench_config bench_config;

/* The pools, in the order of the table. */
static const struct bench_impl *const impls[] = {
	&bench_impl_floor,
	&bench_impl_naive,
	&bench_impl_naive_spin,
	&bench_impl_glib,
	&bench_impl_glib_excl,
	&bench_impl_libuv,
	&bench_impl_libtp,
	&bench_impl_libtp_percpu,
};
#define	NIMPLS		(sizeof(impls) / sizeof(impls[0]))
#define	MAX_PLIST	8

/* One latency measurement. */
struct lat_result {
	bool		lr_valid;
	double		lr_median_us;
	double		lr_p99_us;
	double		lr_min_us;
	double		lr_cpu_us;	/* process CPU time per sample */
};

/* One throughput run. */
struct thr_sample {
	double		ts_rate;	/* jobs/s */
	double		ts_cpu_ns;	/* process CPU time per job */
	double		ts_csw;		/* context switches per 1000 jobs */
};

/* Throughput over -R runs; 0 = not run. */
struct thr_result {
	double		tr_median;	/* jobs/s */
	double		tr_min;
	double		tr_max;
	double		tr_cpu_ns;	/* median CPU ns per job */
	double		tr_csw;		/* median context switches per 1000 jobs */
};

/* One row of the table. */
struct row {
	const struct bench_impl	*r_impl;
	bool			r_selected;
	struct thr_result	r_thr[MAX_PLIST];
	struct lat_result	r_lat;
	struct lat_result	r_lat_pinned;
};

/* One throughput measurement in progress. */
struct bench_run {
	const struct bench_impl	*br_impl;
	void			*br_pool;
	pthread_barrier_t	br_barrier;
};

enum output { OUT_TEXT, OUT_CSV, OUT_JSON };

/* Where the producer and the pool's threads run during a latency run. */
enum placement {
	PLACE_FREE,	/* wherever the kernel puts them */
	PLACE_SAME,	/* all on --cpu */
	PLACE_CROSS,	/* pool on another CPU than the producer (--cpu) */
};

static struct row	rows[NIMPLS];
static unsigned int	plist[MAX_PLIST];
static unsigned int	nplist;
static unsigned int	repeat = 3;
static unsigned int	short_gap_us = 20;
static bool		spin_study = true;
static enum output	output = OUT_TEXT;

#define	SPIN_STUDY_MAX	8
static unsigned int	spin_values[SPIN_STUDY_MAX] = { 0, 10, 50, 200 };
static unsigned int	nspin_values = 4;

struct spin_row {
	unsigned int		sr_spin_us;
	struct thr_result	sr_thr;
	struct lat_result	sr_short;	/* gap = short_gap_us */
	struct lat_result	sr_idle;	/* gap = -g */
	struct lat_result	sr_short_pinned;
};
static struct spin_row	spin_rows[SPIN_STUDY_MAX];
static struct lat_result floor_cross;	/* the floor, woken on another CPU */

static void
progress(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));

static void
progress(const char *fmt, ...)
{
	va_list ap;

	if (!isatty(STDERR_FILENO))
		return;
	va_start(ap, fmt);
	(void)fputs("\r\033[K", stderr);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fflush(stderr);
}

/*
 * Slots.
 */

static struct bench_slot *
slots_new(const struct bench_impl *impl, void *pool, unsigned int n, bool stamp)
{
	struct bench_slot *slots;
	unsigned int i;

	slots = aligned_alloc(BENCH_CACHELINE, (size_t)n * sizeof(*slots));
	if (slots == NULL)
		bench_fatalx(ENOMEM, "slots");
	memset(slots, 0, (size_t)n * sizeof(*slots));
	for (i = 0; i < n; i++) {
		slots[i].bs_stamp = stamp;
		if (impl->bi_slot_init != NULL)
			impl->bi_slot_init(pool, &slots[i]);
	}
	return slots;
}

static void
slots_free(const struct bench_impl *impl, void *pool, struct bench_slot *slots,
    unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (slots[i].bs_sched != atomic_load(&slots[i].bs_done))
			bench_fatal("%s: slot %u ran %u of %u times", impl->bi_name,
			    i, atomic_load(&slots[i].bs_done), slots[i].bs_sched);
		if (impl->bi_slot_fini != NULL)
			impl->bi_slot_fini(pool, &slots[i]);
	}
	free(slots);
}

/*
 * Throughput.
 */

static void *
producer_main(void *arg)
{
	struct bench_producer *bp = arg;
	const struct bench_impl *impl = bp->bp_run->br_impl;
	void *pool = bp->bp_run->br_pool;
	struct bench_slot *slot;
	uint64_t j;
	unsigned int k, error;

	if (impl->bi_producer_init != NULL &&
	    (error = (unsigned int)impl->bi_producer_init(pool, bp)) != 0)
		bench_fatalx((int)error, impl->bi_name);
	(void)pthread_barrier_wait(&bp->bp_run->br_barrier);

	bp->bp_t_start = tu_now_ns();
	for (j = 0, k = 0; j < bp->bp_njobs; j++) {
		slot = &bp->bp_slots[k];
		if (++k == bp->bp_nslots)
			k = 0;
		/* The slot comes round again: its last run must be over. */
		bench_slot_wait(slot, slot->bs_sched, 64);
		if (impl->bi_reclaim != NULL)
			impl->bi_reclaim(pool, bp, slot);
		slot->bs_sched++;
		impl->bi_submit(pool, bp, slot);
	}
	for (k = 0; k < bp->bp_nslots; k++)
		bench_slot_wait(&bp->bp_slots[k], bp->bp_slots[k].bs_sched, 64);
	bp->bp_t_end = tu_now_ns();

	if (impl->bi_drain != NULL)
		impl->bi_drain(pool, bp);
	if (impl->bi_producer_fini != NULL)
		impl->bi_producer_fini(pool, bp);
	return NULL;
}

/* CPU time of the whole process (every thread), and its context switches. */
static uint64_t
cpu_time_ns(uint64_t *ret_csw)
{
	struct rusage ru;

	(void)getrusage(RUSAGE_SELF, &ru);
	if (ret_csw != NULL)
		*ret_csw = (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
	    1000000000u + ((uint64_t)ru.ru_utime.tv_usec +
	    (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* Run njobs from np producers on a ready pool. */
static struct thr_sample
throughput_once(struct bench_run *run, struct bench_slot *slots,
    unsigned int nslots, unsigned int np, uint64_t njobs)
{
	struct bench_producer *bps;
	struct thr_sample ts;
	uint64_t t_start = UINT64_MAX, t_end = 0, cpu0, csw0, csw1;
	unsigned int i, per;
	int error;

	if ((bps = calloc(np, sizeof(*bps))) == NULL)
		bench_fatalx(ENOMEM, "producers");
	cpu0 = cpu_time_ns(&csw0);
	(void)pthread_barrier_init(&run->br_barrier, NULL, np);
	per = nslots / np;
	for (i = 0; i < np; i++) {
		bps[i].bp_run = run;
		bps[i].bp_index = i;
		bps[i].bp_slots = &slots[i * per];
		bps[i].bp_nslots = per;
		bps[i].bp_njobs = njobs / np + (i < njobs % np ? 1 : 0);
		error = pthread_create(&bps[i].bp_thread, NULL, producer_main, &bps[i]);
		if (error != 0)
			bench_fatalx(error, "pthread_create");
	}
	for (i = 0; i < np; i++) {
		(void)pthread_join(bps[i].bp_thread, NULL);
		if (bps[i].bp_t_start < t_start)
			t_start = bps[i].bp_t_start;
		if (bps[i].bp_t_end > t_end)
			t_end = bps[i].bp_t_end;
	}
	ts.ts_cpu_ns = (double)(cpu_time_ns(&csw1) - cpu0) / (double)njobs;
	ts.ts_csw = (double)(csw1 - csw0) * 1000.0 / (double)njobs;
	ts.ts_rate = (double)njobs * 1e9 / (double)(t_end - t_start);
	(void)pthread_barrier_destroy(&run->br_barrier);
	free(bps);
	return ts;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * One throughput figure: a fresh pool, a warm-up run (threads created,
 * slots touched), then one timed run of -n jobs from np producers.
 */
static struct thr_sample
throughput(const struct bench_impl *impl, unsigned int np)
{
	struct bench_run run = { .br_impl = impl };
	struct bench_slot *slots;
	struct thr_sample result;
	unsigned int nslots;
	uint64_t warm;
	int error;

	nslots = bench_config.bc_ring;
	if (nslots < np)
		nslots = np;
	nslots -= nslots % np;
	if ((error = impl->bi_setup(&run.br_pool, false)) != 0)
		bench_fatalx(error, impl->bi_name);
	slots = slots_new(impl, run.br_pool, nslots, false);

	warm = bench_config.bc_jobs / 10;
	if (warm < 1000)
		warm = 1000;
	(void)throughput_once(&run, slots, nslots, np, warm);
	result = throughput_once(&run, slots, nslots, np, bench_config.bc_jobs);

	/* Threads first: a job may still be in bench_slot_complete. */
	impl->bi_teardown(run.br_pool);
	slots_free(impl, run.br_pool, slots, nslots);
	return result;
}

/* Medians, min and max rate of n samples (sorts the figures). */
static void
summarize(struct thr_sample *v, unsigned int n, struct thr_result *ret)
{
	double *x;
	unsigned int i;

	if ((x = calloc(n, sizeof(*x))) == NULL)
		bench_fatalx(ENOMEM, "summarize");
	for (i = 0; i < n; i++)
		x[i] = v[i].ts_rate;
	qsort(x, n, sizeof(*x), dbl_cmp);
	ret->tr_median = x[n / 2];
	ret->tr_min = x[0];
	ret->tr_max = x[n - 1];
	for (i = 0; i < n; i++)
		x[i] = v[i].ts_cpu_ns;
	qsort(x, n, sizeof(*x), dbl_cmp);
	ret->tr_cpu_ns = x[n / 2];
	for (i = 0; i < n; i++)
		x[i] = v[i].ts_csw;
	qsort(x, n, sizeof(*x), dbl_cmp);
	ret->tr_csw = x[n / 2];
	free(x);
}

/*
 * Latency.
 */

/* A CPU of the mask other than --cpu, or --cpu when there is none. */
static unsigned int
other_cpu(void)
{
	cpu_set_t mask;
	unsigned int cpu;

	if (sched_getaffinity(0, sizeof(mask), &mask) == 0)
		for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &mask) && cpu != bench_config.bc_cpu)
				return cpu;
	return bench_config.bc_cpu;
}

static struct lat_result
latency(const struct bench_impl *impl, enum placement place, unsigned int gap_us,
    unsigned int samples)
{
	struct bench_run run = { .br_impl = impl };
	struct bench_producer bp;
	struct bench_slot *slot;
	struct lat_result lr = { .lr_valid = true };
	uint64_t *lat, t0, cpu0;
	unsigned int i, warm;
	int error;

	switch (place) {
	case PLACE_FREE:
		break;
	case PLACE_SAME:
		if (impl->bi_flags & BI_PIN_PRODUCER_ONLY)
			bench_pin_self(bench_config.bc_cpu);
		else
			bench_pin_all(bench_config.bc_cpu);
		break;
	case PLACE_CROSS:
		/* The pool's threads are born on the other CPU. */
		if (impl->bi_flags & BI_PIN_PRODUCER_ONLY)
			bench_fatal("%s: no cross-CPU run", impl->bi_name);
		bench_pin_all(other_cpu());
		break;
	}
	if ((error = impl->bi_setup(&run.br_pool, true)) != 0)
		bench_fatalx(error, impl->bi_name);
	slot = slots_new(impl, run.br_pool, 1, true);
	memset(&bp, 0, sizeof(bp));
	bp.bp_run = &run;
	bp.bp_slots = slot;
	bp.bp_nslots = 1;
	if (impl->bi_producer_init != NULL &&
	    (error = impl->bi_producer_init(run.br_pool, &bp)) != 0)
		bench_fatalx(error, impl->bi_name);
	if (place == PLACE_CROSS)
		bench_pin_self(bench_config.bc_cpu);
	if ((lat = calloc(samples, sizeof(*lat))) == NULL)
		bench_fatalx(ENOMEM, "samples");

	/* Let the pool create its threads before the first sample counts. */
	warm = samples / 20;
	if (warm < 20)
		warm = 20;
	cpu0 = 0;
	for (i = 0; i < warm + samples; i++) {
		if (i == warm)
			cpu0 = cpu_time_ns(NULL);
		bench_sleep_ns((uint64_t)gap_us * 1000);
		t0 = tu_now_ns();
		slot->bs_sched++;
		impl->bi_submit(run.br_pool, &bp, slot);
		/* Sleep at once: when pinned, the job needs this CPU. */
		bench_slot_wait(slot, slot->bs_sched, 0);
		if (impl->bi_reclaim != NULL)
			impl->bi_reclaim(run.br_pool, &bp, slot);
		if (i >= warm)
			lat[i - warm] = slot->bs_t_start - t0;
	}
	lr.lr_cpu_us = (double)(cpu_time_ns(NULL) - cpu0) / 1e3 / samples;

	if (impl->bi_drain != NULL)
		impl->bi_drain(run.br_pool, &bp);
	if (impl->bi_producer_fini != NULL)
		impl->bi_producer_fini(run.br_pool, &bp);
	impl->bi_teardown(run.br_pool);
	slots_free(impl, run.br_pool, slot, 1);
	if (place == PLACE_SAME && (impl->bi_flags & BI_PIN_PRODUCER_ONLY))
		bench_unpin_self();
	else if (place != PLACE_FREE)
		bench_unpin_all();

	qsort(lat, samples, sizeof(*lat), bench_u64_cmp);
	lr.lr_median_us = (double)bench_percentile(lat, samples, 0.50) / 1e3;
	lr.lr_p99_us = (double)bench_percentile(lat, samples, 0.99) / 1e3;
	lr.lr_min_us = (double)lat[0] / 1e3;
	free(lat);
	return lr;
}

/*
 * The machine.
 */

static void
cpu_model(char *buf, size_t len)
{
	FILE *f;
	char line[512];

	(void)snprintf(buf, len, "unknown");
	if ((f = fopen("/proc/cpuinfo", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon;

		if (strncmp(line, "model name", 10) != 0 ||
		    (colon = strchr(line, ':')) == NULL)
			continue;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		colon[strcspn(colon, "\n")] = '\0';
		(void)snprintf(buf, len, "%s", colon);
		break;
	}
	(void)fclose(f);
}

static void
read_line(const char *path, char *buf, size_t len)
{
	FILE *f;

	(void)snprintf(buf, len, "?");
	if ((f = fopen(path, "r")) == NULL)
		return;
	if (fgets(buf, (int)len, f) != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	(void)fclose(f);
}

struct machine {
	long		m_nproc;	/* online CPUs */
	unsigned int	m_ncpu;		/* in our affinity mask */
	char		m_model[256];
	char		m_kernel[256];
	char		m_clock[64];
	char		m_idle[64];
	double		m_load_start[3];
	double		m_load_end[3];
};

static struct machine machine;

static void
machine_probe(void)
{
	struct utsname un;

	machine.m_nproc = sysconf(_SC_NPROCESSORS_ONLN);
	machine.m_ncpu = bench_config.bc_ncpu;
	cpu_model(machine.m_model, sizeof(machine.m_model));
	if (uname(&un) == 0)
		(void)snprintf(machine.m_kernel, sizeof(machine.m_kernel),
		    "%s %s %s", un.sysname, un.release, un.machine);
	read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource",
	    machine.m_clock, sizeof(machine.m_clock));
	read_line("/sys/devices/system/cpu/cpuidle/current_driver",
	    machine.m_idle, sizeof(machine.m_idle));
	(void)getloadavg(machine.m_load_start, 3);
}

/*
 * Output.
 */

static char	command_line[4096];

static void
json_string(const char *s)
{

	(void)putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			(void)printf("\\%c", c);
		else if (c < 0x20)
			(void)printf("\\u%04x", c);
		else
			(void)putchar(c);
	}
	(void)putchar('"');
}

static const struct row *
row_named(const char *name)
{
	unsigned int i;

	for (i = 0; i < NIMPLS; i++)
		if (strcmp(rows[i].r_impl->bi_name, name) == 0 &&
		    rows[i].r_selected)
			return &rows[i];
	return NULL;
}

/* A ratio and its verdict: want >= target (higher) or <= target. */
struct ratio {
	const char	*ra_what;
	const char	*ra_num;
	const char	*ra_den;
	double		ra_value;
	double		ra_target;
	bool		ra_higher;
};

#define	MAX_RATIOS	32
static struct ratio	ratios[MAX_RATIOS];
static unsigned int	nratios;

static void
ratio_add(const char *what, const char *num, const char *den, double a,
    double b, double target, bool higher)
{

	if (nratios == MAX_RATIOS || a <= 0 || b <= 0)
		return;
	ratios[nratios++] = (struct ratio){ what, num, den, a / b, target, higher };
}

static bool
ratio_met(const struct ratio *ra)
{

	return ra->ra_higher ? ra->ra_value >= ra->ra_target :
	    ra->ra_value <= ra->ra_target;
}

/* Median and p99 of one pool's latency over another's, one placement. */
static void
ratio_latency(const struct row *num, const struct row *den, bool pinned)
{
	const struct lat_result *a, *b;

	if (num == NULL || den == NULL)
		return;
	a = pinned ? &num->r_lat_pinned : &num->r_lat;
	b = pinned ? &den->r_lat_pinned : &den->r_lat;
	if (!a->lr_valid || !b->lr_valid)
		return;
	ratio_add(pinned ? "latency median, pinned" : "latency median, unpinned",
	    num->r_impl->bi_name, den->r_impl->bi_name, a->lr_median_us,
	    b->lr_median_us, 1.0, false);
	ratio_add(pinned ? "latency p99, pinned" : "latency p99, unpinned",
	    num->r_impl->bi_name, den->r_impl->bi_name, a->lr_p99_us,
	    b->lr_p99_us, 1.0, false);
}

/*
 * libtp against the targets of issue 2, against both GThreadPool setups
 * (the targets hold against each).  Pinned, libtp's natural setup is its
 * per-CPU pool; the unbound pool pinned with the process is shown too.
 */
static void
ratios_compute(void)
{
	static char whats[MAX_PLIST][32];
	const struct row *tp, *tpc, *uv, *g[2];
	unsigned int i, k;

	tp = row_named("libtp");
	tpc = row_named("libtp-percpu");
	uv = row_named("libuv");
	g[0] = row_named("glib");
	g[1] = row_named("glib-excl");
	for (i = 0; tp != NULL && i < nplist; i++) {
		(void)snprintf(whats[i], sizeof(whats[i]), "throughput, %u producer%s",
		    plist[i], plist[i] > 1 ? "s" : "");
		for (k = 0; k < 2; k++)
			if (g[k] != NULL)
				ratio_add(whats[i], "libtp", g[k]->r_impl->bi_name,
				    tp->r_thr[i].tr_median, g[k]->r_thr[i].tr_median,
				    1.5, true);
		if (uv != NULL)
			ratio_add(whats[i], "libtp", "libuv", tp->r_thr[i].tr_median,
			    uv->r_thr[i].tr_median, 1.0, true);
	}
	for (k = 0; k < 2; k++) {
		ratio_latency(tp, g[k], false);
		ratio_latency(tpc, g[k], true);
		ratio_latency(tp, g[k], true);
	}
}

static void
print_header_text(void)
{

	(void)printf("bench_libtp: libtp vs the floor, a naive pool, GThreadPool, libuv\n");
	(void)printf("command:  %s\n", command_line);
	(void)printf("machine:  %ld CPUs online, %u in affinity mask; %s\n",
	    machine.m_nproc, machine.m_ncpu, machine.m_model);
	(void)printf("kernel:   %s; clocksource %s; cpuidle %s\n",
	    machine.m_kernel, machine.m_clock, machine.m_idle);
	(void)printf("load:     %.2f %.2f %.2f at start, %.2f %.2f %.2f at end\n",
	    machine.m_load_start[0], machine.m_load_start[1],
	    machine.m_load_start[2], machine.m_load_end[0],
	    machine.m_load_end[1], machine.m_load_end[2]);
	(void)printf("config:   jobs %llu, median of %u runs, ring %u slots, "
	    "workers %u (libtp cap %u%s), samples %u, gap %u us, pinned cpu %u\n\n",
	    (unsigned long long)bench_config.bc_jobs, repeat, bench_config.bc_ring,
	    bench_config.bc_workers, bench_config.bc_tp_cap,
	    bench_config.bc_tp_cap == 0 ? " = unlimited" : "",
	    bench_config.bc_samples, bench_config.bc_gap_us, bench_config.bc_cpu);
}

static void
print_lat(const struct lat_result *lr)
{

	if (lr->lr_valid)
		(void)printf(" %8.2f %8.2f", lr->lr_median_us, lr->lr_p99_us);
	else
		(void)printf(" %8s %8s", "-", "-");
}

static void
print_text(void)
{
	unsigned int i, k;

	print_header_text();
	(void)printf("%-13s", "");
	for (k = 0; k < nplist; k++)
		(void)printf(" %9s", k == 0 ? "Mjobs/s" : "");
	(void)printf(" | %-17s | %-17s\n", "idle start, us", "pinned start, us");
	(void)printf("%-13s", "pool");
	for (k = 0; k < nplist; k++)
		(void)printf(" %7u p", plist[k]);
	(void)printf(" | %8s %8s | %8s %8s\n", "median", "p99", "median", "p99");
	for (i = 0; i < NIMPLS; i++) {
		const struct row *r = &rows[i];

		if (!r->r_selected)
			continue;
		(void)printf("%-13s", r->r_impl->bi_name);
		for (k = 0; k < nplist; k++) {
			if (r->r_thr[k].tr_median > 0)
				(void)printf(" %9.2f", r->r_thr[k].tr_median / 1e6);
			else
				(void)printf(" %9s", "-");
		}
		(void)printf(" |");
		print_lat(&r->r_lat);
		(void)printf(" |");
		print_lat(&r->r_lat_pinned);
		(void)printf("\n");
	}
	if (floor_cross.lr_valid)
		(void)printf("%-13s %*s | %8.2f %8.2f   (producer on cpu %u, "
		    "consumer on cpu %u)\n", "floor, x-cpu", nplist * 10 - 1,
		    "", floor_cross.lr_median_us, floor_cross.lr_p99_us,
		    bench_config.bc_cpu, other_cpu());
	(void)printf("\nthroughput: min..max Mjobs/s over %u run%s; process CPU ns per "
	    "job and context\nswitches per 1000 jobs (medians)\n", repeat,
	    repeat > 1 ? "s" : "");
	(void)printf("%-13s", "pool");
	for (k = 0; k < nplist; k++)
		(void)printf(" | %2u p: %-12s %5s %5s", plist[k], "Mjobs/s", "ns",
		    "csw");
	(void)printf("\n");
	for (i = 0; i < NIMPLS; i++) {
		const struct row *r = &rows[i];

		if (!r->r_selected)
			continue;
		(void)printf("%-13s", r->r_impl->bi_name);
		for (k = 0; k < nplist; k++)
			(void)printf(" | %6.2f..%-11.2f %5.0f %5.1f",
			    r->r_thr[k].tr_min / 1e6, r->r_thr[k].tr_max / 1e6,
			    r->r_thr[k].tr_cpu_ns, r->r_thr[k].tr_csw);
		(void)printf("\n");
	}
	(void)printf("\n");
	for (i = 0; i < NIMPLS; i++)
		if (rows[i].r_selected)
			(void)printf("  %-13s %s\n", rows[i].r_impl->bi_name,
			    rows[i].r_impl->bi_desc);

	if (nratios > 0) {
		(void)printf("\nTargets (issue 2): throughput >= 1.5x GThreadPool and "
		    ">= 1.0x libuv; idle start <= GThreadPool's\n");
		for (i = 0; i < nratios; i++) {
			const struct ratio *ra = &ratios[i];

			(void)printf("  %-27s %12s / %-9s = %5.2f  (%s %.1f) %s\n",
			    ra->ra_what, ra->ra_num, ra->ra_den, ra->ra_value,
			    ra->ra_higher ? ">=" : "<=", ra->ra_target,
			    ratio_met(ra) ? "met" : "MISSED");
		}
	}

	if (spin_study) {
		char gap_short[16], gap_idle[16];

		(void)snprintf(gap_short, sizeof(gap_short), "%u us", short_gap_us);
		(void)snprintf(gap_idle, sizeof(gap_idle), "%u us",
		    bench_config.bc_gap_us);
		(void)printf("\nSpin before sleeping (naive-spin: signal after unlock, "
		    "as libtp; idle workers\nspin that long before cond_wait; "
		    "the gap is the producer's sleep between jobs):\n");
		(void)printf("%8s %9s | %-17s | %-17s | %-17s | %s\n", "", "",
		    "unpinned, us", "unpinned, us", "pinned, us", "CPU us/job");
		(void)printf("%8s %9s | gap %-13s | gap %-13s | gap %-13s |\n",
		    "spin us", "Mjobs/s", gap_short, gap_idle, gap_short);
		(void)printf("%8s %9s | %8s %8s | %8s %8s | %8s %8s | %6s %6s\n",
		    "", "1 p", "median", "p99", "median", "p99", "median", "p99",
		    gap_short, gap_idle);
		for (i = 0; i < nspin_values; i++) {
			const struct spin_row *sr = &spin_rows[i];

			(void)printf("%8u %9.2f |", sr->sr_spin_us,
			    sr->sr_thr.tr_median / 1e6);
			print_lat(&sr->sr_short);
			(void)printf(" |");
			print_lat(&sr->sr_idle);
			(void)printf(" |");
			print_lat(&sr->sr_short_pinned);
			(void)printf(" | %6.1f %6.1f\n", sr->sr_short.lr_cpu_us,
			    sr->sr_idle.lr_cpu_us);
		}
	}
}

static void
csv_lat(const char *name, const char *mode, unsigned int gap,
    const struct lat_result *lr)
{

	if (!lr->lr_valid)
		return;
	(void)printf("%s,latency_median_us,,%s,%u,%.3f\n", name, mode, gap,
	    lr->lr_median_us);
	(void)printf("%s,latency_p99_us,,%s,%u,%.3f\n", name, mode, gap,
	    lr->lr_p99_us);
	(void)printf("%s,latency_cpu_us_per_job,,%s,%u,%.3f\n", name, mode, gap,
	    lr->lr_cpu_us);
}

static void
csv_thr(const char *name, unsigned int np, const struct thr_result *tr)
{

	(void)printf("%s,throughput_jobs_per_s,%u,,,%.0f\n", name, np,
	    tr->tr_median);
	(void)printf("%s,throughput_min_jobs_per_s,%u,,,%.0f\n", name, np,
	    tr->tr_min);
	(void)printf("%s,throughput_max_jobs_per_s,%u,,,%.0f\n", name, np,
	    tr->tr_max);
	(void)printf("%s,throughput_cpu_ns_per_job,%u,,,%.1f\n", name, np,
	    tr->tr_cpu_ns);
	(void)printf("%s,throughput_csw_per_1000_jobs,%u,,,%.2f\n", name, np,
	    tr->tr_csw);
}

static void
print_csv(void)
{
	unsigned int i, k;

	(void)printf("# command: %s\n", command_line);
	(void)printf("# machine: %ld CPUs, %u in mask, %s, %s\n", machine.m_nproc,
	    machine.m_ncpu, machine.m_model, machine.m_kernel);
	(void)printf("pool,measure,producers,mode,gap_us,value\n");
	for (i = 0; i < NIMPLS; i++) {
		const struct row *r = &rows[i];

		if (!r->r_selected)
			continue;
		for (k = 0; k < nplist; k++)
			if (r->r_thr[k].tr_median > 0)
				csv_thr(r->r_impl->bi_name, plist[k], &r->r_thr[k]);
		csv_lat(r->r_impl->bi_name, "unpinned", bench_config.bc_gap_us,
		    &r->r_lat);
		csv_lat(r->r_impl->bi_name, "pinned", bench_config.bc_gap_us,
		    &r->r_lat_pinned);
	}
	csv_lat("floor", "cross-cpu", bench_config.bc_gap_us, &floor_cross);
	for (i = 0; i < nratios; i++)
		(void)printf("%s/%s,ratio %s,,%s,,%.3f\n", ratios[i].ra_num,
		    ratios[i].ra_den, ratios[i].ra_what,
		    ratio_met(&ratios[i]) ? "met" : "missed", ratios[i].ra_value);
	if (spin_study) {
		for (i = 0; i < nspin_values; i++) {
			char name[32];

			(void)snprintf(name, sizeof(name), "naive-spin%u",
			    spin_rows[i].sr_spin_us);
			csv_thr(name, 1, &spin_rows[i].sr_thr);
			csv_lat(name, "unpinned", short_gap_us, &spin_rows[i].sr_short);
			csv_lat(name, "unpinned", bench_config.bc_gap_us,
			    &spin_rows[i].sr_idle);
			csv_lat(name, "pinned", short_gap_us,
			    &spin_rows[i].sr_short_pinned);
		}
	}
}

static void
json_lat(const char *key, const struct lat_result *lr)
{

	(void)printf("\"%s\": ", key);
	if (!lr->lr_valid) {
		(void)printf("null");
		return;
	}
	(void)printf("{\"median_us\": %.3f, \"p99_us\": %.3f, \"min_us\": %.3f, "
	    "\"cpu_us_per_job\": %.3f}", lr->lr_median_us, lr->lr_p99_us,
	    lr->lr_min_us, lr->lr_cpu_us);
}

static void
print_json(void)
{
	unsigned int i, k;
	bool first = true;

	(void)printf("{\n  \"command\": ");
	json_string(command_line);
	(void)printf(",\n  \"machine\": {\"cpus_online\": %ld, \"cpus_in_mask\": %u, "
	    "\"cpu_model\": ", machine.m_nproc, machine.m_ncpu);
	json_string(machine.m_model);
	(void)printf(", \"kernel\": ");
	json_string(machine.m_kernel);
	(void)printf(", \"clocksource\": ");
	json_string(machine.m_clock);
	(void)printf(", \"cpuidle\": ");
	json_string(machine.m_idle);
	(void)printf(", \"load_start\": [%.2f, %.2f, %.2f], \"load_end\": "
	    "[%.2f, %.2f, %.2f]},\n", machine.m_load_start[0],
	    machine.m_load_start[1], machine.m_load_start[2],
	    machine.m_load_end[0], machine.m_load_end[1], machine.m_load_end[2]);
	(void)printf("  \"config\": {\"jobs\": %llu, \"repeat\": %u, \"ring\": %u, "
	    "\"workers\": %u, \"libtp_cap\": %u, \"samples\": %u, \"gap_us\": %u, "
	    "\"short_gap_us\": %u, \"pinned_cpu\": %u},\n",
	    (unsigned long long)bench_config.bc_jobs, repeat, bench_config.bc_ring,
	    bench_config.bc_workers, bench_config.bc_tp_cap,
	    bench_config.bc_samples, bench_config.bc_gap_us, short_gap_us,
	    bench_config.bc_cpu);
	(void)printf("  \"pools\": [");
	for (i = 0; i < NIMPLS; i++) {
		const struct row *r = &rows[i];

		if (!r->r_selected)
			continue;
		(void)printf("%s\n    {\"name\": \"%s\", \"throughput_jobs_per_s\": {",
		    first ? "" : ",", r->r_impl->bi_name);
		first = false;
		for (k = 0; k < nplist; k++)
			(void)printf("%s\"%u\": {\"median\": %.0f, \"min\": %.0f, "
			    "\"max\": %.0f, \"cpu_ns_per_job\": %.1f, "
			    "\"csw_per_1000_jobs\": %.2f}", k ? ", " : "", plist[k],
			    r->r_thr[k].tr_median, r->r_thr[k].tr_min,
			    r->r_thr[k].tr_max, r->r_thr[k].tr_cpu_ns,
			    r->r_thr[k].tr_csw);
		(void)printf("}, ");
		json_lat("latency", &r->r_lat);
		(void)printf(", ");
		json_lat("latency_pinned", &r->r_lat_pinned);
		(void)printf("}");
	}
	(void)printf("\n  ],\n  ");
	json_lat("floor_cross_cpu", &floor_cross);
	(void)printf(",\n  \"ratios\": [");
	for (i = 0; i < nratios; i++) {
		(void)printf("%s\n    {\"what\": \"%s\", \"pool\": \"%s\", "
		    "\"versus\": \"%s\", \"ratio\": %.3f, \"target\": \"%s %.1f\", "
		    "\"met\": %s}", i ? "," : "", ratios[i].ra_what,
		    ratios[i].ra_num, ratios[i].ra_den, ratios[i].ra_value,
		    ratios[i].ra_higher ? ">=" : "<=", ratios[i].ra_target,
		    ratio_met(&ratios[i]) ? "true" : "false");
	}
	(void)printf("\n  ],\n  \"spin_study\": [");
	for (i = 0; spin_study && i < nspin_values; i++) {
		const struct spin_row *sr = &spin_rows[i];

		(void)printf("%s\n    {\"spin_us\": %u, \"throughput_jobs_per_s\": %.0f, ",
		    i ? "," : "", sr->sr_spin_us, sr->sr_thr.tr_median);
		json_lat("latency_short_gap", &sr->sr_short);
		(void)printf(", ");
		json_lat("latency_idle", &sr->sr_idle);
		(void)printf(", ");
		json_lat("latency_short_gap_pinned", &sr->sr_short_pinned);
		(void)printf("}");
	}
	(void)printf("\n  ]\n}\n");
}

/*
 * Options.
 */

static void
usage(FILE *f)
{

	(void)fprintf(f,
"usage: bench_libtp [-h] [-n jobs] [-s samples] [-p producers] [-w workers]\n"
"                   [-r ring] [-g gap_us] [-R repeat] [--only pool,...]\n"
"                   [--cpu n] [--spin us] [--spin-study us,...|none]\n"
"                   [--short-gap us] [--tp-cap n] [--csv | --json] [-v]\n"
"\n"
"Null-job throughput and idle-worker schedule-to-start latency of libtp\n"
"against the floor (a futex handoff), a naive mutex+condvar pool, GLib's\n"
"GThreadPool and libuv's uv_queue_work, side by side.\n"
"\n"
"  -n jobs         null jobs per throughput run (default 1000000)\n"
"  -s samples      latency samples (default 10000)\n"
"  -p list         producer counts, comma-separated (default 1,2,4)\n"
"  -w workers      worker threads of every pool (default: CPUs in the mask)\n"
"  -r ring         job objects, recycled once run (default 65536)\n"
"  -g gap_us       producer sleep between latency samples (default 500)\n"
"  -R repeat       throughput runs per figure, median taken (default 3)\n"
"  --only list     run only these pools: floor, naive, naive-spin, glib,\n"
"                  glib-excl, libuv, libtp, libtp-percpu\n"
"  --cpu n         the CPU of pinned runs (default: first in the mask)\n"
"  --spin us       how long naive-spin's idle workers spin (default 50)\n"
"  --spin-study l  spin times of the spin study (default 0,10,50,200;\n"
"                  'none' skips it)\n"
"  --short-gap us  the study's gap within a spin (default 20)\n"
"  --tp-cap n      libtp's thread cap per pool (default -w, 0 = none)\n"
"  --csv, --json   machine-readable output\n"
"  -v              libtp's pool statistics after each measurement, to stderr\n"
"  -h, --help      this help\n");
}

static unsigned long
parse_num(const char *s, const char *what, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		(void)fprintf(stderr, "bench_libtp: bad %s: %s (%lu..%lu)\n", what,
		    s, min, max);
		exit(2);
	}
	return v;
}

static unsigned int
parse_list(const char *s, const char *what, unsigned int *out, unsigned int max,
    unsigned long min, unsigned long vmax)
{
	char *copy, *tok, *save = NULL;
	unsigned int n = 0;

	if ((copy = strdup(s)) == NULL)
		bench_fatalx(ENOMEM, "strdup");
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (n == max) {
			(void)fprintf(stderr, "bench_libtp: too many %s (max %u)\n",
			    what, max);
			exit(2);
		}
		out[n++] = (unsigned int)parse_num(tok, what, min, vmax);
	}
	free(copy);
	if (n == 0) {
		(void)fprintf(stderr, "bench_libtp: empty %s\n", what);
		exit(2);
	}
	return n;
}

static void
select_only(const char *list)
{
	char *copy, *tok, *save = NULL;
	unsigned int i;

	if ((copy = strdup(list)) == NULL)
		bench_fatalx(ENOMEM, "strdup");
	for (i = 0; i < NIMPLS; i++)
		rows[i].r_selected = false;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < NIMPLS; i++) {
			if (strcmp(tok, impls[i]->bi_name) == 0) {
				if (impls[i]->bi_setup == NULL) {
					(void)fprintf(stderr, "bench_libtp: %s was not "
					    "built in (library missing at configure)\n",
					    tok);
					exit(2);
				}
				rows[i].r_selected = true;
				break;
			}
		}
		if (i == NIMPLS) {
			(void)fprintf(stderr, "bench_libtp: unknown pool '%s'\n", tok);
			usage(stderr);
			exit(2);
		}
	}
	free(copy);
}

int
main(int argc, char **argv)
{
	enum { OPT_ONLY = 256, OPT_CPU, OPT_SPIN, OPT_SPIN_STUDY, OPT_SHORT_GAP,
	    OPT_TP_CAP, OPT_CSV, OPT_JSON };
	static const struct option longopts[] = {
		{ "help",	no_argument,		NULL, 'h' },
		{ "only",	required_argument,	NULL, OPT_ONLY },
		{ "cpu",	required_argument,	NULL, OPT_CPU },
		{ "spin",	required_argument,	NULL, OPT_SPIN },
		{ "spin-study",	required_argument,	NULL, OPT_SPIN_STUDY },
		{ "short-gap",	required_argument,	NULL, OPT_SHORT_GAP },
		{ "tp-cap",	required_argument,	NULL, OPT_TP_CAP },
		{ "csv",	no_argument,		NULL, OPT_CSV },
		{ "json",	no_argument,		NULL, OPT_JSON },
		{ NULL,		0,			NULL, 0 },
	};
	cpu_set_t mask;
	const char *only = NULL;
	bool cpu_set = false, cap_set = false;
	unsigned int i, k, r;
	struct thr_sample *thr_runs, spin_thr[1000];
	size_t off = 0;
	char buf[16];
	int ch;

	for (i = 0; i < (unsigned int)argc && off < sizeof(command_line) - 1; i++)
		off += (size_t)snprintf(command_line + off, sizeof(command_line) - off,
		    "%s%s", i ? " " : "", argv[i]);

	bench_affinity_init();
	if (sched_getaffinity(0, sizeof(mask), &mask) == -1)
		bench_fatalx(errno, "sched_getaffinity");
	bench_config.bc_ncpu = (unsigned int)CPU_COUNT(&mask);
	bench_config.bc_jobs = 1000000;
	bench_config.bc_samples = 10000;
	bench_config.bc_ring = 65536;
	bench_config.bc_gap_us = 500;
	bench_config.bc_spin_us = 50;
	bench_config.bc_workers = bench_config.bc_ncpu;
	plist[0] = 1, plist[1] = 2, plist[2] = 4;
	nplist = 3;
	for (i = 0; i < NIMPLS; i++) {
		rows[i].r_impl = impls[i];
		rows[i].r_selected = impls[i]->bi_setup != NULL;
	}

	while ((ch = getopt_long(argc, argv, "hn:s:p:w:r:g:R:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'n':
			bench_config.bc_jobs = parse_num(optarg, "-n", 1, 1000000000);
			break;
		case 's':
			bench_config.bc_samples = (unsigned int)parse_num(optarg,
			    "-s", 1, 10000000);
			break;
		case 'p':
			nplist = parse_list(optarg, "producer counts", plist,
			    MAX_PLIST, 1, 64);
			break;
		case 'w':
			bench_config.bc_workers = (unsigned int)parse_num(optarg,
			    "-w", 1, 1024);
			break;
		case 'r':
			bench_config.bc_ring = (unsigned int)parse_num(optarg, "-r",
			    1, 100000000);
			break;
		case 'g':
			bench_config.bc_gap_us = (unsigned int)parse_num(optarg,
			    "-g", 0, 10000000);
			break;
		case 'R':
			repeat = (unsigned int)parse_num(optarg, "-R", 1, 1000);
			break;
		case 'v':
			bench_config.bc_verbose = true;
			break;
		case OPT_ONLY:
			only = optarg;
			break;
		case OPT_CPU:
			bench_config.bc_cpu = (unsigned int)parse_num(optarg,
			    "--cpu", 0, CPU_SETSIZE - 1);
			cpu_set = true;
			break;
		case OPT_SPIN:
			bench_config.bc_spin_us = (unsigned int)parse_num(optarg,
			    "--spin", 0, 1000000);
			break;
		case OPT_SPIN_STUDY:
			if (strcmp(optarg, "none") == 0) {
				spin_study = false;
				break;
			}
			spin_study = true;
			nspin_values = parse_list(optarg, "spin times", spin_values,
			    SPIN_STUDY_MAX, 0, 1000000);
			break;
		case OPT_SHORT_GAP:
			short_gap_us = (unsigned int)parse_num(optarg,
			    "--short-gap", 0, 10000000);
			break;
		case OPT_TP_CAP:
			bench_config.bc_tp_cap = (unsigned int)parse_num(optarg,
			    "--tp-cap", 0, 100000);
			cap_set = true;
			break;
		case OPT_CSV:
			output = OUT_CSV;
			break;
		case OPT_JSON:
			output = OUT_JSON;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!cap_set)
		bench_config.bc_tp_cap = bench_config.bc_workers;
	if (!cpu_set)
		bench_config.bc_cpu = bench_first_cpu();
	else if (!CPU_ISSET(bench_config.bc_cpu, &mask))
		bench_fatal("--cpu %u is not in the affinity mask", bench_config.bc_cpu);
	if (only != NULL) {
		select_only(only);
		/* --only limits the study too, unless it names the naive pool. */
		if (row_named("naive") == NULL && row_named("naive-spin") == NULL)
			spin_study = false;
	}

	/* libuv reads its pool size once, at first use. */
	(void)snprintf(buf, sizeof(buf), "%u", bench_config.bc_workers);
	(void)setenv("UV_THREADPOOL_SIZE", buf, 1);
	/* Precise sleeps between samples: no 50 us timer slack. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	machine_probe();

	/* Round robin, so that a noisy moment hits every pool alike. */
	if ((thr_runs = calloc((size_t)NIMPLS * MAX_PLIST * repeat,
	    sizeof(*thr_runs))) == NULL)
		bench_fatalx(ENOMEM, "runs");
	for (r = 0; r < repeat; r++) {
		for (i = 0; i < NIMPLS; i++) {
			if (!rows[i].r_selected)
				continue;
			for (k = 0; k < nplist; k++) {
				progress("throughput %u/%u: %s, %u producers",
				    r + 1, repeat, impls[i]->bi_name, plist[k]);
				thr_runs[(i * MAX_PLIST + k) * repeat + r] =
				    throughput(impls[i], plist[k]);
			}
		}
	}
	for (i = 0; i < NIMPLS; i++)
		for (k = 0; rows[i].r_selected && k < nplist; k++)
			summarize(&thr_runs[(i * MAX_PLIST + k) * repeat], repeat,
			    &rows[i].r_thr[k]);
	free(thr_runs);
	for (i = 0; i < NIMPLS; i++) {
		if (!rows[i].r_selected)
			continue;
		progress("%s: idle-worker latency", impls[i]->bi_name);
		rows[i].r_lat = latency(impls[i], PLACE_FREE, bench_config.bc_gap_us,
		    bench_config.bc_samples);
	}
	for (i = 0; i < NIMPLS; i++) {
		if (!rows[i].r_selected)
			continue;
		progress("%s: idle-worker latency, pinned", impls[i]->bi_name);
		rows[i].r_lat_pinned = latency(impls[i], PLACE_SAME,
		    bench_config.bc_gap_us, bench_config.bc_samples);
	}
	if (row_named("floor") != NULL && other_cpu() != bench_config.bc_cpu) {
		progress("%s", "floor: wakeup on the other CPU");
		floor_cross = latency(&bench_impl_floor, PLACE_CROSS,
		    bench_config.bc_gap_us, bench_config.bc_samples);
	}
	if (spin_study) {
		unsigned int saved_spin = bench_config.bc_spin_us;
		unsigned int ss = bench_config.bc_samples / 5;

		if (ss < 100)
			ss = bench_config.bc_samples;
		for (i = 0; i < nspin_values; i++) {
			struct spin_row *sr = &spin_rows[i];

			progress("spin study: %u us", spin_values[i]);
			sr->sr_spin_us = bench_config.bc_spin_us = spin_values[i];
			for (r = 0; r < repeat; r++)
				spin_thr[r] = throughput(&bench_impl_naive_spin, 1);
			summarize(spin_thr, repeat, &sr->sr_thr);
			sr->sr_short = latency(&bench_impl_naive_spin, PLACE_FREE,
			    short_gap_us, ss);
			sr->sr_idle = latency(&bench_impl_naive_spin, PLACE_FREE,
			    bench_config.bc_gap_us, ss);
			sr->sr_short_pinned = latency(&bench_impl_naive_spin, PLACE_SAME,
			    short_gap_us, ss);
		}
		bench_config.bc_spin_us = saved_spin;
	}
	progress("%s", "");
	if (isatty(STDERR_FILENO))
		(void)fputs("\r\033[K", stderr);
	(void)getloadavg(machine.m_load_end, 3);
	ratios_compute();

	switch (output) {
	case OUT_TEXT:
		print_text();
		break;
	case OUT_CSV:
		print_csv();
		break;
	case OUT_JSON:
		print_json();
		break;
	}
	return 0;
}
