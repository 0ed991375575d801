/*
 * The workers' board: one slot a worker in a page shared by the master
 * and its workers (MAP_SHARED, made before they fork; a single process
 * has one slot of its own).  A worker counts in its slot the requests it
 * has in flight (all its threads') and those it has served; the master
 * sums them for systemd's STATUS= line.  The counters are atomic: a
 * worker's threads write them, its master reads them, nobody waits.  A
 * renewed worker keeps its slot's served count (the total goes on) and
 * starts with none in flight (one that died may have left some).  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/mman.h>

#include <stdatomic.h>
#include <stddef.h>

#include "board.h"

struct slot {
	atomic_uint		busy;
	atomic_ullong		served;
};

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
}

/* A request begins. */
void
board_begin(void)
{
	if (mine != NULL)
		atomic_fetch_add(&mine->busy, 1);
}

/* A request ends, served requests served (0: it was not a whole one). */
void
board_end(unsigned served)
{
	if (mine == NULL)
		return;
	atomic_fetch_sub(&mine->busy, 1);
	if (served > 0)
		atomic_fetch_add(&mine->served, served);
}

/* The requests in flight and served, over every worker; false if none. */
bool
board_sum(unsigned *busy, unsigned long long *served)
{
	unsigned	i;

	*busy = 0;
	*served = 0;
	if (slots == NULL)
		return false;
	for (i = 0; i < nslots; i++) {
		*busy += atomic_load(&slots[i].busy);
		*served += atomic_load(&slots[i].served);
	}
	return true;
}
