/*
 * PEP 3333 glue: builds environ from the process environment, provides
 * start_response/write and wsgi.file_wrapper, calls the application once,
 * iterates its result into the response writer and closes it.  It never
 * formats HTTP itself: response.c does.
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

#define PYFUNC(f)	((PyCFunction)(void (*)(void))(f))
#define BLKSIZE_DEFAULT	8192
#define ENDED		(-1)	/* not a resp_err: the request is over */

/*
 * PEP 3333's start_response, and the request's state: it owns the response.
 * Threads of the application may call it and write() at once: the lock
 * makes them take turns on the response, and is never waited for with the
 * GIL held, nor held while Python code runs.
 */
struct start_response {
	PyObject_HEAD
	struct response	*resp;		/* its own */
	struct outcome	*out;		/* the caller's, told at the end */
	pthread_mutex_t	 lock;
	char		*label;		/* "script: METHOD URI", for messages */
	PyObject	*input;		/* wsgi.input, borrowed from environ */
	PyObject	*errors;	/* wsgi.errors of a server mode's, or NULL */
	bool		 debug;		/* tracebacks in 500 bodies */
	bool		 gone;		/* the response could not be written */
	bool		 called;
	bool		 ended;		/* detached: the request is over */
	bool		 responded;	/* its response is closed */
	bool		 closing;	/* the result's close() runs */
	bool		 hold;		/* writes keep the GIL; waits let it go */
	PyThreadState	*waiting;	/* while a write waits */
};

/* The thread state's dict holds the request running on the thread here. */
#define CURRENT_KEY	"wsgi_cgi.request"

/* wsgi.file_wrapper: iter(filelike.read, b'') that can be sent by sendfile. */
struct file_wrapper {
	PyObject_HEAD
	PyObject	*filelike;
	Py_ssize_t	 blksize;
};

enum wsgi_key {
	W_VERSION,
	W_URL_SCHEME,
	W_INPUT,
	W_ERRORS,
	W_MULTITHREAD,
	W_MULTIPROCESS,
	W_RUN_ONCE,
	W_FILE_WRAPPER,
	W_INPUT_TERMINATED,
	W_COUNT
};

static int	 wsgi_keys(void);
static int	 key_set(PyObject *, enum wsgi_key, PyObject *);
static int	 env_set(PyObject *, const char *, PyObject *);
static PyObject	*env_value(const char *, size_t, const char *);
static PyObject	*wsgi_request_new(struct response *, struct outcome *,
		    const char *, bool, bool);
static int	 request_log(void *, const char *, size_t);
static void	 request_warn(struct start_response *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 wsgi_request_end(PyObject *);
static int	 wsgi_run(PyObject *, PyObject *, PyObject *);
static void	 wsgi_fail(PyObject *, const char *, bool);
static void	 lock(struct start_response *);
static void	 unlock(struct start_response *);
static int	 raise_resp(struct start_response *, int, int);
static int	 enter(struct start_response *);
static void	 response_waits(void *, bool);
static PyThreadState *out_begin(struct start_response *);
static void	 out_end(struct start_response *, PyThreadState *);
static void	 leave(struct start_response *);
static PyObject	*start_response_call(PyObject *, PyObject *, PyObject *);
static int	 check_exc_info(PyObject *);
static int	 check_status(PyObject *);
static PyObject	*check_headers(PyObject *);
static int	 set_response(struct start_response *, PyObject *, PyObject *,
		    Py_ssize_t *);
static PyObject	*start_response_write(PyObject *, PyObject *);
static void	 start_response_dealloc(PyObject *);
static int	 send_chunk(struct start_response *, PyObject *);
static int	 send_result(struct start_response *, PyObject *, PyObject *);
static void	 str_body(struct start_response *, PyObject *, PyObject *,
		    PyObject *);
static int	 send_file(struct start_response *, struct file_wrapper *,
		    bool *);
static int	 call_close(struct start_response *, PyObject *);
static struct start_response *current(void);
static PyObject	*file_wrapper_new(PyTypeObject *, PyObject *, PyObject *);
static PyObject	*file_wrapper_next(PyObject *);
static PyObject	*file_wrapper_close(PyObject *, PyObject *);
static void	 file_wrapper_dealloc(PyObject *);
static char	*format_traceback(PyObject *, PyObject *, PyObject *,
		    size_t *);
static void	 on_sigterm(int);
static bool	 ended_whole(struct start_response *);
static bool	 whole(const struct start_response *);
static PyObject	*sigterm_raise(PyObject *, PyObject *const *, Py_ssize_t);

static const char *const key_text[W_COUNT] = {
	[W_VERSION] = "wsgi.version",
	[W_URL_SCHEME] = "wsgi.url_scheme",
	[W_INPUT] = "wsgi.input",
	[W_ERRORS] = "wsgi.errors",
	[W_MULTITHREAD] = "wsgi.multithread",
	[W_MULTIPROCESS] = "wsgi.multiprocess",
	[W_RUN_ONCE] = "wsgi.run_once",
	[W_FILE_WRAPPER] = "wsgi.file_wrapper",
	[W_INPUT_TERMINATED] = "wsgi.input_terminated",
};

/* Owned by this file for the process's life (wsgi_keys()). */
static PyObject	*keys[W_COUNT], *version, *scheme_http, *scheme_https;

/* Raised in a request's thread by --request-timeout. */
static PyObject	*request_timeout;

static PyMethodDef sigterm_def = {
	"sigterm", PYFUNC(sigterm_raise), METH_FASTCALL,
	"raises SystemExit in the main thread"
};

static PyMethodDef start_response_methods[] = {
	{ "write", PYFUNC(start_response_write), METH_O,
	    "write(data): send bytes before the returned iterable" },
	{ NULL, NULL, 0, NULL }
};

static PyTypeObject StartResponseType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "wsgi_cgi.start_response",
	.tp_basicsize = sizeof(struct start_response),
	.tp_dealloc = start_response_dealloc,
	.tp_call = start_response_call,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "start_response(status, response_headers, exc_info=None)",
	.tp_methods = start_response_methods,
};

static PyMethodDef file_wrapper_methods[] = {
	{ "close", PYFUNC(file_wrapper_close), METH_NOARGS,
	    "close the wrapped file" },
	{ NULL, NULL, 0, NULL }
};

static PyTypeObject FileWrapperType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "wsgi_cgi.FileWrapper",
	.tp_basicsize = sizeof(struct file_wrapper),
	.tp_dealloc = file_wrapper_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "FileWrapper(filelike, blksize=8192)",
	.tp_iter = PyObject_SelfIter,
	.tp_iternext = file_wrapper_next,
	.tp_methods = file_wrapper_methods,
	.tp_new = file_wrapper_new,
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
	unlock(sr);
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
	struct start_response	*sr = current();

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
 * The wsgi.* keys and their constant values, made once per process (a
 * server mode builds an environ per request) and interned, so that the
 * application's own lookups compare pointers.
 */
static int
wsgi_keys(void)
{
	size_t	i;

	if (version != NULL)
		return 0;
	for (i = 0; i < W_COUNT; i++)
		if ((keys[i] = PyUnicode_InternFromString(key_text[i])) == NULL)
			return -1;
	if ((scheme_http = PyUnicode_InternFromString("http")) == NULL ||
	    (scheme_https = PyUnicode_InternFromString("https")) == NULL ||
	    (version = Py_BuildValue("(ii)", 1, 0)) == NULL)
		return -1;
	return 0;
}

/* Stores v (a new reference, stolen; NULL means it failed) under keys[k]. */
static int
key_set(PyObject *d, enum wsgi_key k, PyObject *v)
{
	int	rc;

	if (v == NULL)
		return -1;
	rc = PyDict_SetItem(d, keys[k], v);
	Py_DECREF(v);
	return rc;
}

/* Stores v (a new reference, stolen; NULL means it failed) under key. */
static int
env_set(PyObject *d, const char *key, PyObject *v)
{
	int	rc;

	if (v == NULL)
		return -1;
	rc = PyDict_SetItemString(d, key, v);
	Py_DECREF(v);
	return rc;
}

/*
 * A variable's value as environ holds it: request data as its bytes in
 * latin-1 (PEP 3333), the rest as Python decodes os.environ.
 */
static PyObject *
env_value(const char *name, size_t len, const char *value)
{
	if (cgi_env_is_request_var(name, len))
		return PyUnicode_DecodeLatin1(value, (Py_ssize_t)strlen(value),
		    NULL);
	return PyUnicode_DecodeFSDefault(value);
}

/*
 * Every variable of the request (the process environment under CGI; the
 * first of a name wins), the request's ones as bytes-in-str (PEP 3333), then
 * the shell defaults and the wsgi.* keys.  input and errors (NULL:
 * sys.stderr) are borrowed.
 */
PyObject *
wsgi_environ(const struct wsgi_call *call, PyObject *input, PyObject *errors)
{
	char *const			*envp = call->envp;
	const struct cgi_request	*req = call->req;
	PyObject	*d = NULL, *key = NULL, *val = NULL, *result = NULL;
	const char	*eq;
	size_t		 i;

	if ((d = PyDict_New()) == NULL)
		goto out;
	for (i = 0; envp[i] != NULL; i++) {
		if ((eq = strchr(envp[i], '=')) == NULL)
			continue;
		key = PyUnicode_DecodeFSDefaultAndSize(envp[i],
		    eq - envp[i]);
		if (key == NULL)
			goto out;
		val = env_value(envp[i], (size_t)(eq - envp[i]), eq + 1);
		if (val == NULL || PyDict_SetDefault(d, key, val) == NULL)
			goto out;
		Py_CLEAR(key);
		Py_CLEAR(val);
	}
	for (i = 0; i < req->ndefaults; i++)
		if (env_set(d, req->defaults[i].name,
		    env_value(req->defaults[i].name,
		    strlen(req->defaults[i].name), req->defaults[i].value)) < 0)
			goto out;
	if (errors == NULL &&
	    (errors = PySys_GetObject("stderr")) == NULL)	/* borrowed */
		errors = Py_None;
	/* Each new reference is taken where env_set() steals it. */
	if (wsgi_keys() < 0 ||
	    key_set(d, W_VERSION, Py_NewRef(version)) < 0 ||
	    key_set(d, W_URL_SCHEME, Py_NewRef(req->https ? scheme_https :
	    scheme_http)) < 0 ||
	    key_set(d, W_INPUT, Py_NewRef(input)) < 0 ||
	    key_set(d, W_ERRORS, Py_NewRef(errors)) < 0 ||
	    key_set(d, W_MULTITHREAD, PyBool_FromLong(call->multithread)) <
	    0 ||
	    key_set(d, W_MULTIPROCESS, PyBool_FromLong(call->multiprocess)) <
	    0 ||
	    key_set(d, W_RUN_ONCE, PyBool_FromLong(call->run_once)) < 0 ||
	    key_set(d, W_FILE_WRAPPER,
	    Py_NewRef((PyObject *)&FileWrapperType)) < 0 ||
	    key_set(d, W_INPUT_TERMINATED, PyBool_FromLong(1)) < 0)
		goto out;
	result = d;
	d = NULL;
out:
	Py_XDECREF(d);
	Py_XDECREF(key);
	Py_XDECREF(val);
	return result;
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

	lock(sr);
	if (resp_state(sr->resp) != RESP_CLOSED)
		(void)resp_fail(sr->resp, 500, NULL, 0);
	if (sr->out != NULL)
		resp_outcome(sr->out, sr->resp);
	sr->out = NULL;
	sr->input = NULL;
	sr->ended = true;
	sr->responded = true;
	unlock(sr);
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
static struct start_response *
current(void)
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
	struct start_response	*sr = current();

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

	ts = out_begin(sr);
	e = resp_log(sr->resp, buf, len);
	out_end(sr, ts);
	return e == RESP_OK ? 0 : -1;
}

/*
 * The response's own, for a write (see hold): the lock, and the GIL let
 * go unless the request holds it across writes.  Returns what
 * out_end() takes.
 */
static PyThreadState *
out_begin(struct start_response *sr)
{
	PyThreadState	*ts;

	if (sr->hold) {
		lock(sr);
		return NULL;
	}
	ts = PyEval_SaveThread();
	(void)pthread_mutex_lock(&sr->lock);
	return ts;
}

static void
out_end(struct start_response *sr, PyThreadState *ts)
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
static void
lock(struct start_response *sr)
{
	if (pthread_mutex_trylock(&sr->lock) == 0)
		return;
	Py_BEGIN_ALLOW_THREADS
	(void)pthread_mutex_lock(&sr->lock);
	Py_END_ALLOW_THREADS
}

static void
unlock(struct start_response *sr)
{
	(void)pthread_mutex_unlock(&sr->lock);
}

/* The exception for a resp_err (saved is the errno of a failed write). */
static int
raise_resp(struct start_response *sr, int e, int saved)
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
	if (send_result(sr, app, result) < 0) {
		/* A SIGTERM after the whole response stopped it: no cut. */
		rc = whole(sr) ? 0 : 1;
		if (call_close(sr, result) < 0) {
			wsgi_report(sr->label, "error in close()", true);
			rc = 1;
		}
		goto out;
	}
	lock(sr);
	e = resp_finish(sr->resp);
	if (e == RESP_OK && !resp_failed(sr->resp))
		sr->responded = true;
	unlock(sr);
	if (e == RESP_ENOSTATUS) {
		wsgi_fail(self, "the application returned without calling "
		    "start_response()", false);
		(void)call_close(sr, result);
		goto out;
	}
	if (e != RESP_OK) {
		request_warn(sr, resp_errno(sr->resp), "%s: %s", sr->label,
		    resp_strerror(RESP_EWRITE));
	}
	if (call_close(sr, result) < 0) {
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
	lock(sr);
	(void)resp_finish(sr->resp);
	unlock(sr);
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
static void
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
		lock(sr);
		(void)resp_fail(sr->resp, 500, NULL, 0);
		unlock(sr);
		return;
	}
	/* --request-timeout: the stack is in the log already. */
	if (request_timeout != NULL &&
	    PyErr_ExceptionMatches(request_timeout)) {
		PyErr_Clear();
		request_warn(sr, 0, "%s: ended by --request-timeout%s", sr->label,
		    resp_started(sr->resp) ? "; response cut short" : ": 504");
		lock(sr);
		(void)resp_fail(sr->resp, 504, NULL, 0);
		unlock(sr);
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
		lock(sr);
		(void)resp_fail(sr->resp, 400, NULL, 0);
		unlock(sr);
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
	lock(sr);
	(void)resp_fail(sr->resp, 500, body, len);
	unlock(sr);
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

static PyObject *
start_response_call(PyObject *self, PyObject *args, PyObject *kwds)
{
	static char		*kwlist[] = { "status", "response_headers",
				    "exc_info", NULL };
	struct start_response	*sr = (struct start_response *)self;
	PyObject		*status, *headers, *exc_info = Py_None;
	PyObject		*items = NULL, *result = NULL;
	Py_ssize_t		 bad = -1;
	bool			 sent;
	int			 e;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|O:start_response",
	    kwlist, &status, &headers, &exc_info))
		return NULL;
	if (sr->ended) {
		(void)raise_resp(sr, ENDED, 0);
		return NULL;
	}
	if (exc_info != Py_None) {
		if (check_exc_info(exc_info) < 0)
			return NULL;
		lock(sr);
		sent = resp_state(sr->resp) >= RESP_SENT;
		unlock(sr);
		/* PEP 3333: too late to change the status; re-raise. */
		if (sent) {
			PyErr_Restore(
			    Py_NewRef(PyTuple_GET_ITEM(exc_info, 0)),
			    Py_NewRef(PyTuple_GET_ITEM(exc_info, 1)),
			    PyTuple_GET_ITEM(exc_info, 2) == Py_None ? NULL :
			    Py_NewRef(PyTuple_GET_ITEM(exc_info, 2)));
			return NULL;
		}
	} else if (sr->called)
		/* wsgiref's exception type, so apps behave the same. */
		return PyErr_Format(PyExc_AssertionError, "start_response() "
		    "called again without exc_info");
	/* PEP 3333: a failed first call still counts as a call. */
	sr->called = true;
	if (check_status(status) < 0 || (items = check_headers(headers)) ==
	    NULL)
		goto out;
	if ((e = set_response(sr, status, items, &bad)) != RESP_OK) {
		if (e == RESP_ENOMEM || e == ENDED)
			(void)raise_resp(sr, e, 0);
		else if (bad < 0)
			PyErr_Format(PyExc_ValueError, "status %R: %s", status,
			    resp_strerror(e));
		else
			PyErr_Format(PyExc_ValueError, "header %R: %s",
			    PyTuple_GET_ITEM(items, bad), resp_strerror(e));
		goto out;
	}
	result = PyObject_GetAttrString(self, "write");
out:
	Py_XDECREF(items);
	return result;
}

/* PEP 3333: exc_info is what sys.exc_info() returns inside an except. */
static int
check_exc_info(PyObject *exc_info)
{
	PyObject	*tb;

	if (PyTuple_Check(exc_info) && PyTuple_GET_SIZE(exc_info) == 3) {
		tb = PyTuple_GET_ITEM(exc_info, 2);
		if (PyExceptionClass_Check(PyTuple_GET_ITEM(exc_info, 0)) &&
		    PyExceptionInstance_Check(PyTuple_GET_ITEM(exc_info, 1)) &&
		    (tb == Py_None || PyTraceBack_Check(tb)))
			return 0;
	}
	PyErr_Format(PyExc_TypeError, "exc_info must be the (type, value, "
	    "traceback) of sys.exc_info() in an except block, not %R",
	    exc_info);
	return -1;
}

/* The status is a str of latin-1 characters (response.c checks the rest). */
static int
check_status(PyObject *status)
{
	if (!PyUnicode_Check(status)) {
		PyErr_Format(PyExc_TypeError, "status must be str, not %s: %R",
		    Py_TYPE(status)->tp_name, status);
		return -1;
	}
	if (PyUnicode_KIND(status) != PyUnicode_1BYTE_KIND) {
		PyErr_Format(PyExc_ValueError, "status %R is not ISO-8859-1",
		    status);
		return -1;
	}
	return 0;
}

/*
 * A tuple of the headers (a new reference, so that no other thread can
 * change them while they are copied), each a (str, str) of latin-1.
 */
static PyObject *
check_headers(PyObject *headers)
{
	PyObject	*items, *item, *name, *value;
	Py_ssize_t	 i;

	if (!PyList_Check(headers)) {
		PyErr_Format(PyExc_TypeError, "response_headers must be a list "
		    "of (name, value) tuples, not %s",
		    Py_TYPE(headers)->tp_name);
		return NULL;
	}
	if ((items = PyList_AsTuple(headers)) == NULL)
		return NULL;
	for (i = 0; i < PyTuple_GET_SIZE(items); i++) {
		item = PyTuple_GET_ITEM(items, i);	/* borrowed */
		if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
			PyErr_Format(PyExc_TypeError, "header must be a "
			    "(name, value) tuple, not %R", item);
			goto fail;
		}
		name = PyTuple_GET_ITEM(item, 0);
		value = PyTuple_GET_ITEM(item, 1);
		if (!PyUnicode_Check(name) || !PyUnicode_Check(value)) {
			PyErr_Format(PyExc_TypeError, "header name and value "
			    "must be str: %R", item);
			goto fail;
		}
		if (PyUnicode_KIND(name) != PyUnicode_1BYTE_KIND ||
		    PyUnicode_KIND(value) != PyUnicode_1BYTE_KIND) {
			PyErr_Format(PyExc_ValueError, "header %R is not "
			    "ISO-8859-1", item);
			goto fail;
		}
	}
	return items;
fail:
	Py_DECREF(items);
	return NULL;
}

/*
 * Hands the checked status and headers to response.c, under the lock and
 * without calling Python.  On a refusal *bad is the header's index (-1: the
 * status) and no status is left set.
 */
static int
set_response(struct start_response *sr, PyObject *status, PyObject *items,
    Py_ssize_t *bad)
{
	PyObject	*name, *value;
	Py_ssize_t	 i;
	int		 e;

	lock(sr);
	e = sr->ended ? ENDED : resp_status(sr->resp,
	    (const char *)PyUnicode_1BYTE_DATA(status),
	    (size_t)PyUnicode_GET_LENGTH(status));
	for (i = 0; e == RESP_OK && i < PyTuple_GET_SIZE(items); i++) {
		name = PyTuple_GET_ITEM(PyTuple_GET_ITEM(items, i), 0);
		value = PyTuple_GET_ITEM(PyTuple_GET_ITEM(items, i), 1);
		e = resp_header(sr->resp,
		    (const char *)PyUnicode_1BYTE_DATA(name),
		    (size_t)PyUnicode_GET_LENGTH(name),
		    (const char *)PyUnicode_1BYTE_DATA(value),
		    (size_t)PyUnicode_GET_LENGTH(value));
		if (e != RESP_OK)
			*bad = i;
	}
	if (e != RESP_OK && e != ENDED)
		resp_retract(sr->resp);
	unlock(sr);
	return e;
}

/* PEP 3333 write(): as though the bytes were yielded by the result. */
static PyObject *
start_response_write(PyObject *self, PyObject *data)
{
	if (send_chunk((struct start_response *)self, data) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static void
start_response_dealloc(PyObject *self)
{
	struct start_response	*sr = (struct start_response *)self;

	if (sr->resp != NULL) {
		(void)resp_fail(sr->resp, 500, NULL, 0);	/* if open */
		resp_free(sr->resp);
	}
	Py_XDECREF(sr->errors);
	(void)pthread_mutex_destroy(&sr->lock);
	free(sr->label);
	PyObject_Free(self);
}

/*
 * One block of body: bytes, bytearray or memoryview; never str.  Written
 * without the GIL, under the lock.
 */
static int
send_chunk(struct start_response *sr, PyObject *chunk)
{
	Py_buffer	 view;
	PyThreadState	*ts;
	int		 e, saved = 0;

	if (PyUnicode_Check(chunk)) {
		PyErr_Format(PyExc_TypeError, "response body must be bytes, "
		    "not str (%.40R): write b'...' or call .encode()", chunk);
		return -1;
	}
	if (!PyBytes_Check(chunk) && !PyByteArray_Check(chunk) &&
	    !PyMemoryView_Check(chunk)) {
		PyErr_Format(PyExc_TypeError, "response body must be bytes, "
		    "not %s", Py_TYPE(chunk)->tp_name);
		return -1;
	}
	if (sr->ended)
		return raise_resp(sr, ENDED, 0);
	if (PyObject_GetBuffer(chunk, &view, PyBUF_SIMPLE) < 0)
		return -1;
	ts = out_begin(sr);
	e = resp_body(sr->resp, view.buf, (size_t)view.len);
	saved = resp_errno(sr->resp);
	out_end(sr, ts);
	PyBuffer_Release(&view);
	return e == RESP_OK ? 0 : raise_resp(sr, e, saved);
}

/* Iterates the result into the response; on error reports and fails. */
static int
send_result(struct start_response *sr, PyObject *app, PyObject *result)
{
	PyObject	*it = NULL, *chunk = NULL;
	Py_ssize_t	 n;
	bool		 done = false;
	int		 rc = -1;

	if (Py_IS_TYPE(result, &FileWrapperType)) {
		if (send_file(sr, (struct file_wrapper *)result, &done) < 0)
			goto fail;
		if (done)
			return 0;
	}
	/* wsgiref: a one-block result's length is the Content-Length. */
	if ((n = PyObject_Size(result)) == 1) {
		lock(sr);
		resp_single(sr->resp);
		unlock(sr);
	} else if (n < 0) {
		if (!PyErr_ExceptionMatches(PyExc_TypeError) &&
		    !PyErr_ExceptionMatches(PyExc_AttributeError) &&
		    !PyErr_ExceptionMatches(PyExc_NotImplementedError))
			goto fail;
		PyErr_Clear();
	}
	if ((it = PyObject_GetIter(result)) == NULL)
		goto fail;
	while ((chunk = PyIter_Next(it)) != NULL) {
		if (PyUnicode_Check(chunk)) {
			str_body(sr, app, it, chunk);
			goto out;
		}
		if (send_chunk(sr, chunk) < 0)
			goto fail;
		Py_CLEAR(chunk);
	}
	if (PyErr_Occurred())
		goto fail;
	rc = 0;
	goto out;
fail:
	wsgi_fail((PyObject *)sr, "application error", true);
out:
	Py_XDECREF(chunk);
	Py_XDECREF(it);
	return rc;
}

/*
 * A str in the result (the classic Python 2 examples return one): one line
 * naming the fix and where the application is, since no traceback can:
 * the generator's line, or the callable's definition.
 */
static void
str_body(struct start_response *sr, PyObject *app, PyObject *it,
    PyObject *chunk)
{
	PyObject	*code = NULL, *frame = NULL, *fn = NULL, *repr = NULL;
	char		 reason[512];
	const char	*file = NULL, *text = NULL;
	long		 line = 0;

	if (PyGen_Check(it) && (frame = PyObject_GetAttrString(it,
	    "gi_frame")) != NULL && PyFrame_Check(frame)) {
		code = (PyObject *)PyFrame_GetCode((PyFrameObject *)frame);
		line = PyFrame_GetLineNumber((PyFrameObject *)frame);
	} else {
		fn = PyMethod_Check(app) ? Py_NewRef(PyMethod_GET_FUNCTION(app)) :
		    PyObject_GetAttrString(app, "__call__");
		if (PyFunction_Check(app))
			code = Py_NewRef(PyFunction_GET_CODE(app));
		else if (fn != NULL && PyFunction_Check(fn))
			code = Py_NewRef(PyFunction_GET_CODE(fn));
		else if (fn != NULL && PyMethod_Check(fn) &&
		    PyFunction_Check(PyMethod_GET_FUNCTION(fn)))
			code = Py_NewRef(PyFunction_GET_CODE(
			    PyMethod_GET_FUNCTION(fn)));
		if (code != NULL)
			line = ((PyCodeObject *)code)->co_firstlineno;
	}
	if (code != NULL)
		file = PyUnicode_AsUTF8(((PyCodeObject *)code)->co_filename);
	PyErr_Clear();
	if ((repr = PyObject_ASCII(chunk)) != NULL)
		text = PyUnicode_AsUTF8(repr);
	PyErr_Clear();
	(void)PyOS_snprintf(reason, sizeof(reason), "application error: "
	    "response body must be bytes, not str (%.40s): write b'...' or "
	    "call .encode() (%s, line %ld)", text != NULL ? text : "?",
	    file != NULL ? file : "the application", line);
	Py_XDECREF(repr);
	Py_XDECREF(code);
	Py_XDECREF(frame);
	Py_XDECREF(fn);
	wsgi_fail((PyObject *)sr, reason, false);
}

/*
 * The file_wrapper fast path: a regular file with fileno() and tell() goes
 * out by sendfile(2) from its current position; *done says it was sent.
 * A file whose size is not its length (procfs, sysfs: 0 or a page) is
 * read like any other iterable instead.
 */
static int
send_file(struct start_response *sr, struct file_wrapper *fw, bool *done)
{
	PyObject	*r = NULL;
	PyThreadState	*ts;
	struct stat	 st;
	long long	 pos;
	long		 fd;
	uint64_t	 count;
	int		 e, saved, rc = -1;

	*done = false;
	if ((r = PyObject_CallMethod(fw->filelike, "fileno", NULL)) == NULL ||
	    (fd = PyLong_AsLong(r)) < 0 || fd > INT_MAX ||
	    fstat((int)fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    !resp_true_size((int)fd, &st)) {
		PyErr_Clear();
		rc = 0;
		goto out;
	}
	Py_CLEAR(r);
	if ((r = PyObject_CallMethod(fw->filelike, "tell", NULL)) == NULL ||
	    (pos = PyLong_AsLongLong(r)) < 0) {
		PyErr_Clear();
		rc = 0;
		goto out;
	}
	count = pos < st.st_size ? (uint64_t)(st.st_size - pos) : 0;
	if (sr->ended) {
		rc = raise_resp(sr, ENDED, 0);
		goto out;
	}
	ts = out_begin(sr);
	e = resp_state(sr->resp) == RESP_NEW ? RESP_ENOSTATUS :
	    resp_default_length(sr->resp, count);
	if (e == RESP_OK)
		e = resp_sendfile(sr->resp, (int)fd, (off_t)pos, count);
	saved = resp_errno(sr->resp);
	out_end(sr, ts);
	if (e != RESP_OK) {
		rc = raise_resp(sr, e, saved);
		goto out;
	}
	*done = true;
	rc = 0;
out:
	Py_XDECREF(r);
	return rc;
}

/* PEP 3333: the result's close(), if it has one, exactly once. */
static int
call_close(struct start_response *sr, PyObject *result)
{
	PyObject	*type = NULL, *value = NULL, *tb = NULL, *r = NULL;
	int		 rc = 0;

	PyErr_Fetch(&type, &value, &tb);
	sr->closing = true;
	if (PyObject_HasAttrString(result, "close")) {
		r = PyObject_CallMethod(result, "close", NULL);
		if (r == NULL)
			rc = -1;
		Py_XDECREF(r);
	}
	sr->closing = false;
	if (rc == 0)
		PyErr_Restore(type, value, tb);
	else {
		Py_XDECREF(type);
		Py_XDECREF(value);
		Py_XDECREF(tb);
	}
	return rc;
}

static PyObject *
file_wrapper_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
	static char		*kwlist[] = { "filelike", "blksize", NULL };
	struct file_wrapper	*fw;
	PyObject		*filelike;
	Py_ssize_t		 blksize = BLKSIZE_DEFAULT;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|n:FileWrapper", kwlist,
	    &filelike, &blksize))
		return NULL;
	if (blksize <= 0)
		return PyErr_Format(PyExc_ValueError, "blksize must be "
		    "positive, not %zd", blksize);
	if ((fw = (struct file_wrapper *)type->tp_alloc(type, 0)) == NULL)
		return NULL;
	Py_INCREF(filelike);
	fw->filelike = filelike;	/* new ref, released in dealloc */
	fw->blksize = blksize;
	return (PyObject *)fw;
}

static PyObject *
file_wrapper_next(PyObject *self)
{
	struct file_wrapper	*fw = (struct file_wrapper *)self;
	PyObject		*data;

	data = PyObject_CallMethod(fw->filelike, "read", "n", fw->blksize);
	if (data == NULL)
		return NULL;
	if (PyObject_IsTrue(data) == 1)
		return data;
	Py_DECREF(data);
	return NULL;		/* exhausted: StopIteration */
}

static PyObject *
file_wrapper_close(PyObject *self, PyObject *unused)
{
	struct file_wrapper	*fw = (struct file_wrapper *)self;

	(void)unused;
	if (PyObject_HasAttrString(fw->filelike, "close"))
		return PyObject_CallMethod(fw->filelike, "close", NULL);
	Py_RETURN_NONE;
}

static void
file_wrapper_dealloc(PyObject *self)
{
	struct file_wrapper	*fw = (struct file_wrapper *)self;

	Py_XDECREF(fw->filelike);
	Py_TYPE(self)->tp_free(self);
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
