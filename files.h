/*
 * What the code that notices an edit shares, in the server modes and in
 * warm start: whether a file is as it was, and the racy rule's seconds.
 * Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef FILES_H
#define FILES_H

#include <sys/stat.h>

#include <stdbool.h>

/*
 * A file changed within this many seconds of being read may change again
 * within the same timestamp: what was made from it is not trusted.
 */
#define FILES_RACY_SECONDS	2

bool	files_same(const struct stat *, const struct stat *);

#endif /* FILES_H */
