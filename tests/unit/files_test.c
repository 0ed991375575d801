/*
 * Unit tests of files.c: a file is as it was until it is edited in place,
 * touched, or replaced by another under its name.
 * SPDX-License-Identifier: MIT
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "unit.h"

static void
same_or_not(void)
{
	char		 path[] = "/tmp/files_test.XXXXXX", other[64];
	struct stat	 a, b;
	struct timespec	 t[2] = { { 1, 0 }, { 1, 0 } };
	int		 fd;

	CHECK((fd = mkstemp(path)) >= 0);
	CHECK(write(fd, "abc", 3) == 3 && fstat(fd, &a) == 0);
	CHECK(stat(path, &b) == 0 && files_same(&a, &b));
	/* The same size and an old mtime: the ctime still moves. */
	CHECK(pwrite(fd, "xyz", 3, 0) == 3 && futimens(fd, t) == 0);
	CHECK(fstat(fd, &b) == 0 && !files_same(&a, &b));
	(void)close(fd);
	/* Another file renamed over it. */
	CHECK(stat(path, &a) == 0);
	(void)snprintf(other, sizeof(other), "%s.new", path);
	CHECK((fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	CHECK(write(fd, "xyz", 3) == 3);
	(void)close(fd);
	CHECK(rename(other, path) == 0 && stat(path, &b) == 0);
	CHECK(!files_same(&a, &b));
	(void)unlink(path);
}

const struct unit_test files_tests[] = {
	{ "files: an edit in place or a file renamed over it is a change",
	    same_or_not },
	{ NULL, NULL }
};
