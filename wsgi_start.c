/*
 * PEP 3333's start_response(status, response_headers, exc_info) and
 * write(): the status and headers checked as they are given, and set on
 * the request's response.
 * SPDX-License-Identifier: MIT
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "response.h"
#include "wsgi.h"
#include "wsgi_req.h"

static int	 check_exc_info(PyObject *);
static int	 check_status(PyObject *);
static PyObject	*check_headers(PyObject *);
static int	 set_response(struct start_response *, PyObject *, PyObject *,
		    Py_ssize_t *);
static PyObject	*start_response_write(PyObject *, PyObject *);
static void	 start_response_dealloc(PyObject *);

static PyMethodDef start_response_methods[] = {
	{ "write", PYFUNC(start_response_write), METH_O,
	    "write(data): send bytes before the returned iterable" },
	{ NULL, NULL, 0, NULL }
};

PyTypeObject StartResponseType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "wsgi_cgi.start_response",
	.tp_basicsize = sizeof(struct start_response),
	.tp_dealloc = start_response_dealloc,
	.tp_call = start_response_call,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "start_response(status, response_headers, exc_info=None)",
	.tp_methods = start_response_methods,
};

PyObject *
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
		(void)sr_raise(sr, ENDED, 0);
		return NULL;
	}
	if (exc_info != Py_None) {
		if (check_exc_info(exc_info) < 0)
			return NULL;
		sr_lock(sr);
		sent = resp_state(sr->resp) >= RESP_SENT;
		sr_unlock(sr);
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
			(void)sr_raise(sr, e, 0);
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

	sr_lock(sr);
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
	sr_unlock(sr);
	return e;
}

/* PEP 3333 write(): as though the bytes were yielded by the result. */
static PyObject *
start_response_write(PyObject *self, PyObject *data)
{
	if (sr_send_chunk((struct start_response *)self, data) < 0)
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
