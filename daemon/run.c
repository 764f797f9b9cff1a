/*
 * run.c -- the worker side of a job, and the way back to the loop.
 *
 * tpd_job_run() is the libtp job function: it runs on one of libtp's
 * worker threads, calls the plugin's tpp_run with a context whose function
 * pointers lead back here, and writes what it saw (when it began, how it
 * ended, the result or message) into the job's worker fields (w in
 * job_impl.h) before it posts the note that tells of them.  It never
 * writes the job's state: the loop does, when it takes the note (jobs.c).
 * It touches nothing of the loop's but its job and the completion queue.
 *
 * The completion queue tells the loop that a job started, reported
 * progress or finished.  No allocation and no lock per note: each job
 * carries its own link and an atomic set of note bits.  A post ORs its bit
 * in; the post that turns the bits from none to some pushes the job on a
 * lock-free stack (compare-and-swap on its head), so a job is on it at
 * most once and fast progress reports coalesce into the latest one.  The
 * loop takes the whole stack at once (one atomic exchange), and for each
 * job swaps its bits for none, then delivers STARTED, PROGRESS, FINISHED,
 * oldest job first, telling jobs.c where the batch begins and ends.
 *
 * Wakeups: only FINISHED wakes the loop (one eventfd write, and only when
 * no wakeup is pending already).  The loop watches the eventfd
 * edge-triggered and never reads it: each write is an edge of its own
 * (eventfd wakes its pollers at every write), so a wakeup costs the loop
 * no read; the counter it leaves growing by one a wakeup would take 2^64
 * of them to fill.  STARTED and PROGRESS wait for the next
 * wakeup, or for a lazy timer that runs every TPD_CQ_LAZY_MS while jobs
 * are in flight.  So a short job costs the loop one wakeup, not three, and
 * a long job's start and progress still reach clients within a few
 * milliseconds.
 *
 *	worker thread                         loop thread
 *	─────────────                         ───────────
 *	start time, CPU
 *	cq_post(STARTED)   (no wakeup)
 *	plugin run(ctx) ─ progress ─▶ cq_post(PROGRESS)  (no wakeup)
 *	                                      lazy timer, or the end of a
 *	                                      loop iteration: deliver (jobs.c
 *	                                      records RUNNING, hooks send)
 *	outcome, result; lock job; job_done; unlock
 *	cq_post(FINISHED) ────(eventfd)─────▶ cq_drain: deliver (jobs.c
 *	                                      records the end, finalizes)
 *
 * Besides its own wakeups, the loop polls the queue before it writes, at
 * the end of each iteration and between two connections' writes
 * (tpd_cq_poll(), one atomic load), and takes it in when a job has ended
 * since: a job that ended while the loop was busy leaves with its reply,
 * and its start with it.  A start alone waits there too, as it waits for
 * the loop's wakeups: taken in by itself it cost a write of its own to a
 * client that would be woken again for the end (with 8 clients of jobs
 * in worker processes, 2.5 sends per job).
 */
#include "config.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cpu-charge.h"
#include "isolate.h"
#include "job_impl.h"
#include "log.h"
#include "options.h"
#include "plugin.h"

#define	RUN_MSG_MAX	4096

struct cq_item {
	struct tpd_job	*ci_job;
	unsigned int	ci_bits;
};

/*
 * The completion queue.  Markings: a = atomic, l = the loop only,
 * c = constant after tpd_cq_init().
 */
static struct {
	_Atomic(struct tpd_job *) cq_head;	/* a: the jobs with notes */
	atomic_bool		cq_wake_pending; /* a: the eventfd was written
						 *    and the loop has not
						 *    drained since */
	int			cq_fd;		/* c: eventfd */
	struct event		*cq_ev;		/* l */
	struct event		*cq_lazy_ev;	/* l: the lazy timer */
	bool			cq_lazy_on;	/* l */
	struct cq_item		*cq_batch;	/* l: the notes delivered */
	size_t			cq_batch_cap;	/* l */
	void			(*cq_deliver)(struct tpd_job *, unsigned int,
				    uint64_t);
						/* c: jobs.c's */
	void			(*cq_batch_fn)(bool);	/* c: jobs.c's */
} cq = {
	.cq_fd = -1,
};

static void
cq_post(struct tpd_job *job, unsigned int bits)
{
	struct tpd_job *head;
	uint64_t one = 1;

	/*
	 * Already queued: the loop will see the new bit when it takes the
	 * job's bits.  After this the poster may not touch the job: a
	 * FINISHED job may be freed by the loop from here on.
	 */
	if (atomic_fetch_or(&job->j_cqbits, bits) == 0) {
		head = atomic_load_explicit(&cq.cq_head, memory_order_relaxed);
		do {
			job->j_cqnext = head;
		} while (!atomic_compare_exchange_weak_explicit(&cq.cq_head,
		    &head, job,
		    memory_order_release, memory_order_relaxed));
	}
	/* Pushed (or already there) before the check: the loop's drain,
	 * which clears the flag before it takes the stack, will see it. */
	if ((bits & TPD_NOTE_FINISHED) &&
	    !atomic_exchange(&cq.cq_wake_pending, true))
		(void)!write(cq.cq_fd, &one, sizeof(one));
}

static void
cq_drain(void)
{
	struct cq_item *batch;
	struct tpd_job *job;
	size_t n = 0, cap, i;
	unsigned int ended;
	uint64_t now;

	atomic_store(&cq.cq_wake_pending, false);
	job = atomic_exchange_explicit(&cq.cq_head, NULL, memory_order_acquire);
	/* Newest first on the stack: collect, then deliver from the end. */
	for (; job != NULL; job = job->j_cqnext) {
		if (n == cq.cq_batch_cap) {
			cap = cq.cq_batch_cap == 0 ? 256 : cq.cq_batch_cap * 2;
			batch = realloc(cq.cq_batch, cap * sizeof(*batch));
			if (batch == NULL) {
				/*
				 * Cannot even remember them: deliver what we
				 * have, put the rest back and come again.
				 */
				tpd_err("out of memory delivering job notes");
				break;
			}
			cq.cq_batch = batch;
			cq.cq_batch_cap = cap;
		}
		cq.cq_batch[n++].ci_job = job;
	}
	if (job != NULL) {
		struct tpd_job *last = job, *head;

		while (last->j_cqnext != NULL)
			last = last->j_cqnext;
		head = atomic_load(&cq.cq_head);
		do {
			last->j_cqnext = head;
		} while (!atomic_compare_exchange_weak(&cq.cq_head, &head,
		    job));
		event_active(cq.cq_ev, EV_READ, 0);
	}
	/*
	 * Take each job's bits only now that its link was read: a post after
	 * this pushes it again (on the new stack) and may rewrite the link.
	 */
	for (i = 0, ended = 0; i < n; i++)
		ended |= cq.cq_batch[i].ci_bits =
		    atomic_exchange(&cq.cq_batch[i].ci_job->j_cqbits, 0);
	/*
	 * A job is in a batch at most once, and freed only after FINISHED.
	 * The batch's ends are taken in at one time: one clock read for
	 * all of them (none for starts and progress alone).
	 */
	now = (ended & TPD_NOTE_FINISHED) != 0 ? tpd_now_ns() : 0;
	cq.cq_batch_fn(true);
	for (i = n; i-- > 0;)
		cq.cq_deliver(cq.cq_batch[i].ci_job, cq.cq_batch[i].ci_bits,
		    now);
	cq.cq_batch_fn(false);
	if (cq.cq_batch_cap > 65536 && n < cq.cq_batch_cap / 4) {
		free(cq.cq_batch);
		cq.cq_batch = NULL;
		cq.cq_batch_cap = 0;
	}
}

static void
cq_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	/* The wakeup is taken by the edge; cq_drain clears the flag before
	 * it looks. */
	cq_drain();
}

void
tpd_cq_poll(void)
{
	/*
	 * Set by the post that pushed an end, after the push.  The end's
	 * wakeup that is already on its way comes for nothing: as cheap as
	 * reading it away would be.
	 */
	if (!atomic_load_explicit(&cq.cq_wake_pending, memory_order_acquire))
		return;
	cq_drain();
}

void
tpd_cq_lazy_timer(bool on)
{
	struct timeval tv = { 0, TPD_CQ_LAZY_MS * 1000 };

	if (on == cq.cq_lazy_on || cq.cq_lazy_ev == NULL)
		return;
	cq.cq_lazy_on = on;
	if (on)
		(void)event_add(cq.cq_lazy_ev, &tv);
	else
		(void)event_del(cq.cq_lazy_ev);
}

int
tpd_cq_init(struct event_base *base,
    void (*deliver)(struct tpd_job *, unsigned int, uint64_t),
    void (*batch)(bool))
{
	int error;

	cq.cq_deliver = deliver;
	cq.cq_batch_fn = batch;
	if ((cq.cq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		error = errno;
		tpd_err("eventfd: %s", strerror(error));
		return error;
	}
	cq.cq_ev = event_new(base, cq.cq_fd, EV_READ | EV_PERSIST | EV_ET,
	    cq_drain_cb, NULL);
	cq.cq_lazy_ev = event_new(base, -1, EV_PERSIST, cq_drain_cb, NULL);
	if (cq.cq_ev == NULL || cq.cq_lazy_ev == NULL ||
	    event_add(cq.cq_ev, NULL) != 0) {
		tpd_err("cannot watch the completion queue");
		return ENOMEM;
	}
	return 0;
}

void
tpd_cq_destroy(void)
{
	if (cq.cq_ev != NULL)
		event_free(cq.cq_ev);
	if (cq.cq_lazy_ev != NULL)
		event_free(cq.cq_lazy_ev);
	cq.cq_ev = cq.cq_lazy_ev = NULL;
	cq.cq_lazy_on = false;
	if (cq.cq_fd >= 0)
		(void)close(cq.cq_fd);
	cq.cq_fd = -1;
	free(cq.cq_batch);
	cq.cq_batch = NULL;
	cq.cq_batch_cap = 0;
}

/* ------------------------------------------------------ the plugin context */

/* A run's context: the plugin sees rc_ctx, the rest is ours.  On the
 * worker's stack; only the worker thread touches it. */
struct run_ctx {
	struct tp_plugin_ctx	rc_ctx;
	struct tpd_job		*rc_job;
	uint8_t			*rc_result;	/* owned, until the job's */
	size_t			rc_result_len;
	size_t			rc_refused_len;	/* a result over the limit */
	char			*rc_message;	/* owned: tp_plugin_fail's */
	bool			rc_nomem;
	bool			rc_permanent;	/* tp_plugin_fail_permanently */
};

#define	RUN_CTX(ctx)	((struct run_ctx *)((char *)(ctx) -		\
	offsetof(struct run_ctx, rc_ctx)))

static int
run_set_result(struct tp_plugin_ctx *ctx, const void *buf, size_t len)
{
	struct run_ctx *rc = RUN_CTX(ctx);
	uint8_t *copy = NULL;

	if (len > tpd_opt.o_max_result) {
		rc->rc_refused_len = len;
		return EFBIG;
	}
	if (len > 0) {
		if ((copy = malloc(len)) == NULL) {
			rc->rc_nomem = true;
			return ENOMEM;
		}
		memcpy(copy, buf, len);
	}
	free(rc->rc_result);
	rc->rc_result = copy;
	rc->rc_result_len = len;
	rc->rc_refused_len = 0;
	return 0;
}

static void
run_fail_permanent(struct tp_plugin_ctx *ctx)
{
	RUN_CTX(ctx)->rc_permanent = true;
}

static void
run_failv(struct tp_plugin_ctx *ctx, const char *fmt, va_list ap)
{
	struct run_ctx *rc = RUN_CTX(ctx);
	char buf[RUN_MSG_MAX];
	char *copy;

	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	if ((copy = strdup(buf)) == NULL) {
		rc->rc_nomem = true;
		return;
	}
	free(rc->rc_message);
	rc->rc_message = copy;
}

static void
run_progress(struct tp_plugin_ctx *ctx, unsigned int percent,
    const char *message)
{
	struct tpd_job *job = RUN_CTX(ctx)->rc_job;

	if (percent > 100)
		percent = 100;
	(void)pthread_mutex_lock(&job->j_lock);
	atomic_store_explicit(&job->j_progress, percent, memory_order_relaxed);
	if (message != NULL)
		(void)snprintf(job->j_progress_msg, sizeof(job->j_progress_msg),
		    "%s", message);
	else
		job->j_progress_msg[0] = '\0';
	(void)pthread_mutex_unlock(&job->j_lock);
	cq_post(job, TPD_NOTE_PROGRESS);
}

static bool
run_cancel_requested(struct tp_plugin_ctx *ctx)
{
	return atomic_load_explicit(&RUN_CTX(ctx)->rc_job->j_cancel,
	    memory_order_relaxed);
}

/* This pool thread's CPU time, charged to its jobs (cpu-charge.h). */
static __thread struct cpu_charge run_cpu;

static char *
run_message(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));

static char *
run_message(const char *fmt, ...)
{
	char buf[RUN_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* NULL on no memory: the job ends without a why. */
	return strdup(buf);
}

void
tpd_job_run(struct threadpool_job *tpjob)
{
	struct tpd_job *job = (struct tpd_job *)((char *)tpjob -
	    offsetof(struct tpd_job, j_tpjob));
	const struct tpd_plugin *plugin = job->j_plugin;
	const struct tp_plugin *desc = tpd_plugin_desc(plugin);
	Tpool__JobState state;
	struct run_ctx rc;
	struct tpd_iso *iso;
	bool killed = false;
	size_t refused;
	uint64_t start, end, cpu_ns;
	char *message = NULL, errbuf[128];
	int r, cpu;

	cpu = sched_getcpu();
	start = tpd_now_ns();
	/*
	 * Cancelled after a worker took it, before the plugin began; or taken
	 * past its deadline.  Looked at without the job lock: the loop may
	 * still hold it, handing libtp this job that a busy worker took at
	 * once, and waiting for it cost a sleep and a wakeup per job of a
	 * pipelining client.  A cancel that comes after the look finds the
	 * plugin started (job_cancel_as() says too late), as one after the
	 * plugin began would.
	 */
	if (atomic_load(&job->j_cancel) || (job->j_deadline_ns != 0 &&
	    start > job->j_deadline_ns)) {
		(void)pthread_mutex_lock(&job->j_lock);
		if (atomic_load(&job->j_cancel)) {
			job->j_outcome = TPOOL__JOB_STATE__JOB_CANCELLED;
			job->j_message = run_message("cancelled before the "
			    "plugin started");
		} else {
			job->j_outcome = TPOOL__JOB_STATE__JOB_EXPIRED;
			job->j_message = run_message("its deadline of %llu ms "
			    "passed before it could start",
			    (unsigned long long)((job->j_deadline_ns -
			    job->j_submit_ns + 500000u) / 1000000u));
		}
		job->j_end_ns = start;
		threadpool_job_done(tpjob);
		(void)pthread_mutex_unlock(&job->j_lock);
		cq_post(job, TPD_NOTE_FINISHED);
		return;
	}
	job->j_start_ns = start;
	job->j_ran_on_cpu = cpu;
	cq_post(job, TPD_NOTE_STARTED);

	memset(&rc, 0, sizeof(rc));
	rc.rc_ctx.ctx_size = sizeof(rc.rc_ctx);
	rc.rc_ctx.ctx_input = job->j_input;
	rc.rc_ctx.ctx_input_len = job->j_input_len;
	rc.rc_ctx.ctx_job_id = job->j_id;
	rc.rc_ctx.ctx_job_name = job->j_name;
	rc.rc_ctx.ctx_plugin_data = tpd_plugin_data(plugin);
	rc.rc_ctx.ctx_set_result = run_set_result;
	rc.rc_ctx.ctx_failv = run_failv;
	rc.rc_ctx.ctx_progress = run_progress;
	rc.rc_ctx.ctx_cancel_requested = run_cancel_requested;
	rc.rc_ctx.ctx_attempt = job->j_attempt;
	rc.rc_ctx.ctx_fail_permanent = run_fail_permanent;
	rc.rc_job = job;

	if ((iso = tpd_plugin_iso(plugin)) != NULL) {
		/* In one of its worker processes; the CPU time is theirs. */
		r = tpd_iso_run(iso, &rc.rc_ctx, tpd_opt.o_max_result,
		    &job->j_kill, &killed, &refused, &cpu_ns);
		if (refused != 0)
			rc.rc_refused_len = refused;
		cpu_charge_forget(&run_cpu);
		end = tpd_now_ns();
	} else {
		/*
		 * Timed from the start read above (the context's set-up
		 * with it, under a microsecond): a clock read less a job.
		 */
		cpu_charge_start(&run_cpu);
		r = desc->tpp_run(&rc.rc_ctx);
		end = tpd_now_ns();
		cpu_ns = cpu_charge_end(&run_cpu, end - start);
	}

	if (atomic_load(&job->j_timed_out)) {
		/* Its time was up (jobs.c): however it ended, it timed out. */
		state = TPOOL__JOB_STATE__JOB_TIMED_OUT;
		message = run_message("ran past its time limit of %llu ms; %s",
		    (unsigned long long)(job->j_timeout_ns / 1000000u),
		    killed ? "its worker process was ended after the grace" :
		    "it stopped within the grace");
	} else if (rc.rc_refused_len != 0) {
		state = TPOOL__JOB_STATE__JOB_FAILED;
		message = run_message("result of %zu bytes is over the limit "
		    "of %zu bytes", rc.rc_refused_len, tpd_opt.o_max_result);
	} else if (r == ECANCELED) {
		state = TPOOL__JOB_STATE__JOB_CANCELLED;
		message = rc.rc_message != NULL ? rc.rc_message :
		    run_message("stopped by the plugin after a cancel "
		    "request");
		rc.rc_message = NULL;
	} else if (r != 0 || rc.rc_message != NULL) {
		state = TPOOL__JOB_STATE__JOB_FAILED;
		if (rc.rc_message != NULL) {
			message = rc.rc_message;
			rc.rc_message = NULL;
		} else
			message = run_message("the plugin failed: %s",
			    strerror_r(r, errbuf, sizeof(errbuf)));
	} else if (rc.rc_nomem) {
		state = TPOOL__JOB_STATE__JOB_FAILED;
		message = run_message("out of memory in the daemon");
	} else {
		state = TPOOL__JOB_STATE__JOB_SUCCEEDED;
	}

	/* What happened, for the loop to record when it takes the note. */
	job->j_outcome = state;
	job->j_end_ns = end;
	job->j_cpu_ns = cpu_ns;
	job->j_message = message;
	job->j_permanent = rc.rc_permanent;
	if (state == TPOOL__JOB_STATE__JOB_SUCCEEDED) {
		job->j_result = rc.rc_result;
		job->j_result_len = rc.rc_result_len;
		rc.rc_result = NULL;
	}
	(void)pthread_mutex_lock(&job->j_lock);
	threadpool_job_done(tpjob);
	(void)pthread_mutex_unlock(&job->j_lock);
	free(rc.rc_result);
	free(rc.rc_message);
	/* The last touch: after this the loop may free the job. */
	cq_post(job, TPD_NOTE_FINISHED);
}
