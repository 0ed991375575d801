/*
 * A server's listening sockets: bound for --listen (a Unix socket's file
 * made, and removed at the end if it is still ours), taken from systemd
 * or from a web server (fd 0), each with the protocols it serves; found
 * again when the process executes itself (a reload keeps them); closed at
 * a stop once the connections queued on them are taken.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server.h"
#include "sockets.h"
#include "systemd.h"

#define BACKLOG		1024
#define ADOPT_FDS	64	/* fds a reload's sockets are looked for in */

static void	 add_socket(struct srv_options *, int, bool, const char *);
static int	 listen_on(const struct srv_options *, const char *);
static int	 listen_unix(const struct srv_options *, const char *);
static bool	 unix_live(const struct sockaddr_un *);
static void	 unix_own(const char *, const struct stat *);
static int	 listen_inet(const struct srv_options *, const char *);
static int	 adopt(const struct srv_options *, const struct sockaddr *,
		    socklen_t);

/* The Unix sockets' files ours to unlink, if each is still that file. */
static struct {
	const char	*path;
	dev_t		 dev;
	ino_t		 ino;
} owned[SRV_SOCKETS_MAX];
static unsigned	 nowned;
static bool	 again;		/* executed again: sockets kept */

/*
 * The listening sockets: systemd's (socket activation), --listen's (the
 * first on fd 0), or the one a web server handed over on fd 0; and the
 * protocols each speaks; kept: the process was executed again, and has
 * its --listen sockets open still.  -1 when there is none to serve (said
 * why).
 */
int
sockets_take(struct srv_options *o, bool kept)
{
	char	reason[256];
	int	families[SRV_SOCKETS_MAX], fd, n, i;
	size_t	k;

	again = kept;
	if (sd_listen_count() != 0) {
		if (o->nlisten > 0) {
			warnx("--listen %s, and sockets from systemd "
			    "(LISTEN_FDS): give one or the other", o->listen[0]);
			return -1;
		}
		if ((n = sd_listen_adopt(families, SRV_SOCKETS_MAX, reason,
		    sizeof(reason))) < 0) {
			warnx("%s", reason);
			return -1;
		}
		for (i = 0; i < n; i++)
			add_socket(o, i == 0 ? STDIN_FILENO :
			    SD_LISTEN_FDS_START + i, families[i] != AF_UNIX,
			    NULL);
		return 0;
	}
	if (o->nlisten == 0)
		add_socket(o, STDIN_FILENO, false, NULL);
	for (k = 0; k < o->nlisten; k++) {
		if ((fd = listen_on(o, o->listen[k])) < 0)
			return -1;
		if (k == 0 && fd != STDIN_FILENO) {
			if (dup2(fd, STDIN_FILENO) < 0)
				err(2, "dup2");
			(void)close(fd);
			fd = STDIN_FILENO;
		} else if (k > 0)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		add_socket(o, fd, !sockets_unix_addr(o->listen[k]),
		    o->listen[k]);
	}
	return 0;
}

/*
 * A HOST:PORT may be reached by clients: a gateway protocol's peer sets
 * REMOTE_ADDR, REMOTE_USER and HTTPS itself, so it speaks only HTTP
 * unless --protocol says otherwise, as does a TCP socket from systemd.  A
 * Unix socket, or a socket a web server hands over, is reached by the web
 * server alone.
 */
static void
add_socket(struct srv_options *o, int fd, bool inet, const char *name)
{
	struct srv_socket	*s = &o->sockets[o->nsockets++];

	s->fd = fd;
	s->protocols = o->protocols != 0 ? o->protocols : inet ? SRV_HTTP :
	    SRV_ALL;
	s->http_alone = o->protocols == 0 && inet;
	s->name = name;
}

/* php-cgi's test: fd 0 is a listening socket when a server spawned us. */
bool
sockets_fd0_listening(void)
{
	int		on = 0;
	socklen_t	len = sizeof(on);

	return getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &on,
	    &len) == 0 && on;
}

/* ADDR: an absolute path or unix:PATH, or HOST:PORT. */
static int
listen_on(const struct srv_options *o, const char *addr)
{
	if (sockets_unix_addr(addr))
		return listen_unix(o, addr[0] == '/' ? addr : addr + 5);
	return listen_inet(o, addr);
}

/* ADDR is a Unix socket's: an absolute path or unix:PATH. */
bool
sockets_unix_addr(const char *addr)
{
	return addr[0] == '/' || strncmp(addr, "unix:", 5) == 0;
}

static int
listen_unix(const struct srv_options *o, const char *path)
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
	/* Executed again on SIGHUP: the socket is open already. */
	if ((fd = adopt(o, (struct sockaddr *)&sun, sizeof(sun))) >= 0) {
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unix_own(path, &st);
		return fd;
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
	    (o->socket_mode != 0 && chmod(path, (mode_t)o->socket_mode) < 0) ||
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
	if (nowned == SRV_SOCKETS_MAX)
		return;
	owned[nowned].path = path;
	owned[nowned].dev = st->st_dev;
	owned[nowned++].ino = st->st_ino;
}

/* Removes our sockets' files, each if the file at its path is still it. */
void
sockets_unlink(void)
{
	struct stat	st;

	while (nowned > 0) {
		nowned--;
		if (lstat(owned[nowned].path, &st) == 0 &&
		    st.st_dev == owned[nowned].dev &&
		    st.st_ino == owned[nowned].ino)
			(void)unlink(owned[nowned].path);
	}
}

/* A socket of its own (--stats) on HOST:PORT, never one kept; or -1. */
int
sockets_inet(const char *addr)
{
	return listen_inet(NULL, addr);
}

/* HOST:PORT; o NULL: a socket of its own. */
static int
listen_inet(const struct srv_options *o, const char *addr)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 host[256];
	const char	*colon = strrchr(addr, ':'), *h;
	size_t		 hl;
	int		 fd = -1, on = 1, e;

	/* [IPv6]:PORT: the port's colon follows the bracket. */
	if (addr[0] == '[' && (colon == NULL || colon == addr ||
	    colon[-1] != ']'))
		colon = NULL;
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
		if (o != NULL && (fd = adopt(o, ai->ai_addr,
		    ai->ai_addrlen)) >= 0)
			break;
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

/*
 * A listening socket bound to addr that the process has already, not yet
 * one of o's: fd 0, or one above 2 that the image before kept across a
 * reload.  -1 when there is none.
 */
static int
adopt(const struct srv_options *o, const struct sockaddr *addr,
    socklen_t len)
{
	struct sockaddr_storage	ss;
	socklen_t		sl, ol;
	unsigned		i;
	int			fd, on;

	for (fd = 0; fd < (again ? ADOPT_FDS : 1); fd = fd == 0 ? 3 : fd + 1) {
		for (i = 0; i < o->nsockets && o->sockets[i].fd != fd; i++)
			;
		memset(&ss, 0, sizeof(ss));
		sl = sizeof(ss);
		on = 0;
		ol = sizeof(on);
		if (i < o->nsockets || getsockopt(fd, SOL_SOCKET,
		    SO_ACCEPTCONN, &on, &ol) < 0 || !on ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
			continue;
		if (addr->sa_family == AF_UNIX ? ss.ss_family == AF_UNIX &&
		    strcmp(((const struct sockaddr_un *)addr)->sun_path,
		    ((struct sockaddr_un *)&ss)->sun_path) == 0 :
		    sl == len && memcmp(&ss, addr, len) == 0)
			return fd;
	}
	return -1;
}

/*
 * At a stop, this process's listening sockets closed (fd 0 becomes
 * /dev/null, so that nothing opened later takes it): the kernel queues no
 * connection for it any more.
 */
void
sockets_let_go(const struct srv_options *o)
{
	unsigned	i;
	int		null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	for (i = 0; i < o->nsockets; i++)
		if (o->sockets[i].fd != STDIN_FILENO)
			(void)close(o->sockets[i].fd);
		else if (null < 0 || dup2(null, STDIN_FILENO) < 0)
			(void)close(STDIN_FILENO);
	if (null >= 0)
		(void)close(null);
}

/* A worker's: the socket files are the master's to remove. */
void
sockets_forget(void)
{
	nowned = 0;
}

/* --user: the socket files are user's, and group's (--socket-mode). */
void
sockets_chown(const char *name, uid_t uid, gid_t gid)
{
	unsigned	i;

	for (i = 0; i < nowned; i++)
		if (chown(owned[i].path, uid, gid) < 0)
			warn("--user %s: chown %s", name, owned[i].path);
}

/*
 * Before (keep) the process executes itself again: the sockets after the
 * first (fd 0) kept open for the new image; after, if it could not, closed
 * on exec again.
 */
void
sockets_keep(const struct srv_options *o, bool keep)
{
	unsigned	i;

	for (i = 1; i < o->nsockets; i++)
		(void)fcntl(o->sockets[i].fd, F_SETFD, keep ? 0 : FD_CLOEXEC);
}
