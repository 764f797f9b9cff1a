/*
 * grant.c -- which job priorities a client may ask for (grant.h).
 *
 * tpoold runs as root for every local user, so the priority a Submit
 * asks for is checked against the caller, not only against what the
 * daemon can do: a user gets what its own uid could give itself (nice 0
 * or weaker, no real time), root anything, and the configuration's
 * grants (--grant-priority) raise the ceiling of a user or a group.
 *
 * Groups: the peer's gid (SO_PEERCRED) counts at once; its supplementary
 * groups are those the client's process had when it connected
 * (SO_PEERGROUPS: the kernel's record, as for the files the process may
 * open), read only when a group grant could allow what a request asks
 * for and nothing cheaper does.  No user database is asked on the loop:
 * a slow one (LDAP, sssd) stalls nobody, and a process that dropped a
 * group does not get its grant.  (Names in grants are looked up once,
 * when the configuration is read.)
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <threadpool.h>

#include "grant.h"
#include "log.h"

#define	GRANT_NGROUPS_MAX	65536		/* as the kernel's */
#define	GRANT_MAX		4096		/* grants in all */


/* ------------------------------------------------------------- parsing */

/* text[0..len) as an id, if it is all digits; false if it is not. */
static bool
grant_number(const char *text, size_t len, uint32_t *ret_id, bool *ret_big)
{
	unsigned long long v = 0;
	size_t i;

	*ret_big = false;
	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (unsigned long long)(text[i] - '0');
		if (v >= UINT32_MAX)	/* (uid_t)-1 is nobody's */
			*ret_big = true;
	}
	*ret_id = (uint32_t)v;
	return true;
}

int
tpd_grants_add(struct tpd_grants *gs, const char *opt, const char *text,
    char *why, size_t whylen)
{
	const char *who = text, *colon;
	char name[256], *end;
	struct tpd_grant g, *v;
	struct passwd *pw;
	struct group *gr;
	size_t wholen;
	bool big;
	long pri;

	g.g_group = *who == '@';
	if (g.g_group)
		who++;
	if ((colon = strrchr(who, ':')) == NULL) {
		(void)snprintf(why, whylen, "--%s: '%s' is not USER:MAXPRI "
		    "or @GROUP:MAXPRI", opt, text);
		return EINVAL;
	}
	wholen = (size_t)(colon - who);
	if (wholen == 0 || wholen >= sizeof(name)) {
		(void)snprintf(why, whylen, "--%s: '%s': no %s name before "
		    "':' (or one over %zu bytes)", opt, text,
		    g.g_group ? "group" : "user", sizeof(name) - 1);
		return EINVAL;
	}
	errno = 0;
	pri = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    pri <= TPD_PRI_ANYONE_MAX || pri > TP_PRI_RT_MAX) {
		(void)snprintf(why, whylen, "--%s: '%s': MAXPRI must be a "
		    "libtp priority from %d to %d (%d to %d are time-sharing, "
		    "nice -1 to -20; %d to %d real-time); every user may "
		    "already ask for %d to %d", opt, text,
		    TPD_PRI_ANYONE_MAX + 1, TP_PRI_RT_MAX,
		    TPD_PRI_ANYONE_MAX + 1, TP_PRI_USER_MAX, TP_PRI_RT_MIN,
		    TP_PRI_RT_MAX, TP_PRI_USER_MIN, TPD_PRI_ANYONE_MAX);
		return EINVAL;
	}
	g.g_maxpri = (int)pri;
	if (grant_number(who, wholen, &g.g_id, &big)) {
		if (big) {
			(void)snprintf(why, whylen, "--%s: '%s': %s id over "
			    "%u", opt, text, g.g_group ? "group" : "user",
			    UINT32_MAX - 1);
			return EINVAL;
		}
	} else {
		memcpy(name, who, wholen);
		name[wholen] = '\0';
		if (g.g_group) {
			if ((gr = getgrnam(name)) == NULL) {
				(void)snprintf(why, whylen, "--%s: '%s': no "
				    "group named '%s'", opt, text, name);
				return EINVAL;
			}
			g.g_id = (uint32_t)gr->gr_gid;
		} else {
			if ((pw = getpwnam(name)) == NULL) {
				(void)snprintf(why, whylen, "--%s: '%s': no "
				    "user named '%s'", opt, text, name);
				return EINVAL;
			}
			g.g_id = (uint32_t)pw->pw_uid;
		}
	}
	if (gs->gs_n >= GRANT_MAX) {
		(void)snprintf(why, whylen, "--%s: more than %d grants", opt,
		    GRANT_MAX);
		return EINVAL;
	}
	if ((v = realloc(gs->gs_v, (gs->gs_n + 1) * sizeof(*v))) == NULL) {
		(void)snprintf(why, whylen, "out of memory");
		return ENOMEM;
	}
	v[gs->gs_n++] = g;
	gs->gs_v = v;
	return 0;
}

void
tpd_grants_free(struct tpd_grants *gs)
{
	free(gs->gs_v);
	gs->gs_v = NULL;
	gs->gs_n = 0;
}

/* ------------------------------------------------------------ checking */

/* The highest grant of id (a gid when group), or best if higher. */
static int
grant_best(const struct tpd_grants *gs, bool group, uint32_t id, int best)
{
	size_t i;

	for (i = 0; i < gs->gs_n; i++)
		if (gs->gs_v[i].g_group == group && gs->gs_v[i].g_id == id &&
		    gs->gs_v[i].g_maxpri > best)
			best = gs->gs_v[i].g_maxpri;
	return best;
}

/* The highest group grant of all, or -1. */
static int
grant_groups_top(const struct tpd_grants *gs)
{
	int top = -1;
	size_t i;

	for (i = 0; i < gs->gs_n; i++)
		if (gs->gs_v[i].g_group && gs->gs_v[i].g_maxpri > top)
			top = gs->gs_v[i].g_maxpri;
	return top;
}

/*
 * The highest grant of the supplementary groups of the process at the
 * other end of peer_fd, as they were when it connected (SO_PEERGROUPS), or
 * -1 (none, or they cannot be read: logged).
 */
static int
grant_peer_groups(const struct tpd_grants *gs, int peer_fd)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	int best = -1;
	size_t i, n;

	if (getsockopt(peer_fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
		/* ERANGE: len says how much they need. */
		if (errno != ERANGE ||
		    len > GRANT_NGROUPS_MAX * sizeof(gid_t) ||
		    (groups = malloc(len)) == NULL ||
		    getsockopt(peer_fd, SOL_SOCKET, SO_PEERGROUPS, groups,
		    &len) != 0) {
			tpd_warn(
			    "cannot read a client's groups (SO_PEERGROUPS): "
			    "%s", strerror(errno != 0 ? errno : ENOMEM));
			if (groups != small)
				free(groups);
			return -1;
		}
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n; i++)
		best = grant_best(gs, true, (uint32_t)groups[i], best);
	if (groups != small)
		free(groups);
	return best;
}

int
tpd_grant_max_pri(const struct tpd_grants *gs, uid_t uid, gid_t gid,
    int peer_fd, int want)
{
	int best, groups;

	if (uid == 0)
		return TP_PRI_RT_MAX;
	best = grant_best(gs, false, (uint32_t)uid, TPD_PRI_ANYONE_MAX);
	best = grant_best(gs, true, (uint32_t)gid, best);
	if (best < want && grant_groups_top(gs) > best &&
	    (groups = grant_peer_groups(gs, peer_fd)) > best)
		best = groups;
	return best;
}

const char *
tpd_grant_describe(int pri, char *buf, size_t len)
{
	if (pri >= TP_PRI_RT_MIN)
		(void)snprintf(buf, len, "SCHED_FIFO %d", pri - TP_PRI_RT_MIN +
		    1);
	else
		(void)snprintf(buf, len, "nice %d", 19 - pri);
	return buf;
}
