/*
 * SCGI (Neil Schemenauer's protocol, as lighttpd, nginx and Apache speak
 * it): a netstring of NUL-separated variables, then the body.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef SCGI_H
#define SCGI_H

#include <stddef.h>

#include "params.h"

#define SCGI_PREFIX_MAX	8	/* "1048576:" */

enum scgi_err {
	SCGI_OK,
	SCGI_EAGAIN,		/* the length prefix is not complete yet */
	SCGI_ELENGTH,		/* not a netstring length */
	SCGI_ECOMMA,		/* the netstring does not end with ',' */
	SCGI_EPAIR,		/* a name without its value */
	SCGI_EFIRST,		/* CONTENT_LENGTH is not the first variable */
	SCGI_ENOSCGI,		/* no SCGI=1 */
	SCGI_EPARAMS		/* params_add() refused; see params_err */
};

int		 scgi_prefix(const unsigned char *, size_t, size_t *, size_t *);
int		 scgi_parse(const unsigned char *, size_t, struct params *,
		    int *);
const char	*scgi_strerror(int);

#endif /* SCGI_H */
