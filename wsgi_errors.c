/*
 * wsgi.errors in a server mode: a text stream per request that writes
 * through the request's own log (a FastCGI request's FCGI_STDERR records),
 * and sys.stderr routed to the stream of the request running on the
 * calling thread, so that print(file=sys.stderr) and a traceback belong to
 * the request that made them.  No descriptor is swapped, and requests on
 * other threads never see each other's lines.
 * SPDX-License-Identifier: MIT
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "response.h"
#include "wsgi.h"

#define PYFUNC(f)	((PyCFunction)(void (*)(void))(f))

/* One request's wsgi.errors. */
struct errors {
	PyObject_HEAD
	int		(*log)(void *, const char *, size_t);
	void		*ctx;		/* NULL once the request ended */
};

/* sys.stderr of a server mode: the running request's, or the process's. */
struct router {
	PyObject_HEAD
	PyObject	*stream;	/* the process's sys.stderr */
};

static PyObject	*errors_write(PyObject *, PyObject *);
static PyObject	*errors_writelines(PyObject *, PyObject *);
static PyObject	*errors_flush(PyObject *, PyObject *);
static void	 errors_put(struct errors *, const char *, size_t);
static PyObject	*router_write(PyObject *, PyObject *);
static PyObject	*router_flush(PyObject *, PyObject *);
static PyObject	*router_getattro(PyObject *, PyObject *);
static void	 router_dealloc(PyObject *);

static PyMethodDef errors_methods[] = {
	{ "write", PYFUNC(errors_write), METH_O,
	    "write(s): to the server's error log, for this request" },
	{ "writelines", PYFUNC(errors_writelines), METH_O,
	    "writelines(lines): write() each" },
	{ "flush", PYFUNC(errors_flush), METH_NOARGS,
	    "flush(): nothing is held back" },
	{ NULL, NULL, 0, NULL }
};

static PyTypeObject ErrorsType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "wsgi_cgi.errors",
	.tp_basicsize = sizeof(struct errors),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "wsgi.errors: the request's error stream",
	.tp_methods = errors_methods,
};

static PyMethodDef router_methods[] = {
	{ "write", PYFUNC(router_write), METH_O,
	    "write(s): to the running request's wsgi.errors, or stderr" },
	{ "flush", PYFUNC(router_flush), METH_NOARGS, "flush()" },
	{ NULL, NULL, 0, NULL }
};

static PyTypeObject RouterType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "wsgi_cgi.stderr",
	.tp_basicsize = sizeof(struct router),
	.tp_dealloc = router_dealloc,
	.tp_getattro = router_getattro,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "sys.stderr: each request's lines to its own wsgi.errors",
	.tp_methods = router_methods,
};

/*
 * A server mode: sys.stderr becomes the router.  What it does not define
 * (buffer, fileno(), encoding, isatty()) is the process's stream's.
 */
int
wsgi_errors_install(void)
{
	struct router	*r;
	PyObject	*stream;
	int		 rc;

	if (PyType_Ready(&ErrorsType) < 0 || PyType_Ready(&RouterType) < 0)
		return -1;
	if ((stream = PySys_GetObject("stderr")) == NULL ||	/* borrowed */
	    stream == Py_None)
		return 0;
	if ((r = PyObject_New(struct router, &RouterType)) == NULL)
		return -1;
	r->stream = Py_NewRef(stream);
	rc = PySys_SetObject("stderr", (PyObject *)r);
	Py_DECREF(r);
	return rc;
}

/*
 * A request's stream: log(ctx, bytes, len) takes what is written until
 * wsgi_errors_end().  NULL: an exception.
 */
PyObject *
wsgi_errors_new(int (*log)(void *, const char *, size_t), void *ctx)
{
	struct errors	*es;

	if ((es = PyObject_New(struct errors, &ErrorsType)) == NULL)
		return NULL;
	es->log = log;
	es->ctx = ctx;
	return (PyObject *)es;
}

/* The request ended: what is written after goes to the process's stderr. */
void
wsgi_errors_end(PyObject *self)
{
	((struct errors *)self)->ctx = NULL;
}

/*
 * One line of the server's own about a request (its report, a warning):
 * through the calling thread's request's stream if it has one, else to
 * fd 2.  Bytes as they are.
 */
void
wsgi_errors_line(const char *buf, size_t len)
{
	PyObject	*es = wsgi_current_errors();

	if (es != NULL)
		errors_put((struct errors *)es, buf, len);
	else
		resp_to_stderr(buf, len);
}

static PyObject *
errors_write(PyObject *self, PyObject *arg)
{
	PyObject	*b;

	if (!PyUnicode_Check(arg)) {
		PyErr_Format(PyExc_TypeError, "write() argument must be str, "
		    "not %.100s", Py_TYPE(arg)->tp_name);
		return NULL;
	}
	if ((b = PyUnicode_AsEncodedString(arg, "utf-8", "backslashreplace"))
	    == NULL)
		return NULL;
	errors_put((struct errors *)self, PyBytes_AS_STRING(b),
	    (size_t)PyBytes_GET_SIZE(b));
	Py_DECREF(b);
	return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(arg));
}

static PyObject *
errors_writelines(PyObject *self, PyObject *lines)
{
	PyObject	*it, *line, *r;

	if ((it = PyObject_GetIter(lines)) == NULL)
		return NULL;
	while ((line = PyIter_Next(it)) != NULL) {
		r = errors_write(self, line);
		Py_DECREF(line);
		if (r == NULL)
			break;
		Py_DECREF(r);
	}
	Py_DECREF(it);
	if (PyErr_Occurred())
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *
errors_flush(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	Py_RETURN_NONE;
}

/*
 * Without the GIL: the log may wait on a slow peer.  A failed write is the
 * response's to report (its next write fails); an error stream that
 * raised would turn a log line into an application error.
 */
static void
errors_put(struct errors *es, const char *buf, size_t len)
{
	if (es->ctx == NULL) {
		Py_BEGIN_ALLOW_THREADS
		resp_to_stderr(buf, len);
		Py_END_ALLOW_THREADS
		return;
	}
	(void)es->log(es->ctx, buf, len);
}

static PyObject *
router_write(PyObject *self, PyObject *arg)
{
	PyObject	*es = wsgi_current_errors();

	if (es != NULL)
		return errors_write(es, arg);
	return PyObject_CallMethod(((struct router *)self)->stream, "write",
	    "O", arg);
}

static PyObject *
router_flush(PyObject *self, PyObject *unused)
{
	(void)unused;
	return PyObject_CallMethod(((struct router *)self)->stream, "flush",
	    NULL);
}

static PyObject *
router_getattro(PyObject *self, PyObject *name)
{
	PyObject	*v;

	if ((v = PyObject_GenericGetAttr(self, name)) != NULL ||
	    !PyErr_ExceptionMatches(PyExc_AttributeError))
		return v;
	PyErr_Clear();
	return PyObject_GetAttr(((struct router *)self)->stream, name);
}

static void
router_dealloc(PyObject *self)
{
	Py_XDECREF(((struct router *)self)->stream);
	PyObject_Free(self);
}
