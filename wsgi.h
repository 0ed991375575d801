/*
 * The PEP 3333 glue between the parsed request, the response writer and the
 * application: environ, start_response, wsgi.input, file_wrapper, the call.
 * SPDX-License-Identifier: MIT
 */
#ifndef WSGI_H
#define WSGI_H

#include <stdbool.h>
#include <stdint.h>

struct cgi_request;
struct response;

struct wsgi_ctx {
	const char	*script;	/* path of the script, for messages */
	bool		 debug;		/* tracebacks in 500 bodies */
	bool		 gone;		/* the response could not be written */
	struct response	*resp;
};

/* Kept out of wsgi.c's public names: the object types are static. */
int		 wsgi_ready(void);
int		 wsgi_catch_sigterm(void);
PyObject	*wsgi_environ(char *const[], const struct cgi_request *,
		    PyObject *);
int		 wsgi_run(struct wsgi_ctx *, PyObject *, PyObject *);
void		 wsgi_fail(struct wsgi_ctx *, const char *, bool);
void		 wsgi_report(const char *, const char *, bool);

/* wsgi_input.c */
int		 input_ready(void);
PyObject	*input_new(int, bool, uint64_t);

#endif /* WSGI_H */
