/*
 * bench.h -- bench_tpoold, the daemon's benchmark: what its files share.
 *
 *	main.c		options, the order of the runs, the table, --json
 *	proc.c		the processes it starts (tpoold, the echo server), their
 *			cleanup on every exit path, CPU pinning, /proc readings
 *	floor.c		the echo floor: the server (a forked child, one thread,
 *			epoll) and the client's round trip
 *	roundtrip.c	k client threads, each on its own connection, doing
 *			submit-and-wait of a null job (or an echo round trip)
 *	pipeline.c	one client, submits pipelined in a window
 *	memory.c	tpoold's memory per queued job
 *	isolation.c	the same null jobs with plugins in worker processes;
 *			a worker's crash to its replacement serving
 *	store.c		the job store (--state-dir) beside beanstalkd's binlog
 *	stats.c		latency samples: sort, median, percentiles; clocks
 *
 * Every wait is bounded: the client library's timeout on each call
 * (BENCH_CALL_TIMEOUT_MS), a deadline on each measurement, and an alarm on
 * the whole run that kills every child.  Nothing here is shared between
 * threads except what roundtrip.c says.
 */
#ifndef BENCH_TPOOLD_H
#define BENCH_TPOOLD_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "tpool.pb-c.h"

#define	BENCH_CALL_TIMEOUT_MS	10000	/* one client call, one echo read */
#define	BENCH_MAX_CLIENTS	1024
#define	BENCH_MAX_COUNTS	8	/* -c entries */
#define	BENCH_MAX_DAEMON_ARGS	16	/* --daemon-arg entries */
#define	BENCH_MAX_ROUNDS	9	/* --rounds */

/* The options (main.c fills it; the others read it). */
struct bench_config {
	const char	*bc_daemon;		/* tpoold to run */
	const char	*bc_plugins;		/* its plugin directory */
	const char	*bc_daemon_args[BENCH_MAX_DAEMON_ARGS];	/* passed on */
	unsigned int	bc_ndaemon_args;
	uint64_t	bc_nops;		/* -n: round trips per row */
	unsigned int	bc_rounds;		/* --rounds: echo, tpoold pairs */
	unsigned int	bc_counts[BENCH_MAX_COUNTS];	/* -c */
	unsigned int	bc_ncounts;
	uint64_t	bc_pipeline;		/* pipelined submits */
	uint64_t	bc_window;		/* most outstanding */
	uint64_t	bc_queued;		/* memory: jobs kept queued */
	int		bc_cpu;			/* CPU for the pinned runs */
	bool		bc_pin;			/* do the pinned runs */
	bool		bc_percpu;		/* null jobs on the per-CPU pool */
	bool		bc_isolation;		/* part 5: isolation process */
	bool		bc_store;		/* part 6: the job store */
	unsigned int	bc_row_limit_s;		/* bound on one measurement */
	unsigned int	bc_total_limit_s;	/* bound on the whole run */
	bool		bc_json;
	bool		bc_verbose;
	char		bc_tmpdir[64];		/* mkdtemp'ed */
};
extern struct bench_config bench_config;

/* Say what is happening on stderr (not with --json unless -v). */
void	bench_note(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));

/* -------------------------------------------------------------- stats.c */

/* This thread's CPU time, nanoseconds. */
uint64_t bench_thread_cpu_ns(void);

/* A growable array of latency samples, in nanoseconds. */
struct samples {
	uint64_t	*s_v;
	size_t		s_n;
	size_t		s_cap;
};
int	samples_add(struct samples *s, uint64_t ns);	/* 0 or ENOMEM */
/* Move every sample of src to dst (src is emptied). */
int	samples_merge(struct samples *dst, struct samples *src);
void	samples_sort(struct samples *s);
/* Nearest-rank percentile (0 < p <= 100) of sorted samples, ns; 0 if none. */
uint64_t samples_pct(const struct samples *s, double p);
void	samples_free(struct samples *s);

/* ---------------------------------------------------------------- proc.c */

/* Set up cleanup: signal handlers, the alarm, the temporary folder. */
int	proc_init(void);
/* Kill every child still running and remove the temporary folder. */
void	proc_cleanup(void);

/*
 * Start tpoold on sock_path (in the temporary folder) with the plugin dir,
 * bench_config's --daemon-arg's, then extra (NULL-terminated, may be NULL);
 * the whole process pinned to cpu when cpu >= 0.  Waits until it accepts a
 * Hello and lists the plugin "echo".  Its stderr goes to log_path.
 */
int	proc_daemon_start(const char *sock_path, const char *log_path,
	    const char *const *extra, int cpu, pid_t *ret_pid);
/*
 * SIGTERM, wait up to timeout_ms for its exit (then SIGKILL); *ret_ns (may
 * be NULL) is how long it took, *ret_status its wait status.
 */
int	proc_stop(pid_t pid, unsigned int timeout_ms, uint64_t *ret_ns,
	    int *ret_status);
/*
 * Run a program of the PATH, argv (argv[0] its name), stdout and stderr in
 * log_path; killed at the end as every child.
 */
int	proc_exec_start(char *const argv[], const char *log_path,
	    pid_t *ret_pid);
/* Fork the echo server on sock_path, pinned to cpu when cpu >= 0. */
int	proc_echo_start(const char *sock_path, int cpu, pid_t *ret_pid);
/* Print the last lines of a daemon log on stderr. */
void	proc_show_log(const char *log_path);

/* Pin the calling thread to cpu. */
int	proc_pin_self(int cpu);
/* VmRSS of pid, KiB; -1 on error. */
long	proc_rss_kib(pid_t pid);
/* User + system CPU time of every thread of pid (dead ones too), ns. */
int	proc_cpu_ns(pid_t pid, uint64_t *ret_ns);
/*
 * How many times the threads of pid now living went to sleep (their
 * voluntary context switches): each is a wakeup someone had to pay for.
 */
int	proc_sleeps(pid_t pid, uint64_t *ret_n);

/* --------------------------------------------------------------- floor.c */

/* The server: runs in the forked child, never returns. */
void	floor_server_run(int listen_fd) __attribute__((__noreturn__));
/* Connect a blocking client socket with BENCH_CALL_TIMEOUT_MS timeouts. */
int	floor_connect(const char *path, int *ret_fd);
/* One round trip of the frame buf[0..len) (header included). */
int	floor_roundtrip(int fd, const uint8_t *frame, uint8_t *rbuf, size_t len);

/* ----------------------------------------------------------- roundtrip.c */

enum rt_kind {
	RT_TPOOLD,	/* submit a null job, wait for its JobFinished */
	RT_ECHO,	/* one frame to the echo server and back */
};

/* What one measurement gives. */
struct rt_result {
	bool		r_valid;
	unsigned int	r_clients;
	uint64_t	r_ops;		/* round trips timed */
	double		r_secs;		/* from the start to the last one */
	double		r_ops_per_s;
	double		r_median_us;
	double		r_p99_us;
	double		r_min_us;
	double		r_client_cpu_us;	/* per round trip, all client threads */
	double		r_client_sleeps;	/* per round trip, all client threads */
	double		r_server_cpu_us;	/* per round trip, the server process */
	double		r_server_sleeps;	/* per round trip, its threads' */
	bool		r_truncated;	/* time limit hit before -n */
	char		r_error[160];	/* when !r_valid */
};

/*
 * Run nops round trips of kind against the server at path (process pid, for
 * its CPU time) from nclients threads with a connection each; each thread
 * is pinned to cpu when cpu >= 0.  frame_len: the echo frame, header
 * included.  Failures are described in res->r_error.
 */
void	rt_run(enum rt_kind kind, const char *path, pid_t pid,
	    unsigned int nclients, uint64_t nops, int cpu, size_t frame_len,
	    struct rt_result *res);

/* Fill a Submit of the null job, as the client library would. */
void	rt_fill_submit(Tpool__Request *req, Tpool__Submit *sub,
	    uint64_t request_id);
/* The packed size of the null job's Submit request frame, header included. */
size_t	rt_submit_frame_len(void);
/* The pool the null jobs go to (unbound, or per-CPU "any" with --percpu). */
Tpool__PoolKind rt_pool_kind(void);

/* ------------------------------------------------------------ pipeline.c */

struct pipe_result {
	bool		p_valid;
	bool		p_lean;		/* the lean client, not the library */
	uint64_t	p_jobs;		/* JobFinished events received */
	uint64_t	p_window;
	double		p_secs;
	double		p_jobs_per_s;
	uint64_t	p_max_outstanding;
	double		p_client_cpu_us;	/* per job */
	double		p_server_cpu_us;	/* per job */
	double		p_server_sleeps;	/* per job */
	bool		p_truncated;
	char		p_error[160];
};

/*
 * Pipelined submits of n null jobs, at most window outstanding, through the
 * client library or (lean) a client that only scans the replies.
 */
void	pipe_run(const char *path, pid_t pid, uint64_t n, uint64_t window,
	    bool lean, struct pipe_result *res);

/* -------------------------------------------------------------- memory.c */

struct mem_result {
	bool		m_valid;
	uint64_t	m_jobs;		/* jobs queued when measured */
	long		m_rss_before_kib;
	long		m_rss_after_kib;
	double		m_bytes_per_job;
	uint32_t	m_in_flight;	/* from Stats: queued + running */
	uint32_t	m_pool_queued;	/* from Stats: the pool's queue */
	uint32_t	m_waiting_turn;	/* from Stats: held for their turn */
	double		m_submit_secs;	/* to submit them all */
	double		m_stop_secs;	/* SIGTERM to exit, all cancelled */
	bool		m_stop_clean;	/* exited 0 by itself */
	char		m_error[160];
};

/*
 * Start a daemon of its own with one worker thread per pool, block that
 * worker with a long sleep job, queue n echo jobs behind it and read the
 * daemon's VmRSS before and after; then stop it with SIGTERM.
 */
void	mem_run(uint64_t n, struct mem_result *res);

/* ----------------------------------------------------------- isolation.c */

#define	ISO_CRASHES	10

struct iso_result {
	bool		i_valid;
	struct rt_result i_rt1;		/* 1 client, null jobs */
	struct rt_result i_rt8;		/* 8 clients */
	double		i_replace_ms[ISO_CRASHES];	/* sorted */
	int		i_exit;		/* the daemon's wait status */
	char		i_error[200];
};

/*
 * A tpoold of its own with --isolation process: null-job round trips from
 * 1 and 8 clients, and ISO_CRASHES times the time from a worker's SIGKILL
 * during a job to the next job of its plugin that succeeds.
 */
void	iso_run(struct iso_result *res);

/* --------------------------------------------------------------- store.c */

#define	STORE_LEVELS	2	/* normal, full */

/* One sync level: tpoold's store and beanstalkd's binlog. */
struct store_level {
	const char	*sl_level;		/* "normal" or "full" */
	struct pipe_result sl_pipe;		/* tpoold, pipelined (lean) */
	struct rt_result sl_rt1;		/* tpoold, 1 client */
	uint64_t	sl_jobs;		/* jobs in the store */
	uint64_t	sl_store_bytes;		/* its file, after the stop */
	double		sl_bytes_per_job;
	int		sl_exit;		/* tpoold's wait status */
	char		sl_error[200];
	bool		sl_bs_valid;		/* beanstalkd, pipelined puts */
	uint64_t	sl_bs_puts;
	double		sl_bs_secs;
	double		sl_bs_puts_per_s;
	char		sl_bs_error[200];
};

struct store_result {
	bool		s_valid;
	struct store_level s_levels[STORE_LEVELS];
};

/*
 * Part 6: for each level, a tpoold with a store of its own (pipelined
 * submits, 1-client round trips, bytes per job), then a beanstalkd -b of
 * its own (pipelined puts), one client each.
 */
void	store_run(struct store_result *res);

#endif /* BENCH_TPOOLD_H */
