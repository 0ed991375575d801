/*
 * SCGI and uwsgi: a request's netstring or packet of variables, then its
 * body, to the application; the response ends with the stream.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "scgi.h"
#include "server.h"
#include "uwsgi.h"
#include "conn.h"
#include "proto.h"

static ssize_t	 body_read(void *, void *, size_t);

/*
 * The body of an SCGI or uwsgi request: what follows the variables.
 * wsgi.input stops at CONTENT_LENGTH (cgi_env.c parses it once).
 */
static ssize_t
body_read(void *ctx, void *dst, size_t n)
{
	return conn_some(ctx, dst, n);
}

int
proto_scgi(const struct srv_options *o, struct conn *c)
{
	struct params	 p;
	unsigned char	*hdr = NULL;
	size_t		 len = 0, prefix = 0;
	int		 e, perr = 0, rc = -1;

	params_init(&p);
	while ((e = scgi_prefix(c->buf + c->pos, c->len - c->pos, &len,
	    &prefix)) == SCGI_EAGAIN)
		if (conn_fill(c) <= 0)
			goto out;
	if (e != SCGI_OK)
		goto bad;
	c->pos += prefix;
	if ((hdr = malloc(len + 1)) == NULL || conn_exact(c, hdr, len + 1) < 0)
		goto out;
	if ((e = scgi_parse(hdr, len, &p, &perr)) != SCGI_OK)
		goto bad;
	conn_run(o, c, &p, SRV_SCGI, body_read, NULL);
	rc = 0;
	goto out;
bad:
	conn_refused(c, "SCGI", scgi_strerror(e), e == SCGI_EPARAMS ? perr : -1);
out:
	free(hdr);
	params_free(&p);
	return rc;
}

int
proto_uwsgi(const struct srv_options *o, struct conn *c)
{
	struct params	 p;
	unsigned char	 head[UWSGI_HEADER_LEN], *vars = NULL;
	size_t		 size;
	int		 e, perr = 0, rc = -1;

	params_init(&p);
	if (conn_exact(c, head, sizeof(head)) < 0)
		goto out;
	if ((e = uwsgi_parse_header(head, &size)) != UWSGI_OK)
		goto bad;
	if ((vars = malloc(size + 1)) == NULL || conn_exact(c, vars, size) < 0)
		goto out;
	if ((e = uwsgi_parse(vars, size, &p, &perr)) != UWSGI_OK)
		goto bad;
	conn_run(o, c, &p, SRV_UWSGI, body_read, NULL);
	rc = 0;
	goto out;
bad:
	conn_refused(c, "uwsgi", uwsgi_strerror(e), e == UWSGI_EPARAMS ? perr : -1);
out:
	free(vars);
	params_free(&p);
	return rc;
}
