/*
 * options.h -- what the command line and the config file set (options.c).
 * Below everything but the log: every file may read tpd_opt.
 */
#ifndef TPD_OPTIONS_H
#define TPD_OPTIONS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grant.h"

#define	TPD_DEFAULT_SOCKET	"/run/tpool/tpoold.sock"

/*
 * Everything the command line and the config file can set.  Strings are
 * owned (strdup'ed), freed by tpd_options_free().
 */
/* How a plugin's jobs run (--isolation, --plugin-isolation). */
/* --sync: what the job store (store.c) survives. */
enum tpd_sync {
	TPD_SYNC_NORMAL,	/* a crash of the daemon (written,
				 * not synced) */
	TPD_SYNC_FULL,		/* a power loss too (fsync before answers) */
};

/* --audit-log: where each job's end is recorded (audit.c). */
enum tpd_audit {
	TPD_AUDIT_AUTO,		/* journal when stderr is the journal,
				 * else off */
	TPD_AUDIT_JOURNAL,	/* sd_journal_send, structured */
	TPD_AUDIT_STDERR,	/* a log line */
	TPD_AUDIT_OFF,
};

enum tpd_isolation {
	TPD_ISO_THREAD,		/* in tpoold, on the pool's thread */
	TPD_ISO_PROCESS,	/* in a worker process (isolate.c) */
};

/* One --plugin NAME:KEY=VALUE,... (or --plugin-isolation NAME:MODE):
 * the settings it gives, each overriding the daemon-wide option of the
 * key's name for that plugin. */
struct tpd_plugin_conf {
	char			pc_name[65];
	uint64_t		pc_set;		/* bit: the option table's
						 * row */
	struct tpd_options	*pc_vals;	/* owned; only pc_set's rows */
};
struct tpd_plugin_confs {
	struct tpd_plugin_conf	*pcs_v;	/* owned: tpd_options_free() */
	size_t			pcs_n;
};

/* What a plugin's worker processes get: --isolation and the --worker-*
 * and --quarantine-* options, as --plugin overrides them for it. */
struct tpd_worker_conf {
	int		wc_isolation;		/* enum tpd_isolation */
	size_t		wc_memory;
	uint64_t	wc_cpu_ns;
	uint32_t	wc_files;
	uint32_t	wc_procs;
	uint32_t	wc_jobs;
	size_t		wc_growth;
	uint32_t	wc_warm;
	uint32_t	wc_quarantine_crashes;
	uint64_t	wc_quarantine_ns;
	uint64_t	wc_timeout_ns;		/* a job's, unless it asks;
						 * 0: none */
	uint64_t	wc_max_timeout_ns;	/* most a job may ask;
						 * 0: no cap */
	uint64_t	wc_grace_ns;		/* time up to ended */
	uint32_t	wc_retries;		/* a job's, unless it asks */
	uint32_t	wc_max_retries;		/* most a job may ask */
	uint64_t	wc_backoff_ns;		/* before the first retry */
};

struct tpd_options {
	char		*o_socket;		/* -s: socket path */
	char		*o_plugin_dir;		/* -p */
	char		*o_config;		/* -c, or the default file
						 * read */
	bool		o_check_config;		/* --check-config */
	int		o_verbose;		/* -v: debug logs */
	uint32_t	o_max_frame;		/* largest request frame body */
	uint32_t	o_max_jobs;		/* jobs in flight, all users */
	uint32_t	o_max_jobs_per_client;	/* jobs in flight of one uid */
	uint32_t	o_max_connections;
	uint32_t	o_max_connections_per_user; /* of one uid, but root */
	uint32_t	o_max_threads;		/* per pool, 0 = unlimited */
	uint32_t	o_max_running;		/* threads busy in all pools,
						 * 0 = unlimited */
#define	TPD_MAX_RUNNING_AUTO	UINT32_MAX	/* until parsed: derived */
	uint32_t	o_max_idle_threads;	/* idle workers in all pools,
						 * 0 = unlimited */
#define	TPD_MAX_IDLE_AUTO	UINT32_MAX	/* until parsed: derived */
	uint32_t	o_finished_keep;	/* finished jobs kept per uid */
	size_t		o_max_input;		/* bytes of a job's input */
	size_t		o_max_result;		/* bytes of a job's result */
	size_t		o_max_output;		/* bytes queued to one client */
	size_t		o_memory_budget;	/* 0: derived (budget.c) */
	size_t		o_memory_per_user;	/* 0: derived (budget.c) */
	uint64_t	o_idle_timeout_ns;	/* workers', unused pools' */
	uint64_t	o_shutdown_grace_ns;
	uint64_t	o_finished_ttl_ns;
	uint64_t	o_read_timeout_ns;	/* a partial frame's life */
	uint64_t	o_write_timeout_ns;	/* output untaken: dropped */
	uint64_t	o_conn_idle_timeout_ns;	/* an idle connection's life */
	mode_t		o_socket_mode;
	char		*o_socket_group;	/* NULL: the daemon's group */
	char		*o_state_dir;		/* NULL: none */
	char		*o_metrics_listen;	/* HOST:PORT; NULL: none */
	int		o_audit_log;		/* enum tpd_audit */
	char		*o_gearman;		/* gearmand servers;
						 * NULL: none */
	char		*o_gearman_prefix;	/* NULL: "tpool." */
	char		*o_gearman_plugins;	/* NAME,...; NULL: all */
	uint32_t	o_gearman_jobs;		/* at once; 0: o_max_threads */
	int		o_gearman_pool;		/* Tpool__PoolKind */
	int		o_gearman_priority;	/* -1: the default */
	int		o_sync;			/* enum tpd_sync */
	struct tpd_grants o_grants;		/* --grant-priority, all */
	int		o_isolation;		/* enum tpd_isolation:
						 * default */
	struct tpd_plugin_confs o_plugin_confs;	/* per plugin, in order */
	char		*o_worker_program;	/* tpoold-worker */
	char		*o_worker_user;		/* workers' user, when root */
	size_t		o_worker_memory;	/* RLIMIT_AS, 0: none */
	uint64_t	o_worker_cpu_ns;	/* CPU time per job, 0: none */
	uint32_t	o_worker_files;		/* RLIMIT_NOFILE, 0: as is */
	uint32_t	o_worker_procs;		/* RLIMIT_NPROC, 0: as is */
	uint32_t	o_worker_jobs;		/* recycled after, 0: never */
	size_t		o_worker_growth;	/* recycled after RSS grows */
	uint32_t	o_worker_warm;		/* started with the plugin */
	uint32_t	o_quarantine_crashes;	/* in a row; 0: never */
	uint64_t	o_quarantine_ns;
	uint64_t	o_job_timeout_ns;	/* 0: none */
	uint64_t	o_max_job_timeout_ns;	/* 0: no cap */
	uint64_t	o_timeout_grace_ns;
	uint32_t	o_job_retries;		/* a job's, unless it asks */
	uint32_t	o_max_job_retries;	/* most a job may ask */
	uint64_t	o_retry_backoff_ns;	/* before the first retry */
};

/*
 * Fill *opt from the defaults, then the config file (-c), then the command
 * line (which wins).  Returns 0 to run, -1 when --help or --version was
 * handled (exit 0), or an exit status (2 for a usage error, already
 * reported on stderr).  The strings of *opt are the caller's
 * (tpd_options_free()).
 */
int	tpd_options_load(struct tpd_options *opt, int argc, char **argv);
/* Only the defaults (tests and fuzz targets; strings stay NULL). */
void	tpd_options_defaults(struct tpd_options *opt);
void	tpd_options_free(struct tpd_options *opt);

/* The pool kind and priority of plugin name's Gearman jobs (--gearman-pool,
 * --gearman-priority, as --plugin overrides them for it). */
void	tpd_gearman_conf_of(const struct tpd_options *opt, const char *name,
	    int *ret_pool, int *ret_priority);

/*
 * SIGHUP: fresh is the options and the config file read again.  Each
 * setting that changed is applied to cur when it can change live (the
 * limits read where they are used: connections, jobs, input, finished
 * jobs kept, timeouts of idle connections, the shutdown grace, the audit
 * log), or logged as taking effect at the next start; grant-priority and
 * the per-plugin settings are not compared (read at start).  The number
 * applied.  Loop thread.
 */
unsigned int tpd_options_apply_reload(struct tpd_options *cur,
	    const struct tpd_options *fresh);

/* A numeric setting, for Stats (tpd_options_foreach_limit). */
enum tpd_limit_unit {
	TPD_LIMIT_COUNT,
	TPD_LIMIT_BYTES,
	TPD_LIMIT_NS,
};

/*
 * Call fn for each numeric setting of opt (counts, sizes, durations) in
 * the order of tpoold --help, with its option name (static) and value as
 * set (0 where the option means "derived", before tpd_options_load
 * resolves it).
 */
void	tpd_options_foreach_limit(const struct tpd_options *opt,
	    void (*fn)(const char *name, uint64_t value,
	    enum tpd_limit_unit unit, void *arg), void *arg);

/* The settings of plugin name: the daemon's, with every --plugin (and
 * --plugin-isolation) of that name applied in order. */
void	tpd_worker_conf_of(const struct tpd_options *opt, const char *name,
	    struct tpd_worker_conf *ret);
/* Its isolation alone. */
int	tpd_isolation_of(const struct tpd_options *opt, const char *name);
/* May any plugin run in isolation "process" (the default, or a plugin's
 * setting)? */
bool	tpd_isolation_any_process(const struct tpd_options *opt);
/* "thread" or "process". */
const char *tpd_isolation_name(int isolation);

/*
 * The daemon's options: filled before set-up, read-only after it, read by
 * every thread (worker threads read o_max_result).
 */
extern struct tpd_options tpd_opt;

#endif /* TPD_OPTIONS_H */
