/*
 * jobs.c -- the job table and each job's life as the loop records it.
 *
 *	submit ──create──▶ QUEUED ──schedule──▶ (its user's turn: fairq.c;
 *	                      │                  libtp queue, worker: run.c)
 *	                      │                          │ notes through the
 *	                      │ cancel before it ran     │ completion queue
 *	                      │                          ▼
 *	                      │                 STARTED: the loop records
 *	                      │                 RUNNING (jh_started)
 *	                      │                          │ PROGRESS: jh_progress
 *	                      ▼                          ▼ FINISHED
 *	                  final: the loop records the outcome (jh_finished)
 *	                      │ kept --finished-keep jobs of its user /
 *	                      │ --finished-ttl
 *	                      ▼
 *	                 forgotten: destroyed and freed
 *
 * One writer: the job's state (j_state) is written here, on the loop
 * thread, and nowhere else.  The worker writes only what it saw (when it
 * began, how it ended, the result) and posts a note; the loop takes the
 * note (job_notes()), records the state, and calls the hook that tells
 * the layer above (which sends the events).  Readers read j_state as it
 * is: a job is shown running from the moment the loop takes its start,
 * and final from the moment it takes its end, never otherwise.
 *
 * Every accepted job is finalized exactly once, by the loop: when its
 * worker's end arrives, when a cancel takes it off its queue (libtp's, or
 * its user's in fairq.c), or, at exit,
 * when it was still running after the shutdown grace period (abandoned:
 * reported failed, never freed).  The jobs in flight are the in-flight
 * list; its length and each user's share are counted here only
 * (job_enter(), job_leave()).
 *
 * Ownership: the loop owns every job object (and its input, name, result
 * and message); libtp borrows the embedded struct threadpool_job while it
 * is scheduled; a worker borrows the job while it runs it.  A job holds a
 * reference to its plugin until it is final (so the plugin is not
 * unloaded under it; it keeps a copy of the plugin's name for status) and
 * to its user record (the per-uid count and list) until it is freed.
 *
 * Ids are never reused, across restarts too (jobid.c): a run's first id
 * is above every earlier run's, and each job takes the next.  The table
 * is a hash of job ids (consecutive within a run, so id & mask spreads
 * them perfectly), doubled when it gets full.
 *
 * (Over 800 lines: every step of a job's life drawn above -- create,
 * schedule, retry, time out, cancel, finalize, reap -- moves it between
 * the table's lists and its user's record, which no other file may see;
 * split, the parts would share them through a header.)
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "budget.h"
#include "fairq.h"
#include "job_impl.h"
#include "jobid.h"
#include "log.h"
#include "names.h"
#include "options.h"
#include "plugin.h"
#include "pools.h"

#define	JOBS_HASH_MIN		1024u
#define	JOBS_REAP_PERIOD_MS	1000
#define	JOBS_EXT_ALIGN		16u

LIST_HEAD(job_bucket, tpd_job);
TAILQ_HEAD(job_list, tpd_job);

/* A peer uid's record: its jobs and its count in flight.  All fields l. */
struct tpd_user {
	LIST_ENTRY(tpd_user)	u_entry;
	uid_t			u_uid;
	unsigned int		u_inflight;	/* its jobs on jobs_inflight */
	struct job_list		u_jobs;		/* all its known jobs, oldest
						 *    first; the record goes
						 *    with the last */
	struct job_list		u_finished;	/* its jobs on jobs_finished,
						 *    oldest first */
	size_t			u_nfinished;	/* their number */
};

/* Everything here is the loop's (l). */
static struct job_bucket *jobs_hash;
static size_t jobs_hash_mask;			/* buckets - 1 */
static size_t jobs_count;			/* jobs in the table */
static uint64_t jobs_next_id;			/* tpd_jobid_open()'s, then
						 *    up */
static struct job_list jobs_all = TAILQ_HEAD_INITIALIZER(jobs_all);
						/* every job in the table,
						 *    oldest first */
static struct job_list jobs_inflight = TAILQ_HEAD_INITIALIZER(jobs_inflight);
static unsigned int jobs_ninflight;		/* its length */
static uint64_t jobs_entered;			/* that entered flight */
static struct job_list jobs_finished = TAILQ_HEAD_INITIALIZER(jobs_finished);
						/* oldest first; each also on
						 *    its user's u_finished */
static bool jobs_over_keep;			/* a user has more than
						 *    --finished-keep */
static struct event_base *jobs_base;		/* l: the loop's */
static struct job_list jobs_abandoned = TAILQ_HEAD_INITIALIZER(jobs_abandoned);
/* Timed out and reported, their threads still running them. */
static struct job_list jobs_written_off =
    TAILQ_HEAD_INITIALIZER(jobs_written_off);
static struct event *jobs_reap_ev;		/* every JOBS_REAP_PERIOD_MS */
static struct event *jobs_keep_ev;		/* at the end of an iteration
						 *    that went over keep */
static uint64_t jobs_freed_since_trim;		/* since malloc_trim */
static LIST_HEAD(, tpd_user) jobs_users = LIST_HEAD_INITIALIZER(jobs_users);
static struct tpd_job_counts jobs_counts;	/* but in flight: derived */
static const struct tpd_job_hooks *jobs_hooks;
static size_t jobs_ext_size;			/* rounded up */
static bool jobs_stopping;			/* no new job */
static bool jobs_keep;				/* tpd_jobs_keep_queued() */
static bool jobs_exiting;			/* tpd_jobs_free_all() */
/* Kept queued by a stop (j_shelved): freed at exit. */
static struct job_list jobs_shelved = TAILQ_HEAD_INITIALIZER(jobs_shelved);
/* Jobs in flight with a unique key, hashed by uid and key (j_keyent). */
static struct job_bucket *jobs_keys;
static size_t jobs_keys_mask;			/* buckets - 1 */
static size_t jobs_nkeys;

static const char jobs_abandoned_msg[] =
    "still running when the daemon stopped (shutdown grace period over)";

static void jobs_reap_cb(evutil_socket_t, short, void *);
static void jobs_keep_cb(evutil_socket_t, short, void *);
static void finished_add(struct tpd_job *);
static void finished_forget(struct tpd_job *);
static bool jobs_reclaim(uid_t);
static void job_notes(struct tpd_job *, unsigned int, uint64_t);
static void job_notes_batch(bool);

/* ---------------------------------------------------------------- users */

static struct tpd_user *
user_find(uid_t uid)
{
	struct tpd_user *user;

	LIST_FOREACH(user, &jobs_users, u_entry)
		if (user->u_uid == uid)
			return user;
	return NULL;
}

/* The record of uid, made on its first job; NULL: no memory. */
static struct tpd_user *
user_get(uid_t uid)
{
	struct tpd_user *user;

	if ((user = user_find(uid)) != NULL)
		return user;
	if ((user = calloc(1, sizeof(*user))) == NULL)
		return NULL;
	user->u_uid = uid;
	TAILQ_INIT(&user->u_jobs);
	TAILQ_INIT(&user->u_finished);
	LIST_INSERT_HEAD(&jobs_users, user, u_entry);
	return user;
}

/* ---------------------------------------------------------------- table */

int
tpd_jobs_init(struct event_base *base, const struct tpd_job_hooks *hooks)
{
	struct timeval tv = { JOBS_REAP_PERIOD_MS / 1000,
	    (JOBS_REAP_PERIOD_MS % 1000) * 1000 };
	size_t i;
	int error;

	/* A new daemon life (in-process tests set up more than one). */
	if ((error = tpd_jobid_open(&jobs_next_id)) != 0)
		return error;
	jobs_stopping = false;
	jobs_keep = false;
	memset(&jobs_counts, 0, sizeof(jobs_counts));
	jobs_hooks = hooks;
	jobs_base = base;
	tpd_budget_set_reclaim(jobs_reclaim);
	jobs_ext_size = (hooks->jh_ext_size + JOBS_EXT_ALIGN - 1) &
	    ~(size_t)(JOBS_EXT_ALIGN - 1);
	if ((jobs_hash = malloc(JOBS_HASH_MIN * sizeof(*jobs_hash))) == NULL)
		return ENOMEM;
	for (i = 0; i < JOBS_HASH_MIN; i++)
		LIST_INIT(&jobs_hash[i]);
	jobs_hash_mask = JOBS_HASH_MIN - 1;
	jobs_reap_ev = event_new(base, -1, EV_PERSIST, jobs_reap_cb, NULL);
	jobs_keep_ev = event_new(base, -1, 0, jobs_keep_cb, NULL);
	if (jobs_reap_ev == NULL || jobs_keep_ev == NULL ||
	    event_add(jobs_reap_ev, &tv) != 0)
		return ENOMEM;
	if ((error = tpd_cq_init(base, job_notes, job_notes_batch)) != 0)
		return error;
	return 0;
}

/* Double the buckets; on no memory keep the longer chains. */
static void
jobs_hash_grow(void)
{
	struct job_bucket *nh;
	struct tpd_job *job;
	size_t i, n = (jobs_hash_mask + 1) * 2;

	if ((nh = malloc(n * sizeof(*nh))) == NULL)
		return;
	for (i = 0; i < n; i++)
		LIST_INIT(&nh[i]);
	for (i = 0; i <= jobs_hash_mask; i++) {
		while ((job = LIST_FIRST(&jobs_hash[i])) != NULL) {
			LIST_REMOVE(job, j_hashent);
			LIST_INSERT_HEAD(&nh[job->j_id & (n - 1)], job,
			    j_hashent);
		}
	}
	free(jobs_hash);
	jobs_hash = nh;
	jobs_hash_mask = n - 1;
}

struct tpd_job *
tpd_job_lookup(uint64_t id)
{
	struct tpd_job *job;

	if (jobs_hash == NULL)
		return NULL;
	LIST_FOREACH(job, &jobs_hash[id & jobs_hash_mask], j_hashent)
		if (job->j_id == id)
			return job;
	return NULL;
}

uint64_t
tpd_job_id(const struct tpd_job *job)
{
	return job->j_id;
}

unsigned int
tpd_job_attempt(const struct tpd_job *job)
{
	return job->j_attempt;
}

uid_t
tpd_job_uid(const struct tpd_job *job)
{
	return job->j_uid;
}

bool
tpd_job_is_final(const struct tpd_job *job)
{
	return tp_state_is_final(job->j_state);
}

void *
tpd_job_ext(struct tpd_job *job)
{
	return job->j_ext;
}

unsigned int
tpd_jobs_inflight(void)
{
	return jobs_ninflight;
}

unsigned int
tpd_jobs_inflight_of(uid_t uid)
{
	struct tpd_user *user = user_find(uid);

	return user != NULL ? user->u_inflight : 0;
}

void
tpd_jobs_counts(struct tpd_job_counts *counts)
{
	*counts = jobs_counts;
}

int
tpd_jobs_admit(uid_t uid)
{
	if (jobs_stopping)
		return ESHUTDOWN;
	if (jobs_ninflight >= tpd_opt.o_max_jobs)
		return EAGAIN;
	if (tpd_jobs_inflight_of(uid) >= tpd_opt.o_max_jobs_per_client)
		return EDQUOT;
	return 0;
}

static void key_enter(struct tpd_job *);
static void key_leave(struct tpd_job *);

/* The only two places that change what is in flight. */
static void
job_enter(struct tpd_job *job)
{
	tpd_pool_use(job->j_pool_kind, job->j_pri, true);
	key_enter(job);
	TAILQ_INSERT_TAIL(&jobs_inflight, job, j_listent);
	job->j_user->u_inflight++;
	jobs_entered++;
	if (jobs_ninflight++ == 0)
		tpd_cq_lazy_timer(true);
}

static void
job_leave(struct tpd_job *job)
{
	/* A written-off job's thread still runs in its pool: kept till then. */
	if (!job->j_written_off)
		tpd_pool_use(job->j_pool_kind, job->j_pri, false);
	key_leave(job);
	TAILQ_REMOVE(&jobs_inflight, job, j_listent);
	job->j_user->u_inflight--;
	if (--jobs_ninflight == 0)
		tpd_cq_lazy_timer(false);
}

/*
 * Charge and allocate a job of spec, its plugin named pname, with every
 * field set but its id, its plugin reference and its place in the table
 * (job_insert()).  0, ENOMEM, EDQUOT, ENOSPC.
 */
static int
job_make(const struct tpd_job_spec *spec, const char *pname,
    struct tpd_job **ret_job)
{
	struct tpd_job *job;
	struct tpd_user *user;
	size_t namelen = strlen(spec->js_name), pnamelen = strlen(pname);
	size_t keylen = spec->js_unique_key != NULL ?
	    strlen(spec->js_unique_key) + 1 : 0;
	size_t size = sizeof(*job) + jobs_ext_size + spec->js_input_len +
	    namelen + 1 + pnamelen + 1 + keylen;
	uint8_t *p;
	int error;

	/* First the charge: it may forget finished jobs, and with the last
	 * one the user's record. */
	switch (tpd_budget_charge(spec->js_uid, size)) {
	case TPD_BUDGET_OK:
		break;
	case TPD_BUDGET_USER:
		return EDQUOT;
	default:
		return ENOSPC;
	}
	if ((user = user_get(spec->js_uid)) == NULL) {
		tpd_budget_release(spec->js_uid, size);
		return ENOMEM;
	}
	if ((job = malloc(size)) == NULL) {
		tpd_budget_release(spec->js_uid, size);
		goto nomem;
	}
	if ((error = pthread_mutex_init(&job->j_lock, NULL)) != 0) {
		free(job);
		tpd_budget_release(spec->js_uid, size);
		goto nomem;
	}
	job->j_budget = size;
	p = (uint8_t *)(job + 1);
	job->j_ext = p;
	memset(p, 0, jobs_ext_size);
	p += jobs_ext_size;
	job->j_input = p;
	job->j_input_len = spec->js_input_len;
	if (spec->js_input_len > 0)
		memcpy(p, spec->js_input, spec->js_input_len);
	p += spec->js_input_len;
	job->j_name = (char *)p;
	memcpy(job->j_name, spec->js_name, namelen + 1);
	p += namelen + 1;
	memcpy(p, pname, pnamelen + 1);
	job->j_plugin_name = (const char *)p;
	p += pnamelen + 1;
	job->j_unique_key = NULL;
	if (keylen > 0) {
		memcpy(p, spec->js_unique_key, keylen);
		job->j_unique_key = (char *)p;
	}
	job->j_keyed = false;
	job->j_attempt = 1;
	job->j_retries = spec->js_retries;
	job->j_backoff_ns = spec->js_backoff_ns;
	job->j_permanent = false;
	job->j_retry_msg = NULL;

	job->j_id = 0;
	job->j_uid = spec->js_uid;
	job->j_plugin = spec->js_plugin;
	job->j_pool = spec->js_pool;
	job->j_pool_kind = spec->js_pool_kind;
	job->j_pri = spec->js_pri;
	job->j_cpu = spec->js_cpu;
	job->j_submit_ns = spec->js_submit_ns != 0 ? spec->js_submit_ns :
	    tpd_now_ns();
	job->j_deadline_ns = spec->js_deadline_ns;
	job->j_deadline_ev = NULL;
	job->j_not_before_ns = spec->js_not_before_ns;
	job->j_delay_ev = NULL;
	job->j_timeout_ns = spec->js_timeout_ns;
	job->j_timeout_ev = NULL;
	job->j_time_up = false;
	job->j_written_off = false;
	job->j_loop_msg = NULL;
	atomic_init(&job->j_timed_out, false);
	atomic_init(&job->j_kill, false);
	/* Recorded so from its submit (the store writes it before it is
	 * scheduled). */
	job->j_state = job->j_not_before_ns > job->j_submit_ns ?
	    TPOOL__JOB_STATE__JOB_SCHEDULED : TPOOL__JOB_STATE__JOB_QUEUED;
	job->j_final_ns = 0;
	job->j_abandoned = false;
	job->j_pending = false;
	job->j_shelved = false;
	job->j_interrupted = false;
	job->j_scheduled = false;
	job->j_fq = TPD_FQ_NONE;
	job->j_fquser = NULL;
	job->j_started = false;
	job->j_start_ns = 0;
	job->j_ran_on_cpu = -1;
	job->j_outcome = TPOOL__JOB_STATE__JOB_STATE_UNSPECIFIED;
	job->j_end_ns = job->j_cpu_ns = 0;
	job->j_result = NULL;
	job->j_result_len = 0;
	job->j_message = NULL;
	atomic_init(&job->j_progress, 0);
	job->j_progress_msg[0] = '\0';
	atomic_init(&job->j_cancel, false);
	job->j_cqnext = NULL;
	atomic_init(&job->j_cqbits, 0);
	job->j_user = user;
	threadpool_job_init(&job->j_tpjob, tpd_job_run, &job->j_lock, "%s",
	    spec->js_name);
	*ret_job = job;
	return 0;

nomem:
	if (TAILQ_EMPTY(&user->u_jobs)) {
		LIST_REMOVE(user, u_entry);
		free(user);
	}
	return ENOMEM;
}

/* ----------------------------------------------------------- unique keys */

/* FNV-1a of uid and key. */
static size_t
key_hash(uid_t uid, const char *key)
{
	uint64_t h = 14695981039346656037ull ^ (uint64_t)uid;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

/* Double the key buckets (at first: make them); on no memory keep the
 * longer chains (false only when there are none at all). */
static bool
keys_grow(void)
{
	struct job_bucket *nh;
	struct tpd_job *job;
	size_t i, n = jobs_keys == NULL ? 64 : (jobs_keys_mask + 1) * 2;

	if ((nh = malloc(n * sizeof(*nh))) == NULL)
		return jobs_keys != NULL;
	for (i = 0; i < n; i++)
		LIST_INIT(&nh[i]);
	for (i = 0; jobs_keys != NULL && i <= jobs_keys_mask; i++) {
		while ((job = LIST_FIRST(&jobs_keys[i])) != NULL) {
			LIST_REMOVE(job, j_keyent);
			LIST_INSERT_HEAD(&nh[key_hash(job->j_uid,
			    job->j_unique_key) & (n - 1)], job, j_keyent);
		}
	}
	free(jobs_keys);
	jobs_keys = nh;
	jobs_keys_mask = n - 1;
	return true;
}

/* A job in flight with a key goes on the index (on no memory: not, and
 * its key finds nothing). */
static void
key_enter(struct tpd_job *job)
{
	if (job->j_unique_key == NULL)
		return;
	if ((jobs_keys == NULL || jobs_nkeys >= jobs_keys_mask + 1) &&
	    !keys_grow())
		return;
	LIST_INSERT_HEAD(&jobs_keys[key_hash(job->j_uid, job->j_unique_key) &
	    jobs_keys_mask], job, j_keyent);
	job->j_keyed = true;
	jobs_nkeys++;
}

static void
key_leave(struct tpd_job *job)
{
	if (!job->j_keyed)
		return;
	LIST_REMOVE(job, j_keyent);
	job->j_keyed = false;
	jobs_nkeys--;
}

struct tpd_job *
tpd_job_find_unique(uid_t uid, const char *key)
{
	struct tpd_job *job;

	if (jobs_keys == NULL)
		return NULL;
	LIST_FOREACH(job, &jobs_keys[key_hash(uid, key) & jobs_keys_mask],
	    j_keyent)
		if (job->j_uid == uid && strcmp(job->j_unique_key, key) == 0)
			return job;
	return NULL;
}

/* Enter a made job, its id set, in the table and its user's list. */
static void
job_insert(struct tpd_job *job)
{
	LIST_INSERT_HEAD(&jobs_hash[job->j_id & jobs_hash_mask], job,
	    j_hashent);
	if (++jobs_count > jobs_hash_mask + 1)
		jobs_hash_grow();
	TAILQ_INSERT_TAIL(&job->j_user->u_jobs, job, j_userent);
	TAILQ_INSERT_TAIL(&jobs_all, job, j_allent);
}

int
tpd_job_create(const struct tpd_job_spec *spec, struct tpd_job **ret_job)
{
	struct tpd_job *job;
	int error;

	if ((error = job_make(spec, tpd_plugin_desc(spec->js_plugin)->tpp_name,
	    &job)) != 0)
		return error;
	tpd_jobid_issue(jobs_next_id);
	job->j_id = jobs_next_id++;
	tpd_plugin_hold(spec->js_plugin);
	job_insert(job);
	job_enter(job);
	job->j_pending = true;
	jobs_counts.jc_accepted++;
	*ret_job = job;
	return 0;
}

static void finished_add(struct tpd_job *);
static void job_charge_result(struct tpd_job *);
static void job_free(struct tpd_job *);
static void job_shelve(struct tpd_job *);
static bool job_may_retry(const struct tpd_job *);
static void job_retry(struct tpd_job *);

int
tpd_job_restore(const struct tpd_job_spec *spec,
    const struct tpd_job_record *rec, struct tpd_job **ret_job)
{
	struct tpd_job *job;
	int error;

	if ((error = job_make(spec, rec->jr_plugin, &job)) != 0)
		return error;
	job->j_id = rec->jr_id;
	if (rec->jr_id >= jobs_next_id)
		jobs_next_id = rec->jr_id + 1;	/* the mark says otherwise */
	job->j_submit_ns = rec->jr_submit_ns;
	job->j_attempt = rec->jr_attempt > 0 ? rec->jr_attempt : 1;
	job->j_retries = rec->jr_retries;
	job->j_backoff_ns = rec->jr_backoff_ns;
	job_insert(job);
	if (rec->jr_state == TPOOL__JOB_STATE__JOB_QUEUED ||
	    rec->jr_state == TPOOL__JOB_STATE__JOB_SCHEDULED) {
		/* A retry's: how its last attempt ended. */
		if (rec->jr_message != NULL)
			job->j_retry_msg = strdup(rec->jr_message);
		tpd_plugin_hold(spec->js_plugin);
		job_enter(job);
		job->j_pending = true;
		*ret_job = job;
		return 0;
	}
	/* A final one: as job_finalize() leaves a job, without its plugin. */
	job->j_plugin = NULL;
	job->j_pool = NULL;
	job->j_started = rec->jr_start_ns != 0;
	job->j_start_ns = rec->jr_start_ns;
	job->j_ran_on_cpu = rec->jr_ran_on_cpu;
	job->j_end_ns = job->j_final_ns = rec->jr_end_ns;
	job->j_cpu_ns = rec->jr_cpu_ns;
	job->j_outcome = rec->jr_state;
	if (rec->jr_message != NULL && (job->j_message =
	    strdup(rec->jr_message)) == NULL) {
		job_free(job);
		return ENOMEM;
	}
	if (rec->jr_result_len > 0) {
		if ((job->j_result = malloc(rec->jr_result_len)) == NULL) {
			job_free(job);
			return ENOMEM;
		}
		memcpy(job->j_result, rec->jr_result, rec->jr_result_len);
		job->j_result_len = rec->jr_result_len;
		job_charge_result(job);
	}
	job->j_state = job->j_outcome;
	finished_add(job);
	*ret_job = job;
	return 0;
}

static void job_timeout_cb(evutil_socket_t, short, void *);
static void job_returned(struct tpd_job *);
static void job_deadline_cb(evutil_socket_t, short, void *);
static void job_delay_cb(evutil_socket_t, short, void *);

/* A timer of job's firing at ns (tpd_now_ns()) into *evp; false: none
 * (no memory). */
static bool
job_timer_at(struct tpd_job *job, struct event **evp,
    void (*cb)(evutil_socket_t, short, void *), uint64_t at, uint64_t now)
{
	uint64_t left = at > now ? at - now : 0;
	struct timeval tv = { (time_t)(left / 1000000000u),
	    (suseconds_t)(left % 1000000000u / 1000u) };

	if ((*evp = evtimer_new(jobs_base, cb, job)) == NULL)
		return false;
	if (evtimer_add(*evp, &tv) != 0) {
		event_free(*evp);
		*evp = NULL;
		return false;
	}
	return true;
}

/* Queued: libtp gets it now, or when its user's turn comes. */
static void
job_queue(struct tpd_job *job)
{
	job->j_state = TPOOL__JOB_STATE__JOB_QUEUED;
	tpd_fq_submit(job);
}

/* Its delay is over: queued now (the store hears of it). */
static void
job_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tpd_job *job = arg;
	uint64_t now = tpd_now_ns();

	(void)fd;
	(void)what;
	if (job->j_state != TPOOL__JOB_STATE__JOB_SCHEDULED)
		return;
	/* The loop's timers count from its cached time: never early. */
	if (now < job->j_not_before_ns) {
		event_free(job->j_delay_ev);
		job->j_delay_ev = NULL;
		if (job_timer_at(job, &job->j_delay_ev, job_delay_cb,
		    job->j_not_before_ns, now))
			return;
	}
	job_queue(job);
	if (jobs_hooks->jh_changed != NULL)
		jobs_hooks->jh_changed(job);
}

void
tpd_job_schedule(struct tpd_job *job)
{
	uint64_t now;

	if (!job->j_pending)
		return;
	job->j_pending = false;
	if (job->j_deadline_ns == 0 && job->j_not_before_ns == 0) {
		job_queue(job);
		return;
	}
	now = tpd_now_ns();
	/*
	 * A deadline: a timer expires the job if it has not started then.
	 * Without one (no memory), the worker that takes it late expires it.
	 */
	if (job->j_deadline_ns != 0)
		(void)job_timer_at(job, &job->j_deadline_ev, job_deadline_cb,
		    job->j_deadline_ns, now);
	/* A delay: SCHEDULED until it is over, then queued. */
	if (job->j_not_before_ns > now) {
		if (job_timer_at(job, &job->j_delay_ev, job_delay_cb,
		    job->j_not_before_ns, now)) {
			job->j_state = TPOOL__JOB_STATE__JOB_SCHEDULED;
			return;
		}
		tpd_warn("job %llu: no memory for its delay; it is queued at "
		    "once", (unsigned long long)job->j_id);
	}
	job_queue(job);
}

/* Forget a final job: out of the table and its lists, and free it. */
static void
job_free(struct tpd_job *job)
{
	struct tpd_user *user = job->j_user;

	LIST_REMOVE(job, j_hashent);
	jobs_count--;
	TAILQ_REMOVE(&user->u_jobs, job, j_userent);
	TAILQ_REMOVE(&jobs_all, job, j_allent);
	if (TAILQ_EMPTY(&user->u_jobs)) {
		LIST_REMOVE(user, u_entry);
		free(user);
	}
	if (job->j_deadline_ev != NULL)
		event_free(job->j_deadline_ev);
	if (job->j_delay_ev != NULL)
		event_free(job->j_delay_ev);
	if (job->j_timeout_ev != NULL)
		event_free(job->j_timeout_ev);
	free(job->j_loop_msg);
	/* Waits (briefly) for the worker that ran it to let go of it. */
	threadpool_job_destroy(&job->j_tpjob);
	(void)pthread_mutex_destroy(&job->j_lock);
	if (job->j_plugin != NULL)
		tpd_plugin_rele(job->j_plugin);
	free(job->j_result);
	free(job->j_message);
	free(job->j_retry_msg);
	tpd_budget_release(job->j_uid, job->j_budget);
	free(job);
}

bool
tpd_job_awaits_schedule(const struct tpd_job *job)
{
	return job->j_pending;
}

const char *
tpd_job_plugin_name(const struct tpd_job *job)
{
	return job->j_plugin_name;
}

void
tpd_job_discard(struct tpd_job *job)
{
	if (job->j_shelved) {
		TAILQ_REMOVE(&jobs_shelved, job, j_listent);
		job_free(job);
		return;
	}
	if (!job->j_pending)
		return;		/* final, or scheduled after all */
	job->j_pending = false;
	jobs_counts.jc_accepted--;
	job_leave(job);
	job_free(job);
	if (jobs_ninflight == 0)
		jobs_hooks->jh_idle();
}

void
tpd_job_record(struct tpd_job *job, struct tpd_job_record *rec)
{
	Tpool__JobInfo info;

	tpd_job_info(job, &info, true);
	memset(rec, 0, sizeof(*rec));
	rec->jr_id = job->j_id;
	rec->jr_uid = job->j_uid;
	rec->jr_plugin = job->j_plugin_name;
	rec->jr_name = job->j_name;
	rec->jr_input = job->j_input;
	rec->jr_input_len = job->j_input_len;
	rec->jr_pool_kind = job->j_pool_kind;
	rec->jr_pri = job->j_pri;
	rec->jr_cpu = job->j_cpu;
	rec->jr_timeout_ns = job->j_timeout_ns;
	rec->jr_deadline_ns = job->j_deadline_ns;
	rec->jr_not_before_ns = job->j_not_before_ns;
	rec->jr_unique_key = job->j_unique_key;
	rec->jr_attempt = job->j_attempt;
	rec->jr_retries = job->j_retries;
	rec->jr_backoff_ns = job->j_backoff_ns;
	if (!tp_state_is_final(info.state))
		rec->jr_message = info.message;
	rec->jr_submit_ns = job->j_submit_ns;
	rec->jr_state = info.state;
	rec->jr_ran_on_cpu = -1;
	if (job->j_started && !job->j_shelved) {
		rec->jr_start_ns = job->j_start_ns;
		rec->jr_ran_on_cpu = job->j_ran_on_cpu;
	}
	if (tp_state_is_final(info.state)) {
		rec->jr_end_ns = job->j_abandoned || job->j_written_off ?
		    job->j_final_ns : job->j_end_ns;
		rec->jr_cpu_ns = info.has_cpu_ns ? info.cpu_ns : 0;
		rec->jr_message = info.message;
		if (info.has_result) {
			rec->jr_result = info.result.data;
			rec->jr_result_len = info.result.len;
		}
	}
}

void
tpd_jobs_keep_queued(bool on)
{
	jobs_keep = on;
}

/*
 * The newest job of list to visit: the last, or with before_id the one
 * before the job of that id when it is on the list (one step), else the
 * first with a smaller id (a walk: the job has gone meanwhile).
 */
#define	JOBS_FIRST_BEFORE(list, field, before_id, onlist, ret) do {	\
	struct tpd_job *fb_job = NULL;					\
									\
	if ((before_id) != 0)						\
		fb_job = tpd_job_lookup(before_id);			\
	if (fb_job != NULL && (onlist))					\
		(ret) = TAILQ_PREV(fb_job, job_list, field);		\
	else {								\
		(ret) = TAILQ_LAST((list), job_list);			\
		while ((before_id) != 0 && (ret) != NULL &&		\
		    (ret)->j_id >= (before_id))				\
			(ret) = TAILQ_PREV((ret), job_list, field);	\
	}								\
} while (0)

void
tpd_jobs_foreach_of_uid(uid_t uid, uint64_t before_id,
    bool (*fn)(struct tpd_job *, void *), void *arg)
{
	struct tpd_user *user = user_find(uid);
	struct tpd_job *job;

	if (user == NULL)
		return;
	JOBS_FIRST_BEFORE(&user->u_jobs, j_userent, before_id,
	    fb_job->j_uid == uid, job);
	for (; job != NULL; job = TAILQ_PREV(job, job_list, j_userent))
		if (!fn(job, arg))
			break;
}

void
tpd_jobs_foreach(uint64_t before_id, bool (*fn)(struct tpd_job *, void *),
    void *arg)
{
	struct tpd_job *job;

	JOBS_FIRST_BEFORE(&jobs_all, j_allent, before_id, true, job);
	for (; job != NULL; job = TAILQ_PREV(job, job_list, j_allent))
		if (!fn(job, arg))
			break;
}

/* ----------------------------------------------------------------- info */

/* A tpd_now_ns() time as wall-clock ms since the epoch (off: the offset). */
static uint64_t
jobs_wall_ms(uint64_t ns, int64_t off)
{
	int64_t wall = (int64_t)ns + off;

	return wall > 0 ? (uint64_t)wall / 1000000u : 0;
}

void
tpd_job_info(struct tpd_job *job, Tpool__JobInfo *info, bool with_result)
{
	Tpool__JobState state = job->j_state;
	uint64_t start = 0, end = 0, now;
	int64_t off;

	tpool__job_info__init(info);
	info->has_job_id = true;
	info->job_id = job->j_id;
	info->plugin = (char *)job->j_plugin_name;
	info->name = job->j_name;
	info->unique_key = job->j_unique_key;
	info->has_attempt = true;
	info->attempt = job->j_attempt;
	info->has_retries = true;
	info->retries = job->j_retries;
	info->has_pool = true;
	info->pool = job->j_pool_kind;
	info->has_priority = true;
	info->priority = job->j_pri;
	info->has_cpu = true;
	info->cpu = job->j_cpu;
	info->has_uid = true;
	info->uid = (uint32_t)job->j_uid;
	info->has_cancel_requested = true;
	info->cancel_requested = atomic_load_explicit(&job->j_cancel,
	    memory_order_relaxed);
	info->has_ran_on_cpu = true;
	info->ran_on_cpu = -1;

	/*
	 * The worker's fields, as far as the loop has taken its notes (an
	 * abandoned job's worker may still be writing those of its end).
	 */
	if (job->j_started) {
		start = job->j_start_ns;
		info->ran_on_cpu = job->j_ran_on_cpu;
	}
	/* Without the job lock: its line is likely the worker's still. */
	info->has_progress = true;
	info->progress = atomic_load_explicit(&job->j_progress,
	    memory_order_relaxed);
	if (tp_state_is_final(state) && job->j_abandoned) {
		info->message = (char *)jobs_abandoned_msg;
		end = job->j_final_ns;
	} else if (tp_state_is_final(state) && job->j_written_off) {
		info->message = job->j_loop_msg;
		end = job->j_final_ns;
	} else if (tp_state_is_final(state)) {
		end = job->j_end_ns;
		info->message = job->j_message;
		if (with_result && state == TPOOL__JOB_STATE__JOB_SUCCEEDED) {
			info->has_result = true;
			info->result.data = job->j_result;
			info->result.len = job->j_result_len;
		}
		if (start != 0) {
			info->has_cpu_ns = true;
			info->cpu_ns = job->j_cpu_ns;
		}
	}
	info->has_state = true;
	info->state = state;
	/* A final job's times are all known: no clock read for them. */
	now = tp_state_is_final(state) && job->j_final_ns != 0 ?
	    job->j_final_ns : tpd_now_ns();
	/* Waiting for its next attempt: how the last one ended. */
	if (!tp_state_is_final(state) && job->j_attempt > 1)
		info->message = job->j_retry_msg;
	if (state == TPOOL__JOB_STATE__JOB_SCHEDULED) {
		info->has_delay_left_ms = true;
		info->delay_left_ms = job->j_not_before_ns > now ?
		    (job->j_not_before_ns - now + 999999u) / 1000000u : 0;
	}
	info->has_queue_ns = true;
	off = tpd_wall_offset_at(now);
	info->has_submitted_unix_ms = true;
	info->submitted_unix_ms = jobs_wall_ms(job->j_submit_ns, off);
	if (start != 0) {
		info->has_started_unix_ms = true;
		info->started_unix_ms = jobs_wall_ms(start, off);
	}
	if (end != 0) {
		info->has_ended_unix_ms = true;
		info->ended_unix_ms = jobs_wall_ms(end, off);
	}
	if (start != 0) {
		info->queue_ns = start - job->j_submit_ns;
		info->has_run_ns = true;
		info->run_ns = (end != 0 ? end : now) - start;
	} else {
		info->queue_ns = (end != 0 ? end : now) - job->j_submit_ns;
	}
}

/* --------------------------------------------------------- the job's life */

/*
 * A result is kept only within its user's memory share (budget.h): the
 * user's oldest finished jobs are forgotten to make room, and a result
 * that still does not fit fails its job.  (The worker is done with the
 * job's w fields once it posted FINISHED: the loop may replace them.)
 */
static void
job_charge_result(struct tpd_job *job)
{
	enum tpd_budget_limit lim;
	char why[256], msg[320];

	if (job->j_result_len == 0)
		return;
	/* The charge forgets the user's oldest finished jobs as it must. */
	if ((lim = tpd_budget_charge(job->j_uid, job->j_result_len)) ==
	    TPD_BUDGET_OK) {
		job->j_budget += job->j_result_len;
		return;
	}
	(void)tpd_budget_why(job->j_uid, lim, job->j_result_len, why,
	    sizeof(why));
	tpd_info("job %llu: result not kept: %s",
	    (unsigned long long)job->j_id, why);
	(void)snprintf(msg, sizeof(msg), "result not kept: %s", why);
	free(job->j_result);
	job->j_result = NULL;
	job->j_result_len = 0;
	free(job->j_message);
	job->j_message = strdup(msg);
	job->j_outcome = TPOOL__JOB_STATE__JOB_FAILED;
}

/*
 * Record the job's final state (its outcome, or FAILED when abandoned),
 * tell the layer above once, and move it to the finished list.  now is
 * the loop's time (tpd_now_ns()) when it took in the end, or 0 to read
 * it here: the job is shown final from then, and --finished-ttl counts
 * from it (not from its worker's end, which a busy loop may take in
 * later).
 */
static void
job_finalize(struct tpd_job *job, uint64_t now)
{
	Tpool__JobInfo info;

	/* Its place in its pool goes to the next in turn. */
	tpd_fq_ended(job);
	if (job->j_deadline_ev != NULL) {
		event_free(job->j_deadline_ev);
		job->j_deadline_ev = NULL;
	}
	if (job->j_delay_ev != NULL) {
		event_free(job->j_delay_ev);
		job->j_delay_ev = NULL;
	}
	if (job->j_timeout_ev != NULL) {
		event_free(job->j_timeout_ev);
		job->j_timeout_ev = NULL;
	}
	/* How long the plugin's jobs run, for deadlines' estimates. */
	if (job->j_started && !job->j_abandoned && !job->j_written_off &&
	    job->j_end_ns > job->j_start_ns &&
	    (job->j_outcome == TPOOL__JOB_STATE__JOB_SUCCEEDED ||
	    job->j_outcome == TPOOL__JOB_STATE__JOB_FAILED))
		tpd_plugin_note_run(job->j_plugin, job->j_end_ns -
		    job->j_start_ns);
	if (!job->j_abandoned && !job->j_written_off &&
	    job->j_outcome == TPOOL__JOB_STATE__JOB_SUCCEEDED)
		job_charge_result(job);
	/* Asked to stop by a stop that keeps jobs (tpd_jobs_keep_queued()). */
	if (job->j_interrupted && !job->j_abandoned &&
	    job->j_outcome == TPOOL__JOB_STATE__JOB_CANCELLED) {
		job->j_outcome = TPOOL__JOB_STATE__JOB_INTERRUPTED;
		free(job->j_message);
		job->j_message = strdup("interrupted: the daemon stopped while "
		    "it ran, and it stopped when asked");
	}
	job->j_state = job->j_abandoned ? (job->j_interrupted ?
	    TPOOL__JOB_STATE__JOB_INTERRUPTED : TPOOL__JOB_STATE__JOB_FAILED) :
	    job->j_written_off ? TPOOL__JOB_STATE__JOB_TIMED_OUT :
	    job->j_outcome;
	job->j_final_ns = now != 0 ? now : tpd_now_ns();
	switch (job->j_state) {
	case TPOOL__JOB_STATE__JOB_SUCCEEDED:
		jobs_counts.jc_succeeded++;
		break;
	case TPOOL__JOB_STATE__JOB_CANCELLED:
		jobs_counts.jc_cancelled++;
		break;
	case TPOOL__JOB_STATE__JOB_EXPIRED:
		jobs_counts.jc_expired++;
		break;
	case TPOOL__JOB_STATE__JOB_TIMED_OUT:
		jobs_counts.jc_timed_out++;
		break;
	case TPOOL__JOB_STATE__JOB_INTERRUPTED:
		jobs_counts.jc_interrupted++;
		break;
	default:
		jobs_counts.jc_failed++;
		break;
	}
	job_leave(job);
	if (job->j_abandoned) {
		TAILQ_INSERT_TAIL(&jobs_abandoned, job, j_listent);
	} else if (job->j_written_off) {
		/* Kept, with its plugin, until its thread lets go. */
		TAILQ_INSERT_TAIL(&jobs_written_off, job, j_listent);
	} else {
		finished_add(job);
		/* Its plugin may go now (an abandoned job's still runs it). */
		tpd_plugin_rele(job->j_plugin);
		job->j_plugin = NULL;
	}
	job->j_pending = false;
	tpd_job_info(job, &info, true);
	jobs_hooks->jh_finished(job, &info);
	if (jobs_hooks->jh_changed != NULL)
		jobs_hooks->jh_changed(job);
	if (jobs_over_keep)
		event_active(jobs_keep_ev, EV_TIMEOUT, 0);
	if (jobs_ninflight == 0)
		jobs_hooks->jh_idle();
}

/* ------------------------------------------------------------- timeouts */

/* Fire job_timeout_cb at at (tpd_now_ns()), when it has a time limit. */
static void
job_timeout_arm(struct tpd_job *job, uint64_t at)
{
	uint64_t now, left;
	struct timeval tv;

	if (job->j_timeout_ns == 0)
		return;
	now = tpd_now_ns();
	left = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(left / 1000000000u);
	tv.tv_usec = (suseconds_t)(left % 1000000000u / 1000u);
	if (job->j_timeout_ev == NULL &&
	    (job->j_timeout_ev = evtimer_new(jobs_base, job_timeout_cb,
	    job)) == NULL) {
		tpd_warn("job %llu: no memory for its time limit; it runs "
		    "without", (unsigned long long)job->j_id);
		return;
	}
	(void)evtimer_add(job->j_timeout_ev, &tv);
}

/*
 * Its time is up: it is asked to stop (its cancel request), and reports
 * TIMED_OUT however it ends; it has the plugin's --timeout-grace.  Then,
 * still running: isolation process, its worker is killed (the thread
 * following it, isolate.c); isolation thread, it is reported timed out
 * now and written off: its thread is left to finish alone, its pool gets
 * one more thread meanwhile (pools.c), and its plugin counts a stuck job.
 */
static void
job_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	const struct tpd_worker_conf *wc;
	struct tpd_job *job = arg;
	char msg[256];

	(void)fd;
	(void)what;
	if (tp_state_is_final(job->j_state))
		return;
	wc = tpd_plugin_conf(job->j_plugin);
	if (!job->j_time_up) {
		job->j_time_up = true;
		atomic_store(&job->j_timed_out, true);
		atomic_store(&job->j_cancel, true);
		job_timeout_arm(job, tpd_now_ns() + wc->wc_grace_ns);
		return;
	}
	if (tpd_plugin_iso(job->j_plugin) != NULL) {
		atomic_store(&job->j_kill, true);
		return;
	}
	(void)snprintf(msg, sizeof(msg), "ran past its time limit of %llu ms "
	    "and did not stop within the grace of %llu ms: written off (its "
	    "thread finishes alone; its pool has one more meanwhile)",
	    (unsigned long long)(job->j_timeout_ns / 1000000u),
	    (unsigned long long)(wc->wc_grace_ns / 1000000u));
	tpd_warn("job %llu (%s): %s", (unsigned long long)job->j_id,
	    job->j_name, msg);
	job->j_loop_msg = strdup(msg);
	job->j_written_off = true;
	tpd_plugin_stuck(job->j_plugin, 1);
	tpd_pool_stuck(job->j_pool, 1);
	job_finalize(job, 0);
}

/* A written-off job's thread let go of it: its pool and plugin too. */
static void
job_returned(struct tpd_job *job)
{
	tpd_info("job %llu (%s): its thread finished, written off before",
	    (unsigned long long)job->j_id, job->j_name);
	TAILQ_REMOVE(&jobs_written_off, job, j_listent);
	tpd_pool_stuck(job->j_pool, -1);
	tpd_pool_use(job->j_pool_kind, job->j_pri, false);
	tpd_plugin_stuck(job->j_plugin, -1);
	tpd_plugin_rele(job->j_plugin);
	job->j_plugin = NULL;
	/* What it made is discarded: it was reported timed out. */
	free(job->j_result);
	job->j_result = NULL;
	job->j_result_len = 0;
	finished_add(job);
}

/* ---------------------------------------------------------------- retries */

#define	JOBS_BACKOFF_MAX_NS	(3600ull * 1000000000u)

uint64_t
tpd_job_backoff_ns(uint64_t base_ns, unsigned int attempt)
{
	uint64_t wait = base_ns;
	unsigned int i;

	for (i = 1; i < attempt && wait < JOBS_BACKOFF_MAX_NS; i++)
		wait *= 2;
	return wait < JOBS_BACKOFF_MAX_NS ? wait : JOBS_BACKOFF_MAX_NS;
}

/*
 * May the job that just ended be run again?  It has retries left, the
 * plugin did not call its failure permanent, and it failed, timed out
 * (and stopped within the grace), or was stopped by a stop that keeps
 * jobs; not when its user cancelled it, nor at a stop that does not keep
 * jobs.
 */
static bool
job_may_retry(const struct tpd_job *job)
{
	if (job->j_attempt > job->j_retries || job->j_permanent ||
	    job->j_written_off || job->j_abandoned ||
	    (jobs_stopping && !jobs_keep))
		return false;
	if (atomic_load(&job->j_cancel) && !job->j_time_up &&
	    !job->j_interrupted)
		return false;		/* its user asked it to stop */
	switch (job->j_outcome) {
	case TPOOL__JOB_STATE__JOB_FAILED:
	case TPOOL__JOB_STATE__JOB_TIMED_OUT:
		return true;
	case TPOOL__JOB_STATE__JOB_CANCELLED:
		return job->j_interrupted;
	default:
		return false;
	}
}

/*
 * Run it again after its backoff (j_backoff_ns, doubled for each attempt
 * after the first retry, at most an hour): SCHEDULED meanwhile, its last
 * end's message kept for status; at a stop, kept scheduled for the next
 * start.
 */
static void
job_retry(struct tpd_job *job)
{
	uint64_t now = tpd_now_ns(),
	    wait = tpd_job_backoff_ns(job->j_backoff_ns, job->j_attempt);
	char *msg = NULL;

	tpd_fq_ended(job);
	if (job->j_timeout_ev != NULL) {
		event_free(job->j_timeout_ev);
		job->j_timeout_ev = NULL;
	}
	if (job->j_delay_ev != NULL) {
		event_free(job->j_delay_ev);
		job->j_delay_ev = NULL;
	}
	if (asprintf(&msg, "attempt %u %s: %s", job->j_attempt,
	    job->j_interrupted ? "interrupted" :
	    tp_state_name(job->j_outcome), job->j_interrupted ?
	    "the daemon stopped while it ran" : job->j_message != NULL ?
	    job->j_message : "no message") < 0)
		msg = NULL;
	tpd_info("job %llu (%s): %s; attempt %u of %u in %llu ms",
	    (unsigned long long)job->j_id, job->j_name,
	    msg != NULL ? msg : "ended", job->j_attempt + 1,
	    job->j_retries + 1, (unsigned long long)(wait / 1000000u));
	free(job->j_retry_msg);
	job->j_retry_msg = msg;
	free(job->j_message);
	job->j_message = NULL;
	free(job->j_result);
	job->j_result = NULL;
	job->j_result_len = 0;
	job->j_outcome = TPOOL__JOB_STATE__JOB_STATE_UNSPECIFIED;
	job->j_started = false;
	job->j_start_ns = job->j_end_ns = job->j_cpu_ns = 0;
	job->j_ran_on_cpu = -1;
	job->j_time_up = false;
	job->j_permanent = false;
	atomic_store(&job->j_timed_out, false);
	atomic_store(&job->j_kill, false);
	atomic_store(&job->j_cancel, false);
	(void)pthread_mutex_lock(&job->j_lock);
	atomic_store_explicit(&job->j_progress, 0, memory_order_relaxed);
	job->j_progress_msg[0] = '\0';
	(void)pthread_mutex_unlock(&job->j_lock);
	job->j_attempt++;
	job->j_not_before_ns = now + wait;
	job->j_state = TPOOL__JOB_STATE__JOB_SCHEDULED;
	if (jobs_stopping) {
		/* A stop that keeps jobs: its retry is the next start's. */
		job_shelve(job);
		if (jobs_ninflight == 0)
			jobs_hooks->jh_idle();
	} else if (!job_timer_at(job, &job->j_delay_ev, job_delay_cb,
	    job->j_not_before_ns, now))
		job_queue(job);
	if (jobs_hooks->jh_changed != NULL)
		jobs_hooks->jh_changed(job);
}

/*
 * The completion queue's batches (tpd_cq_init()): the places their ends
 * give in the turns are handed on after the batch, together.
 */
static void
job_notes_batch(bool start)
{
	if (start)
		tpd_fq_hold();
	else
		tpd_fq_release();
}

/* The completion queue delivers a job's notes here (tpd_cq_init()). */
static void
job_notes(struct tpd_job *job, unsigned int bits, uint64_t now)
{
	char msg[TP_PLUGIN_PROGRESS_MSG_MAX];
	unsigned int percent;

	/*
	 * A job made final already (abandoned, written off) has a worker
	 * still talking; a written-off one's end is its thread letting go.
	 */
	if (tp_state_is_final(job->j_state)) {
		if (job->j_written_off && (bits & TPD_NOTE_FINISHED))
			job_returned(job);
		return;
	}
	if ((bits & TPD_NOTE_STARTED) &&
	    job->j_state == TPOOL__JOB_STATE__JOB_QUEUED) {
		job->j_state = TPOOL__JOB_STATE__JOB_RUNNING;
		job->j_started = true;
		job_timeout_arm(job, job->j_start_ns + job->j_timeout_ns);
		jobs_hooks->jh_started(job, job->j_start_ns - job->j_submit_ns,
		    job->j_ran_on_cpu);
		if (jobs_hooks->jh_changed != NULL)
			jobs_hooks->jh_changed(job);
	}
	if (bits & TPD_NOTE_PROGRESS) {
		(void)pthread_mutex_lock(&job->j_lock);
		percent = atomic_load_explicit(&job->j_progress,
		    memory_order_relaxed);
		memcpy(msg, job->j_progress_msg, sizeof(msg));
		(void)pthread_mutex_unlock(&job->j_lock);
		jobs_hooks->jh_progress(job, percent,
		    msg[0] != '\0' ? msg : NULL);
	}
	if (bits & TPD_NOTE_FINISHED) {
		if (job_may_retry(job))
			job_retry(job);
		else
			job_finalize(job, now);
	}
}

void
tpd_jobs_poll(void)
{
	tpd_cq_poll();
}

/* --------------------------------------------------------------- cancel */

/*
 * running_too: also ask a running job to stop (else a job a worker has is
 * left alone).
 */
static Tpool__CancelResult
job_cancel_as(struct tpd_job *job, const char *why, bool running_too,
    Tpool__JobState outcome)
{
	bool off_queue;

	if (tp_state_is_final(job->j_state))
		return TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED;
	/* Waiting for its turn, libtp has not got it (or not even its
	 * turn: a submit not yet recorded): it never runs. */
	if (job->j_pending ||
	    job->j_state == TPOOL__JOB_STATE__JOB_SCHEDULED ||
	    tpd_fq_cancel(job)) {
		atomic_store(&job->j_cancel, true);
		goto cancelled;
	}
	(void)pthread_mutex_lock(&job->j_lock);
	/*
	 * libtp says true both for a job it took off the queue and for one
	 * no thread has any more: a job whose worker has ended it (under
	 * this lock, after writing its outcome) and whose end the loop has
	 * yet to take.  That one ran: too late.
	 */
	off_queue = threadpool_cancel_job_async(job->j_pool, &job->j_tpjob) &&
	    job->j_outcome == TPOOL__JOB_STATE__JOB_STATE_UNSPECIFIED;
	/*
	 * Off its queue it never runs.  Otherwise a worker has it (or had
	 * it, and its end is on its way to the loop): the plugin sees the
	 * request, and a worker that has not yet looked at the flag
	 * (tpd_job_run) will not start it.
	 */
	if (off_queue || running_too)
		atomic_store(&job->j_cancel, true);
	(void)pthread_mutex_unlock(&job->j_lock);
	if (!off_queue)
		return TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE;
cancelled:
	job->j_outcome = outcome;
	job->j_end_ns = tpd_now_ns();
	job->j_message = strdup(why);
	job_finalize(job, job->j_end_ns);
	return TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN;
}

static Tpool__CancelResult
job_cancel(struct tpd_job *job, const char *why, bool running_too)
{
	return job_cancel_as(job, why, running_too,
	    TPOOL__JOB_STATE__JOB_CANCELLED);
}

Tpool__CancelResult
tpd_job_cancel(struct tpd_job *job, const char *why)
{
	return job_cancel(job, why, true);
}

/*
 * A job's deadline: still not started, it never will (expired, as a
 * cancel before its run); a worker that has it already runs it (a start
 * past the deadline is caught by the worker itself, run.c).
 */
static void
job_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tpd_job *job = arg;
	char why[96];

	(void)fd;
	(void)what;
	if (tp_state_is_final(job->j_state) || job->j_started)
		return;
	(void)snprintf(why, sizeof(why), "its deadline of %llu ms passed "
	    "before it could start",
	    (unsigned long long)((job->j_deadline_ns - job->j_submit_ns +
	    500000u) / 1000000u));
	(void)job_cancel_as(job, why, false, TPOOL__JOB_STATE__JOB_EXPIRED);
}

/* ------------------------------------------------------------ forgetting */

/*
 * Finished jobs are kept for --finished-ttl, and at most --finished-keep
 * of each user: one user's jobs never push another's out.
 */
static void
finished_add(struct tpd_job *job)
{
	struct tpd_user *user = job->j_user;

	TAILQ_INSERT_TAIL(&jobs_finished, job, j_listent);
	TAILQ_INSERT_TAIL(&user->u_finished, job, j_ufinent);
	if (++user->u_nfinished > tpd_opt.o_finished_keep)
		jobs_over_keep = true;
}

/* Forget a finished job (off both its lists, then freed). */
static void
finished_forget(struct tpd_job *job)
{
	uint64_t id = job->j_id;

	TAILQ_REMOVE(&jobs_finished, job, j_listent);
	TAILQ_REMOVE(&job->j_user->u_finished, job, j_ufinent);
	job->j_user->u_nfinished--;
	job_free(job);
	if (jobs_hooks->jh_forgotten != NULL && !jobs_exiting)
		jobs_hooks->jh_forgotten(id);
}

/* The budget's reclaim hook: forget uid's oldest finished job, if any. */
static bool
jobs_reclaim(uid_t uid)
{
	struct tpd_user *user = user_find(uid);

	if (user == NULL || TAILQ_EMPTY(&user->u_finished))
		return false;
	finished_forget(TAILQ_FIRST(&user->u_finished));
	return true;
}

/* Users over --finished-keep forget their oldest finished jobs. */
static void
jobs_forget_over_keep(void)
{
	struct tpd_user *user, *unext;

	if (!jobs_over_keep)
		return;
	jobs_over_keep = false;
	/* job_free() frees a user record with its last job. */
	for (user = LIST_FIRST(&jobs_users); user != NULL; user = unext) {
		unext = LIST_NEXT(user, u_entry);
		while (user->u_nfinished > tpd_opt.o_finished_keep) {
			bool last = TAILQ_FIRST(&user->u_jobs) ==
			    TAILQ_LAST(&user->u_jobs, job_list);

			finished_forget(TAILQ_FIRST(&user->u_finished));
			jobs_freed_since_trim++;
			if (last)
				break;	/* the record is gone */
		}
	}
}

static void
jobs_keep_cb(evutil_socket_t fd, short what, void *arg)
{
	jobs_forget_over_keep();
}

static void
jobs_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	static uint64_t entered_at_last;
	struct tpd_job *job;
	uint64_t now = tpd_now_ns();

	/*
	 * Job infos ask for the wall-clock offset with their jobs' times,
	 * which may all be older than its last reading: renewed here.
	 */
	(void)tpd_wall_offset_at(now);
	/*
	 * Pools with no job for an idle timeout go, with their threads (not
	 * while stopping: an abandoned job may still run in one).
	 */
	if (!jobs_stopping) {
		tpd_pools_trim(tpd_opt.o_idle_timeout_ns);
		tpd_plugins_trim_workers(tpd_opt.o_idle_timeout_ns);
	}
	/* Jobs made finished outside job_finalize (a restored store,
	 * a written-off job returned) count here. */
	jobs_forget_over_keep();
	while ((job = TAILQ_FIRST(&jobs_finished)) != NULL &&
	    now - job->j_final_ns >= tpd_opt.o_finished_ttl_ns) {
		finished_forget(job);
		jobs_freed_since_trim++;
	}
	/*
	 * Idle after a burst: give the freed memory back to the system
	 * (malloc keeps it otherwise, in every worker's arena), so that a
	 * long-running daemon's footprint follows its load.  Idle means no
	 * job in flight and none entered for a whole period: a trim walks
	 * every arena and gives back page after page (a TLB shootdown
	 * each), milliseconds that a daemon busy with short jobs, often
	 * with none in flight, would pay every period.
	 */
	if (jobs_ninflight == 0 && jobs_entered == entered_at_last &&
	    jobs_freed_since_trim >= 1024) {
		(void)malloc_trim(0);
		jobs_freed_since_trim = 0;
	}
	entered_at_last = jobs_entered;
}

/* -------------------------------------------------------------- shutdown */

/* A queued job out of flight, kept for the next start (its store row
 * stays queued); freed at exit. */
static void
job_shelve(struct tpd_job *job)
{
	job->j_pending = false;
	job->j_shelved = true;
	if (job->j_delay_ev != NULL)
		(void)event_del(job->j_delay_ev);
	if (job->j_deadline_ev != NULL)
		(void)event_del(job->j_deadline_ev);
	job_leave(job);
	TAILQ_INSERT_TAIL(&jobs_shelved, job, j_listent);
}

/*
 * The stop of a daemon that keeps its jobs: queued ones leave flight as
 * they are (waiting for their turn first, so that no turn hands libtp
 * another meanwhile; then those libtp still queues), and running ones
 * are asked to stop, ending interrupted.
 */
static void
jobs_stop_keeping(void)
{
	static const char why[] = "the daemon is stopping";
	struct tpd_job *job, *next;
	bool off_queue;

	TAILQ_FOREACH_SAFE(job, &jobs_inflight, j_listent, next)
		if (job->j_pending ||
		    job->j_state == TPOOL__JOB_STATE__JOB_SCHEDULED ||
		    tpd_fq_cancel(job))
			job_shelve(job);
	TAILQ_FOREACH_SAFE(job, &jobs_inflight, j_listent, next) {
		if (job->j_started)
			continue;
		(void)pthread_mutex_lock(&job->j_lock);
		off_queue = threadpool_cancel_job_async(job->j_pool,
		    &job->j_tpjob) &&
		    job->j_outcome == TPOOL__JOB_STATE__JOB_STATE_UNSPECIFIED;
		(void)pthread_mutex_unlock(&job->j_lock);
		if (off_queue) {
			tpd_fq_ended(job);
			job_shelve(job);
		}
	}
	TAILQ_FOREACH_SAFE(job, &jobs_inflight, j_listent, next) {
		job->j_interrupted = true;
		(void)job_cancel(job, why, true);
	}
}

void
tpd_jobs_stop_all(void)
{
	static const char why[] = "cancelled: the daemon is shutting down";
	struct tpd_job *job, *next;

	jobs_stopping = true;
	if (jobs_keep) {
		jobs_stop_keeping();
		return;
	}
	/*
	 * Queued jobs first: a running job told to stop would free its
	 * worker for the next queued job while we are still going through
	 * the queue.
	 */
	TAILQ_FOREACH_SAFE(job, &jobs_inflight, j_listent, next)
		(void)job_cancel(job, why, false);
	TAILQ_FOREACH_SAFE(job, &jobs_inflight, j_listent, next)
		(void)job_cancel(job, why, true);
}

void
tpd_jobs_abandon_running(void)
{
	struct tpd_job *job;

	while ((job = TAILQ_FIRST(&jobs_inflight)) != NULL) {
		tpd_warn("job %llu (%s) still running at exit; reporting it "
		    "failed", (unsigned long long)job->j_id, job->j_name);
		job->j_abandoned = true;
		job_finalize(job, 0);
	}
}

bool
tpd_jobs_any_abandoned(void)
{
	return !TAILQ_EMPTY(&jobs_abandoned) || !TAILQ_EMPTY(&jobs_written_off);
}

void
tpd_jobs_free_all(void)
{
	struct tpd_job *job, *next;

	/* Jobs still in flight here were never scheduled (setup failed). */
	TAILQ_FOREACH_SAFE(job, &jobs_inflight, j_listent, next) {
		if (job->j_scheduled)
			continue;
		(void)tpd_fq_cancel(job);
		job_leave(job);
		job_free(job);
	}
	jobs_exiting = true;
	while ((job = TAILQ_FIRST(&jobs_finished)) != NULL)
		finished_forget(job);
	while ((job = TAILQ_FIRST(&jobs_shelved)) != NULL) {
		TAILQ_REMOVE(&jobs_shelved, job, j_listent);
		job_free(job);
	}
	jobs_exiting = false;
	free(jobs_keys);
	jobs_keys = NULL;
	jobs_keys_mask = jobs_nkeys = 0;
	if (jobs_reap_ev != NULL) {
		event_free(jobs_reap_ev);
		jobs_reap_ev = NULL;
	}
	if (jobs_keep_ev != NULL) {
		event_free(jobs_keep_ev);
		jobs_keep_ev = NULL;
	}
	tpd_jobid_close();
	if (TAILQ_EMPTY(&jobs_abandoned) && TAILQ_EMPTY(&jobs_inflight) &&
	    TAILQ_EMPTY(&jobs_written_off)) {
		free(jobs_hash);
		jobs_hash = NULL;
		tpd_cq_destroy();
	}
}
