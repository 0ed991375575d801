/*
 * A CGI request, from its environment and fds 0-2 to its exit status: the
 * script (never one the client chose), the options (never from the
 * request), the interpreter, then the WSGI glue; in a process of its own
 * (cgi()) or in a warm backend's child (cgi_warm_child()).
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

static int	 fds_private(int *, int *);
static bool	 same_file(const char *, const char *);
static const char *choose_script(struct invocation *, char *, size_t);
static const char *action_script(struct invocation *, char *, size_t);
static int	 check_interpreter(const char *, const struct shebang *);
static int	 cgi_begin(struct invocation *, struct response **, int *,
		    int *, char *, size_t);
static int	 cgi_check(struct invocation *, struct response *, char *,
		    size_t);
static int	 cgi_start(const struct invocation *, const char *);
static int	 warm_child_start(const struct invocation *,
		    const struct warm_glue *, struct response *, const char *);
static int	 serve(const struct options *, const struct cgi_request *,
		    struct response **, const char *, const char *, int,
		    PyObject *);

extern char	**environ;

/*
 * A CGI request, from its environment and fds 0-2, to its exit status, in
 * a process of its own.  A request with --warm is first offered to the
 * script's backend; else, and to start that backend, Python starts here.
 */
int
cgi(struct invocation *inv)
{
	struct response	*resp;
	struct warm	 w;
	char		 label[LABEL_MAX];
	int		 fd, in, rc;
	bool		 warm = false;

	if ((rc = cgi_begin(inv, &resp, &fd, &in, label, sizeof(label))) >= 0)
		goto out;
	if (inv->o.warm > 0 && inv->req.gateway && !inv->o.check) {
		if (warm_glue_try(inv, &w, in, fd, label, &rc))
			goto out;
		warm = true;
	}
	if (cgi_start(inv, label) < 0) {
		/* py_start() has said why. */
		if (!inv->o.check)
			(void)resp_fail(resp, 500, NULL, 0);
		rc = EXIT_USAGE;
		goto out;
	}
	rc = serve(&inv->o, &inv->req, &resp, inv->script, label, in, NULL);
	if (warm)
		warm_glue_learn(&w, true);
	resp_free(resp);
	return py_stop(rc);
out:
	resp_free(resp);
	return rc;
}

/*
 * A warm backend's child: the request its front end passed (inv, made
 * from that request's argv and environment), served by the interpreter,
 * the modules and (--warm-app) the application of the backend g.
 */
int
cgi_warm_child(struct invocation *inv, struct warm_glue *g)
{
	struct response	*resp;
	char		 label[LABEL_MAX];
	int		 fd, in, rc;
	Py_ssize_t	 nmods;

	if ((rc = cgi_begin(inv, &resp, &fd, &in, label, sizeof(label))) >= 0)
		goto out;
	if ((rc = warm_child_start(inv, g, resp, label)) != 0) {
		if (rc < 0) {
			(void)resp_fail(resp, 500, NULL, 0);
			rc = EXIT_USAGE;
		}
		goto out;
	}
	nmods = py_modules_count();
	rc = serve(&inv->o, &inv->req, &resp, inv->script, label, in, g->app);
	/* The script imported more than the backend has: it learns. */
	if (py_modules_count() > nmods + (g->app != NULL ? 0 : 1))
		warm_glue_learn(g->w, false);
out:
	resp_free(resp);
	return rc;
}

/*
 * The request's own descriptors (fd in for its body, *fd for its
 * response), its response (*resp), checked (cgi_check(), label): an exit
 * status (refused), or -1 to go on.
 */
static int
cgi_begin(struct invocation *inv, struct response **resp, int *fd, int *in,
    char *label, size_t len)
{
	if (fds_private(fd, in) < 0)
		err(EXIT_USAGE, "dup");
	if ((*resp = resp_new(*fd, "wsgi-cgi")) == NULL)
		err(EXIT_USAGE, "malloc");
	return cgi_check(inv, *resp, label, len);
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

	resp_request(resp, req->head, req->protocol, req->included ? 1 :
	    req->proto_major, req->included ? 0 : req->proto_minor);
	cgi_label(req, request, sizeof(request));
	if (inv->env_error != CGI_OK) {
		(void)snprintf(reason, sizeof(reason),
		    "bad CGI environment: %s", cgi_env_strerror(inv->env_error));
		cgi_refuse(resp, request, reason, cgi_env_status(inv->env_error));
		return EXIT_FAILED;
	}
	if (req->gateway)
		inv->script = choose_script(inv, reason, sizeof(reason));
	if (inv->script == NULL) {
		cgi_refuse(resp, request, reason, 500);
		return EXIT_FAILED;
	}
	(void)snprintf(label, len, "%s: %s", inv->script, request);
	resp_name(resp, label);
	/* Under a server every outcome is a response. */
	if (req->gateway && options_gather(&inv->o, true, inv->argc,
	    inv->argv, getenv(OPTIONS_VAR), &inv->sb, reason,
	    sizeof(reason)) != OPT_OK) {
		cgi_refuse(resp, label, reason, 500);
		return EXIT_FAILED;
	}
	/* From a shell, --check is about the script, not a request. */
	if (inv->o.check && !req->gateway)
		(void)snprintf(label, len, "%s", inv->script);
	if (req->gateway && (inv->o.check || inv->o.ctl != OPT_CTL_NONE)) {
		cgi_refuse(resp, label, inv->o.check ? "--check is not for a web "
		    "server: refusing" : "--warm-status and --warm-stop are "
		    "for a shell: refusing", 500);
		return EXIT_FAILED;
	}
	if (inv->o.check && check_interpreter(inv->script, &inv->sb) < 0)
		return EXIT_FAILED;
	base = strrchr(inv->script, '/');
	resp_nph(resp, strncmp(base != NULL ? base + 1 : inv->script, "nph-",
	    4) == 0);
	return -1;
}

/* A cold request's interpreter; a shell's words after SCRIPT its argv. */
static int
cgi_start(const struct invocation *inv, const char *label)
{
	struct py_site	site;

	cgi_site_of(&inv->o, &site);
	if ((inv->req.gateway ? py_start(inv->script, label, 0, NULL, &site,
	    PY_CGI) : py_start(inv->script, label, inv->argc - inv->first - 1,
	    inv->argv + inv->first + 1, &site, PY_CGI)) < 0)
		return -1;
	if (wsgi_ready() < 0 || wsgi_catch_sigterm() < 0) {
		wsgi_report(label, "cannot start Python", true);
		return -1;
	}
	return 0;
}

/*
 * A warm child: its backend's script, the interpreter it has, its argv.
 * 0; -1 when Python cannot go on; EXIT_FAILED when the script is not the
 * backend's (refused).
 */
static int
warm_child_start(const struct invocation *inv, const struct warm_glue *g,
    struct response *resp, const char *label)
{
	char	real[PATH_MAX];

	if (realpath(inv->script, real) == NULL ||
	    strcmp(real, g->w->script) != 0) {
		cgi_refuse(resp, label, "warm start: the script is not the "
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
    struct response **resp, const char *script, const char *label, int in,
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
	rc = wsgi_serve(&call, resp, NULL);
	Py_XDECREF(app);
	return rc;
}

/* The options' package directories, as py_start() takes them. */
void
cgi_site_of(const struct options *o, struct py_site *site)
{
	site->venv = o->venv;
	site->paths = o->paths;
	site->npaths = o->npaths;
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
void
cgi_label(const struct cgi_request *req, char *out, size_t len)
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
void
cgi_refuse(struct response *resp, const char *label, const char *reason,
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
