/*
 * --access-log[=FILE]: where a server's access lines go, and its reopening
 * on SIGUSR1.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef ACCESS_LOG_H
#define ACCESS_LOG_H

#include <stddef.h>

int	access_log_open(const char *);
int	access_log_reopen(void);
void	access_log_write(const char *, size_t);

#endif /* ACCESS_LOG_H */
