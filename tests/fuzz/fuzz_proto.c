/*
 * libFuzzer target for the gateway protocols' parsers (fcgi.c, scgi.c,
 * uwsgi.c, params.c): the first byte picks the parser, the rest is what a
 * peer sent.  Checks that every variable accepted is "NAME=value" with a
 * name, and that nothing is read past the input (ASan).
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi.h"
#include "params.h"
#include "scgi.h"
#include "uwsgi.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct params *p)
{
	size_t	i;

	for (i = 0; i < p->count; i++)
		if (p->envp[i] == NULL || p->envp[i][0] == '=' ||
		    strchr(p->envp[i], '=') == NULL)
			abort();
	if (p->count > 0 && p->envp[p->count] != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct params		 p;
	struct fcgi_header	 h;
	unsigned char		*copy, out[512];
	size_t			 used, len, prefix;
	int			 perr;

	if (size < 1)
		return 0;
	/* An exact copy, so that ASan sees any read past the end. */
	if ((copy = malloc(size - 1 + 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	size--;
	params_init(&p);
	switch (data[0] % 4) {
	case 0:
		if (fcgi_parse_pairs(copy, size, &used, &p, &perr) == FCGI_OK &&
		    used > size)
			abort();
		break;
	case 1:
		if (size >= FCGI_HEADER_LEN)
			(void)fcgi_parse_header(copy, &h);
		if (fcgi_make_values(out, sizeof(out), copy, size, 1, 1) >
		    sizeof(out))
			abort();
		break;
	case 2:
		if (scgi_prefix(copy, size, &len, &prefix) == SCGI_OK &&
		    size > prefix + len)
			(void)scgi_parse(copy + prefix, len, &p, &perr);
		break;
	default:
		if (size >= UWSGI_HEADER_LEN &&
		    uwsgi_parse_header(copy, &len) == UWSGI_OK &&
		    len <= size - UWSGI_HEADER_LEN)
			(void)uwsgi_parse(copy + UWSGI_HEADER_LEN, len, &p,
			    &perr);
		break;
	}
	check(&p);
	params_free(&p);
	free(copy);
	return 0;
}
