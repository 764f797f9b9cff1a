/*
 * options.c -- tpoold's settings: defaults, the config file and the command
 * line, in that order of strength (the command line wins).
 *
 * The config file (-c FILE) has one "key = value" per line, # starts a
 * comment, blank lines are fine; the keys are the long options' names
 * without "--" (socket, plugin-dir, max-jobs, ...; "verbose = yes").  One
 * table (opt_table) describes every setting, so a new one is one row here,
 * one field in struct tpd_options, and a line in tpoold(8).
 *
 * Sizes take K, M or G (binary) suffixes; durations take ms, s, m or h
 * (bare numbers are seconds).  grant-priority may be given many times:
 * every one, from the file and the command line, is added (grant.c).
 *
 * (Over 800 lines: opt_table alone takes some 200 of them, and all that
 * reads settings walks it: the value parsers, the config file, the command
 * line, reload, --help and --config-sample.  Kept together, a new setting
 * stays one row.)
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "options.h"
#include "tpool.pb-c.h"

struct tpd_options tpd_opt;

#ifndef TPOOLD_WORKER
#define	TPOOLD_WORKER		"/usr/local/libexec/tpool/tpoold-worker"
#endif

#ifndef TPOOLD_PLUGIN_DIR
#define	TPOOLD_PLUGIN_DIR	"/usr/local/lib/tpool/plugins"
#endif

enum opt_kind {
	OPT_STRING,	/* char *, strdup'ed */
	OPT_COUNT,	/* uint32_t */
	OPT_SIZE,	/* size_t, or uint32_t for max-frame (OPT_SIZE32) */
	OPT_SIZE32,
	OPT_DURATION,	/* uint64_t nanoseconds */
	OPT_MODE,	/* mode_t, octal */
	OPT_BOOL,	/* int */
	OPT_GRANT,	/* struct tpd_grants: each one given is added */
	OPT_ISOLATION,	/* int: enum tpd_isolation */
	OPT_SYNC,	/* int: enum tpd_sync */
	OPT_AUDIT,	/* int: enum tpd_audit */
	OPT_PLUGIN_ISO,	/* struct tpd_plugin_confs: NAME:MODE, added */
	OPT_PLUGIN,	/* struct tpd_plugin_confs: NAME:KEY=VALUE,..., added */
	OPT_POOLKIND,	/* int: Tpool__PoolKind, unbound or percpu */
	OPT_PRIORITY,	/* int: -1 (the default) or a tp_pri_t, 0..138 */
};

struct opt_row {
	const char	*or_name;	/* long option and config key */
	int		or_short;	/* short option, or a value >= 256 */
	enum opt_kind	or_kind;
	size_t		or_offset;	/* in struct tpd_options */
	uint64_t	or_min;		/* numbers: bounds */
	uint64_t	or_max;
	const char	*or_arg;	/* for --help */
	const char	*or_help;
};

#define	OFF(f)	offsetof(struct tpd_options, f)
#define	NS_S	1000000000ull

static const struct opt_row opt_table[] = {
	{ "socket", 's', OPT_STRING, OFF(o_socket), 0, 0, "PATH",
	  "listen on PATH (default " TPD_DEFAULT_SOCKET ")" },
	{ "plugin-dir", 'p', OPT_STRING, OFF(o_plugin_dir), 0, 0, "DIR",
	  "load plugins from DIR (default " TPOOLD_PLUGIN_DIR ")" },
	{ "verbose", 'v', OPT_BOOL, OFF(o_verbose), 0, 1, NULL,
	  "log debug messages too" },
	{ "max-frame", 256, OPT_SIZE32, OFF(o_max_frame), 64, 256u << 20,
	    "BYTES",
	  "largest request frame (default 1M)" },
	{ "max-jobs", 257, OPT_COUNT, OFF(o_max_jobs), 1, 16u << 20, "N",
	  "jobs queued or running, all clients (default 262144)" },
	{ "max-jobs-per-client", 258, OPT_COUNT, OFF(o_max_jobs_per_client), 1,
	    16u << 20, "N",
	  "jobs queued or running of one user (default 131072)" },
	{ "max-connections", 259, OPT_COUNT, OFF(o_max_connections), 1,
	    1u << 20, "N",
	  "client connections at once (default 1024)" },
	{ "max-input", 260, OPT_SIZE, OFF(o_max_input), 0, 256u << 20, "BYTES",
	  "largest job input (default 1M)" },
	{ "max-result", 261, OPT_SIZE, OFF(o_max_result), 0, 256u << 20,
	    "BYTES",
	  "largest job result; a bigger one fails the job (default 1M)" },
	{ "max-output", 262, OPT_SIZE, OFF(o_max_output), 64u << 10, 4ull << 30,
	    "BYTES",
	  "output queued to a client that does not read before it is dropped "
	      "(default 64M)" },
	{ "max-threads", 263, OPT_COUNT, OFF(o_max_threads), 0, 1u << 20, "N",
	  "worker threads per pool, 0 = unlimited (default: the CPUs the "
	      "daemon may use, at least 2)" },
	{ "max-running", 276, OPT_COUNT, OFF(o_max_running), 0, 1u << 20,
	    "N",
	  "jobs running at once in all pools together, 0 = unlimited (default: "
	      "4 per CPU the daemon may use, at least 16 and --max-threads)" },
	{ "max-idle-threads", 291, OPT_COUNT, OFF(o_max_idle_threads), 0,
	    1u << 20, "N",
	  "idle workers kept in all pools together, 0 = unlimited; one more "
	      "exits at once (default: 4 per CPU the daemon may use, at least "
	      "16)" },
	{ "idle-timeout", 264, OPT_DURATION, OFF(o_idle_timeout_ns), 1000000,
	    86400 * NS_S, "TIME",
	  "idle workers exit after TIME, and unused pools and worker processes "
	      "past --worker-warm are released after it (default 30s)" },
	{ "shutdown-grace", 265, OPT_DURATION, OFF(o_shutdown_grace_ns), 0,
	    86400 * NS_S, "TIME",
	  "on SIGTERM, how long running jobs may take to stop (default 10s)" },
	{ "finished-keep", 266, OPT_COUNT, OFF(o_finished_keep), 0, 16u << 20,
	    "N",
	  "finished jobs kept for status queries, per user (default 1000)" },
	{ "finished-ttl", 267, OPT_DURATION, OFF(o_finished_ttl_ns), 0,
	    30 * 86400 * NS_S, "TIME",
	  "how long a finished job stays queryable (default 10m)" },
	{ "socket-mode", 268, OPT_MODE, OFF(o_socket_mode), 0, 0777, "MODE",
	  "permissions of a socket tpoold creates (default 0666)" },
	{ "socket-group", 269, OPT_STRING, OFF(o_socket_group), 0, 0, "GROUP",
	  "group of a socket tpoold creates" },
	{ "grant-priority", 290, OPT_GRANT, OFF(o_grants), 0, 0,
	    "[@]WHO:MAXPRI",
	  "let user WHO, or the members of group @WHO (a name or an id), ask "
	      "for job priorities up to MAXPRI (20..138; others: 19, nice 0; "
	      "repeatable)" },
	{ "read-timeout", 270, OPT_DURATION, OFF(o_read_timeout_ns), 0,
	    86400 * NS_S, "TIME",
	  "a request frame must arrive whole within TIME of its first byte, 0 "
	      "= no "
	  "limit (default 30s)" },
	{ "memory-budget", 274, OPT_SIZE, OFF(o_memory_budget), 0,
	    1ull << 40, "BYTES",
	  "memory all clients together may make the daemon hold: jobs, "
	      "results kept, unread output "
	      "(default: a quarter of the machine's "
	      "or the cgroup's memory)" },
	{ "memory-per-user", 275, OPT_SIZE, OFF(o_memory_per_user), 0,
	    1ull << 40, "BYTES",
	  "of it, what one user may make it hold (default: a quarter of "
	      "--memory-budget)" },
	{ "max-connections-per-user", 271, OPT_COUNT,
	    OFF(o_max_connections_per_user), 1, 1u << 20, "N",
	  "client connections of one user at once, root not counted "
	      "(default 64)" },
	{ "write-timeout", 272, OPT_DURATION, OFF(o_write_timeout_ns), 0,
	    86400 * NS_S, "TIME",
	  "a client whose output waits TIME with none of it read is dropped, "
	      "0 = never (default 30s)" },
	{ "connection-idle-timeout", 273, OPT_DURATION,
	    OFF(o_conn_idle_timeout_ns), 0, 30 * 86400 * NS_S, "TIME",
	  "a connection that sends, reads and waits for nothing for TIME is "
	      "closed, 0 = never (default 5m)" },
	{ "isolation", 292, OPT_ISOLATION, OFF(o_isolation), 0, 0,
	    "thread|process",
	  "how plugins run by default: in tpoold's pool threads (thread, "
	      "the default: fast, for trusted plugins) or in worker processes "
	      "that contain their crashes (process)" },
	{ "plugin-isolation", 293, OPT_PLUGIN_ISO, OFF(o_plugin_confs),
	    0, 0, "NAME:MODE",
	  "run plugin NAME as MODE (thread or process) whatever --isolation "
	      "says (repeatable; --plugin NAME:isolation=MODE)" },
	{ "plugin", 305, OPT_PLUGIN, OFF(o_plugin_confs), 0, 0,
	    "NAME:KEY=VALUE[,...]",
	  "settings of plugin NAME that override the daemon's: KEY is "
	      "isolation, worker-memory, worker-cpu-time, worker-files, "
	      "worker-procs, worker-jobs, worker-memory-growth, worker-warm, "
	      "quarantine-crashes, quarantine-time, job-timeout, "
	      "max-job-timeout, timeout-grace, job-retries, max-job-retries "
	      "or retry-backoff (repeatable)" },
	{ "worker-program", 294, OPT_STRING, OFF(o_worker_program), 0, 0,
	    "PATH",
	  "the worker process of isolation process (default "
	      TPOOLD_WORKER ")" },
	{ "worker-user", 295, OPT_STRING, OFF(o_worker_user), 0, 0, "USER",
	  "when tpoold runs as root, worker processes run as USER (default "
	      "nobody)" },
	{ "worker-memory", 296, OPT_SIZE, OFF(o_worker_memory), 0,
	    1ull << 46, "BYTES",
	  "address space of a worker process, 0 = unlimited (default 4G)" },
	{ "worker-cpu-time", 297, OPT_DURATION, OFF(o_worker_cpu_ns), 0,
	    86400 * NS_S * 365, "TIME",
	  "CPU time a job may use in a worker process; over it tpoold ends the "
	      "worker and the job fails; 0 = unlimited (default 0)" },
	{ "worker-files", 298, OPT_COUNT, OFF(o_worker_files), 0, 1u << 20,
	    "N",
	  "open files of a worker process, 0 = as inherited (default 256)" },
	{ "worker-procs", 299, OPT_COUNT, OFF(o_worker_procs), 0, 1u << 22,
	    "N",
	  "processes and threads of the worker user (RLIMIT_NPROC), 0 = as "
	      "inherited (default 0)" },
	{ "worker-jobs", 300, OPT_COUNT, OFF(o_worker_jobs), 0, 1u << 30,
	    "N",
	  "a worker process is replaced after N jobs, 0 = never (default "
	      "10000)" },
	{ "worker-memory-growth", 301, OPT_SIZE, OFF(o_worker_growth), 0,
	    1ull << 46, "BYTES",
	  "a worker process is replaced once its resident memory grew by BYTES "
	      "since its first job, 0 = never (default 64M)" },
	{ "worker-warm", 302, OPT_COUNT, OFF(o_worker_warm), 0, 1024, "N",
	  "worker processes started with each plugin of isolation process "
	      "(default 1)" },
	{ "quarantine-crashes", 303, OPT_COUNT, OFF(o_quarantine_crashes), 0,
	    1u << 20, "N",
	  "a plugin of isolation process whose workers crash N times in a row "
	      "is quarantined: refused (ERROR_PLUGIN_QUARANTINED) until "
	      "--quarantine-time passes or SIGHUP; 0 = never (default 5)" },
	{ "quarantine-time", 304, OPT_DURATION, OFF(o_quarantine_ns), NS_S,
	    86400 * NS_S * 30, "TIME",
	  "how long a quarantine lasts (default 10m)" },
	{ "job-timeout", 306, OPT_DURATION, OFF(o_job_timeout_ns), 0,
	    86400 * NS_S * 30, "TIME",
	  "how long a job may run unless it asks "
	      "(tpctl submit --timeout): then "
	      "it is asked to stop, and ended timed out; 0 = no limit "
	      "(default 0)" },
	{ "max-job-timeout", 307, OPT_DURATION, OFF(o_max_job_timeout_ns), 0,
	    86400 * NS_S * 30, "TIME",
	  "the longest a job may ask to run; 0 = no cap (default 0)" },
	{ "job-retries", 310, OPT_COUNT, OFF(o_job_retries), 0, 100, "N",
	  "how many times a job that failed, crashed, timed out or was "
	      "interrupted is run again, unless it asks (tpctl submit "
	      "--retries) (default 0)" },
	{ "max-job-retries", 311, OPT_COUNT, OFF(o_max_job_retries), 0, 100,
	    "N",
	  "the most retries a job may ask for (default 10)" },
	{ "retry-backoff", 312, OPT_DURATION, OFF(o_retry_backoff_ns),
	    1000000, 3600 * NS_S, "TIME",
	  "the wait before a job's first retry, doubled for each next one, "
	      "at most 1h (default 1s)" },
	{ "timeout-grace", 308, OPT_DURATION, OFF(o_timeout_grace_ns), 0,
	    86400 * NS_S, "TIME",
	  "after its time is up, how long a job has to stop before it is "
	      "ended: its worker process killed, or its thread written off "
	      "(default 5s)" },
	{ "state-dir", 277, OPT_STRING, OFF(o_state_dir), 0, 0, "DIR",
	  "keep every accepted job, its state and its result in DIR/jobs.db "
	      "(SQLite), so that jobs survive a restart or a crash of the "
	      "daemon, and the job id mark, so ids are never reused (default: "
	      "none; jobs in memory only)" },
	{ "metrics-listen", 313, OPT_STRING, OFF(o_metrics_listen), 0, 0,
	    "HOST:PORT",
	  "serve the metrics (Prometheus text format) over HTTP at "
	      "http://HOST:PORT/metrics, e.g. 127.0.0.1:9464 (default: none, "
	      "or the socket systemd passes named \"metrics\")" },
	{ "audit-log", 314, OPT_AUDIT, OFF(o_audit_log), 0, 0,
	    "auto|journal|stderr|off",
	  "one entry per job that ends (id, plugin, uid, state, times): "
	      "journal (structured fields), stderr (a log line) or off; auto "
	      "(the default) is journal when stderr is the journal, else off" },
	{ "gearman", 315, OPT_STRING, OFF(o_gearman), 0, 0,
	    "HOST[:PORT][,...]",
	  "also serve as a Gearman worker of these gearmand servers (port "
	      "4730 unless given): each plugin is registered as a function "
	      "(default: none)" },
	{ "gearman-prefix", 316, OPT_STRING, OFF(o_gearman_prefix), 0, 0,
	    "PREFIX",
	  "a plugin's Gearman function is PREFIX followed by its name "
	      "(default \"tpool.\")" },
	{ "gearman-plugins", 317, OPT_STRING, OFF(o_gearman_plugins), 0, 0,
	    "NAME[,...]",
	  "register only these plugins with gearmand (default: every plugin "
	      "loaded)" },
	{ "gearman-jobs", 318, OPT_COUNT, OFF(o_gearman_jobs), 0, 4096, "N",
	  "Gearman jobs taken at once, none while the daemon has jobs "
	      "waiting; 0 = --max-threads (the default)" },
	{ "gearman-pool", 319, OPT_POOLKIND, OFF(o_gearman_pool), 0, 0,
	    "unbound|percpu",
	  "the pool Gearman jobs run on: the unbound pool (the default) or "
	      "the per-CPU pool of a CPU the daemon picks "
	      "(per plugin: --plugin "
	      "NAME:gearman-pool=percpu)" },
	{ "gearman-priority", 320, OPT_PRIORITY, OFF(o_gearman_priority), 0,
	    138, "P",
	  "the priority of Gearman jobs' pool, 0..138, or -1 for the default "
	      "(per plugin: --plugin NAME:gearman-priority=P)" },
	{ "sync", 309, OPT_SYNC, OFF(o_sync), 0, 0, "normal|full",
	  "with --state-dir: normal (the default) keeps what was answered "
	      "across a crash of the daemon; full also across a power loss "
	      "(an fsync before each group of submits is answered)" },
};
#define	OPT_NROWS	(sizeof(opt_table) / sizeof(opt_table[0]))
_Static_assert(OPT_NROWS <= 64, "struct tpd_plugin_conf's pc_set has a "
    "bit per row");

#define	OPT_CONFIG	'c'
#define	OPT_HELP	'h'
#define	OPT_VERSION	'V'
#define	OPT_CHECK	1001	/* --check-config */
#define	OPT_SAMPLE	1002	/* --config-sample */

#ifndef TPOOLD_CONFIG
#define	TPOOLD_CONFIG	"/etc/tpool/tpoold.conf"
#endif

/*
 * The settings a SIGHUP may change in a running daemon: each is read
 * where it is used, on the loop thread, so the next use sees the new
 * value (a new connection, the next submit, the next forgetting of
 * finished jobs, the next stop, the next job's end).
 */
static const char *const opt_live[] = {
	"max-connections", "max-connections-per-user", "max-input",
	"max-jobs", "max-jobs-per-client", "finished-keep", "finished-ttl",
	"shutdown-grace", "connection-idle-timeout", "audit-log",
};

static bool
opt_is_live(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(opt_live) / sizeof(opt_live[0]); i++)
		if (strcmp(opt_live[i], name) == 0)
			return true;
	return false;
}

static size_t opt_field_size(const struct opt_row *);

unsigned int
tpd_options_apply_reload(struct tpd_options *cur,
    const struct tpd_options *fresh)
{
	const struct opt_row *row;
	const char *a, *b;
	unsigned int applied = 0;
	size_t i, sz;
	bool differs;

	for (i = 0; i < OPT_NROWS; i++) {
		row = &opt_table[i];
		if (row->or_kind == OPT_STRING) {
			memcpy(&a, (const char *)cur + row->or_offset,
			    sizeof(a));
			memcpy(&b, (const char *)fresh + row->or_offset,
			    sizeof(b));
			differs = (a == NULL) != (b == NULL) ||
			    (a != NULL && strcmp(a, b) != 0);
		} else if ((sz = opt_field_size(row)) != 0) {
			differs = memcmp((const char *)cur + row->or_offset,
			    (const char *)fresh + row->or_offset, sz) != 0;
		} else {
			continue;
		}
		if (!differs)
			continue;
		if (row->or_kind != OPT_STRING && opt_is_live(row->or_name)) {
			memcpy((char *)cur + row->or_offset,
			    (const char *)fresh + row->or_offset, sz);
			tpd_notice("SIGHUP: %s changed: applied", row->or_name);
			applied++;
		} else {
			tpd_warn("SIGHUP: %s changed: it takes effect at the "
			    "next start (a restart)", row->or_name);
		}
	}
	return applied;
}

void
tpd_options_foreach_limit(const struct tpd_options *opt,
    void (*fn)(const char *, uint64_t, enum tpd_limit_unit, void *),
    void *arg)
{
	const char *base = (const char *)opt;
	const struct opt_row *row;
	uint32_t u32;
	size_t i, sz;
	uint64_t u64;

	for (i = 0; i < OPT_NROWS; i++) {
		row = &opt_table[i];
		switch (row->or_kind) {
		case OPT_COUNT:
		case OPT_SIZE32:
			memcpy(&u32, base + row->or_offset, sizeof(u32));
			fn(row->or_name, u32, row->or_kind == OPT_COUNT ?
			    TPD_LIMIT_COUNT : TPD_LIMIT_BYTES, arg);
			break;
		case OPT_SIZE:
			memcpy(&sz, base + row->or_offset, sizeof(sz));
			fn(row->or_name, sz, TPD_LIMIT_BYTES, arg);
			break;
		case OPT_DURATION:
			memcpy(&u64, base + row->or_offset, sizeof(u64));
			fn(row->or_name, u64, TPD_LIMIT_NS, arg);
			break;
		default:
			break;
		}
	}
}

/*
 * Workers per pool by default: one per CPU the daemon may use (at least
 * 2), which is what CPU-bound plugins can use.  libtp gives a job that
 * finds no idle worker a new one at once; uncapped, a stream of short jobs
 * grows a pool far past the CPUs and every extra worker costs wakeups
 * (pipelined null jobs: 300 k/s at 2 workers on 2 CPUs, 160 k/s at 8),
 * and a client could make the daemon hold a thread per job it submits.
 * Plugins that block raise it with --max-threads.
 */
static unsigned int
options_default_max_threads(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 2;
	n = CPU_COUNT(&set);
	return n > 2 ? (unsigned int)n : 2;
}

/* 4 per CPU the daemon may use, at least 16. */
static uint32_t
options_four_per_cpu(void)
{
	uint32_t n = 4 * options_default_max_threads();

	return n < 16 ? 16 : n;
}

/*
 * Jobs running at once in all pools, by default: 4 per CPU the daemon may
 * use, at least 16, and at least one pool's cap (so that raising
 * --max-threads for blocking plugins is enough).  Without it, a client
 * spreading jobs over every priority and CPU would have each pool's cap
 * in threads.
 */
static uint32_t
options_default_max_running(const struct tpd_options *opt)
{
	uint32_t n = options_four_per_cpu();

	if (opt->o_max_threads > n)
		n = opt->o_max_threads;
	return n;
}

void
tpd_options_defaults(struct tpd_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->o_max_frame = TP_FRAME_MAX_DEFAULT;
	opt->o_max_jobs = 262144;
	opt->o_max_jobs_per_client = 131072;
	opt->o_max_connections = 1024;
	opt->o_max_input = 1u << 20;
	opt->o_max_result = 1u << 20;
	opt->o_max_output = 64u << 20;
	opt->o_max_threads = options_default_max_threads();
	opt->o_max_running = TPD_MAX_RUNNING_AUTO;
	opt->o_max_idle_threads = TPD_MAX_IDLE_AUTO;
	opt->o_worker_memory = 4ull << 30;
	opt->o_worker_files = 256;
	opt->o_worker_jobs = 10000;
	opt->o_worker_growth = 64u << 20;
	opt->o_worker_warm = 1;
	opt->o_quarantine_crashes = 5;
	opt->o_quarantine_ns = 600 * NS_S;
	opt->o_timeout_grace_ns = 5 * NS_S;
	opt->o_max_job_retries = 10;
	opt->o_retry_backoff_ns = NS_S;
	opt->o_idle_timeout_ns = 30 * NS_S;
	opt->o_shutdown_grace_ns = 10 * NS_S;
	opt->o_finished_keep = 1000;
	opt->o_finished_ttl_ns = 600 * NS_S;
	opt->o_socket_mode = 0666;
	opt->o_read_timeout_ns = 30 * NS_S;
	opt->o_max_connections_per_user = 64;
	opt->o_write_timeout_ns = 30 * NS_S;
	opt->o_conn_idle_timeout_ns = 300 * NS_S;
	opt->o_gearman_pool = TPOOL__POOL_KIND__POOL_UNBOUND;
	opt->o_gearman_priority = -1;
}

/* Parse an unsigned number with an optional suffix from a table. */
static int
opt_parse_number(const char *s, const char *const *suffixes,
    const uint64_t *mults,
    uint64_t bare_mult, uint64_t *ret)
{
	unsigned long long v;
	uint64_t mult = bare_mult;
	char *end;
	size_t i;

	if (*s < '0' || *s > '9')
		return EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return ERANGE;
	if (*end != '\0') {
		for (i = 0; suffixes[i] != NULL; i++)
			if (strcmp(end, suffixes[i]) == 0)
				break;
		if (suffixes[i] == NULL)
			return EINVAL;
		mult = mults[i];
	}
	if (mult != 0 && v > UINT64_MAX / mult)
		return ERANGE;
	*ret = (uint64_t)v * mult;
	return 0;
}

static int
opt_isolation(const char *value, int *ret)
{
	if (strcmp(value, "thread") == 0)
		*ret = TPD_ISO_THREAD;
	else if (strcmp(value, "process") == 0)
		*ret = TPD_ISO_PROCESS;
	else
		return EINVAL;
	return 0;
}

/* The options a --plugin may set for one plugin. */
static const char *const opt_plugin_keys[] = {
	"isolation", "worker-memory", "worker-cpu-time", "worker-files",
	"worker-procs", "worker-jobs", "worker-memory-growth", "worker-warm",
	"quarantine-crashes", "quarantine-time", "job-timeout",
	"max-job-timeout", "timeout-grace", "job-retries", "max-job-retries",
	"retry-backoff", "gearman-pool", "gearman-priority",
};

static const struct opt_row *opt_find(const char *name);
static int opt_set(struct tpd_options *opt, const struct opt_row *row,
    const char *value, char *why, size_t whylen);

/*
 * Append "NAME:KEY=VALUE[,KEY=VALUE...]" to pcs (iso: "NAME:MODE", the
 * isolation alone).  0, or an errno with why[].
 */
static int
opt_plugin_conf(struct tpd_plugin_confs *pcs, const char *opt,
    const char *text, bool iso, char *why, size_t whylen)
{
	struct tpd_plugin_conf pc, *v;
	const struct opt_row *row;
	const char *colon = strchr(text, ':');
	char buf[512], *pair, *save, *eq;
	size_t len, k;
	int error;

	memset(&pc, 0, sizeof(pc));
	len = colon != NULL ? (size_t)(colon - text) : 0;
	if (colon == NULL || len == 0 || len >= sizeof(pc.pc_name) ||
	    strlen(colon + 1) >= sizeof(buf) || colon[1] == '\0') {
		(void)snprintf(why, whylen, "--%s: '%s' is not %s", opt, text,
		    iso ? "NAME:thread or NAME:process" :
		    "NAME:KEY=VALUE[,KEY=VALUE...]");
		return EINVAL;
	}
	memcpy(pc.pc_name, text, len);
	len = 0;
	if (iso) {
		memcpy(buf, "isolation=", 10);
		len = 10;
	}
	(void)snprintf(buf + len, sizeof(buf) - len, "%.*s",
	    (int)(sizeof(buf) - len - 1), colon + 1);
	if (pcs->pcs_n >= 4096) {
		(void)snprintf(why, whylen, "--%s: more than 4096", opt);
		return EINVAL;
	}
	if ((pc.pc_vals = calloc(1, sizeof(*pc.pc_vals))) == NULL) {
		(void)snprintf(why, whylen, "out of memory");
		return ENOMEM;
	}
	for (pair = strtok_r(buf, ",", &save); pair != NULL;
	    pair = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(pair, '=')) == NULL) {
			(void)snprintf(why, whylen, "--%s %s: '%s' is not "
			    "KEY=VALUE", opt, pc.pc_name, pair);
			goto bad;
		}
		*eq = '\0';
		for (k = 0; k < sizeof(opt_plugin_keys) /
		    sizeof(opt_plugin_keys[0]); k++)
			if (strcmp(pair, opt_plugin_keys[k]) == 0)
				break;
		if (k == sizeof(opt_plugin_keys) / sizeof(opt_plugin_keys[0]) ||
		    (row = opt_find(pair)) == NULL) {
			(void)snprintf(why, whylen, "--%s %s: no setting '%s' "
			    "per plugin", opt, pc.pc_name, pair);
			goto bad;
		}
		if ((error = opt_set(pc.pc_vals, row, eq + 1, why,
		    whylen)) != 0) {
			free(pc.pc_vals);
			if (iso)	/* say it as the option given */
				(void)snprintf(why, whylen, "--%s: '%s' is not "
				    "NAME:thread or NAME:process", opt, text);
			return error;
		}
		pc.pc_set |= 1ull << (row - opt_table);
	}
	if ((v = realloc(pcs->pcs_v, (pcs->pcs_n + 1) * sizeof(*v))) == NULL) {
		(void)snprintf(why, whylen, "out of memory");
		free(pc.pc_vals);
		return ENOMEM;
	}
	v[pcs->pcs_n++] = pc;
	pcs->pcs_v = v;
	return 0;
bad:
	free(pc.pc_vals);
	return EINVAL;
}

/* The bytes of a row's field (0: a string, grants, plugin settings). */
static size_t
opt_field_size(const struct opt_row *row)
{
	switch (row->or_kind) {
	case OPT_COUNT:
	case OPT_SIZE32:
		return sizeof(uint32_t);
	case OPT_SIZE:
		return sizeof(size_t);
	case OPT_DURATION:
		return sizeof(uint64_t);
	case OPT_MODE:
		return sizeof(mode_t);
	case OPT_ISOLATION:
	case OPT_BOOL:
	case OPT_SYNC:
	case OPT_AUDIT:
	case OPT_POOLKIND:
	case OPT_PRIORITY:
		return sizeof(int);
	default:
		return 0;
	}
}

/* *eff: opt with plugin name's --plugin settings over it (numbers only
 * may be read: its strings are opt's). */
static void
opt_effective(const struct tpd_options *opt, const char *name,
    struct tpd_options *eff)
{
	const struct tpd_plugin_conf *pc;
	size_t i, r;

	*eff = *opt;
	for (i = 0; i < opt->o_plugin_confs.pcs_n; i++) {
		pc = &opt->o_plugin_confs.pcs_v[i];
		if (strcmp(pc->pc_name, name) != 0)
			continue;
		for (r = 0; r < OPT_NROWS; r++)
			if (pc->pc_set & (1ull << r))
				memcpy((char *)eff + opt_table[r].or_offset,
				    (const char *)pc->pc_vals +
				    opt_table[r].or_offset,
				    opt_field_size(&opt_table[r]));
	}
}

void
tpd_gearman_conf_of(const struct tpd_options *opt, const char *name,
    int *ret_pool, int *ret_priority)
{
	struct tpd_options eff;

	opt_effective(opt, name, &eff);
	*ret_pool = eff.o_gearman_pool;
	*ret_priority = eff.o_gearman_priority;
}

void
tpd_worker_conf_of(const struct tpd_options *opt, const char *name,
    struct tpd_worker_conf *ret)
{
	struct tpd_options eff;

	opt_effective(opt, name, &eff);
	ret->wc_isolation = eff.o_isolation;
	ret->wc_memory = eff.o_worker_memory;
	ret->wc_cpu_ns = eff.o_worker_cpu_ns;
	ret->wc_files = eff.o_worker_files;
	ret->wc_procs = eff.o_worker_procs;
	ret->wc_jobs = eff.o_worker_jobs;
	ret->wc_growth = eff.o_worker_growth;
	ret->wc_warm = eff.o_worker_warm;
	ret->wc_quarantine_crashes = eff.o_quarantine_crashes;
	ret->wc_quarantine_ns = eff.o_quarantine_ns;
	ret->wc_timeout_ns = eff.o_job_timeout_ns;
	ret->wc_max_timeout_ns = eff.o_max_job_timeout_ns;
	ret->wc_grace_ns = eff.o_timeout_grace_ns;
	ret->wc_retries = eff.o_job_retries;
	ret->wc_max_retries = eff.o_max_job_retries;
	ret->wc_backoff_ns = eff.o_retry_backoff_ns;
}

int
tpd_isolation_of(const struct tpd_options *opt, const char *name)
{
	struct tpd_worker_conf wc;

	tpd_worker_conf_of(opt, name, &wc);
	return wc.wc_isolation;
}

bool
tpd_isolation_any_process(const struct tpd_options *opt)
{
	size_t i;

	if (opt->o_isolation == TPD_ISO_PROCESS)
		return true;
	for (i = 0; i < opt->o_plugin_confs.pcs_n; i++)
		if (tpd_isolation_of(opt,
		    opt->o_plugin_confs.pcs_v[i].pc_name) == TPD_ISO_PROCESS)
			return true;
	return false;
}

const char *
tpd_isolation_name(int isolation)
{
	return isolation == TPD_ISO_PROCESS ? "process" : "thread";
}

/* Set one setting from its text; on error, say why in why[]. */
static int
opt_set(struct tpd_options *opt, const struct opt_row *row, const char *value,
    char *why, size_t whylen)
{
	static const char *const size_sfx[] = { "K", "k", "M", "m", "G", "g",
	    NULL };
	static const uint64_t size_mult[] = { 1u << 10, 1u << 10, 1u << 20,
	    1u << 20,
		1u << 30, 1u << 30 };
	static const char *const dur_sfx[] = { "ms", "s", "m", "h", NULL };
	static const uint64_t dur_mult[] = { 1000000, NS_S, 60 * NS_S,
	    3600 * NS_S };
	void *field = (char *)opt + row->or_offset;
	unsigned long mode;
	uint64_t v = 0;
	char *end, *copy;
	int error = 0;

	switch (row->or_kind) {
	case OPT_GRANT:
		return tpd_grants_add((struct tpd_grants *)field, row->or_name,
		    value, why, whylen);
	case OPT_SYNC:
		if (strcmp(value, "normal") == 0)
			*(int *)field = TPD_SYNC_NORMAL;
		else if (strcmp(value, "full") == 0)
			*(int *)field = TPD_SYNC_FULL;
		else {
			(void)snprintf(why, whylen, "--%s: '%s' is not normal "
			    "or full", row->or_name, value);
			return EINVAL;
		}
		return 0;
	case OPT_AUDIT:
		if (strcmp(value, "auto") == 0)
			*(int *)field = TPD_AUDIT_AUTO;
		else if (strcmp(value, "journal") == 0)
			*(int *)field = TPD_AUDIT_JOURNAL;
		else if (strcmp(value, "stderr") == 0)
			*(int *)field = TPD_AUDIT_STDERR;
		else if (strcmp(value, "off") == 0)
			*(int *)field = TPD_AUDIT_OFF;
		else {
			(void)snprintf(why, whylen, "--%s: '%s' is not auto, "
			    "journal, stderr or off", row->or_name, value);
			return EINVAL;
		}
		return 0;
	case OPT_POOLKIND:
		if (strcmp(value, "unbound") == 0)
			*(int *)field = TPOOL__POOL_KIND__POOL_UNBOUND;
		else if (strcmp(value, "percpu") == 0)
			*(int *)field = TPOOL__POOL_KIND__POOL_PERCPU;
		else {
			(void)snprintf(why, whylen, "--%s: '%s' is not unbound "
			    "or percpu", row->or_name, value);
			return EINVAL;
		}
		return 0;
	case OPT_PRIORITY:
		if (strcmp(value, "-1") == 0 || strcmp(value, "default") == 0) {
			*(int *)field = -1;
			return 0;
		}
		if (opt_parse_number(value, (const char *const[]){ NULL },
		    NULL, 1, &v) != 0 || v > row->or_max) {
			(void)snprintf(why, whylen, "--%s: '%s' is not a "
			    "priority (-1, or 0 to %llu)", row->or_name, value,
			    (unsigned long long)row->or_max);
			return EINVAL;
		}
		*(int *)field = (int)v;
		return 0;
	case OPT_ISOLATION:
		if (opt_isolation(value, (int *)field) != 0) {
			(void)snprintf(why, whylen,
			    "--%s: '%s' is not thread or "
			    "process", row->or_name, value);
			return EINVAL;
		}
		return 0;
	case OPT_PLUGIN_ISO:
	case OPT_PLUGIN:
		return opt_plugin_conf((struct tpd_plugin_confs *)field,
		    row->or_name, value, row->or_kind == OPT_PLUGIN_ISO, why,
		    whylen);
	case OPT_STRING:
		if (*value == '\0') {
			(void)snprintf(why, whylen, "--%s: empty value",
			    row->or_name);
			return EINVAL;
		}
		if ((copy = strdup(value)) == NULL) {
			(void)snprintf(why, whylen, "out of memory");
			return ENOMEM;
		}
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	case OPT_BOOL:
		if (strcmp(value, "1") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "true") == 0 || strcmp(value, "on") == 0)
			*(int *)field = 1;
		else if (strcmp(value, "0") == 0 || strcmp(value, "no") == 0 ||
		    strcmp(value, "false") == 0 || strcmp(value, "off") == 0)
			*(int *)field = 0;
		else {
			(void)snprintf(why, whylen, "--%s: not a boolean: '%s'",
			    row->or_name, value);
			return EINVAL;
		}
		return 0;
	case OPT_MODE:
		errno = 0;
		mode = strtoul(value, &end, 8);
		if (*value == '\0' || *end != '\0' || errno != 0 ||
		    mode > row->or_max) {
			(void)snprintf(why, whylen,
			    "--%s: not an octal mode: '%s'",
			    row->or_name, value);
			return EINVAL;
		}
		*(mode_t *)field = (mode_t)mode;
		return 0;
	case OPT_COUNT:
		error = opt_parse_number(value, (const char *const[]){ NULL },
		    NULL, 1, &v);
		break;
	case OPT_SIZE:
	case OPT_SIZE32:
		error = opt_parse_number(value, size_sfx, size_mult, 1, &v);
		break;
	case OPT_DURATION:
		error = opt_parse_number(value, dur_sfx, dur_mult, NS_S, &v);
		break;
	}
	if (error != 0 || v < row->or_min || v > row->or_max) {
		(void)snprintf(why, whylen, "--%s: '%s' is not a valid %s "
		    "(from %llu to %llu%s)", row->or_name, value,
		    row->or_arg,
		    (unsigned long long)(row->or_kind == OPT_DURATION ?
		    row->or_min / 1000000 : row->or_min),
		    (unsigned long long)(row->or_kind == OPT_DURATION ?
		    row->or_max / 1000000 : row->or_max),
		    row->or_kind == OPT_DURATION ? " ms" : "");
		return EINVAL;
	}
	switch (row->or_kind) {
	case OPT_COUNT:
	case OPT_SIZE32:
		*(uint32_t *)field = (uint32_t)v;
		break;
	case OPT_SIZE:
		*(size_t *)field = (size_t)v;
		break;
	case OPT_DURATION:
		*(uint64_t *)field = v;
		break;
	default:
		break;
	}
	return 0;
}

static const struct opt_row *
opt_find(const char *name)
{
	size_t i;

	for (i = 0; i < OPT_NROWS; i++)
		if (strcmp(opt_table[i].or_name, name) == 0)
			return &opt_table[i];
	return NULL;
}

static char *
opt_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s &&
	    (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Apply the config file; every error is logged, the first returned. */
static int
opt_load_file(struct tpd_options *opt, const char *path)
{
	const struct opt_row *row;
	char line[4096], why[256], *key, *value, *eq, *hash;
	unsigned int lineno = 0;
	FILE *f;
	int error = 0, e;

	if ((f = fopen(path, "re")) == NULL) {
		error = errno;
		tpd_err("%s: %s", path, strerror(error));
		return error;
	}
	/* Every error is said, then the first one returned. */
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			tpd_err("%s:%u: line too long", path, lineno);
			if (error == 0)
				error = EINVAL;
			/* The rest of that line. */
			while (fgets(line, sizeof(line), f) != NULL &&
			    strchr(line, '\n') == NULL)
				continue;
			continue;
		}
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		key = opt_trim(line);
		if (*key == '\0')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			tpd_err("%s:%u: expected 'key = value'", path, lineno);
			if (error == 0)
				error = EINVAL;
			continue;
		}
		*eq = '\0';
		key = opt_trim(key);
		value = opt_trim(eq + 1);
		if ((row = opt_find(key)) == NULL) {
			tpd_err("%s:%u: unknown key '%s'", path, lineno, key);
			if (error == 0)
				error = EINVAL;
			continue;
		}
		if ((e = opt_set(opt, row, value, why, sizeof(why))) != 0) {
			tpd_err("%s:%u: %s", path, lineno, why);
			if (error == 0)
				error = e;
		}
	}
	if (ferror(f)) {
		tpd_err("%s: read error", path);
		if (error == 0)
			error = EIO;
	}
	(void)fclose(f);
	return error;
}

static void
opt_usage(FILE *out)
{
	char left[64];
	size_t i;

	(void)fprintf(out,
	    "Usage: tpoold [OPTION]...\n"
	    "Run plugin jobs on libtp thread pools for clients of a Unix "
	    "socket.\n"
	    "Stays in the foreground and logs to stderr.\n\n");
	for (i = 0; i < OPT_NROWS; i++) {
		const struct opt_row *row = &opt_table[i];

		if (row->or_short < 256)
			(void)snprintf(left, sizeof(left), "-%c, --%s%s%s",
			    row->or_short,
			    row->or_name, row->or_arg ? " " : "", row->or_arg ?
			    row->or_arg : "");
		else
			(void)snprintf(left, sizeof(left), "    --%s%s%s",
			    row->or_name,
			    row->or_arg ? " " : "", row->or_arg ? row->or_arg :
			    "");
		(void)fprintf(out, "  %-34s %s\n", left, row->or_help);
	}
	(void)fprintf(out,
	    "  %-34s %s\n  %-34s %s\n  %-34s %s\n  %-34s %s\n  %-34s %s\n\n"
	    "Sizes take K, M, G suffixes; times take ms, s, m, h (bare: "
	    "seconds).\n"
	    "The config file holds 'key = value' lines with the long option "
	    "names as\n"
	    "keys; the command line wins over it.  See tpoold(8).\n",
	    "-c, --config FILE", "read settings from FILE (default: "
	    TPOOLD_CONFIG ", when it is there)",
	    "--check-config", "check the settings and the folders they name, "
	    "list every error, exit 0 if none",
	    "--config-sample", "print an annotated config file and exit",
	    "-h, --help", "show this help and exit",
	    "-V, --version", "show the version and exit");
}

/* Print text as "# " comment lines of at most 76 columns. */
static void
opt_comment(FILE *out, const char *text)
{
	const char *p = text, *end, *brk;

	while (*p != '\0') {
		end = p + strlen(p);
		if (end - p > 74) {
			for (brk = p + 74; brk > p && *brk != ' '; brk--)
				continue;
			if (brk > p)
				end = brk;
		}
		(void)fprintf(out, "# %.*s\n", (int)(end - p), p);
		p = *end == ' ' ? end + 1 : end;
	}
}

/* --config-sample: every key, its help, commented out. */
static void
opt_sample(FILE *out)
{
	size_t i;

	(void)fprintf(out,
	    "# tpoold.conf -- settings of tpoold(8), read from "
	    TPOOLD_CONFIG "\n"
	    "# when it is there (or the file of -c).  "
	    "One 'key = value' a line;\n"
	    "# the keys are the long options; '#' starts a comment; "
	    "the command\n"
	    "# line wins over the file.  "
	    "Sizes take K, M, G; times ms, s, m, h.\n"
	    "# Check a file with: tpoold --check-config [-c FILE]\n"
	    "# (printed by tpoold --config-sample).\n");
	for (i = 0; i < OPT_NROWS; i++) {
		(void)fprintf(out, "\n");
		opt_comment(out, opt_table[i].or_help);
		(void)fprintf(out, "#%s = %s\n", opt_table[i].or_name,
		    opt_table[i].or_arg != NULL ? opt_table[i].or_arg : "1");
	}
}

int
tpd_options_load(struct tpd_options *opt, int argc, char **argv)
{
	struct option longopts[OPT_NROWS + 6];
	char shortopts[3 * OPT_NROWS + 8], why[256];
	struct { const struct opt_row *row; const char *value; } *given;
	size_t i, ngiven = 0, s = 0;
	const char *config = NULL;
	int c, error;

	tpd_options_defaults(opt);
	given = calloc((size_t)argc + 1, sizeof(*given));
	if (given == NULL) {
		tpd_err("out of memory");
		return 1;
	}

	/* Build getopt's tables from opt_table. */
	for (i = 0; i < OPT_NROWS; i++) {
		longopts[i].name = opt_table[i].or_name;
		longopts[i].has_arg = opt_table[i].or_kind == OPT_BOOL ?
		    no_argument : required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = opt_table[i].or_short;
		if (opt_table[i].or_short < 256) {
			shortopts[s++] = (char)opt_table[i].or_short;
			if (opt_table[i].or_kind != OPT_BOOL)
				shortopts[s++] = ':';
		}
	}
	longopts[i++] = (struct option){ "config", required_argument, NULL,
	    OPT_CONFIG };
	longopts[i++] = (struct option){ "check-config", no_argument, NULL,
	    OPT_CHECK };
	longopts[i++] = (struct option){ "config-sample", no_argument, NULL,
	    OPT_SAMPLE };
	longopts[i++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	longopts[i++] = (struct option){ "version", no_argument, NULL,
	    OPT_VERSION };
	longopts[i] = (struct option){ NULL, 0, NULL, 0 };
	memcpy(shortopts + s, "c:hV", 5);

	/* First pass: remember what the command line says. */
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			config = optarg;
			continue;
		case OPT_CHECK:
			opt->o_check_config = true;
			continue;
		case OPT_SAMPLE:
			opt_sample(stdout);
			free(given);
			return -1;
		case OPT_HELP:
			opt_usage(stdout);
			free(given);
			return -1;
		case OPT_VERSION:
			(void)printf("tpoold (%s) %s\n", PACKAGE_NAME,
			    PACKAGE_VERSION);
			free(given);
			return -1;
		case '?':
			(void)fprintf(stderr,
			    "Try 'tpoold --help' for more information.\n");
			free(given);
			return 2;
		default:
			break;
		}
		for (i = 0; i < OPT_NROWS; i++)
			if (opt_table[i].or_short == c)
				break;
		given[ngiven].row = &opt_table[i];
		given[ngiven].value = opt_table[i].or_kind == OPT_BOOL ? "1" :
		    optarg;
		ngiven++;
	}
	if (optind < argc) {
		(void)fprintf(stderr, "tpoold: unexpected argument '%s'\n"
		    "Try 'tpoold --help' for more information.\n",
		    argv[optind]);
		free(given);
		return 2;
	}

	/*
	 * Then the config file (-c, or the default one when it is there),
	 * then the command line over it.
	 */
	if (config == NULL && access(TPOOLD_CONFIG, F_OK) == 0)
		config = TPOOLD_CONFIG;
	if (config != NULL) {
		if ((opt->o_config = strdup(config)) == NULL ||
		    opt_load_file(opt, config) != 0) {
			free(given);
			return 2;
		}
	}
	for (i = 0; i < ngiven; i++) {
		error = opt_set(opt, given[i].row, given[i].value, why,
		    sizeof(why));
		if (error != 0) {
			tpd_err("%s", why);
			free(given);
			return 2;
		}
	}
	free(given);

	if ((opt->o_socket == NULL &&
	    (opt->o_socket = strdup(TPD_DEFAULT_SOCKET)) == NULL) ||
	    (opt->o_plugin_dir == NULL &&
	    (opt->o_plugin_dir = strdup(TPOOLD_PLUGIN_DIR)) == NULL) ||
	    (opt->o_worker_program == NULL &&
	    (opt->o_worker_program = strdup(TPOOLD_WORKER)) == NULL) ||
	    (opt->o_worker_user == NULL &&
	    (opt->o_worker_user = strdup("nobody")) == NULL)) {
		tpd_err("out of memory");
		return 1;
	}
	if (opt->o_max_jobs_per_client > opt->o_max_jobs)
		opt->o_max_jobs_per_client = opt->o_max_jobs;
	if (opt->o_max_running == TPD_MAX_RUNNING_AUTO)
		opt->o_max_running = options_default_max_running(opt);
	if (opt->o_max_idle_threads == TPD_MAX_IDLE_AUTO)
		opt->o_max_idle_threads = options_four_per_cpu();
	return 0;
}

void
tpd_options_free(struct tpd_options *opt)
{
	free(opt->o_socket);
	free(opt->o_plugin_dir);
	free(opt->o_config);
	free(opt->o_socket_group);
	free(opt->o_state_dir);
	free(opt->o_metrics_listen);
	free(opt->o_gearman);
	free(opt->o_gearman_prefix);
	free(opt->o_gearman_plugins);
	tpd_grants_free(&opt->o_grants);
	for (size_t i = 0; i < opt->o_plugin_confs.pcs_n; i++)
		free(opt->o_plugin_confs.pcs_v[i].pc_vals);
	free(opt->o_plugin_confs.pcs_v);
	free(opt->o_worker_program);
	free(opt->o_worker_user);
	memset(opt, 0, sizeof(*opt));
}
