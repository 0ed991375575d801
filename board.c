/*
 * The workers' board: one slot a worker in a page shared by the master
 * and its workers (MAP_SHARED, made before they fork; a single process
 * has one slot of its own).  A worker counts in its slot the requests it
 * has in flight (all its threads') and those it has served, by protocol
 * and status class, with their durations in buckets, and says why it
 * ends; the master reads them for systemd's STATUS= line and for --stats.
 * The counters are atomic: a worker's threads write them, its master
 * reads them, nobody waits.  A renewed worker keeps its slot's counts
 * (the totals go on) and starts with none in flight (one that died may
 * have left some).  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/mman.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "board.h"

struct slot {
	atomic_uint		busy;
	atomic_ullong		requests[BOARD_PROTOS][BOARD_CLASSES];
	atomic_ullong		buckets[BOARD_BUCKETS + 1];
	atomic_ullong		usec;
	atomic_int		end;
};

/* Seconds: Prometheus's default buckets, and 1 ms. */
const double	board_bounds[BOARD_BUCKETS] = { 0.001, 0.005, 0.01, 0.025,
		    0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };

static struct slot	*slots;		/* the process's: made once */
static unsigned		 nslots;
static struct slot	*mine;		/* this worker's */

/* A board for n workers; false (no board, no counting) if none. */
bool
board_open(unsigned n)
{
	void	*p;

	if (slots != NULL)
		return true;
	if (n == 0 || (p = mmap(NULL, n * sizeof(*slots), PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		return false;
	slots = p;
	nslots = n;
	return true;
}

/* This process is worker i: its slot, nothing in flight. */
void
board_take(unsigned i)
{
	if (slots == NULL || i >= nslots)
		return;
	mine = &slots[i];
	atomic_store(&mine->busy, 0);
	atomic_store(&mine->end, BOARD_RUNNING);
}

/* A request begins. */
void
board_begin(void)
{
	if (mine != NULL)
		atomic_fetch_add(&mine->busy, 1);
}

/*
 * A request ends: its protocol (index), status (its class; 0 when no
 * response began) and duration.  The requests served are the durations
 * counted.
 */
void
board_request(unsigned proto, int status, uint64_t usec)
{
	unsigned	b;

	if (mine == NULL)
		return;
	atomic_fetch_sub(&mine->busy, 1);
	if (proto < BOARD_PROTOS && status >= 100 && status < 600)
		atomic_fetch_add(&mine->requests[proto][status / 100 - 1], 1);
	for (b = 0; b < BOARD_BUCKETS && (double)usec / 1e6 >
	    board_bounds[b]; b++)
		;
	atomic_fetch_add(&mine->buckets[b], 1);
	atomic_fetch_add(&mine->usec, usec);
}

/* This worker ends, and why (its master counts the renewals). */
void
board_ending(enum board_end why)
{
	if (mine != NULL)
		atomic_store(&mine->end, (int)why);
}

/* Worker i's counts; false if there is no such slot. */
bool
board_read(unsigned i, struct board_counts *c)
{
	unsigned	p, k;

	if (slots == NULL || i >= nslots)
		return false;
	c->busy = atomic_load(&slots[i].busy);
	for (p = 0; p < BOARD_PROTOS; p++)
		for (k = 0; k < BOARD_CLASSES; k++)
			c->requests[p][k] =
			    atomic_load(&slots[i].requests[p][k]);
	for (k = 0; k <= BOARD_BUCKETS; k++)
		c->buckets[k] = atomic_load(&slots[i].buckets[k]);
	c->usec = atomic_load(&slots[i].usec);
	c->end = atomic_load(&slots[i].end);
	return true;
}

/* The requests in flight and served, over every worker; false if none. */
bool
board_sum(unsigned *busy, unsigned long long *served)
{
	struct board_counts	c;
	unsigned		i, k;

	*busy = 0;
	*served = 0;
	for (i = 0; board_read(i, &c); i++) {
		*busy += c.busy;
		for (k = 0; k <= BOARD_BUCKETS; k++)
			*served += c.buckets[k];
	}
	return i > 0;
}
