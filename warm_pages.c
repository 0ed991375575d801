/*
 * Warm start's page prefault: children say which of the backend's private
 * pages they wrote, and the next spare copies those ahead of its request
 * (MADV_POPULATE_WRITE), so that the request does not pay the faults.
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

#include "warm_backend.h"

#define COPY_PAGES	64	/* copied between looks for a request */
#define REGION_PAGES	(1u << 16)	/* larger: reserved, not a heap */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

/*
 * Copy-on-write: a child's first write to each page it shares with the
 * backend costs a fault and a copy, a few microseconds each, and a
 * framework's request writes to about a thousand pages (reference
 * counts).  Children say which pages they wrote (present and exclusively
 * theirs in /proc/self/pagemap) in a shared bitmap; a spare, waiting for
 * its request, takes those copies ahead (MADV_POPULATE_WRITE, which skips
 * what is not mapped).  Not under the sanitizers, whose shadow mappings
 * are vast.
 */
void
warm_pages_init(struct backend *b)
{
#ifndef WSGI_CGI_SANITIZE
	char		 line[512], perms[8];
	unsigned long	 lo, hi;
	size_t		 pages;
	long		 psz = sysconf(_SC_PAGESIZE);
	FILE		*f;

	if (psz <= 0 || (f = fopen("/proc/self/maps", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL &&
	    b->nregions < REGIONS_MAX) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
		    strcmp(perms, "rw-p") != 0 || hi <= lo)
			continue;
		pages = (hi - lo) / (unsigned long)psz;
		if (pages > REGION_PAGES)
			continue;
		b->regions[b->nregions].start = lo;
		b->regions[b->nregions].end = hi;
		b->regions[b->nregions].bit = b->npages;
		b->nregions++;
		b->npages += pages;
	}
	(void)fclose(f);
	if (b->npages == 0 || (b->dirty = mmap(NULL, (b->npages + 7) / 8,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) ==
	    MAP_FAILED) {
		b->dirty = NULL;
		b->nregions = 0;
	}
#else
	(void)b;
#endif
}

/* In a child, its response sent: the pages it wrote, into the bitmap. */
void
warm_pages_learn(const struct backend *b)
{
	uint64_t	 e[512];
	size_t		 r, i, n, page, want;
	long		 psz = sysconf(_SC_PAGESIZE);
	ssize_t		 got;
	int		 fd;

	if (b->dirty == NULL || psz <= 0 ||
	    (fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)) < 0)
		return;
	for (r = 0; r < b->nregions; r++) {
		n = (b->regions[r].end - b->regions[r].start) / (size_t)psz;
		for (page = 0; page < n; page += (size_t)got / sizeof(e[0])) {
			want = n - page < 512 ? n - page : 512;
			got = pread(fd, e, want * sizeof(e[0]), (off_t)(
			    (b->regions[r].start / (size_t)psz + page) *
			    sizeof(e[0])));
			if (got <= 0)
				break;
			for (i = 0; i < (size_t)got / sizeof(e[0]); i++)
				/* Present (bit 63), exclusively mapped (56). */
				if ((e[i] >> 63 & 1) && (e[i] >> 56 & 1)) {
					size_t	bit = b->regions[r].bit +
					    page + i;

					b->dirty[bit / 8] |= (unsigned char)
					    (1u << (bit % 8));
				}
		}
	}
	(void)close(fd);
}

/*
 * In a spare: the pages children wrote, copied now, in runs, until its
 * request comes on sock (then the rest are copied as they are written);
 * true when all were.  (At normal priority: a thread at idle priority
 * could not be stopped in time on a busy machine.)
 */
bool
warm_pages_copy(const struct backend *b, int sock)
{
	struct pollfd	pfd;
	size_t		r, i, n, run, copied = 0;
	long		psz = sysconf(_SC_PAGESIZE);

	if (b->dirty == NULL || psz <= 0)
		return true;
	pfd.fd = sock;
	pfd.events = POLLIN;
	for (r = 0; r < b->nregions; r++) {
		n = (b->regions[r].end - b->regions[r].start) / (size_t)psz;
		for (i = 0; i < n; i += run > 0 ? run : 1) {
			for (run = 0; i + run < n && copied + run < COPY_PAGES;
			    run++) {
				size_t	bit = b->regions[r].bit + i + run;

				if (!(b->dirty[bit / 8] >> (bit % 8) & 1))
					break;
			}
			if (run == 0)
				continue;
			(void)madvise((void *)(b->regions[r].start +
			    i * (size_t)psz), run * (size_t)psz,
			    MADV_POPULATE_WRITE);
			if ((copied += run) >= COPY_PAGES) {
				if (poll(&pfd, 1, 0) != 0)
					return false;
				copied = 0;
			}
		}
	}
	return true;
}
