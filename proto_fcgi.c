/*
 * FastCGI in and out: records to a request (BEGIN_REQUEST, PARAMS,
 * STDIN), the management records, FCGI_KEEP_CONN, and what a request left
 * of its STDIN read before the next; its response framed in STDOUT
 * records, its errors in STDERR ones, and END_REQUEST (the response
 * writer's frame, response.h).  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>
#include <sys/uio.h>

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

#include "fcgi.h"
#include "params.h"
#include "server.h"
#include "conn.h"
#include "proto.h"
#include "response.h"

/* A request's response, as its records carry it (struct resp_frame). */
struct fcgi_out {
	unsigned	 id;
	const bool	*aborted;	/* FCGI_ABORT_REQUEST came */
	bool		 ended;		/* END_REQUEST went out */
};

static int	 fcgi_request(struct conn *, struct params *);
static int	 fcgi_params(unsigned char **, size_t *, const unsigned char *,
		    size_t, struct params *, int *);
static int	 fcgi_manage(struct conn *, const struct fcgi_header *,
		    const unsigned char *);
static ssize_t	 fcgi_stdin(void *, void *, size_t);
static int	 fcgi_drain(struct conn *);
static int	 out_stdout(void *, struct response *, const struct iovec *,
		    int, bool);
static int	 out_stderr(void *, struct response *, const char *, size_t);
static int	 out_end(void *, struct response *, bool);
static bool	 out_gone(const void *);

/*
 * FastCGI: a request, its unread STDIN drained after it.  True when the
 * web server asked to keep the connection (FCGI_KEEP_CONN) for another,
 * which the room waits for.
 */
bool
proto_fcgi(const struct srv_options *o, struct conn *c, unsigned *served)
{
	struct params	 p;
	struct fcgi_out	 fo;
	struct resp_frame frame = { out_stdout, out_stderr, out_end,
			    out_gone, &fo };

	params_init(&p);
	c->id = 0;
	c->keep = c->stdin_eof = c->aborted = false;
	c->stdin_left = c->pad_left = 0;
	if (fcgi_request(c, &p) < 0) {
		params_free(&p);
		return false;
	}
	fo.id = c->id;
	fo.aborted = &c->aborted;
	fo.ended = false;
	conn_run(o, c, &p, SRV_FASTCGI, fcgi_stdin, &frame);
	params_free(&p);
	(*served)++;
	if (fcgi_drain(c) < 0)
		return false;
	return c->keep && !server_ending() &&
	    (o->max_requests == 0 || *served < o->max_requests);
}

/* Reads records until a request's PARAMS are complete. */
static int
fcgi_request(struct conn *c, struct params *p)
{
	unsigned char		 hdr[FCGI_HEADER_LEN], end[16];
	unsigned char		*content = NULL, *stream = NULL;
	struct fcgi_header	 h;
	size_t			 slen = 0;
	ssize_t			 n;
	unsigned		 role;
	bool			 keep;
	int			 e, perr = 0, rc = -1;

	if ((content = malloc(FCGI_MAX_CONTENT + 1)) == NULL)
		return -1;
	for (;;) {
		/* Between requests the peer may close: no complaint. */
		if (c->id == 0 && c->pos == c->len) {
			c->idle = true;
			n = conn_fill(c);
			c->idle = false;
			if (n <= 0)
				goto out;
			c->last_read = conn_now();
			c->body_end = c->last_read + c->wait_ms;
		}
		if (conn_exact(c, hdr, sizeof(hdr)) < 0)
			goto out;
		if ((e = fcgi_parse_header(hdr, &h)) != FCGI_OK &&
		    !(e == FCGI_ETYPE && h.id == FCGI_NULL_REQUEST_ID))
			goto bad;
		if (conn_exact(c, content, h.length) < 0 ||
		    conn_skip(c, h.padding) < 0)
			goto out;
		if (h.id == FCGI_NULL_REQUEST_ID) {
			if (fcgi_manage(c, &h, content) < 0)
				goto out;
			continue;
		}
		if (h.type == FCGI_BEGIN_REQUEST) {
			if ((e = fcgi_parse_begin(content, h.length, &role,
			    &keep)) != FCGI_OK)
				goto bad;
			if (c->id != 0 || role != FCGI_RESPONDER) {
				/* One request at a time; responders only. */
				if (conn_write(c, end, fcgi_make_end(end, h.id,
				    0, c->id != 0 ? FCGI_CANT_MPX_CONN :
				    FCGI_UNKNOWN_ROLE)) < 0)
					goto out;
				continue;
			}
			c->id = h.id;
			c->keep = keep;
			continue;
		}
		if (h.id != c->id)
			continue;	/* another id's records: not ours */
		if (h.type == FCGI_ABORT_REQUEST) {
			if (conn_write(c, end, fcgi_make_end(end, h.id, 0,
			    FCGI_REQUEST_COMPLETE)) < 0)
				goto out;
			params_free(p);
			slen = 0;
			c->id = 0;
			continue;
		}
		if (h.type != FCGI_PARAMS) {
			e = FCGI_ETYPE;
			goto bad;
		}
		/* The empty PARAMS record ends them, with no pair cut. */
		if (h.length == 0) {
			if (slen != 0) {
				e = FCGI_EPAIR;
				goto bad;
			}
			rc = 0;
			goto out;
		}
		if ((e = fcgi_params(&stream, &slen, content, h.length, p,
		    &perr)) < 0)
			goto out;
		if (e != FCGI_OK)
			goto bad;
	}
bad:
	conn_refused(c, "FastCGI", fcgi_strerror(e), e == FCGI_EPARAMS ? perr : -1);
out:
	free(content);
	free(stream);
	return rc;
}

/*
 * A PARAMS record's content, after what the ones before left (*stream,
 * *slen: a pair cut between records): its whole pairs into p, the rest
 * kept for the next.  FCGI_OK, an enum fcgi_err, or -1 when memory runs
 * out.
 */
static int
fcgi_params(unsigned char **stream, size_t *slen, const unsigned char *content,
    size_t len, struct params *p, int *perr)
{
	unsigned char	*grown;
	size_t		 used;
	int		 e;

	if (*slen + len > PARAMS_MAX_BYTES) {
		*perr = PARAMS_ETOOBIG;
		return FCGI_EPARAMS;
	}
	if ((grown = realloc(*stream, *slen + len)) == NULL)
		return -1;
	*stream = grown;
	memcpy(*stream + *slen, content, len);
	*slen += len;
	if ((e = fcgi_parse_pairs(*stream, *slen, &used, p, perr)) != FCGI_OK)
		return e;
	memmove(*stream, *stream + used, *slen - used);
	*slen -= used;
	return FCGI_OK;
}

/* A management record (id 0): GET_VALUES answered, others unknown. */
static int
fcgi_manage(struct conn *c, const struct fcgi_header *h,
    const unsigned char *content)
{
	unsigned char	out[512];
	size_t		n;

	if (h->type == FCGI_GET_VALUES)
		n = fcgi_make_values(out, sizeof(out), content, h->length,
		    c->workers, c->workers);
	else
		n = fcgi_make_unknown(out, h->type);
	return conn_write(c, out, n);
}

/*
 * The request's body: the contents of its STDIN records, up to the empty
 * one.  Runs without the interpreter's lock.  Management records and other
 * ids' records met on the way are answered or passed over.
 */
static ssize_t
fcgi_stdin(void *ctx, void *dst, size_t n)
{
	struct conn		*c = ctx;
	unsigned char		 hdr[FCGI_HEADER_LEN], small[16];
	struct fcgi_header	 h;
	ssize_t			 r;

	for (;;) {
		if (c->aborted) {
			errno = ECONNABORTED;
			return -1;
		}
		if (c->stdin_eof)
			return 0;
		if (c->stdin_left > 0) {
			if (n > c->stdin_left)
				n = c->stdin_left;
			if ((r = conn_some(c, dst, n)) <= 0) {
				c->aborted = true;
				if (r == 0)
					errno = ECONNRESET;
				return -1;
			}
			c->stdin_left -= (size_t)r;
			if (c->stdin_left == 0 && conn_skip(c, c->pad_left) < 0) {
				c->aborted = true;
				return -1;
			}
			return r;
		}
		if (conn_exact(c, hdr, sizeof(hdr)) < 0 ||
		    (fcgi_parse_header(hdr, &h) != FCGI_OK &&
		    h.id != FCGI_NULL_REQUEST_ID)) {
			c->aborted = true;
			errno = EPROTO;
			return -1;
		}
		if (h.id == c->id && h.type == FCGI_STDIN) {
			c->stdin_left = h.length;
			c->pad_left = h.padding;
			if (h.length == 0) {
				c->stdin_eof = true;
				if (conn_skip(c, h.padding) < 0)
					c->aborted = true;
			}
			continue;
		}
		if (h.id == c->id && h.type == FCGI_ABORT_REQUEST) {
			c->aborted = true;
			(void)conn_skip(c, h.length + h.padding);
			continue;
		}
		if (h.id == FCGI_NULL_REQUEST_ID && h.length <= sizeof(small)) {
			if (conn_exact(c, small, h.length) < 0 ||
			    conn_skip(c, h.padding) < 0 ||
			    fcgi_manage(c, &h, small) < 0)
				c->aborted = true;
			continue;
		}
		if (conn_skip(c, h.length + h.padding) < 0)
			c->aborted = true;
	}
}

/* What the application left of STDIN is read before the next request. */
static int
fcgi_drain(struct conn *c)
{
	char	scratch[8192];
	ssize_t	r;

	while ((r = fcgi_stdin(c, scratch, sizeof(scratch))) > 0)
		;
	return r == 0 ? 0 : -1;
}

/*
 * iov[0..n) (n <= 2) in STDOUT records of at most FCGI_MAX_CONTENT bytes,
 * each header and its content in one writev(2); when it is the last of
 * the body, the end (an empty STDOUT and END_REQUEST) in the same one.
 */
static int
out_stdout(void *ctx, struct response *r, const struct iovec *iov, int n,
    bool last)
{
	struct fcgi_out	*fo = ctx;
	unsigned char	 hdr[FCGI_HEADER_LEN], end[FCGI_HEADER_LEN * 3];
	struct iovec	 v[2], out[4];
	size_t		 room, take;
	int		 i = 0, k, e;

	memcpy(v, iov, (size_t)n * sizeof(v[0]));
	while (i < n) {
		out[0].iov_base = hdr;
		out[0].iov_len = FCGI_HEADER_LEN;
		room = FCGI_MAX_CONTENT;
		for (k = 1; i < n && room > 0; ) {
			take = v[i].iov_len < room ? v[i].iov_len : room;
			if (take > 0) {
				out[k].iov_base = v[i].iov_base;
				out[k++].iov_len = take;
				room -= take;
			}
			v[i].iov_base = (char *)v[i].iov_base + take;
			if ((v[i].iov_len -= take) == 0)
				i++;
		}
		if (k == 1)
			break;
		fcgi_make_header(hdr, FCGI_STDOUT, fo->id,
		    FCGI_MAX_CONTENT - room);
		if (last && i == n) {
			fcgi_make_header(end, FCGI_STDOUT, fo->id, 0);
			out[k].iov_base = end;
			out[k++].iov_len = FCGI_HEADER_LEN + fcgi_make_end(end +
			    FCGI_HEADER_LEN, fo->id, 0, FCGI_REQUEST_COMPLETE);
			fo->ended = true;
		}
		if ((e = resp_raw(r, out, k)) != RESP_OK)
			return e;
	}
	return RESP_OK;
}

/* One block of the request's errors, in one STDERR record. */
static int
out_stderr(void *ctx, struct response *r, const char *buf, size_t len)
{
	const struct fcgi_out	*fo = ctx;
	unsigned char		 hdr[FCGI_HEADER_LEN];
	struct iovec		 iov[2];

	fcgi_make_header(hdr, FCGI_STDERR, fo->id, len);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)buf;
	iov[1].iov_len = len;
	return resp_raw(r, iov, 2);
}

/*
 * The empty STDOUT record that ends the stream, and END_REQUEST with the
 * exit status a CGI program would have had (1: failed); unless the last
 * block of the body carried them.
 */
static int
out_end(void *ctx, struct response *r, bool failed)
{
	struct fcgi_out	*fo = ctx;
	unsigned char	 buf[FCGI_HEADER_LEN * 3];
	struct iovec	 iov;

	if (fo->ended)
		return RESP_OK;
	fo->ended = true;
	fcgi_make_header(buf, FCGI_STDOUT, fo->id, 0);
	iov.iov_base = buf;
	iov.iov_len = FCGI_HEADER_LEN + fcgi_make_end(buf + FCGI_HEADER_LEN,
	    fo->id, failed ? 1 : 0, FCGI_REQUEST_COMPLETE);
	return resp_raw(r, &iov, 1);
}

/* The web server gave up on it (only END_REQUEST is wanted), or it ended. */
static bool
out_gone(const void *ctx)
{
	const struct fcgi_out	*fo = ctx;

	return *fo->aborted || fo->ended;
}
