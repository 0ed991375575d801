/*
 * The PEP 3333 glue between the parsed request, the response writer and the
 * application: environ, start_response, wsgi.input, file_wrapper, the call.
 * SPDX-License-Identifier: MIT
 */
#ifndef WSGI_H
#define WSGI_H

#ifndef PY_SSIZE_T_CLEAN
#define PY_SSIZE_T_CLEAN
#endif
#include <Python.h>

#include <stdbool.h>
#include <stdint.h>

struct cgi_request;
struct response;

/*
 * A request is a Python object (the application's start_response) that owns
 * the response from wsgi_request_new() on; wsgi_request_end() finishes it and
 * detaches it, so what the application keeps raises a clear error after.
 */
int		 wsgi_ready(void);
int		 wsgi_catch_sigterm(void);
PyObject	*wsgi_request_new(struct response *, const char *, bool);
void		 wsgi_request_end(PyObject *);
PyObject	*wsgi_environ(char *const[], const struct cgi_request *,
		    PyObject *);
int		 wsgi_run(PyObject *, PyObject *, PyObject *);
void		 wsgi_fail(PyObject *, const char *, bool);
void		 wsgi_report(const char *, const char *, bool);

/* wsgi_input.c */
int		 wsgi_input_ready(void);
PyObject	*wsgi_input_new(int, bool, uint64_t);
void		 wsgi_input_detach(PyObject *);

#endif /* WSGI_H */
