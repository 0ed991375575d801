/*
 * --stats: GET /metrics in the Prometheus text format (0.0.4), from the
 * workers' board (board.c: requests by protocol and status class, their
 * durations, those in flight), the master's counts (workers renewed, and
 * why) and the kernel (each worker's resident memory from /proc, the
 * listening socket's queue from TCP_INFO), answered on the master's own
 * socket.  No Python, no request of the application's: the master renders
 * it between its other duties.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

struct out {
	char	*buf;
	size_t	 size, len;
};

static void	 put(struct out *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 head(struct out *, const char *, const char *, const char *);
static void	 requests(struct out *, const struct board_counts *);
static void	 workers(struct out *, const struct metrics_master *, unsigned,
		    unsigned);
static void	 queues(struct out *, const struct metrics_master *);
static bool	 answer_io(int, char *, size_t, size_t *, bool, int64_t);

static const char *const proto_names[BOARD_PROTOS] = {
	"fastcgi", "scgi", "uwsgi", "http"
};
static const char *const end_names[] = {
	"crash", "stop", "max_requests", "max_rss", "request_timeout"
};

/* The page for m and the board into buf; its length. */
size_t
metrics_render(const struct metrics_master *m, char *buf, size_t size)
{
	struct out		o = { buf, size, 0 };
	struct board_counts	c, sum;
	unsigned		i, p, k, busy = 0, present = 0;

	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < m->workers && board_read(i, &c); i++) {
		sum.busy += c.busy;
		for (p = 0; p < BOARD_PROTOS; p++)
			for (k = 0; k < BOARD_CLASSES; k++)
				sum.requests[p][k] += c.requests[p][k];
		for (k = 0; k <= BOARD_BUCKETS; k++)
			sum.buckets[k] += c.buckets[k];
		sum.usec += c.usec;
		if (m->pids[i] > 0) {
			present++;
			busy += c.busy > 0;
		}
	}
	requests(&o, &sum);
	workers(&o, m, busy, present);
	queues(&o, m);
	return o.len < o.size ? o.len : o.size - 1;
}

/* The requests the workers counted: by class, their durations, now. */
static void
requests(struct out *o, const struct board_counts *sum)
{
	unsigned long long	acc;
	unsigned		p, k;

	head(o, "wsgi_cgi_requests_total", "counter",
	    "Requests answered, by protocol and status class.");
	for (p = 0; p < BOARD_PROTOS; p++)
		for (k = 0; k < BOARD_CLASSES; k++)
			put(o, "wsgi_cgi_requests_total{protocol=\"%s\","
			    "status=\"%uxx\"} %llu\n", proto_names[p], k + 1,
			    sum->requests[p][k]);
	head(o, "wsgi_cgi_request_duration_seconds", "histogram",
	    "How long requests took, from their whole head to their end.");
	for (acc = 0, k = 0; k <= BOARD_BUCKETS; k++) {
		acc += sum->buckets[k];
		if (k < BOARD_BUCKETS)
			put(o, "wsgi_cgi_request_duration_seconds_bucket"
			    "{le=\"%g\"} %llu\n", board_bounds[k], acc);
		else
			put(o, "wsgi_cgi_request_duration_seconds_bucket"
			    "{le=\"+Inf\"} %llu\n", acc);
	}
	put(o, "wsgi_cgi_request_duration_seconds_sum %.6f\n",
	    (double)sum->usec / 1e6);
	put(o, "wsgi_cgi_request_duration_seconds_count %llu\n", acc);
	head(o, "wsgi_cgi_requests_in_flight", "gauge",
	    "Requests being served now.");
	put(o, "wsgi_cgi_requests_in_flight %u\n", sum->busy);
}

/* The workers: busy and idle, their threads, renewals, memory. */
static void
workers(struct out *o, const struct metrics_master *m, unsigned busy,
    unsigned present)
{
	unsigned	i, k;

	head(o, "wsgi_cgi_workers", "gauge",
	    "Workers serving at least one request, and the others.");
	put(o, "wsgi_cgi_workers{state=\"busy\"} %u\n", busy);
	put(o, "wsgi_cgi_workers{state=\"idle\"} %u\n", present - busy);
	head(o, "wsgi_cgi_threads", "gauge",
	    "Requests a worker serves at once (--threads).");
	put(o, "wsgi_cgi_threads %u\n", m->threads);
	head(o, "wsgi_cgi_worker_renewals_total", "counter",
	    "Workers replaced, by why they ended.");
	for (k = 0; k < sizeof(end_names) / sizeof(end_names[0]); k++)
		if (k != BOARD_STOPPED)
			put(o, "wsgi_cgi_worker_renewals_total{reason=\"%s\"} "
			    "%llu\n", end_names[k], m->renewals[k]);
	head(o, "wsgi_cgi_worker_resident_memory_bytes", "gauge",
	    "Each worker's resident memory.");
	for (i = 0; i < m->workers; i++)
		if (m->pids[i] > 0)
			put(o, "wsgi_cgi_worker_resident_memory_bytes"
			    "{worker=\"%u\"} %llu\n", i,
			    metrics_resident(m->pids[i]));
}

/* The TCP listening sockets' queues: TCP_INFO, as ss(8) shows each. */
static void
queues(struct out *o, const struct metrics_master *m)
{
	struct tcp_info		ti;
	socklen_t		tl;
	unsigned long long	queue = 0, limit = 0;
	unsigned		i, tcp = 0;

	for (i = 0; i < m->nlisten; i++) {
		memset(&ti, 0, sizeof(ti));
		tl = sizeof(ti);
		if (getsockopt(m->listen_fds[i], IPPROTO_TCP, TCP_INFO, &ti,
		    &tl) < 0)
			continue;
		tcp++;
		queue += ti.tcpi_unacked;
		limit += ti.tcpi_sacked;
	}
	if (tcp == 0)
		return;
	head(o, "wsgi_cgi_listen_queue", "gauge",
	    "Connections waiting to be accepted.");
	put(o, "wsgi_cgi_listen_queue %llu\n", queue);
	head(o, "wsgi_cgi_listen_queue_limit", "gauge",
	    "The listening sockets' backlog.");
	put(o, "wsgi_cgi_listen_queue_limit %llu\n", limit);
}

static void
head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
put(struct out *o, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (o->len >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

/*
 * A process's resident memory (0: this one's), in bytes, as /proc says;
 * 0 if it is not known.  The page's, and --max-rss's (room.c).
 */
unsigned long long
metrics_resident(pid_t pid)
{
	char			path[64], text[128];
	unsigned long long	size, pages;
	ssize_t			n;
	int			fd;

	if (pid == 0)
		(void)snprintf(path, sizeof(path), "/proc/self/statm");
	else
		(void)snprintf(path, sizeof(path), "/proc/%ld/statm",
		    (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	(void)close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	if (sscanf(text, "%llu %llu", &size, &pages) != 2)
		return 0;
	return pages * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/*
 * One connection to the master's --stats socket lfd answered: GET (or
 * HEAD) /metrics with the page for m, anything else 404 or 405; then
 * closed.  A peer has a second for all of it: the master does not wait
 * longer, and never runs the application.
 */
void
metrics_answer(int lfd, const struct metrics_master *m)
{
	char			 req[2048], head[256], *body = NULL;
	size_t			 have = 0, blen = 0, size;
	int64_t			 until;
	struct timespec		 ts;
	int			 fd, n;
	const char		*status = "404 Not Found", *target;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) < 0)
		return;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	until = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1000;
	if (!answer_io(fd, req, sizeof(req) - 1, &have, false, until))
		goto done;
	req[have] = '\0';
	target = req + (req[0] == 'G' ? 4 : 5);
	if (strncmp(req, "GET ", 4) != 0 && strncmp(req, "HEAD ", 5) != 0)
		status = "405 Method Not Allowed";
	else if (strncmp(target, "/metrics", 8) == 0 &&
	    (target[8] == ' ' || target[8] == '?')) {
		size = 16384 + (size_t)m->workers * 128;
		if ((body = malloc(size)) == NULL)
			goto done;
		blen = metrics_render(m, body, size);
		status = "200 OK";
	}
	n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status,
	    body != NULL ? "text/plain; version=0.0.4; charset=utf-8" :
	    "text/plain", body != NULL ? blen : 0);
	have = 0;
	if (n > 0 && answer_io(fd, head, (size_t)n, &have, true, until) &&
	    body != NULL && req[0] == 'G') {
		have = 0;
		(void)answer_io(fd, body, blen, &have, true, until);
	}
done:
	free(body);
	(void)close(fd);
}

/*
 * Reads until an empty line (a request's head), or writes len bytes, on
 * a non-blocking fd until the ms clock reaches until; false if it could
 * not.
 */
static bool
answer_io(int fd, char *buf, size_t len, size_t *done, bool out,
    int64_t until)
{
	struct pollfd	pfd = { fd, out ? POLLOUT : POLLIN, 0 };
	struct timespec	ts;
	ssize_t		n;
	int64_t		now;

	while (*done < len) {
		n = out ? send(fd, buf + *done, len - *done, MSG_NOSIGNAL) :
		    recv(fd, buf + *done, len - *done, 0);
		if (n > 0) {
			*done += (size_t)n;
			if (!out && memmem(buf, *done, "\r\n\r\n", 4) != NULL)
				return true;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			return false;
		(void)clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (now >= until || poll(&pfd, 1, (int)(until - now)) <= 0)
			return false;
	}
	return out;
}
