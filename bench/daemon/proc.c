/*
 * proc.c -- the processes bench_tpoold starts, and their end on every path.
 *
 * Every child (tpoold, the echo server) is forked with PR_SET_PDEATHSIG, so
 * it dies with the benchmark however the benchmark dies, and is entered in
 * a table that the exit path (atexit), the signal handlers (SIGINT, SIGTERM,
 * SIGHUP) and the alarm over the whole run (SIGALRM) read to SIGKILL what is
 * left.  Every file the benchmark makes lives in one mkdtemp'ed folder whose
 * names are also in a table, so a signal handler can remove them with
 * async-signal-safe calls only.
 *
 * Also here: CPU pinning and what /proc says about a process (VmRSS, CPU
 * time).
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "tpclient.h"

#define	PROC_MAX_CHILDREN	8
#define	PROC_MAX_FILES		16
#define	PROC_READY_MS		10000	/* for tpoold to answer a Hello */

/*
 * Read by the signal handlers: a slot is 0 or a live child's pid; a file
 * name is complete before proc_nfiles counts it.
 */
static volatile sig_atomic_t proc_children[PROC_MAX_CHILDREN];
static char proc_files[PROC_MAX_FILES][128];
static volatile sig_atomic_t proc_nfiles;
static volatile sig_atomic_t proc_have_tmpdir;

static void
proc_child_add(pid_t pid)
{
	int i;

	for (i = 0; i < PROC_MAX_CHILDREN; i++) {
		if (proc_children[i] == 0) {
			proc_children[i] = pid;
			return;
		}
	}
	/* Never more than a handful at once: the runs stop each. */
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
}

static void
proc_child_forget(pid_t pid)
{
	int i;

	for (i = 0; i < PROC_MAX_CHILDREN; i++)
		if (proc_children[i] == pid)
			proc_children[i] = 0;
}

/* Remember a file of the temporary folder to remove at the end. */
static void
proc_file_add(const char *path)
{
	int i;

	for (i = 0; i < proc_nfiles; i++)
		if (strcmp(proc_files[i], path) == 0)
			return;
	if (proc_nfiles >= PROC_MAX_FILES ||
	    strlen(path) >= sizeof(proc_files[0]))
		return;
	(void)strcpy(proc_files[proc_nfiles], path);
	proc_nfiles++;
}

/* Async-signal-safe: kill and reap the children, remove the files. */
static void
proc_cleanup_safe(void)
{
	pid_t pid;
	int i;

	for (i = 0; i < PROC_MAX_CHILDREN; i++) {
		if ((pid = proc_children[i]) != 0) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, NULL, 0);
			proc_children[i] = 0;
		}
	}
	for (i = 0; i < proc_nfiles; i++)
		(void)unlink(proc_files[i]);
	proc_nfiles = 0;
	if (proc_have_tmpdir) {
		(void)rmdir(bench_config.bc_tmpdir);
		proc_have_tmpdir = 0;
	}
}

void
proc_cleanup(void)
{
	proc_cleanup_safe();
}

static void
proc_signal(int sig)
{
	static const char alarm_msg[] =
	    "bench_tpoold: time limit of the whole run reached; stopping\n";
	static const char sig_msg[] = "bench_tpoold: interrupted; stopping\n";

	if (sig == SIGALRM)
		(void)!write(STDERR_FILENO, alarm_msg, sizeof(alarm_msg) - 1);
	else
		(void)!write(STDERR_FILENO, sig_msg, sizeof(sig_msg) - 1);
	proc_cleanup_safe();
	_exit(sig == SIGALRM ? 3 : 128 + sig);
}

int
proc_init(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };
	struct sigaction sa;
	size_t i;

	(void)snprintf(bench_config.bc_tmpdir, sizeof(bench_config.bc_tmpdir),
	    "/tmp/bench-tpoold.XXXXXX");
	if (mkdtemp(bench_config.bc_tmpdir) == NULL)
		return errno;
	proc_have_tmpdir = 1;
	if (atexit(proc_cleanup) != 0)
		return ENOMEM;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = proc_signal;
	(void)sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return errno;
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	if (bench_config.bc_total_limit_s > 0)
		(void)alarm(bench_config.bc_total_limit_s);
	return 0;
}

int
proc_pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return errno;
	return 0;
}

/*
 * Fork a child that runs fn(arg) (which does not return) with stdout and
 * stderr in log_path (when not NULL), pinned to cpu when cpu >= 0.  Called
 * only while the benchmark has no other thread.
 */
static int
proc_spawn(int cpu, const char *log_path, void (*fn)(void *), void *arg,
    pid_t *ret_pid)
{
	struct sigaction sa;
	sigset_t none;
	pid_t parent, pid;
	int fd;

	parent = getpid();
	if ((pid = fork()) < 0)
		return errno;
	if (pid > 0) {
		proc_child_add(pid);
		*ret_pid = pid;
		return 0;
	}

	/* The child: die with the benchmark, whatever kills it. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	(void)alarm(0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	(void)sigaction(SIGALRM, &sa, NULL);
	(void)sigaction(SIGPIPE, &sa, NULL);	/* ignored would survive exec */
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
		(void)dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			(void)close(fd);
	}
	if (log_path != NULL &&
	    (fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			(void)close(fd);
	}
	if (cpu >= 0 && proc_pin_self(cpu) != 0) {
		(void)fprintf(stderr, "bench_tpoold: cannot pin to CPU %d\n", cpu);
		_exit(127);
	}
	(*fn)(arg);
	_exit(127);
}

static void
proc_exec_daemon(void *arg)
{
	char *const *argv = arg;

	(void)execv(argv[0], argv);
	(void)fprintf(stderr, "bench_tpoold: cannot run %s: %s\n", argv[0],
	    strerror(errno));
	_exit(127);
}

static void
proc_exec_path(void *arg)
{
	char *const *argv = arg;

	(void)execvp(argv[0], argv);
	(void)fprintf(stderr, "bench_tpoold: cannot run %s: %s\n", argv[0],
	    strerror(errno));
	_exit(127);
}

int
proc_exec_start(char *const argv[], const char *log_path, pid_t *ret_pid)
{
	return proc_spawn(-1, log_path, proc_exec_path, (void *)argv,
	    ret_pid);
}

void
proc_show_log(const char *log_path)
{
	char buf[4096];
	off_t size;
	ssize_t n;
	int fd;

	if ((fd = open(log_path, O_RDONLY)) < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf) - 1)
		(void)lseek(fd, size - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		(void)lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	(void)fprintf(stderr, "--- the end of %s ---\n%s%s---\n", log_path, buf,
	    buf[n - 1] == '\n' ? "" : "\n");
}

static void
proc_describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		(void)snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		(void)snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		(void)snprintf(buf, len, "stopped (status 0x%x)", (unsigned int)status);
}

/* Is there a plugin named name in the list? */
static bool
proc_has_plugin(const Tpool__PluginList *list, const char *name)
{
	size_t i;

	for (i = 0; i < list->n_plugins; i++)
		if (list->plugins[i]->name != NULL &&
		    strcmp(list->plugins[i]->name, name) == 0)
			return true;
	return false;
}

/* Wait until the daemon answers a Hello and has the echo plugin. */
static int
proc_daemon_wait_ready(pid_t pid, const char *sock_path)
{
	Tpool__PluginList *list;
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	struct tpc *c;
	uint64_t deadline;
	char how[64];
	int error, status;

	deadline = tu_now_ns() + (uint64_t)PROC_READY_MS * 1000000;
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			proc_child_forget(pid);
			proc_describe_status(status, how, sizeof(how));
			(void)fprintf(stderr, "bench_tpoold: tpoold %s before it "
			    "was ready\n", how);
			return ECHILD;
		}
		error = tpc_connect(sock_path, &c);
		if (error == 0)
			break;
		if (tu_now_ns() > deadline) {
			(void)fprintf(stderr, "bench_tpoold: tpoold did not accept "
			    "a connection on %s in %d ms: %s\n", sock_path,
			    PROC_READY_MS, tpc_strerror(error));
			return ETIMEDOUT;
		}
		(void)nanosleep(&pause, NULL);
	}
	(void)tpc_set_timeout(c, BENCH_CALL_TIMEOUT_MS);
	error = tpc_list_plugins(c, &list);
	tpc_free(c);
	if (error != 0) {
		(void)fprintf(stderr, "bench_tpoold: tpoold's plugin list: %s\n",
		    tpc_strerror(error));
		return error;
	}
	if (!proc_has_plugin(list, "echo")) {
		(void)fprintf(stderr, "bench_tpoold: tpoold has no plugin named "
		    "\"echo\" in %s (%zu loaded)\n", bench_config.bc_plugins,
		    list->n_plugins);
		error = ENOENT;
	}
	tpool__plugin_list__free_unpacked(list, NULL);
	return error;
}

int
proc_daemon_start(const char *sock_path, const char *log_path,
    const char *const *extra, int cpu, pid_t *ret_pid)
{
	const char *argv[8 + BENCH_MAX_DAEMON_ARGS + 16];
	unsigned int i, n = 0;
	pid_t pid;
	int error;

	argv[n++] = bench_config.bc_daemon;
	argv[n++] = "-s";
	argv[n++] = sock_path;
	argv[n++] = "-p";
	argv[n++] = bench_config.bc_plugins;
	for (i = 0; i < bench_config.bc_ndaemon_args; i++)
		argv[n++] = bench_config.bc_daemon_args[i];
	for (i = 0; extra != NULL && extra[i] != NULL && i < 16; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	if (bench_config.bc_verbose) {
		(void)fprintf(stderr, "bench_tpoold: starting");
		for (i = 0; i < n; i++)
			(void)fprintf(stderr, " %s", argv[i]);
		(void)fprintf(stderr, "%s\n", cpu >= 0 ? " (pinned)" : "");
	}
	proc_file_add(sock_path);
	proc_file_add(log_path);
	if ((error = proc_spawn(cpu, log_path, proc_exec_daemon,
	    (void *)(uintptr_t)argv, &pid)) != 0)
		return error;
	if ((error = proc_daemon_wait_ready(pid, sock_path)) != 0) {
		(void)proc_stop(pid, 2000, NULL, NULL);
		proc_show_log(log_path);
		return error;
	}
	*ret_pid = pid;
	return 0;
}

int
proc_stop(pid_t pid, unsigned int timeout_ms, uint64_t *ret_ns,
    int *ret_status)
{
	struct timespec pause = { 0, 200 * 1000 };
	uint64_t start, deadline;
	int status;
	pid_t r;

	start = tu_now_ns();
	deadline = start + (uint64_t)timeout_ms * 1000000;
	if (kill(pid, SIGTERM) != 0 && errno != ESRCH)
		return errno;
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			proc_child_forget(pid);
			return errno;
		}
		if (tu_now_ns() > deadline) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			proc_child_forget(pid);
			if (ret_ns != NULL)
				*ret_ns = tu_now_ns() - start;
			if (ret_status != NULL)
				*ret_status = status;
			return ETIMEDOUT;
		}
		(void)nanosleep(&pause, NULL);
	}
	proc_child_forget(pid);
	if (ret_ns != NULL)
		*ret_ns = tu_now_ns() - start;
	if (ret_status != NULL)
		*ret_status = status;
	return 0;
}

static void
proc_run_echo(void *arg)
{
	floor_server_run((int)(intptr_t)arg);
}

int
proc_echo_start(const char *sock_path, int cpu, pid_t *ret_pid)
{
	struct sockaddr_un sun;
	pid_t pid;
	int fd, error;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sock_path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;
	memcpy(sun.sun_path, sock_path, strlen(sock_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return errno;
	(void)unlink(sock_path);
	proc_file_add(sock_path);
	/* Listening before the fork: clients may connect at once. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fd, BENCH_MAX_CLIENTS) != 0) {
		error = errno;
		(void)close(fd);
		return error;
	}
	error = proc_spawn(cpu, NULL, proc_run_echo, (void *)(intptr_t)fd, &pid);
	(void)close(fd);
	if (error != 0)
		return error;
	*ret_pid = pid;
	return 0;
}

long
proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	(void)snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	}
	(void)fclose(f);
	return kib;
}

int
proc_cpu_ns(pid_t pid, uint64_t *ret_ns)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	long tick;
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return EIO;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past its end. */
	if ((p = strrchr(buf, ')')) == NULL)
		return EIO;
	/* Fields 3 to 13, then utime (14) and stime (15). */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &utime, &stime) != 2)
		return EIO;
	if ((tick = sysconf(_SC_CLK_TCK)) <= 0)
		return EIO;
	*ret_ns = (uint64_t)(utime + stime) * (1000000000u / (uint64_t)tick);
	return 0;
}

int
proc_sleeps(pid_t pid, uint64_t *ret_n)
{
	char path[96], line[256];
	struct dirent *de;
	uint64_t n = 0;
	DIR *d;
	FILE *f;

	(void)snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%ld/task/%.16s/status",
		    (long)pid, de->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;	/* a thread that just exited */
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0) {
				n += strtoull(line + 24, NULL, 10);
				break;
			}
		}
		(void)fclose(f);
	}
	(void)closedir(d);
	*ret_n = n;
	return 0;
}
