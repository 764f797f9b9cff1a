/*
 * cpu-charge.h -- a job's CPU time at one reading of the running thread's
 * CPU clock at most, for the daemon's pool threads (run.c) and a plugin's
 * worker process (worker.c) alike.
 *
 * The reading is a system call: about 1.3 us on a VM whose system calls
 * trap, a fifth of a pipelined null job's whole cost in the daemon.  So a
 * job that ran CPU_CHARGE_SHORT_NS or longer reads the clock once, at its
 * end: its time is the difference from the thread's previous reading, less
 * what the shorter jobs between the two were charged, capped at its run
 * time (which a thread's CPU time cannot exceed).  It includes the
 * thread's few microseconds of taking the job.  A shorter job is charged
 * its run time: at most CPU_CHARGE_SHORT_NS more than it used, when its
 * thread was preempted while it ran.  A thread's first job, and one after
 * cpu_charge_forget(), read the clock at their start as well.
 *
 * One struct cpu_charge per thread, only that thread's.
 */
#ifndef TPD_CPU_CHARGE_H
#define	TPD_CPU_CHARGE_H

#include <stdint.h>
#include <time.h>

#define	CPU_CHARGE_SHORT_NS	50000u

struct cpu_charge {
	uint64_t	cc_last;	/* the last reading; 0: none */
	uint64_t	cc_charged;	/* to short jobs since */
};

/* The calling thread's CPU clock, ns; 0 when it cannot be read. */
static inline uint64_t
cpu_charge_clock(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Before a job runs: read the clock if there is no reading to go from. */
static inline void
cpu_charge_start(struct cpu_charge *cc)
{
	if (cc->cc_last == 0) {
		cc->cc_last = cpu_charge_clock();
		cc->cc_charged = 0;
	}
}

/* A job ran for ran_ns (wall clock): its CPU time, 0 when unknown. */
static inline uint64_t
cpu_charge_end(struct cpu_charge *cc, uint64_t ran_ns)
{
	uint64_t now, used;

	if (cc->cc_last != 0 && ran_ns < CPU_CHARGE_SHORT_NS) {
		cc->cc_charged += ran_ns;
		return ran_ns;
	}
	now = cpu_charge_clock();
	used = 0;
	if (now != 0 && cc->cc_last != 0 && now > cc->cc_last + cc->cc_charged)
		used = now - cc->cc_last - cc->cc_charged;
	cc->cc_last = now;
	cc->cc_charged = 0;
	return used < ran_ns ? used : ran_ns;
}

/* The thread's CPU time went elsewhere (another process ran the job): the
 * next job starts from a reading of its own. */
static inline void
cpu_charge_forget(struct cpu_charge *cc)
{
	cc->cc_last = 0;
}

#endif /* TPD_CPU_CHARGE_H */
