/*
 * The response writer's own: struct response, which response.c,
 * resp_wire.c and resp_log.c share and nothing else sees.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef RESP_PRIVATE_H
#define RESP_PRIVATE_H

#include <sys/types.h>
#include <sys/uio.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "response.h"

#define COPY_BLOCK	65536
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
	const struct resp_frame *frame;	/* the transport's framing; NULL */
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

/* The response open on the calling thread (response.c). */
extern _Thread_local struct response	*resp_active;

/* response.c */
int	 resp_preamble(struct response *, char **, size_t *);

/* resp_wire.c */
int	 wire_emit(struct response *, const void *, size_t);
bool	 wire_writable(struct response *);
int	 wire_copy(struct response *, int, off_t, uint64_t);
int	 wire_cut_short(struct response *, int);
int	 wire_close(struct response *);

/* resp_log.c */
int	 resp_log_flush(struct response *);
void	 resp_log_out(struct response *);
void	 resp_warn(struct response *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif /* RESP_PRIVATE_H */
