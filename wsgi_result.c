/*
 * The application's result: its iterable sent block by block (a str is
 * an error the application is told of), a wsgi.file_wrapper of a regular
 * file by sendfile(2), then its close() called, as PEP 3333 asks.
 * SPDX-License-Identifier: MIT
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "response.h"
#include "wsgi.h"
#include "wsgi_req.h"

static void	 str_body(struct start_response *, PyObject *, PyObject *,
		    PyObject *);
static int	 send_file(struct start_response *, struct file_wrapper *,
		    bool *);

/*
 * One block of body: bytes, bytearray or memoryview; never str.  Written
 * without the GIL, under the lock.
 */
int
sr_send_chunk(struct start_response *sr, PyObject *chunk)
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
		return sr_raise(sr, ENDED, 0);
	if (PyObject_GetBuffer(chunk, &view, PyBUF_SIMPLE) < 0)
		return -1;
	ts = sr_out_begin(sr);
	e = resp_body(sr->resp, view.buf, (size_t)view.len);
	saved = resp_errno(sr->resp);
	sr_out_end(sr, ts);
	PyBuffer_Release(&view);
	return e == RESP_OK ? 0 : sr_raise(sr, e, saved);
}

/* Iterates the result into the response; on error reports and fails. */
int
sr_send_result(struct start_response *sr, PyObject *app, PyObject *result)
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
		sr_lock(sr);
		resp_single(sr->resp);
		sr_unlock(sr);
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
		if (sr_send_chunk(sr, chunk) < 0)
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
		rc = sr_raise(sr, ENDED, 0);
		goto out;
	}
	ts = sr_out_begin(sr);
	e = resp_state(sr->resp) == RESP_NEW ? RESP_ENOSTATUS :
	    resp_default_length(sr->resp, count);
	if (e == RESP_OK)
		e = resp_sendfile(sr->resp, (int)fd, (off_t)pos, count);
	saved = resp_errno(sr->resp);
	sr_out_end(sr, ts);
	if (e != RESP_OK) {
		rc = sr_raise(sr, e, saved);
		goto out;
	}
	*done = true;
	rc = 0;
out:
	Py_XDECREF(r);
	return rc;
}

/* PEP 3333: the result's close(), if it has one, exactly once. */
int
sr_call_close(struct start_response *sr, PyObject *result)
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
