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
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgi_env.h"
#include "response.h"
#include "wsgi.h"

#define PYFUNC(f)	((PyCFunction)(void (*)(void))(f))
#define BLKSIZE_DEFAULT	8192

/* PEP 3333's start_response, holding the response it feeds. */
struct start_response {
	PyObject_HEAD
	struct wsgi_ctx	*ctx;
	bool		 called;
};

/* wsgi.file_wrapper: iter(filelike.read, b'') that can be sent by sendfile. */
struct file_wrapper {
	PyObject_HEAD
	PyObject	*filelike;
	Py_ssize_t	 blksize;
};

static int	 env_set(PyObject *, const char *, PyObject *);
static PyObject	*env_value(const char *, size_t, const char *);
static PyObject	*start_response_call(PyObject *, PyObject *, PyObject *);
static int	 set_status(struct response *, PyObject *);
static int	 set_headers(struct response *, PyObject *);
static PyObject	*start_response_write(PyObject *, PyObject *);
static void	 start_response_dealloc(PyObject *);
static int	 send_chunk(struct wsgi_ctx *, PyObject *);
static int	 send_result(struct wsgi_ctx *, PyObject *);
static int	 send_file(struct wsgi_ctx *, struct file_wrapper *, bool *);
static int	 call_close(PyObject *);
static PyObject	*file_wrapper_new(PyTypeObject *, PyObject *, PyObject *);
static PyObject	*file_wrapper_next(PyObject *);
static PyObject	*file_wrapper_close(PyObject *, PyObject *);
static void	 file_wrapper_dealloc(PyObject *);
static char	*format_traceback(PyObject *, PyObject *, PyObject *,
		    size_t *);
static void	 on_sigterm(int);
static PyObject	*sigterm_raise(PyObject *, PyObject *const *, Py_ssize_t);

/* The result's close() is running: it must finish, SIGTERM or not. */
static bool	 closing;

static PyMethodDef sigterm_def = {
	"sigterm", PYFUNC(sigterm_raise), METH_FASTCALL,
	"raises SystemExit in the main thread"
};

static const char generic_error[] =
    "A server error occurred.  Please contact the administrator.";

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
	return input_ready();
}

/*
 * A server sends SIGTERM when the client goes away (lighttpd) or a request
 * times out.  It becomes SystemExit in the application, so iteration stops
 * and close() still runs; a write blocked on the response gives up.
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

/* Async-signal-safe: a flag, and Python's own pending-signal machinery. */
static void
on_sigterm(int sig)
{
	resp_interrupted = 1;
	(void)PyErr_SetInterruptEx(sig);
}

static PyObject *
sigterm_raise(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
	(void)unused;
	(void)args;
	(void)nargs;
	if (closing)
		Py_RETURN_NONE;
	PyErr_SetString(PyExc_SystemExit, "terminated by SIGTERM");
	return NULL;
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
 * Every variable of the process environment (the first of a name wins), the
 * request's ones as bytes-in-str (PEP 3333), then the shell defaults and the
 * wsgi.* keys.  input is borrowed.
 */
PyObject *
wsgi_environ(char *const envp[], const struct cgi_request *req,
    PyObject *input)
{
	PyObject	*d = NULL, *key = NULL, *val = NULL, *result = NULL;
	PyObject	*errors;
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
	if ((errors = PySys_GetObject("stderr")) == NULL)	/* borrowed */
		errors = Py_None;
	Py_INCREF(errors);
	Py_INCREF(input);
	Py_INCREF(&FileWrapperType);
	if (env_set(d, "wsgi.version", Py_BuildValue("(ii)", 1, 0)) < 0 ||
	    env_set(d, "wsgi.url_scheme", PyUnicode_FromString(req->https ?
	    "https" : "http")) < 0 ||
	    env_set(d, "wsgi.input", input) < 0 ||
	    env_set(d, "wsgi.errors", errors) < 0 ||
	    env_set(d, "wsgi.multithread", PyBool_FromLong(0)) < 0 ||
	    env_set(d, "wsgi.multiprocess", PyBool_FromLong(1)) < 0 ||
	    env_set(d, "wsgi.run_once", PyBool_FromLong(1)) < 0 ||
	    env_set(d, "wsgi.file_wrapper", (PyObject *)&FileWrapperType) < 0 ||
	    env_set(d, "wsgi.input_terminated", PyBool_FromLong(1)) < 0)
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
 * Calls the application once and sends what it returns.  Returns the exit
 * status: 0 for a complete response, 1 otherwise.
 */
int
wsgi_run(struct wsgi_ctx *ctx, PyObject *app, PyObject *environ)
{
	struct start_response	*sr = NULL;
	PyObject		*result = NULL;
	int			 rc = 1, e;

	sr = PyObject_New(struct start_response, &StartResponseType);
	if (sr == NULL) {
		wsgi_fail(ctx, "cannot start the request", true);
		goto out;
	}
	sr->ctx = ctx;
	sr->called = false;
	result = PyObject_CallFunctionObjArgs(app, environ, (PyObject *)sr,
	    NULL);
	if (result == NULL) {
		wsgi_fail(ctx, "application error", true);
		goto out;
	}
	if (send_result(ctx, result) < 0) {
		if (call_close(result) < 0)
			wsgi_report(ctx->script, "error in close()", true);
		goto out;
	}
	e = resp_finish(ctx->resp);
	if (e == RESP_ENOSTATUS) {
		wsgi_fail(ctx, "the application returned without calling "
		    "start_response()", false);
		(void)call_close(result);
		goto out;
	}
	if (e != RESP_OK) {
		errno = ctx->resp->saved_errno;
		warn("%s: cannot write the response", ctx->script);
	}
	if (call_close(result) < 0) {
		wsgi_report(ctx->script, "error in close()", true);
		goto out;
	}
	rc = e == RESP_OK && !ctx->resp->failed ? 0 : 1;
out:
	Py_XDECREF(result);
	Py_XDECREF(sr);
	return rc;
}

/*
 * Reports the pending exception (or, with no exception, just the reason),
 * then answers 500 if nothing was sent yet, or cuts the response short.
 */
void
wsgi_fail(struct wsgi_ctx *ctx, const char *reason, bool traceback)
{
	PyObject	*type = NULL, *value = NULL, *tb = NULL;
	char		*body = NULL;
	size_t		 len = 0;

	/* Set by the C handler, before the Python one raised SystemExit. */
	if (resp_interrupted) {
		PyErr_Clear();
		warnx("%s: terminated by SIGTERM%s", ctx->script,
		    ctx->resp->started ? "; response cut short" : "");
		/* Nothing was written: the short 500 fits the empty pipe. */
		if (!ctx->resp->started)
			resp_interrupted = 0;
		(void)resp_fail(ctx->resp, "500 Internal Server Error",
		    generic_error, sizeof(generic_error) - 1);
		return;
	}
	if (ctx->gone) {
		PyErr_Clear();
		errno = ctx->resp->saved_errno;
		warn("%s: cannot write the response", ctx->script);
		return;
	}
	if (ctx->debug && PyErr_Occurred()) {
		PyErr_Fetch(&type, &value, &tb);
		PyErr_NormalizeException(&type, &value, &tb);
		body = format_traceback(type, value, tb, &len);
		PyErr_Restore(type, value, tb);	/* steals all three */
	}
	if (ctx->resp->started)
		wsgi_report(ctx->script, "response cut short by an "
		    "application error", traceback);
	else
		wsgi_report(ctx->script, reason, traceback);
	if (body == NULL)
		(void)resp_fail(ctx->resp, "500 Internal Server Error",
		    generic_error, sizeof(generic_error) - 1);
	else
		(void)resp_fail(ctx->resp, "500 Internal Server Error", body,
		    len);
	PyMem_Free(body);
}

/*
 * One line "wsgi-cgi: SCRIPT: reason[: Type: message]" on stderr, then the
 * traceback of the pending exception, which is cleared.
 */
void
wsgi_report(const char *script, const char *reason, bool traceback)
{
	PyObject	*type = NULL, *value = NULL, *tb = NULL, *msg = NULL;
	const char	*name, *text = NULL;

	PyErr_Fetch(&type, &value, &tb);
	if (type == NULL) {
		(void)fprintf(stderr, "wsgi-cgi: %s: %s\n", script, reason);
		return;
	}
	PyErr_NormalizeException(&type, &value, &tb);
	if (tb != NULL && value != NULL)
		(void)PyException_SetTraceback(value, tb);
	name = ((PyTypeObject *)type)->tp_name;
	if (value != NULL && (msg = PyObject_Str(value)) != NULL)
		text = PyUnicode_AsUTF8(msg);
	PyErr_Clear();
	(void)fflush(stderr);
	if (text != NULL && *text != '\0')
		(void)fprintf(stderr, "wsgi-cgi: %s: %s: %s: %s\n", script,
		    reason, name, text);
	else
		(void)fprintf(stderr, "wsgi-cgi: %s: %s: %s\n", script,
		    reason, name);
	if (traceback)
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
	struct response		*resp = sr->ctx->resp;
	PyObject		*status, *headers, *exc_info = Py_None;
	PyObject		*type, *value, *tb;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|O:start_response",
	    kwlist, &status, &headers, &exc_info))
		return NULL;
	if (exc_info != Py_None) {
		if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3)
			return PyErr_Format(PyExc_TypeError, "exc_info must be "
			    "a (type, value, traceback) tuple, not %R",
			    exc_info);
		/* PEP 3333: too late to change the status; re-raise. */
		if (resp->state >= RESP_SENT) {
			type = PyTuple_GET_ITEM(exc_info, 0);
			value = PyTuple_GET_ITEM(exc_info, 1);
			tb = PyTuple_GET_ITEM(exc_info, 2);
			Py_INCREF(type);
			Py_INCREF(value);
			Py_XINCREF(tb == Py_None ? NULL : tb);
			PyErr_Restore(type, value, tb == Py_None ? NULL : tb);
			return NULL;
		}
	} else if (sr->called)
		/* wsgiref's exception type, so apps behave the same. */
		return PyErr_Format(PyExc_AssertionError, "start_response() "
		    "called again without exc_info");
	/* PEP 3333: a failed first call still counts as a call. */
	sr->called = true;
	if (set_status(resp, status) < 0 || set_headers(resp, headers) < 0) {
		resp->state = RESP_NEW;
		return NULL;
	}
	return PyObject_GetAttrString(self, "write");
}

/* The status as latin-1 bytes, checked by response.c. */
static int
set_status(struct response *resp, PyObject *status)
{
	const char	*s;
	Py_ssize_t	 len;
	int		 e;

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
	s = (const char *)PyUnicode_1BYTE_DATA(status);
	len = PyUnicode_GET_LENGTH(status);
	if ((e = resp_status(resp, s, (size_t)len)) != RESP_OK) {
		PyErr_Format(e == RESP_ENOMEM ? PyExc_MemoryError :
		    PyExc_ValueError, "status %R: %s", status,
		    resp_strerror(e));
		return -1;
	}
	return 0;
}

/* A list of (str, str) tuples, each as latin-1 bytes, checked by response.c. */
static int
set_headers(struct response *resp, PyObject *headers)
{
	PyObject	*item, *name, *value;
	Py_ssize_t	 i;
	int		 e;

	if (!PyList_Check(headers)) {
		PyErr_Format(PyExc_TypeError, "response_headers must be a list "
		    "of (name, value) tuples, not %s",
		    Py_TYPE(headers)->tp_name);
		return -1;
	}
	for (i = 0; i < PyList_GET_SIZE(headers); i++) {
		item = PyList_GET_ITEM(headers, i);	/* borrowed */
		if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
			PyErr_Format(PyExc_TypeError, "header must be a "
			    "(name, value) tuple, not %R", item);
			return -1;
		}
		name = PyTuple_GET_ITEM(item, 0);
		value = PyTuple_GET_ITEM(item, 1);
		if (!PyUnicode_Check(name) || !PyUnicode_Check(value)) {
			PyErr_Format(PyExc_TypeError, "header name and value "
			    "must be str: %R", item);
			return -1;
		}
		if (PyUnicode_KIND(name) != PyUnicode_1BYTE_KIND ||
		    PyUnicode_KIND(value) != PyUnicode_1BYTE_KIND) {
			PyErr_Format(PyExc_ValueError, "header %R is not "
			    "ISO-8859-1", item);
			return -1;
		}
		e = resp_header(resp, (const char *)PyUnicode_1BYTE_DATA(name),
		    (size_t)PyUnicode_GET_LENGTH(name),
		    (const char *)PyUnicode_1BYTE_DATA(value),
		    (size_t)PyUnicode_GET_LENGTH(value));
		if (e != RESP_OK) {
			PyErr_Format(e == RESP_ENOMEM ? PyExc_MemoryError :
			    PyExc_ValueError, "header %R: %s", item,
			    resp_strerror(e));
			return -1;
		}
	}
	return 0;
}

/* PEP 3333 write(): as though the bytes were yielded by the result. */
static PyObject *
start_response_write(PyObject *self, PyObject *data)
{
	struct start_response	*sr = (struct start_response *)self;

	if (send_chunk(sr->ctx, data) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static void
start_response_dealloc(PyObject *self)
{
	PyObject_Free(self);
}

/* One block of body: bytes, bytearray or memoryview; never str. */
static int
send_chunk(struct wsgi_ctx *ctx, PyObject *chunk)
{
	Py_buffer	view;
	int		e;

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
	if (PyObject_GetBuffer(chunk, &view, PyBUF_SIMPLE) < 0)
		return -1;
	Py_BEGIN_ALLOW_THREADS
	e = resp_body(ctx->resp, view.buf, (size_t)view.len);
	Py_END_ALLOW_THREADS
	PyBuffer_Release(&view);
	if (e == RESP_OK)
		return 0;
	if (e == RESP_EWRITE) {
		ctx->gone = true;
		errno = ctx->resp->saved_errno;
		PyErr_SetFromErrno(PyExc_OSError);
	} else if (e == RESP_ENOSTATUS)
		PyErr_SetString(PyExc_RuntimeError, "the application sent "
		    "body data before calling start_response()");
	else
		PyErr_NoMemory();
	return -1;
}

/* Iterates the result into the response; on error reports and fails. */
static int
send_result(struct wsgi_ctx *ctx, PyObject *result)
{
	PyObject	*it = NULL, *chunk = NULL;
	Py_ssize_t	 n;
	bool		 done = false;
	int		 rc = -1;

	if (Py_IS_TYPE(result, &FileWrapperType)) {
		if (send_file(ctx, (struct file_wrapper *)result, &done) < 0)
			goto fail;
		if (done)
			return 0;
	}
	/* wsgiref: a one-block result's length is the Content-Length. */
	if ((n = PyObject_Size(result)) == 1)
		resp_single(ctx->resp);
	else if (n < 0) {
		if (!PyErr_ExceptionMatches(PyExc_TypeError) &&
		    !PyErr_ExceptionMatches(PyExc_AttributeError) &&
		    !PyErr_ExceptionMatches(PyExc_NotImplementedError))
			goto fail;
		PyErr_Clear();
	}
	if ((it = PyObject_GetIter(result)) == NULL)
		goto fail;
	while ((chunk = PyIter_Next(it)) != NULL) {
		if (send_chunk(ctx, chunk) < 0)
			goto fail;
		Py_CLEAR(chunk);
	}
	if (PyErr_Occurred())
		goto fail;
	rc = 0;
	goto out;
fail:
	wsgi_fail(ctx, "application error", true);
out:
	Py_XDECREF(chunk);
	Py_XDECREF(it);
	return rc;
}

/*
 * The file_wrapper fast path: a regular file with fileno() and tell() goes
 * out by sendfile(2) from its current position; *done says it was sent.
 */
static int
send_file(struct wsgi_ctx *ctx, struct file_wrapper *fw, bool *done)
{
	PyObject	*r = NULL;
	struct stat	 st;
	long long	 pos;
	long		 fd;
	uint64_t	 count;
	int		 e, rc = -1;

	*done = false;
	if ((r = PyObject_CallMethod(fw->filelike, "fileno", NULL)) == NULL ||
	    (fd = PyLong_AsLong(r)) < 0 || fd > INT_MAX ||
	    fstat((int)fd, &st) < 0 ||
	    !S_ISREG(st.st_mode)) {
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
	if (ctx->resp->state == RESP_NEW) {
		PyErr_SetString(PyExc_RuntimeError, "the application returned "
		    "a file without calling start_response()");
		goto out;
	}
	count = pos < st.st_size ? (uint64_t)(st.st_size - pos) : 0;
	if (resp_default_length(ctx->resp, count) != RESP_OK) {
		PyErr_NoMemory();
		goto out;
	}
	Py_BEGIN_ALLOW_THREADS
	e = resp_sendfile(ctx->resp, (int)fd, (off_t)pos, count);
	Py_END_ALLOW_THREADS
	if (e == RESP_EWRITE) {
		ctx->gone = true;
		errno = ctx->resp->saved_errno;
		PyErr_SetFromErrno(PyExc_OSError);
		goto out;
	}
	if (e != RESP_OK) {
		PyErr_NoMemory();
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
call_close(PyObject *result)
{
	PyObject	*type = NULL, *value = NULL, *tb = NULL, *r = NULL;
	int		 rc = 0;

	PyErr_Fetch(&type, &value, &tb);
	closing = true;
	if (PyObject_HasAttrString(result, "close")) {
		r = PyObject_CallMethod(result, "close", NULL);
		if (r == NULL)
			rc = -1;
		Py_XDECREF(r);
	}
	closing = false;
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
