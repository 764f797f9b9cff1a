/*
 * jobs.h -- the job table: each job's one life, as the loop records it
 * (jobs.c), and the worker side that runs it (run.c).  Layer: the job
 * table; calls pools and plugins, libtp, options and the log, and tells
 * the layer above what happened through the hooks handed to
 * tpd_jobs_init(), never by name.
 *
 * Every function here is for the loop thread.  A job is a handle: its
 * insides are jobs.c's and run.c's (job_impl.h).  Its state changes on the
 * loop thread only: a worker posts what happened (started, progress,
 * finished) and the loop, taking the post, records it and calls the hook.
 */
#ifndef TPD_JOBS_H
#define TPD_JOBS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <threadpool.h>

#include "tpool.pb-c.h"

struct event_base;
struct tpd_job;
struct tpd_plugin;

/*
 * What the job table tells the layer above (connections and requests).
 * Each hook is called on the loop thread, from inside the job table: it
 * may send messages and look at jobs, but not free the job it is given.
 */
struct tpd_job_hooks {
	/* Bytes kept in each job for the layer above (tpd_job_ext()). */
	size_t	jh_ext_size;
	/* The job's plugin began (queue_ns: its wait; cpu: where). */
	void	(*jh_started)(struct tpd_job *job, uint64_t queue_ns,
		    int cpu);
	/* The latest progress report (message may be NULL). */
	void	(*jh_progress)(struct tpd_job *job, unsigned int percent,
		    const char *message);
	/*
	 * The job has its final state, once per job: info (borrowed, valid
	 * during the call) is the final JobInfo, result included.
	 */
	void	(*jh_finished)(struct tpd_job *job,
		    const Tpool__JobInfo *info);
	/* The last job in flight ended (the shutdown waits for this). */
	void	(*jh_idle)(void);
	/*
	 * For the job store: the job's state changed (it started, or it
	 * is final: after jh_finished); a finished job was forgotten (its
	 * id: the job is gone).  NULL: none.  Not called for the jobs
	 * freed at exit.
	 */
	void	(*jh_changed)(struct tpd_job *job);
	void	(*jh_forgotten)(uint64_t id);
};

/*
 * Set up the table and the completion queue on base; hooks is borrowed
 * until tpd_jobs_free_all().  Accepting jobs again (after a stop).  0 or
 * an errno (logged).
 */
int	tpd_jobs_init(struct event_base *base,
	    const struct tpd_job_hooks *hooks);

/* What a submit asks for; the caller has the plugin and the pool. */
struct tpd_job_spec {
	uid_t			js_uid;		/* the owner */
	struct tpd_plugin	*js_plugin;	/* a reference is taken */
	const uint8_t		*js_input;	/* copied */
	size_t			js_input_len;
	const char		*js_name;	/* copied */
	Tpool__PoolKind		js_pool_kind;
	int			js_pri;
	int			js_cpu;		/* per-CPU: its CPU; else -1 */
	struct threadpool	*js_pool;
	uint64_t		js_deadline_ns;	/* must start by (tpd_now_ns());
						 *    0: no deadline */
	uint64_t		js_timeout_ns;	/* may run that long; 0: none */
	uint64_t		js_not_before_ns; /* queued only then
						 *    (tpd_now_ns(); SCHEDULED
						 *    until): 0: at once */
	const char		*js_unique_key;	/* copied; NULL: none */
	unsigned int		js_retries;	/* runs after the first, on
						 *    failure */
	uint64_t		js_backoff_ns;	/* before the first retry */
	uint64_t		js_submit_ns;	/* when submitted (tpd_now_ns(),
						 *    the time the deadline and
						 *    delay count from);
						 *    0: now */
};

/*
 * May uid submit a job now?  0; ESHUTDOWN (the daemon is stopping);
 * EAGAIN (--max-jobs in flight); EDQUOT (--max-jobs-per-client of uid).
 */
int	tpd_jobs_admit(uid_t uid);
/*
 * Create a job from spec and enter it in the table (not yet scheduled:
 * tpd_job_schedule()).  Its extension area (jh_ext_size bytes) is zeroed.
 * 0, ENOMEM, or EDQUOT / ENOSPC when the memory it takes would pass the
 * user's share / the daemon's budget (budget.h).  The job is the table's;
 * *ret_job is valid until the job is forgotten (never during a hook call
 * about it).
 */
int	tpd_job_create(const struct tpd_job_spec *spec,
	    struct tpd_job **ret_job);
/*
 * Hand a created (or restored queued) job to its pool; nothing when it
 * is no longer waiting for that (cancelled meanwhile, or kept queued by
 * a stop: tpd_job_awaits_schedule()).
 */
void	tpd_job_schedule(struct tpd_job *job);
bool	tpd_job_awaits_schedule(const struct tpd_job *job);
/*
 * Forget a created job that was never scheduled, without a final state
 * and without telling anyone (the store could not record it, so it was
 * never accepted).  A job that became final meanwhile is left as it is.
 */
void	tpd_job_discard(struct tpd_job *job);

/*
 * A job as the job store records it (store.c); strings and bytes are
 * borrowed from the job.  Times are tpd_now_ns()'s (0: not yet).
 */
struct tpd_job_record {
	uint64_t		jr_id;
	uid_t			jr_uid;
	const char		*jr_plugin;
	const char		*jr_name;
	const uint8_t		*jr_input;
	size_t			jr_input_len;
	Tpool__PoolKind		jr_pool_kind;
	int			jr_pri;
	int			jr_cpu;
	uint64_t		jr_timeout_ns;	/* 0: none */
	uint64_t		jr_deadline_ns;	/* 0: none */
	uint64_t		jr_not_before_ns; /* 0: none */
	const char		*jr_unique_key;	/* NULL: none */
	unsigned int		jr_attempt;	/* 1, 2... */
	unsigned int		jr_retries;
	uint64_t		jr_backoff_ns;
	uint64_t		jr_submit_ns;
	Tpool__JobState		jr_state;
	uint64_t		jr_start_ns;	/* 0: never ran */
	uint64_t		jr_end_ns;	/* final: when it ended */
	uint64_t		jr_cpu_ns;
	int			jr_ran_on_cpu;	/* -1: never ran */
	const uint8_t		*jr_result;	/* SUCCEEDED: may be NULL */
	size_t			jr_result_len;
	const char		*jr_message;	/* NULL: none */
};
void	tpd_job_record(struct tpd_job *job, struct tpd_job_record *rec);

/*
 * Enter a job of an earlier run, as its record says, with its id (the
 * store, at start): a queued or scheduled one (jr_state QUEUED or
 * SCHEDULED, spec's plugin and pool set) is in flight and waits for
 * tpd_job_schedule(); a final one is a finished job kept for status
 * (spec's plugin and pool unused), its result kept within its user's share
 * as any result (else it ends failed saying so).  Not counted as
 * accepted.  0, ENOMEM, or EDQUOT / ENOSPC (the memory budget has no room
 * for it).
 */
int	tpd_job_restore(const struct tpd_job_spec *spec,
	    const struct tpd_job_record *rec, struct tpd_job **ret_job);

/*
 * At a stop (tpd_jobs_stop_all()), keep queued jobs rather than cancel
 * them: they leave flight without a final state (the store keeps them
 * queued for the next start), and running jobs asked to stop end
 * INTERRUPTED.  Set by the store when it is open.
 */
void	tpd_jobs_keep_queued(bool on);

/*
 * uid's job in flight (scheduled, queued or running) created with unique
 * key key, NULL when none.
 */
struct tpd_job *tpd_job_find_unique(uid_t uid, const char *key);

/* The job of that id, NULL when none (never was, or forgotten). */
struct tpd_job *tpd_job_lookup(uint64_t id);
uint64_t tpd_job_id(const struct tpd_job *job);
/* Which run of the job this is (1, then 2... when it is retried). */
unsigned int tpd_job_attempt(const struct tpd_job *job);
/* The wait before the retry that follows attempt: base_ns doubled for
 * each attempt after the first, at most an hour. */
uint64_t tpd_job_backoff_ns(uint64_t base_ns, unsigned int attempt);
uid_t	tpd_job_uid(const struct tpd_job *job);
/* Has the job its final state (the loop has recorded its end)? */
bool	tpd_job_is_final(const struct tpd_job *job);
/* The layer above's bytes in the job (jh_ext_size of them). */
void	*tpd_job_ext(struct tpd_job *job);

/*
 * Fill info from job as the loop knows it (strings and bytes borrowed
 * from the job: valid until the job is forgotten).  The result is
 * included when with_result.
 */
void	tpd_job_info(struct tpd_job *job, Tpool__JobInfo *info,
	    bool with_result);

/*
 * Cancel: BEFORE_RUN (it was queued; it now has its final state,
 * cancelled, with the message why, and jh_finished was called),
 * TOO_LATE (a worker has it: the plugin is told), or ALREADY_FINISHED.
 */
Tpool__CancelResult tpd_job_cancel(struct tpd_job *job, const char *why);

/*
 * Visit uid's known jobs (in flight and finished ones still kept), newest
 * first, from the newest with an id below before_id (0: from the newest
 * of all), while fn returns true.  Ids grow with each job, so this is id
 * order.
 */
void	tpd_jobs_foreach_of_uid(uid_t uid, uint64_t before_id,
	    bool (*fn)(struct tpd_job *, void *), void *arg);
/* The same for every user's jobs. */
void	tpd_jobs_foreach(uint64_t before_id,
	    bool (*fn)(struct tpd_job *, void *), void *arg);

/* Jobs in flight (queued or running): all, or of one uid. */
unsigned int tpd_jobs_inflight(void);
unsigned int tpd_jobs_inflight_of(uid_t uid);

/* Jobs accepted and ended since the set-up. */
struct tpd_job_counts {
	uint64_t	jc_accepted;
	uint64_t	jc_succeeded;
	uint64_t	jc_failed;
	uint64_t	jc_cancelled;
	uint64_t	jc_expired;
	uint64_t	jc_timed_out;
	uint64_t	jc_interrupted;
};
void	tpd_jobs_counts(struct tpd_job_counts *counts);

/*
 * Take in what the workers posted since the last time (their jobs'
 * starts, progress and ends), calling the hooks, without waiting, when a
 * job has ended since: starts and progress alone wait for the loop's
 * wakeups (run.c).  Cheap when no job has ended: the loop calls it before
 * it writes, so that a job that ends at once leaves with its reply.
 */
void	tpd_jobs_poll(void);

/*
 * Shutdown: accept no new job, cancel every queued one (each finalized
 * cancelled), then ask running ones to stop.
 */
void	tpd_jobs_stop_all(void);
/* Shutdown grace over: report every job still running as failed. */
void	tpd_jobs_abandon_running(void);
/*
 * Exit: free every job, and the completion queue unless a job was
 * abandoned (its thread still posts to it).  May sleep (waits for libtp's
 * last reference to each job).
 */
void	tpd_jobs_free_all(void);
/* The name of the job's plugin (borrowed: as long as the job lives). */
const char *tpd_job_plugin_name(const struct tpd_job *job);
/* Were jobs abandoned (so pools and plugins must not be freed)? */
bool	tpd_jobs_any_abandoned(void);

#endif /* TPD_JOBS_H */
