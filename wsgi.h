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

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

struct cgi_request;
struct outcome;
struct response;

/* Where the body comes from: read(2) of fd, or read(ctx, ...) if set. */
struct wsgi_source {
	int		 fd;
	ssize_t		(*read)(void *, void *, size_t);
	void		*ctx;
};

/* One request: what wsgi_serve() needs to run it. */
struct wsgi_call {
	PyObject			*app;	/* NULL: reason says why */
	const char			*reason;
	bool				 traceback;	/* one is pending */
	char *const			*envp;	/* environ's variables */
	const struct cgi_request	*req;
	struct wsgi_source		 src;	/* the body */
	bool				 bounded;
	uint64_t			 length;
	const char			*label;	/* "script: METHOD URI" */
	bool				 debug;
	bool				 run_once;
	bool				 multiprocess;
	bool				 multithread;
	bool				 server;	/* a server mode's: its own
							   error stream, a
							   non-blocking
							   connection */
	PyObject			**running;	/* the request, while it
							   runs (borrowed) */
};

/*
 * A request is a Python object (the application's start_response) that owns
 * the response while wsgi_serve() runs it; at its end it is finished and
 * detached, so what the application keeps raises a clear error after.
 */
int		 wsgi_ready(void);
int		 wsgi_catch_sigterm(void);
int		 wsgi_serve(const struct wsgi_call *, struct response **,
		    struct outcome *);
PyObject	*wsgi_environ(const struct wsgi_call *, PyObject *, PyObject *);
void		 wsgi_report(const char *, const char *, bool);
PyObject	*wsgi_current_errors(void);
PyObject	*wsgi_request_timeout(void);
void		 wsgi_abandon(PyObject *);

/* wsgi_errors.c */
int		 wsgi_errors_install(void);
PyObject	*wsgi_errors_new(int (*)(void *, const char *, size_t), void *);
void		 wsgi_errors_end(PyObject *);
void		 wsgi_errors_line(const char *, size_t);

/* wsgi_input.c */
int		 wsgi_input_ready(void);
PyObject	*wsgi_input_new(const struct wsgi_source *, bool, uint64_t);
void		 wsgi_input_detach(PyObject *);
const char	*wsgi_input_fault(PyObject *);

#endif /* WSGI_H */
