/*
 * systemd's two small protocols, spoken without libsystemd: socket
 * activation (LISTEN_PID, LISTEN_FDS: the sockets from fd 3) and
 * readiness notification (datagrams to NOTIFY_SOCKET).  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSTEMD_H
#define SYSTEMD_H

#include <stdbool.h>
#include <stddef.h>

#define SD_LISTEN_FDS_START	3

int	 sd_listen_count(void);
int	 sd_listen_adopt(int *, int, char *, size_t);
bool	 sd_listen_adopted(void);
void	 sd_listen_again(void);
bool	 sd_notify_open(void);
void	 sd_notify_close(void);
void	 sd_notify(const char *);
void	 sd_notifyf(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

#endif /* SYSTEMD_H */
