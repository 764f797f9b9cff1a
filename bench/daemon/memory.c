/*
 * memory.c -- what one queued job costs tpoold in memory.
 *
 * A daemon of its own, with one worker thread per pool (--max-threads 1)
 * and limits on jobs in flight above what we queue.  A sleep job takes the
 * unbound pool's only worker (we wait for its JobStarted); then n null jobs
 * are submitted to the same pool, where they can only queue.  VmRSS of the
 * daemon is read before and after (both with no reply waiting to be read),
 * and the daemon's own Stats must agree that n jobs wait: those handed to
 * the pool (its queued) and those the daemon holds for their turn
 * (jobs_waiting_turn: it hands a pool only a few more jobs than it has
 * threads), else the figure is not reported.  Then SIGTERM: the daemon cancels every
 * queued job and reports each; how long it takes to stop is reported too.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "bench.h"
#include "tpclient.h"

#define	MEM_WINDOW	10000		/* submits without their reply */
#define	MEM_SLEEP_MS	"300000"	/* longer than any run; cancelled */
#define	MEM_STOP_MS	60000

/* Wait for the JobStarted of job id (other events are dropped). */
static int
mem_wait_started(struct tpc *c, uint64_t id)
{
	Tpool__Event *ev;
	bool started;
	int error;

	for (;;) {
		if ((error = tpc_next_event(c, &ev)) != 0)
			return error;
		started = ev->job_id == id &&
		    ev->kind_case == TPOOL__EVENT__KIND_STARTED;
		if (ev->job_id == id &&
		    ev->kind_case == TPOOL__EVENT__KIND_FINISHED) {
			tpool__event__free_unpacked(ev, NULL);
			return ECANCELED;
		}
		tpool__event__free_unpacked(ev, NULL);
		if (started)
			return 0;
	}
}

/* Submit n null jobs pipelined; read every reply.  Events are dropped. */
static int
mem_submit(struct tpc *c, uint64_t n, char *msg, size_t msglen)
{
	Tpool__ServerMessage *m;
	uint64_t sent = 0, replies = 0;
	int error;

	while (replies < n) {
		while (sent < n && sent - replies < MEM_WINDOW) {
			if ((error = tpc_send_submit(c, TPC_SUBMIT_ARGS("echo", NULL, 0), NULL)) != 0)
				goto fail;
			sent++;
		}
		do {
			if ((error = tpc_read_message(c, &m)) != 0)
				goto fail;
			if (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE) {
				if (m->response->body_case ==
				    TPOOL__RESPONSE__BODY_ERROR) {
					(void)snprintf(msg, msglen, "tpoold refused "
					    "queued job %llu: %s: %s",
					    (unsigned long long)replies + 1,
					    tp_error_name(m->response->error->code),
					    m->response->error->message != NULL ?
					    m->response->error->message : "");
					tpool__server_message__free_unpacked(m, NULL);
					return EPROTO;
				}
				replies++;
			} else if (m->event->kind_case ==
			    TPOOL__EVENT__KIND_FINISHED &&
			    m->event->job_id != 0) {
				/*
				 * A null job ran: the pool was not capped, so
				 * they do not stay queued.
				 */
				(void)snprintf(msg, msglen, "a null job ran while "
				    "the only worker was busy (is --max-threads "
				    "applied to the unbound pool?)");
				tpool__server_message__free_unpacked(m, NULL);
				return EPROTO;
			}
			tpool__server_message__free_unpacked(m, NULL);
		} while (tpc_pending(c) > 0);
	}
	return 0;

fail:
	(void)snprintf(msg, msglen, "submitting: %s", tpc_strerror(error));
	return error;
}

void
mem_run(uint64_t n, struct mem_result *res)
{
	char sock[128], log[128], maxjobs[32];
	const char *extra[8];
	Tpool__StatsReply *st;
	struct tpc *c = NULL;
	uint64_t sleep_id, t0, stop_ns;
	pid_t pid;
	size_t i;
	int error, status;

	memset(res, 0, sizeof(*res));
	(void)snprintf(sock, sizeof(sock), "%s/mem.sock", bench_config.bc_tmpdir);
	(void)snprintf(log, sizeof(log), "%s/mem.log", bench_config.bc_tmpdir);
	(void)snprintf(maxjobs, sizeof(maxjobs), "%llu",
	    (unsigned long long)n + 16);
	extra[0] = "--max-threads";
	extra[1] = "1";
	extra[2] = "--max-jobs";
	extra[3] = maxjobs;
	extra[4] = "--max-jobs-per-client";
	extra[5] = maxjobs;
	extra[6] = NULL;
	if ((error = proc_daemon_start(sock, log, extra, -1, &pid)) != 0) {
		(void)snprintf(res->m_error, sizeof(res->m_error),
		    "cannot start tpoold with --max-threads 1: %s", strerror(error));
		return;
	}
	if ((error = tpc_connect(sock, &c)) != 0) {
		(void)snprintf(res->m_error, sizeof(res->m_error),
		    "connect: %s", tpc_strerror(error));
		goto stop;
	}
	(void)tpc_set_timeout(c, BENCH_CALL_TIMEOUT_MS);
	error = tpc_submit(c, TPC_SUBMIT_ARGS("sleep", MEM_SLEEP_MS, strlen(MEM_SLEEP_MS)), &sleep_id);
	if (error == 0)
		error = mem_wait_started(c, sleep_id);
	if (error != 0) {
		(void)snprintf(res->m_error, sizeof(res->m_error), "the sleep job "
		    "that holds the worker: %s%s%s", tpc_strerror(error),
		    error == TPC_EDAEMON ? ": " : "",
		    error == TPC_EDAEMON ? tp_error_name(tpc_last_error(c, NULL)) : "");
		goto stop;
	}

	res->m_rss_before_kib = proc_rss_kib(pid);
	t0 = tu_now_ns();
	if ((error = mem_submit(c, n, res->m_error, sizeof(res->m_error))) != 0)
		goto stop;
	res->m_submit_secs = (double)(tu_now_ns() - t0) / 1e9;
	if ((error = tpc_stats(c, &st)) != 0) {
		(void)snprintf(res->m_error, sizeof(res->m_error), "stats: %s",
		    tpc_strerror(error));
		goto stop;
	}
	res->m_rss_after_kib = proc_rss_kib(pid);
	res->m_in_flight = st->jobs_in_flight;
	res->m_waiting_turn = st->jobs_waiting_turn;
	for (i = 0; i < st->n_pools; i++) {
		if (st->pools[i]->pool == TPOOL__POOL_KIND__POOL_UNBOUND &&
		    st->pools[i]->priority == -1)
			res->m_pool_queued = st->pools[i]->queued;
	}
	tpool__stats_reply__free_unpacked(st, NULL);
	res->m_jobs = n;
	if (res->m_rss_before_kib < 0 || res->m_rss_after_kib < 0) {
		(void)snprintf(res->m_error, sizeof(res->m_error),
		    "cannot read VmRSS of tpoold");
		goto stop;
	}
	if ((uint64_t)res->m_pool_queued + res->m_waiting_turn < n) {
		(void)snprintf(res->m_error, sizeof(res->m_error), "tpoold's stats "
		    "say %u jobs queued in the unbound pool and %u waiting their "
		    "turn, not %llu", res->m_pool_queued, res->m_waiting_turn,
		    (unsigned long long)n);
		goto stop;
	}
	res->m_bytes_per_job = ((double)res->m_rss_after_kib -
	    (double)res->m_rss_before_kib) * 1024.0 / (double)n;
	res->m_valid = true;

stop:
	/* Gone first, so the daemon's many cancelled events go nowhere. */
	tpc_free(c);
	error = proc_stop(pid, MEM_STOP_MS, &stop_ns, &status);
	res->m_stop_secs = (double)stop_ns / 1e9;
	res->m_stop_clean = error == 0 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;
	if (!res->m_valid)
		proc_show_log(log);
}
