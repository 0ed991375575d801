/*
 * HTTP/1.1 requests (RFC 9110, RFC 9112) as an origin server reads them:
 * the request line and fields, strictly (request smuggling lives in the
 * gaps between a proxy's parser and ours), the body's framing, a chunked
 * body's decoding, and the request's CGI variables.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef HTTP_REQ_H
#define HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "params.h"

#define HTTP_LINE_MAX	8192	/* the request line; 414 beyond */
#define HTTP_HEAD_MAX	65536	/* line, fields, blank line; 431 beyond */
#define HTTP_FIELDS_MAX	100	/* 431 beyond */
#define HTTP_CHUNK_LINE_MAX	4096	/* a chunk's size line, a trailer */
#define HTTP_TRAILER_MAX	16384	/* all trailer fields */

enum http_req_err {
	HTTP_REQ_OK,
	HTTP_REQ_AGAIN,		/* more bytes are needed */
	HTTP_REQ_ELINE,		/* a malformed line: bare CR or LF, NUL */
	HTTP_REQ_EMETHOD,	/* not a token */
	HTTP_REQ_EMETHOD_UNKNOWN,	/* a token, not a method's form (501) */
	HTTP_REQ_ETARGET,	/* not an origin, absolute or * form */
	HTTP_REQ_EURI,		/* the request line is too long (414) */
	HTTP_REQ_EVERSION,	/* not HTTP/1.x (505), or malformed (400) */
	HTTP_REQ_EFIELD,	/* a malformed field line, obs-fold */
	HTTP_REQ_EHEAD,		/* too many fields, too large a head (431) */
	HTTP_REQ_EHOST,		/* HTTP/1.1 without exactly one Host */
	HTTP_REQ_ELENGTH,	/* a bad Content-Length, or two that differ */
	HTTP_REQ_ETE,		/* Transfer-Encoding other than chunked */
	HTTP_REQ_ECODING,	/* a transfer coding we do not do (501) */
	HTTP_REQ_EEXPECT	/* an Expect other than 100-continue (417) */
};

struct http_field {
	const char	*name;
	size_t		 nlen;
	const char	*value;		/* without leading or trailing OWS */
	size_t		 vlen;
};

struct http_req {
	const char		*method;
	size_t			 mlen;
	const char		*target;
	size_t			 tlen;
	unsigned		 minor;		/* HTTP/1.minor */
	bool			 version_high;	/* 1.minor > 1: answered 1.1 */
	struct http_field	 fields[HTTP_FIELDS_MAX];
	size_t			 nfields;
	size_t			 head_len;	/* bytes, blank line included */
	uint64_t		 content_length;
	bool			 has_length;
	bool			 chunked;
	bool			 keep_alive;	/* the client's wish */
	bool			 expect_continue;
};

int		 http_req_parse(const char *, size_t, struct http_req *);
int		 http_req_status(int);
const char	*http_req_strerror(int);

/* A chunked body, decoded as it arrives. */
struct http_chunked {
	int		 state;
	uint64_t	 left;		/* of the current chunk */
	size_t		 line;		/* bytes of the current line so far */
	size_t		 trailer;	/* bytes of trailer fields so far */
	unsigned	 digits;
	bool		 done;
};

enum http_chunk_err {
	HTTP_CHUNK_OK,
	HTTP_CHUNK_EBAD		/* bad size, extension, CRLF or trailer */
};

void	 http_chunked_init(struct http_chunked *);
int	 http_chunked_decode(struct http_chunked *, const char *, size_t,
	    size_t *, char *, size_t, size_t *);

/* Where the connection is: for SERVER_* and REMOTE_*. */
struct http_where {
	const char	*server_addr;	/* the listening address's host */
	const char	*server_port;
	const char	*remote_addr;
	const char	*remote_port;
	bool		 https;
};

int	 http_req_env(const struct http_req *, const struct http_where *,
	    struct params *, int *);

#endif /* HTTP_REQ_H */
