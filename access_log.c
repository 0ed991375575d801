/*
 * --access-log[=FILE]: a server's access lines go to stderr, or to FILE
 * opened for appending.  Each line is one write(2) on an O_APPEND
 * descriptor, so lines from many workers and threads never interleave
 * inside one another.  On SIGUSR1 (logrotate's postrotate) FILE is opened
 * anew and put in place of the old descriptor with dup2(2), atomically: a
 * line written meanwhile is whole in the old file (renamed) or in the new
 * one, never lost, never cut.  The descriptor and the path are the
 * process's, set once before serving.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "access_log.h"

static int		 log_fd = STDERR_FILENO;
static const char	*log_path;		/* NULL: stderr */

/* The log: path (NULL: stderr); -1 (errno) if it cannot be opened. */
int
access_log_open(const char *path)
{
	int	fd;

	if (path == NULL)
		return 0;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) < 0)
		return -1;
	log_fd = fd;
	log_path = path;
	return 0;
}

/* The file opened anew, in the old one's place; -1 (errno): kept. */
int
access_log_reopen(void)
{
	int	fd, e;

	if (log_path == NULL)
		return 0;
	if ((fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) < 0)
		return -1;
	if (dup3(fd, log_fd, O_CLOEXEC) < 0) {
		e = errno;
		(void)close(fd);
		errno = e;
		return -1;
	}
	(void)close(fd);
	return 0;
}

/* One line, in one write(2). */
void
access_log_write(const char *line, size_t len)
{
	ssize_t	n;

	do
		n = write(log_fd, line, len);
	while (n < 0 && errno == EINTR);
}
