/*
 * store.c -- bench_tpoold's part 6 (--store): tpoold's job store
 * (--state-dir) beside beanstalkd's binlog (-b), at the same sync level,
 * in the same run.
 *
 * For each level:
 *   normal	tpoold --sync normal (each transaction written to the WAL
 *		file, no fsync) beside beanstalkd -F (each job written to
 *		the binlog, never fsync'ed);
 *   full	tpoold --sync full (the WAL fsync'ed at each commit, before
 *		the answers) beside beanstalkd -f0 (fsync at every write);
 * a tpoold of its own with a fresh state directory: the pipelined submits
 * of part 2 (the lean client, --pipeline jobs, --window outstanding),
 * then 1-client submit-and-wait round trips (-n, a tenth of it at full);
 * then it is stopped and the store's bytes per job are its file's size
 * over the jobs in it (every job is kept: --finished-keep covers them).
 * Then a beanstalkd of its own with a fresh binlog folder, on a Unix
 * socket: one client puts --pipeline empty jobs (the null job's input is
 * empty too), --window outstanding, and the puts per second are timed
 * from the first put to the last INSERTED.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define	BS_PROGRAM	"beanstalkd"
#define	BS_READY_MS	5000

/* Remove the files of a folder this part made, then the folder. */
static void
store_rmdir(const char *dir)
{
	static const char *const names[] = { "jobs.db", "jobs.db-wal",
	    "jobs.db-shm", "job-id-mark", "job-id-mark.tmp", "lock",
	    "binlog.1", "binlog.2", "binlog.3", "binlog.4", "binlog.5",
	    "binlog.6", "binlog.7", "binlog.8", NULL };
	char path[256];
	size_t i;

	for (i = 0; names[i] != NULL; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

/* The size of a file, 0 when there is none. */
static uint64_t
store_file_size(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* tpoold with a store at level: the pipeline, the round trips, the bytes. */
static void
store_tpoold(const char *level, struct store_level *sl)
{
	char dir[128], sock[160], log[160], keep[32];
	const char *extra[] = { "--state-dir", dir, "--sync", level,
	    "--finished-keep", keep, "--finished-ttl", "1h", NULL };
	uint64_t nops = bench_config.bc_nops, jobs;
	pid_t pid;
	int error;

	(void)snprintf(dir, sizeof(dir), "%s/state-%s", bench_config.bc_tmpdir,
	    level);
	(void)snprintf(sock, sizeof(sock), "%s/tpoold-store-%s.sock",
	    bench_config.bc_tmpdir, level);
	(void)snprintf(log, sizeof(log), "%s/tpoold-store-%s.log",
	    bench_config.bc_tmpdir, level);
	(void)snprintf(keep, sizeof(keep), "%u", 16u << 20);
	if (strcmp(level, "full") == 0)
		nops = nops / 10 > 0 ? nops / 10 : 1;
	if (mkdir(dir, 0700) != 0) {
		(void)snprintf(sl->sl_error, sizeof(sl->sl_error), "mkdir %s: %s",
		    dir, strerror(errno));
		return;
	}
	if ((error = proc_daemon_start(sock, log, extra, -1, &pid)) != 0) {
		(void)snprintf(sl->sl_error, sizeof(sl->sl_error),
		    "cannot start tpoold --state-dir --sync %s: %s", level,
		    strerror(error));
		store_rmdir(dir);
		return;
	}
	bench_note("store %s: %llu pipelined submits", level,
	    (unsigned long long)bench_config.bc_pipeline);
	pipe_run(sock, pid, bench_config.bc_pipeline, bench_config.bc_window,
	    true, &sl->sl_pipe);
	bench_note("store %s: 1 client, %llu null jobs", level,
	    (unsigned long long)nops);
	rt_run(RT_TPOOLD, sock, pid, 1, nops, -1, rt_submit_frame_len(),
	    &sl->sl_rt1);
	error = proc_stop(pid, 30000, NULL, &sl->sl_exit);
	if (error != 0 || !WIFEXITED(sl->sl_exit) ||
	    WEXITSTATUS(sl->sl_exit) != 0) {
		proc_show_log(log);
		(void)snprintf(sl->sl_error, sizeof(sl->sl_error),
		    "tpoold --state-dir did not exit 0");
	}
	/* Closed: the WAL is checkpointed into the file. */
	sl->sl_store_bytes = store_file_size(dir, "jobs.db") +
	    store_file_size(dir, "jobs.db-wal");
	jobs = (sl->sl_pipe.p_valid ? sl->sl_pipe.p_jobs : 0) +
	    (sl->sl_rt1.r_valid ? sl->sl_rt1.r_ops : 0);
	sl->sl_jobs = jobs;
	sl->sl_bytes_per_job = jobs > 0 ? (double)sl->sl_store_bytes /
	    (double)jobs : 0;
	(void)unlink(sock);
	(void)unlink(log);
	store_rmdir(dir);
}

/* Connect to a Unix socket, non-blocking; -1 on failure. */
static int
store_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		(void)close(fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/*
 * n puts of an empty job, at most window outstanding, on fd (stopped at
 * --row-limit): 0, the puts answered INSERTED and the seconds from the
 * first put to the last INSERTED; or -1 and err.
 */
static int
bs_pipeline(int fd, uint64_t n, uint64_t window, uint64_t *ret_got,
    double *ret_secs, char *err, size_t errlen)
{
	static const char put[] = "put 0 0 60 0\r\n\r\n";
	const size_t plen = sizeof(put) - 1;
	char out[64 * 1024], in[64 * 1024], *p, *e;
	size_t olen = 0, ooff = 0, ilen = 0;
	uint64_t sent = 0, got = 0, t0, end;
	struct pollfd pfd = { fd, 0, 0 };
	ssize_t r;

	t0 = tu_now_ns();
	end = t0 + (uint64_t)bench_config.bc_row_limit_s * 1000000000u;
	while (got < n) {
		/* Fill the output with puts the window allows. */
		if (ooff == olen) {
			ooff = olen = 0;
			while (sent < n && sent - got < window &&
			    olen + plen <= sizeof(out)) {
				memcpy(out + olen, put, plen);
				olen += plen;
				sent++;
			}
		}
		if (tu_now_ns() > end && got > 0)
			break;		/* --row-limit: the rate so far */
		pfd.events = POLLIN | (ooff < olen ? POLLOUT : 0);
		if (poll(&pfd, 1, BENCH_CALL_TIMEOUT_MS) <= 0) {
			(void)snprintf(err, errlen, "beanstalkd: no answer "
			    "(%llu of %llu inserted)", (unsigned long long)got,
			    (unsigned long long)n);
			return -1;
		}
		if ((pfd.revents & POLLOUT) &&
		    (r = write(fd, out + ooff, olen - ooff)) > 0)
			ooff += (size_t)r;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((r = read(fd, in + ilen, sizeof(in) - ilen)) <= 0) {
			if (r < 0 && errno == EAGAIN)
				continue;
			(void)snprintf(err, errlen, "beanstalkd closed the "
			    "connection");
			return -1;
		}
		ilen += (size_t)r;
		for (p = in; (e = memchr(p, '\n', (size_t)(in + ilen - p))) !=
		    NULL; p = e + 1) {
			if (strncmp(p, "INSERTED ", 9) != 0) {
				(void)snprintf(err, errlen, "beanstalkd "
				    "answered: %.*s", (int)(e - p), p);
				return -1;
			}
			got++;
		}
		ilen = (size_t)(in + ilen - p);
		memmove(in, p, ilen);
	}
	*ret_secs = (double)(tu_now_ns() - t0) / 1e9;
	*ret_got = got;
	return 0;
}

/* beanstalkd -b at level: the pipelined puts. */
static void
store_beanstalkd(const char *level, struct store_level *sl)
{
	char dir[128], sock[160], listen[170], log[160];
	char *argv[] = { (char *)BS_PROGRAM, (char *)"-b", dir, (char *)"-l",
	    listen, (char *)(strcmp(level, "full") == 0 ? "-f0" : "-F"),
	    NULL };
	uint64_t end;
	pid_t pid;
	int fd = -1, status;

	(void)snprintf(dir, sizeof(dir), "%s/binlog-%s", bench_config.bc_tmpdir,
	    level);
	(void)snprintf(sock, sizeof(sock), "%s/beanstalkd-%s.sock",
	    bench_config.bc_tmpdir, level);
	(void)snprintf(listen, sizeof(listen), "unix:%s", sock);
	(void)snprintf(log, sizeof(log), "%s/beanstalkd-%s.log",
	    bench_config.bc_tmpdir, level);
	if (mkdir(dir, 0700) != 0) {
		(void)snprintf(sl->sl_bs_error, sizeof(sl->sl_bs_error),
		    "mkdir %s: %s", dir, strerror(errno));
		return;
	}
	if (proc_exec_start(argv, log, &pid) != 0) {
		(void)snprintf(sl->sl_bs_error, sizeof(sl->sl_bs_error),
		    "cannot start " BS_PROGRAM);
		store_rmdir(dir);
		return;
	}
	end = tu_now_ns() + (uint64_t)BS_READY_MS * 1000000u;
	while ((fd = store_connect(sock)) < 0 && tu_now_ns() < end &&
	    waitpid(pid, &status, WNOHANG) == 0)
		usleep(10000);
	if (fd < 0) {
		proc_show_log(log);
		(void)snprintf(sl->sl_bs_error, sizeof(sl->sl_bs_error),
		    BS_PROGRAM " did not listen on %s (is it installed? "
		    "apt-get install beanstalkd)", sock);
	} else {
		bench_note("beanstalkd -b %s: %llu pipelined puts", argv[5],
		    (unsigned long long)bench_config.bc_pipeline);
		if (bs_pipeline(fd, bench_config.bc_pipeline,
		    bench_config.bc_window, &sl->sl_bs_puts, &sl->sl_bs_secs,
		    sl->sl_bs_error, sizeof(sl->sl_bs_error)) == 0) {
			sl->sl_bs_puts_per_s = (double)sl->sl_bs_puts /
			    sl->sl_bs_secs;
			sl->sl_bs_valid = true;
		}
		(void)close(fd);
	}
	(void)proc_stop(pid, 5000, NULL, NULL);
	(void)unlink(sock);
	(void)unlink(log);
	store_rmdir(dir);
}

void
store_run(struct store_result *res)
{
	static const char *const levels[STORE_LEVELS] = { "normal", "full" };
	struct store_level *sl;
	unsigned int i;

	memset(res, 0, sizeof(*res));
	res->s_valid = true;
	for (i = 0; i < STORE_LEVELS; i++) {
		sl = &res->s_levels[i];
		sl->sl_level = levels[i];
		store_tpoold(levels[i], sl);
		store_beanstalkd(levels[i], sl);
		if (!sl->sl_pipe.p_valid || !sl->sl_rt1.r_valid ||
		    !sl->sl_bs_valid || sl->sl_error[0] != '\0')
			res->s_valid = false;
	}
}
