/*
 * A worker's threads (--threads N, and --request-timeout's one): leaders
 * and followers.  The thread that holds the room (room.c: the connections
 * no request of theirs runs on) polls it; when a request is whole it lets
 * the room go and serves that request itself, then takes the room back if
 * it is free, or hands its connection back through a list and an eventfd
 * the holder polls.  The room passes to another thread only when a request
 * has run LAZY_US without its thread coming back (a deputy, one sleeping
 * thread, watches for that): requests that only compute are all served by
 * one thread, with no wake-up each (the GIL lets one run at a time
 * anyway), and one that waits lets the next go to another thread LAZY_US
 * later.  A connection belongs to one thread at a time.  The threads
 * take no signal: the process's first thread sees them all, and watches
 * --request-timeout (room.c).  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/eventfd.h>

#include <poll.h>
#include <time.h>

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

/* A request's time, without its thread back, before the room moves on. */
#define LAZY_US		1000LL
#define DEPUTY_STAYS	5	/* LAZY_US after the last letting go */

/* What a thread is doing, for --request-timeout. */
struct slot {
	int64_t		 since;		/* ms: its request began; 0: idle */
	bool		 told;		/* asked to stop */
	bool		 stuck;		/* did not: left behind */
};

struct pool {
	const struct srv_options *o;
	pool_serve_fn	 serve;
	pool_lead_fn	 lead;
	void		*arg;		/* lead's */
	pthread_mutex_t	 lock;
	pthread_cond_t	 work;		/* the room is free, or quit */
	pthread_cond_t	 watch;		/* the deputy's */
	struct conn	*done;		/* served, for the room to take */
	unsigned	 running;
	unsigned	 served;	/* requests, for --max-requests */
	unsigned	 n;		/* threads started */
	unsigned	 named;		/* threads that know their index */
	unsigned	 stuck;
	bool		 held;		/* a thread holds the room */
	bool		 deputy;	/* a thread watches the room */
	int64_t		 let_go;	/* us: the room was let go */
	bool		 quit;
	bool		 ended;		/* the room is done */
	int		 wake;		/* eventfd: the room is to look */
	int		 end;		/* eventfd: the room is done */
	pthread_t	 tid[POOL_THREADS_MAX];
	struct slot	 slot[POOL_THREADS_MAX];
};

static void	*pool_thread(void *);
static bool	 pool_follow(struct pool *);
static bool	 pool_lead(struct pool *);
static int64_t	 now_us(void);
static void	 ring(int);

/* The calling thread's index in its pool; -1: not a pool's thread. */
static _Thread_local int	 my_index = -1;

/*
 * o->threads threads, each with every signal blocked, leading (lead, with
 * arg) and serving (serve) in turn; *out is the pool before any starts,
 * NULL (said why) if none could, and the room serves requests itself.
 */
void
pool_start(const struct srv_options *o, pool_serve_fn serve,
    pool_lead_fn lead, void *arg, struct pool **out)
{
	struct pool		*pl;
	pthread_condattr_t	 ca;
	sigset_t		 all, old;
	unsigned		 i, want = o->threads;

	*out = NULL;
	if ((pl = calloc(1, sizeof(*pl))) == NULL) {
		warn("threads");
		return;
	}
	pl->o = o;
	pl->serve = serve;
	pl->lead = lead;
	pl->arg = arg;
	pl->end = -1;
	if ((pl->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    (pl->end = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    pthread_mutex_init(&pl->lock, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&pl->watch, &ca) != 0 ||
	    pthread_cond_init(&pl->work, NULL) != 0) {
		warn("threads");
		if (pl->wake >= 0)
			(void)close(pl->wake);
		if (pl->end >= 0)
			(void)close(pl->end);
		free(pl);
		return;
	}
	(void)pthread_condattr_destroy(&ca);
	*out = pl;
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
		*out = NULL;
		(void)pool_stop(pl);
	}
}

/* What the room polls: readable when a connection is handed back. */
int
pool_fd(const struct pool *pl)
{
	return pl->wake;
}

/*
 * For the room's holder: another thread is free (or there is only one),
 * so a second new request would run at once too.
 */
bool
pool_idle(const struct pool *pl)
{
	struct pool	*p = (struct pool *)(uintptr_t)pl;
	bool		 free_one;

	(void)pthread_mutex_lock(&p->lock);
	free_one = p->n == 1 || p->running + 1 < p->n;
	(void)pthread_mutex_unlock(&p->lock);
	return free_one;
}

/* Requests running, or served and not yet taken back. */
unsigned
pool_busy(const struct pool *pl)
{
	struct pool	*p = (struct pool *)(uintptr_t)pl;
	unsigned	 n;

	(void)pthread_mutex_lock(&p->lock);
	n = p->running - p->stuck + (p->done != NULL);
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

/* A request was left behind: the worker is to be renewed. */
bool
pool_stuck(const struct pool *pl)
{
	struct pool	*p = (struct pool *)(uintptr_t)pl;
	bool		 stuck;

	(void)pthread_mutex_lock(&p->lock);
	stuck = p->stuck > 0;
	(void)pthread_mutex_unlock(&p->lock);
	return stuck;
}

/*
 * For the room's holder: a connection a thread has served, and whether it
 * can carry another (*keep); NULL when none is waiting.
 */
struct conn *
pool_back(struct pool *pl, bool *keep)
{
	struct conn	*c;
	uint64_t	 n;
	ssize_t		 r;

	(void)pthread_mutex_lock(&pl->lock);
	if ((c = pl->done) != NULL)
		pl->done = c->next;
	else {
		/* EAGAIN: nothing was rung. */
		r = read(pl->wake, &n, sizeof(n));
		(void)r;
	}
	(void)pthread_mutex_unlock(&pl->lock);
	if (c != NULL)
		*keep = c->keep_after;
	return c;
}

/* The room's holder looks again (a signal came, a request is stuck). */
void
pool_kick(struct pool *pl)
{
	ring(pl->wake);
}

/*
 * The first thread's wait, ms at most (a signal ends it early): true when
 * the room is done, and pool_stop() is next.
 */
bool
pool_wait(struct pool *pl, int ms)
{
	struct pollfd	pfd = { pl->end, POLLIN, 0 };
	bool		ended;

	(void)poll(&pfd, 1, ms);
	(void)pthread_mutex_lock(&pl->lock);
	ended = pl->ended;
	(void)pthread_mutex_unlock(&pl->lock);
	return ended;
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
	if (r == POOL_STUCK)
		pool_kick(pl);
	return r;
}

/*
 * The threads end (the room is done, or never began); the pool is freed.
 * False when a thread is stuck: the pool is left to it, and the process
 * must end without waiting for it.
 */
bool
pool_stop(struct pool *pl)
{
	unsigned	i;

	(void)pthread_mutex_lock(&pl->lock);
	pl->quit = true;
	(void)pthread_cond_broadcast(&pl->work);
	(void)pthread_cond_broadcast(&pl->watch);
	(void)pthread_mutex_unlock(&pl->lock);
	if (pl->stuck > 0)
		return false;
	for (i = 0; i < pl->n; i++)
		(void)pthread_join(pl->tid[i], NULL);
	(void)pthread_cond_destroy(&pl->work);
	(void)pthread_cond_destroy(&pl->watch);
	(void)pthread_mutex_destroy(&pl->lock);
	(void)close(pl->wake);
	(void)close(pl->end);
	free(pl);
	return true;
}

/* One thread: follows until the room is its, leads, serves; again. */
static void *
pool_thread(void *arg)
{
	struct pool	*pl = arg;

	(void)pthread_mutex_lock(&pl->lock);
	my_index = (int)pl->named++;
	while (pool_follow(pl) && pool_lead(pl))
		;
	(void)pthread_mutex_unlock(&pl->lock);
	if (pl->o->thread_end != NULL)
		pl->o->thread_end(pl->o->ctx);
	return NULL;
}

/*
 * Waits (the lock held) until the room is this thread's to hold: it is
 * free and no request runs, or the one that does has run LAZY_US since
 * the room was let go.  One thread, the deputy, watches for that with a
 * timed wait; the others sleep until the room is let go with no deputy.
 * False at the end.
 */
static bool
pool_follow(struct pool *pl)
{
	struct timespec	ts;
	int64_t		due, now;

	for (;;) {
		if (pl->quit)
			return false;
		now = now_us();
		if (!pl->held && (pl->running == 0 ||
		    now >= pl->let_go + LAZY_US))
			return true;
		/*
		 * While the room is let go often, the deputy stays, waking
		 * every LAZY_US, rather than be woken at each letting go.
		 */
		if (pl->deputy || (pl->held &&
		    now - pl->let_go > DEPUTY_STAYS * LAZY_US)) {
			(void)pthread_cond_wait(&pl->work, &pl->lock);
			continue;
		}
		pl->deputy = true;
		due = (pl->held ? now : pl->let_go) + LAZY_US;
		ts.tv_sec = (time_t)(due / 1000000);
		ts.tv_nsec = (long)(due % 1000000) * 1000;
		(void)pthread_cond_timedwait(&pl->watch, &pl->lock, &ts);
		pl->deputy = false;
	}
}

/*
 * This thread holds the room (the lock held on entry and on return):
 * waits in it until a request is whole, lets it go, and serves the
 * request; then takes the room again if it is free, else hands the
 * connection back.  False at the end.
 */
static bool
pool_lead(struct pool *pl)
{
	struct slot	*s = &pl->slot[my_index];
	struct conn	*c;
	unsigned	 served;
	bool		 keep;

	pl->held = true;
	for (;;) {
		(void)pthread_mutex_unlock(&pl->lock);
		c = pl->lead(pl->arg);
		(void)pthread_mutex_lock(&pl->lock);
		pl->held = false;
		if (c == NULL) {
			pl->ended = pl->quit = true;
			(void)pthread_cond_broadcast(&pl->work);
			(void)pthread_cond_broadcast(&pl->watch);
			ring(pl->end);
			return false;
		}
		pl->let_go = now_us();
		/* A thread to watch the room while this one serves. */
		if (!pl->deputy)
			(void)pthread_cond_signal(&pl->work);
		pl->running++;
		s->since = conn_now();
		s->told = false;
		served = 0;
		(void)pthread_mutex_unlock(&pl->lock);
		keep = pl->serve(pl->o, c, &c->head, c->head_e, &served);
		(void)pthread_mutex_lock(&pl->lock);
		pl->served += served;
		pl->running--;
		s->since = 0;
		/* One that was left behind and came back: counted again. */
		if (s->stuck) {
			s->stuck = false;
			pl->stuck--;
		}
		c->keep_after = keep;
		c->next = pl->done;
		pl->done = c;
		if (pl->held || pl->quit)
			break;
		pl->held = true;
	}
	/* Another holds the room: it takes the connection back. */
	if (!pl->quit) {
		(void)pthread_mutex_unlock(&pl->lock);
		ring(pl->wake);
		(void)pthread_mutex_lock(&pl->lock);
	}
	return !pl->quit;
}

static int64_t
now_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * An eventfd rung: its counter goes up.  It fails only when the counter
 * would overflow, and then it is readable already.
 */
static void
ring(int fd)
{
	uint64_t	one = 1;
	ssize_t		w;

	w = write(fd, &one, sizeof(one));
	(void)w;
}
