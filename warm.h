/*
 * Warm start (--warm): the CGI process is a thin front end that hands its
 * request (fds 0-2, its working directory, argv and environment) over a
 * private Unix socket to a backend of its script, which has the script's
 * imports loaded and forks a child per request; the child runs the cold
 * path's code.  Any failure of the warm path serves the request cold.
 * Plain C: the interpreter is reached through callbacks.
 * SPDX-License-Identifier: MIT
 */
#ifndef WARM_H
#define WARM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define WARM_IDLE_DEFAULT	300	/* seconds an idle backend lives */
#define WARM_IDLE_MAX		86400
#define WARM_NAME_MAX		64

/* A script's backend, as a request or a shell command finds it. */
struct warm {
	int		 dir;		/* the private directory, or -1 */
	char		 name[WARM_NAME_MAX];	/* warm-SCRIPT-CONFIG */
	char		 script[PATH_MAX];	/* the script's real path */
	unsigned	 idle;		/* seconds */
	int		 release;	/* a spawned backend waits for EOF */
};

enum warm_fork {
	WARM_FORK_BEFORE,
	WARM_FORK_PARENT,
	WARM_FORK_CHILD
};

/* The interpreter's part of a backend, in the backend's process. */
struct warm_ops {
	/* Start: the interpreter, the imports; -1 with why: serve cold. */
	int	(*start)(void *, const char *, char *, size_t);
	/* Each file the imports came from, to add(arg, path). */
	int	(*files)(void *, void (*)(void *, const char *), void *);
	void	(*fork)(void *, int);	/* enum warm_fork */
	/* In the child: the request, run as cold; returns the exit status. */
	int	(*child)(void *, int, char *[], char *[]);
	void	*ctx;
};

int	 warm_open(struct warm *, const char *, const char *, unsigned,
	    char *, size_t);
int	 warm_front(struct warm *, char *[], char *const *, int, int,
	    int *, char *, size_t);
void	 warm_spawn(struct warm *, const struct warm_ops *);
void	 warm_cold_done(struct warm *);
int	 warm_list_name(const struct warm *, char *, size_t);
int	 warm_ctl(const char *, bool);

#endif /* WARM_H */
