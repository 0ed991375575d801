/*
 * systemd's two small protocols, spoken without libsystemd (one library
 * less to link and to ship, for two documented formats of a few lines):
 *
 * - socket activation (sd_listen_fds(3)): a process whose pid LISTEN_PID
 *   names has LISTEN_FDS sockets from fd 3; wsgi-cgi serves them all, the
 *   first moved to fd 0 where its server modes listen, and passes them on
 *   in the same form when it executes itself again to reload;
 * - notification (sd_notify(3)): READY=1, RELOADING=1, STOPPING=1 and
 *   STATUS= lines, each a datagram to the Unix socket NOTIFY_SOCKET names
 *   (a path, or @ for the abstract namespace), sent by the process systemd
 *   started (the master) alone.
 *
 * The notify socket and its address are the process's, made once; sending
 * is async-signal-safe (a signal handler says STOPPING=1).  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "systemd.h"

static int	stream_family(int);

static int			 notify_fd = -1;
static struct sockaddr_un	 notify_to;
static socklen_t		 notify_len;
static int			 adopted;	/* sockets from systemd */

/*
 * The sockets systemd passed to this process: 0 when none (not started by
 * socket activation, or the variables are another process's), -1 when
 * the variables are malformed.
 */
int
sd_listen_count(void)
{
	const char	*pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char		*end;
	long		 p, n;

	if (pid == NULL || fds == NULL)
		return 0;
	errno = 0;
	p = strtol(pid, &end, 10);
	if (errno != 0 || end == pid || *end != '\0' || p <= 0)
		return -1;
	if ((pid_t)p != getpid())
		return 0;
	n = strtol(fds, &end, 10);
	if (errno != 0 || end == fds || *end != '\0' || n < 0 || n > 1024)
		return -1;
	return (int)n;
}

/*
 * The sockets systemd passed (at most max): the first becomes fd 0, the
 * others stay where they are (fds 4 on), closed on exec; the variables go
 * (the application and its children must not take them for theirs).  How
 * many, each one's address family in families; or -1 with why in reason.
 */
int
sd_listen_adopt(int *families, int max, char *reason, size_t size)
{
	int	n = sd_listen_count(), i;

	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	if (n < 1 || n > max) {
		(void)snprintf(reason, size, n < 0 ? "LISTEN_PID or LISTEN_FDS "
		    "is not a number" : "systemd passed %d sockets: wsgi-cgi "
		    "serves 1 to %d", n, max);
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((families[i] = stream_family(SD_LISTEN_FDS_START + i)) < 0) {
			(void)snprintf(reason, size, "the socket systemd passed "
			    "(fd %d) is not a listening stream socket "
			    "(ListenStream=, Accept=no)", SD_LISTEN_FDS_START + i);
			return -1;
		}
	for (i = 1; i < n; i++)
		(void)fcntl(SD_LISTEN_FDS_START + i, F_SETFD, FD_CLOEXEC);
	if (dup2(SD_LISTEN_FDS_START, STDIN_FILENO) < 0) {
		(void)snprintf(reason, size, "dup2: %s", strerror(errno));
		return -1;
	}
	(void)close(SD_LISTEN_FDS_START);
	adopted = n;
	return n;
}

/* fd's address family when it is a listening stream socket; else -1. */
static int
stream_family(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss), ol, tl;
	int			on = 0, type = 0;

	memset(&ss, 0, sizeof(ss));
	ol = sizeof(on);
	tl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &ol) < 0 || !on ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    type != SOCK_STREAM ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	return ss.ss_family;
}

/* fd 0 (and fds 4 on) are the sockets systemd passed. */
bool
sd_listen_adopted(void)
{
	return adopted > 0;
}

/*
 * Before this process executes itself again: the sockets passed on as
 * systemd passed them (fd 0 back to fd 3, the others kept open), so that
 * the new image serves them the same way.
 */
void
sd_listen_again(void)
{
	char	pid[32], fds[16];
	int	i;

	if (adopted == 0 || dup2(STDIN_FILENO, SD_LISTEN_FDS_START) < 0)
		return;
	for (i = 1; i < adopted; i++)
		(void)fcntl(SD_LISTEN_FDS_START + i, F_SETFD, 0);
	(void)snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	(void)snprintf(fds, sizeof(fds), "%d", adopted);
	(void)setenv("LISTEN_PID", pid, 1);
	(void)setenv("LISTEN_FDS", fds, 1);
}

/*
 * This process tells systemd its state, if NOTIFY_SOCKET names where:
 * the process systemd started, not its workers.  True when it does.
 */
bool
sd_notify_open(void)
{
	const char	*path = getenv("NOTIFY_SOCKET");
	size_t		 len;

	if (notify_fd >= 0)
		return true;
	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(notify_to.sun_path) || len < 2)
		return false;
	memset(&notify_to, 0, sizeof(notify_to));
	notify_to.sun_family = AF_UNIX;
	memcpy(notify_to.sun_path, path, len);
	if (path[0] == '@')
		notify_to.sun_path[0] = '\0';
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '/'));
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return notify_fd >= 0;
}

/* A worker: its master tells systemd. */
void
sd_notify_close(void)
{
	if (notify_fd >= 0)
		(void)close(notify_fd);
	notify_fd = -1;
}

/* One message (lines of VAR=value); async-signal-safe. */
void
sd_notify(const char *msg)
{
	int	e = errno;

	if (notify_fd >= 0)
		(void)sendto(notify_fd, msg, strlen(msg), MSG_NOSIGNAL,
		    (const struct sockaddr *)&notify_to, notify_len);
	errno = e;
}

/* One message, formatted; not from a signal handler. */
void
sd_notifyf(const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	if (notify_fd < 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	va_end(ap);
	sd_notify(msg);
}
