/*
 * sched.c -- libtp priorities mapped to Linux scheduling, and pinning.
 *
 *	TP_PRI_NONE			SCHED_OTHER at the spawner's nice value:
 *					the nice of the thread that loaded libtp
 *					(see spawn.c), never changed, so it
 *					never fails
 *	TP_PRI_USER_MIN..USER_MAX	SCHED_OTHER, nice 19 - pri (19 .. -20)
 *	TP_PRI_RT_MIN..RT_MAX		SCHED_FIFO, priority pri - 39 (1 .. 99)
 *
 * A pool's overseer applies the setting to itself when it starts, and its
 * workers inherit it (Linux threads inherit the policy, the real-time
 * priority and the nice value of the thread that creates them), so a
 * setting the process may not use fails threadpool_get() with EPERM before
 * any job runs.  Since overseers are created by the spawner, whether it is
 * permitted does not depend on the thread that asked for the pool.
 *
 * Pinning: a per-CPU pool's threads pin themselves with sched_setaffinity();
 * EINVAL means that the CPU is not usable now (offline, or not in the
 * cpuset), and the pool then runs its jobs unpinned (thread.c).
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tp_impl.h"

static int
sched_set_nice(int nice)
{
	/* PRIO_PROCESS with a thread id sets one thread's nice on Linux. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice) != 0)
		return errno == EACCES ? EPERM : errno;
	return 0;
}

/* Apply pri to the calling thread.  0, EPERM, or another errno value. */
int
sched_apply(tp_pri_t pri)
{
	struct sched_param param = { .sched_priority = 0 };
	int error;

	if (pri >= TP_PRI_RT_MIN) {
		param.sched_priority = pri - TP_PRI_RT_MIN + 1;
		return pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
	}
	/* Time-sharing: leave a real-time policy the spawner may have. */
	error = pthread_setschedparam(pthread_self(), SCHED_OTHER, &param);
	if (error != 0 || pri == TP_PRI_NONE)
		return error;
	return sched_set_nice(TP_PRI_USER_MAX - (pri - TP_PRI_USER_MIN) - 20);
}

/* Pin the calling thread to cpu.  0, or EINVAL when cpu is not usable. */
int
sched_pin(int cpu)
{
	cpu_set_t *set;
	size_t size;
	int error = 0;

	if (tp_test_cpu_unusable_injected(cpu))
		return EINVAL;
	if ((set = CPU_ALLOC((unsigned int)cpu + 1)) == NULL)
		return ENOMEM;
	size = CPU_ALLOC_SIZE((unsigned int)cpu + 1);
	CPU_ZERO_S(size, set);
	CPU_SET_S((unsigned int)cpu, size, set);
	if (sched_setaffinity(0, size, set) != 0)
		error = errno;
	CPU_FREE(set);
	return error;
}

/* Let the calling thread run on every CPU the process may use. */
int
sched_unpin(void)
{
	cpu_set_t set;
	int error;

	if ((error = spawn_cpus(&set, sizeof(set))) != 0) {
		/* Over 1024 CPUs: all of them; the kernel keeps the usable ones. */
		(void)memset(&set, 0xff, sizeof(set));
	}
	return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : errno;
}
