/*
 * --user USER[:GROUP]: the identity a server takes, once its socket is
 * bound, before the application is loaded.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef USER_H
#define USER_H

#include <sys/types.h>

#include <stddef.h>

struct user {
	char	name[64];
	uid_t	uid;
	gid_t	gid;		/* GROUP's, else USER's own */
};

int	user_lookup(const char *, struct user *, char *, size_t);
int	user_become(const struct user *, char *, size_t);

#endif /* USER_H */
