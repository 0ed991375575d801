/*
 * The workers' board: a shared page where each worker counts its requests
 * (in flight, served, by protocol and status class, and their durations),
 * read by its master for systemd's STATUS= line and for --stats.
 * Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef BOARD_H
#define BOARD_H

#include <stdbool.h>
#include <stdint.h>

#define BOARD_PROTOS	4	/* FastCGI, SCGI, uwsgi, HTTP */
#define BOARD_CLASSES	5	/* 1xx to 5xx */
#define BOARD_BUCKETS	11	/* durations' upper bounds, +Inf besides */

/* Why a worker ended, as it says before it does. */
enum board_end {
	BOARD_RUNNING,
	BOARD_STOPPED,		/* a stop or a reload */
	BOARD_MAX_REQUESTS,
	BOARD_MAX_RSS,
	BOARD_REQUEST_TIMEOUT
};

/* One worker's counts, copied out. */
struct board_counts {
	unsigned		busy;
	unsigned long long	requests[BOARD_PROTOS][BOARD_CLASSES];
	unsigned long long	buckets[BOARD_BUCKETS + 1];	/* not summed */
	unsigned long long	usec;		/* durations' sum */
	int			end;		/* enum board_end */
};

extern const double	board_bounds[BOARD_BUCKETS];

bool	board_open(unsigned);
void	board_take(unsigned);
void	board_begin(void);
void	board_request(unsigned, int, uint64_t);
void	board_ending(enum board_end);
bool	board_sum(unsigned *, unsigned long long *);
bool	board_read(unsigned, struct board_counts *);

#endif /* BOARD_H */
