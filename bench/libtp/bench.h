/*
 * bench.h -- what the parts of libtp's benchmark share.
 *
 * bench_libtp runs the same two measurements on several thread pools:
 *
 *  - null-job throughput: n jobs that do nothing, scheduled by one or more
 *    producer threads, wall time from the first schedule until the last job
 *    has run;
 *  - schedule-to-start latency with an idle worker: one job at a time, the
 *    time from just before the schedule call to the first instruction of
 *    the job, the producer sleeping between samples so the worker idles.
 *
 * Every pool ("implementation", struct bench_impl) runs the same jobs: a
 * struct bench_slot, one cache line or more, that embeds what each pool
 * needs (a libtp job and its lock, a uv_work_t, a queue link).  The slots
 * form a ring that producers recycle: a slot is scheduled again only after
 * its previous run has completed (bench_slot_wait).  A job ends by calling
 * bench_slot_complete(), which bumps the slot's completion count and wakes
 * a producer waiting on it; there is no global completion counter, so the
 * pools are not slowed down by one shared cache line.
 *
 * Each implementation lives in its own impl_*.c; main.c runs them, util.c
 * has the clock, futexes, CPU pinning and statistics.
 */
#ifndef BENCH_LIBTP_BENCH_H
#define BENCH_LIBTP_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <threadpool.h>

#include "clock.h"

#ifdef HAVE_LIBUV
#include <uv.h>
#endif

#define	BENCH_CACHELINE		64

#define	bench_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * One job.  Markings: p = the producer that owns the slot (only it
 * schedules the slot), r = the thread running the job, a = atomic,
 * c = constant during a measurement, i = the implementation's own rules.
 */
struct bench_slot {
	_Atomic uint32_t	bs_done;	/* a: runs completed */
	_Atomic uint32_t	bs_waiter;	/* a: a producer sleeps on bs_done */
	uint32_t		bs_sched;	/* p: runs scheduled */
	bool			bs_stamp;	/* c: record bs_t_start (latency) */
	uint64_t		bs_t_start;	/* r: when the job began, ns */
	struct bench_producer	*bs_producer;	/* c: the producer owning it */
	union {					/* i: the pool's own bookkeeping */
		struct {
			struct threadpool_job	tj;
			pthread_mutex_t		lock;
		} bsu_tp;
#ifdef HAVE_LIBUV
		struct {
			uv_work_t		req;
			bool			free;	/* after_work ran */
		} bsu_uv;
#endif
		struct bench_slot	*bsu_next;	/* naive pool's queue */
	} bs_u;
} __attribute__((__aligned__(BENCH_CACHELINE)));

/* Options of one run; set by main.c, read by the implementations. */
struct bench_config {
	uint64_t	bc_jobs;	/* -n: jobs per throughput measurement */
	unsigned int	bc_samples;	/* -s: latency samples */
	unsigned int	bc_workers;	/* -w: worker threads of every pool */
	unsigned int	bc_ring;	/* -r: slots in the ring */
	unsigned int	bc_gap_us;	/* -g: producer sleep between samples */
	unsigned int	bc_cpu;		/* --cpu: the CPU of pinned runs */
	unsigned int	bc_spin_us;	/* --spin: naive-spin spins this long */
	unsigned int	bc_tp_cap;	/* --tp-cap: libtp thread cap, 0 none */
	unsigned int	bc_ncpu;	/* CPUs in the affinity mask */
	bool		bc_verbose;	/* -v: pools' own statistics to stderr */
};

extern struct bench_config bench_config;

/* A producer thread of a throughput run, or the latency loop. */
struct bench_producer {
	struct bench_run	*bp_run;	/* c */
	unsigned int		bp_index;	/* c: 0..nproducers-1 */
	struct bench_slot	*bp_slots;	/* c: its part of the ring */
	unsigned int		bp_nslots;	/* c */
	uint64_t		bp_njobs;	/* c: jobs it schedules */
	uint64_t		bp_t_start;	/* p: first schedule, ns */
	uint64_t		bp_t_end;	/* p: all its jobs done, ns */
	void			*bp_impl;	/* p: the implementation's state */
	pthread_t		bp_thread;
};

/*
 * A pool under test.  setup creates the pool with bench_config.bc_workers
 * workers (as far as the API lets one say so); producer_init/fini set up
 * and tear down per-producer state (libuv's loop) in the producer thread;
 * submit schedules one slot; reclaim makes a slot reusable once it has
 * completed (libuv: its after_work must have run); drain finishes what a
 * producer owes after the measurement (libuv: run the loop to the end).
 * slot_init runs after setup; slot_fini after teardown, which must have
 * stopped or joined every thread that ran jobs (libuv's stay, but drain
 * has seen every after_work by then).
 */
struct bench_impl {
	const char	*bi_name;	/* short name, as --only takes it */
	const char	*bi_desc;	/* one line for the legend */
	int		(*bi_setup)(void **ret_pool, bool stamp);
	void		(*bi_teardown)(void *pool);
	int		(*bi_producer_init)(void *pool, struct bench_producer *);
	void		(*bi_producer_fini)(void *pool, struct bench_producer *);
	void		(*bi_slot_init)(void *pool, struct bench_slot *);
	void		(*bi_slot_fini)(void *pool, struct bench_slot *);
	void		(*bi_submit)(void *pool, struct bench_producer *, struct bench_slot *);
	void		(*bi_reclaim)(void *pool, struct bench_producer *, struct bench_slot *);
	void		(*bi_drain)(void *pool, struct bench_producer *);
	unsigned int	bi_flags;
#define	BI_PIN_PRODUCER_ONLY	0x1	/* pinned: pin only the producer (the
					 * pool pins its own threads) */
#define	BI_SINGLE_CONSUMER	0x2	/* one consumer whatever -w says */
};

extern const struct bench_impl bench_impl_floor;
extern const struct bench_impl bench_impl_naive;
extern const struct bench_impl bench_impl_naive_spin;
extern const struct bench_impl bench_impl_glib;
extern const struct bench_impl bench_impl_glib_excl;
extern const struct bench_impl bench_impl_libuv;
extern const struct bench_impl bench_impl_libtp;
extern const struct bench_impl bench_impl_libtp_percpu;

/* util.c */
void		bench_sleep_ns(uint64_t ns);
long		bench_futex_wait(_Atomic uint32_t *word, uint32_t expected);
long		bench_futex_wake(_Atomic uint32_t *word, int n);
void		bench_cpu_relax(void);
void		bench_fatal(const char *fmt, ...)
		    __attribute__((__format__(__printf__, 1, 2), __noreturn__));
void		bench_fatalx(int error, const char *what) __attribute__((__noreturn__));

/* Pin every thread of the process to one CPU, remembering their masks;
 * unpin restores them (threads born since get the process's first mask). */
void		bench_pin_all(unsigned int cpu);
void		bench_unpin_all(void);
/* Pin / unpin the calling thread only. */
void		bench_pin_self(unsigned int cpu);
void		bench_unpin_self(void);
void		bench_affinity_init(void);
unsigned int	bench_first_cpu(void);

int		bench_u64_cmp(const void *, const void *);
uint64_t	bench_percentile(const uint64_t *sorted, size_t n, double p);

/*
 * The job's side.  bench_slot_begin is the first thing a job does: it
 * stamps the start time when the slot measures latency.  bench_slot_complete
 * is the last thing a job does with the slot: after it the producer may
 * schedule the slot again at once, but frees it only once the pool's
 * threads are gone (the job may still be returning from here).
 */
static inline void
bench_slot_begin(struct bench_slot *slot)
{

	if (slot->bs_stamp)
		slot->bs_t_start = tu_now_ns();
}

static inline void
bench_slot_complete(struct bench_slot *slot)
{
	uint32_t done;

	done = atomic_load_explicit(&slot->bs_done, memory_order_relaxed);
	/* seq_cst store, then load: pairs with bench_slot_wait (Dekker). */
	atomic_store(&slot->bs_done, done + 1);
	if (atomic_load(&slot->bs_waiter) != 0)
		(void)bench_futex_wake(&slot->bs_done, 1);
}

/* Producer side: wait until the slot has completed `runs' runs, polling
 * `spins' times before sleeping (0 when the job may need this CPU). */
void	bench_slot_wait(struct bench_slot *slot, uint32_t runs, unsigned int spins);

#endif /* BENCH_LIBTP_BENCH_H */
