/*
 * The CGI response writer: validates status and header bytes, holds the
 * headers back until the first body byte (PEP 3333), counts the body against
 * Content-Length, and is the only code that writes to the response fd.
 * SPDX-License-Identifier: MIT
 */
#include <sys/types.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"
#include "http.h"
#include "response.h"

#define STATUS_MIN	200		/* 1xx are interim: the server's */
#define STATUS_MAX	599
#define LENGTH_MAX	20		/* digits of UINT64_MAX */
#define DATE_MAX	64
#define COPY_BLOCK	65536
#define SENDFILE_MAX	(1U << 30)	/* one sendfile(2) call, at most */
#define HDR_INITIAL	512
#define WRITE_RATE	1024		/* bytes a second a reader must take */

struct response {
	int		 fd;
	enum resp_state	 state;
	bool		 nph;		/* write an HTTP status line (RFC 3875 5) */
	bool		 status_line;	/* uwsgi: a status line, nothing added */
	bool		 http;		/* HTTP/1.1 origin server: Date, framing */
	bool		 http_keep;	/* in: the client keeps the connection;
					   after: it can carry another request */
	const volatile sig_atomic_t *stop;	/* HTTP: set, the server stops */
	void		(*wait)(void *, bool);	/* around a poll(2) for the peer */
	void		*wait_ctx;
	bool		 chunked;	/* the body goes out in chunks */
	bool		 keep;		/* the fd is a connection's: left open */
	bool		 shut;		/* with keep: the end is shutdown(2) */
	bool		 broken;	/* a write failed: nothing more goes out */
	unsigned	 fcgi_id;	/* FastCGI: STDOUT records of this id */
	const bool	*aborted;	/* FastCGI: the server gave up on it */
	int		 wait_ms;	/* a non-blocking fd's poll(2); -1 */
	char		*log;		/* FastCGI: errors held for STDERR */
	size_t		 log_len;
	int64_t		 write_from;	/* ms: its first stall; 0: none yet */
	uint64_t	 sent_from;	/* body bytes sent by then */
	bool		 head;		/* HEAD request: no body bytes are written */
	bool		 single;	/* the result holds exactly one block */
	bool		 has_length;	/* a Content-Length header is held */
	bool		 has_date;
	bool		 warned;
	bool		 dropped;	/* a bodiless status's body was dropped */
	bool		 failed;	/* the response is incomplete */
	bool		 started;	/* its first bytes were written */
	int		 code;		/* status code */
	const char	*protocol;	/* SERVER_PROTOCOL, for NPH */
	unsigned	 proto_major;
	unsigned	 proto_minor;
	const char	*name;		/* the script and request, for messages */
	char		*status;	/* "200 OK" */
	size_t		 status_len;
	char		*hdr;		/* "Name: value\r\n"... */
	size_t		 hdr_len;
	size_t		 hdr_cap;
	uint64_t	 length;	/* declared Content-Length */
	uint64_t	 sent;		/* body bytes written */
	int		 saved_errno;	/* of a failed write */
};

static bool	 bodyless(int);
static void	 dropped(struct response *);
static int	 flush_log(struct response *);
static bool	 log_fcgi(const struct response *);
static void	 log_out(struct response *);
static void	 warn_of(struct response *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 append(struct response *, const char *, size_t);
static size_t	 http_date(char *, size_t);
static int	 append_header(struct response *, const char *, size_t,
		    const char *, size_t);
static int	 append_length(struct response *, uint64_t);
static int	 preamble(struct response *, char **, size_t *);
static int	 emit(struct response *, const void *, size_t);
static int	 write_all(struct response *, const struct iovec *, int,
		    size_t);
static int	 write_records(struct response *, const struct iovec *, int,
		    bool);
static int	 write_raw(struct response *, const struct iovec *, int);
static int	 write_block(struct response *, const void *, size_t);
static int	 end_records(struct response *);
static bool	 writable(struct response *);
static int	 copy_fd(struct response *, int, off_t, uint64_t);
static int	 cut_short(struct response *, int);
static int	 close_fd(struct response *);
static void	 forget_in_child(void);
static void	 atfork_register(void);

/* File systems whose files' sizes are not their lengths. */
static const unsigned long pseudo_fs[] = {
	PROC_SUPER_MAGIC, SYSFS_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC,
	SECURITYFS_MAGIC, CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC,
	BPF_FS_MAGIC, PSTOREFS_MAGIC, EFIVARFS_MAGIC,
};

/*
 * The response open on the calling thread, for forget_in_child(): a
 * fork(2) copies that thread alone, and the child must not hold the
 * response open.  (Responses on other threads are close-on-exec sockets
 * of a server mode, whose owner is the parent.)
 */
static _Thread_local struct response	*active;
static pthread_once_t			 atfork_once = PTHREAD_ONCE_INIT;

volatile sig_atomic_t	 resp_interrupted;

/* RFC 9110 7.6.1 and the CGI rule of RFC 3875 6.3.4: never from a script. */
static const char *const hop_by_hop[] = {
	"connection", "keep-alive", "proxy-authenticate",
	"proxy-authorization", "te", "trailers", "transfer-encoding",
	"upgrade",
};

static const char *const error_text[] = {
	[RESP_OK] = "no error",
	[RESP_ESTATUS] = "status must be three digits (200-599), a space and "
	    "a reason phrase without control characters",
	[RESP_EINTERIM] = "a 1xx status is interim and the server's to send; "
	    "the application's final status is 200-599",
	[RESP_ENAME] = "header name must be an HTTP token",
	[RESP_EVALUE] = "header value must not contain control characters "
	    "(CR, LF, NUL, ...)",
	[RESP_EHOPBYHOP] = "hop-by-hop headers are the server's, not the "
	    "application's",
	[RESP_ESTATUSHDR] = "a Status header is not allowed: pass the status "
	    "to start_response()",
	[RESP_ELENGTH] = "Content-Length must be a decimal number",
	[RESP_ETWICE] = "Content-Length given twice with different values",
	[RESP_ENOSTATUS] = "body data before start_response()",
	[RESP_ESENT] = "headers already sent",
	[RESP_ENOMEM] = "out of memory",
	[RESP_EWRITE] = "cannot write the response",
	[RESP_EREAD] = "cannot read the file",
};

/* The bodies of the error responses: generic, never a detail (PEP 3333). */
static const char bad_request[] = "Bad Request";
static const char server_error[] =
    "A server error occurred.  Please contact the administrator.";
static const char gateway_timeout[] = "Gateway Timeout";

/* A response on fd, named name in messages; NULL: out of memory. */
struct response *
resp_new(int fd, const char *name)
{
	struct response	*r;

	(void)pthread_once(&atfork_once, atfork_register);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	active = r;
	r->fd = fd;
	r->name = name;
	r->protocol = "HTTP/1.0";
	r->proto_major = 1;
	r->wait_ms = -1;
	return r;
}

/* The response is freed, its descriptor closed (or left) if still open. */
void
resp_free(struct response *r)
{
	if (r == NULL)
		return;
	if (r->state != RESP_CLOSED)
		(void)close_fd(r);
	else
		log_out(r);
	if (active == r)
		active = NULL;
	free(r);
}

/*
 * What became of a closed response: its status, its length, whether all
 * of it went out, and whether its HTTP connection can go on.
 */
void
resp_outcome(struct outcome *out, const struct response *r)
{
	out->status = r->code;
	out->bytes = r->sent;
	out->complete = r->state == RESP_CLOSED && !r->failed && !r->broken;
	out->keep = r->http_keep && out->complete;
}

/* The name of the script and request in messages. */
void
resp_name(struct response *r, const char *name)
{
	r->name = name;
}

/* The request's side: HEAD, and the protocol an NPH status line answers. */
void
resp_request(struct response *r, bool head, const char *protocol,
    unsigned major, unsigned minor)
{
	r->head = head;
	r->protocol = protocol;
	r->proto_major = major;
	r->proto_minor = minor;
}

/* An NPH script's: an HTTP status line (RFC 3875 5). */
void
resp_nph(struct response *r, bool nph)
{
	r->nph = nph;
}

/* A server mode's connection. */
void
resp_gateway(struct response *r, const struct resp_gateway *g)
{
	r->keep = g->keep;
	r->shut = g->shut;
	r->http = g->http;
	r->http_keep = g->http_keep;
	r->status_line = g->status_line;
	r->stop = g->stop;
	r->fcgi_id = g->fcgi_id;
	r->aborted = g->aborted;
	r->wait_ms = g->wait_ms;
}

/*
 * wait(ctx, true) before each poll(2) for a slow peer, wait(ctx, false)
 * after: the caller lets go of what others need meanwhile (Python's GIL).
 */
void
resp_waits(struct response *r, void (*wait)(void *, bool), void *ctx)
{
	r->wait = wait;
	r->wait_ctx = ctx;
}

enum resp_state
resp_state(const struct response *r)
{
	return r->state;
}

/* Its first bytes were written. */
bool
resp_started(const struct response *r)
{
	return r->started;
}

/* It is incomplete. */
bool
resp_failed(const struct response *r)
{
	return r->failed;
}

/* The errno of a failed write. */
int
resp_errno(const struct response *r)
{
	return r->saved_errno;
}

/* Body bytes written (counted, for HEAD). */
uint64_t
resp_sent(const struct response *r)
{
	return r->sent;
}

/* A status and headers held, not sent, are taken back: another may come. */
void
resp_retract(struct response *r)
{
	if (r->state == RESP_READY)
		r->state = RESP_NEW;
}

/* PEP 3333: "999 Reason", a single space, no control characters. */
int
resp_check_status(const char *s, size_t len)
{
	size_t	i;
	int	code = 0;

	if (len < 5 || s[3] != ' ')
		return RESP_ESTATUS;
	for (i = 0; i < 3; i++) {
		if (s[i] < '0' || s[i] > '9')
			return RESP_ESTATUS;
		code = code * 10 + (s[i] - '0');
	}
	/* A 1xx would make the server take the body for the response. */
	if (code >= 100 && code < STATUS_MIN)
		return RESP_EINTERIM;
	if (code < STATUS_MIN || code > STATUS_MAX)
		return RESP_ESTATUS;
	if (!http_text(s + 4, len - 4))
		return RESP_ESTATUS;
	if (s[4] == ' ' || s[4] == '\t' || s[len - 1] == ' ' ||
	    s[len - 1] == '\t')
		return RESP_ESTATUS;
	return RESP_OK;
}

/* The bytes of one header; a NUL is a control character like any other. */
int
resp_check_header(const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	size_t	i;

	if (!http_token(name, nlen))
		return RESP_ENAME;
	if (!http_text(value, vlen))
		return RESP_EVALUE;
	for (i = 0; i < sizeof(hop_by_hop) / sizeof(hop_by_hop[0]); i++)
		if (http_caseeq(name, nlen, hop_by_hop[i]))
			return RESP_EHOPBYHOP;
	if (http_caseeq(name, nlen, "status"))
		return RESP_ESTATUSHDR;
	return RESP_OK;
}

/* Sets (or, before anything is sent, replaces) the status; drops headers. */
int
resp_status(struct response *r, const char *s, size_t len)
{
	int	e;
	char	*p;

	if (r->state >= RESP_SENT)
		return RESP_ESENT;
	if ((e = resp_check_status(s, len)) != RESP_OK)
		return e;
	if ((p = malloc(len + 1)) == NULL)
		return RESP_ENOMEM;
	memcpy(p, s, len);
	p[len] = '\0';
	free(r->status);
	r->status = p;
	r->status_len = len;
	r->code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	r->hdr_len = 0;
	r->has_length = r->has_date = false;
	r->length = 0;
	r->state = RESP_READY;
	return RESP_OK;
}

int
resp_header(struct response *r, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	uint64_t	n = 0;
	int		e;

	if (r->state != RESP_READY)
		return r->state == RESP_NEW ? RESP_ENOSTATUS : RESP_ESENT;
	if ((e = resp_check_header(name, nlen, value, vlen)) != RESP_OK)
		return e;
	if (http_caseeq(name, nlen, "content-length")) {
		if (!http_length(value, vlen, &n))
			return RESP_ELENGTH;
		if (r->has_length)
			return n == r->length ? RESP_OK : RESP_ETWICE;
		r->has_length = true;
		r->length = n;
	} else if (http_caseeq(name, nlen, "date"))
		r->has_date = true;
	return append_header(r, name, nlen, value, vlen);
}

/* The result has len() == 1: its one block's size is the Content-Length. */
void
resp_single(struct response *r)
{
	r->single = true;
}

/* Declares a Content-Length unless the application did (file_wrapper). */
int
resp_default_length(struct response *r, uint64_t n)
{
	if (r->state != RESP_READY || r->has_length || bodyless(r->code))
		return RESP_OK;
	r->has_length = true;
	r->length = n;
	return append_length(r, n);
}

/*
 * One block of body.  The first non-empty block sends the headers with it;
 * bytes past a declared Content-Length are dropped (PEP 3333).  For HEAD
 * (RFC 3875 4.3.2) and a bodiless status the block is counted but not
 * written, in every head style.
 */
int
resp_body(struct response *r, const void *buf, size_t len)
{
	int	e;

	if (r->state == RESP_NEW)
		return RESP_ENOSTATUS;
	if (r->state == RESP_CLOSED)
		return RESP_EWRITE;
	if (len == 0)
		return RESP_OK;
	if (r->has_length && len > r->length - r->sent) {
		if (!r->warned)
			warn_of(r, "%s: body longer than its Content-Length "
			    "(%" PRIu64 " bytes): truncated", r->name,
			    r->length);
		r->warned = true;
		len = (size_t)(r->length - r->sent);
		if (len == 0 && r->state == RESP_SENT)
			return RESP_OK;
	}
	/* The length is declared from here on: a lying __len__ cannot
	 * send more (found by tests/fuzz/fuzz_response.c). */
	if (r->state == RESP_READY && r->single && !r->has_length &&
	    !bodyless(r->code)) {
		if (append_length(r, len) != RESP_OK)
			return RESP_ENOMEM;
		r->has_length = true;
		r->length = len;
	}
	if (!r->head && !bodyless(r->code))
		return emit(r, buf, len);
	if (!r->head)
		dropped(r);
	if ((e = emit(r, NULL, 0)) == RESP_OK)
		r->sent += len;
	return e;
}

/*
 * RFC 9110 6.4.1: a 1xx, 204 or 304 response has no body, whatever the
 * application returns: as for HEAD, it is counted and not written (a
 * client would read it as the next response), and said once.
 */
static void
dropped(struct response *r)
{
	if (r->dropped)
		return;
	r->dropped = true;
	warn_of(r, "%s: a %d response has no body: what the application "
	    "returned for it is dropped", r->name, r->code);
}

/*
 * Whether a regular file's st_size is the length of what reading it gives:
 * not for an empty size, nor on procfs, sysfs and their kind, whose files
 * say 0 or a page whatever they hold.  Such files are read, not sent by
 * their size.
 */
bool
resp_true_size(int fd, const struct stat *st)
{
	struct statfs	sf;
	size_t		i;

	if (st->st_size <= 0 || fstatfs(fd, &sf) < 0)
		return false;
	for (i = 0; i < sizeof(pseudo_fs) / sizeof(pseudo_fs[0]); i++)
		if ((unsigned long)sf.f_type == pseudo_fs[i])
			return false;
	return true;
}

/*
 * The body from a file: sendfile(2), or read and write where it refuses or
 * the body is framed.
 */
int
resp_sendfile(struct response *r, int in, off_t off, uint64_t count)
{
	ssize_t	n;
	int	e;

	if (r->state == RESP_NEW)
		return RESP_ENOSTATUS;
	if (r->has_length && count > r->length - r->sent)
		count = r->length - r->sent;
	if (r->state == RESP_READY && (e = emit(r, NULL, 0)) != RESP_OK)
		return e;
	if (r->head || bodyless(r->code)) {
		if (!r->head && count > 0)
			dropped(r);
		r->sent += count;
		return RESP_OK;
	}
	/* FastCGI frames the body in records, HTTP in chunks: copied. */
	if (r->fcgi_id != 0 || r->chunked)
		return copy_fd(r, in, off, count);
	while (count > 0) {
		if (resp_interrupted) {
			errno = EINTR;
			return cut_short(r, RESP_EWRITE);
		}
		n = sendfile(r->fd, in, &off,
		    count > SENDFILE_MAX ? SENDFILE_MAX : (size_t)count);
		if (n > 0) {
			count -= (uint64_t)n;
			r->sent += (uint64_t)n;
		} else if (n == 0)
			break;
		else if (errno == EINTR || (errno == EAGAIN && writable(r)))
			continue;
		else if (errno == EINVAL || errno == ENOSYS)
			return copy_fd(r, in, off, count);
		else
			return cut_short(r, RESP_EWRITE);
	}
	return RESP_OK;
}

/* Sends held headers, checks the body length, closes the descriptor. */
int
resp_finish(struct response *r)
{
	int	e;

	if (r->state == RESP_CLOSED)
		return r->failed ? RESP_EWRITE : RESP_OK;
	if (r->state == RESP_NEW)
		return RESP_ENOSTATUS;
	if (r->state == RESP_READY) {
		/* wsgiref: an empty result means Content-Length: 0. */
		if (!r->has_length && !bodyless(r->code) &&
		    append_length(r, 0) != RESP_OK)
			return RESP_ENOMEM;
		if ((e = emit(r, NULL, 0)) != RESP_OK)
			return e;
	}
	if (r->has_length && r->sent < r->length && !r->head &&
	    !bodyless(r->code)) {
		warn_of(r, "%s: body shorter than its Content-Length "
		    "(%" PRIu64 " of %" PRIu64 " bytes)", r->name, r->sent,
		    r->length);
		r->failed = true;
	}
	if (r->chunked && !r->failed &&
	    write_raw(r, &(struct iovec){ (void *)(uintptr_t)"0\r\n\r\n", 5 },
	    1) != RESP_OK)
		return RESP_EWRITE;
	return close_fd(r);
}

/*
 * The one place that decides what the client sees on failure: an error
 * response (400 or 500; body NULL is the generic text) if nothing was
 * written yet, else the response is cut short.
 */
int
resp_fail(struct response *r, int code, const char *body, size_t len)
{
	const char	*status = "500 Internal Server Error";
	char		 num[LENGTH_MAX + 1];
	int		 e;

	if (r->state == RESP_CLOSED)
		return RESP_OK;
	if (code == 400)
		status = "400 Bad Request";
	else if (code == 504)
		status = "504 Gateway Timeout";
	if (body == NULL) {
		body = code == 400 ? bad_request : code == 504 ?
		    gateway_timeout : server_error;
		len = strlen(body);
	}
	if (r->state != RESP_SENT) {
		r->state = RESP_NEW;
		r->single = false;
		r->http_keep = false;
		(void)snprintf(num, sizeof(num), "%zu", len);
		if ((e = resp_status(r, status, strlen(status))) != RESP_OK ||
		    (e = resp_header(r, "Content-Type", 12, "text/plain",
		    10)) != RESP_OK ||
		    (e = resp_header(r, "Content-Length", 14, num,
		    strlen(num))) != RESP_OK)
			return e;
		if ((e = emit(r, body, r->head ? 0 : len)) != RESP_OK)
			return e;
	}
	r->failed = true;
	return close_fd(r);
}

/*
 * The client has the whole response: its declared length is written, or
 * (HEAD, a bodiless status) its head.  A server may end the program then
 * (lighttpd's SIGTERM) without cutting anything short.
 */
bool
resp_complete(const struct response *r)
{
	if (!r->started || r->broken)
		return false;
	return r->head || bodyless(r->code) || (r->has_length &&
	    r->sent >= r->length);
}

const char *
resp_strerror(int e)
{
	if (e < 0 || (size_t)e >= sizeof(error_text) / sizeof(error_text[0]))
		return "unknown error";
	return error_text[e];
}

/* RFC 9110 8.6: no Content-Length of ours on 1xx, 204 or 304. */
static bool
bodyless(int code)
{
	return code < 200 || code == 204 || code == 304;
}

static int
append(struct response *r, const char *s, size_t len)
{
	size_t	cap;
	char	*p;

	if (len > SIZE_MAX / 2 - r->hdr_len)
		return RESP_ENOMEM;
	if (r->hdr_len + len > r->hdr_cap) {
		cap = r->hdr_cap == 0 ? HDR_INITIAL : r->hdr_cap;
		while (cap < r->hdr_len + len)
			cap *= 2;
		if ((p = realloc(r->hdr, cap)) == NULL)
			return RESP_ENOMEM;
		r->hdr = p;
		r->hdr_cap = cap;
	}
	memcpy(r->hdr + r->hdr_len, s, len);
	r->hdr_len += len;
	return RESP_OK;
}

static int
append_header(struct response *r, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	int	e;

	if ((e = append(r, name, nlen)) != RESP_OK ||
	    (e = append(r, ": ", 2)) != RESP_OK ||
	    (e = append(r, value, vlen)) != RESP_OK)
		return e;
	return append(r, "\r\n", 2);
}

static int
append_length(struct response *r, uint64_t n)
{
	char	num[LENGTH_MAX + 1];

	(void)snprintf(num, sizeof(num), "%" PRIu64, n);
	return append_header(r, "Content-Length", 14, num, strlen(num));
}

/*
 * An HTTP Date (RFC 9110 5.6.7) of now in buf, its length (0 if none).
 * Formatted once a second on each thread: the second and its text are a
 * cache of the clock, the same for every request.
 */
static size_t
http_date(char *buf, size_t size)
{
	static _Thread_local time_t	 when = -1;
	static _Thread_local char	 text[DATE_MAX];
	static _Thread_local size_t	 len;
	struct tm			 tm;
	time_t				 now = time(NULL);

	if (now != when) {
		len = gmtime_r(&now, &tm) == NULL ? 0 : strftime(text,
		    sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		when = len > 0 ? now : -1;
	}
	if (len == 0 || len >= size)
		return 0;
	memcpy(buf, text, len + 1);
	return len;
}

/*
 * The status line and headers, in one block: "Status: ..." for CGI, or a
 * complete HTTP response head for NPH (RFC 3875 5.2; no head for HTTP/0.9).
 */
static int
preamble(struct response *r, char **out, size_t *outlen)
{
	char		 date[DATE_MAX];
	const char	*proto;
	size_t		 len;
	int		 n, e;
	char		*p;

	if (r->nph && r->proto_major == 0) {
		*outlen = 0;
		return RESP_OK;
	}
	if (r->nph || r->http) {
		if (!r->has_date && (len = http_date(date, sizeof(date))) > 0 &&
		    (e = append_header(r, "Date", 4, date, len)) != RESP_OK)
			return e;
	}
	if (r->http) {
		/*
		 * The body's end: its length, else chunks to an HTTP/1.1
		 * client, else (HTTP/1.0) the connection's close.
		 */
		if (!r->has_length && !bodyless(r->code) && !r->head) {
			if (r->proto_minor >= 1) {
				if ((e = append_header(r, "Transfer-Encoding",
				    17, "chunked", 7)) != RESP_OK)
					return e;
				r->chunked = true;
			} else
				r->http_keep = false;
		}
		/* A stop that came while the application ran. */
		if (r->stop != NULL && *r->stop)
			r->http_keep = false;
		if ((e = !r->http_keep ? append_header(r, "Connection", 10,
		    "close", 5) : r->proto_minor == 0 ? append_header(r,
		    "Connection", 10, "keep-alive", 10) : RESP_OK) != RESP_OK)
			return e;
	} else if (r->nph && (r->proto_major > 1 || r->proto_minor > 0) &&
	    (e = append_header(r, "Connection", 10, "close", 5)) != RESP_OK)
		/* RFC 3875 5.2: no further requests on this connection. */
		return e;
	if ((e = append(r, "\r\n", 2)) != RESP_OK)
		return e;
	proto = r->http ? "HTTP/1.1" : r->proto_major == 1 ? r->protocol :
	    "HTTP/1.0";
	len = r->status_len + r->hdr_len + strlen(proto) + sizeof("Status: ");
	if ((p = malloc(len)) == NULL)
		return RESP_ENOMEM;
	n = snprintf(p, len, "%s %s\r\n", r->nph || r->status_line ? proto :
	    "Status:",
	    r->status);
	if (n < 0 || (size_t)n + r->hdr_len > len) {
		free(p);
		return RESP_ENOMEM;
	}
	memcpy(p + n, r->hdr, r->hdr_len);
	*out = p;
	*outlen = (size_t)n + r->hdr_len;
	return RESP_OK;
}

/* Writes the held headers (if any) and the block, in one writev(2). */
static int
emit(struct response *r, const void *buf, size_t len)
{
	struct iovec	 iov[4];
	char		*head = NULL, size[24];
	size_t		 headlen = 0;
	int		 e, n = 0, k;

	if (r->state == RESP_READY) {
		if ((e = preamble(r, &head, &headlen)) != RESP_OK)
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
	e = r->chunked ? write_raw(r, iov, n) : write_all(r, iov, n, len);
	free(head);
	if (e == RESP_OK)
		r->sent += len;
	return e;
}

/*
 * The body goes out as it is, or in FastCGI STDOUT records; body is how
 * much of iov is body.  The block that completes the declared length
 * carries the end of the records with it.
 */
static int
write_all(struct response *r, const struct iovec *iov, int n, size_t body)
{
	if (r->fcgi_id == 0)
		return write_raw(r, iov, n);
	return write_records(r, iov, n, r->has_length && body > 0 &&
	    r->sent + body == r->length);
}

/*
 * iov[0..n) (n <= 2) in STDOUT records of at most FCGI_MAX_CONTENT bytes,
 * each header and its content in one writev(2); when it is the last of
 * the body, the end (an empty STDOUT and END_REQUEST) in the same one.
 */
static int
write_records(struct response *r, const struct iovec *iov, int n, bool last)
{
	unsigned char	hdr[FCGI_HEADER_LEN], end[FCGI_HEADER_LEN * 3];
	struct iovec	v[2], out[4];
	size_t		room, take;
	int		i = 0, k, e;
	bool		ends;

	/* FCGI_ABORT_REQUEST: the server wants only END_REQUEST now. */
	if (r->aborted != NULL && *r->aborted)
		return RESP_OK;
	if ((e = flush_log(r)) != RESP_OK)
		return e;
	memcpy(v, iov, (size_t)n * sizeof(v[0]));
	while (i < n) {
		out[0].iov_base = hdr;
		out[0].iov_len = FCGI_HEADER_LEN;
		room = FCGI_MAX_CONTENT;
		for (k = 1; i < n && room > 0; ) {
			take = v[i].iov_len < room ? v[i].iov_len : room;
			if (take > 0) {
				out[k].iov_base = v[i].iov_base;
				out[k++].iov_len = take;
				room -= take;
			}
			v[i].iov_base = (char *)v[i].iov_base + take;
			if ((v[i].iov_len -= take) == 0)
				i++;
		}
		if (k == 1)
			break;
		fcgi_make_header(hdr, FCGI_STDOUT, r->fcgi_id,
		    FCGI_MAX_CONTENT - room);
		if ((ends = last && i == n)) {
			fcgi_make_header(end, FCGI_STDOUT, r->fcgi_id, 0);
			out[k].iov_base = end;
			out[k++].iov_len = FCGI_HEADER_LEN + fcgi_make_end(end +
			    FCGI_HEADER_LEN, r->fcgi_id, 0,
			    FCGI_REQUEST_COMPLETE);
		}
		if ((e = write_raw(r, out, k)) != RESP_OK)
			return e;
		/* Ended: close_fd() has no records to write. */
		if (ends)
			r->fcgi_id = 0;
	}
	return RESP_OK;
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
	return write_raw(r, iov, 3);
}

/* writev until done, across EINTR and short writes. */
static int
write_raw(struct response *r, const struct iovec *iov, int n)
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
			return cut_short(r, RESP_EWRITE);
		}
		if ((w = writev(r->fd, v + i, n - i)) < 0) {
			if (errno == EINTR || (errno == EAGAIN && writable(r)))
				continue;
			return cut_short(r, RESP_EWRITE);
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
	bool	fcgi = log_fcgi(r);

	if (r->state == RESP_CLOSED || (!fcgi && r->log_len == 0 &&
	    len > 0 && buf[len - 1] == '\n')) {
		resp_to_stderr(buf, len);
		return RESP_OK;
	}
	if (r->log == NULL && (r->log = malloc(FCGI_MAX_CONTENT)) == NULL) {
		resp_to_stderr(buf, len);
		return RESP_ENOMEM;
	}
	for (; len > 0; buf += n, len -= n) {
		if (r->log_len == FCGI_MAX_CONTENT &&
		    (e = flush_log(r)) != RESP_OK)
			return e;
		n = FCGI_MAX_CONTENT - r->log_len;
		if (n > len)
			n = len;
		memcpy(r->log + r->log_len, buf, n);
		r->log_len += n;
	}
	/* Not FastCGI: the whole lines go now, the rest waits for its end. */
	if (!fcgi && (buf = memrchr(r->log, '\n', r->log_len)) != NULL) {
		n = (size_t)(buf - r->log) + 1;
		resp_to_stderr(r->log, n);
		memmove(r->log, r->log + n, r->log_len - n);
		r->log_len -= n;
	}
	return RESP_OK;
}

/* The request's errors go in STDERR records. */
static bool
log_fcgi(const struct response *r)
{
	return r->fcgi_id != 0 && r->fd >= 0 && !r->broken &&
	    (r->aborted == NULL || !*r->aborted);
}

/*
 * The request's held errors: a FastCGI request's in one STDERR record,
 * any other's (a line longer than the buffer) to stderr.
 */
static int
flush_log(struct response *r)
{
	unsigned char	 hdr[FCGI_HEADER_LEN];
	struct iovec	 iov[2];
	size_t		 n = r->log_len;

	if (n == 0)
		return RESP_OK;
	r->log_len = 0;
	if (!log_fcgi(r)) {
		resp_to_stderr(r->log, n);
		return RESP_OK;
	}
	fcgi_make_header(hdr, FCGI_STDERR, r->fcgi_id, n);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = r->log;
	iov[1].iov_len = n;
	return write_raw(r, iov, 2);
}

/* What is still held goes to stderr (a line without its end, or a
 * broken connection's errors); the buffer is freed. */
static void
log_out(struct response *r)
{
	if (r->log_len > 0)
		resp_to_stderr(r->log, r->log_len);
	free(r->log);
	r->log = NULL;
	r->log_len = 0;
}

/* One line "wsgi-cgi: ..." about the response, where its errors go. */
static void
warn_of(struct response *r, const char *fmt, ...)
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

/*
 * A non-blocking descriptor (a server mode's connection) can take more
 * within wait_ms; false sets errno (ETIMEDOUT: the peer stopped reading,
 * or read too slowly).  Besides each stall, the whole write has a bound:
 * wait_ms from its first stall, a second more for every WRITE_RATE bytes
 * of body that went out since, so a slow download goes on and a reader that
 * takes a byte now and then does not hold the worker for ever.
 */
static bool
writable(struct response *r)
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

/*
 * FastCGI: the empty STDOUT record that ends the stream, and END_REQUEST
 * with the exit status a CGI program would have had.
 */
static int
end_records(struct response *r)
{
	unsigned char	buf[FCGI_HEADER_LEN * 3];
	struct iovec	iov;
	size_t		n;

	fcgi_make_header(buf, FCGI_STDOUT, r->fcgi_id, 0);
	n = FCGI_HEADER_LEN + fcgi_make_end(buf + FCGI_HEADER_LEN,
	    r->fcgi_id, r->failed ? 1 : 0, FCGI_REQUEST_COMPLETE);
	iov.iov_base = buf;
	iov.iov_len = n;
	r->fcgi_id = 0;
	return write_raw(r, &iov, 1);
}

static int
copy_fd(struct response *r, int in, off_t off, uint64_t count)
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
			e = cut_short(r, RESP_EREAD);
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
static int
cut_short(struct response *r, int e)
{
	r->saved_errno = errno;
	r->failed = true;
	if (e == RESP_EWRITE)
		r->broken = true;
	(void)close_fd(r);
	errno = r->saved_errno;
	return e;
}

/*
 * Under mod_cgid fd 0 and the response are one socket: shut the write side
 * down so the server sees the end even while fd 0 stays open.
 */
static int
close_fd(struct response *r)
{
	bool	complete;
	int	e = RESP_OK;

	free(r->status);
	free(r->hdr);
	r->status = r->hdr = NULL;
	r->hdr_len = r->hdr_cap = 0;
	if (active == r)
		active = NULL;
	if (r->state == RESP_CLOSED || r->fd < 0) {
		log_out(r);
		return RESP_OK;
	}
	r->state = RESP_CLOSED;
	if (r->fcgi_id != 0 && !r->broken) {
		(void)flush_log(r);
		complete = !r->failed;
		/* lighttpd closes once it has the whole body: no failure. */
		if (end_records(r) != RESP_OK) {
			if (complete && (r->saved_errno == EPIPE ||
			    r->saved_errno == ECONNRESET)) {
				r->failed = false;
				r->saved_errno = 0;
			} else
				e = RESP_EWRITE;
		}
	}
	log_out(r);
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

static void
atfork_register(void)
{
	(void)pthread_atfork(NULL, NULL, forget_in_child);
}

/*
 * A forked child must not hold the response open: the server waits for its
 * end.  (exec'd children never get it: the descriptor is close-on-exec.)
 */
static void
forget_in_child(void)
{
	if (active != NULL && active->fd >= 0) {
		(void)close(active->fd);
		active->fd = -1;
		active->state = RESP_CLOSED;
	}
}
