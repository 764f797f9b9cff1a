/*
 * store.c -- the job store: with --state-dir, DIR/jobs.db (SQLite, WAL),
 * one row per job the daemon knows, so that queued jobs run after a
 * restart or a crash of the daemon, a job that was running then ends
 * INTERRUPTED, and finished jobs and their results stay queryable.
 *
 * What is written, and when:
 *   - a submit: the job is created (jobs.c) but neither answered nor
 *     scheduled; its row is written with everything else that changed in
 *     this loop iteration, in one transaction, at the iteration's end
 *     (tpd_store_flush(), conn.c's ch_before_write, before any output of
 *     the iteration is written); then each recorded submit is answered,
 *     followed and scheduled.  A transaction that fails (a full disk, a
 *     read-only folder) answers its submits ERROR_STORE and discards
 *     them: nothing is accepted that is not recorded.  Reads go on.
 *   - a job's start and its end (with its result), as the job table tells
 *     of them (jh_changed): its row is rewritten in the next transaction.
 *     Those not written for a failure are written with the next one.
 *   - a finished job forgotten (--finished-keep, --finished-ttl, the
 *     memory budget: jh_forgotten): its row is deleted.
 * The changes are kept as a list of job ids (store_dirty); each is written
 * as the job is when the transaction runs, so a job that changed three
 * times in an iteration is written as it ended, and one that is gone is
 * deleted.
 *
 * A state directory that cannot be written at start (a read-only file
 * system; one the daemon's user may not write: jobid.c finds it) opens the
 * store read-only: its jobs are entered as at any start and shown (status,
 * watch, list), but none is run -- a run's start and end could not be
 * recorded, so it would run again at the next start -- and submits and
 * cancels of jobs not finished are refused with ERROR_STORE
 * (tpd_store_read_only()); nothing is written.  A read-only folder without
 * a store, or with one of an older schema (which would need an upgrade),
 * stops the start.
 *
 * Levels (--sync): normal (PRAGMA synchronous=OFF in WAL mode): each
 * transaction is written to the WAL file before its submits are answered,
 * so what was answered survives a crash or kill -9 of the daemon (the
 * kernel has it), not a power loss; full (synchronous=FULL): the WAL is
 * fsync'ed at each commit, before the answers.
 *
 * The schema (version 2, PRAGMA user_version; PRAGMA application_id
 * 0x74706f6f, "tpoo") is in docs/architecture.md; a file of schema 1 is
 * upgraded when the store opens it (store_upgrade[]).  Times in the file are
 * wall-clock microseconds since the epoch; in memory they are the loop's
 * monotonic clock (tpd_now_ns()), converted at each write and at start.
 *
 * Everything here is the loop's (l).
 *
 * (Over 800 lines: the schema, its upgrade, the writes and the recovery
 * all name the jobs table's columns, by name or by number, and share the
 * one database handle and its statements, which no other file may see;
 * split, a new column would touch several files.)
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "conn.h"
#include "follow.h"
#include "jobid.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "names.h"
#include "options.h"
#include "plugin.h"
#include "pools.h"
#include "store.h"

#define	STORE_FILE	"jobs.db"
#define	STORE_APP_ID	0x74706f6f	/* "tpoo" */
#define	STORE_SCHEMA	2

/* The view of the states by name and times as dates (the sqlite3 shell). */
#define	STORE_VIEW							\
    "CREATE VIEW jobs_readable AS SELECT id, uid, plugin, name,"	\
    " CASE state WHEN 1 THEN 'queued' WHEN 2 THEN 'running'"		\
    " WHEN 3 THEN 'succeeded' WHEN 4 THEN 'failed' WHEN 5 THEN 'cancelled'" \
    " WHEN 6 THEN 'expired' WHEN 7 THEN 'timed out'"			\
    " WHEN 8 THEN 'interrupted' WHEN 9 THEN 'scheduled'"		\
    " ELSE state END AS state, attempt, unique_key,"			\
    " datetime(submitted_us / 1000000, 'unixepoch') AS submitted,"	\
    " CASE ended_us WHEN 0 THEN NULL"					\
    " ELSE datetime(ended_us / 1000000, 'unixepoch') END AS ended,"	\
    " length(input) AS input_bytes, length(result) AS result_bytes,"	\
    " message FROM jobs;"

/* Schema 2, made new (docs/architecture.md). */
static const char store_schema[] =
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY,"		/* the job id */
    " uid INTEGER NOT NULL,"		/* its owner */
    " plugin TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " input BLOB NOT NULL,"
    " pool INTEGER NOT NULL,"		/* PoolKind: 0 unbound, 1 per-CPU */
    " priority INTEGER NOT NULL,"
    " cpu INTEGER NOT NULL,"		/* per-CPU: its CPU; else -1 */
    " timeout_ns INTEGER NOT NULL,"	/* 0: none */
    " deadline_us INTEGER NOT NULL,"	/* 0: none */
    " submitted_us INTEGER NOT NULL,"
    " state INTEGER NOT NULL,"		/* JobState */
    " started_us INTEGER NOT NULL,"	/* 0: never ran */
    " ended_us INTEGER NOT NULL,"	/* 0: not final */
    " cpu_ns INTEGER NOT NULL,"
    " ran_on_cpu INTEGER NOT NULL,"	/* -1: never ran */
    " result BLOB,"
    " message TEXT,"
    /* Schema 2's, added to schema 1's by store_upgrade[0]. */
    " not_before_us INTEGER NOT NULL DEFAULT 0," /* a delay's end */
    " unique_key TEXT,"			/* Submit.unique_key; NULL: none */
    " attempt INTEGER NOT NULL DEFAULT 1," /* 1, 2... */
    " retries INTEGER NOT NULL DEFAULT 0," /* runs after the first */
    " backoff_ns INTEGER NOT NULL DEFAULT 1000000000);" /* before the
					 * first retry */
    STORE_VIEW
    "PRAGMA application_id = 1953525615;"	/* STORE_APP_ID */
    "PRAGMA user_version = 2;";			/* STORE_SCHEMA */

/*
 * From schema N to N + 1 (store_upgrade[N - 1]), in one transaction each.
 * Schema 1: the first job store, without delays, unique keys and retries.
 */
static const char *const store_upgrade[STORE_SCHEMA - 1] = {
	"ALTER TABLE jobs ADD COLUMN not_before_us INTEGER NOT NULL "
	    "DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN unique_key TEXT;"
	"ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE jobs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN backoff_ns INTEGER NOT NULL "
	    "DEFAULT 1000000000;"
	"DROP VIEW IF EXISTS jobs_readable;"
	STORE_VIEW
	"PRAGMA user_version = 2;",
};

static const char store_upsert_sql[] =
    "INSERT INTO jobs (id, uid, plugin, name, input, pool, priority, cpu,"
    " timeout_ns, deadline_us, submitted_us, state, started_us, ended_us,"
    " cpu_ns, ran_on_cpu, result, message, not_before_us, unique_key,"
    " attempt, retries, backoff_ns)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
    " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
    " ON CONFLICT (id) DO UPDATE SET state = excluded.state,"
    " attempt = excluded.attempt, not_before_us = excluded.not_before_us,"
    " started_us = excluded.started_us, ended_us = excluded.ended_us,"
    " cpu_ns = excluded.cpu_ns, ran_on_cpu = excluded.ran_on_cpu,"
    " result = excluded.result, message = excluded.message";
static const char store_select_sql[] =
    "SELECT id, uid, plugin, name, input, pool, priority, cpu, timeout_ns,"
    " deadline_us, submitted_us, state, started_us, ended_us, cpu_ns,"
    " ran_on_cpu, result, message, not_before_us, unique_key, attempt,"
    " retries, backoff_ns FROM jobs ORDER BY id";

/* A submit waiting for its transaction. */
struct store_pending {
	struct tpd_conn	*sp_conn;	/* valid to the iteration's end */
	uint64_t	sp_request_id;
	uint64_t	sp_job_id;
	bool		sp_existing;	/* found by its unique key */
};

static sqlite3 *store_db;			/* NULL: no store */
static char *store_path;			/* for messages; owned */
static sqlite3_stmt *store_upsert, *store_delete;
static uint64_t *store_dirty;			/* ids to write; owned */
static size_t store_ndirty, store_cdirty;
static struct store_pending *store_pend;	/* owned */
static size_t store_npend, store_cpend;
static bool store_failing;			/* the last write failed */
static bool store_read_only;			/* opened read-only */

bool
tpd_store_is_open(void)
{
	return store_db != NULL;
}

/* ------------------------------------------------------------- clocks */

static int64_t
store_to_wall_us(uint64_t ns, int64_t off)
{
	return ns == 0 ? 0 : ((int64_t)ns + off) / 1000;
}

/* A wall-clock time of the file as tpd_now_ns() (at least 1; 0: none). */
static uint64_t
store_from_wall_us(int64_t us, int64_t off)
{
	int64_t ns;

	if (us <= 0)
		return 0;
	ns = us * 1000 - off;
	return ns > 0 ? (uint64_t)ns : 1;
}

/* ------------------------------------------------------------ opening */

/* Run sql (no rows); false and why[] on failure. */
static bool
store_exec(const char *sql, char *why, size_t whylen)
{
	char *err = NULL;

	if (sqlite3_exec(store_db, sql, NULL, NULL, &err) == SQLITE_OK)
		return true;
	(void)snprintf(why, whylen, "%s", err != NULL ? err :
	    sqlite3_errmsg(store_db));
	sqlite3_free(err);
	return false;
}

/* The integer a one-value query returns; false and why[] on failure. */
static bool
store_int(const char *sql, int64_t *ret, char *why, size_t whylen)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(store_db, sql, -1, &st, NULL)) !=
	    SQLITE_OK) {
		(void)snprintf(why, whylen, "%s", sqlite3_errmsg(store_db));
		return false;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		(void)snprintf(why, whylen, "%s", sqlite3_errmsg(store_db));
		(void)sqlite3_finalize(st);
		return false;
	}
	*ret = sqlite3_column_int64(st, 0);
	(void)sqlite3_finalize(st);
	return true;
}

/*
 * The file itself, made by us so that it is the daemon's and private
 * (0600: it holds every user's inputs and results; SQLite gives its WAL
 * and shared-memory files the same mode).  0 or an errno; why[].
 */
static int
store_make_file(int dfd, char *why, size_t whylen)
{
	struct stat st;
	int fd;

	fd = openat(dfd, STORE_FILE, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0) {
		(void)snprintf(why, whylen, "%s", strerror(errno));
		return errno;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		(void)snprintf(why, whylen, "not a regular file");
		(void)close(fd);
		return EINVAL;
	}
	if ((st.st_mode & 077) != 0 && fchmod(fd, st.st_mode & 0700) != 0) {
		(void)snprintf(why, whylen, "cannot make it private: %s",
		    strerror(errno));
		(void)close(fd);
		return errno;
	}
	(void)close(fd);
	return 0;
}

/*
 * Check (or create) the schema.  0, or an errno with the message that
 * says what to do logged.
 */
static int
store_check_schema(void)
{
	char why[512];
	int64_t app, version, tables;

	if (!store_int("PRAGMA application_id", &app, why, sizeof(why)) ||
	    !store_int("PRAGMA user_version", &version, why, sizeof(why)) ||
	    !store_int("SELECT count(*) FROM sqlite_master", &tables, why,
	    sizeof(why))) {
		tpd_err("job store %s is damaged or not a database (%s): "
		    "move it away to start with an empty store (its jobs are "
		    "lost; sqlite3 %s .recover may save some)", store_path, why,
		    store_path);
		return EINVAL;
	}
	if (store_read_only && ((app == 0 && tables == 0) ||
	    (app == STORE_APP_ID && version >= 1 && version < STORE_SCHEMA))) {
		tpd_err("job store %s %s, and its state directory is read-only "
		    "(%s): make the directory writable", store_path,
		    app == 0 && tables == 0 ? "is empty" :
		    "needs an upgrade from an older schema",
		    tpd_jobid_read_only());
		return EROFS;
	}
	if (app == 0 && tables == 0) {
		if (!store_exec("BEGIN", why, sizeof(why)) ||
		    !store_exec(store_schema, why, sizeof(why)) ||
		    !store_exec("COMMIT", why, sizeof(why))) {
			tpd_err("job store %s: cannot create it: %s",
			    store_path, why);
			return EIO;
		}
		tpd_info("job store %s: created (schema %d)", store_path,
		    STORE_SCHEMA);
		return 0;
	}
	if (app != STORE_APP_ID) {
		tpd_err("%s is not a tpoold job store (application id %#" PRIx64
		    ", %" PRId64 " tables): move it away, or choose another "
		    "--state-dir", store_path, (uint64_t)app, tables);
		return EINVAL;
	}
	if (version > STORE_SCHEMA) {
		tpd_err(
		    "job store %s has schema %" PRId64 ", written by a newer "
		    "tpoold; this one knows schema %d: run the newer tpoold, "
		    "or move the file away to start with an empty store",
		    store_path, version, STORE_SCHEMA);
		return EINVAL;
	}
	if (version < 1) {
		tpd_err("job store %s has schema %" PRId64 ", which no tpoold "
		    "wrote: the file is damaged; move it away to start with an "
		    "empty store", store_path, version);
		return EINVAL;
	}
	for (; version < STORE_SCHEMA; version++) {
		if (!store_exec("BEGIN", why, sizeof(why)) ||
		    !store_exec(store_upgrade[version - 1], why, sizeof(why)) ||
		    !store_exec("COMMIT", why, sizeof(why))) {
			(void)sqlite3_exec(store_db, "ROLLBACK", NULL, NULL,
			    NULL);
			tpd_err("job store %s: cannot upgrade it from schema %"
			    PRId64 " to %" PRId64 ": %s (the file is as it "
			    "was)", store_path, version, version + 1, why);
			return EIO;
		}
		tpd_notice("job store %s: upgraded from schema %" PRId64 " to %"
		    PRId64, store_path, version, version + 1);
	}
	return 0;
}

static void
store_close_db(void)
{
	(void)sqlite3_finalize(store_upsert);
	(void)sqlite3_finalize(store_delete);
	store_upsert = store_delete = NULL;
	if (store_db != NULL)
		(void)sqlite3_close(store_db);
	store_db = NULL;
	free(store_path);
	store_path = NULL;
	free(store_dirty);
	store_dirty = NULL;
	store_ndirty = store_cdirty = 0;
	store_read_only = false;
	free(store_pend);
	store_pend = NULL;
	store_npend = store_cpend = 0;
	store_failing = false;
}

/*
 * Open name (a path, or a URI with SQLITE_OPEN_URI in flags) as the
 * store, and check or create its schema.  0, or an errno (logged: "cannot
 * open it<how>") with everything closed.
 */
static int
store_open_db(const char *name, int flags, const char *how)
{
	int error;

	if (sqlite3_open_v2(name, &store_db, flags | SQLITE_OPEN_NOFOLLOW |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		tpd_err("job store %s: cannot open it%s: %s", store_path, how,
		    store_db != NULL ? sqlite3_errmsg(store_db) :
		    "out of memory");
		store_close_db();
		return EIO;
	}
	(void)sqlite3_extended_result_codes(store_db, 1);
	if ((error = store_check_schema()) != 0)
		store_close_db();
	return error;
}

/* "file:PATH?immutable=1", PATH percent-encoded; malloc'ed (the
 * caller's), NULL for no memory. */
static char *
store_uri_immutable(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *tail = "?immutable=1";
	size_t n = strlen(path);
	char *uri, *o;

	if ((uri = malloc(5 + 3 * n + strlen(tail) + 1)) == NULL)
		return NULL;
	o = uri + 5;
	memcpy(uri, "file:", 5);
	for (; *path != '\0'; path++) {
		unsigned char ch = (unsigned char)*path;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("/._-~", ch) != NULL) {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	(void)strcpy(o, tail);
	return uri;
}

/*
 * The state directory cannot be written: open its store read-only, if it
 * has one that needs no upgrade.  0 or an errno (logged).
 */
static int
store_open_read_only(int dfd)
{
	const char *ro = tpd_jobid_read_only();
	struct stat st;
	char *uri = NULL;
	bool immutable;
	int error;

	store_read_only = true;
	if (fstatat(dfd, STORE_FILE, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(st.st_mode)) {
		error = errno == ENOENT ? ENOENT : EINVAL;
		tpd_err("state directory %s is read-only (%s) and has no job "
		    "store%s: make it writable, or start without --state-dir",
		    tpd_opt.o_state_dir, ro, error == ENOENT ? "" :
		    " (jobs.db is not a regular file)");
		store_close_db();
		return error == ENOENT ? EROFS : error;
	}
	/*
	 * Without a WAL file (a clean stop folded it in) SQLite could not
	 * make the shared-memory file a WAL store needs even to read: the
	 * file is all there is, and nothing can change it, so it is opened
	 * immutable.  With one (a crash), its -shm is there to read too.
	 */
	immutable = faccessat(dfd, STORE_FILE "-wal", F_OK,
	    AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT;
	if (immutable && (uri = store_uri_immutable(store_path)) == NULL) {
		store_close_db();
		return ENOMEM;
	}
	error = store_open_db(immutable ? uri : store_path,
	    SQLITE_OPEN_READONLY | (immutable ? SQLITE_OPEN_URI : 0),
	    " read-only");
	free(uri);
	if (error != 0)
		return error;
	tpd_jobs_keep_queued(true);
	tpd_warn("job store %s: its state directory is read-only (%s): "
	    "its jobs are shown but none is run, and submits and cancels are "
	    "refused, until tpoold is started with the directory writable",
	    store_path, ro);
	return 0;
}

const char *
tpd_store_read_only(void)
{
	return store_db != NULL && store_read_only ? tpd_jobid_read_only() :
	    NULL;
}

bool
tpd_store_writable(void)
{
	return store_db != NULL && !store_read_only && !store_failing;
}

int
tpd_store_open(void)
{
	const char *dir = tpd_opt.o_state_dir;
	char why[512] = "", sync[64];
	int dfd = tpd_jobid_dir_fd(), error;

	if (dir == NULL || dfd < 0) {
		tpd_notice("no --state-dir: jobs are kept in memory only, and "
		    "a stop or a crash of the daemon loses those queued and "
		    "the results kept");
		return 0;
	}
	if (asprintf(&store_path, "%s/%s", dir, STORE_FILE) < 0) {
		store_path = NULL;
		return ENOMEM;
	}
	if (tpd_jobid_read_only() != NULL)
		return store_open_read_only(dfd);
	if ((error = store_make_file(dfd, why, sizeof(why))) != 0) {
		tpd_err("job store %s: %s", store_path, why);
		store_close_db();
		return error;
	}
	if ((error = store_open_db(store_path, SQLITE_OPEN_READWRITE, "")) != 0)
		return error;
	(void)snprintf(sync, sizeof(sync), "PRAGMA synchronous = %s",
	    tpd_opt.o_sync == TPD_SYNC_FULL ? "FULL" : "OFF");
	if (!store_exec("PRAGMA journal_mode = WAL", why, sizeof(why)) ||
	    !store_exec(sync, why, sizeof(why)) ||
	    sqlite3_prepare_v3(store_db, store_upsert_sql, -1,
	    SQLITE_PREPARE_PERSISTENT, &store_upsert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(store_db, "DELETE FROM jobs WHERE id = ?1", -1,
	    SQLITE_PREPARE_PERSISTENT, &store_delete, NULL) != SQLITE_OK) {
		tpd_err("job store %s is damaged (%s): move it away to start "
		    "with an empty store", store_path, why[0] != '\0' ? why :
		    sqlite3_errmsg(store_db));
		store_close_db();
		return EINVAL;
	}
	tpd_jobs_keep_queued(true);
	tpd_info("job store %s: open; what is answered survives %s",
	    store_path, tpd_opt.o_sync == TPD_SYNC_FULL ?
	    "a power loss (--sync full)" : "a crash of the daemon, not a "
	    "power loss (--sync normal)");
	return 0;
}

/* ------------------------------------------------------------ writing */

/*
 * Job id changed: written with the next transaction.  false on no memory:
 * not marked (the job's next change writes all of it; until then its row
 * says what it was).
 */
static bool
store_mark(uint64_t id)
{
	uint64_t *n;
	size_t c;

	if (store_ndirty > 0 && store_dirty[store_ndirty - 1] == id)
		return true;
	if (store_ndirty == store_cdirty) {
		c = store_cdirty == 0 ? 256 : store_cdirty * 2;
		if ((n = realloc(store_dirty, c * sizeof(*n))) == NULL) {
			tpd_err("job store: out of memory: job %" PRIu64 "'s "
			    "change is not recorded now", id);
			return false;
		}
		store_dirty = n;
		store_cdirty = c;
	}
	store_dirty[store_ndirty++] = id;
	tpd_conn_flush_soon();
	return true;
}

void
tpd_store_job_changed(struct tpd_job *job)
{
	if (store_db != NULL && !store_read_only)
		(void)store_mark(tpd_job_id(job));
}

void
tpd_store_job_forgotten(uint64_t id)
{
	if (store_db != NULL && !store_read_only)
		(void)store_mark(id);
}

int
tpd_store_submitted(struct tpd_job *job, struct tpd_conn *conn,
    uint64_t request_id, bool existing)
{
	struct store_pending *n;
	size_t c;

	if (store_npend == store_cpend) {
		c = store_cpend == 0 ? 64 : store_cpend * 2;
		if ((n = realloc(store_pend, c * sizeof(*n))) == NULL)
			return ENOMEM;
		store_pend = n;
		store_cpend = c;
	}
	store_pend[store_npend].sp_conn = conn;
	store_pend[store_npend].sp_request_id = request_id;
	store_pend[store_npend].sp_job_id = tpd_job_id(job);
	store_pend[store_npend].sp_existing = existing;
	/* A new job unmarked would be answered unrecorded: refused. */
	if (!existing && !store_mark(tpd_job_id(job)))
		return ENOMEM;
	store_npend++;
	tpd_conn_flush_soon();
	return 0;
}

/* Write job's row (as it is now); SQLITE_DONE or an error. */
static int
store_write_job(struct tpd_job *job, int64_t off)
{
	struct tpd_job_record rec;
	sqlite3_stmt *st = store_upsert;
	int rc;

	tpd_job_record(job, &rec);
	(void)sqlite3_bind_int64(st, 1, (sqlite3_int64)rec.jr_id);
	(void)sqlite3_bind_int64(st, 2, (sqlite3_int64)rec.jr_uid);
	(void)sqlite3_bind_text(st, 3, rec.jr_plugin, -1, SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 4, rec.jr_name, -1, SQLITE_STATIC);
	(void)sqlite3_bind_blob64(st, 5, rec.jr_input_len > 0 ? rec.jr_input :
	    (const void *)"", rec.jr_input_len, SQLITE_STATIC);
	(void)sqlite3_bind_int(st, 6, (int)rec.jr_pool_kind);
	(void)sqlite3_bind_int(st, 7, rec.jr_pri);
	(void)sqlite3_bind_int(st, 8, rec.jr_cpu);
	(void)sqlite3_bind_int64(st, 9, (sqlite3_int64)rec.jr_timeout_ns);
	(void)sqlite3_bind_int64(st, 10, store_to_wall_us(rec.jr_deadline_ns,
	    off));
	(void)sqlite3_bind_int64(st, 11, store_to_wall_us(rec.jr_submit_ns,
	    off));
	(void)sqlite3_bind_int(st, 12, (int)rec.jr_state);
	(void)sqlite3_bind_int64(st, 13, store_to_wall_us(rec.jr_start_ns,
	    off));
	(void)sqlite3_bind_int64(st, 14, store_to_wall_us(rec.jr_end_ns,
	    off));
	(void)sqlite3_bind_int64(st, 15, (sqlite3_int64)rec.jr_cpu_ns);
	(void)sqlite3_bind_int(st, 16, rec.jr_ran_on_cpu);
	if (rec.jr_result != NULL)
		(void)sqlite3_bind_blob64(st, 17, rec.jr_result,
		    rec.jr_result_len, SQLITE_STATIC);
	else
		(void)sqlite3_bind_null(st, 17);
	if (rec.jr_message != NULL)
		(void)sqlite3_bind_text(st, 18, rec.jr_message, -1,
		    SQLITE_STATIC);
	else
		(void)sqlite3_bind_null(st, 18);
	(void)sqlite3_bind_int64(st, 19, store_to_wall_us(
	    rec.jr_not_before_ns, off));
	if (rec.jr_unique_key != NULL)
		(void)sqlite3_bind_text(st, 20, rec.jr_unique_key, -1,
		    SQLITE_STATIC);
	else
		(void)sqlite3_bind_null(st, 20);
	(void)sqlite3_bind_int(st, 21, (int)rec.jr_attempt);
	(void)sqlite3_bind_int(st, 22, (int)rec.jr_retries);
	(void)sqlite3_bind_int64(st, 23, (sqlite3_int64)rec.jr_backoff_ns);
	rc = sqlite3_step(st);
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
	return rc;
}

static int
store_delete_job(uint64_t id)
{
	int rc;

	(void)sqlite3_bind_int64(store_delete, 1, (sqlite3_int64)id);
	rc = sqlite3_step(store_delete);
	(void)sqlite3_reset(store_delete);
	return rc;
}

/* Write every marked job in one transaction.  false and why[] on failure
 * (rolled back; the marks stay). */
static bool
store_write(char *why, size_t whylen)
{
	int64_t off = tpd_wall_offset_ns();
	struct tpd_job *job;
	size_t i;
	int rc = SQLITE_DONE;

	if (store_ndirty == 0)
		return true;
	if (!store_exec("BEGIN", why, whylen))
		return false;
	for (i = 0; i < store_ndirty && rc == SQLITE_DONE; i++) {
		if ((job = tpd_job_lookup(store_dirty[i])) != NULL)
			rc = store_write_job(job, off);
		else
			rc = store_delete_job(store_dirty[i]);
	}
	if (rc != SQLITE_DONE) {
		(void)snprintf(why, whylen, "%s", sqlite3_errmsg(store_db));
		(void)sqlite3_exec(store_db, "ROLLBACK", NULL, NULL, NULL);
		return false;
	}
	if (!store_exec("COMMIT", why, whylen)) {
		(void)sqlite3_exec(store_db, "ROLLBACK", NULL, NULL, NULL);
		return false;
	}
	store_ndirty = 0;
	return true;
}

void
tpd_store_flush(void)
{
	Tpool__Response resp = TPOOL__RESPONSE__INIT;
	Tpool__SubmitReply sr = TPOOL__SUBMIT_REPLY__INIT;
	struct store_pending *p;
	struct tpd_job *job;
	char why[512] = "";
	uint64_t t0;
	size_t i;
	bool ok, some;

	if (store_db == NULL || (store_ndirty == 0 && store_npend == 0))
		return;
	t0 = tpd_now_ns();
	some = store_ndirty > 0;
	ok = store_write(why, sizeof(why));
	if (some)
		tpd_metrics_store_write(tpd_now_ns() - t0, ok);
	if (!ok && !store_failing)
		tpd_err("job store %s: cannot write: %s; submits are refused "
		    "until it can", store_path, why);
	else if (ok && store_failing)
		tpd_notice("job store %s: written again", store_path);
	store_failing = !ok;
	for (i = 0; i < store_npend; i++) {
		p = &store_pend[i];
		job = tpd_job_lookup(p->sp_job_id);
		if (!ok) {
			if (tpd_conn_is_open(p->sp_conn))
				tpd_msg_error(p->sp_conn, p->sp_request_id,
				    TPOOL__ERROR_CODE__ERROR_STORE,
				    "the job store cannot record the job, so "
				    "it was not accepted: %s", why);
			if (job != NULL && !p->sp_existing)
				tpd_job_discard(job);
			continue;
		}
		if (tpd_conn_is_open(p->sp_conn)) {
			sr.has_job_id = true;
			sr.job_id = p->sp_job_id;
			sr.has_existing = p->sp_existing;
			sr.existing = p->sp_existing;
			resp.body_case = TPOOL__RESPONSE__BODY_SUBMIT;
			resp.submit = &sr;
			tpd_msg_reply(p->sp_conn, p->sp_request_id, &resp);
		}
		if (p->sp_existing) {
			if (job != NULL && !tpd_job_is_final(job) &&
			    tpd_conn_is_open(p->sp_conn))
				(void)tpd_follow_watch(job, p->sp_conn);
			continue;
		}
		if (job == NULL || !tpd_job_awaits_schedule(job))
			continue;
		tpd_metrics_job_accepted(tpd_job_plugin_name(job));
		if (tpd_conn_is_open(p->sp_conn))
			tpd_follow_submitted(job, p->sp_conn);
		tpd_job_schedule(job);
	}
	store_npend = 0;
}

void
tpd_store_close(void)
{
	char why[512];

	if (store_db == NULL)
		return;
	tpd_store_flush();
	if (store_ndirty > 0 && !store_write(why, sizeof(why)))
		tpd_err("job store %s: the last changes are not recorded: %s",
		    store_path, why);
	store_close_db();
}

/* ----------------------------------------------------------- recovery */

/* A column's text, "" for NULL. */
static const char *
store_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? (const char *)t : "";
}

/* What recovery did, for its log line. */
struct store_counts {
	unsigned int	sc_queued;
	unsigned int	sc_interrupted;
	unsigned int	sc_finished;
	unsigned int	sc_failed;	/* queued, their plugin or pool gone */
	unsigned int	sc_dropped;	/* no room in the memory budget */
	unsigned int	sc_retried;	/* of sc_queued: were running */
};

/*
 * A job that was running when the daemon ended, with retries left: its
 * next attempt, scheduled after its backoff, as jobs.c's job_retry()
 * would have (msg[] holds its message).
 */
static void
store_retry_row(struct tpd_job_record *rec, uint64_t now, char *msg,
    size_t msglen)
{
	uint64_t wait = tpd_job_backoff_ns(rec->jr_backoff_ns,
	    rec->jr_attempt);

	(void)snprintf(msg, msglen, "attempt %u interrupted: the daemon ended "
	    "while it ran", rec->jr_attempt);
	rec->jr_message = msg;
	rec->jr_attempt++;
	rec->jr_state = TPOOL__JOB_STATE__JOB_SCHEDULED;
	rec->jr_not_before_ns = now + wait;
	rec->jr_start_ns = 0;
	rec->jr_ran_on_cpu = -1;
	rec->jr_result = NULL;
	rec->jr_result_len = 0;
}

/* Enter one row's job; a queued one's id is added to *sched. */
static void
store_recover_row(sqlite3_stmt *st, int64_t off, uint64_t now,
    struct store_counts *sc, uint64_t **sched, size_t *nsched)
{
	struct tpd_job_spec spec;
	struct tpd_job_record rec;
	struct tpd_job *job;
	char msg[512], retry_msg[128];
	uint64_t *n;
	int error;

	memset(&spec, 0, sizeof(spec));
	memset(&rec, 0, sizeof(rec));
	rec.jr_id = (uint64_t)sqlite3_column_int64(st, 0);
	rec.jr_uid = (uid_t)sqlite3_column_int64(st, 1);
	rec.jr_plugin = store_text(st, 2);
	rec.jr_name = store_text(st, 3);
	rec.jr_input = sqlite3_column_blob(st, 4);
	rec.jr_input_len = (size_t)sqlite3_column_bytes(st, 4);
	rec.jr_pool_kind = (Tpool__PoolKind)sqlite3_column_int(st, 5);
	rec.jr_pri = sqlite3_column_int(st, 6);
	rec.jr_cpu = sqlite3_column_int(st, 7);
	rec.jr_timeout_ns = (uint64_t)sqlite3_column_int64(st, 8);
	rec.jr_deadline_ns = store_from_wall_us(sqlite3_column_int64(st, 9),
	    off);
	rec.jr_submit_ns = store_from_wall_us(sqlite3_column_int64(st, 10),
	    off);
	if (rec.jr_submit_ns == 0)
		rec.jr_submit_ns = 1;
	rec.jr_state = (Tpool__JobState)sqlite3_column_int(st, 11);
	rec.jr_start_ns = store_from_wall_us(sqlite3_column_int64(st, 12),
	    off);
	rec.jr_end_ns = store_from_wall_us(sqlite3_column_int64(st, 13), off);
	rec.jr_cpu_ns = (uint64_t)sqlite3_column_int64(st, 14);
	rec.jr_ran_on_cpu = sqlite3_column_int(st, 15);
	if (sqlite3_column_type(st, 16) != SQLITE_NULL) {
		rec.jr_result = sqlite3_column_blob(st, 16);
		rec.jr_result_len = (size_t)sqlite3_column_bytes(st, 16);
	}
	if (sqlite3_column_type(st, 17) != SQLITE_NULL)
		rec.jr_message = store_text(st, 17);
	rec.jr_not_before_ns = store_from_wall_us(sqlite3_column_int64(st, 18),
	    off);
	if (sqlite3_column_type(st, 19) != SQLITE_NULL)
		rec.jr_unique_key = store_text(st, 19);
	rec.jr_attempt = (unsigned int)sqlite3_column_int(st, 20);
	rec.jr_retries = (unsigned int)sqlite3_column_int(st, 21);
	rec.jr_backoff_ns = (uint64_t)sqlite3_column_int64(st, 22);
	/* Times in order, whatever the clock did meanwhile. */
	if (rec.jr_start_ns != 0 && rec.jr_start_ns < rec.jr_submit_ns)
		rec.jr_start_ns = rec.jr_submit_ns;
	if (rec.jr_end_ns != 0 && rec.jr_end_ns < (rec.jr_start_ns != 0 ?
	    rec.jr_start_ns : rec.jr_submit_ns))
		rec.jr_end_ns = rec.jr_start_ns != 0 ? rec.jr_start_ns :
		    rec.jr_submit_ns;

	spec.js_uid = rec.jr_uid;
	spec.js_input = rec.jr_input;
	spec.js_input_len = rec.jr_input_len;
	spec.js_name = rec.jr_name;
	spec.js_pool_kind = rec.jr_pool_kind;
	spec.js_pri = rec.jr_pri;
	spec.js_cpu = rec.jr_cpu;
	spec.js_deadline_ns = rec.jr_deadline_ns;
	spec.js_timeout_ns = rec.jr_timeout_ns;
	spec.js_not_before_ns = rec.jr_not_before_ns;
	spec.js_unique_key = rec.jr_unique_key;
	spec.js_retries = rec.jr_retries;
	spec.js_backoff_ns = rec.jr_backoff_ns;

	switch (rec.jr_state) {
	case TPOOL__JOB_STATE__JOB_QUEUED:
	case TPOOL__JOB_STATE__JOB_SCHEDULED:
	queued:
		if ((spec.js_plugin = tpd_plugin_lookup(rec.jr_plugin)) ==
		    NULL) {
			(void)snprintf(msg, sizeof(msg), "not run: plugin %s "
			    "is not loaded since the daemon restarted",
			    rec.jr_plugin);
			goto failed;
		}
		if ((error = tpd_pool_get(rec.jr_pool_kind, rec.jr_pri,
		    &spec.js_cpu, &spec.js_pool)) != 0) {
			(void)snprintf(msg, sizeof(msg), "not run: its pool "
			    "(priority %d, CPU %d) cannot be made since the "
			    "daemon restarted: %s", rec.jr_pri, rec.jr_cpu,
			    strerror(error));
			goto failed;
		}
		if ((error = tpd_job_restore(&spec, &rec, &job)) != 0)
			break;
		if (*nsched % 256 == 0) {
			if ((n = realloc(*sched, (*nsched + 256) *
			    sizeof(*n))) == NULL) {
				/* It runs when it is scheduled at all: now. */
				tpd_job_schedule(job);
				sc->sc_queued++;
				return;
			}
			*sched = n;
		}
		(*sched)[(*nsched)++] = rec.jr_id;
		sc->sc_queued++;
		return;
	case TPOOL__JOB_STATE__JOB_RUNNING:
		if (rec.jr_attempt <= rec.jr_retries) {
			store_retry_row(&rec, now, retry_msg,
			    sizeof(retry_msg));
			spec.js_not_before_ns = rec.jr_not_before_ns;
			(void)store_mark(rec.jr_id);	/* its new state */
			sc->sc_retried++;
			goto queued;
		}
		rec.jr_state = TPOOL__JOB_STATE__JOB_INTERRUPTED;
		rec.jr_end_ns = now;
		rec.jr_message = "interrupted: the daemon ended while it ran";
		rec.jr_result = NULL;
		rec.jr_result_len = 0;
		if ((error = tpd_job_restore(&spec, &rec, &job)) == 0) {
			sc->sc_interrupted++;
			(void)store_mark(rec.jr_id);
			return;
		}
		break;
	default:
		if (!tp_state_is_final(rec.jr_state)) {
			tpd_warn("job store %s: job %" PRIu64 " has no state "
			    "this tpoold knows (%d); left out", store_path,
			    rec.jr_id, (int)rec.jr_state);
			(void)store_mark(rec.jr_id);	/* deleted */
			return;
		}
		if ((error = tpd_job_restore(&spec, &rec, &job)) == 0) {
			sc->sc_finished++;
			return;
		}
		break;
	}
	/* No room for it (the memory budget): it goes, as if forgotten. */
	tpd_warn("job store %s: job %" PRIu64 " of uid %u not kept: %s",
	    store_path, rec.jr_id, (unsigned int)rec.jr_uid,
	    error == EDQUOT ? "its user's memory share is full" :
	    error == ENOSPC ? "the daemon's memory budget is full" :
	    strerror(error));
	sc->sc_dropped++;
	(void)store_mark(rec.jr_id);
	return;

failed:
	tpd_warn("job store %s: job %" PRIu64 ": %s", store_path, rec.jr_id,
	    msg);
	rec.jr_state = TPOOL__JOB_STATE__JOB_FAILED;
	rec.jr_end_ns = now;
	rec.jr_message = msg;
	rec.jr_start_ns = 0;
	rec.jr_ran_on_cpu = -1;
	rec.jr_result = NULL;
	rec.jr_result_len = 0;
	spec.js_plugin = NULL;
	if ((error = tpd_job_restore(&spec, &rec, &job)) == 0) {
		sc->sc_failed++;
		(void)store_mark(rec.jr_id);
		return;
	}
	sc->sc_dropped++;
	(void)store_mark(rec.jr_id);
}

int
tpd_store_recover(void)
{
	struct store_counts sc = { 0, 0, 0, 0, 0, 0 };
	int64_t off = tpd_wall_offset_ns();
	uint64_t now = tpd_now_ns(), *sched = NULL;
	struct tpd_job *job;
	sqlite3_stmt *st;
	size_t i, nsched = 0;
	char why[512];
	int rc;

	if (store_db == NULL)
		return 0;
	if (sqlite3_prepare_v2(store_db, store_select_sql, -1, &st, NULL) !=
	    SQLITE_OK) {
		tpd_err("job store %s is damaged (%s): move it away to start "
		    "with an empty store", store_path,
		    sqlite3_errmsg(store_db));
		return EINVAL;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		store_recover_row(st, off, now, &sc, &sched, &nsched);
	(void)sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		tpd_err("job store %s is damaged (%s): move it away to start "
		    "with an empty store (sqlite3 %s .recover may save some "
		    "of its jobs)", store_path, sqlite3_errmsg(store_db),
		    store_path);
		free(sched);
		return EINVAL;
	}
	/*
	 * Queued again in their order, now that all are in the table; read-
	 * only, they wait (their runs could not be recorded).
	 */
	for (i = 0; i < nsched && !store_read_only; i++)
		if ((job = tpd_job_lookup(sched[i])) != NULL)
			tpd_job_schedule(job);
	free(sched);
	if (!store_read_only && !store_write(why, sizeof(why)))
		tpd_err("job store %s: cannot record what the start found: "
		    "%s", store_path, why);
	tpd_info("job store %s: %u jobs %s (%u of them "
	    "were running: retried), %u interrupted (they were running), %u "
	    "finished kept, %u failed (their plugin or pool is gone), %u over "
	    "the memory budget", store_path, sc.sc_queued, store_read_only ?
	    "held queued or scheduled (the store is read-only)" :
	    "queued or scheduled again", sc.sc_retried,
	    sc.sc_interrupted, sc.sc_finished, sc.sc_failed, sc.sc_dropped);
	return 0;
}
