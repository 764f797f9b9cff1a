/*
 * worker.c -- tpoold-worker, the process a plugin of isolation "process"
 * runs in (isolate.c starts and supervises it; the messages are in
 * isolate-wire.h).
 *
 * Started by tpoold with the channel on descriptor 3 and the plugin's
 * file (opened and checked by the daemon) on descriptor 4, it
 *   1. closes every descriptor but those;
 *   2. becomes the unprivileged user it is given (-u UID -g GID), with no
 *      supplementary groups, and sets its resource limits (-m address
 *      space, -f open files, -n processes of that user) and no new
 *      privileges (so nothing it runs gains any); then dies with the
 *      daemon (PR_SET_PDEATHSIG, set after the credentials change, which
 *      would clear it: the death of the thread that started it,
 *      isolate.c's spawner, which lives while any plugin has workers);
 *   3. loads the plugin from descriptor 4 and calls its tpp_init (with
 *      -d instead of a plugin's name: sends the plugin's declaration,
 *      ISO_DECL, and exits without calling any of its functions);
 *   4. from then on allows only the system calls a computing plugin needs
 *      (a seccomp filter, worker_sandbox()): any other ends the worker,
 *      with an ISO_FAIL naming the call and exit status
 *      ISO_EXIT_SYSCALL;
 *   5. runs the jobs it is sent, one at a time, with a context whose
 *      functions send what the plugin reports (ISO_PROGRESS, ISO_RESULT,
 *      ISO_FAIL) and whose cancel request is SIGUSR1 from the daemon;
 *   6. at end of file, calls tpp_fini and exits 0.
 * A plugin that crashes takes only this process with it: the daemon fails
 * that one job, saying how the worker ended, and starts another.
 *
 * The program is one thread (plus what the plugin makes); nothing here is
 * shared but the cancel flag, which the signal handler sets.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>
#include <tpool/plugin.h>

#include "cpu-charge.h"
#include "isolate-wire.h"

static volatile sig_atomic_t worker_cancel;	/* the signal handler's */
static struct iso_reader worker_in = { .ir_fd = ISO_FD_CHANNEL };
static void *worker_result;			/* this job's, until ISO_DONE */
static size_t worker_result_len;
static bool worker_has_result;
static char worker_name[16];			/* comm now */
static uint64_t worker_max_result;		/* this job's */
static uint64_t worker_refused_len;		/* this job's */
static const char *worker_syscalls[512];	/* names, for SIGSYS */
static int worker_statm = -1;			/* /proc/self/statm */
/* A job's CPU time, as the pool's threads charge it (cpu-charge.h). */
static struct cpu_charge worker_cpu;
/*
 * Its resident memory (for --worker-memory-growth) is read after the first
 * job, after every job that ran WORKER_RSS_RUN_NS or more, and after every
 * WORKER_RSS_EVERY-th job counted from the first (the reads after long
 * jobs do not restart the count): a read of /proc/self/statm costs
 * ~1.7 us on a VM whose system calls trap, a tenth of a null job's own
 * cost.  A quick leak is seen within WORKER_RSS_EVERY jobs, whatever jobs
 * ran between, a slow one at once.
 */
#define	WORKER_RSS_EVERY	16
#define	WORKER_RSS_RUN_NS	1000000u
static unsigned int worker_rss_wait;		/* jobs before the next read */

static void
worker_die(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2),
    __noreturn__));

/* Say why on stderr (the daemon's log), and exit 70. */
static void
worker_die(const char *fmt, ...)
{
	va_list ap;

	(void)fputs("tpoold-worker: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	_exit(70);
}

/* Send a message of a then b, in one system call; exit if the daemon is
 * gone. */
static void
worker_send(enum iso_type type, const void *a, size_t alen, const void *b,
    size_t blen)
{
	struct iso_hdr h = { .ih_type = type, .ih_len = alen + blen };
	struct iovec iov[3] = { { &h, sizeof(h) }, { (void *)a, alen },
	    { (void *)b, blen } };

	if (iso_writev_all(ISO_FD_CHANNEL, iov, 3) != 0)
		_exit(0);
}

/* Read exactly len bytes: true, or false at end of file. */
static bool
worker_read(void *buf, size_t len)
{
	return iso_reader_read(&worker_in, buf, len) == 0;
}

static void
worker_on_usr1(int sig)
{
	(void)sig;
	worker_cancel = 1;
}

/* ------------------------------------------------- the plugin's context */

/* Kept until the run returns: it goes with ISO_DONE, in one write. */
static int
worker_set_result(struct tp_plugin_ctx *ctx, const void *buf, size_t len)
{
	void *copy = NULL;

	(void)ctx;
	if (len > worker_max_result) {
		worker_refused_len = len;
		return EFBIG;
	}
	if (len > 0 && (copy = malloc(len)) == NULL)
		return ENOMEM;
	if (len > 0)
		memcpy(copy, buf, len);
	free(worker_result);
	worker_result = copy;
	worker_result_len = len;
	worker_has_result = true;
	worker_refused_len = 0;
	return 0;
}

static void
worker_failv(struct tp_plugin_ctx *ctx, const char *fmt, va_list ap)
{
	char buf[ISO_MSG_MAX];
	int n;

	(void)ctx;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	worker_send(ISO_FAIL, buf, (size_t)n, NULL, 0);
}

static void
worker_progress(struct tp_plugin_ctx *ctx, unsigned int percent,
    const char *message)
{
	uint32_t p = percent > 100 ? 100 : percent;
	size_t len = message != NULL ? strnlen(message,
	    TP_PLUGIN_PROGRESS_MSG_MAX - 1) : 0;

	(void)ctx;
	worker_send(ISO_PROGRESS, &p, sizeof(p), message, len);
}

static bool worker_permanent;			/* this job's */

static void
worker_fail_permanent(struct tp_plugin_ctx *ctx)
{
	(void)ctx;
	worker_permanent = true;
}

static bool
worker_cancel_requested(struct tp_plugin_ctx *ctx)
{
	(void)ctx;
	return worker_cancel != 0;
}

static uint64_t
worker_clock_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * This process's resident memory now, in KiB (0: unknown), from
 * /proc/self/statm, opened before the plugin loaded.  Not getrusage()'s
 * ru_maxrss: that is the peak of every image this process has had, and
 * the worker was started by posix_spawn, whose child shares the daemon's
 * memory until it execs, so its peak starts at the daemon's.
 */
static uint64_t
worker_rss_kib(void)
{
	char buf[128];
	unsigned long long size, resident;
	ssize_t n;
	long page;

	if (worker_statm < 0 ||
	    (n = pread(worker_statm, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2 ||
	    (page = sysconf(_SC_PAGESIZE)) <= 0)
		return 0;
	return resident * (unsigned long long)page / 1024u;
}

/* Run one job (its ISO_JOB header read: len bytes follow). */
static void
worker_job(const struct tp_plugin *desc, void *data, uint64_t len)
{
	struct tp_plugin_ctx ctx;
	struct iso_done done;
	struct iso_job job;
	uint64_t run0, run1;
	char *buf;
	bool due;

	if (len < sizeof(job) || !worker_read(&job, sizeof(job)))
		worker_die("a job message cut short");
	len -= sizeof(job);
	if (job.ij_name_len > len || len > SIZE_MAX - 1)
		worker_die("a job message of a bad length");
	if ((buf = malloc((size_t)len + 1)) == NULL)
		worker_die("no memory for a job of %llu bytes",
		    (unsigned long long)len);
	if (!worker_read(buf, (size_t)len))
		_exit(0);
	/* The name, NUL-terminated, then the input. */
	if (job.ij_name_len < len)
		memmove(buf + job.ij_name_len + 1, buf + job.ij_name_len,
		    (size_t)(len - job.ij_name_len));
	buf[job.ij_name_len] = '\0';

	memset(&ctx, 0, sizeof(ctx));
	ctx.ctx_size = sizeof(ctx);
	ctx.ctx_input = (const uint8_t *)buf + job.ij_name_len + 1;
	ctx.ctx_input_len = (size_t)(len - job.ij_name_len);
	ctx.ctx_job_id = job.ij_id;
	ctx.ctx_job_name = buf;
	ctx.ctx_plugin_data = data;
	ctx.ctx_set_result = worker_set_result;
	ctx.ctx_failv = worker_failv;
	ctx.ctx_progress = worker_progress;
	ctx.ctx_cancel_requested = worker_cancel_requested;
	ctx.ctx_attempt = job.ij_attempt;
	ctx.ctx_fail_permanent = worker_fail_permanent;
	worker_permanent = false;
	worker_max_result = job.ij_max_result;
	worker_refused_len = 0;
	worker_cancel = 0;
	/* Named after the job, as a pool's thread (renamed when it changes). */
	if (strncmp(worker_name, buf, sizeof(worker_name) - 1) != 0) {
		(void)snprintf(worker_name, sizeof(worker_name), "%s", buf);
		(void)prctl(PR_SET_NAME, worker_name, 0, 0, 0);
	}

	cpu_charge_start(&worker_cpu);
	memset(&done, 0, sizeof(done));
	run0 = worker_clock_ns(CLOCK_MONOTONIC);
	done.id_ret = desc->tpp_run(&ctx);
	run1 = worker_clock_ns(CLOCK_MONOTONIC);
	if (worker_permanent)
		done.id_flags |= ISO_DONE_PERMANENT;
	done.id_cpu_ns = cpu_charge_end(&worker_cpu, run1 - run0);
	done.id_refused_len = worker_refused_len;
	if (job.ij_flags & ISO_JOB_RSS) {
		/* The count runs on through the reads of long jobs. */
		due = worker_rss_wait == 0;
		worker_rss_wait = due ? WORKER_RSS_EVERY - 1 :
		    worker_rss_wait - 1;
		if (due || run1 - run0 >= WORKER_RSS_RUN_NS)
			done.id_rss_kib = worker_rss_kib();
	}
	free(buf);
	if (worker_has_result) {
		struct iso_hdr rh = { .ih_type = ISO_RESULT,
		    .ih_len = worker_result_len };
		struct iso_hdr dh = { .ih_type = ISO_DONE,
		    .ih_len = sizeof(done) };
		struct iovec iov[4] = { { &rh, sizeof(rh) },
		    { worker_result, worker_result_len }, { &dh, sizeof(dh) },
		    { &done, sizeof(done) } };

		if (iso_writev_all(ISO_FD_CHANNEL, iov, 4) != 0)
			_exit(0);
		free(worker_result);
		worker_result = NULL;
		worker_result_len = 0;
		worker_has_result = false;
	} else
		worker_send(ISO_DONE, &done, sizeof(done), NULL, 0);
}

/* ------------------------------------------------------------ sandbox */

/* Append s to buf at *off (async-signal-safe). */
static void
worker_cat(char *buf, size_t len, size_t *off, const char *s)
{
	while (*s != '\0' && *off + 1 < len)
		buf[(*off)++] = *s++;
}

/*
 * SIGSYS: the plugin made a system call the filter does not allow.  Say
 * which (ISO_FAIL) and end (ISO_EXIT_SYSCALL).  Raw system calls only: the
 * C library's (or a sanitizer's wrappers of them) may hold locks the call
 * was made under (fork's).
 */
static void
worker_on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[128], num[16];
	struct iso_hdr h = { .ih_type = ISO_FAIL };
	int nr = si->si_syscall;
	size_t off = 0, n = 0;
	unsigned int v;

	(void)sig;
	(void)uc;
	worker_cat(msg, sizeof(msg), &off, "a forbidden system call: ");
	if (nr >= 0 && (size_t)nr < sizeof(worker_syscalls) /
	    sizeof(worker_syscalls[0]) && worker_syscalls[nr] != NULL)
		worker_cat(msg, sizeof(msg), &off, worker_syscalls[nr]);
	worker_cat(msg, sizeof(msg), &off, " (");
	v = nr >= 0 ? (unsigned int)nr : 0;
	do
		num[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0 && n < sizeof(num));
	while (n > 0 && off + 1 < sizeof(msg))
		msg[off++] = num[--n];
	worker_cat(msg, sizeof(msg), &off, ")");
	h.ih_len = off;
	(void)syscall(SYS_sendto, ISO_FD_CHANNEL, &h, sizeof(h), MSG_NOSIGNAL,
	    NULL, 0);
	(void)syscall(SYS_sendto, ISO_FD_CHANNEL, msg, off, MSG_NOSIGNAL, NULL,
	    0);
	(void)syscall(SYS_exit_group, ISO_EXIT_SYSCALL);
}

/*
 * What a plugin that computes may do: memory, time, its threads, the
 * channel (read, write), signals to itself, and naming its threads.  Not:
 * open or create files, sockets, processes (clone without CLONE_THREAD),
 * exec, ptrace, change its limits or credentials.  clone3 answers ENOSYS
 * (its flags are out of the filter's reach; the C library then uses
 * clone).
 */
static void
worker_sandbox(void)
{
	static const int allowed[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv),
		SCMP_SYS(writev), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
		SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
		SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(poll),
		SCMP_SYS(ppoll), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
		SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
		SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect),
		SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(brk),
		SCMP_SYS(membarrier),
		SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
		SCMP_SYS(futex), SCMP_SYS(set_robust_list),
		SCMP_SYS(get_robust_list), SCMP_SYS(rseq),
		SCMP_SYS(set_tid_address),
		SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
		SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
		SCMP_SYS(gettimeofday), SCMP_SYS(time),
		SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid),
		SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
		SCMP_SYS(getegid), SCMP_SYS(getrandom), SCMP_SYS(getrusage),
		SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
		SCMP_SYS(getcpu), SCMP_SYS(getpriority),
		SCMP_SYS(exit), SCMP_SYS(exit_group),
	};
	struct sigaction sa;
	scmp_filter_ctx f;
	size_t i;
	int rc = 0, nr;
	pid_t self = getpid();

	/* The names, looked up now: the handler may not allocate. */
	for (nr = 0; nr < (int)(sizeof(worker_syscalls) /
	    sizeof(worker_syscalls[0])); nr++)
		worker_syscalls[nr] = seccomp_syscall_resolve_num_arch(
		    SCMP_ARCH_NATIVE, nr);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = worker_on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	(void)sigaction(SIGSYS, &sa, NULL);

	if ((f = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		worker_die("seccomp_init failed");
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && rc == 0; i++)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, allowed[i], 0);
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(clone3), 0);
	/* getrlimit (prlimit64 with no new limit), not setrlimit. */
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
		    SCMP_A2(SCMP_CMP_EQ, 0));
	/* Thread names. */
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		    SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		    SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
	/* Signals to itself only (raise, abort). */
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self));
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self));
	/* Is stderr a terminal (stdio asks). */
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_EQ, TCGETS));
	if (rc != 0)
		worker_die("seccomp rule: %s", strerror(-rc));
	if ((rc = seccomp_load(f)) != 0)
		worker_die("seccomp_load: %s", strerror(-rc));
	seccomp_release(f);
}

/* ----------------------------------------------------- the declaration */

/*
 * -d: send the declaration of the plugin loaded as handle (ISO_DECL) and
 * exit, without calling any of its functions: the daemon reads it here so
 * that nothing of a plugin of isolation "process" (its constructors
 * included) runs in the daemon.
 */
static void __attribute__((__noreturn__))
worker_declare(void *handle)
{
	const struct tp_plugin *desc = dlsym(handle, TP_PLUGIN_SYMBOL);
	struct iso_decl d = { 0, 0, 0, 0 };
	char buf[ISO_DECL_NAME_MAX + ISO_DECL_DESC_MAX];

	if (desc != NULL) {
		d.idl_flags = ISO_DECL_FOUND |
		    (desc->tpp_run != NULL ? ISO_DECL_RUN : 0);
		d.idl_abi_version = desc->tpp_abi_version;
		if (desc->tpp_name != NULL) {
			d.idl_name_len = (uint32_t)strnlen(desc->tpp_name,
			    ISO_DECL_NAME_MAX);
			memcpy(buf, desc->tpp_name, d.idl_name_len);
		}
		if (desc->tpp_description != NULL) {
			d.idl_desc_len = (uint32_t)strnlen(
			    desc->tpp_description, ISO_DECL_DESC_MAX);
			memcpy(buf + d.idl_name_len, desc->tpp_description,
			    d.idl_desc_len);
		}
	}
	worker_send(ISO_DECL, &d, sizeof(d), buf, d.idl_name_len +
	    d.idl_desc_len);
	_exit(0);	/* the plugin's destructors: not the daemon's matter */
}

/* ------------------------------------------------------------- set-up */

static void
worker_limit(int resource, const char *what, unsigned long long v)
{
	struct rlimit rl = { .rlim_cur = (rlim_t)v, .rlim_max = (rlim_t)v };

	if (setrlimit(resource, &rl) != 0)
		worker_die("cannot limit %s to %llu: %s", what, v,
		    strerror(errno));
}

static unsigned long long
worker_number(const char *s, char opt)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		worker_die("-%c: not a number: %s", opt, s);
	return v;
}

int
main(int argc, char **argv)
{
	const struct tp_plugin *desc;
	unsigned long long uid = ULLONG_MAX, gid = ULLONG_MAX;
	unsigned long long as = 0, nofile = 0, nproc = 0;
	char path[64], err[ISO_MSG_MAX];
	const char *name = NULL;
	struct sigaction sa;
	struct iso_hdr h;
	pid_t parent;
	void *handle, *data = NULL;
	bool declare = false;
	int c, rc;

	while ((c = getopt(argc, argv, "df:g:m:n:u:")) != -1) {
		switch (c) {
		case 'd': declare = true; break;
		case 'f': nofile = worker_number(optarg, 'f'); break;
		case 'g': gid = worker_number(optarg, 'g'); break;
		case 'm': as = worker_number(optarg, 'm'); break;
		case 'n': nproc = worker_number(optarg, 'n'); break;
		case 'u': uid = worker_number(optarg, 'u'); break;
		default:
			worker_die(
			    "usage: tpoold-worker [-u UID -g GID] [-m BYTES] "
			    "[-f N] [-n N] -d | PLUGIN (started by tpoold)");
		}
	}
	if (optind != argc - (declare ? 0 : 1))
		worker_die("usage: tpoold-worker [options] -d | PLUGIN "
		    "(started by tpoold)");
	name = declare ? "" : argv[optind];

	/* 1. Nothing of the daemon's open but what it gave. */
	parent = getppid();
#ifdef SYS_close_range
	(void)syscall(SYS_close_range, ISO_FD_PLUGIN + 1, ~0u, 0);
#else
	for (c = ISO_FD_PLUGIN + 1; c < 1024; c++)
		(void)close(c);
#endif
	/* Its resident memory, read after each job (worker_rss_kib()). */
	if (!declare)
		worker_statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = worker_on_usr1;
	sa.sa_flags = SA_RESTART;
	(void)sigaction(SIGUSR1, &sa, NULL);

	/* 2. Its user, its limits, no new privileges. */
	if (gid != ULLONG_MAX && (setgroups(0, NULL) != 0 ||
	    setgid((gid_t)gid) != 0))
		worker_die("cannot become group %llu: %s", gid,
		    strerror(errno));
	if (uid != ULLONG_MAX) {
		if (setuid((uid_t)uid) != 0)
			worker_die("cannot become user %llu: %s", uid,
			    strerror(errno));
		/* Its own /proc/self/fd again, to load the plugin. */
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	}
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	if (as != 0)
		worker_limit(RLIMIT_AS, "the address space", as);
#else
	(void)as;	/* its runtime reserves terabytes of address space */
#endif
	if (nofile != 0)
		worker_limit(RLIMIT_NOFILE, "open files", nofile);
	if (nproc != 0)
		worker_limit(RLIMIT_NPROC, "processes", nproc);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		worker_die("no new privileges: %s", strerror(errno));
	/* Tied to the daemon, now that no credential changes (they clear
	 * it); gone already, then go too. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(0);

	/* 3. The plugin, from the file the daemon checked. */
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", ISO_FD_PLUGIN);
	if ((handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		(void)snprintf(err, sizeof(err), "cannot load: %s", dlerror());
		goto fail;
	}
	(void)close(ISO_FD_PLUGIN);
	if (declare)
		worker_declare(handle);
	desc = dlsym(handle, TP_PLUGIN_SYMBOL);
	if (desc == NULL || desc->tpp_abi_version != TP_PLUGIN_ABI_VERSION ||
	    desc->tpp_name == NULL || strcmp(desc->tpp_name, name) != 0 ||
	    desc->tpp_run == NULL) {
		(void)snprintf(err, sizeof(err), "the file is not plugin %s "
		    "any more", name);
		goto fail;
	}
	if (desc->tpp_init != NULL &&
	    (rc = desc->tpp_init(&data)) != 0) {
		(void)snprintf(err, sizeof(err), "tpp_init failed: %s",
		    strerror(rc));
		goto fail;
	}
	(void)snprintf(worker_name, sizeof(worker_name), "%s", name);
	(void)prctl(PR_SET_NAME, worker_name, 0, 0, 0);
	worker_sandbox();
	worker_send(ISO_READY, NULL, 0, NULL, 0);

	/* 4. Its jobs, until the daemon closes the channel. */
	while (worker_read(&h, sizeof(h))) {
		if (h.ih_type != ISO_JOB)
			worker_die("unexpected message %u", h.ih_type);
		worker_job(desc, data, h.ih_len);
	}
	if (desc->tpp_fini != NULL)
		desc->tpp_fini(data);
	return 0;

fail:
	worker_send(ISO_FAIL, err, strlen(err), NULL, 0);
	return 71;
}
