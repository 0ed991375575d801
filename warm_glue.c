/*
 * Warm start's glue to Python: a cold request offered to its backend
 * (warm.h), the backend's interpreter and imports, its children's
 * requests, each made from what its front end passed and served by
 * cgi_warm_child().
 * SPDX-License-Identifier: MIT
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgi.h"
#include "cgi_env.h"
#include "files.h"
#include "options.h"
#include "response.h"
#include "script.h"
#include "python.h"
#include "server.h"
#include "warm.h"
#include "wsgi.h"

static int	 glue_start(void *, const char *, char *, size_t);
static int	 glue_files(void *, void (*)(void *, const char *), void *);
static void	 glue_fork(void *, int);
static int	 glue_child(void *, int, char *[], char *[]);

extern char	**environ;

/*
 * --warm: the request is offered to the script's backend.  1: a child of
 * it served the request, *rc is the exit status; 0: serve it here, and a
 * backend starts for the next ones when none runs.  The backend is a fork
 * of this process before the interpreter starts; it holds this options
 * structure, whose frame it never leaves.
 */
int
warm_glue_try(struct invocation *inv, struct warm *w, int in, int out,
    const char *label, int *rc)
{
	const struct options	*o = &inv->o;
	char			 config[CONFIG_MAX], why[REASON_MAX];
	size_t			 i, n;
	int			 k;

	/* The interpreter's configuration: a backend serves only its own. */
	n = (size_t)snprintf(config, sizeof(config), "venv=%s\napp=%s\n",
	    o->venv != NULL ? o->venv : "", o->warm_app ? o->callable : "");
	for (i = 0; i < o->npaths && n < sizeof(config); i++) {
		k = snprintf(config + n, sizeof(config) - n, "path=%s\n",
		    o->paths[i]);
		n = k < 0 ? sizeof(config) : n + (size_t)k;
	}
	if (warm_open(w, inv->script, config, o->warm, why, sizeof(why)) < 0) {
		(void)fprintf(stderr, "wsgi-cgi: %s: %s\n", label, why);
		return 0;
	}
	k = warm_front(w, inv->argv, environ, in, out, rc, why, sizeof(why));
	if (why[0] != '\0')
		(void)fprintf(stderr, "wsgi-cgi: %s: %s\n", label, why);
	if (k)
		return 1;
	inv->glue.o = o;
	inv->glue.w = w;
	inv->ops = (struct warm_ops){ glue_start, glue_files, glue_fork,
	    glue_child, &inv->glue };
	warm_spawn(w, &inv->ops);
	return 0;
}

/*
 * After a request: the modules it imported become the list that the next
 * backend imports; a cold request (cold set) then lets its backend start.
 */
void
warm_glue_learn(struct warm *w, bool cold)
{
	char	name[WARM_NAME_MAX + 8];

	if (w->dir >= 0 && warm_list_name(w, name, sizeof(name)) == 0)
		(void)py_modules_save(w->dir, name);
	if (cold)
		warm_cold_done(w);
}

/* In the new backend: the interpreter, and the last request's imports. */
static int
glue_start(void *ctx, const char *real, char *why, size_t len)
{
	struct warm_glue	*g = ctx;
	struct py_site		 site;
	char			 name[WARM_NAME_MAX + 8];
	char			 reason[REASON_MAX], exc[REASON_MAX];
	bool			 tb;

	cgi_site_of(g->o, &site);
	if (py_start(real, real, 0, NULL, &site, PY_WARM) < 0 ||
	    wsgi_ready() < 0 || script_path_first(real) < 0 ||
	    warm_list_name(g->w, name, sizeof(name)) < 0 ||
	    py_modules_load(g->w->dir, name) < 0) {
		PyErr_Clear();
		(void)snprintf(why, len, "warm start: the backend cannot "
		    "start Python: serving cold");
		return -1;
	}
	/* --warm-app: the script's body too, once, here. */
	if (g->o->warm_app && (g->app = script_load(real, g->o->callable,
	    g->o->named, reason, sizeof(reason), &tb)) == NULL) {
		py_exc_line(exc, sizeof(exc));
		(void)snprintf(why, len, "warm start: --warm-app: the script "
		    "does not load in the backend (%.300s%s%.400s): serving "
		    "cold", reason, exc[0] != '\0' ? ": " : "", exc);
		return -1;
	}
	return 0;
}

/* The imports' files; with --warm-app, the script's own too. */
static int
glue_files(void *ctx, void (*add)(void *, const char *), void *arg)
{
	struct warm_glue	*g = ctx;

	if (g->app != NULL)
		add(arg, g->w->script);
	return py_module_files(add, arg);
}

static void
glue_fork(void *ctx, int stage)
{
	(void)ctx;
	py_fork(stage == WARM_FORK_BEFORE ? PY_FORK_BEFORE :
	    stage == WARM_FORK_PARENT ? PY_FORK_PARENT : PY_FORK_CHILD);
}

/*
 * A backend's child: the request its front end passed (argv, and the
 * environment that describes it), made and served.
 */
static int
glue_child(void *ctx, int argc, char *argv[], char *envp[])
{
	struct invocation	 inv;

	if (py_environ_set(envp) < 0)
		_exit(EXIT_FAILED);
	cgi_invocation_init(&inv, argc, argv);
	return py_end(cgi_warm_child(&inv, ctx));
}
