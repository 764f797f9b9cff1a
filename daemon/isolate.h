/*
 * isolate.h -- a plugin's worker processes, for isolation "process"
 * (isolate.c; the worker is worker.c, their messages isolate-wire.h).
 * Layer: beside plugins, below run.c; calls options and the log.
 *
 * A plugin whose isolation is "process" runs no code of its own in
 * tpoold: its declaration is read (tpd_iso_declaration()), and its
 * constructors, tpp_init, tpp_run and tpp_fini run, in worker processes
 * (tpoold-worker) that load it from the descriptor the daemon checked.  A
 * job still goes to the pool its client asked for: the libtp
 * worker that runs it hands it to a worker process of the plugin, one job
 * at a time per process, after giving that process its own CPU affinity
 * and priority, and relays the plugin's reports back.  A worker that dies
 * fails only its job, with how it died; another is started.
 *
 * Thread safety: a struct tpd_iso is used by the libtp workers running
 * its plugin's jobs at once (its lock guards its idle workers and
 * counters); made and freed by whoever loads and unloads the plugin, when
 * no job of it runs.
 */
#ifndef TPD_ISOLATE_H
#define TPD_ISOLATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tpool/plugin.h>

struct tpd_iso;

/*
 * The workers of plugin name, loaded from plugin_fd (borrowed: it must
 * stay open until tpd_iso_free()).  Starts --worker-warm of them and
 * waits until the first has loaded the plugin and run its tpp_init: 0,
 * or an errno with why[] saying what went wrong (the plugin is then not
 * to be loaded).  *ret is owned by the caller (tpd_iso_free()).  May
 * sleep.
 */
int	tpd_iso_new(const char *name, int plugin_fd, struct tpd_iso **ret,
	    char *why, size_t whylen);
/*
 * A plugin's declaration, read in a worker process (tpoold-worker -d,
 * with the workers' user and limits) from plugin_fd (borrowed): the
 * plugin's constructors run there, never in the daemon.  0 and *ret, or
 * an errno with why[] (it could not be loaded, or its worker died or
 * took over 10 s).  May sleep.
 */
struct tpd_iso_decl {
	bool		dcl_found;	/* TP_PLUGIN_SYMBOL is there */
	bool		dcl_has_run;	/* tpp_run is set */
	uint32_t	dcl_abi_version;
	char		dcl_name[66];	/* as declared; a longer name is
					 * cut to 65 bytes (invalid) */
	char		dcl_description[1025];	/* cut to 1024 bytes */
};
int	tpd_iso_declaration(int plugin_fd, struct tpd_iso_decl *ret,
	    char *why, size_t whylen);

/* End the workers (their tpp_fini runs) and free iso.  No job of it may
 * run.  May sleep. */
void	tpd_iso_free(struct tpd_iso *iso);

/*
 * Run the job of ctx (as tpp_run would: the result, progress and failure
 * message go through ctx's functions, its cancel request is forwarded) in
 * a worker process, at the calling thread's CPU affinity and priority.
 * Returns what the plugin's tpp_run returned; when the worker died, or
 * none could be started, calls ctx_failv with why and returns EIO.
 * *ret_refused_len: a result the plugin offered over max_result (0:
 * none); *ret_cpu_ns: the CPU time the run took in the worker.  Once
 * *kill turns true (the job's time limit and grace are over), the worker
 * is killed: EIO, *ret_killed, no crash counted, no message.  Any thread.
 * Sleeps until the job ends.
 */
int	tpd_iso_run(struct tpd_iso *iso, struct tp_plugin_ctx *ctx,
	    size_t max_result, const atomic_bool *kill, bool *ret_killed,
	    size_t *ret_refused_len, uint64_t *ret_cpu_ns);

/* Close the idle workers past --worker-warm that have been idle for
 * idle_ns (they run tpp_fini and exit; reaped later, without waiting).
 * Any thread. */
void	tpd_iso_trim(struct tpd_iso *iso, uint64_t idle_ns);

/* Counters, read under iso's lock: workers alive now (idle or running),
 * workers started, workers that died with a job. */
struct tpd_iso_stats {
	unsigned int	iss_alive;
	uint64_t	iss_started;
	uint64_t	iss_crashed;
	uint64_t	iss_quarantine_end_ns;	/* tpd_now_ns(); 0: none */
};
void	tpd_iso_stats(struct tpd_iso *iso, struct tpd_iso_stats *ret);

/*
 * Quarantine: after --quarantine-crashes crashes in a row (no job ending
 * between them), the plugin takes no job for --quarantine-time, or until
 * tpd_iso_unquarantine() (SIGHUP).  Is it quarantined at now (ns, the
 * clock of tpd_now_ns())?  If so why[] says for how long and why.  Any
 * thread.
 */
bool	tpd_iso_quarantined(struct tpd_iso *iso, uint64_t now, char *why,
	    size_t whylen);
void	tpd_iso_unquarantine(struct tpd_iso *iso);

#endif /* TPD_ISOLATE_H */
