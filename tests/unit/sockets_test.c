/*
 * Unit tests of sockets.c: --listen's addresses bound, each with its
 * protocols; found again as a reload finds them; closed at a stop, the
 * socket file removed.  fd 0 (the first socket's place) is saved around.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"
#include "sockets.h"
#include "unit.h"

static void
addresses(void)
{
	CHECK(sockets_unix_addr("/run/app.sock"));
	CHECK(sockets_unix_addr("unix:app.sock"));
	CHECK(!sockets_unix_addr("127.0.0.1:8000"));
	CHECK(!sockets_unix_addr("[::1]:8000"));
}

/* Something accepts connections on the Unix socket at path. */
static int
unix_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return -1;
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)close(fd);
	return r;
}

static void
listen_twice(void)
{
	struct srv_options	o, again;
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);
	struct stat		st;
	char			dir[] = "/tmp/sockets_test.XXXXXX", path[64];
	char			tcp[64];
	const char		*listen[2], *twice[2];
	int			saved = dup(STDIN_FILENO);

	CHECK(saved >= 0 && mkdtemp(dir) != NULL);
	(void)snprintf(path, sizeof(path), "%s/s.sock", dir);
	listen[0] = path;
	listen[1] = "127.0.0.1:0";
	memset(&o, 0, sizeof(o));
	o.listen = listen;
	o.nlisten = 2;
	o.socket_mode = 0660;
	CHECK(sockets_take(&o, false) == 0 && o.nsockets == 2);
	/* The first on fd 0; a Unix socket serves all four, TCP HTTP. */
	CHECK(o.sockets[0].fd == STDIN_FILENO && sockets_fd0_listening());
	CHECK(o.sockets[0].protocols == SRV_ALL && !o.sockets[0].http_alone);
	CHECK(o.sockets[1].fd > 2 && o.sockets[1].protocols == SRV_HTTP &&
	    o.sockets[1].http_alone);
	CHECK(fcntl(o.sockets[1].fd, F_GETFD) == FD_CLOEXEC);
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    (st.st_mode & 07777) == 0660);
	/* A socket a server answers on is not taken over: one twice. */
	memset(&again, 0, sizeof(again));
	twice[0] = twice[1] = path;
	again.listen = twice;
	again.nlisten = 2;
	CHECK(sockets_take(&again, false) < 0);
	CHECK(again.sockets[0].fd == STDIN_FILENO);
	/* Executed again (a reload): each found by its address, kept. */
	CHECK(getsockname(o.sockets[1].fd, (struct sockaddr *)&sin, &sl) == 0);
	(void)snprintf(tcp, sizeof(tcp), "127.0.0.1:%u", ntohs(sin.sin_port));
	listen[1] = tcp;
	sockets_keep(&o, true);
	CHECK(fcntl(o.sockets[1].fd, F_GETFD) == 0);
	memset(&again, 0, sizeof(again));
	again.listen = listen;
	again.nlisten = 2;
	again.protocols = SRV_FASTCGI;
	CHECK(sockets_take(&again, true) == 0 && again.nsockets == 2);
	CHECK(again.sockets[0].fd == STDIN_FILENO &&
	    again.sockets[1].fd == o.sockets[1].fd);
	/* --protocol holds for every address. */
	CHECK(again.sockets[0].protocols == SRV_FASTCGI &&
	    again.sockets[1].protocols == SRV_FASTCGI &&
	    !again.sockets[1].http_alone);
	CHECK(unix_connect(path) == 0);
	/* A stop: closed (fd 0 is /dev/null), then the file goes. */
	sockets_let_go(&again);
	CHECK(!sockets_fd0_listening() && fcntl(STDIN_FILENO, F_GETFD) >= 0);
	CHECK(fcntl(o.sockets[1].fd, F_GETFD) < 0 && errno == EBADF);
	CHECK(unix_connect(path) < 0 && errno == ECONNREFUSED);
	sockets_unlink();
	CHECK(stat(path, &st) < 0 && errno == ENOENT);
	CHECK(rmdir(dir) == 0);
	CHECK(dup2(saved, STDIN_FILENO) == STDIN_FILENO && close(saved) == 0);
}

const struct unit_test sockets_tests[] = {
	{ "sockets: a Unix socket's address or HOST:PORT", addresses },
	{ "sockets: --listen twice, each its protocols; kept at a reload; "
	    "closed at a stop", listen_twice },
	{ NULL, NULL }
};
