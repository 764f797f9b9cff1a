/*
 * attack_plugins.c -- a plugin that crashes, spins or leaks harms nobody
 * but its own job.  tpoold runs as root with every plugin in worker
 * processes (--isolation process); one user runs jobs of the test plugin
 * "crash" (tests/daemon/crasher.c) that end their worker in every way a
 * plugin can, and one that never stops, while another user's honest jobs
 * run beside them, in the same pools: every honest job succeeds, each bad
 * job ends with one final state saying what happened to it, and the
 * daemon serves on.  (Quarantine, which would refuse the attacker's jobs
 * after a few crashes, is set out of the way: test_isolation tests it.)
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/types.h>

#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "users.h"

#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })
#define	UNBOUND		TPOOL__POOL_KIND__POOL_UNBOUND

static struct td_daemon D;

/* Between the test and the honest user's process (shared memory). */
struct honest {
	atomic_int	h_stop;		/* the test: the attack is over */
	atomic_uint	h_done;		/* jobs that succeeded */
	char		h_why[256];	/* the first that did not */
};
static struct honest *H;

/*
 * The honest user: echo and sha256 jobs, one after another, and a sleep
 * that spans the attack, until told to stop; each must succeed with the
 * right result.  0, or the number of the first check that failed.
 */
static int
honest_jobs(void *arg)
{
	Tpool__JobInfo *j;
	struct tpc *c;
	uint64_t sleeper, id;
	char input[32];
	unsigned int n;
	int rc = 0;

	(void)arg;
	if (tpc_connect(D.td_sock, &c) != 0)
		return 1;
	(void)tpc_set_timeout(c, 30000);
	if (tpc_submit(c, TPC_SUBMIT_ARGS("sleep", "1000", 5), &sleeper) != 0)
		return 2;
	for (n = 0; rc == 0 && (n < 20 || atomic_load(&H->h_stop) == 0);
	    n++) {
		(void)snprintf(input, sizeof(input), "honest %u", n);
		j = NULL;
		if (tpc_submit(c, TPC_SUBMIT_ARGS(n % 2 == 0 ? "echo" :
		    "sha256", input, strlen(input)), &id) != 0 ||
		    tpc_wait_job(c, id, &j, NULL, NULL) != 0 || j == NULL) {
			(void)snprintf(H->h_why, sizeof(H->h_why), "job %u: "
			    "not run", n);
			rc = 3;
			break;
		}
		if (j->state != TPOOL__JOB_STATE__JOB_SUCCEEDED ||
		    (n % 2 == 0 && (j->result.len != strlen(input) ||
		    memcmp(j->result.data, input, j->result.len) != 0))) {
			(void)snprintf(H->h_why, sizeof(H->h_why), "job %u: "
			    "state %d, '%s'", n, j->state, j->message != NULL ?
			    j->message : "");
			rc = 4;
		} else
			atomic_fetch_add(&H->h_done, 1);
		tpool__job_info__free_unpacked(j, NULL);
	}
	j = NULL;
	if (rc == 0 && (tpc_wait_job(c, sleeper, &j, NULL, NULL) != 0 ||
	    j->state != TPOOL__JOB_STATE__JOB_SUCCEEDED)) {
		(void)snprintf(H->h_why, sizeof(H->h_why), "the sleep did not "
		    "succeed");
		rc = 5;
	}
	if (j != NULL)
		tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	return rc;
}

/* What the attacker's jobs do, and how each must end. */
static const struct {
	const char		*input;
	Tpool__JobState		state;
	const char		*message;
} attacks[] = {
	{ "segv", TPOOL__JOB_STATE__JOB_FAILED,
	    "plugin crashed: signal 11 (SIGSEGV)" },
	{ "abort", TPOOL__JOB_STATE__JOB_FAILED,
	    "plugin crashed: signal 6 (SIGABRT)" },
	{ "exit:0", TPOOL__JOB_STATE__JOB_FAILED,
	    "plugin crashed: it exited with status 0" },
	{ "stack", TPOOL__JOB_STATE__JOB_FAILED,
	    "plugin crashed: signal 11 (SIGSEGV)" },
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	/* (A sanitizer's build sets no address space limit.) */
	{ "alloc:4096", TPOOL__JOB_STATE__JOB_FAILED,
	    "plugin crashed: signal 11 (SIGSEGV)" },
#endif
	{ "fork", TPOOL__JOB_STATE__JOB_FAILED,
	    "plugin crashed: a forbidden system call: clone" },
	{ "open", TPOOL__JOB_STATE__JOB_FAILED,
	    "plugin crashed: a forbidden system call: openat" },
	{ "dup", TPOOL__JOB_STATE__JOB_FAILED,
	    "plugin crashed: a forbidden system call: dup" },
	{ "leak:64", TPOOL__JOB_STATE__JOB_SUCCEEDED, NULL },
	{ "fdleak:1000", TPOOL__JOB_STATE__JOB_SUCCEEDED, NULL },
	{ "spin", TPOOL__JOB_STATE__JOB_TIMED_OUT, "time limit of 1000 ms" },
};

/* The final JobInfo of job id (free it), or NULL. */
static Tpool__JobInfo *
final_of(struct tpc *c, uint64_t id)
{
	Tpool__JobInfo *j = NULL;

	if (tpc_wait_job(c, id, &j, NULL, NULL) != 0 && j != NULL) {
		tpool__job_info__free_unpacked(j, NULL);
		j = NULL;
	}
	return j;
}

/* The attacker: each attack once, then each again at once, all running
 * together.  0, or 10 + the attack that ended otherwise. */
static int
attacker_jobs(void *arg)
{
	const size_t n = sizeof(attacks) / sizeof(attacks[0]);
	Tpool__JobInfo *j;
	struct tpc *c;
	uint64_t ids[sizeof(attacks) / sizeof(attacks[0])];
	size_t i;
	int round;

	(void)arg;
	if (tpc_connect(D.td_sock, &c) != 0)
		return 1;
	(void)tpc_set_timeout(c, 30000);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < n; i++) {
			struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;

			a.tsa_plugin = "crash";
			a.tsa_input = attacks[i].input;
			a.tsa_input_len = strlen(attacks[i].input);
			/* Only spin needs one; a worker's start-up (a
			 * sanitizer's build, a loaded machine) must not
			 * make another time out. */
			if (attacks[i].state ==
			    TPOOL__JOB_STATE__JOB_TIMED_OUT)
				a.tsa_timeout_ms = 1000;
			if (tpc_submit(c, &a, &ids[i]) != 0) {
				const char *m = "";

				(void)tpc_last_error(c, &m);
				(void)fprintf(stderr, "crash %s: refused: %s\n",
				    attacks[i].input, m != NULL ? m : "");
				return 2;
			}
			if (round == 1)
				continue;	/* all at once */
			if ((j = final_of(c, ids[i])) == NULL)
				return 3;
			if (j->state != attacks[i].state ||
			    (attacks[i].message != NULL && (j->message ==
			    NULL || strstr(j->message, attacks[i].message) ==
			    NULL))) {
				(void)fprintf(stderr, "crash %s: state %d, "
				    "'%s'\n", attacks[i].input, j->state,
				    j->message != NULL ? j->message : "");
				return 10 + (int)i;
			}
			tpool__job_info__free_unpacked(j, NULL);
		}
	}
	for (i = 0; i < n; i++) {
		if ((j = final_of(c, ids[i])) == NULL)
			return 4;
		if (j->state != attacks[i].state) {
			(void)fprintf(stderr, "crash %s (together): state %d, "
			    "'%s'\n", attacks[i].input, j->state,
			    j->message != NULL ? j->message : "");
			return 10 + (int)i;
		}
		tpool__job_info__free_unpacked(j, NULL);
	}
	tpc_free(c);
	return 0;
}

START_TEST(test_hostile_plugin_harms_no_other_user)
{
	struct ts_user honest, attacker;
	Tpool__JobInfo *j;
	struct tpc *c;
	pid_t pid;
	int rc;

	if (!ts_need_root())
		return;
	ts_user_make(&honest);
	ts_user_make(&attacker);
	H = mmap(NULL, sizeof(*H), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(H, MAP_FAILED);
	memset(H, 0, sizeof(*H));
	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "crash", NULL);
	td_start(&D, NULL, ARGS("--isolation", "process", "--worker-memory",
	    "256M", "--worker-memory-growth", "32M", "--worker-files", "64",
	    "--timeout-grace", "200ms", "--quarantine-crashes", "100"));
	pid = ts_as_user_start(&honest, honest_jobs, NULL);
	rc = ts_as_user(&attacker, attacker_jobs, NULL);
	atomic_store(&H->h_stop, 1);
	ck_assert_msg(rc == 0, "the attacker's jobs: %d", rc);
	rc = ts_wait_child(pid);
	ck_assert_msg(rc == 0, "the honest user's jobs: %d (%s), %u "
	    "succeeded", rc, H->h_why, atomic_load(&H->h_done));
	ck_assert_uint_ge(atomic_load(&H->h_done), 20);
	/* The daemon serves on, and runs crash again. */
	c = td_connect(&D);
	j = td_run_job(c, "crash", "ok", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_expect_log(&D, "worker crashed running job");
	td_down(&D);
	(void)munmap(H, sizeof(*H));
}
END_TEST

static Suite *
attack_plugins_suite(void)
{
	Suite *s = suite_create("attack_plugins");
	TCase *tc = tcase_create("plugins");

	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_hostile_plugin_harms_no_other_user);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	ts_users_sweep();
	return td_main(attack_plugins_suite());
}
