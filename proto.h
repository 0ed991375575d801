/*
 * The protocols a worker serves a connection in, each in its own file:
 * proto_fcgi.c, proto_scgi.c (SCGI and uwsgi), proto_http.c.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef PROTO_H
#define PROTO_H

#include <stdbool.h>

#include "conn.h"
#include "http_req.h"
#include "server.h"

bool	 proto_fcgi(const struct srv_options *, struct conn *, unsigned *);
int	 proto_scgi(const struct srv_options *, struct conn *);
int	 proto_uwsgi(const struct srv_options *, struct conn *);
bool	 proto_http(const struct srv_options *, struct conn *,
	    const struct http_req *, int, unsigned *);

#endif /* PROTO_H */
