/*
 * Warm start's wire format: a message (struct warm_msg) and its
 * descriptors in one sendmsg(2) on a SOCK_SEQPACKET socket, checked for
 * its magic, version, size and the descriptors the reader expects; a
 * request's argv and environment in a memfd (two counts, then NUL-ended
 * strings).  Plain C, unit-tested (tests/unit/warm_wire_test.c).
 * SPDX-License-Identifier: MIT
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "warm_wire.h"

#define WIRE_MAGIC	0x57534743u	/* "WSGC" */

/* One message, with nfds descriptors (WARM_MAX_FDS at most); 0 or -1. */
int
warm_send(int s, struct warm_msg *m, const int *fds, int nfds)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int) * WARM_MAX_FDS)];
		struct cmsghdr	align;
	}		 u;
	struct iovec	 iov;
	struct msghdr	 mh;
	struct cmsghdr	*c;

	if (nfds > WARM_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	m->magic = WIRE_MAGIC;
	m->version = WARM_WIRE_VERSION;
	iov.iov_base = m;
	iov.iov_len = sizeof(*m);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		if ((c = CMSG_FIRSTHDR(&mh)) == NULL) {
			errno = EINVAL;
			return -1;
		}
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	while (sendmsg(s, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/*
 * One message within ms (-1: no limit), its descriptors into fds, which
 * holds cap of them (*nfds: how many came).  1: a message; 0: EOF or a
 * timeout; -1: an error, or a message that is not ours or carries more
 * descriptors than cap (every descriptor it carried closed).
 */
int
warm_recv(int s, struct warm_msg *m, int *fds, int cap, int *nfds, int ms)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int) * WARM_MAX_FDS)];
		struct cmsghdr	align;
	}		 u;
	struct pollfd	 p = { s, POLLIN, 0 };
	struct iovec	 iov;
	struct msghdr	 mh;
	struct cmsghdr	*c;
	ssize_t		 n;
	int		 r, k, *got;
	bool		 excess = false;

	*nfds = 0;
	while ((r = poll(&p, 1, ms)) < 0)
		if (errno != EINTR)
			return -1;
	if (r == 0)
		return 0;
	iov.iov_base = m;
	iov.iov_len = sizeof(*m);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	while ((n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) < 0)
		if (errno != EINTR)
			return errno == EAGAIN ? 0 : -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET ||
		    c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
			continue;
		got = (int *)(void *)CMSG_DATA(c);
		k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		/* More than the caller expects: none is kept. */
		if (fds == NULL || excess || k > cap - *nfds) {
			excess = fds != NULL;
			warm_close_fds(got, k);
			continue;
		}
		memcpy(fds + *nfds, got, sizeof(int) * (size_t)k);
		*nfds += k;
	}
	if (n == 0 && !excess)
		return 0;
	if (excess || (size_t)n != sizeof(*m) || m->magic != WIRE_MAGIC ||
	    m->version != WARM_WIRE_VERSION || (mh.msg_flags & MSG_CTRUNC) != 0) {
		if (fds != NULL)
			warm_close_fds(fds, *nfds);
		*nfds = 0;
		return -1;
	}
	m->text[sizeof(m->text) - 1] = '\0';
	return 1;
}

/* argv and the environment in a memfd: counts, then NUL-ended strings. */
int
warm_blob_write(char *argv[], char *const *envp)
{
	uint32_t	 n[2] = { 0, 0 };
	size_t		 len;
	int		 fd, i;
	FILE		*f;

	for (i = 0; argv[i] != NULL; i++)
		n[0]++;
	for (i = 0; envp[i] != NULL; i++)
		n[1]++;
	if ((fd = memfd_create("wsgi-cgi-request", MFD_CLOEXEC)) < 0)
		return -1;
	if ((f = fdopen(dup(fd), "w")) == NULL) {
		(void)close(fd);
		return -1;
	}
	(void)fwrite(n, sizeof(n), 1, f);
	for (i = 0; argv[i] != NULL; i++) {
		len = strlen(argv[i]) + 1;
		(void)fwrite(argv[i], 1, len, f);
	}
	for (i = 0; envp[i] != NULL; i++) {
		len = strlen(envp[i]) + 1;
		(void)fwrite(envp[i], 1, len, f);
	}
	if (fclose(f) != 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* The memfd's argv and environment, as NULL-ended arrays. */
int
warm_blob_read(int fd, char ***argv, int *argc, char ***envp)
{
	struct stat	 st;
	uint32_t	 n[2];
	char		*buf = NULL, *p, *end, **v = NULL;
	size_t		 i, total;

	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(n) ||
	    (uint64_t)st.st_size > WARM_BLOB_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL ||
	    pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		goto fail;
	buf[st.st_size] = '\0';
	memcpy(n, buf, sizeof(n));
	total = (size_t)n[0] + n[1];
	if (n[0] == 0 || total > WARM_BLOB_MAX / 2 ||
	    (v = calloc(total + 2, sizeof(*v))) == NULL)
		goto fail;
	p = buf + sizeof(n);
	end = buf + st.st_size;
	for (i = 0; i < total; i++) {
		if (p >= end)
			goto fail;
		v[i + (i >= n[0])] = p;
		p += strlen(p) + 1;
	}
	/* The strings live as long as the child: buf is theirs. */
	*argv = v;
	*argc = (int)n[0];
	*envp = v + n[0] + 1;
	return 0;
fail:
	free(v);
	free(buf);
	return -1;
}

/* Closes the n descriptors in fds that are open (not -1). */
void
warm_close_fds(int *fds, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			(void)close(fds[i]);
}

/*
 * dir/name+suffix as an address that cannot be raced: through the checked
 * directory's descriptor.
 */
int
warm_sock_path(const struct warm *w, int dir, const char *name,
    struct sockaddr_un *sa)
{
	int	n;

	(void)w;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path),
	    "/proc/self/fd/%d/%s.sock", dir, name);
	return n > 0 && (size_t)n < sizeof(sa->sun_path) ? 0 : -1;
}

/* The peer runs as this user (SO_PEERCRED). */
bool
warm_same_user(int s)
{
	struct ucred	cr;
	socklen_t	len = sizeof(cr);

	return getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
	    cr.uid == geteuid();
}
