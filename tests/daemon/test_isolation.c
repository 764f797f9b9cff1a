/*
 * test_isolation.c -- plugins of isolation "process": each job runs in a
 * worker process (tpoold-worker) of its plugin, and a plugin that crashes
 * fails only its own job.  The test plugin "crash" (crasher.c) does what
 * its input says.
 *
 * (Over 800 lines: one Check test case of twenty tests, each with a
 * daemon of its own from harness.c and the helpers of this file.)
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/wait.h>

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

/*
 * The daemon with the example plugins and "crash", crash in processes,
 * and with probe, "probe" (isolation thread) too.
 */
static void
up_with(bool probe, const char *const *args)
{
	const char *argv[32];
	size_t n = 0;

	argv[n++] = "--plugin-isolation";
	argv[n++] = "crash:process";
	for (; args != NULL && *args != NULL && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "crash", NULL);
	if (probe)
		td_add_plugin(&D, "probe", NULL);
	td_start(&D, NULL, argv);
}

static void
up(const char *const *args)
{
	up_with(false, args);
}

/* Run crash on input; its final JobInfo (free it). */
static Tpool__JobInfo *
crash(struct tpc *c, const char *input)
{
	return td_run_job(c, "crash", input, UNBOUND, -1, -1);
}

/* crash "ok" succeeds: the plugin serves. */
static void
crash_ok(struct tpc *c)
{
	Tpool__JobInfo *j = crash(c, "ok");

	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
}

/* A value "key=N" of crash's "id" result. */
static long
id_field(const Tpool__JobInfo *j, const char *key)
{
	char buf[200], *p;

	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_lt(j->result.len, sizeof(buf));
	memcpy(buf, j->result.data, j->result.len);
	buf[j->result.len] = '\0';
	ck_assert_msg((p = strstr(buf, key)) != NULL, "no %s in '%s'", key,
	    buf);
	return strtol(p + strlen(key) + 1, NULL, 10);
}

/* j failed, and its message holds want; j is freed. */
static void
failed_with(Tpool__JobInfo *j, const char *want)
{
	ck_assert_msg(j->state == TPOOL__JOB_STATE__JOB_FAILED,
	    "state %d, not failed ('%s')", j->state,
	    j->message != NULL ? j->message : "");
	ck_assert_msg(j->message != NULL && strstr(j->message, want) != NULL,
	    "message '%s', not '%s'", j->message != NULL ? j->message : "",
	    want);
	tpool__job_info__free_unpacked(j, NULL);
}

/*
 * A job runs in a worker process of its plugin, not in tpoold, as the
 * worker user when tpoold is root, and the same worker takes the next job.
 */
START_TEST(test_jobs_run_in_a_reused_worker_process)
{
	Tpool__JobInfo *a, *b;
	struct tpc *c;

	up(NULL);
	c = td_connect(&D);
	a = crash(c, "id");
	b = crash(c, "id");
	ck_assert_int_ne(id_field(a, "pid"), (long)D.td_pid);
	ck_assert_int_eq(id_field(a, "ppid"), (long)D.td_pid);
	ck_assert_int_eq(id_field(a, "pid"), id_field(b, "pid"));
	if (geteuid() == 0)
		ck_assert_int_eq(id_field(a, "uid"), 65534);	/* nobody */
	tpool__job_info__free_unpacked(a, NULL);
	tpool__job_info__free_unpacked(b, NULL);
	/* The other plugins still run in tpoold (isolation thread). */
	a = td_run_job(c, "echo", "x", UNBOUND, -1, -1);
	ck_assert_int_eq(a->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(a, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* The worker runs a job on its pool's CPU, at its priority. */
START_TEST(test_worker_takes_the_pools_cpu_and_priority)
{
	Tpool__JobInfo *j;
	struct tpc *c;

	up(NULL);
	c = td_connect(&D);
	j = td_run_job(c, "crash", "id", PERCPU, 10, 0);
	ck_assert_int_eq(id_field(j, "cpu"), 0);
	ck_assert_int_eq(id_field(j, "nice"), 9);	/* priority 10 */
	tpool__job_info__free_unpacked(j, NULL);
	j = td_run_job(c, "crash", "id", UNBOUND, 19, -1);
	ck_assert_int_eq(id_field(j, "nice"), 0);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * An unbound job's worker starts on the one CPU its pool's thread was on
 * (the handoff stays on that CPU), and may run on every CPU of the pool
 * once the job has run past the daemon's 20 ms watch.
 */
START_TEST(test_unbound_worker_starts_on_its_threads_cpu)
{
	Tpool__JobInfo *j;
	cpu_set_t set;
	struct tpc *c;
	int ncpu;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	ncpu = CPU_COUNT(&set);		/* the daemon's too */
	up(NULL);
	c = td_connect(&D);
	j = crash(c, "cpus-after:0");
	ck_assert_int_eq(id_field(j, "cpus"), 1);
	tpool__job_info__free_unpacked(j, NULL);
	j = crash(c, "cpus-after:300");
	ck_assert_int_eq(id_field(j, "cpus"), ncpu);
	tpool__job_info__free_unpacked(j, NULL);
	/* The next job's worker starts on one CPU again. */
	j = crash(c, "cpus-after:0");
	ck_assert_int_eq(id_field(j, "cpus"), 1);
	tpool__job_info__free_unpacked(j, NULL);
	/* A per-CPU job's: its CPU, throughout. */
	j = td_run_job(c, "crash", "cpus-after:300", PERCPU, -1, 0);
	ck_assert_int_eq(id_field(j, "cpus"), 1);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * Each way of dying fails only its job, saying how; a job of another
 * plugin running meanwhile ends well; the next job of the plugin runs in
 * a new worker.
 */
START_TEST(test_crashes_fail_only_their_job)
{
	static const struct {
		const char	*input;
		const char	*message;
	} cases[] = {
		{ "segv", "plugin crashed: signal 11 (SIGSEGV)" },
		{ "abort", "plugin crashed: signal 6 (SIGABRT)" },
		{ "exit:3", "plugin crashed: it exited with status 3" },
		{ "stack", "plugin crashed: signal 11 (SIGSEGV)" },
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
		/* (A sanitizer's build sets no address space limit.) */
		{ "alloc:512", "plugin crashed: signal 11 (SIGSEGV)" },
#endif
		{ "fail", "plugin crashed: signal 11 (SIGSEGV)" },
		{ "open", "plugin crashed: a forbidden system call: openat" },
		{ "fork", "plugin crashed: a forbidden system call: clone" },
		{ "dup", "plugin crashed: a forbidden system call: dup" },
	};
	Tpool__JobInfo *j, *before, *after;
	struct tpc *c, *other;
	uint64_t sleeper;
	size_t i;

	up(ARGS("--worker-memory", "128M"));
	c = td_connect(&D);
	other = td_connect(&D);
	sleeper = td_submit(other, "sleep", "1500");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		before = crash(c, "id");
		failed_with(crash(c, cases[i].input), cases[i].message);
		after = crash(c, "id");
		ck_assert_int_ne(id_field(before, "pid"),
		    id_field(after, "pid"));
		tpool__job_info__free_unpacked(before, NULL);
		tpool__job_info__free_unpacked(after, NULL);
	}
	j = NULL;
	ck_assert_int_eq(tpc_wait_job(other, sleeper, &j, NULL, NULL), 0);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	td_expect_log(&D, "worker crashed running job");
	tpc_free(other);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* What the filter allows: threads, stdio. */
START_TEST(test_worker_allows_threads)
{
	Tpool__JobInfo *j;
	struct tpc *c;

	up(NULL);
	c = td_connect(&D);
	j = crash(c, "thread");
	ck_assert_msg(j->state == TPOOL__JOB_STATE__JOB_SUCCEEDED,
	    "state %d: %s", j->state, j->message != NULL ? j->message : "");
	tpool__job_info__free_unpacked(j, NULL);
	td_expect_log(&D, "crash: thread ran");
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * --worker-cpu-time: a job that computes past it, ignoring its cancel
 * request, is ended with its worker; the next job runs.
 */
START_TEST(test_worker_cpu_time_limit)
{
	struct tpc *c;

	up(ARGS("--worker-cpu-time", "300ms"));
	c = td_connect(&D);
	failed_with(crash(c, "spin"), "plugin crashed: signal 9 (SIGKILL): "
	    "ended by tpoold, its job used more than --worker-cpu-time "
	    "(300 ms) of CPU time");
	crash_ok(c);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* What tpctl plugins shows of plugin name: its workers alive, or (stuck)
 * its stuck jobs. */
static unsigned int
plugin_count(struct tpc *c, const char *name, bool stuck)
{
	Tpool__PluginList *pl;
	unsigned int n = 0;
	size_t i;

	ck_assert_int_eq(tpc_list_plugins(c, &pl), 0);
	for (i = 0; i < pl->n_plugins; i++)
		if (strcmp(pl->plugins[i]->name, name) == 0)
			n = stuck ? pl->plugins[i]->stuck_jobs :
			    pl->plugins[i]->workers;
	tpool__plugin_list__free_unpacked(pl, NULL);
	return n;
}

static unsigned int
crash_workers(struct tpc *c)
{
	return plugin_count(c, "crash", false);
}

/*
 * Three jobs at once take three workers; idle for --idle-timeout, those
 * past --worker-warm end.
 */
START_TEST(test_idle_workers_past_warm_end)
{
	Tpool__CancelReply *r;
	uint64_t id[3], end;
	Tpool__JobInfo *j;
	struct tpc *c;
	unsigned int i;

	up(ARGS("--worker-warm", "1", "--idle-timeout", "300ms",
	    "--max-threads", "4"));
	c = td_connect(&D);
	ck_assert_uint_eq(crash_workers(c), 1);
	for (i = 0; i < 3; i++)
		id[i] = td_submit(c, "crash", "wait");
	end = tu_now_ms() + td_deadline_ms();
	while (crash_workers(c) < 3 && tu_now_ms() < end)
		td_sleep_ms(20);
	ck_assert_uint_eq(crash_workers(c), 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(tpc_cancel(c, id[i], true, &r), 0);
		tpool__cancel_reply__free_unpacked(r, NULL);
		j = td_wait_final(c, id[i]);
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
		tpool__job_info__free_unpacked(j, NULL);
	}
	while (crash_workers(c) > 1 && tu_now_ms() < end)
		td_sleep_ms(50);
	ck_assert_uint_eq(crash_workers(c), 1);
	crash_ok(c);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * A worker outlives the pool thread that had it started (a replacement
 * after a crash), once that thread has exited after --idle-timeout.
 */
START_TEST(test_workers_outlive_the_threads_that_started_them)
{
	Tpool__JobInfo *a, *b;
	struct tpc *c;

	up(ARGS("--idle-timeout", "200ms"));
	c = td_connect(&D);
	failed_with(crash(c, "segv"), "signal 11");
	td_sleep_ms(1500);	/* the pool's threads exit, its pools go */
	a = crash(c, "id");
	b = crash(c, "id");
	ck_assert_int_eq(id_field(a, "pid"), id_field(b, "pid"));
	tpool__job_info__free_unpacked(a, NULL);
	tpool__job_info__free_unpacked(b, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* ---------------------------------------------------------- time limits */

static void
up_probe(const char *const *args)
{
	up_with(true, args);
}

/* Submit plugin on input with a time limit (0: none asked); its id. */
static uint64_t
submit_timed(struct tpc *c, const char *plugin, const char *input,
    uint64_t timeout_ms)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	uint64_t id;

	a.tsa_plugin = plugin;
	a.tsa_input = input;
	a.tsa_input_len = strlen(input);
	a.tsa_timeout_ms = timeout_ms;
	ck_assert_int_eq(tpc_submit(c, &a, &id), 0);
	return id;
}

/* j ended timed out, its message holding want; j is freed. */
static void
timed_out_with(Tpool__JobInfo *j, const char *want)
{
	ck_assert_msg(j->state == TPOOL__JOB_STATE__JOB_TIMED_OUT,
	    "state %d, not timed out ('%s')", j->state,
	    j->message != NULL ? j->message : "");
	ck_assert_msg(j->message != NULL && strstr(j->message, want) != NULL,
	    "message '%s', not '%s'", j->message != NULL ? j->message : "",
	    want);
	tpool__job_info__free_unpacked(j, NULL);
}

static unsigned int
probe_stuck(struct tpc *c)
{
	return plugin_count(c, "probe", true);
}

/*
 * Isolation thread: a job that ignores its stop past the grace is
 * reported timed out and written off; its pool (one thread) gets another
 * meanwhile, so the next job runs; probe counts a stuck job until the
 * thread lets go.
 */
START_TEST(test_thread_job_past_its_time_is_written_off)
{
	Tpool__StatsReply *st;
	Tpool__JobInfo *j;
	uint64_t held, end;
	char gate[128];
	struct tpc *c;

	up_probe(ARGS("--max-threads", "1", "--job-timeout", "300ms",
	    "--timeout-grace", "200ms"));
	c = td_connect(&D);
	/* Deaf to its stop, until the gate opens. */
	td_gate_input(&D, gate, sizeof(gate));
	held = td_submit(c, "probe", gate);
	timed_out_with(td_wait_final(c, held), "ran past its time limit of "
	    "300 ms and did not stop within the grace of 200 ms: written off");
	ck_assert_uint_eq(probe_stuck(c), 1);
	/* The one thread is held; the pool has another for this. */
	j = td_run_job(c, "echo", "x", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	ck_assert_uint_eq(probe_stuck(c), 1);
	td_gate_open(&D);
	end = tu_now_ms() + td_deadline_ms();
	while (probe_stuck(c) > 0 && tu_now_ms() < end)
		td_sleep_ms(50);
	ck_assert_uint_eq(probe_stuck(c), 0);
	j = td_wait_final(c, held);	/* still timed out, still there */
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_TIMED_OUT);
	tpool__job_info__free_unpacked(j, NULL);
	ck_assert_int_eq(tpc_stats(c, &st), 0);
	ck_assert_uint_eq(st->jobs_timed_out, 1);
	tpool__stats_reply__free_unpacked(st, NULL);
	td_expect_log(&D, "its thread finished, written off before");
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* A job that stops when its time is up (its cancel request) times out
 * within the grace; one that ends in time succeeds. */
START_TEST(test_job_that_stops_when_its_time_is_up)
{
	Tpool__JobInfo *j;
	struct tpc *c;

	up_probe(ARGS("--timeout-grace", "5s"));
	c = td_connect(&D);
	timed_out_with(td_wait_final(c, submit_timed(c, "probe", "spin:10000",
	    200)), "ran past its time limit of 200 ms; it stopped within the "
	    "grace");
	j = td_wait_final(c, submit_timed(c, "sleep", "50", 2000));
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * Isolation process: past its time and grace, the worker is killed; no
 * crash counted; the next job runs.
 */
START_TEST(test_process_job_past_its_time_is_killed)
{
	Tpool__PluginList *pl;
	struct tpc *c;
	size_t i;

	up_probe(ARGS("--plugin", "crash:job-timeout=300ms,timeout-grace=100ms"));
	c = td_connect(&D);
	timed_out_with(td_wait_final(c, submit_timed(c, "crash", "spin", 0)),
	    "ran past its time limit of 300 ms; its worker process was ended "
	    "after the grace");
	crash_ok(c);
	ck_assert_int_eq(tpc_list_plugins(c, &pl), 0);
	for (i = 0; i < pl->n_plugins; i++)
		if (strcmp(pl->plugins[i]->name, "crash") == 0)
			ck_assert_uint_eq(pl->plugins[i]->worker_crashes, 0);
	tpool__plugin_list__free_unpacked(pl, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* --max-job-timeout: a longer limit asked is refused; none asked gets it. */
START_TEST(test_time_limit_capped_by_the_maximum)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	const char *msg = NULL;
	struct tpc *c;
	uint64_t id;

	up_probe(ARGS("--max-job-timeout", "400ms", "--timeout-grace", "1s"));
	c = td_connect(&D);
	a.tsa_plugin = "sleep";
	a.tsa_input = "10";
	a.tsa_input_len = 2;
	a.tsa_timeout_ms = 5000;
	ck_assert_int_eq(tpc_submit(c, &a, &id), TPC_EDAEMON);
	ck_assert_int_eq(tpc_last_error(c, &msg),
	    TPOOL__ERROR_CODE__ERROR_BAD_REQUEST);
	ck_assert_msg(strstr(msg, "time limit of 5000 ms is over plugin "
	    "sleep's maximum of 400 ms") != NULL, "message '%s'", msg);
	timed_out_with(td_wait_final(c, submit_timed(c, "sleep", "3000", 0)),
	    "ran past its time limit of 400 ms");
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* A cancel request reaches the plugin in its worker. */
START_TEST(test_cancel_reaches_the_worker)
{
	Tpool__CancelReply *r;
	Tpool__JobInfo *j;
	struct tpc *c;
	uint64_t id;

	up(NULL);
	c = td_connect(&D);
	id = td_submit(c, "crash", "wait");
	td_sleep_ms(100);
	ck_assert_int_eq(tpc_cancel(c, id, false, &r), 0);
	tpool__cancel_reply__free_unpacked(r, NULL);
	j = td_wait_final(c, id);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_CANCELLED);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* --worker-jobs: a worker is replaced after that many jobs. */
START_TEST(test_worker_recycled_after_its_jobs)
{
	Tpool__JobInfo *a, *b, *d;
	struct tpc *c;

	up(ARGS("--worker-jobs", "2"));
	c = td_connect(&D);
	a = crash(c, "id");
	b = crash(c, "id");
	d = crash(c, "id");
	ck_assert_int_eq(id_field(a, "pid"), id_field(b, "pid"));
	ck_assert_int_ne(id_field(b, "pid"), id_field(d, "pid"));
	tpool__job_info__free_unpacked(a, NULL);
	tpool__job_info__free_unpacked(b, NULL);
	tpool__job_info__free_unpacked(d, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * A plugin that leaks memory is contained by recycling: a worker whose
 * resident memory grew past --worker-memory-growth is replaced after the
 * job, so that leaking jobs one after another all succeed (ten leaks of
 * 32 MiB would pass the 256 MiB address space in one worker).  One that
 * leaks descriptors gets no more than --worker-files.
 */
START_TEST(test_leaks_are_contained)
{
	Tpool__JobInfo *a, *j, *b;
	struct tpc *c;
	char buf[32];
	long got;
	int i;

	up(ARGS("--worker-memory", "256M", "--worker-memory-growth", "16M",
	    "--worker-files", "32"));
	c = td_connect(&D);
	for (i = 0; i < 10; i++) {
		a = crash(c, "id");
		j = crash(c, "leak:32");
		ck_assert_msg(j->state == TPOOL__JOB_STATE__JOB_SUCCEEDED,
		    "leak %d: state %d ('%s')", i, j->state,
		    j->message != NULL ? j->message : "");
		b = crash(c, "id");
		/* The leaking worker went; another runs the next job. */
		ck_assert_int_ne(id_field(a, "pid"), id_field(b, "pid"));
		tpool__job_info__free_unpacked(a, NULL);
		tpool__job_info__free_unpacked(j, NULL);
		tpool__job_info__free_unpacked(b, NULL);
	}
	j = crash(c, "fdleak:100");
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	ck_assert_uint_lt(j->result.len, sizeof(buf));
	memcpy(buf, j->result.data, j->result.len);
	buf[j->result.len] = '\0';
	ck_assert_int_eq(sscanf(buf, "fds %ld", &got), 1);
	ck_assert_msg(got > 0 && got < 32, "%ld copies under 32 files", got);
	tpool__job_info__free_unpacked(j, NULL);
	/* The worker it left with 32 open files still serves. */
	crash_ok(c);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/*
 * A leak by short jobs (128 KiB each, under the 1 ms after which a worker
 * reads its memory at once) is seen too: a worker reads it after every
 * 16th job counted from its first as well (daemon/worker.c), so with a
 * growth limit of 1 MiB its worker goes after its 17th job (the 16th
 * leak: 2 MiB), also when a leak took 1 ms or more (under valgrind) and
 * was read early, at less than 1 MiB.
 */
START_TEST(test_short_jobs_that_leak_are_contained)
{
	Tpool__JobInfo *a, *j, *b;
	struct tpc *c;
	int i;

	up(ARGS("--worker-memory", "256M", "--worker-memory-growth", "1M",
	    "--worker-procs", "1"));
	c = td_connect(&D);
	a = crash(c, "id");
	for (i = 0; i < 17; i++) {
		j = crash(c, "leakk:128");
		ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
		tpool__job_info__free_unpacked(j, NULL);
	}
	b = crash(c, "id");
	ck_assert_int_ne(id_field(a, "pid"), id_field(b, "pid"));
	tpool__job_info__free_unpacked(a, NULL);
	tpool__job_info__free_unpacked(b, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* How often the daemon's log says needle. */
static size_t
log_count(const char *needle)
{
	char *log = td_log_read(&D), *p;
	size_t n = 0;

	for (p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(log);
	return n;
}

#define	LOAD_CRASHED	"plugin load-crash.so: loading it ended its " \
	"worker: signal 11 (SIGSEGV); skipped"

/*
 * Where a plugin may be of isolation "process", every plugin's
 * declaration is read in a worker process: one that dies as it loads (in
 * its constructor, before any function of it is called) takes that
 * process down, not tpoold, and is skipped, saying how.
 */
START_TEST(test_plugin_that_dies_as_it_loads_is_skipped)
{
	Tpool__PluginList *pl;
	Tpool__JobInfo *j;
	struct tpc *c;
	size_t i;

	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "crash", NULL);
	td_add_plugin(&D, "load-crash", NULL);
	td_start(&D, NULL, ARGS("--plugin-isolation", "crash:process"));
	ck_assert_uint_eq(log_count(LOAD_CRASHED), 1);
	c = td_connect(&D);
	ck_assert_int_eq(tpc_list_plugins(c, &pl), 0);
	ck_assert_uint_eq(pl->n_plugins, 5);
	for (i = 0; i < pl->n_plugins; i++) {
		ck_assert_str_ne(pl->plugins[i]->name, "loadcrash");
		/* Declared in a worker, the same as loaded here. */
		if (strcmp(pl->plugins[i]->name, "crash") == 0)
			ck_assert_str_eq(pl->plugins[i]->description,
			    "crashes as its input says (tests)");
	}
	tpool__plugin_list__free_unpacked(pl, NULL);
	j = td_run_job(c, "echo", "x", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	crash_ok(c);
	/* A rescan reads it again, and skips it again. */
	ck_assert_int_eq(kill(D.td_pid, SIGHUP), 0);
	for (i = 0; i < 1000 && log_count(LOAD_CRASHED) < 2; i++)
		td_sleep_ms(10);
	ck_assert_uint_eq(log_count(LOAD_CRASHED), 2);
	j = td_run_job(c, "echo", "y", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* Submit crash on input: the daemon's error code (the job must be
 * refused), its message in msg[]. */
static Tpool__ErrorCode
refused(struct tpc *c, const char *input, char *msg, size_t len)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	const char *m = NULL;
	Tpool__ErrorCode code;
	uint64_t id;
	int error;

	a.tsa_plugin = "crash";
	a.tsa_input = input;
	a.tsa_input_len = strlen(input);
	error = tpc_submit(c, &a, &id);
	ck_assert_msg(error == TPC_EDAEMON, "crash %s was not refused",
	    input);
	code = tpc_last_error(c, &m);
	(void)snprintf(msg, len, "%s", m != NULL ? m : "");
	return code;
}

/* crash's quarantine as tpctl plugins shows it (ms left). */
static uint64_t
listed_quarantine_ms(struct tpc *c)
{
	Tpool__PluginList *pl;
	uint64_t ms = 0;
	size_t i;

	ck_assert_int_eq(tpc_list_plugins(c, &pl), 0);
	for (i = 0; i < pl->n_plugins; i++)
		if (strcmp(pl->plugins[i]->name, "crash") == 0) {
			ck_assert_str_eq(pl->plugins[i]->isolation, "process");
			ms = pl->plugins[i]->quarantined_ms;
		} else
			ck_assert_str_eq(pl->plugins[i]->isolation, "thread");
	tpool__plugin_list__free_unpacked(pl, NULL);
	return ms;
}

/*
 * The same, and stats must agree.  Only where the quarantine cannot end
 * between the two requests: each looks at the clock when it is answered.
 */
static uint64_t
quarantine_ms(struct tpc *c)
{
	Tpool__StatsReply *st;
	uint64_t ms = listed_quarantine_ms(c);

	ck_assert_int_eq(tpc_stats(c, &st), 0);
	ck_assert_uint_eq(st->plugins_quarantined, ms > 0 ? 1 : 0);
	tpool__stats_reply__free_unpacked(st, NULL);
	return ms;
}

/*
 * --quarantine-crashes 3: three crashes in a row (not two, then a job that
 * ends) and the plugin is refused, saying why, until a SIGHUP or
 * --quarantine-time.
 */
START_TEST(test_plugin_that_keeps_crashing_is_quarantined)
{
	Tpool__JobInfo *j;
	struct tpc *c;
	char msg[512];
	uint64_t end;
	int round;

	up(ARGS("--quarantine-crashes", "3", "--quarantine-time", "2s"));
	c = td_connect(&D);
	failed_with(crash(c, "segv"), "signal 11");
	failed_with(crash(c, "abort"), "signal 6");
	crash_ok(c);
	ck_assert_uint_eq(quarantine_ms(c), 0);
	for (round = 0; round < 2; round++) {
		failed_with(crash(c, "segv"), "signal 11");
		failed_with(crash(c, "segv"), "signal 11");
		failed_with(crash(c, "exit:9"), "status 9");
		ck_assert_uint_gt(quarantine_ms(c), 0);
		ck_assert_int_eq(refused(c, "ok", msg, sizeof(msg)),
		    TPOOL__ERROR_CODE__ERROR_PLUGIN_QUARANTINED);
		ck_assert_msg(strstr(msg, "crashed 3 times in a row (last: it "
		    "exited with status 9)") != NULL, "message '%s'", msg);
		if (round == 0) {
			/* Lifted by a SIGHUP. */
			ck_assert_int_eq(kill(D.td_pid, SIGHUP), 0);
			ck_assert(td_wait_notify(&D, "READY=1",
			    td_deadline_ms()));
		} else {
			/* Or over after --quarantine-time. */
			end = tu_now_ms() + td_deadline_ms();
			while (listed_quarantine_ms(c) > 0 &&
			    tu_now_ms() < end)
				td_sleep_ms(100);
		}
		ck_assert_uint_eq(quarantine_ms(c), 0);
		crash_ok(c);
	}
	/* Other plugins were never refused. */
	j = td_run_job(c, "echo", "x", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	tpc_free(c);
	td_down(&D);
}
END_TEST

/* The daemon with args exits 2 at once, its log saying want. */
static void
usage_error(const char *const *args, const char *want)
{
	pid_t pid;
	int status;

	td_init(&D);
	pid = td_spawn(&D, NULL, args, true);
	status = td_wait_exit(pid, td_deadline_ms());
	ck_assert(status != -1 && WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 2);
	td_expect_log(&D, want);
	td_cleanup(&D);
}

/* A bad --isolation, --plugin-isolation or --plugin stops the daemon at
 * once. */
START_TEST(test_bad_isolation_options_are_refused)
{
	usage_error(ARGS("--isolation", "sandbox"),
	    "--isolation: 'sandbox' is not thread or process");
	usage_error(ARGS("--plugin-isolation", "crash"),
	    "'crash' is not NAME:thread or NAME:process");
	usage_error(ARGS("--plugin-isolation", "crash:sandbox"),
	    "'crash:sandbox' is not NAME:thread or NAME:process");
	usage_error(ARGS("--plugin", "crash:max-threads=3"),
	    "--plugin crash: no setting 'max-threads' per plugin");
	usage_error(ARGS("--plugin", "crash:worker-memory"),
	    "--plugin crash: 'worker-memory' is not KEY=VALUE");
	usage_error(ARGS("--plugin", "crash:worker-memory=lots"),
	    "--worker-memory");
}
END_TEST

/*
 * --plugin NAME:KEY=VALUE,...: one plugin's settings over the daemon's
 * (here none of its own: no address space limit, one warm worker).
 */
START_TEST(test_plugin_settings_override_the_daemons)
{
	Tpool__JobInfo *j;
	struct tpc *c;

	td_init(&D);
	td_add_example_plugins(&D);
	td_add_plugin(&D, "crash", NULL);
	td_start(&D, NULL, ARGS("--worker-memory", "0", "--plugin",
	    "crash:isolation=process,worker-warm=2,worker-memory=64M"));
	c = td_connect(&D);
	ck_assert_uint_eq(crash_workers(c), 2);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	failed_with(crash(c, "alloc:256"), "plugin crashed: signal 11");
#endif
	j = crash(c, "alloc:16");
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	/* echo has none of it: isolation thread, the daemon's default. */
	j = td_run_job(c, "echo", "x", UNBOUND, -1, -1);
	ck_assert_int_eq(j->state, TPOOL__JOB_STATE__JOB_SUCCEEDED);
	tpool__job_info__free_unpacked(j, NULL);
	td_expect_log(&D, "plugin crash: worker processes: 2 warm; address "
	    "space 67108864");
	tpc_free(c);
	td_down(&D);
}
END_TEST

static Suite *
isolation_suite(void)
{
	Suite *s = suite_create("daemon-isolation");
	TCase *tc = tcase_create("process");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_jobs_run_in_a_reused_worker_process);
	tcase_add_test(tc, test_worker_takes_the_pools_cpu_and_priority);
	tcase_add_test(tc, test_unbound_worker_starts_on_its_threads_cpu);
	tcase_add_test(tc, test_crashes_fail_only_their_job);
	tcase_add_test(tc, test_cancel_reaches_the_worker);
	tcase_add_test(tc, test_worker_allows_threads);
	tcase_add_test(tc, test_worker_cpu_time_limit);
	tcase_add_test(tc, test_worker_recycled_after_its_jobs);
	tcase_add_test(tc, test_leaks_are_contained);
	tcase_add_test(tc, test_short_jobs_that_leak_are_contained);
	tcase_add_test(tc, test_plugin_that_dies_as_it_loads_is_skipped);
	tcase_add_test(tc, test_idle_workers_past_warm_end);
	tcase_add_test(tc, test_workers_outlive_the_threads_that_started_them);
	tcase_add_test(tc, test_plugin_that_keeps_crashing_is_quarantined);
	tcase_add_test(tc, test_bad_isolation_options_are_refused);
	tcase_add_test(tc, test_thread_job_past_its_time_is_written_off);
	tcase_add_test(tc, test_job_that_stops_when_its_time_is_up);
	tcase_add_test(tc, test_process_job_past_its_time_is_killed);
	tcase_add_test(tc, test_time_limit_capped_by_the_maximum);
	tcase_add_test(tc, test_plugin_settings_override_the_daemons);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return td_main(isolation_suite());
}
