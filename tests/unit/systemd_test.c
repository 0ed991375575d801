/*
 * Unit tests of systemd.c: LISTEN_PID and LISTEN_FDS read as
 * sd_listen_fds(3) reads them; a message reaches NOTIFY_SOCKET, a path or
 * an abstract name, as one datagram.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "systemd.h"
#include "unit.h"

static void
listen_count(void)
{
	char	pid[32], other[32];

	(void)snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	(void)snprintf(other, sizeof(other), "%ld", (long)getpid() + 1);
	CHECK(unsetenv("LISTEN_PID") == 0 && unsetenv("LISTEN_FDS") == 0);
	CHECK(sd_listen_count() == 0);
	CHECK(setenv("LISTEN_PID", pid, 1) == 0);
	CHECK(setenv("LISTEN_FDS", "1", 1) == 0);
	CHECK(sd_listen_count() == 1);
	CHECK(setenv("LISTEN_FDS", "2", 1) == 0);
	CHECK(sd_listen_count() == 2);
	/* Another process's: its parent's, passed down by mistake. */
	CHECK(setenv("LISTEN_PID", other, 1) == 0);
	CHECK(sd_listen_count() == 0);
	CHECK(setenv("LISTEN_PID", "12x", 1) == 0);
	CHECK(sd_listen_count() == -1);
	CHECK(setenv("LISTEN_PID", pid, 1) == 0);
	CHECK(setenv("LISTEN_FDS", "", 1) == 0);
	CHECK(sd_listen_count() == -1);
	CHECK(setenv("LISTEN_FDS", "-1", 1) == 0);
	CHECK(sd_listen_count() == -1);
	CHECK(unsetenv("LISTEN_PID") == 0 && unsetenv("LISTEN_FDS") == 0);
}

/* A datagram socket bound at name (a path, or @ abstract), as systemd's. */
static int
bound(const char *name)
{
	struct sockaddr_un	sun;
	size_t			len = strlen(name);
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, len);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct
	    sockaddr_un, sun_path) + len)) < 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

static void
notify(void)
{
	char	path[64], abstract[64], got[256];
	ssize_t	n;
	int	fd;

	(void)snprintf(path, sizeof(path), "/tmp/systemd_test.%ld",
	    (long)getpid());
	(void)snprintf(abstract, sizeof(abstract), "@systemd_test.%ld",
	    (long)getpid());
	(void)unlink(path);
	CHECK(unsetenv("NOTIFY_SOCKET") == 0);
	CHECK(!sd_notify_open());
	sd_notify("READY=1");		/* nowhere: nothing happens */
	CHECK(setenv("NOTIFY_SOCKET", "relative", 1) == 0);
	CHECK(!sd_notify_open());

	CHECK((fd = bound(path)) >= 0);
	CHECK(setenv("NOTIFY_SOCKET", path, 1) == 0);
	CHECK(sd_notify_open());
	sd_notifyf("READY=1\nSTATUS=%d workers", 2);
	n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	got[n] = '\0';
	CHECK(strcmp(got, "READY=1\nSTATUS=2 workers") == 0);
	sd_notify_close();
	/* A worker's: closed, it says nothing. */
	sd_notify("STOPPING=1");
	CHECK(recv(fd, got, sizeof(got), MSG_DONTWAIT) < 0);
	(void)close(fd);
	(void)unlink(path);

	CHECK((fd = bound(abstract)) >= 0);
	CHECK(setenv("NOTIFY_SOCKET", abstract, 1) == 0);
	CHECK(sd_notify_open());
	sd_notify("STOPPING=1");
	n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	CHECK(n == 10 && memcmp(got, "STOPPING=1", 10) == 0);
	sd_notify_close();
	(void)close(fd);
	CHECK(unsetenv("NOTIFY_SOCKET") == 0);
}

const struct unit_test systemd_tests[] = {
	{ "systemd: LISTEN_PID and LISTEN_FDS, this process's or not, "
	    "malformed", listen_count },
	{ "systemd: a message is one datagram to NOTIFY_SOCKET, a path or "
	    "an abstract name; none without it", notify },
	{ NULL, NULL }
};
