/*
 * jobs.c -- the job table and each job's life as the loop sees it.
 *
 *	submit ──create──▶ in flight ──schedule──▶ (libtp queue, worker: run.c)
 *	                      │                          │ notes through the
 *	                      │ cancel before it ran     │ completion queue:
 *	                      ▼                          ▼ STARTED, PROGRESS, FINISHED
 *	                  finalized ◀────────────────────┘
 *	                      │ kept --finished-keep jobs / --finished-ttl
 *	                      ▼
 *	                 forgotten: destroyed and freed
 *
 * Finalizing a job sends its one JobFinished event to its submitter (if
 * still connected) and its watchers, answers the cancel --wait requests on
 * it, and moves it from the in-flight list to the finished list, where
 * status requests still find it.  Every job that was accepted is finalized
 * exactly once, by the loop: when its worker says FINISHED, when a cancel
 * takes it off its queue, or, at exit, when it was still running after the
 * shutdown grace period (abandoned: reported failed, never freed).
 *
 * Ownership: the loop owns every job object (and its input, name, result
 * and message); libtp borrows the embedded struct threadpool_job while it
 * is scheduled; a worker borrows the job while it runs it.  A job holds a
 * reference to its plugin until it is finalized (so the plugin is not
 * unloaded under it; it keeps a copy of the plugin's name for status) and
 * to its user record (the per-uid count and list) until it is freed.
 *
 * The table is a hash of job ids (sequential, so id & mask spreads them
 * perfectly), doubled when it gets full.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "frame.h"
#include "tpoold.h"

#define	JOBS_HASH_MIN		1024u
#define	JOBS_REAP_PERIOD_MS	1000

LIST_HEAD(job_bucket, tpd_job);
TAILQ_HEAD(job_list, tpd_job);

struct tpd_counters tpd_counters;

static struct job_bucket *jobs_hash;		/* l */
static size_t jobs_hash_mask;			/* l: buckets - 1 */
static size_t jobs_count;			/* l: jobs in the table */
static uint64_t jobs_next_id = 1;		/* l */
static struct job_list jobs_inflight = TAILQ_HEAD_INITIALIZER(jobs_inflight);
static struct job_list jobs_finished = TAILQ_HEAD_INITIALIZER(jobs_finished);
static struct job_list jobs_abandoned = TAILQ_HEAD_INITIALIZER(jobs_abandoned);
static size_t jobs_nfinished;			/* l */
static struct event *jobs_reap_ev;		/* l */
static LIST_HEAD(, tpd_user) jobs_users = LIST_HEAD_INITIALIZER(jobs_users);
static unsigned int jobs_fresh;			/* l: scheduled since asked */
static uint64_t jobs_recent_ns = 1000000;	/* l: average submit-to-end */
static uint8_t *jobs_frame;			/* l: an event encoded once */
static size_t jobs_frame_cap;

static const char jobs_abandoned_msg[] =
    "still running when the daemon stopped (shutdown grace period over)";

static void jobs_reap_cb(evutil_socket_t, short, void *);

/* ---------------------------------------------------------------- users */

struct tpd_user *
tpd_user_hold(uid_t uid)
{
	struct tpd_user *user;

	LIST_FOREACH(user, &jobs_users, u_entry)
		if (user->u_uid == uid)
			break;
	if (user == NULL) {
		if ((user = calloc(1, sizeof(*user))) == NULL)
			return NULL;
		user->u_uid = uid;
		TAILQ_INIT(&user->u_jobs);
		LIST_INSERT_HEAD(&jobs_users, user, u_entry);
	}
	user->u_refs++;
	return user;
}

void
tpd_user_rele(struct tpd_user *user)
{
	if (user == NULL || --user->u_refs > 0)
		return;
	LIST_REMOVE(user, u_entry);
	free(user);
}

/* ---------------------------------------------------------------- table */

int
tpd_jobs_init(void)
{
	struct timeval tv = { JOBS_REAP_PERIOD_MS / 1000, (JOBS_REAP_PERIOD_MS % 1000) * 1000 };
	size_t i;

	/* A new daemon life (in-process tests set up more than one). */
	jobs_next_id = 1;
	if ((jobs_hash = malloc(JOBS_HASH_MIN * sizeof(*jobs_hash))) == NULL)
		return ENOMEM;
	for (i = 0; i < JOBS_HASH_MIN; i++)
		LIST_INIT(&jobs_hash[i]);
	jobs_hash_mask = JOBS_HASH_MIN - 1;
	jobs_reap_ev = event_new(tpd_base, -1, EV_PERSIST, jobs_reap_cb, NULL);
	if (jobs_reap_ev == NULL || event_add(jobs_reap_ev, &tv) != 0)
		return ENOMEM;
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
			LIST_INSERT_HEAD(&nh[job->j_id & (n - 1)], job, j_hashent);
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

	LIST_FOREACH(job, &jobs_hash[id & jobs_hash_mask], j_hashent)
		if (job->j_id == id)
			return job;
	return NULL;
}

bool
tpd_job_visible(const struct tpd_job *job, const struct tpd_conn *conn)
{
	return conn->c_uid == 0 || conn->c_uid == job->j_uid;
}

int
tpd_job_create(struct tpd_conn *conn, struct tpd_plugin *plugin, const uint8_t *input,
    size_t input_len, const char *name, Tpool__PoolKind kind, int pri, int cpu,
    struct threadpool *pool, struct tpd_job **ret_job)
{
	struct tpd_job *job;
	const char *pname = plugin->p_desc->tpp_name;
	size_t namelen = strlen(name), pnamelen = strlen(pname);
	int error;

	job = malloc(sizeof(*job) + input_len + namelen + 1 + pnamelen + 1);
	if (job == NULL)
		return ENOMEM;
	if ((error = pthread_mutex_init(&job->j_lock, NULL)) != 0) {
		free(job);
		return error;
	}
	job->j_id = jobs_next_id++;
	job->j_uid = conn->c_uid;
	job->j_plugin = plugin;
	job->j_pool = pool;
	job->j_pool_kind = kind;
	job->j_pri = pri;
	job->j_cpu = cpu;
	job->j_submit_ns = tpd_now_ns();
	job->j_input = (const uint8_t *)(job + 1);
	job->j_input_len = input_len;
	if (input_len > 0)
		memcpy(job + 1, input, input_len);
	job->j_name = (char *)(job + 1) + input_len;
	memcpy(job->j_name, name, namelen + 1);
	job->j_plugin_name = job->j_name + namelen + 1;
	memcpy((char *)job->j_plugin_name, pname, pnamelen + 1);

	job->j_state = TPOOL__JOB_STATE__JOB_QUEUED;
	job->j_start_ns = job->j_end_ns = job->j_cpu_ns = 0;
	job->j_ran_on_cpu = -1;
	job->j_progress = 0;
	job->j_progress_msg[0] = '\0';
	job->j_result = NULL;
	job->j_result_len = 0;
	job->j_message = NULL;
	atomic_init(&job->j_cancel, false);
	job->j_cqnext = NULL;
	atomic_init(&job->j_cqbits, 0);
	job->j_conn = conn;
	job->j_user = conn->c_user;
	job->j_user->u_refs++;
	LIST_INIT(&job->j_watches);
	job->j_final_ns = 0;
	job->j_final = false;
	job->j_abandoned = false;
	job->j_scheduled = false;
	threadpool_job_init(&job->j_tpjob, tpd_job_run, &job->j_lock, "%s", name);
	tpd_plugin_hold(plugin);

	LIST_INSERT_HEAD(&jobs_hash[job->j_id & jobs_hash_mask], job, j_hashent);
	if (++jobs_count > jobs_hash_mask + 1)
		jobs_hash_grow();
	TAILQ_INSERT_TAIL(&jobs_inflight, job, j_listent);
	TAILQ_INSERT_TAIL(&job->j_user->u_jobs, job, j_userent);
	TAILQ_INSERT_TAIL(&conn->c_jobs, job, j_connent);
	job->j_user->u_inflight++;
	if (tpd_counters.tc_inflight++ == 0)
		tpd_cq_lazy_timer(true);
	tpd_counters.tc_accepted++;
	*ret_job = job;
	return 0;
}

void
tpd_job_schedule(struct tpd_job *job)
{
	(void)pthread_mutex_lock(&job->j_lock);
	threadpool_schedule_job(job->j_pool, &job->j_tpjob);
	(void)pthread_mutex_unlock(&job->j_lock);
	job->j_scheduled = true;
	jobs_fresh++;
}

unsigned int
tpd_jobs_take_fresh(uint64_t *ret_recent_ns)
{
	unsigned int n = jobs_fresh;

	jobs_fresh = 0;
	*ret_recent_ns = jobs_recent_ns;
	return n;
}

/* Forget a finalized job: out of the table and its lists, and free it. */
static void
job_free(struct tpd_job *job)
{
	LIST_REMOVE(job, j_hashent);
	jobs_count--;
	TAILQ_REMOVE(&job->j_user->u_jobs, job, j_userent);
	tpd_user_rele(job->j_user);
	/* Waits (briefly) for the worker that ran it to let go of it. */
	threadpool_job_destroy(&job->j_tpjob);
	(void)pthread_mutex_destroy(&job->j_lock);
	if (job->j_plugin != NULL)
		tpd_plugin_rele(job->j_plugin);
	free(job->j_result);
	free(job->j_message);
	free(job);
}

/* ----------------------------------------------------------------- info */

void
tpd_job_info(struct tpd_job *job, Tpool__JobInfo *info, bool with_result)
{
	uint64_t start, end, now;
	Tpool__JobState state;

	tpool__job_info__init(info);
	info->has_job_id = true;
	info->job_id = job->j_id;
	info->plugin = (char *)job->j_plugin_name;
	info->name = job->j_name;
	info->has_pool = true;
	info->pool = job->j_pool_kind;
	info->has_priority = true;
	info->priority = job->j_pri;
	info->has_cpu = true;
	info->cpu = job->j_cpu;
	info->has_uid = true;
	info->uid = (uint32_t)job->j_uid;
	info->has_cancel_requested = true;
	info->cancel_requested = atomic_load_explicit(&job->j_cancel, memory_order_relaxed);

	(void)pthread_mutex_lock(&job->j_lock);
	state = job->j_state;
	start = job->j_start_ns;
	end = job->j_end_ns;
	/*
	 * The worker sets a final j_state before the loop has taken in its
	 * end (j_final): until then the job is shown running, so that nobody
	 * sees a final state and then events of the same job (a watch
	 * answered in between would: found by the soak test).
	 */
	if (!job->j_final && (state == TPOOL__JOB_STATE__JOB_SUCCEEDED ||
	    state == TPOOL__JOB_STATE__JOB_FAILED ||
	    state == TPOOL__JOB_STATE__JOB_CANCELLED)) {
		state = TPOOL__JOB_STATE__JOB_RUNNING;
		end = 0;
	}
	info->has_progress = true;
	info->progress = job->j_progress;
	info->has_ran_on_cpu = true;
	info->ran_on_cpu = job->j_ran_on_cpu;
	if (state == TPOOL__JOB_STATE__JOB_SUCCEEDED ||
	    state == TPOOL__JOB_STATE__JOB_FAILED ||
	    state == TPOOL__JOB_STATE__JOB_CANCELLED) {
		/* Final: result and message are set once and never change. */
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
	(void)pthread_mutex_unlock(&job->j_lock);

	if (job->j_abandoned) {
		state = TPOOL__JOB_STATE__JOB_FAILED;
		info->message = (char *)jobs_abandoned_msg;
		info->has_result = false;
		end = job->j_final_ns;
	}
	info->has_state = true;
	info->state = state;
	now = tpd_now_ns();
	info->has_queue_ns = true;
	if (start != 0) {
		info->queue_ns = start - job->j_submit_ns;
		info->has_run_ns = true;
		info->run_ns = (end != 0 ? end : now) - start;
	} else {
		info->queue_ns = (end != 0 ? end : now) - job->j_submit_ns;
	}
}

/* --------------------------------------------------------------- events */

/* Send sm to everyone who follows job's events: its submitter and watchers. */
static void
job_broadcast(struct tpd_job *job, const Tpool__ServerMessage *sm)
{
	struct tpd_conn *only = job->j_conn;
	struct tpd_watch *w;
	unsigned int n = job->j_conn != NULL ? 1 : 0;
	size_t len;
	uint8_t *p;

	LIST_FOREACH(w, &job->j_watches, w_jobent) {
		if (!w->w_cancel_wait) {
			only = w->w_conn;
			n++;
		}
	}
	if (n == 0)
		return;
	if (n == 1) {
		tpd_conn_send(only, sm);
		return;
	}
	/* Encode once, copy to each. */
	len = TP_FRAME_HDR_LEN + protobuf_c_message_get_packed_size(&sm->base);
	if (len > jobs_frame_cap) {
		if ((p = realloc(jobs_frame, len)) == NULL) {
			tpd_err("out of memory sending an event of job %llu",
			    (unsigned long long)job->j_id);
			return;
		}
		jobs_frame = p;
		jobs_frame_cap = len;
	}
	tp_frame_put_header(jobs_frame, (uint32_t)(len - TP_FRAME_HDR_LEN));
	(void)protobuf_c_message_pack(&sm->base, jobs_frame + TP_FRAME_HDR_LEN);
	if (job->j_conn != NULL)
		tpd_conn_send_frame(job->j_conn, jobs_frame, len);
	LIST_FOREACH(w, &job->j_watches, w_jobent)
		if (!w->w_cancel_wait)
			tpd_conn_send_frame(w->w_conn, jobs_frame, len);
}

static void
job_send_started(struct tpd_job *job)
{
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT;
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobStarted st = TPOOL__JOB_STARTED__INIT;

	(void)pthread_mutex_lock(&job->j_lock);
	st.has_queue_ns = true;
	st.queue_ns = job->j_start_ns - job->j_submit_ns;
	st.has_cpu = true;
	st.cpu = job->j_ran_on_cpu;
	(void)pthread_mutex_unlock(&job->j_lock);
	ev.has_job_id = true;
	ev.job_id = job->j_id;
	ev.kind_case = TPOOL__EVENT__KIND_STARTED;
	ev.started = &st;
	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_EVENT;
	sm.event = &ev;
	job_broadcast(job, &sm);
}

static void
job_send_progress(struct tpd_job *job)
{
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT;
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobProgress pr = TPOOL__JOB_PROGRESS__INIT;
	char msg[TP_PLUGIN_PROGRESS_MSG_MAX];

	(void)pthread_mutex_lock(&job->j_lock);
	pr.has_percent = true;
	pr.percent = job->j_progress;
	memcpy(msg, job->j_progress_msg, sizeof(msg));
	(void)pthread_mutex_unlock(&job->j_lock);
	if (msg[0] != '\0')
		pr.message = msg;
	ev.has_job_id = true;
	ev.job_id = job->j_id;
	ev.kind_case = TPOOL__EVENT__KIND_PROGRESS;
	ev.progress = &pr;
	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_EVENT;
	sm.event = &ev;
	job_broadcast(job, &sm);
}

static void
job_watch_free(struct tpd_watch *w)
{
	LIST_REMOVE(w, w_jobent);
	LIST_REMOVE(w, w_connent);
	free(w);
}

/*
 * The job has its final state (under its lock, or abandoned): report it
 * once, and move it to the finished list.
 */
static void
job_finalize(struct tpd_job *job)
{
	Tpool__ServerMessage sm = TPOOL__SERVER_MESSAGE__INIT;
	Tpool__Event ev = TPOOL__EVENT__INIT;
	Tpool__JobFinished fin = TPOOL__JOB_FINISHED__INIT;
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__CancelReply cr = TPOOL__CANCEL_REPLY__INIT;
	Tpool__JobInfo info;
	struct tpd_watch *w;

	job->j_final = true;
	job->j_final_ns = tpd_now_ns();
	tpd_job_info(job, &info, true);
	if (info.has_run_ns) {
		/* An average of the last few jobs' submit-to-end times. */
		uint64_t lat = job->j_final_ns - job->j_submit_ns;

		jobs_recent_ns = jobs_recent_ns - jobs_recent_ns / 8 + lat / 8;
	}

	switch (info.state) {
	case TPOOL__JOB_STATE__JOB_SUCCEEDED:
		tpd_counters.tc_succeeded++;
		break;
	case TPOOL__JOB_STATE__JOB_CANCELLED:
		tpd_counters.tc_cancelled++;
		break;
	default:
		tpd_counters.tc_failed++;
		break;
	}
	tpd_counters.tc_inflight--;
	job->j_user->u_inflight--;
	TAILQ_REMOVE(&jobs_inflight, job, j_listent);
	if (job->j_abandoned) {
		TAILQ_INSERT_TAIL(&jobs_abandoned, job, j_listent);
	} else {
		TAILQ_INSERT_TAIL(&jobs_finished, job, j_listent);
		jobs_nfinished++;
	}

	fin.job = &info;
	ev.has_job_id = true;
	ev.job_id = job->j_id;
	ev.kind_case = TPOOL__EVENT__KIND_FINISHED;
	ev.finished = &fin;
	sm.msg_case = TPOOL__SERVER_MESSAGE__MSG_EVENT;
	sm.event = &ev;
	job_broadcast(job, &sm);

	/* Cancel --wait requests get their answer now, with the final state. */
	cr.has_result = true;
	cr.job = &info;
	resp.body_case = TPOOL__RESPONSE__BODY_CANCEL;
	resp.cancel = &cr;
	while ((w = LIST_FIRST(&job->j_watches)) != NULL) {
		if (w->w_cancel_wait) {
			cr.result = w->w_cancel_result;
			tpd_reply(w->w_conn, w->w_request_id, &resp);
		}
		job_watch_free(w);
	}
	if (job->j_conn != NULL) {
		TAILQ_REMOVE(&job->j_conn->c_jobs, job, j_connent);
		job->j_conn = NULL;
	}
	/* Its plugin may go now (an abandoned job's worker still runs it). */
	if (!job->j_abandoned) {
		tpd_plugin_rele(job->j_plugin);
		job->j_plugin = NULL;
	}
	if (tpd_opt.o_finished_keep < jobs_nfinished)
		event_active(jobs_reap_ev, EV_TIMEOUT, 0);
	if (tpd_counters.tc_inflight == 0) {
		tpd_cq_lazy_timer(false);
		tpd_daemon_jobs_idle();
	}
}

void
tpd_job_notes(struct tpd_job *job, unsigned int bits)
{
	/* An abandoned job was reported already; its worker still talks. */
	if (job->j_final)
		return;
	if (bits & TPD_NOTE_STARTED)
		job_send_started(job);
	if (bits & TPD_NOTE_PROGRESS)
		job_send_progress(job);
	if (bits & TPD_NOTE_FINISHED)
		job_finalize(job);
}

/* --------------------------------------------------------------- cancel */

/*
 * The seed's cancel, under the job lock.  running_too: also ask a running
 * job to stop (else a job a worker has is left alone).
 */
static Tpool__CancelResult
job_cancel(struct tpd_job *job, const char *why, bool running_too)
{
	char *msg;

	if (job->j_final)
		return TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED;
	msg = strdup(why);
	(void)pthread_mutex_lock(&job->j_lock);
	if (job->j_state != TPOOL__JOB_STATE__JOB_QUEUED &&
	    job->j_state != TPOOL__JOB_STATE__JOB_RUNNING) {
		/*
		 * Its worker ended it and the loop has yet to hear: to
		 * everyone else the job still runs (tpd_job_info), so it was
		 * too late; its end is on its way (and answers a wait).
		 */
		(void)pthread_mutex_unlock(&job->j_lock);
		free(msg);
		return TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE;
	}
	if (!threadpool_cancel_job_async(job->j_pool, &job->j_tpjob)) {
		/*
		 * A worker has it: the plugin sees the request (and a worker
		 * that has not started the plugin yet, waiting for this lock,
		 * will not start it).
		 */
		if (running_too)
			atomic_store(&job->j_cancel, true);
		(void)pthread_mutex_unlock(&job->j_lock);
		free(msg);
		return TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE;
	}
	/* Off the queue: it will never run. */
	atomic_store(&job->j_cancel, true);
	job->j_state = TPOOL__JOB_STATE__JOB_CANCELLED;
	job->j_end_ns = tpd_now_ns();
	job->j_message = msg;
	(void)pthread_mutex_unlock(&job->j_lock);
	job_finalize(job);
	return TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN;
}

Tpool__CancelResult
tpd_job_cancel(struct tpd_job *job, const char *why)
{
	return job_cancel(job, why, true);
}

/* ---------------------------------------------------------------- watch */

int
tpd_job_watch(struct tpd_job *job, struct tpd_conn *conn, bool cancel_wait,
    uint64_t request_id, Tpool__CancelResult cancel_result)
{
	struct tpd_watch *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return ENOMEM;
	w->w_job = job;
	w->w_conn = conn;
	w->w_cancel_wait = cancel_wait;
	w->w_request_id = request_id;
	w->w_cancel_result = cancel_result;
	LIST_INSERT_HEAD(&job->j_watches, w, w_jobent);
	LIST_INSERT_HEAD(&conn->c_watches, w, w_connent);
	return 0;
}

bool
tpd_job_has_listener(const struct tpd_job *job, const struct tpd_conn *conn)
{
	const struct tpd_watch *w;

	if (job->j_conn == conn)
		return true;
	LIST_FOREACH(w, &job->j_watches, w_jobent)
		if (!w->w_cancel_wait && w->w_conn == conn)
			return true;
	return false;
}

void
tpd_jobs_conn_gone(struct tpd_conn *conn)
{
	struct tpd_job *job;
	struct tpd_watch *w;

	/* Its jobs go on, reported to nobody (status still finds them). */
	while ((job = TAILQ_FIRST(&conn->c_jobs)) != NULL) {
		TAILQ_REMOVE(&conn->c_jobs, job, j_connent);
		job->j_conn = NULL;
	}
	while ((w = LIST_FIRST(&conn->c_watches)) != NULL)
		job_watch_free(w);
}

/* ------------------------------------------------------------ forgetting */

static void
jobs_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tpd_job *job;
	uint64_t now = tpd_now_ns();

	static uint64_t freed_since_trim;

	while ((job = TAILQ_FIRST(&jobs_finished)) != NULL) {
		if (jobs_nfinished <= tpd_opt.o_finished_keep &&
		    now - job->j_final_ns < tpd_opt.o_finished_ttl_ns)
			break;
		TAILQ_REMOVE(&jobs_finished, job, j_listent);
		jobs_nfinished--;
		job_free(job);
		freed_since_trim++;
	}
	/*
	 * Idle after a burst: give the freed memory back to the system
	 * (malloc keeps it otherwise, in every worker's arena), so that a
	 * long-running daemon's footprint follows its load.
	 */
	if (tpd_counters.tc_inflight == 0 && freed_since_trim >= 1024) {
		(void)malloc_trim(0);
		freed_since_trim = 0;
	}
}

/* -------------------------------------------------------------- shutdown */

void
tpd_jobs_stop_all(void)
{
	static const char why[] = "cancelled: the daemon is shutting down";
	struct tpd_job *job, *next;

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
		tpd_warn("job %llu (%s) still running at exit; reporting it failed",
		    (unsigned long long)job->j_id, job->j_name);
		job->j_abandoned = true;
		job_finalize(job);
	}
}

bool
tpd_jobs_any_abandoned(void)
{
	return !TAILQ_EMPTY(&jobs_abandoned);
}

void
tpd_jobs_free_all(void)
{
	struct tpd_job *job, *next;

	/* Jobs still in flight here were never scheduled (setup failed). */
	TAILQ_FOREACH_SAFE(job, &jobs_inflight, j_listent, next) {
		if (job->j_scheduled)
			continue;
		TAILQ_REMOVE(&jobs_inflight, job, j_listent);
		job->j_user->u_inflight--;
		tpd_counters.tc_inflight--;
		job_free(job);
	}
	while ((job = TAILQ_FIRST(&jobs_finished)) != NULL) {
		TAILQ_REMOVE(&jobs_finished, job, j_listent);
		jobs_nfinished--;
		job_free(job);
	}
	if (jobs_reap_ev != NULL) {
		event_free(jobs_reap_ev);
		jobs_reap_ev = NULL;
	}
	if (TAILQ_EMPTY(&jobs_abandoned) && TAILQ_EMPTY(&jobs_inflight)) {
		free(jobs_hash);
		jobs_hash = NULL;
	}
	free(jobs_frame);
	jobs_frame = NULL;
	jobs_frame_cap = 0;
}
