/*
 * Warm start's file watching: the files the script's imports came from,
 * watched by inotify where the file system tells, else stat(2)ed before
 * each request; a change makes the backend stale.
 * SPDX-License-Identifier: MIT
 */
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "warm_backend.h"

static bool	 local_fs(dev_t, const char *);

/* A file an import came from: its state now (ops->files()'s callback). */
void
warm_watch_add(void *arg, const char *path)
{
	struct backend	*b = arg;
	struct watch	*nw;
	struct stat	 st;
	size_t		 n, l;
	char		*np;
	bool		 polled;

	if (b->nwatch == WATCH_MAX || stat(path, &st) < 0)
		return;
	if (b->nwatch == b->watch_cap) {
		n = b->watch_cap == 0 ? 256 : b->watch_cap * 2;
		if ((nw = realloc(b->watch, n * sizeof(*nw))) == NULL) {
			b->nwatch = WATCH_MAX;
			return;
		}
		b->watch = nw;
		b->watch_cap = n;
	}
	l = strlen(path) + 1;
	if (b->paths_len + l > b->paths_cap) {
		n = (b->paths_len + l) * 2;
		if ((np = realloc(b->paths, n)) == NULL) {
			b->nwatch = WATCH_MAX;
			return;
		}
		b->paths = np;
		b->paths_cap = n;
	}
	memcpy(b->paths + b->paths_len, path, l);
	/* Watched first, then its state: a change between shows. */
	polled = b->inotify < 0 || !local_fs(st.st_dev, path) ||
	    inotify_add_watch(b->inotify, path, IN_MODIFY | IN_ATTRIB |
	    IN_MOVE_SELF | IN_DELETE_SELF | IN_CLOSE_WRITE) < 0;
	if (stat(path, &st) < 0) {
		b->nwatch = WATCH_MAX;
		return;
	}
	b->watch[b->nwatch].path = b->paths_len;
	b->watch[b->nwatch].st = st;
	b->watch[b->nwatch].polled = polled;
	b->npolled += polled;
	b->nwatch++;
	b->paths_len += l;
	if (warm_ns(&st.st_mtim) > b->newest)
		b->newest = warm_ns(&st.st_mtim);
	if (warm_ns(&st.st_ctim) > b->newest)
		b->newest = warm_ns(&st.st_ctim);
}

/*
 * An imported file changed (an edit, a file renamed over it, apt), or has
 * gone: the backend no longer has the code a cold request would run.
 */
bool
warm_stale(const struct backend *b)
{
	const struct stat	*o;
	struct stat		 st;
	char			 ev[4096];
	size_t			 i;

	/* An event, or an error reading them (even an overflow), is news. */
	if (b->inotify >= 0 && b->npolled < b->nwatch &&
	    (read(b->inotify, ev, sizeof(ev)) > 0 || errno != EAGAIN))
		return true;
	for (i = 0; i < b->nwatch && b->npolled > 0; i++) {
		if (!b->watch[i].polled)
			continue;
		o = &b->watch[i].st;
		if (stat(b->paths + b->watch[i].path, &st) < 0 ||
		    !files_same(&st, o))
			return true;
	}
	return false;
}

/*
 * A filesystem whose changes this kernel sees all of: not one that others
 * change too (NFS, SMB, FUSE, 9p, cluster filesystems), where inotify
 * misses their writes.  The answer for the last device is kept.
 */
static bool
local_fs(dev_t dev, const char *path)
{
	static const long	 remote[] = {
		0x6969,		/* NFS */
		0x517b,		/* SMB */
		(long)0xff534d42,	/* CIFS */
		(long)0xfe534d42,	/* SMB2 */
		0x65735546,	/* FUSE */
		0x01021997,	/* 9p */
		0x00c36400,	/* Ceph */
		0x5346414f,	/* AFS */
		0x73757245,	/* Coda */
		0x01161970,	/* GFS2 */
		0x7461636f,	/* OCFS2 */
		0x0bd00bd0,	/* Lustre */
		0x47504653,	/* GPFS */
	};
	static dev_t		 last_dev;
	static bool		 last_local, known;
	struct statfs		 sf;
	size_t			 i;

	if (known && dev == last_dev)
		return last_local;
	if (statfs(path, &sf) < 0)
		return false;
	last_local = true;
	for (i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
		if ((long)sf.f_type == remote[i])
			last_local = false;
	last_dev = dev;
	known = true;
	return last_local;
}

int64_t
warm_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}
