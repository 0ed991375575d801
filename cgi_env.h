/*
 * RFC 3875 meta-variables: parsing and validation, in plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef CGI_ENV_H
#define CGI_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cgi_err {
	CGI_OK,
	CGI_ENOMETHOD,		/* REQUEST_METHOD absent or empty under a server */
	CGI_EMETHOD,		/* REQUEST_METHOD is not an HTTP token */
	CGI_ENOPROTOCOL,	/* SERVER_PROTOCOL absent under a server */
	CGI_EPROTOCOL,		/* SERVER_PROTOCOL is not HTTP/x.y or INCLUDED */
	CGI_ELENGTH		/* CONTENT_LENGTH is not "" or 1*digit */
};

/* Shell defaults (spec 2.3) or corrections: at most this many. */
#define CGI_NDEFAULTS	8

struct cgi_var {
	const char	*name;
	const char	*value;
};

struct cgi_request {
	bool		 gateway;	/* GATEWAY_INTERFACE set: a server runs us */
	bool		 https;		/* wsgi.url_scheme is https */
	bool		 has_length;	/* CONTENT_LENGTH given ("" is 0) */
	bool		 head;		/* REQUEST_METHOD is HEAD */
	bool		 included;	/* SERVER_PROTOCOL is INCLUDED */
	bool		 redirected;	/* REDIRECT_STATUS set */
	uint64_t	 content_length;
	unsigned	 proto_major;	/* HTTP version, 1.0 when not known */
	unsigned	 proto_minor;
	const char	*method;
	const char	*protocol;	/* "HTTP/1.1" and the like, never NULL */
	const char	*query_string;
	const char	*script_filename;
	const char	*path_translated;
	const char	*redirect_url;	/* Apache's internal redirects set */
	const char	*redirect_handler;	/* these two */
	const char	*request_uri;	/* these three name the request */
	const char	*script_name;
	const char	*path_info;
	struct cgi_var	 defaults[CGI_NDEFAULTS];	/* to add to environ */
	size_t		 ndefaults;
};

int		 cgi_env_parse(char *const[], struct cgi_request *, bool);
const char	*cgi_env_strerror(int);
int		 cgi_env_status(int);
bool		 cgi_env_is_request_var(const char *, size_t);
bool		 cgi_env_set(struct cgi_request *, const char *, const char *);

#endif /* CGI_ENV_H */
