/*
 * PEP 3333's request: the request object (wsgi_req.h) made for a
 * response, the application called once with environ (wsgi_environ.c)
 * and start_response (wsgi_start.c), its result sent (wsgi_result.c), and
 * the request ended in one function, wsgi_request_end(), whatever
 * happened; a failure's 500 and traceback; the thread a request runs on,
 * and the signals that stop it.  It never formats HTTP itself: response.c
 * does.
 * SPDX-License-Identifier: MIT
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgi_env.h"
#include "response.h"
#include "wsgi.h"
#include "wsgi_req.h"

/* The thread state's dict holds the request running on the thread here. */
#define CURRENT_KEY	"wsgi_cgi.request"

static PyObject	*wsgi_request_new(struct response *, struct outcome *,
		    const char *, bool, bool);
static int	 request_log(void *, const char *, size_t);
static void	 request_warn(struct start_response *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 wsgi_request_end(PyObject *);
static int	 wsgi_run(PyObject *, PyObject *, PyObject *);
static int	 enter(struct start_response *);
static void	 response_waits(void *, bool);
static void	 leave(struct start_response *);
static char	*format_traceback(PyObject *, PyObject *, PyObject *,
		    size_t *);
static void	 on_sigterm(int);
static bool	 ended_whole(struct start_response *);
static bool	 whole(const struct start_response *);
static PyObject	*sigterm_raise(PyObject *, PyObject *const *, Py_ssize_t);

/* Raised in a request's thread by --request-timeout. */
static PyObject	*request_timeout;

static PyMethodDef sigterm_def = {
	"sigterm", PYFUNC(sigterm_raise), METH_FASTCALL,
	"raises SystemExit in the main thread"
};

int
wsgi_ready(void)
{
	if (PyType_Ready(&StartResponseType) < 0 ||
	    PyType_Ready(&FileWrapperType) < 0)
		return -1;
	return wsgi_input_ready();
}

/*
 * A request left behind by --request-timeout, from another thread: a 504
 * if nothing was sent yet, else its response cut short; what its own
 * thread does later finds the response closed.  Never waits: a response
 * being written is left to its writer.
 */
void
wsgi_abandon(PyObject *self)
{
	struct start_response	*sr = (struct start_response *)self;

	if (pthread_mutex_trylock(&sr->lock) != 0)
		return;
	(void)resp_fail(sr->resp, 504, NULL, 0);
	sr_unlock(sr);
}

/*
 * What --request-timeout raises in a request that ran too long, made at
 * its first use (never under CGI); NULL with an exception if it cannot be.
 * Not an Exception: an application's "except Exception" lets it by.
 */
PyObject *
wsgi_request_timeout(void)
{
	if (request_timeout == NULL)
		request_timeout = PyErr_NewException("wsgi_cgi.RequestTimeout",
		    PyExc_BaseException, NULL);
	return request_timeout;
}

/*
 * A server sends SIGTERM when the client goes away (lighttpd) or a request
 * times out.  It becomes SystemExit in the application, so iteration stops
 * and close() still runs; a write blocked on the response gives up.  Once
 * the response is closed it is ignored.
 */
int
wsgi_catch_sigterm(void)
{
	PyObject		*mod = NULL, *fn = NULL, *r = NULL;
	struct sigaction	 sa;
	int			 rc = -1;

	if ((mod = PyImport_ImportModule("_signal")) == NULL ||
	    (fn = PyCFunction_New(&sigterm_def, NULL)) == NULL ||
	    (r = PyObject_CallMethod(mod, "signal", "iO", SIGTERM, fn)) == NULL)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigterm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0) {
		PyErr_SetFromErrno(PyExc_OSError);
		goto out;
	}
	rc = 0;
out:
	Py_XDECREF(mod);
	Py_XDECREF(fn);
	Py_XDECREF(r);
	return rc;
}

/*
 * Async-signal-safe: a flag, and Python's own pending-signal machinery,
 * which runs sigterm_raise() in the main thread.
 */
static void
on_sigterm(int sig)
{
	resp_interrupted = 1;
	(void)PyErr_SetInterruptEx(sig);
}

static PyObject *
sigterm_raise(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
	struct start_response	*sr = sr_current();

	(void)unused;
	(void)args;
	(void)nargs;
	/*
	 * The response is closed: a SIGTERM now (lighttpd sends one to a CGI
	 * program still running after its response) has nothing to cut short
	 * and must not disturb the clean-up that remains, nor close().
	 */
	if (sr == NULL || sr->closing || sr->responded)
		Py_RETURN_NONE;
	PyErr_SetString(PyExc_SystemExit, "terminated by SIGTERM");
	return NULL;
}

/*
 * One request, from its variables to the end of its response, the same
 * under CGI and in every server mode.  The request takes the response
 * (*resp is NULL after); out, if not NULL, is told what became of it.
 * Returns the exit status a CGI program has: 0 for a complete response,
 * 1 otherwise.
 */
int
wsgi_serve(const struct wsgi_call *call, struct response **resp,
    struct outcome *out)
{
	PyObject	*input = NULL, *env = NULL, *sr = NULL;
	int		 rc = 1;

	if ((sr = wsgi_request_new(*resp, out, call->label, call->debug,
	    call->server)) == NULL) {
		wsgi_report(call->label, "cannot start the request", true);
		(void)resp_fail(*resp, 500, NULL, 0);
		if (out != NULL)
			resp_outcome(out, *resp);
		return 1;
	}
	*resp = NULL;
	if (enter((struct start_response *)sr) < 0) {
		wsgi_fail(sr, "cannot start the request", true);
		goto out;
	}
	if (call->running != NULL)
		*call->running = sr;
	if (call->app == NULL) {
		wsgi_fail(sr, call->reason, call->traceback);
		goto out;
	}
	if ((input = wsgi_input_new(&call->src, call->bounded,
	    call->length)) == NULL ||
	    (env = wsgi_environ(call, input,
	    ((struct start_response *)sr)->errors)) == NULL) {
		wsgi_fail(sr, "cannot build environ", true);
		goto out;
	}
	((struct start_response *)sr)->input = input;
	rc = wsgi_run(sr, call->app, env);
out:
	if (call->running != NULL)
		*call->running = NULL;
	wsgi_request_end(sr);
	if (input != NULL)
		wsgi_input_detach(input);
	Py_XDECREF(input);
	Py_XDECREF(env);
	Py_XDECREF(sr);
	return rc;
}

/*
 * The request's state, owning the response from here on (NULL: it is
 * still the caller's); out (NULL: none) is told what became of it at the
 * end.  label names the script and the request in every message.  A
 * server mode's request has its own error stream, and a non-blocking
 * connection.
 */
static PyObject *
wsgi_request_new(struct response *resp, struct outcome *out,
    const char *label, bool debug, bool server)
{
	struct start_response	*sr;

	if ((sr = PyObject_New(struct start_response, &StartResponseType)) ==
	    NULL)
		return NULL;
	if ((sr->label = strdup(label)) == NULL ||
	    pthread_mutex_init(&sr->lock, NULL) != 0) {
		free(sr->label);
		PyObject_Free(sr);
		return PyErr_NoMemory();
	}
	sr->resp = resp;
	sr->out = out;
	sr->input = NULL;
	resp_name(sr->resp, sr->label);
	sr->debug = debug;
	sr->gone = sr->called = sr->ended = false;
	sr->responded = sr->closing = false;
	sr->errors = NULL;
	/*
	 * A server mode's connection is non-blocking: a write that can go
	 * out does at once, with the GIL held, and only a wait for a slow
	 * peer lets it go (no switch of threads a write).  Under CGI every
	 * write may block: each is made without the GIL.
	 */
	sr->hold = server;
	sr->waiting = NULL;
	if (sr->hold)
		resp_waits(resp, response_waits, sr);
	if (server &&
	    (sr->errors = wsgi_errors_new(request_log, sr)) == NULL) {
		sr->resp = NULL;
		Py_DECREF(sr);
		return NULL;
	}
	return (PyObject *)sr;
}

/*
 * The one place a request ends: the response is completed (a 500 if the
 * application never answered) and closed, and what the application may
 * still hold (write, start_response) is detached.
 */
static void
wsgi_request_end(PyObject *self)
{
	struct start_response	*sr = (struct start_response *)self;

	sr_lock(sr);
	if (resp_state(sr->resp) != RESP_CLOSED)
		(void)resp_fail(sr->resp, 500, NULL, 0);
	if (sr->out != NULL)
		resp_outcome(sr->out, sr->resp);
	sr->out = NULL;
	sr->input = NULL;
	sr->ended = true;
	sr->responded = true;
	sr_unlock(sr);
	if (sr->errors != NULL)
		wsgi_errors_end(sr->errors);
	Py_CLEAR(sr->errors);
	leave(sr);
}

/*
 * The request runs on the calling thread: sys.stderr's lines and a
 * SIGTERM are its.  Held by the thread state's dict until leave().
 */
static int
enter(struct start_response *sr)
{
	PyObject	*d;

	if ((d = PyThreadState_GetDict()) == NULL)
		return 0;
	return PyDict_SetItemString(d, CURRENT_KEY, (PyObject *)sr);
}

static void
leave(struct start_response *sr)
{
	PyObject	*d, *type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	if ((d = PyThreadState_GetDict()) != NULL &&
	    PyDict_GetItemString(d, CURRENT_KEY) == (PyObject *)sr &&
	    PyDict_DelItemString(d, CURRENT_KEY) < 0)
		PyErr_Clear();
	PyErr_Restore(type, value, tb);
}

/* The request running on the calling thread (borrowed), or NULL. */
struct start_response *
sr_current(void)
{
	PyObject	*d;

	if ((d = PyThreadState_GetDict()) == NULL)
		return NULL;
	return (struct start_response *)PyDict_GetItemString(d, CURRENT_KEY);
}

/* wsgi.errors of the request running on the calling thread, or NULL. */
PyObject *
wsgi_current_errors(void)
{
	struct start_response	*sr = sr_current();

	return sr != NULL ? sr->errors : NULL;
}

/*
 * What the request writes to its wsgi.errors: the response's log (a
 * FastCGI request's STDERR records), without the GIL, in turn with the
 * response's writers.
 */
static int
request_log(void *ctx, const char *buf, size_t len)
{
	struct start_response	*sr = ctx;
	PyThreadState		*ts;
	int			 e;

	ts = sr_out_begin(sr);
	e = resp_log(sr->resp, buf, len);
	sr_out_end(sr, ts);
	return e == RESP_OK ? 0 : -1;
}

/*
 * The response's own, for a write (see hold): the lock, and the GIL let
 * go unless the request holds it across writes.  Returns what
 * sr_out_end() takes.
 */
PyThreadState *
sr_out_begin(struct start_response *sr)
{
	PyThreadState	*ts;

	if (sr->hold) {
		sr_lock(sr);
		return NULL;
	}
	ts = PyEval_SaveThread();
	(void)pthread_mutex_lock(&sr->lock);
	return ts;
}

void
sr_out_end(struct start_response *sr, PyThreadState *ts)
{
	(void)pthread_mutex_unlock(&sr->lock);
	if (ts != NULL)
		PyEval_RestoreThread(ts);
}

/* A write of a held request waits for its peer: other threads run. */
static void
response_waits(void *ctx, bool begin)
{
	struct start_response	*sr = ctx;

	if (begin)
		sr->waiting = PyEval_SaveThread();
	else
		PyEval_RestoreThread(sr->waiting);
}

/* A line about the request, where its errors go; with strerror(e) if e. */
static void
request_warn(struct start_response *sr, int e, const char *fmt, ...)
{
	char	line[RESP_LINE_MAX];
	va_list	ap;
	size_t	n;

	va_start(ap, fmt);
	n = resp_line(line, e, fmt, ap);
	va_end(ap);
	(void)request_log(sr, line, n);
}

/* Takes the lock, letting other threads run while it is busy. */
void
sr_lock(struct start_response *sr)
{
	if (pthread_mutex_trylock(&sr->lock) == 0)
		return;
	Py_BEGIN_ALLOW_THREADS
	(void)pthread_mutex_lock(&sr->lock);
	Py_END_ALLOW_THREADS
}

void
sr_unlock(struct start_response *sr)
{
	(void)pthread_mutex_unlock(&sr->lock);
}

/* The exception for a resp_err (saved is the errno of a failed write). */
int
sr_raise(struct start_response *sr, int e, int saved)
{
	switch (e) {
	case ENDED:
		PyErr_SetString(PyExc_RuntimeError, "the request has ended: "
		    "write() and start_response() work only during it");
		break;
	case RESP_EWRITE:
		sr->gone = true;
		/* FALLTHROUGH */
	case RESP_EREAD:
		errno = saved;
		PyErr_SetFromErrno(PyExc_OSError);
		break;
	case RESP_ENOSTATUS:
		PyErr_SetString(PyExc_RuntimeError, "the application sent "
		    "body data before calling start_response()");
		break;
	case RESP_ENOMEM:
		PyErr_NoMemory();
		break;
	default:
		PyErr_SetString(PyExc_ValueError, resp_strerror(e));
	}
	return -1;
}

/*
 * Calls the application once and sends what it returns.  Returns the exit
 * status: 0 for a complete response, 1 otherwise.
 */
static int
wsgi_run(PyObject *self, PyObject *app, PyObject *environ)
{
	struct start_response	*sr = (struct start_response *)self;
	PyObject		*result = NULL;
	int			 rc = 1, e;

	result = PyObject_CallFunctionObjArgs(app, environ, self, NULL);
	if (result == NULL) {
		wsgi_fail(self, "application error", true);
		rc = whole(sr) ? 0 : 1;
		goto out;
	}
	if (sr_send_result(sr, app, result) < 0) {
		/* A SIGTERM after the whole response stopped it: no cut. */
		rc = whole(sr) ? 0 : 1;
		if (sr_call_close(sr, result) < 0) {
			wsgi_report(sr->label, "error in close()", true);
			rc = 1;
		}
		goto out;
	}
	sr_lock(sr);
	e = resp_finish(sr->resp);
	if (e == RESP_OK && !resp_failed(sr->resp))
		sr->responded = true;
	sr_unlock(sr);
	if (e == RESP_ENOSTATUS) {
		wsgi_fail(self, "the application returned without calling "
		    "start_response()", false);
		(void)sr_call_close(sr, result);
		goto out;
	}
	if (e != RESP_OK) {
		request_warn(sr, resp_errno(sr->resp), "%s: %s", sr->label,
		    resp_strerror(RESP_EWRITE));
	}
	if (sr_call_close(sr, result) < 0) {
		wsgi_report(sr->label, "error in close()", true);
		goto out;
	}
	rc = e == RESP_OK && !resp_failed(sr->resp) ? 0 : 1;
out:
	Py_XDECREF(result);
	return rc;
}

/*
 * A SIGTERM stopped the application after the client had the whole
 * response (lighttpd sends one once it has the declared length, or a
 * HEAD's head, while the iterator or close() may still run): not a cut.
 * The response ends as it would have; true then.
 */
static bool
ended_whole(struct start_response *sr)
{
	if (!resp_interrupted || !resp_complete(sr->resp))
		return false;
	PyErr_Clear();
	sr_lock(sr);
	(void)resp_finish(sr->resp);
	sr_unlock(sr);
	sr->responded = true;
	return true;
}

/* The response ended whole: ended_whole() finished it, not a failure. */
static bool
whole(const struct start_response *sr)
{
	return resp_state(sr->resp) == RESP_CLOSED && !resp_failed(sr->resp) &&
	    resp_complete(sr->resp);
}

/*
 * Reports the pending exception (or, with no exception, just the reason),
 * then answers 500 if nothing was sent yet, or cuts the response short.
 */
void
wsgi_fail(PyObject *self, const char *reason, bool traceback)
{
	struct start_response	*sr = (struct start_response *)self;
	PyObject		*type = NULL, *value = NULL, *tb = NULL;
	char			*body = NULL;
	size_t			 len = 0;
	const char		*fault;

	if (ended_whole(sr))
		return;
	/* Set by the C handler, before the Python one raised SystemExit. */
	if (resp_interrupted) {
		PyErr_Clear();
		request_warn(sr, 0, "%s: terminated by SIGTERM%s", sr->label,
		    resp_started(sr->resp) ? "; response cut short" : "");
		/* Nothing was written: the short 500 fits the empty pipe. */
		if (!resp_started(sr->resp))
			resp_interrupted = 0;
		sr_lock(sr);
		(void)resp_fail(sr->resp, 500, NULL, 0);
		sr_unlock(sr);
		return;
	}
	/* --request-timeout: the stack is in the log already. */
	if (request_timeout != NULL &&
	    PyErr_ExceptionMatches(request_timeout)) {
		PyErr_Clear();
		request_warn(sr, 0, "%s: ended by --request-timeout%s", sr->label,
		    resp_started(sr->resp) ? "; response cut short" : ": 504");
		sr_lock(sr);
		(void)resp_fail(sr->resp, 504, NULL, 0);
		sr_unlock(sr);
		return;
	}
	if (sr->gone) {
		PyErr_Clear();
		request_warn(sr, resp_errno(sr->resp), "%s: %s", sr->label,
		    resp_strerror(RESP_EWRITE));
		return;
	}
	/* The client's fault, not the application's: 400, no traceback. */
	if (sr->input != NULL &&
	    (fault = wsgi_input_fault(sr->input)) != NULL) {
		PyErr_Clear();
		request_warn(sr, 0, "%s: %s%s", sr->label, fault,
		    resp_started(sr->resp) ? "; response cut short" : ": 400");
		sr_lock(sr);
		(void)resp_fail(sr->resp, 400, NULL, 0);
		sr_unlock(sr);
		return;
	}
	if (sr->debug && PyErr_Occurred()) {
		PyErr_Fetch(&type, &value, &tb);
		PyErr_NormalizeException(&type, &value, &tb);
		body = format_traceback(type, value, tb, &len);
		PyErr_Restore(type, value, tb);	/* steals all three */
	}
	wsgi_report(sr->label, resp_started(sr->resp) ? "response cut short by an "
	    "application error" : reason, traceback);
	sr_lock(sr);
	(void)resp_fail(sr->resp, 500, body, len);
	sr_unlock(sr);
	PyMem_Free(body);
}

/*
 * One line "wsgi-cgi: LABEL: reason[: Type: message]" where the calling
 * thread's request's errors go (stderr when it has none), then the
 * traceback of the pending exception, which is cleared.
 */
void
wsgi_report(const char *label, const char *reason, bool traceback)
{
	PyObject	*type = NULL, *value = NULL, *tb = NULL, *msg = NULL;
	const char	*text = NULL;
	char		*line = NULL;
	int		 n;

	PyErr_Fetch(&type, &value, &tb);
	if (type != NULL) {
		PyErr_NormalizeException(&type, &value, &tb);
		if (tb != NULL && value != NULL)
			(void)PyException_SetTraceback(value, tb);
		if (value != NULL && (msg = PyObject_Str(value)) != NULL)
			text = PyUnicode_AsUTF8(msg);
		PyErr_Clear();
	}
	if (type == NULL)
		n = asprintf(&line, "wsgi-cgi: %s: %s\n", label, reason);
	else
		n = asprintf(&line, "wsgi-cgi: %s: %s: %s%s%s\n", label,
		    reason, ((PyTypeObject *)type)->tp_name,
		    text != NULL && *text != '\0' ? ": " : "",
		    text != NULL ? text : "");
	(void)fflush(stderr);
	if (n > 0)
		wsgi_errors_line(line, (size_t)n);
	free(line);
	if (traceback && type != NULL)
		PyErr_Display(type, value, tb);
	Py_XDECREF(msg);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
}

/* traceback.format_exception() as UTF-8, for --debug 500 bodies. */
static char *
format_traceback(PyObject *type, PyObject *value, PyObject *tb, size_t *len)
{
	PyObject	*mod = NULL, *lines = NULL, *empty = NULL;
	PyObject	*text = NULL, *bytes = NULL;
	char		*body = NULL;

	if ((mod = PyImport_ImportModule("traceback")) == NULL ||
	    (lines = PyObject_CallMethod(mod, "format_exception", "OOO",
	    type, value ? value : Py_None, tb ? tb : Py_None)) == NULL ||
	    (empty = PyUnicode_FromString("")) == NULL ||
	    (text = PyUnicode_Join(empty, lines)) == NULL ||
	    (bytes = PyUnicode_AsEncodedString(text, "utf-8",
	    "backslashreplace")) == NULL)
		goto out;
	*len = (size_t)PyBytes_GET_SIZE(bytes);
	if ((body = PyMem_Malloc(*len + 1)) != NULL)
		memcpy(body, PyBytes_AS_STRING(bytes), *len + 1);
out:
	PyErr_Clear();
	Py_XDECREF(mod);
	Py_XDECREF(lines);
	Py_XDECREF(empty);
	Py_XDECREF(text);
	Py_XDECREF(bytes);
	return body;
}
