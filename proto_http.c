/*
 * HTTP/1.1 as an origin server: a request whose head the room has read,
 * its body by Content-Length or chunked, keep-alive, a refused request's
 * status.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_req.h"
#include "params.h"
#include "server.h"
#include "conn.h"
#include "proto.h"
#include "response.h"

#define DRAIN_MAX	65536	/* of a body the app left, read to keep */
#define DRAIN_MS	1000

static ssize_t	 http_length_read(void *, void *, size_t);
static ssize_t	 http_chunked_read(void *, void *, size_t);
static bool	 chunks_valid(const struct conn *);
static bool	 http_drain(struct conn *, bool);
static void	 http_refuse(struct conn *, int, const char *);
static void	 where(struct conn *, struct http_where *, char *, size_t);

/*
 * HTTP/1.1 as an origin server, one request whose head the room has read
 * (whole()): parsed strictly (http_req.c), its body framed by
 * Content-Length or chunked.  A request that cannot be read safely is
 * answered 400 (or 414, 431, 501, 505, 417) and the connection closes.
 * True when the connection may carry another request (pipelined ones are
 * in the buffer already, answered in order).
 */
bool
proto_http(const struct srv_options *o, struct conn *c,
    const struct http_req *r, int e, unsigned *served)
{
	struct srv_request	sr;
	struct params		p;
	struct outcome		out;
	int			perr;

	if (e != HTTP_REQ_OK) {
		http_refuse(c, http_req_status(e), http_req_strerror(e));
		return false;
	}
	/* The connection's two ends, once. */
	if (!c->known)
		where(c, &c->where, c->names, sizeof(c->names));
	c->known = true;
	params_init(&p);
	if (http_req_env(r, &c->where, &p, &perr) < 0) {
		params_free(&p);
		http_refuse(c, 400, params_strerror(perr));
		return false;
	}
	c->pos += r->head_len;
	/* RFC 9110 10.1.1: go on, before the body is read. */
	if (r->expect_continue && (r->chunked || r->content_length > 0) &&
	    conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0) {
		params_free(&p);
		return false;
	}
	c->body_left = r->has_length ? r->content_length : 0;
	c->chunk_bad = false;
	http_chunked_init(&c->chunk);
	/* What of a chunked body has come is checked before the app runs. */
	if (r->chunked && !chunks_valid(c)) {
		params_free(&p);
		http_refuse(c, 400, "a malformed chunked body");
		return false;
	}
	memset(&sr, 0, sizeof(sr));
	sr.envp = p.envp;
	sr.fd = c->fd;
	sr.proto = SRV_HTTP;
	sr.read = r->chunked ? http_chunked_read : http_length_read;
	sr.ctx = c;
	sr.wait_ms = c->wait_ms;
	sr.to_end = r->chunked;
	(*served)++;
	sr.http_keep = r->keep_alive && !server_ending() &&
	    (o->max_requests == 0 || *served < o->max_requests);
	sr.stop = server_stop_flag();
	(void)o->handle(o->ctx, &sr, &out);
	params_free(&p);
	/* What the application left of the body, or the end. */
	return out.keep && http_drain(c, r->chunked) && !server_ending();
}

/* The body up to its Content-Length, never into the next request. */
static ssize_t
http_length_read(void *ctx, void *dst, size_t n)
{
	struct conn	*c = ctx;
	ssize_t		 got;

	if (c->body_left == 0)
		return 0;
	if (n > c->body_left)
		n = (size_t)c->body_left;
	if ((got = conn_some(c, dst, n)) > 0)
		c->body_left -= (uint64_t)got;
	return got;
}

/* A chunked body, decoded; 0 at its end, -1 (and a 400's log) if bad. */
static ssize_t
http_chunked_read(void *ctx, void *dst, size_t n)
{
	struct conn	*c = ctx;
	size_t		 used, made;
	ssize_t		 got;

	while (!c->chunk.done) {
		if (c->pos == c->len && (got = conn_fill(c)) <= 0) {
			/* The end inside the body: the client went away. */
			if (got == 0)
				errno = ECONNRESET;
			c->chunk_bad = true;
			return -1;
		}
		if (http_chunked_decode(&c->chunk, (char *)c->buf + c->pos,
		    c->len - c->pos, &used, dst, n, &made) != HTTP_CHUNK_OK) {
			conn_log(false, "%s: HTTP: a malformed chunked body: "
			    "closing", conn_peer(c));
			c->chunk_bad = true;
			errno = EPROTO;
			return -1;
		}
		c->pos += used;
		if (made > 0)
			return (ssize_t)made;
	}
	return 0;
}

/* The chunked body's bytes in the buffer decode (into nothing). */
static bool
chunks_valid(const struct conn *c)
{
	struct http_chunked	 probe = c->chunk;
	char			 scratch[4096];
	size_t			 pos = c->pos, used, made;

	while (pos < c->len && !probe.done) {
		if (http_chunked_decode(&probe, (const char *)c->buf + pos,
		    c->len - pos, &used, scratch, sizeof(scratch), &made) !=
		    HTTP_CHUNK_OK)
			return false;
		pos += used;
	}
	return true;
}

/*
 * The unread rest of a body is read and dropped, so that the next
 * request starts where it should, if it is small and comes at once (as
 * nginx's lingering limits do); true when the connection is usable, else
 * it closes.
 */
static bool
http_drain(struct conn *c, bool chunked)
{
	char	buf[4096];
	ssize_t	n;
	size_t	total = 0;
	int64_t	end;

	if (chunked && c->chunk_bad)
		return false;
	if (!chunked && c->body_left == 0)
		return true;
	/* More than DRAIN_MAX, or slower than DRAIN_MS: not worth a wait. */
	if (!chunked && c->body_left > DRAIN_MAX)
		return false;
	end = conn_now() + DRAIN_MS;
	if (c->body_end == 0 || c->body_end > end)
		c->body_end = end;
	c->draining = true;
	do {
		n = chunked ? http_chunked_read(c, buf, sizeof(buf)) :
		    http_length_read(c, buf, sizeof(buf));
	} while (n > 0 && (total += (size_t)n) <= DRAIN_MAX);
	c->draining = false;
	return n == 0;
}

/* A request that cannot be served: its status, a line, the end. */
static void
http_refuse(struct conn *c, int code, const char *why)
{
	static const struct { int code; const char *text; } st[] = {
		{ 400, "Bad Request" }, { 414, "URI Too Long" },
		{ 417, "Expectation Failed" },
		{ 431, "Request Header Fields Too Large" },
		{ 501, "Not Implemented" },
		{ 505, "HTTP Version Not Supported" },
	};
	const char	*text = "Bad Request";
	char		 out[256];
	size_t		 i;
	int		 n;

	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		if (st[i].code == code)
			text = st[i].text;
	conn_log(false, "%s: HTTP: %d: %s: closing", conn_peer(c), code, why);
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s\n", code, text, strlen(text) + 1, text);
	if (n > 0 && (size_t)n < sizeof(out))
		(void)conn_write(c, out, (size_t)n);
}

/*
 * The connection's two ends, numerically, for SERVER_* and REMOTE_*: in
 * buf, four strings of len / 4 bytes.
 */
static void
where(struct conn *c, struct http_where *w, char *buf, size_t len)
{
	size_t	q = len / 4;
	char	*saddr = buf, *sport = buf + q;
	char	*raddr = buf + 2 * q, *rport = buf + 3 * q;

	memset(w, 0, sizeof(*w));
	if (conn_addr(c->fd, false, saddr, q, sport, q) != 1) {
		(void)snprintf(saddr, q, "localhost");
		(void)snprintf(sport, q, "80");
	}
	w->server_addr = saddr;
	w->server_port = sport;
	if (conn_addr(c->fd, true, raddr, q, rport, q) == 1) {
		w->remote_addr = raddr;
		w->remote_port = rport;
	}
}
