/*
 * A worker's threads (--threads, --request-timeout): leaders and
 * followers.  One thread at a time holds the room (room.c) and waits on
 * its connections; when a request is whole it lets the room go and serves
 * the request itself, and the room passes to another thread only when that
 * request takes a while.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef POOL_H
#define POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "http_req.h"
#include "server.h"

#define POOL_THREADS_MAX	256

struct pool;

enum pool_overdue {
	POOL_NONE,
	POOL_TELL,	/* ask the request to stop */
	POOL_STUCK	/* it did not: renew the worker */
};

/* Serves c's request; true when c can carry another (room.c). */
typedef bool	(*pool_serve_fn)(const struct srv_options *, struct conn *,
		    const struct http_req *, int, unsigned *);
/*
 * The room's loop, on the thread that holds it, until a connection has a
 * whole request (its head in c->head, c->head_e), taken out of the room;
 * NULL when the worker has served all it will (room.c).
 */
typedef struct conn *(*pool_lead_fn)(void *);

void		 pool_start(const struct srv_options *, pool_serve_fn,
		    pool_lead_fn, void *, struct pool **);
int		 pool_fd(const struct pool *);
bool		 pool_idle(const struct pool *);
unsigned	 pool_busy(const struct pool *);
unsigned	 pool_served(const struct pool *);
bool		 pool_stuck(const struct pool *);
struct conn	*pool_back(struct pool *, bool *);
void		 pool_kick(struct pool *);
bool		 pool_wait(struct pool *, int);
int		 pool_thread_index(void);
enum pool_overdue pool_overdue(struct pool *, int64_t, int64_t, int64_t,
		    unsigned *);
bool		 pool_stop(struct pool *);

#endif /* POOL_H */
