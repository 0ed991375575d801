/*
 * The workers' board: a shared page where each worker counts its requests
 * in flight and served, read by the process systemd started for its
 * STATUS= line.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef BOARD_H
#define BOARD_H

#include <stdbool.h>

bool	board_open(unsigned);
void	board_take(unsigned);
void	board_begin(void);
void	board_end(unsigned);
bool	board_sum(unsigned *, unsigned long long *);

#endif /* BOARD_H */
