/*
 * A server's listening sockets (sockets.c).  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef SOCKETS_H
#define SOCKETS_H

#include <sys/types.h>

#include <stdbool.h>

#include "server.h"

int	 sockets_take(struct srv_options *, bool);
int	 sockets_inet(const char *);
bool	 sockets_fd0_listening(void);
bool	 sockets_unix_addr(const char *);
void	 sockets_chown(const char *, uid_t, gid_t);
void	 sockets_keep(const struct srv_options *, bool);
void	 sockets_forget(void);
void	 sockets_unlink(void);
void	 sockets_let_go(const struct srv_options *);

#endif /* SOCKETS_H */
