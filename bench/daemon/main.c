/*
 * main.c -- bench_tpoold: tpoold's round trips, throughput and memory
 * against a plain Unix-socket echo server (the floor), in one run, one
 * table, with the ratios next to issue 3's targets.
 *
 * The run, in order:
 *  1. an echo server and a tpoold, neither pinned; for each client count
 *     of -c: -n round trips on the echo floor, then -n null jobs
 *     (submit-and-wait) on tpoold;
 *  2. pipelined submits on that tpoold: the client library, then the lean
 *     client (pipeline.c);
 *  3. both servers again, each pinned (whole process) to one CPU (--cpu):
 *     1-client round trips with the client thread on that same CPU, so
 *     that no cross-CPU wakeup (an idle vCPU halts: 20-50 us to wake it)
 *     is in the figure; then with the client on another CPU, so that every
 *     round trip crosses CPUs both ways (unpinned, the scheduler picks one
 *     or the other, run by run);
 *  4. tpoold's memory per queued job (memory.c), on a daemon of its own.
 * Each server is stopped with SIGTERM when its part is done; tpoold must
 * exit 0.  Whatever happens, every child is killed at the end (proc.c).
 *
 * The figures are wall-clock (CLOCK_MONOTONIC); CPU time per round trip
 * comes from /proc/PID/stat for the servers (10 ms ticks: meaningful over
 * a run, not per job) and CLOCK_THREAD_CPUTIME_ID for the clients.
 * How to read them: docs/benchmarks.md (## tpoold).
 *
 * (Over 800 lines: the run's order, the targets, the table and its --json
 * form all read one struct results, private to this file; the measurements
 * themselves are in the other files of bench/daemon.)
 */
#include "config.h"

#include <sys/utsname.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#ifndef TP_BENCH_BUILDDIR
#define	TP_BENCH_BUILDDIR	"."
#endif

struct bench_config bench_config;

/* The targets of issue 3. */
#define	TARGET_RT_RATIO		3.0	/* 1-client median, tpoold / echo, at most */
#define	TARGET_TPUT_SHARE	0.60	/* 8-client jobs/s / echo rt/s, at least */
#define	TARGET_TPUT_CLIENTS	8
#define	TARGET_PIPE_JOBS_S	500000.0
#define	TARGET_MEM_BYTES	1024.0	/* per queued job, under */

/* One row of the round-trip table: both servers at one client count. */
struct row {
	unsigned int	rw_clients;
	int		rw_cpu;		/* client threads pinned there, or -1 */
	int		rw_server_cpu;	/* servers pinned there, or -1 */
	struct rt_result rw_tpoold;	/* of the round shown */
	struct rt_result rw_echo;
	unsigned int	rw_nrounds;	/* measured */
	unsigned int	rw_shown;	/* the round of rw_tpoold, rw_echo */
	double		rw_lat_ratio[BENCH_MAX_ROUNDS];	/* tpoold/echo median */
	double		rw_tput_ratio[BENCH_MAX_ROUNDS]; /* tpoold/echo rate */
};

/* Everything measured. */
struct results {
	struct row	rs_rows[BENCH_MAX_COUNTS + 2];
	unsigned int	rs_nrows;
	struct pipe_result rs_pipe[2];	/* library, lean: the median round */
	bool		rs_have_pipe;
	unsigned int	rs_pipe_nrounds;	/* measured */
	double		rs_pipe_rates[2][BENCH_MAX_ROUNDS]; /* jobs/s a round */
	struct mem_result rs_mem;
	bool		rs_have_mem;
	struct iso_result rs_iso;
	struct store_result rs_store;
	bool		rs_have_store;
	bool		rs_have_iso;
	size_t		rs_frame_len;
	int		rs_daemon_exit[2];	/* unpinned, pinned: wait status */
	char		rs_error[256];	/* a part that could not run at all */
};

static char bench_cmdline[1024];
static char bench_cpu_model[128];
static char bench_kernel[200];
static double bench_loadavg[3];
static long bench_ncpu;
static bool bench_failed;

void
bench_note(const char *fmt, ...)
{
	va_list ap;

	if (bench_config.bc_json && !bench_config.bc_verbose)
		return;
	va_start(ap, fmt);
	(void)fputs("bench_tpoold: ", stderr);
	(void)vfprintf(stderr, fmt, ap);
	(void)fputc('\n', stderr);
	va_end(ap);
}

/* ------------------------------------------------------------ machine */

static void
machine_read(int argc, char **argv)
{
	struct utsname u;
	char line[256], *p;
	size_t len = 0;
	FILE *f;
	int i;

	for (i = 0; i < argc && len < sizeof(bench_cmdline) - 1; i++)
		len += (size_t)snprintf(bench_cmdline + len,
		    sizeof(bench_cmdline) - len, "%s%s", i > 0 ? " " : "", argv[i]);
	bench_ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	(void)snprintf(bench_cpu_model, sizeof(bench_cpu_model), "unknown CPU");
	if ((f = fopen("/proc/cpuinfo", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "model name", 10) != 0 ||
			    (p = strchr(line, ':')) == NULL)
				continue;
			p += strspn(p + 1, " \t") + 1;
			p[strcspn(p, "\n")] = '\0';
			(void)snprintf(bench_cpu_model, sizeof(bench_cpu_model),
			    "%s", p);
			break;
		}
		(void)fclose(f);
	}
	if (uname(&u) == 0)
		(void)snprintf(bench_kernel, sizeof(bench_kernel), "%s %s %s",
		    u.sysname, u.release, u.machine);
	if (getloadavg(bench_loadavg, 3) != 3)
		bench_loadavg[0] = bench_loadavg[1] = bench_loadavg[2] = -1;
}

/*
 * The CPU of the servers in the pinned runs: --cpu, else the last one we
 * may use; *ret_other is another CPU we may use (for the client apart from
 * the servers), or -1 when there is none.
 */
static int
pick_cpus(int *ret_other)
{
	cpu_set_t set;
	int cpu, main_cpu = -1;

	*ret_other = -1;
	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		CPU_ZERO(&set);
		CPU_SET(0, &set);
	}
	if (bench_config.bc_cpu >= 0)
		main_cpu = bench_config.bc_cpu;
	for (cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (main_cpu < 0)
			main_cpu = cpu;
		else if (cpu != main_cpu && *ret_other < 0)
			*ret_other = cpu;
	}
	return main_cpu < 0 ? 0 : main_cpu;
}

/* "no", "1/1" (server CPU / client CPU): the pinning of a row. */
static void
row_pinning(const struct row *rw, char *buf, size_t len)
{
	if (rw->rw_cpu < 0 && rw->rw_server_cpu < 0)
		(void)snprintf(buf, len, "no");
	else
		(void)snprintf(buf, len, "%d/%d", rw->rw_server_cpu, rw->rw_cpu);
}

/* ------------------------------------------------------------ the runs */

static void
run_row(struct row *rw, const char *echo_sock, pid_t echo_pid,
    const char *tp_sock, pid_t tp_pid, size_t frame_len)
{
	static struct rt_result echo[BENCH_MAX_ROUNDS], tp[BENCH_MAX_ROUNDS];
	unsigned int k, j, below;
	double *key;
	char pin[64];

	if (rw->rw_cpu >= 0 && rw->rw_cpu == rw->rw_server_cpu)
		(void)snprintf(pin, sizeof(pin), ", all on CPU %d", rw->rw_cpu);
	else if (rw->rw_cpu >= 0)
		(void)snprintf(pin, sizeof(pin), ", servers on CPU %d, client "
		    "on CPU %d", rw->rw_server_cpu, rw->rw_cpu);
	else
		pin[0] = '\0';
	/*
	 * Rounds of the two side by side, echo then tpoold, so that a
	 * machine's drift falls on both alike; the row shows the round whose
	 * ratio is the median of the rounds' (the round-trip time's for one
	 * client, the throughput's for more: the targets' figures; the lower
	 * of the middle two for an even count).
	 */
	rw->rw_nrounds = 0;
	for (k = 0; k < bench_config.bc_rounds; k++) {
		bench_note("%u client%s%s: echo floor, round %u of %u",
		    rw->rw_clients, rw->rw_clients == 1 ? "" : "s", pin, k + 1,
		    bench_config.bc_rounds);
		rt_run(RT_ECHO, echo_sock, echo_pid, rw->rw_clients,
		    bench_config.bc_nops, rw->rw_cpu, frame_len, &echo[k]);
		bench_note("%u client%s%s: tpoold null jobs, round %u of %u",
		    rw->rw_clients, rw->rw_clients == 1 ? "" : "s", pin, k + 1,
		    bench_config.bc_rounds);
		rt_run(RT_TPOOLD, tp_sock, tp_pid, rw->rw_clients,
		    bench_config.bc_nops, rw->rw_cpu, frame_len, &tp[k]);
		rw->rw_nrounds++;
		if (!echo[k].r_valid || !tp[k].r_valid)
			break;
		rw->rw_lat_ratio[k] = tp[k].r_median_us / echo[k].r_median_us;
		rw->rw_tput_ratio[k] = tp[k].r_ops_per_s / echo[k].r_ops_per_s;
	}
	k = rw->rw_nrounds - 1;
	if (!echo[k].r_valid || !tp[k].r_valid) {
		/* A failed round is shown, with its error. */
		rw->rw_shown = k;
		rw->rw_echo = echo[k];
		rw->rw_tpoold = tp[k];
		bench_failed = true;
		return;
	}
	key = rw->rw_clients == 1 ? rw->rw_lat_ratio : rw->rw_tput_ratio;
	for (k = 0; k < rw->rw_nrounds; k++) {
		for (below = 0, j = 0; j < rw->rw_nrounds; j++)
			if (key[j] < key[k] || (key[j] == key[k] && j < k))
				below++;
		if (below == (rw->rw_nrounds - 1) / 2)
			break;
	}
	rw->rw_shown = k;
	rw->rw_echo = echo[k];
	rw->rw_tpoold = tp[k];
}

/*
 * The pipelined submits: rounds of the client library then the lean
 * client; each shows the round with its median jobs/s (the lower of the
 * middle two for an even count), every round's rate listed below it.
 */
static void
run_pipelined(struct results *r, const char *tp_sock, pid_t tp_pid)
{
	static struct pipe_result runs[2][BENCH_MAX_ROUNDS];
	unsigned int k, j, i, below;
	double *rate;

	r->rs_have_pipe = true;
	r->rs_pipe_nrounds = 0;
	for (k = 0; k < bench_config.bc_rounds; k++) {
		for (i = 0; i < 2; i++) {
			bench_note("pipelined: %llu null jobs, window %llu, %s, "
			    "round %u of %u",
			    (unsigned long long)bench_config.bc_pipeline,
			    (unsigned long long)bench_config.bc_window,
			    i == 0 ? "client library" : "lean client", k + 1,
			    bench_config.bc_rounds);
			pipe_run(tp_sock, tp_pid, bench_config.bc_pipeline,
			    bench_config.bc_window, i == 1, &runs[i][k]);
			r->rs_pipe_rates[i][k] = runs[i][k].p_jobs_per_s;
		}
		r->rs_pipe_nrounds++;
		if (!runs[0][k].p_valid || !runs[1][k].p_valid) {
			/* A failed round is shown, with its error. */
			r->rs_pipe[0] = runs[0][k];
			r->rs_pipe[1] = runs[1][k];
			bench_failed = true;
			return;
		}
	}
	for (i = 0; i < 2; i++) {
		rate = r->rs_pipe_rates[i];
		for (k = 0; k < r->rs_pipe_nrounds; k++) {
			for (below = 0, j = 0; j < r->rs_pipe_nrounds; j++)
				if (rate[j] < rate[k] ||
				    (rate[j] == rate[k] && j < k))
					below++;
			if (below == (r->rs_pipe_nrounds - 1) / 2)
				break;
		}
		r->rs_pipe[i] = runs[i][k];
	}
}

/* Start both servers (pinned to cpu when >= 0). */
static int
servers_start(const char *tag, int cpu, char *echo_sock, char *tp_sock,
    char *tp_log, size_t len, pid_t *ret_echo, pid_t *ret_tp)
{
	int error;

	(void)snprintf(echo_sock, len, "%s/echo-%s.sock", bench_config.bc_tmpdir, tag);
	(void)snprintf(tp_sock, len, "%s/tpoold-%s.sock", bench_config.bc_tmpdir, tag);
	(void)snprintf(tp_log, len, "%s/tpoold-%s.log", bench_config.bc_tmpdir, tag);
	if ((error = proc_echo_start(echo_sock, cpu, ret_echo)) != 0) {
		(void)fprintf(stderr, "bench_tpoold: cannot start the echo "
		    "server: %s\n", strerror(error));
		return error;
	}
	if ((error = proc_daemon_start(tp_sock, tp_log, NULL, cpu, ret_tp)) != 0) {
		(void)proc_stop(*ret_echo, 2000, NULL, NULL);
		return error;
	}
	return 0;
}

/* Stop both; the daemon's wait status goes to *ret_status. */
static void
servers_stop(pid_t echo_pid, pid_t tp_pid, const char *tp_log, int *ret_status)
{
	int error;

	(void)proc_stop(echo_pid, 2000, NULL, NULL);
	error = proc_stop(tp_pid, 20000, NULL, ret_status);
	if (error != 0 || !WIFEXITED(*ret_status) || WEXITSTATUS(*ret_status) != 0) {
		(void)fprintf(stderr, "bench_tpoold: tpoold did not exit 0 on "
		    "SIGTERM%s\n", error == ETIMEDOUT ? " in 20 s (killed)" : "");
		proc_show_log(tp_log);
		bench_failed = true;
	}
}

static void
run_all(struct results *r)
{
	char echo_sock[128], tp_sock[128], tp_log[128];
	pid_t echo_pid, tp_pid;
	unsigned int i;
	int cpu, other;

	r->rs_frame_len = rt_submit_frame_len();
	r->rs_daemon_exit[0] = r->rs_daemon_exit[1] = -1;

	bench_note("starting the echo server and tpoold");
	if (servers_start("free", -1, echo_sock, tp_sock, tp_log,
	    sizeof(echo_sock), &echo_pid, &tp_pid) != 0) {
		(void)snprintf(r->rs_error, sizeof(r->rs_error),
		    "could not start the servers (see above)");
		bench_failed = true;
		return;
	}
	for (i = 0; i < bench_config.bc_ncounts; i++) {
		r->rs_rows[r->rs_nrows].rw_clients = bench_config.bc_counts[i];
		r->rs_rows[r->rs_nrows].rw_cpu = -1;
		r->rs_rows[r->rs_nrows].rw_server_cpu = -1;
		run_row(&r->rs_rows[r->rs_nrows], echo_sock, echo_pid, tp_sock,
		    tp_pid, r->rs_frame_len);
		r->rs_nrows++;
	}
	if (bench_config.bc_pipeline > 0)
		run_pipelined(r, tp_sock, tp_pid);
	servers_stop(echo_pid, tp_pid, tp_log, &r->rs_daemon_exit[0]);

	if (bench_config.bc_pin) {
		cpu = pick_cpus(&other);
		bench_note("starting both servers again, pinned to CPU %d", cpu);
		if (servers_start("pinned", cpu, echo_sock, tp_sock, tp_log,
		    sizeof(echo_sock), &echo_pid, &tp_pid) != 0) {
			(void)snprintf(r->rs_error, sizeof(r->rs_error),
			    "could not start the pinned servers (see above)");
			bench_failed = true;
		} else {
			r->rs_rows[r->rs_nrows].rw_clients = 1;
			r->rs_rows[r->rs_nrows].rw_cpu = cpu;
			r->rs_rows[r->rs_nrows].rw_server_cpu = cpu;
			run_row(&r->rs_rows[r->rs_nrows], echo_sock, echo_pid,
			    tp_sock, tp_pid, r->rs_frame_len);
			r->rs_nrows++;
			if (other >= 0) {
				/* Every round trip crosses CPUs, both ways. */
				r->rs_rows[r->rs_nrows].rw_clients = 1;
				r->rs_rows[r->rs_nrows].rw_cpu = other;
				r->rs_rows[r->rs_nrows].rw_server_cpu = cpu;
				run_row(&r->rs_rows[r->rs_nrows], echo_sock,
				    echo_pid, tp_sock, tp_pid, r->rs_frame_len);
				r->rs_nrows++;
			}
			servers_stop(echo_pid, tp_pid, tp_log, &r->rs_daemon_exit[1]);
		}
	}

	if (bench_config.bc_isolation) {
		r->rs_have_iso = true;
		iso_run(&r->rs_iso);
		if (!r->rs_iso.i_valid)
			bench_failed = true;
	}

	if (bench_config.bc_store) {
		r->rs_have_store = true;
		store_run(&r->rs_store);
		if (!r->rs_store.s_valid)
			bench_failed = true;
	}

	if (bench_config.bc_queued > 0) {
		bench_note("memory: %llu null jobs queued behind a sleep job",
		    (unsigned long long)bench_config.bc_queued);
		r->rs_have_mem = true;
		mem_run(bench_config.bc_queued, &r->rs_mem);
		if (!r->rs_mem.m_valid)
			bench_failed = true;
	}
}

/* ------------------------------------------------------------ targets */

enum verdict { V_MET, V_MISSED, V_NONE };

struct target {
	const char	*t_name;
	const char	*t_key;		/* for --json */
	double		t_value;
	double		t_goal;
	bool		t_at_most;	/* value <= goal (else >= goal) */
	const char	*t_unit;	/* "x", "%", "jobs/s", "B" */
	enum verdict	t_verdict;
};

enum pinning { PIN_NONE, PIN_SAME, PIN_APART };

static const struct row *
find_row(const struct results *r, unsigned int clients, enum pinning pin)
{
	const struct row *rw;
	unsigned int i;

	for (i = 0; i < r->rs_nrows; i++) {
		rw = &r->rs_rows[i];
		if (rw->rw_clients != clients)
			continue;
		if ((pin == PIN_NONE && rw->rw_cpu < 0) ||
		    (pin == PIN_SAME && rw->rw_cpu >= 0 &&
		    rw->rw_cpu == rw->rw_server_cpu) ||
		    (pin == PIN_APART && rw->rw_cpu >= 0 &&
		    rw->rw_cpu != rw->rw_server_cpu))
			return rw;
	}
	return NULL;
}

static void
target_set(struct target *t, bool have, double value)
{
	if (!have) {
		t->t_verdict = V_NONE;
		return;
	}
	t->t_value = value;
	if (t->t_at_most)
		t->t_verdict = value <= t->t_goal ? V_MET : V_MISSED;
	else
		t->t_verdict = value >= t->t_goal ? V_MET : V_MISSED;
}

static unsigned int
targets_compute(const struct results *r, struct target *t)
{
	const struct row *rw;
	unsigned int n = 0;
	bool ok;

	rw = find_row(r, 1, PIN_SAME);
	t[n] = (struct target){ "1-client median round trip / echo, one CPU",
	    "rt_ratio_pinned", 0, TARGET_RT_RATIO, true, "x", V_NONE };
	ok = rw != NULL && rw->rw_tpoold.r_valid && rw->rw_echo.r_valid;
	target_set(&t[n++], ok, ok ? rw->rw_tpoold.r_median_us /
	    rw->rw_echo.r_median_us : 0);

	rw = find_row(r, 1, PIN_APART);
	t[n] = (struct target){ "1-client median round trip / echo, two CPUs",
	    "rt_ratio_apart", 0, TARGET_RT_RATIO, true, "x", V_NONE };
	ok = rw != NULL && rw->rw_tpoold.r_valid && rw->rw_echo.r_valid;
	target_set(&t[n++], ok, ok ? rw->rw_tpoold.r_median_us /
	    rw->rw_echo.r_median_us : 0);

	rw = find_row(r, 1, PIN_NONE);
	t[n] = (struct target){ "1-client median round trip / echo, unpinned",
	    "rt_ratio_unpinned", 0, TARGET_RT_RATIO, true, "x", V_NONE };
	ok = rw != NULL && rw->rw_tpoold.r_valid && rw->rw_echo.r_valid;
	target_set(&t[n++], ok, ok ? rw->rw_tpoold.r_median_us /
	    rw->rw_echo.r_median_us : 0);

	rw = find_row(r, TARGET_TPUT_CLIENTS, PIN_NONE);
	t[n] = (struct target){ "8-client jobs/s / echo round trips/s",
	    "tput_share_8", 0, TARGET_TPUT_SHARE * 100, false, "%", V_NONE };
	ok = rw != NULL && rw->rw_tpoold.r_valid && rw->rw_echo.r_valid;
	target_set(&t[n++], ok, ok ? 100 * rw->rw_tpoold.r_ops_per_s /
	    rw->rw_echo.r_ops_per_s : 0);

	t[n] = (struct target){ "pipelined jobs/s, lean client",
	    "pipeline_lean", 0, TARGET_PIPE_JOBS_S, false, "jobs/s", V_NONE };
	ok = r->rs_have_pipe && r->rs_pipe[1].p_valid && !r->rs_pipe[1].p_truncated;
	target_set(&t[n++], ok, ok ? r->rs_pipe[1].p_jobs_per_s : 0);

	t[n] = (struct target){ "pipelined jobs/s, client library",
	    "pipeline_library", 0, TARGET_PIPE_JOBS_S, false, "jobs/s", V_NONE };
	ok = r->rs_have_pipe && r->rs_pipe[0].p_valid && !r->rs_pipe[0].p_truncated;
	target_set(&t[n++], ok, ok ? r->rs_pipe[0].p_jobs_per_s : 0);

	/* "Under 1 KiB": at most 1023.99... */
	t[n] = (struct target){ "memory per queued job",
	    "memory_per_job", 0, TARGET_MEM_BYTES, true, "B", V_NONE };
	ok = r->rs_have_mem && r->rs_mem.m_valid;
	target_set(&t[n], ok, ok ? r->rs_mem.m_bytes_per_job : 0);
	if (ok && r->rs_mem.m_bytes_per_job >= TARGET_MEM_BYTES)
		t[n].t_verdict = V_MISSED;
	n++;
	return n;
}

/* ------------------------------------------------------------ the table */

static void
fmt_us(char *buf, size_t len, double us)
{
	if (us < 0)
		(void)snprintf(buf, len, "-");
	else if (us < 100)
		(void)snprintf(buf, len, "%.1f", us);
	else
		(void)snprintf(buf, len, "%.0f", us);
}

static void
print_side(const struct rt_result *res)
{
	char med[16], p99[16], cpu[16];

	if (!res->r_valid) {
		(void)printf("  %-36s", "failed");
		return;
	}
	fmt_us(med, sizeof(med), res->r_median_us);
	fmt_us(p99, sizeof(p99), res->r_p99_us);
	fmt_us(cpu, sizeof(cpu), res->r_server_cpu_us);
	(void)printf("  %8s %8s %9.0f%s %7s", med, p99, res->r_ops_per_s,
	    res->r_truncated ? "*" : " ", cpu);
}

/* The unpinned row of part 1 for clients, or NULL. */
static const struct rt_result *
thread_row(const struct results *r, unsigned int clients)
{
	const struct row *rw = find_row(r, clients, PIN_NONE);

	return rw != NULL && rw->rw_tpoold.r_valid ? &rw->rw_tpoold : NULL;
}

/* Part 6 beside part 2's lean pipeline, with issue 11's target. */
static void
print_store(const struct results *r)
{
	const struct pipe_result *mem = r->rs_have_pipe &&
	    r->rs_pipe[1].p_valid ? &r->rs_pipe[1] : NULL;
	const struct store_level *sl;
	char a[16], b[16];
	unsigned int i;

	if (!r->rs_have_store)
		return;
	(void)printf("\njob store (--state-dir) beside beanstalkd's binlog "
	    "(-b), one client, null jobs\n");
	(void)printf("  %-8s %14s %14s %7s %12s %12s %10s   %s\n", "--sync",
	    "tpoold jobs/s", "beanstalkd/s", "ratio", "1-client med",
	    "1-client p99", "bytes/job", "target (issue 11)");
	for (i = 0; i < STORE_LEVELS; i++) {
		sl = &r->rs_store.s_levels[i];
		if (!sl->sl_pipe.p_valid || !sl->sl_rt1.r_valid) {
			(void)printf("  %-8s not measured: %s%s\n", sl->sl_level,
			    sl->sl_error, sl->sl_pipe.p_valid ?
			    sl->sl_rt1.r_error : sl->sl_pipe.p_error);
			continue;
		}
		fmt_us(a, sizeof(a), sl->sl_rt1.r_median_us);
		fmt_us(b, sizeof(b), sl->sl_rt1.r_p99_us);
		if (!sl->sl_bs_valid) {
			(void)printf("  %-8s %14.0f %14s %7s %9s us %9s us %10.0f"
			    "   beanstalkd: %s\n", sl->sl_level,
			    sl->sl_pipe.p_jobs_per_s, "-", "-", a, b,
			    sl->sl_bytes_per_job, sl->sl_bs_error);
			continue;
		}
		(void)printf("  %-8s %14.0f %14.0f %6.2fx %9s us %9s us %10.0f"
		    "   >= 1x: %s\n", sl->sl_level, sl->sl_pipe.p_jobs_per_s,
		    sl->sl_bs_puts_per_s, sl->sl_pipe.p_jobs_per_s /
		    sl->sl_bs_puts_per_s, a, b, sl->sl_bytes_per_job,
		    sl->sl_pipe.p_jobs_per_s >= sl->sl_bs_puts_per_s ? "met" :
		    "MISSED");
	}
	if (mem != NULL)
		(void)printf("  without a store (part 2, the lean client): "
		    "%.0f jobs/s\n", mem->p_jobs_per_s);
	(void)printf("  tpoold's jobs are submitted, run and ended (echo); "
	    "beanstalkd's are put only\n");
}

/* Part 5 beside part 1, with issue 10's targets. */
static void
print_isolation(const struct results *r)
{
	const struct iso_result *is = &r->rs_iso;
	const struct rt_result *t1 = thread_row(r, 1), *t8 = thread_row(r, 8);
	char a[16], b[16];

	if (!r->rs_have_iso)
		return;
	(void)printf("\nisolation process beside thread (null jobs, unpinned; "
	    "us)\n");
	if (!is->i_rt1.r_valid || !is->i_rt8.r_valid) {
		(void)printf("  not measured: %s\n", is->i_error);
		return;
	}
	(void)printf("  %-30s %10s %10s %8s   %s\n", "", "thread", "process",
	    "ratio", "target (issue 10)");
	if (t1 != NULL) {
		fmt_us(a, sizeof(a), t1->r_median_us);
		fmt_us(b, sizeof(b), is->i_rt1.r_median_us);
		(void)printf("  %-30s %10s %10s %7.2fx   <= 2x: %s\n",
		    "1 client, median round trip", a, b,
		    is->i_rt1.r_median_us / t1->r_median_us,
		    is->i_rt1.r_median_us <= 2 * t1->r_median_us ? "met" :
		    "MISSED");
		fmt_us(a, sizeof(a), t1->r_p99_us);
		fmt_us(b, sizeof(b), is->i_rt1.r_p99_us);
		(void)printf("  %-30s %10s %10s %7.2fx\n", "1 client, p99", a, b,
		    is->i_rt1.r_p99_us / t1->r_p99_us);
	}
	if (t8 != NULL)
		(void)printf("  %-30s %10.0f %10.0f %7.0f%%   >= 50%%: %s\n",
		    "8 clients, jobs/s", t8->r_ops_per_s, is->i_rt8.r_ops_per_s,
		    100 * is->i_rt8.r_ops_per_s / t8->r_ops_per_s,
		    is->i_rt8.r_ops_per_s >= 0.5 * t8->r_ops_per_s ? "met" :
		    "MISSED");
	if (is->i_valid)
		(void)printf("  a worker's crash (SIGKILL during a job) to the "
		    "next job of its plugin done: median %.2f ms, min %.2f, "
		    "max %.2f (%d crashes)\n",
		    is->i_replace_ms[ISO_CRASHES / 2], is->i_replace_ms[0],
		    is->i_replace_ms[ISO_CRASHES - 1], ISO_CRASHES);
	else
		(void)printf("  crashes: %s\n", is->i_error);
}

static void
print_table(const struct results *r)
{
	const struct pipe_result *p;
	const struct mem_result *m;
	struct target t[8];
	const struct row *rw;
	char pin[16];
	unsigned int i, j, n;

	(void)printf("\nround trips (us; CPU/job, CPU/rt: the server process's "
	    "CPU time per round trip;\npinned: the servers' CPU / the client's "
	    "CPU)\n");
	(void)printf("%-8s %-7s  %-37s  %-37s  %s\n", "", "",
	    "----- tpoold: submit + wait null job",
	    "--------- echo floor: one frame -----", "-- tpoold/echo --");
	(void)printf("%-8s %-7s  %8s %8s %10s %7s  %8s %8s %10s %7s  %7s %8s\n",
	    "clients", "pinned", "median", "p99", "jobs/s", "CPU/job",
	    "median", "p99", "rt/s", "CPU/rt", "median", "tput");
	for (i = 0; i < r->rs_nrows; i++) {
		rw = &r->rs_rows[i];
		row_pinning(rw, pin, sizeof(pin));
		(void)printf("%-8u %-7s", rw->rw_clients, pin);
		print_side(&rw->rw_tpoold);
		print_side(&rw->rw_echo);
		if (rw->rw_tpoold.r_valid && rw->rw_echo.r_valid)
			(void)printf("  %6.2fx %7.0f%%", rw->rw_tpoold.r_median_us /
			    rw->rw_echo.r_median_us, 100 * rw->rw_tpoold.r_ops_per_s /
			    rw->rw_echo.r_ops_per_s);
		(void)printf("\n");
	}
	for (i = 0; i < r->rs_nrows; i++) {
		rw = &r->rs_rows[i];
		if (rw->rw_nrounds > 1 && rw->rw_tpoold.r_valid &&
		    rw->rw_echo.r_valid) {
			row_pinning(rw, pin, sizeof(pin));
			(void)printf("  %u client%s%s%s: %u rounds, tpoold/echo "
			    "median", rw->rw_clients, rw->rw_clients == 1 ? "" :
			    "s", rw->rw_cpu >= 0 ? ", pinned " : "",
			    rw->rw_cpu >= 0 ? pin : "", rw->rw_nrounds);
			for (j = 0; j < rw->rw_nrounds; j++)
				(void)printf(" %.2fx", rw->rw_lat_ratio[j]);
			(void)printf(", tput");
			for (j = 0; j < rw->rw_nrounds; j++)
				(void)printf(" %.0f%%", 100 * rw->rw_tput_ratio[j]);
			(void)printf("; shown: round %u (the median %s)\n",
			    rw->rw_shown + 1, rw->rw_clients == 1 ? "round trip" :
			    "throughput");
		}
		if (!rw->rw_tpoold.r_valid)
			(void)printf("  %u clients, tpoold: %s\n", rw->rw_clients,
			    rw->rw_tpoold.r_error);
		if (!rw->rw_echo.r_valid)
			(void)printf("  %u clients, echo: %s\n", rw->rw_clients,
			    rw->rw_echo.r_error);
		if (rw->rw_tpoold.r_truncated || rw->rw_echo.r_truncated)
			(void)printf("  * %u clients: stopped by --row-limit before "
			    "-n round trips\n", rw->rw_clients);
	}
	if (r->rs_nrows > 0) {
		(void)printf("\nper round trip: CPU time of the client threads, and "
		    "how often the client threads\nand the server's threads went to "
		    "sleep (voluntary context switches: each one a\nwakeup to pay "
		    "for)\n");
		(void)printf("%-8s %-7s  %-21s  %-29s  %s\n", "", "",
		    "--- client CPU ----", "-------- client sleeps -------",
		    "------- server sleeps -------");
		(void)printf("%-8s %-7s  %10s %10s  %14s %14s  %14s %14s\n", "clients",
		    "pinned", "tpoold", "echo", "tpoold", "echo", "tpoold", "echo");
		for (i = 0; i < r->rs_nrows; i++) {
			rw = &r->rs_rows[i];
			if (!rw->rw_tpoold.r_valid || !rw->rw_echo.r_valid)
				continue;
			row_pinning(rw, pin, sizeof(pin));
			(void)printf("%-8u %-7s  %7.1f us %7.1f us  %14.2f %14.2f  "
			    "%14.2f %14.2f\n", rw->rw_clients, pin,
			    rw->rw_tpoold.r_client_cpu_us, rw->rw_echo.r_client_cpu_us,
			    rw->rw_tpoold.r_client_sleeps, rw->rw_echo.r_client_sleeps,
			    rw->rw_tpoold.r_server_sleeps, rw->rw_echo.r_server_sleeps);
		}
	}

	if (r->rs_have_pipe) {
		(void)printf("\npipelined submits, one client, %llu null jobs, at most "
		    "%llu outstanding\n", (unsigned long long)bench_config.bc_pipeline,
		    (unsigned long long)bench_config.bc_window);
		(void)printf("  %-28s %9s %8s %14s %14s %12s %11s\n", "client",
		    "jobs/s", "seconds", "daemon CPU/job", "client CPU/job",
		    "sleeps/job", "outstanding");
		for (i = 0; i < 2; i++) {
			p = &r->rs_pipe[i];
			(void)printf("  %-28s", i == 0 ? "client library (protobuf-c)" :
			    "lean (scans the replies)");
			if (!p->p_valid) {
				(void)printf(" failed: %s\n", p->p_error);
				continue;
			}
			(void)printf(" %9.0f %8.3f %11.2f us %11.2f us %12.3f %11llu%s\n",
			    p->p_jobs_per_s, p->p_secs, p->p_server_cpu_us,
			    p->p_client_cpu_us, p->p_server_sleeps,
			    (unsigned long long)p->p_max_outstanding,
			    p->p_truncated ? "  (stopped by --row-limit)" : "");
		}
		for (i = 0; r->rs_pipe_nrounds > 1 && i < 2; i++) {
			(void)printf("  %s: %u rounds, jobs/s",
			    i == 0 ? "client library" : "lean client",
			    r->rs_pipe_nrounds);
			for (j = 0; j < r->rs_pipe_nrounds; j++)
				(void)printf(" %.0f", r->rs_pipe_rates[i][j]);
			(void)printf("; shown: the median round\n");
		}
	}

	if (r->rs_have_mem) {
		m = &r->rs_mem;
		(void)printf("\nmemory per queued job (tpoold --max-threads 1; the "
		    "worker held by a sleep job)\n");
		if (!m->m_valid) {
			(void)printf("  failed: %s\n", m->m_error);
		} else {
			(void)printf("  %llu jobs queued (daemon's stats: %u queued in "
			    "the pool, %u waiting their turn, %u in flight); VmRSS "
			    "%ld KiB -> %ld KiB:\n"
			    "  %.0f bytes per queued job; submitted in %.2f s\n",
			    (unsigned long long)m->m_jobs, m->m_pool_queued,
			    m->m_waiting_turn, m->m_in_flight, m->m_rss_before_kib,
			    m->m_rss_after_kib,
			    m->m_bytes_per_job, m->m_submit_secs);
		}
		(void)printf("  SIGTERM with them queued: %s in %.2f s\n",
		    m->m_stop_clean ? "exit 0" : "did not exit 0", m->m_stop_secs);
	}

	print_isolation(r);
	print_store(r);

	n = targets_compute(r, t);
	(void)printf("\ntargets (issue 3)%32s %14s %12s   %s\n", "", "measured",
	    "target", "verdict");
	for (i = 0; i < n; i++) {
		char val[32], goal[32];

		if (strcmp(t[i].t_unit, "x") == 0) {
			(void)snprintf(val, sizeof(val), "%.2fx", t[i].t_value);
			(void)snprintf(goal, sizeof(goal), "<= %.0fx", t[i].t_goal);
		} else if (strcmp(t[i].t_unit, "%") == 0) {
			(void)snprintf(val, sizeof(val), "%.0f%%", t[i].t_value);
			(void)snprintf(goal, sizeof(goal), ">= %.0f%%", t[i].t_goal);
		} else if (strcmp(t[i].t_unit, "B") == 0) {
			(void)snprintf(val, sizeof(val), "%.0f B", t[i].t_value);
			(void)snprintf(goal, sizeof(goal), "< %.0f B", t[i].t_goal);
		} else {
			(void)snprintf(val, sizeof(val), "%.0f", t[i].t_value);
			(void)snprintf(goal, sizeof(goal), ">= %.0f", t[i].t_goal);
		}
		if (t[i].t_verdict == V_NONE)
			(void)snprintf(val, sizeof(val), "-");
		(void)printf("  %-47s %14s %12s   %s", t[i].t_name, val, goal,
		    t[i].t_verdict == V_MET ? "met" :
		    t[i].t_verdict == V_MISSED ? "MISSED" : "not measured");
		if (t[i].t_verdict == V_MISSED)
			(void)printf(" (%.2f of the target)", t[i].t_at_most ?
			    t[i].t_goal / t[i].t_value : t[i].t_value / t[i].t_goal);
		(void)printf("\n");
	}
	if (r->rs_error[0] != '\0')
		(void)printf("\nerror: %s\n", r->rs_error);
}

/* ------------------------------------------------------------ --json */

static void
json_str(const char *s)
{
	(void)putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			(void)printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			(void)printf("\\u%04x", (unsigned int)(unsigned char)*s);
		else
			(void)putchar(*s);
	}
	(void)putchar('"');
}

static void
json_rt(const char *key, const struct rt_result *res)
{
	(void)printf("\"%s\": {\"valid\": %s", key, res->r_valid ? "true" : "false");
	if (res->r_valid)
		(void)printf(", \"round_trips\": %llu, \"seconds\": %.4f, "
		    "\"per_second\": %.1f, \"median_us\": %.2f, \"p99_us\": %.2f, "
		    "\"min_us\": %.2f, \"client_cpu_us\": %.3f, "
		    "\"server_cpu_us\": %.3f, \"server_sleeps\": %.3f, "
		    "\"client_sleeps\": %.3f, \"truncated\": %s",
		    (unsigned long long)res->r_ops, res->r_secs, res->r_ops_per_s,
		    res->r_median_us, res->r_p99_us, res->r_min_us,
		    res->r_client_cpu_us, res->r_server_cpu_us, res->r_server_sleeps,
		    res->r_client_sleeps,
		    res->r_truncated ? "true" : "false");
	else {
		(void)printf(", \"error\": ");
		json_str(res->r_error);
	}
	(void)printf("}");
}

static void
print_json(const struct results *r)
{
	const struct pipe_result *p;
	const struct mem_result *m = &r->rs_mem;
	const struct row *rw;
	struct target t[8];
	unsigned int i, j, n;

	(void)printf("{\n  \"command\": ");
	json_str(bench_cmdline);
	(void)printf(",\n  \"machine\": {\"cpus\": %ld, \"cpu_model\": ", bench_ncpu);
	json_str(bench_cpu_model);
	(void)printf(", \"kernel\": ");
	json_str(bench_kernel);
	(void)printf(", \"loadavg\": [%.2f, %.2f, %.2f]},\n", bench_loadavg[0],
	    bench_loadavg[1], bench_loadavg[2]);
	(void)printf("  \"daemon\": ");
	json_str(bench_config.bc_daemon);
	(void)printf(",\n  \"plugins\": ");
	json_str(bench_config.bc_plugins);
	(void)printf(",\n  \"config\": {\"n\": %llu, \"pipeline\": %llu, "
	    "\"window\": %llu, \"queued\": %llu, \"pool\": \"%s\", "
	    "\"echo_frame_bytes\": %zu},\n",
	    (unsigned long long)bench_config.bc_nops,
	    (unsigned long long)bench_config.bc_pipeline,
	    (unsigned long long)bench_config.bc_window,
	    (unsigned long long)bench_config.bc_queued,
	    bench_config.bc_percpu ? "percpu" : "unbound", r->rs_frame_len);
	(void)printf("  \"roundtrip\": [");
	for (i = 0; i < r->rs_nrows; i++) {
		rw = &r->rs_rows[i];
		(void)printf("%s\n    {\"clients\": %u, \"client_cpu\": %d, "
		    "\"server_cpu\": %d, ", i > 0 ? "," : "", rw->rw_clients,
		    rw->rw_cpu, rw->rw_server_cpu);
		json_rt("tpoold", &rw->rw_tpoold);
		(void)printf(", ");
		json_rt("echo", &rw->rw_echo);
		(void)printf(", \"rounds\": %u, \"shown\": %u, "
		    "\"median_ratios\": [", rw->rw_nrounds, rw->rw_shown + 1);
		for (j = 0; rw->rw_tpoold.r_valid && rw->rw_echo.r_valid &&
		    j < rw->rw_nrounds; j++)
			(void)printf("%s%.3f", j > 0 ? ", " : "",
			    rw->rw_lat_ratio[j]);
		(void)printf("], \"tput_ratios\": [");
		for (j = 0; rw->rw_tpoold.r_valid && rw->rw_echo.r_valid &&
		    j < rw->rw_nrounds; j++)
			(void)printf("%s%.3f", j > 0 ? ", " : "",
			    rw->rw_tput_ratio[j]);
		(void)printf("]}");
	}
	(void)printf("\n  ],\n  \"pipeline\": [");
	for (i = 0; r->rs_have_pipe && i < 2; i++) {
		p = &r->rs_pipe[i];
		(void)printf("%s\n    {\"client\": \"%s\", \"valid\": %s", i > 0 ? "," : "",
		    p->p_lean ? "lean" : "library", p->p_valid ? "true" : "false");
		if (p->p_valid)
			(void)printf(", \"jobs\": %llu, \"seconds\": %.4f, "
			    "\"jobs_per_s\": %.1f, \"window\": %llu, "
			    "\"max_outstanding\": %llu, \"server_cpu_us\": %.3f, "
			    "\"client_cpu_us\": %.3f, \"server_sleeps\": %.3f, "
			    "\"truncated\": %s",
			    (unsigned long long)p->p_jobs, p->p_secs,
			    p->p_jobs_per_s, (unsigned long long)p->p_window,
			    (unsigned long long)p->p_max_outstanding,
			    p->p_server_cpu_us, p->p_client_cpu_us, p->p_server_sleeps,
			    p->p_truncated ? "true" : "false");
		if (p->p_valid) {
			(void)printf(", \"rounds_jobs_per_s\": [");
			for (j = 0; j < r->rs_pipe_nrounds; j++)
				(void)printf("%s%.1f", j > 0 ? ", " : "",
				    r->rs_pipe_rates[i][j]);
			(void)printf("]");
		} else {
			(void)printf(", \"error\": ");
			json_str(p->p_error);
		}
		(void)printf("}");
	}
	(void)printf("\n  ],\n  \"isolation\": ");
	if (!r->rs_have_iso)
		(void)printf("null");
	else {
		(void)printf("{\"valid\": %s, ",
		    r->rs_iso.i_valid ? "true" : "false");
		json_rt("one_client", &r->rs_iso.i_rt1);
		(void)printf(", ");
		json_rt("eight_clients", &r->rs_iso.i_rt8);
		(void)printf(", \"crash_to_served_ms\": [");
		for (i = 0; r->rs_iso.i_valid && i < ISO_CRASHES; i++)
			(void)printf("%s%.3f", i > 0 ? ", " : "",
			    r->rs_iso.i_replace_ms[i]);
		(void)printf("], \"error\": ");
		json_str(r->rs_iso.i_error);
		(void)printf("}");
	}
	(void)printf(",\n  \"store\": ");
	if (!r->rs_have_store)
		(void)printf("null");
	else {
		(void)printf("[");
		for (i = 0; i < STORE_LEVELS; i++) {
			const struct store_level *sl =
			    &r->rs_store.s_levels[i];

			(void)printf("%s\n    {\"sync\": \"%s\", "
			    "\"pipelined_jobs_per_s\": %.1f, ", i > 0 ? "," :
			    "", sl->sl_level, sl->sl_pipe.p_valid ?
			    sl->sl_pipe.p_jobs_per_s : 0.0);
			json_rt("one_client", &sl->sl_rt1);
			(void)printf(", \"store_bytes\": %llu, \"jobs\": %llu, "
			    "\"bytes_per_job\": %.1f, "
			    "\"beanstalkd_puts_per_s\": %.1f, \"error\": ",
			    (unsigned long long)sl->sl_store_bytes,
			    (unsigned long long)sl->sl_jobs,
			    sl->sl_bytes_per_job, sl->sl_bs_valid ?
			    sl->sl_bs_puts_per_s : 0.0);
			json_str(sl->sl_error[0] != '\0' ? sl->sl_error :
			    sl->sl_bs_error);
			(void)printf("}");
		}
		(void)printf("\n  ]");
	}
	(void)printf(",\n  \"memory\": ");
	if (!r->rs_have_mem)
		(void)printf("null");
	else {
		(void)printf("{\"valid\": %s, \"jobs\": %llu, \"rss_before_kib\": %ld, "
		    "\"rss_after_kib\": %ld, \"bytes_per_job\": %.1f, "
		    "\"pool_queued\": %u, \"waiting_turn\": %u, \"in_flight\": %u, "
		    "\"submit_s\": %.3f, \"stop_s\": %.3f, \"stop_clean\": %s",
		    m->m_valid ? "true" : "false", (unsigned long long)m->m_jobs,
		    m->m_rss_before_kib, m->m_rss_after_kib, m->m_bytes_per_job,
		    m->m_pool_queued, m->m_waiting_turn, m->m_in_flight,
		    m->m_submit_secs,
		    m->m_stop_secs, m->m_stop_clean ? "true" : "false");
		if (!m->m_valid) {
			(void)printf(", \"error\": ");
			json_str(m->m_error);
		}
		(void)printf("}");
	}
	n = targets_compute(r, t);
	(void)printf(",\n  \"targets\": [");
	for (i = 0; i < n; i++) {
		(void)printf("%s\n    {\"name\": \"%s\", \"goal\": %.2f, "
		    "\"at_most\": %s, \"measured\": ", i > 0 ? "," : "", t[i].t_key,
		    t[i].t_goal, t[i].t_at_most ? "true" : "false");
		if (t[i].t_verdict == V_NONE)
			(void)printf("null, \"met\": null}");
		else
			(void)printf("%.2f, \"met\": %s}", t[i].t_value,
			    t[i].t_verdict == V_MET ? "true" : "false");
	}
	(void)printf("\n  ],\n  \"error\": ");
	if (r->rs_error[0] != '\0')
		json_str(r->rs_error);
	else
		(void)printf("null");
	(void)printf("\n}\n");
}

/* ------------------------------------------------------------ options */

static void
usage(FILE *f)
{
	(void)fprintf(f,
"usage: bench_tpoold [-h] [--json] [-v] [-n N] [-c COUNTS] [--rounds N]\n"
"                    [--pipeline N]\n"
"                    [--window N] [--queued N] [--cpu N] [--no-pin] [--percpu]\n"
"                    [--no-isolation] [--store]\n"
"                    [--daemon PATH] [--plugins DIR] [--daemon-arg ARG]...\n"
"                    [--row-limit SECONDS] [--time-limit SECONDS]\n"
"\n"
"Measures tpoold's submit-and-wait round trips of a null job (the echo\n"
"plugin, empty input) from 1 and more concurrent clients, pipelined\n"
"submits, and its memory per queued job, beside a plain Unix-socket echo\n"
"server (the floor) in the same run; prints the ratios against the\n"
"targets.  It starts its own tpoold and echo server on sockets in a\n"
"temporary folder and kills them when done, whatever happens.\n"
"\n"
"  -n N                round trips per measurement, over all its clients\n"
"                      (default 50000)\n"
"  -c COUNTS           client counts, comma-separated (default 1,8,64);\n"
"                      each client is a thread with its own connection\n"
"  --rounds N          echo-then-tpoold rounds of each round-trip row (1 to\n"
"                      %u, default 3); the row shows the round whose\n"
"                      tpoold/echo ratio is the median (latency for one\n"
"                      client, throughput for more), and every round's\n"
"                      ratios are listed below the table; as many rounds\n"
"                      of the pipelined submits, each client's median\n"
"                      round shown and every round's rate listed\n"
"  --pipeline N        pipelined null jobs from one client; 0 skips\n"
"                      (default 200000)\n"
"  --window N          most pipelined jobs outstanding (default 10000)\n"
"  --queued N          jobs queued for the memory measurement; 0 skips\n"
"                      (default 100000)\n"
"  --cpu N             CPU of the servers in the pinned 1-client runs\n"
"                      (default: the last CPU this process may use); the\n"
"                      client runs on it, then on another CPU\n"
"  --no-pin            skip the pinned 1-client runs\n"
"  --percpu            null jobs on the per-CPU pool (CPU \"any\"), not the\n"
"                      unbound one\n"
"  --no-isolation      skip part 5: the null jobs again with plugins in\n"
"                      worker processes (tpoold --isolation process), and\n"
"                      a worker's crash to its replacement serving\n"
"  --store             part 6: the job store (tpoold --state-dir, --sync\n"
"                      normal and full) beside beanstalkd's binlog (-b,\n"
"                      -F and -f0; beanstalkd must be installed):\n"
"                      pipelined submits, 1-client round trips (a tenth\n"
"                      of -n at full), the store's bytes per job\n"
"  --daemon PATH       tpoold to run (default: the build tree's,\n"
"                      %s/daemon/tpoold)\n"
"  --plugins DIR       its plugin directory (default: the build tree's,\n"
"                      %s/plugins/.libs)\n"
"  --daemon-arg ARG    pass ARG to every tpoold started (repeatable)\n"
"  --row-limit S       stop one measurement after S seconds (default 60)\n"
"  --time-limit S      stop the whole run after S seconds (default 600)\n"
"  --json              print the results as one JSON object\n"
"  -v                  say what is started, with --json too\n"
"  -h, --help          this help\n"
"\n"
"How to read the results: docs/benchmarks.md (## tpoold).\n",
	    BENCH_MAX_ROUNDS, TP_BENCH_BUILDDIR, TP_BENCH_BUILDDIR);
}

static bool
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

static bool
parse_counts(const char *s)
{
	char buf[128], *tok, *save;
	uint64_t v;

	if (strlen(s) >= sizeof(buf))
		return false;
	(void)strcpy(buf, s);
	bench_config.bc_ncounts = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (bench_config.bc_ncounts == BENCH_MAX_COUNTS ||
		    !parse_u64(tok, 1, BENCH_MAX_CLIENTS, &v))
			return false;
		bench_config.bc_counts[bench_config.bc_ncounts++] = (unsigned int)v;
	}
	return bench_config.bc_ncounts > 0;
}

enum {
	OPT_PIPELINE = 256, OPT_WINDOW, OPT_QUEUED, OPT_CPU, OPT_NO_PIN,
	OPT_PERCPU, OPT_DAEMON, OPT_PLUGINS, OPT_DAEMON_ARG, OPT_ROW_LIMIT,
	OPT_TIME_LIMIT, OPT_JSON, OPT_NO_ISOLATION, OPT_STORE, OPT_ROUNDS,
};

static int
parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "pipeline", required_argument, NULL, OPT_PIPELINE },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "queued", required_argument, NULL, OPT_QUEUED },
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "no-pin", no_argument, NULL, OPT_NO_PIN },
		{ "no-isolation", no_argument, NULL, OPT_NO_ISOLATION },
		{ "store", no_argument, NULL, OPT_STORE },
		{ "percpu", no_argument, NULL, OPT_PERCPU },
		{ "daemon", required_argument, NULL, OPT_DAEMON },
		{ "plugins", required_argument, NULL, OPT_PLUGINS },
		{ "daemon-arg", required_argument, NULL, OPT_DAEMON_ARG },
		{ "row-limit", required_argument, NULL, OPT_ROW_LIMIT },
		{ "time-limit", required_argument, NULL, OPT_TIME_LIMIT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "rounds", required_argument, NULL, OPT_ROUNDS },
		{ NULL, 0, NULL, 0 },
	};
	static char daemon_path[PATH_MAX], plugin_dir[PATH_MAX];
	uint64_t v;
	int ch;

	bench_config.bc_nops = 50000;
	bench_config.bc_rounds = 3;
	bench_config.bc_counts[0] = 1;
	bench_config.bc_counts[1] = 8;
	bench_config.bc_counts[2] = 64;
	bench_config.bc_ncounts = 3;
	bench_config.bc_pipeline = 200000;
	bench_config.bc_window = 10000;
	bench_config.bc_queued = 100000;
	bench_config.bc_cpu = -1;
	bench_config.bc_pin = true;
	bench_config.bc_isolation = true;
	bench_config.bc_row_limit_s = 60;
	bench_config.bc_total_limit_s = 600;

	while ((ch = getopt_long(argc, argv, "hn:c:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return -1;
		case 'n':
			if (!parse_u64(optarg, 1, UINT64_C(1) << 32, &v))
				goto bad;
			bench_config.bc_nops = v;
			break;
		case 'c':
			if (!parse_counts(optarg))
				goto bad;
			break;
		case 'v':
			bench_config.bc_verbose = true;
			break;
		case OPT_PIPELINE:
			if (!parse_u64(optarg, 0, UINT64_C(1) << 32, &v))
				goto bad;
			bench_config.bc_pipeline = v;
			break;
		case OPT_WINDOW:
			if (!parse_u64(optarg, 1, 1u << 24, &v))
				goto bad;
			bench_config.bc_window = v;
			break;
		case OPT_ROUNDS:
			if (!parse_u64(optarg, 1, BENCH_MAX_ROUNDS, &v))
				goto bad;
			bench_config.bc_rounds = (unsigned int)v;
			break;
		case OPT_QUEUED:
			if (!parse_u64(optarg, 0, 16u << 20, &v))
				goto bad;
			bench_config.bc_queued = v;
			break;
		case OPT_CPU:
			if (!parse_u64(optarg, 0, CPU_SETSIZE - 1, &v))
				goto bad;
			bench_config.bc_cpu = (int)v;
			break;
		case OPT_NO_PIN:
			bench_config.bc_pin = false;
			break;
		case OPT_STORE:
			bench_config.bc_store = true;
			break;
		case OPT_NO_ISOLATION:
			bench_config.bc_isolation = false;
			break;
		case OPT_PERCPU:
			bench_config.bc_percpu = true;
			break;
		case OPT_DAEMON:
			bench_config.bc_daemon = optarg;
			break;
		case OPT_PLUGINS:
			bench_config.bc_plugins = optarg;
			break;
		case OPT_DAEMON_ARG:
			if (bench_config.bc_ndaemon_args == BENCH_MAX_DAEMON_ARGS)
				goto bad;
			bench_config.bc_daemon_args[bench_config.bc_ndaemon_args++] =
			    optarg;
			break;
		case OPT_ROW_LIMIT:
			if (!parse_u64(optarg, 1, 86400, &v))
				goto bad;
			bench_config.bc_row_limit_s = (unsigned int)v;
			break;
		case OPT_TIME_LIMIT:
			if (!parse_u64(optarg, 0, 86400, &v))
				goto bad;
			bench_config.bc_total_limit_s = (unsigned int)v;
			break;
		case OPT_JSON:
			bench_config.bc_json = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		(void)fprintf(stderr, "bench_tpoold: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (bench_config.bc_daemon == NULL) {
		(void)snprintf(daemon_path, sizeof(daemon_path), "%s/daemon/tpoold",
		    TP_BENCH_BUILDDIR);
		bench_config.bc_daemon = daemon_path;
	}
	if (bench_config.bc_plugins == NULL) {
		(void)snprintf(plugin_dir, sizeof(plugin_dir), "%s/plugins/.libs",
		    TP_BENCH_BUILDDIR);
		bench_config.bc_plugins = plugin_dir;
	}
	if (access(bench_config.bc_daemon, X_OK) != 0) {
		(void)fprintf(stderr, "bench_tpoold: %s: %s (build it with make, or "
		    "name one with --daemon)\n", bench_config.bc_daemon,
		    strerror(errno));
		return 2;
	}
	if (access(bench_config.bc_plugins, R_OK | X_OK) != 0) {
		(void)fprintf(stderr, "bench_tpoold: %s: %s (name the plugin "
		    "directory with --plugins)\n", bench_config.bc_plugins,
		    strerror(errno));
		return 2;
	}
	return 0;

bad:
	(void)fprintf(stderr, "bench_tpoold: bad option value '%s'\n", optarg);
	usage(stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	static struct results results;
	int r, error;

	if ((r = parse_options(argc, argv)) != 0)
		return r < 0 ? 0 : r;
	machine_read(argc, argv);
	if (!bench_config.bc_json) {
		(void)printf("bench_tpoold: tpoold against a Unix-socket echo "
		    "server, in one run\n");
		(void)printf("machine: %ld CPUs, %s, %s, load average %.2f %.2f "
		    "%.2f at start\n", bench_ncpu, bench_cpu_model, bench_kernel,
		    bench_loadavg[0], bench_loadavg[1], bench_loadavg[2]);
		(void)printf("command: %s\n", bench_cmdline);
		(void)printf("tpoold: %s, plugins %s\n", bench_config.bc_daemon,
		    bench_config.bc_plugins);
		(void)printf("null job: plugin echo, empty input, %s pool; echo "
		    "floor frame: %zu bytes (the Submit's frame)\n",
		    bench_config.bc_percpu ? "per-CPU (any CPU)" : "unbound",
		    rt_submit_frame_len());
		(void)fflush(stdout);
	}
	if ((error = proc_init()) != 0) {
		(void)fprintf(stderr, "bench_tpoold: cannot set up: %s\n",
		    strerror(error));
		return 1;
	}
	run_all(&results);
	if (bench_config.bc_json)
		print_json(&results);
	else
		print_table(&results);
	proc_cleanup();
	return bench_failed ? 1 : 0;
}
