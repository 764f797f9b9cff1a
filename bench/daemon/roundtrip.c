/*
 * roundtrip.c -- k clients, one thread and one connection each, doing
 * round trips as fast as they can: against tpoold a submit of the null job
 * (the echo plugin, empty input) and the wait for its JobFinished event,
 * against the echo floor one frame of the same size out and back.
 *
 * Each thread connects and warms up on its own, then all meet at a barrier;
 * from there every round trip takes a ticket from one shared counter until
 * -n tickets are gone, so all threads stop within one round trip of each
 * other and the aggregate rate is -n over the time from the barrier to the
 * last round trip.  Each round trip's latency is recorded; the median and
 * 99th percentile are over all of them.  A measurement also stops at its
 * deadline (--row-limit), and says so.
 *
 * Shared between the threads: rt_shared's tickets (atomic), stop flag
 * (atomic) and gate (its lock); each thread writes only its own rt_thread.
 */
#include "config.h"

#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "frame.h"
#include "tpclient.h"

#define	RT_WARMUP_MAX	200	/* round trips per thread before timing */

/*
 * A barrier that one thread can pass for several (pthread_barrier_t cannot):
 * main stands in for client threads that could not be started, so that
 * those that did are never left waiting.
 */
struct rt_gate {
	pthread_mutex_t		g_lock;
	pthread_cond_t		g_cv;
	unsigned int		g_need;		/* c: arrivals per round */
	unsigned int		g_count;	/* g_lock: arrivals this round */
	unsigned int		g_round;	/* g_lock */
};

struct rt_shared {
	enum rt_kind		rs_kind;	/* c */
	const char		*rs_path;	/* c */
	int			rs_cpu;		/* c */
	size_t			rs_frame_len;	/* c */
	uint64_t		rs_nops;	/* c */
	unsigned int		rs_warmup;	/* c: per thread */
	uint64_t		rs_limit_ns;	/* c */
	struct rt_gate		rs_gate;
	atomic_uint_fast64_t	rs_tickets;
	atomic_bool		rs_stop;	/* a thread failed or time is up */
	atomic_bool		rs_truncated;
	uint64_t		rs_start_ns;	/* set by main before the 2nd gate */
};

struct rt_thread {
	pthread_t		rt_thread;
	struct rt_shared	*rt_sh;
	unsigned int		rt_index;
	struct samples		rt_lat;
	uint64_t		rt_end_ns;	/* after its last round trip */
	uint64_t		rt_cpu_ns;	/* CPU time of its timed part */
	uint64_t		rt_sleeps;	/* voluntary switches, timed part */
	int			rt_error;
	char			rt_msg[160];
};

/* Arrive n times at the gate; wait until the round is complete. */
static void
rt_gate_arrive(struct rt_gate *g, unsigned int n)
{
	unsigned int round;

	(void)pthread_mutex_lock(&g->g_lock);
	round = g->g_round;
	g->g_count += n;
	if (g->g_count >= g->g_need) {
		g->g_count = 0;
		g->g_round++;
		(void)pthread_cond_broadcast(&g->g_cv);
	} else {
		while (g->g_round == round)
			(void)pthread_cond_wait(&g->g_cv, &g->g_lock);
	}
	(void)pthread_mutex_unlock(&g->g_lock);
}

Tpool__PoolKind
rt_pool_kind(void)
{
	return bench_config.bc_percpu ? TPOOL__POOL_KIND__POOL_PERCPU :
	    TPOOL__POOL_KIND__POOL_UNBOUND;
}

void
rt_fill_submit(Tpool__Request *req, Tpool__Submit *sub, uint64_t request_id)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;

	/* As the client library fills it. */
	a.tsa_plugin = "echo";
	a.tsa_pool = rt_pool_kind();
	*req = (Tpool__Request)TPOOL__REQUEST__INIT;
	tpc_fill_submit(req, sub, &a);
	req->has_request_id = true;
	req->request_id = request_id;
}

size_t
rt_submit_frame_len(void)
{
	Tpool__Request req;
	Tpool__Submit sub;

	/* A request id as a run of -n reaches. */
	rt_fill_submit(&req, &sub, 1000);
	return TP_FRAME_HDR_LEN + tpool__request__get_packed_size(&req);
}

/* One null job: submit, wait for its end; it must have succeeded. */
static int
rt_null_job(struct tpc *c, char *msg, size_t msglen)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__JobInfo *ji;
	const char *dmsg;
	uint64_t id;
	int error;

	a.tsa_plugin = "echo";
	a.tsa_pool = rt_pool_kind();
	error = tpc_submit(c, &a, &id);
	if (error == 0)
		error = tpc_wait_job(c, id, &ji, NULL, NULL);
	if (error == TPC_EDAEMON) {
		(void)tpc_last_error(c, &dmsg);
		(void)snprintf(msg, msglen, "tpoold: %s: %s",
		    tp_error_name(tpc_last_error(c, NULL)), dmsg);
		return error;
	}
	if (error != 0) {
		(void)snprintf(msg, msglen, "tpoold: %s", tpc_strerror(error));
		return error;
	}
	if (!ji->has_state || ji->state != TPOOL__JOB_STATE__JOB_SUCCEEDED) {
		(void)snprintf(msg, msglen, "tpoold: null job %llu ended in state "
		    "%d: %s", (unsigned long long)id, (int)ji->state,
		    ji->message != NULL ? ji->message : "");
		tpool__job_info__free_unpacked(ji, NULL);
		return EPROTO;
	}
	tpool__job_info__free_unpacked(ji, NULL);
	return 0;
}

/* How often this thread has gone to sleep (waiting in poll, recv...). */
static uint64_t
rt_thread_sleeps(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_nvcsw;
}

/* One round trip of the thread's kind; a failure is described in rt_msg. */
static int
rt_one(struct rt_thread *t, struct tpc *c, int fd, const uint8_t *frame,
    uint8_t *rbuf)
{
	int error;

	if (t->rt_sh->rs_kind == RT_TPOOLD)
		return rt_null_job(c, t->rt_msg, sizeof(t->rt_msg));
	if ((error = floor_roundtrip(fd, frame, rbuf, t->rt_sh->rs_frame_len)) != 0)
		(void)snprintf(t->rt_msg, sizeof(t->rt_msg), "echo: %s",
		    strerror(error));
	return error;
}

static void *
rt_thread_main(void *arg)
{
	struct rt_thread *t = arg;
	struct rt_shared *sh = t->rt_sh;
	struct tpc *c = NULL;
	uint8_t *frame = NULL, *rbuf = NULL;
	uint64_t t0, t1, cpu0, sleeps0;
	unsigned int i;
	int fd = -1, error = 0;

	if (sh->rs_cpu >= 0 && (error = proc_pin_self(sh->rs_cpu)) != 0) {
		(void)snprintf(t->rt_msg, sizeof(t->rt_msg), "cannot pin to CPU %d: %s",
		    sh->rs_cpu, strerror(error));
		goto ready;
	}
	if (sh->rs_kind == RT_TPOOLD) {
		if ((error = tpc_connect(sh->rs_path, &c)) != 0) {
			(void)snprintf(t->rt_msg, sizeof(t->rt_msg), "connect to "
			    "tpoold: %s", tpc_strerror(error));
			goto ready;
		}
		(void)tpc_set_timeout(c, BENCH_CALL_TIMEOUT_MS);
	} else {
		frame = malloc(sh->rs_frame_len);
		rbuf = malloc(sh->rs_frame_len);
		if (frame == NULL || rbuf == NULL) {
			error = ENOMEM;
			(void)snprintf(t->rt_msg, sizeof(t->rt_msg), "no memory");
			goto ready;
		}
		tp_frame_put_header(frame, (uint32_t)(sh->rs_frame_len -
		    TP_FRAME_HDR_LEN));
		memset(frame + TP_FRAME_HDR_LEN, 0x5a,
		    sh->rs_frame_len - TP_FRAME_HDR_LEN);
		if ((error = floor_connect(sh->rs_path, &fd)) != 0) {
			(void)snprintf(t->rt_msg, sizeof(t->rt_msg), "connect to the "
			    "echo server: %s", strerror(error));
			goto ready;
		}
	}
	/* Warm up: the daemon's workers, both sides' buffers, the caches. */
	for (i = 0; i < sh->rs_warmup && error == 0; i++)
		error = rt_one(t, c, fd, frame, rbuf);

ready:
	t->rt_error = error;
	if (error != 0)
		atomic_store(&sh->rs_stop, true);
	/*
	 * Every thread comes here, failed or not, so none waits forever.
	 * Between the two rounds main reads the server's CPU time and the
	 * start time.
	 */
	rt_gate_arrive(&sh->rs_gate, 1);
	rt_gate_arrive(&sh->rs_gate, 1);
	cpu0 = bench_thread_cpu_ns();
	sleeps0 = rt_thread_sleeps();
	t->rt_end_ns = tu_now_ns();
	while (error == 0 && !atomic_load_explicit(&sh->rs_stop,
	    memory_order_relaxed)) {
		if (atomic_fetch_add(&sh->rs_tickets, 1) >= sh->rs_nops)
			break;
		t0 = tu_now_ns();
		if (t0 - sh->rs_start_ns > sh->rs_limit_ns) {
			atomic_store(&sh->rs_truncated, true);
			atomic_store(&sh->rs_stop, true);
			break;
		}
		error = rt_one(t, c, fd, frame, rbuf);
		t1 = tu_now_ns();
		if (error != 0)
			break;
		t->rt_end_ns = t1;
		if ((error = samples_add(&t->rt_lat, t1 - t0)) != 0)
			(void)snprintf(t->rt_msg, sizeof(t->rt_msg), "no memory");
	}
	t->rt_cpu_ns = bench_thread_cpu_ns() - cpu0;
	t->rt_sleeps = rt_thread_sleeps() - sleeps0;
	if (error != 0) {
		t->rt_error = error;
		atomic_store(&sh->rs_stop, true);
	}
	tpc_free(c);
	if (fd >= 0)
		(void)close(fd);
	free(frame);
	free(rbuf);
	return NULL;
}

void
rt_run(enum rt_kind kind, const char *path, pid_t pid, unsigned int nclients,
    uint64_t nops, int cpu, size_t frame_len, struct rt_result *res)
{
	struct rt_shared sh;
	struct rt_thread *threads;
	struct samples all = { NULL, 0, 0 };
	uint64_t end, scpu0 = 0, scpu1 = 0, ccpu = 0, csl = 0, sl0 = 0, sl1 = 0;
	unsigned int i, started;
	bool have_scpu, have_sl;
	int error;

	memset(res, 0, sizeof(*res));
	res->r_clients = nclients;
	memset(&sh, 0, sizeof(sh));
	sh.rs_kind = kind;
	sh.rs_path = path;
	sh.rs_cpu = cpu;
	sh.rs_frame_len = frame_len;
	sh.rs_nops = nops;
	sh.rs_warmup = (unsigned int)(nops / 10 / nclients);
	if (sh.rs_warmup > RT_WARMUP_MAX)
		sh.rs_warmup = RT_WARMUP_MAX;
	if (sh.rs_warmup == 0)
		sh.rs_warmup = 1;
	sh.rs_limit_ns = (uint64_t)bench_config.bc_row_limit_s * 1000000000u;
	atomic_init(&sh.rs_tickets, 0);
	atomic_init(&sh.rs_stop, false);
	atomic_init(&sh.rs_truncated, false);

	if ((threads = calloc(nclients, sizeof(*threads))) == NULL) {
		(void)snprintf(res->r_error, sizeof(res->r_error), "no memory");
		return;
	}
	(void)pthread_mutex_init(&sh.rs_gate.g_lock, NULL);
	(void)pthread_cond_init(&sh.rs_gate.g_cv, NULL);
	sh.rs_gate.g_need = nclients + 1;
	for (started = 0; started < nclients; started++) {
		threads[started].rt_sh = &sh;
		threads[started].rt_index = started;
		if ((error = pthread_create(&threads[started].rt_thread, NULL,
		    rt_thread_main, &threads[started])) != 0)
			break;
	}
	if (started < nclients) {
		atomic_store(&sh.rs_stop, true);
		(void)snprintf(res->r_error, sizeof(res->r_error),
		    "cannot start client thread %u: %s", started, strerror(error));
	}
	/* Main arrives for itself and for each thread that did not start. */
	rt_gate_arrive(&sh.rs_gate, nclients - started + 1);
	have_scpu = pid > 0 && proc_cpu_ns(pid, &scpu0) == 0;
	have_sl = pid > 0 && proc_sleeps(pid, &sl0) == 0;
	sh.rs_start_ns = tu_now_ns();
	rt_gate_arrive(&sh.rs_gate, nclients - started + 1);
	for (i = 0; i < started; i++)
		(void)pthread_join(threads[i].rt_thread, NULL);
	if (have_scpu && proc_cpu_ns(pid, &scpu1) != 0)
		have_scpu = false;
	if (have_sl && (proc_sleeps(pid, &sl1) != 0 || sl1 < sl0))
		have_sl = false;
	(void)pthread_cond_destroy(&sh.rs_gate.g_cv);
	(void)pthread_mutex_destroy(&sh.rs_gate.g_lock);

	end = sh.rs_start_ns;
	for (i = 0; i < started; i++) {
		if (threads[i].rt_error != 0 && res->r_error[0] == '\0')
			(void)snprintf(res->r_error, sizeof(res->r_error),
			    "client %u: %s", i, threads[i].rt_msg[0] != '\0' ?
			    threads[i].rt_msg : strerror(threads[i].rt_error));
		if (threads[i].rt_end_ns > end)
			end = threads[i].rt_end_ns;
		ccpu += threads[i].rt_cpu_ns;
		csl += threads[i].rt_sleeps;
		if (samples_merge(&all, &threads[i].rt_lat) != 0 &&
		    res->r_error[0] == '\0')
			(void)snprintf(res->r_error, sizeof(res->r_error), "no memory");
		samples_free(&threads[i].rt_lat);
	}
	free(threads);

	res->r_truncated = atomic_load(&sh.rs_truncated);
	res->r_ops = all.s_n;
	if (res->r_error[0] == '\0' && all.s_n > 0 && end > sh.rs_start_ns) {
		samples_sort(&all);
		res->r_valid = true;
		res->r_secs = (double)(end - sh.rs_start_ns) / 1e9;
		res->r_ops_per_s = (double)all.s_n / res->r_secs;
		res->r_median_us = (double)samples_pct(&all, 50) / 1e3;
		res->r_p99_us = (double)samples_pct(&all, 99) / 1e3;
		res->r_min_us = (double)all.s_v[0] / 1e3;
		res->r_client_cpu_us = (double)ccpu / 1e3 / (double)all.s_n;
		res->r_client_sleeps = (double)csl / (double)all.s_n;
		res->r_server_cpu_us = have_scpu ?
		    (double)(scpu1 - scpu0) / 1e3 / (double)all.s_n : -1;
		res->r_server_sleeps = have_sl ?
		    (double)(sl1 - sl0) / (double)all.s_n : -1;
	} else if (res->r_error[0] == '\0') {
		(void)snprintf(res->r_error, sizeof(res->r_error),
		    "no round trip completed");
	}
	samples_free(&all);
}
