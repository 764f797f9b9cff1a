/*
 * soak.h -- what the parts of the soak test share.
 *
 * The soak (tests/soak/soak.c) starts the real tpoold on a socket in a
 * temporary folder with its own plugin (soakrec.c), puts it under load from
 * many client threads (client.c), keeps a ledger of everything the daemon
 * answered (ledger.c), and proves at the end that every accepted job got
 * exactly one final state, that every cancel answer was true, and that the
 * daemon's memory and descriptors came back to where they were (daemon.c
 * measures them).
 *
 * Locking: the ledger (jobs, ring of recent jobs, violations, counters) has
 * one mutex, ledger.c's; the configuration is written by the main thread
 * before any client thread starts and only read afterwards (c); the phase
 * flags are atomics.
 */
#ifndef TP_TESTS_SOAK_H
#define TP_TESTS_SOAK_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "tpclient.h"
#include "tpool.pb-c.h"

#define	SOAK_MAX_PRIS		8
#define	SOAK_MAX_CPUS		256
#define	SOAK_MAX_CLIENTS	2048
#define	SOAK_PLUGIN		"soakrec"
#define	SOAK_PLUGIN2		"soakrec2"	/* added before the SIGHUP */
#define	SOAK_PLUGIN_CRASH	"soakcrash"	/* in worker processes */

/* The phases, in order (soak_phase). */
enum soak_phase {
	SOAK_PHASE_PROBE,	/* the main thread touches every pool */
	SOAK_PHASE_WARMUP,	/* load, then the baseline is measured */
	SOAK_PHASE_LOAD,	/* load with the SIGHUP in its middle */
	SOAK_PHASE_FINAL,	/* jobs in flight, then SIGTERM */
};

/* Where soakrec2 stands: not there, SIGHUP sent, seen in the plugin list. */
enum soak_hup {
	SOAK_HUP_BEFORE,
	SOAK_HUP_SENT,
	SOAK_HUP_DONE,
};

/* c: set by the main thread before the clients start. */
struct soak_config {
	unsigned int	sc_clients;		/* client threads */
	unsigned int	sc_duration_s;		/* the load phase */
	unsigned int	sc_warmup_s;		/* the warm-up phase */
	uint64_t	sc_seed;
	const char	*sc_daemon;		/* tpoold binary */
	const char	*sc_plugins;		/* folder with soakrec.so, soakrec2.so */
	unsigned int	sc_max_threads;		/* tpoold --max-threads (0: none) */
	unsigned int	sc_slow;		/* 1 plain, 2 ASan, 4 TSan (timeouts) */
	const char	*sc_sanitizer;		/* "none", "ASan", "TSan" */
	unsigned int	sc_idle_ms;		/* tpoold --idle-timeout */
	unsigned int	sc_ttl_ms;		/* tpoold --finished-ttl */
	unsigned int	sc_grace_ms;		/* tpoold --shutdown-grace */
	unsigned int	sc_call_ms;		/* a client call's timeout */
	unsigned int	sc_crash_kills;		/* the crash mode's SIGKILLs (0: none) */
	bool		sc_replace;		/* replace soakrec.so at the SIGHUP */
	bool		sc_self_test;		/* inject faults into the proof */
	bool		sc_malloc_stats;	/* also measure malloc's bytes in use */
	bool		sc_keep;		/* keep the folder */
	bool		sc_verbose;
	char		sc_sock[128];		/* the daemon's socket */
	int		sc_pris[SOAK_MAX_PRIS];	/* priorities the daemon permits */
	unsigned int	sc_npris;
	int		sc_cpus[SOAK_MAX_CPUS];	/* CPUs of its per-CPU set */
	unsigned int	sc_ncpus;
};
extern struct soak_config soak_cfg;

/*
 * Atomics: the phase, the stop flag of the phase, soakrec2's state, and
 * whether the SIGTERM of the final phase has been sent (about to be).
 */
extern int soak_phase;
extern int soak_stop;
extern int soak_hup;
extern int soak_term;
int	soak_load(const int *p);
void	soak_store(int *p, int v);

/* ---------------------------------------------------------------- util */

void	soak_sleep_ms(unsigned int ms);
/* xorshift64*: the next number, and one in [0, n). */
uint64_t soak_rand(uint64_t *state);
unsigned int soak_rand_below(uint64_t *state, unsigned int n);
/* Print to stderr with the elapsed time, when verbose (or always). */
void	soak_log(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
void	soak_info(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));

/* -------------------------------------------------------------- ledger */

/* Where a final state (or a non-final JobInfo) was seen. */
enum soak_src {
	SOAK_SRC_EVENT,		/* JobFinished on the submitter's connection */
	SOAK_SRC_WATCH_EVENT,	/* JobFinished on a watcher's connection */
	SOAK_SRC_WATCH_REPLY,	/* the WatchReply */
	SOAK_SRC_CANCEL,	/* a CancelReply (with or without wait) */
	SOAK_SRC_STATUS,	/* a status of one job */
	SOAK_SRC_STATUS_ALL,	/* a status of all the caller's jobs */
	SOAK_SRC_RECONNECT,	/* a status after reconnecting */
	SOAK_SRC_COUNT
};

/* "JobFinished to its submitter", ... */
const char *soak_src_name(unsigned int src);

/* What a job is, as a client chose it. */
struct soak_spec {
	const char	*ss_plugin;
	Tpool__PoolKind	ss_pool;
	int		ss_pri;
	int		ss_cpu;			/* per-CPU: the CPU, -1 any */
	unsigned int	ss_ms;
	bool		ss_spin;
	bool		ss_fail;
	bool		ss_crash;		/* soakcrash: crash its worker */
};

/* A new job, about to be submitted by client (-1: the main thread); its token. */
uint32_t soak_job_new(const struct soak_spec *sp, int client);
/* The submit's answer: a job id, an error code, or none (the call failed). */
void	soak_job_accepted(uint32_t token, uint64_t id);
void	soak_job_rejected(uint32_t token, Tpool__ErrorCode code);
void	soak_job_lost(uint32_t token);
/* Its submitter disconnected before it had its final state. */
void	soak_job_orphaned(uint32_t token);
/* A cancel of it is about to be sent. */
void	soak_job_cancel_sent(uint32_t token);
/* Its JobStarted was seen. */
void	soak_job_started(uint32_t token);
/*
 * A JobInfo of it was seen, from src, in answer to a request sent at
 * t_sent (0: an event): a final state is checked against every other seen,
 * a non-final one against finals seen before t_sent.
 */
void	soak_job_info(uint32_t token, const Tpool__JobInfo *ji, enum soak_src src,
	    uint64_t t_sent);
/* A cancel's answer (reply borrowed). */
void	soak_job_cancel_reply(uint32_t token, const Tpool__CancelReply *r, bool wait,
	    uint64_t t_sent);
/* The daemon said ERROR_NO_SUCH_JOB for it to a request sent at t_sent (what). */
void	soak_job_unknown(uint32_t token, uint64_t t_sent, const char *what);
/* The job's id and its token from a JobInfo's name "s<token>" (0 if none). */
uint64_t soak_job_id(uint32_t token);
uint32_t soak_token_from_name(const char *name);
/* A recent accepted job of anybody's, for watches, cancels and status. */
bool	soak_ring_pick(uint64_t *rng, uint64_t *ret_id, uint32_t *ret_token);

/* Counters for the summary (ledger's lock). */
enum soak_counter {
	SOAK_C_SUBMITTED, SOAK_C_ACCEPTED, SOAK_C_REJECTED, SOAK_C_SUCCEEDED,
	SOAK_C_FAILED, SOAK_C_CANCELLED, SOAK_C_BEFORE_RUN, SOAK_C_TOO_LATE,
	SOAK_C_ALREADY, SOAK_C_CANCELS, SOAK_C_CANCELS_WAIT, SOAK_C_CANCELS_LOST,
	SOAK_C_DISCONNECTS, SOAK_C_ORPHANS, SOAK_C_WATCHES, SOAK_C_STATUS,
	SOAK_C_STATUS_ALL, SOAK_C_STATS, SOAK_C_EVENTS, SOAK_C_CONNECTS,
	SOAK_C_REJ_UNKNOWN_PLUGIN, SOAK_C_REJ_INVALID_CPU, SOAK_C_REJ_SHUTTING_DOWN,
	SOAK_C_GONE, SOAK_C_UNOBSERVED, SOAK_C_NEVER_RAN, SOAK_C_CRASHED,
	SOAK_C_COUNT
};
void	soak_count(enum soak_counter c, uint64_t n);
uint64_t soak_counter(enum soak_counter c);

/* A broken promise: counted, the first ones kept for the report. */
void	soak_violation(const char *kind, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
/* Violations of kind are counted and printed but do not fail (--allow). */
int	soak_violation_allow(const char *kind);
/* How many violations of kind, allowed or not. */
unsigned int soak_violation_count(const char *kind);
/* Violations that fail the run (not allowed). */
unsigned int soak_violations(void);
void	soak_violations_print(void);

/* The daemon's totals (from Stats) against the ledger's, at a quiet time. */
void	soak_ledger_check_totals(const Tpool__StatsReply *st);
/* Read the plugin's run ledger and prove every promise; 0 if kept. */
void	soak_ledger_prove(const char *run_ledger);
/*
 * --self-test: append to the run ledger what a broken daemon would have
 * made the plugin write (a second run of a succeeded job, a run of a job
 * answered CANCEL_BEFORE_RUN, of a refused job, of a token nobody
 * submitted); kinds[] gets the violations the proof must then report.
 */
size_t	soak_ledger_inject(const char *run_ledger, const char **kinds, size_t max);
/*
 * --self-test, either mode: the kinds injected are allowed (reported, not
 * failing); after the proof, each must have been found (a violation
 * "self-test" for each that was not).
 */
void	soak_self_test_allow(const char *const *kinds, size_t n);
void	soak_self_test_check(const char *const *kinds, size_t n);
/* Jobs in the ledger. */
size_t	soak_ledger_jobs(void);

/* -------------------------------------------------------------- client */

struct soak_client;

/* A client (idx: its number, -1 for the main thread); free it after its thread. */
struct soak_client *soak_client_new(int idx);
void	soak_client_free(struct soak_client *cl);
/* A client thread's part of the current phase (arg: its struct soak_client). */
void	*soak_client_main(void *arg);
/*
 * The main thread, before the warm-up: find the priorities the daemon
 * permits and its CPUs (into soak_cfg), touch every pool the load will use,
 * see that soakrec2 is not there yet.  0 or an errno.
 */
int	soak_client_probe(void);
/*
 * The final phase, for nclients client threads and the main thread: the
 * main thread waits in soak_client_final_in_flight() until every client
 * has its jobs in flight, then in soak_client_final_go() until they have
 * watched or left, then sends SIGTERM; soak_client_final_done() after.
 */
void	soak_client_final_setup(unsigned int nclients);
void	soak_client_final_in_flight(void);
void	soak_client_final_go(void);
void	soak_client_final_done(void);

/* -------------------------------------------------------------- daemon */

struct soak_usage {
	long		su_rss_kb;		/* VmRSS */
	long		su_shadow_kb;		/* of it, a sanitizer's shadow
						 * (soak_daemon_usage) */
	long		su_fds;			/* entries of /proc/PID/fd */
	long		su_plugin_fds;		/* those of them on a *.so: tpoold
						 * keeps one per loaded plugin */
	long		su_threads;		/* Threads */
	long long	su_heap;		/* malloc's bytes in use, -1 unknown */
};

/*
 * Make the folder, copy soakrec.so, start tpoold, wait for READY=1 (in
 * the crash mode with --state-dir).  soak_daemon_restart() starts it again
 * in the same folder once it has ended (soak_daemon_wait()).
 */
int	soak_daemon_start(void);
int	soak_daemon_restart(void);
pid_t	soak_daemon_pid(void);
const char *soak_daemon_dir(void);
const char *soak_daemon_log(void);
const char *soak_daemon_run_ledger(void);
/* Copy soakrec2.so in (and a new soakrec.so over the old with --replace-plugin), send SIGHUP. */
int	soak_daemon_hup(void);
/*
 * The bytes tpoold's malloc has in use (glibc's malloc_stats(), called in
 * it by gdb, read back from its log), or -1 when that cannot be had (no
 * gdb, no ptrace, a sanitizer's allocator).  For --malloc-stats.
 */
long long soak_daemon_heap_in_use(void);
/* Has it ended (on its own)?  Then its wait status. */
bool	soak_daemon_died(int *ret_status);
/* SIGTERM, then wait up to timeout_ms; the wait status or -1. */
int	soak_daemon_term(unsigned int timeout_ms);
/* Wait for its end (after soak_daemon_term's signal); status or -1. */
int	soak_daemon_wait(unsigned int timeout_ms);
/* Sanitizer reports and <3> lines in its log (printed). */
void	soak_daemon_check_log(void);
/* Kill it if alive and remove the folder unless kept or failed. */
void	soak_daemon_cleanup(bool failed);
/* Async-signal-safe: SIGKILL the daemon. */
void	soak_daemon_kill(void);
int	soak_daemon_usage(struct soak_usage *ret_u);

/* --------------------------------------------------------------- crash */

/*
 * The crash mode (--crash KILLS, crash.c): tpoold with a job store under
 * load, killed with SIGKILL KILLS times at random moments and started
 * again; then the proof that every answered submit was found again with
 * one final state and no final state seen was lost.  The exit status.
 */
int	soak_crash_main(void);

#endif /* TP_TESTS_SOAK_H */
