/*
 * shared.h -- bench_shared, tpoold as a service shared by hostile local
 * users: what its files share.
 *
 *	main.c		options, the root check, the order of the scenarios,
 *			the table, --json
 *	scenario.c	one scenario from start to end: a fresh daemon, the
 *			victim's baseline, the attack held, the victim again,
 *			everything stopped, tpoold's exit checked
 *	attacks.c	the eight scenarios: each one's daemon options, what
 *			its attackers do as their uids, and its summary
 *	victim.c	the victim: echo round trips on one connection
 *	users.c		the client processes, each a throwaway uid (setuid),
 *			their reports over pipes, and the cleanup of everything
 *			on every exit path
 *	daemon.c	the daemon of a scenario: its plugin folder, start,
 *			Stats, /proc readings (VmRSS, threads) and their peak,
 *			stop
 *
 * Also compiled in, from bench/daemon: proc.c (starting and stopping
 * tpoold, the temporary folder, VmRSS; it reads bench_config, which
 * main.c fills for it), floor.c (proc.c's echo server, not used here) and
 * stats.c (latency samples and percentiles).
 *
 * Every wait is bounded: the client library's timeout on every call a
 * client process makes, a deadline on every wait of the bench for a
 * report, SIGKILL for a client process that does not end in time, and an
 * alarm on the whole run.
 */
#ifndef BENCH_SHARED_H
#define BENCH_SHARED_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../daemon/bench.h"
#include "tpclient.h"

#define	SH_NAME			"bench_shared"
#define	SH_NSCENARIOS		8
#define	SH_MAX_ATTACKERS	16	/* client processes of one attack */
#define	SH_FIRST_UID		60001	/* the attackers': 60001, 60002, ... */
#define	SH_VICTIM_UID		60020
#define	SH_CALL_TIMEOUT_MS	10000	/* one client call */
#define	SH_SETUP_LIMIT_MS	120000	/* an attack's setup, until it holds */
#define	SH_STOP_LIMIT_MS	15000	/* a client process's end, tpoold's */
#define	SH_MAX_CPUS		64	/* per-CPU pools used by scenario 5 */

/* The options that are not bench_config's (main.c fills it). */
struct sh_config {
	unsigned int	sc_only;		/* bit i: scenario i + 1 */
	unsigned int	sc_baseline_ms;		/* the victim on the quiet daemon */
	unsigned int	sc_hold_ms;		/* the victim during the hold */
	unsigned int	sc_gap_us;		/* the victim's pause between jobs */
	int		sc_cpus[SH_MAX_CPUS];	/* the CPUs we may use */
	unsigned int	sc_ncpus;
};
extern struct sh_config sh_config;

/* ------------------------------------------------------------- users.c */

/*
 * What a client process tells the bench: one report when its part holds
 * (the victim: after its baseline), one at its end (the victim: after its
 * round trips during the hold).  Smaller than PIPE_BUF, so each write is
 * whole.
 */
struct sh_report {
	int		rp_error;	/* 0, or the errno value of a failure */
	int		rp_refusal;	/* Tpool__ErrorCode of the first refusal */
	uint64_t	rp_refused;	/* refusals seen */
	uint64_t	rp_held;	/* what it holds (the attack says what) */
	uint64_t	rp_value[4];	/* the attack's own figures */
	/* The victim's round trips. */
	uint64_t	rp_samples;
	double		rp_median_us;
	double		rp_p99_us;
	double		rp_max_us;
	bool		rp_stuck;	/* its last job had not ended in time */
	double		rp_stuck_ms;	/* how long it had waited then */
	char		rp_text[256];	/* the refusal's message, or the failure */
};

/* A client process, as the bench sees it. */
struct sh_child {
	pid_t		ch_pid;
	int		ch_slot;	/* in users.c's table of pids */
	int		ch_rep_fd;	/* its reports (read end) */
	int		ch_go_fd;	/* "go" bytes, EOF: stop (write end) */
	unsigned int	ch_nreports;
	struct sh_report ch_rep[2];	/* held, end */
};

/* A client process, as it sees itself. */
struct sh_part {
	const char	*pt_sock;	/* the daemon's socket */
	unsigned int	pt_index;	/* among the attackers, from 0 */
	uid_t		pt_uid;
	int		pt_rep_fd;
	int		pt_go_fd;
	const void	*pt_arg;	/* the scenario's */
};

/* What a client process runs as its uid; returns its exit status. */
typedef int sh_part_fn(struct sh_part *p);

/*
 * Set up the bench's cleanup (after proc_init()): the signal handlers
 * that kill every client process and daemon, remove the plugin copies
 * and the temporary folder, and the same at exit.
 */
int	users_init(void);
/*
 * Fork a client process that becomes uid (group uid, no supplementary
 * groups), dies with the bench, and runs fn(p) with p->pt_index index.
 */
int	users_start(uid_t uid, unsigned int index, const char *sock,
	    sh_part_fn *fn, const void *arg, struct sh_child *ch);
/*
 * Wait until each of the n children has sent its report number which
 * (0: held, 1: end) or ended, at most until deadline_ns (tu_now_ns());
 * the daemon is sampled meanwhile.  ETIMEDOUT when one is missing,
 * ECHILD when one ended without it.
 */
int	users_wait(struct sh_child *ch, unsigned int n, unsigned int which,
	    uint64_t deadline_ns);
/* Send a child the go byte. */
int	users_go(struct sh_child *ch);
/*
 * Tell the n children to stop (EOF), collect their last reports, wait up
 * to SH_STOP_LIMIT_MS for their exits and SIGKILL what is left.  The
 * number of children that did not end by themselves with status 0.
 */
unsigned int users_stop(struct sh_child *ch, unsigned int n);

/* In a client process: send a report (a copy is sent). */
void	part_report(struct sh_part *p, const struct sh_report *rep);
/*
 * In a client process: wait up to timeout_ms (0: just look) for the
 * bench's word.  1: go; 0: nothing yet; -1: stop (EOF, or the bench is
 * gone).
 */
int	part_word(struct sh_part *p, int timeout_ms);
/*
 * In a client process: connect with Hello, the call timeout set; the
 * caller frees *ret_c with tpc_free().
 */
int	part_connect(struct sh_part *p, struct tpc **ret_c);
/*
 * In a client process: describe a failed call in rep (its rp_error,
 * rp_text: what, then the error, and the daemon's code and message for
 * TPC_EDAEMON, which also sets rp_refusal).
 */
void	part_fail(struct sh_report *rep, struct tpc *c, int error,
	    const char *what);

/* ------------------------------------------------------------ daemon.c */

/* The settings of a daemon that the summaries use (from its Stats). */
struct sh_limits {
	uint64_t	lm_max_running;
	uint64_t	lm_max_threads;
	uint64_t	lm_max_jobs_per_client;
	uint64_t	lm_max_connections;
	uint64_t	lm_max_connections_per_user;
	uint64_t	lm_max_output;
	uint64_t	lm_memory_budget;
	uint64_t	lm_memory_per_user;
};

/* What the daemon's Stats say of its pools and jobs (asked as root). */
struct sh_pools {
	bool		pl_valid;	/* Stats answered */
	uint32_t	pl_in_flight;	/* jobs queued or running */
	uint32_t	pl_waiting_turn;	/* of them, waiting their user's turn */
	uint32_t	pl_pools;	/* pools with a thread */
	uint32_t	pl_threads;	/* their threads */
	uint32_t	pl_idle;	/* of them, idle */
	uint32_t	pl_queued;	/* jobs in the pools' queues */
};

/* A reading of /proc/PID/status. */
struct sh_usage {
	long		us_rss_kib;
	long		us_threads;
};

/* The value of the setting called name in Stats st (its limits), or 0. */
uint64_t sh_limit(const Tpool__StatsReply *st, const char *name);
/* Copy the example plugins of dir into a root-owned 0755 folder. */
int	daemon_plugins_copy(const char *dir);
/* Remove the copies (async-signal-safe). */
void	daemon_plugins_remove(void);
/*
 * Start tpoold with extra (NULL-terminated) on a fresh socket; read its
 * limits.  Sampling starts from the readings of now.
 */
int	daemon_start(const char *const *extra, struct sh_limits *lm);
/* Its socket (borrowed). */
const char *daemon_sock(void);
/* Ask the daemon's Stats about its pools; pl_valid false if it cannot. */
void	daemon_pools(struct sh_pools *pl);
/* Read /proc now into *now (may be NULL) and keep the peaks. */
void	daemon_sample(struct sh_usage *now);
/* The peaks since daemon_start(). */
void	daemon_peak(struct sh_usage *peak);
/*
 * SIGTERM; wait up to SH_STOP_LIMIT_MS.  0 when it exited 0, else a
 * description of how it ended in why.
 */
int	daemon_stop(double *ret_secs, char *why, size_t whylen);
/* Print the end of its log on stderr. */
void	daemon_show_log(void);

/* ------------------------------------------------------------ victim.c */

/* What the victim does in each phase. */
struct sh_victim_arg {
	unsigned int	va_baseline_ms;
	unsigned int	va_hold_ms;
	unsigned int	va_hold_max;	/* round trips in the hold; 0: no bound */
	unsigned int	va_gap_us;
};

/* The victim's part (its arg: a struct sh_victim_arg). */
int	victim_part(struct sh_part *p);

/* ---------------------------------------------------------- scenario.c */

/* A figure of one scenario's own, for the notes and --json. */
struct sh_figure {
	const char	*fg_key;	/* JSON key */
	double		fg_value;
};
#define	SH_MAX_FIGURES	12

/* Everything one scenario measured. */
struct sh_result {
	unsigned int	sr_id;
	const char	*sr_name;
	bool		sr_ran;
	bool		sr_ok;		/* ran to its end, tpoold exited 0 */
	char		sr_held[96];	/* what was held, in words */
	char		sr_refusal[96];	/* the refusal's code name(s), or none */
	char		sr_refusal_msg[256];
	struct sh_usage	sr_before;
	struct sh_usage	sr_peak;
	struct sh_report sr_base;	/* the victim on the quiet daemon */
	struct sh_report sr_hold;	/* the victim during the hold */
	bool		sr_probe_refused;	/* its new connection in the hold */
	int		sr_probe_code;
	struct sh_limits sr_limits;
	struct sh_pools	sr_pools;	/* at the end of the victim's hold */
	double		sr_secs;	/* the whole scenario */
	double		sr_stop_secs;	/* SIGTERM to tpoold's exit */
	char		sr_notes[512];	/* the scenario's own findings */
	struct sh_figure sr_fig[SH_MAX_FIGURES];
	unsigned int	sr_nfig;
	char		sr_error[384];
};

/* One scenario, as attacks.c defines it. */
struct sh_scenario {
	unsigned int	sn_id;
	const char	*sn_name;
	const char	*sn_daemon_args[8];	/* NULL-terminated */
	unsigned int	sn_nattackers;
	sh_part_fn	*sn_attack;
	const void	*sn_arg;
	/* Wait up to this long for the attackers' end reports before the
	 * stop (for what happens by itself, e.g. a drop). */
	unsigned int	sn_linger_ms;
	unsigned int	sn_victim_hold_ms;	/* 0: sh_config's */
	unsigned int	sn_victim_hold_max;
	/* In the bench: the table's words and the figures, from the
	 * attackers' reports. */
	void		(*sn_summary)(struct sh_result *r,
			    const struct sh_child *ch, unsigned int n);
};

/* The eight scenarios, in order. */
extern const struct sh_scenario sh_scenarios[SH_NSCENARIOS];

/* Run one scenario. */
void	scenario_run(const struct sh_scenario *sn, struct sh_result *r);
/* Add a figure to r (the key is borrowed: a string literal). */
void	result_figure(struct sh_result *r, const char *key, double value);
/* Append to r's notes. */
void	result_note(struct sh_result *r, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 2, 3)));

#endif /* BENCH_SHARED_H */
