/*
 * A worker's connection (struct conn): what has come from its peer and not
 * been used yet, the state of the request it carries, and its buffered,
 * bounded I/O.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef CONN_H
#define CONN_H

#include <sys/types.h>

#include <netdb.h>

#include <stdbool.h>
#include <stdint.h>

#include "http_req.h"
#include "params.h"
#include "server.h"

#define CONN_BUF	65536
#define CONN_PEER_MAX	128
#define CONN_BODY_RATE	1024	/* bytes a second that extend a body's time */

/* A connection and what has been read from it but not used yet. */
struct conn {
	int		 fd;
	const struct srv_socket *sock;	/* it came on */
	char		 peer[CONN_PEER_MAX];
	size_t		 pos;
	size_t		 len;
	/* FastCGI */
	unsigned	 id;		/* the request's id; 0: none */
	bool		 keep;		/* FCGI_KEEP_CONN */
	bool		 idle;		/* waiting for a next request */
	bool		 stdin_eof;
	bool		 aborted;
	size_t		 stdin_left;	/* of the current STDIN record */
	size_t		 pad_left;
	unsigned	 workers;	/* requests served at once */
	int		 wait_ms;	/* how long a peer may stall */
	int64_t		 body_end;	/* ms: the request's bytes by then; 0 */
	int64_t		 last_read;	/* ms: its last bytes came then */
	enum srv_proto	 proto;		/* of its first request; 0: none yet */
	/* Handed to a thread (pool.c) */
	struct http_req	 head;		/* the request that arrived */
	int		 head_e;	/* its parse's result */
	bool		 keep_after;	/* handed back: it can carry another */
	struct conn	*next;
	/* In the worker's room (between requests, or while one arrives) */
	int64_t		 since;		/* ms: accepted then */
	int64_t		 deadline;	/* ms: the request by then, or the end */
	bool		 kept;		/* it has had a request: an idle end is quiet */
	bool		 fresh;		/* bytes came: look for a whole request */
	bool		 eof;		/* the peer sends no more */
	/* HTTP */
	uint64_t	 body_left;	/* of a Content-Length body */
	struct http_chunked chunk;	/* of a chunked body */
	bool		 chunk_bad;
	bool		 draining;	/* a body no one reads: ends quietly */
	bool		 known;		/* where: found once per connection */
	struct http_where where;
	char		 names[4 * NI_MAXHOST];
	unsigned char	 buf[CONN_BUF];
};

void		 conn_compact(struct conn *);
ssize_t		 conn_fill(struct conn *);
ssize_t		 conn_read(struct conn *, void *, size_t);
int		 conn_exact(struct conn *, void *, size_t);
ssize_t		 conn_some(struct conn *, void *, size_t);
int		 conn_write(struct conn *, const void *, size_t);
int		 conn_skip(struct conn *, size_t);
void		 conn_run(const struct srv_options *, struct conn *,
		    struct params *, enum srv_proto,
		    ssize_t (*)(void *, void *, size_t),
		    const struct resp_frame *);
void		 conn_refused(struct conn *, const char *, const char *, int);
const char	*conn_peer(struct conn *);
int		 conn_addr(int, bool, char *, size_t, char *, size_t);
void		 conn_log_to(int);
void		 conn_log(bool, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
int64_t		 conn_now(void);

#endif /* CONN_H */
