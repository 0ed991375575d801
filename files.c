/*
 * Whether a file is as it was: the same file (device and inode), size,
 * modification and change times to the nanosecond.  An edit in place
 * changes the times, a file renamed over it (sed -i, most editors) the
 * inode.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/stat.h>

#include <stdbool.h>

#include "files.h"

bool
files_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}
