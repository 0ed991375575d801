/*
 * The uwsgi protocol's request packet (modifier1 0: a WSGI request), as
 * lighttpd's mod_scgi, nginx's uwsgi module and Apache's mod_proxy_uwsgi
 * send it: a 4-byte header, then 16-bit little-endian sized variables.
 * Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef UWSGI_H
#define UWSGI_H

#include <stddef.h>

#include "params.h"

#define UWSGI_HEADER_LEN	4

enum uwsgi_err {
	UWSGI_OK,
	UWSGI_EMODIFIER,	/* modifier1 or modifier2 is not 0 */
	UWSGI_EPAIR,		/* a variable runs past the packet */
	UWSGI_EPARAMS		/* params_add() refused; see params_err */
};

int		 uwsgi_parse_header(const unsigned char *, size_t *);
int		 uwsgi_parse(const unsigned char *, size_t, struct params *,
		    int *);
const char	*uwsgi_strerror(int);

#endif /* UWSGI_H */
