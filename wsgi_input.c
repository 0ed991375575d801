/*
 * wsgi.input: the request body read straight from fd 0, never past
 * CONTENT_LENGTH (PEP 3333, RFC 3875 4.2), with read, readline, readlines
 * and iteration.
 * SPDX-License-Identifier: MIT
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "wsgi.h"

#define PYFUNC(f)	((PyCFunction)(void (*)(void))(f))
#define INPUT_BUFSIZE	65536
#define READ_INITIAL	65536		/* first allocation, length unknown */
#define READ_KNOWN	(1U << 20)	/* first allocation, length known */

struct input {
	PyObject_HEAD
	struct wsgi_source src;		/* src.fd -1: the request is over */
	bool		 bounded;	/* CONTENT_LENGTH was given */
	bool		 eof;
	int		 fault;		/* errno of a body that failed, or 0 */
	uint64_t	 remaining;	/* unread bytes of CONTENT_LENGTH */
	char		*buf;		/* read-ahead, for readline */
	size_t		 pos;
	size_t		 len;
};

static int		 check_open(const struct input *);
static Py_ssize_t	 raw_read(struct input *, char *, size_t);
static int		 fill(struct input *);
static Py_ssize_t	 body_failed(struct input *, int);
static const char	*fault_text(int);
static size_t		 available(const struct input *);
static PyObject		*read_upto(struct input *, size_t);
static PyObject		*input_read(PyObject *, PyObject *const *,
			    Py_ssize_t);
static PyObject		*input_readline(PyObject *, PyObject *const *,
			    Py_ssize_t);
static PyObject		*input_readlines(PyObject *, PyObject *const *,
			    Py_ssize_t);
static PyObject		*input_next(PyObject *);
static PyObject		*readline(struct input *, Py_ssize_t);
static int		 size_arg(PyObject *const *, Py_ssize_t, const char *,
			    Py_ssize_t *);
static void		 input_dealloc(PyObject *);

static PyMethodDef input_methods[] = {
	{ "read", PYFUNC(input_read), METH_FASTCALL,
	    "read(size=-1): at most size bytes of the body; all by default" },
	{ "readline", PYFUNC(input_readline), METH_FASTCALL,
	    "readline(size=-1): one line, ending in b'\\n' unless at the end" },
	{ "readlines", PYFUNC(input_readlines), METH_FASTCALL,
	    "readlines(hint=-1): a list of lines" },
	{ NULL, NULL, 0, NULL }
};

static PyTypeObject InputType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "wsgi_cgi.Input",
	.tp_basicsize = sizeof(struct input),
	.tp_dealloc = input_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "the request body (wsgi.input)",
	.tp_iter = PyObject_SelfIter,
	.tp_iternext = input_next,
	.tp_methods = input_methods,
};

int
wsgi_input_ready(void)
{
	return PyType_Ready(&InputType);
}

/*
 * A reader of src (read(2) of its fd, or its read function); bounded to
 * length bytes when bounded is true.
 */
PyObject *
wsgi_input_new(const struct wsgi_source *src, bool bounded, uint64_t length)
{
	struct input	*in;

	if ((in = PyObject_New(struct input, &InputType)) == NULL)
		return NULL;
	in->src = *src;
	in->bounded = bounded;
	in->remaining = length;
	in->eof = bounded && length == 0;
	in->buf = NULL;
	in->pos = in->len = 0;
	return (PyObject *)in;
}

/* The request is over: the body, read or not, is no longer the app's. */
void
wsgi_input_detach(PyObject *self)
{
	struct input	*in = (struct input *)self;

	in->src.fd = -1;
	in->src.read = NULL;
	in->eof = true;
	in->pos = in->len = 0;
}

static int
check_open(const struct input *in)
{
	if (in->src.fd >= 0)
		return 0;
	PyErr_SetString(PyExc_ValueError, "wsgi.input: the request has "
	    "ended");
	return -1;
}

/*
 * One read(2) of at most n bytes, within the bound, without the GIL.
 * Returns the count, 0 at the end (a short body ends here too), -1 with an
 * exception set.
 */
static Py_ssize_t
raw_read(struct input *in, char *dst, size_t n)
{
	ssize_t	r = -1;

	if (in->eof)
		return 0;
	if (in->bounded && n > in->remaining)
		n = (size_t)in->remaining;
	for (;;) {
		Py_BEGIN_ALLOW_THREADS
		r = in->src.read != NULL ? in->src.read(in->src.ctx, dst, n) :
		    read(in->src.fd, dst, n);
		Py_END_ALLOW_THREADS
		if (r >= 0 || errno != EINTR)
			break;
		if (PyErr_CheckSignals() < 0)
			return -1;
	}
	if (r < 0)
		return body_failed(in, errno);
	if (r == 0 || (in->bounded && (in->remaining -= (uint64_t)r) == 0))
		in->eof = true;
	return r;
}

/*
 * The body could not be read: the client's fault (a malformed chunked
 * body, the client gone or stalled) is remembered for the request's end,
 * and raised as an OSError that says so (ConnectionResetError and its kin
 * by errno).  Always -1.
 */
static Py_ssize_t
body_failed(struct input *in, int e)
{
	const char	*what = fault_text(e);
	PyObject	*exc;

	in->fault = e;
	in->eof = true;
	if ((exc = PyObject_CallFunction(PyExc_OSError, "is", e, what !=
	    NULL ? what : "cannot read the request body")) != NULL) {
		PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
		Py_DECREF(exc);
	}
	return -1;
}

/* What the client did to a body that failed with e; NULL: not its fault. */
static const char *
fault_text(int e)
{
	switch (e) {
	case EPROTO:
		return "the request's chunked body is malformed";
	case ECONNRESET:
	case ECONNABORTED:
	case EPIPE:
		return "the client went away before the whole request body "
		    "came";
	case ETIMEDOUT:
		return "the request body did not come in time";
	default:
		return NULL;
	}
}

/*
 * Why the body failed through the client's fault (the request's end
 * answers 400 for it, not an application error), or NULL.
 */
const char *
wsgi_input_fault(PyObject *self)
{
	return fault_text(((struct input *)self)->fault);
}

/* Refills the read-ahead buffer; returns the bytes now held, -1 on error. */
static int
fill(struct input *in)
{
	Py_ssize_t	n;

	if (in->buf == NULL && (in->buf = PyMem_Malloc(INPUT_BUFSIZE)) ==
	    NULL) {
		PyErr_NoMemory();
		return -1;
	}
	if (in->pos == in->len)
		in->pos = in->len = 0;
	if ((n = raw_read(in, in->buf + in->len, INPUT_BUFSIZE - in->len)) < 0)
		return -1;
	in->len += (size_t)n;
	return (int)(in->len - in->pos);
}

static size_t
available(const struct input *in)
{
	return in->len - in->pos;
}

/*
 * Up to limit bytes: the buffered ones, then read(2) straight into the
 * result, which grows by doubling as bytes arrive: a CONTENT_LENGTH that
 * promises more than comes costs nothing up front.
 */
static PyObject *
read_upto(struct input *in, size_t limit)
{
	PyObject	*b;
	size_t		 size, got = 0, take;
	Py_ssize_t	 r = 0;

	if (limit > (size_t)PY_SSIZE_T_MAX)
		limit = (size_t)PY_SSIZE_T_MAX;
	if (in->bounded && limit > available(in) &&
	    limit - available(in) > in->remaining)
		limit = available(in) + (size_t)in->remaining;
	size = in->bounded ? READ_KNOWN : READ_INITIAL;
	if (size > limit)
		size = limit;
	if ((b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size)) == NULL)
		return NULL;
	while (got < limit) {
		if (got == size) {
			size = size > limit / 2 ? limit : size * 2;
			if (_PyBytes_Resize(&b, (Py_ssize_t)size) < 0)
				return NULL;
		}
		if ((take = available(in)) > 0) {
			if (take > size - got)
				take = size - got;
			memcpy(PyBytes_AS_STRING(b) + got, in->buf + in->pos,
			    take);
			in->pos += take;
			got += take;
			continue;
		}
		if ((r = raw_read(in, PyBytes_AS_STRING(b) + got,
		    size - got)) <= 0)
			break;
		got += (size_t)r;
	}
	if (r < 0) {
		Py_DECREF(b);
		return NULL;
	}
	if (got < size && _PyBytes_Resize(&b, (Py_ssize_t)got) < 0)
		return NULL;
	return b;
}

static PyObject *
input_read(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	struct input	*in = (struct input *)self;
	Py_ssize_t	 size;

	if (size_arg(args, nargs, "read", &size) < 0 || check_open(in) < 0)
		return NULL;
	return read_upto(in, size < 0 ? SIZE_MAX : (size_t)size);
}

static PyObject *
input_readline(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	Py_ssize_t	size;

	if (size_arg(args, nargs, "readline", &size) < 0 ||
	    check_open((struct input *)self) < 0)
		return NULL;
	return readline((struct input *)self, size);
}

static PyObject *
input_readlines(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	PyObject	*list = NULL, *line = NULL, *result = NULL;
	Py_ssize_t	 hint, total = 0;

	if (size_arg(args, nargs, "readlines", &hint) < 0 ||
	    check_open((struct input *)self) < 0 ||
	    (list = PyList_New(0)) == NULL)
		goto out;
	for (;;) {
		if ((line = readline((struct input *)self, -1)) == NULL)
			goto out;
		if (PyBytes_GET_SIZE(line) == 0)
			break;
		total += PyBytes_GET_SIZE(line);
		if (PyList_Append(list, line) < 0)
			goto out;
		Py_CLEAR(line);
		if (hint > 0 && total >= hint)
			break;
	}
	result = list;
	list = NULL;
out:
	Py_XDECREF(line);
	Py_XDECREF(list);
	return result;
}

static PyObject *
input_next(PyObject *self)
{
	PyObject	*line;

	if (check_open((struct input *)self) < 0 ||
	    (line = readline((struct input *)self, -1)) == NULL)
		return NULL;
	if (PyBytes_GET_SIZE(line) > 0)
		return line;
	Py_DECREF(line);
	return NULL;		/* the end: StopIteration */
}

/* One line, at most size bytes when size >= 0. */
static PyObject *
readline(struct input *in, Py_ssize_t size)
{
	PyObject	*b = NULL;
	const char	*nl;
	size_t		 n, got = 0, limit;
	int		 more;

	limit = size < 0 ? (size_t)PY_SSIZE_T_MAX : (size_t)size;
	if ((b = PyBytes_FromStringAndSize(NULL, 0)) == NULL)
		return NULL;
	while (got < limit) {
		if (available(in) == 0) {
			if ((more = fill(in)) < 0) {
				Py_DECREF(b);
				return NULL;
			}
			if (more == 0)
				break;
		}
		n = available(in);
		if (n > limit - got)
			n = limit - got;
		nl = memchr(in->buf + in->pos, '\n', n);
		if (nl != NULL)
			n = (size_t)(nl - (in->buf + in->pos)) + 1;
		if (_PyBytes_Resize(&b, (Py_ssize_t)(got + n)) < 0)
			return NULL;
		memcpy(PyBytes_AS_STRING(b) + got, in->buf + in->pos, n);
		in->pos += n;
		got += n;
		if (nl != NULL)
			break;
	}
	return b;
}

/* The optional size argument: an int, or None for "all". */
static int
size_arg(PyObject *const *args, Py_ssize_t nargs, const char *fn,
    Py_ssize_t *size)
{
	*size = -1;
	if (nargs > 1) {
		PyErr_Format(PyExc_TypeError, "%s() takes at most 1 argument "
		    "(%zd given)", fn, nargs);
		return -1;
	}
	if (nargs == 0 || args[0] == Py_None)
		return 0;
	*size = PyNumber_AsSsize_t(args[0], PyExc_OverflowError);
	return *size == -1 && PyErr_Occurred() ? -1 : 0;
}

static void
input_dealloc(PyObject *self)
{
	struct input	*in = (struct input *)self;

	PyMem_Free(in->buf);
	PyObject_Free(self);
}
