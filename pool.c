/*
 * A worker's threads (--threads N): the room (room.c) keeps the
 * connections no request of theirs runs on, and hands each whose request
 * has arrived to a thread here, which serves it (the protocol file, the
 * application) and hands the connection back, through a queue and an
 * eventfd the room polls.  A connection belongs to one side at a time.
 * The threads take no signal: the room's thread sees them all.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/eventfd.h>

#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"

/* What a thread is doing, for --request-timeout. */
struct slot {
	int64_t		 since;		/* ms: its request began; 0: idle */
	bool		 told;		/* asked to stop */
	bool		 stuck;		/* did not: left behind */
};

struct pool {
	const struct srv_options *o;
	pool_serve_fn	 serve;
	pool_next_fn	 next;
	pthread_mutex_t	 lock;
	pthread_cond_t	 work;		/* a request is queued, or quit */
	struct conn	*todo;		/* first in, first served */
	struct conn	**todo_end;
	struct conn	*done;		/* served, for the room to take */
	unsigned	 queued;	/* in todo */
	unsigned	 running;
	unsigned	 lingering;	/* waiting for a served one's next */
	unsigned	 served;	/* requests, for --max-requests */
	unsigned	 n;		/* threads started */
	unsigned	 named;		/* threads that know their index */
	unsigned	 stuck;
	bool		 quit;
	int		 wake;		/* eventfd: something is done */
	pthread_t	 tid[POOL_THREADS_MAX];
	struct slot	 slot[POOL_THREADS_MAX];
};

static void	*pool_thread(void *);
static bool	 pool_serve(struct pool *, struct conn *);

/* The calling thread's index in its pool; -1: not a pool's thread. */
static _Thread_local int	 my_index = -1;

/*
 * o->threads threads, each with every signal blocked; NULL (said why) if
 * none could start, and the room serves requests itself.
 */
struct pool *
pool_start(const struct srv_options *o, pool_serve_fn serve,
    pool_next_fn next)
{
	struct pool	*pl;
	sigset_t	 all, old;
	unsigned	 i, want = o->threads;

	if ((pl = calloc(1, sizeof(*pl))) == NULL) {
		warn("threads");
		return NULL;
	}
	pl->o = o;
	pl->serve = serve;
	pl->next = next;
	pl->todo_end = &pl->todo;
	if ((pl->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    pthread_mutex_init(&pl->lock, NULL) != 0 ||
	    pthread_cond_init(&pl->work, NULL) != 0) {
		warn("threads");
		if (pl->wake >= 0)
			(void)close(pl->wake);
		free(pl);
		return NULL;
	}
	if (want > POOL_THREADS_MAX)
		want = POOL_THREADS_MAX;
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < want; i++) {
		if ((errno = pthread_create(&pl->tid[i], NULL, pool_thread,
		    pl)) != 0) {
			warn("%u threads: only %u start", want, i);
			break;
		}
		pl->n++;
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pl->n == 0) {
		(void)pool_stop(pl);
		return NULL;
	}
	return pl;
}

/* What the room polls: readable when a connection is handed back. */
int
pool_fd(const struct pool *pl)
{
	return pl->wake;
}

/* A thread is free: a new request would run at once. */
bool
pool_idle(const struct pool *pl)
{
	struct pool	*p = (struct pool *)(uintptr_t)pl;
	bool		 free_one;

	(void)pthread_mutex_lock(&p->lock);
	free_one = p->running + p->queued < p->n;
	(void)pthread_mutex_unlock(&p->lock);
	return free_one;
}

/* Requests queued, running, or served and not yet taken back. */
unsigned
pool_busy(const struct pool *pl)
{
	struct pool	*p = (struct pool *)(uintptr_t)pl;
	unsigned	 n;

	(void)pthread_mutex_lock(&p->lock);
	n = p->running - p->stuck + p->lingering + p->queued +
	    (p->done != NULL);
	(void)pthread_mutex_unlock(&p->lock);
	return n;
}

/* The requests the threads have served. */
unsigned
pool_served(const struct pool *pl)
{
	struct pool	*p = (struct pool *)(uintptr_t)pl;
	unsigned	 n;

	(void)pthread_mutex_lock(&p->lock);
	n = p->served;
	(void)pthread_mutex_unlock(&p->lock);
	return n;
}

/* c, whose request r (error e) has arrived, goes to a thread. */
void
pool_give(struct pool *pl, struct conn *c, const struct http_req *r, int e)
{
	c->head = *r;
	c->head_e = e;
	c->next = NULL;
	(void)pthread_mutex_lock(&pl->lock);
	*pl->todo_end = c;
	pl->todo_end = &c->next;
	pl->queued++;
	(void)pthread_mutex_unlock(&pl->lock);
	/* Unlocked: the thread woken does not wait for the lock at once. */
	(void)pthread_cond_signal(&pl->work);
}

/*
 * A connection a thread has served, and whether it can carry another
 * (*keep); NULL when none is waiting.
 */
struct conn *
pool_back(struct pool *pl, bool *keep)
{
	struct conn	*c;
	uint64_t	 n;

	(void)pthread_mutex_lock(&pl->lock);
	if ((c = pl->done) != NULL)
		pl->done = c->next;
	else
		(void)read(pl->wake, &n, sizeof(n));
	(void)pthread_mutex_unlock(&pl->lock);
	if (c != NULL)
		*keep = c->keep_after;
	return c;
}

/* The index of the calling thread in its pool, or -1. */
int
pool_thread_index(void)
{
	return my_index;
}

/*
 * --request-timeout: a thread whose request has run limit ms, to be asked
 * to stop (POOL_TELL), or one asked grace ms ago that did not (POOL_STUCK:
 * it is left behind, and the worker must be renewed); its index in *idx.
 */
enum pool_overdue
pool_overdue(struct pool *pl, int64_t now, int64_t limit, int64_t grace,
    unsigned *idx)
{
	enum pool_overdue	 r = POOL_NONE;
	struct slot		*s;
	unsigned		 i;

	(void)pthread_mutex_lock(&pl->lock);
	for (i = 0; i < pl->n && r == POOL_NONE; i++) {
		s = &pl->slot[i];
		if (s->since == 0 || s->stuck || now - s->since < limit)
			continue;
		if (!s->told) {
			s->told = true;
			r = POOL_TELL;
		} else if (now - s->since >= limit + grace) {
			s->stuck = true;
			pl->stuck++;
			r = POOL_STUCK;
		} else
			continue;
		*idx = i;
	}
	(void)pthread_mutex_unlock(&pl->lock);
	return r;
}

/*
 * The threads finish what they have (the room has stopped giving), then
 * end; the pool is freed.  False when a thread is stuck: the pool is left
 * to it, and the process must end without waiting for it.
 */
bool
pool_stop(struct pool *pl)
{
	unsigned	i;

	(void)pthread_mutex_lock(&pl->lock);
	pl->quit = true;
	(void)pthread_cond_broadcast(&pl->work);
	(void)pthread_mutex_unlock(&pl->lock);
	if (pl->stuck > 0)
		return false;
	for (i = 0; i < pl->n; i++)
		(void)pthread_join(pl->tid[i], NULL);
	(void)pthread_cond_destroy(&pl->work);
	(void)pthread_mutex_destroy(&pl->lock);
	(void)close(pl->wake);
	free(pl);
	return true;
}

/* One thread: a queued request at a time, served, handed back. */
static void *
pool_thread(void *arg)
{
	struct pool	*pl = arg;
	struct conn	*c;
	uint64_t	 one = 1;

	(void)pthread_mutex_lock(&pl->lock);
	my_index = (int)pl->named++;
	for (;;) {
		while (pl->todo == NULL && !pl->quit)
			(void)pthread_cond_wait(&pl->work, &pl->lock);
		if ((c = pl->todo) == NULL)
			break;
		if ((pl->todo = c->next) == NULL)
			pl->todo_end = &pl->todo;
		pl->queued--;
		c->keep_after = pool_serve(pl, c);
		c->next = pl->done;
		pl->done = c;
		(void)pthread_mutex_unlock(&pl->lock);
		(void)write(pl->wake, &one, sizeof(one));
		(void)pthread_mutex_lock(&pl->lock);
	}
	(void)pthread_mutex_unlock(&pl->lock);
	if (pl->o->thread_end != NULL)
		pl->o->thread_end(pl->o->ctx);
	return NULL;
}

/*
 * c's request, then each next one it sends at once, while another thread
 * is free for the room's (pl->next): a client that keeps its connection
 * busy costs no trip through the room, two wake-ups a request.  Called and
 * returns with the lock held; true when c can carry another request.
 */
static bool
pool_serve(struct pool *pl, struct conn *c)
{
	struct slot	*s = &pl->slot[my_index];
	unsigned	 served, before;
	bool		 keep, next;

	for (;;) {
		pl->running++;
		s->since = conn_now();
		s->told = false;
		served = before = pl->served;
		(void)pthread_mutex_unlock(&pl->lock);
		keep = pl->serve(pl->o, c, &c->head, c->head_e, &served);
		(void)pthread_mutex_lock(&pl->lock);
		pl->served += served - before;
		pl->running--;
		s->since = 0;
		/* One that was left behind and came back: counted again. */
		if (s->stuck) {
			s->stuck = false;
			pl->stuck--;
		}
		if (!keep || pl->next == NULL || pl->quit ||
		    (pl->o->max_requests > 0 &&
		    pl->served >= pl->o->max_requests) ||
		    pl->running + pl->lingering + pl->queued + 1 >= pl->n)
			return keep;
		pl->lingering++;
		(void)pthread_mutex_unlock(&pl->lock);
		next = pl->next(pl->o, c, &c->head, &c->head_e);
		(void)pthread_mutex_lock(&pl->lock);
		pl->lingering--;
		if (!next)
			return keep;
	}
}
