/*
 * Server modes: the listening sockets (fd 0 from a web server, --listen's,
 * or systemd's; sockets.c), workers, and the protocols that carry each
 * request (FastCGI, SCGI, uwsgi, HTTP).  Plain C: the request is handed to
 * a callback.
 * SPDX-License-Identifier: MIT
 */
#ifndef SERVER_H
#define SERVER_H

#include <sys/types.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct outcome;

enum srv_proto {
	SRV_FASTCGI = 1 << 0,
	SRV_SCGI = 1 << 1,
	SRV_UWSGI = 1 << 2,
	SRV_HTTP = 1 << 3,
	SRV_ALL = SRV_FASTCGI | SRV_SCGI | SRV_UWSGI | SRV_HTTP
};

enum srv_fork {
	SRV_FORK_BEFORE,
	SRV_FORK_PARENT,
	SRV_FORK_CHILD
};

struct resp_frame;

/* One request, as the protocol delivered it. */
struct srv_request {
	char *const	*envp;		/* the peer's variables */
	int		 fd;		/* the connection */
	enum srv_proto	 proto;
	const struct resp_frame *frame;	/* FastCGI: its records; NULL */
	ssize_t		(*read)(void *, void *, size_t);	/* the body */
	int		 wait_ms;	/* how long a write may wait */
	void		*ctx;
	/* HTTP */
	bool		 to_end;	/* the body ends where read() gives 0 */
	bool		 http_keep;	/* the connection may carry another */
	const volatile sig_atomic_t *stop;	/* set: the server stops */
};

#define SRV_SOCKETS_MAX	8	/* listening sockets a server serves */

/* A listening socket, and what it serves. */
struct srv_socket {
	int		 fd;		/* the first's is 0 */
	unsigned	 protocols;	/* enum srv_proto bits */
	bool		 http_alone;	/* HOST:PORT's default: HTTP alone */
	const char	*name;		/* --listen's ADDR; NULL: not named */
};

struct srv_options {
	const char *const *listen;	/* --listen's, each; none: fd 0's */
	size_t		 nlisten;
	unsigned	 socket_mode;	/* of a Unix socket; 0: the umask's */
	const char	*user;		/* --user USER[:GROUP]; NULL: none */
	const char	*access_log;	/* --access-log=FILE; NULL: stderr */
	const char	*stats;		/* --stats HOST:PORT; NULL: none */
	unsigned	 protocols;	/* enum srv_proto bits accepted; 0: HTTP
					   alone on HOST:PORT, all four else */
	/* The sockets served (server_run() takes them). */
	struct srv_socket sockets[SRV_SOCKETS_MAX];
	unsigned	 nsockets;
	unsigned	 workers;	/* 1: the process serves itself */
	unsigned	 threads;	/* requests a worker serves at once */
	unsigned	 max_requests;	/* 0: no limit */
	unsigned	 timeout;	/* seconds a peer may stall */
	unsigned	 request_timeout;	/* seconds a request may run; 0 */
	unsigned	 max_rss;	/* MiB a worker may hold; 0: no limit */
	char *const	*argv;		/* to execute again on reload */
	/* In each serving process: start (0, or -1 to exit), then serve. */
	int		(*init)(void *);
	int		(*handle)(void *, const struct srv_request *,
			    struct outcome *);
	int		(*fini)(void *, int);	/* at a graceful end */
	/* A worker's thread (threads > 1) ends: what handle() made for it. */
	void		(*thread_end)(void *);
	/*
	 * The request on the worker's thread i ran past request_timeout: ask
	 * it to stop (false), or it did not within the grace (true: it is
	 * left behind, and the worker renewed).
	 */
	void		(*overdue)(void *, unsigned, bool);
	/* Around the master's fork(2) of a worker (enum srv_fork). */
	void		(*fork)(void *, int);
	void		*ctx;
};

bool	server_ending(void);
bool	server_stopping(void);
void	server_tick(void);
const volatile sig_atomic_t *server_stop_flag(void);
int	server_run(const struct srv_options *);

#endif /* SERVER_H */
