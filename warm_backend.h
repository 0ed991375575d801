/*
 * Warm start's backend, shared by the files that make it: its state
 * (struct backend: children, spares, watched files, the pages children
 * wrote), the backend loop (warm_backend.c), page prefault (warm_pages.c)
 * and file watching (warm_watch.c).  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef WARM_BACKEND_H
#define WARM_BACKEND_H

#include <sys/stat.h>
#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "warm.h"
#include "warm_wire.h"

#define WATCH_MAX	8192
#define WAITERS_MAX	8
#define SPARES_MAX	2	/* when requests come back to back; else 1 */
#define REGIONS_MAX	512

/* On the done pipe: a child has answered its request. */
struct answer {
	int32_t		 pid;
	int32_t		 hurried;	/* it came before its spare was ready */
};

/*
 * A file an import came from, as it was; its path in backend's paths.
 * Watched by inotify, or (polled) stat(2)ed before each request.
 */
struct watch {
	size_t		 path;
	struct stat	 st;
	bool		 polled;
};

/* A writable private mapping of the backend's; its pages from bit. */
struct region {
	uintptr_t	 start, end;
	size_t		 bit;
};

struct kid {
	pid_t		 pid;
	int		 conn;		/* the front end's; -1: it has gone */
	int64_t		 kill_at;	/* ms: SIGKILL then, if still there */
	bool		 done;		/* its request answered: it is ending */
};

/* A child forked ahead: its request comes on sock. */
struct spare {
	pid_t		 pid;
	int		 sock;
};

struct backend {
	struct warm		*w;
	const struct warm_ops	*ops;
	int			 lock, listen, sigfd;
	int			 done[2];	/* children: struct answer */
	bool			 retiring;
	char			 refusal[PATH_MAX];	/* serving cold: why */
	bool			 refused_said;
	struct watch		*watch;
	size_t			 nwatch, watch_cap;
	char			*paths;		/* NUL-ended, one after another */
	size_t			 paths_len, paths_cap;
	int			 inotify;	/* any event: something changed */
	size_t			 npolled;
	int64_t			 newest;	/* ns: the watched files' times */
	struct kid		*kids;
	size_t			 nkids, cap;
	struct spare		 spares[SPARES_MAX];	/* oldest first */
	size_t			 nspares, want;
	/* The pages children wrote (shared): the next spare copies them. */
	struct region		 regions[REGIONS_MAX];
	size_t			 nregions;
	unsigned char		*dirty;
	size_t			 npages;
	int			 waiters[WAITERS_MAX];
	size_t			 nwaiters;
	uint64_t		 served;
	int64_t			 since, idle_at;
};

void		 warm_watch_add(void *, const char *);
bool		 warm_stale(const struct backend *);
int64_t		 warm_ns(const struct timespec *);
void		 warm_pages_init(struct backend *);
void		 warm_pages_learn(const struct backend *);
bool		 warm_pages_copy(const struct backend *, int);
int64_t		 warm_now_ms(void);

#endif /* WARM_BACKEND_H */
