/*
 * Warm start's wire format: the messages a front end, a backend and its
 * children exchange over SOCK_SEQPACKET sockets (one message a read, with
 * descriptors), and the memfd that carries a request's argv and
 * environment.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef WARM_WIRE_H
#define WARM_WIRE_H

#include <sys/un.h>

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct warm;

#define WARM_WIRE_VERSION	1
#define WARM_NFDS	5	/* body, response, stderr, cwd, argv+env */
#define WARM_MAX_FDS	(WARM_NFDS + 1)	/* and the connection, to a spare */
#define WARM_BLOB_MAX	(16u << 20)

enum warm_msg_type {
	WM_HELLO = 1,	/* backend: room for the request */
	WM_REQUEST,	/* front end: text the script; value the umask */
	WM_COLD,	/* backend: serve it yourself; text why (or empty) */
	WM_STARTED,	/* child: the request is mine; value my pid */
	WM_STATUS,	/* child or backend: value a wait(2) status */
	WM_SIGNAL,	/* front end: value a signal for the child */
	WM_QUERY,	/* --warm-status */
	WM_STOP,	/* --warm-stop */
	WM_INFO		/* backend: the answer to both */
};

struct warm_msg {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	type;
	int32_t		value;
	uint32_t	running;
	uint64_t	served;
	int64_t		since;
	char		text[PATH_MAX];
};

int	 warm_send(int, struct warm_msg *, const int *, int);
int	 warm_recv(int, struct warm_msg *, int *, int, int *, int);
int	 warm_blob_write(char *[], char *const *);
int	 warm_blob_read(int, char ***, int *, char ***);
void	 warm_close_fds(int *, int);
int	 warm_sock_path(const struct warm *, int, const char *,
	    struct sockaddr_un *);
bool	 warm_same_user(int);

#endif /* WARM_WIRE_H */
