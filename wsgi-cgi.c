/*
 * wsgi-cgi: runs a Python WSGI application as a CGI program.  main() makes
 * the file descriptors safe and picks the mode: a shell's --help or
 * control command, a server (app.c, server.c), or a CGI request (cgi.c).
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
#include "sockets.h"
#include "systemd.h"
#include "warm.h"
#include "wsgi.h"

#ifndef WSGI_CGI_VERSION
#define WSGI_CGI_VERSION	"1.0.0"
#endif

static void	 usage(FILE *);
static void	 fds_open(void);
static void	 version(void);
static int	 shell_options(struct invocation *);

extern char	**environ;

static const char synopsis[] =
    "usage: wsgi-cgi [-hV] [--check] [--debug] [--callable name] "
    "[--python-path dir] [--venv dir] [--listen addr] [--socket-mode mode] "
    "[--user user[:group]] [--stats addr] "
    "[--protocol name] [--workers n] [--threads n] [--max-requests n] "
    "[--timeout seconds] [--request-timeout seconds] [--max-rss mib] "
    "[--access-log[=file]] [--warm[=seconds]] [--warm-app] [--warm-status] "
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
		    "host:port (repeatable)\n"
		    "  --socket-mode mode  the Unix socket's mode (octal)\n"
		    "  --user user[:group] started as root: bind, then become "
		    "user\n"
		    "  --stats addr        serve GET /metrics (Prometheus) on "
		    "host:port\n"
		    "  --protocol name     accept only fastcgi, scgi, uwsgi, "
		    "http (repeatable)\n"
		    "  --workers n         processes serving (default 1)\n"
		    "  --threads n         requests a worker serves at once "
		    "(default 1)\n"
		    "  --max-requests n    a worker's requests before it is "
		    "renewed\n"
		    "  --timeout seconds   how long a peer may stall "
		    "(default 60)\n"
		    "  --request-timeout seconds\n"
		    "                      how long a request may run "
		    "(default: no limit)\n"
		    "  --max-rss mib       a worker's resident memory before "
		    "it is renewed\n"
		    "  --access-log[=file] a line per request on stderr, or file "
		    "(SIGUSR1 reopens it)\n"
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
	cgi_invocation_init(&inv, argc, argv);
	if (inv.req.gateway)
		return cgi(&inv);
	/* From a shell, argv has the options: --help, --version, mistakes. */
	if ((rc = shell_options(&inv)) >= 0)
		return rc;
	if (inv.o.ctl != OPT_CTL_NONE)
		return warm_ctl(inv.script, inv.o.ctl == OPT_CTL_STOP);
	/* php-cgi's convention: fd 0 listening is a gateway server. */
	if (inv.o.nlisten > 0 || sockets_fd0_listening() ||
	    sd_listen_count() != 0)
		return app_persist(&inv.o, inv.script, argv);
	return cgi(&inv);
}

/* How this process was started: argv, the environment's request. */
void
cgi_invocation_init(struct invocation *inv, int argc, char *argv[])
{
	memset(inv, 0, sizeof(*inv));
	inv->argc = argc;
	inv->argv = argv;
	inv->first = argc;
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
