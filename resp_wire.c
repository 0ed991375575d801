/*
 * The one place that writes a response's fd: the head and body as they
 * are, in HTTP chunks, or through the frame the transport gave
 * (struct resp_frame: FastCGI's records, proto_fcgi.c), which writes
 * with resp_raw(); a non-blocking peer waited for (the GIL let go around
 * the wait), a stalled one given up on, the frame's end, the fd closed or
 * kept.  Plain C.
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

static int	 write_all(struct response *, const struct iovec *, int,
		    size_t);
static int	 write_block(struct response *, const void *, size_t);

/* Writes the held headers (if any) and the block, in one writev(2). */
int
wire_emit(struct response *r, const void *buf, size_t len)
{
	struct iovec	 iov[4];
	char		*head = NULL, size[24];
	size_t		 headlen = 0;
	int		 e, n = 0, k;

	if (r->state == RESP_READY) {
		if ((e = resp_preamble(r, &head, &headlen)) != RESP_OK)
			return e;
		r->state = RESP_SENT;
		r->started = true;
		if (headlen > 0) {
			iov[n].iov_base = head;
			iov[n++].iov_len = headlen;
		}
	}
	if (len > 0 && r->chunked) {
		k = snprintf(size, sizeof(size), "%zx\r\n", len);
		iov[n].iov_base = size;
		iov[n++].iov_len = (size_t)k;
		iov[n].iov_base = (void *)(uintptr_t)buf;
		iov[n++].iov_len = len;
		iov[n].iov_base = (void *)(uintptr_t)"\r\n";
		iov[n++].iov_len = 2;
	} else if (len > 0) {
		iov[n].iov_base = (void *)(uintptr_t)buf;
		iov[n++].iov_len = len;
	}
	e = r->chunked ? resp_raw(r, iov, n) : write_all(r, iov, n, len);
	free(head);
	if (e == RESP_OK)
		r->sent += len;
	return e;
}

/*
 * The body goes out as it is, or framed (FastCGI's STDOUT records, after
 * the errors held for STDERR); body is how much of iov is body.  The
 * block that completes the declared length is the last.
 */
static int
write_all(struct response *r, const struct iovec *iov, int n, size_t body)
{
	int	e;

	if (r->frame == NULL)
		return resp_raw(r, iov, n);
	if (r->frame->gone(r->frame->ctx))
		return RESP_OK;
	if ((e = resp_log_flush(r)) != RESP_OK)
		return e;
	return r->frame->out(r->frame->ctx, r, iov, n, r->has_length &&
	    body > 0 && r->sent + body == r->length);
}

/* One block of body, in a chunk when the body is chunked. */
static int
write_block(struct response *r, const void *buf, size_t len)
{
	struct iovec	iov[3];
	char		size[24];
	int		k;

	if (!r->chunked) {
		iov[0].iov_base = (void *)(uintptr_t)buf;
		iov[0].iov_len = len;
		return write_all(r, iov, 1, len);
	}
	k = snprintf(size, sizeof(size), "%zx\r\n", len);
	iov[0].iov_base = size;
	iov[0].iov_len = (size_t)k;
	iov[1].iov_base = (void *)(uintptr_t)buf;
	iov[1].iov_len = len;
	iov[2].iov_base = (void *)(uintptr_t)"\r\n";
	iov[2].iov_len = 2;
	return resp_raw(r, iov, 3);
}

/* writev until done, across EINTR and short writes (a frame writes so too). */
int
resp_raw(struct response *r, const struct iovec *iov, int n)
{
	struct iovec	v[4];
	ssize_t		w;
	size_t		done;
	int		i = 0;

	memcpy(v, iov, (size_t)n * sizeof(v[0]));
	while (i < n) {
		if (v[i].iov_len == 0) {
			i++;
			continue;
		}
		/* A signal may end a write early without EINTR. */
		if (resp_interrupted) {
			errno = EINTR;
			return wire_cut_short(r, RESP_EWRITE);
		}
		if ((w = writev(r->fd, v + i, n - i)) < 0) {
			if (errno == EINTR || (errno == EAGAIN && wire_writable(r)))
				continue;
			return wire_cut_short(r, RESP_EWRITE);
		}
		for (done = (size_t)w; i < n && done >= v[i].iov_len; i++)
			done -= v[i].iov_len;
		if (i < n) {
			v[i].iov_base = (char *)v[i].iov_base + done;
			v[i].iov_len -= done;
		}
	}
	return RESP_OK;
}

/*
 * A non-blocking descriptor (a server mode's connection) can take more
 * within wait_ms; false sets errno (ETIMEDOUT: the peer stopped reading,
 * or read too slowly).  Besides each stall, the whole write has a bound:
 * wait_ms from its first stall, a second more for every WRITE_RATE bytes
 * of body that went out since, so a slow download goes on and a reader that
 * takes a byte now and then does not hold the worker for ever.
 */
bool
wire_writable(struct response *r)
{
	struct pollfd	pfd;
	struct timespec	ts;
	int64_t		now, left;
	int		n, wait = r->wait_ms;

	if (wait >= 0) {
		(void)clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (r->write_from == 0) {
			r->write_from = now;
			r->sent_from = r->sent;
		}
		left = r->write_from + wait + (int64_t)((r->sent -
		    r->sent_from) / WRITE_RATE) * 1000 - now;
		if (left <= 0) {
			errno = ETIMEDOUT;
			return false;
		}
		if (left < wait)
			wait = (int)left;
	}
	pfd.fd = r->fd;
	pfd.events = POLLOUT;
	if (r->wait != NULL)
		r->wait(r->wait_ctx, true);
	while ((n = poll(&pfd, 1, wait)) < 0 && errno == EINTR &&
	    !resp_interrupted)
		;
	if (r->wait != NULL)
		r->wait(r->wait_ctx, false);
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0;
}

int
wire_copy(struct response *r, int in, off_t off, uint64_t count)
{
	char		*buf;
	ssize_t		 n;
	int		 e = RESP_OK;

	if ((buf = malloc(COPY_BLOCK)) == NULL)
		return RESP_ENOMEM;
	while (count > 0) {
		n = pread(in, buf, count > COPY_BLOCK ? COPY_BLOCK :
		    (size_t)count, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = wire_cut_short(r, RESP_EREAD);
			break;
		}
		if (n == 0)
			break;
		if ((e = write_block(r, buf, (size_t)n)) != RESP_OK)
			break;
		off += n;
		count -= (uint64_t)n;
		r->sent += (uint64_t)n;
	}
	free(buf);
	return e;
}

/*
 * The response is cut short: the client is gone or the server stopped
 * reading (RESP_EWRITE), or a file_wrapper file could not be read
 * (RESP_EREAD).  Nothing more goes out; errno is kept for the message.
 */
int
wire_cut_short(struct response *r, int e)
{
	r->saved_errno = errno;
	r->failed = true;
	if (e == RESP_EWRITE)
		r->broken = true;
	(void)wire_close(r);
	errno = r->saved_errno;
	return e;
}

/*
 * Under mod_cgid fd 0 and the response are one socket: shut the write side
 * down so the server sees the end even while fd 0 stays open.
 */
int
wire_close(struct response *r)
{
	bool	complete;
	int	e = RESP_OK;

	free(r->status);
	free(r->hdr);
	r->status = r->hdr = NULL;
	r->hdr_len = r->hdr_cap = 0;
	if (resp_active == r)
		resp_active = NULL;
	if (r->state == RESP_CLOSED || r->fd < 0) {
		resp_log_out(r);
		return RESP_OK;
	}
	r->state = RESP_CLOSED;
	if (r->frame != NULL && !r->broken) {
		(void)resp_log_flush(r);
		complete = !r->failed;
		/* lighttpd closes once it has the whole body: no failure. */
		if (r->frame->end(r->frame->ctx, r, r->failed) != RESP_OK) {
			if (complete && (r->saved_errno == EPIPE ||
			    r->saved_errno == ECONNRESET)) {
				r->failed = false;
				r->saved_errno = 0;
			} else
				e = RESP_EWRITE;
		}
	}
	resp_log_out(r);
	/*
	 * A server mode's connection: its owner closes or reuses it.  SCGI
	 * and uwsgi end a response by ending the stream.
	 */
	/* HTTP: a connection whose response went wrong is not reused. */
	if (r->failed || r->broken)
		r->http_keep = false;
	if (r->keep) {
		/* Without a length, the end is what says it is complete. */
		if (r->shut && !r->has_length &&
		    shutdown(r->fd, SHUT_WR) == -1 &&
		    errno != ENOTCONN && r->saved_errno == 0) {
			r->saved_errno = errno;
			e = RESP_EWRITE;
		}
		r->fd = -1;
		return e;
	}
	if (shutdown(r->fd, SHUT_WR) == -1 && errno != ENOTSOCK &&
	    errno != ENOTCONN && r->saved_errno == 0) {
		r->saved_errno = errno;
		e = RESP_EWRITE;
	}
	if (close(r->fd) == -1 && r->saved_errno == 0) {
		r->saved_errno = errno;
		e = RESP_EWRITE;
	}
	r->fd = -1;
	return e;
}
