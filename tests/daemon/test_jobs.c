/*
 * test_jobs.c -- tpoold's job path end to end, through the client library:
 * each example plugin, placement on CPUs and priorities, every cancel
 * answer, watch and status, many clients at once, clients that leave.
 *
 * (Over 800 lines: one Check suite, a test case for each part of the job
 * path -- plugins, placement, cancel, watch and status, load, deadlines,
 * limits -- each test with a daemon of its own from harness.c.)
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define	UNBOUND	TPOOL__POOL_KIND__POOL_UNBOUND
#define	PERCPU	TPOOL__POOL_KIND__POOL_PERCPU
#define	ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })

static struct td_daemon D;

static Tpool__ErrorCode
submit_error(struct tpc *c, const char *plugin, const char *input, Tpool__PoolKind pool,
    int pri, int cpu)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	uint64_t id;
	int error;

	a.tsa_plugin = plugin;
	a.tsa_input = input;
	a.tsa_input_len = input != NULL ? strlen(input) : 0;
	a.tsa_pool = pool;
	a.tsa_priority = pri;
	a.tsa_cpu = cpu;
	error = tpc_submit(c, &a, &id);
	ck_assert_msg(error == TPC_EDAEMON, "submit %s: expected an error, got %s", plugin,
	    error == 0 ? "a job" : tpc_strerror(error));
	return tpc_last_error(c, NULL);
}

static void
expect_result(const Tpool__JobInfo *j, const char *result)
{
	ck_assert_msg(j->state == TPOOL__JOB_STATE__JOB_SUCCEEDED, "state %d (%s)", j->state,
	    j->message != NULL ? j->message : "");
	ck_assert(j->has_result);
	ck_assert_uint_eq(j->result.len, strlen(result));
	ck_assert(j->result.len == 0 || memcmp(j->result.data, result, j->result.len) == 0);
}

/* ------------------------------------------------------------- plugins */

START_TEST(test_echo_result_equals_input)
{
	static const uint8_t input[] = { 'a', 0, 'b', 0xff, '\n', 0 };
	Tpool__JobInfo *j = NULL;
	struct tpc *c;
	uint64_t id;

	td_up(&D, NULL);
	c = td_connect(&D);
	ck_assert_int_eq(tpc_submit(c, TPC_SUBMIT_ARGS("echo", input, sizeof(input)), &id), 0);
	ck_assert_int_eq(tpc_wait_job(c, id, &j, NULL, NULL), 0);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(j->result.len, sizeof(input));
	ck_assert(memcmp(j->result.data, input, sizeof(input)) == 0);
	ck_assert_str_eq(j->plugin, "echo");
	ck_assert_str_eq(j->name, "echo");
	ck_assert_uint_eq(j->uid, getuid());
	ck_assert(j->has_queue_ns && j->has_run_ns && j->has_cpu_ns);
	ck_assert_int_ge(j->ran_on_cpu, 0);
	tpool__job_info__free_unpacked(j, NULL);

	/* An empty input gives an empty result. */
	j = td_run_job(c, "echo", NULL, UNBOUND, -1, -1);
	expect_result(j, "");
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * A job's CPU time is its own: read once at its end against the thread's
 * reading at the end of an earlier job, less what the short jobs between
 * were charged (their run times: daemon/run.c; worker.c reads it for
 * each), so on one thread after many jobs, short ones among them, a
 * sleep still shows little CPU, a hash nearly all of its run time, and
 * none more than its run time.  In both isolations.
 */
START_TEST(test_cpu_time_is_the_jobs_own)
{
	static const char *const isolation[] = { "thread", "process" };
	Tpool__JobInfo *j;
	struct tpc *c;
	unsigned int i, k;

	for (k = 0; k < 2; k++) {
		td_up(&D, ARGS("--max-threads", "1", "--isolation",
		    isolation[k]));
		c = td_connect(&D);
		for (i = 0; i < 20; i++) {
			j = td_run_job(c, "sha256", "repeat:400000:abcdefgh",
			    UNBOUND, -1, -1);
			ck_assert_int_eq(j->state,
			    TPOOL__JOB_STATE__JOB_SUCCEEDED);
			ck_assert(j->has_cpu_ns);
			ck_assert_uint_le(j->cpu_ns, j->run_ns);
			tpool__job_info__free_unpacked(j, NULL);
		}
		for (i = 0; i < 200; i++) {
			j = td_run_job(c, "echo", "", UNBOUND, -1, -1);
			ck_assert_int_eq(j->state,
			    TPOOL__JOB_STATE__JOB_SUCCEEDED);
			ck_assert(j->has_cpu_ns);
			ck_assert_uint_le(j->cpu_ns, j->run_ns);
			tpool__job_info__free_unpacked(j, NULL);
		}
		/*
		 * Half its run time at most: a 100 ms sleep shows about 1 ms
		 * of CPU under ThreadSanitizer, but once 25.7 ms, in a run of
		 * the suite on two vCPUs kept busy beside it.
		 */
		j = td_run_job(c, "sleep", "100", UNBOUND, -1, -1);
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
		ck_assert_uint_ge(j->run_ns, 100000000ull);
		ck_assert_msg(j->cpu_ns < j->run_ns / 2, "%s: a sleep of %llu "
		    "ns used %llu ns of CPU", isolation[k],
		    (unsigned long long)j->run_ns,
		    (unsigned long long)j->cpu_ns);
		tpool__job_info__free_unpacked(j, NULL);
		j = td_run_job(c, "sha256", "repeat:4000000:abcdefgh",
		    UNBOUND, -1, -1);
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
		ck_assert_msg(j->cpu_ns >= j->run_ns / 10 &&
		    j->cpu_ns <= j->run_ns, "%s: a hash of %llu ns used %llu "
		    "ns of CPU", isolation[k], (unsigned long long)j->run_ns,
		    (unsigned long long)j->cpu_ns);
		tpool__job_info__free_unpacked(j, NULL);
		tpc_free(c);
		td_down(&D);
	}
}
END_TEST

START_TEST(test_sha256_known_vectors)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		/* FIPS 180-2's million a's, through the plugin's repeat form */
		{ "repeat:1000000:a",
		  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
		{ "repeat:2:abc", "" },	/* filled below: sha256("abcabc") */
	};
	Tpool__JobInfo *j, *k;
	struct tpc *c;
	size_t i;

	td_up(&D, NULL);
	c = td_connect(&D);
	for (i = 0; i < 4; i++) {
		j = td_run_job(c, "sha256", v[i].in, UNBOUND, -1, -1);
		expect_result(j, v[i].out);
		tpool__job_info__free_unpacked(j, NULL);
	}
	/* "repeat:2:abc" hashes what "abcabc" hashes. */
	j = td_run_job(c, "sha256", v[4].in, UNBOUND, -1, -1);
	k = td_run_job(c, "sha256", "abcabc", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(j->result.len, 64);
	ck_assert(memcmp(j->result.data, k->result.data, 64) == 0);
	tpool__job_info__free_unpacked(j, NULL);
	tpool__job_info__free_unpacked(k, NULL);
	/*
	 * An empty TEXT repeated ever so often hashes nothing, at once (it
	 * used to loop without ever looking at cancel: found by fuzz_conn).
	 */
	j = td_run_job(c, "sha256", "repeat:1000000000000:", UNBOUND, -1, -1);
	expect_result(j, v[0].out);
	tpool__job_info__free_unpacked(j, NULL);
	/* Malformed repeat forms are hashed as they are. */
	j = td_run_job(c, "sha256", "repeat:x:abc", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(j->result.len, 64);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_fail_message)
{
	Tpool__JobInfo *j;
	struct tpc *c;

	td_up(&D, NULL);
	c = td_connect(&D);
	j = td_run_job(c, "fail", "the disk is on fire", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_str_eq(j->message, "the disk is on fire");
	ck_assert(!j->has_result);
	tpool__job_info__free_unpacked(j, NULL);
	j = td_run_job(c, "fail", NULL, UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_ptr_nonnull(j->message);
	ck_assert_uint_gt(strlen(j->message), 0);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

struct progress_seen {
	unsigned int	ps_started;
	unsigned int	ps_progress;
	unsigned int	ps_last;
	bool		ps_backwards;
	bool		ps_message;
};

static void
progress_cb(const Tpool__Event *ev, void *arg)
{
	struct progress_seen *ps = arg;

	if (ev->kind_case == TPOOL__EVENT__KIND_STARTED) {
		ps->ps_started++;
		return;
	}
	if (ev->kind_case != TPOOL__EVENT__KIND_PROGRESS)
		return;
	ps->ps_progress++;
	if (ev->progress->percent < ps->ps_last)
		ps->ps_backwards = true;
	ps->ps_last = ev->progress->percent;
	if (ev->progress->message != NULL)
		ps->ps_message = true;
}

START_TEST(test_sleep_reports_progress)
{
	struct progress_seen ps = { 0 };
	Tpool__JobInfo *j = NULL;
	struct tpc *c;
	uint64_t id;

	td_up(&D, NULL);
	c = td_connect(&D);
	id = td_submit(c, "sleep", "400");
	ck_assert_int_eq(tpc_wait_job(c, id, &j, progress_cb, &ps), 0);
	expect_result(j, "slept 400 ms");
	ck_assert_uint_eq(ps.ps_started, 1);
	ck_assert_uint_ge(ps.ps_progress, 3);
	ck_assert(!ps.ps_backwards);
	ck_assert(ps.ps_message);
	ck_assert_uint_eq(ps.ps_last, 100);
	ck_assert_uint_eq(j->progress, 100);
	ck_assert_uint_ge(j->run_ns, 400000000ull);
	ck_assert_uint_lt(j->cpu_ns, j->run_ns);
	tpool__job_info__free_unpacked(j, NULL);

	/* Bad input fails with a message. */
	j = td_run_job(c, "sleep", "soon", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_ptr_nonnull(strstr(j->message, "milliseconds"));
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_list_plugins)
{
	Tpool__PluginList *pl;
	struct tpc *c;
	unsigned int seen = 0;
	size_t i;

	td_up(&D, NULL);
	c = td_connect(&D);
	ck_assert_int_eq(tpc_list_plugins(c, &pl), 0);
	ck_assert_uint_eq(pl->n_plugins, 4);
	for (i = 0; i < pl->n_plugins; i++) {
		ck_assert_uint_eq(pl->plugins[i]->abi_version, 1);
		ck_assert_uint_gt(strlen(pl->plugins[i]->description), 0);
		if (strcmp(pl->plugins[i]->name, "echo") == 0)
			seen |= 1;
		else if (strcmp(pl->plugins[i]->name, "sleep") == 0)
			seen |= 2;
		else if (strcmp(pl->plugins[i]->name, "fail") == 0)
			seen |= 4;
		else if (strcmp(pl->plugins[i]->name, "sha256") == 0)
			seen |= 8;
	}
	ck_assert_uint_eq(seen, 15);
	tpool__plugin_list__free_unpacked(pl, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_plugin_outcomes)
{
	struct progress_seen ps = { 0 };
	Tpool__JobInfo *j = NULL;
	struct tpc *c;
	uint64_t id;

	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_start(&D, NULL, ARGS("--max-result", "1000"));
	c = td_connect(&D);

	j = td_run_job(c, "probe", "ecanceled", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	ck_assert_ptr_nonnull(j->message);
	tpool__job_info__free_unpacked(j, NULL);

	j = td_run_job(c, "probe", "errno", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_ptr_nonnull(strstr(j->message, strerror(EIO)));
	tpool__job_info__free_unpacked(j, NULL);

	j = td_run_job(c, "probe", "setfail", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_str_eq(j->message, "failed after 3 steps");
	ck_assert(!j->has_result);
	tpool__job_info__free_unpacked(j, NULL);

	/* Results: up to --max-result, and no further. */
	j = td_run_job(c, "probe", "big:1000", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(j->result.len, 1000);
	tpool__job_info__free_unpacked(j, NULL);
	j = td_run_job(c, "probe", "big:1001", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_FAILED);
	ck_assert_ptr_nonnull(strstr(j->message, "1001 bytes"));
	ck_assert_ptr_nonnull(strstr(j->message, "limit of 1000"));
	tpool__job_info__free_unpacked(j, NULL);

	/* Progress: percent clamped to 100, messages passed on. */
	id = td_submit(c, "probe", "progress");
	ck_assert_int_eq(tpc_wait_job(c, id, &j, progress_cb, &ps), 0);
	expect_result(j, "ok");
	ck_assert_uint_ge(ps.ps_progress, 1);
	ck_assert_uint_eq(ps.ps_last, 100);
	ck_assert(!ps.ps_backwards);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_job_name)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__JobInfo *j = NULL;
	struct tpc *c;
	char longname[300];
	uint64_t id;

	td_up(&D, NULL);
	c = td_connect(&D);
	a.tsa_plugin = "echo";
	a.tsa_input = "x";
	a.tsa_input_len = 1;
	a.tsa_name = "my job";
	ck_assert_int_eq(tpc_submit(c, &a, &id), 0);
	ck_assert_int_eq(tpc_wait_job(c, id, &j, NULL, NULL), 0);
	ck_assert_str_eq(j->name, "my job");
	tpool__job_info__free_unpacked(j, NULL);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	a.tsa_name = longname;
	ck_assert_int_eq(tpc_submit(c, &a, &id), TPC_EDAEMON);
	ck_assert_int_eq(tpc_last_error(c, NULL), TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* ----------------------------------------------------------- placement */

static void
probe_sched(struct tpc *c, Tpool__PoolKind pool, int pri, int cpu, int *ret_cpu,
    int *ret_nice, int *ret_policy, int *ret_rtprio, int *ret_ran_on)
{
	Tpool__JobInfo *j = td_run_job(c, "probe", "sched", pool, pri, cpu);
	char buf[128];
	int tid;

	ck_assert_msg(j->state == TPOOL__JOB_STATE__JOB_SUCCEEDED, "probe: %s",
	    j->message != NULL ? j->message : "");
	ck_assert_uint_lt(j->result.len, sizeof(buf));
	memcpy(buf, j->result.data, j->result.len);
	buf[j->result.len] = '\0';
	ck_assert_int_eq(sscanf(buf, "cpu=%d nice=%d policy=%d rtprio=%d tid=%d", ret_cpu,
	    ret_nice, ret_policy, ret_rtprio, &tid), 5);
	ck_assert_int_eq(j->priority, pri);
	ck_assert_int_eq(j->pool, pool);
	*ret_ran_on = j->ran_on_cpu;
	if (pool == PERCPU)
		ck_assert_int_eq(j->cpu, j->ran_on_cpu);
	else
		ck_assert_int_eq(j->cpu, -1);
	tpool__job_info__free_unpacked(j, NULL);
}

static void
start_with_probe(const char *const *prefix, const char *const *args)
{
	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_start(&D, prefix, args);
}

START_TEST(test_percpu_runs_on_each_cpu)
{
	int cpu, nice, policy, rtprio, ran;
	unsigned int n = 0, seen = 0;
	cpu_set_t set;
	struct tpc *c;
	int i;

	start_with_probe(NULL, NULL);
	c = td_connect(&D);
	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		n++;
		probe_sched(c, PERCPU, -1, i, &cpu, &nice, &policy, &rtprio, &ran);
		ck_assert_int_eq(cpu, i);
		ck_assert_int_eq(ran, i);
	}
	ck_assert_uint_gt(n, 0);
	/* "any" spreads over the set: every CPU gets one of 2n jobs. */
	for (i = 0; i < (int)(2 * n); i++) {
		probe_sched(c, PERCPU, -1, -1, &cpu, &nice, &policy, &rtprio, &ran);
		ck_assert(CPU_ISSET(ran, &set));
		ck_assert_int_eq(cpu, ran);
		if (ran < 32)
			seen |= 1u << ran;
	}
	for (i = 0; i < CPU_SETSIZE && i < 32; i++)
		if (CPU_ISSET(i, &set))
			ck_assert_msg(seen & (1u << i), "no 'any' job ran on CPU %d", i);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_invalid_cpu_and_priority)
{
	struct tpc *c;

	td_up(&D, NULL);
	c = td_connect(&D);
	ck_assert_int_eq(submit_error(c, "echo", "x", PERCPU, -1, CPU_SETSIZE + 7),
	    TPOOL__ERROR_CODE__ERROR_INVALID_CPU);
	ck_assert_int_eq(submit_error(c, "echo", "x", PERCPU, -1, -5),
	    TPOOL__ERROR_CODE__ERROR_INVALID_CPU);
	ck_assert_int_eq(submit_error(c, "echo", "x", UNBOUND, 139, -1),
	    TPOOL__ERROR_CODE__ERROR_INVALID_PRIORITY);
	ck_assert_int_eq(submit_error(c, "echo", "x", UNBOUND, -2, -1),
	    TPOOL__ERROR_CODE__ERROR_INVALID_PRIORITY);
	ck_assert_int_eq(submit_error(c, "echo", "x", PERCPU, 100000, 0),
	    TPOOL__ERROR_CODE__ERROR_INVALID_PRIORITY);
	ck_assert_int_eq(submit_error(c, "nosuchplugin", "x", UNBOUND, -1, -1),
	    TPOOL__ERROR_CODE__ERROR_UNKNOWN_PLUGIN);
	/* The connection goes on serving. */
	ck_assert_uint_gt(td_submit(c, "echo", "still here"), 0);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_priorities_set_nice_and_policy)
{
	static const struct { int pri, nice, policy, rtprio; } v[] = {
		{ 0, 19, SCHED_OTHER, 0 },
		{ 10, 9, SCHED_OTHER, 0 },
		{ 19, 0, SCHED_OTHER, 0 },
		{ 39, -20, SCHED_OTHER, 0 },
		{ 40, 0, SCHED_FIFO, 1 },
		{ 138, 0, SCHED_FIFO, 99 },
	};
	int cpu, nice, policy, rtprio, ran;
	bool raise_nice, raise_rt;
	struct tpc *c;
	size_t i;

	/* The daemon runs as we do: what we may not do, it is refused too. */
	td_may_raise(&raise_nice, &raise_rt);
	start_with_probe(NULL, NULL);
	c = td_connect(&D);
	probe_sched(c, UNBOUND, -1, -1, &cpu, &nice, &policy, &rtprio, &ran);
	ck_assert_int_eq(nice, 0);
	ck_assert_int_eq(policy, SCHED_OTHER);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if ((v[i].policy == SCHED_FIFO && !raise_rt) ||
		    (v[i].policy == SCHED_OTHER && v[i].nice < 0 && !raise_nice)) {
			ck_assert_int_eq(submit_error(c, "echo", "x", UNBOUND, v[i].pri, -1),
			    TPOOL__ERROR_CODE__ERROR_PERMISSION);
			continue;
		}
		probe_sched(c, UNBOUND, v[i].pri, -1, &cpu, &nice, &policy, &rtprio, &ran);
		ck_assert_msg(policy == v[i].policy, "pri %d: policy %d", v[i].pri, policy);
		if (v[i].policy == SCHED_OTHER)
			ck_assert_msg(nice == v[i].nice, "pri %d: nice %d, expected %d",
			    v[i].pri, nice, v[i].nice);
		else
			ck_assert_int_eq(rtprio, v[i].rtprio);
		/* The per-CPU pools of the priority too. */
		probe_sched(c, PERCPU, v[i].pri, 0, &cpu, &nice, &policy, &rtprio, &ran);
		ck_assert_int_eq(policy, v[i].policy);
		if (v[i].policy == SCHED_OTHER)
			ck_assert_int_eq(nice, v[i].nice);
	}
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_priority_not_permitted)
{
	int cpu, nice, policy, rtprio, ran;
	struct tpc *c;

	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0) {
		(void)fprintf(stderr, "skipped: needs root and setpriv\n");
		return;
	}
	/* Without CAP_SYS_NICE (and RLIMIT_NICE/RTPRIO at 0) raising is refused. */
	start_with_probe(ARGS("/usr/bin/setpriv", "--bounding-set", "-sys_nice", "--"), NULL);
	c = td_connect(&D);
	ck_assert_int_eq(submit_error(c, "echo", "x", UNBOUND, 39, -1),
	    TPOOL__ERROR_CODE__ERROR_PERMISSION);
	ck_assert_int_eq(submit_error(c, "echo", "x", UNBOUND, 40, -1),
	    TPOOL__ERROR_CODE__ERROR_PERMISSION);
	ck_assert_int_eq(submit_error(c, "echo", "x", PERCPU, 60, -1),
	    TPOOL__ERROR_CODE__ERROR_PERMISSION);
	/* Lowering is fine. */
	probe_sched(c, UNBOUND, 5, -1, &cpu, &nice, &policy, &rtprio, &ran);
	ck_assert_int_eq(nice, 14);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* -------------------------------------------------------------- cancel */

static Tpool__CancelReply *
cancel(struct tpc *c, uint64_t id, bool wait)
{
	Tpool__CancelReply *r = NULL;
	int error;

	error = tpc_cancel(c, id, wait, &r);
	ck_assert_msg(error == 0, "cancel %llu: %s", (unsigned long long)id, tpc_strerror(error));
	ck_assert_ptr_nonnull(r->job);
	return r;
}

START_TEST(test_cancel_before_run_never_runs)
{
	Tpool__CancelReply *r;
	Tpool__JobInfo *j = NULL;
	Tpool__Event *ev;
	struct tpc *c;
	uint64_t running, queued;

	/* One worker: the second job waits in the queue behind the first. */
	td_up(&D, ARGS("--max-threads", "1"));
	c = td_connect(&D);
	running = td_submit(c, "sleep", "5000");
	ev = td_wait_event(c, running, TPOOL__EVENT__KIND_STARTED);
	tpool__event__free_unpacked(ev, NULL);
	queued = td_submit(c, "echo", "never");

	r = cancel(c, queued, false);
	ck_assert_int_eq(r->result, TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN);
	ck_assert_int_eq(r->job->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	ck_assert_int_eq(r->job->ran_on_cpu, -1);
	ck_assert(!r->job->has_run_ns);
	tpool__cancel_reply__free_unpacked(r, NULL);
	/* Its submitter hears the end, and no start. */
	ck_assert_int_eq(tpc_wait_job(c, queued, &j, NULL, NULL), 0);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	tpool__job_info__free_unpacked(j, NULL);

	/* The running one: too late, and with wait the reply has its end. */
	r = cancel(c, running, true);
	ck_assert_int_eq(r->result, TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE);
	ck_assert_int_eq(r->job->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	ck_assert(r->job->cancel_requested);
	ck_assert_ptr_nonnull(strstr(r->job->message, "cancelled after"));
	ck_assert_uint_lt(r->job->run_ns, 4000000000ull);
	tpool__cancel_reply__free_unpacked(r, NULL);

	/* The queued job stayed cancelled: a new echo runs, it does not. */
	j = td_run_job(c, "echo", "after", UNBOUND, -1, -1);
	expect_result(j, "after");
	tpool__job_info__free_unpacked(j, NULL);
	j = td_wait_final(c, queued);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	ck_assert_int_eq(j->ran_on_cpu, -1);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_cancel_too_late_tells_the_plugin)
{
	Tpool__CancelReply *r;
	Tpool__JobInfo *j = NULL;
	Tpool__Event *ev;
	struct tpc *c;
	uint64_t id;

	td_up(&D, NULL);
	c = td_connect(&D);
	id = td_submit(c, "sleep", "10000");
	ev = td_wait_event(c, id, TPOOL__EVENT__KIND_STARTED);
	tpool__event__free_unpacked(ev, NULL);
	r = cancel(c, id, false);
	ck_assert_int_eq(r->result, TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE);
	ck_assert(r->job->cancel_requested);
	ck_assert(r->job->state == TPOOL__JOB_STATE__JOB_RUNNING ||
	    r->job->state == TPOOL__JOB_STATE__JOB_CANCELLED);
	tpool__cancel_reply__free_unpacked(r, NULL);
	ck_assert_int_eq(tpc_wait_job(c, id, &j, NULL, NULL), 0);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	ck_assert_uint_lt(j->run_ns, 5000000000ull);
	tpool__job_info__free_unpacked(j, NULL);

	/* A CPU-bound job stops too. */
	id = td_submit(c, "sha256", "repeat:100000000000:abcdefgh");
	ev = td_wait_event(c, id, TPOOL__EVENT__KIND_STARTED);
	tpool__event__free_unpacked(ev, NULL);
	r = cancel(c, id, true);
	ck_assert_int_eq(r->result, TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE);
	ck_assert_int_eq(r->job->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	ck_assert_uint_gt(r->job->cpu_ns, 0);
	tpool__cancel_reply__free_unpacked(r, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_cancel_finished_and_unknown)
{
	Tpool__CancelReply *r;
	Tpool__JobInfo *j;
	struct tpc *c;

	td_up(&D, NULL);
	c = td_connect(&D);
	j = td_run_job(c, "echo", "done", UNBOUND, -1, -1);
	r = cancel(c, j->job_id, false);
	ck_assert_int_eq(r->result, TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED);
	ck_assert_int_eq(r->job->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_eq(r->job->result.len, 4);
	tpool__cancel_reply__free_unpacked(r, NULL);
	r = cancel(c, j->job_id, true);
	ck_assert_int_eq(r->result, TPOOL__CANCEL_RESULT__CANCEL_ALREADY_FINISHED);
	tpool__cancel_reply__free_unpacked(r, NULL);
	tpool__job_info__free_unpacked(j, NULL);

	ck_assert_int_eq(tpc_cancel(c, 987654321, false, &r), TPC_EDAEMON);
	ck_assert_int_eq(tpc_last_error(c, NULL), TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB);
	ck_assert_int_eq(tpc_cancel(c, 0, true, &r), TPC_EDAEMON);
	ck_assert_int_eq(tpc_last_error(c, NULL), TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * In a child that became nobody: try job_id (root's), and submit one of
 * its own that it reports through the pipe, then wait to be told to go.
 * Exit status: bit per expectation met.
 */
static int
nobody_child(uint64_t root_job, int report_fd, int go_fd)
{
	Tpool__CancelReply *cr;
	Tpool__StatusReply *sr;
	Tpool__WatchReply *wr;
	struct tpc *c;
	uint64_t mine;
	int bits = 0;
	char go;

	if (setgid(65534) != 0 || setuid(65534) != 0)
		return 100;
	if (tpc_connect(D.td_sock, &c) != 0)
		return 101;
	(void)tpc_set_timeout(c, 20000);
	if (tpc_cancel(c, root_job, false, &cr) == TPC_EDAEMON &&
	    tpc_last_error(c, NULL) == TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB)
		bits |= 1;
	if (tpc_status(c, root_job, &sr) == TPC_EDAEMON &&
	    tpc_last_error(c, NULL) == TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB)
		bits |= 2;
	if (tpc_watch(c, root_job, &wr) == TPC_EDAEMON &&
	    tpc_last_error(c, NULL) == TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB)
		bits |= 4;
	if (tpc_status_all(c, &sr) == 0) {
		if (sr->n_jobs == 0)
			bits |= 8;
		tpool__status_reply__free_unpacked(sr, NULL);
	}
	if (tpc_submit(c, TPC_SUBMIT_ARGS("sleep", "10000", 5),
	    &mine) == 0) {
		bits |= 16;
		if (tpc_status_all(c, &sr) == 0) {
			if (sr->n_jobs == 1 && sr->jobs[0]->job_id == mine &&
			    sr->jobs[0]->uid == 65534)
				bits |= 32;
			tpool__status_reply__free_unpacked(sr, NULL);
		}
	}
	(void)!write(report_fd, &mine, sizeof(mine));
	(void)!read(go_fd, &go, 1);
	tpc_free(c);
	return bits;
}

START_TEST(test_not_yours)
{
	Tpool__CancelReply *r;
	struct tpc *c;
	uint64_t root_job, nobody_job = 0;
	int rep[2], go[2], status;
	pid_t pid;

	if (geteuid() != 0) {
		(void)fprintf(stderr, "skipped: needs root to become another user\n");
		return;
	}
	td_up(&D, NULL);
	c = td_connect(&D);
	root_job = td_submit(c, "sleep", "10000");
	ck_assert_int_eq(pipe(rep), 0);
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		(void)close(rep[0]);
		(void)close(go[1]);
		_exit(nobody_child(root_job, rep[1], go[0]));
	}
	(void)close(rep[1]);
	(void)close(go[0]);
	ck_assert_int_eq(read(rep[0], &nobody_job, sizeof(nobody_job)), sizeof(nobody_job));
	ck_assert_uint_gt(nobody_job, 0);
	/* Root may cancel anyone's job. */
	r = cancel(c, nobody_job, true);
	ck_assert(r->result == TPOOL__CANCEL_RESULT__CANCEL_TOO_LATE ||
	    r->result == TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN);
	ck_assert_int_eq(r->job->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	ck_assert_uint_eq(r->job->uid, 65534);
	tpool__cancel_reply__free_unpacked(r, NULL);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) == 63, "nobody's checks: %#x of 0x3f",
	    WEXITSTATUS(status));
	r = cancel(c, root_job, true);
	ck_assert_int_eq(r->job->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	tpool__cancel_reply__free_unpacked(r, NULL);
	(void)close(rep[0]);
	(void)close(go[1]);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* ------------------------------------------------------- watch, status */

START_TEST(test_watch_from_second_connection)
{
	Tpool__WatchReply *wr;
	Tpool__JobInfo *j = NULL;
	Tpool__Event *ev;
	struct tpc *a, *b;
	uint64_t id;
	bool progress = false, finished = false;

	td_up(&D, NULL);
	a = td_connect(&D);
	b = td_connect(&D);
	id = td_submit(a, "sleep", "1500");
	ck_assert_int_eq(tpc_watch(b, id, &wr), 0);
	ck_assert_uint_eq(wr->job->job_id, id);
	ck_assert(wr->job->state == TPOOL__JOB_STATE__JOB_QUEUED ||
	    wr->job->state == TPOOL__JOB_STATE__JOB_RUNNING);
	tpool__watch_reply__free_unpacked(wr, NULL);
	while (!finished) {
		ck_assert_int_eq(tpc_next_event(b, &ev), 0);
		ck_assert_uint_eq(ev->job_id, id);
		if (ev->kind_case == TPOOL__EVENT__KIND_PROGRESS)
			progress = true;
		if (ev->kind_case == TPOOL__EVENT__KIND_FINISHED) {
			finished = true;
			ck_assert_int_eq(ev->finished->job->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
		}
		tpool__event__free_unpacked(ev, NULL);
	}
	ck_assert(progress);
	/* The submitter got its events too. */
	ck_assert_int_eq(tpc_wait_job(a, id, &j, NULL, NULL), 0);
	expect_result(j, "slept 1500 ms");
	tpool__job_info__free_unpacked(j, NULL);

	/* Watching a finished job: the reply has its end; no events follow. */
	ck_assert_int_eq(tpc_watch(b, id, &wr), 0);
	ck_assert_int_eq(wr->job->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__watch_reply__free_unpacked(wr, NULL);
	ck_assert_int_eq(tpc_watch(b, 424242, &wr), TPC_EDAEMON);
	ck_assert_int_eq(tpc_last_error(b, NULL), TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB);
	ck_assert_uint_eq(tpc_pending(b), 0);
	tpc_free(a);
	tpc_free(b);
	td_down(&D);
}
END_TEST

START_TEST(test_status_one_and_all)
{
	Tpool__StatusReply *sr;
	Tpool__JobInfo *j;
	struct tpc *c;
	uint64_t ids[3];
	size_t i, k, found = 0;

	td_up(&D, NULL);
	c = td_connect(&D);
	for (i = 0; i < 3; i++) {
		j = td_run_job(c, "echo", "s", UNBOUND, -1, -1);
		ids[i] = j->job_id;
		tpool__job_info__free_unpacked(j, NULL);
	}
	ck_assert_int_eq(tpc_status(c, ids[1], &sr), 0);
	ck_assert_uint_eq(sr->n_jobs, 1);
	ck_assert_uint_eq(sr->jobs[0]->job_id, ids[1]);
	ck_assert(sr->jobs[0]->has_result);
	tpool__status_reply__free_unpacked(sr, NULL);

	ck_assert_int_eq(tpc_status_all(c, &sr), 0);
	ck_assert_uint_eq(sr->n_jobs, 3);
	for (i = 0; i < sr->n_jobs; i++) {
		ck_assert(!sr->jobs[i]->has_result);	/* lists leave results out */
		for (k = 0; k < 3; k++)
			if (sr->jobs[i]->job_id == ids[k])
				found++;
		if (i > 0)
			ck_assert_uint_gt(sr->jobs[i]->job_id, sr->jobs[i - 1]->job_id);
	}
	ck_assert_uint_eq(found, 3);
	tpool__status_reply__free_unpacked(sr, NULL);
	ck_assert_int_eq(tpc_status(c, 77777, &sr), TPC_EDAEMON);
	ck_assert_int_eq(tpc_last_error(c, NULL), TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_finished_jobs_are_forgotten)
{
	Tpool__StatusReply *sr;
	Tpool__JobInfo *j;
	struct tpc *c;
	uint64_t first = 0, last = 0, end;
	int i, error;

	td_up(&D, ARGS("--finished-keep", "2", "--finished-ttl", "2s"));
	c = td_connect(&D);
	for (i = 0; i < 4; i++) {
		j = td_run_job(c, "echo", "k", UNBOUND, -1, -1);
		if (i == 0)
			first = j->job_id;
		last = j->job_id;
		tpool__job_info__free_unpacked(j, NULL);
	}
	/* Over the count: the oldest goes (soon). */
	end = tu_now_ms() + td_deadline_ms();
	while ((error = tpc_status(c, first, &sr)) == 0) {
		tpool__status_reply__free_unpacked(sr, NULL);
		ck_assert_msg(tu_now_ms() < end, "job %llu was kept", (unsigned long long)first);
		td_sleep_ms(20);
	}
	ck_assert_int_eq(error, TPC_EDAEMON);
	ck_assert_int_eq(tpc_last_error(c, NULL), TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB);
	ck_assert_int_eq(tpc_status(c, last, &sr), 0);
	tpool__status_reply__free_unpacked(sr, NULL);
	/* Over the age: the newest goes too. */
	while ((error = tpc_status(c, last, &sr)) == 0) {
		tpool__status_reply__free_unpacked(sr, NULL);
		ck_assert_msg(tu_now_ms() < end, "job %llu outlived its ttl",
		    (unsigned long long)last);
		td_sleep_ms(50);
	}
	ck_assert_int_eq(tpc_last_error(c, NULL), TPOOL__ERROR_CODE__ERROR_NO_SUCH_JOB);
	tpc_free(c);
	td_down(&D);
}
END_TEST

START_TEST(test_stats)
{
	Tpool__StatsReply *st;
	Tpool__JobInfo *j;
	struct tpc *c;
	bool unbound = false, percpu = false;
	size_t i;

	td_up(&D, NULL);
	c = td_connect(&D);
	j = td_run_job(c, "echo", "1", UNBOUND, -1, -1);
	tpool__job_info__free_unpacked(j, NULL);
	j = td_run_job(c, "fail", "2", PERCPU, 3, -1);
	tpool__job_info__free_unpacked(j, NULL);
	ck_assert_int_eq(tpc_stats(c, &st), 0);
	ck_assert_uint_eq(st->jobs_accepted, 2);
	ck_assert_uint_eq(st->jobs_succeeded, 1);
	ck_assert_uint_eq(st->jobs_failed, 1);
	ck_assert_uint_eq(st->jobs_cancelled, 0);
	ck_assert_uint_eq(st->jobs_in_flight, 0);
	ck_assert_uint_eq(st->connections, 1);
	ck_assert_uint_eq(st->plugins, 4);
	for (i = 0; i < st->n_pools; i++) {
		if (st->pools[i]->pool == UNBOUND && st->pools[i]->priority == -1) {
			unbound = true;
			ck_assert_int_eq(st->pools[i]->cpu, -1);
			ck_assert_uint_ge(st->pools[i]->jobs_run, 1);
		}
		if (st->pools[i]->pool == PERCPU && st->pools[i]->priority == 3) {
			percpu = true;
			ck_assert_int_ge(st->pools[i]->cpu, 0);
		}
	}
	ck_assert(unbound && percpu);
	tpool__stats_reply__free_unpacked(st, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

static Tpool__PoolStats *
unbound_stats(Tpool__StatsReply *st)
{
	size_t i;

	for (i = 0; i < st->n_pools; i++)
		if (st->pools[i]->pool == UNBOUND && st->pools[i]->priority == -1)
			return st->pools[i];
	return NULL;
}

START_TEST(test_thread_cap_and_idle_timeout)
{
	Tpool__CancelReply *r;
	Tpool__StatsReply *st;
	Tpool__PoolStats *ps;
	Tpool__JobInfo *j = NULL;
	struct tpc *c;
	uint64_t id[6], end;
	size_t i;
	bool idle = false;

	td_up(&D, ARGS("--max-threads", "2", "--idle-timeout", "100ms"));
	c = td_connect(&D);
	/* Sleeps that last until cancelled: none ends before the stats,
	 * however slow the daemon (under valgrind, say). */
	for (i = 0; i < 6; i++)
		id[i] = td_submit(c, "sleep", "600000");
	ck_assert_int_eq(tpc_stats(c, &st), 0);
	ps = unbound_stats(st);
	ck_assert_ptr_nonnull(ps);
	ck_assert_uint_le(ps->threads, 2);
	ck_assert_uint_ge(ps->queued, 3);	/* six jobs, two workers */
	tpool__stats_reply__free_unpacked(st, NULL);
	for (i = 0; i < 6; i++) {
		r = cancel(c, id[i], false);
		tpool__cancel_reply__free_unpacked(r, NULL);
	}
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(tpc_wait_job(c, id[i], &j, NULL, NULL), 0);
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
		tpool__job_info__free_unpacked(j, NULL);
	}
	/* Idle workers go after --idle-timeout. */
	end = tu_now_ms() + td_deadline_ms();
	while (!idle && tu_now_ms() < end) {
		ck_assert_int_eq(tpc_stats(c, &st), 0);
		/* Gone altogether once unused for the idle timeout too. */
		if ((ps = unbound_stats(st)) == NULL) {
			idle = true;
			tpool__stats_reply__free_unpacked(st, NULL);
			break;
		}
		ck_assert_uint_le(ps->threads_created, 2 + ps->threads_exited);
		idle = ps->threads == 0 && ps->threads_exited >= 1;
		tpool__stats_reply__free_unpacked(st, NULL);
		td_sleep_ms(50);
	}
	ck_assert_msg(idle, "the workers did not exit after the idle timeout");
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * The daemon's threads whose name starts with prefix; NULL: its libtp
 * threads, named "tpo/..." (overseers) and "tpw/..." (workers, between
 * jobs).  Others (a sanitizer's, valgrind's) are not counted.
 */
static unsigned int
daemon_threads_named(const char *prefix)
{
	char path[300], comm[32];
	struct dirent *de;
	unsigned int n = 0;
	FILE *f;
	DIR *d;

	(void)snprintf(path, sizeof(path), "/proc/%d/task", (int)D.td_pid);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%d/task/%s/comm",
		    (int)D.td_pid, de->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;	/* gone meanwhile */
		if (fgets(comm, sizeof(comm), f) != NULL &&
		    (prefix != NULL ? strncmp(comm, prefix, strlen(prefix)) == 0 :
		    strncmp(comm, "tpo/", 4) == 0 || strncmp(comm, "tpw/", 4) == 0))
			n++;
		(void)fclose(f);
	}
	(void)closedir(d);
	return n;
}

static unsigned int
daemon_pool_threads(void)
{
	return daemon_threads_named(NULL);
}

/* Does stats list a pool of priority pri? */
static bool
stats_has_priority(struct tpc *c, int pri)
{
	Tpool__StatsReply *st;
	bool found = false;
	size_t i;

	ck_assert_int_eq(tpc_stats(c, &st), 0);
	for (i = 0; i < st->n_pools; i++)
		found |= st->pools[i]->priority == pri;
	tpool__stats_reply__free_unpacked(st, NULL);
	return found;
}

/*
 * A priority's pools (unbound and per-CPU) go with their threads once no
 * job has been in flight there for the idle timeout; the next job takes
 * them again.
 */
START_TEST(test_unused_pools_are_released)
{
	Tpool__JobInfo *j;
	struct tpc *c;
	unsigned int round;
	uint64_t end;

	/* Long enough that a slow test sees the pools before they go. */
	td_up(&D, ARGS("--idle-timeout", "1s"));
	c = td_connect(&D);
	for (round = 0; round < 2; round++) {
		j = td_run_job(c, "echo", "u", UNBOUND, 7, -1);
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
		tpool__job_info__free_unpacked(j, NULL);
		j = td_run_job(c, "echo", "p", PERCPU, 7, -1);
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
		tpool__job_info__free_unpacked(j, NULL);
		ck_assert(stats_has_priority(c, 7));
		ck_assert_uint_gt(daemon_pool_threads(), 0);
		end = tu_now_ms() + td_deadline_ms();
		while (stats_has_priority(c, 7)) {
			ck_assert_msg(tu_now_ms() < end, "the pools of priority 7 "
			    "stayed, unused");
			td_sleep_ms(50);
		}
		/* Their threads went with them (no pool is in use now). */
		while (daemon_pool_threads() > 0) {
			ck_assert_msg(tu_now_ms() < end, "%u pool threads stayed",
			    daemon_pool_threads());
			td_sleep_ms(20);
		}
	}
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* The workers of all the daemon's pools, as Stats gives them. */
static unsigned int
stats_workers(struct tpc *c)
{
	Tpool__StatsReply *st;
	unsigned int n = 0;
	size_t i;

	ck_assert_int_eq(tpc_stats(c, &st), 0);
	for (i = 0; i < st->n_pools; i++)
		n += st->pools[i]->threads;
	tpool__stats_reply__free_unpacked(st, NULL);
	return n;
}

/*
 * --max-idle-threads: once 12 jobs in 3 pools have ended, the pools keep
 * 2 idle workers in all (not 4 each until the 30 s idle timeout), and
 * Stats shows the bound.  The jobs run until they are cancelled, once all
 * 12 workers are there: under valgrind making a worker can take longer
 * than a short job, whose worker then goes idle, and is let go, before
 * the last one is made.
 */
START_TEST(test_idle_workers_are_bounded_in_all_pools)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__StatsReply *st;
	Tpool__JobInfo *j;
	uint64_t id[12], end;
	unsigned int i, busy = 0, shown = 0;
	struct tpc *c;

	td_up(&D, ARGS("--max-threads", "4", "--max-running", "16",
	    "--max-idle-threads", "2"));
	c = td_connect(&D);
	ck_assert_int_eq(tpc_stats(c, &st), 0);
	for (i = 0; i < st->n_limits; i++)
		if (strcmp(st->limits[i]->name, "max-idle-threads") == 0)
			shown = (unsigned int)st->limits[i]->value + 1;
	tpool__stats_reply__free_unpacked(st, NULL);
	ck_assert_uint_eq(shown, 2 + 1);

	a.tsa_plugin = "sleep";
	a.tsa_input = "600000";
	a.tsa_input_len = 6;
	for (i = 0; i < 12; i++) {
		a.tsa_priority = 5 + (int)(i % 3);
		ck_assert_int_eq(tpc_submit(c, &a, &id[i]), 0);
	}
	/* 12 workers at once: 4 in each pool. */
	end = tu_now_ms() + td_deadline_ms();
	while ((busy = stats_workers(c)) < 12 && tu_now_ms() < end)
		td_sleep_ms(20);
	ck_assert_uint_eq(busy, 12);
	for (i = 0; i < 12; i++)
		tpool__cancel_reply__free_unpacked(cancel(c, id[i], false),
		    NULL);
	for (i = 0; i < 12; i++) {
		j = NULL;
		ck_assert_int_eq(tpc_wait_job(c, id[i], &j, NULL, NULL), 0);
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
		tpool__job_info__free_unpacked(j, NULL);
	}
	while ((busy = stats_workers(c)) > 2 && tu_now_ms() < end)
		td_sleep_ms(20);
	ck_assert_msg(busy <= 2, "%u workers stayed, 2 idle ones kept", busy);
	while (daemon_threads_named("tpw/") > 2 && tu_now_ms() < end)
		td_sleep_ms(20);
	ck_assert_uint_le(daemon_threads_named("tpw/"), 2);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* ----------------------------------------------------------- deadlines */

/* Submit plugin on input with a deadline: 0 and *ret_id, or the daemon's
 * error code with its message in msg[]. */
static Tpool__ErrorCode
submit_deadline(struct tpc *c, const char *plugin, const char *input,
    uint64_t deadline_ms, uint64_t *ret_id, char *msg, size_t len)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	const char *m = NULL;
	int error;

	a.tsa_plugin = plugin;
	a.tsa_input = input;
	a.tsa_input_len = strlen(input);
	a.tsa_deadline_ms = deadline_ms;
	if ((error = tpc_submit(c, &a, ret_id)) == 0)
		return TPOOL__ERROR_CODE__ERROR_UNSPECIFIED;
	ck_assert_int_eq(error, TPC_EDAEMON);
	(void)tpc_last_error(c, &m);
	(void)snprintf(msg, len, "%s", m != NULL ? m : "");
	return tpc_last_error(c, NULL);
}

/* A loop test's isolation: 0 thread, 1 process. */
#define	ISOLATION(i)	((i) == 0 ? "thread" : "process")

/*
 * A job that cannot start before its deadline ends expired, never run,
 * at its deadline; one with room enough runs.  In both isolation modes.
 */
START_TEST(test_deadline_expires_a_queued_job)
{
	Tpool__CancelReply *r;
	Tpool__StatusReply *sr;
	Tpool__StatsReply *st;
	Tpool__JobInfo *j;
	uint64_t sleeper, late, ok;
	char msg[256];
	struct tpc *c;

	td_up(&D, ARGS("--max-threads", "1", "--isolation",
	    ISOLATION(_i)));
	c = td_connect(&D);
	/* The only thread's, until cancelled. */
	sleeper = td_submit(c, "sleep", "600000");
	ck_assert_int_eq(submit_deadline(c, "echo", "x", 200, &late, msg,
	    sizeof(msg)), TPOOL__ERROR_CODE__ERROR_UNSPECIFIED);
	ck_assert_int_eq(submit_deadline(c, "echo", "y", 10000, &ok, msg,
	    sizeof(msg)), TPOOL__ERROR_CODE__ERROR_UNSPECIFIED);
	j = td_wait_final(c, late);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_EXPIRED);
	ck_assert_int_eq(j->ran_on_cpu, -1);
	ck_assert_msg(j->message != NULL && strstr(j->message,
	    "deadline of 200 ms passed before it could start") != NULL,
	    "message '%s'", j->message != NULL ? j->message : "");
	tpool__job_info__free_unpacked(j, NULL);
	/* At its deadline: the thread has not come free. */
	ck_assert_int_eq(tpc_status(c, sleeper, &sr), 0);
	ck_assert_uint_eq(sr->n_jobs, 1);
	ck_assert(!tp_state_is_final(sr->jobs[0]->state));
	tpool__status_reply__free_unpacked(sr, NULL);
	r = cancel(c, sleeper, false);
	tpool__cancel_reply__free_unpacked(r, NULL);
	j = td_wait_final(c, ok);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	j = td_wait_final(c, sleeper);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	tpool__job_info__free_unpacked(j, NULL);
	ck_assert_int_eq(tpc_stats(c, &st), 0);
	ck_assert_uint_eq(st->jobs_expired, 1);
	tpool__stats_reply__free_unpacked(st, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* Submit echo on input after delay_ms (deadline_ms: 0, none); its id, or
 * 0 and the error code in *ret_code. */
static uint64_t
submit_delayed(struct tpc *c, const char *input, uint64_t delay_ms,
    uint64_t deadline_ms, Tpool__ErrorCode *ret_code)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	uint64_t id;

	a.tsa_plugin = "echo";
	a.tsa_input = input;
	a.tsa_input_len = strlen(input);
	a.tsa_delay_ms = delay_ms;
	a.tsa_deadline_ms = deadline_ms;
	*ret_code = TPOOL__ERROR_CODE__ERROR_UNSPECIFIED;
	if (tpc_submit(c, &a, &id) == 0)
		return id;
	*ret_code = tpc_last_error(c, NULL);
	return 0;
}

/*
 * A delayed job is scheduled (status says how long is left), queued when
 * its delay is over, and runs; cancelled while scheduled, it never runs;
 * a deadline must be after the delay.
 */
START_TEST(test_delayed_job_is_scheduled_then_runs)
{
	Tpool__CancelReply *cr;
	Tpool__StatusReply *sr;
	Tpool__ErrorCode code;
	Tpool__JobInfo *j;
	uint64_t id, far;
	struct tpc *c;

	td_up(&D, NULL);
	c = td_connect(&D);
	id = submit_delayed(c, "later", 400, 5000, &code);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_UNSPECIFIED);
	j = td_wait_final(c, id);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	/* Not queued before its delay (from the daemon's receipt, a few us
	 * before the job's submit time) was over. */
	ck_assert_uint_ge(j->queue_ns, 399000000u);
	tpool__job_info__free_unpacked(j, NULL);

	/* Shown scheduled, with the time left (a delay that cannot run out
	 * while a slow test looks). */
	far = submit_delayed(c, "never", 60000, 0, &code);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_UNSPECIFIED);
	ck_assert_int_eq(tpc_status(c, far, &sr), 0);
	ck_assert_int_eq(sr->jobs[0]->state, TPOOL__JOB_STATE__JOB_SCHEDULED);
	ck_assert(sr->jobs[0]->has_delay_left_ms);
	/* The time left, not the time gone. */
	ck_assert_uint_gt(sr->jobs[0]->delay_left_ms, 30000);
	ck_assert_uint_le(sr->jobs[0]->delay_left_ms, 60000);
	tpool__status_reply__free_unpacked(sr, NULL);
	ck_assert_int_eq(tpc_cancel(c, far, false, &cr), 0);
	ck_assert_int_eq(cr->result, TPOOL__CANCEL_RESULT__CANCEL_BEFORE_RUN);
	tpool__cancel_reply__free_unpacked(cr, NULL);
	j = td_wait_final(c, far);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	ck_assert_int_eq(j->ran_on_cpu, -1);
	tpool__job_info__free_unpacked(j, NULL);

	ck_assert_uint_eq(submit_delayed(c, "x", 2000, 1000, &code), 0);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	/* A scheduled job at a stop (no store): cancelled, as queued ones. */
	(void)submit_delayed(c, "at the stop", 60000, 0, &code);
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_UNSPECIFIED);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* Submit plugin on input with unique key key: the reply (free it), or
 * NULL and the error code in *ret_code. */
static Tpool__SubmitReply *
submit_keyed(struct tpc *c, const char *plugin, const char *input,
    const char *key, Tpool__ErrorCode *ret_code)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__SubmitReply *sr;

	a.tsa_plugin = plugin;
	a.tsa_input = input;
	a.tsa_input_len = strlen(input);
	a.tsa_unique_key = key;
	*ret_code = TPOOL__ERROR_CODE__ERROR_UNSPECIFIED;
	if (tpc_submit_reply(c, &a, &sr) == 0)
		return sr;
	*ret_code = tpc_last_error(c, NULL);
	return NULL;
}

/*
 * A unique key: while the caller's job with that key is in flight, a
 * submit with it answers that job's id (existing) and makes none; once
 * it ended, the key makes a new job; another key is another job.
 */
START_TEST(test_unique_key_answers_the_job_in_flight)
{
	Tpool__SubmitReply *a, *b, *o, *d;
	Tpool__StatusReply *st;
	Tpool__ErrorCode code;
	Tpool__JobInfo *j;
	struct tpc *c;
	char gate[128];

	/* The first job runs, deaf to cancel, until the gate opens. */
	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "probe", NULL);
	td_start(&D, NULL, NULL);
	c = td_connect(&D);
	td_gate_input(&D, gate, sizeof(gate));
	a = submit_keyed(c, "probe", gate, "nightly", &code);
	ck_assert_ptr_nonnull(a);
	ck_assert(!a->existing);
	b = submit_keyed(c, "echo", "x", "nightly", &code);
	ck_assert_ptr_nonnull(b);
	ck_assert(b->has_existing && b->existing);
	ck_assert_uint_eq(b->job_id, a->job_id);
	o = submit_keyed(c, "echo", "y", "weekly", &code);
	ck_assert_ptr_nonnull(o);
	ck_assert(!o->existing);
	ck_assert_uint_ne(o->job_id, a->job_id);
	ck_assert_int_eq(tpc_status(c, a->job_id, &st), 0);
	ck_assert_str_eq(st->jobs[0]->unique_key, "nightly");
	tpool__status_reply__free_unpacked(st, NULL);
	/* The watch the existing answer added: its end comes as an event. */
	td_gate_open(&D);
	tpool__event__free_unpacked(td_wait_event(c, a->job_id,
	    TPOOL__EVENT__KIND_FINISHED), NULL);
	j = td_wait_final(c, a->job_id);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	d = submit_keyed(c, "echo", "z", "nightly", &code);
	ck_assert_ptr_nonnull(d);
	ck_assert(!d->existing);
	ck_assert_uint_gt(d->job_id, a->job_id);
	tpool__job_info__free_unpacked(td_wait_final(c, d->job_id), NULL);
	/* Keys are text of 1 to 128 bytes. */
	ck_assert_ptr_null(submit_keyed(c, "echo", "x", "", &code));
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	ck_assert_ptr_null(submit_keyed(c, "echo", "x", "bad\nkey", &code));
	ck_assert_int_eq(code, TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	tpool__submit_reply__free_unpacked(a, NULL);
	tpool__submit_reply__free_unpacked(b, NULL);
	tpool__submit_reply__free_unpacked(o, NULL);
	tpool__submit_reply__free_unpacked(d, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * Once the plugin's jobs are known to take ~300 ms, a deadline shorter
 * than the queue ahead is refused at once, saying the expected wait; a
 * longer one is accepted.  In both isolation modes.
 */
START_TEST(test_deadline_past_the_expected_wait_is_refused)
{
	Tpool__JobInfo *j;
	uint64_t id[3], x;
	char msg[256];
	struct tpc *c;
	int i;

	td_up(&D, ARGS("--max-threads", "1", "--isolation",
	    ISOLATION(_i)));
	c = td_connect(&D);
	/* No estimate yet: accepted. */
	ck_assert_int_eq(submit_deadline(c, "sleep", "300", 1, &x, msg,
	    sizeof(msg)), TPOOL__ERROR_CODE__ERROR_UNSPECIFIED);
	j = td_wait_final(c, x);
	tpool__job_info__free_unpacked(j, NULL);
	for (i = 0; i < 2; i++) {
		j = td_run_job(c, "sleep", "300", UNBOUND, -1, -1);
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
		tpool__job_info__free_unpacked(j, NULL);
	}
	for (i = 0; i < 3; i++)
		id[i] = td_submit(c, "sleep", "300");
	ck_assert_int_eq(submit_deadline(c, "sleep", "300", 300, &x, msg,
	    sizeof(msg)), TPOOL__ERROR_CODE__ERROR_DEADLINE);
	ck_assert_msg(strstr(msg, "expected wait of ") != NULL &&
	    strstr(msg, "past its deadline of 300 ms") != NULL,
	    "message '%s'", msg);
	ck_assert_int_eq(submit_deadline(c, "sleep", "300", 20000, &x, msg,
	    sizeof(msg)), TPOOL__ERROR_CODE__ERROR_UNSPECIFIED);
	for (i = 0; i < 3; i++) {
		j = td_wait_final(c, id[i]);
		tpool__job_info__free_unpacked(j, NULL);
	}
	j = td_wait_final(c, x);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* ---------------------------------------------------------------- load */

#define	NCONN	128

/*
 * NCONN connections, each with a job: the odd ones a sleep that lasts
 * until it is cancelled (so that however slowly the submits go, under
 * valgrind say, they are all in flight when the stats are read), the even
 * ones a short hash.  Each job ends with its own answer on its own
 * connection.
 */
START_TEST(test_many_connections_with_jobs_in_flight)
{
	struct tpc *c[NCONN], *admin;
	Tpool__CancelReply *r;
	Tpool__StatsReply *st;
	Tpool__JobInfo *j;
	uint64_t id[NCONN];
	size_t i;

	/* A worker for each of the 64 sleeps (the default is one per CPU). */
	td_up(&D, ARGS("--max-threads", "80"));
	for (i = 0; i < NCONN; i++) {
		c[i] = td_connect(&D);
		id[i] = td_submit(c[i], i % 2 ? "sleep" : "sha256",
		    i % 2 ? "600000" : "repeat:20000:xyz");
	}
	admin = td_connect(&D);
	ck_assert_int_eq(tpc_stats(admin, &st), 0);
	ck_assert_uint_eq(st->connections, NCONN + 1);
	ck_assert_uint_ge(st->jobs_in_flight, NCONN / 2);	/* the sleeps */
	ck_assert_uint_le(st->jobs_in_flight, NCONN);
	tpool__stats_reply__free_unpacked(st, NULL);
	for (i = 1; i < NCONN; i += 2) {
		r = cancel(c[i], id[i], false);
		tpool__cancel_reply__free_unpacked(r, NULL);
	}
	for (i = 0; i < NCONN; i++) {
		j = NULL;
		ck_assert_int_eq(tpc_wait_job(c[i], id[i], &j, NULL, NULL), 0);
		ck_assert_int_eq(j->state, i % 2 ? TPOOL__JOB_STATE__JOB_CANCELLED :
		    TPOOL__JOB_STATE__JOB_SUCCEEDED);
		tpool__job_info__free_unpacked(j, NULL);
		tpc_free(c[i]);
	}
	ck_assert_int_eq(tpc_stats(admin, &st), 0);
	ck_assert_uint_eq(st->jobs_succeeded, NCONN / 2);
	ck_assert_uint_eq(st->jobs_cancelled, NCONN / 2);
	ck_assert_uint_eq(st->jobs_in_flight, 0);
	tpool__stats_reply__free_unpacked(st, NULL);
	tpc_free(admin);
	td_down(&D);
}
END_TEST

START_TEST(test_client_leaves_with_jobs_in_flight)
{
	Tpool__StatsReply *st;
	Tpool__JobInfo *j;
	struct tpc *c, *other;
	uint64_t id[6];
	size_t i;

	/* Two workers: some jobs run, some wait, when the client leaves. */
	td_up(&D, ARGS("--max-threads", "2"));
	c = td_connect(&D);
	for (i = 0; i < 6; i++)
		id[i] = td_submit(c, i == 5 ? "sha256" : "sleep", i == 5 ? "gone" : "200");
	tpc_free(c);

	other = td_connect(&D);
	for (i = 0; i < 6; i++) {
		j = td_wait_final(other, id[i]);
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
		tpool__job_info__free_unpacked(j, NULL);
	}
	ck_assert_int_eq(tpc_stats(other, &st), 0);
	ck_assert_uint_eq(st->jobs_in_flight, 0);
	ck_assert_uint_eq(st->connections, 1);
	tpool__stats_reply__free_unpacked(st, NULL);

	/* A watcher that leaves: the job goes on too. */
	c = td_connect(&D);
	id[0] = td_submit(other, "sleep", "300");
	ck_assert_int_eq(tpc_watch(c, id[0], NULL), 0);
	tpc_free(c);
	j = NULL;
	ck_assert_int_eq(tpc_wait_job(other, id[0], &j, NULL, NULL), 0);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(other);
	td_down(&D);
}
END_TEST

START_TEST(test_pipelined_submits)
{
	struct tpc *c;

	td_up(&D, NULL);
	c = td_connect(&D);
	ck_assert_uint_eq(td_pipeline_echo(c, 3000), 3000);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * A list comes in pages of at most 1000 jobs (or the limit asked), newest
 * first, oldest first within a page; more_before leads to the next page,
 * no job shows twice, and every job is on a page.
 */
static unsigned int
status_walk(struct tpc *c, uint32_t limit, uint64_t *ret_min, uint64_t *ret_max,
    unsigned int *ret_pages)
{
	Tpool__StatusReply *sr;
	uint64_t before = 0, lo = UINT64_MAX, hi = 0;
	unsigned int n = 0, pages = 0;
	size_t i;

	for (;;) {
		ck_assert_int_eq(tpc_status_page(c, false, before, limit, &sr), 0);
		pages++;
		ck_assert_uint_le(sr->n_jobs, limit != 0 ? limit : 1000);
		for (i = 0; i < sr->n_jobs; i++) {
			if (i > 0)
				ck_assert_uint_gt(sr->jobs[i]->job_id, sr->jobs[i - 1]->job_id);
			if (before != 0)
				ck_assert_uint_lt(sr->jobs[i]->job_id, before);
			lo = sr->jobs[i]->job_id < lo ? sr->jobs[i]->job_id : lo;
			hi = sr->jobs[i]->job_id > hi ? sr->jobs[i]->job_id : hi;
		}
		n += (unsigned int)sr->n_jobs;
		if (!sr->has_more_before) {
			tpool__status_reply__free_unpacked(sr, NULL);
			break;
		}
		/* The next page starts below this one's oldest. */
		ck_assert_uint_gt(sr->n_jobs, 0);
		ck_assert_uint_eq(sr->more_before, sr->jobs[0]->job_id);
		before = sr->more_before;
		tpool__status_reply__free_unpacked(sr, NULL);
	}
	*ret_min = lo;
	*ret_max = hi;
	*ret_pages = pages;
	return n;
}

START_TEST(test_status_pages)
{
	Tpool__StatusReply *sr;
	struct tpc *c;
	uint64_t lo, hi, lo2, hi2;
	unsigned int pages;

	td_up(&D, ARGS("--finished-keep", "5000"));
	c = td_connect(&D);
	(void)td_pipeline_echo(c, 1234);
	ck_assert_int_eq(tpc_status_all(c, &sr), 0);
	ck_assert_uint_eq(sr->n_jobs, 1000);
	ck_assert(sr->has_more_before);
	tpool__status_reply__free_unpacked(sr, NULL);
	ck_assert_uint_eq(status_walk(c, 0, &lo, &hi, &pages), 1234);
	ck_assert_uint_eq(pages, 2);
	ck_assert_uint_eq(status_walk(c, 100, &lo2, &hi2, &pages), 1234);
	ck_assert_uint_eq(pages, 13);
	ck_assert_uint_eq(lo, lo2);
	ck_assert_uint_eq(hi, hi2);
	/* A page of more than 1000 is refused. */
	ck_assert_int_eq(tpc_status_page(c, false, 0, 1001, &sr), TPC_EDAEMON);
	ck_assert_int_eq(tpc_last_error(c, NULL), TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* --------------------------------------------------------------- limits */

START_TEST(test_job_limits)
{
	struct tpc *c, *d;
	char big[40];
	uint64_t a, b;

	td_up(&D, ARGS("--max-jobs-per-client", "2", "--max-jobs", "3", "--max-input", "32"));
	c = td_connect(&D);
	a = td_submit(c, "sleep", "3000");
	b = td_submit(c, "sleep", "3000");
	ck_assert_int_eq(submit_error(c, "echo", "x", UNBOUND, -1, -1),
	    TPOOL__ERROR_CODE__ERROR_TOO_MANY_JOBS);
	/* The limit is per user, not per connection. */
	d = td_connect(&D);
	ck_assert_int_eq(submit_error(d, "echo", "x", UNBOUND, -1, -1),
	    TPOOL__ERROR_CODE__ERROR_TOO_MANY_JOBS);
	/* Room again once one ends. */
	tpool__cancel_reply__free_unpacked(cancel(c, a, true), NULL);
	ck_assert_uint_gt(td_submit(d, "echo", "x"), 0);

	memset(big, 'i', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[33] = '\0';
	ck_assert_int_eq(submit_error(d, "echo", big, UNBOUND, -1, -1),
	    TPOOL__ERROR_CODE__ERROR_INPUT_TOO_LARGE);
	tpool__cancel_reply__free_unpacked(cancel(c, b, true), NULL);
	big[32] = '\0';
	ck_assert_uint_gt(td_submit(d, "echo", big), 0);
	tpc_free(c);
	tpc_free(d);
	td_down(&D);
}
END_TEST

START_TEST(test_total_job_limit)
{
	struct tpc *c;
	uint64_t a, b;

	td_up(&D, ARGS("--max-jobs", "2"));
	c = td_connect(&D);
	a = td_submit(c, "sleep", "3000");
	b = td_submit(c, "sleep", "3000");
	ck_assert_int_eq(submit_error(c, "echo", "x", UNBOUND, -1, -1),
	    TPOOL__ERROR_CODE__ERROR_TOO_MANY_JOBS);
	tpool__cancel_reply__free_unpacked(cancel(c, a, true), NULL);
	tpool__cancel_reply__free_unpacked(cancel(c, b, true), NULL);
	ck_assert_uint_gt(td_submit(c, "echo", "x"), 0);
	tpc_free(c);
	td_down(&D);
}
END_TEST

static Suite *
jobs_suite(void)
{
	Suite *s = suite_create("daemon-jobs");
	TCase *tc;

	tc = tcase_create("plugins");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_echo_result_equals_input);
	tcase_add_test(tc, test_sha256_known_vectors);
	tcase_add_test(tc, test_cpu_time_is_the_jobs_own);
	tcase_add_test(tc, test_fail_message);
	tcase_add_test(tc, test_sleep_reports_progress);
	tcase_add_test(tc, test_list_plugins);
	tcase_add_test(tc, test_plugin_outcomes);
	tcase_add_test(tc, test_job_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("placement");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_percpu_runs_on_each_cpu);
	tcase_add_test(tc, test_invalid_cpu_and_priority);
	tcase_add_test(tc, test_priorities_set_nice_and_policy);
	tcase_add_test(tc, test_priority_not_permitted);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_cancel_before_run_never_runs);
	tcase_add_test(tc, test_cancel_too_late_tells_the_plugin);
	tcase_add_test(tc, test_cancel_finished_and_unknown);
	tcase_add_test(tc, test_not_yours);
	suite_add_tcase(s, tc);

	tc = tcase_create("watch-status");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_watch_from_second_connection);
	tcase_add_test(tc, test_status_one_and_all);
	tcase_add_test(tc, test_status_pages);
	tcase_add_test(tc, test_finished_jobs_are_forgotten);
	tcase_add_test(tc, test_stats);
	tcase_add_test(tc, test_thread_cap_and_idle_timeout);
	tcase_add_test(tc, test_unused_pools_are_released);
	tcase_add_test(tc, test_idle_workers_are_bounded_in_all_pools);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT * 2);
	tcase_add_test(tc, test_many_connections_with_jobs_in_flight);
	tcase_add_test(tc, test_client_leaves_with_jobs_in_flight);
	tcase_add_test(tc, test_pipelined_submits);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadlines");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	/* Each in both isolation modes (ISOLATION(_i)). */
	tcase_add_loop_test(tc, test_deadline_expires_a_queued_job, 0, 2);
	tcase_add_test(tc, test_delayed_job_is_scheduled_then_runs);
	tcase_add_test(tc, test_unique_key_answers_the_job_in_flight);
	tcase_add_loop_test(tc, test_deadline_past_the_expected_wait_is_refused,
	    0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, TD_CASE_TIMEOUT);
	tcase_add_test(tc, test_job_limits);
	tcase_add_test(tc, test_total_job_limit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return td_main(jobs_suite());
}
