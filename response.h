/*
 * The CGI response: status and header validation, withheld headers,
 * Content-Length accounting, and the only writes to the response descriptor.
 * SPDX-License-Identifier: MIT
 */
#ifndef RESPONSE_H
#define RESPONSE_H

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESP_LINE_MAX	1024	/* a line of the server's about a request */

enum resp_err {
	RESP_OK,
	RESP_ESTATUS,		/* status is not "NNN reason" */
	RESP_EINTERIM,		/* a 1xx status */
	RESP_ENAME,		/* header name is not an HTTP token */
	RESP_EVALUE,		/* header value has a control character */
	RESP_EHOPBYHOP,		/* hop-by-hop header (Connection, ...) */
	RESP_ESTATUSHDR,	/* a "Status" header */
	RESP_ELENGTH,		/* Content-Length is not 1*digit */
	RESP_ETWICE,		/* Content-Length given twice, differently */
	RESP_ENOSTATUS,		/* body before start_response */
	RESP_ESENT,		/* headers already sent */
	RESP_ENOMEM,
	RESP_EWRITE,		/* writing the response failed; see errno */
	RESP_EREAD		/* reading a file_wrapper file failed; errno */
};

enum resp_state {
	RESP_NEW,		/* no status yet */
	RESP_READY,		/* status and headers held back */
	RESP_SENT,		/* headers written; body flowing */
	RESP_CLOSED,		/* finished or failed; descriptor closed */
};

/* One response; its state is response.c's alone. */
struct response;

/* A block of the error stream a frame's err() is given, at most. */
#define RESP_LOG_MAX	65535

/*
 * How a transport frames a response's bytes (FastCGI: STDOUT, STDERR and
 * END_REQUEST records), given by whoever accepted the request; each
 * writes through resp_raw().  Without one the bytes go out as they are.
 */
struct resp_frame {
	/* iov[0..n) of the response; last: the body ends with it. */
	int	(*out)(void *, struct response *, const struct iovec *, int,
		    bool);
	/* One block of the request's error stream, RESP_LOG_MAX at most. */
	int	(*err)(void *, struct response *, const char *, size_t);
	/* The end (failed: the response is incomplete), if out() has not
	 * written it with the last block. */
	int	(*end)(void *, struct response *, bool);
	/* Nothing more but the end is wanted, or the end has gone out. */
	bool	(*gone)(const void *);
	void	*ctx;
};

/* How a server mode's connection carries the response (resp_gateway()). */
struct resp_gateway {
	bool		 keep;		/* the fd is the connection's: left open */
	bool		 shut;		/* with keep: the end is shutdown(2) */
	bool		 http;		/* HTTP/1.1 origin server: Date, framing */
	bool		 http_keep;	/* the client keeps the connection */
	bool		 status_line;	/* uwsgi, HTTP: a status line */
	const volatile sig_atomic_t *stop;	/* HTTP: set, the server stops */
	const struct resp_frame *frame;	/* FastCGI's records; NULL: none */
	int		 wait_ms;	/* a non-blocking fd's poll(2); -1 */
};


/* What became of a response, for whoever owns its connection. */
struct outcome {
	int		 status;	/* the code answered; 0: none */
	uint64_t	 bytes;		/* body bytes written */
	bool		 complete;	/* all of it went out */
	bool		 keep;		/* HTTP: the connection can go on */
};

/* Set by a signal handler: a write interrupted by a signal gives up. */
extern volatile sig_atomic_t	resp_interrupted;

struct response	*resp_new(int, const char *);
void		 resp_free(struct response *);
void		 resp_name(struct response *, const char *);
void		 resp_request(struct response *, bool, const char *, unsigned,
		    unsigned);
void		 resp_nph(struct response *, bool);
void		 resp_gateway(struct response *, const struct resp_gateway *);
void		 resp_waits(struct response *, void (*)(void *, bool), void *);
enum resp_state	 resp_state(const struct response *);
bool		 resp_started(const struct response *);
bool		 resp_failed(const struct response *);
int		 resp_errno(const struct response *);
uint64_t	 resp_sent(const struct response *);
void		 resp_retract(struct response *);
void		 resp_outcome(struct outcome *, const struct response *);
int		 resp_check_status(const char *, size_t);
int		 resp_check_header(const char *, size_t, const char *, size_t);
int		 resp_status(struct response *, const char *, size_t);
int		 resp_header(struct response *, const char *, size_t,
		    const char *, size_t);
void		 resp_single(struct response *);
int		 resp_default_length(struct response *, uint64_t);
int		 resp_body(struct response *, const void *, size_t);
bool		 resp_true_size(int, const struct stat *);
int		 resp_sendfile(struct response *, int, off_t, uint64_t);
int		 resp_finish(struct response *);
int		 resp_fail(struct response *, int, const char *, size_t);
bool		 resp_complete(const struct response *);
int		 resp_log(struct response *, const char *, size_t);
int		 resp_raw(struct response *, const struct iovec *, int);
size_t		 resp_line(char *, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));
void		 resp_to_stderr(const char *, size_t);
const char	*resp_strerror(int);

#endif /* RESPONSE_H */
