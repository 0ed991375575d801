/*
 * The request variables a gateway protocol carries (FastCGI, SCGI, uwsgi),
 * gathered as a NULL-terminated "NAME=value" array, the shape of the
 * process environment that cgi_env.c parses.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef PARAMS_H
#define PARAMS_H

#include <stddef.h>

/* All the variables of one request together: at most this many bytes. */
#define PARAMS_MAX_BYTES	((size_t)1024 * 1024)
#define PARAMS_MAX_COUNT	4096

enum params_err {
	PARAMS_OK,
	PARAMS_ENAME,		/* empty name, or one with '=' or NUL */
	PARAMS_EVALUE,		/* a NUL byte in a value */
	PARAMS_ETOOBIG,		/* over PARAMS_MAX_BYTES or _COUNT */
	PARAMS_ENOMEM
};

struct params {
	char	**envp;		/* NULL-terminated; owned */
	size_t	  count;
	size_t	  cap;
	size_t	  bytes;
};

void		 params_init(struct params *);
int		 params_add(struct params *, const char *, size_t,
		    const char *, size_t);
void		 params_free(struct params *);
const char	*params_strerror(int);

#endif /* PARAMS_H */
