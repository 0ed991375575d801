/*
 * wsgi-cgi: runs a Python WSGI application as a CGI program.  main() makes
 * the file descriptors safe and picks the mode: a shell's --help or
 * control command, a server (server.c), or a CGI request (cgi()), which
 * chooses the script, reads the options (never from the request), starts
 * the embedded interpreter and hands over to the WSGI glue; the server
 * modes' and warm start's glue to Python live here too.
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

#include "cgi_env.h"
#include "files.h"
#include "options.h"
#include "response.h"
#include "script.h"
#include "python.h"
#include "server.h"
#include "warm.h"
#include "wsgi.h"

#ifndef WSGI_CGI_VERSION
#define WSGI_CGI_VERSION	"1.0.0"
#endif

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
	struct warm_glue	*g;		/* a warm backend's child */
	/* Apache's Action: the script found in PATH_TRANSLATED, its URL. */
	char			 action_path[PATH_MAX];
	char			 action_name[PATH_MAX];
	/* --warm: the backend this request may start, and its callbacks. */
	struct warm_glue	 glue;
	struct warm_ops		 ops;
};

/* A server mode's process: its script, loaded once, and fresh. */
struct persistent {
	const struct options	*o;
	const char		*script;
	PyObject		*app;
	char			 reason[REASON_MAX];
	bool			 traceback;
	struct stat		 st;	/* the script when it was loaded */
	PyThreadState		*ts;	/* while no request runs */
	int			 script_fd;	/* the file loaded, O_PATH */
	int			 err_file;	/* FastCGI: a request's stderr */
	int			 err_saved;	/* the process's stderr */
};

static void	 usage(FILE *);
static void	 version(void);
static void	 fds_open(void);
static int	 fds_private(int *, int *);
static bool	 same_file(const char *, const char *);
static const char *choose_script(struct invocation *, char *, size_t);
static const char *action_script(struct invocation *, char *, size_t);
static void	 label_request(const struct cgi_request *, char *, size_t);
static void	 refuse(struct response *, const char *, const char *, int);
static int	 check_interpreter(const char *, const struct shebang *);
static void	 invocation_init(struct invocation *, int, char *[],
		    struct warm_glue *);
static int	 shell_options(struct invocation *);
static int	 cgi(struct invocation *);
static int	 cgi_check(struct invocation *, struct response *, char *,
		    size_t);
static int	 cgi_start(const struct invocation *, const char *);
static int	 warm_child_start(const struct invocation *, struct response *,
		    const char *);
static int	 serve(const struct options *, const struct cgi_request *,
		    struct response *, const char *, const char *, int,
		    PyObject *);
static void	 site_of(const struct options *, struct py_site *);
static int	 warm_try(struct invocation *, struct warm *, int, int,
		    const char *, int *);
static void	 warm_learn(struct warm *, bool);
static int	 glue_start(void *, const char *, char *, size_t);
static int	 glue_files(void *, void (*)(void *, const char *), void *);
static void	 glue_fork(void *, int);
static int	 glue_child(void *, int, char *[], char *[]);
static int	 persist(struct options *, const char *, char *[]);
static int	 persist_init(void *);
static void	 persist_load(struct persistent *);
static int	 persist_handle(void *, const struct srv_request *);
static void	 persist_stderr(struct persistent *);
static void	 access_line(const struct srv_request *,
		    const struct cgi_request *, const struct response *,
		    const struct timespec *);
static int	 persist_fini(void *, int);
static void	 persist_fork(void *, int);

extern char	**environ;

static const char synopsis[] =
    "usage: wsgi-cgi [-hV] [--check] [--debug] [--callable name] "
    "[--python-path dir] [--venv dir] [--listen addr] [--socket-mode mode] "
    "[--protocol name] [--workers n] [--max-requests n] [--timeout seconds] "
    "[--access-log] [--warm[=seconds]] [--warm-app] [--warm-status] "
    "[--warm-stop] script [word ...]\n";

static void
usage(FILE *f)
{
	(void)fputs(synopsis, f);
	if (f == stdout)
		(void)fputs("\n"
		    "  --callable name     the WSGI callable in the script "
		    "(default: application)\n"
		    "  --check             load the script and check the "
		    "callable, then exit\n"
		    "  --debug             put tracebacks in 500 responses\n"
		    "  --python-path dir   put dir on sys.path (repeatable)\n"
		    "  --venv dir          use a virtual environment\n"
		    "server modes (also when fd 0 is a listening socket),\n"
		    "FastCGI, SCGI, uwsgi and HTTP/1.1:\n"
		    "  --listen addr       serve on /path, unix:path or "
		    "host:port\n"
		    "  --socket-mode mode  the Unix socket's mode (octal)\n"
		    "  --protocol name     accept only fastcgi, scgi, uwsgi, "
		    "http (repeatable)\n"
		    "  --workers n         processes serving (default 1)\n"
		    "  --max-requests n    a worker's requests before it is "
		    "renewed\n"
		    "  --timeout seconds   how long a peer may stall "
		    "(default 60)\n"
		    "  --access-log        a line per request on stderr\n"
		    "warm start (CGI):\n"
		    "  --warm[=seconds]    answer from a warm backend of the "
		    "script, which lives\n"
		    "                      seconds idle (default 300)\n"
		    "  --warm-app          make the application once, in the "
		    "backend\n"
		    "  --warm-status       print the script's warm backends, "
		    "then exit\n"
		    "  --warm-stop         stop the script's warm backends, "
		    "then exit\n"
		    "  -h, --help          print this help and exit\n"
		    "  -V, --version       print the version and exit\n", f);
}

static void
version(void)
{
	printf("wsgi-cgi %s (Python %.*s)\n", WSGI_CGI_VERSION,
	    (int)strcspn(Py_GetVersion(), " "), Py_GetVersion());
}

int
main(int argc, char *argv[])
{
	struct invocation	 inv;
	int			 rc;

	/* RFC 3875 leaves fds 0-2 to the server: make sure they exist. */
	fds_open();
	program_invocation_short_name = (char *)"wsgi-cgi";
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EXIT_USAGE, "signal");
	invocation_init(&inv, argc, argv, NULL);
	if (inv.req.gateway)
		return cgi(&inv);
	/* From a shell, argv has the options: --help, --version, mistakes. */
	if ((rc = shell_options(&inv)) >= 0)
		return rc;
	if (inv.o.ctl != OPT_CTL_NONE)
		return warm_ctl(inv.script, inv.o.ctl == OPT_CTL_STOP);
	/* php-cgi's convention: fd 0 listening is a gateway server. */
	if (inv.o.listen != NULL || server_fd0_listening())
		return persist(&inv.o, inv.script, argv);
	return cgi(&inv);
}

/* How this process was started: argv, the environment's request. */
static void
invocation_init(struct invocation *inv, int argc, char *argv[],
    struct warm_glue *g)
{
	memset(inv, 0, sizeof(*inv));
	inv->argc = argc;
	inv->argv = argv;
	inv->first = argc;
	inv->g = g;
	options_init(&inv->o);
	inv->env_error = cgi_env_parse(environ, &inv->req, false);
}

/*
 * From a shell: the options (argv over the #! line over WSGI_CGI_OPTIONS)
 * and the script.  An exit status (help, version, a usage error), or -1
 * to go on.
 */
static int
shell_options(struct invocation *inv)
{
	struct options	first_pass;
	char		reason[REASON_MAX];

	options_init(&first_pass);
	switch (options_argv(&first_pass, inv->argc, inv->argv, &inv->first,
	    reason, sizeof(reason))) {
	case OPT_HELP:
		usage(stdout);
		return 0;
	case OPT_VERSION:
		version();
		return 0;
	case OPT_ERROR:
		warnx("%s", reason);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (inv->first >= inv->argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	inv->script = inv->argv[inv->first];
	(void)options_shebang(inv->script, &inv->sb);
	if (options_gather(&inv->o, false, inv->argc, inv->argv,
	    getenv(OPTIONS_VAR), &inv->sb, reason, sizeof(reason)) != OPT_OK) {
		warnx("%s: %s", inv->script, reason);
		return EXIT_USAGE;
	}
	return -1;
}

/*
 * A CGI request, from its environment and fds 0-2, to its exit status: in
 * a process of its own, or (inv->g set) in a warm backend's child, whose
 * interpreter is started already.  A cold request with --warm is first
 * offered to the script's backend.
 */
static int
cgi(struct invocation *inv)
{
	struct response		 resp;
	struct warm		 w;
	struct warm_glue	*g = inv->g;
	char			 label[LABEL_MAX];
	int			 e, fd, in, rc;
	bool			 warm = false;
	Py_ssize_t		 nmods = 0;

	if (fds_private(&fd, &in) < 0)
		err(EXIT_USAGE, "dup");
	resp_init(&resp, fd, "wsgi-cgi");
	if ((rc = cgi_check(inv, &resp, label, sizeof(label))) >= 0)
		return rc;
	if (g != NULL) {
		if ((e = warm_child_start(inv, &resp, label)) > 0)
			return e;
		nmods = py_modules_count();
	} else {
		if (inv->o.warm > 0 && inv->req.gateway && !inv->o.check) {
			if (warm_try(inv, &w, in, fd, label, &rc))
				return rc;
			warm = true;
		}
		e = cgi_start(inv, label);
	}
	if (e < 0) {
		/* py_start() has said why. */
		if (!inv->o.check)
			(void)resp_fail(&resp, 500, NULL, 0);
		return EXIT_USAGE;
	}
	rc = serve(&inv->o, &inv->req, &resp, inv->script, label, in,
	    g != NULL ? g->app : NULL);
	if (warm)
		warm_learn(&w, true);
	else if (g != NULL &&
	    py_modules_count() > nmods + (g->app != NULL ? 0 : 1))
		warm_learn(g->w, false);
	return g != NULL ? rc : py_stop(rc);
}

/*
 * Everything a CGI request is refused for before Python starts: a bad
 * environment, a script the client chose, options that are not for a
 * server; with the response's head style and its label (in label).  An
 * exit status (the refusal sent), or -1 to go on.
 */
static int
cgi_check(struct invocation *inv, struct response *resp, char *label,
    size_t len)
{
	const struct cgi_request	*req = &inv->req;
	char				 reason[PATH_MAX + REASON_MAX];
	char				 request[URI_MAX + 64];
	const char			*base;

	resp->head = req->head;
	resp->protocol = req->protocol;
	resp->proto_major = req->included ? 1 : req->proto_major;
	resp->proto_minor = req->included ? 0 : req->proto_minor;
	label_request(req, request, sizeof(request));
	if (inv->env_error != CGI_OK) {
		(void)snprintf(reason, sizeof(reason),
		    "bad CGI environment: %s", cgi_env_strerror(inv->env_error));
		refuse(resp, request, reason, cgi_env_status(inv->env_error));
		return EXIT_FAILED;
	}
	if (req->gateway)
		inv->script = choose_script(inv, reason, sizeof(reason));
	if (inv->script == NULL) {
		refuse(resp, request, reason, 500);
		return EXIT_FAILED;
	}
	(void)snprintf(label, len, "%s: %s", inv->script, request);
	resp->name = label;
	/* Under a server every outcome is a response. */
	if (req->gateway && options_gather(&inv->o, true, inv->argc,
	    inv->argv, getenv(OPTIONS_VAR), &inv->sb, reason,
	    sizeof(reason)) != OPT_OK) {
		refuse(resp, label, reason, 500);
		return EXIT_FAILED;
	}
	/* From a shell, --check is about the script, not a request. */
	if (inv->o.check && !req->gateway)
		(void)snprintf(label, len, "%s", inv->script);
	if (req->gateway && (inv->o.check || inv->o.ctl != OPT_CTL_NONE)) {
		refuse(resp, label, inv->o.check ? "--check is not for a web "
		    "server: refusing" : "--warm-status and --warm-stop are "
		    "for a shell: refusing", 500);
		return EXIT_FAILED;
	}
	if (inv->o.check && check_interpreter(inv->script, &inv->sb) < 0)
		return EXIT_FAILED;
	base = strrchr(inv->script, '/');
	resp->nph = strncmp(base != NULL ? base + 1 : inv->script, "nph-",
	    4) == 0;
	return -1;
}

/* A cold request's interpreter; a shell's words after SCRIPT its argv. */
static int
cgi_start(const struct invocation *inv, const char *label)
{
	struct py_site	site;

	site_of(&inv->o, &site);
	if (inv->req.gateway)
		return py_start(inv->script, label, 0, NULL, &site, PY_CGI);
	return py_start(inv->script, label, inv->argc - inv->first - 1,
	    inv->argv + inv->first + 1, &site, PY_CGI);
}

/*
 * A warm child: its backend's script, the interpreter it has, its argv.
 * 0; -1 when Python cannot go on; EXIT_FAILED when the script is not the
 * backend's (refused).
 */
static int
warm_child_start(const struct invocation *inv, struct response *resp,
    const char *label)
{
	char	real[PATH_MAX];

	if (realpath(inv->script, real) == NULL ||
	    strcmp(real, inv->g->w->script) != 0) {
		refuse(resp, label, "warm start: the script is not the "
		    "backend's (renamed meanwhile?)", 500);
		return EXIT_FAILED;
	}
	if (py_argv_set(inv->script) < 0 || wsgi_catch_sigterm() < 0) {
		wsgi_report(label, "cannot start Python", true);
		return -1;
	}
	return 0;
}

/*
 * Loads the script (unless warm_app, a --warm-app backend's application,
 * is given) and, unless --check, calls its application with the request,
 * whose body is on fd in; returns the exit status.  The request owns the
 * response from here; it ends, closed, before the return.
 */
static int
serve(const struct options *o, const struct cgi_request *req,
    struct response *resp, const char *script, const char *label, int in,
    PyObject *warm_app)
{
	struct wsgi_call	 call;
	PyObject		*app;
	char			 reason[REASON_MAX];
	bool			 tb = false;
	int			 rc;

	reason[0] = '\0';
	if (warm_app != NULL) {
		app = warm_app;
		Py_INCREF(app);
	} else
		app = script_load(script, o->callable, o->named, reason,
		    sizeof(reason), &tb);
	if (o->check) {
		if (app == NULL)
			wsgi_report(label, reason, tb);
		Py_XDECREF(app);
		return app == NULL ? EXIT_FAILED : 0;
	}
	memset(&call, 0, sizeof(call));
	call.app = app;
	call.reason = reason;
	call.traceback = tb;
	call.envp = environ;
	call.req = req;
	call.src.fd = in;
	/* A body from a terminal is empty: never wait for a user typing. */
	call.bounded = req->has_length || (!req->gateway && isatty(in));
	call.length = req->has_length ? req->content_length : 0;
	call.label = label;
	call.debug = o->debug;
	call.run_once = true;
	call.multiprocess = true;
	rc = wsgi_serve(&call, resp);
	Py_XDECREF(app);
	return rc;
}

/* The options' package directories, as py_start() takes them. */
static void
site_of(const struct options *o, struct py_site *site)
{
	site->venv = o->venv;
	site->paths = o->paths;
	site->npaths = o->npaths;
}

/*
 * --warm: the request is offered to the script's backend.  1: a child of
 * it served the request, *rc is the exit status; 0: serve it here, and a
 * backend starts for the next ones when none runs.  The backend is a fork
 * of this process before the interpreter starts; it holds this options
 * structure, whose frame it never leaves.
 */
static int
warm_try(struct invocation *inv, struct warm *w, int in, int out,
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
static void
warm_learn(struct warm *w, bool cold)
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

	site_of(g->o, &site);
	if (py_start(real, real, 0, NULL, &site, PY_WARM) < 0 ||
	    script_path_first(real) < 0 ||
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

/* A backend's child: the request's environment, then the cold path. */
static int
glue_child(void *ctx, int argc, char *argv[], char *envp[])
{
	struct warm_glue	*g = ctx;
	struct invocation	 inv;

	if (py_environ_set(envp) < 0)
		_exit(EXIT_FAILED);
	invocation_init(&inv, argc, argv, g);
	return py_end(cgi(&inv));
}

/*
 * Server modes (fd 0 a listening socket, or --listen): the script is
 * served persistently.  lighttpd and php-cgi's PHP_FCGI_CHILDREN and
 * PHP_FCGI_MAX_REQUESTS are honoured when a server spawned us and no
 * option says otherwise.  fd 1 goes to the error log, as under CGI.
 */
static int
persist(struct options *o, const char *script, char *argv[])
{
	struct srv_options	 so;
	struct persistent	 p;
	const char		*v;

	if (o->check)
		errx(EXIT_USAGE, "--check does not serve: leave out --listen");
	if (o->listen == NULL && o->workers == 0 &&
	    (v = getenv("PHP_FCGI_CHILDREN")) != NULL &&
	    !options_uint(v, 1, OPT_WORKERS_MAX, 10, &o->workers))
		errx(EXIT_USAGE, "PHP_FCGI_CHILDREN=%s: not 1-%d", v,
		    OPT_WORKERS_MAX);
	if (o->listen == NULL && !o->max_given &&
	    (v = getenv("PHP_FCGI_MAX_REQUESTS")) != NULL &&
	    !options_uint(v, 0, UINT_MAX, 10, &o->max_requests))
		errx(EXIT_USAGE, "PHP_FCGI_MAX_REQUESTS=%s: not a number", v);
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		err(EXIT_USAGE, "dup2");
	memset(&p, 0, sizeof(p));
	p.o = o;
	p.script = script;
	p.script_fd = -1;
	memset(&so, 0, sizeof(so));
	so.listen = o->listen;
	so.socket_mode = o->socket_mode;
	so.protocols = o->protocols;
	so.workers = o->workers == 0 ? 1 : o->workers;
	so.max_requests = o->max_requests;
	so.timeout = o->timeout;
	so.argv = argv;
	so.init = persist_init;
	so.handle = persist_handle;
	so.fini = persist_fini;
	so.fork = persist_fork;
	so.ctx = &p;
	return server_run(&so);
}

/* In each serving process: the interpreter, and the script loaded once. */
static int
persist_init(void *ctx)
{
	struct persistent	*p = ctx;
	struct py_site		 site;

	site_of(p->o, &site);
	if (py_start(p->script, p->script, 0, NULL, &site, PY_SERVER) < 0)
		return -1;
	p->err_file = memfd_create("wsgi-cgi-stderr", MFD_CLOEXEC);
	p->err_saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	persist_load(p);
	if (p->app == NULL)
		wsgi_report(p->script, p->reason, p->traceback);
	p->ts = PyEval_SaveThread();
	return 0;
}

/*
 * The script (again), when it was not loaded or its file changed since:
 * an edit or a touch is served by the next request.  The file loaded is
 * held open (O_PATH) and checked with one fstat(2), without walking its
 * path: an edit in place changes its times, and a file renamed over it
 * (sed -i, most editors) or a removal leaves it with no link.  A script
 * that does not load is tried again at each request, which answers 500
 * meanwhile.
 */
static void
persist_load(struct persistent *p)
{
	struct stat	st;

	if (p->app != NULL && p->script_fd >= 0 &&
	    fstat(p->script_fd, &st) == 0 && st.st_nlink > 0 &&
	    files_same(&st, &p->st))
		return;
	Py_CLEAR(p->app);
	if (p->script_fd >= 0)
		(void)close(p->script_fd);
	if ((p->script_fd = open(p->script, O_PATH | O_CLOEXEC)) < 0 ||
	    fstat(p->script_fd, &p->st) < 0)
		memset(&p->st, 0, sizeof(p->st));
	p->app = script_load(p->script, p->o->callable, p->o->named,
	    p->reason, sizeof(p->reason), &p->traceback);
}

/* One request of a server mode, through the same core as CGI's. */
static int
persist_handle(void *ctx, const struct srv_request *sr)
{
	struct persistent	*p = ctx;
	struct cgi_request	 req;
	struct response		 resp;
	struct wsgi_call	 call;
	char			 request[URI_MAX + 64], label[LABEL_MAX];
	char			 reason[REASON_MAX];
	struct timespec		 t0;
	int			 e, rc = EXIT_FAILED;

	PyEval_RestoreThread(p->ts);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	e = cgi_env_parse(sr->envp, &req, true);
	label_request(&req, request, sizeof(request));
	(void)snprintf(label, sizeof(label), "%s: %s", p->script, request);
	resp_init(&resp, sr->fd, label);
	/* The connection is the server's; SCGI and uwsgi end by shutdown. */
	resp.keep = true;
	resp.shut = sr->proto == SRV_SCGI || sr->proto == SRV_UWSGI;
	resp.http = sr->proto == SRV_HTTP;
	resp.http_keep = sr->http_keep;
	resp.ending = sr->ending;
	resp.fcgi_id = sr->fcgi_id;
	resp.aborted = sr->proto == SRV_FASTCGI ? sr->aborted : NULL;
	resp.wait_ms = sr->wait_ms;
	/* FastCGI: stderr goes to the web server's log in STDERR records. */
	if (sr->proto == SRV_FASTCGI && p->err_file >= 0 &&
	    p->err_saved >= 0 && fflush(stderr) == 0 &&
	    dup2(p->err_file, STDERR_FILENO) >= 0)
		resp.stderr_fd = p->err_file;
	resp.status_line = sr->proto == SRV_UWSGI || sr->proto == SRV_HTTP;
	resp.head = req.head;
	resp.protocol = req.protocol;
	resp.proto_major = req.included ? 1 : req.proto_major;
	resp.proto_minor = req.included ? 0 : req.proto_minor;
	if (e != CGI_OK) {
		(void)snprintf(reason, sizeof(reason), "bad request "
		    "variables: %s", cgi_env_strerror(e));
		refuse(&resp, label, reason, cgi_env_status(e));
		goto out;
	}
	persist_load(p);
	memset(&call, 0, sizeof(call));
	call.app = p->app;
	call.reason = p->reason;
	call.traceback = p->traceback;
	call.envp = sr->envp;
	call.req = &req;
	call.src.fd = sr->fd;
	call.src.read = sr->read;
	call.src.ctx = sr->ctx;
	/* The protocol frames the body: CONTENT_LENGTH, chunks, or none. */
	call.bounded = !sr->to_end;
	call.length = req.has_length ? req.content_length : 0;
	call.label = label;
	call.debug = p->o->debug;
	call.run_once = false;
	call.multiprocess = p->o->workers > 1;
	rc = wsgi_serve(&call, &resp);
out:
	if (sr->kept != NULL)
		*sr->kept = resp.http_keep;
	if (resp.stderr_fd >= 0)
		persist_stderr(p);
	if (p->o->access_log)
		access_line(sr, &req, &resp, &t0);
	p->ts = PyEval_SaveThread();
	return rc;
}

/*
 * --access-log: the request in the Common Log Format on stderr, then the
 * seconds it took: remote - - [date] "METHOD URI PROTOCOL" status bytes.
 */
static void
access_line(const struct srv_request *sr, const struct cgi_request *req,
    const struct response *resp, const struct timespec *t0)
{
	char		 date[64], uri[URI_MAX + 4];
	const char	*remote = "-", *proto = "-";
	struct timespec	 t1;
	struct tm	 tm;
	time_t		 now = time(NULL);
	size_t		 i;
	char *const	*e;

	for (e = sr->envp; *e != NULL; e++)
		if (strncmp(*e, "REMOTE_ADDR=", 12) == 0)
			remote = *e + 12;
		else if (strncmp(*e, "SERVER_PROTOCOL=", 16) == 0)
			proto = *e + 16;
	(void)snprintf(uri, sizeof(uri), "%s", req->request_uri != NULL ?
	    req->request_uri : "-");
	for (i = 0; uri[i] != '\0'; i++)
		if ((unsigned char)uri[i] < 0x20 || uri[i] == '"' ||
		    uri[i] == 0x7f)
			uri[i] = '?';
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%d/%b/%Y:%H:%M:%S +0000", &tm) == 0)
		(void)snprintf(date, sizeof(date), "-");
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	(void)fprintf(stderr, "%.64s - - [%s] \"%.40s %s %.16s\" %d %llu "
	    "%.6f\n", remote, date, req->method != NULL ? req->method : "-",
	    uri, proto, resp->code, (unsigned long long)resp->sent,
	    (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9);
}

/*
 * The master forks a worker: through PyOS_*Fork, so that Python's own
 * at-fork hooks run; with the objects made so far frozen (gc.freeze), so
 * that collections in the worker do not write to the pages it shares.
 * Each worker has its own file for FastCGI stderr.
 */
static void
persist_fork(void *ctx, int stage)
{
	struct persistent	*p = ctx;

	switch (stage) {
	case SRV_FORK_BEFORE:
		PyEval_RestoreThread(p->ts);
		py_fork(PY_FORK_BEFORE);
		break;
	case SRV_FORK_PARENT:
		py_fork(PY_FORK_PARENT);
		p->ts = PyEval_SaveThread();
		break;
	default:
		py_fork(PY_FORK_CHILD);
		if (p->err_file >= 0)
			(void)close(p->err_file);
		p->err_file = memfd_create("wsgi-cgi-stderr", MFD_CLOEXEC);
		p->ts = PyEval_SaveThread();
		break;
	}
}

/* A graceful end: the application's atexit handlers run, as at exit. */
static int
persist_fini(void *ctx, int rc)
{
	struct persistent	*p = ctx;

	PyEval_RestoreThread(p->ts);
	Py_CLEAR(p->app);
	return py_stop(rc);
}

/*
 * After a FastCGI request: stderr is the process's again, and what was
 * written after its END_REQUEST (an error in close()) goes there.
 */
static void
persist_stderr(struct persistent *p)
{
	char	buf[8192];
	ssize_t	n;
	off_t	off = 0;

	(void)fflush(stderr);
	(void)dup2(p->err_saved, STDERR_FILENO);
	while ((n = pread(p->err_file, buf, sizeof(buf), off)) > 0) {
		if (write(STDERR_FILENO, buf, (size_t)n) != n)
			break;
		off += n;
	}
	/* The offset too: the next request's fd 2 shares it. */
	if (off > 0 && ftruncate(p->err_file, 0) == 0)
		(void)lseek(p->err_file, 0, SEEK_SET);
}

/* Any of fds 0-2 that is closed is opened on /dev/null (slowcgi). */
static void
fds_open(void)
{
	int	fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			_exit(EXIT_USAGE);
}

/*
 * The response and the body get private close-on-exec descriptors (*out,
 * *in); fd 0 becomes /dev/null and fd 1 a copy of stderr, so that print(),
 * C extensions and children write to the error log, and nothing that
 * writes to fd 0 (under mod_cgid the response socket) reaches the client.
 * When stderr is the response itself (a server that merges them), it
 * becomes /dev/null: diagnostics never go into a response.
 */
static int
fds_private(int *out, int *in)
{
	struct stat	so, se;
	int		null;

	if ((*out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    (*in = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    (null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(*out, &so) == 0 && fstat(STDERR_FILENO, &se) == 0 &&
	    so.st_dev == se.st_dev && so.st_ino == se.st_ino &&
	    !isatty(STDERR_FILENO) && dup2(null, STDERR_FILENO) < 0)
		return -1;
	if (dup2(null, STDIN_FILENO) < 0 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		return -1;
	(void)close(null);
	return 0;
}

static bool
same_file(const char *a, const char *b)
{
	struct stat	sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * The script, under a server, where the client must never choose it (spec
 * 1.3a): argv's script must be the file SCRIPT_FILENAME names (compared
 * before anything opens it), an option-looking argv[1] must be the
 * script's own #! text, and when wsgi-cgi is itself the CGI program
 * (Apache's Action) the script comes from PATH_TRANSLATED.  sb gets the
 * script's #! line.
 */
static const char *
choose_script(struct invocation *inv, char *reason, size_t len)
{
	const char	*sf = inv->req.script_filename, *script;
	char		**argv = inv->argv;
	int		 argc = inv->argc, i = 1;
	struct shebang	*sb = &inv->sb;

	if (sf != NULL && same_file(sf, "/proc/self/exe")) {
		if ((script = action_script(inv, reason, len)) != NULL)
			(void)options_shebang(script, sb);
		return script;
	}
	if (argc > 1 && argv[1][0] == '-')
		i = 2;
	if (i >= argc) {
		(void)snprintf(reason, len, "no script named in argv");
		return NULL;
	}
	if (sf != NULL && !same_file(sf, argv[i])) {
		(void)snprintf(reason, len, "argv names \"%.200s\" but "
		    "SCRIPT_FILENAME is \"%.200s\": refusing", argv[i], sf);
		return NULL;
	}
	(void)options_shebang(argv[i], sb);
	if (i == 2 && strcmp(sb->text, argv[1]) != 0) {
		(void)snprintf(reason, len, "argv[1] \"%.200s\" is not the "
		    "script's #! argument: refusing options from the request",
		    argv[1]);
		return NULL;
	}
	return argv[i];
}

/*
 * Apache's Action: the client asked for /app.wsgi/extra, Apache redirected
 * internally to wsgi-cgi (REDIRECT_STATUS, REDIRECT_URL and
 * REDIRECT_HANDLER are set; lighttpd sets REDIRECT_STATUS on every request
 * and the others never).  The script is the longest regular file that
 * begins PATH_TRANSLATED (php's cgi.fix_pathinfo); the rest is the
 * application's PATH_INFO, and SCRIPT_NAME is the script's own URL.
 */
static const char *
action_script(struct invocation *inv, char *reason, size_t len)
{
	struct cgi_request	*req = &inv->req;
	char			*path = inv->action_path;
	char			*name = inv->action_name;
	const char		*pt = req->path_translated, *pi = req->path_info;
	const char		*tail;
	struct stat		 st;
	size_t			 n, t;
	char			*slash;

	if (!req->redirected || req->redirect_url == NULL ||
	    req->redirect_handler == NULL || pt == NULL || *pt != '/') {
		(void)snprintf(reason, len, "run as the CGI program itself "
		    "without an Action redirect (REDIRECT_STATUS, "
		    "REDIRECT_URL, REDIRECT_HANDLER) and PATH_TRANSLATED: "
		    "refusing direct access");
		return NULL;
	}
	if ((n = strlen(pt)) >= sizeof(inv->action_path))
		goto none;
	memcpy(path, pt, n + 1);
	while (stat(path, &st) < 0) {
		if ((errno != ENOENT && errno != ENOTDIR) ||
		    (slash = strrchr(path, '/')) == NULL || slash == path)
			goto none;
		*slash = '\0';
	}
	if (!S_ISREG(st.st_mode))
		goto none;
	tail = pt + strlen(path);
	t = strlen(tail);
	if (pi != NULL && (n = strlen(pi)) >= t &&
	    strcmp(pi + n - t, tail) == 0 && n - t < sizeof(inv->action_name)) {
		memcpy(name, pi, n - t);
		name[n - t] = '\0';
		if (!cgi_env_set(req, "SCRIPT_NAME", name) ||
		    !cgi_env_set(req, "PATH_INFO", pi + n - t) ||
		    !cgi_env_set(req, "SCRIPT_FILENAME", path))
			goto none;
	}
	return path;
none:
	(void)snprintf(reason, len, "Action: no script in PATH_TRANSLATED "
	    "\"%.200s\"", pt);
	return NULL;
}

/*
 * "METHOD URI", for every message about the request, so that a line in a
 * server's error log can be tied to its request: REQUEST_URI, or the URI
 * made of SCRIPT_NAME, PATH_INFO and QUERY_STRING; control bytes as '?'.
 */
static void
label_request(const struct cgi_request *req, char *out, size_t len)
{
	const char	*m = req->method != NULL && *req->method != '\0' ?
			    req->method : "-";
	const char	*q = req->query_string;
	char		 uri[URI_MAX + 4];
	size_t		 i;
	int		 n;

	if (req->request_uri != NULL)
		n = snprintf(uri, sizeof(uri), "%s", req->request_uri);
	else
		n = snprintf(uri, sizeof(uri), "%s%s%s%s",
		    req->script_name != NULL ? req->script_name : "",
		    req->path_info != NULL ? req->path_info : "",
		    q != NULL && *q != '\0' ? "?" : "", q != NULL ? q : "");
	if (n < 0)
		uri[0] = '\0';
	else if ((size_t)n > URI_MAX)
		memcpy(uri + URI_MAX, "...", 4);
	if (uri[0] == '\0')
		memcpy(uri, "/", 2);
	for (i = 0; uri[i] != '\0'; i++)
		if ((unsigned char)uri[i] < 0x20 || uri[i] == 0x7f)
			uri[i] = '?';
	(void)snprintf(out, len, "%.40s %s", m, uri);
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
}

/* A request refused before the application: the reason, then 400 or 500. */
static void
refuse(struct response *resp, const char *label, const char *reason,
    int code)
{
	(void)fprintf(stderr, "wsgi-cgi: %s: %s\n", label, reason);
	(void)resp_fail(resp, code, NULL, 0);
}

/*
 * --check: a #! line that names an interpreter which is not there fails
 * every request with the kernel's "No such file or directory", which
 * servers blame on the script.
 */
static int
check_interpreter(const char *script, const struct shebang *sb)
{
	if (sb->interp[0] == '/' && access(sb->interp, X_OK) < 0) {
		warn("%s: the #! line names %s", script, sb->interp);
		return -1;
	}
	return 0;
}
