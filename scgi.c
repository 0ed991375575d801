/*
 * SCGI requests, plain C: "LEN:" + LEN bytes of "NAME\0VALUE\0" pairs + ",",
 * CONTENT_LENGTH first and SCGI=1 among them (the SCGI specification).
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "params.h"
#include "scgi.h"

static const char *const error_text[] = {
	[SCGI_OK] = "no error",
	[SCGI_EAGAIN] = "incomplete",
	[SCGI_ELENGTH] = "not a netstring length",
	[SCGI_ECOMMA] = "the netstring does not end with ','",
	[SCGI_EPAIR] = "a variable without a value",
	[SCGI_EFIRST] = "CONTENT_LENGTH is not the first variable",
	[SCGI_ENOSCGI] = "no SCGI=1 variable",
	[SCGI_EPARAMS] = "bad request variables",
};

/*
 * The netstring's length in p[0..n): *len the headers' bytes, *prefix the
 * bytes of "LEN:".  No sign, no leading zero, at most PARAMS_MAX_BYTES.
 */
int
scgi_prefix(const unsigned char *p, size_t n, size_t *len, size_t *prefix)
{
	size_t	i, v = 0;

	for (i = 0; i < n && i < SCGI_PREFIX_MAX; i++) {
		if (p[i] == ':') {
			if (i == 0 || (p[0] == '0' && i > 1) || v == 0)
				return SCGI_ELENGTH;
			*len = v;
			*prefix = i + 1;
			return SCGI_OK;
		}
		if (p[i] < '0' || p[i] > '9')
			return SCGI_ELENGTH;
		v = v * 10 + (size_t)(p[i] - '0');
		if (v > PARAMS_MAX_BYTES)
			return SCGI_ELENGTH;
	}
	return i < SCGI_PREFIX_MAX ? SCGI_EAGAIN : SCGI_ELENGTH;
}

/* The len bytes of pairs and the ',' after them (p[len]). */
int
scgi_parse(const unsigned char *p, size_t len, struct params *params,
    int *perr)
{
	const char	*s = (const char *)p, *name, *value, *end;
	bool		 scgi = false;
	size_t		 off = 0, nlen, vlen;
	int		 e;

	if (p[len] != ',')
		return SCGI_ECOMMA;
	while (off < len) {
		name = s + off;
		if ((end = memchr(name, '\0', len - off)) == NULL)
			return SCGI_EPAIR;
		nlen = (size_t)(end - name);
		value = end + 1;
		if (value >= s + len ||
		    (end = memchr(value, '\0', (size_t)(s + len - value))) ==
		    NULL)
			return SCGI_EPAIR;
		vlen = (size_t)(end - value);
		if (off == 0 && (nlen != 14 ||
		    memcmp(name, "CONTENT_LENGTH", 14) != 0))
			return SCGI_EFIRST;
		if (nlen == 4 && memcmp(name, "SCGI", 4) == 0 && vlen == 1 &&
		    value[0] == '1')
			scgi = true;
		if ((e = params_add(params, name, nlen, value, vlen)) !=
		    PARAMS_OK) {
			*perr = e;
			return SCGI_EPARAMS;
		}
		off = (size_t)(end + 1 - s);
	}
	if (params->count == 0)
		return SCGI_EFIRST;
	return scgi ? SCGI_OK : SCGI_ENOSCGI;
}

const char *
scgi_strerror(int e)
{
	if (e < 0 || (size_t)e >= sizeof(error_text) / sizeof(error_text[0]))
		return "unknown error";
	return error_text[e];
}
