/*
 * FastCGI records, plain C: the 8-byte header, BEGIN_REQUEST's body, the
 * name-value pairs of PARAMS and GET_VALUES (1- and 4-byte lengths), and
 * the END_REQUEST, UNKNOWN_TYPE and GET_VALUES_RESULT records we write.
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fcgi.h"
#include "params.h"

#define LONG_LENGTH	0x80	/* a length's high bit: four bytes follow */
#define BEGIN_BODY_LEN	8
#define END_BODY_LEN	8

static bool	pair_length(const unsigned char *, size_t, size_t *,
		    size_t *);
static size_t	put_pair(unsigned char *, size_t, const char *,
		    const char *);

static const char *const error_text[] = {
	[FCGI_OK] = "no error",
	[FCGI_EVERSION] = "not a FastCGI version 1 record",
	[FCGI_ETYPE] = "a record of a type a web server does not send",
	[FCGI_EBEGIN] = "a malformed BEGIN_REQUEST record",
	[FCGI_EPAIR] = "a name-value pair runs past the PARAMS stream",
	[FCGI_EPARAMS] = "bad request variables",
};

/* The header at p; the type is checked by the caller, the version here. */
int
fcgi_parse_header(const unsigned char *p, struct fcgi_header *h)
{
	h->type = p[1];
	h->id = (unsigned)p[2] << 8 | p[3];
	h->length = (size_t)p[4] << 8 | p[5];
	h->padding = p[6];
	if (p[0] != FCGI_VERSION_1)
		return FCGI_EVERSION;
	if (h->type == 0 || h->type > FCGI_MAXTYPE)
		return FCGI_ETYPE;
	return FCGI_OK;
}

/* A header for length bytes of content (at most 65535), with no padding. */
void
fcgi_make_header(unsigned char *p, unsigned type, unsigned id, size_t length)
{
	p[0] = FCGI_VERSION_1;
	p[1] = (unsigned char)type;
	p[2] = (unsigned char)(id >> 8);
	p[3] = (unsigned char)id;
	p[4] = (unsigned char)(length >> 8);
	p[5] = (unsigned char)length;
	p[6] = 0;
	p[7] = 0;
}

/* BEGIN_REQUEST's body: the role and whether to keep the connection. */
int
fcgi_parse_begin(const unsigned char *p, size_t len, unsigned *role,
    bool *keep)
{
	if (len != BEGIN_BODY_LEN)
		return FCGI_EBEGIN;
	*role = (unsigned)p[0] << 8 | p[1];
	*keep = (p[2] & FCGI_KEEP_CONN) != 0;
	return FCGI_OK;
}

/* A pair's length at p[*off]: 1 byte, or 4 with the high bit set. */
static bool
pair_length(const unsigned char *p, size_t len, size_t *off, size_t *out)
{
	if (*off >= len)
		return false;
	if ((p[*off] & LONG_LENGTH) == 0) {
		*out = p[(*off)++];
		return true;
	}
	if (len - *off < 4)
		return false;
	*out = ((size_t)p[*off] & 0x7f) << 24 | (size_t)p[*off + 1] << 16 |
	    (size_t)p[*off + 2] << 8 | p[*off + 3];
	*off += 4;
	return true;
}

/*
 * The complete name-value pairs in p[0..len) go into params; *used says how
 * many bytes they took, so that a pair split across records waits for the
 * rest.  A pair that does not fit in what is left of the whole stream is
 * an error only at its end (the caller passes the stream's end as final
 * by calling again with nothing new).  *perr gets params_add()'s error.
 */
int
fcgi_parse_pairs(const unsigned char *p, size_t len, size_t *used,
    struct params *params, int *perr)
{
	size_t	off = 0, start, nlen, vlen;
	int	e;

	*used = 0;
	while (off < len) {
		start = off;
		if (!pair_length(p, len, &off, &nlen) ||
		    !pair_length(p, len, &off, &vlen) ||
		    nlen > len - off || vlen > len - off - nlen) {
			*used = start;
			return FCGI_OK;
		}
		if ((e = params_add(params, (const char *)p + off, nlen,
		    (const char *)p + off + nlen, vlen)) != PARAMS_OK) {
			*perr = e;
			return FCGI_EPARAMS;
		}
		off += nlen + vlen;
	}
	*used = off;
	return FCGI_OK;
}

/* An END_REQUEST record (16 bytes) for request id. */
size_t
fcgi_make_end(unsigned char *p, unsigned id, uint32_t app_status,
    unsigned protocol_status)
{
	fcgi_make_header(p, FCGI_END_REQUEST, id, END_BODY_LEN);
	p += FCGI_HEADER_LEN;
	p[0] = (unsigned char)(app_status >> 24);
	p[1] = (unsigned char)(app_status >> 16);
	p[2] = (unsigned char)(app_status >> 8);
	p[3] = (unsigned char)app_status;
	p[4] = (unsigned char)protocol_status;
	memset(p + 5, 0, 3);
	return FCGI_HEADER_LEN + END_BODY_LEN;
}

/* An UNKNOWN_TYPE record (16 bytes) answering a record of type. */
size_t
fcgi_make_unknown(unsigned char *p, unsigned type)
{
	fcgi_make_header(p, FCGI_UNKNOWN_TYPE, FCGI_NULL_REQUEST_ID,
	    END_BODY_LEN);
	p[FCGI_HEADER_LEN] = (unsigned char)type;
	memset(p + FCGI_HEADER_LEN + 1, 0, END_BODY_LEN - 1);
	return FCGI_HEADER_LEN + END_BODY_LEN;
}

/* name and value as a pair of short lengths, if they fit in out. */
static size_t
put_pair(unsigned char *out, size_t room, const char *name,
    const char *value)
{
	size_t	nlen = strlen(name), vlen = strlen(value);

	if (nlen + vlen + 2 > room)
		return 0;
	out[0] = (unsigned char)nlen;
	out[1] = (unsigned char)vlen;
	/* Lengths, not NUL bytes, end FastCGI names and values. */
	memcpy(out + 2, name, nlen);		/* NOLINT(bugprone-not-null-terminated-result) */
	memcpy(out + 2 + nlen, value, vlen);	/* NOLINT(bugprone-not-null-terminated-result) */
	return nlen + vlen + 2;
}

/*
 * The GET_VALUES_RESULT record answering the names asked for in q[0..qlen)
 * (FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS; others are left out, as
 * the specification says), into out of size room.  Returns its length.
 */
size_t
fcgi_make_values(unsigned char *out, size_t room, const unsigned char *q,
    size_t qlen, unsigned max_conns, unsigned max_reqs)
{
	char	 conns[12], reqs[12], name[32];
	size_t	 off = 0, nlen, vlen, body = 0, n;
	const char *value;

	if (room < FCGI_HEADER_LEN)
		return 0;
	(void)snprintf(conns, sizeof(conns), "%u", max_conns);
	(void)snprintf(reqs, sizeof(reqs), "%u", max_reqs);
	while (pair_length(q, qlen, &off, &nlen) &&
	    pair_length(q, qlen, &off, &vlen) && nlen <= qlen - off &&
	    vlen <= qlen - off - nlen) {
		value = NULL;
		if (nlen < sizeof(name)) {
			memcpy(name, q + off, nlen);
			name[nlen] = '\0';
			if (strcmp(name, "FCGI_MAX_CONNS") == 0)
				value = conns;
			else if (strcmp(name, "FCGI_MAX_REQS") == 0)
				value = reqs;
			else if (strcmp(name, "FCGI_MPXS_CONNS") == 0)
				value = "0";
		}
		off += nlen + vlen;
		if (value != NULL && (n = put_pair(out + FCGI_HEADER_LEN +
		    body, room - FCGI_HEADER_LEN - body, name, value)) > 0)
			body += n;
	}
	fcgi_make_header(out, FCGI_GET_VALUES_RESULT, FCGI_NULL_REQUEST_ID,
	    body);
	return FCGI_HEADER_LEN + body;
}

const char *
fcgi_strerror(int e)
{
	if (e < 0 || (size_t)e >= sizeof(error_text) / sizeof(error_text[0]))
		return "unknown error";
	return error_text[e];
}
