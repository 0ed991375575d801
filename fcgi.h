/*
 * FastCGI 1.0 records (the FastCGI Specification, Open Market, 1996):
 * headers, name-value pairs, and the records a responder writes.  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef FCGI_H
#define FCGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "params.h"

#define FCGI_HEADER_LEN		8
#define FCGI_VERSION_1		1
#define FCGI_MAX_CONTENT	65535
#define FCGI_NULL_REQUEST_ID	0

enum fcgi_type {
	FCGI_BEGIN_REQUEST = 1,
	FCGI_ABORT_REQUEST,
	FCGI_END_REQUEST,
	FCGI_PARAMS,
	FCGI_STDIN,
	FCGI_STDOUT,
	FCGI_STDERR,
	FCGI_DATA,
	FCGI_GET_VALUES,
	FCGI_GET_VALUES_RESULT,
	FCGI_UNKNOWN_TYPE,
	FCGI_MAXTYPE = FCGI_UNKNOWN_TYPE
};

enum fcgi_role {
	FCGI_RESPONDER = 1,
	FCGI_AUTHORIZER,
	FCGI_FILTER
};

enum fcgi_status {
	FCGI_REQUEST_COMPLETE,
	FCGI_CANT_MPX_CONN,
	FCGI_OVERLOADED,
	FCGI_UNKNOWN_ROLE
};

#define FCGI_KEEP_CONN		1	/* BEGIN_REQUEST flags */

enum fcgi_err {
	FCGI_OK,
	FCGI_EVERSION,		/* not a version 1 record */
	FCGI_ETYPE,		/* a type a web server never sends here */
	FCGI_EBEGIN,		/* BEGIN_REQUEST not 8 bytes, or id 0 */
	FCGI_EPAIR,		/* a name-value pair runs past its record */
	FCGI_EPARAMS		/* params_add() refused; see params_err */
};

struct fcgi_header {
	unsigned	type;
	unsigned	id;
	size_t		length;		/* content */
	size_t		padding;
};

int	fcgi_parse_header(const unsigned char *, struct fcgi_header *);
void	fcgi_make_header(unsigned char *, unsigned, unsigned, size_t);
int	fcgi_parse_begin(const unsigned char *, size_t, unsigned *, bool *);
int	fcgi_parse_pairs(const unsigned char *, size_t, size_t *,
	    struct params *, int *);
size_t	fcgi_make_end(unsigned char *, unsigned, uint32_t, unsigned);
size_t	fcgi_make_unknown(unsigned char *, unsigned);
size_t	fcgi_make_values(unsigned char *, size_t, const unsigned char *,
	    size_t, unsigned, unsigned);
const char *fcgi_strerror(int);

#endif /* FCGI_H */
