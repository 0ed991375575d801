/*
 * wsgi.file_wrapper: iter(filelike.read, b'') that wsgi_result.c sends
 * by sendfile(2) when filelike is a regular file.
 * SPDX-License-Identifier: MIT
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "response.h"
#include "wsgi.h"
#include "wsgi_req.h"

static PyObject	*file_wrapper_new(PyTypeObject *, PyObject *, PyObject *);
static PyObject	*file_wrapper_next(PyObject *);
static PyObject	*file_wrapper_close(PyObject *, PyObject *);
static void	 file_wrapper_dealloc(PyObject *);

static PyMethodDef file_wrapper_methods[] = {
	{ "close", PYFUNC(file_wrapper_close), METH_NOARGS,
	    "close the wrapped file" },
	{ NULL, NULL, 0, NULL }
};

PyTypeObject FileWrapperType = {
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
