/*
 * Unit tests of warm_wire.c: messages and their descriptors over a
 * SOCK_SEQPACKET pair, what a reader refuses, and the argv/environment
 * memfd both ways.
 * SPDX-License-Identifier: MIT
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "warm_wire.h"

/* How many descriptors this process has open. */
static int
open_fds(void)
{
	int	fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static bool
pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0;
}

static void
messages(void)
{
	struct warm_msg	 m, got;
	int		 sv[2], fds[WARM_NFDS], in[WARM_MAX_FDS], n, i;

	CHECK(pair(sv));
	memset(&m, 0, sizeof(m));
	m.type = WM_REQUEST;
	m.value = 022;
	strcpy(m.text, "/srv/app.py");
	for (i = 0; i < WARM_NFDS; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(warm_send(sv[0], &m, fds, WARM_NFDS) == 0);
	warm_close_fds(fds, WARM_NFDS);
	CHECK(warm_recv(sv[1], &got, in, WARM_NFDS, &n, 1000) == 1);
	CHECK(n == WARM_NFDS && got.type == WM_REQUEST && got.value == 022 &&
	    strcmp(got.text, "/srv/app.py") == 0);
	for (i = 0; i < n; i++)
		CHECK(fcntl(in[i], F_GETFD) == FD_CLOEXEC);
	warm_close_fds(in, n);
	/* Nothing within the time: 0; the peer gone: 0. */
	CHECK(warm_recv(sv[1], &got, in, WARM_NFDS, &n, 10) == 0 && n == 0);
	(void)close(sv[0]);
	CHECK(warm_recv(sv[1], &got, in, WARM_NFDS, &n, 1000) == 0);
	(void)close(sv[1]);
}

/* More descriptors than the reader takes: refused, every one closed. */
static void
too_many(void)
{
	struct warm_msg	 m;
	int		 sv[2], fds[WARM_MAX_FDS], in[WARM_MAX_FDS + 1], n, i;
	int		 before;

	CHECK(pair(sv));
	before = open_fds();
	memset(&m, 0, sizeof(m));
	m.type = WM_REQUEST;
	for (i = 0; i < WARM_MAX_FDS; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(warm_send(sv[0], &m, fds, WARM_MAX_FDS) == 0);
	warm_close_fds(fds, WARM_MAX_FDS);
	in[WARM_NFDS] = -2;	/* one past the capacity: never written */
	CHECK(warm_recv(sv[1], &m, in, WARM_NFDS, &n, 1000) == -1 && n == 0);
	CHECK(in[WARM_NFDS] == -2);
	CHECK(open_fds() == before);
	/* A reader that takes none closes what comes. */
	for (i = 0; i < 2; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(warm_send(sv[0], &m, fds, 2) == 0);
	warm_close_fds(fds, 2);
	CHECK(warm_recv(sv[1], &m, NULL, 0, &n, 1000) == 1);
	CHECK(open_fds() == before);
	(void)close(sv[0]);
	(void)close(sv[1]);
}

/* Not our message: another magic, another size. */
static void
foreign(void)
{
	struct warm_msg	 m;
	int		 sv[2], n;
	char		 small[16] = "hello";

	CHECK(pair(sv));
	memset(&m, 0, sizeof(m));
	CHECK(send(sv[0], small, sizeof(small), 0) == sizeof(small));
	CHECK(warm_recv(sv[1], &m, NULL, 0, &n, 1000) == -1);
	memset(&m, 0, sizeof(m));
	m.magic = 0x12345678;
	CHECK(send(sv[0], &m, sizeof(m), 0) == sizeof(m));
	CHECK(warm_recv(sv[1], &m, NULL, 0, &n, 1000) == -1);
	(void)close(sv[0]);
	(void)close(sv[1]);
}

static void
blobs(void)
{
	char	*argv[] = { (char *)"wsgi-cgi", (char *)"/srv/app.py", NULL };
	char	*envp[] = { (char *)"A=1", (char *)"PATH_INFO=/x", NULL };
	char	**av, **ev;
	int	 fd, ac;

	CHECK((fd = warm_blob_write(argv, envp)) >= 0);
	CHECK(warm_blob_read(fd, &av, &ac, &ev) == 0);
	CHECK(ac == 2 && strcmp(av[0], "wsgi-cgi") == 0 &&
	    strcmp(av[1], "/srv/app.py") == 0 && av[2] == NULL);
	CHECK(strcmp(ev[0], "A=1") == 0 && strcmp(ev[1], "PATH_INFO=/x") ==
	    0 && ev[2] == NULL);
	/* The strings are the child's for its life, as here. */
	free(av);
	(void)close(fd);
}

/* Counts that promise more than the memfd holds, none, or nothing. */
static void
bad_blobs(void)
{
	static const unsigned char	 empty[8];
	unsigned char			 lie[8 + 4] = { 3, 0, 0, 0, 1, 0, 0, 0,
					    'a', 0, 'b', 0 };
	char				**av, **ev;
	int				 fd, ac;

	fd = open("/dev/null", O_RDONLY);
	CHECK(warm_blob_read(fd, &av, &ac, &ev) == -1);
	(void)close(fd);
	CHECK((fd = warm_blob_write((char *[]){ NULL },
	    (char *const[]){ NULL })) >= 0);
	CHECK(warm_blob_read(fd, &av, &ac, &ev) == -1);	/* no argv[0] */
	(void)close(fd);
	CHECK((fd = memfd_create("t", 0)) >= 0);
	CHECK(write(fd, lie, sizeof(lie)) == sizeof(lie));
	CHECK(warm_blob_read(fd, &av, &ac, &ev) == -1);
	(void)close(fd);
	CHECK((fd = memfd_create("t", 0)) >= 0);
	CHECK(write(fd, empty, sizeof(empty)) == sizeof(empty));
	CHECK(warm_blob_read(fd, &av, &ac, &ev) == -1);
	(void)close(fd);
}

const struct unit_test warm_wire_tests[] = {
	{ "warm wire: a message and its descriptors, a time-out, the end",
	    messages },
	{ "warm wire: more descriptors than expected: refused, all closed",
	    too_many },
	{ "warm wire: a message that is not ours is refused", foreign },
	{ "warm wire: argv and the environment through a memfd", blobs },
	{ "warm wire: a memfd whose counts lie is refused", bad_blobs },
	{ NULL, NULL }
};
