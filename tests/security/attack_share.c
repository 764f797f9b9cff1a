/*
 * attack_share.c -- what one user's jobs may do to another's: users take
 * turns in each pool, jobs running at once in all pools are bounded
 * (--max-running), so a user's job does not wait behind another's
 * queue of long jobs; finished results are kept per user (--finished-keep
 * counts each user's jobs), so a flood of another uid's jobs never pushes
 * a user's result out.  Finding 10 of the shared-service review, played
 * by throwaway users against a tpoold run as root.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "part.h"
#include "users.h"

#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })
#define	KEEP		20

static struct td_daemon D;

/* As the victim: run one echo job to its end; its id to the pipe. */
static int
victim_job(void *arg)
{
	int fd = *(int *)arg;
	Tpool__JobInfo *fin;
	uint64_t id;
	struct tpc *c;

	if (tpc_connect(D.td_sock, &c) != 0)
		return 10;
	(void)tpc_set_timeout(c, 20000);
	if (tpc_submit(c, TPC_SUBMIT_ARGS("echo", "mine", 4), &id) != 0)
		return 11;
	if (tpc_wait_job(c, id, &fin, NULL, NULL) != 0)
		return 12;
	tpool__job_info__free_unpacked(fin, NULL);
	(void)!write(fd, &id, sizeof(id));
	tpc_free(c);
	return 0;
}

/* As the flooder: many more finished jobs than the keep, one by one. */
static int
flood_jobs(void *arg)
{
	unsigned int n = *(unsigned int *)arg, i;
	Tpool__JobInfo *fin;
	uint64_t id;
	struct tpc *c;

	if (tpc_connect(D.td_sock, &c) != 0)
		return 20;
	(void)tpc_set_timeout(c, 20000);
	for (i = 0; i < n; i++) {
		if (tpc_submit(c, TPC_SUBMIT_ARGS("echo", NULL, 0), &id) != 0)
			return 21;
		if (tpc_wait_job(c, id, &fin, NULL, NULL) != 0)
			return 22;
		tpool__job_info__free_unpacked(fin, NULL);
	}
	tpc_free(c);
	return 0;
}

/* As the victim again: the result is still there. */
static int
victim_result_kept(void *arg)
{
	uint64_t id = *(uint64_t *)arg;
	Tpool__StatusReply *sr;
	struct tpc *c;
	int rc = 0;

	if (tpc_connect(D.td_sock, &c) != 0)
		return 30;
	(void)tpc_set_timeout(c, 20000);
	if (tpc_status(c, id, &sr) != 0)
		return 31;
	if (sr->n_jobs != 1 || !sr->jobs[0]->has_result ||
	    sr->jobs[0]->result.len != 4 ||
	    memcmp(sr->jobs[0]->result.data, "mine", 4) != 0)
		rc = 32;
	tpool__status_reply__free_unpacked(sr, NULL);
	tpc_free(c);
	return rc;
}

/*
 * As the flooder: only its newest KEEP finished jobs are kept (the reaper
 * runs at the end of a loop iteration: give it the deadline).
 */
static int
flooder_kept(void *arg)
{
	uint64_t end = tu_now_ms() + *(unsigned int *)arg;
	Tpool__StatusReply *sr;
	struct tpc *c;
	size_t n;

	if (tpc_connect(D.td_sock, &c) != 0)
		return 40;
	(void)tpc_set_timeout(c, 20000);
	for (;;) {
		if (tpc_status_all(c, &sr) != 0)
			return 41;
		n = sr->n_jobs;
		tpool__status_reply__free_unpacked(sr, NULL);
		if (n <= KEEP)
			break;
		if (tu_now_ms() > end)
			return 42;
		td_sleep_ms(20);
	}
	tpc_free(c);
	return 0;
}

START_TEST(test_one_users_jobs_never_evict_anothers)
{
	struct ts_user victim, flooder;
	unsigned int n = 10 * KEEP, deadline = td_deadline_ms();
	uint64_t id = 0;
	char keep[16];
	int p[2];

	if (!ts_need_root())
		return;
	ts_user_make(&victim);
	ts_user_make(&flooder);
	(void)snprintf(keep, sizeof(keep), "%u", KEEP);
	td_up(&D, ARGS("--finished-keep", keep));
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(ts_as_user(&victim, victim_job, &p[1]), 0);
	ck_assert_int_eq(read(p[0], &id, sizeof(id)), sizeof(id));
	ck_assert_int_eq(ts_as_user(&flooder, flood_jobs, &n), 0);
	ck_assert_int_eq(ts_as_user(&flooder, flooder_kept, &deadline), 0);
	ck_assert_int_eq(ts_as_user(&victim, victim_result_kept, &id), 0);
	(void)close(p[0]);
	(void)close(p[1]);
	td_down(&D);
}
END_TEST

/* ------------------------------------------------------------- turns */

#define	LONG_JOBS	40

struct turns {
	int	t_ready[2];	/* the flooder has queued its jobs */
	int	t_go[2];	/* the victim is done: cancel them */
};

/* As the flooder: queue LONG_JOBS sleeps of 500 ms, wait, cancel them. */
static int
queue_long_jobs(void *arg)
{
	struct turns *t = arg;
	Tpool__CancelReply *cr;
	uint64_t ids[LONG_JOBS];
	struct tpc *c;
	unsigned int i;
	char b;

	if (tpc_connect(D.td_sock, &c) != 0)
		return 50;
	(void)tpc_set_timeout(c, 20000);
	for (i = 0; i < LONG_JOBS; i++)
		if (tpc_submit(c, TPC_SUBMIT_ARGS("sleep", "500", 3),
		    &ids[i]) != 0)
			return 51;
	(void)!write(t->t_ready[1], "r", 1);
	(void)!read(t->t_go[0], &b, 1);
	for (i = 0; i < LONG_JOBS; i++) {
		if (tpc_cancel(c, ids[i], true, &cr) != 0)
			return 52;
		tpool__cancel_reply__free_unpacked(cr, NULL);
	}
	tpc_free(c);
	return 0;
}

/* As the victim: one echo job; its submit-to-end time through the pipe. */
static int
timed_echo(void *arg)
{
	int fd = *(int *)arg;
	Tpool__JobInfo *fin;
	uint64_t t0, ms, id;
	struct tpc *c;
	int rc = 0;

	if (tpc_connect(D.td_sock, &c) != 0)
		return 60;
	(void)tpc_set_timeout(c, 30000);
	t0 = tu_now_ms();
	if (tpc_submit(c, TPC_SUBMIT_ARGS("echo", "mine", 4), &id) != 0)
		return 61;
	if (tpc_wait_job(c, id, &fin, NULL, NULL) != 0)
		return 62;
	ms = tu_now_ms() - t0;
	if (fin->state != TPOOL__JOB_STATE__JOB_SUCCEEDED)
		rc = 63;
	tpool__job_info__free_unpacked(fin, NULL);
	(void)!write(fd, &ms, sizeof(ms));
	tpc_free(c);
	return rc;
}

/*
 * With two threads, one user's 40 jobs of 0.5 s queued first: another
 * user's echo job runs when a thread is next free (about 0.5 s), not
 * after the 40 (10 s).  The bound (3.5 s) allows for slow builds
 * (sanitizers, valgrind: the sleeps take real time whatever the build) and
 * still fails by far if the pool were one queue.
 */
START_TEST(test_users_take_turns_in_a_pool)
{
	struct ts_user victim, flooder;
	struct turns t;
	uint64_t ms = 0;
	int p[2];
	pid_t pid;
	char r;

	if (!ts_need_root())
		return;
	ts_user_make(&victim);
	ts_user_make(&flooder);
	td_up(&D, ARGS("--max-threads", "2"));
	ck_assert_int_eq(pipe(t.t_ready), 0);
	ck_assert_int_eq(pipe(t.t_go), 0);
	ck_assert_int_eq(pipe(p), 0);
	pid = ts_as_user_start(&flooder, queue_long_jobs, &t);
	ck_assert_int_eq(read(t.t_ready[0], &r, 1), 1);
	ck_assert_int_eq(ts_as_user(&victim, timed_echo, &p[1]), 0);
	ck_assert_int_eq(read(p[0], &ms, sizeof(ms)), sizeof(ms));
	(void)fprintf(stderr, "the victim's echo job: %llu ms from submit "
	    "to end, behind %d jobs of 500 ms on 2 threads\n",
	    (unsigned long long)ms, LONG_JOBS);
	ck_assert_int_eq(write(t.t_go[1], "g", 1), 1);
	ck_assert_int_eq(ts_wait_child(pid), 0);
	ck_assert_msg(ms < 3500, "the victim waited %llu ms",
	    (unsigned long long)ms);
	(void)close(p[0]);
	(void)close(p[1]);
	td_down(&D);
}
END_TEST

/* ----------------------------------------------------- threads in all */

#define	PER_POOL	4
#define	RUNNING_MAX	5

/*
 * One client spreads jobs over several pools (the unbound one and the
 * per-CPU pools of two CPUs), each pool's cap (--max-threads 4) over: no
 * more than --max-running 5 run at once in all of them, and all of them
 * run in the end.
 */
START_TEST(test_running_jobs_bounded_in_all_pools)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__StatusReply *sr;
	unsigned int running, peak = 0, done = 0, i;
	uint64_t end;
	struct tpc *c;
	uint64_t id;
	size_t j;
	char cap[16], run[16], gate[128];
	bool opened = false;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		(void)fprintf(stderr, "skipped: needs 2 CPUs\n");
		return;
	}
	(void)snprintf(cap, sizeof(cap), "%d", PER_POOL);
	(void)snprintf(run, sizeof(run), "%d", RUNNING_MAX);
	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_start(&D, NULL, ARGS("--max-threads", cap, "--max-running", run));
	c = td_connect(&D);
	/* Jobs that run until the gate opens: until then, as many run as
	 * may, however slowly they are submitted. */
	td_gate_input(&D, gate, sizeof(gate));
	a.tsa_plugin = "probe";
	a.tsa_input = gate;
	a.tsa_input_len = strlen(gate);
	for (i = 0; i < 3 * PER_POOL; i++) {
		a.tsa_pool = i % 3 == 0 ? TPOOL__POOL_KIND__POOL_UNBOUND :
		    TPOOL__POOL_KIND__POOL_PERCPU;
		a.tsa_cpu = i % 3 == 0 ? -1 : (int)(i % 3) - 1;
		ck_assert_int_eq(tpc_submit(c, &a, &id), 0);
	}
	end = tu_now_ms() + td_deadline_ms();
	while (done < 3 * PER_POOL) {
		ck_assert_msg(tu_now_ms() < end, "%u of %d jobs done, at most "
		    "%u running at once", done, 3 * PER_POOL, peak);
		ck_assert_int_eq(tpc_status_all(c, &sr), 0);
		running = done = 0;
		for (j = 0; j < sr->n_jobs; j++) {
			if (sr->jobs[j]->state == TPOOL__JOB_STATE__JOB_RUNNING)
				running++;
			else if (sr->jobs[j]->state ==
			    TPOOL__JOB_STATE__JOB_SUCCEEDED)
				done++;
		}
		tpool__status_reply__free_unpacked(sr, NULL);
		ck_assert_uint_le(running, RUNNING_MAX);
		if (running > peak)
			peak = running;
		if (running == RUNNING_MAX && !opened) {
			td_gate_open(&D);
			opened = true;
		}
		td_sleep_ms(20);
	}
	ck_assert_uint_eq(peak, RUNNING_MAX);
	tpc_free(c);
	td_down(&D);
}
END_TEST

#define	HOG_JOBS	12
#define	HOG_RUNNING	4

/*
 * As the hog: HOG_JOBS sleeps of 30 s over three pools (the unbound one,
 * CPU 0's and CPU 1's), HOG_RUNNING of them running (all --max-running
 * allows); they go on when it leaves.
 */
static int
hog_many_pools(void *arg)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	unsigned int i;
	struct tpc *c;
	uint64_t id;

	(void)arg;
	if (tpc_connect(D.td_sock, &c) != 0)
		return 70;
	a.tsa_plugin = "sleep";
	a.tsa_input = "30000";
	a.tsa_input_len = 5;
	for (i = 0; i < HOG_JOBS; i++) {
		a.tsa_pool = i % 3 == 0 ? TPOOL__POOL_KIND__POOL_UNBOUND :
		    TPOOL__POOL_KIND__POOL_PERCPU;
		a.tsa_cpu = i % 3 == 0 ? -1 : (int)(i % 3) - 1;
		if (tpc_submit(c, &a, &id) != 0)
			return 71;
	}
	tpc_free(c);
	return 0;
}

/* As the victim: three echo jobs in a pool of its own, one after another,
 * each to its end. */
static int
victim_runs_jobs(void *arg)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	unsigned int i;
	struct tpc *c;
	int rc = 0;

	(void)arg;
	if (tpc_connect(D.td_sock, &c) != 0)
		return 80;
	(void)tpc_set_timeout(c, 20000);
	a.tsa_plugin = "echo";
	a.tsa_input = "mine";
	a.tsa_input_len = 4;
	a.tsa_priority = 3;
	for (i = 0; i < 3 && rc == 0; i++)
		if ((rc = ts_run_job(c, &a, NULL)) != 0)
			rc += 80;
	tpc_free(c);
	return rc;
}

/*
 * One user's long jobs over many pools take every thread --max-running
 * allows: another user's jobs, in a pool of their own, still run, one at
 * a time, while the first user's are all still queued or running (users
 * take turns for those threads, and a user with nothing running may
 * always start one job).
 */
START_TEST(test_max_running_shared_by_users)
{
	struct ts_user hog, victim;
	Tpool__StatusReply *sr;
	unsigned int unfinished = 0;
	char run[16];
	struct tpc *root;
	size_t i;

	if (!ts_need_root())
		return;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		(void)fprintf(stderr, "skipped: needs 2 CPUs\n");
		return;
	}
	ts_user_make(&hog);
	ts_user_make(&victim);
	(void)snprintf(run, sizeof(run), "%d", HOG_RUNNING);
	td_up(&D, ARGS("--max-threads", "4", "--max-running", run));
	ck_assert_int_eq(ts_as_user(&hog, hog_many_pools, NULL), 0);
	ck_assert_int_eq(ts_as_user(&victim, victim_runs_jobs, NULL), 0);
	/* The hog's jobs, 30 s each, had not ended meanwhile. */
	root = td_connect(&D);
	ck_assert_int_eq(tpc_status_all_users(root, &sr), 0);
	for (i = 0; i < sr->n_jobs; i++)
		if (sr->jobs[i]->uid == hog.tu_uid &&
		    (sr->jobs[i]->state == TPOOL__JOB_STATE__JOB_QUEUED ||
		    sr->jobs[i]->state == TPOOL__JOB_STATE__JOB_RUNNING))
			unfinished++;
	tpool__status_reply__free_unpacked(sr, NULL);
	tpc_free(root);
	ck_assert_uint_eq(unfinished, HOG_JOBS);
	td_down(&D);
}
END_TEST

static Suite *
attack_share_suite(void)
{
	Suite *s = suite_create("attack_share");
	TCase *tc = tcase_create("shares");

	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_users_take_turns_in_a_pool);
	tcase_add_test(tc, test_running_jobs_bounded_in_all_pools);
	tcase_add_test(tc, test_max_running_shared_by_users);
	tcase_add_test(tc, test_one_users_jobs_never_evict_anothers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	ts_users_sweep();
	return td_main(attack_share_suite());
}
