/*
 * daemon.c -- the tpoold of a bench_shared scenario: its plugin folder,
 * its start and stop (through bench/daemon's proc.c), the limits it runs
 * with (from its Stats, asked as root) and what /proc says about it.
 *
 * tpoold run as root loads plugins only from a folder that nobody else
 * can change, so the example plugins are copied from the build tree into
 * a root-owned 0755 folder in the bench's temporary folder (itself made
 * 0755, root's, so that the throwaway uids can reach the socket).  Their
 * names are kept in static arrays, so that a signal handler can remove
 * them.
 *
 * VmRSS and Threads come from /proc/PID/status, read whole with one
 * read(2); every wait of the bench reads them (daemon_sample()), about
 * every 10 ms, and keeps the largest of each.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared.h"

#define	DAEMON_NPLUGINS	4

static const char *const daemon_plugin_names[DAEMON_NPLUGINS] = {
	"echo", "sleep", "sha256", "fail",
};

/* Read by the signal handlers (daemon_plugins_remove()). */
static char daemon_plugin_dir[128];
static char daemon_plugin_files[DAEMON_NPLUGINS][160];
static volatile sig_atomic_t daemon_nplugin_files;

static pid_t daemon_pid;
static char daemon_sock_path[128];
static char daemon_log_path[128];
static struct sh_usage daemon_max;

/* Copy the file src to dst, made with mode 0755 (not the umask's). */
static int
daemon_copy(const char *src, const char *dst)
{
	char buf[65536];
	ssize_t n, w;
	int in, out, error = 0;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	if (out < 0) {
		error = errno;
		(void)close(in);
		return error;
	}
	while (error == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			error = errno;
			break;
		}
		for (w = 0; w < n && error == 0; ) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));

			if (k < 0)
				error = errno;
			else
				w += k;
		}
	}
	if (error == 0 && fchmod(out, 0755) != 0)
		error = errno;
	if (close(out) != 0 && error == 0)
		error = errno;
	(void)close(in);
	return error;
}

int
daemon_plugins_copy(const char *dir)
{
	char src[PATH_MAX];
	int i, error;

	(void)snprintf(daemon_plugin_dir, sizeof(daemon_plugin_dir),
	    "%s/plugins", bench_config.bc_tmpdir);
	if (mkdir(daemon_plugin_dir, 0755) != 0 ||
	    chmod(daemon_plugin_dir, 0755) != 0) {
		error = errno;
		daemon_plugin_dir[0] = '\0';
		return error;
	}
	for (i = 0; i < DAEMON_NPLUGINS; i++) {
		(void)snprintf(src, sizeof(src), "%s/%s.so", dir,
		    daemon_plugin_names[i]);
		(void)snprintf(daemon_plugin_files[i],
		    sizeof(daemon_plugin_files[i]), "%s/%s.so",
		    daemon_plugin_dir, daemon_plugin_names[i]);
		daemon_nplugin_files = i + 1;
		if ((error = daemon_copy(src, daemon_plugin_files[i])) != 0) {
			(void)fprintf(stderr, SH_NAME ": cannot copy %s: %s\n",
			    src, strerror(error));
			return error;
		}
	}
	bench_config.bc_plugins = daemon_plugin_dir;
	return 0;
}

void
daemon_plugins_remove(void)
{
	int i;

	for (i = 0; i < daemon_nplugin_files; i++)
		(void)unlink(daemon_plugin_files[i]);
	daemon_nplugin_files = 0;
	if (daemon_plugin_dir[0] != '\0')
		(void)rmdir(daemon_plugin_dir);
}

uint64_t
sh_limit(const Tpool__StatsReply *st, const char *name)
{
	Tpool__Limit *const *l = st->limits, *const *end = l + st->n_limits;

	while (l < end && ((*l)->name == NULL || strcmp((*l)->name, name) != 0))
		l++;
	return l < end ? (*l)->value : 0;
}

/* The daemon's Stats, asked as root on a connection of their own. */
static int
daemon_stats(Tpool__StatsReply **ret_st)
{
	struct tpc *c;
	int error;

	if ((error = tpc_connect(daemon_sock_path, &c)) != 0)
		return error;
	(void)tpc_set_timeout(c, SH_CALL_TIMEOUT_MS);
	error = tpc_stats(c, ret_st);
	tpc_free(c);
	return error;
}

void
daemon_pools(struct sh_pools *pl)
{
	Tpool__StatsReply *st;
	const Tpool__PoolStats *ps;
	size_t i;

	memset(pl, 0, sizeof(*pl));
	if (daemon_stats(&st) != 0)
		return;
	pl->pl_valid = true;
	pl->pl_in_flight = st->jobs_in_flight;
	pl->pl_waiting_turn = st->jobs_waiting_turn;
	for (i = 0; i < st->n_pools; i++) {
		ps = st->pools[i];
		if (ps->threads > 0)
			pl->pl_pools++;
		pl->pl_threads += ps->threads;
		pl->pl_idle += ps->idle;
		pl->pl_queued += ps->queued;
	}
	tpool__stats_reply__free_unpacked(st, NULL);
}

/* Ask the daemon for its limits, as root. */
static int
daemon_read_limits(struct sh_limits *lm)
{
	Tpool__StatsReply *st;
	int error;

	if ((error = daemon_stats(&st)) != 0)
		return error;
	lm->lm_max_running = sh_limit(st, "max-running");
	lm->lm_max_threads = sh_limit(st, "max-threads");
	lm->lm_max_jobs_per_client = sh_limit(st, "max-jobs-per-client");
	lm->lm_max_connections = sh_limit(st, "max-connections");
	lm->lm_max_connections_per_user =
	    sh_limit(st, "max-connections-per-user");
	lm->lm_max_output = sh_limit(st, "max-output");
	lm->lm_memory_budget = st->memory_budget;
	lm->lm_memory_per_user = st->memory_per_user;
	tpool__stats_reply__free_unpacked(st, NULL);
	return 0;
}

int
daemon_start(const char *const *extra, struct sh_limits *lm)
{
	int error;

	(void)snprintf(daemon_sock_path, sizeof(daemon_sock_path),
	    "%s/tpoold.sock", bench_config.bc_tmpdir);
	(void)snprintf(daemon_log_path, sizeof(daemon_log_path),
	    "%s/tpoold.log", bench_config.bc_tmpdir);
	if ((error = proc_daemon_start(daemon_sock_path, daemon_log_path,
	    extra, -1, &daemon_pid)) != 0)
		return error;
	memset(lm, 0, sizeof(*lm));
	if ((error = daemon_read_limits(lm)) != 0)
		(void)fprintf(stderr, SH_NAME ": tpoold's Stats: %s\n",
		    tpc_strerror(error));
	memset(&daemon_max, 0, sizeof(daemon_max));
	daemon_sample(NULL);
	return error;
}

const char *
daemon_sock(void)
{
	return daemon_sock_path;
}

/* The number after key (e.g. "\nThreads:") in buf, or -1. */
static long
daemon_field(const char *buf, const char *key)
{
	const char *p;

	if ((p = strstr(buf, key)) == NULL)
		return -1;
	return strtol(p + strlen(key), NULL, 10);
}

void
daemon_sample(struct sh_usage *now)
{
	struct sh_usage u = { -1, -1 };
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	if (daemon_pid > 0) {
		(void)snprintf(path, sizeof(path), "/proc/%ld/status",
		    (long)daemon_pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			(void)close(fd);
			if (n > 0) {
				buf[n] = '\0';
				u.us_rss_kib = daemon_field(buf, "\nVmRSS:");
				u.us_threads = daemon_field(buf, "\nThreads:");
			}
		}
	}
	if (u.us_rss_kib > daemon_max.us_rss_kib)
		daemon_max.us_rss_kib = u.us_rss_kib;
	if (u.us_threads > daemon_max.us_threads)
		daemon_max.us_threads = u.us_threads;
	if (now != NULL)
		*now = u;
}

void
daemon_peak(struct sh_usage *peak)
{
	daemon_sample(NULL);
	*peak = daemon_max;
}

int
daemon_stop(double *ret_secs, char *why, size_t whylen)
{
	uint64_t ns = 0;
	int status = 0, error;

	if (daemon_pid <= 0) {
		(void)snprintf(why, whylen, "not running");
		return ESRCH;
	}
	error = proc_stop(daemon_pid, SH_STOP_LIMIT_MS, &ns, &status);
	daemon_pid = 0;
	*ret_secs = (double)ns / 1e9;
	if (error == ETIMEDOUT) {
		(void)snprintf(why, whylen, "did not exit within %d ms of "
		    "SIGTERM (killed)", SH_STOP_LIMIT_MS);
		return error;
	}
	if (error != 0) {
		(void)snprintf(why, whylen, "cannot be stopped: %s",
		    strerror(error));
		return error;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		(void)snprintf(why, whylen, "exited with status %d on SIGTERM",
		    WEXITSTATUS(status));
	else
		(void)snprintf(why, whylen, "died of signal %d on SIGTERM",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return EIO;
}

void
daemon_show_log(void)
{
	proc_show_log(daemon_log_path);
}
