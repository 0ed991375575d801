/*
 * The request object that wsgi.c runs and wsgi_start.c, wsgi_result.c,
 * wsgi_environ.c and wsgi_file.c share: PEP 3333's start_response, which
 * owns the request's response.  Uses Python; private to those files.
 * SPDX-License-Identifier: MIT
 */
#ifndef WSGI_REQ_H
#define WSGI_REQ_H

#ifndef PY_SSIZE_T_CLEAN
#define PY_SSIZE_T_CLEAN
#endif
#include <Python.h>

#include <pthread.h>
#include <stdbool.h>

#include "response.h"

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

/* wsgi.file_wrapper: iter(filelike.read, b'') that can be sent by sendfile. */
struct file_wrapper {
	PyObject_HEAD
	PyObject	*filelike;
	Py_ssize_t	 blksize;
};

extern PyTypeObject	 StartResponseType, FileWrapperType;

/* wsgi.c */
struct start_response *sr_current(void);
void		 sr_lock(struct start_response *);
void		 sr_unlock(struct start_response *);
int		 sr_raise(struct start_response *, int, int);
PyThreadState	*sr_out_begin(struct start_response *);
void		 sr_out_end(struct start_response *, PyThreadState *);
void		 wsgi_fail(PyObject *, const char *, bool);

/* wsgi_start.c */
PyObject	*start_response_call(PyObject *, PyObject *, PyObject *);

/* wsgi_result.c */
int		 sr_send_chunk(struct start_response *, PyObject *);
int		 sr_send_result(struct start_response *, PyObject *, PyObject *);
int		 sr_call_close(struct start_response *, PyObject *);

#endif /* WSGI_REQ_H */
