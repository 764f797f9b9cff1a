/*
 * plugin.h -- the plugin registry (plugin.c).  Layer: pools and plugins;
 * calls only the plugin ABI, options and the log.  A plugin is a handle:
 * its insides are plugin.c's.  Loop thread (plugin.c runs its own thread
 * for rescans and unloads), except tpd_plugin_desc() and
 * tpd_plugin_data(), which a worker may call on the plugin of the job it
 * runs (the job holds a reference).
 */
#ifndef TPD_PLUGIN_H
#define TPD_PLUGIN_H

#include <stdbool.h>

#include <tpool/plugin.h>

struct tpd_plugin;

struct event_base;

/*
 * Set up the plugin thread's way back to the loop on base; scanned is
 * called on the loop when a rescan (tpd_plugins_rescan) has been applied.
 * 0 or an errno.
 */
int	tpd_plugins_init(struct event_base *base, void (*scanned)(void));
/*
 * Load every plugin of tpd_opt.o_plugin_dir not loaded yet, and retire
 * those whose file is gone or changed, here and now (start-up).  Errors
 * are logged.  May sleep (dlopen, the plugins' tpp_init).
 */
void	tpd_plugins_scan(void);
/*
 * The same, with the loading and the plugins' tpp_init on the plugin
 * thread: the registry changes, in one step, when the loop takes the
 * result; then the scanned hook.  A rescan asked for during one runs
 * after it (the hook once, after the last).
 */
void	tpd_plugins_rescan(void);
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
/* Its worker processes when its isolation is "process" (isolate.h), else
 * NULL (constant; a worker may call it as tpd_plugin_desc()). */
struct tpd_iso *tpd_plugin_iso(const struct tpd_plugin *plugin);
/* Its settings (--plugin over the daemon's), constant once loaded. */
struct tpd_worker_conf;
const struct tpd_worker_conf *tpd_plugin_conf(const struct tpd_plugin *plugin);
/* Jobs of it timed out whose thread still runs them (loop): one more
 * (+1) or fewer (-1); how many. */
void	tpd_plugin_stuck(struct tpd_plugin *plugin, int delta);
unsigned int tpd_plugin_stuck_jobs(const struct tpd_plugin *plugin);
/* A job of it ran for ns (loop: at its end); how long its jobs run, a
 * moving average of the last few dozen (0: none ran yet). */
void	tpd_plugin_note_run(struct tpd_plugin *plugin, uint64_t ns);
uint64_t tpd_plugin_run_ns(const struct tpd_plugin *plugin);
/* Visit each active plugin in the order of loading. */
void	tpd_plugins_foreach(void (*fn)(struct tpd_plugin *, void *), void *arg);
unsigned int tpd_plugins_count(void);
/* Worker processes of every plugin (isolation process) idle past idle_ns
 * beyond --worker-warm end (tpd_iso_trim()). */
void	tpd_plugins_trim_workers(uint64_t idle_ns);
/* Exit: join the plugin thread, unload every plugin no job holds (here;
 * their tpp_fini too). */
void	tpd_plugins_unload_all(void);

#endif /* TPD_PLUGIN_H */
