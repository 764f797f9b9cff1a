/*
 * plugin.h -- the plugin registry (plugin.c).  Layer: pools and plugins;
 * calls only the plugin ABI, options and the log.  A plugin is a handle:
 * its insides are plugin.c's.  Loop thread, except tpd_plugin_desc() and
 * tpd_plugin_data(), which a worker may call on the plugin of the job it
 * runs (the job holds a reference).
 */
#ifndef TPD_PLUGIN_H
#define TPD_PLUGIN_H

#include <sys/stat.h>

#include <stdbool.h>

#include <tpool/plugin.h>

struct tpd_plugin;

/*
 * Load every plugin of tpd_opt.o_plugin_dir not loaded yet, and retire
 * those whose file is gone or changed.  Errors are logged.  May sleep
 * (dlopen, the plugins' tpp_init).
 */
void	tpd_plugins_scan(void);
/* The active plugin of that name, or NULL (no reference taken). */
struct tpd_plugin *tpd_plugin_lookup(const char *name);
/* Is name a valid plugin name (1 to TP_PLUGIN_NAME_MAX of A-Z a-z 0-9
 * _ . -)? */
bool	tpd_plugin_name_ok(const char *name);
/* A reference keeps the plugin loaded (a job holds one until it ends). */
void	tpd_plugin_hold(struct tpd_plugin *plugin);
void	tpd_plugin_rele(struct tpd_plugin *plugin);
/* What the plugin declared, and what its tpp_init returned (constant). */
const struct tp_plugin *tpd_plugin_desc(const struct tpd_plugin *plugin);
void	*tpd_plugin_data(const struct tpd_plugin *plugin);
/* Visit each active plugin in the order of loading. */
void	tpd_plugins_foreach(void (*fn)(struct tpd_plugin *, void *), void *arg);
unsigned int tpd_plugins_count(void);
/*
 * Is the directory dir (fstat'ed as *st), and every folder above it, one
 * that only root or the daemon's user can change (the rules above
 * plugin.c's trust, which --state-dir follows too)?  On no, why[] says.
 */
bool	tpd_dir_trusted(const char *dir, const struct stat *st, char *why,
	    size_t whylen);
/* Exit: unload every plugin no job holds. */
void	tpd_plugins_unload_all(void);

#endif /* TPD_PLUGIN_H */
