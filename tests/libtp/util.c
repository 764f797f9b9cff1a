/*
 * util.c -- helpers shared by libtp's Check runners (see util.h).
 *
 * Reads /proc/self/task for the threads libtp creates, keeps time with
 * CLOCK_MONOTONIC, and provides the gate and the counting job that most
 * tests schedule.  It uses libtp only through threadpool.h.
 *
 * (Over 800 lines: it is libtptest, the one library libtp's runners
 * link, so each helper is written once for all of them.)
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "util.h"

unsigned int
tpt_time_mult(void)
{
	const char *s = getenv("CK_TIMEOUT_MULTIPLIER");
	int m = s != NULL ? atoi(s) : 1;

	if (m < 1)
		m = 1;
#ifdef TP_TSAN
	if (m < 20)
		m = 20;
#endif
#ifdef __SANITIZE_ADDRESS__
	/* AddressSanitizer makes creating a thread some times slower. */
	if (m < 3)
		m = 3;
#endif
#ifdef RUNNING_ON_VALGRIND
	if (RUNNING_ON_VALGRIND && m < 150)
		m = 150;
#endif
	return (unsigned int)m;
}

uint64_t
tpt_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
tpt_ms_since(uint64_t start_ns)
{

	return (tpt_now_ns() - start_ns) / 1000000u;
}

void
tpt_sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

bool
tpt_wait_for(bool (*pred)(void *), void *arg, unsigned int timeout_ms)
{
	uint64_t start = tpt_now_ns();

	for (;;) {
		if ((*pred)(arg))
			return true;
		if (tpt_ms_since(start) >= timeout_ms)
			return (*pred)(arg);
		tpt_sleep_ms(1);
	}
}

/* /proc/self/task */

/*
 * ThreadSanitizer starts a thread of its own when the process creates its
 * first thread.  So that it is never counted as one of libtp's, create
 * and join a thread before the first count, once per process (a forked
 * child starts over).
 */
static bool tasks_settled;

static void
tasks_unsettle(void)
{

	tasks_settled = false;
}

static void *
tasks_nothing(void *arg)
{

	return arg;
}

static void
tasks_settle(void)
{
	static bool registered;
	pthread_t t;

	if (tasks_settled)
		return;
	if (!registered) {
		(void)pthread_atfork(NULL, NULL, tasks_unsettle);
		registered = true;
	}
	if (pthread_create(&t, NULL, tasks_nothing, NULL) == 0)
		(void)pthread_join(t, NULL);
	tasks_settled = true;
	/* The joined thread may linger in /proc a moment. */
	tpt_sleep_ms(5);
}

unsigned int
tpt_list_tasks(pid_t *tids, unsigned int max)
{
	DIR *dir;
	struct dirent *de;
	unsigned int n = 0;

	tpt_spawner_started();
	tasks_settle();

	dir = opendir("/proc/self/task");
	if (dir == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (n < max)
			tids[n] = (pid_t)atoi(de->d_name);
		n++;
	}
	(void)closedir(dir);
	return n;
}

#ifdef TP_TSAN
/* Some tests fork a child that makes pools after the parent made some. */
const char *__tsan_default_options(void);
const char *
__tsan_default_options(void)
{
	return "die_after_fork=0";
}
#endif

/*
 * libtp's spawner (the thread that makes every overseer) exists from the
 * library's load, but in a forked child only once a pool was made there:
 * make one once per process, so that counts before and after a test's
 * pools differ by the pools' threads only.
 */
void
tpt_spawner_started(void)
{
	static pid_t started_in;
	struct threadpool *pool;

	if (started_in == getpid())
		return;
	started_in = getpid();
	if (threadpool_get(&pool, TP_PRI_NONE) == 0)
		threadpool_put(pool, TP_PRI_NONE);
}

unsigned int
tpt_count_tasks(void)
{

	return tpt_list_tasks(NULL, 0);
}

bool
tpt_task_exists(pid_t tid)
{
	char path[64];

	(void)snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	return access(path, F_OK) == 0;
}

struct task_count_arg {
	unsigned int	tca_n;
};

static bool
task_count_is(void *arg)
{
	const struct task_count_arg *tca = arg;

	return tpt_count_tasks() == tca->tca_n;
}

bool
tpt_wait_task_count(unsigned int n, unsigned int timeout_ms)
{
	struct task_count_arg tca = { .tca_n = n };

	return tpt_wait_for(task_count_is, &tca, timeout_ms);
}

static bool
task_is_gone(void *arg)
{

	return !tpt_task_exists(*(pid_t *)arg);
}

bool
tpt_wait_task_gone(pid_t tid, unsigned int timeout_ms)
{

	return tpt_wait_for(task_is_gone, &tid, timeout_ms);
}

static int
read_task_file(pid_t tid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd, error;

	(void)snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return errno;
	n = read(fd, buf, len - 1);
	error = errno;
	(void)close(fd);
	if (n < 0)
		return error;
	buf[n] = '\0';
	return 0;
}

int
tpt_read_stat(pid_t tid, struct tpt_stat *ret_stat)
{
	struct tpt_stat st;
	char buf[1024], *p, *tok, *save;
	int field, error;

	error = read_task_file(tid, "stat", buf, sizeof(buf));
	if (error)
		return error;
	/* The name (field 2) may hold spaces and parentheses: skip past its end. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return EPROTO;
	memset(&st, 0, sizeof(st));
	field = 3;
	for (tok = strtok_r(p + 1, " \n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \n", &save), field++) {
		switch (field) {
		case 3:
			st.ts_state = tok[0];
			break;
		case 18:
			st.ts_priority = strtol(tok, NULL, 10);
			break;
		case 19:
			st.ts_nice = strtol(tok, NULL, 10);
			break;
		case 39:
			st.ts_processor = (int)strtol(tok, NULL, 10);
			break;
		case 40:
			st.ts_rt_priority = (unsigned int)strtoul(tok, NULL, 10);
			break;
		case 41:
			st.ts_policy = (unsigned int)strtoul(tok, NULL, 10);
			break;
		default:
			break;
		}
	}
	if (field <= 41)
		return EPROTO;
	*ret_stat = st;
	return 0;
}

int
tpt_read_comm(pid_t tid, char *buf, size_t len)
{
	char *nl;
	int error;

	error = read_task_file(tid, "comm", buf, len);
	if (error)
		return error;
	nl = strchr(buf, '\n');
	if (nl != NULL)
		*nl = '\0';
	return 0;
}

int
tpt_task_affinity(pid_t tid, cpu_set_t *ret_set)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	if (sched_getaffinity(tid, sizeof(set), &set) == -1)
		return errno;
	*ret_set = set;
	return 0;
}

/* Gate */

static void
cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t attr;

	(void)pthread_condattr_init(&attr);
	(void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	(void)pthread_cond_init(cv, &attr);
	(void)pthread_condattr_destroy(&attr);
}

static struct timespec
deadline_after_ms(unsigned int ms)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

void
tpt_gate_init(struct tpt_gate *gate)
{

	(void)pthread_mutex_init(&gate->tg_lock, NULL);
	cond_init_monotonic(&gate->tg_cv);
	gate->tg_open = false;
}

void
tpt_gate_destroy(struct tpt_gate *gate)
{

	(void)pthread_cond_destroy(&gate->tg_cv);
	(void)pthread_mutex_destroy(&gate->tg_lock);
}

void
tpt_gate_open(struct tpt_gate *gate)
{

	(void)pthread_mutex_lock(&gate->tg_lock);
	gate->tg_open = true;
	(void)pthread_cond_broadcast(&gate->tg_cv);
	(void)pthread_mutex_unlock(&gate->tg_lock);
}

bool
tpt_gate_wait(struct tpt_gate *gate)
{
	struct timespec dl = deadline_after_ms(3 * TPT_DEADLINE_MS);
	bool open;

	(void)pthread_mutex_lock(&gate->tg_lock);
	while (!gate->tg_open) {
		if (pthread_cond_timedwait(&gate->tg_cv, &gate->tg_lock, &dl) == ETIMEDOUT)
			break;
	}
	open = gate->tg_open;
	(void)pthread_mutex_unlock(&gate->tg_lock);
	return open;
}

/* The counting job */

static atomic_uint job_runs_started;	/* every tpt_job's runs, for tj_order */

static void
meter_enter(atomic_uint *cur, atomic_uint *max)
{
	unsigned int now, seen;

	now = atomic_fetch_add(cur, 1) + 1;
	seen = atomic_load(max);
	while (now > seen && !atomic_compare_exchange_weak(max, &seen, now))
		continue;
}

void
tpt_job_run(struct threadpool_job *job)
{
	struct tpt_job *tj = (struct tpt_job *)((char *)job -
	    offsetof(struct tpt_job, tj_job));
	struct sched_param sp;
	cpu_set_t aff;
	char comm[32];
	pid_t tid = gettid();
	int policy, cpu, nice;

	meter_enter(&tj->tj_active, &tj->tj_max_active);
	if (tj->tj_meter != NULL)
		meter_enter(tj->tj_meter, tj->tj_meter_max);

	cpu = sched_getcpu();
	policy = sched_getscheduler(0);
	if (sched_getparam(0, &sp) == -1)
		sp.sched_priority = -1;
	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)tid);
	if (tpt_read_comm(tid, comm, sizeof(comm)) != 0)
		(void)strcpy(comm, "?");
	CPU_ZERO(&aff);
	(void)sched_getaffinity(0, sizeof(aff), &aff);

	(void)pthread_mutex_lock(&tj->tj_lock);
	tj->tj_order = atomic_fetch_add(&job_runs_started, 1) + 1;
	tj->tj_started++;
	tj->tj_tid = tid;
	tj->tj_cpu = cpu;
	tj->tj_policy = policy;
	tj->tj_sched_prio = sp.sched_priority;
	tj->tj_nice = nice;
	tj->tj_affinity = aff;
	(void)strcpy(tj->tj_comm, comm);
	(void)pthread_cond_broadcast(&tj->tj_cv);
	(void)pthread_mutex_unlock(&tj->tj_lock);

	if (tj->tj_gate != NULL)
		(void)tpt_gate_wait(tj->tj_gate);
	if (tj->tj_sleep_ms != 0)
		tpt_sleep_ms(tj->tj_sleep_ms);

	(void)pthread_mutex_lock(&tj->tj_lock);
	if (tj->tj_meter != NULL)
		(void)atomic_fetch_sub(tj->tj_meter, 1);
	(void)atomic_fetch_sub(&tj->tj_active, 1);
	tj->tj_finished++;
	(void)pthread_cond_broadcast(&tj->tj_cv);
	threadpool_job_done(&tj->tj_job);
	(void)pthread_mutex_unlock(&tj->tj_lock);
}

void
tpt_job_prepare(struct tpt_job *tj)
{

	memset(tj, 0, sizeof(*tj));
	(void)pthread_mutex_init(&tj->tj_lock, NULL);
	cond_init_monotonic(&tj->tj_cv);
	tj->tj_tid = -1;
	tj->tj_cpu = -1;
	atomic_init(&tj->tj_active, 0);
	atomic_init(&tj->tj_max_active, 0);
}

void
tpt_job_init(struct tpt_job *tj, const char *name)
{

	tpt_job_prepare(tj);
	threadpool_job_init(&tj->tj_job, tpt_job_run, &tj->tj_lock, "%s", name);
}

void
tpt_job_fini(struct tpt_job *tj)
{

	threadpool_job_destroy(&tj->tj_job);
	(void)pthread_cond_destroy(&tj->tj_cv);
	(void)pthread_mutex_destroy(&tj->tj_lock);
}

void
tpt_job_schedule(struct tpt_job *tj, struct threadpool *pool)
{

	(void)pthread_mutex_lock(&tj->tj_lock);
	threadpool_schedule_job(pool, &tj->tj_job);
	(void)pthread_mutex_unlock(&tj->tj_lock);
}

bool
tpt_job_cancel_async(struct tpt_job *tj, struct threadpool *pool)
{
	bool cancelled;

	(void)pthread_mutex_lock(&tj->tj_lock);
	cancelled = threadpool_cancel_job_async(pool, &tj->tj_job);
	(void)pthread_mutex_unlock(&tj->tj_lock);
	return cancelled;
}

void
tpt_job_cancel(struct tpt_job *tj, struct threadpool *pool)
{

	(void)pthread_mutex_lock(&tj->tj_lock);
	threadpool_cancel_job(pool, &tj->tj_job);
	(void)pthread_mutex_unlock(&tj->tj_lock);
}

static bool
job_wait_count(struct tpt_job *tj, const unsigned int *count, unsigned int n,
    unsigned int timeout_ms)
{
	struct timespec dl = deadline_after_ms(timeout_ms);
	bool reached;

	(void)pthread_mutex_lock(&tj->tj_lock);
	while (*count < n) {
		if (pthread_cond_timedwait(&tj->tj_cv, &tj->tj_lock, &dl) == ETIMEDOUT)
			break;
	}
	reached = *count >= n;
	(void)pthread_mutex_unlock(&tj->tj_lock);
	return reached;
}

bool
tpt_job_wait_started(struct tpt_job *tj, unsigned int n, unsigned int timeout_ms)
{

	return job_wait_count(tj, &tj->tj_started, n, timeout_ms);
}

bool
tpt_job_wait_finished(struct tpt_job *tj, unsigned int n, unsigned int timeout_ms)
{

	return job_wait_count(tj, &tj->tj_finished, n, timeout_ms);
}

unsigned int
tpt_job_started(struct tpt_job *tj)
{
	unsigned int n;

	(void)pthread_mutex_lock(&tj->tj_lock);
	n = tj->tj_started;
	(void)pthread_mutex_unlock(&tj->tj_lock);
	return n;
}

unsigned int
tpt_job_finished(struct tpt_job *tj)
{
	unsigned int n;

	(void)pthread_mutex_lock(&tj->tj_lock);
	n = tj->tj_finished;
	(void)pthread_mutex_unlock(&tj->tj_lock);
	return n;
}

/* Statistics */

bool
tpt_wait_stats(struct threadpool *pool, bool (*pred)(const struct threadpool_stats *,
    uintmax_t), uintmax_t arg, unsigned int timeout_ms)
{
	struct threadpool_stats st;
	uint64_t start = tpt_now_ns();

	for (;;) {
		threadpool_stats(pool, &st);
		if ((*pred)(&st, arg))
			return true;
		if (tpt_ms_since(start) >= timeout_ms)
			return false;
		tpt_sleep_ms(1);
	}
}

bool
tpt_stats_threads_le(const struct threadpool_stats *st, uintmax_t n)
{

	return st->tps_threads <= n;
}

bool
tpt_stats_threads_eq(const struct threadpool_stats *st, uintmax_t n)
{

	return st->tps_threads == n;
}

bool
tpt_stats_idle_eq(const struct threadpool_stats *st, uintmax_t n)
{

	return st->tps_idle == n;
}

bool
tpt_stats_queued_eq(const struct threadpool_stats *st, uintmax_t n)
{

	return st->tps_queued == n;
}

/* Forked children */

int
tpt_fork_run(int (*fn)(void *), void *arg, unsigned int timeout_s, char *out,
    size_t outlen, int *ret_status)
{
	int fds[2], status, error;
	size_t have = 0;
	ssize_t n;
	pid_t pid;
	char sink[256];

	if (pipe2(fds, O_CLOEXEC) == -1)
		return errno;
	(void)fflush(NULL);
	pid = fork();
	if (pid == -1) {
		error = errno;
		(void)close(fds[0]);
		(void)close(fds[1]);
		return error;
	}
	if (pid == 0) {
		(void)close(fds[0]);
		(void)dup2(fds[1], STDOUT_FILENO);
		(void)dup2(fds[1], STDERR_FILENO);
		(void)signal(SIGALRM, SIG_DFL);
		(void)alarm(timeout_s);
		_exit((*fn)(arg));
	}
	(void)close(fds[1]);
	for (;;) {
		if (have + 1 < outlen)
			n = read(fds[0], out + have, outlen - 1 - have);
		else
			n = read(fds[0], sink, sizeof(sink));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (have + 1 < outlen)
			have += (size_t)n;
	}
	(void)close(fds[0]);
	if (outlen > 0)
		out[have] = '\0';
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return errno;
	}
	*ret_status = status;
	return 0;
}

/* Helpers that assert */

struct threadpool *
tpt_ck_get_pool(tp_pri_t pri)
{
	struct threadpool *pool = NULL;
	int error;

	error = threadpool_get(&pool, pri);
	ck_assert_msg(error == 0, "threadpool_get(%d): %s", pri, strerror(error));
	ck_assert_ptr_nonnull(pool);
	return pool;
}

void
tpt_ck_child_succeeds(int (*fn)(void *), void *arg, unsigned int timeout_s)
{
	char out[4096];
	int status;

	ck_assert_int_eq(tpt_fork_run(fn, arg, timeout_s, out, sizeof(out), &status), 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child %s %d, output:\n%s", WIFEXITED(status) ? "exit" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), out);
}

struct delayed_open {
	struct tpt_gate	*do_gate;
	unsigned int	do_ms;
};

static void *
delayed_open_thread(void *arg)
{
	struct delayed_open *d = arg;

	tpt_sleep_ms(d->do_ms);
	tpt_gate_open(d->do_gate);
	return NULL;
}

void
tpt_ck_cancel_through_other(struct threadpool *pool, struct threadpool *other)
{
	struct threadpool_stats st;
	struct tpt_job blocker, tj, tj2;
	struct tpt_gate gate, gate2;
	struct delayed_open dopen;
	pthread_t opener;
	unsigned int finished;

	ck_assert_ptr_ne(pool, other);
	tpt_gate_init(&gate);
	tpt_gate_init(&gate2);
	tpt_job_init(&blocker, "blocker");
	tpt_job_init(&tj, "queued-elsewhere");
	tpt_job_init(&tj2, "running-elsewhere");

	/* Queued on pool, cancelled through other: true, and it never runs. */
	tpt_ck_occupy(pool, &blocker, &gate);
	tpt_job_schedule(&tj, pool);
	threadpool_stats(pool, &st);
	ck_assert_uint_eq(st.tps_queued, 1);
	ck_assert_msg(tpt_job_cancel_async(&tj, other),
	    "cancel through another pool said a queued job was running");
	threadpool_stats(pool, &st);
	ck_assert_uint_eq(st.tps_queued, 0);
	threadpool_stats(other, &st);
	ck_assert_uint_eq(st.tps_queued, 0);
	tpt_ck_release(pool, &blocker, &gate);
	ck_assert(tpt_wait_stats(pool, tpt_stats_idle_eq, 1, TPT_DEADLINE_MS));
	tpt_sleep_ms(TPT_QUIET_MS);
	ck_assert_uint_eq(tpt_job_started(&tj), 0);

	/* Running on pool: false through other, and cancel_job through other waits. */
	tj2.tj_gate = &gate2;
	tpt_job_schedule(&tj2, pool);
	ck_assert(tpt_job_wait_started(&tj2, 1, TPT_DEADLINE_MS));
	ck_assert(!tpt_job_cancel_async(&tj2, other));
	dopen.do_gate = &gate2;
	dopen.do_ms = 100;
	ck_assert_int_eq(pthread_create(&opener, NULL, delayed_open_thread, &dopen), 0);
	(void)pthread_mutex_lock(&tj2.tj_lock);
	threadpool_cancel_job(other, &tj2.tj_job);
	finished = tj2.tj_finished;
	(void)pthread_mutex_unlock(&tj2.tj_lock);
	(void)pthread_join(opener, NULL);
	ck_assert_msg(finished == 1, "cancel_job through another pool returned while it ran");

	tpt_job_fini(&tj2);
	tpt_job_fini(&tj);
	tpt_job_fini(&blocker);
	tpt_gate_destroy(&gate2);
	tpt_gate_destroy(&gate);
}

void
tpt_ck_occupy(struct threadpool *pool, struct tpt_job *blocker, struct tpt_gate *gate)
{

	threadpool_set_max_threads(pool, 1);
	ck_assert_msg(tpt_wait_stats(pool, tpt_stats_threads_le, 1, TPT_DEADLINE_MS),
	    "the pool kept more than one worker after its cap was set to 1");
	blocker->tj_gate = gate;
	tpt_job_schedule(blocker, pool);
	ck_assert_msg(tpt_job_wait_started(blocker, 1, TPT_DEADLINE_MS),
	    "the blocking job did not start");
}

void
tpt_ck_release(struct threadpool *pool, struct tpt_job *blocker, struct tpt_gate *gate)
{

	tpt_gate_open(gate);
	ck_assert_msg(tpt_job_wait_finished(blocker, 1, TPT_DEADLINE_MS),
	    "the blocking job did not end");
	threadpool_set_max_threads(pool, 0);
}

/* Runners */

void
tpt_note(const char *fmt, ...)
{
	va_list ap;

	if (getenv("TPT_VERBOSE") == NULL)
		return;
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
}

bool
tpt_fork_mode(void)
{
	const char *v = getenv("CK_FORK");

	return v == NULL || strcmp(v, "no") != 0;
}

int
tpt_run_suite(Suite *s)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
