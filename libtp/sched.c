/*
 * sched.c -- libtp priorities mapped to Linux scheduling.
 *
 *	TP_PRI_NONE			SCHED_OTHER, the process's nice value
 *					when the pool was made
 *	TP_PRI_USER_MIN..USER_MAX	SCHED_OTHER, nice 19 - pri (19 .. -20)
 *	TP_PRI_RT_MIN..RT_MAX		SCHED_FIFO, priority pri - 39 (1 .. 99)
 *
 * A pool's overseer applies the setting to itself when it starts, and its
 * workers inherit it (Linux threads inherit the policy, the real-time
 * priority and the nice value of the thread that creates them), so a
 * setting the process may not use fails threadpool_get() with EPERM before
 * any job runs.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tp_impl.h"

/* The process's nice value (its main thread's), read at pool creation. */
int
sched_process_nice(void)
{
	int nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)getpid());
	return errno == 0 ? nice : 0;
}

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
sched_apply(tp_pri_t pri, int none_nice)
{
	struct sched_param param = { .sched_priority = 0 };
	int error;

	if (pri >= TP_PRI_RT_MIN) {
		param.sched_priority = pri - TP_PRI_RT_MIN + 1;
		return pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
	}
	/* Time-sharing: leave any real-time policy inherited from the creator. */
	error = pthread_setschedparam(pthread_self(), SCHED_OTHER, &param);
	if (error != 0)
		return error;
	if (pri == TP_PRI_NONE)
		return sched_set_nice(none_nice);
	return sched_set_nice(TP_PRI_USER_MAX - (pri - TP_PRI_USER_MIN) - 20);
}
