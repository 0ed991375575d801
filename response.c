/*
 * The response writer: validates status and header bytes, holds the
 * headers back until the first body byte (PEP 3333), makes the head each
 * protocol sends (CGI, NPH, uwsgi, HTTP/1.1), counts the body against
 * Content-Length, and ends the response once (resp_finish, resp_fail).
 * The bytes go out through resp_wire.c alone; the request's error stream
 * is resp_log.c's.
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

#include "http.h"
#include "response.h"
#include "resp_private.h"

#define STATUS_MIN	200		/* 1xx are interim: the server's */
#define STATUS_MAX	599
#define LENGTH_MAX	20		/* digits of UINT64_MAX */
#define DATE_MAX	64
#define SENDFILE_MAX	(1U << 30)	/* one sendfile(2) call, at most */
#define HDR_INITIAL	512

static bool	 bodyless(int);
static void	 dropped(struct response *);
static int	 append(struct response *, const char *, size_t);
static size_t	 http_date(char *, size_t);
static int	 append_header(struct response *, const char *, size_t,
		    const char *, size_t);
static int	 append_length(struct response *, uint64_t);
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
_Thread_local struct response	*resp_active;
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
	resp_active = r;
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
		(void)wire_close(r);
	else
		resp_log_out(r);
	if (resp_active == r)
		resp_active = NULL;
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
	r->frame = g->frame;
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
			resp_warn(r, "%s: body longer than its Content-Length "
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
		return wire_emit(r, buf, len);
	if (!r->head)
		dropped(r);
	if ((e = wire_emit(r, NULL, 0)) == RESP_OK)
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
	resp_warn(r, "%s: a %d response has no body: what the application "
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
	if (r->state == RESP_READY && (e = wire_emit(r, NULL, 0)) != RESP_OK)
		return e;
	if (r->head || bodyless(r->code)) {
		if (!r->head && count > 0)
			dropped(r);
		r->sent += count;
		return RESP_OK;
	}
	/* FastCGI frames the body in records, HTTP in chunks: copied. */
	if (r->frame != NULL || r->chunked)
		return wire_copy(r, in, off, count);
	while (count > 0) {
		if (resp_interrupted) {
			errno = EINTR;
			return wire_cut_short(r, RESP_EWRITE);
		}
		n = sendfile(r->fd, in, &off,
		    count > SENDFILE_MAX ? SENDFILE_MAX : (size_t)count);
		if (n > 0) {
			count -= (uint64_t)n;
			r->sent += (uint64_t)n;
		} else if (n == 0)
			break;
		else if (errno == EINTR || (errno == EAGAIN && wire_writable(r)))
			continue;
		else if (errno == EINVAL || errno == ENOSYS)
			return wire_copy(r, in, off, count);
		else
			return wire_cut_short(r, RESP_EWRITE);
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
		if ((e = wire_emit(r, NULL, 0)) != RESP_OK)
			return e;
	}
	if (r->has_length && r->sent < r->length && !r->head &&
	    !bodyless(r->code)) {
		resp_warn(r, "%s: body shorter than its Content-Length "
		    "(%" PRIu64 " of %" PRIu64 " bytes)", r->name, r->sent,
		    r->length);
		r->failed = true;
	}
	if (r->chunked && !r->failed &&
	    resp_raw(r, &(struct iovec){ (void *)(uintptr_t)"0\r\n\r\n", 5 },
	    1) != RESP_OK)
		return RESP_EWRITE;
	return wire_close(r);
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
		if ((e = wire_emit(r, body, r->head ? 0 : len)) != RESP_OK)
			return e;
	}
	r->failed = true;
	return wire_close(r);
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
int
resp_preamble(struct response *r, char **out, size_t *outlen)
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
	if (resp_active != NULL && resp_active->fd >= 0) {
		(void)close(resp_active->fd);
		resp_active->fd = -1;
		resp_active->state = RESP_CLOSED;
	}
}
