/*
 * percpu.c -- per-CPU pool sets: one pool per CPU the process may use
 * (read when the set is created), each pool's threads pinned to its CPU;
 * one shared, reference-counted set per priority.
 *
 * "The CPUs the process may use" is the spawner's CPU affinity (spawn.c):
 * what the process was started with (taskset, a cgroup cpuset), as the
 * kernel keeps it up to date, and not the affinity of whichever thread
 * asks, so a program that pins its main thread still gets a pool for
 * every CPU.  threadpool_percpu_ref() maps sched_getcpu() to a pool
 * through a table indexed by CPU number.  A pool whose CPU goes away runs
 * its jobs unpinned until it comes back (thread.c).
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "tp_impl.h"

struct threadpool_percpu {
	tp_pri_t			tpp_pri;	/* c */
	unsigned int			tpp_gen;	/* c: tp_generation at creation */
	unsigned int			tpp_ncpu;	/* c: CPUs in the set */
	unsigned int			*tpp_cpus;	/* c: their numbers, ascending */
	unsigned int			tpp_maxcpu;	/* c: size of tpp_bycpu */
	struct threadpool		**tpp_bycpu;	/* c: CPU number -> pool or NULL */
	struct threadpool		*tpp_pools;	/* c: tpp_ncpu pools */
	LIST_ENTRY(threadpool_percpu)	tpp_link;	/* r: percpu_lock */
	uint64_t			tpp_refcnt;	/* r */
};

static pthread_mutex_t percpu_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, threadpool_percpu) percpu_threadpools =	/* r */
    LIST_HEAD_INITIALIZER(percpu_threadpools);

/*
 * The process's CPUs.  Returns 0 and a malloc'd set the caller frees with
 * CPU_FREE, or an errno value.
 */
static int
percpu_affinity(cpu_set_t **ret_set, size_t *ret_size, unsigned int *ret_max)
{
	unsigned int max = 1024;
	cpu_set_t *set;
	size_t size;
	int error;

	for (;;) {
		if ((set = CPU_ALLOC(max)) == NULL)
			return ENOMEM;
		size = CPU_ALLOC_SIZE(max);
		if ((error = spawn_cpus(set, size)) == 0)
			break;
		CPU_FREE(set);
		if (error != EINVAL || max >= (1u << 20))
			return error;
		max *= 2;	/* the kernel's mask is larger */
	}
	*ret_set = set;
	*ret_size = size;
	*ret_max = max;
	return 0;
}

/* Destroy the first npools pools and free the set.  May sleep. */
static void
percpu_destroy(struct threadpool_percpu *tpp, unsigned int npools)
{
	unsigned int i;

	for (i = 0; i < npools; i++) {
		TP_ASSERT(tp_curthread == NULL ||
		    tp_curthread->tpt_pool != &tpp->tpp_pools[i],
		    "last threadpool_percpu_put of the set of priority %d from "
		    "its own job '%s' (on CPU %u): it would wait for itself "
		    "forever", tpp->tpp_pri, tp_curthread->tpt_name,
		    tpp->tpp_cpus[i]);
	}
	for (i = 0; i < npools; i++)
		pool_destroy(&tpp->tpp_pools[i]);
	free(tpp->tpp_pools);
	free(tpp->tpp_bycpu);
	free(tpp->tpp_cpus);
	free(tpp);
}

static int
percpu_create(struct threadpool_percpu **ret_tpp, tp_pri_t pri)
{
	struct threadpool_percpu *tpp;
	cpu_set_t *set = NULL;
	size_t size = 0;
	unsigned int max = 0, cpu, i;
	int error;

	if ((error = percpu_affinity(&set, &size, &max)) != 0)
		return error;
	if ((tpp = calloc(1, sizeof(*tpp))) == NULL) {
		CPU_FREE(set);
		return ENOMEM;
	}
	tpp->tpp_pri = pri;
	tpp->tpp_gen = tp_gen();
	tpp->tpp_ncpu = (unsigned int)CPU_COUNT_S(size, set);
	for (cpu = 0; cpu < max; cpu++) {
		if (CPU_ISSET_S(cpu, size, set))
			tpp->tpp_maxcpu = cpu + 1;
	}
	tpp->tpp_cpus = calloc(tpp->tpp_ncpu, sizeof(*tpp->tpp_cpus));
	tpp->tpp_bycpu = calloc(tpp->tpp_maxcpu, sizeof(*tpp->tpp_bycpu));
	tpp->tpp_pools = calloc(tpp->tpp_ncpu, sizeof(*tpp->tpp_pools));
	if (tpp->tpp_ncpu == 0 || tpp->tpp_cpus == NULL ||
	    tpp->tpp_bycpu == NULL || tpp->tpp_pools == NULL) {
		error = tpp->tpp_ncpu == 0 ? ENXIO : ENOMEM;
		CPU_FREE(set);
		percpu_destroy(tpp, 0);
		return error;
	}
	for (i = 0, cpu = 0; cpu < tpp->tpp_maxcpu; cpu++) {
		if (CPU_ISSET_S(cpu, size, set))
			tpp->tpp_cpus[i++] = cpu;
	}
	CPU_FREE(set);

	for (i = 0; i < tpp->tpp_ncpu; i++) {
		error = pool_create(&tpp->tpp_pools[i], (int)tpp->tpp_cpus[i], pri);
		if (error != 0) {
			percpu_destroy(tpp, i);
			return error;
		}
		tpp->tpp_bycpu[tpp->tpp_cpus[i]] = &tpp->tpp_pools[i];
	}
	*ret_tpp = tpp;
	return 0;
}

static struct threadpool_percpu *
percpu_lookup_locked(tp_pri_t pri)
{
	struct threadpool_percpu *tpp;

	TP_ASSERT_OWNED(&percpu_lock, "percpu_lock not held");
	LIST_FOREACH(tpp, &percpu_threadpools, tpp_link) {
		if (tpp->tpp_pri == pri)
			return tpp;
	}
	return NULL;
}

TP_EXPORT int
threadpool_percpu_get(struct threadpool_percpu **ret_pool_percpu, tp_pri_t pri)
{
	struct threadpool_percpu *tpp, *tmp = NULL;
	int error, ocs;

	if (!threadpool_pri_is_valid(pri))
		return EINVAL;

	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &ocs);
	(void)pthread_mutex_lock(&percpu_lock);
	tpp = percpu_lookup_locked(pri);
	if (tpp == NULL) {
		(void)pthread_mutex_unlock(&percpu_lock);
		if ((error = percpu_create(&tmp, pri)) != 0) {
			(void)pthread_setcancelstate(ocs, NULL);
			return error;
		}
		(void)pthread_mutex_lock(&percpu_lock);
		tpp = percpu_lookup_locked(pri);
		if (tpp == NULL) {
			/* We won the creation race. */
			tpp = tmp;
			tmp = NULL;
			LIST_INSERT_HEAD(&percpu_threadpools, tpp, tpp_link);
		}
	}
	tpp->tpp_refcnt++;
	(void)pthread_mutex_unlock(&percpu_lock);

	if (tmp != NULL)
		percpu_destroy(tmp, tmp->tpp_ncpu);
	(void)pthread_setcancelstate(ocs, NULL);
	*ret_pool_percpu = tpp;
	return 0;
}

TP_EXPORT void
threadpool_percpu_put(struct threadpool_percpu *tpp, tp_pri_t pri)
{
	int ocs;

	TP_ASSERT(tpp->tpp_gen == tp_gen(), "per-CPU set of priority %d was "
	    "created before fork() and cannot be used in the child: its threads "
	    "do not exist here; get a new set in the child", tpp->tpp_pri);
	TP_ASSERT(threadpool_pri_is_valid(pri), "invalid priority %d", pri);

	(void)pthread_mutex_lock(&percpu_lock);
	TP_ASSERT(tpp == percpu_lookup_locked(pri),
	    "threadpool_percpu_put of a set that is not the one of priority %d",
	    pri);
	TP_ASSERT(tpp->tpp_refcnt > 0,
	    "threadpool_percpu_put without threadpool_percpu_get");
	if (--tpp->tpp_refcnt == 0)
		LIST_REMOVE(tpp, tpp_link);
	else
		tpp = NULL;
	(void)pthread_mutex_unlock(&percpu_lock);

	if (tpp != NULL) {
		(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &ocs);
		percpu_destroy(tpp, tpp->tpp_ncpu);
		(void)pthread_setcancelstate(ocs, NULL);
	}
}

/* Fork handlers (spawn.c calls them): the child gets an empty registry. */
void
percpu_fork_prepare(void)
{
	(void)pthread_mutex_lock(&percpu_lock);
}

void
percpu_fork_parent(void)
{
	(void)pthread_mutex_unlock(&percpu_lock);
}

void
percpu_fork_child(void)
{
	/* The parent's sets stay allocated: their pools' locks may be held. */
	(void)pthread_mutex_unlock(&percpu_lock);
	LIST_INIT(&percpu_threadpools);
}

TP_EXPORT struct threadpool *
threadpool_percpu_ref(struct threadpool_percpu *tpp)
{
	int cpu = sched_getcpu();

	TP_ASSERT(tpp->tpp_gen == tp_gen(), "per-CPU set of priority %d was "
	    "created before fork() and cannot be used in the child", tpp->tpp_pri);
	if (cpu >= 0 && (unsigned int)cpu < tpp->tpp_maxcpu &&
	    tpp->tpp_bycpu[cpu] != NULL)
		return tpp->tpp_bycpu[cpu];
	/* Running on a CPU outside the set: the affinity changed since. */
	return &tpp->tpp_pools[0];
}

TP_EXPORT struct threadpool *
threadpool_percpu_ref_remote(struct threadpool_percpu *tpp, unsigned int cpu)
{
	TP_ASSERT(tpp->tpp_gen == tp_gen(), "per-CPU set of priority %d was "
	    "created before fork() and cannot be used in the child", tpp->tpp_pri);
	if (cpu >= tpp->tpp_maxcpu)
		return NULL;
	return tpp->tpp_bycpu[cpu];
}

TP_EXPORT unsigned int
threadpool_percpu_ncpu(const struct threadpool_percpu *tpp)
{
	return tpp->tpp_ncpu;
}

TP_EXPORT unsigned int
threadpool_percpu_cpu(const struct threadpool_percpu *tpp, unsigned int i)
{
	TP_ASSERT(i < tpp->tpp_ncpu, "CPU index %u out of range (%u CPUs)",
	    i, tpp->tpp_ncpu);
	return tpp->tpp_cpus[i];
}
