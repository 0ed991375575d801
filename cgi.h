/*
 * What a CGI request and the processes built on it share (cgi.c, app.c,
 * warm_glue.c, wsgi-cgi.c): how the process was started (struct
 * invocation), a warm backend's glue, the limits of messages.  Uses Python.
 * SPDX-License-Identifier: MIT
 */
#ifndef CGI_H
#define CGI_H

#ifndef PY_SSIZE_T_CLEAN
#define PY_SSIZE_T_CLEAN
#endif
#include <Python.h>

#include <limits.h>
#include <stdbool.h>

#include "cgi_env.h"
#include "options.h"
#include "python.h"
#include "response.h"
#include "server.h"
#include "warm.h"

#define EXIT_FAILED	1	/* the request failed */
#define EXIT_USAGE	2	/* usage or start-up error */
#define REASON_MAX	1024
#define LABEL_MAX	(PATH_MAX + 512)
#define URI_MAX		256	/* of the request's URI in messages */
#define OPTIONS_VAR	"WSGI_CGI_OPTIONS"
#define CONFIG_MAX	(PATH_MAX * 2)

/* A warm backend's interpreter, and its children's requests. */
struct warm_glue {
	const struct options	*o;
	struct warm		*w;
	PyObject		*app;	/* --warm-app: the backend's */
};

/*
 * How the process was started: its argv, the request its environment
 * describes (under a server), the options in force and the script.
 */
struct invocation {
	int			 argc;
	char			**argv;
	int			 first;		/* argv's script, from a shell */
	const char		*script;
	struct shebang		 sb;		/* the script's #! line */
	struct options		 o;
	struct cgi_request	 req;
	int			 env_error;	/* of cgi_env_parse() */
	/* Apache's Action: the script found in PATH_TRANSLATED, its URL. */
	char			 action_path[PATH_MAX];
	char			 action_name[PATH_MAX];
	/* --warm: the backend this request may start, and its callbacks. */
	struct warm_glue	 glue;
	struct warm_ops		 ops;
};

/* cgi.c */
void	 cgi_invocation_init(struct invocation *, int, char *[]);
int	 cgi(struct invocation *);
int	 cgi_warm_child(struct invocation *, struct warm_glue *);
void	 cgi_site_of(const struct options *, struct py_site *);
void	 cgi_label(const struct cgi_request *, char *, size_t);
void	 cgi_refuse(struct response *, const char *, const char *, int);

/* app.c */
int	 app_persist(struct options *, const char *, char *[]);

/* warm_glue.c */
int	 warm_glue_try(struct invocation *, struct warm *, int, int,
	    const char *, int *);
void	 warm_glue_learn(struct warm *, bool);

#endif /* CGI_H */
