/*
 * A worker's connection: buffered non-blocking I/O with its peer, each
 * read or write bounded by --timeout and a request's whole time by its
 * size; who the peer is, and a line about it in the server's log.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"
#include "http_req.h"
#include "params.h"
#include "server.h"
#include "conn.h"
#include "response.h"

static int	 phase_left(const struct conn *);

/* The server's own log: stderr, or a copy of it (conn_log_to). */
static int	 log_fd = STDERR_FILENO;

static int	 phase_left(const struct conn *);

/* Room at the end of the buffer: what was used goes when it is full. */
void
conn_compact(struct conn *c)
{
	if (c->pos > 0 && c->pos == c->len)
		c->pos = c->len = 0;
	if (c->len == sizeof(c->buf) && c->pos > 0) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->pos = 0;
	}
}

/* More bytes into the buffer; 0 at the end, -1 on error (logged). */
ssize_t
conn_fill(struct conn *c)
{
	ssize_t	n;

	conn_compact(c);
	if ((n = conn_read(c, c->buf + c->len, sizeof(c->buf) - c->len)) < 0) {
		if (errno != ETIMEDOUT)
			conn_log(true, "%s: read", conn_peer(c));
	} else
		c->len += (size_t)n;
	return n;
}

/*
 * read(2) of the non-blocking connection, waiting at most the timeout for
 * bytes: a peer that stalls is dropped (ETIMEDOUT, and a log line).
 */
ssize_t
conn_read(struct conn *c, void *dst, size_t n)
{
	struct pollfd	pfd;
	ssize_t		r;
	int		p, wait;

	for (;;) {
		if ((r = read(c->fd, dst, n)) > 0 && c->body_end != 0) {
			c->body_end += r * 1000 / CONN_BODY_RATE;
			c->last_read = conn_now();
		}
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if ((wait = phase_left(c)) == 0) {
			/* Nothing since the phase began: a stall like any. */
			if (!c->draining)
					conn_log(false, "%s: %s: closing", conn_peer(c),
				    conn_now() - c->last_read >= c->wait_ms ?
				    "the peer stopped sending" : "the request "
				    "took longer than the timeout to arrive");
			errno = ETIMEDOUT;
			return -1;
		}
		while ((p = poll(&pfd, 1, wait)) < 0 && errno == EINTR)
			/* Kept open between requests: a stop need not wait. */
			if (c->idle && server_ending())
				return -1;
		if (p == 0 && wait < c->wait_ms)
			continue;	/* the phase's end: said above */
		if (p == 0) {
			/* An idle kept connection timing out is no fault. */
			if (!c->idle && !c->draining)
				conn_log(false, "%s: the peer stopped sending: "
				    "closing", conn_peer(c));
			errno = ETIMEDOUT;
			return -1;
		}
		if (p < 0)
			return -1;
	}
}

/*
 * How long a read may wait: the stall limit, within what is left of the
 * request's time to arrive (--timeout from its start, a second more for
 * every CONN_BODY_RATE bytes that came: a slow upload goes on, a trickle ends).
 * 0 when that time is up.  A kept connection's wait for its next request
 * is no request's.
 */
static int
phase_left(const struct conn *c)
{
	int64_t	left;

	if (c->body_end == 0 || c->idle)
		return c->wait_ms;
	if ((left = c->body_end - conn_now()) <= 0)
		return 0;
	return left < c->wait_ms ? (int)left : c->wait_ms;
}

/* Exactly n bytes, or -1 (the end came first, or an error). */
int
conn_exact(struct conn *c, void *dst, size_t n)
{
	unsigned char	*d = dst;
	size_t		 k;
	ssize_t		 r;

	while (n > 0) {
		if (c->pos == c->len) {
			if ((r = conn_fill(c)) <= 0) {
				if (r == 0)
					conn_log(false, "%s: the connection ended inside "
					    "a request: closing", conn_peer(c));
				return -1;
			}
			continue;
		}
		k = c->len - c->pos < n ? c->len - c->pos : n;
		memcpy(d, c->buf + c->pos, k);
		c->pos += k;
		d += k;
		n -= k;
	}
	return 0;
}

/* Up to n bytes: what is buffered, else one read(2) straight into dst. */
ssize_t
conn_some(struct conn *c, void *dst, size_t n)
{
	size_t	k;

	if (c->pos < c->len) {
		k = c->len - c->pos < n ? c->len - c->pos : n;
		memcpy(dst, c->buf + c->pos, k);
		c->pos += k;
		return (ssize_t)k;
	}
	return conn_read(c, dst, n);
}

int
conn_write(struct conn *c, const void *buf, size_t n)
{
	const char	*p = buf;
	ssize_t		 w;

	struct pollfd	 pfd;

	while (n > 0) {
		if ((w = write(c->fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			pfd.fd = c->fd;
			pfd.events = POLLOUT;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    poll(&pfd, 1, c->wait_ms) > 0)
				continue;
			conn_log(true, "%s: write", conn_peer(c));
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
conn_skip(struct conn *c, size_t n)
{
	unsigned char	scratch[256];
	size_t		k;

	while (n > 0) {
		k = n < sizeof(scratch) ? n : sizeof(scratch);
		if (conn_exact(c, scratch, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/*
 * A gateway protocol's request (FastCGI, SCGI, uwsgi) to the application:
 * its variables, its body through rd, the connection for the response
 * (framed by frame: FastCGI's records; NULL: none).
 */
void
conn_run(const struct srv_options *o, struct conn *c, struct params *p,
    enum srv_proto proto, ssize_t (*rd)(void *, void *, size_t),
    const struct resp_frame *frame)
{
	static char		*none[] = { NULL };
	struct srv_request	 r;
	struct outcome		 out;

	r.envp = p->envp != NULL ? p->envp : none;
	r.fd = c->fd;
	r.proto = proto;
	r.frame = frame;
	r.ctx = c;
	r.read = rd;
	r.wait_ms = c->wait_ms;
	r.to_end = false;
	r.http_keep = false;
	r.stop = NULL;
	(void)o->handle(o->ctx, &r, &out);
}

/* A request a protocol does not allow: one line, and the connection ends. */
void
conn_refused(struct conn *c, const char *proto, const char *why, int perr)
{
	conn_log(false, "%s: %s: %s%s%s: closing", conn_peer(c), proto, why,
	    perr >= 0 ? ": " : "", perr >= 0 ? params_strerror(perr) : "");
}

/*
 * "unix socket peer", or "ADDR:PORT", for log lines about a connection;
 * found when first needed, so that a request that goes well never asks.
 */
const char *
conn_peer(struct conn *c)
{
	char	host[NI_MAXHOST], port[NI_MAXSERV];

	if (c->peer[0] != '\0')
		return c->peer;
	switch (conn_addr(c->fd, true, host, sizeof(host), port,
	    sizeof(port))) {
	case 1:
		(void)snprintf(c->peer, sizeof(c->peer), "%.64s:%.8s", host,
		    port);
		break;
	case 0:
		(void)snprintf(c->peer, sizeof(c->peer), "unix socket peer");
		break;
	default:
		(void)snprintf(c->peer, sizeof(c->peer), "peer");
	}
	return c->peer;
}

void
conn_log_to(int fd)
{
	log_fd = fd;
}

/*
 * A line about a connection, "wsgi-cgi: ..." (and ": strerror" when
 * with_errno), to the server's own stderr even while a FastCGI request has
 * fd 2 for its STDERR records.
 */
void
conn_log(bool with_errno, const char *fmt, ...)
{
	char	msg[768], line[1024];
	va_list	ap;
	ssize_t	w;
	int	saved = errno, n;

	msg[0] = '\0';
	va_start(ap, fmt);
	/* The analyzer does not see va_start initialise ap. */
	n = vsnprintf(msg, sizeof(msg), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	va_end(ap);
	if (n < 0)
		return;
	n = snprintf(line, sizeof(line), "wsgi-cgi: %s%s%s\n", msg,
	    with_errno ? ": " : "", with_errno ? strerror(saved) : "");
	/* A log line that cannot be written has nowhere else to go. */
	if (n > 0) {
		w = write(log_fd, line, (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1);
		(void)w;
	}
	errno = saved;
}

int64_t
conn_now(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The numeric address and port of fd's peer, or of its own end: 1; 0 for
 * a Unix socket, -1 when they cannot be had.  An IPv4 client of a socket
 * bound to [::] has an IPv4-mapped IPv6 address (::ffff:a.b.c.d): it is
 * given as the IPv4 address it is, in REMOTE_ADDR and in the logs.
 */
int
conn_addr(int fd, bool peer, char *host, size_t hl, char *port, size_t pl)
{
	struct sockaddr_storage	ss;
	struct sockaddr_in6	six;
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &sl) :
	    getsockname(fd, (struct sockaddr *)&ss, &sl)) < 0)
		return -1;
	if (ss.ss_family == AF_UNIX)
		return 0;
	if (ss.ss_family == AF_INET6 && sl >= sizeof(six)) {
		memcpy(&six, &ss, sizeof(six));
		if (IN6_IS_ADDR_V4MAPPED(&six.sin6_addr)) {
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_port = six.sin6_port;
			memcpy(&sin.sin_addr, &six.sin6_addr.s6_addr[12], 4);
			memcpy(&ss, &sin, sizeof(sin));
			sl = sizeof(sin);
		}
	}
	return getnameinfo((struct sockaddr *)&ss, sl, host, (socklen_t)hl,
	    port, (socklen_t)pl, NI_NUMERICHOST | NI_NUMERICSERV) == 0 ? 1 : -1;
}
