/*
 * grant.h -- which job priorities a client may ask for (grant.c).
 *
 * A client gets only what its own uid could give itself: root any
 * priority; any other user the default (TP_PRI_NONE) or a time-sharing
 * priority at nice 0 or weaker (0 to TPD_PRI_ANYONE_MAX), never a
 * stronger nice or real time, whatever the daemon itself may do.  The
 * daemon's configuration grants more to a user or to the members of a
 * group (--grant-priority, parsed here at start).
 *
 * Layer: below options (which parses each grant through this file);
 * calls only the log.  Parsing runs at start; tpd_grant_max_pri() is the
 * loop thread's.
 */
#ifndef TPD_GRANT_H
#define TPD_GRANT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The highest priority every user may ask for: 19, nice 0. */
#define	TPD_PRI_ANYONE_MAX	19

/* One --grant-priority: WHO may ask for priorities up to g_maxpri. */
struct tpd_grant {
	bool		g_group;	/* g_id is a gid (@GROUP), else a uid */
	uint32_t	g_id;
	int		g_maxpri;	/* TPD_PRI_ANYONE_MAX + 1 to
					 *    TP_PRI_RT_MAX */
};

/* Every grant, in the order given.  Constant once the daemon is set up. */
struct tpd_grants {
	struct tpd_grant	*gs_v;	/* owned: tpd_grants_free() */
	size_t			gs_n;
};

/*
 * Parse text, "USER:MAXPRI" or "@GROUP:MAXPRI" (a name, looked up now, or
 * a numeric id), and append it to gs.  0, or EINVAL or ENOMEM with why[]
 * saying what is wrong (the option's name, opt, first).
 */
int	tpd_grants_add(struct tpd_grants *gs, const char *opt, const char *text,
	    char *why, size_t whylen);
/* Free gs's grants (gs may be empty). */
void	tpd_grants_free(struct tpd_grants *gs);

/*
 * The highest priority a client of uid and gid (SO_PEERCRED), connected
 * on peer_fd, may ask for when it asks for want: TP_PRI_RT_MAX for root,
 * else the highest of TPD_PRI_ANYONE_MAX, the grants of uid and of gid,
 * and, when that is still below want, the grants of the supplementary
 * groups its process had when it connected (SO_PEERGROUPS).  Loop thread;
 * never blocks.
 */
int	tpd_grant_max_pri(const struct tpd_grants *gs, uid_t uid, gid_t gid,
	    int peer_fd, int want);

/* "nice -5" or "SCHED_FIFO 10", for priority pri >= 0, in buf. */
const char *tpd_grant_describe(int pri, char *buf, size_t len);

#endif /* TPD_GRANT_H */
