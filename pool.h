/*
 * A worker's threads (--threads): the room hands each a connection whose
 * request has arrived; the thread serves it, and its next request if that
 * comes at once, and hands the connection back.
 * Plain C.
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
 * Waits a moment for c's next request, on the thread that served c; true
 * when it is whole (its head in *r, an error in *e), false when c goes back
 * to the room as it is (room.c).
 */
typedef bool	(*pool_next_fn)(const struct srv_options *, struct conn *,
		    struct http_req *, int *);

struct pool	*pool_start(const struct srv_options *, pool_serve_fn,
		    pool_next_fn);
int		 pool_fd(const struct pool *);
bool		 pool_idle(const struct pool *);
unsigned	 pool_busy(const struct pool *);
unsigned	 pool_served(const struct pool *);
void		 pool_give(struct pool *, struct conn *, const struct http_req *,
		    int);
struct conn	*pool_back(struct pool *, bool *);
int		 pool_thread_index(void);
enum pool_overdue pool_overdue(struct pool *, int64_t, int64_t, int64_t,
		    unsigned *);
bool		 pool_stop(struct pool *);

#endif /* POOL_H */
