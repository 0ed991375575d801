/*
 * uwsgi request packets, plain C: modifier1 (0), the vars' size (16 bits,
 * little-endian), modifier2 (0); then each variable as a 16-bit size and
 * its name, a 16-bit size and its value.  The body follows, CONTENT_LENGTH
 * bytes of it.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>

#include "params.h"
#include "uwsgi.h"

static const char *const error_text[] = {
	[UWSGI_OK] = "no error",
	[UWSGI_EMODIFIER] = "not a WSGI request (modifier1 and modifier2 0)",
	[UWSGI_EPAIR] = "a variable runs past the packet",
	[UWSGI_EPARAMS] = "bad request variables",
};

int
uwsgi_parse_header(const unsigned char *p, size_t *size)
{
	if (p[0] != 0 || p[3] != 0)
		return UWSGI_EMODIFIER;
	*size = (size_t)p[1] | (size_t)p[2] << 8;
	return UWSGI_OK;
}

/* The size bytes of variables after the header. */
int
uwsgi_parse(const unsigned char *p, size_t size, struct params *params,
    int *perr)
{
	size_t	off = 0, nlen, vlen;
	int	e;

	while (off < size) {
		if (size - off < 2)
			return UWSGI_EPAIR;
		nlen = (size_t)p[off] | (size_t)p[off + 1] << 8;
		off += 2;
		if (nlen > size - off || size - off - nlen < 2)
			return UWSGI_EPAIR;
		vlen = (size_t)p[off + nlen] | (size_t)p[off + nlen + 1] << 8;
		if (vlen > size - off - nlen - 2)
			return UWSGI_EPAIR;
		if ((e = params_add(params, (const char *)p + off, nlen,
		    (const char *)p + off + nlen + 2, vlen)) != PARAMS_OK) {
			*perr = e;
			return UWSGI_EPARAMS;
		}
		off += nlen + 2 + vlen;
	}
	return UWSGI_OK;
}

const char *
uwsgi_strerror(int e)
{
	if (e < 0 || (size_t)e >= sizeof(error_text) / sizeof(error_text[0]))
		return "unknown error";
	return error_text[e];
}
