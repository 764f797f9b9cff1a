/*
 * pools.c -- the libtp pools the daemon runs jobs on.
 *
 * For each priority (TP_PRI_NONE and libtp's valid range) the daemon takes
 * at most one reference to the shared unbound pool and one to the shared
 * per-CPU set, the first time a job asks for it, and drops it when no job
 * has been in flight there for the idle timeout (tpd_pools_trim: the
 * pool's threads, its overseers and idle workers, are joined and gone)
 * or at exit; a priority nobody uses costs nothing, one used a while ago
 * costs nothing again.  --max-threads caps each pool it takes.  A per-CPU
 * job for "any" CPU goes to the CPUs of the set in turn (round robin):
 * cheap, and it spreads a burst evenly.
 *
 * All of this is the loop's (l).  threadpool_get and threadpool_percpu_get
 * may sleep (they create the pool's overseer threads) the first time only.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "names.h"
#include "options.h"
#include "pools.h"

#define	POOL_SLOTS	(TP_PRI_COUNT + 1)	/* index: pri + 1 */

static struct threadpool *pool_unbound[POOL_SLOTS];		/* l */
static struct threadpool_percpu *pool_percpu[POOL_SLOTS];	/* l */
static unsigned int pool_percpu_next[POOL_SLOTS];	/* l: round robin */
/* Of each (index: the pool kind, then the slot), for tpd_pools_trim. */
static struct pool_usage {
	unsigned int	pu_jobs;	/* l: in flight there */
	uint64_t	pu_idle_ns;	/* l: since when none (or taken) */
} pool_usage[2][POOL_SLOTS];

static struct pool_usage *
pool_usage_of(Tpool__PoolKind kind, int slot)
{
	int k = kind == TPOOL__POOL_KIND__POOL_UNBOUND ? 0 : 1;

	return &pool_usage[k][slot];
}

static int
pool_slot(int pri)
{
	return pri + 1;
}

static int
pool_get_unbound(int pri, struct threadpool **ret_pool)
{
	struct threadpool *pool;
	int error, slot = pool_slot(pri);

	if (pool_unbound[slot] == NULL) {
		if ((error = threadpool_get(&pool, pri)) != 0) {
			tpd_info("unbound pool at priority %d: %s", pri,
			    strerror(error));
			return error;
		}
		if (tpd_opt.o_max_threads != 0)
			threadpool_set_max_threads(pool, tpd_opt.o_max_threads);
		pool_unbound[slot] = pool;
		pool_usage_of(TPOOL__POOL_KIND__POOL_UNBOUND,
		    slot)->pu_idle_ns = tpd_now_ns();
		tpd_debug("took the unbound pool at priority %d", pri);
	}
	*ret_pool = pool_unbound[slot];
	return 0;
}

static int
pool_get_percpu(int pri, int *cpu, struct threadpool **ret_pool)
{
	struct threadpool_percpu *pcpu;
	struct threadpool *pool;
	unsigned int i, n;
	int error, slot = pool_slot(pri);

	if (pool_percpu[slot] == NULL) {
		if ((error = threadpool_percpu_get(&pcpu, pri)) != 0) {
			tpd_info("per-CPU pools at priority %d: %s", pri,
			    strerror(error));
			return error;
		}
		n = threadpool_percpu_ncpu(pcpu);
		if (tpd_opt.o_max_threads != 0)
			for (i = 0; i < n; i++)
				threadpool_set_max_threads(
				    threadpool_percpu_ref_remote(pcpu,
				    threadpool_percpu_cpu(pcpu, i)),
				    tpd_opt.o_max_threads);
		pool_percpu[slot] = pcpu;
		pool_usage_of(TPOOL__POOL_KIND__POOL_PERCPU, slot)->pu_idle_ns =
		    tpd_now_ns();
		tpd_debug("took the per-CPU pools at priority %d (%u CPUs)",
		    pri, n);
	}
	pcpu = pool_percpu[slot];
	if (*cpu == -1) {
		n = threadpool_percpu_ncpu(pcpu);
		i = pool_percpu_next[slot]++ % n;
		*cpu = (int)threadpool_percpu_cpu(pcpu, i);
	}
	if (*cpu < 0 ||
	    (pool = threadpool_percpu_ref_remote(pcpu,
	    (unsigned int)*cpu)) == NULL)
		return ENOENT;
	*ret_pool = pool;
	return 0;
}

int
tpd_pool_get(Tpool__PoolKind kind, int pri, int *cpu,
    struct threadpool **ret_pool)
{
	if (kind == TPOOL__POOL_KIND__POOL_UNBOUND)
		return pool_get_unbound(pri, ret_pool);
	return pool_get_percpu(pri, cpu, ret_pool);
}

/* Pools with threads held by written-off jobs, and how many.  l. */
static struct pool_stuck {
	struct threadpool	*ps_pool;
	unsigned int		ps_n;
} *pool_stuck;
static size_t pool_nstuck;

void
tpd_pool_stuck(struct threadpool *pool, int delta)
{
	struct pool_stuck *v;
	size_t i;

	for (i = 0; i < pool_nstuck; i++)
		if (pool_stuck[i].ps_pool == pool)
			break;
	if (i == pool_nstuck) {
		if (delta < 0 || (v = realloc(pool_stuck, (pool_nstuck + 1) *
		    sizeof(*v))) == NULL)
			return;		/* no memory: the cap stays */
		pool_stuck = v;
		pool_stuck[pool_nstuck].ps_pool = pool;
		pool_stuck[pool_nstuck].ps_n = 0;
		pool_nstuck++;
	}
	pool_stuck[i].ps_n = (unsigned int)((int)pool_stuck[i].ps_n + delta);
	if (tpd_opt.o_max_threads != 0)
		threadpool_set_max_threads(pool, tpd_opt.o_max_threads +
		    pool_stuck[i].ps_n);
	if (pool_stuck[i].ps_n == 0)
		pool_stuck[i] = pool_stuck[--pool_nstuck];
}

void
tpd_pool_use(Tpool__PoolKind kind, int pri, bool enter)
{
	struct pool_usage *pu = pool_usage_of(kind, pool_slot(pri));

	if (enter)
		pu->pu_jobs++;
	else if (--pu->pu_jobs == 0)
		pu->pu_idle_ns = tpd_now_ns();
}

/* Has the pool of kind in slot had no job for unused_ns? */
static bool
pool_unused(Tpool__PoolKind kind, int slot, uint64_t now, uint64_t unused_ns)
{
	const struct pool_usage *pu = pool_usage_of(kind, slot);

	if (pu->pu_jobs > 0 || now - pu->pu_idle_ns < unused_ns)
		return false;
	tpd_debug("releasing the %s pools at priority %d (no job for %llu ms)",
	    tp_pool_name(kind), slot - 1,
	    (unsigned long long)(unused_ns / 1000000));
	return true;
}

void
tpd_pools_trim(uint64_t unused_ns)
{
	uint64_t now = tpd_now_ns();
	int slot;

	for (slot = 0; slot < POOL_SLOTS; slot++) {
		if (pool_unbound[slot] != NULL && pool_unused(
		    TPOOL__POOL_KIND__POOL_UNBOUND, slot, now, unused_ns)) {
			threadpool_put(pool_unbound[slot], slot - 1);
			pool_unbound[slot] = NULL;
		}
		if (pool_percpu[slot] != NULL && pool_unused(
		    TPOOL__POOL_KIND__POOL_PERCPU, slot, now, unused_ns)) {
			threadpool_percpu_put(pool_percpu[slot], slot - 1);
			pool_percpu[slot] = NULL;
		}
	}
}

static Tpool__PoolStats *
pool_stats_one(struct threadpool *pool, Tpool__PoolKind kind)
{
	struct threadpool_stats st;
	Tpool__PoolStats *ps;

	if ((ps = malloc(sizeof(*ps))) == NULL)
		return NULL;
	threadpool_stats(pool, &st);
	tpool__pool_stats__init(ps);
	ps->has_pool = true;
	ps->pool = kind;
	ps->has_priority = true;
	ps->priority = st.tps_pri;
	ps->has_cpu = true;
	ps->cpu = st.tps_cpu;
	ps->has_threads = true;
	ps->threads = st.tps_threads;
	ps->has_idle = true;
	ps->idle = st.tps_idle;
	ps->has_queued = true;
	ps->queued = st.tps_queued;
	ps->has_jobs_run = true;
	ps->jobs_run = st.tps_jobs_run;
	ps->has_threads_created = true;
	ps->threads_created = st.tps_threads_created;
	ps->has_threads_exited = true;
	ps->threads_exited = st.tps_threads_exited;
	ps->has_create_failures = true;
	ps->create_failures = st.tps_create_failures;
	return ps;
}

int
tpd_pool_stats(Tpool__PoolStats ***ret_stats, size_t *ret_n)
{
	Tpool__PoolStats **v = NULL, **nv, *ps;
	struct threadpool_percpu *pcpu;
	size_t n = 0, cap = 0;
	unsigned int i, ncpu;
	int slot;

	for (slot = 0; slot < POOL_SLOTS; slot++) {
		ncpu = pool_percpu[slot] != NULL ?
		    threadpool_percpu_ncpu(pool_percpu[slot]) : 0;
		if (n + 1 + ncpu > cap) {
			cap = (n + 1 + ncpu) * 2;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto nomem;
			v = nv;
		}
		if (pool_unbound[slot] != NULL) {
			if ((ps = pool_stats_one(pool_unbound[slot],
			    TPOOL__POOL_KIND__POOL_UNBOUND)) == NULL)
				goto nomem;
			v[n++] = ps;
		}
		pcpu = pool_percpu[slot];
		for (i = 0; i < ncpu; i++) {
			if ((ps = pool_stats_one(
			    threadpool_percpu_ref_remote(pcpu,
			    threadpool_percpu_cpu(pcpu, i)),
			    TPOOL__POOL_KIND__POOL_PERCPU)) == NULL)
				goto nomem;
			v[n++] = ps;
		}
	}
	*ret_stats = v;
	*ret_n = n;
	return 0;

nomem:
	tpd_pool_stats_free(v, n);
	return ENOMEM;
}

void
tpd_pool_stats_free(Tpool__PoolStats **stats, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(stats[i]);
	free(stats);
}

void
tpd_pools_put_all(void)
{
	int slot;

	for (slot = 0; slot < POOL_SLOTS; slot++) {
		if (pool_unbound[slot] != NULL) {
			threadpool_put(pool_unbound[slot], slot - 1);
			pool_unbound[slot] = NULL;
		}
		if (pool_percpu[slot] != NULL) {
			threadpool_percpu_put(pool_percpu[slot], slot - 1);
			pool_percpu[slot] = NULL;
		}
	}
	memset(pool_usage, 0, sizeof(pool_usage));
	free(pool_stuck);
	pool_stuck = NULL;
	pool_nstuck = 0;
}
