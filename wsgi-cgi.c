/*
 * wsgi-cgi: runs a Python WSGI application as a CGI program.  main() makes
 * the file descriptors safe, reads the options (never from the request),
 * picks the script, starts the embedded interpreter and hands over to the
 * WSGI glue.
 * SPDX-License-Identifier: MIT
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

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
#include <unistd.h>

#include "cgi_env.h"
#include "response.h"
#include "script.h"
#include "wsgi.h"

#ifndef WSGI_CGI_VERSION
#define WSGI_CGI_VERSION	"1.0.0"
#endif
#ifndef PYTHON_EXE
#define PYTHON_EXE		"/usr/bin/python3"
#endif
#ifndef PYTHON_PREFIX
#define PYTHON_PREFIX		"/usr"
#endif

#define EXIT_FAILED	1	/* the request failed */
#define EXIT_USAGE	2	/* usage or start-up error */
#define MAX_WORDS	32	/* options on a #! line */
#define REASON_MAX	1024
#define SHEBANG_MAX	256	/* Linux BINPRM_BUF_SIZE */
#define PYVER		Py_STRINGIFY(PY_MAJOR_VERSION) "." \
			    Py_STRINGIFY(PY_MINOR_VERSION)

struct options {
	const char	*callable;	/* --callable, default "application" */
	const char	*venv;		/* --venv */
	bool		 named;		/* --callable was given */
	bool		 check;		/* --check */
	bool		 debug;		/* --debug */
	int		 script;	/* index of SCRIPT in argv, or argc */
};

static void	 usage(FILE *);
static void	 fds_open(void);
static int	 parse_options(int, char *[], struct options *);
static int	 parse_word(char *, struct options *);
static int	 option(char **, int, int *, struct options *);
static bool	 shebang_has(const char *, const char *);
static bool	 same_file(const char *, const char *);
static const char *choose_script(int, char *[], const struct cgi_request *,
		    struct options *, char *, size_t);
static void	 refuse(struct response *, const char *, const char *, int);
static int	 serve(const struct options *, const struct cgi_request *,
		    struct response *, const char *);
static int	 py_start(const char *, int, char *[], const char *);
static int	 add_site_dirs(const char *);
static int	 py_stop(int);
#ifndef WSGI_CGI_SANITIZE
static void	 py_finish(void);
#endif

extern char	**environ;

static const char synopsis[] =
    "usage: wsgi-cgi [-hV] [--check] [--debug] [--callable name] "
    "[--venv dir] script [word ...]\n";

static void
usage(FILE *f)
{
	(void)fputs(synopsis, f);
	if (f == stdout)
		(void)fputs("\n"
		    "  --callable name  the WSGI callable in the script "
		    "(default: application)\n"
		    "  --check          load the script and check the "
		    "callable, then exit\n"
		    "  --debug          put tracebacks in 500 responses\n"
		    "  --venv dir       use the packages of a virtual "
		    "environment\n"
		    "  -h, --help       print this help and exit\n"
		    "  -V, --version    print the version and exit\n", f);
}

int
main(int argc, char *argv[])
{
	struct options		 o = { "application", NULL, false, false,
				    false, 0 };
	struct cgi_request	 req;
	struct response		 resp;
	const char		*script;
	char			 reason[REASON_MAX];
	bool			 gateway;
	int			 e, fd;

	/* RFC 3875 leaves fds 0-2 to the server: make sure they exist. */
	fds_open();
	program_invocation_short_name = (char *)"wsgi-cgi";
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EXIT_USAGE, "signal");

	gateway = getenv("GATEWAY_INTERFACE") != NULL;
	if (!gateway && (o.script = parse_options(argc, argv, &o)) >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}

	/*
	 * The response gets a private descriptor; fd 1 becomes stderr, so
	 * print(), C extensions and children write to the error log.
	 */
	if ((fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		err(EXIT_USAGE, "dup");
	resp_init(&resp, fd, "wsgi-cgi");

	/* php-cgi's lesson: fd 0 listening is FastCGI; never block on it. */
	if (getpeername(STDIN_FILENO, NULL, NULL) < 0 && errno == ENOTCONN)
		errx(EXIT_USAGE, "stdin is a listening socket (FastCGI?): "
		    "wsgi-cgi speaks CGI only");

	if ((e = cgi_env_parse(environ, &req)) != CGI_OK) {
		(void)snprintf(reason, sizeof(reason),
		    "bad CGI environment: %s", cgi_env_strerror(e));
		refuse(&resp, gateway ? NULL : argv[o.script], reason,
		    cgi_env_status(e));
		return EXIT_FAILED;
	}
	script = choose_script(argc, argv, &req, &o, reason, sizeof(reason));
	if (script == NULL) {
		refuse(&resp, NULL, reason, 500);
		return EXIT_FAILED;
	}
	resp.name = script;
	resp.head = req.head;
	resp.protocol = req.protocol;
	resp.proto_major = req.included ? 1 : req.proto_major;
	resp.proto_minor = req.included ? 0 : req.proto_minor;
	resp.nph = strncmp(strrchr(script, '/') ? strrchr(script, '/') + 1 :
	    script, "nph-", 4) == 0;

	if (gateway)
		e = py_start(script, 0, NULL, o.venv);
	else
		e = py_start(script, argc - o.script - 1, argv + o.script + 1,
		    o.venv);
	if (e < 0) {
		if (!o.check)
			refuse(&resp, script, "cannot start Python", 500);
		return EXIT_USAGE;
	}
	return py_stop(serve(&o, &req, &resp, script));
}

/*
 * Loads the script and, unless --check, calls its application with the
 * request; returns the exit status.  The response is closed on return.
 */
static int
serve(const struct options *o, const struct cgi_request *req,
    struct response *resp, const char *script)
{
	struct wsgi_ctx	 ctx = { script, o->debug, false, resp };
	PyObject	*app = NULL, *input = NULL, *env = NULL;
	char		 reason[REASON_MAX];
	bool		 tb;
	int		 rc = EXIT_FAILED;

	app = script_load(script, o->callable, o->named, reason,
	    sizeof(reason), &tb);
	if (o->check) {
		if (app == NULL)
			wsgi_report(script, reason, tb);
		rc = app == NULL ? EXIT_FAILED : 0;
		goto out;
	}
	if (app == NULL) {
		wsgi_fail(&ctx, reason, tb);
		goto out;
	}
	/* A body from a terminal is empty: never wait for a user typing. */
	if (!req->gateway && isatty(STDIN_FILENO))
		input = input_new(STDIN_FILENO, true, 0);
	else
		input = input_new(STDIN_FILENO, req->has_length,
		    req->content_length);
	if (input == NULL || (env = wsgi_environ(environ, req, input)) ==
	    NULL) {
		wsgi_fail(&ctx, "cannot build environ", true);
		goto out;
	}
	rc = wsgi_run(&ctx, app, env);
out:
	Py_XDECREF(app);
	Py_XDECREF(input);
	Py_XDECREF(env);
	if (resp->state != RESP_CLOSED && !o->check)
		(void)resp_fail(resp, "500 Internal Server Error", "", 0);
	return rc;
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
 * Options come only before SCRIPT.  A first word with blanks is a #! line's
 * single argument and is split (as env -S does).  Returns the index of
 * SCRIPT.
 */
static int
parse_options(int argc, char *argv[], struct options *o)
{
	int	i = 1, r;

	if (argc > 1 && argv[1][0] == '-' && strpbrk(argv[1], " \t")) {
		if ((r = parse_word(argv[1], o)) != 0)
			return r;
		return 2;
	}
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		if ((r = option(argv, argc, &i, o)) != 0)
			return r;
	}
	return i;
}

/* The options of one #! word; 0, or what option() returns. */
static int
parse_word(char *word, struct options *o)
{
	char	*w[MAX_WORDS + 1];
	char	*p;
	int	 n = 0, i = 0, r;

	for (p = strtok_r(word, " \t", &word); p != NULL && n < MAX_WORDS;
	    p = strtok_r(NULL, " \t", &word))
		w[n++] = p;
	w[n] = NULL;
	while (i < n) {
		if (w[i][0] != '-')
			errx(EXIT_USAGE, "%s: not an option", w[i]);
		if ((r = option(w, n, &i, o)) != 0)
			return r;
	}
	return 0;
}

/* argv[*i] is an option; advances *i past it and its value. */
static int
option(char **argv, int argc, int *i, struct options *o)
{
	const char	*arg = argv[*i], *val = NULL;
	size_t		 n;

	if (strncmp(arg, "--", 2) == 0 && (val = strchr(arg, '=')) != NULL)
		n = (size_t)(val++ - arg);
	else
		n = strlen(arg);
	(*i)++;
	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
		usage(stdout);
		exit(0);
	}
	if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
		printf("wsgi-cgi %s (Python %.*s)\n", WSGI_CGI_VERSION,
		    (int)strcspn(Py_GetVersion(), " "), Py_GetVersion());
		exit(0);
	}
	if (strcmp(arg, "--check") == 0)
		o->check = true;
	else if (strcmp(arg, "--debug") == 0)
		o->debug = true;
	else if ((n == 10 && strncmp(arg, "--callable", n) == 0) ||
	    (n == 6 && strncmp(arg, "--venv", n) == 0)) {
		if (val == NULL && *i < argc)
			val = argv[(*i)++];
		if (val == NULL || *val == '\0')
			errx(EXIT_USAGE, "%.*s needs a value", (int)n, arg);
		if (n == 6)
			o->venv = val;
		else {
			o->callable = val;
			o->named = true;
		}
	} else {
		warnx("unknown option %s", arg);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	return 0;
}

/*
 * The script to run.  From a shell, SCRIPT from argv.  Under a server the
 * client must never choose it (spec 1.3a): argv's script must be the file
 * SCRIPT_FILENAME names, options are taken only when they are the script's
 * own #! argument, and when wsgi-cgi is itself the CGI program (Apache
 * Action) the target is PATH_TRANSLATED, only after an internal redirect.
 */
static const char *
choose_script(int argc, char *argv[], const struct cgi_request *req,
    struct options *o, char *reason, size_t len)
{
	const char	*sf = req->script_filename;
	int		 i = 1;

	if (!req->gateway)
		return argv[o->script];
	if (sf != NULL && same_file(sf, "/proc/self/exe")) {
		if (req->redirected && req->path_translated != NULL &&
		    *req->path_translated != '\0')
			return req->path_translated;
		(void)snprintf(reason, len, "run as the CGI program itself "
		    "without REDIRECT_STATUS and PATH_TRANSLATED: refusing "
		    "direct access");
		return NULL;
	}
	if (argc > 1 && argv[1][0] == '-') {
		if (argc < 3 || !shebang_has(argv[2], argv[1])) {
			(void)snprintf(reason, len, "argv[1] \"%.200s\" is not "
			    "the script's #! argument: refusing options from "
			    "the request", argv[1]);
			return NULL;
		}
		(void)parse_word(argv[1], o);
		i = 2;
	}
	if (i >= argc) {
		(void)snprintf(reason, len, "no script named in argv");
		return NULL;
	}
	if (sf != NULL && !same_file(sf, argv[i])) {
		(void)snprintf(reason, len, "argv names \"%.200s\" but "
		    "SCRIPT_FILENAME is \"%.200s\": refusing", argv[i], sf);
		return NULL;
	}
	return argv[i];
}

/* The kernel passes a #! line's text after the interpreter as one word. */
static bool
shebang_has(const char *script, const char *word)
{
	char	 line[SHEBANG_MAX + 1];
	char	*p, *end;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(script, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, line, SHEBANG_MAX);
	close(fd);
	if (n < 2 || line[0] != '#' || line[1] != '!')
		return false;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	p = line + 2 + strspn(line + 2, " \t");
	p += strcspn(p, " \t");
	p += strspn(p, " \t");
	for (end = p + strlen(p); end > p && strchr(" \t\r", end[-1]); end--)
		;
	*end = '\0';
	return *p != '\0' && strcmp(p, word) == 0;
}

static bool
same_file(const char *a, const char *b)
{
	struct stat	sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* A request refused before the application: the reason, then 400 or 500. */
static void
refuse(struct response *resp, const char *name, const char *reason, int code)
{
	static const char bad_request[] = "Bad Request";
	static const char server_error[] =
	    "A server error occurred.  Please contact the administrator.";

	if (name != NULL)
		(void)fprintf(stderr, "wsgi-cgi: %s: %s\n", name, reason);
	else
		(void)fprintf(stderr, "wsgi-cgi: %s\n", reason);
	if (code == 400)
		(void)resp_fail(resp, "400 Bad Request", bad_request,
		    sizeof(bad_request) - 1);
	else
		(void)resp_fail(resp, "500 Internal Server Error",
		    server_error, sizeof(server_error) - 1);
}

/*
 * An isolated interpreter (no PYTHON* variables, no user site, no argv
 * parsing) whose sys.executable is the real Python; site is not run, its
 * package directories are added directly.
 */
static int
py_start(const char *script, int nwords, char *words[], const char *venv)
{
	PyPreConfig	 pre;
	PyConfig	 c;
	PyStatus	 st;
	char		*argv[MAX_WORDS + 1];
	int		 i, n = 0;

	PyPreConfig_InitIsolatedConfig(&pre);
	pre.utf8_mode = 1;
#ifdef WSGI_CGI_SANITIZE
	/* Python objects from malloc, so ASan sees a reference misused. */
	pre.allocator = PYMEM_ALLOCATOR_MALLOC;
#endif
	st = Py_PreInitialize(&pre);
	if (PyStatus_Exception(st))
		goto fail;
	PyConfig_InitIsolatedConfig(&c);
	c.site_import = 0;
	c.parse_argv = 0;
	/* SIGPIPE is ignored already; Python's handlers cost 2% a request. */
	c.install_signal_handlers = 0;
	argv[n++] = (char *)(uintptr_t)script;
	for (i = 0; i < nwords && n < MAX_WORDS; i++)
		argv[n++] = words[i];
	st = PyConfig_SetBytesString(&c, &c.program_name, PYTHON_EXE);
	if (!PyStatus_Exception(st))
		st = PyConfig_SetBytesString(&c, &c.executable, PYTHON_EXE);
	if (!PyStatus_Exception(st))
		st = PyConfig_SetBytesArgv(&c, n, argv);
	if (!PyStatus_Exception(st))
		st = Py_InitializeFromConfig(&c);
	PyConfig_Clear(&c);
	if (PyStatus_Exception(st))
		goto fail;
	if (wsgi_ready() < 0 || wsgi_catch_sigterm() < 0 ||
	    add_site_dirs(venv) < 0) {
		wsgi_report(script, "cannot start Python", true);
		return -1;
	}
	return 0;
fail:
	warnx("cannot start Python: %s%s%s", st.func ? st.func : "",
	    st.func ? ": " : "", st.err_msg ? st.err_msg : "failed");
	return -1;
}

/*
 * What Debian's site.py appends (dist-packages in /usr/local and /usr), for
 * a fraction of its cost; a virtual environment's packages come first.
 */
static int
add_site_dirs(const char *venv)
{
	static const char *const dirs[] = {
		PYTHON_PREFIX "/local/lib/python" PYVER "/dist-packages",
		PYTHON_PREFIX "/lib/python3/dist-packages",
		PYTHON_PREFIX "/lib/python" PYVER "/dist-packages",
		PYTHON_PREFIX "/lib/python" PYVER "/site-packages",
	};
	PyObject	*path, *dir;
	struct stat	 st;
	char		 vdir[PATH_MAX];
	size_t		 i;
	int		 n;

	if ((path = PySys_GetObject("path")) == NULL)		/* borrowed */
		return -1;
	if (venv != NULL) {
		n = snprintf(vdir, sizeof(vdir), "%s/lib/python" PYVER
		    "/site-packages", venv);
		if (n < 0 || (size_t)n >= sizeof(vdir) ||
		    stat(vdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			PyErr_Format(PyExc_FileNotFoundError, "--venv %s: no "
			    "lib/python" PYVER "/site-packages in it", venv);
			return -1;
		}
		if ((dir = PyUnicode_DecodeFSDefault(vdir)) == NULL ||
		    PyList_Append(path, dir) < 0) {
			Py_XDECREF(dir);
			return -1;
		}
		Py_DECREF(dir);
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (stat(dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if ((dir = PyUnicode_FromString(dirs[i])) == NULL ||
		    PyList_Append(path, dir) < 0) {
			Py_XDECREF(dir);
			return -1;
		}
		Py_DECREF(dir);
	}
	return 0;
}

/*
 * The response is already closed.  What Py_FinalizeEx does that an
 * application can see (non-daemon threads joined, atexit handlers run,
 * streams flushed) is done, then the process ends without tearing the
 * interpreter down.  The sanitizer build (WSGI_CGI_SANITIZE) finalizes in
 * full instead, so that leaks can be checked.
 */
static int
py_stop(int rc)
{
	if (!Py_IsInitialized())
		return rc;
#ifdef WSGI_CGI_SANITIZE
	return Py_FinalizeEx() < 0 && rc == 0 ? EXIT_FAILED : rc;
#else
	py_finish();
	_exit(rc);
#endif
}

#ifndef WSGI_CGI_SANITIZE
/* Threads joined, atexit handlers run, streams flushed, as at exit. */
static void
py_finish(void)
{
	PyObject	*mod, *r;
	const char	*streams[] = { "stdout", "stderr" };
	size_t		 i;

	mod = PyDict_GetItemString(PyImport_GetModuleDict(), "threading");
	if (mod != NULL) {					/* borrowed */
		r = PyObject_CallMethod(mod, "_shutdown", NULL);
		Py_XDECREF(r);
		PyErr_Clear();
	}
	if ((mod = PyImport_ImportModule("atexit")) != NULL) {
		r = PyObject_CallMethod(mod, "_run_exitfuncs", NULL);
		Py_XDECREF(r);
		Py_DECREF(mod);
	}
	PyErr_Clear();
	for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++)
		if ((mod = PySys_GetObject(streams[i])) != NULL &&
		    mod != Py_None) {				/* borrowed */
			r = PyObject_CallMethod(mod, "flush", NULL);
			Py_XDECREF(r);
			PyErr_Clear();
		}
	(void)fflush(NULL);
}
#endif
