/*
 * pools.h -- the libtp pools the daemon runs jobs on (pools.c).  Layer:
 * pools and plugins; calls only libtp, options and the log.  Loop thread.
 */
#ifndef TPD_POOLS_H
#define TPD_POOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <threadpool.h>

#include "tpool.pb-c.h"

/*
 * The pool a submit goes to, taken lazily (one reference per priority kept
 * until it goes unused, tpd_pools_trim, or exit).  pri must be valid
 * (threadpool_pri_is_valid(): validate.c checked it).  For POOL_PERCPU,
 * *cpu is the CPU asked for, or -1 (any: the daemon picks) and is set to
 * the CPU chosen.  0, EPERM (priority not permitted), ENOENT (CPU not in
 * the set), or another errno.  May sleep (libtp creates the pool's threads
 * when it takes the pool).
 */
int	tpd_pool_get(Tpool__PoolKind kind, int pri, int *cpu,
	    struct threadpool **ret_pool);
/*
 * A job of kind and pri enters its pool's count of jobs in flight (enter)
 * or leaves it: from its creation to its final state, the pool is not
 * released.
 */
void	tpd_pool_use(Tpool__PoolKind kind, int pri, bool enter);
/*
 * A job timed out in pool still holds one of its threads (written off):
 * the pool's cap rises by one meanwhile (delta 1), and falls back when the
 * thread lets go (-1).  Loop thread.
 */
void	tpd_pool_stuck(struct threadpool *pool, int delta);
/*
 * Release the pools (an unbound pool, a per-CPU set) that have had no
 * job in flight for unused_ns: their threads are joined (may sleep
 * briefly; no job may be running there).  The next job there takes the
 * pool again.
 */
void	tpd_pools_trim(uint64_t unused_ns);
/*
 * A PoolStats for each pool in use: *ret_stats is allocated, the caller's
 * (tpd_pool_stats_free()).  0 or ENOMEM.
 */
int	tpd_pool_stats(Tpool__PoolStats ***ret_stats, size_t *ret_n);
void	tpd_pool_stats_free(Tpool__PoolStats **stats, size_t n);
/* Drop every pool reference (exit; no job may be queued or running).
 * May sleep (joins the pools' threads). */
void	tpd_pools_put_all(void);

#endif /* TPD_POOLS_H */
