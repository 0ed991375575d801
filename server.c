/*
 * Server modes: the listening socket, the workers that share it, graceful
 * stop and reload, and reading each request from its connection in the
 * protocol its first byte names (FastCGI, SCGI, uwsgi).  No Python here:
 * a request is handed to the caller's handle(), its body through a read
 * function that runs without the interpreter's lock.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"
#include "http.h"
#include "http_req.h"
#include "params.h"
#include "scgi.h"
#include "server.h"
#include "uwsgi.h"

#define BACKLOG		1024
#define CONN_BUF	65536
#define RESPAWN_PAUSE	1	/* seconds between crashing workers */
#define PEER_MAX	128
#define ACCEPT_WAKE	1	/* seconds */
#define ROOM_MAX	256	/* connections a worker holds between requests */
#define ACCEPT_BURST	16	/* connections taken at one wake */
#define FIRST_MS	10	/* a new connection's first bytes awaited alone */
#define ROOM_SPARE	8	/* connections' memory kept for reuse */
#define END_GRACE_MS	2000	/* at a stop, a new connection's first bytes */
#define BODY_RATE	1024	/* bytes a second that extend a body's time */
#define DRAIN_MAX	65536	/* of a body the app left, read to keep */
#define DRAIN_MS	1000

/* A connection and what has been read from it but not used yet. */
struct conn {
	int		 fd;
	char		 peer[PEER_MAX];
	size_t		 pos;
	size_t		 len;
	/* FastCGI */
	unsigned	 id;		/* the request's id; 0: none */
	bool		 keep;		/* FCGI_KEEP_CONN */
	bool		 idle;		/* waiting for a next request */
	bool		 stdin_eof;
	bool		 aborted;
	size_t		 stdin_left;	/* of the current STDIN record */
	size_t		 pad_left;
	unsigned	 workers;
	int		 wait_ms;	/* how long a peer may stall */
	int64_t		 body_end;	/* ms: the request's bytes by then; 0 */
	int64_t		 last_read;	/* ms: its last bytes came then */
	/* In the worker's room (between requests, or while one arrives) */
	int64_t		 since;		/* ms: accepted then */
	int64_t		 deadline;	/* ms: the request by then, or the end */
	bool		 kept;		/* it has had a request: an idle end is quiet */
	bool		 fresh;		/* bytes came: look for a whole request */
	bool		 eof;		/* the peer sends no more */
	/* HTTP */
	uint64_t	 body_left;	/* of a Content-Length body */
	struct http_chunked chunk;	/* of a chunked body */
	bool		 chunk_bad;
	bool		 known;		/* where: found once per connection */
	struct http_where where;
	char		 names[4 * NI_MAXHOST];
	unsigned char	 buf[CONN_BUF];
};

/*
 * A worker's connections that it is not serving: new ones, kept ones
 * between requests, and ones whose request is still arriving.  A request
 * is served only once it is whole (its head, and a body that fits the
 * buffer), so slow clients wait here, not in the worker.
 */
struct room {
	struct conn	*c[ROOM_MAX];
	struct pollfd	 p[ROOM_MAX + 1];
	unsigned	 n;
	unsigned	 max;
	struct conn	*spare[ROOM_SPARE];
	unsigned	 nspare;
};

static int	 listen_on(const char *, unsigned);
static bool	 unix_addr(const char *);
static int	 listen_unix(const char *, unsigned);
static bool	 unix_live(const struct sockaddr_un *);
static void	 unix_own(const char *, const struct stat *);
static void	 unix_unlink(void);
static int	 listen_inet(const char *);
static bool	 adopt_fd0(const struct sockaddr *, socklen_t);
static void	 on_signal(int);
static int	 catch_signals(bool);
static int	 master(const struct srv_options *);
static pid_t	 spawn(const struct srv_options *);
static void	 stop_all(pid_t *, unsigned);
static int	 worker(const struct srv_options *, bool);
static void	 reexec(const struct srv_options *);
static int	 room_wait(struct room *, bool, int64_t, bool *);
static void	 room_accept(struct room *, const struct srv_options *);
static bool	 room_take(struct room *, int, const struct srv_options *);
static void	 room_turn(const struct srv_options *, struct room *, unsigned,
		    short, unsigned *);
static void	 room_drop(struct room *, unsigned, const char *);
static void	 room_evict(struct room *);
static ssize_t	 room_read(struct conn *);
static bool	 is_http(const struct srv_options *, const struct conn *);
static bool	 looks_scgi(const struct conn *);
static void	 not_served(const struct srv_options *, struct conn *);
static bool	 whole(const struct srv_options *, struct conn *,
		    struct http_req *, int *);
static bool	 serve_conn(const struct srv_options *, struct conn *,
		    const struct http_req *, int, unsigned *);
static void	 conn_compact(struct conn *);
static ssize_t	 conn_fill(struct conn *);
static ssize_t	 conn_read(struct conn *, void *, size_t);
static int	 phase_left(const struct conn *);
static int	 conn_exact(struct conn *, void *, size_t);
static ssize_t	 conn_some(struct conn *, void *, size_t);
static int	 conn_write(struct conn *, const void *, size_t);
static int	 serve_scgi(const struct srv_options *, struct conn *);
static int	 serve_uwsgi(const struct srv_options *, struct conn *);
static bool	 serve_http(const struct srv_options *, struct conn *,
		    const struct http_req *, int, unsigned *);
static ssize_t	 http_length_read(void *, void *, size_t);
static ssize_t	 http_chunked_read(void *, void *, size_t);
static bool	 chunks_valid(const struct conn *);
static bool	 http_drain(struct conn *, bool);
static int64_t	 now_ms(void);
static bool	 srv_ending(void);
static void	 http_refuse(struct conn *, int, const char *);
static void	 where(struct conn *, struct http_where *, char *, size_t);
static ssize_t	 body_read(void *, void *, size_t);
static void	 refused(struct conn *, const char *, const char *, int);
static int	 serve_fcgi(const struct srv_options *, struct conn *,
		    unsigned *);
static int	 fcgi_request(struct conn *, struct params *);
static int	 fcgi_manage(struct conn *, const struct fcgi_header *,
		    const unsigned char *);
static ssize_t	 fcgi_stdin(void *, void *, size_t);
static int	 fcgi_drain(struct conn *);
static int	 skip(struct conn *, size_t);
static const char *peer(struct conn *);
static void	 logmsg(bool, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static volatile sig_atomic_t	 stopping, reloading, child_exited;
static int			 log_fd = STDERR_FILENO;
static const char		*unix_path;	/* ours to unlink, */
static dev_t			 unix_dev;	/* if it is still this file */
static ino_t			 unix_ino;

/* php-cgi's test: fd 0 is a listening socket when a server spawned us. */
bool
server_fd0_listening(void)
{
	int		on = 0;
	socklen_t	len = sizeof(on);

	return getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &on,
	    &len) == 0 && on;
}

/*
 * Serves until a SIGTERM: the listening socket on fd 0 (bound here for
 * --listen), one process or a master and its workers.
 */
int
server_run(const struct srv_options *given)
{
	struct srv_options	 so = *given, *o = &so;
	sigset_t		 ours;
	int			 fd, rc;

	sigemptyset(&ours);
	sigaddset(&ours, SIGTERM);
	sigaddset(&ours, SIGINT);
	sigaddset(&ours, SIGHUP);
	sigaddset(&ours, SIGCHLD);	/* a master's reload had it blocked */

	/*
	 * A HOST:PORT may be reached by clients: a gateway protocol's peer
	 * sets REMOTE_ADDR, REMOTE_USER and HTTPS itself, so it speaks only
	 * HTTP unless --protocol says otherwise.  A Unix socket or a socket
	 * handed over is reached by the web server alone.
	 */
	if (so.protocols == 0)
		so.protocols = so.listen != NULL && !unix_addr(so.listen) ?
		    SRV_HTTP : SRV_ALL;
	if (o->listen != NULL) {
		if ((fd = listen_on(o->listen, o->socket_mode)) < 0)
			return 2;
		if (fd != STDIN_FILENO) {
			if (dup2(fd, STDIN_FILENO) < 0)
				err(2, "dup2");
			(void)close(fd);
		}
	}
	if (catch_signals(o->workers > 1) < 0)
		err(2, "sigaction");
	/*
	 * A reload executes us with these blocked, so that one that came
	 * meanwhile waited, pending, for the handlers: now it is seen.
	 */
	(void)sigprocmask(SIG_UNBLOCK, &ours, NULL);
	/* A FastCGI request's stderr is its own; the server's stays ours. */
	if ((log_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) < 0)
		log_fd = STDERR_FILENO;
	rc = o->workers > 1 ? master(o) : worker(o, false);
	unix_unlink();
	return rc;
}

/* ADDR: an absolute path or unix:PATH, or HOST:PORT. */
static int
listen_on(const char *addr, unsigned mode)
{
	if (unix_addr(addr))
		return listen_unix(addr[0] == '/' ? addr : addr + 5, mode);
	return listen_inet(addr);
}

static bool
unix_addr(const char *addr)
{
	return addr[0] == '/' || strncmp(addr, "unix:", 5) == 0;
}

static int
listen_unix(const char *path, unsigned mode)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		warnx("--listen %s: the path is too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* Executed again on SIGHUP: the socket is already on fd 0. */
	if (adopt_fd0((struct sockaddr *)&sun, sizeof(sun))) {
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unix_own(path, &st);
		return STDIN_FILENO;
	}
	/*
	 * A socket left by a server that died is replaced; one that a server
	 * answers on is not taken over, nor is a file.
	 */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (unix_live(&sun)) {
			warnx("--listen %s: a server answers on this socket "
			    "already", path);
			return -1;
		}
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    (mode != 0 && chmod(path, (mode_t)mode) < 0) ||
	    listen(fd, BACKLOG) < 0 || lstat(path, &st) < 0) {
		warn("--listen %s", path);
		if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	unix_own(path, &st);
	return fd;
}

/* Something accepts connections on the socket at sun. */
static bool
unix_live(const struct sockaddr_un *sun)
{
	int	fd, r;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	(void)close(fd);
	return r == 0 || errno == EAGAIN;
}

/* The socket file at path is ours to remove at the end: that file only. */
static void
unix_own(const char *path, const struct stat *st)
{
	unix_path = path;
	unix_dev = st->st_dev;
	unix_ino = st->st_ino;
}

/* Removes our socket's file, if the file at its path is still it. */
static void
unix_unlink(void)
{
	struct stat	st;

	if (unix_path != NULL && lstat(unix_path, &st) == 0 &&
	    st.st_dev == unix_dev && st.st_ino == unix_ino)
		(void)unlink(unix_path);
	unix_path = NULL;
}

static int
listen_inet(const char *addr)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 host[256];
	const char	*colon = strrchr(addr, ':'), *h;
	size_t		 hl;
	int		 fd = -1, on = 1, e;

	if (colon == NULL || colon == addr || colon[1] == '\0' ||
	    (size_t)(colon - addr) >= sizeof(host)) {
		warnx("--listen %s: not HOST:PORT, unix:PATH or /PATH", addr);
		return -1;
	}
	h = addr;
	hl = (size_t)(colon - addr);
	if (h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		warnx("--listen %s: %s", addr, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (adopt_fd0(ai->ai_addr, ai->ai_addrlen)) {
			fd = STDIN_FILENO;
			break;
		}
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) < 0)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == 0 && bind(fd, ai->ai_addr,
		    ai->ai_addrlen) == 0 && listen(fd, BACKLOG) == 0)
			break;
		e = errno;
		(void)close(fd);
		errno = e;
		fd = -1;
	}
	if (fd < 0)
		warn("--listen %s", addr);
	freeaddrinfo(res);
	return fd;
}

/* fd 0 is a listening socket bound to addr (we were executed again). */
static bool
adopt_fd0(const struct sockaddr *addr, socklen_t len)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (!server_fd0_listening() ||
	    getsockname(STDIN_FILENO, (struct sockaddr *)&ss, &sl) < 0)
		return false;
	if (addr->sa_family == AF_UNIX)
		return ss.ss_family == AF_UNIX &&
		    strcmp(((const struct sockaddr_un *)addr)->sun_path,
		    ((struct sockaddr_un *)&ss)->sun_path) == 0;
	return sl == len && memcmp(&ss, addr, len) == 0;
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reloading = 1;
	else if (sig == SIGCHLD)
		child_exited = 1;
	else
		stopping = 1;
}

/*
 * SIGTERM and SIGINT stop gracefully, SIGHUP reloads; without SA_RESTART,
 * so that a worker waiting in accept(2) sees them at once.
 */
static int
catch_signals(bool is_master)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0)
		return -1;
	if (is_master && sigaction(SIGCHLD, &sa, NULL) < 0)
		return -1;
	return 0;
}

/*
 * The master: loads the application once, so that its workers share the
 * pages it imported, and forks o->workers workers; replaces one that exits;
 * passes a SIGTERM on (each finishes its request).  SIGHUP stops the
 * workers gracefully and executes the master again, which loads everything
 * afresh; meanwhile connections wait in the listening socket's queue.
 */
static int
master(const struct srv_options *o)
{
	pid_t		*pids;
	time_t		*born;
	sigset_t	 block, old;
	unsigned	 i;
	pid_t		 pid;
	int		 status;

	if (o->init(o->ctx) < 0)
		return 1;
	if ((pids = calloc(o->workers, sizeof(*pids))) == NULL ||
	    (born = calloc(o->workers, sizeof(*born))) == NULL)
		err(2, "calloc");
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, &block, &old);
	for (;;) {
		for (i = 0; !stopping && i < o->workers; i++) {
			if (pids[i] > 0)
				continue;
			/* A worker that dies at once is not a busy loop. */
			if (born[i] != 0 && time(NULL) - born[i] < RESPAWN_PAUSE)
				(void)sleep(RESPAWN_PAUSE);
			born[i] = time(NULL);
			pids[i] = spawn(o);
		}
		/* A stop that came with the reload wins over it. */
		if (reloading && !stopping) {
			reloading = 0;
			stop_all(pids, o->workers);
			if (!stopping)
				reexec(o);
			continue;
		}
		if (stopping)
			break;
		if (!child_exited)
			(void)sigsuspend(&old);
		child_exited = 0;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = 0; i < o->workers; i++)
				if (pids[i] == pid) {
					pids[i] = 0;
					/* Renewed (--max-requests): no pause. */
					if (WIFEXITED(status) &&
					    WEXITSTATUS(status) == 0)
						born[i] = 0;
					else
						warnx("worker %ld ended (status "
						    "%d): replacing it",
						    (long)pid, status);
				}
	}
	stop_all(pids, o->workers);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	free(pids);
	free(born);
	unix_unlink();
	return o->fini(o->ctx, 0);
}

/* SIGTERM to every worker, and wait until they have all finished. */
static void
stop_all(pid_t *pids, unsigned n)
{
	unsigned	i;
	pid_t		pid;
	int		status;

	for (i = 0; i < n; i++)
		if (pids[i] > 0) {
			(void)kill(pids[i], SIGTERM);
			pids[i] = 0;
		}
	do
		pid = wait(&status);
	while (pid > 0 || (pid < 0 && errno == EINTR));
}

static pid_t
spawn(const struct srv_options *o)
{
	sigset_t	none;
	pid_t		pid;

	o->fork(o->ctx, SRV_FORK_BEFORE);
	if ((pid = fork()) < 0) {
		warn("fork");
		o->fork(o->ctx, SRV_FORK_PARENT);
		return 0;
	}
	o->fork(o->ctx, pid == 0 ? SRV_FORK_CHILD : SRV_FORK_PARENT);
	if (pid == 0) {
		stopping = reloading = child_exited = 0;
		unix_path = NULL;
		(void)signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(worker(o, true));
	}
	return pid;
}

/*
 * A serving process: starts the application, then serves the connections
 * in its room (struct room) until stopped, one request at a time, each
 * once it is whole.  Alone (no master) it executes itself again to reload
 * or after --max-requests, keeping the listening socket.
 */
static int
worker(const struct srv_options *o, bool under_master)
{
	static struct room	room;
	struct rlimit		rl;
	unsigned		served = 0, i, n;
	int64_t			grace_end = 0;
	bool			ending, incoming;
	int			fl;

	/* A worker of a master has the application already. */
	if (!under_master && o->init(o->ctx) < 0)
		return 1;
	/* The socket is non-blocking: the room waits in poll(2). */
	if ((fl = fcntl(STDIN_FILENO, F_GETFL)) >= 0)
		(void)fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
	room.n = 0;
	room.max = ROOM_MAX;
	/* Half the descriptors at most: the application has the rest. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < room.max)
		room.max = rl.rlim_cur / 2 > 1 ? (unsigned)(rl.rlim_cur / 2) : 1;
	for (;;) {
		ending = stopping || reloading || (o->max_requests > 0 &&
		    served >= o->max_requests);
		/*
		 * At the end no connection is accepted, and every one accepted
		 * is served to its end: an idle kept one goes now, a request
		 * that is arriving has until its deadline, and a new one until
		 * its first bytes, END_GRACE_MS at most.
		 */
		if (ending) {
			if (grace_end == 0)
				grace_end = now_ms() + END_GRACE_MS;
			for (i = room.n; i-- > 0;)
				if (room.c[i]->pos == room.c[i]->len &&
				    (room.c[i]->kept || now_ms() >= grace_end))
					room_drop(&room, i, NULL);
			if (room.n == 0)
				break;
		}
		n = room.n;
		if (room_wait(&room, !ending, grace_end, &incoming) < 0)
			continue;
		/* Backwards: a dropped one's place takes one already seen. */
		for (i = n; i-- > 0;)
			room_turn(o, &room, i, room.p[i].revents, &served);
		if (!incoming)
			continue;
		n = room.n;
		room_accept(&room, o);
		/* What new connections sent with them, without a poll(2). */
		for (i = room.n; i-- > n;)
			if (room.c[i]->fresh)
				room_turn(o, &room, i, 0, &served);
	}
	if (!stopping && !under_master) {
		reexec(o);
		if (!stopping)
			return 1;
	}
	/* The socket goes before the process, whose end may not return. */
	if (!under_master)
		unix_unlink();
	return o->fini(o->ctx, 0);
}

/*
 * poll(2) over the room's connections (and the listening socket when
 * listening), until one has bytes, a deadline or until (ms, 0: none)
 * comes, or a second passes
 * (a signal that came just before is seen).  -1 when interrupted.  A
 * worker with bytes to look at, or a connection just taken whose request
 * is on its way, leaves new connections to the other workers: waking
 * them all for each would cost more than it saves.
 */
static int
room_wait(struct room *room, bool listening, int64_t until, bool *incoming)
{
	int64_t		now = now_ms(), wait = (int64_t)ACCEPT_WAKE * 1000;
	unsigned	i, n = room->n;
	struct conn	*c;

	if (until != 0 && until - now < wait)
		wait = until > now ? until - now : 0;

	for (i = 0; i < n; i++) {
		c = room->c[i];
		room->p[i].fd = c->fd;
		room->p[i].events = POLLIN;
		room->p[i].revents = 0;
		/* Bytes read already: looked at without waiting. */
		if (c->fresh) {
			wait = 0;
			listening = false;
			continue;
		}
		if (!c->kept && c->pos == c->len && now - c->since < FIRST_MS) {
			listening = false;
			if (c->since + FIRST_MS - now < wait)
				wait = c->since + FIRST_MS - now;
		}
		if (c->deadline - now < wait)
			wait = c->deadline - now > 0 ? c->deadline - now : 0;
	}
	room->p[n].fd = STDIN_FILENO;
	room->p[n].events = POLLIN;
	room->p[n].revents = 0;
	*incoming = false;
	if (poll(room->p, listening ? n + 1 : n, (int)wait) < 0) {
		if (errno != EINTR) {
			warn("poll");
			(void)sleep(1);
		}
		return -1;
	}
	*incoming = listening && room->p[n].revents != 0;
	return 0;
}

/*
 * New connections into the room, making way if full, until one has sent
 * a request to look at (the other workers take the rest) or a few are
 * in.  After the first, one is taken only when the socket says it has
 * one: a failed accept4(2) costs the kernel a socket made and freed.
 */
static void
room_accept(struct room *room, const struct srv_options *o)
{
	struct pollfd	pfd = { STDIN_FILENO, POLLIN, 0 };
	unsigned	burst;
	bool		sent = false;
	int		fd;

	for (burst = 0; burst < ACCEPT_BURST && !sent && !stopping &&
	    !reloading && (burst == 0 || poll(&pfd, 1, 0) > 0); burst++) {
		/* Non-blocking: every wait is a poll(2) with the timeout. */
		if ((fd = accept4(STDIN_FILENO, NULL, NULL,
		    SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0) {
			if (errno != EINTR && errno != ECONNABORTED &&
			    errno != EAGAIN && errno != EWOULDBLOCK) {
				warn("accept");
				(void)sleep(1);
			}
			return;
		}
		if (room->n == room->max)
			room_evict(room);
		sent = room_take(room, fd, o);
	}
}

/*
 * The process executes itself again, keeping the listening socket on fd 0
 * and SIGTERM, SIGINT and SIGHUP blocked across execv(2): a signal that
 * comes before the new image has its handlers stays pending for them,
 * instead of killing it (its default action) or being lost.
 */
static void
reexec(const struct srv_options *o)
{
	sigset_t	block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, &block, &old);
	/* A stop that came while this one was ending is not lost. */
	if (stopping) {
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	(void)execv("/proc/self/exe", o->argv);
	warn("cannot execute again to reload");
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
}

/*
 * A new connection joins the room, with what it has sent already; true
 * when that is something to look at.
 */
static bool
room_take(struct room *room, int fd, const struct srv_options *o)
{
	struct conn	*c;
	ssize_t		 n;

	if (room->nspare > 0)
		c = room->spare[--room->nspare];
	else if ((c = malloc(sizeof(*c))) == NULL) {
		logmsg(true, "malloc");
		(void)close(fd);
		return false;
	}
	memset(c, 0, offsetof(struct conn, buf));
	c->fd = fd;
	c->workers = o->workers;
	c->wait_ms = (int)o->timeout * 1000;
	c->since = now_ms();
	c->deadline = c->since + c->wait_ms;
	room->c[room->n++] = c;
	if ((n = room_read(c)) == 0)
		room_drop(room, room->n - 1, NULL);
	else if (n > 0)
		c->fresh = true;
	return n > 0;
}

/*
 * The room's connection i after a poll(2): its new bytes read; its request
 * served when whole; closed at its end, an error, or its deadline.
 */
static void
room_turn(const struct srv_options *o, struct room *room, unsigned i,
    short revents, unsigned *served)
{
	static struct http_req	 r;
	struct conn		*c = room->c[i];
	bool			 begun = c->pos < c->len;
	ssize_t			 n;
	int			 e = HTTP_REQ_OK;

	/* What is buffered is looked at before more is read. */
	if (revents != 0 && !c->fresh && !c->eof) {
		if ((n = room_read(c)) > 0) {
			/* A request's time runs from its first byte. */
			if (!begun && c->kept)
				c->deadline = now_ms() + c->wait_ms;
			c->fresh = true;
		} else if (n == 0 || (errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR)) {
			if (n < 0 && begun)
				logmsg(true, "%s: read", peer(c));
			/* A client may end its sending after its requests. */
			c->eof = c->fresh = true;
		}
	}
	if (c->fresh) {
		c->fresh = false;
		if (whole(o, c, &r, &e)) {
			if (!serve_conn(o, c, &r, e, served) ||
			    (c->eof && c->pos == c->len)) {
				room_drop(room, i, NULL);
				return;
			}
			/* Kept: idle, or its next request, from now on. */
			c->kept = true;
			c->deadline = now_ms() + c->wait_ms;
			c->fresh = c->pos < c->len;
			return;
		}
		if (c->eof) {
			room_drop(room, i, c->pos < c->len ? "the connection "
			    "ended inside a request" : NULL);
			return;
		}
	}
	if (now_ms() >= c->deadline)
		room_drop(room, i, c->kept && c->pos == c->len ? NULL :
		    "no whole request within the timeout");
}

/* Closes the room's connection i, with a log line saying why, if any. */
static void
room_drop(struct room *room, unsigned i, const char *why)
{
	struct conn	*c = room->c[i];

	if (why != NULL)
		logmsg(false, "%s: %s: closing", peer(c), why);
	(void)close(c->fd);
	if (room->nspare < ROOM_SPARE)
		room->spare[room->nspare++] = c;
	else
		free(c);
	room->c[i] = room->c[--room->n];
}

/*
 * A full room makes way for a new connection: an idle kept one goes
 * first, else the one that has waited longest without a whole request.
 */
static void
room_evict(struct room *room)
{
	unsigned	i, pick = 0;
	bool		idle = false, is;

	for (i = 0; i < room->n; i++) {
		is = room->c[i]->kept && room->c[i]->pos == room->c[i]->len;
		if ((is && !idle) || (is == idle &&
		    room->c[i]->deadline < room->c[pick]->deadline)) {
			pick = i;
			idle = is;
		}
	}
	room_drop(room, pick, idle ? NULL : "too many connections waiting for "
	    "a whole request");
}

/* One read(2) without waiting: > 0 bytes, 0 at the end, or -1 (errno). */
static ssize_t
room_read(struct conn *c)
{
	ssize_t	n;

	conn_compact(c);
	if (c->len == sizeof(c->buf)) {
		errno = ENOBUFS;
		return -1;
	}
	while ((n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len)) < 0 &&
	    errno == EINTR)
		;
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

/*
 * The connection speaks HTTP: a kept one, or by its first byte, a token's
 * or an empty line's (what is not a request line is answered 400 or 501),
 * unless the byte begins a gateway protocol that is served: SCGI's length
 * is digits, FastCGI's version 1 and uwsgi's modifier 0 are no token's.
 */
static bool
is_http(const struct srv_options *o, const struct conn *c)
{
	char	b = (char)c->buf[c->pos];

	if (c->kept)
		return true;
	if ((o->protocols & SRV_HTTP) == 0 || looks_scgi(c))
		return false;
	return http_token(&b, 1) || b == '\r' || b == '\n';
}

/* Digits, then ':' or nothing yet: an SCGI netstring's length. */
static bool
looks_scgi(const struct conn *c)
{
	size_t	i;

	for (i = c->pos; i < c->len && c->buf[i] >= '0' && c->buf[i] <= '9';
	    i++)
		;
	return i > c->pos && (i == c->len || c->buf[i] == ':');
}

/*
 * A request to serve has arrived: an HTTP head, and a Content-Length body
 * that fits the buffer (unless the client waits for 100 Continue), or a
 * head that cannot be read (*e); the first bytes of another protocol,
 * whose peer is a web server.
 */
static bool
whole(const struct srv_options *o, struct conn *c, struct http_req *r,
    int *e)
{
	size_t	have = c->len - c->pos;

	if (have == 0)
		return false;
	if (!is_http(o, c))
		return true;
	if ((*e = http_req_parse((char *)c->buf + c->pos, have, r)) ==
	    HTTP_REQ_AGAIN) {
		if (c->pos == 0 && c->len == sizeof(c->buf)) {
			*e = HTTP_REQ_EHEAD;
			return true;
		}
		return false;
	}
	return *e != HTTP_REQ_OK || !r->has_length || r->expect_continue ||
	    r->content_length > sizeof(c->buf) - r->head_len ||
	    have >= r->head_len + r->content_length;
}

/*
 * A request, in the protocol its connection's first byte names; true when
 * the connection goes back to the room for another.
 */
static bool
serve_conn(const struct srv_options *o, struct conn *c,
    const struct http_req *r, int e, unsigned *served)
{
	unsigned char	b = c->buf[c->pos];

	/* A request's bytes have a bound on their time, not only stalls. */
	c->last_read = now_ms();
	c->body_end = c->last_read + c->wait_ms;
	if (is_http(o, c))
		return serve_http(o, c, r, e, served);
	if (b == FCGI_VERSION_1 && (o->protocols & SRV_FASTCGI))
		serve_fcgi(o, c, served);
	else if (looks_scgi(c) && (o->protocols & SRV_SCGI)) {
		serve_scgi(o, c);
		(*served)++;
	} else if (b == 0 && (o->protocols & SRV_UWSGI)) {
		serve_uwsgi(o, c);
		(*served)++;
	} else
		not_served(o, c);
	return false;
}

/* A request in a protocol this address does not serve: why, and the fix. */
static void
not_served(const struct srv_options *o, struct conn *c)
{
	unsigned char	 b = c->buf[c->pos];
	const char	*name = b == FCGI_VERSION_1 ? "fastcgi" : b == 0 ?
			    "uwsgi" : looks_scgi(c) ? "scgi" : NULL;

	if (name == NULL)
		logmsg(false, "%s: not a request of an accepted protocol "
		    "(first byte 0x%02x): closing", peer(c), b);
	else
		logmsg(false, "%s: a %s request, which this address does not "
		    "serve%s: closing (--protocol %s serves it)", peer(c),
		    name, o->protocols == SRV_HTTP && o->listen != NULL &&
		    !unix_addr(o->listen) ? " (HOST:PORT serves HTTP alone "
		    "unless --protocol is given)" : "", name);
}

/* Room at the end of the buffer: what was used goes when it is full. */
static void
conn_compact(struct conn *c)
{
	if (c->pos > 0 && c->pos == c->len)
		c->pos = c->len = 0;
	if (c->len == sizeof(c->buf) && c->pos > 0) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->pos = 0;
	}
}

/* More bytes into the buffer; 0 at the end, -1 on error (logged). */
static ssize_t
conn_fill(struct conn *c)
{
	ssize_t	n;

	conn_compact(c);
	if ((n = conn_read(c, c->buf + c->len, sizeof(c->buf) - c->len)) < 0) {
		if (errno != ETIMEDOUT)
			logmsg(true, "%s: read", peer(c));
	} else
		c->len += (size_t)n;
	return n;
}

/*
 * read(2) of the non-blocking connection, waiting at most the timeout for
 * bytes: a peer that stalls is dropped (ETIMEDOUT, and a log line).
 */
static ssize_t
conn_read(struct conn *c, void *dst, size_t n)
{
	struct pollfd	pfd;
	ssize_t		r;
	int		p, wait;

	for (;;) {
		if ((r = read(c->fd, dst, n)) > 0 && c->body_end != 0) {
			c->body_end += r * 1000 / BODY_RATE;
			c->last_read = now_ms();
		}
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if ((wait = phase_left(c)) == 0) {
			/* Nothing since the phase began: a stall like any. */
			logmsg(false, "%s: %s: closing", peer(c),
			    now_ms() - c->last_read >= c->wait_ms ? "the peer "
			    "stopped sending" : "the request took longer than "
			    "the timeout to arrive");
			errno = ETIMEDOUT;
			return -1;
		}
		while ((p = poll(&pfd, 1, wait)) < 0 && errno == EINTR)
			/* Kept open between requests: a stop need not wait. */
			if (c->idle && (stopping || reloading))
				return -1;
		if (p == 0 && wait < c->wait_ms)
			continue;	/* the phase's end: said above */
		if (p == 0) {
			/* An idle kept connection timing out is no fault. */
			if (!c->idle)
				logmsg(false, "%s: the peer stopped sending: "
				    "closing", peer(c));
			errno = ETIMEDOUT;
			return -1;
		}
		if (p < 0)
			return -1;
	}
}

/*
 * How long a read may wait: the stall limit, within what is left of the
 * request's time to arrive (--timeout from its start, a second more for
 * every BODY_RATE bytes that came: a slow upload goes on, a trickle ends).
 * 0 when that time is up.  A kept connection's wait for its next request
 * is no request's.
 */
static int
phase_left(const struct conn *c)
{
	int64_t	left;

	if (c->body_end == 0 || c->idle)
		return c->wait_ms;
	if ((left = c->body_end - now_ms()) <= 0)
		return 0;
	return left < c->wait_ms ? (int)left : c->wait_ms;
}

/* Exactly n bytes, or -1 (the end came first, or an error). */
static int
conn_exact(struct conn *c, void *dst, size_t n)
{
	unsigned char	*d = dst;
	size_t		 k;
	ssize_t		 r;

	while (n > 0) {
		if (c->pos == c->len) {
			if ((r = conn_fill(c)) <= 0) {
				if (r == 0)
					logmsg(false, "%s: the connection ended inside "
					    "a request: closing", peer(c));
				return -1;
			}
			continue;
		}
		k = c->len - c->pos < n ? c->len - c->pos : n;
		memcpy(d, c->buf + c->pos, k);
		c->pos += k;
		d += k;
		n -= k;
	}
	return 0;
}

/* Up to n bytes: what is buffered, else one read(2) straight into dst. */
static ssize_t
conn_some(struct conn *c, void *dst, size_t n)
{
	size_t	k;

	if (c->pos < c->len) {
		k = c->len - c->pos < n ? c->len - c->pos : n;
		memcpy(dst, c->buf + c->pos, k);
		c->pos += k;
		return (ssize_t)k;
	}
	return conn_read(c, dst, n);
}

static int
conn_write(struct conn *c, const void *buf, size_t n)
{
	const char	*p = buf;
	ssize_t		 w;

	struct pollfd	 pfd;

	while (n > 0) {
		if ((w = write(c->fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			pfd.fd = c->fd;
			pfd.events = POLLOUT;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    poll(&pfd, 1, c->wait_ms) > 0)
				continue;
			logmsg(true, "%s: write", peer(c));
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The body of an SCGI or uwsgi request: what follows the variables.
 * wsgi.input stops at CONTENT_LENGTH (cgi_env.c parses it once).
 */
static ssize_t
body_read(void *ctx, void *dst, size_t n)
{
	return conn_some(ctx, dst, n);
}

static void
run(const struct srv_options *o, struct conn *c, struct params *p,
    enum srv_proto proto)
{
	static char		*none[] = { NULL };
	struct srv_request	 r;

	r.envp = p->envp != NULL ? p->envp : none;
	r.fd = c->fd;
	r.proto = proto;
	r.fcgi_id = c->id;
	r.aborted = &c->aborted;
	r.ctx = c;
	r.read = proto == SRV_FASTCGI ? fcgi_stdin : body_read;
	r.wait_ms = c->wait_ms;
	r.to_end = false;
	r.http_keep = false;
	r.kept = NULL;
	(void)o->handle(o->ctx, &r);
}

static int
serve_scgi(const struct srv_options *o, struct conn *c)
{
	struct params	 p;
	unsigned char	*hdr = NULL;
	size_t		 len = 0, prefix = 0;
	int		 e, perr = 0, rc = -1;

	params_init(&p);
	while ((e = scgi_prefix(c->buf + c->pos, c->len - c->pos, &len,
	    &prefix)) == SCGI_EAGAIN)
		if (conn_fill(c) <= 0)
			goto out;
	if (e != SCGI_OK)
		goto bad;
	c->pos += prefix;
	if ((hdr = malloc(len + 1)) == NULL || conn_exact(c, hdr, len + 1) < 0)
		goto out;
	if ((e = scgi_parse(hdr, len, &p, &perr)) != SCGI_OK)
		goto bad;
	run(o, c, &p, SRV_SCGI);
	rc = 0;
	goto out;
bad:
	refused(c, "SCGI", scgi_strerror(e), e == SCGI_EPARAMS ? perr : -1);
out:
	free(hdr);
	params_free(&p);
	return rc;
}

static int
serve_uwsgi(const struct srv_options *o, struct conn *c)
{
	struct params	 p;
	unsigned char	 head[UWSGI_HEADER_LEN], *vars = NULL;
	size_t		 size;
	int		 e, perr = 0, rc = -1;

	params_init(&p);
	if (conn_exact(c, head, sizeof(head)) < 0)
		goto out;
	if ((e = uwsgi_parse_header(head, &size)) != UWSGI_OK)
		goto bad;
	if ((vars = malloc(size + 1)) == NULL || conn_exact(c, vars, size) < 0)
		goto out;
	if ((e = uwsgi_parse(vars, size, &p, &perr)) != UWSGI_OK)
		goto bad;
	run(o, c, &p, SRV_UWSGI);
	rc = 0;
	goto out;
bad:
	refused(c, "uwsgi", uwsgi_strerror(e), e == UWSGI_EPARAMS ? perr : -1);
out:
	free(vars);
	params_free(&p);
	return rc;
}

/*
 * HTTP/1.1 as an origin server, one request whose head the room has read
 * (whole()): parsed strictly (http_req.c), its body framed by
 * Content-Length or chunked.  A request that cannot be read safely is
 * answered 400 (or 414, 431, 501, 505, 417) and the connection closes.
 * True when the connection may carry another request (pipelined ones are
 * in the buffer already, answered in order).
 */
static bool
serve_http(const struct srv_options *o, struct conn *c,
    const struct http_req *r, int e, unsigned *served)
{
	struct srv_request	sr;
	struct params		p;
	bool			kept = false;
	int			perr;

	if (e != HTTP_REQ_OK) {
		http_refuse(c, http_req_status(e), http_req_strerror(e));
		return false;
	}
	/* The connection's two ends, once. */
	if (!c->known)
		where(c, &c->where, c->names, sizeof(c->names));
	c->known = true;
	params_init(&p);
	if (http_req_env(r, &c->where, &p, &perr) < 0) {
		params_free(&p);
		http_refuse(c, 400, params_strerror(perr));
		return false;
	}
	c->pos += r->head_len;
	/* RFC 9110 10.1.1: go on, before the body is read. */
	if (r->expect_continue && (r->chunked || r->content_length > 0) &&
	    conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0) {
		params_free(&p);
		return false;
	}
	c->body_left = r->has_length ? r->content_length : 0;
	c->chunk_bad = false;
	http_chunked_init(&c->chunk);
	/* What of a chunked body has come is checked before the app runs. */
	if (r->chunked && !chunks_valid(c)) {
		params_free(&p);
		http_refuse(c, 400, "a malformed chunked body");
		return false;
	}
	memset(&sr, 0, sizeof(sr));
	sr.envp = p.envp;
	sr.fd = c->fd;
	sr.proto = SRV_HTTP;
	sr.read = r->chunked ? http_chunked_read : http_length_read;
	sr.ctx = c;
	sr.wait_ms = c->wait_ms;
	sr.to_end = r->chunked;
	(*served)++;
	sr.http_keep = r->keep_alive && !stopping && !reloading &&
	    (o->max_requests == 0 || *served < o->max_requests);
	sr.kept = &kept;
	sr.ending = srv_ending;
	(void)o->handle(o->ctx, &sr);
	params_free(&p);
	/* What the application left of the body, or the end. */
	return kept && http_drain(c, r->chunked) && !stopping && !reloading;
}

/* A stop or a reload has come: a kept connection closes after this. */
static bool
srv_ending(void)
{
	return stopping || reloading;
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The body up to its Content-Length, never into the next request. */
static ssize_t
http_length_read(void *ctx, void *dst, size_t n)
{
	struct conn	*c = ctx;
	ssize_t		 got;

	if (c->body_left == 0)
		return 0;
	if (n > c->body_left)
		n = (size_t)c->body_left;
	if ((got = conn_some(c, dst, n)) > 0)
		c->body_left -= (uint64_t)got;
	return got;
}

/* A chunked body, decoded; 0 at its end, -1 (and a 400's log) if bad. */
static ssize_t
http_chunked_read(void *ctx, void *dst, size_t n)
{
	struct conn	*c = ctx;
	size_t		 used, made;
	ssize_t		 got;

	while (!c->chunk.done) {
		if (c->pos == c->len && (got = conn_fill(c)) <= 0) {
			/* The end inside the body: the client went away. */
			if (got == 0)
				errno = ECONNRESET;
			c->chunk_bad = true;
			return -1;
		}
		if (http_chunked_decode(&c->chunk, (char *)c->buf + c->pos,
		    c->len - c->pos, &used, dst, n, &made) != HTTP_CHUNK_OK) {
			logmsg(false, "%s: HTTP: a malformed chunked body: "
			    "closing", peer(c));
			c->chunk_bad = true;
			errno = EPROTO;
			return -1;
		}
		c->pos += used;
		if (made > 0)
			return (ssize_t)made;
	}
	return 0;
}

/* The chunked body's bytes in the buffer decode (into nothing). */
static bool
chunks_valid(const struct conn *c)
{
	struct http_chunked	 probe = c->chunk;
	char			 scratch[4096];
	size_t			 pos = c->pos, used, made;

	while (pos < c->len && !probe.done) {
		if (http_chunked_decode(&probe, (const char *)c->buf + pos,
		    c->len - pos, &used, scratch, sizeof(scratch), &made) !=
		    HTTP_CHUNK_OK)
			return false;
		pos += used;
	}
	return true;
}

/*
 * The unread rest of a body is read and dropped, so that the next
 * request starts where it should, if it is small and comes at once (as
 * nginx's lingering limits do); true when the connection is usable, else
 * it closes.
 */
static bool
http_drain(struct conn *c, bool chunked)
{
	char	buf[4096];
	ssize_t	n;
	size_t	total = 0;
	int64_t	end = now_ms() + DRAIN_MS;

	if (chunked && c->chunk_bad)
		return false;
	/* More than DRAIN_MAX, or slower than DRAIN_MS: not worth a wait. */
	if (!chunked && c->body_left > DRAIN_MAX)
		return false;
	if (c->body_end == 0 || c->body_end > end)
		c->body_end = end;
	do {
		n = chunked ? http_chunked_read(c, buf, sizeof(buf)) :
		    http_length_read(c, buf, sizeof(buf));
	} while (n > 0 && (total += (size_t)n) <= DRAIN_MAX);
	return n == 0;
}

/* A request that cannot be served: its status, a line, the end. */
static void
http_refuse(struct conn *c, int code, const char *why)
{
	static const struct { int code; const char *text; } st[] = {
		{ 400, "Bad Request" }, { 414, "URI Too Long" },
		{ 417, "Expectation Failed" },
		{ 431, "Request Header Fields Too Large" },
		{ 501, "Not Implemented" },
		{ 505, "HTTP Version Not Supported" },
	};
	const char	*text = "Bad Request";
	char		 out[256];
	size_t		 i;
	int		 n;

	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		if (st[i].code == code)
			text = st[i].text;
	logmsg(false, "%s: HTTP: %d: %s: closing", peer(c), code, why);
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s\n", code, text, strlen(text) + 1, text);
	if (n > 0 && (size_t)n < sizeof(out))
		(void)conn_write(c, out, (size_t)n);
}

/*
 * The connection's two ends, numerically, for SERVER_* and REMOTE_*: in
 * buf, four strings of len / 4 bytes.
 */
static void
where(struct conn *c, struct http_where *w, char *buf, size_t len)
{
	struct sockaddr_storage	ss;
	socklen_t		sl, q = (socklen_t)(len / 4);
	char			*saddr = buf, *sport = buf + len / 4;
	char			*raddr = buf + len / 2, *rport = buf + 3 * (len / 4);

	memset(w, 0, sizeof(*w));
	(void)snprintf(saddr, q, "localhost");
	(void)snprintf(sport, q, "80");
	*raddr = *rport = '\0';
	w->server_addr = saddr;
	w->server_port = sport;
	memset(&ss, 0, sizeof(ss));
	sl = sizeof(ss);
	if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family != AF_UNIX)
		(void)getnameinfo((struct sockaddr *)&ss, sl, saddr, q, sport,
		    q, NI_NUMERICHOST | NI_NUMERICSERV);
	memset(&ss, 0, sizeof(ss));
	sl = sizeof(ss);
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family != AF_UNIX &&
	    getnameinfo((struct sockaddr *)&ss, sl, raddr, q, rport, q,
	    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
		w->remote_addr = raddr;
		w->remote_port = rport;
	}
}

/* A request a protocol does not allow: one line, and the connection ends. */
static void
refused(struct conn *c, const char *proto, const char *why, int perr)
{
	logmsg(false, "%s: %s: %s%s%s: closing", peer(c), proto, why,
	    perr >= 0 ? ": " : "", perr >= 0 ? params_strerror(perr) : "");
}

/*
 * FastCGI: requests one after another while the web server asks to keep
 * the connection (FCGI_KEEP_CONN), each one's unread STDIN drained before
 * the next.
 */
static int
serve_fcgi(const struct srv_options *o, struct conn *c, unsigned *served)
{
	struct params	p;
	int		rc = 0;

	do {
		params_init(&p);
		c->id = 0;
		c->keep = c->stdin_eof = c->aborted = false;
		c->stdin_left = c->pad_left = 0;
		if (fcgi_request(c, &p) < 0) {
			params_free(&p);
			return -1;
		}
		run(o, c, &p, SRV_FASTCGI);
		params_free(&p);
		(*served)++;
		if (fcgi_drain(c) < 0)
			return -1;
	} while (c->keep && !stopping && !reloading &&
	    (o->max_requests == 0 || *served < o->max_requests));
	return rc;
}

/* Reads records until a request's PARAMS are complete. */
static int
fcgi_request(struct conn *c, struct params *p)
{
	unsigned char		 hdr[FCGI_HEADER_LEN], end[16];
	unsigned char		*content = NULL, *stream = NULL, *grown;
	struct fcgi_header	 h;
	size_t			 slen = 0, used;
	ssize_t			 n;
	unsigned		 role;
	bool			 keep;
	int			 e, perr = 0, rc = -1;

	if ((content = malloc(FCGI_MAX_CONTENT + 1)) == NULL)
		return -1;
	for (;;) {
		/* Between requests the peer may close: no complaint. */
		if (c->id == 0 && c->pos == c->len) {
			c->idle = true;
			n = conn_fill(c);
			c->idle = false;
			if (n <= 0)
				goto out;
			c->last_read = now_ms();
			c->body_end = c->last_read + c->wait_ms;
		}
		if (conn_exact(c, hdr, sizeof(hdr)) < 0)
			goto out;
		if ((e = fcgi_parse_header(hdr, &h)) != FCGI_OK &&
		    !(e == FCGI_ETYPE && h.id == FCGI_NULL_REQUEST_ID))
			goto bad;
		if (conn_exact(c, content, h.length) < 0 ||
		    skip(c, h.padding) < 0)
			goto out;
		if (h.id == FCGI_NULL_REQUEST_ID) {
			if (fcgi_manage(c, &h, content) < 0)
				goto out;
			continue;
		}
		if (h.type == FCGI_BEGIN_REQUEST) {
			if ((e = fcgi_parse_begin(content, h.length, &role,
			    &keep)) != FCGI_OK)
				goto bad;
			if (c->id != 0 || role != FCGI_RESPONDER) {
				/* One request at a time; responders only. */
				if (conn_write(c, end, fcgi_make_end(end, h.id,
				    0, c->id != 0 ? FCGI_CANT_MPX_CONN :
				    FCGI_UNKNOWN_ROLE)) < 0)
					goto out;
				continue;
			}
			c->id = h.id;
			c->keep = keep;
			continue;
		}
		if (h.id != c->id)
			continue;	/* another id's records: not ours */
		if (h.type == FCGI_ABORT_REQUEST) {
			if (conn_write(c, end, fcgi_make_end(end, h.id, 0,
			    FCGI_REQUEST_COMPLETE)) < 0)
				goto out;
			params_free(p);
			slen = 0;
			c->id = 0;
			continue;
		}
		if (h.type != FCGI_PARAMS) {
			e = FCGI_ETYPE;
			goto bad;
		}
		if (h.length == 0) {
			if (slen != 0) {
				e = FCGI_EPAIR;
				goto bad;
			}
			rc = 0;
			goto out;
		}
		if (slen + h.length > PARAMS_MAX_BYTES) {
			e = FCGI_EPARAMS;
			perr = PARAMS_ETOOBIG;
			goto bad;
		}
		if ((grown = realloc(stream, slen + h.length)) == NULL)
			goto out;
		stream = grown;
		memcpy(stream + slen, content, h.length);
		slen += h.length;
		if ((e = fcgi_parse_pairs(stream, slen, &used, p, &perr)) !=
		    FCGI_OK)
			goto bad;
		memmove(stream, stream + used, slen - used);
		slen -= used;
	}
bad:
	refused(c, "FastCGI", fcgi_strerror(e), e == FCGI_EPARAMS ? perr : -1);
out:
	free(content);
	free(stream);
	return rc;
}

/* A management record (id 0): GET_VALUES answered, others unknown. */
static int
fcgi_manage(struct conn *c, const struct fcgi_header *h,
    const unsigned char *content)
{
	unsigned char	out[512];
	size_t		n;

	if (h->type == FCGI_GET_VALUES)
		n = fcgi_make_values(out, sizeof(out), content, h->length,
		    c->workers, c->workers);
	else
		n = fcgi_make_unknown(out, h->type);
	return conn_write(c, out, n);
}

/*
 * The request's body: the contents of its STDIN records, up to the empty
 * one.  Runs without the interpreter's lock.  Management records and other
 * ids' records met on the way are answered or passed over.
 */
static ssize_t
fcgi_stdin(void *ctx, void *dst, size_t n)
{
	struct conn		*c = ctx;
	unsigned char		 hdr[FCGI_HEADER_LEN], small[16];
	struct fcgi_header	 h;
	ssize_t			 r;

	for (;;) {
		if (c->aborted) {
			errno = ECONNABORTED;
			return -1;
		}
		if (c->stdin_eof)
			return 0;
		if (c->stdin_left > 0) {
			if (n > c->stdin_left)
				n = c->stdin_left;
			if ((r = conn_some(c, dst, n)) <= 0) {
				c->aborted = true;
				if (r == 0)
					errno = ECONNRESET;
				return -1;
			}
			c->stdin_left -= (size_t)r;
			if (c->stdin_left == 0 && skip(c, c->pad_left) < 0) {
				c->aborted = true;
				return -1;
			}
			return r;
		}
		if (conn_exact(c, hdr, sizeof(hdr)) < 0 ||
		    (fcgi_parse_header(hdr, &h) != FCGI_OK &&
		    h.id != FCGI_NULL_REQUEST_ID)) {
			c->aborted = true;
			errno = EPROTO;
			return -1;
		}
		if (h.id == c->id && h.type == FCGI_STDIN) {
			c->stdin_left = h.length;
			c->pad_left = h.padding;
			if (h.length == 0) {
				c->stdin_eof = true;
				if (skip(c, h.padding) < 0)
					c->aborted = true;
			}
			continue;
		}
		if (h.id == c->id && h.type == FCGI_ABORT_REQUEST) {
			c->aborted = true;
			(void)skip(c, h.length + h.padding);
			continue;
		}
		if (h.id == FCGI_NULL_REQUEST_ID && h.length <= sizeof(small)) {
			if (conn_exact(c, small, h.length) < 0 ||
			    skip(c, h.padding) < 0 ||
			    fcgi_manage(c, &h, small) < 0)
				c->aborted = true;
			continue;
		}
		if (skip(c, h.length + h.padding) < 0)
			c->aborted = true;
	}
}

/* What the application left of STDIN is read before the next request. */
static int
fcgi_drain(struct conn *c)
{
	char	scratch[8192];
	ssize_t	r;

	while ((r = fcgi_stdin(c, scratch, sizeof(scratch))) > 0)
		;
	return r == 0 ? 0 : -1;
}

static int
skip(struct conn *c, size_t n)
{
	unsigned char	scratch[256];
	size_t		k;

	while (n > 0) {
		k = n < sizeof(scratch) ? n : sizeof(scratch);
		if (conn_exact(c, scratch, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/*
 * "unix socket peer", or "ADDR:PORT", for log lines about a connection;
 * found when first needed, so that a request that goes well never asks.
 */
static const char *
peer(struct conn *c)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			host[NI_MAXHOST], port[NI_MAXSERV];

	if (c->peer[0] != '\0')
		return c->peer;
	memset(&ss, 0, sizeof(ss));
	(void)snprintf(c->peer, sizeof(c->peer), "peer");
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0)
		return c->peer;
	if (ss.ss_family == AF_UNIX)
		(void)snprintf(c->peer, sizeof(c->peer), "unix socket peer");
	else if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host),
	    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		(void)snprintf(c->peer, sizeof(c->peer), "%.64s:%.8s", host,
		    port);
	return c->peer;
}

/*
 * A line about a connection, "wsgi-cgi: ..." (and ": strerror" when
 * with_errno), to the server's own stderr even while a FastCGI request has
 * fd 2 for its STDERR records.
 */
static void
logmsg(bool with_errno, const char *fmt, ...)
{
	char	msg[768], line[1024];
	va_list	ap;
	int	saved = errno, n;

	msg[0] = '\0';
	va_start(ap, fmt);
	/* The analyzer does not see va_start initialise ap. */
	n = vsnprintf(msg, sizeof(msg), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	va_end(ap);
	if (n < 0)
		return;
	n = snprintf(line, sizeof(line), "wsgi-cgi: %s%s%s\n", msg,
	    with_errno ? ": " : "", with_errno ? strerror(saved) : "");
	if (n > 0)
		(void)write(log_fd, line, (size_t)n < sizeof(line) ?
		    (size_t)n : sizeof(line) - 1);
	errno = saved;
}
