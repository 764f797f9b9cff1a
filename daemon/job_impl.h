/*
 * job_impl.h -- the insides of a job, shared by the two files that run its
 * life: jobs.c (the loop's side: the table, the state, the end) and run.c
 * (the worker's side, and the completion queue that carries what the
 * worker saw back to the loop).  Nothing else includes this.
 *
 * Locks and who writes what (the first letter of each field's comment):
 *	c  constant once the job is created (before any thread sees it)
 *	l  the loop thread only: the job's state is here, and only the loop
 *	   writes it
 *	w  written once by the worker before it posts the note that tells of
 *	   it (start: TPD_NOTE_STARTED; outcome: TPD_NOTE_FINISHED), read by
 *	   the loop only after it took that note (the completion queue's
 *	   release/acquire orders them); or written by the loop itself when
 *	   it takes a queued job off its pool (it never runs then)
 *	j  the job's lock (j_lock): progress, which the worker may rewrite
 *	   while the loop reads it; and libtp's part, as libtp requires
 *	q  the completion queue: written by the poster before it publishes
 *	   the job, read by the loop after it takes the queue
 *	a  atomic
 */
#ifndef TPD_JOB_IMPL_H
#define TPD_JOB_IMPL_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>

#include <tpool/plugin.h>

#include "jobs.h"

#ifndef TAILQ_FOREACH_SAFE
#define	TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/* What the completion queue tells the loop about a job (bits). */
#define	TPD_NOTE_STARTED	0x1u
#define	TPD_NOTE_PROGRESS	0x2u
#define	TPD_NOTE_FINISHED	0x4u

struct tpd_user;
struct fq_user;

/* Where fairq.c has a job. */
enum tpd_fq_state {
	TPD_FQ_NONE,		/* not there: never queued, or ended */
	TPD_FQ_WAITING,		/* on its user's queue, libtp has not got it */
	TPD_FQ_HANDED		/* libtp has it (queued or running) */
};

/*
 * A job: one heap object holding libtp's job, its lock, the layer above's
 * extension area, and the input, the name and the plugin's name.
 */
struct tpd_job {
	struct threadpool_job	j_tpjob;	/* j: libtp's part */
	pthread_mutex_t		j_lock;		/* the job lock */

	/*
	 * What the worker writes (and the completion queue's link), on the
	 * lines after the job lock, which it takes too: the loop, reading
	 * them after the note, fetches few cache lines from the worker's
	 * CPU.
	 */
	struct tpd_job		*j_cqnext;	/* q: next on the queue */
	atomic_uint		j_cqbits;	/* a: TPD_NOTE_* not yet
						 *    taken; not 0 while on
						 *    the completion queue */
	atomic_bool		j_cancel;	/* a: cancel requested */
	bool			j_permanent;	/* w: FINISHED: the plugin
						 *    said no retry */
	int			j_ran_on_cpu;	/* w: STARTED; -1: never ran */
	Tpool__JobState		j_outcome;	/* w: FINISHED: how it ended */
	uint64_t		j_start_ns;	/* w: STARTED; 0: never ran */
	uint64_t		j_end_ns;	/* w: FINISHED */
	uint64_t		j_cpu_ns;	/* w: FINISHED */
	uint8_t			*j_result;	/* w: FINISHED; owned */
	size_t			j_result_len;	/* w: FINISHED */
	char			*j_message;	/* w: FINISHED; owned */

	/* What the worker reads, next to each other. */
	uint64_t		j_id;		/* c */
	struct tpd_plugin	*j_plugin;	/* l: held until final, then
						 *    NULL (its worker reads
						 *    it before it posts the
						 *    end) */
	const uint8_t		*j_input;	/* c: in this allocation */
	size_t			j_input_len;	/* c */
	char			*j_name;	/* c: in this allocation */
	unsigned int		j_attempt;	/* l: 1, 2...; set before the
						 *    job is handed to libtp,
						 *    which its worker reads
						 *    after (libtp's lock) */
	uint64_t		j_submit_ns;	/* c */
	uint64_t		j_deadline_ns;	/* c: start by it; 0: none */
	uint64_t		j_timeout_ns;	/* c: may run that long;
						 *    0: none */
	atomic_bool		j_timed_out;	/* a: its time is up (the worker
						 *    reports TIMED_OUT) */
	atomic_bool		j_kill;		/* a: grace over: isolation
						 *    process ends its worker */

	uid_t			j_uid;		/* c: owner */
	const char		*j_plugin_name;	/* c: in this allocation */
	struct threadpool	*j_pool;	/* c: where it was scheduled */
	Tpool__PoolKind		j_pool_kind;	/* c */
	int			j_pri;		/* c */
	int			j_cpu;		/* c: the per-CPU pool's, -1 */
	struct event		*j_deadline_ev;	/* l: fires at it while
						 *    queued */
	uint64_t		j_not_before_ns; /* l: queued then (a delay, a
						 *    retry's backoff); 0: at
						 *    once */
	struct event		*j_delay_ev;	/* l: fires then (SCHEDULED) */
	struct event		*j_timeout_ev;	/* l: time up, then grace
						 *    over */
	bool			j_time_up;	/* l: the timer fired once */
	bool			j_written_off;	/* l: timed out, reported, its
						 *    thread still runs it */
	char			*j_loop_msg;	/* l: owned: a written-off job's
						 *    message */
	char			*j_unique_key;	/* c: in this allocation; NULL:
						 *    none */
	LIST_ENTRY(tpd_job)	j_keyent;	/* l: on jobs_keys while in
						 *    flight (j_keyed) */
	bool			j_keyed;	/* l: on jobs_keys */
	unsigned int		j_retries;	/* c: runs after the first */
	uint64_t		j_backoff_ns;	/* c: before the first retry */
	char			*j_retry_msg;	/* l: owned: how the last
						 *    attempt ended, while it
						 *    waits for the next */
	void			*j_ext;		/* c: the layer above's bytes */

	Tpool__JobState		j_state;	/* l: the job's state */
	uint64_t		j_final_ns;	/* l: when it became final (the
						 *    loop took in its end):
						 *    --finished-ttl counts
						 *    from it */
	bool			j_abandoned;	/* l: still running at exit */
	bool			j_pending;	/* l: in flight, not yet given
						 *    to tpd_job_schedule() (a
						 *    submit the store has yet
						 *    to record, a job restored
						 *    from it) */
	bool			j_shelved;	/* l: queued at a stop that
						 *    keeps queued jobs: out of
						 *    flight, on jobs_shelved,
						 *    its store row queued */
	bool			j_interrupted;	/* l: running at such a stop:
						 *    asked to stop, it ends
						 *    INTERRUPTED */
	bool			j_scheduled;	/* l: handed to libtp */
	bool			j_started;	/* l: its STARTED was taken */

	atomic_uint		j_progress;	/* j, a: percent, written
						 *    under j with the message,
						 *    read alone without it */
	char			j_progress_msg[TP_PLUGIN_PROGRESS_MSG_MAX];
						/* j */

	size_t			j_budget;	/* l: bytes charged to its uid
						 *    (budget.h) */
	enum tpd_fq_state	j_fq;		/* l: fairq.c's */
	struct fq_user		*j_fquser;	/* l: fairq.c's: its user
						 *    there */
	TAILQ_ENTRY(tpd_job)	j_fqent;	/* l: fairq.c's: on a user's
						 *    queue or libtp's list */

	LIST_ENTRY(tpd_job)	j_hashent;	/* l: job table */
	TAILQ_ENTRY(tpd_job)	j_userent;	/* l: its user's jobs */
	TAILQ_ENTRY(tpd_job)	j_ufinent;	/* l: its user's finished
						 *    jobs (kept ones only) */
	TAILQ_ENTRY(tpd_job)	j_allent;	/* l: every known job */
	TAILQ_ENTRY(tpd_job)	j_listent;	/* l: in-flight, finished or
						 *    abandoned list */
	struct tpd_user		*j_user;	/* l: held */

	/* the extension area, input bytes, the name, the plugin's name */
};

/* ---------------------------------------------------------------- run.c */

/*
 * The completion queue (a lock-free list and an eventfd).  deliver is
 * called on the loop thread for each job with notes, oldest first, with
 * the notes taken (bits) and when the loop took them in (now,
 * tpd_now_ns(), read once for a batch); batch(true) before a batch's
 * first, batch(false) after its last.  0 or an errno (logged).
 */
int	tpd_cq_init(struct event_base *base,
	    void (*deliver)(struct tpd_job *job, unsigned int bits,
	    uint64_t now), void (*batch)(bool start));
void	tpd_cq_destroy(void);
/*
 * Deliver what was posted now, when a job has ended since the last
 * delivery (its wakeup is pending): before the loop writes.  Starts and
 * progress alone wait, as they do for the loop's wakeups.  One atomic load
 * when no job has ended.
 */
void	tpd_cq_poll(void);
/*
 * Jobs are in flight: run the lazy timer (every TPD_CQ_LAZY_MS), which
 * delivers starts and progress, which do not wake the loop (or stop it).
 */
void	tpd_cq_lazy_timer(bool on);
#define	TPD_CQ_LAZY_MS		5

/* The libtp job function: runs the plugin on a worker thread. */
void	tpd_job_run(struct threadpool_job *tpjob);

#endif /* TPD_JOB_IMPL_H */
