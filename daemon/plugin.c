/*
 * plugin.c -- the plugin registry: loading plugins from the plugin
 * directory, finding them by name, unloading them when nothing uses them.
 * (Over 800 lines: the registry, its rescans and the plugin thread all
 * work on the plugin's insides and the registry's lists, which no other
 * file may see.)
 *
 * Only files directly in --plugin-dir whose names end in ".so" (not
 * starting with '.') are considered; clients name plugins, never paths.
 *
 * Trust: a plugin runs inside the daemon, so only someone who could
 * already act as the daemon may decide what loads.  The directory is
 * opened by safepath.c: one component at a time, no symbolic link followed
 * unless root or the daemon's euid owns it, every folder on the way owned
 * by root or the daemon's effective uid and writable by neither its group
 * (unless that group is the owner's own: its primary group, with no other
 * member, as Debian's OpenSSH allows) nor others (a folder above it that
 * is, is accepted only when sticky, like /tmp: nobody else can rename our
 * entry in it); otherwise nothing is loaded from it (logged at err).  The
 * directory is read through that descriptor.  Each file is opened once in
 * it (openat, O_NOFOLLOW: a symbolic link is refused, wherever it points:
 * the directory is the whole truth of what runs), checked with fstat on
 * that descriptor (a regular file, owned by root or the daemon's euid,
 * writable by neither group, the owner's own group excepted, nor others)
 * and dlopen'ed from it as "/proc/self/fd/N": the file checked is the file
 * loaded, whatever happens to any name meanwhile.  Anything else is
 * refused with a log line naming the file and the reason; without /proc
 * nothing is loaded (logged).
 *
 * Each accepted file is dlopen'ed RTLD_NOW | RTLD_LOCAL (every symbol
 * resolved now, none leaking into the next), its descriptor looked up as
 * TP_PLUGIN_SYMBOL, checked (ABI version, a valid name, a run function, no
 * other loaded plugin of that name), and its tpp_init called.  Any failure
 * is logged, naming the file and the reason, and the file skipped.
 * Where any plugin may be of isolation "process", the declaration is
 * first read in a worker process (tpd_iso_declaration(), tpoold-worker
 * -d), since its name decides its isolation: a plugin of isolation
 * "process" is then never dlopen'ed here (its constructors run only in
 * workers; p_desc is a copy of what the worker read), one of isolation
 * "thread" is loaded as above, and must declare the same name here.
 *
 * References: the registry holds one on each active plugin; each job holds
 * one from submit until it has its final state.  A rescan (SIGHUP) loads
 * new files, and retires the plugins whose file is gone or changed
 * (another inode or mtime): they take no new jobs, and are unloaded
 * (tpp_fini, dlclose) when their last job ends.  So a plugin is never
 * unloaded under a running job.  Replace a plugin by renaming a new file
 * over it (install(1) does); writing into a loaded .so in place is
 * undefined.  The dynamic linker hands back the object already loaded
 * under a name or from a file (device and inode): a plugin's descriptor
 * stays open while its object is loaded, so no other file is ever loaded
 * under its name; and a file that is a loaded plugin's (a second name of
 * it, or a file changed in place while its old version still runs jobs) is
 * not loaded again: XXX the latter loads at the first SIGHUP after those
 * jobs end (the log says so).
 *
 * Off the loop: a rescan (SIGHUP) and an unload run on the plugin thread
 * (plugin_thread_main, started on first use), so a plugin whose tpp_init
 * or tpp_fini takes seconds stalls no client.  The loop hands the thread a
 * rescan with a copy of what it knows (struct plugin_scan: each loaded
 * file's name, identity, plugin name and handle); the thread reads the
 * directory, loads and initialises the new files into the scan's own
 * list, and posts it back (plt_done, then the eventfd); the loop then
 * retires the plugins whose file it did not see unchanged and makes the
 * new ones active, in one step, and calls the hook (READY=1).  Until then
 * the registry is as it was: submits go on to the current versions.  A
 * SIGHUP during a rescan asks for one more after it.  An unloaded
 * plugin's tpp_fini and dlclose run on the thread too, in order with the
 * rescans.  The scan at start-up, and the unloads at exit, run on the
 * calling thread.
 *
 * All of the registry is the loop's (l); the plugin thread touches only
 * the scans and plugins handed to it, through plt (its lock).
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "isolate.h"
#include "log.h"
#include "options.h"
#include "plugin.h"
#include "safepath.h"

#ifndef TAILQ_FOREACH_SAFE
#define	TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/*
 * A loaded plugin.  All fields l (loop thread), but p_desc and p_data,
 * constant once loaded, which the worker running a job of the plugin
 * reads while the job holds it.
 */
struct tpd_plugin {
	TAILQ_ENTRY(tpd_plugin)	p_entry;	/* l: on the loaded or retired
						 *    list */
	const struct tp_plugin	*p_desc;	/* c */
	void			*p_data;	/* c: what tpp_init returned */
	struct tpd_worker_conf	p_conf;		/* c: its settings (--plugin) */
	struct tpd_iso		*p_iso;		/* c: its worker processes
						 *    (isolation process), or
						 *    NULL (thread) */
	void			*p_handle;	/* c: dlopen's; NULL for
						 *    isolation process (never
						 *    loaded in the daemon) */
	struct tp_plugin	p_decl;		/* c: isolation process: its
						 *    declaration as its worker
						 *    read it (p_desc points
						 *    here; no functions) */
	char			p_name[TP_PLUGIN_NAME_MAX + 1];	/* c: its
						 *    tpp_name */
	char			*p_description;	/* c: owned: its
						 *    tpp_description */
	int			p_fd;		/* c: the file, loaded as
						 *    /proc/self/fd/p_fd */
	char			*p_file;	/* c: file name in the folder */
	dev_t			p_dev;		/* c: file identity, for
						 *    rescans */
	ino_t			p_ino;		/* c */
	int64_t			p_mtime_ns;	/* c */
	unsigned int		p_refs;		/* l: registry + each job */
	unsigned int		p_stuck;	/* l: jobs timed out whose
						 *    thread still runs them */
	uint64_t		p_run_ns;	/* l: its jobs' run time, a
						 *    moving average; 0: none
						 *    ran yet */
	bool			p_active;	/* l: in the registry */
	bool			p_seen;		/* l: rescan: file is there */
};

const struct tp_plugin *
tpd_plugin_desc(const struct tpd_plugin *plugin)
{
	return plugin->p_desc;
}

void *
tpd_plugin_data(const struct tpd_plugin *plugin)
{
	return plugin->p_data;
}

struct tpd_iso *
tpd_plugin_iso(const struct tpd_plugin *plugin)
{
	return plugin->p_iso;
}

const struct tpd_worker_conf *
tpd_plugin_conf(const struct tpd_plugin *plugin)
{
	return &plugin->p_conf;
}

void
tpd_plugin_stuck(struct tpd_plugin *plugin, int delta)
{
	plugin->p_stuck = (unsigned int)((int)plugin->p_stuck + delta);
}

unsigned int
tpd_plugin_stuck_jobs(const struct tpd_plugin *plugin)
{
	return plugin->p_stuck;
}

void
tpd_plugin_note_run(struct tpd_plugin *plugin, uint64_t ns)
{
	/* Each run weighs an eighth: a change shows within a few dozen. */
	plugin->p_run_ns = plugin->p_run_ns == 0 ? ns :
	    plugin->p_run_ns - plugin->p_run_ns / 8 + ns / 8;
}

uint64_t
tpd_plugin_run_ns(const struct tpd_plugin *plugin)
{
	return plugin->p_run_ns;
}

TAILQ_HEAD(plugin_list, tpd_plugin);
struct plugin_scan;

static struct plugin_list plugins_active =
    TAILQ_HEAD_INITIALIZER(plugins_active);
static struct plugin_list plugins_retired =
    TAILQ_HEAD_INITIALIZER(plugins_retired);
static unsigned int plugins_nactive;

/* A task for the plugin thread: a rescan, or a plugin to unload. */
struct plugin_task {
	TAILQ_ENTRY(plugin_task) pt_entry;
	struct plugin_scan	*pt_scan;	/* or */
	struct tpd_plugin	*pt_unload;
};

/* The plugin thread and what it shares with the loop. */
static struct {
	pthread_mutex_t		plt_lock;
	TAILQ_HEAD(, plugin_task) plt_tasks;	/* plt_lock: to do */
	TAILQ_HEAD(, plugin_scan) plt_done;	/* plt_lock: scans run */
	bool			plt_stop;	/* l: exiting: unload here */
	bool			plt_exited;	/* plt_lock: the thread ran
						 *    out of tasks and ended (to
						 *    be joined) */
	bool			plt_started;	/* l */
	pthread_t		plt_thread;	/* l */
	int			plt_fd;		/* c: eventfd, done scans */
	struct event		*plt_ev;	/* l */
	bool			plt_scanning;	/* l: a rescan handed out */
	bool			plt_again;	/* l: SIGHUP meanwhile */
	void			(*plt_scanned)(void);	/* c: the hook */
} plt = {
	.plt_lock = PTHREAD_MUTEX_INITIALIZER,
	.plt_tasks = TAILQ_HEAD_INITIALIZER(plt.plt_tasks),
	.plt_done = TAILQ_HEAD_INITIALIZER(plt.plt_done),
	.plt_fd = -1,
};

static void plugin_dlclose(void *handle, int fd);
static bool plugin_thread_give(struct plugin_scan *, struct tpd_plugin *);

static void
plugin_unload(struct tpd_plugin *p)
{
	if (p->p_iso != NULL)
		tpd_iso_free(p->p_iso);		/* tpp_fini: in its workers */
	else if (p->p_desc != NULL && p->p_desc->tpp_fini != NULL)
		p->p_desc->tpp_fini(p->p_data);
	plugin_dlclose(p->p_handle, p->p_fd);
	free(p->p_description);
	free(p->p_file);
	free(p);
}

void
tpd_plugin_hold(struct tpd_plugin *plugin)
{
	plugin->p_refs++;
}

void
tpd_plugin_rele(struct tpd_plugin *plugin)
{
	if (--plugin->p_refs > 0)
		return;
	tpd_debug("unloading plugin %s (%s)", plugin->p_desc->tpp_name,
	    plugin->p_file);
	TAILQ_REMOVE(&plugins_retired, plugin, p_entry);
	/* Its tpp_fini may take its time: off the loop, unless exiting. */
	if (plt.plt_stop || !plugin_thread_give(NULL, plugin))
		plugin_unload(plugin);
}

static void
plugin_retire(struct tpd_plugin *p, const char *why)
{
	tpd_notice("plugin %s: %s; no new jobs for it", p->p_desc->tpp_name,
	    why);
	TAILQ_REMOVE(&plugins_active, p, p_entry);
	plugins_nactive--;
	p->p_active = false;
	TAILQ_INSERT_TAIL(&plugins_retired, p, p_entry);
	tpd_plugin_rele(p);
}

struct tpd_plugin *
tpd_plugin_lookup(const char *name)
{
	struct tpd_plugin *p;

	TAILQ_FOREACH(p, &plugins_active, p_entry)
		if (strcmp(p->p_desc->tpp_name, name) == 0)
			return p;
	return NULL;
}

bool
tpd_plugin_name_ok(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i >= TP_PLUGIN_NAME_MAX)
			return false;
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		    name[i] == '-' ||
		    name[i] == '.'))
			return false;
	}
	return i > 0;
}

static bool
plugin_file_ok(const char *file)
{
	size_t len = strlen(file);

	return file[0] != '.' && len > 3 && strcmp(file + len - 3, ".so") == 0;
}

/*
 * May the file st be loaded: a regular file (not a link), owned by root or
 * us, writable by neither group (the owner's own excepted) nor others?  On
 * no, why[] says.
 */
static bool
plugin_file_safe(const struct stat *st, char *why, size_t whylen)
{
	const char *by;

	if (S_ISLNK(st->st_mode)) {
		(void)snprintf(why, whylen,
		    "a symbolic link (a plugin must be a file in the "
		    "plugin directory itself)");
		return false;
	}
	if (!S_ISREG(st->st_mode)) {
		(void)snprintf(why, whylen, "not a regular file");
		return false;
	}
	if (!tpd_safepath_owner_ok(st->st_uid)) {
		(void)snprintf(why, whylen,
		    "owned by uid %u, not root or the daemon's uid %u",
		    (unsigned int)st->st_uid, (unsigned int)geteuid());
		return false;
	}
	if ((by = tpd_safepath_writable_by(st)) != NULL) {
		(void)snprintf(why, whylen, "writable by %s (mode %04o)", by,
		    (unsigned int)(st->st_mode & 07777));
		return false;
	}
	return true;
}

static int64_t
plugin_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* "/proc/self/fd/N": the name under which descriptor fd is dlopen'ed. */
static void
plugin_fd_path(int fd, char *buf, size_t len)
{
	(void)snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/*
 * Descriptors whose object stayed loaded after its dlclose (a plugin
 * marked RTLD_NODELETE or with a STB_GNU_UNIQUE symbol, or a file the
 * program itself holds open with dlopen): the object keeps the name
 * "/proc/self/fd/N", so N must stay this file's.  One per file: loading
 * that file again takes its descriptor back (the linker hands back the
 * same object), so such a file costs one descriptor however often it is
 * loaded; each dlclose closes those whose objects have gone since.
 * Loads and unloads run on the loop and on the plugin thread.
 */
struct plugin_linger {
	LIST_ENTRY(plugin_linger) pl_entry;	/* plugin_linger_lock */
	dev_t			pl_dev;		/* c: the file */
	ino_t			pl_ino;		/* c */
	int			pl_fd;		/* c */
};
static pthread_mutex_t plugin_linger_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, plugin_linger) plugin_lingering =
    LIST_HEAD_INITIALIZER(plugin_lingering);	/* plugin_linger_lock */

/* Is an object still loaded under the name of descriptor fd? */
static bool
plugin_fd_loaded(int fd)
{
	char path[32];
	void *h;

	plugin_fd_path(fd, path, sizeof(path));
	if ((h = dlopen(path, RTLD_NOW | RTLD_NOLOAD)) == NULL)
		return false;
	(void)dlclose(h);
	return true;
}

/*
 * The descriptor kept for the file of st, if its object stayed loaded:
 * it is the caller's again (off the list); -1 if none.
 */
static int
plugin_linger_take(const struct stat *st)
{
	struct plugin_linger *pl;
	int fd = -1;

	(void)pthread_mutex_lock(&plugin_linger_lock);
	LIST_FOREACH(pl, &plugin_lingering, pl_entry) {
		if (pl->pl_dev == st->st_dev && pl->pl_ino == st->st_ino) {
			LIST_REMOVE(pl, pl_entry);
			fd = pl->pl_fd;
			free(pl);
			break;
		}
	}
	(void)pthread_mutex_unlock(&plugin_linger_lock);
	return fd;
}

/*
 * dlclose handle (unless NULL: nothing was loaded from fd here), loaded
 * from the descriptor fd, and close fd (consumed)
 * once no object is loaded under its name any more: the dynamic linker
 * hands back an object already loaded under the name asked for, so the
 * name "/proc/self/fd/N" must not come back with another file behind it
 * while an object holds it.  A descriptor whose object outlives its
 * dlclose is kept (plugin_lingering) until it has gone.
 */
static void
plugin_dlclose(void *handle, int fd)
{
	struct plugin_linger *pl, *next;
	struct stat st;

	if (handle != NULL)
		(void)dlclose(handle);
	(void)pthread_mutex_lock(&plugin_linger_lock);
	for (pl = LIST_FIRST(&plugin_lingering); pl != NULL; pl = next) {
		next = LIST_NEXT(pl, pl_entry);
		if (!plugin_fd_loaded(pl->pl_fd)) {
			LIST_REMOVE(pl, pl_entry);
			(void)close(pl->pl_fd);
			free(pl);
		}
	}
	if (!plugin_fd_loaded(fd)) {
		(void)pthread_mutex_unlock(&plugin_linger_lock);
		(void)close(fd);
		return;
	}
	if (fstat(fd, &st) == 0 && (pl = calloc(1, sizeof(*pl))) != NULL) {
		pl->pl_dev = st.st_dev;
		pl->pl_ino = st.st_ino;
		pl->pl_fd = fd;
		LIST_INSERT_HEAD(&plugin_lingering, pl, pl_entry);
	}
	/* else it stays open, unlisted: never reused while we run. */
	(void)pthread_mutex_unlock(&plugin_linger_lock);
	tpd_notice("a plugin object stays loaded after dlclose; its "
	    "descriptor %d stays open", fd);
}

/* What a rescan knows of a loaded plugin (a copy: the thread reads it). */
struct plugin_known {
	char		*pk_file;	/* owned */
	char		pk_name[TP_PLUGIN_NAME_MAX + 1];
	dev_t		pk_dev;
	ino_t		pk_ino;
	int64_t		pk_mtime_ns;
	void		*pk_handle;
	bool		pk_active;	/* else retired, jobs still run it */
	bool		pk_seen;	/* active, its file there unchanged */
};

/*
 * One rescan: made on the loop (plugin_scan_new), run by the plugin thread
 * or at start-up by the caller (plugin_scan_run), applied on the loop
 * (plugin_scan_apply).  Whoever has it owns it: the loop, then the
 * thread, then the loop again.
 */
struct plugin_scan {
	struct plugin_known	*ps_known;	/* what was loaded */
	size_t			ps_nknown;
	struct plugin_list	ps_loaded;	/* loaded now, not active yet */
	unsigned int		ps_nloaded;
	bool			ps_ok;		/* the directory was read */
	TAILQ_ENTRY(plugin_scan) ps_entry;	/* on plt_done */
};

static void
plugin_scan_free(struct plugin_scan *ps)
{
	size_t i;

	for (i = 0; i < ps->ps_nknown; i++)
		free(ps->ps_known[i].pk_file);
	free(ps->ps_known);
	free(ps);
}

/* What the loop knows now, for a rescan; NULL: no memory. */
static struct plugin_scan *
plugin_scan_new(void)
{
	struct plugin_scan *ps;
	struct plugin_known *k;
	struct tpd_plugin *p;
	struct plugin_list *lists[2] = { &plugins_active, &plugins_retired };
	size_t n = 0, i;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	TAILQ_INIT(&ps->ps_loaded);
	for (i = 0; i < 2; i++)
		TAILQ_FOREACH(p, lists[i], p_entry)
			n++;
	if (n > 0 && (ps->ps_known = calloc(n, sizeof(*k))) == NULL) {
		free(ps);
		return NULL;
	}
	for (i = 0; i < 2; i++)
		TAILQ_FOREACH(p, lists[i], p_entry) {
			k = &ps->ps_known[ps->ps_nknown++];
			if ((k->pk_file = strdup(p->p_file)) == NULL) {
				plugin_scan_free(ps);
				return NULL;
			}
			(void)snprintf(k->pk_name, sizeof(k->pk_name), "%s",
			    p->p_desc->tpp_name);
			k->pk_dev = p->p_dev;
			k->pk_ino = p->p_ino;
			k->pk_mtime_ns = p->p_mtime_ns;
			k->pk_handle = p->p_handle;
			k->pk_active = p->p_active;
		}
	return ps;
}

/*
 * Is the file st already loaded, as a plugin still active (a second name
 * of the same file) or as the old version of one, retired but still running
 * jobs?  Then the dynamic linker would hand back that object (it knows
 * files by device and inode too): log why file is skipped, and say yes.
 */
static bool
plugin_loaded_already(const struct plugin_scan *ps, const char *file,
    const struct stat *st)
{
	const struct plugin_known *k;
	size_t i;

	for (i = 0; i < ps->ps_nknown; i++) {
		k = &ps->ps_known[i];
		if (k->pk_dev != st->st_dev || k->pk_ino != st->st_ino)
			continue;
		if (k->pk_active)
			tpd_warn("plugin %s: the same file as %s, loaded "
			    "already; skipped", file, k->pk_file);
		else
			tpd_warn("plugin %s: its old version still runs jobs; "
			    "the new file will be loaded by a SIGHUP after "
			    "they end", file);
		return true;
	}
	return false;
}

/* The file of a plugin that stays (or is new), named name; or NULL. */
static const char *
plugin_scan_name_taken(const struct plugin_scan *ps, const char *name)
{
	const struct tpd_plugin *p;
	size_t i;

	for (i = 0; i < ps->ps_nknown; i++)
		if (ps->ps_known[i].pk_seen &&
		    strcmp(ps->ps_known[i].pk_name, name) == 0)
			return ps->ps_known[i].pk_file;
	TAILQ_FOREACH(p, &ps->ps_loaded, p_entry)
		if (strcmp(p->p_desc->tpp_name, name) == 0)
			return p->p_file;
	return NULL;
}

/*
 * May a plugin declared so (found: the symbol is there) be loaded from
 * file into ps?  On no, logged.
 */
static bool
plugin_decl_ok(const struct plugin_scan *ps, const char *file, bool found,
    uint32_t abi_version, const char *name, bool has_run)
{
	const char *taken;

	if (!found) {
		tpd_warn("plugin %s: no symbol %s (not a tpool plugin?); "
		    "skipped", file, TP_PLUGIN_SYMBOL);
		return false;
	}
	if (abi_version != TP_PLUGIN_ABI_VERSION) {
		tpd_warn("plugin %s: ABI version %u, this tpoold speaks %u; "
		    "skipped", file, abi_version, TP_PLUGIN_ABI_VERSION);
		return false;
	}
	if (name == NULL || !tpd_plugin_name_ok(name)) {
		tpd_warn("plugin %s: missing or invalid name (1 to %d of A-Z "
		    "a-z 0-9 _ . -); skipped", file, TP_PLUGIN_NAME_MAX);
		return false;
	}
	if (!has_run) {
		tpd_warn("plugin %s: no run function; skipped", file);
		return false;
	}
	if ((taken = plugin_scan_name_taken(ps, name)) != NULL) {
		tpd_warn("plugin %s: a plugin named '%s' is already loaded "
		    "(from %s); skipped", file, name, taken);
		return false;
	}
	return true;
}

/* A new plugin of file (st) into ps, active from the scan's end. */
static void
plugin_scan_add(struct plugin_scan *ps, struct tpd_plugin *p, const char *file,
    const struct stat *st)
{
	tpd_worker_conf_of(&tpd_opt, p->p_desc->tpp_name, &p->p_conf);
	p->p_dev = st->st_dev;
	p->p_ino = st->st_ino;
	p->p_mtime_ns = plugin_mtime_ns(st);
	p->p_refs = 1;
	TAILQ_INSERT_TAIL(&ps->ps_loaded, p, p_entry);
	ps->ps_nloaded++;
	tpd_info("plugin %s loaded from %s%s: %s", p->p_desc->tpp_name, file,
	    p->p_iso != NULL ? " (isolation process)" : "",
	    p->p_desc->tpp_description != NULL ?
	    p->p_desc->tpp_description : "");
}

/*
 * Load the plugin of isolation "process" that its worker declared decl
 * from file (st, its descriptor fd, consumed) into ps: its workers are
 * started; nothing of it is loaded in the daemon.  false: logged.
 */
static bool
plugin_load_isolated(struct plugin_scan *ps, const char *file, int fd,
    const struct stat *st, const struct tpd_iso_decl *decl)
{
	struct tpd_plugin *p;
	struct tpd_iso *iso;
	char why[4096];

	if (tpd_iso_new(decl->dcl_name, fd, &iso, why, sizeof(why)) != 0) {
		tpd_warn("plugin %s: its worker process: %s; skipped", file,
		    why);
		plugin_dlclose(NULL, fd);
		return false;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->p_file = strdup(file)) == NULL ||
	    (p->p_description = strdup(decl->dcl_description)) == NULL) {
		tpd_err("plugin %s: out of memory; skipped", file);
		tpd_iso_free(iso);
		if (p != NULL)
			free(p->p_file);
		free(p);
		plugin_dlclose(NULL, fd);
		return false;
	}
	/* A valid name (plugin_decl_ok): 1 to TP_PLUGIN_NAME_MAX bytes. */
	memcpy(p->p_name, decl->dcl_name, strnlen(decl->dcl_name,
	    TP_PLUGIN_NAME_MAX));
	p->p_decl.tpp_abi_version = decl->dcl_abi_version;
	p->p_decl.tpp_name = p->p_name;
	p->p_decl.tpp_description = p->p_description;
	p->p_desc = &p->p_decl;
	p->p_iso = iso;
	p->p_fd = fd;
	plugin_scan_add(ps, p, file, st);
	return true;
}

/*
 * Load file of the checked directory dfd (borrowed) into ps's list; log
 * and return false on any problem.  The file is opened once, O_NOFOLLOW,
 * checked with fstat on that descriptor, and loaded from it
 * ("/proc/self/fd/N"): what was checked is what runs, whatever happens to
 * the name meanwhile.  Where any plugin may be of isolation "process",
 * its declaration is first read in a worker process (its name decides
 * its isolation, and nothing of a plugin of isolation "process", its
 * constructors included, may run in the daemon); a plugin of isolation
 * "thread" is then loaded here.  Any thread: it touches only ps.
 */
static bool
plugin_load(struct plugin_scan *ps, int dfd, const char *file)
{
	const struct tp_plugin *desc;
	struct tpd_iso_decl *decl = NULL;
	struct tpd_plugin *p;
	struct stat st;
	char path[32], why[4096];
	void *handle, *data = NULL;
	const char *err;
	size_t i;
	int fd, kept, error;

	fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		tpd_warn("plugin %s: %s; skipped", file, errno == ELOOP ?
		    "a symbolic link (a plugin must be a file in the plugin "
		    "directory itself)" : strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0) {
		tpd_warn("plugin %s: %s; skipped", file, strerror(errno));
		(void)close(fd);
		return false;
	}
	if (!plugin_file_safe(&st, why, sizeof(why))) {
		tpd_warn("plugin %s: %s; skipped", file, why);
		(void)close(fd);
		return false;
	}
	if (plugin_loaded_already(ps, file, &st)) {
		(void)close(fd);
		return false;
	}
	if ((kept = plugin_linger_take(&st)) >= 0) {
		/* Its object stayed loaded under that descriptor's name. */
		(void)close(fd);
		fd = kept;
	}
	if (tpd_isolation_any_process(&tpd_opt)) {
		if ((decl = malloc(sizeof(*decl))) == NULL) {
			tpd_err("plugin %s: out of memory; skipped", file);
			plugin_dlclose(NULL, fd);
			return false;
		}
		if (tpd_iso_declaration(fd, decl, why, sizeof(why)) != 0) {
			tpd_warn("plugin %s: %s; skipped", file, why);
			free(decl);
			plugin_dlclose(NULL, fd);
			return false;
		}
		if (!plugin_decl_ok(ps, file, decl->dcl_found,
		    decl->dcl_abi_version, decl->dcl_name,
		    decl->dcl_has_run)) {
			free(decl);
			plugin_dlclose(NULL, fd);
			return false;
		}
		if (tpd_isolation_of(&tpd_opt, decl->dcl_name) ==
		    TPD_ISO_PROCESS) {
			bool ok = plugin_load_isolated(ps, file, fd, &st,
			    decl);

			free(decl);
			return ok;
		}
		/* Isolation thread: loaded here, as declared there. */
	}
	plugin_fd_path(fd, path, sizeof(path));
	if ((handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		err = dlerror();
		tpd_warn("plugin %s: cannot load: %s; skipped", file,
		    err != NULL ? err : "?");
		free(decl);
		plugin_dlclose(NULL, fd);
		return false;
	}
	for (i = 0; i < ps->ps_nknown; i++) {
		/* Checked above by identity; the linker may know more. */
		if (ps->ps_known[i].pk_handle == handle) {
			tpd_warn("plugin %s: its old version still runs jobs; "
			    "the new file "
			    "will be loaded by a SIGHUP after they end", file);
			free(decl);
			plugin_dlclose(handle, fd);
			return false;
		}
	}
	(void)dlerror();
	desc = dlsym(handle, TP_PLUGIN_SYMBOL);
	if (!plugin_decl_ok(ps, file, desc != NULL, desc != NULL ?
	    desc->tpp_abi_version : 0, desc != NULL ? desc->tpp_name : NULL,
	    desc != NULL && desc->tpp_run != NULL))
		goto fail;
	if (decl != NULL && strcmp(decl->dcl_name, desc->tpp_name) != 0) {
		tpd_warn("plugin %s: declares itself '%s' here but '%s' in a "
		    "worker process; skipped", file, desc->tpp_name,
		    decl->dcl_name);
		goto fail;
	}
	if (desc->tpp_init != NULL && (error = desc->tpp_init(&data)) != 0) {
		tpd_warn("plugin %s: init failed: %s; skipped", file,
		    strerror(error));
		goto fail;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->p_file = strdup(file)) == NULL) {
		tpd_err("plugin %s: out of memory; skipped", file);
		if (desc->tpp_fini != NULL)
			desc->tpp_fini(data);
		free(p);
		goto fail;
	}
	free(decl);
	p->p_desc = desc;
	p->p_data = data;
	p->p_handle = handle;
	p->p_fd = fd;
	plugin_scan_add(ps, p, file, &st);
	return true;

fail:
	free(decl);
	plugin_dlclose(handle, fd);
	return false;
}

static struct tpd_plugin *
plugin_by_file(const char *file)
{
	struct tpd_plugin *p;

	TAILQ_FOREACH(p, &plugins_active, p_entry)
		if (strcmp(p->p_file, file) == 0)
			return p;
	return NULL;
}

/* The active plugin known to ps as file, unchanged (st); or NULL. */
static struct plugin_known *
plugin_scan_unchanged(struct plugin_scan *ps, const char *file,
    const struct stat *st)
{
	struct plugin_known *k;
	size_t i;

	for (i = 0; i < ps->ps_nknown; i++) {
		k = &ps->ps_known[i];
		if (k->pk_active && strcmp(k->pk_file, file) == 0 &&
		    k->pk_dev == st->st_dev && k->pk_ino == st->st_ino &&
		    k->pk_mtime_ns == plugin_mtime_ns(st))
			return k;
	}
	return NULL;
}

/*
 * Read the plugin directory: mark the known plugins whose file is there
 * unchanged, and load the files that are new or changed into ps.  Any
 * thread: it touches only ps (and logs).  May sleep (dlopen, the plugins'
 * tpp_init).
 */
static void
plugin_scan_run(struct plugin_scan *ps)
{
	const char *dir = tpd_opt.o_plugin_dir;
	struct plugin_known *k;
	struct dirent *de;
	struct stat st;
	char **files = NULL, **nf, why[512];
	size_t nfiles = 0, cap = 0, i;
	DIR *d;
	int pfd, dfd;

	if (!tpd_safepath_proc_ok()) {
		tpd_err("plugin directory %s: /proc is not mounted, and "
		    "plugins are loaded only from the descriptor of the file "
		    "checked (/proc/self/fd/N); loading nothing", dir);
		return;
	}
	if (tpd_safepath_opendir(dir, &pfd, why, sizeof(why)) != 0) {
		tpd_err("plugin directory %s: %s; loading nothing from it", dir,
		    why);
		return;
	}
	/* To read it: the checked folder itself, not its path again. */
	dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	(void)close(pfd);
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		tpd_err("plugin directory %s: %s", dir, strerror(errno));
		if (dfd >= 0)
			(void)close(dfd);
		return;
	}
	ps->ps_ok = true;

	/* First see which loaded plugins are unchanged, and what is new. */
	while ((de = readdir(d)) != NULL) {
		if (!plugin_file_ok(de->d_name))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			tpd_warn("plugin %s: %s; skipped", de->d_name,
			    strerror(errno));
			continue;
		}
		if (!plugin_file_safe(&st, why, sizeof(why))) {
			tpd_warn("plugin %s: %s; skipped", de->d_name, why);
			continue;
		}
		if ((k = plugin_scan_unchanged(ps, de->d_name, &st)) != NULL) {
			k->pk_seen = true;
			continue;
		}
		if (nfiles == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nf = realloc(files, cap * sizeof(*files))) == NULL)
				break;
			files = nf;
		}
		if ((files[nfiles] = strdup(de->d_name)) == NULL)
			break;
		nfiles++;
	}

	/* Load in name order: which of two duplicates wins is stable. */
	for (i = 1; i < nfiles; i++) {
		char *f = files[i];
		size_t j = i;

		while (j > 0 && strcmp(files[j - 1], f) > 0) {
			files[j] = files[j - 1];
			j--;
		}
		files[j] = f;
	}
	for (i = 0; i < nfiles; i++) {
		/* Checked again, on the descriptor loaded from. */
		(void)plugin_load(ps, dfd, files[i]);
		free(files[i]);
	}
	free(files);
	(void)closedir(d);
}

/*
 * On the loop: make what the rescan found the registry in one step:
 * retire the plugins whose file is gone, changed or refused now (no new
 * jobs; unloaded after their last), make the new ones active.  Frees ps.
 */
static void
plugin_scan_apply(struct plugin_scan *ps)
{
	struct tpd_plugin *p, *next;
	size_t i;

	if (ps->ps_ok) {
		TAILQ_FOREACH(p, &plugins_active, p_entry)
			p->p_seen = false;
		for (i = 0; i < ps->ps_nknown; i++)
			if (ps->ps_known[i].pk_seen &&
			    (p = plugin_by_file(ps->ps_known[i].pk_file)) !=
			    NULL)
				p->p_seen = true;
		TAILQ_FOREACH_SAFE(p, &plugins_active, p_entry, next)
			if (!p->p_seen)
				plugin_retire(p, "its file is gone, was "
				    "replaced or is refused now");
		while ((p = TAILQ_FIRST(&ps->ps_loaded)) != NULL) {
			TAILQ_REMOVE(&ps->ps_loaded, p, p_entry);
			p->p_active = p->p_seen = true;
			TAILQ_INSERT_TAIL(&plugins_active, p, p_entry);
			plugins_nactive++;
		}
		tpd_info("plugin directory %s: %u loaded now, %u plugins "
		    "active", tpd_opt.o_plugin_dir, ps->ps_nloaded,
		    plugins_nactive);
	}
	plugin_scan_free(ps);
}

/* ------------------------------------------------------ the plugin thread */

static void *
plugin_thread_main(void *arg)
{
	struct plugin_task *t;
	uint64_t one = 1;

	(void)arg;
	/* It ends when it has nothing to do: no thread while idle. */
	(void)pthread_mutex_lock(&plt.plt_lock);
	for (;;) {
		if ((t = TAILQ_FIRST(&plt.plt_tasks)) == NULL) {
			plt.plt_exited = true;
			break;
		}
		TAILQ_REMOVE(&plt.plt_tasks, t, pt_entry);
		(void)pthread_mutex_unlock(&plt.plt_lock);
		if (t->pt_scan != NULL)
			plugin_scan_run(t->pt_scan);
		else
			plugin_unload(t->pt_unload);
		(void)pthread_mutex_lock(&plt.plt_lock);
		if (t->pt_scan != NULL) {
			TAILQ_INSERT_TAIL(&plt.plt_done, t->pt_scan,
			    ps_entry);
			(void)!write(plt.plt_fd, &one, sizeof(one));
		}
		free(t);
	}
	(void)pthread_mutex_unlock(&plt.plt_lock);
	return NULL;
}

/* Hand the thread a task (started on first use); false: do it here. */
static bool
plugin_thread_give(struct plugin_scan *scan, struct tpd_plugin *unload)
{
	struct plugin_task *t;
	sigset_t all, old;
	int error;

	if (plt.plt_ev == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return false;
	(void)pthread_mutex_lock(&plt.plt_lock);
	if (plt.plt_started && !plt.plt_exited) {
		/* Running: it takes this task before it may end. */
		t->pt_scan = scan;
		t->pt_unload = unload;
		TAILQ_INSERT_TAIL(&plt.plt_tasks, t, pt_entry);
		(void)pthread_mutex_unlock(&plt.plt_lock);
		return true;
	}
	(void)pthread_mutex_unlock(&plt.plt_lock);
	/* None, or one that ended: a new one, this task its first. */
	if (plt.plt_started) {
		(void)pthread_join(plt.plt_thread, NULL);
		plt.plt_started = false;
	}
	t->pt_scan = scan;
	t->pt_unload = unload;
	(void)pthread_mutex_lock(&plt.plt_lock);
	plt.plt_exited = false;
	TAILQ_INSERT_TAIL(&plt.plt_tasks, t, pt_entry);
	(void)pthread_mutex_unlock(&plt.plt_lock);
	/* Signals stay with the main thread. */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(&plt.plt_thread, NULL, plugin_thread_main,
	    NULL);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		tpd_warn("cannot start the plugin thread: %s; loading and "
		    "unloading on the loop", strerror(error));
		(void)pthread_mutex_lock(&plt.plt_lock);
		TAILQ_REMOVE(&plt.plt_tasks, t, pt_entry);
		(void)pthread_mutex_unlock(&plt.plt_lock);
		free(t);
		return false;
	}
	plt.plt_started = true;
	return true;
}

/* The loop learns that rescans are done: apply them. */
static void
plugin_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct plugin_scan *ps;
	uint64_t n;

	(void)!read(plt.plt_fd, &n, sizeof(n));
	for (;;) {
		(void)pthread_mutex_lock(&plt.plt_lock);
		if ((ps = TAILQ_FIRST(&plt.plt_done)) != NULL)
			TAILQ_REMOVE(&plt.plt_done, ps, ps_entry);
		(void)pthread_mutex_unlock(&plt.plt_lock);
		if (ps == NULL)
			break;
		plugin_scan_apply(ps);
		plt.plt_scanning = false;
	}
	if (plt.plt_again) {
		plt.plt_again = false;
		tpd_plugins_rescan();
		return;
	}
	if (!plt.plt_scanning && plt.plt_scanned != NULL)
		plt.plt_scanned();
}

int
tpd_plugins_init(struct event_base *base, void (*scanned)(void))
{
	plt.plt_scanned = scanned;
	plt.plt_stop = plt.plt_scanning = plt.plt_again = false;
	if ((plt.plt_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return errno;
	if ((plt.plt_ev = event_new(base, plt.plt_fd, EV_READ | EV_PERSIST,
	    plugin_done_cb, NULL)) == NULL || event_add(plt.plt_ev,
	    NULL) != 0)
		return ENOMEM;
	return 0;
}

void
tpd_plugins_scan(void)
{
	struct plugin_scan *ps;

	if ((ps = plugin_scan_new()) == NULL) {
		tpd_err("plugin directory %s: out of memory; not rescanned",
		    tpd_opt.o_plugin_dir);
		return;
	}
	plugin_scan_run(ps);
	plugin_scan_apply(ps);
}

void
tpd_plugins_rescan(void)
{
	struct plugin_scan *ps;
	struct tpd_plugin *p;

	/* A SIGHUP lifts the quarantines. */
	TAILQ_FOREACH(p, &plugins_active, p_entry)
		if (p->p_iso != NULL)
			tpd_iso_unquarantine(p->p_iso);

	if (plt.plt_scanning) {
		plt.plt_again = true;	/* one more after this one */
		return;
	}
	if ((ps = plugin_scan_new()) == NULL) {
		tpd_err("plugin directory %s: out of memory; not rescanned",
		    tpd_opt.o_plugin_dir);
		if (plt.plt_scanned != NULL)
			plt.plt_scanned();
		return;
	}
	if (plugin_thread_give(ps, NULL)) {
		plt.plt_scanning = true;
		return;
	}
	plugin_scan_run(ps);
	plugin_scan_apply(ps);
	if (plt.plt_scanned != NULL)
		plt.plt_scanned();
}

void
tpd_plugins_foreach(void (*fn)(struct tpd_plugin *, void *), void *arg)
{
	struct tpd_plugin *p;

	TAILQ_FOREACH(p, &plugins_active, p_entry)
		fn(p, arg);
}

void
tpd_plugins_trim_workers(uint64_t idle_ns)
{
	struct tpd_plugin *p;

	TAILQ_FOREACH(p, &plugins_active, p_entry)
		if (p->p_iso != NULL)
			tpd_iso_trim(p->p_iso, idle_ns);
	TAILQ_FOREACH(p, &plugins_retired, p_entry)
		if (p->p_iso != NULL)
			tpd_iso_trim(p->p_iso, idle_ns);
}

unsigned int
tpd_plugins_count(void)
{
	return plugins_nactive;
}

/* Exit: let the plugin thread finish what it was given, and join it. */
static void
plugin_thread_stop(void)
{
	struct plugin_scan *ps;
	struct tpd_plugin *p;

	/* Unloads from here on run here; the thread ends with its queue. */
	plt.plt_stop = true;
	if (plt.plt_started) {
		(void)pthread_join(plt.plt_thread, NULL);
		plt.plt_started = false;
	}
	/* A rescan done but not applied: its new plugins go unused. */
	while ((ps = TAILQ_FIRST(&plt.plt_done)) != NULL) {
		TAILQ_REMOVE(&plt.plt_done, ps, ps_entry);
		while ((p = TAILQ_FIRST(&ps->ps_loaded)) != NULL) {
			TAILQ_REMOVE(&ps->ps_loaded, p, p_entry);
			plugin_unload(p);
		}
		plugin_scan_free(ps);
	}
	plt.plt_scanning = plt.plt_again = false;
	if (plt.plt_ev != NULL) {
		event_free(plt.plt_ev);
		plt.plt_ev = NULL;
	}
	if (plt.plt_fd >= 0) {
		(void)close(plt.plt_fd);
		plt.plt_fd = -1;
	}
}

void
tpd_plugins_unload_all(void)
{
	struct tpd_plugin *p;

	plugin_thread_stop();

	while ((p = TAILQ_FIRST(&plugins_active)) != NULL) {
		TAILQ_REMOVE(&plugins_active, p, p_entry);
		plugins_nactive--;
		p->p_active = false;
		TAILQ_INSERT_TAIL(&plugins_retired, p, p_entry);
		tpd_plugin_rele(p);
	}
	/* Those still held belong to abandoned jobs: left to the exit. */
}
