/*
 * isolation.c -- bench_tpoold's part 5: plugins of isolation "process"
 * beside "thread" (part 1's unpinned rows, the same run).
 *
 * A tpoold of its own runs every plugin in worker processes
 * (--isolation process, the build's tpoold-worker).  On it: the null
 * job's round trips from 1 client and from 8 (rt_run, as part 1), then
 * ISO_CRASHES times: a worker of "sleep" is killed (SIGKILL) while it
 * runs a 10 s job, and the time is taken from the kill to the end of the
 * first "sleep 0" job that succeeds after it (the crashed job's failure
 * first: it must say "plugin crashed").  That is the crash to its
 * replacement serving jobs.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "tpclient.h"

#ifndef TP_BENCH_BUILDDIR
#define	TP_BENCH_BUILDDIR	"."
#endif

/* The pid of the one child of daemon named comm, or -1. */
static pid_t
iso_child_named(pid_t daemon, const char *comm)
{
	char path[300], buf[512], *p;
	struct dirent *de;
	pid_t found = -1;
	FILE *f;
	DIR *d;
	int ppid;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == daemon &&
		    strncmp(strchr(buf, '(') + 1, comm, strlen(comm)) == 0 &&
		    strchr(buf, '(')[1 + strlen(comm)] == ')')
			found = (pid_t)atoi(de->d_name);
		(void)fclose(f);
	}
	(void)closedir(d);
	return found;
}

/* Submit sleep on input and wait for its end: its final state (or -1). */
static int
iso_sleep(struct tpc *c, const char *input, char *msg, size_t len)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__JobInfo *j = NULL;
	uint64_t id;
	int state;

	a.tsa_plugin = "sleep";
	a.tsa_input = input;
	a.tsa_input_len = strlen(input);
	if (tpc_submit(c, &a, &id) != 0 ||
	    tpc_wait_job(c, id, &j, NULL, NULL) != 0)
		return -1;
	state = (int)j->state;
	(void)snprintf(msg, len, "%s", j->message != NULL ? j->message : "");
	tpool__job_info__free_unpacked(j, NULL);
	return state;
}

/* One crash and the time to the next good job, ms; -1 on failure. */
static double
iso_crash_once(struct tpc *c, pid_t daemon, char *err, size_t errlen)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__JobInfo *j = NULL;
	Tpool__Event *ev = NULL;
	uint64_t id, t0, end;
	char msg[256];
	pid_t worker;
	int state;

	a.tsa_plugin = "sleep";
	a.tsa_input = "10000";
	a.tsa_input_len = 5;
	if (tpc_submit(c, &a, &id) != 0) {
		(void)snprintf(err, errlen, "submit sleep 10000 failed");
		return -1;
	}
	/* Its start: then the one worker of "sleep" runs it. */
	do {
		if (ev != NULL)
			tpool__event__free_unpacked(ev, NULL);
		ev = NULL;
		if (tpc_next_event(c, &ev) != 0) {
			(void)snprintf(err, errlen, "no Started event");
			return -1;
		}
	} while (ev->job_id != id ||
	    ev->kind_case != TPOOL__EVENT__KIND_STARTED);
	tpool__event__free_unpacked(ev, NULL);
	if ((worker = iso_child_named(daemon, "sleep")) < 0) {
		(void)snprintf(err, errlen, "no worker process named sleep");
		return -1;
	}
	t0 = tu_now_ns();
	(void)kill(worker, SIGKILL);
	if (tpc_wait_job(c, id, &j, NULL, NULL) != 0) {
		(void)snprintf(err, errlen, "the crashed job has no end");
		return -1;
	}
	state = (int)j->state;
	if (state != TPOOL__JOB_STATE__JOB_FAILED || j->message == NULL ||
	    strstr(j->message, "plugin crashed") == NULL) {
		(void)snprintf(err, errlen, "the crashed job ended %d: %s",
		    state, j->message != NULL ? j->message : "");
		tpool__job_info__free_unpacked(j, NULL);
		return -1;
	}
	tpool__job_info__free_unpacked(j, NULL);
	end = t0 + 10ull * 1000000000u;
	while (tu_now_ns() < end) {
		state = iso_sleep(c, "0", msg, sizeof(msg));
		if (state == TPOOL__JOB_STATE__JOB_SUCCEEDED)
			return (double)(tu_now_ns() - t0) / 1e6;
		if (state < 0) {
			(void)snprintf(err, errlen, "sleep 0 failed: %.150s",
			    msg);
			return -1;
		}
	}
	(void)snprintf(err, errlen, "no job succeeded within 10 s");
	return -1;
}

static int
iso_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
iso_run(struct iso_result *res)
{
	static const char *const extra[] = { "--isolation", "process",
	    "--worker-program", TP_BENCH_BUILDDIR "/daemon/tpoold-worker",
	    NULL };
	char sock[128], log[128];
	struct tpc *c = NULL;
	unsigned int i;
	pid_t pid;
	int error;

	memset(res, 0, sizeof(*res));
	(void)snprintf(sock, sizeof(sock), "%s/tpoold-process.sock",
	    bench_config.bc_tmpdir);
	(void)snprintf(log, sizeof(log), "%s/tpoold-process.log",
	    bench_config.bc_tmpdir);
	if ((error = proc_daemon_start(sock, log, extra, -1, &pid)) != 0) {
		(void)snprintf(res->i_error, sizeof(res->i_error),
		    "cannot start tpoold --isolation process: %s",
		    strerror(error));
		return;
	}
	bench_note("isolation process: 1 client, null jobs");
	rt_run(RT_TPOOLD, sock, pid, 1, bench_config.bc_nops, -1,
	    rt_submit_frame_len(), &res->i_rt1);
	bench_note("isolation process: 8 clients, null jobs");
	rt_run(RT_TPOOLD, sock, pid, 8, bench_config.bc_nops, -1,
	    rt_submit_frame_len(), &res->i_rt8);
	bench_note("isolation process: %d worker crashes", ISO_CRASHES);
	if (tpc_open(sock, &c) != 0) {
		(void)snprintf(res->i_error, sizeof(res->i_error),
		    "cannot connect");
		goto out;
	}
	for (i = 0; i < ISO_CRASHES; i++)
		if ((res->i_replace_ms[i] = iso_crash_once(c, pid,
		    res->i_error, sizeof(res->i_error))) < 0)
			goto out;
	qsort(res->i_replace_ms, ISO_CRASHES, sizeof(res->i_replace_ms[0]),
	    iso_cmp);
	res->i_valid = res->i_rt1.r_valid && res->i_rt8.r_valid;
out:
	if (c != NULL)
		tpc_free(c);
	error = proc_stop(pid, 20000, NULL, &res->i_exit);
	if (error != 0 || !WIFEXITED(res->i_exit) ||
	    WEXITSTATUS(res->i_exit) != 0) {
		proc_show_log(log);
		res->i_valid = false;
		if (res->i_error[0] == '\0')
			(void)snprintf(res->i_error, sizeof(res->i_error),
			    "tpoold --isolation process did not exit 0");
	}
}
