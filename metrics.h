/*
 * --stats: the workers' board and the master's counts in the Prometheus
 * text format.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef METRICS_H
#define METRICS_H

#include <sys/types.h>

#include <stddef.h>

#include "board.h"
#include "server.h"

/* What the master knows besides the board. */
struct metrics_master {
	unsigned		 workers;
	unsigned		 threads;	/* a worker's */
	const pid_t		*pids;		/* 0: none in that slot now */
	unsigned long long	 renewals[BOARD_REQUEST_TIMEOUT + 1];
					/* [BOARD_RUNNING]: crashed */
	int			 listen_fds[SRV_SOCKETS_MAX];
	unsigned		 nlisten;	/* TCP ones: queues read */
};

size_t			metrics_render(const struct metrics_master *, char *,
			    size_t);
unsigned long long	metrics_resident(pid_t);
void			metrics_answer(int, const struct metrics_master *);

#endif /* METRICS_H */
