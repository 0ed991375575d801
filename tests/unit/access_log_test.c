/*
 * Unit tests of access_log.c: lines appended; after the file is renamed,
 * a reopening puts a new file in place of the old descriptor.
 * SPDX-License-Identifier: MIT
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "access_log.h"
#include "unit.h"

/* The contents of path, or "" */
static const char *
slurp(const char *path, char *buf, size_t size)
{
	ssize_t	n = -1;
	int	fd;

	if ((fd = open(path, O_RDONLY)) >= 0) {
		n = read(fd, buf, size - 1);
		(void)close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
rotate(void)
{
	char	path[64], old[72], buf[256];

	(void)snprintf(path, sizeof(path), "/tmp/access_log_test.%ld",
	    (long)getpid());
	(void)snprintf(old, sizeof(old), "%s.1", path);
	(void)unlink(path);
	(void)unlink(old);
	CHECK(access_log_open(NULL) == 0);	/* stderr: nothing to open */
	CHECK(access_log_open("/nonexistent/dir/log") < 0);
	CHECK(access_log_open(path) == 0);
	access_log_write("one\n", 4);
	access_log_write("two\n", 4);
	CHECK(rename(path, old) == 0);
	access_log_write("three\n", 6);		/* the old file, renamed */
	CHECK(access_log_reopen() == 0);
	access_log_write("four\n", 5);
	CHECK(strcmp(slurp(old, buf, sizeof(buf)), "one\ntwo\nthree\n") == 0);
	CHECK(strcmp(slurp(path, buf, sizeof(buf)), "four\n") == 0);
	(void)unlink(path);
	(void)unlink(old);
}

const struct unit_test access_log_tests[] = {
	{ "access log: appended; reopened after a rename, the new file takes "
	    "the next line", rotate },
	{ NULL, NULL }
};
