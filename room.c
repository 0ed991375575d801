/*
 * A worker's room: the connections it holds between requests (new, kept
 * idle, or with a request still arriving), polled together; a request is
 * served once it is whole, in the protocol its first bytes name.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>
#include <sys/resource.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board.h"
#include "fcgi.h"
#include "http.h"
#include "http_req.h"
#include "metrics.h"
#include "params.h"
#include "server.h"
#include "sockets.h"
#include "conn.h"
#include "pool.h"
#include "proto.h"
#include "room.h"

#define ACCEPT_WAKE	1	/* seconds */
#define ROOM_MAX	256	/* connections a worker holds between requests */
#define ACCEPT_BURST	16	/* connections taken at one wake */
#define FIRST_MS	10	/* a new connection's first bytes awaited alone */
#define ROOM_SPARE	8	/* connections' memory kept for reuse */
#define END_GRACE_MS	2000	/* at a stop, a new connection's first bytes */
#define STOP_GRACE_MS	2000	/* a request asked to stop, before renewal */
#define WATCH_MS	100	/* --request-timeout looked at */

/*
 * A worker's connections that it is not serving: new ones, kept ones
 * between requests, and ones whose request is still arriving.  A request
 * is served only once it is whole (its head, and a body that fits the
 * buffer), so slow clients wait here, not in the worker.
 */
struct room {
	const struct srv_options *o;
	struct conn	*c[ROOM_MAX];
	struct pollfd	 p[ROOM_MAX + 1 + SRV_SOCKETS_MAX];
					/* and the pool's, the sockets */
	struct pool	*pool;		/* --threads: who serves; NULL: we do */
	unsigned	 n;
	unsigned	 max;
	struct conn	*spare[ROOM_SPARE];
	unsigned	 nspare;
	uint64_t	 max_rss;	/* --max-rss, bytes; 0: none */
	int64_t		 grace_end;	/* ms: ending, new ones' first bytes */
	unsigned	 served;	/* requests served here, not by threads */
	struct conn	*ready;		/* whole, first come first served, */
	struct conn	**ready_end;	/* by the thread that holds the room */
	bool		 grown;		/* past it: the worker is renewed */
};

static bool	 room_step(const struct srv_options *, struct room *);
static struct conn *room_lead(void *);
static int	 room_wait(struct room *, bool, int64_t, unsigned *);
static void	 room_accept(struct room *, const struct srv_options *,
		    const struct srv_socket *);
static bool	 room_take(struct room *, int, const struct srv_options *,
		    const struct srv_socket *);
static void	 room_turn(const struct srv_options *, struct room *, unsigned,
		    short, unsigned *);
static void	 room_back(struct room *, unsigned, bool);
static void	 room_taken_back(struct room *);
static void	 room_drop(struct room *, unsigned, const char *);
static void	 room_release(struct room *, struct conn *, const char *);
static void	 room_evict(struct room *);
static void	 room_let_go(const struct srv_options *, struct room *);
static ssize_t	 room_read(struct conn *);
static bool	 is_http(const struct conn *);
static bool	 looks_scgi(const struct conn *);
static bool	 whole(struct conn *, struct http_req *, int *);
static bool	 serve_conn(const struct srv_options *, struct conn *,
		    const struct http_req *, int, unsigned *);
static void	 not_served(struct conn *);
static bool	 room_watch(const struct srv_options *, struct room *);

/*
 * Serves the connections on the listening socket (fd 0, non-blocking),
 * each request once it is whole (one at a time, or each on a thread of
 * the pool's), until the process ends (server_ending(), o->max_requests
 * served, --max-rss passed, or a request stuck past --request-timeout);
 * then, accepting no more, until every connection it took is served.
 * False when a request was left behind on its thread: the process must
 * end without waiting.
 */
bool
room_run(const struct srv_options *o)
{
	struct room		room;
	struct rlimit		rl;
	bool			clean = true;

	memset(&room, 0, sizeof(room));
	room.o = o;
	room.ready_end = &room.ready;
	room.max = ROOM_MAX;
	room.max_rss = (uint64_t)o->max_rss << 20;
	/* Half the descriptors at most: the application has the rest. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < room.max)
		room.max = rl.rlim_cur / 2 > 1 ? (unsigned)(rl.rlim_cur / 2) : 1;
	/*
	 * A request that must be watched runs on a thread of its own: the
	 * threads hold the room in turn, and this one watches them.
	 */
	if (o->threads > 1 || o->request_timeout > 0)
		pool_start(o, serve_conn, room_lead, &room, &room.pool);
	if (room.pool == NULL)
		while (room_step(o, &room))
			server_tick();
	else
		clean = room_watch(o, &room);
	while (room.nspare > 0)
		free(room.spare[--room.nspare]);
	return clean;
}

/*
 * One turn of the room's loop: a poll(2), and what it found; false when
 * the worker has served all it will.  At the end no connection is
 * accepted, and every one accepted is served to its end: an idle kept one
 * goes now, a request that is arriving has until its deadline, and a new
 * one until its first bytes, END_GRACE_MS at most.  With threads whole
 * requests wait in room->ready for the thread that holds the room.
 */
static bool
room_step(const struct srv_options *o, struct room *room)
{
	enum board_end	why;
	unsigned	i, n, total, incoming;
	bool		ending;

	total = room->served + (room->pool != NULL ?
	    pool_served(room->pool) : 0);
	why = room->grown ? BOARD_MAX_RSS : room->pool != NULL &&
	    pool_stuck(room->pool) ? BOARD_REQUEST_TIMEOUT :
	    server_ending() ? BOARD_STOPPED : o->max_requests > 0 &&
	    total >= o->max_requests ? BOARD_MAX_REQUESTS : BOARD_RUNNING;
	ending = why != BOARD_RUNNING;
	if (ending) {
		if (room->grace_end == 0) {
			room->grace_end = conn_now() + END_GRACE_MS;
			/* Why, for the master's count of renewals. */
			board_ending(why);
			if (server_stopping())
				room_let_go(o, room);
		}
		for (i = room->n; i-- > 0;)
			if (room->c[i]->pos == room->c[i]->len &&
			    (room->c[i]->kept || conn_now() >= room->grace_end))
				room_drop(room, i, NULL);
		if (room->n == 0 && room->ready == NULL &&
		    (room->pool == NULL || pool_busy(room->pool) == 0))
			return false;
	}
	n = room->n;
	if (room_wait(room, !ending, room->n > 0 ? room->grace_end : 0,
	    &incoming) < 0)
		return true;
	/* Backwards: a dropped one's place takes one already seen. */
	for (i = n; i-- > 0;)
		room_turn(o, room, i, room->p[i].revents, &room->served);
	if (room->pool != NULL)
		room_taken_back(room);
	if (incoming == 0)
		return true;
	n = room->n;
	for (i = 0; i < o->nsockets; i++)
		if (incoming & (1U << i))
			room_accept(room, o, &o->sockets[i]);
	/* What new connections sent with them, without a poll(2). */
	for (i = room->n; i-- > n;)
		if (room->c[i]->fresh)
			room_turn(o, room, i, 0, &room->served);
	return true;
}

/*
 * The room's loop on the thread that holds it (pool.c), until a request
 * is whole: its connection, taken out of the room; NULL at the end.
 */
static struct conn *
room_lead(void *arg)
{
	struct room	*room = arg;
	struct conn	*c;

	room_taken_back(room);
	while (room->ready == NULL)
		if (!room_step(room->o, room))
			return NULL;
	c = room->ready;
	if ((room->ready = c->next) == NULL)
		room->ready_end = &room->ready;
	return c;
}

/*
 * The first thread, while the pool's hold the room: a signal wakes the
 * room's holder; --request-timeout: a request past it is asked to stop
 * (o->overdue), and one that does not within STOP_GRACE_MS is left
 * behind, so the worker is renewed (serving goes on with the others).
 * Then the threads end; false when one is left behind.
 */
static bool
room_watch(const struct srv_options *o, struct room *room)
{
	unsigned	i;
	enum pool_overdue r;

	while (!pool_wait(room->pool, o->request_timeout > 0 ? WATCH_MS :
	    ACCEPT_WAKE * 1000)) {
		server_tick();
		if (server_ending())
			pool_kick(room->pool);
		if (o->request_timeout == 0)
			continue;
		while ((r = pool_overdue(room->pool, conn_now(),
		    (int64_t)o->request_timeout * 1000, STOP_GRACE_MS, &i)) !=
		    POOL_NONE)
			o->overdue(o->ctx, i, r == POOL_STUCK);
	}
	return pool_stop(room->pool);
}

/*
 * poll(2) over the room's connections (and the listening sockets when
 * listening), until one has bytes, a deadline or until (ms, 0: none)
 * comes, or a second passes (a signal that came just before is seen);
 * *incoming: a bit for each socket with a new connection.  -1 when
 * interrupted.  A
 * worker with bytes to look at, or a connection just taken whose request
 * is on its way, leaves new connections to the other workers: waking
 * them all for each would cost more than it saves.
 */
static int
room_wait(struct room *room, bool listening, int64_t until,
    unsigned *incoming)
{
	const struct srv_options *o = room->o;
	int64_t		now = conn_now(), wait = (int64_t)ACCEPT_WAKE * 1000;
	unsigned	i, n = room->n, k;
	struct conn	*c;

	if (until != 0 && until - now < wait)
		wait = until > now ? until - now : 0;

	for (i = 0; i < n; i++) {
		c = room->c[i];
		room->p[i].fd = c->fd;
		room->p[i].events = POLLIN;
		room->p[i].revents = 0;
		/* Bytes read already: looked at without waiting. */
		if (c->fresh) {
			wait = 0;
			listening = false;
			continue;
		}
		if (!c->kept && c->pos == c->len && now - c->since < FIRST_MS) {
			listening = false;
			if (c->since + FIRST_MS - now < wait)
				wait = c->since + FIRST_MS - now;
		}
		if (c->deadline - now < wait)
			wait = c->deadline - now > 0 ? c->deadline - now : 0;
	}
	/*
	 * A connection handed back.  A worker whose threads are all busy
	 * does not poll at all: another worker's free thread takes the new
	 * connections, or they wait in the socket's queue.
	 */
	k = n;
	if (room->pool != NULL) {
		room->p[k].fd = pool_fd(room->pool);
		room->p[k].events = POLLIN;
		room->p[k++].revents = 0;
	}
	for (i = 0; i < o->nsockets; i++) {
		room->p[k + i].fd = o->sockets[i].fd;
		room->p[k + i].events = POLLIN;
		room->p[k + i].revents = 0;
	}
	*incoming = 0;
	if (poll(room->p, listening ? k + o->nsockets : k, (int)wait) < 0) {
		if (errno != EINTR) {
			warn("poll");
			(void)sleep(1);
		}
		return -1;
	}
	for (i = 0; listening && i < o->nsockets; i++)
		if (room->p[k + i].revents != 0)
			*incoming |= 1U << i;
	return 0;
}

/*
 * New connections into the room, making way if full, until one has sent
 * a request to look at (the other workers take the rest) or a few are
 * in; one alone while no thread but this one is free, so that a less
 * busy worker takes the others.  After the first, one is taken only when
 * the socket says it has one: a failed accept4(2) costs the kernel a
 * socket made and freed.
 */
static void
room_accept(struct room *room, const struct srv_options *o,
    const struct srv_socket *s)
{
	struct pollfd	pfd = { s->fd, POLLIN, 0 };
	unsigned	burst, most = ACCEPT_BURST;
	bool		sent = false;
	int		fd;

	if (room->pool != NULL && !pool_idle(room->pool))
		most = 1;
	for (burst = 0; burst < most && !sent && !server_ending() &&
	    (burst == 0 || poll(&pfd, 1, 0) > 0); burst++) {
		/* Non-blocking: every wait is a poll(2) with the timeout. */
		if ((fd = accept4(s->fd, NULL, NULL,
		    SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0) {
			if (errno != EINTR && errno != ECONNABORTED &&
			    errno != EAGAIN && errno != EWOULDBLOCK) {
				warn("accept");
				(void)sleep(1);
			}
			return;
		}
		if (room->n == room->max)
			room_evict(room);
		sent = room_take(room, fd, o, s);
	}
}

/*
 * A stop (not a reload, whose next image serves the sockets): the
 * connections queued on the sockets are taken, then this process's
 * sockets closed.  When the last process has closed them, a client is
 * refused (its load balancer tries another host) instead of waiting in a
 * queue that no one will accept, to be reset at the end.
 */
static void
room_let_go(const struct srv_options *o, struct room *room)
{
	unsigned	i;
	int		fd;

	for (i = 0; i < o->nsockets; i++)
		while ((fd = accept4(o->sockets[i].fd, NULL, NULL,
		    SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
			if (room->n == room->max)
				room_evict(room);
			(void)room_take(room, fd, o, &o->sockets[i]);
		}
	sockets_let_go(o);
}

/*
 * A new connection joins the room, with what it has sent already; true
 * when that is something to look at.
 */
static bool
room_take(struct room *room, int fd, const struct srv_options *o,
    const struct srv_socket *s)
{
	struct conn	*c;
	ssize_t		 n;

	if (room->nspare > 0)
		c = room->spare[--room->nspare];
	else if ((c = malloc(sizeof(*c))) == NULL) {
		conn_log(true, "malloc");
		(void)close(fd);
		return false;
	}
	memset(c, 0, offsetof(struct conn, buf));
	c->fd = fd;
	c->sock = s;
	c->workers = o->workers * (o->threads > 0 ? o->threads : 1);
	c->wait_ms = (int)o->timeout * 1000;
	c->since = conn_now();
	c->deadline = c->since + c->wait_ms;
	room->c[room->n++] = c;
	if ((n = room_read(c)) == 0)
		room_drop(room, room->n - 1, NULL);
	else if (n > 0)
		c->fresh = true;
	return n > 0;
}

/*
 * The room's connection i after a poll(2): its new bytes read; its request
 * served when whole; closed at its end, an error, or its deadline.
 */
static void
room_turn(const struct srv_options *o, struct room *room, unsigned i,
    short revents, unsigned *served)
{
	struct http_req		 r;
	struct conn		*c = room->c[i];
	bool			 begun = c->pos < c->len;
	ssize_t			 n;
	int			 e = HTTP_REQ_OK;

	/* What is buffered is looked at before more is read. */
	if (revents != 0 && !c->fresh && !c->eof) {
		if ((n = room_read(c)) > 0) {
			/* A request's time runs from its first byte. */
			if (!begun && c->kept)
				c->deadline = conn_now() + c->wait_ms;
			c->fresh = true;
		} else if (n == 0 || (errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR)) {
			if (n < 0 && begun)
				conn_log(true, "%s: read", conn_peer(c));
			/* A client may end its sending after its requests. */
			c->eof = c->fresh = true;
		}
	}
	if (c->fresh) {
		c->fresh = false;
		if (whole(c, &r, &e)) {
			if (room->pool != NULL) {
				room->c[i] = room->c[--room->n];
				c->head = r;
				c->head_e = e;
				c->next = NULL;
				*room->ready_end = c;
				room->ready_end = &c->next;
			} else
				room_back(room, i, serve_conn(o, c, &r, e,
				    served));
			return;
		}
		if (c->eof) {
			room_drop(room, i, c->pos < c->len ? "the connection "
			    "ended inside a request" : NULL);
			return;
		}
	}
	if (conn_now() >= c->deadline)
		room_drop(room, i, c->kept && c->pos == c->len ? NULL :
		    "no whole request within the timeout");
}

/*
 * The room's connection i after its request: kept for another (idle, or
 * its next request already), or closed.
 */
static void
room_back(struct room *room, unsigned i, bool keep)
{
	struct conn	*c = room->c[i];
	uint64_t	 rss;

	if (room->max_rss > 0 && !room->grown &&
	    (rss = metrics_resident(0)) > room->max_rss) {
		conn_log(false, "resident memory %" PRIu64 " MiB, past "
		    "--max-rss: renewing the worker", rss >> 20);
		room->grown = true;
	}
	if (!keep || (c->eof && c->pos == c->len)) {
		room_drop(room, i, NULL);
		return;
	}
	c->kept = true;
	c->deadline = conn_now() + c->wait_ms;
	c->fresh = c->pos < c->len;
}

/* The connections the pool's threads have served come back. */
static void
room_taken_back(struct room *room)
{
	struct conn	*c;
	bool		 keep;

	while ((c = pool_back(room->pool, &keep)) != NULL) {
		if (!keep) {
			room_release(room, c, NULL);
			continue;
		}
		if (room->n == room->max)
			room_evict(room);
		room->c[room->n++] = c;
		room_back(room, room->n - 1, keep);
	}
}

/* Closes the room's connection i, with a log line saying why, if any. */
static void
room_drop(struct room *room, unsigned i, const char *why)
{
	struct conn	*c = room->c[i];

	room->c[i] = room->c[--room->n];
	room_release(room, c, why);
}

/* Closes c; its memory is kept for the next, a few at most. */
static void
room_release(struct room *room, struct conn *c, const char *why)
{
	if (why != NULL)
		conn_log(false, "%s: %s: closing", conn_peer(c), why);
	(void)close(c->fd);
	if (room->nspare < ROOM_SPARE)
		room->spare[room->nspare++] = c;
	else
		free(c);
}

/*
 * A full room makes way for a new connection: an idle kept one goes
 * first, else the one that has waited longest without a whole request.
 */
static void
room_evict(struct room *room)
{
	unsigned	i, pick = 0;
	bool		idle = false, is;

	for (i = 0; i < room->n; i++) {
		is = room->c[i]->kept && room->c[i]->pos == room->c[i]->len;
		if ((is && !idle) || (is == idle &&
		    room->c[i]->deadline < room->c[pick]->deadline)) {
			pick = i;
			idle = is;
		}
	}
	room_drop(room, pick, idle ? NULL : "too many connections waiting for "
	    "a whole request");
}

/* One read(2) without waiting: > 0 bytes, 0 at the end, or -1 (errno). */
static ssize_t
room_read(struct conn *c)
{
	ssize_t	n;

	conn_compact(c);
	if (c->len == sizeof(c->buf)) {
		errno = ENOBUFS;
		return -1;
	}
	while ((n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len)) < 0 &&
	    errno == EINTR)
		;
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

/*
 * The connection speaks HTTP: a kept one, or by its first byte, a token's
 * or an empty line's (what is not a request line is answered 400 or 501),
 * unless the byte begins a gateway protocol that is served: SCGI's length
 * is digits, FastCGI's version 1 and uwsgi's modifier 0 are no token's.
 */
static bool
is_http(const struct conn *c)
{
	char	b = (char)c->buf[c->pos];

	if (c->proto != 0)
		return c->proto == SRV_HTTP;
	if ((c->sock->protocols & SRV_HTTP) == 0 || looks_scgi(c))
		return false;
	return http_token(&b, 1) || b == '\r' || b == '\n';
}

/* Digits, then ':' or nothing yet: an SCGI netstring's length. */
static bool
looks_scgi(const struct conn *c)
{
	size_t	i;

	for (i = c->pos; i < c->len && c->buf[i] >= '0' && c->buf[i] <= '9';
	    i++)
		;
	return i > c->pos && (i == c->len || c->buf[i] == ':');
}

/*
 * A request to serve has arrived: an HTTP head, and a Content-Length body
 * that fits the buffer (unless the client waits for 100 Continue), or a
 * head that cannot be read (*e); the first bytes of another protocol,
 * whose peer is a web server.
 */
static bool
whole(struct conn *c, struct http_req *r, int *e)
{
	size_t	have = c->len - c->pos;

	if (have == 0)
		return false;
	if (!is_http(c))
		return true;
	if ((*e = http_req_parse((char *)c->buf + c->pos, have, r)) ==
	    HTTP_REQ_AGAIN) {
		if (c->pos == 0 && c->len == sizeof(c->buf)) {
			*e = HTTP_REQ_EHEAD;
			return true;
		}
		return false;
	}
	return *e != HTTP_REQ_OK || !r->has_length || r->expect_continue ||
	    r->content_length > sizeof(c->buf) - r->head_len ||
	    have >= r->head_len + r->content_length;
}

/*
 * A request, in the protocol its connection's first byte names; true when
 * the connection goes back to the room for another.
 */
static bool
serve_conn(const struct srv_options *o, struct conn *c,
    const struct http_req *r, int e, unsigned *served)
{
	unsigned char	b = c->buf[c->pos];

	/*
	 * A request's bytes have a bound on their time, not only stalls:
	 * the room's, --timeout from its first byte (deadline), which the
	 * bytes of a body extend.
	 */
	c->last_read = c->deadline - c->wait_ms;
	c->body_end = c->deadline;
	if (is_http(c)) {
		c->proto = SRV_HTTP;
		return proto_http(o, c, r, e, served);
	}
	if (c->proto == SRV_FASTCGI || (b == FCGI_VERSION_1 &&
	    (c->sock->protocols & SRV_FASTCGI))) {
		c->proto = SRV_FASTCGI;
		return proto_fcgi(o, c, served);
	}
	if (looks_scgi(c) && (c->sock->protocols & SRV_SCGI)) {
		proto_scgi(o, c);
		(*served)++;
	} else if (b == 0 && (c->sock->protocols & SRV_UWSGI)) {
		proto_uwsgi(o, c);
		(*served)++;
	} else
		not_served(c);
	return false;
}

/* A request in a protocol this address does not serve: why, and the fix. */
static void
not_served(struct conn *c)
{
	unsigned char	 b = c->buf[c->pos];
	const char	*name = b == FCGI_VERSION_1 ? "fastcgi" : b == 0 ?
			    "uwsgi" : looks_scgi(c) ? "scgi" : NULL;

	if (name == NULL)
		conn_log(false, "%s: not a request of an accepted protocol "
		    "(first byte 0x%02x): closing", conn_peer(c), b);
	else
		conn_log(false, "%s: a %s request, which this address does not "
		    "serve%s: closing (--protocol %s serves it)", conn_peer(c),
		    name, c->sock->http_alone ? " (HOST:PORT serves HTTP alone "
		    "unless --protocol is given)" : "", name);
}
