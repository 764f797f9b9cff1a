/*
 * budget.h -- the memory budget: every byte a client can make the daemon
 * hold (a job with its input, a result kept, output not yet read) is
 * charged to the user who caused it, against a share per user and a total
 * for the daemon (budget.c).  Layer: base; calls options and the log.
 * Loop thread only.
 *
 * The total is --memory-budget, by default a quarter of what the daemon
 * may use: the machine's memory, or its cgroup's memory.max when lower;
 * each user may hold --memory-per-user, by default a quarter of the
 * total.  A charge that would pass either, once the user's finished jobs
 * have made what room they can (oldest first), is refused (nothing
 * charged), and the caller says which limit it met.
 */
#ifndef TPD_BUDGET_H
#define TPD_BUDGET_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which limit a charge met. */
enum tpd_budget_limit {
	TPD_BUDGET_OK,
	TPD_BUDGET_USER,	/* the user's share, --memory-per-user */
	TPD_BUDGET_TOTAL	/* the daemon's, --memory-budget */
};

/*
 * Settle the limits from tpd_opt (0: derive from the machine) and log
 * them.  Call once at set-up, before any charge.
 */
void	tpd_budget_init(void);
/*
 * Charge bytes to uid if both limits allow it; else nothing.  A charge
 * that meets a limit first has the reclaim hook give back what uid holds
 * that can go (one thing per call) until it fits or nothing is left:
 * whatever calls a charge must hold no pointer to what the hook frees.
 */
enum tpd_budget_limit tpd_budget_charge(uid_t uid, size_t bytes);
/* The same without the reclaim hook: charge bytes if they fit as things
 * are, else nothing (the limit met). */
enum tpd_budget_limit tpd_budget_try(uid_t uid, size_t bytes);
/*
 * The layer above's reclaim hook: fn(uid) frees one thing of uid's that
 * is kept as a courtesy (the job table: its oldest finished job, with its
 * result) and returns true, or returns false when uid has nothing of the
 * kind.  Cleared by tpd_budget_free_all().
 */
void	tpd_budget_set_reclaim(bool (*fn)(uid_t uid));
/* Give back bytes charged to uid. */
void	tpd_budget_release(uid_t uid, size_t bytes);
/* Bytes charged to uid, and to everyone. */
uint64_t tpd_budget_used_by(uid_t uid);
uint64_t tpd_budget_used(void);
/* The limits in force. */
uint64_t tpd_budget_total(void);
uint64_t tpd_budget_per_user(void);
/* "uid N holds X of its Y (--memory-per-user)" or the daemon's: for
 * refusals.  Writes at most len bytes into buf; returns buf. */
const char *tpd_budget_why(uid_t uid, enum tpd_budget_limit limit,
	    size_t bytes, char *buf, size_t len);
/* Forget every record (exit). */
void	tpd_budget_free_all(void);

#endif /* TPD_BUDGET_H */
