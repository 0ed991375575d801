/*
 * Unit tests of board.c: each worker's slot, shared across fork(2); the
 * sum of requests in flight and served; a renewed worker keeps counting.
 * SPDX-License-Identifier: MIT
 */
#include <sys/wait.h>

#include <unistd.h>

#include "board.h"
#include "unit.h"

static void
counts(void)
{
	unsigned long long	served;
	unsigned		busy;
	pid_t			pid;
	int			status;

	CHECK(board_open(2));
	CHECK(board_sum(&busy, &served) && busy == 0 && served == 0);
	/* A worker in slot 1, in a child, as a master's would be. */
	if ((pid = fork()) == 0) {
		board_take(1);
		board_begin();
		board_begin();
		board_request(3, 200, 1000);
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && status == 0);
	CHECK(board_sum(&busy, &served) && busy == 1 && served == 1);
	/* Renewed: the one it left in flight is gone, its count stays. */
	board_take(1);
	CHECK(board_sum(&busy, &served) && busy == 0 && served == 1);
	board_begin();
	board_request(0, 0, 10);	/* no response began: still served */
	board_begin();
	board_request(3, 404, 20);
	CHECK(board_sum(&busy, &served) && busy == 0 && served == 3);
}

const struct unit_test board_tests[] = {
	{ "board: a worker's counts reach its master across fork; a renewed "
	    "worker keeps its slot's served count", counts },
	{ NULL, NULL }
};
