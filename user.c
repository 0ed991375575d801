/*
 * --user USER[:GROUP]: the identity a server started as root takes once
 * its socket is bound (a port below 1024, a socket under /run), before
 * the application is loaded, in the master and so in every worker: USER's
 * uid, GROUP's gid (else USER's own group), and USER's supplementary
 * groups (with GROUP), as login would give them.  Names, or numbers.
 * Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "user.h"

static int	 number(const char *, unsigned long *);

/* USER[:GROUP] into *u; -1 with why when either is unknown. */
int
user_lookup(const char *spec, struct user *u, char *why, size_t len)
{
	char		 name[64];
	const char	*colon = strchr(spec, ':');
	size_t		 n = colon != NULL ? (size_t)(colon - spec) :
			    strlen(spec);
	struct passwd	*pw;
	struct group	*gr;
	unsigned long	 id;

	memset(u, 0, sizeof(*u));
	if (n == 0 || n >= sizeof(name) || (colon != NULL &&
	    colon[1] == '\0')) {
		(void)snprintf(why, len, "--user %s: not USER or USER:GROUP",
		    spec);
		return -1;
	}
	memcpy(name, spec, n);
	name[n] = '\0';
	errno = 0;
	if ((pw = getpwnam(name)) == NULL && number(name, &id) == 0)
		pw = getpwuid((uid_t)id);
	if (pw == NULL) {
		(void)snprintf(why, len, "--user %s: no user %s", spec, name);
		return -1;
	}
	(void)snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	if (colon == NULL)
		return 0;
	if ((gr = getgrnam(colon + 1)) == NULL && number(colon + 1, &id) == 0)
		gr = getgrgid((gid_t)id);
	if (gr == NULL) {
		(void)snprintf(why, len, "--user %s: no group %s", spec,
		    colon + 1);
		return -1;
	}
	u->gid = gr->gr_gid;
	return 0;
}

/*
 * This process becomes u: its groups, then its gid, then its uid, and
 * checks that root cannot be had back.  -1 with why.
 */
int
user_become(const struct user *u, char *why, size_t len)
{
	if (initgroups(u->name, u->gid) < 0 || setgid(u->gid) < 0 ||
	    setuid(u->uid) < 0) {
		(void)snprintf(why, len, "--user %s: %s", u->name,
		    strerror(errno));
		return -1;
	}
	if (u->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		(void)snprintf(why, len, "--user %s: root could be had back",
		    u->name);
		return -1;
	}
	return 0;
}

/* A decimal id; -1 if s is not one. */
static int
number(const char *s, unsigned long *v)
{
	char	*end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *v < 0xffffffffUL ? 0 : -1;
}
