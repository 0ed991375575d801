/*
 * The application of a server mode's process: the interpreter and the
 * script loaded once (again when its file changes), and each request the
 * server hands over, through the same WSGI glue as CGI's; the access log.
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

#include "access_log.h"
#include "board.h"
#include "cgi.h"
#include "cgi_env.h"
#include "files.h"
#include "options.h"
#include "pool.h"
#include "response.h"
#include "script.h"
#include "python.h"
#include "server.h"
#include "warm.h"
#include "wsgi.h"

/* A worker's thread and the request it runs, for --request-timeout. */
struct running {
	PyThreadState		*ts;
	const char		*label;	/* NULL: none runs */
	PyObject		*request;	/* wsgi_serve()'s, borrowed */
};

/* A server mode's process: its script, loaded once, and fresh. */
struct persistent {
	const struct options	*o;
	const char		*script;
	PyObject		*app;
	char			 reason[REASON_MAX];
	bool			 traceback;
	struct stat		 st;	/* the script when it was loaded */
	PyThreadState		*ts;	/* the main thread's, while it waits */
	int			 script_fd;	/* the file loaded, O_PATH */
	struct running		 running[POOL_THREADS_MAX];	/* by the GIL */
};

static int	 persist_init(void *);
static void	 persist_load(struct persistent *);
static int	 persist_handle(void *, const struct srv_request *,
		    struct outcome *);
static void	 persist_count(const struct persistent *,
		    const struct srv_request *, const struct cgi_request *,
		    const struct outcome *, const struct timespec *);
static void	 access_line(const struct srv_request *,
		    const struct cgi_request *, const struct outcome *,
		    int64_t);
static int	 persist_fini(void *, int);
static void	 persist_thread_end(void *);
static void	 persist_overdue(void *, unsigned, bool);
static void	 persist_fork(void *, int);

extern char	**environ;

/*
 * A worker's thread (--threads) has its own Python thread state, made at
 * its first request; the main thread's is the process's (p->ts).
 */
static _Thread_local PyThreadState	*thread_ts;

/*
 * Server modes (fd 0 a listening socket, or --listen): the script is
 * served persistently.  lighttpd and php-cgi's PHP_FCGI_CHILDREN and
 * PHP_FCGI_MAX_REQUESTS are honoured when a server spawned us and no
 * option says otherwise.  fd 1 goes to the error log, as under CGI.
 */
int
app_persist(struct options *o, const char *script, char *argv[])
{
	struct srv_options	 so;
	struct persistent	 p;
	const char		*v;

	if (o->check)
		errx(EXIT_USAGE, "--check does not serve: leave out --listen");
	if (o->nlisten == 0 && o->workers == 0 &&
	    (v = getenv("PHP_FCGI_CHILDREN")) != NULL &&
	    !options_uint(v, 1, OPT_WORKERS_MAX, 10, &o->workers))
		errx(EXIT_USAGE, "PHP_FCGI_CHILDREN=%s: not 1-%d", v,
		    OPT_WORKERS_MAX);
	if (o->nlisten == 0 && !o->max_given &&
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
	so.nlisten = o->nlisten;
	so.socket_mode = o->socket_mode;
	so.user = o->user;
	so.access_log = o->access_log_file;
	so.stats = o->stats;
	so.protocols = o->protocols;
	so.workers = o->workers == 0 ? 1 : o->workers;
	so.threads = o->threads == 0 ? 1 : o->threads;
	so.max_requests = o->max_requests;
	so.timeout = o->timeout;
	so.request_timeout = o->request_timeout;
	so.max_rss = o->max_rss;
	so.overdue = persist_overdue;
	so.argv = argv;
	so.init = persist_init;
	so.handle = persist_handle;
	so.fini = persist_fini;
	so.thread_end = persist_thread_end;
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

	cgi_site_of(p->o, &site);
	if (py_start(p->script, p->script, 0, NULL, &site, PY_SERVER) < 0)
		return -1;
	if (wsgi_ready() < 0 || wsgi_errors_install() < 0) {
		wsgi_report(p->script, "cannot start Python", true);
		return -1;
	}
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
persist_handle(void *ctx, const struct srv_request *sr, struct outcome *out)
{
	struct persistent	*p = ctx;
	struct cgi_request	 req;
	struct response		*resp;
	struct resp_gateway	 gw;
	struct wsgi_call	 call;
	char			 request[URI_MAX + 64], label[LABEL_MAX];
	char			 reason[REASON_MAX];
	struct timespec		 t0;
	PyThreadState		*ts = p->ts;
	int			 e, rc = EXIT_FAILED, at = pool_thread_index();

	if (at >= 0) {
		if (thread_ts == NULL && (thread_ts = PyThreadState_New(
		    PyThreadState_GetInterpreter(p->ts))) == NULL) {
			/* No Python on this thread: the connection closes. */
			warnx("%s: cannot make a Python thread state",
			    p->script);
			memset(out, 0, sizeof(*out));
			return EXIT_FAILED;
		}
		ts = thread_ts;
	}
	PyEval_RestoreThread(ts);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	board_begin();
	e = cgi_env_parse(sr->envp, &req, true);
	cgi_label(&req, request, sizeof(request));
	(void)snprintf(label, sizeof(label), "%s: %s", p->script, request);
	if (at >= 0) {
		p->running[at].ts = ts;
		p->running[at].label = label;
	}
	if ((resp = resp_new(sr->fd, label)) == NULL) {
		warnx("%s: out of memory", label);
		memset(out, 0, sizeof(*out));
		goto done;
	}
	/* The connection is the server's; SCGI and uwsgi end by shutdown. */
	memset(&gw, 0, sizeof(gw));
	gw.keep = true;
	gw.shut = sr->proto == SRV_SCGI || sr->proto == SRV_UWSGI;
	gw.http = sr->proto == SRV_HTTP;
	gw.http_keep = sr->http_keep;
	gw.stop = sr->stop;
	gw.frame = sr->frame;
	gw.wait_ms = sr->wait_ms;
	gw.status_line = sr->proto == SRV_UWSGI || sr->proto == SRV_HTTP;
	resp_gateway(resp, &gw);
	resp_request(resp, req.head, req.protocol, req.included ? 1 :
	    req.proto_major, req.included ? 0 : req.proto_minor);
	if (e != CGI_OK) {
		(void)snprintf(reason, sizeof(reason), "bad request "
		    "variables: %s", cgi_env_strerror(e));
		cgi_refuse(resp, label, reason, cgi_env_status(e));
		resp_outcome(out, resp);
		goto done;
	}
	persist_load(p);
	memset(&call, 0, sizeof(call));
	/* Its own: another thread may load the script again meanwhile. */
	call.app = Py_XNewRef(p->app);
	(void)snprintf(reason, sizeof(reason), "%s", p->reason);
	call.reason = reason;
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
	call.multithread = p->o->threads > 1;
	/* Its own errors (FastCGI: STDERR records), writes that keep the GIL. */
	call.server = true;
	call.running = at >= 0 ? &p->running[at].request : NULL;
	rc = wsgi_serve(&call, &resp, out);
	Py_XDECREF(call.app);
done:
	resp_free(resp);
	persist_count(p, sr, &req, out, &t0);
	if (at >= 0) {
		p->running[at].label = NULL;
		/* A stop asked too late is not the next request's. */
		(void)PyThreadState_SetAsyncExc(ts->thread_id, NULL);
	}
	(void)PyEval_SaveThread();
	return rc;
}

/*
 * --request-timeout: the request on thread i ran too long.  One line names
 * it, then its Python stack at this moment (what faulthandler would
 * print); an exception raised in its thread (wsgi_cgi.RequestTimeout)
 * stops a request that runs Python code, which then answers 504.  One that
 * waits in C (a sleep, a read) did not stop within the grace (stuck): it
 * is left behind, and the worker renewed.
 */
static void
persist_overdue(void *ctx, unsigned i, bool stuck)
{
	struct persistent	*p = ctx;
	struct running		*r = &p->running[i];
	PyObject		*exc;
	char			 stack[4096];

	PyEval_RestoreThread(p->ts);
	if (r->label != NULL && r->ts != NULL) {
		py_stack(r->ts, stack, sizeof(stack));
		if (stuck)
			(void)fprintf(stderr, "wsgi-cgi: %s: did not stop: "
			    "left behind, the worker is renewed; its stack, "
			    "most recent call first:\n%s", r->label, stack);
		else
			(void)fprintf(stderr, "wsgi-cgi: %s: running for %u s, "
			    "past --request-timeout: stopping it; its stack, "
			    "most recent call first:\n%s", r->label,
			    p->o->request_timeout, stack);
		if (!stuck) {
			if ((exc = wsgi_request_timeout()) != NULL)
				(void)PyThreadState_SetAsyncExc(
				    r->ts->thread_id, exc);
			PyErr_Clear();
		} else if (r->request != NULL)
			wsgi_abandon(r->request);
	}
	(void)PyEval_SaveThread();
}

/*
 * A request's end, begun at t0: on the workers' board (--stats, systemd's
 * STATUS=), and its line with --access-log.
 */
static void
persist_count(const struct persistent *p, const struct srv_request *sr,
    const struct cgi_request *req, const struct outcome *out,
    const struct timespec *t0)
{
	struct timespec	t1;
	int64_t		usec;

	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	usec = (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000;
	board_request(sr->proto == SRV_FASTCGI ? 0 : sr->proto == SRV_SCGI ?
	    1 : sr->proto == SRV_UWSGI ? 2 : 3, out->status,
	    usec > 0 ? (uint64_t)usec : 0);
	if (p->o->access_log)
		access_line(sr, req, out, usec);
}

/*
 * --access-log: the request in the Common Log Format, then the seconds it
 * took: remote - - [date] "METHOD URI PROTOCOL" status bytes; one write to
 * stderr or the log file (access_log.c).
 */
static void
access_line(const struct srv_request *sr, const struct cgi_request *req,
    const struct outcome *out, int64_t usec)
{
	char		 date[64], uri[URI_MAX + 4], line[URI_MAX + 512];
	const char	*remote = "-", *proto = "-";
	int		 n;
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
	n = snprintf(line, sizeof(line), "%.64s - - [%s] \"%.40s %s %.16s\" "
	    "%d %llu %.6f\n", remote, date, req->method != NULL ?
	    req->method : "-", uri, proto, out->status,
	    (unsigned long long)out->bytes, (double)usec / 1e6);
	if (n > 0)
		access_log_write(line, (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1);
}

/*
 * The master forks a worker: through PyOS_*Fork, so that Python's own
 * at-fork hooks run; with the objects made so far frozen (gc.freeze), so
 * that collections in the worker do not write to the pages it shares.
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
		p->ts = PyEval_SaveThread();
		break;
	}
}

/* A worker's thread ends: its Python thread state goes with it. */
static void
persist_thread_end(void *ctx)
{
	(void)ctx;
	if (thread_ts == NULL)
		return;
	PyEval_RestoreThread(thread_ts);
	PyThreadState_Clear(thread_ts);
	PyThreadState_DeleteCurrent();
	thread_ts = NULL;
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
