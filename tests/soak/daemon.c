/*
 * daemon.c -- the tpoold the soak runs: its folder, its start and end on
 * every path, its SIGHUP, its log, and what /proc says about it.
 *
 * Everything lives in one mkdtemp'ed folder:
 *
 *	/tmp/tpsoak-XXXXXX/	0755
 *	    tpoold.sock		the daemon's socket
 *	    plugins/		0755: soakrec.so (and soakrec2.so after the
 *				SIGHUP), copied, 0755, never linked: the daemon
 *				may refuse links and files others can write
 *	    runs.ledger		the plugin's run ledger ($SOAK_LEDGER)
 *	    tpoold.log		the daemon's stderr
 *	    notify		the NOTIFY_SOCKET it says READY=1 on
 *	    state/		0700: its --state-dir in the crash mode (crash.c),
 *				where it is killed and started again
 *
 * The daemon is forked with PR_SET_PDEATHSIG (SIGKILL), so it dies with
 * the soak however the soak dies; soak_daemon_kill() is async-signal-safe
 * for the soak's alarm and signal handlers.  The folder is removed at the
 * end unless the soak failed or was told to keep it.
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
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soak.h"

#ifndef SOAK_BUILDDIR
#error "SOAK_BUILDDIR must name the build tree"
#endif

#define	DAEMON_LOG_SHOW		30	/* log lines shown on trouble */
#define	SOAK_ASAN_QUARANTINE_MB	4u	/* tpoold's ASan quarantine */

static char daemon_dir[64];
static char daemon_plugins[96];
static char daemon_log_path[96];
static char daemon_ledger[96];
static char daemon_notify[96];
static char daemon_state[96];		/* the crash mode's --state-dir */
static int daemon_notify_fd = -1;
/* Read by signal handlers: the live daemon's pid, or 0. */
static volatile sig_atomic_t daemon_live;
static pid_t daemon_pid;

pid_t
soak_daemon_pid(void)
{
	return daemon_pid;
}

const char *
soak_daemon_dir(void)
{
	return daemon_dir;
}

const char *
soak_daemon_log(void)
{
	return daemon_log_path;
}

const char *
soak_daemon_run_ledger(void)
{
	return daemon_ledger;
}

void
soak_daemon_kill(void)
{
	pid_t pid = (pid_t)daemon_live;

	if (pid > 0)
		(void)kill(pid, SIGKILL);
}

/* Copy the plugin file name from the plugin source folder into dir, 0755, atomically. */
static int
daemon_copy_plugin(const char *name)
{
	char src[PATH_MAX], tmp[PATH_MAX], dst[PATH_MAX], buf[65536];
	ssize_t n;
	int in, out, error = 0;

	(void)snprintf(src, sizeof(src), "%s/%s", soak_cfg.sc_plugins, name);
	(void)snprintf(tmp, sizeof(tmp), "%s/.%s.new", daemon_plugins, name);
	(void)snprintf(dst, sizeof(dst), "%s/%s", daemon_plugins, name);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
		error = errno;
		(void)fprintf(stderr, "soak: %s: %s\n", src, strerror(error));
		return error;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		error = errno;
		(void)close(in);
		(void)fprintf(stderr, "soak: %s: %s\n", tmp, strerror(error));
		return error;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			error = errno != 0 ? errno : EIO;
			break;
		}
	}
	if (n < 0)
		error = errno;
	if (fchmod(out, 0755) != 0 && error == 0)
		error = errno;
	if (close(out) != 0 && error == 0)
		error = errno;
	(void)close(in);
	/* A new inode renamed over the old file, as install(1) does. */
	if (error == 0 && rename(tmp, dst) != 0)
		error = errno;
	if (error != 0) {
		(void)unlink(tmp);
		(void)fprintf(stderr, "soak: copying %s to %s: %s\n", src, dst, strerror(error));
	}
	return error;
}

/* Wait for a datagram containing needle on the notify socket. */
static bool
daemon_wait_notify(const char *needle, unsigned int timeout_ms)
{
	struct pollfd pfd = { daemon_notify_fd, POLLIN, 0 };
	uint64_t end = tu_now_ns() + (uint64_t)timeout_ms * 1000000u;
	char buf[4096];
	ssize_t n;
	int status;

	for (;;) {
		n = recv(daemon_notify_fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			if (strstr(buf, needle) != NULL)
				return true;
			continue;
		}
		if (tu_now_ns() >= end)
			return false;
		if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
			daemon_live = 0;
			daemon_pid = 0;
			(void)fprintf(stderr, "soak: tpoold died before READY=1 (status %#x)\n",
			    (unsigned int)status);
			return false;
		}
		(void)poll(&pfd, 1, 50);
	}
}

static void
daemon_show_log(void)
{
	FILE *f = fopen(daemon_log_path, "re");
	char line[1024];
	unsigned long n = 0, total = 0;

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		total++;
	rewind(f);
	(void)fprintf(stderr, "---- tpoold log (%s, last %d lines) ----\n", daemon_log_path,
	    DAEMON_LOG_SHOW);
	while (fgets(line, sizeof(line), f) != NULL)
		if (++n + DAEMON_LOG_SHOW > total)
			(void)fputs(line, stderr);
	(void)fprintf(stderr, "---- end of log ----\n");
	(void)fclose(f);
}

/*
 * In the child, before exec: under ASan, a small quarantine, so that freed
 * memory held back to catch its use after free does not swamp the
 * daemon's own VmRSS (256 MiB by default), and freed pages given back to
 * the kernel every second (by default never), so that VmRSS follows what
 * the daemon holds rather than its peak: over the soak's load the daemon's
 * VmRSS less shadow grew by 6,140-12,736 kB without it, 2,656-8,132 kB
 * with it (four runs each).  An option already in ASAN_OPTIONS is left as
 * it is.
 */
/* Append ":name=value" to the n bytes of opts unless name is there. */
static size_t
daemon_asan_opt(char *opts, size_t cap, size_t n, const char *name,
    unsigned int value)
{
	int r;

	if (n >= cap || strstr(opts, name) != NULL)
		return n;
	r = snprintf(opts + n, cap - n, "%s%s=%u", n != 0 ? ":" : "", name,
	    value);
	return r < 0 ? n : n + (size_t)r;
}

static void
daemon_sanitizer_env(void)
{
	static char opts[1024];
	const char *old = getenv("ASAN_OPTIONS");
	size_t n;

	if (strcmp(soak_cfg.sc_sanitizer, "ASan") != 0)
		return;
	n = (size_t)snprintf(opts, sizeof(opts), "%s", old != NULL ? old : "");
	n = daemon_asan_opt(opts, sizeof(opts), n, "quarantine_size_mb",
	    SOAK_ASAN_QUARANTINE_MB);
	(void)daemon_asan_opt(opts, sizeof(opts), n,
	    "allocator_release_to_os_interval_ms", 1000);
	(void)setenv("ASAN_OPTIONS", opts, 1);
}

/* Start tpoold in the folder made by soak_daemon_start, wait for READY=1. */
static int
daemon_spawn(void)
{
	char arg_idle[32], arg_ttl[32], arg_grace[32], arg_threads[32], ldpath[PATH_MAX * 2];
	const char *argv[32], *old;
	size_t n = 0;
	pid_t parent = getpid();
	int fd;
	(void)snprintf(arg_idle, sizeof(arg_idle), "%ums", soak_cfg.sc_idle_ms);
	(void)snprintf(arg_ttl, sizeof(arg_ttl), "%ums", soak_cfg.sc_ttl_ms);
	(void)snprintf(arg_grace, sizeof(arg_grace), "%ums", soak_cfg.sc_grace_ms);
	(void)snprintf(arg_threads, sizeof(arg_threads), "%u", soak_cfg.sc_max_threads);
	argv[n++] = soak_cfg.sc_daemon;
	argv[n++] = "-s";
	argv[n++] = soak_cfg.sc_sock;
	argv[n++] = "-p";
	argv[n++] = daemon_plugins;
	argv[n++] = "--idle-timeout";
	argv[n++] = arg_idle;
	argv[n++] = "--finished-ttl";
	argv[n++] = arg_ttl;
	/* Far above what is ever in flight: only the TTL forgets jobs. */
	argv[n++] = "--finished-keep";
	argv[n++] = "1000000";
	argv[n++] = "--shutdown-grace";
	argv[n++] = arg_grace;
	argv[n++] = "--max-threads";
	argv[n++] = arg_threads;
	/* soakcrash in worker processes; its crashes never quarantine it. */
	argv[n++] = "--plugin-isolation";
	argv[n++] = SOAK_PLUGIN_CRASH ":process";
	argv[n++] = "--worker-program";
	argv[n++] = SOAK_BUILDDIR "/daemon/tpoold-worker";
	argv[n++] = "--quarantine-crashes";
	argv[n++] = "0";
	if (soak_cfg.sc_crash_kills != 0) {
		/* The crash mode: a job store, quick retries. */
		argv[n++] = "--state-dir";
		argv[n++] = daemon_state;
		argv[n++] = "--retry-backoff";
		argv[n++] = "20ms";
	}
	argv[n] = NULL;

	daemon_pid = fork();
	if (daemon_pid < 0) {
		(void)fprintf(stderr, "soak: fork: %s\n", strerror(errno));
		return errno;
	}
	if (daemon_pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		fd = open(daemon_log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
		}
		/* The build tree's daemon finds the build tree's libtp. */
		old = getenv("LD_LIBRARY_PATH");
		(void)snprintf(ldpath, sizeof(ldpath), "%s/libtp/.libs%s%s", SOAK_BUILDDIR,
		    old != NULL ? ":" : "", old != NULL ? old : "");
		if (strncmp(soak_cfg.sc_daemon, SOAK_BUILDDIR "/", strlen(SOAK_BUILDDIR) + 1) == 0)
			(void)setenv("LD_LIBRARY_PATH", ldpath, 1);
		daemon_sanitizer_env();
		(void)setenv("SOAK_LEDGER", daemon_ledger, 1);
		(void)setenv("NOTIFY_SOCKET", daemon_notify, 1);
		(void)unsetenv("LISTEN_FDS");
		(void)unsetenv("LISTEN_PID");
		(void)unsetenv("LISTEN_FDNAMES");
		(void)signal(SIGPIPE, SIG_DFL);
		execv(argv[0], (char *const *)argv);
		(void)fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	daemon_live = daemon_pid;
	if (!daemon_wait_notify("READY=1", 30000 * soak_cfg.sc_slow)) {
		(void)fprintf(stderr, "soak: tpoold did not say READY=1\n");
		daemon_show_log();
		return ETIMEDOUT;
	}
	return 0;
}

int
soak_daemon_start(void)
{
	struct sockaddr_un sun;
	int fd;

	(void)snprintf(daemon_dir, sizeof(daemon_dir), "/tmp/tpsoak-XXXXXX");
	if (mkdtemp(daemon_dir) == NULL || chmod(daemon_dir, 0755) != 0) {
		(void)fprintf(stderr, "soak: mkdtemp: %s\n", strerror(errno));
		daemon_dir[0] = '\0';
		return errno;
	}
	(void)snprintf(daemon_plugins, sizeof(daemon_plugins), "%s/plugins", daemon_dir);
	(void)snprintf(daemon_log_path, sizeof(daemon_log_path), "%s/tpoold.log", daemon_dir);
	(void)snprintf(daemon_ledger, sizeof(daemon_ledger), "%s/runs.ledger", daemon_dir);
	(void)snprintf(daemon_notify, sizeof(daemon_notify), "%s/notify", daemon_dir);
	(void)snprintf(daemon_state, sizeof(daemon_state), "%s/state", daemon_dir);
	(void)snprintf(soak_cfg.sc_sock, sizeof(soak_cfg.sc_sock), "%s/tpoold.sock", daemon_dir);
	if (mkdir(daemon_plugins, 0755) != 0 || chmod(daemon_plugins, 0755) != 0) {
		(void)fprintf(stderr, "soak: %s: %s\n", daemon_plugins, strerror(errno));
		return errno;
	}
	if (soak_cfg.sc_crash_kills != 0 && mkdir(daemon_state, 0700) != 0) {
		(void)fprintf(stderr, "soak: %s: %s\n", daemon_state, strerror(errno));
		return errno;
	}
	if ((fd = open(daemon_ledger, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		(void)fprintf(stderr, "soak: %s: %s\n", daemon_ledger, strerror(errno));
		return errno;
	}
	/* soakcrash's workers may run as another user (tpoold as root). */
	(void)fchmod(fd, 0666);
	(void)close(fd);
	if (daemon_copy_plugin(SOAK_PLUGIN ".so") != 0 ||
	    daemon_copy_plugin(SOAK_PLUGIN_CRASH ".so") != 0)
		return ENOENT;

	daemon_notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", daemon_notify);
	if (daemon_notify_fd < 0 ||
	    bind(daemon_notify_fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		(void)fprintf(stderr, "soak: notify socket: %s\n", strerror(errno));
		return errno;
	}

	return daemon_spawn();
}

int
soak_daemon_restart(void)
{
	if (daemon_pid > 0)
		return EBUSY;
	return daemon_spawn();
}

int
soak_daemon_hup(void)
{
	int error;

	if ((error = daemon_copy_plugin(SOAK_PLUGIN2 ".so")) != 0)
		return error;
	if (soak_cfg.sc_replace && (error = daemon_copy_plugin(SOAK_PLUGIN ".so")) != 0)
		return error;
	if (daemon_pid <= 0 || kill(daemon_pid, SIGHUP) != 0)
		return ESRCH;
	return 0;
}

int
soak_daemon_wait(unsigned int timeout_ms)
{
	uint64_t end = tu_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int status;
	pid_t r;

	if (daemon_pid <= 0)
		return -1;
	for (;;) {
		r = waitpid(daemon_pid, &status, WNOHANG);
		if (r == daemon_pid) {
			daemon_live = 0;
			daemon_pid = 0;
			return status;
		}
		if ((r < 0 && errno != EINTR) || tu_now_ns() >= end)
			return -1;
		soak_sleep_ms(10);
	}
}

bool
soak_daemon_died(int *ret_status)
{
	int status;

	if (daemon_pid <= 0)
		return false;
	if (waitpid(daemon_pid, &status, WNOHANG) != daemon_pid)
		return false;
	daemon_live = 0;
	daemon_pid = 0;
	*ret_status = status;
	return true;
}

int
soak_daemon_term(unsigned int timeout_ms)
{
	if (daemon_pid <= 0 || kill(daemon_pid, SIGTERM) != 0)
		return -1;
	return soak_daemon_wait(timeout_ms);
}

/*
 * The resident kB of a sanitizer's shadow: its mappings of over 1 TiB of
 * address space (TSan's shadow and meta shadow, ASan's shadow).  They
 * mirror every address the daemon ever touched, so they follow the load's
 * peak and never shrink; the daemon's own memory is the rest.  -1 when
 * /proc/PID/smaps cannot be read.
 */
static long
daemon_shadow_kb(void)
{
	char path[64], line[256];
	unsigned long long lo = 0, hi = 0;
	long kb, total = 0;
	FILE *f;

	(void)snprintf(path, sizeof(path), "/proc/%d/smaps", (int)daemon_pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2)
			continue;
		if (sscanf(line, "Rss: %ld kB", &kb) == 1 && hi - lo > (1ull << 40))
			total += kb;
	}
	(void)fclose(f);
	return total;
}

int
soak_daemon_usage(struct soak_usage *ret_u)
{
	char path[64], line[256], link[PATH_MAX];
	struct dirent *de;
	struct soak_usage u = { -1, 0, 0, 0, -1, -1 };
	ssize_t n;
	FILE *f;
	DIR *d;

	if (daemon_pid <= 0)
		return ESRCH;
	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
	if ((f = fopen(path, "re")) == NULL)
		return errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			u.su_rss_kb = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "Threads:", 8) == 0)
			u.su_threads = strtol(line + 8, NULL, 10);
	}
	(void)fclose(f);
	(void)snprintf(path, sizeof(path), "/proc/%d/fd", (int)daemon_pid);
	if ((d = opendir(path)) == NULL)
		return errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		u.su_fds++;
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n > 3 && memcmp(link + n - 3, ".so", 3) == 0)
			u.su_plugin_fds++;
	}
	(void)closedir(d);
	if (u.su_rss_kb < 0 || u.su_threads < 0)
		return EPROTO;
	if (strcmp(soak_cfg.sc_sanitizer, "none") != 0 &&
	    (u.su_shadow_kb = daemon_shadow_kb()) < 0)
		return EPROTO;
	*ret_u = u;
	return 0;
}

/* Parse the last "Total (incl. mmap):" section's "in use bytes" after offset. */
static long long
daemon_log_heap(long offset)
{
	FILE *f = fopen(daemon_log_path, "re");
	char line[256];
	long long v = -1, in_use;
	bool total = false;

	if (f == NULL)
		return -1;
	if (fseek(f, offset, SEEK_SET) == 0) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "Total (incl. mmap):", 19) == 0)
				total = true;
			else if (total && sscanf(line, "in use bytes = %lld", &in_use) == 1) {
				v = in_use;
				total = false;
			}
		}
	}
	(void)fclose(f);
	return v;
}

long long
soak_daemon_heap_in_use(void)
{
	char pidarg[32];
	struct stat st;
	long offset;
	pid_t pid;
	int status, fd;

	if (daemon_pid <= 0 || stat(daemon_log_path, &st) != 0)
		return -1;
	offset = (long)st.st_size;
	(void)snprintf(pidarg, sizeof(pidarg), "%d", (int)daemon_pid);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
			(void)dup2(fd, STDIN_FILENO);
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
		}
		/* glibc's malloc_stats() writes to tpoold's stderr: its log. */
		execlp("gdb", "gdb", "-nx", "-batch", "-p", pidarg, "-ex",
		    "call (void)malloc_stats()", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return daemon_log_heap(offset);
}

void
soak_daemon_check_log(void)
{
	static const char *const bad[] = {
		"AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
		"runtime error:", "<0>", "<1>", "<2>", "<3>",
	};
	FILE *f = fopen(daemon_log_path, "re");
	char line[1024];
	unsigned int shown = 0;
	size_t i;

	if (f == NULL) {
		soak_violation("daemon-log", "cannot read %s: %s", daemon_log_path,
		    strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(line, bad[i]) != NULL)
				break;
		/* Off the journal, an error line starts "error: ". */
		if (i == sizeof(bad) / sizeof(bad[0]) &&
		    strncmp(line, "error: ", 7) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (shown++ < 10)
			soak_violation("daemon-log", "%s", line);
	}
	(void)fclose(f);
	if (shown > 10)
		soak_violation("daemon-log", "... %u such lines in %s", shown, daemon_log_path);
}

static int
daemon_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

void
soak_daemon_cleanup(bool failed)
{
	if (daemon_pid > 0) {
		(void)kill(daemon_pid, SIGKILL);
		(void)soak_daemon_wait(5000);
		daemon_live = 0;
		daemon_pid = 0;
	}
	if (daemon_notify_fd >= 0) {
		(void)close(daemon_notify_fd);
		daemon_notify_fd = -1;
	}
	if (daemon_dir[0] == '\0')
		return;
	if (failed || soak_cfg.sc_keep) {
		if (failed)
			daemon_show_log();
		(void)fprintf(stderr, "soak: kept %s (tpoold.log, runs.ledger)\n", daemon_dir);
		return;
	}
	(void)nftw(daemon_dir, daemon_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	daemon_dir[0] = '\0';
}
