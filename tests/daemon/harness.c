/*
 * harness.c -- starting and stopping the real tpoold for the integration
 * tests, and the small tools they share.  See harness.h.
 *
 * (Over 800 lines: it is libtdharness, the one library that every test
 * here running the real tpoold links: the daemon's start and stop, its
 * log, the client calls and raw frames, each written once for all of
 * them.)
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fakewire.h"
#include "frame.h"
#include "harness.h"

#ifndef TD_BUILDDIR
#error "TD_BUILDDIR must name the build tree"
#endif

#define	TD_MAX_DAEMONS	8
#define	TD_MAX_ARGS	64

/* Daemons started by this process, for the exit handler. */
static struct td_daemon *td_live[TD_MAX_DAEMONS];
static bool td_atexit_done;

unsigned int
td_deadline_ms(void)
{
	const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
	unsigned int mult = 1;

	if (m != NULL && atoi(m) > 1)
		mult = (unsigned int)atoi(m);
	if (getenv("TPOOL_TEST_WRAPPER") != NULL && mult < 4)
		mult = 4;
	return 15000 * mult;
}

void
td_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

void
td_may_raise(bool *ret_nice, bool *ret_rt)
{
	struct sched_param sp = { .sched_priority = 1 };
	int status;
	pid_t pid;

	*ret_nice = *ret_rt = false;
	if ((pid = fork()) == 0)
		_exit(setpriority(PRIO_PROCESS, 0, -20) == 0 ? 0 : 1);
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		*ret_nice = WEXITSTATUS(status) == 0;
	if ((pid = fork()) == 0)
		_exit(sched_setscheduler(0, SCHED_FIFO, &sp) == 0 ? 0 : 1);
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		*ret_rt = WEXITSTATUS(status) == 0;
}

const char *
td_tpoold_path(void)
{
	static char path[PATH_MAX];

	/* The real binary, not libtool's wrapper script (valgrind it). */
	(void)snprintf(path, sizeof(path), "%s/daemon/.libs/tpoold", TD_BUILDDIR);
	if (access(path, X_OK) != 0)
		(void)snprintf(path, sizeof(path), "%s/daemon/tpoold", TD_BUILDDIR);
	return path;
}

const char *
td_tpoold_test_path(void)
{
	static char path[PATH_MAX];

	(void)snprintf(path, sizeof(path), "%s/tests/daemon/tpoold-test",
	    TD_BUILDDIR);
	return path;
}

const char *
td_tpctl_path(void)
{
	static char path[PATH_MAX];

	(void)snprintf(path, sizeof(path), "%s/client/tpctl", TD_BUILDDIR);
	return path;
}

static int
td_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

static void
td_forget(struct td_daemon *d)
{
	size_t i;

	for (i = 0; i < TD_MAX_DAEMONS; i++)
		if (td_live[i] == d)
			td_live[i] = NULL;
}

static void
td_atexit(void)
{
	size_t i;

	for (i = 0; i < TD_MAX_DAEMONS; i++)
		if (td_live[i] != NULL)
			td_cleanup(td_live[i]);
}

void
td_init(struct td_daemon *d)
{
	struct sockaddr_un sun;
	size_t i;

	memset(d, 0, sizeof(*d));
	d->td_notify_fd = -1;
	(void)snprintf(d->td_dir, sizeof(d->td_dir), "/tmp/tpd-test-XXXXXX");
	ck_assert_msg(mkdtemp(d->td_dir) != NULL, "mkdtemp: %s", strerror(errno));
	/* Others (nobody, for the not-yours tests) must reach the socket. */
	ck_assert_int_eq(chmod(d->td_dir, 0755), 0);
	(void)snprintf(d->td_sock, sizeof(d->td_sock), "%s/tpoold.sock", d->td_dir);
	(void)snprintf(d->td_plugins, sizeof(d->td_plugins), "%s/plugins", d->td_dir);
	(void)snprintf(d->td_log, sizeof(d->td_log), "%s/tpoold.log", d->td_dir);
	(void)snprintf(d->td_notify, sizeof(d->td_notify), "%s/notify", d->td_dir);
	ck_assert_int_eq(mkdir(d->td_plugins, 0755), 0);
	ck_assert_int_eq(chmod(d->td_plugins, 0755), 0);

	d->td_notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(d->td_notify_fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d->td_notify);
	ck_assert_msg(bind(d->td_notify_fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "bind %s: %s", d->td_notify, strerror(errno));

	if (!td_atexit_done) {
		(void)atexit(td_atexit);
		td_atexit_done = true;
	}
	for (i = 0; i < TD_MAX_DAEMONS; i++) {
		if (td_live[i] == NULL) {
			td_live[i] = d;
			break;
		}
	}
}

void
td_copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	in = open(src, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(in >= 0, "open %s: %s", src, strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(out >= 0, "create %s: %s", dst, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	/* Not the umask's: the daemon refuses group/other-writable plugins. */
	ck_assert_int_eq(fchmod(out, mode), 0);
	(void)close(in);
	ck_assert_int_eq(close(out), 0);
}

void
td_plugin_source(const char *name, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%s/plugins/.libs/%s.so", TD_BUILDDIR, name);
	if (access(buf, R_OK) != 0)
		(void)snprintf(buf, len, "%s/tests/daemon/.libs/%s.so", TD_BUILDDIR, name);
	ck_assert_msg(access(buf, R_OK) == 0, "no plugin %s in the build", name);
}

void
td_add_plugin(struct td_daemon *d, const char *name, const char *dest)
{
	char src[PATH_MAX], dst[PATH_MAX];

	td_plugin_source(name, src, sizeof(src));
	(void)snprintf(dst, sizeof(dst), "%s/%s.so", d->td_plugins, dest != NULL ? dest : name);
	td_copy_file(src, dst, 0755);
}

void
td_add_example_plugins(struct td_daemon *d)
{
	td_add_plugin(d, "echo", NULL);
	td_add_plugin(d, "sleep", NULL);
	td_add_plugin(d, "fail", NULL);
	td_add_plugin(d, "sha256", NULL);
}

void
td_gate_input(const struct td_daemon *d, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "gate:%s/gate", d->td_dir);
	ck_assert_msg(n > 0 && (size_t)n < len, "no room for the gate's input");
}

void
td_gate_open(const struct td_daemon *d)
{
	char path[sizeof(d->td_dir) + 8];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/gate", d->td_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "gate %s: %s", path, strerror(errno));
	(void)close(fd);
}

static bool td_threads_at_exit;

void
td_expect_running_threads_at_exit(void)
{
	td_threads_at_exit = true;
}

/* Split TPOOL_TEST_WRAPPER at spaces into argv (pointers into a copy). */
static size_t
td_wrapper(const char **argv, size_t max)
{
	static char *copy;
	const char *w = getenv("TPOOL_TEST_WRAPPER"), *base;
	char *tok, *save;
	size_t n = 0;

	if (w == NULL || *w == '\0')
		return 0;
	free(copy);
	copy = strdup(w);
	ck_assert_ptr_nonnull(copy);
	for (tok = strtok_r(copy, " \t", &save); tok != NULL && n < max - 1;
	    tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	base = n > 0 ? strrchr(argv[0], '/') : NULL;
	base = base != NULL ? base + 1 : (n > 0 ? argv[0] : "");
	if (td_threads_at_exit && strcmp(base, "valgrind") == 0)
		argv[n++] = "--errors-for-leak-kinds=definite";
	td_threads_at_exit = false;
	return n;
}

pid_t
td_spawn(struct td_daemon *d, const char *const *prefix, const char *const *args,
    bool with_socket_args)
{
	const char *argv[TD_MAX_ARGS];
	char ldpath[PATH_MAX * 2];
	const char *old;
	size_t n = 0;
	pid_t parent = getpid(), pid;
	int fd;

	for (; prefix != NULL && *prefix != NULL; prefix++)
		argv[n++] = *prefix;
	n += td_wrapper(argv + n, 16);
	argv[n++] = d->td_test_build ? td_tpoold_test_path() : td_tpoold_path();
	if (with_socket_args) {
		argv[n++] = "-s";
		argv[n++] = d->td_sock;
		argv[n++] = "-p";
		argv[n++] = d->td_plugins;
		argv[n++] = "-v";
		/* The build's, for plugins of isolation process. */
		argv[n++] = "--worker-program";
		argv[n++] = TD_BUILDDIR "/daemon/tpoold-worker";
	}
	for (; args != NULL && *args != NULL && n < TD_MAX_ARGS - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid > 0)
		return pid;

	/* Child: die with the test; stderr and stdout to the log. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	fd = open(d->td_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
	}
	if (d->td_nofile != 0) {
		struct rlimit rl = { d->td_nofile, d->td_nofile };

		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			_exit(126);
	}
	old = getenv("LD_LIBRARY_PATH");
	(void)snprintf(ldpath, sizeof(ldpath), "%s/libtp/.libs%s%s", TD_BUILDDIR,
	    old != NULL ? ":" : "", old != NULL ? old : "");
	(void)setenv("LD_LIBRARY_PATH", ldpath, 1);
	(void)setenv("NOTIFY_SOCKET", d->td_notify, 1);
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDNAMES");
	execvp(argv[0], (char *const *)argv);
	(void)fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void td_dump_log(const struct td_daemon *d);

bool
td_wait_notify(struct td_daemon *d, const char *needle, unsigned int timeout_ms)
{
	uint64_t end = tu_now_ms() + timeout_ms;
	struct pollfd pfd = { d->td_notify_fd, POLLIN, 0 };
	char buf[4096];
	ssize_t n;
	int status;

	for (;;) {
		n = recv(d->td_notify_fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			if (strstr(buf, needle) != NULL) {
				(void)snprintf(d->td_notified, sizeof(d->td_notified), "%.*s",
				    (int)sizeof(d->td_notified) - 1, buf);
				return true;
			}
			continue;
		}
		if (tu_now_ms() >= end)
			return false;
		/* A daemon that died will never say it. */
		if (d->td_pid > 0 && waitpid(d->td_pid, &status, WNOHANG) == d->td_pid) {
			d->td_status = status;
			d->td_pid = 0;
			(void)fprintf(stderr, "tpoold ended while we waited for '%s': %s %d\n",
			    needle, WIFSIGNALED(status) ? "signal" : "exit status",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			td_dump_log(d);
			return false;
		}
		(void)poll(&pfd, 1, 50);
	}
}

static void
td_dump_log(const struct td_daemon *d)
{
	char *log = td_log_read(d);

	(void)fprintf(stderr, "---- tpoold log (%s) ----\n%s---- end of log ----\n",
	    d->td_log, log);
	free(log);
}

/*
 * Throw away the notifications nobody waits for (a stopped daemon's
 * STOPPING=1, a refused start's): the socket queues only
 * net.unix.max_dgram_qlen (10) datagrams, and a daemon whose sd_notify
 * finds it full blocks (systemd reads at once; a test does not).
 */
static void
td_notify_drain(struct td_daemon *d)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(d->td_notify_fd, buf, sizeof(buf) - 1,
	    MSG_DONTWAIT)) >= 0) {
		buf[n] = '\0';
		if (strstr(buf, "STOPPING=1") != NULL)
			d->td_stopping_seen = true;
	}
}

void
td_start(struct td_daemon *d, const char *const *prefix, const char *const *args)
{
	td_notify_drain(d);
	d->td_pid = td_spawn(d, prefix, args, true);
	if (!td_wait_notify(d, "READY=1", td_deadline_ms())) {
		td_dump_log(d);
		ck_abort_msg("tpoold did not say READY=1");
	}
}

void
td_up(struct td_daemon *d, const char *const *args)
{
	td_init(d);
	td_add_example_plugins(d);
	td_start(d, NULL, args);
}

int
td_wait_exit(pid_t pid, unsigned int timeout_ms)
{
	uint64_t end = tu_now_ms() + timeout_ms;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (tu_now_ms() >= end)
			return -1;
		td_sleep_ms(10);
	}
}

void
td_stop(struct td_daemon *d)
{
	int status;

	uint64_t end = tu_now_ms() + td_deadline_ms();

	ck_assert_msg(d->td_pid > 0, "tpoold is not running (it died?)");
	d->td_stopping_seen = false;
	ck_assert_int_eq(kill(d->td_pid, SIGTERM), 0);
	/* Its STOPPING=1 must not find the notify socket full. */
	do {
		td_notify_drain(d);
		status = td_wait_exit(d->td_pid, 50);
	} while (status == -1 && tu_now_ms() < end);
	td_notify_drain(d);	/* what it said last */
	if (status == -1) {
		(void)kill(d->td_pid, SIGKILL);
		(void)td_wait_exit(d->td_pid, 5000);
		d->td_pid = 0;
		td_dump_log(d);
		ck_abort_msg("tpoold did not exit after SIGTERM");
	}
	d->td_pid = 0;
	d->td_status = status;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		td_dump_log(d);
		if (WIFSIGNALED(status))
			ck_abort_msg("tpoold died of signal %d", WTERMSIG(status));
		ck_abort_msg("tpoold exited %d", WEXITSTATUS(status));
	}
	(void)td_check_error_replies(d);
}

bool
td_message_leaks(const struct td_daemon *d, const char *msg, const char **ret_why)
{
	static const char *const system_dirs[] = { "/tmp/", "/run/", "/usr/", "/lib",
	    "/etc/", "/var/", "/home/", "/proc/", "/dev/", "/opt/" };
	size_t i;

	if (d->td_dir[0] != '\0' && strstr(msg, d->td_dir) != NULL) {
		*ret_why = "the daemon's folder";
		return true;
	}
	if (strstr(msg, TD_BUILDDIR) != NULL) {
		*ret_why = "the build tree";
		return true;
	}
	for (i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++) {
		if (strstr(msg, system_dirs[i]) != NULL) {
			*ret_why = system_dirs[i];
			return true;
		}
	}
	if (strstr(msg, "0x") != NULL || strstr(msg, "0X") != NULL) {
		*ret_why = "an address (0x)";
		return true;
	}
	if (strstr(msg, ".so") != NULL) {
		*ret_why = "a plugin's file";
		return true;
	}
	return false;
}

unsigned int
td_check_error_replies(const struct td_daemon *d)
{
	char *log = td_log_read(d), *line, *save, *msg;
	const char *why;
	unsigned int n = 0;

	for (line = strtok_r(log, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		/* tpd_reply_error's debug line: "... request N: ERROR_X: message" */
		if (strstr(line, "connection ") == NULL || strstr(line, " request ") == NULL ||
		    (msg = strstr(line, ": ERROR_")) == NULL)
			continue;
		msg = strstr(msg + 2, ": ");
		if (msg == NULL)
			continue;
		msg += 2;
		n++;
		if (td_message_leaks(d, msg, &why)) {
			free(log);
			ck_abort_msg("an error sent to a client names %s: %s", why, msg);
		}
	}
	free(log);
	return n;
}

void
td_cleanup(struct td_daemon *d)
{
	if (d->td_pid > 0) {
		(void)kill(d->td_pid, SIGKILL);
		(void)td_wait_exit(d->td_pid, 5000);
		d->td_pid = 0;
	}
	if (d->td_notify_fd >= 0) {
		(void)close(d->td_notify_fd);
		d->td_notify_fd = -1;
	}
	if (d->td_dir[0] != '\0' && getenv("TPOOL_TEST_KEEP") == NULL)
		(void)nftw(d->td_dir, td_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	d->td_dir[0] = '\0';
	td_forget(d);
}

void
td_down(struct td_daemon *d)
{
	td_stop(d);
	td_cleanup(d);
}

char *
td_log_read(const struct td_daemon *d)
{
	FILE *f = fopen(d->td_log, "re");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[4096];

	if (f != NULL) {
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			buf = realloc(buf, len + n + 1);
			ck_assert_ptr_nonnull(buf);
			memcpy(buf + len, chunk, n);
			len += n;
		}
		(void)fclose(f);
	}
	if (buf == NULL) {
		buf = malloc(1);
		ck_assert_ptr_nonnull(buf);
	}
	buf[len] = '\0';
	return buf;
}

bool
td_log_contains(const struct td_daemon *d, const char *needle)
{
	char *log = td_log_read(d);
	bool found = strstr(log, needle) != NULL;

	free(log);
	return found;
}

void
td_expect_log(const struct td_daemon *d, const char *needle)
{
	if (!td_log_contains(d, needle)) {
		td_dump_log(d);
		ck_abort_msg("no log line with: %s", needle);
	}
}

bool
td_log_wait(const struct td_daemon *d, const char *needle, unsigned int timeout_ms)
{
	uint64_t end = tu_now_ms() + timeout_ms;

	while (!td_log_contains(d, needle)) {
		if (tu_now_ms() >= end)
			return false;
		td_sleep_ms(20);
	}
	return true;
}

struct tpc *
td_connect(const struct td_daemon *d)
{
	struct tpc *c = NULL;
	int error;

	error = tpc_connect(d->td_sock, &c);
	ck_assert_msg(error == 0, "connect %s: %s", d->td_sock, tpc_strerror(error));
	ck_assert_int_eq(tpc_set_timeout(c, (int)td_deadline_ms()), 0);
	return c;
}

uint64_t
td_submit(struct tpc *c, const char *plugin, const char *input)
{
	uint64_t id = 0;
	int error;

	error = tpc_submit(c, TPC_SUBMIT_ARGS(plugin, input, input != NULL ? strlen(input) : 0),
	    &id);
	ck_assert_msg(error == 0, "submit %s: %s", plugin, tpc_strerror(error));
	return id;
}

Tpool__JobInfo *
td_run_job(struct tpc *c, const char *plugin, const char *input, Tpool__PoolKind pool,
    int priority, int cpu)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	Tpool__JobInfo *fin = NULL;
	uint64_t id;
	int error;

	a.tsa_plugin = plugin;
	a.tsa_input = input;
	a.tsa_input_len = input != NULL ? strlen(input) : 0;
	a.tsa_pool = pool;
	a.tsa_priority = priority;
	a.tsa_cpu = cpu;
	error = tpc_submit(c, &a, &id);
	ck_assert_msg(error == 0, "submit %s: %s (%s)", plugin, tpc_strerror(error),
	    tp_error_name(tpc_last_error(c, NULL)));
	error = tpc_wait_job(c, id, &fin, NULL, NULL);
	ck_assert_msg(error == 0, "wait for job %llu: %s", (unsigned long long)id,
	    tpc_strerror(error));
	ck_assert_uint_eq(fin->job_id, id);
	return fin;
}

unsigned int
td_pipeline_echo(struct tpc *c, unsigned int n)
{
	Tpool__ServerMessage *m;
	unsigned int i, replies = 0, finished = 0, started = 0;
	uint64_t rid;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(tpc_send_submit(c, TPC_SUBMIT_ARGS("echo", "p", 1), &rid), 0);
	ck_assert_int_eq(tpc_flush(c), 0);
	while (replies < n || finished < n) {
		ck_assert_int_eq(tpc_read_message(c, &m), 0);
		if (m->msg_case == TPOOL__SERVER_MESSAGE__MSG_RESPONSE) {
			ck_assert_int_eq(m->response->body_case, TPOOL__RESPONSE__BODY_SUBMIT);
			replies++;
		} else if (m->event->kind_case == TPOOL__EVENT__KIND_FINISHED) {
			ck_assert_int_eq(m->event->finished->job->state,
			    TPOOL__JOB_STATE__JOB_SUCCEEDED);
			finished++;
		} else if (m->event->kind_case == TPOOL__EVENT__KIND_STARTED) {
			started++;
		}
		tpool__server_message__free_unpacked(m, NULL);
	}
	return started;
}

Tpool__Event *
td_wait_event(struct tpc *c, uint64_t job_id, Tpool__Event__KindCase kind)
{
	Tpool__Event *ev;
	int error;

	for (;;) {
		error = tpc_next_event(c, &ev);
		ck_assert_msg(error == 0, "waiting for an event of job %llu: %s",
		    (unsigned long long)job_id, tpc_strerror(error));
		if (ev->job_id == job_id && ev->kind_case == kind)
			return ev;
		tpool__event__free_unpacked(ev, NULL);
	}
}

Tpool__JobInfo *
td_wait_final(struct tpc *c, uint64_t job_id)
{
	uint64_t end = tu_now_ms() + td_deadline_ms();
	Tpool__StatusReply *sr;
	Tpool__JobInfo *info;
	int error;

	for (;;) {
		error = tpc_status(c, job_id, &sr);
		ck_assert_msg(error == 0, "status %llu: %s", (unsigned long long)job_id,
		    tpc_strerror(error));
		ck_assert_uint_eq(sr->n_jobs, 1);
		if (tp_state_is_final(sr->jobs[0]->state)) {
			/* Detach the job from the reply. */
			info = sr->jobs[0];
			sr->n_jobs = 0;
			tpool__status_reply__free_unpacked(sr, NULL);
			return info;
		}
		tpool__status_reply__free_unpacked(sr, NULL);
		ck_assert_msg(tu_now_ms() < end, "job %llu did not end", (unsigned long long)job_id);
		td_sleep_ms(10);
	}
}

int
td_raw_connect(const struct td_daemon *d)
{
	struct sockaddr_un sun;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d->td_sock);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0, "connect: %s",
	    strerror(errno));
	return fd;
}

void
td_raw_write(int fd, const void *buf, size_t len)
{

	ck_assert_msg(tu_write_all(fd, buf, len), "send: %s", strerror(errno));
}

void
td_raw_send(int fd, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(TP_FRAME_HDR_LEN + len);

	ck_assert_ptr_nonnull(buf);
	tp_frame_put_header(buf, (uint32_t)len);
	(void)protobuf_c_message_pack(msg, buf + TP_FRAME_HDR_LEN);
	td_raw_write(fd, buf, TP_FRAME_HDR_LEN + len);
	free(buf);
}

unsigned int
td_raw_flood(int fd, const ProtobufCMessage *msg, unsigned int max)
{
	size_t len = protobuf_c_message_get_packed_size(msg), off;
	uint8_t *frame = malloc(TP_FRAME_HDR_LEN + len);
	struct pollfd pfd;
	unsigned int sent = 0;
	ssize_t n;

	ck_assert_ptr_nonnull(frame);
	tp_frame_put_header(frame, (uint32_t)len);
	(void)protobuf_c_message_pack(msg, frame + TP_FRAME_HDR_LEN);
	while (sent < max) {
		for (off = 0; off < TP_FRAME_HDR_LEN + len;) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, 2000) <= 0 || (pfd.revents & (POLLERR | POLLHUP)))
				goto out;
			n = send(fd, frame + off, TP_FRAME_HDR_LEN + len - off,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0)
				goto out;
			off += (size_t)n;
		}
		sent++;
	}
out:
	free(frame);
	return sent;
}

/* Read exactly len bytes; false at end of file or timeout. */
static bool
td_raw_read_full(int fd, uint8_t *buf, size_t len, uint64_t end, bool *ret_eof)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	uint64_t now;
	ssize_t n;

	while (len > 0) {
		now = tu_now_ms();
		if (now >= end)
			return false;
		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		n = recv(fd, buf, len, 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
			*ret_eof = true;
			return false;
		}
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	return true;
}

Tpool__ServerMessage *
td_raw_read(int fd, unsigned int timeout_ms, bool *ret_eof)
{
	uint64_t end = tu_now_ms() + timeout_ms;
	Tpool__ServerMessage *sm;
	uint8_t hdr[TP_FRAME_HDR_LEN], *body;
	uint32_t len;
	bool eof = false;

	if (ret_eof != NULL)
		*ret_eof = false;
	if (!td_raw_read_full(fd, hdr, sizeof(hdr), end, &eof)) {
		if (ret_eof != NULL)
			*ret_eof = eof;
		return NULL;
	}
	len = tp_frame_get_header(hdr);
	ck_assert_uint_le(len, 64u << 20);
	body = malloc(len + 1);
	ck_assert_ptr_nonnull(body);
	if (!td_raw_read_full(fd, body, len, end, &eof)) {
		free(body);
		if (ret_eof != NULL)
			*ret_eof = eof;
		return NULL;
	}
	sm = tpool__server_message__unpack(NULL, len, body);
	free(body);
	ck_assert_msg(sm != NULL, "the daemon sent a frame that is not a ServerMessage");
	return sm;
}

bool
td_raw_wait_eof(int fd, unsigned int timeout_ms)
{
	uint64_t end = tu_now_ms() + timeout_ms;
	struct pollfd pfd = { fd, POLLIN, 0 };
	uint8_t buf[4096];
	uint64_t now;
	ssize_t n;

	for (;;) {
		now = tu_now_ms();
		if (now >= end)
			return false;
		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return true;
	}
}

void
td_raw_expect_error(int fd, Tpool__ErrorCode code)
{
	Tpool__ServerMessage *sm;
	bool eof;

	sm = td_raw_read(fd, td_deadline_ms(), &eof);
	ck_assert_msg(sm != NULL, "no reply (%s)", eof ? "end of file" : "timeout");
	ck_assert_int_eq(sm->msg_case, TPOOL__SERVER_MESSAGE__MSG_RESPONSE);
	ck_assert_int_eq(sm->response->body_case, TPOOL__RESPONSE__BODY_ERROR);
	ck_assert_msg(sm->response->error->code == code, "error %s, expected %s (%s)",
	    tp_error_name(sm->response->error->code), tp_error_name(code),
	    sm->response->error->message != NULL ? sm->response->error->message : "");
	ck_assert_ptr_nonnull(sm->response->error->message);
	ck_assert_uint_gt(strlen(sm->response->error->message), 0);
	tpool__server_message__free_unpacked(sm, NULL);
}

int
td_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	/* A client that the daemon drops must not kill the test. */
	(void)signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

bool
td_have_socket_activate(void)
{
	if (access("/usr/bin/systemd-socket-activate", X_OK) == 0 ||
	    access("/bin/systemd-socket-activate", X_OK) == 0)
		return true;
	(void)fprintf(stderr, "skipped: no systemd-socket-activate\n");
	return false;
}

int
td_start_refused(struct td_daemon *d, const char *const *args)
{
	pid_t pid = td_spawn(d, NULL, args, true);
	uint64_t end = tu_now_ms() + td_deadline_ms();
	int status;

	/* Its last words (STATUS=failed...) must not find the socket full. */
	do {
		td_notify_drain(d);
		status = td_wait_exit(pid, 50);
	} while (status == -1 && tu_now_ms() < end);
	td_notify_drain(d);
	d->td_pid = 0;
	if (status == -1) {
		(void)kill(pid, SIGKILL);
		(void)td_wait_exit(pid, 5000);
		td_dump_log(d);
		ck_abort_msg("tpoold did not exit");
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "tpoold started (status %#x)", (unsigned int)status);
	return WEXITSTATUS(status);
}
