/*
 * gearman.c -- tpoold as a Gearman worker (--gearman).
 *
 * --gearman-jobs slots, each a thread with its own libgearman worker
 * (registered with every server, one function PREFIX+NAME per plugin) and
 * its own connection to the daemon's socket, as a client of the daemon's
 * own user.  A slot is a client like tpctl: it takes a Gearman job,
 * submits its workload to the plugin, relays the job's progress as
 * WORK_STATUS and its end as WORK_COMPLETE (with the result) or WORK_FAIL
 * (after a WORK_DATA carrying the state and the message), then takes the
 * next.  So a Gearman job meets every limit a local one does, shows in
 * tpctl status (named "gearman HANDLE"), stats and the metrics, and the
 * loop thread needs no lock for it.
 *
 * A slot takes a job only while the daemon has none waiting for a thread
 * (its Stats: nothing queued in a pool, nothing waiting its user's turn),
 * so a busy host leaves Gearman work to idle ones.  A job the daemon
 * refuses for want of room, or still running when the daemon stops, is
 * handed back: the slot drops its connection to gearmand without an
 * answer (libgearman's GEARMAN_ERROR), and gearmand gives the job to
 * another worker.
 *
 * Threads: the slots'.  The loop thread starts them (tpd_gearman_start),
 * bumps the plugin generation (SIGHUP) and, stopping, shuts their daemon
 * sockets down; the main thread joins them once the loop has ended.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libgearman-1.0/gearman.h>

#include "gearman.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "tpclient.h"

/* How long gearman_worker_work() waits for a job before a slot looks at
 * its stop flag, its plugins and the daemon's room again. */
#define	GM_POLL_MS		500
/* While the daemon has jobs waiting: how long before looking again. */
#define	GM_BUSY_MS		20
/* A look that found room holds this long: a slot taking job after job
 * asks the daemon at most 200 times a second, not once a job. */
#define	GM_ROOM_FRESH_NS	(5 * 1000000ull)
/* Retrying unreachable servers (or the daemon's socket): the first wait,
 * doubled each time up to the last. */
#define	GM_BACKOFF_MIN_MS	100
#define	GM_BACKOFF_MAX_MS	5000
#define	GM_DEFAULT_PREFIX	"tpool."

struct gm_slot {
	pthread_t		gs_thread;	/* set before it runs */
	unsigned int		gs_index;	/* set before it runs */
	bool			gs_started;	/* loop thread, then join */

	pthread_mutex_t		gs_lock;
	int			gs_fd;		/* gs_lock: the daemon socket
						 * of gs_conn, -1: none (so
						 * tpd_gearman_stop can shut
						 * it down) */

	/* The slot thread's alone: */
	struct tpc		*gs_conn;	/* to the daemon; NULL: none */
	gearman_worker_st	*gs_worker;
	unsigned int		gs_gen;		/* plugins registered of */
	char			**gs_funcs;	/* functions registered
						 * (owned) */
	unsigned int		gs_nfuncs;
	int			gs_up;		/* servers answered last: 1,
						 * or not: 0; -1: not tried */
	unsigned int		gs_backoff_ms;
	bool			gs_returned;	/* the job in hand was handed
						 * back */
	uint64_t		gs_room_ns;	/* when room was last found
						 * (CLOCK_MONOTONIC); 0: not */
};

static struct gm_slot	*gm_slots;	/* loop thread sets, join frees */
static unsigned int	 gm_nslots;
static atomic_bool	 gm_stopping;
static atomic_uint	 gm_gen = 1;	/* plugins' generation: SIGHUP bumps */
static char		*gm_socket;	/* the daemon's socket (a copy) */
static const char	*gm_prefix;	/* gm_opt's, read-only after start */
/*
 * tpd_opt as it was at the start, for the slots: a SIGHUP writes the live
 * settings of tpd_opt on the loop thread.  Its strings and plugin
 * settings are tpd_opt's, which no SIGHUP replaces.
 */
static struct tpd_options gm_opt;

/* ------------------------------------------------------------- helpers */

static void
gm_sleep_ms(unsigned int ms)
{
	struct timespec ts;

	/* In small steps, so a stop is seen soon. */
	while (ms > 0 && !atomic_load(&gm_stopping)) {
		unsigned int step = ms < 50 ? ms : 50;

		ts.tv_sec = 0;
		ts.tv_nsec = (long)step * 1000000L;
		(void)nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void
gm_backoff(struct gm_slot *s)
{
	s->gs_backoff_ms = s->gs_backoff_ms == 0 ? GM_BACKOFF_MIN_MS :
	    s->gs_backoff_ms * 2 > GM_BACKOFF_MAX_MS ? GM_BACKOFF_MAX_MS :
	    s->gs_backoff_ms * 2;
	gm_sleep_ms(s->gs_backoff_ms);
}

/* Is name one of the comma-separated list (NULL: every name is)? */
static bool
gm_selected(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p, *e;

	if (list == NULL)
		return true;
	for (p = list; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) == n && strncmp(p, name, n) == 0)
			return true;
	}
	return false;
}

static void
gm_set_up(struct gm_slot *s, bool up, const char *why)
{
	if (s->gs_up == (up ? 1 : 0))
		return;
	if (up || s->gs_up == 1)
		tpd_metrics_gearman_up(up);
	s->gs_up = up ? 1 : 0;
	/* One slot speaks for all: they share the servers. */
	if (s->gs_index != 0)
		return;
	if (up)
		tpd_notice("gearman: serving jobs from %s", gm_opt.o_gearman);
	else
		tpd_warn("gearman: cannot reach %s (%s); retrying",
		    gm_opt.o_gearman, why);
}

/* --------------------------------------------------- the daemon's side */

static void
gm_disconnect(struct gm_slot *s)
{
	(void)pthread_mutex_lock(&s->gs_lock);
	s->gs_fd = -1;
	(void)pthread_mutex_unlock(&s->gs_lock);
	tpc_free(s->gs_conn);
	s->gs_conn = NULL;
}

/* Connected to the daemon's socket (again)?  Tries once. */
static bool
gm_connect(struct gm_slot *s)
{
	struct tpc *c;
	int error;

	if (s->gs_conn != NULL)
		return true;
	if ((error = tpc_open(gm_socket, &c)) != 0)
		return false;
	/* Seen by tpd_gearman_stop before we wait for any answer. */
	(void)pthread_mutex_lock(&s->gs_lock);
	if (atomic_load(&gm_stopping)) {
		(void)pthread_mutex_unlock(&s->gs_lock);
		tpc_free(c);
		return false;
	}
	s->gs_conn = c;
	s->gs_fd = tpc_fd(c);
	(void)pthread_mutex_unlock(&s->gs_lock);
	if ((error = tpc_hello(c, "tpoold-gearman", NULL)) != 0) {
		gm_disconnect(s);
		return false;
	}
	s->gs_gen = 0;		/* register again, from this daemon's list */
	return true;
}

/*
 * May the slot take a Gearman job now: no job of the daemon's waits for a
 * thread, and the jobs in flight are under --max-jobs (as the daemon's
 * stats said within GM_ROOM_FRESH_NS)?  false also when the daemon cannot
 * be asked (the connection is dropped then).
 */
static uint64_t
gm_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool
gm_room(struct gm_slot *s)
{
	Tpool__StatsReply *st;
	uint64_t now = gm_now_ns(), max_jobs = UINT64_MAX;
	bool room;
	size_t i;

	if (s->gs_room_ns != 0 && now - s->gs_room_ns < GM_ROOM_FRESH_NS)
		return true;
	s->gs_room_ns = 0;
	if (tpc_stats(s->gs_conn, &st) != 0) {
		gm_disconnect(s);
		return false;
	}
	for (i = 0; i < st->n_limits; i++)
		if (strcmp(st->limits[i]->name, "max-jobs") == 0)
			max_jobs = st->limits[i]->value;
	room = st->jobs_waiting_turn == 0 && st->jobs_in_flight < max_jobs;
	for (i = 0; room && i < st->n_pools; i++)
		if (st->pools[i]->queued > 0)
			room = false;
	tpool__stats_reply__free_unpacked(st, NULL);
	if (room)
		s->gs_room_ns = now;
	return room;
}

/* ------------------------------------------------------------ the jobs */

/* Relay a job's progress as WORK_STATUS (percent of 100). */
static void
gm_event(const Tpool__Event *ev, void *arg)
{
	gearman_job_st *gj = arg;

	if (ev->kind_case == TPOOL__EVENT__KIND_PROGRESS &&
	    ev->progress != NULL)
		(void)gearman_job_send_status(gj, ev->progress->percent, 100);
}

/*
 * Fail the Gearman job: why as WORK_DATA, then WORK_FAIL.  (gearmand
 * 1.1 ends a job at its WORK_EXCEPTION and passes that only to clients
 * that asked for exceptions: the others would never hear of the end.)
 */
static void *
gm_fail(gearman_job_st *gj, gearman_return_t *ret, const char *why)
{
	(void)gearman_job_send_data(gj, why, strlen(why));
	*ret = GEARMAN_FAIL;
	tpd_metrics_gearman_ended(TPD_GEARMAN_FAILED);
	return NULL;
}

/* Hand the Gearman job back: gearmand gives it to another worker. */
static void *
gm_return(struct gm_slot *s, gearman_return_t *ret)
{
	s->gs_returned = true;
	*ret = GEARMAN_ERROR;
	tpd_metrics_gearman_ended(TPD_GEARMAN_RETURNED);
	return NULL;
}

/*
 * libgearman's function callback: run one Gearman job as a tpoold job.
 * Returns the result (malloc'ed: libgearman frees it) with *ret
 * GEARMAN_SUCCESS, or NULL with GEARMAN_FAIL (failed) or GEARMAN_ERROR
 * (handed back).
 */
static void *
gm_job(gearman_job_st *gj, void *ctx, size_t *result_size,
    gearman_return_t *ret)
{
	struct tpc_submit_args a = TPC_SUBMIT_ARGS_INIT;
	struct gm_slot *s = ctx;
	const char *fn = gearman_job_function_name(gj), *m = NULL;
	Tpool__JobInfo *final = NULL;
	Tpool__ErrorCode code;
	char name[160], why[512];
	void *result = NULL;
	uint64_t id;
	int pool, pri, error;

	*result_size = 0;
	tpd_metrics_gearman_taken();
	if (atomic_load(&gm_stopping) || !gm_connect(s))
		return gm_return(s, ret);
	if (fn == NULL || strncmp(fn, gm_prefix, strlen(gm_prefix)) != 0)
		return gm_fail(gj, ret, "ERROR_UNKNOWN_PLUGIN: not a "
		    "function of this worker");
	a.tsa_plugin = fn + strlen(gm_prefix);
	a.tsa_input = gearman_job_workload(gj);
	a.tsa_input_len = gearman_job_workload_size(gj);
	(void)snprintf(name, sizeof(name), "gearman %s",
	    gearman_job_handle(gj));
	a.tsa_name = name;
	tpd_gearman_conf_of(&gm_opt, a.tsa_plugin, &pool, &pri);
	a.tsa_pool = (Tpool__PoolKind)pool;
	a.tsa_priority = pri;
	a.tsa_cpu = -1;
	if ((error = tpc_submit(s->gs_conn, &a, &id)) != 0) {
		if (error == EMSGSIZE)
			return gm_fail(gj, ret, "ERROR_FRAME_TOO_LARGE: the "
			    "workload is larger than the daemon's frames");
		if (error != TPC_EDAEMON) {
			gm_disconnect(s);
			return gm_return(s, ret);
		}
		code = tpc_last_error(s->gs_conn, &m);
		switch (code) {
		case TPOOL__ERROR_CODE__ERROR_TOO_MANY_JOBS:
		case TPOOL__ERROR_CODE__ERROR_SHUTTING_DOWN:
		case TPOOL__ERROR_CODE__ERROR_OVER_BUDGET:
		case TPOOL__ERROR_CODE__ERROR_STORE:
			/* No room here now: another worker may have it. */
			return gm_return(s, ret);
		default:
			(void)snprintf(why, sizeof(why), "%s: %s",
			    tp_error_name(code), m != NULL ? m : "");
			return gm_fail(gj, ret, why);
		}
	}
	if ((error = tpc_wait_job(s->gs_conn, id, &final, gm_event, gj)) !=
	    0) {
		/* The daemon is stopping (our socket was shut down). */
		gm_disconnect(s);
		return gm_return(s, ret);
	}
	if (final->state != TPOOL__JOB_STATE__JOB_SUCCEEDED) {
		(void)snprintf(why, sizeof(why), "%s: %s",
		    tp_state_name(final->state), final->message != NULL ?
		    final->message : "");
		tpool__job_info__free_unpacked(final, NULL);
		return gm_fail(gj, ret, why);
	}
	if (final->has_result && final->result.len > 0) {
		if ((result = malloc(final->result.len)) == NULL) {
			tpool__job_info__free_unpacked(final, NULL);
			return gm_fail(gj, ret, "ERROR_INTERNAL: out of "
			    "memory for the result");
		}
		memcpy(result, final->result.data, final->result.len);
		*result_size = final->result.len;
	}
	tpool__job_info__free_unpacked(final, NULL);
	*ret = GEARMAN_SUCCESS;
	tpd_metrics_gearman_ended(TPD_GEARMAN_COMPLETED);
	return result;
}

/* ------------------------------------------------------------ the slots */

/* Is plugin name among those of pl? */
static bool
gm_listed(const Tpool__PluginList *pl, const char *name)
{
	size_t i;

	for (i = 0; i < pl->n_plugins; i++)
		if (strcmp(pl->plugins[i]->name, name) == 0 &&
		    gm_selected(gm_opt.o_gearman_plugins, name))
			return true;
	return false;
}

/*
 * Register a function for each plugin the daemon has now (of
 * --gearman-plugins) and unregister those of plugins gone.  false: the
 * daemon could not be asked (the connection is dropped).
 */
static bool
gm_register(struct gm_slot *s)
{
	Tpool__PluginList *pl;
	unsigned int gen = atomic_load(&gm_gen);
	char fn[GEARMAN_FUNCTION_MAX_SIZE], **v;
	size_t i, j, n = 0;

	if (tpc_list_plugins(s->gs_conn, &pl) != 0) {
		gm_disconnect(s);
		return false;
	}
	/* Those gone first. */
	for (i = 0; i < s->gs_nfuncs; i++) {
		if (gm_listed(pl, s->gs_funcs[i] + strlen(gm_prefix))) {
			s->gs_funcs[n++] = s->gs_funcs[i];
			continue;
		}
		(void)gearman_worker_unregister(s->gs_worker, s->gs_funcs[i]);
		if (s->gs_index == 0)
			tpd_info("gearman: %s unregistered (its plugin is "
			    "gone)", s->gs_funcs[i]);
		free(s->gs_funcs[i]);
	}
	s->gs_nfuncs = n;
	for (i = 0; i < pl->n_plugins; i++) {
		if (!gm_selected(gm_opt.o_gearman_plugins,
		    pl->plugins[i]->name))
			continue;
		if ((size_t)snprintf(fn, sizeof(fn), "%s%s", gm_prefix,
		    pl->plugins[i]->name) >= sizeof(fn))
			continue;
		for (j = 0; j < s->gs_nfuncs; j++)
			if (strcmp(s->gs_funcs[j], fn) == 0)
				break;
		if (j < s->gs_nfuncs)
			continue;
		if ((v = realloc(s->gs_funcs, (s->gs_nfuncs + 1) *
		    sizeof(*v))) == NULL)
			break;
		s->gs_funcs = v;
		if ((v[s->gs_nfuncs] = strdup(fn)) == NULL)
			break;
		if (gearman_worker_add_function(s->gs_worker, fn, 0, gm_job,
		    s) != GEARMAN_SUCCESS) {
			if (s->gs_index == 0)
				tpd_warn("gearman: cannot register %s: %s", fn,
				    gearman_worker_error(s->gs_worker));
			free(v[s->gs_nfuncs]);
			continue;
		}
		s->gs_nfuncs++;
	}
	if (s->gs_index == 0)
		tpd_info("gearman: %u functions registered (prefix \"%s\")",
		    s->gs_nfuncs, gm_prefix);
	tpool__plugin_list__free_unpacked(pl, NULL);
	s->gs_gen = gen;
	return true;
}

static void *
gm_slot_main(void *arg)
{
	struct gm_slot *s = arg;
	gearman_return_t rc;

	while (!atomic_load(&gm_stopping)) {
		if (!gm_connect(s)) {
			gm_backoff(s);
			continue;
		}
		if (s->gs_gen != atomic_load(&gm_gen) && !gm_register(s))
			continue;
		if (s->gs_nfuncs == 0) {
			gm_sleep_ms(GM_POLL_MS);
			continue;
		}
		if (!gm_room(s)) {
			gm_sleep_ms(GM_BUSY_MS);
			continue;
		}
		s->gs_returned = false;
		rc = gearman_worker_work(s->gs_worker);
		switch (rc) {
		case GEARMAN_SUCCESS:
		case GEARMAN_TIMEOUT:
		case GEARMAN_NO_JOBS:
		case GEARMAN_IO_WAIT:
			gm_set_up(s, true, NULL);
			s->gs_backoff_ms = 0;
			break;
		case GEARMAN_WORK_FAIL:
		case GEARMAN_INVALID_FUNCTION_NAME:
			/* A job failed (answered), or came for a function
			 * just unregistered (gearmand gives it to another). */
			break;
		default:
			if (s->gs_returned) {
				/* We dropped the connection: no room here
				 * for now, or the daemon is stopping. */
				gm_sleep_ms(GM_BUSY_MS);
				break;
			}
			gm_set_up(s, false, gearman_strerror(rc));
			tpd_metrics_gearman_connect_failed();
			gm_backoff(s);
			break;
		}
	}
	if (s->gs_up == 1)
		tpd_metrics_gearman_up(false);
	s->gs_up = -1;
	gm_disconnect(s);
	return NULL;
}

/* --------------------------------------------------------------- life */

int
tpd_gearman_start(void)
{
	char ident[128], host[64];
	struct gm_slot *s;
	unsigned int i, n, nservers = 1;
	const char *p, *path;
	int error;

	if (tpd_opt.o_gearman == NULL)
		return 0;
	gm_opt = tpd_opt;
	if ((path = tpd_listen_path()) == NULL) {
		tpd_err("--gearman: the daemon has no socket to serve "
		    "Gearman jobs through");
		return EINVAL;
	}
	for (p = tpd_opt.o_gearman; *p != '\0'; p++)
		if (*p == ',')
			nservers++;
	n = tpd_opt.o_gearman_jobs != 0 ? tpd_opt.o_gearman_jobs :
	    tpd_opt.o_max_threads != 0 ? tpd_opt.o_max_threads : 2;
	/* Each slot is one connection: leave the clients room. */
	if (n >= tpd_opt.o_max_connections) {
		tpd_err("--gearman-jobs: %u slots, one connection each, would "
		    "take every connection of --max-connections (%u); set "
		    "--gearman-jobs lower or --max-connections higher", n,
		    tpd_opt.o_max_connections);
		return EINVAL;
	}
	gm_prefix = tpd_opt.o_gearman_prefix != NULL ?
	    tpd_opt.o_gearman_prefix : GM_DEFAULT_PREFIX;
	if ((gm_socket = strdup(path)) == NULL ||
	    (gm_slots = calloc(n, sizeof(*gm_slots))) == NULL) {
		free(gm_socket);
		gm_socket = NULL;
		tpd_err("--gearman: out of memory");
		return ENOMEM;
	}
	atomic_store(&gm_stopping, false);
	tpd_metrics_gearman_start(nservers, n);
	if (gethostname(host, sizeof(host)) != 0)
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	gm_nslots = n;
	for (i = 0; i < n; i++) {
		gm_slots[i].gs_index = i;
		gm_slots[i].gs_fd = -1;
		gm_slots[i].gs_up = -1;
		(void)pthread_mutex_init(&gm_slots[i].gs_lock, NULL);
	}
	for (i = 0; i < n; i++) {
		s = &gm_slots[i];
		if ((s->gs_worker = gearman_worker_create(NULL)) == NULL) {
			tpd_err("--gearman: out of memory");
			error = ENOMEM;
			goto fail;
		}
		if (gearman_worker_add_servers(s->gs_worker,
		    tpd_opt.o_gearman) != GEARMAN_SUCCESS) {
			tpd_err("--gearman %s: %s", tpd_opt.o_gearman,
			    gearman_worker_error(s->gs_worker));
			error = EINVAL;
			goto fail;
		}
		gearman_worker_set_timeout(s->gs_worker, GM_POLL_MS);
		(void)snprintf(ident, sizeof(ident), "tpoold:%s:%ld:%u", host,
		    (long)getpid(), i);
		(void)gearman_worker_set_identifier(s->gs_worker, ident,
		    strlen(ident));
		if ((error = pthread_create(&s->gs_thread, NULL, gm_slot_main,
		    s)) != 0) {
			tpd_err("--gearman: cannot start a thread: %s",
			    strerror(error));
			goto fail;
		}
		s->gs_started = true;
	}
	tpd_info("gearman: %u job slots, servers %s", n, tpd_opt.o_gearman);
	return 0;

fail:
	tpd_gearman_join();
	return error;
}

void
tpd_gearman_reload(void)
{
	atomic_fetch_add(&gm_gen, 1);
}

void
tpd_gearman_stop(void)
{
	unsigned int i;

	atomic_store(&gm_stopping, true);
	for (i = 0; i < gm_nslots; i++) {
		(void)pthread_mutex_lock(&gm_slots[i].gs_lock);
		if (gm_slots[i].gs_fd >= 0)
			(void)shutdown(gm_slots[i].gs_fd, SHUT_RDWR);
		(void)pthread_mutex_unlock(&gm_slots[i].gs_lock);
	}
}

void
tpd_gearman_join(void)
{
	unsigned int i;

	if (gm_slots == NULL)
		return;
	tpd_gearman_stop();
	for (i = 0; i < gm_nslots; i++) {
		if (gm_slots[i].gs_started)
			(void)pthread_join(gm_slots[i].gs_thread, NULL);
		if (gm_slots[i].gs_worker != NULL)
			gearman_worker_free(gm_slots[i].gs_worker);
		while (gm_slots[i].gs_nfuncs > 0)
			free(gm_slots[i].gs_funcs[--gm_slots[i].gs_nfuncs]);
		free(gm_slots[i].gs_funcs);
		(void)pthread_mutex_destroy(&gm_slots[i].gs_lock);
	}
	free(gm_slots);
	gm_slots = NULL;
	gm_nslots = 0;
	free(gm_socket);
	gm_socket = NULL;
	tpd_metrics_gearman_start(0, 0);
}
