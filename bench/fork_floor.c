/*
 * What a fork per request costs with no Python in it: a process with as
 * much anonymous memory as a warm backend forks children, one at a time;
 * each writes to as many of the shared pages as a child copies, and exits.
 * Prints the CPU time (user and system, parent and children) per fork, in
 * microseconds.  Usage: fork_floor KIB PAGES RUNS (PAGES of the system's
 * page size)
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static double
seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int
main(int argc, char *argv[])
{
	struct rusage	 before, self, kids;
	size_t		 kib, pages, runs, npages, step, i, r, psz;
	long		 page = sysconf(_SC_PAGESIZE);
	char		*mem;
	pid_t		 pid;

	if (argc != 4)
		errx(2, "usage: fork_floor KIB PAGES RUNS");
	kib = strtoul(argv[1], NULL, 10);
	pages = strtoul(argv[2], NULL, 10);
	runs = strtoul(argv[3], NULL, 10);
	if (page < 1024)
		errx(1, "no page size");
	psz = (size_t)page;
	npages = kib / (psz / 1024);
	if (npages == 0 || pages > npages || runs == 0)
		errx(2, "need 0 < PAGES <= KIB's pages and RUNS > 0");
	mem = mmap(NULL, npages * psz, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		err(1, "mmap");
	for (i = 0; i < npages; i++)
		mem[i * psz] = 1;
	step = pages > 0 ? npages / pages : 1;
	if (getrusage(RUSAGE_SELF, &before) < 0)
		err(1, "getrusage");
	for (r = 0; r < runs; r++) {
		if ((pid = fork()) < 0)
			err(1, "fork");
		if (pid == 0) {
			for (i = 0; i < pages; i++)
				mem[i * step * psz]++;
			_exit(0);
		}
		if (waitpid(pid, NULL, 0) < 0)
			err(1, "waitpid");
	}
	if (getrusage(RUSAGE_SELF, &self) < 0 ||
	    getrusage(RUSAGE_CHILDREN, &kids) < 0)
		err(1, "getrusage");
	/* The first touch of the memory is not a fork's. */
	printf("%.0f\n", (seconds(&self.ru_utime) + seconds(&self.ru_stime) -
	    seconds(&before.ru_utime) - seconds(&before.ru_stime) +
	    seconds(&kids.ru_utime) + seconds(&kids.ru_stime)) * 1e6 /
	    (double)runs);
	return 0;
}
