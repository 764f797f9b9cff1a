/*
 * plugin.c -- the plugin registry: loading plugins from the plugin
 * directory, finding them by name, unloading them when nothing uses them.
 *
 * Only files directly in --plugin-dir whose names end in ".so" (not
 * starting with '.') are considered; clients name plugins, never paths.
 *
 * Trust: a plugin runs inside the daemon, so only someone who could
 * already act as the daemon may decide what loads.  The directory must be
 * owned by root or the daemon's effective uid and writable by neither its
 * group (unless that group is the owner's own: its primary group, with no
 * other member, as Debian's OpenSSH allows) nor others, and so must every
 * folder above it (one that is
 * group/other-writable is accepted only when sticky, like /tmp: nobody
 * else can rename our entry in it); otherwise nothing is loaded from it
 * (logged at err).  Each file must be a regular file itself (a symbolic
 * link is refused, wherever it points: the directory is the whole truth
 * of what runs), owned by root or the daemon's euid, and writable by
 * neither group (the owner's own group excepted, as above) nor others.
 * Anything else is refused with a log line naming the file and the
 * reason.  Since nobody else can change the directory, the file checked
 * is the file dlopen(3) opens.
 *
 * Each accepted file is dlopen'ed RTLD_NOW | RTLD_LOCAL (every symbol
 * resolved now, none leaking into the next), its descriptor looked up as
 * TP_PLUGIN_SYMBOL, checked (ABI version, a valid name, a run function, no
 * other loaded plugin of that name), and its tpp_init called.  Any failure
 * is logged, naming the file and the reason, and the file skipped.
 *
 * References: the registry holds one on each active plugin; each job holds
 * one from submit until it has its final state.  A rescan (SIGHUP) loads
 * new files, and retires the plugins whose file is gone or changed
 * (another inode or mtime): they take no new jobs, and are unloaded
 * (tpp_fini, dlclose) when their last job ends.  So a plugin is never
 * unloaded under a running job.  Replace a plugin by renaming a new file
 * over it (install(1) does); writing into a loaded .so in place is
 * undefined.  XXX The dynamic linker hands back the object already loaded
 * from a path, so a file replaced while jobs of its old version still run
 * is loaded by the first SIGHUP after they end (the log says so).
 *
 * All of it is the loop's (l).
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "options.h"
#include "plugin.h"

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
	void			*p_handle;	/* c: dlopen's */
	char			*p_file;	/* c: file name in the folder */
	dev_t			p_dev;		/* c: file identity, for
						 *    rescans */
	ino_t			p_ino;		/* c */
	int64_t			p_mtime_ns;	/* c */
	unsigned int		p_refs;		/* l: registry + each job */
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

TAILQ_HEAD(plugin_list, tpd_plugin);

static struct plugin_list plugins_active =
    TAILQ_HEAD_INITIALIZER(plugins_active);
static struct plugin_list plugins_retired =
    TAILQ_HEAD_INITIALIZER(plugins_retired);
static unsigned int plugins_nactive;

static void
plugin_unload(struct tpd_plugin *p)
{
	if (p->p_desc != NULL && p->p_desc->tpp_fini != NULL)
		p->p_desc->tpp_fini(p->p_data);
	if (p->p_handle != NULL)
		(void)dlclose(p->p_handle);
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

/* Owned by root or by us? */
static bool
plugin_owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * May the group of a file owned by st_uid write to it?  Only when that
 * group is the owner's own ("user private group": the owner's primary
 * group, with no member but the owner), as Debian's OpenSSH allows: then
 * nobody else is in it.
 */
static bool
plugin_group_private(const struct stat *st)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char pwbuf[4096], grbuf[16384];
	char **m;

	if (getpwuid_r(st->st_uid, &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 ||
	    pwp == NULL ||
	    pw.pw_gid != st->st_gid)
		return false;
	if (getgrgid_r(st->st_gid, &gr, grbuf, sizeof(grbuf), &grp) != 0 ||
	    grp == NULL)
		return false;
	for (m = gr.gr_mem; *m != NULL; m++)
		if (strcmp(*m, pw.pw_name) != 0)
			return false;
	return true;
}

/* Writable by others, or by a group that is not its owner's own? */
static const char *
plugin_writable_by(const struct stat *st)
{
	if (st->st_mode & S_IWOTH)
		return "others";
	if ((st->st_mode & S_IWGRP) && !plugin_group_private(st))
		return "its group";
	return NULL;
}

bool
tpd_dir_trusted(const char *dir, const struct stat *st, char *why,
    size_t whylen)
{
	struct stat up;
	const char *by;
	char *real, *slash;
	bool ok = true;

	if (!plugin_owner_ok(st->st_uid)) {
		(void)snprintf(why, whylen,
		    "owned by uid %u, not root or the daemon's uid %u",
		    (unsigned int)st->st_uid, (unsigned int)geteuid());
		return false;
	}
	if ((by = plugin_writable_by(st)) != NULL) {
		(void)snprintf(why, whylen, "writable by %s (mode %04o)", by,
		    (unsigned int)(st->st_mode & 07777));
		return false;
	}
	if ((real = realpath(dir, NULL)) == NULL) {
		(void)snprintf(why, whylen, "realpath: %s", strerror(errno));
		return false;
	}
	/* The folders above: a sticky one may be open to all (e.g. /tmp). */
	while (ok && (slash = strrchr(real, '/')) != NULL) {
		if (slash == real)
			slash[1] = '\0';	/* "/" itself */
		else
			*slash = '\0';
		if (stat(real, &up) != 0) {
			(void)snprintf(why, whylen, "%s: %s", real,
			    strerror(errno));
			ok = false;
		} else if (!plugin_owner_ok(up.st_uid)) {
			(void)snprintf(why, whylen,
			    "%s is owned by uid %u, not root or the "
			    "daemon's uid %u", real, (unsigned int)up.st_uid,
			    (unsigned int)geteuid());
			ok = false;
		} else if ((by = plugin_writable_by(&up)) != NULL &&
		    !(up.st_mode & S_ISVTX)) {
			(void)snprintf(why, whylen,
			    "%s is writable by %s (mode %04o)", real,
			    by, (unsigned int)(up.st_mode & 07777));
			ok = false;
		}
		if (slash == real)
			break;
	}
	free(real);
	return ok;
}

/*
 * lstat file in the directory dfd into *st and say whether it may be
 * loaded: a regular file (not a link), owned by root or us, writable by
 * neither group nor others.  On no, why[] says.
 */
static bool
plugin_file_safe(int dfd, const char *file, struct stat *st, char *why,
    size_t whylen)
{
	const char *by;

	if (fstatat(dfd, file, st, AT_SYMLINK_NOFOLLOW) != 0) {
		(void)snprintf(why, whylen, "%s", strerror(errno));
		return false;
	}
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
	if (!plugin_owner_ok(st->st_uid)) {
		(void)snprintf(why, whylen,
		    "owned by uid %u, not root or the daemon's uid %u",
		    (unsigned int)st->st_uid, (unsigned int)geteuid());
		return false;
	}
	if ((by = plugin_writable_by(st)) != NULL) {
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

/* Load dir/file; log and return false on any problem. */
static bool
plugin_load(const char *dir, const char *file, const struct stat *st)
{
	const struct tp_plugin *desc;
	struct tpd_plugin *p;
	char path[4096];
	void *handle, *data = NULL;
	const char *err;
	unsigned int alias;
	int error, len;

	/*
	 * dlopen of a path that names a loaded object hands back that object,
	 * so while an old version of this file is retired but still loaded
	 * (its jobs run), the new file is opened through another spelling of
	 * the same path, dir/./file (one more ./ per such version).
	 */
	alias = 0;
	TAILQ_FOREACH(p, &plugins_retired, p_entry) {
		if (strcmp(p->p_file, file) == 0)
			alias++;
	}
	len = snprintf(path, sizeof(path), "%s/", dir);
	while (alias-- > 0 && len >= 0 && (size_t)len < sizeof(path))
		len += snprintf(path + len, sizeof(path) - (size_t)len, "./");
	if (len < 0 || (size_t)len >= sizeof(path) ||
	    (size_t)snprintf(path + len, sizeof(path) - (size_t)len, "%s",
	    file) >=
	    sizeof(path) - (size_t)len) {
		tpd_warn("plugin %s: path too long; skipped", file);
		return false;
	}
	if ((handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		err = dlerror();
		tpd_warn("plugin %s: cannot load: %s; skipped", file,
		    err != NULL ? err : "?");
		return false;
	}
	TAILQ_FOREACH(p, &plugins_retired, p_entry) {
		if (p->p_handle == handle) {
			tpd_warn("plugin %s: its old version still runs jobs; "
			    "the new file "
			    "will be loaded by a SIGHUP after they end", file);
			(void)dlclose(handle);
			return false;
		}
	}
	(void)dlerror();
	desc = dlsym(handle, TP_PLUGIN_SYMBOL);
	if (desc == NULL) {
		tpd_warn("plugin %s: no symbol %s (not a tpool plugin?); "
		    "skipped", file,
		    TP_PLUGIN_SYMBOL);
		goto fail;
	}
	if (desc->tpp_abi_version != TP_PLUGIN_ABI_VERSION) {
		tpd_warn("plugin %s: ABI version %u, this tpoold speaks %u; "
		    "skipped", file,
		    desc->tpp_abi_version, TP_PLUGIN_ABI_VERSION);
		goto fail;
	}
	if (desc->tpp_name == NULL || !tpd_plugin_name_ok(desc->tpp_name)) {
		tpd_warn("plugin %s: missing or invalid name (1 to %d of A-Z "
		    "a-z 0-9 _ . -); "
		    "skipped", file, TP_PLUGIN_NAME_MAX);
		goto fail;
	}
	if (desc->tpp_run == NULL) {
		tpd_warn("plugin %s: no run function; skipped", file);
		goto fail;
	}
	if (tpd_plugin_lookup(desc->tpp_name) != NULL) {
		tpd_warn("plugin %s: a plugin named '%s' is already loaded "
		    "(from %s); skipped",
		    file, desc->tpp_name,
		    tpd_plugin_lookup(desc->tpp_name)->p_file);
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
	p->p_desc = desc;
	p->p_data = data;
	p->p_handle = handle;
	p->p_dev = st->st_dev;
	p->p_ino = st->st_ino;
	p->p_mtime_ns = plugin_mtime_ns(st);
	p->p_refs = 1;
	p->p_active = true;
	p->p_seen = true;
	TAILQ_INSERT_TAIL(&plugins_active, p, p_entry);
	plugins_nactive++;
	tpd_info("plugin %s loaded from %s: %s", desc->tpp_name, file,
	    desc->tpp_description != NULL ? desc->tpp_description : "");
	return true;

fail:
	(void)dlclose(handle);
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

void
tpd_plugins_scan(void)
{
	const char *dir = tpd_opt.o_plugin_dir;
	struct tpd_plugin *p, *next;
	struct dirent *de;
	struct stat st;
	char **files = NULL, **nf, why[512];
	size_t nfiles = 0, cap = 0, i;
	unsigned int loaded = 0;
	DIR *d;
	int dfd;

	if ((d = opendir(dir)) == NULL) {
		tpd_err("plugin directory %s: %s", dir, strerror(errno));
		return;
	}
	dfd = dirfd(d);
	if (fstat(dfd, &st) != 0) {
		tpd_err("plugin directory %s: %s", dir, strerror(errno));
		(void)closedir(d);
		return;
	}
	if (!tpd_dir_trusted(dir, &st, why, sizeof(why))) {
		tpd_err("plugin directory %s: %s; loading nothing from it", dir,
		    why);
		(void)closedir(d);
		return;
	}
	TAILQ_FOREACH(p, &plugins_active, p_entry)
		p->p_seen = false;

	/* First see which loaded plugins are unchanged, and what is new. */
	while ((de = readdir(d)) != NULL) {
		if (!plugin_file_ok(de->d_name))
			continue;
		if (!plugin_file_safe(dfd, de->d_name, &st, why, sizeof(why))) {
			tpd_warn("plugin %s: %s; skipped", de->d_name, why);
			continue;
		}
		p = plugin_by_file(de->d_name);
		if (p != NULL && p->p_dev == st.st_dev &&
		    p->p_ino == st.st_ino &&
		    p->p_mtime_ns == plugin_mtime_ns(&st)) {
			p->p_seen = true;
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

	/* Gone, changed or no longer safe: no new jobs; unloaded after
	 * the last. */
	TAILQ_FOREACH_SAFE(p, &plugins_active, p_entry, next)
		if (!p->p_seen)
			plugin_retire(p,
			    "its file is gone, was replaced or is refused now");

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
		/* Checked again: the first pass may be a moment ago. */
		if (plugin_file_safe(dfd, files[i], &st, why, sizeof(why)) &&
		    plugin_load(dir, files[i], &st))
			loaded++;
		free(files[i]);
	}
	free(files);
	(void)closedir(d);
	tpd_info("plugin directory %s: %u loaded now, %u plugins active", dir,
	    loaded,
	    plugins_nactive);
}

void
tpd_plugins_foreach(void (*fn)(struct tpd_plugin *, void *), void *arg)
{
	struct tpd_plugin *p;

	TAILQ_FOREACH(p, &plugins_active, p_entry)
		fn(p, arg);
}

unsigned int
tpd_plugins_count(void)
{
	return plugins_nactive;
}

void
tpd_plugins_unload_all(void)
{
	struct tpd_plugin *p;

	while ((p = TAILQ_FIRST(&plugins_active)) != NULL) {
		TAILQ_REMOVE(&plugins_active, p, p_entry);
		plugins_nactive--;
		p->p_active = false;
		TAILQ_INSERT_TAIL(&plugins_retired, p, p_entry);
		tpd_plugin_rele(p);
	}
	/* Those still held belong to abandoned jobs: left to the exit. */
}
