/*
 * A request's error stream (wsgi.errors, the server's lines about it): a
 * framed request's (FastCGI: STDERR records) held and given to its frame
 * before the body that follows and before the end; any other's to stderr
 * a whole line at a time.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#include <sys/types.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "response.h"
#include "resp_private.h"

static bool	 log_framed(const struct response *);

/*
 * What the request writes to its error stream (wsgi.errors, the server's
 * lines about it).  A FastCGI request's goes to the web server's log in
 * STDERR records of its own, as php-cgi sends its errors: held, and sent
 * before the STDOUT that follows (lighttpd stops reading once it has the
 * body) and before END_REQUEST, a whole traceback in one record, which
 * nginx logs as one message.  Every other request's goes to stderr a
 * whole line at a time, so that requests on other threads never cut into
 * it; what comes after the response closed, at once.
 */
int
resp_log(struct response *r, const char *buf, size_t len)
{
	size_t	n;
	int	e;
	bool	framed = log_framed(r);

	if (r->state == RESP_CLOSED || (!framed && r->log_len == 0 &&
	    len > 0 && buf[len - 1] == '\n')) {
		resp_to_stderr(buf, len);
		return RESP_OK;
	}
	if (r->log == NULL && (r->log = malloc(RESP_LOG_MAX)) == NULL) {
		resp_to_stderr(buf, len);
		return RESP_ENOMEM;
	}
	for (; len > 0; buf += n, len -= n) {
		if (r->log_len == RESP_LOG_MAX &&
		    (e = resp_log_flush(r)) != RESP_OK)
			return e;
		n = RESP_LOG_MAX - r->log_len;
		if (n > len)
			n = len;
		memcpy(r->log + r->log_len, buf, n);
		r->log_len += n;
	}
	/* Not FastCGI: the whole lines go now, the rest waits for its end. */
	if (!framed && (buf = memrchr(r->log, '\n', r->log_len)) != NULL) {
		n = (size_t)(buf - r->log) + 1;
		resp_to_stderr(r->log, n);
		memmove(r->log, r->log + n, r->log_len - n);
		r->log_len -= n;
	}
	return RESP_OK;
}

/* The request's errors are framed (FastCGI: STDERR records). */
static bool
log_framed(const struct response *r)
{
	return r->frame != NULL && r->fd >= 0 && !r->broken &&
	    !r->frame->gone(r->frame->ctx);
}

/*
 * The request's held errors: a FastCGI request's in one STDERR record,
 * any other's (a line longer than the buffer) to stderr.
 */
int
resp_log_flush(struct response *r)
{
	size_t	n = r->log_len;

	if (n == 0)
		return RESP_OK;
	r->log_len = 0;
	if (!log_framed(r)) {
		resp_to_stderr(r->log, n);
		return RESP_OK;
	}
	return r->frame->err(r->frame->ctx, r, r->log, n);
}

/* What is still held goes to stderr (a line without its end, or a
 * broken connection's errors); the buffer is freed. */
void
resp_log_out(struct response *r)
{
	if (r->log_len > 0)
		resp_to_stderr(r->log, r->log_len);
	free(r->log);
	r->log = NULL;
	r->log_len = 0;
}

/* One line "wsgi-cgi: ..." about the response, where its errors go. */
void
resp_warn(struct response *r, const char *fmt, ...)
{
	char	line[RESP_LINE_MAX];
	va_list	ap;
	size_t	n;

	va_start(ap, fmt);
	n = resp_line(line, 0, fmt, ap);
	va_end(ap);
	(void)resp_log(r, line, n);
}

/*
 * The server's line about a request, "wsgi-cgi: ...", with strerror(e)
 * when e is not 0, and a newline, in buf (RESP_LINE_MAX bytes): its length.
 */
size_t
resp_line(char *buf, int e, const char *fmt, va_list ap)
{
	int	n;

	n = snprintf(buf, RESP_LINE_MAX, "wsgi-cgi: ");
	/* The analyzer does not see the caller's va_start initialise ap. */
	n += vsnprintf(buf + n, RESP_LINE_MAX - (size_t)n, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	if (n < RESP_LINE_MAX && e != 0)
		n += snprintf(buf + n, RESP_LINE_MAX - (size_t)n, ": %s",
		    strerror(e));
	if (n >= RESP_LINE_MAX - 1)
		n = RESP_LINE_MAX - 2;
	buf[n++] = '\n';
	return (size_t)n;
}

/* What is written to stderr (fd 2), whole, with no stdio buffer. */
void
resp_to_stderr(const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(STDERR_FILENO, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}
