/*
 * tp_test.h -- libtp's test hooks.  They exist only in the test build of
 * the library (libtp/libtp-test.la, compiled with -DTP_TESTING), which the
 * tests and tpoold's fault injection link; the installed libtp.so has
 * none of them (libtp.sym).  Not installed.
 */
#ifndef TP_TEST_H
#define TP_TEST_H

#include <threadpool.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Make the next n creations of worker threads fail with EAGAIN, as
 * pthread_create does when out of resources.  The overseer backs off (1 ms
 * doubling up to 1 s), counts each failure in tps_create_failures and
 * retries; no job is lost.
 */
void	tp_test_fail_thread_create(unsigned int n);

/* Let the next skip creations of overseers succeed, then make n fail with
 * EAGAIN, so that threadpool_get() or threadpool_percpu_get() fails (a
 * per-CPU set on its skip+1-th CPU). */
void	tp_test_fail_overseer_create(unsigned int skip, unsigned int n);

/* Pretend that CPU cpu cannot be used (as when it leaves the cpuset or
 * goes offline): pinning a thread to it fails with EINVAL and a per-CPU
 * worker of it sees it is lost at its next job.  -1: every CPU usable. */
void	tp_test_cpu_unusable(int cpu);

/* Make threadpool_schedule_job_unlock() sleep usec between releasing the
 * job lock and waking the worker it handed the job to, as if preempted
 * there.  0: no sleep. */
void	tp_test_delay_deferred_wake(unsigned int usec);

#ifdef __cplusplus
}
#endif

#endif /* TP_TEST_H */
